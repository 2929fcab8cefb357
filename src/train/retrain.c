/*
 * retrain.c: retraining a deployed model on its current data, when asked
 * (automl_retrain), when the monitoring says so (automl_retrain_if_needed),
 * and on a schedule through pg_cron (automl_schedule_retrain).
 *
 * A retrain replays the recipe stored with the deployed version (relation,
 * target, task, metric, algorithms, hyperparams, exclude, budget, seed) and
 * adds a version. It keeps a seeded fifth of the current rows out of the new
 * version's training (the gate rows); the new version is deployed only if it
 * beats the deployed one on those rows by more than the name's min_gain. The
 * deployed version may have been trained on some of them (they were in the
 * table then), which favours it: a retrained model must really be better.
 */
#include "postgres.h"

#include "common/args.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "registry/catalog_sql.h"
#include "registry/registry.h"
#include "train/train.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#define GATE_FRACTION 0.2

PG_FUNCTION_INFO_V1(automl_retrain);
PG_FUNCTION_INFO_V1(automl_retrain_if_needed);
PG_FUNCTION_INFO_V1(automl_schedule_retrain);
PG_FUNCTION_INFO_V1(automl_unschedule_retrain);

static List *
text_array_list(Datum array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *list = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			list = lappend(list, TextDatumGetCString(elems[i]));
	return list;
}

/* The recipe of the deployed version, as a training request. */
static TrainRequest *
stored_recipe(const char *model, int *deployed_version)
{
	QueryParams p = {0};
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	TrainRequest *req = palloc0(sizeof(TrainRequest));
	MemoryContext cxt = CurrentMemoryContext;
	char	   *relation;
	char	   *metric;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, model);
	query_run("SELECT m.version, m.source_relation, m.target, m.task, m.metric,"
			  " (m.options->>'seed')::int4, (m.options->>'time_budget')::float8,"
			  " (m.options->>'max_trials')::int4,"
			  " ARRAY(SELECT pg_catalog.jsonb_array_elements_text(m.options->'exclude')),"
			  " CASE WHEN pg_catalog.jsonb_typeof(m.options->'algorithms') = 'array'"
			  "  THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(m.options->'algorithms')) END,"
			  " CASE WHEN pg_catalog.jsonb_typeof(m.options->'hyperparams') = 'object'"
			  "  THEN m.options->'hyperparams' END,"
			  " m.options->>'calibration',"
			  " m.options->>'time_column', m.options->>'series_column', (m.options->>'horizon')::int4"
			  " FROM automl.models m JOIN automl.deployed d"
			  " ON d.name OPERATOR(pg_catalog.=) m.name AND d.version OPERATOR(pg_catalog.=) m.version"
			  " WHERE m.name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_SELECT);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no deployed version to retrain", model),
				 errhint("Train it with automl_train first.")));
	MemoryContextSwitchTo(cxt);
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	*deployed_version = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
	relation = SPI_getvalue(row, desc, 2);
	req->name = pstrdup(model);
	req->target = SPI_getvalue(row, desc, 3);
	req->task_arg = SPI_getvalue(row, desc, 4);
	metric = SPI_getvalue(row, desc, 5);
	req->metric = metric_find(metric);
	d = SPI_getbinval(row, desc, 6, &isnull);
	req->seed = isnull ? TRAIN_DEFAULT_SEED : DatumGetInt32(d);
	d = SPI_getbinval(row, desc, 7, &isnull);
	req->time_budget = isnull ? 0.0 : DatumGetFloat8(d);
	d = SPI_getbinval(row, desc, 8, &isnull);
	req->max_trials = isnull ? 0 : DatumGetInt32(d);
	req->exclude = text_array_list(SPI_getbinval(row, desc, 9, &isnull));
	d = SPI_getbinval(row, desc, 10, &isnull);
	req->algorithms = isnull ? NIL : text_array_list(d);
	d = SPI_getbinval(row, desc, 11, &isnull);
	req->hyperparams = isnull ? NULL : DatumGetJsonbPCopy(d);
	req->calibration = SPI_getvalue(row, desc, 12);	/* NULL: the default */
	req->time_column = SPI_getvalue(row, desc, 13);
	req->series_column = SPI_getvalue(row, desc, 14);
	d = SPI_getbinval(row, desc, 15, &isnull);
	req->horizon = isnull ? 0 : DatumGetInt32(d);
	req->gate_fraction = GATE_FRACTION;
	train_request_defaults(req);
	SPI_finish();

	/* the relation as the version stored it: schema-qualified and quoted */
	req->relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(relation)),
								  AccessShareLock, true);
	if (!OidIsValid(req->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s, which version %d of model \"%s\" was trained on, does not exist",
						relation, *deployed_version, model),
				 errhint("Train a new version from another relation with automl_train.")));
	return req;
}

