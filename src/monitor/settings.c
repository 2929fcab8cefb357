/*
 * settings.c: switching monitoring on and off (automl_monitor), recording
 * true outcomes (automl_observe) and purging old log rows
 * (automl_purge_predictions).
 *
 * Like the registry's functions, these check that the caller owns the model
 * name and then write as the extension's owner; user queries (the outcomes
 * query of automl_observe) run as the caller.
 */
#include "postgres.h"

#include "common/args.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "data/frame.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "monitor/monitor.h"
#include "registry/catalog_sql.h"
#include "registry/registry.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(automl_monitor);
PG_FUNCTION_INFO_V1(automl_observe);
PG_FUNCTION_INFO_V1(automl_observe_query);
PG_FUNCTION_INFO_V1(automl_purge_predictions);

static void
check_range(FunctionCallInfo fcinfo, int argno, const char *argname, double low, bool low_inclusive, double high)
{
	double		v;

	if (PG_ARGISNULL(argno))
		return;
	v = PG_GETARG_FLOAT8(argno);
	if (isnan(v) || v > high || v < low || (!low_inclusive && v == low))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %s %g and at most %g", argname,
						low_inclusive ? "at least" : "greater than", low, high)));
}

/* Errors unless every name is a feature of the deployed version; returns its task. */
static void
check_features(const char *model, const char *what, const char *sql_names, QueryParams *p)
{
	query_run(psprintf("WITH f AS (SELECT m.features FROM automl.models m"
					   " JOIN automl.deployed d ON d.name OPERATOR(pg_catalog.=) m.name"
					   " AND d.version OPERATOR(pg_catalog.=) m.version"
					   " WHERE m.name OPERATOR(pg_catalog.=) $1)"
					   " SELECT n, pg_catalog.array_to_string((SELECT features FROM f), ', ')"
					   " FROM %s AS n WHERE EXISTS (SELECT 1 FROM f)"
					   " AND n OPERATOR(pg_catalog.<>) ALL ((SELECT features FROM f)::pg_catalog.text[]) LIMIT 1", sql_names),
			  p, SPI_OK_SELECT);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s \"%s\" is not a feature of model \"%s\"", what,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), model),
				 errhint("Its features are: %s.", SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2))));
}

