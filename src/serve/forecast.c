/*
 * serve.c: automl_forecast(name, horizon, series, level): the next periods
 * after each series' last observation, with prediction intervals.
 *
 * The model is the deployed version of name, or "name@N". Intervals are
 * normal ones around the point forecast whose width per step ahead comes
 * from the backtest residuals of the chosen candidate on that series
 * (forecast_intervals); steps past the trained horizon keep the last width.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "forecast/forecast.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "registry/catalog_sql.h"
#include "registry/registry.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define MAX_HORIZON 100000
#define DEFAULT_LEVEL 0.95

/* The version's bytes: ref is "name" (the deployed version) or "name@N". */
static bytea *
load_forecast_bytes(const char *ref, char **name_out, int *version_out)
{
	const char *at = strrchr(ref, '@');
	char	   *name = at ? pnstrdup(ref, at - ref) : pstrdup(ref);
	int			version = 0;
	QueryParams p = {0};
	MemoryContext cxt = CurrentMemoryContext;
	bytea	   *bytes = NULL;
	bool		isnull;

	if (at)
	{
		char	   *end;
		long		v = strtol(at + 1, &end, 10);

		if (*end != '\0' || end == at + 1 || v < 1 || v > INT_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid model reference \"%s\"", ref),
					 errhint("Name a model as \"name\" or a version as \"name@2\".")));
		version = (int) v;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(version), version == 0);
	query_run("SELECT m.version, m.model_bytes, m.task FROM automl.models m"
			  " WHERE m.name OPERATOR(pg_catalog.=) $1 AND m.version OPERATOR(pg_catalog.=)"
			  " COALESCE($2, (SELECT d.version FROM automl.deployed d WHERE d.name OPERATOR(pg_catalog.=) $1))",
			  &p, SPI_OK_SELECT);
	if (SPI_processed == 0)
	{
		if (version > 0)
		{
			memset(&p, 0, sizeof(p));
			query_add_text(&p, name);
			query_run("SELECT 1 FROM automl.registry WHERE name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_SELECT);
			if (SPI_processed == 1)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("model \"%s\" has no version %d", name, version)));
		}
		model_error_not_deployed(name);
	}
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		char	   *task = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

		if (strcmp(task, "forecast") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("model \"%s\" version %d is a %s model, not a forecast", name, version, task),
					 errhint("Score rows with automl_predict(name, row).")));
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("version %d of model \"%s\" is retired", version, name)));
		MemoryContextSwitchTo(cxt);
		bytes = DatumGetByteaPCopy(d);
	}
	SPI_finish();
	*name_out = name;
	*version_out = version;
	return bytes;
}

/* Seconds since 1970 on the calendar as a timestamp without time zone. */
static Timestamp
seconds_to_timestamp(double seconds)
{
	return (Timestamp) llround((seconds - 946684800.0) * 1000000.0);
}

PG_FUNCTION_INFO_V1(automl_forecast);

Datum
automl_forecast(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext work_cxt;
	char	   *ref;
	char	   *name;
	char	   *only_series = NULL;
	int			version;
	int			h;
	double		level = PG_ARGISNULL(3) ? DEFAULT_LEVEL : PG_GETARG_FLOAT8(3);
	bytea	   *bytes;
	ForecastModel *model;
	bool		found = false;
	double	   *point,
			   *lower,
			   *upper;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name must not be NULL")));
	if (!(level > 0 && level < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("level must be between 0 and 1, for example 0.95")));
	if (!PG_ARGISNULL(1) && (PG_GETARG_INT32(1) < 1 || PG_GETARG_INT32(1) > MAX_HORIZON))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 1 and %d", MAX_HORIZON)));
	work_cxt = AllocSetContextCreate(call_cxt, "automl forecast", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work_cxt);
	ref = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!PG_ARGISNULL(2))
		only_series = text_to_cstring(PG_GETARG_TEXT_PP(2));
	bytes = load_forecast_bytes(ref, &name, &version);
	model = forecast_model_deserialize(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
	h = PG_ARGISNULL(1) ? model->horizon : PG_GETARG_INT32(1);

	point = palloc(sizeof(double) * h);
	lower = palloc(sizeof(double) * h);
	upper = palloc(sizeof(double) * h);
	for (int s = 0; s < model->n_series; s++)
	{
		const SeriesState *st = &model->series[s];
		BacktestResult widths;

		if (only_series && (st->key == NULL || strcmp(st->key, only_series) != 0))
			continue;
		found = true;
		forecast_model_predict(model, st, h, point);
		memset(&widths, 0, sizeof(widths));
		widths.horizon = model->horizon;
		widths.step_rmse = st->step_rmse;
		forecast_intervals(&widths, point, h, level, lower, upper);

		if (forecast_step(&model->grid, st->last_time, h) > FORECAST_MAX_TIME)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("a horizon of %d periods runs past the year 9999", h)));
		MemoryContextSwitchTo(call_cxt);
		for (int j = 0; j < h; j++)
		{
			Datum		values[5];
			bool		nulls[5] = {false};

			values[0] = st->key ? CStringGetTextDatum(st->key) : (Datum) 0;
			nulls[0] = st->key == NULL;
			values[1] = TimestampGetDatum(seconds_to_timestamp(forecast_step(&model->grid, st->last_time, j + 1)));
			values[2] = Float8GetDatum(point[j]);
			values[3] = Float8GetDatum(lower[j]);
			values[4] = Float8GetDatum(upper[j]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextSwitchTo(work_cxt);
		CHECK_FOR_INTERRUPTS();
	}
	if (only_series && !found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" version %d has no series \"%s\"", name, version, only_series),
				 errhint("automl.models.summary lists its series.")));
	MemoryContextSwitchTo(call_cxt);
	MemoryContextDelete(work_cxt);
	return (Datum) 0;
}
