/*
 * forecast.c: a training run of task forecast: from a table of timestamped
 * values, one series or many, to a stored forecast model.
 *
 * The rows are read in time order per series, as the caller, and placed on
 * their inferred period grid (gaps and NULL targets filled). Three
 * candidates are backtested on the same rolling origins of every series
 * (the last three horizons): seasonal naive, exponential smoothing chosen
 * by AICc per series, and one gradient-boosted tree model over every
 * series' lag, rolling-window and calendar features (each series divided
 * by its mean absolute value, so series of any size share one model). The
 * candidate with the lowest mean MASE over the series is refitted on all
 * periods and stored; its backtest errors per step ahead give the
 * prediction intervals.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "data/frame.h"
#include "executor/spi.h"
#include "forecast/forecast.h"
#include "learn/learner.h"
#include "miscadmin.h"
#include "train/train.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#define FORECAST_ORIGINS 3
#define FETCH_ROWS 10000
#define MAX_FORECAST_HORIZON 10000
#define SUMMARY_MAX_SERIES 100

/* One series as read: its rows in time order. */
typedef struct SeriesRows
{
	char	   *key;
	int			n;
	int			capacity;
	double	   *times;
	double	   *values;			/* NaN: NULL target */
} SeriesRows;

/* One series on its grid, with what each candidate's backtest gave. */
typedef struct SeriesData
{
	char	   *key;
	RegularSeries *regular;
	int			n_origins;
	int			origins[FORECAST_ORIGINS];
	BacktestResult *backtest[CANDIDATE_COUNT];
} SeriesData;

/* ---- reading ---- */

static Oid
column_type(Oid relid, const char *column, const char *argname, const char *relname)
{
	AttrNumber	attnum;

	if (column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname)));
	attnum = get_attnum(relid, column);
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s column \"%s\" does not exist in relation \"%s\"", argname, column, relname)));
	return getBaseType(get_atttype(relid, attnum));
}

/* Reads (series, time, value) rows ordered by series and time, as the caller. */
static SeriesRows *
read_series(const TrainRequest *req, const char *relname, int *n_series, Oid time_type,
			Oid target_type, uint8 *digest)
{
	StringInfoData sql;
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext cxt = CurrentMemoryContext;
	SeriesRows *series = NULL;
	int			count = 0,
				capacity = 0;
	int64		null_times = 0;
	pg_cryptohash_ctx *hash = pg_cryptohash_create(PG_SHA256);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s, %s, %s FROM %s",
					 quote_identifier(req->time_column),
					 req->series_column ? psprintf("%s::pg_catalog.text", quote_identifier(req->series_column)) : "NULL::pg_catalog.text",
					 quote_identifier(req->target), relname);
	appendStringInfoString(&sql, " ORDER BY 2, 1");
	if (pg_cryptohash_init(hash) < 0)
		elog(ERROR, "could not start a SHA-256 digest");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(sql.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the query of the series: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		time_null,
						key_null,
						value_null;
			Datum		t = SPI_getbinval(tuple, desc, 1, &time_null);
			Datum		k = SPI_getbinval(tuple, desc, 2, &key_null);
			Datum		v = SPI_getbinval(tuple, desc, 3, &value_null);
			char	   *key = key_null ? NULL : TextDatumGetCString(k);
			double		seconds,
						value;
			SeriesRows *s;
			MemoryContext old;

			if (req->series_column && key_null)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("series column \"%s\" is NULL in some rows", req->series_column),
						 errhint("Give those rows a series, or leave them out with a view.")));
			if (time_null)
			{
				null_times++;
				continue;
			}
			seconds = frame_datum_to_seconds(t, time_type);
			if (isnan(seconds))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("time column \"%s\" has an infinite value", req->time_column)));
			value = value_null ? NAN : frame_datum_to_double(v, target_type);
			if (isinf(value))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("target column \"%s\" has an infinite value", req->target),
						 errhint("Leave such rows out with a view, or store NULL.")));

			old = MemoryContextSwitchTo(cxt);
			if (count == 0 || (key != NULL && (series[count - 1].key == NULL ||
											   strcmp(series[count - 1].key, key) != 0)))
			{
				if (count == capacity)
				{
					capacity = Max(16, capacity * 2);
					series = series ? repalloc(series, sizeof(SeriesRows) * capacity)
						: palloc(sizeof(SeriesRows) * capacity);
				}
				s = &series[count++];
				s->key = key ? pstrdup(key) : NULL;
				s->n = 0;
				s->capacity = 64;
				s->times = palloc(sizeof(double) * s->capacity);
				s->values = palloc(sizeof(double) * s->capacity);
			}
			s = &series[count - 1];
			if (s->n == s->capacity)
			{
				s->capacity *= 2;
				s->times = repalloc_huge(s->times, sizeof(double) * s->capacity);
				s->values = repalloc_huge(s->values, sizeof(double) * s->capacity);
			}
			s->times[s->n] = seconds;
			s->values[s->n] = value;
			s->n++;
			MemoryContextSwitchTo(old);

			/* the digest: every row's series, time and value, in this order */
			if ((key && pg_cryptohash_update(hash, (const uint8 *) key, strlen(key) + 1) < 0) ||
				pg_cryptohash_update(hash, (const uint8 *) &seconds, sizeof(double)) < 0 ||
				pg_cryptohash_update(hash, (const uint8 *) &value, sizeof(double)) < 0)
				elog(ERROR, "could not update a SHA-256 digest");
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	if (pg_cryptohash_final(hash, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not finish a SHA-256 digest");
	pg_cryptohash_free(hash);

	if (null_times > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " rows with a NULL in time column \"%s\" are left out",
						null_times, req->time_column)));
	if (count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation %s has no rows with a time to forecast from", relname)));
	*n_series = count;
	return series;
}

