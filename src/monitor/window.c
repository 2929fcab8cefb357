/*
 * window.c: one window of a model's prediction log against the training
 * profile of its deployed version, and the two functions over it:
 * automl_drift (distances per feature, for the predictions, and whether the
 * dataset drifted) and automl_data_quality (missing, unseen and out-of-range
 * shares per feature).
 *
 * The log is read as the calling role, so row-level security on
 * automl.predictions decides whose predictions are counted.
 */
#include "postgres.h"

#include "common/args.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#define SCAN_BATCH 10000

PG_FUNCTION_INFO_V1(automl_drift);
PG_FUNCTION_INFO_V1(automl_data_quality);

static double
column_double(HeapTuple row, TupleDesc desc, int col, double if_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(row, desc, col, &isnull);

	return isnull ? if_null : DatumGetFloat8(d);
}

static int
column_array(HeapTuple row, TupleDesc desc, int col, Oid type, Datum **elems)
{
	bool		isnull;
	Datum		d = SPI_getbinval(row, desc, col, &isnull);
	bool	   *nulls;
	int			n;

	if (isnull)
		return 0;
	if (type == FLOAT8OID)
		deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  elems, &nulls, &n);
	else
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, elems, &nulls, &n);
	return n;
}

/* Reads one profile entry (a row of the reference query) into f. */
static void
read_reference(FeatureWindow *f, HeapTuple row, TupleDesc desc)
{
	char	   *kind = SPI_getvalue(row, desc, 3);
	Datum	   *edges,
			   *bin_shares,
			   *levels,
			   *level_shares;
	int			n_edges = column_array(row, desc, 5, FLOAT8OID, &edges);
	int			n_bin_shares = column_array(row, desc, 6, FLOAT8OID, &bin_shares);
	int			n_levels = column_array(row, desc, 7, TEXTOID, &levels);
	int			n_level_shares = column_array(row, desc, 8, FLOAT8OID, &level_shares);
	double	   *raw;

	f->categorical = kind != NULL && strcmp(kind, "categorical") == 0;
	f->training_missing_share = column_double(row, desc, 4, 0.0);
	f->training_min = column_double(row, desc, 10, NAN);
	f->training_max = column_double(row, desc, 11, NAN);
	f->prep_column = -1;
	if (f->categorical)
	{
		n_levels = Min(n_levels, n_level_shares);
		f->n_bins = n_levels + 1;
		f->levels = palloc(sizeof(char *) * Max(n_levels, 1));
		raw = palloc(sizeof(double) * f->n_bins);
		for (int l = 0; l < n_levels; l++)
		{
			f->levels[l] = TextDatumGetCString(levels[l]);
			raw[l] = DatumGetFloat8(level_shares[l]);
		}
		raw[n_levels] = Max(column_double(row, desc, 9, 0.0), 0.0);
	}
	else
	{
		f->n_bins = Max(Min(n_edges - 1, n_bin_shares), 0);
		f->edges = palloc(sizeof(double) * (f->n_bins + 1));
		raw = palloc(sizeof(double) * Max(f->n_bins, 1));
		for (int e = 0; e <= f->n_bins && f->n_bins > 0; e++)
			f->edges[e] = DatumGetFloat8(edges[e]);
		for (int b = 0; b < f->n_bins; b++)
			raw[b] = DatumGetFloat8(bin_shares[b]);
	}
	f->reference = palloc0(sizeof(double) * Max(f->n_bins, 1));
	f->has_reference = f->n_bins > 0 && counts_to_shares(raw, f->n_bins, f->reference);
	f->counts = palloc0(sizeof(double) * Max(f->n_bins, 1));
}