#define RESULT_COLUMNS 6

/* One result row: name, version, previous_version, deployed, reason, gate_rows. */
static void
put_result(FunctionCallInfo fcinfo, const char *model, int version, int previous, bool deployed,
		   const char *reason, int64 gate_rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[RESULT_COLUMNS];
	bool		nulls[RESULT_COLUMNS] = {0};

	values[0] = CStringGetTextDatum(model);
	values[1] = Int32GetDatum(version);
	nulls[1] = version == 0;
	values[2] = Int32GetDatum(previous);
	nulls[2] = previous == 0;
	values[3] = BoolGetDatum(deployed);
	values[4] = CStringGetTextDatum(reason);
	values[5] = Int64GetDatum(gate_rows);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

static void
add_event(const char *event, const char *model, int version, const char *reason, const Jsonb *detail)
{
	CatalogWriter writer;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	catalog_add_event(&writer, event, model, version, reason, detail);
	catalog_end_write(&writer);
	SPI_finish();
}


/* Retrains model for why (a trigger), records it and returns the result row. */
static void
retrain(FunctionCallInfo fcinfo, const char *model, const char *why)
{
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext train_cxt = AllocSetContextCreate(call_cxt, "automl retrain", ALLOCSET_DEFAULT_SIZES);
	int			deployed_version;
	TrainRequest *req;
	TrainOutcome outcome;
	char	   *reason;
	JsonBuilder detail;

	MemoryContextSwitchTo(train_cxt);
	req = stored_recipe(model, &deployed_version);
	outcome = train_run(req);
	reason = outcome.deployed
		? psprintf("version %d deployed: %s", outcome.version, outcome.decision_reason)
		: psprintf("version %d stored, version %d still serves: %s", outcome.version,
				   deployed_version, outcome.decision_reason);
	json_begin(&detail);
	json_key_int(&detail, "version", outcome.version);
	json_key_int(&detail, "previous_version", deployed_version);
	json_key_bool(&detail, "deployed", outcome.deployed);
	json_key_int(&detail, "gate_rows", outcome.gate_rows);
	json_key_string(&detail, "trigger", why ? why : "");
	json_key_string(&detail, "decision", outcome.decision_reason ? outcome.decision_reason : "");
	add_event("retrain", model, outcome.version, why, json_end(&detail));

	MemoryContextSwitchTo(call_cxt);
	put_result(fcinfo, model, outcome.version, deployed_version, outcome.deployed, reason, outcome.gate_rows);
	MemoryContextDelete(train_cxt);
}

Datum
automl_retrain(PG_FUNCTION_ARGS)
{
	char	   *model = arg_required_text(fcinfo, 0, "model");
	char	   *reason = arg_optional_text(fcinfo, 1);

	catalog_check_owner(model, "retrain", true);
	InitMaterializedSRF(fcinfo, 0);
	retrain(fcinfo, model, reason ? reason : "requested");
	return (Datum) 0;
}

/* The schema of an installed extension, quoted; NULL when it is not installed. */
static char *
schema_of_extension(const char *extension)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(extension)};
	MemoryContext cxt = CurrentMemoryContext;
	char	   *schema = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT n.nspname FROM pg_catalog.pg_extension e"
							  " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
							  " WHERE e.extname OPERATOR(pg_catalog.=) $1", 1, types, args, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		schema = MemoryContextStrdup(cxt, quote_identifier(SPI_getvalue(SPI_tuptable->vals[0],
																		SPI_tuptable->tupdesc, 1)));
	SPI_finish();
	return schema;
}