/* Names the series in errors raised while it is being prepared. */
static void
series_error_context(void *arg)
{
	const char *key = arg;

	if (key)
		errcontext("series \"%s\"", key);
}

/* ---- the search ---- */

/*
 * Mean of one metric over the series where it is finite for every finished
 * candidate, so that candidates are compared on the same series: MASE is
 * undefined (infinite or NaN) on a series whose training part never changes
 * season to season, as intermittent demand can be, and MAPE with zeros.
 */
static double
mean_metric(const SeriesData *data, int n_series, ForecastCandidate c, size_t offset)
{
	double		sum = 0.0;
	int			count = 0;

	for (int s = 0; s < n_series; s++)
	{
		bool		comparable = true;

		if (data[s].backtest[c] == NULL)
			return NAN;
		for (int d = 0; d < CANDIDATE_COUNT; d++)
		{
			const BacktestResult *bt = data[s].backtest[d];

			if (bt != NULL && !isfinite(*(const double *) ((const char *) &bt->metrics + offset)))
				comparable = false;
		}
		if (comparable)
		{
			sum += *(const double *) ((const char *) &data[s].backtest[c]->metrics + offset);
			count++;
		}
	}
	return count > 0 ? sum / count : NAN;
}

/* The most backtest origins any series had (3, or fewer when all are short). */
static int
origins_used(const SeriesData *data, int n_series)
{
	int			most = 0;

	for (int s = 0; s < n_series; s++)
		most = Max(most, data[s].n_origins);
	return most;
}

/* What a forecast run carries between its steps. */
typedef struct ForecastRun
{
	TrainingRun run;
	char	   *relname;
	SeriesData *data;
	int			n_series;
	TimeGrid	grid;
	int			period;
	FeatureSpec spec;
	int64		total_rows;
	int			filled;
	int			gaps;
	int			nulls;
	char		digest_hex[2 * PG_SHA256_DIGEST_LENGTH + 1];
	double		trial_seconds[CANDIDATE_COUNT];
	double		trial_score[CANDIDATE_COUNT];
	bool		trial_done[CANDIDATE_COUNT];
	ForecastCandidate best;
	ForecastModel model;
} ForecastRun;