Datum
automl_monitor(PG_FUNCTION_ARGS)
{
	char	   *model = arg_required_text(fcinfo, 0, "model");
	CatalogWriter writer;
	QueryParams p = {0};
	Datum		result;
	bool		isnull;
	Jsonb	   *detail;

	check_range(fcinfo, 2, "sample_rate", 0.0, false, 1.0);
	check_range(fcinfo, 6, "drift_threshold", 0.0, false, 1e9);
	check_range(fcinfo, 7, "psi_threshold", 0.0, false, 1e9);
	check_range(fcinfo, 9, "dataset_drift_share", 0.0, false, 1.0);
	check_range(fcinfo, 10, "performance_drop", 0.0, true, 1e9);
	if (!PG_ARGISNULL(5) && PG_GETARG_INTERVAL_P(5)->time <= 0 && PG_GETARG_INTERVAL_P(5)->day <= 0 &&
		PG_GETARG_INTERVAL_P(5)->month <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("drift_window must be longer than zero")));
	/* as automl_train's exclude: a NULL would be stored and match no feature */
	if (!PG_ARGISNULL(4))
	{
		ArrayType  *exclude = PG_GETARG_ARRAYTYPE_P(4);

		if (ARR_NDIM(exclude) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("exclude must be a one-dimensional array")));
		if (array_contains_nulls(exclude))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("exclude must not contain NULL")));
	}

	catalog_check_owner(model, "monitor", true);
	monitor_refuse_forecast(model);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, model);
	for (int a = 1; a <= 10; a++)
	{
		static const Oid types[] = {BOOLOID, FLOAT8OID, TEXTOID, TEXTARRAYOID, INTERVALOID,
		FLOAT8OID, FLOAT8OID, JSONBOID, FLOAT8OID, FLOAT8OID};

		query_add(&p, types[a - 1], PG_ARGISNULL(a) ? (Datum) 0 : PG_GETARG_DATUM(a), PG_ARGISNULL(a));
	}

	/*
	 * The key should be a column of the relation the model was trained on: a
	 * typo would log every prediction with a NULL key, to which no outcome can
	 * ever be joined. A warning, not an error: the scored rows may come from
	 * another relation that has the key (scoring warns when they do not).
	 */
	if (!PG_ARGISNULL(3) && VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(3)) > 0)
	{
		query_run("SELECT m.source_relation FROM automl.models m"
				  " JOIN automl.deployed d ON d.name OPERATOR(pg_catalog.=) m.name"
				  " AND d.version OPERATOR(pg_catalog.=) m.version"
				  " WHERE m.name OPERATOR(pg_catalog.=) $1"
				  " AND pg_catalog.to_regclass(m.source_relation) IS NOT NULL"
				  " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
				  "  WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(m.source_relation)"
				  "  AND a.attname::pg_catalog.text OPERATOR(pg_catalog.=) $4"
				  "  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)", &p, SPI_OK_SELECT);
		if (SPI_processed > 0)
			ereport(WARNING,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("key column \"%s\" is not a column of %s, which model \"%s\" was trained on",
							text_to_cstring(PG_GETARG_TEXT_PP(3)),
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), model),
					 errdetail("Scored rows without that column are logged with a NULL key, to which no outcome can be joined."),
					 errhint("The key identifies each scored row (its id, say). Keep it if the rows you score have it; otherwise name one they have.")));
	}

	/* names must be the model's features: a typo must not silently log a column */
	if (!PG_ARGISNULL(4))
		check_features(model, "excluded column", "pg_catalog.unnest($5::pg_catalog.text[])", &p);
	if (!PG_ARGISNULL(8))
	{
		query_run("SELECT f.key FROM pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof($9) = 'object'"
				  " THEN $9 ELSE '{\"\": 0}' END) f"
				  " WHERE pg_catalog.jsonb_typeof(f.value) IS DISTINCT FROM 'object'"
				  " OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_each(f.value) t"
				  "   WHERE t.key NOT IN ('threshold', 'psi_threshold')"
				  "   OR CASE WHEN pg_catalog.jsonb_typeof(t.value) = 'number'"
				  "      THEN (t.value::text)::pg_catalog.float8 <= 0 ELSE true END) LIMIT 1", &p, SPI_OK_SELECT);
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature_thresholds must map feature names to {\"threshold\": x, \"psi_threshold\": y} with positive numbers"),
					 errhint("For example '{\"age\": {\"threshold\": 0.2}}'.")));
		check_features(model, "feature_thresholds names", "pg_catalog.jsonb_object_keys($9)", &p);
	}

	catalog_begin_write(&writer);
	query_add_text(&p, writer.caller);
	query_run("INSERT INTO automl.monitors AS o (name, enabled, sample_rate, key_column, exclude, drift_window,"
			  " drift_threshold, psi_threshold, feature_thresholds, dataset_drift_share, performance_drop, updated_by)"
			  " VALUES ($1, COALESCE($2, true), COALESCE($3, 1), NULLIF($4, ''), COALESCE($5, '{}'),"
			  " COALESCE($6, '1 day'), COALESCE($7, 0.1), COALESCE($8, 0.2), COALESCE($9, '{}'),"
			  " COALESCE($10, 0.5), COALESCE($11, 0.05), $12)"
			  " ON CONFLICT (name) DO UPDATE SET enabled = COALESCE($2, o.enabled),"
			  " sample_rate = COALESCE($3, o.sample_rate),"
			  " key_column = CASE WHEN $4 IS NULL THEN o.key_column ELSE NULLIF($4, '') END,"
			  " exclude = COALESCE($5, o.exclude), drift_window = COALESCE($6, o.drift_window),"
			  " drift_threshold = COALESCE($7, o.drift_threshold), psi_threshold = COALESCE($8, o.psi_threshold),"
			  " feature_thresholds = COALESCE($9, o.feature_thresholds),"
			  " dataset_drift_share = COALESCE($10, o.dataset_drift_share),"
			  " performance_drop = COALESCE($11, o.performance_drop),"
			  " updated_at = pg_catalog.now(), updated_by = $12", &p, SPI_OK_INSERT);
	query_run("SELECT o, pg_catalog.to_jsonb(o) - 'name' - 'updated_at' - 'updated_by'"
			  " FROM automl.monitors o WHERE o.name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_SELECT);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	detail = DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	result = SPI_datumTransfer(result, false, -1);
	catalog_add_event(&writer, "monitor", model, 0, NULL, detail);
	catalog_end_write(&writer);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* The task of the model's deployed version (or latest version), for checking outcomes. */
static bool
model_is_regression(const char *model)
{
	QueryParams p = {0};

	query_add_text(&p, model);
	query_run("SELECT task FROM automl.models WHERE name OPERATOR(pg_catalog.=) $1"
			  " ORDER BY version DESC LIMIT 1", &p, SPI_OK_SELECT);
	return SPI_processed == 1 &&
		strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "regression") == 0;
}