static void
load_reference(ModelWindow *w, MemoryContext cxt)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(w->model)};
	int			n = 0;

	if (SPI_execute_with_args(
							  "WITH d AS (SELECT x.version FROM automl.deployments x"
							  "           WHERE x.name OPERATOR(pg_catalog.=) $1 ORDER BY x.id DESC LIMIT 1),"
							  " m AS (SELECT m.version, m.profile FROM automl.models m JOIN d"
							  "       ON m.version OPERATOR(pg_catalog.=) d.version"
							  "       WHERE m.name OPERATOR(pg_catalog.=) $1),"
							  " e AS (SELECT x.c, x.i FROM m, pg_catalog.jsonb_array_elements(m.profile->'columns')"
							  "         WITH ORDINALITY AS x(c, i)"
							  "       UNION ALL SELECT m.profile->'predictions', 0 FROM m"
							  "       WHERE m.profile->'predictions' IS NOT NULL)"
							  " SELECT (SELECT version FROM m), e.c->>'name', e.c->>'kind',"
							  "  (e.c->>'missing_share')::pg_catalog.float8,"
							  "  ARRAY(SELECT v::pg_catalog.float8 FROM pg_catalog.jsonb_array_elements_text(e.c->'bin_edges') v),"
							  "  ARRAY(SELECT v::pg_catalog.float8 FROM pg_catalog.jsonb_array_elements_text(e.c->'bin_shares') v),"
							  "  ARRAY(SELECT l->>'level' FROM pg_catalog.jsonb_array_elements(e.c->'levels') l),"
							  "  ARRAY(SELECT (l->>'share')::pg_catalog.float8 FROM pg_catalog.jsonb_array_elements(e.c->'levels') l),"
							  "  (e.c->>'other_share')::pg_catalog.float8,"
							  "  (e.c->>'min')::pg_catalog.float8, (e.c->>'max')::pg_catalog.float8"
							  " FROM e ORDER BY e.i",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "automl could not read the training profile of model \"%s\"", w->model);
	if (SPI_processed == 0)
		model_error_not_deployed(w->model);
	/* every SPI call leaves SPI's own context current: results go to the caller's */
	MemoryContextSwitchTo(cxt);
	w->features = palloc0(sizeof(FeatureWindow) * SPI_processed);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *name = SPI_getvalue(row, desc, 2);
		FeatureWindow *f = name == NULL ? &w->prediction : &w->features[n++];

		w->version = DatumGetInt32(SPI_getbinval(row, desc, 1, &(bool) {false}));
		f->name = name;
		read_reference(f, row, desc);
	}
	w->n_features = n;
}

/* Thresholds and exclusions from automl.monitors; defaults when the model has no row. */
static void
load_settings(ModelWindow *w, MemoryContext cxt)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(w->model)};
	double		threshold = 0.1,
				psi_threshold = 0.2;

	w->dataset_drift_share = 0.5;
	if (SPI_execute_with_args("SELECT drift_threshold, psi_threshold, dataset_drift_share, exclude"
							  " FROM automl.monitors WHERE name OPERATOR(pg_catalog.=) $1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "automl could not read automl.monitors");
	MemoryContextSwitchTo(cxt);
	if (SPI_processed == 1)
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum	   *exclude;
		int			n_exclude = column_array(row, desc, 4, TEXTOID, &exclude);

		threshold = column_double(row, desc, 1, threshold);
		psi_threshold = column_double(row, desc, 2, psi_threshold);
		w->dataset_drift_share = column_double(row, desc, 3, w->dataset_drift_share);
		for (int e = 0; e < n_exclude; e++)
		{
			char	   *name = TextDatumGetCString(exclude[e]);

			for (int i = 0; i < w->n_features; i++)
				if (strcmp(w->features[i].name, name) == 0)
					w->features[i].excluded = true;
		}
	}
	for (int i = 0; i < w->n_features; i++)
	{
		w->features[i].threshold = threshold;
		w->features[i].psi_threshold = psi_threshold;
	}
	w->prediction.threshold = threshold;
	w->prediction.psi_threshold = psi_threshold;

	/* per-feature overrides: {"feature": {"threshold": x, "psi_threshold": y}} */
	if (SPI_execute_with_args("SELECT f.key, (f.value->>'threshold')::pg_catalog.float8,"
							  " (f.value->>'psi_threshold')::pg_catalog.float8"
							  " FROM automl.monitors o, pg_catalog.jsonb_each(o.feature_thresholds) f"
							  " WHERE o.name OPERATOR(pg_catalog.=) $1",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "automl could not read automl.monitors");
	MemoryContextSwitchTo(cxt);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *name = SPI_getvalue(row, desc, 1);

		for (int i = 0; i < w->n_features; i++)
		{
			if (strcmp(w->features[i].name, name) != 0)
				continue;
			w->features[i].threshold = column_double(row, desc, 2, w->features[i].threshold);
			w->features[i].psi_threshold = column_double(row, desc, 3, w->features[i].psi_threshold);
		}
	}
}