/* The extension's own schema, for calling its functions through SPI. */
static char *
extension_schema(void)
{
	return schema_of_extension("automl");
}

/*
 * "If needed" asks the model's monitor, and a forecast has none (automl_monitor
 * refuses it): without this its drift query fails deep inside, or a scheduled job
 * fails at every run.
 */
static void
refuse_forecast_if_needed(const char *model)
{
	QueryParams p = {0};
	bool		forecast;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, model);
	query_run("SELECT 1 FROM automl.deployed d WHERE d.name OPERATOR(pg_catalog.=) $1"
			  " AND d.task OPERATOR(pg_catalog.=) 'forecast'", &p, SPI_OK_SELECT);
	forecast = SPI_processed > 0;
	SPI_finish();
	if (forecast)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" forecasts a time series, which has no monitor to say when retraining is needed", model),
				 errhint("Retrain it with automl_retrain, or schedule that with if_needed => false.")));
}

Datum
automl_retrain_if_needed(PG_FUNCTION_ARGS)
{
	char	   *model = arg_required_text(fcinfo, 0, "model");
	QueryParams p = {0};
	StringInfoData why;
	Jsonb	   *checks;
	char	   *skipped_because;
	bool		isnull;

	catalog_check_owner(model, "retrain", true);
	refuse_forecast_if_needed(model);
	if (!PG_ARGISNULL(1))
	{
		Interval   *age = PG_GETARG_INTERVAL_P(1);

		if (age->time < 0 || age->day < 0 || age->month < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_age must not be negative")));
	}
	InitMaterializedSRF(fcinfo, 0);

	/* What the monitoring says over the monitor's window, and the deployed version's age. */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, model);
	query_add(&p, INTERVALOID, PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1));
	query_run(psprintf(
					   "WITH w AS (SELECT COALESCE((SELECT o.drift_window FROM automl.monitors o"
					   "                            WHERE o.name OPERATOR(pg_catalog.=) $1), '1 day') AS len),"
					   " dep AS (SELECT d.version, m.created_at FROM automl.deployed d"
					   "         JOIN automl.models m ON m.name OPERATOR(pg_catalog.=) d.name"
					   "         AND m.version OPERATOR(pg_catalog.=) d.version"
					   "         WHERE d.name OPERATOR(pg_catalog.=) $1),"
					   " drift AS (SELECT pg_catalog.string_agg(pg_catalog.format('%%s %%s %%s (threshold %%s)', x.kind,"
					   "             x.statistic, pg_catalog.round(x.distance::numeric, 4), x.threshold), '; ') AS what"
					   "           FROM w, %s.automl_drift($1, pg_catalog.now() OPERATOR(pg_catalog.-) w.len, pg_catalog.now()) x"
					   "           WHERE x.feature IS NULL AND x.drifted),"
					   " perf AS (SELECT pg_catalog.string_agg(pg_catalog.format('%%s %%s against %%s at training', x.metric,"
					   "             pg_catalog.round(x.value::numeric, 4), pg_catalog.round(x.validation_value::numeric, 4)), '; ') AS what"
					   "          FROM w, dep, %s.automl_performance($1, pg_catalog.now() OPERATOR(pg_catalog.-) w.len, pg_catalog.now()) x"
					   "          WHERE x.version OPERATOR(pg_catalog.=) dep.version AND x.degraded)"
					   " SELECT (SELECT what FROM drift), (SELECT what FROM perf),"
					   "  (SELECT pg_catalog.now() OPERATOR(pg_catalog.-) created_at FROM dep)::text,"
					   "  (SELECT created_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $2) FROM dep),"
					   "  (SELECT version FROM dep),"
					   "  EXISTS (SELECT 1 FROM automl.monitors o WHERE o.name OPERATOR(pg_catalog.=) $1 AND o.enabled),"
					   "  EXISTS (SELECT 1 FROM w, automl.predictions l WHERE l.model OPERATOR(pg_catalog.=) $1"
					   "          AND l.predicted_at OPERATOR(pg_catalog.>=) (pg_catalog.now() OPERATOR(pg_catalog.-) w.len)),"
					   "  (SELECT w.len::pg_catalog.text FROM w)",
					   extension_schema(), extension_schema()),
			  &p, SPI_OK_SELECT);
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *drift = SPI_getvalue(row, desc, 1);
		char	   *perf = SPI_getvalue(row, desc, 2);
		char	   *age = SPI_getvalue(row, desc, 3);
		Datum		too_old = SPI_getbinval(row, desc, 4, &isnull);
		bool		old = !isnull && DatumGetBool(too_old);

		bool		monitored = DatumGetBool(SPI_getbinval(row, desc, 6, &isnull));
		bool		logged = DatumGetBool(SPI_getbinval(row, desc, 7, &isnull));

		/* why nothing is needed, as precisely as the checks allow */
		skipped_because = psprintf("%s, %s",
								   !monitored ? "no monitor (no drift or performance to check)" :
								   !logged ? psprintf("no prediction logged in the last %s", SPI_getvalue(row, desc, 8)) :
								   "no drift, no degraded performance",
								   PG_ARGISNULL(1) ? "no max_age" : "not too old");
		if (SPI_getvalue(row, desc, 5) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" has no deployed version to retrain", model)));
		initStringInfo(&why);
		if (drift != NULL)
			appendStringInfo(&why, "drift: %s", drift);
		if (perf != NULL)
			appendStringInfo(&why, "%sperformance: %s", why.len > 0 ? "; " : "", perf);
		if (old)
			appendStringInfo(&why, "%sage: %s", why.len > 0 ? "; " : "", age);
		{
			JsonBuilder b;

			json_begin(&b);
			json_key_string(&b, "drift", drift);
			json_key_string(&b, "performance", perf);
			json_key_string(&b, "age", age ? age : "");
			json_key_string(&b, "max_age", PG_ARGISNULL(1) ? NULL :
							DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(1))));
			checks = json_end(&b);
		}
	}
	{
		MemoryContext keep = AllocSetContextCreate(TopTransactionContext, "automl retrain check",
												   ALLOCSET_SMALL_SIZES);
		char	   *why_copy = MemoryContextStrdup(keep, why.data);
		char	   *skipped_copy = MemoryContextStrdup(keep, skipped_because);
		Jsonb	   *checks_copy = MemoryContextAlloc(keep, VARSIZE(checks));
		bool		needed = why.len > 0;

		memcpy(checks_copy, checks, VARSIZE(checks));

		SPI_finish();
		if (needed)
			retrain(fcinfo, model, why_copy);
		else
		{
			add_event("retrain_skipped", model, 0, skipped_copy, checks_copy);
			put_result(fcinfo, model, 0, 0, false, psprintf("not needed: %s", skipped_copy), 0);
		}
		MemoryContextDelete(keep);
	}
	return (Datum) 0;
}