static Jsonb *
metrics_json(const ForecastRun *f)
{
	static const struct
	{
		const char *name;
		size_t		offset;
	}			metrics[] = {
		{"mase", offsetof(ForecastMetrics, mase)},
		{"smape", offsetof(ForecastMetrics, smape)},
		{"mape", offsetof(ForecastMetrics, mape)},
		{"mae", offsetof(ForecastMetrics, mae)},
		{"rmse", offsetof(ForecastMetrics, rmse)},
	};
	JsonBuilder b;

	json_begin(&b);
	for (int m = 0; m < lengthof(metrics); m++)
		json_key_number(&b, metrics[m].name, mean_metric(f->data, f->n_series, f->best, metrics[m].offset));
	json_key_int(&b, "series", f->n_series);
	json_key_int(&b, "horizon", f->run.req->horizon);
	json_key_int(&b, "origins", origins_used(f->data, f->n_series));
	json_key_string(&b, "averaged", "over series");
	return json_end(&b);
}

/* The arguments of task forecast, and the types of the columns they name. */
static void
check_arguments(ForecastRun *f, Oid *time_type, Oid *target_type)
{
	TrainRequest *req = f->run.req;

	if (req->time_column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task \"forecast\" needs time_column"),
				 errhint("For example: task => 'forecast', time_column => 'month', horizon => 12.")));
	if (req->horizon <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(req->horizon == 0 ? "task \"forecast\" needs horizon" : "horizon must be at least 1"),
				 errhint("horizon is the number of periods to forecast, for example 12 months.")));
	if (req->horizon > MAX_FORECAST_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be at most %d periods", MAX_FORECAST_HORIZON)));
}

static void
check_columns(ForecastRun *f, Oid *time_type, Oid *target_type)
{
	TrainRequest *req = f->run.req;
	const char *relname = f->relname;

	*time_type = column_type(req->relid, req->time_column, "time", relname);
	if (*time_type != DATEOID && *time_type != TIMESTAMPOID && *time_type != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" is of type %s, not a date or timestamp",
						req->time_column, format_type_be(*time_type)),
				 errhint("Convert it in a view, for example make_date(year, month, 1).")));
	*target_type = column_type(req->relid, req->target, "target", relname);
	if (!frame_type_is_numeric(*target_type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" is of type %s; a forecast needs numbers",
						req->target, format_type_be(*target_type))));
	if (req->series_column)
	{
		(void) column_type(req->relid, req->series_column, "series", relname);
		if (strcmp(req->series_column, req->time_column) == 0 || strcmp(req->series_column, req->target) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("series_column must differ from time_column and target")));
	}
	if (strcmp(req->time_column, req->target) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_column must differ from target")));
}

/* Every series on its grid; they must share a frequency and a calendar. */
static void
place_series(ForecastRun *f, SeriesRows *rows)
{
	SeriesData *data = palloc0(sizeof(SeriesData) * f->n_series);

	for (int s = 0; s < f->n_series; s++)
	{
		ErrorContextCallback callback = {error_context_stack, series_error_context, rows[s].key};

		error_context_stack = &callback;
		data[s].key = rows[s].key;
		data[s].regular = forecast_regularize(rows[s].times, rows[s].values, NULL, rows[s].n);
		if (s > 0 && data[s].regular->grid.freq == data[0].regular->grid.freq &&
			data[0].regular->grid.step_months > 0 &&
			(data[s].regular->grid.anchor_day != data[0].regular->grid.anchor_day ||
			 data[s].regular->grid.month_end != data[0].regular->grid.month_end ||
			 data[s].regular->grid.time_of_day != data[0].regular->grid.time_of_day))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the series fall on different days of their periods: one model forecasts series on one calendar"),
					 errhint("Put every series on the same day, for example date_trunc('month', ...) in a view.")));
		if (s > 0 && data[s].regular->grid.freq != data[0].regular->grid.freq)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the series are %s and %s: one model forecasts series of one frequency",
							forecast_frequency_name(data[0].regular->grid.freq),
							forecast_frequency_name(data[s].regular->grid.freq)),
					 errhint("Train one model per frequency, or aggregate in a view first.")));
		error_context_stack = callback.previous;
		f->total_rows += rows[s].n;
		f->filled += data[s].regular->n_filled;
		f->gaps += data[s].regular->n_gaps;
		f->nulls += data[s].regular->n_null;
	}
	f->data = data;
	f->grid = data[0].regular->grid;
	f->period = forecast_season_length(f->grid.freq);
	f->spec = forecast_feature_spec(&f->grid, f->period);
	if (f->filled > 0)
		ereport(NOTICE,
				(errmsg("%d missing periods and %d NULL values were filled by linear interpolation",
						f->gaps, f->nulls)));
	for (int s = 0; s < f->n_series; s++)
	{
		ErrorContextCallback callback = {error_context_stack, series_error_context, data[s].key};

		error_context_stack = &callback;
		data[s].n_origins = forecast_backtest_origins(data[s].regular->n, f->period, f->run.req->horizon,
													  FORECAST_ORIGINS, data[s].origins);
		error_context_stack = callback.previous;
	}
}