/* The profile's bin of v: [edge, next edge), the last bin closed; outside values go to the outer bins. */
static int
bin_of(const FeatureWindow *f, double v)
{
	int			lo = 0,
				hi = f->n_bins - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi + 1) / 2;

		if (v >= f->edges[mid])
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void
count_number(FeatureWindow *f, double v)
{
	f->rows++;
	if (!isfinite(v))
	{
		f->missing++;
		return;
	}
	if (v < f->training_min || v > f->training_max)
		f->out_of_range++;
	if (f->n_bins > 0)
		f->counts[bin_of(f, v)] += 1.0;
}

static void
count_category(FeatureWindow *f, const Model *model, const char *s, int len)
{
	int			l;

	f->rows++;
	for (l = 0; l < f->n_bins - 1; l++)
	{
		if ((int) strlen(f->levels[l]) == len && memcmp(f->levels[l], s, len) == 0)
			break;
	}
	f->counts[l] += 1.0;		/* l == n_bins - 1: all other levels */
	if (f->prep_column >= 0 &&
		prep_level_of(&model->prep->columns[f->prep_column], s, len) == PREP_LEVEL_OTHER)
		f->unseen++;
}

static void
count_features(ModelWindow *w, const Model *model, Jsonb *features)
{
	for (int i = 0; i < w->n_features; i++)
	{
		FeatureWindow *f = &w->features[i];
		JsonbValue	buf;
		JsonbValue *v;

		if (f->excluded)
			continue;
		v = getKeyJsonValueFromContainer(&features->root, f->name, strlen(f->name), &buf);
		if (v == NULL)
			continue;			/* not logged: excluded when the row was scored */
		if (v->type == jbvNull)
		{
			f->rows++;
			f->missing++;
		}
		else if (f->categorical && v->type == jbvString)
			count_category(f, model, v->val.string.val, v->val.string.len);
		else if (!f->categorical && v->type == jbvNumeric)
			count_number(f, DatumGetFloat8(DirectFunctionCall1(numeric_float8,
															   NumericGetDatum(v->val.numeric))));
	}
}