static void
check_outcome(const char *model, const char *actual, bool regression)
{
	bool		bad = false;
	double		v;

	if (!regression)
		return;
	v = float8in_internal_opt_error((char *) actual, NULL, "double precision", actual, &bad);
	if (bad || !isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("outcome \"%s\" is not a finite number", actual),
				 errdetail("Model \"%s\" is a regression model.", model)));
}

/* Stores outcomes (text arrays of keys and actual values; the last of a repeated key wins). */
static int64
store_outcomes(const char *model, Datum keys, Datum actuals)
{
	CatalogWriter writer;
	QueryParams p = {0};

	catalog_begin_write(&writer);
	query_add_text(&p, model);
	query_add(&p, TEXTARRAYOID, keys, false);
	query_add(&p, TEXTARRAYOID, actuals, false);
	query_run("INSERT INTO automl.observations AS o (model, key, actual)"
			  " SELECT DISTINCT ON (u.k) $1, u.k, u.a"
			  " FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) WITH ORDINALITY AS u(k, a, i)"
			  " ORDER BY u.k, u.i DESC"
			  " ON CONFLICT (model, key) DO UPDATE SET actual = EXCLUDED.actual, observed_at = pg_catalog.now()",
			  &p, SPI_OK_INSERT);
	catalog_end_write(&writer);
	return (int64) SPI_processed;
}

/*
 * A key or outcome as text: spelled as training spells a class label (so a
 * boolean outcome is "true", as the model's classes are), which for most
 * types is their output function's text.
 */
static char *
value_to_text(Datum value, Oid type)
{
	int			len;
	const char *s;

	if (type == UNKNOWNOID)
		return pstrdup(DatumGetCString(value));
	s = frame_datum_to_label(value, getBaseType(type), &len);
	return pnstrdup(s, len);
}

static char *
any_to_text(FunctionCallInfo fcinfo, int argno)
{
	return value_to_text(PG_GETARG_DATUM(argno), get_fn_expr_argtype(fcinfo->flinfo, argno));
}

Datum
automl_observe(PG_FUNCTION_ARGS)
{
	char	   *model = arg_required_text(fcinfo, 0, "model");
	char	   *key;
	char	   *actual;
	Datum		k,
				a;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("key must not be NULL"),
				 errhint("The key is the value of the monitor's key column in the scored row.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("actual must not be NULL"),
				 errhint("Record an outcome once it is known.")));
	key = any_to_text(fcinfo, 1);
	actual = any_to_text(fcinfo, 2);
	catalog_check_owner(model, "record outcomes for", true);
	monitor_refuse_forecast(model);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_outcome(model, actual, model_is_regression(model));
	k = PointerGetDatum(construct_array(&(Datum) {CStringGetTextDatum(key)}, 1, TEXTOID, -1, false, TYPALIGN_INT));
	a = PointerGetDatum(construct_array(&(Datum) {CStringGetTextDatum(actual)}, 1, TEXTOID, -1, false, TYPALIGN_INT));
	store_outcomes(model, k, a);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