/* The candidates, cheapest first, each on every series unless the budget runs out. */
static void
backtest_candidates(ForecastRun *f)
{
	SeriesData *data = f->data;
	double		deadline = f->run.deadline;
	int			h = f->run.req->horizon;

	for (int c = 0; c < CANDIDATE_COUNT; c++)
	{
		double		t0 = seconds_now();

		f->trial_done[c] = true;
		if (c > 0 && t0 >= deadline)
			f->trial_done[c] = false;
		else if (c == CANDIDATE_GBDT)
			{
			const RegularSeries **series = palloc(sizeof(RegularSeries *) * f->n_series);
			int		   *n_origins = palloc(sizeof(int) * f->n_series);
			int		  **origins = palloc(sizeof(int *) * f->n_series);
			BacktestResult **bt;

			for (int s = 0; s < f->n_series; s++)
			{
				series[s] = data[s].regular;
				n_origins[s] = data[s].n_origins;
				origins[s] = data[s].origins;
			}
			bt = forecast_global_backtest(series, n_origins, origins, f->n_series, f->period, h,
										  &f->spec);
			for (int s = 0; s < f->n_series; s++)
				data[s].backtest[CANDIDATE_GBDT] = bt[s];
		}
		else
		{
			ForecastMethod method = c == CANDIDATE_ETS ? FORECAST_ETS : FORECAST_SEASONAL_NAIVE;

			for (int s = 0; s < f->n_series; s++)
			{
				const RegularSeries *rs = data[s].regular;

				if (c > 0 && seconds_now() >= deadline)
				{
					f->trial_done[c] = false;
					break;
				}
				data[s].backtest[c] = forecast_backtest(rs->y, rs->n, f->period, h, FORECAST_ORIGINS,
														forecast_fit_predict_method, &method);
			}
		}
		f->trial_seconds[c] = seconds_now() - t0;
		if (!f->trial_done[c])
			for (int s = 0; s < f->n_series; s++)
				data[s].backtest[c] = NULL;	/* a part done by the deadline is not compared */
		progress_update(c + 1, "mase", NAN, isinf(deadline) ? NAN : deadline - seconds_now(), "search");
	}

	/* scores once every candidate ran, on the series where all of them are defined */
	f->best = CANDIDATE_SEASONAL_NAIVE;
	for (int c = 0; c < CANDIDATE_COUNT; c++)
	{
		f->trial_score[c] = f->trial_done[c]
			? mean_metric(data, f->n_series, c, offsetof(ForecastMetrics, mase)) : NAN;
		if (f->trial_done[c] && !isnan(f->trial_score[c]) &&
			(isnan(f->trial_score[f->best]) || f->trial_score[c] < f->trial_score[f->best]))
			f->best = (ForecastCandidate) c;
	}
	if (isnan(f->trial_score[f->best]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no series has a defined backtest error: each one is constant season to season before its backtest origins"),
				 errhint("A constant series needs no model; forecast it with its last value.")));
}