/* ---- scheduling with pg_cron ---- */

static char *
job_name(const char *model)
{
	return psprintf("automl-retrain-%s", model);
}

/*
 * Errors unless pg_cron is installed in this database, saying what to do: set
 * pg_cron up, or (when it keeps its jobs in another database, the only one
 * it can be installed in) run the given pg_cron call there. pg_cron's
 * objects are always in schema cron.
 */
static void
require_cron(const char *call_elsewhere)
{
	const char *cron_db;
	const char *here = get_database_name(MyDatabaseId);

	if (schema_of_extension("pg_cron") != NULL)
		return;
	cron_db = GetConfigOption("cron.database_name", true, false);
	if (cron_db != NULL && strcmp(cron_db, here) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_cron keeps its jobs in database \"%s\", not in this one", cron_db),
				 errhint("Connect to database \"%s\" and run: %s", cron_db, call_elsewhere)));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("scheduling needs the pg_cron extension, which is not installed in this database"),
			 errhint("Install the Debian package postgresql-15-cron, set shared_preload_libraries = 'pg_cron' "
					 "and cron.database_name = '%s' in postgresql.conf, restart the server, and run "
					 "CREATE EXTENSION pg_cron (docs/retraining.md). Without it, run automl_retrain from "
					 "any scheduler.", here)));
}