automl_observe_query(PG_FUNCTION_ARGS)
{
	char	   *model = arg_required_text(fcinfo, 0, "model");
	char	   *query;
	Datum	   *keys,
			   *actuals;
	int64		n = 0,
				skipped = 0,
				stored = 0;
	bool		regression;
	MemoryContext caller = CurrentMemoryContext;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("outcomes must not be NULL"),
				 errhint("Pass a query that returns two columns: the key and the outcome.")));
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	catalog_check_owner(model, "record outcomes for", true);
	monitor_refuse_forecast(model);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	regression = model_is_regression(model);

	/* the caller's query, with the caller's privileges */
	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("outcomes must be a query that returns rows"),
				 errhint("For example 'SELECT customer_id, churned FROM outcomes'.")));
	if (SPI_tuptable->tupdesc->natts != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the outcomes query returns %d columns, not 2", SPI_tuptable->tupdesc->natts),
				 errhint("Return the key first and the outcome second.")));
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		keys = palloc(sizeof(Datum) * Max(SPI_processed, 1));
		actuals = palloc(sizeof(Datum) * Max(SPI_processed, 1));
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	row = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		key_null,
						actual_null;
			Datum		key_datum = SPI_getbinval(row, desc, 1, &key_null);
			Datum		actual_datum = SPI_getbinval(row, desc, 2, &actual_null);
			char	   *key;
			char	   *actual;

			if (key_null || actual_null)
			{
				skipped++;
				continue;
			}
			key = value_to_text(key_datum, SPI_gettypeid(desc, 1));
			actual = value_to_text(actual_datum, SPI_gettypeid(desc, 2));
			check_outcome(model, actual, regression);
			keys[n] = CStringGetTextDatum(key);
			actuals[n] = CStringGetTextDatum(actual);
			n++;
		}
		MemoryContextSwitchTo(old);
	}
	if (skipped > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " outcome rows with a NULL key or outcome were skipped", skipped)));
	if (n > 0)
		stored = store_outcomes(model,
								PointerGetDatum(construct_array(keys, n, TEXTOID, -1, false, TYPALIGN_INT)),
								PointerGetDatum(construct_array(actuals, n, TEXTOID, -1, false, TYPALIGN_INT)));
	SPI_finish();
	PG_RETURN_INT64(stored);
}

Datum
automl_purge_predictions(PG_FUNCTION_ARGS)
{
	Interval   *older_than;
	char	   *model = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	CatalogWriter writer;
	QueryParams p = {0};
	int64		deleted;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("older_than must not be NULL"),
				 errhint("For example automl_purge_predictions('90 days').")));
	older_than = PG_GETARG_INTERVAL_P(0);
	if (older_than->time < 0 || older_than->day < 0 || older_than->month < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than must not be negative")));
	if (model != NULL)
		catalog_check_owner(model, "purge the predictions of", true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the names the caller may change: the one given, or all it owns */
	query_add(&p, INTERVALOID, PG_GETARG_DATUM(0), false);
	query_add_text(&p, model);
	query_run("SELECT pg_catalog.array_agg(r.name) FROM automl.registry r"
			  " WHERE ($2::text IS NULL OR r.name OPERATOR(pg_catalog.=) $2)"
			  " AND ($2::text IS NOT NULL OR automl.caller_owns(r.owner))", &p, SPI_OK_SELECT);
	query_add(&p, TEXTARRAYOID, SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &(bool) {false}),
			  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) == NULL);
	/* NULL when the caller owns no model: nothing to copy (and nothing to delete) */
	if (p.nulls[2] != 'n')
		p.values[2] = SPI_datumTransfer(p.values[2], false, -1);

	catalog_begin_write(&writer);
	query_run("DELETE FROM automl.predictions WHERE model OPERATOR(pg_catalog.=) ANY ($3)"
			  " AND predicted_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)",
			  &p, SPI_OK_DELETE);
	deleted = (int64) SPI_processed;
	query_run("DELETE FROM automl.observations WHERE model OPERATOR(pg_catalog.=) ANY ($3)"
			  " AND observed_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)",
			  &p, SPI_OK_DELETE);
	if (model != NULL)
	{
		JsonBuilder b;

		json_begin(&b);
		json_key_string(&b, "older_than", DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(0))));
		json_key_int(&b, "predictions_deleted", deleted);
		catalog_add_event(&writer, "purge", model, 0, NULL, json_end(&b));
	}
	catalog_end_write(&writer);
	SPI_finish();
	PG_RETURN_INT64(deleted);
}