/* The chosen candidate on every period. */
static void
refit_chosen(ForecastRun *f)
{
	ForecastModel *model = &f->model;

	memset(model, 0, sizeof(*model));
	model->method = f->best;
	model->grid = f->grid;
	model->period = f->period;
	model->horizon = f->run.req->horizon;
	model->n_series = f->n_series;
	model->series = palloc0(sizeof(SeriesState) * f->n_series);
	model->n_features = f->spec.n_features;
	if (f->best == CANDIDATE_GBDT)
	{
		int		   *length = palloc(sizeof(int) * f->n_series);
		const RegularSeries **series = palloc(sizeof(RegularSeries *) * f->n_series);

		for (int s = 0; s < f->n_series; s++)
		{
			series[s] = f->data[s].regular;
			length[s] = series[s]->n;
		}
		model->gbdt_state = forecast_global_fit(series, f->n_series, length, &f->spec);
	}
	for (int s = 0; s < f->n_series; s++)
	{
		const RegularSeries *rs = f->data[s].regular;
		SeriesState *st = &model->series[s];
		int			keep = Min(rs->n, forecast_history_needed(&f->grid, f->period));

		st->key = f->data[s].key;
		st->last_time = forecast_step(&rs->grid, rs->grid.origin, rs->n - 1);
		st->n_history = keep;
		st->history = (double *) rs->y + (rs->n - keep);
		st->scale = forecast_mean_abs(rs->y, rs->n);
		st->step_rmse = f->data[s].backtest[f->best]->step_rmse;
		if (f->best == CANDIDATE_ETS)
			st->ets = ets_fit_auto(rs->y, rs->n, f->period);
		CHECK_FOR_INTERRUPTS();
	}
}

static Jsonb *
hyperparams_json(const ForecastRun *f)
{
	JsonBuilder b;

	json_begin(&b);
	json_key_string(&b, "method", forecast_candidate_name(f->best));
	json_key_string(&b, "frequency", forecast_frequency_name(f->grid.freq));
	json_key_int(&b, "season_length", f->period);
	json_key_int(&b, "horizon", f->run.req->horizon);
	if (f->best == CANDIDATE_GBDT)
	{
		json_key_int(&b, "features", f->spec.n_features);
		json_key_int(&b, "n_estimators", 300);
		json_key_number(&b, "learning_rate", 0.05);
		json_key_int(&b, "max_leaves", 15);
		json_key_int(&b, "min_samples_leaf", 5);
	}
	return json_end(&b);
}

/* The series: their spans, filled periods and backtest MASE (the first SUMMARY_MAX_SERIES). */
static Jsonb *
summary_json(const ForecastRun *f)
{
	JsonBuilder b;

	json_begin(&b);
	json_key_int(&b, "series", f->n_series);
	json_key(&b, "periods");
	json_begin_array(&b);
	for (int s = 0; s < Min(f->n_series, SUMMARY_MAX_SERIES); s++)
	{
		char		buf[32];

		json_begin_object(&b);
		json_key_string(&b, "key", f->data[s].key);
		json_key_string(&b, "first", forecast_format_time(f->data[s].regular->grid.origin, buf));
		json_key_string(&b, "last", forecast_format_time(f->model.series[s].last_time, buf));
		json_key_int(&b, "periods", f->data[s].regular->n);
		json_key_int(&b, "filled", f->data[s].regular->n_filled);
		json_key_number(&b, "mase", f->data[s].backtest[f->best]->metrics.mase);
		if (f->best == CANDIDATE_ETS)
			json_key_string(&b, "ets", ets_describe(f->model.series[s].ets, buf));
		json_end_object(&b);
	}
	json_end_array(&b);
	return json_end(&b);
}

static Jsonb *
options_json(const ForecastRun *f)
{
	const TrainRequest *req = f->run.req;
	JsonBuilder b;

	json_begin(&b);
	json_key_int(&b, "seed", req->seed);
	json_key_bool(&b, "task_inferred", false);
	json_key_string(&b, "validation", "rolling_origin");
	json_key_int(&b, "folds", origins_used(f->data, f->n_series));
	json_key_number(&b, "time_budget", req->time_budget > 0 ? req->time_budget : NAN);
	json_key_string(&b, "time_column", req->time_column);
	json_key_string(&b, "series_column", req->series_column);
	json_key_int(&b, "horizon", req->horizon);
	json_key_string(&b, "frequency", forecast_frequency_name(f->grid.freq));
	json_key_int(&b, "trials", CANDIDATE_COUNT);
	json_key_int(&b, "best_trial", (int) f->best + 1);
	json_key_int(&b, "rows_in_relation", f->total_rows);
	json_key_int(&b, "rows_used", f->total_rows);
	json_key_int(&b, "periods_filled", f->filled);
	json_key(&b, "exclude");
	json_begin_array(&b);
	json_end_array(&b);
	json_key(&b, "algorithms");
	json_null(&b);
	json_key(&b, "hyperparams");
	json_null(&b);
	return json_end(&b);
}

