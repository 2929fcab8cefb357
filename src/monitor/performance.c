/*
 * performance.c: automl_performance, the metrics of logged predictions whose
 * true outcome was observed (automl_observe), per model version, next to the
 * score the version had on its validation rows at training.
 *
 * Rows: the version's training metric, then accuracy and F1 (classification)
 * or RMSE and MAE (regression). A window without predictions or without
 * observed outcomes gives rows with NULL values and the reason. Only the
 * training metric says whether the model degraded: worse than its validation
 * score by more than the monitor's performance_drop, relative to that score.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "monitor/monitor.h"
#include "learn/metrics.h"
#include "registry/registry.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(automl_performance);

#define PERFORMANCE_COLUMNS 12

/* One version's labelled predictions in the window. */
typedef struct VersionRows
{
	int			version;
	Task		task;
	const MetricDef *metric;
	int			n_classes;
	char	  **classes;
	int64		predictions;	/* logged in the window */
	int64		unknown_labels; /* observed outcomes that are not one of its classes */
	int64		n;				/* labelled and usable */
	int64		cap;
	double	   *pred;
	double	   *y;
	int		   *label;
	char	   *validation_metrics;	/* automl.models.metrics as text */
} VersionRows;

static void
load_version(VersionRows *v, const char *model, MemoryContext cxt)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {CStringGetTextDatum(model), Int32GetDatum(v->version)};
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	Datum		classes;

	if (SPI_execute_with_args("SELECT task, metric, classes, metrics::text FROM automl.models"
							  " WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", model, v->version)));
	MemoryContextSwitchTo(cxt);		/* SPI left its own context current */
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	v->task = strcmp(SPI_getvalue(row, desc, 1), "classification") == 0 ? TASK_CLASSIFICATION : TASK_REGRESSION;
	v->metric = metric_find(SPI_getvalue(row, desc, 2));
	if (v->metric == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("version %d of model \"%s\" has no metric that outcomes can be scored with", v->version, model)));
	v->validation_metrics = SPI_getvalue(row, desc, 4);
	classes = SPI_getbinval(row, desc, 3, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;

		deconstruct_array(DatumGetArrayTypeP(classes), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &v->n_classes);
		v->classes = palloc(sizeof(char *) * Max(v->n_classes, 1));
		for (int k = 0; k < v->n_classes; k++)
			v->classes[k] = TextDatumGetCString(elems[k]);
	}
	v->cap = 1024;
	v->pred = palloc(sizeof(double) * v->cap * Max(v->n_classes, 1));
	v->y = palloc(sizeof(double) * v->cap);
	v->label = palloc(sizeof(int) * v->cap);
}

/* Adds one labelled prediction; false when it cannot be scored. */
static bool
add_row(VersionRows *v, HeapTuple row, TupleDesc desc)
{
	int			width = v->task == TASK_CLASSIFICATION ? v->n_classes : 1;
	char	   *actual = SPI_getvalue(row, desc, 5);
	bool		isnull;
	bool		bad = false;
	Datum		d;

	if (v->n == v->cap)
	{
		v->cap *= 2;
		v->pred = repalloc(v->pred, sizeof(double) * v->cap * width);
		v->y = repalloc(v->y, sizeof(double) * v->cap);
		v->label = repalloc(v->label, sizeof(int) * v->cap);
	}
	if (v->task == TASK_REGRESSION)
	{
		d = SPI_getbinval(row, desc, 2, &isnull);
		if (isnull)
			return false;
		v->pred[v->n] = DatumGetFloat8(d);
		v->y[v->n] = float8in_internal_opt_error(actual, NULL, "double precision", actual, &bad);
		if (bad || !isfinite(v->y[v->n]))
			return false;		/* automl_observe checks; a hand-written row may not be a number */
	}
	else
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					k;

		for (k = 0; k < v->n_classes; k++)
			if (strcmp(v->classes[k], actual) == 0)
				break;
		if (k == v->n_classes)
		{
			v->unknown_labels++;
			return false;
		}
		d = SPI_getbinval(row, desc, 4, &isnull);
		if (isnull)
			return false;
		deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elems, &nulls, &n);
		if (n != v->n_classes)
			return false;
		for (int c = 0; c < n; c++)
			v->pred[v->n * width + c] = nulls[c] ? NAN : DatumGetFloat8(elems[c]);
		v->label[v->n] = k;
	}
	v->n++;
	return true;
}

/* The validation value of a metric, from the version's metrics JSON. */
static double
validation_value(const VersionRows *v, const char *metric)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {CStringGetTextDatum(v->validation_metrics), CStringGetTextDatum(metric)};
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args("SELECT ($1::pg_catalog.jsonb->>$2)::pg_catalog.float8", 2, types, args,
							  NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		return NAN;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NAN : DatumGetFloat8(d);
}