static void
scan_log(ModelWindow *w, const Model *model)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID};
	Datum		args[4] = {CStringGetTextDatum(w->model), TimestampTzGetDatum(w->start),
	TimestampTzGetDatum(w->end), Int32GetDatum(w->version)};
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "automl window rows",
												  ALLOCSET_DEFAULT_SIZES);

	/* the deployed version's rows only: its profile is the reference */
	plan = SPI_prepare("SELECT features, prediction, label FROM automl.predictions"
					   " WHERE model OPERATOR(pg_catalog.=) $1"
					   " AND predicted_at OPERATOR(pg_catalog.>=) $2"
					   " AND predicted_at OPERATOR(pg_catalog.<) $3"
					   " AND version OPERATOR(pg_catalog.=) $4", 4, types);
	if (plan == NULL)
		elog(ERROR, "automl could not plan the prediction log scan: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, args, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, SCAN_BATCH);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	row = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		d;
			MemoryContext old = MemoryContextSwitchTo(row_cxt);

			w->rows++;
			d = SPI_getbinval(row, desc, 1, &isnull);
			if (!isnull)
				count_features(w, model, DatumGetJsonbP(d));
			if (w->prediction.has_reference && w->prediction.categorical)
			{
				char	   *label = SPI_getvalue(row, desc, 3);

				if (label == NULL)
				{
					w->prediction.rows++;
					w->prediction.missing++;
				}
				else
					count_category(&w->prediction, model, label, strlen(label));
			}
			else if (w->prediction.has_reference)
			{
				d = SPI_getbinval(row, desc, 2, &isnull);
				count_number(&w->prediction, isnull ? NAN : DatumGetFloat8(d));
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(row_cxt);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(row_cxt);
}

ModelWindow *
model_window_scan(const char *model_name, TimestampTz start, TimestampTz end)
{
	ModelWindow *w = palloc0(sizeof(ModelWindow));
	MemoryContext caller = CurrentMemoryContext;
	Model	   *model;
	char	   *name;
	int			version;

	w->model = pstrdup(model_name);
	w->start = start;
	w->end = end;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	load_reference(w, caller);
	load_settings(w, caller);
	SPI_finish();

	/* the deployed version's feature spec knows which levels the model has seen */
	model = model_cache_lookup(psprintf("%s@%d", model_name, w->version), &name, &version, NULL);
	for (int i = 0; i < w->n_features; i++)
	{
		for (int c = 0; c < model->prep->n_columns; c++)
		{
			const PrepColumn *pc = &model->prep->columns[c];

			if (strcmp(pc->name, w->features[i].name) != 0)
				continue;
			w->features[i].prep_column = c;
			if (pc->kind == FEATURE_CATEGORICAL && pc->missing_share < 1.0)
				w->features[i].training_unseen_share = pc->other_share / (1.0 - pc->missing_share);
		}
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	scan_log(w, model);
	SPI_finish();
	return w;
}

/* ---- the SQL functions ---- */

void
monitor_refuse_forecast(const char *model)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(model)};
	bool		forecast;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM automl.models m WHERE m.name OPERATOR(pg_catalog.=) $1"
							  " AND m.task OPERATOR(pg_catalog.=) 'forecast'"
							  " AND m.version OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(x.version)"
							  "   FROM automl.models x WHERE x.name OPERATOR(pg_catalog.=) $1)",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "automl could not read the catalog");
	forecast = SPI_processed > 0;
	SPI_finish();
	if (forecast)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" forecasts a time series: prediction logging, outcomes, drift and performance apply to models that score rows",
						model),
				 errhint("Compare new actual values with automl_forecast's output in SQL, and retrain with automl_retrain.")));
}