static Jsonb *
warnings_json(const ForecastRun *f)
{
	JsonBuilder b;

	json_begin_list(&b);
	if (f->filled > 0)
	{
		json_begin_object(&b);
		json_key_string(&b, "check", "filled_periods");
		json_key_string(&b, "column", NULL);
		json_key_string(&b, "message",
						psprintf("%d missing periods and %d NULL values were filled by linear interpolation",
								 f->gaps, f->nulls));
		json_end_object(&b);
	}
	return json_end_list(&b);
}

static Jsonb *
profile_json(const ForecastRun *f)
{
	JsonBuilder b;

	json_begin(&b);
	json_key_int(&b, "rows", f->total_rows);
	json_key(&b, "columns");
	json_begin_array(&b);
	json_end_array(&b);
	return json_end(&b);
}

static void
record_forecast(ForecastRun *f)
{
	ModelRecord *rec = &f->run.rec;
	static const char *const feature_kinds[] = {"datetime"};
	const char **feature_names = palloc(sizeof(char *));
	RunTrial	trials[CANDIDATE_COUNT];

	rec->task = "forecast";
	rec->algorithm = forecast_candidate_name(f->best);
	rec->hyperparams = hyperparams_json(f);
	rec->metrics = metrics_json(f);
	rec->metric = "mase";
	rec->score = f->trial_score[f->best];
	feature_names[0] = f->run.req->time_column;
	rec->n_features = 1;
	rec->features = feature_names;
	rec->feature_kinds = feature_kinds;
	rec->n_classes = 0;
	rec->summary = summary_json(f);
	rec->options = options_json(f);
	rec->warnings = warnings_json(f);
	rec->profile = profile_json(f);
	rec->n_rows = f->total_rows;
	rec->data_digest = f->digest_hex;
	rec->model_bytes = forecast_model_serialize(&f->model);

	memset(trials, 0, sizeof(trials));
	for (int c = 0; c < CANDIDATE_COUNT; c++)
	{
		JsonBuilder none;

		json_begin(&none);
		trials[c].algorithm = forecast_candidate_name((ForecastCandidate) c);
		trials[c].hyperparams = json_end(&none);
		trials[c].score = f->trial_score[c];
		trials[c].score_std = NAN;
		trials[c].fit_seconds = f->trial_seconds[c];
		trials[c].rows_used = f->total_rows;
		trials[c].status = f->trial_done[c] ? "ok" : "stopped at the time budget";
		trials[c].ensemble_weight = NAN;
		trials[c].selected = c == (int) f->best;
	}
	run_set_trials(&f->run, trials, CANDIDATE_COUNT, false);
}

/*
 * A version forecasts from the end of the data it saw, so a newer one is
 * deployed whenever automatic deployment is on; its backtest and the
 * deployed version's are recorded side by side.
 */
static void
decide(ForecastRun *f)
{
	ModelRecord *rec = &f->run.rec;

	if (run_decide_by_policy(&f->run))
		return;
	rec->deploy = true;
	rec->decision_event = "auto_deploy";
	rec->decision_reason = psprintf("a forecast model serves from the end of its data: the newest version is deployed (backtest mase %.6g)",
									f->trial_score[f->best]);
}

TrainOutcome
train_forecast(TrainRequest *req)
{
	ForecastRun f;
	Oid			time_type,
				target_type;
	char		relkind;
	SeriesRows *rows;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	memset(&f, 0, sizeof(f));
	f.run.req = req;
	check_arguments(&f, &time_type, &target_type);
	run_start(&f.run, req);
	f.relname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(req->relid)),
										   get_rel_name(req->relid));
	relkind = get_rel_relkind(req->relid);
	check_columns(&f, &time_type, &target_type);

	rows = read_series(req, f.relname, &f.n_series, time_type, target_type, digest);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(f.digest_hex + 2 * i, 3, "%02x", digest[i]);
	place_series(&f, rows);
	backtest_candidates(&f);
	refit_chosen(&f);

	run_set_source(&f.run, req->relid, f.relname, relkind);
	record_forecast(&f);
	decide(&f);
	return run_store(&f.run);
}