static void
put_rows(ReturnSetInfo *rsinfo, const char *model, TimestampTz start, TimestampTz end,
		 VersionRows *v, double performance_drop)
{
	const MetricDef *list[3];
	int			n_list = 0;
	const char *reason = v->predictions == 0 ? "no predictions in the window"
		: v->n == 0 ? "no observed outcomes for the window's predictions" : NULL;
	Predictions p = {0};

	list[n_list++] = v->metric;
	if (v->task == TASK_CLASSIFICATION)
	{
		list[n_list++] = metric_find("accuracy");
		list[n_list++] = metric_find("f1");
	}
	else
	{
		list[n_list++] = metric_find("rmse");
		list[n_list++] = metric_find("mae");
	}
	p.n = v->n;
	p.n_classes = v->task == TASK_CLASSIFICATION ? v->n_classes : 0;
	p.pred = v->pred;
	p.y = v->task == TASK_REGRESSION ? v->y : NULL;
	p.label = v->task == TASK_CLASSIFICATION ? v->label : NULL;

	for (int m = 0; m < n_list; m++)
	{
		Datum		values[PERFORMANCE_COLUMNS];
		bool		nulls[PERFORMANCE_COLUMNS] = {0};
		double		value = NAN;
		double		validation;

		if (m > 0 && list[m] == list[0])
			continue;			/* the training metric is already listed */
		validation = validation_value(v, list[m]->name);
		if (reason == NULL)
			value = metric_score(list[m], &p);
		values[0] = CStringGetTextDatum(model);
		values[1] = Int32GetDatum(v->version);
		values[2] = TimestampTzGetDatum(start);
		values[3] = TimestampTzGetDatum(end);
		values[4] = Int64GetDatum(v->predictions);
		values[5] = Int64GetDatum(v->n);
		values[6] = CStringGetTextDatum(list[m]->name);
		values[7] = Float8GetDatum(value);
		nulls[7] = isnan(value);
		values[8] = Float8GetDatum(validation);
		nulls[8] = isnan(validation);
		/* only the training metric decides; a NaN (undefined) value does not */
		nulls[9] = m > 0 || isnan(value) || isnan(validation);
		values[9] = BoolGetDatum(!nulls[9] &&
								 metric_loss(list[m], value) - metric_loss(list[m], validation) >
								 performance_drop * fabs(validation));
		values[10] = CStringGetTextDatum(reason ? reason : "");
		nulls[10] = reason == NULL;
		values[11] = Int64GetDatum(v->unknown_labels);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

Datum
automl_performance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *model;
	TimestampTz start,
				end;
	Oid			types[3] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[3];
	double		performance_drop = 0.05;
	int			n_versions = 0;
	VersionRows *versions;
	MemoryContext caller = CurrentMemoryContext;
	SPIPlanPtr	plan;
	Portal		portal;

	window_arguments(fcinfo, &model, &start, &end);
	args[0] = CStringGetTextDatum(model);
	args[1] = TimestampTzGetDatum(start);
	args[2] = TimestampTzGetDatum(end);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the versions that predicted in the window, or else the deployed one */
	if (SPI_execute_with_args("SELECT p.version, pg_catalog.count(*) FROM automl.predictions p"
							  " WHERE p.model OPERATOR(pg_catalog.=) $1"
							  " AND p.predicted_at OPERATOR(pg_catalog.>=) $2"
							  " AND p.predicted_at OPERATOR(pg_catalog.<) $3"
							  " GROUP BY p.version"
							  " UNION ALL SELECT d.version, 0 FROM (SELECT x.version FROM automl.deployments x"
							  "   WHERE x.name OPERATOR(pg_catalog.=) $1 ORDER BY x.id DESC LIMIT 1) d"
							  " WHERE NOT EXISTS (SELECT 1 FROM automl.predictions p"
							  "   WHERE p.model OPERATOR(pg_catalog.=) $1"
							  "   AND p.predicted_at OPERATOR(pg_catalog.>=) $2"
							  "   AND p.predicted_at OPERATOR(pg_catalog.<) $3)"
							  " ORDER BY 1",
							  3, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "automl could not read the prediction log");
	if (SPI_processed == 0)
		model_error_not_deployed(model);
	{
		MemoryContext old = MemoryContextSwitchTo(caller);
		uint64		n = SPI_processed;
		SPITupleTable *found = SPI_tuptable;

		versions = palloc0(sizeof(VersionRows) * n);
		for (uint64 r = 0; r < n; r++)
		{
			bool		isnull;

			versions[r].version = DatumGetInt32(SPI_getbinval(found->vals[r], found->tupdesc, 1, &isnull));
			versions[r].predictions = DatumGetInt64(SPI_getbinval(found->vals[r], found->tupdesc, 2, &isnull));
		}
		n_versions = (int) n;
		for (int i = 0; i < n_versions; i++)
			load_version(&versions[i], model, caller);
		MemoryContextSwitchTo(old);
		if (SPI_execute_with_args("SELECT performance_drop FROM automl.monitors WHERE name OPERATOR(pg_catalog.=) $1",
								  1, types, args, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
			performance_drop = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
															&(bool) {false}));
	}

	plan = SPI_prepare("SELECT p.version, p.prediction, p.label, p.probabilities, o.actual"
					   " FROM automl.predictions p JOIN automl.observations o"
					   " ON o.model OPERATOR(pg_catalog.=) p.model AND o.key OPERATOR(pg_catalog.=) p.key"
					   " WHERE p.model OPERATOR(pg_catalog.=) $1"
					   " AND p.predicted_at OPERATOR(pg_catalog.>=) $2"
					   " AND p.predicted_at OPERATOR(pg_catalog.<) $3", 3, types);
	if (plan == NULL)
		elog(ERROR, "automl could not plan the labelled prediction scan");
	portal = SPI_cursor_open(NULL, plan, args, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	row = SPI_tuptable->vals[r];
			bool		isnull;
			int			version = DatumGetInt32(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
			MemoryContext old = MemoryContextSwitchTo(caller);

			for (int i = 0; i < n_versions; i++)
			{
				if (versions[i].version == version)
					(void) add_row(&versions[i], row, SPI_tuptable->tupdesc);
			}
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n_versions; i++)
		put_rows(rsinfo, model, start, end, &versions[i], performance_drop);
	SPI_finish();
	return (Datum) 0;
}