void
window_arguments(FunctionCallInfo fcinfo, char **model, TimestampTz *start, TimestampTz *end)
{
	*model = arg_required_text(fcinfo, 0, "model");
	monitor_refuse_forecast(*model);
	*end = PG_ARGISNULL(2) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(2);
	if (TIMESTAMP_NOT_FINITE(*end) || (!PG_ARGISNULL(1) && TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(1))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the window must have finite bounds")));
	*start = PG_ARGISNULL(1) ? *end - USECS_PER_DAY : PG_GETARG_TIMESTAMPTZ(1);
	if (*start >= *end)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the window must start before it ends")));
}

/* Shares of a window's counts and their distances from the reference; false when not measurable. */
static bool
feature_distances(const FeatureWindow *f, double *distance, double *psi)
{
	double	   *q = palloc(sizeof(double) * Max(f->n_bins, 1));

	if (!f->has_reference || !counts_to_shares(f->counts, f->n_bins, q))
		return false;
	*distance = f->categorical ? linf_distance(f->reference, q, f->n_bins)
		: js_distance(f->reference, q, f->n_bins);
	*psi = population_stability_index(f->reference, q, f->n_bins);
	return true;
}

#define DRIFT_COLUMNS 13

static void
put_drift_row(Tuplestorestate *store, TupleDesc desc, const ModelWindow *w, const char *feature,
			  const char *kind, const char *statistic, double distance, double threshold,
			  double psi, double psi_threshold, bool measured, bool drifted, int64 rows)
{
	Datum		values[DRIFT_COLUMNS];
	bool		nulls[DRIFT_COLUMNS] = {0};

	values[0] = CStringGetTextDatum(w->model);
	values[1] = Int32GetDatum(w->version);
	values[2] = TimestampTzGetDatum(w->start);
	values[3] = TimestampTzGetDatum(w->end);
	values[4] = feature ? CStringGetTextDatum(feature) : (Datum) 0;
	nulls[4] = feature == NULL;
	values[5] = CStringGetTextDatum(kind);
	values[6] = CStringGetTextDatum(statistic);
	values[7] = Float8GetDatum(distance);
	nulls[7] = !measured;
	values[8] = Float8GetDatum(threshold);
	values[9] = Float8GetDatum(psi);
	nulls[9] = !measured || isnan(psi);
	values[10] = Float8GetDatum(psi_threshold);
	nulls[10] = isnan(psi_threshold);
	values[11] = BoolGetDatum(drifted);
	values[12] = Int64GetDatum(rows);
	tuplestore_putvalues(store, desc, values, nulls);
}

Datum
automl_drift(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *model;
	TimestampTz start,
				end;
	ModelWindow *w;
	int			n_measured = 0,
				n_drifted = 0;

	window_arguments(fcinfo, &model, &start, &end);
	w = model_window_scan(model, start, end);
	InitMaterializedSRF(fcinfo, 0);

	for (int i = 0; i < w->n_features; i++)
	{
		const FeatureWindow *f = &w->features[i];
		double		distance = NAN,
					psi = NAN;
		bool		measured;

		if (f->excluded)
			continue;
		measured = feature_distances(f, &distance, &psi);
		n_measured += measured;
		n_drifted += measured && distance > f->threshold;
		put_drift_row(rsinfo->setResult, rsinfo->setDesc, w, f->name,
					  f->categorical ? "categorical" : "numeric",
					  f->categorical ? "l_infinity" : "jensen_shannon",
					  distance, f->threshold, psi, f->psi_threshold, measured,
					  measured && distance > f->threshold, f->rows - f->missing);
	}

	/* the model's own rows: did the dataset drift, and did its predictions move */
	{
		double		share = n_measured > 0 ? (double) n_drifted / n_measured : NAN;

		put_drift_row(rsinfo->setResult, rsinfo->setDesc, w, NULL, "dataset", "drifted_feature_share",
					  share, w->dataset_drift_share, NAN, NAN, n_measured > 0,
					  n_measured > 0 && share >= w->dataset_drift_share, w->rows);
	}
	if (w->prediction.has_reference)
	{
		const FeatureWindow *f = &w->prediction;
		double		distance = NAN,
					psi = NAN;
		bool		measured = feature_distances(f, &distance, &psi);

		put_drift_row(rsinfo->setResult, rsinfo->setDesc, w, NULL, "prediction",
					  f->categorical ? "l_infinity" : "jensen_shannon",
					  distance, f->threshold, psi, f->psi_threshold, measured,
					  measured && distance > f->threshold, f->rows - f->missing);
	}
	return (Datum) 0;
}

#define QUALITY_COLUMNS 14

Datum
automl_data_quality(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *model;
	TimestampTz start,
				end;
	ModelWindow *w;

	window_arguments(fcinfo, &model, &start, &end);
	w = model_window_scan(model, start, end);
	InitMaterializedSRF(fcinfo, 0);

	for (int i = 0; i < w->n_features; i++)
	{
		const FeatureWindow *f = &w->features[i];
		int64		present = f->rows - f->missing;
		Datum		values[QUALITY_COLUMNS];
		bool		nulls[QUALITY_COLUMNS] = {0};

		if (f->excluded)
			continue;
		values[0] = CStringGetTextDatum(w->model);
		values[1] = Int32GetDatum(w->version);
		values[2] = TimestampTzGetDatum(w->start);
		values[3] = TimestampTzGetDatum(w->end);
		values[4] = CStringGetTextDatum(f->name);
		values[5] = CStringGetTextDatum(f->categorical ? "categorical" : "numeric");
		values[6] = Int64GetDatum(f->rows);
		values[7] = Float8GetDatum(f->rows > 0 ? (double) f->missing / f->rows : 0.0);
		nulls[7] = f->rows == 0;
		values[8] = Float8GetDatum(f->training_missing_share);
		values[9] = Float8GetDatum(present > 0 ? (double) f->unseen / present : 0.0);
		nulls[9] = !f->categorical || present == 0;
		values[10] = Float8GetDatum(f->training_unseen_share);
		nulls[10] = !f->categorical;
		values[11] = Float8GetDatum(present > 0 ? (double) f->out_of_range / present : 0.0);
		nulls[11] = f->categorical || present == 0;
		values[12] = Float8GetDatum(f->training_min);
		nulls[12] = f->categorical || isnan(f->training_min);
		values[13] = Float8GetDatum(f->training_max);
		nulls[13] = f->categorical || isnan(f->training_max);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