/* The pg_cron job of a schedule event: its number (0: left out), name, schedule and command. */
static Jsonb *
schedule_detail(int64 job, const char *name, const char *schedule, const char *command)
{
	JsonBuilder b;

	json_begin(&b);
	if (job != 0)
		json_key_int(&b, "job", job);
	json_key_string(&b, "job_name", name);
	if (schedule != NULL)
		json_key_string(&b, "schedule", schedule);
	if (command != NULL)
		json_key_string(&b, "command", command);
	return json_end(&b);
}

Datum
automl_schedule_retrain(PG_FUNCTION_ARGS)
{
	char	   *model = arg_required_text(fcinfo, 0, "model");
	char	   *schedule;
	bool		if_needed = PG_ARGISNULL(2) ? true : PG_GETARG_BOOL(2);
	char	   *command;
	QueryParams p = {0};
	int64		job;
	bool		isnull;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schedule must not be NULL"),
				 errhint("A cron expression, for example '0 3 * * *' for 03:00 every day.")));
	schedule = text_to_cstring(PG_GETARG_TEXT_PP(1));
	catalog_check_owner(model, "schedule retraining of", true);
	if (if_needed)
		refuse_forecast_if_needed(model);

	if (if_needed)
		command = psprintf("SELECT * FROM %s.automl_retrain_if_needed(%s%s)", extension_schema(),
						   quote_literal_cstr(model),
						   PG_ARGISNULL(3) ? "" :
						   psprintf(", max_age => %s",
									quote_literal_cstr(DatumGetCString(DirectFunctionCall1(interval_out,
																						   PG_GETARG_DATUM(3))))));
	else
		command = psprintf("SELECT * FROM %s.automl_retrain(%s, 'scheduled')", extension_schema(),
						   quote_literal_cstr(model));
	require_cron(psprintf("SELECT cron.schedule_in_database(%s, %s, %s, %s);",
						  quote_literal_cstr(job_name(model)), quote_literal_cstr(schedule),
						  quote_literal_cstr(command), quote_literal_cstr(get_database_name(MyDatabaseId))));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* "if needed" with nothing that can say it is needed would run forever and do nothing */
	if (if_needed && PG_ARGISNULL(3))
	{
		query_add_text(&p, model);
		query_run("SELECT 1 FROM automl.monitors o WHERE o.name OPERATOR(pg_catalog.=) $1 AND o.enabled",
				  &p, SPI_OK_SELECT);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("retraining model \"%s\" if needed would never retrain it", model),
					 errdetail("It has no monitor, so no drift or degraded performance can call for retraining, and no max_age was given."),
					 errhint("Monitor it first (automl_monitor), give max_age => '30 days', or schedule it with if_needed => false.")));
		p.n = 0;
	}
	/* as the caller: pg_cron runs the job as the role that scheduled it */
	query_add_text(&p, job_name(model));
	query_add_text(&p, schedule);
	query_add_text(&p, command);
	query_run("SELECT cron.schedule($1, $2, $3)", &p, SPI_OK_SELECT);
	job = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	add_event("schedule", model, 0, psprintf("retrain %s on '%s'", if_needed ? "if needed" : "always", schedule),
			  schedule_detail(job, job_name(model), schedule, command));
	PG_RETURN_INT64(job);
}

Datum
automl_unschedule_retrain(PG_FUNCTION_ARGS)
{
	char	   *model = arg_required_text(fcinfo, 0, "model");
	QueryParams p = {0};
	bool		found;

	catalog_check_owner(model, "schedule retraining of", true);
	require_cron(psprintf("SELECT cron.unschedule(%s);", quote_literal_cstr(job_name(model))));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, job_name(model));
	query_run("SELECT EXISTS (SELECT 1 FROM cron.job WHERE jobname OPERATOR(pg_catalog.=) $1"
			  " AND username OPERATOR(pg_catalog.=) current_user)", &p, SPI_OK_SELECT);
	found = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &(bool) {false}));
	if (found)
		query_run("SELECT cron.unschedule($1)", &p, SPI_OK_SELECT);
	SPI_finish();
	if (found)
		add_event("schedule", model, 0, "retraining unscheduled",
				  schedule_detail(0, job_name(model), NULL, NULL));
	PG_RETURN_BOOL(found);
}
