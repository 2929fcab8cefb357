/*
 * train.c: automl_train(..., task => 'forecast'): from a table of timestamped
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
#include "common/json_out.h"
#include "common/sha2.h"
#include "data/frame.h"
#include "executor/spi.h"
#include "forecast/forecast.h"
#include "learn/learner.h"
#include "miscadmin.h"
#include "registry/registry.h"
#include "search/search.h"
#include "utils/builtins.h"
#include "utils/json.h"
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

/* ---- the gradient-boosted candidate, one model over every series ---- */

/*
 * Fits one gbdt on every series' first length[s] periods: rows t >= 1 of
 * each, features of the series divided by its scale.
 */
static void *
fit_global_gbdt(SeriesData *data, int n_series, const int *length, const FeatureSpec *spec0)
{
	int64		n_rows = 0;
	int64		at = 0;
	double	   *X;
	double	   *target;
	Dataset		ds;
	double		hp[32];

	for (int s = 0; s < n_series; s++)
		n_rows += Max(length[s] - 1, 0);
	X = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n_rows, 1) * spec0->n_features);
	target = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n_rows, 1));
	for (int s = 0; s < n_series; s++)
	{
		const RegularSeries *rs = data[s].regular;
		int			n = length[s];
		double		scale = forecast_mean_abs(rs->y, n);
		double	   *scaled = palloc(sizeof(double) * Max(n, 1));
		FeatureSpec spec = *spec0;

		if (n < 2)
			continue;
		spec.grid = rs->grid;
		for (int i = 0; i < n; i++)
			scaled[i] = rs->y[i] / scale;
		forecast_features_matrix(&spec, scaled, n, 1, X + at * spec.n_features);
		for (int t = 1; t < n; t++)
			target[at++] = scaled[t];
		pfree(scaled);
	}

	memset(&ds, 0, sizeof(ds));
	ds.task = TASK_REGRESSION;
	ds.n_rows = n_rows;
	ds.n_features = spec0->n_features;
	ds.X = X;
	ds.y = target;
	for (int i = 0; i < gbdt_learner.n_hyperparams; i++)
	{
		const HyperparamDef *def = &gbdt_learner.hyperparams[i];

		hp[i] = def->default_value;
		/* few rows per series: smaller leaves, slower learning, more rounds */
		if (strcmp(def->name, "min_samples_leaf") == 0)
			hp[i] = 5;
		else if (strcmp(def->name, "learning_rate") == 0)
			hp[i] = 0.05;
		else if (strcmp(def->name, "n_estimators") == 0)
			hp[i] = 300;
		else if (strcmp(def->name, "max_leaves") == 0)
			hp[i] = 15;
	}
	return gbdt_learner.fit(&ds, hp);
}

/* h forecasts of series s from its first n periods with a fitted global model. */
static void
predict_global_gbdt(void *state, const RegularSeries *rs, int n, const FeatureSpec *spec0,
					int h, double *out)
{
	FeatureSpec spec = *spec0;

	spec.grid = rs->grid;
	forecast_gbdt_predict(state, &spec, rs->y, n, forecast_mean_abs(rs->y, n), h, out);
}

/*
 * The gbdt backtest: at each origin index one model on every series cut
 * there, then each series forecast from its cut; a BacktestResult per
 * series like forecast_backtest's.
 */
static void
backtest_global_gbdt(SeriesData *data, int n_series, int period, int h, const FeatureSpec *spec)
{
	int			max_origins = 0;
	int		   *length = palloc(sizeof(int) * n_series);

	for (int s = 0; s < n_series; s++)
	{
		BacktestResult *bt = palloc0(sizeof(BacktestResult));

		max_origins = Max(max_origins, data[s].n_origins);
		bt->horizon = h;
		bt->period = period;
		bt->n_origins = data[s].n_origins;
		bt->origins = data[s].origins;
		bt->forecasts = palloc(sizeof(double) * bt->n_origins * h);
		bt->actuals = palloc(sizeof(double) * bt->n_origins * h);
		bt->scales = palloc(sizeof(double) * bt->n_origins);
		bt->step_rmse = palloc0(sizeof(double) * h);
		data[s].backtest[CANDIDATE_GBDT] = bt;
	}
	/* origin index o counts from the end: series with fewer origins join the later ones */
	for (int o = 0; o < max_origins; o++)
	{
		void	   *state;

		/* a series without an origin at this index sits this fit out: it may end later */
		for (int s = 0; s < n_series; s++)
		{
			int			k = o - (max_origins - data[s].n_origins);

			length[s] = k >= 0 ? data[s].origins[k] : 0;
		}
		state = fit_global_gbdt(data, n_series, length, spec);
		for (int s = 0; s < n_series; s++)
		{
			BacktestResult *bt = data[s].backtest[CANDIDATE_GBDT];
			int			k = o - (max_origins - data[s].n_origins);
			const double *y = data[s].regular->y;

			if (k < 0)
				continue;
			predict_global_gbdt(state, data[s].regular, length[s], spec, h, bt->forecasts + k * h);
			memcpy(bt->actuals + k * h, y + length[s], sizeof(double) * h);
			bt->scales[k] = forecast_mase_scale(y, length[s], period);
		}
		CHECK_FOR_INTERRUPTS();
	}
	for (int s = 0; s < n_series; s++)
	{
		BacktestResult *bt = data[s].backtest[CANDIDATE_GBDT];
		double	   *point_scales = palloc(sizeof(double) * bt->n_origins * h);

		for (int k = 0; k < bt->n_origins; k++)
		{
			for (int j = 0; j < h; j++)
			{
				double		e = bt->actuals[k * h + j] - bt->forecasts[k * h + j];

				bt->step_rmse[j] += e * e / bt->n_origins;
				point_scales[k * h + j] = bt->scales[k];
			}
		}
		for (int j = 0; j < h; j++)
			bt->step_rmse[j] = sqrt(bt->step_rmse[j]);
		bt->metrics = forecast_metrics(bt->actuals, bt->forecasts, point_scales, bt->n_origins * h);
	}
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

static char *
metrics_json(const SeriesData *data, int n_series, ForecastCandidate c, int h)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfoString(&json, "{\"mase\": ");
	json_append_number(&json, mean_metric(data, n_series, c, offsetof(ForecastMetrics, mase)));
	appendStringInfoString(&json, ", \"smape\": ");
	json_append_number(&json, mean_metric(data, n_series, c, offsetof(ForecastMetrics, smape)));
	appendStringInfoString(&json, ", \"mape\": ");
	json_append_number(&json, mean_metric(data, n_series, c, offsetof(ForecastMetrics, mape)));
	appendStringInfoString(&json, ", \"mae\": ");
	json_append_number(&json, mean_metric(data, n_series, c, offsetof(ForecastMetrics, mae)));
	appendStringInfoString(&json, ", \"rmse\": ");
	json_append_number(&json, mean_metric(data, n_series, c, offsetof(ForecastMetrics, rmse)));
	appendStringInfo(&json, ", \"series\": %d, \"horizon\": %d, \"origins\": %d, \"averaged\": \"over series\"}",
					 n_series, h, origins_used(data, n_series));
	return json.data;
}

TrainOutcome
forecast_train(TrainRequest *req)
{
	double		started = seconds_now();
	double		deadline;
	Oid			time_type,
				target_type;
	char	   *relname;
	char		relkind;
	SeriesRows *rows;
	int			n_series;
	SeriesData *data;
	TimeGrid	grid;
	int			period;
	int			h = req->horizon;
	FeatureSpec spec;
	TrialRecord trials[CANDIDATE_COUNT];
	double		trial_seconds[CANDIDATE_COUNT];
	double		trial_score[CANDIDATE_COUNT];
	bool		trial_done[CANDIDATE_COUNT];
	ForecastCandidate best = CANDIDATE_SEASONAL_NAIVE;
	ForecastModel model;
	ModelRecord rec;
	ModelPolicy policy;
	StringInfoData json;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char		digest_hex[2 * PG_SHA256_DIGEST_LENGTH + 1];
	int64		total_rows = 0;
	int			filled = 0,
				gaps = 0,
				nulls = 0;
	TrainOutcome outcome;
	static const char *const feature_kinds[] = {"datetime"};
	const char *feature_names[1];
	int			version;

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

	catalog_check_owner(req->name, "train", false);
	policy = catalog_get_policy(req->name);
	progress_start(req->name, req->time_budget);
	deadline = req->time_budget > 0 ? started + req->time_budget : INFINITY;

	relname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(req->relid)),
										 get_rel_name(req->relid));
	relkind = get_rel_relkind(req->relid);
	time_type = column_type(req->relid, req->time_column, "time", relname);
	if (time_type != DATEOID && time_type != TIMESTAMPOID && time_type != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" is of type %s, not a date or timestamp",
						req->time_column, format_type_be(time_type)),
				 errhint("Convert it in a view, for example make_date(year, month, 1).")));
	target_type = column_type(req->relid, req->target, "target", relname);
	if (!frame_type_is_numeric(target_type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" is of type %s; a forecast needs numbers",
						req->target, format_type_be(target_type))));
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

	rows = read_series(req, relname, &n_series, time_type, target_type, digest);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(digest_hex + 2 * i, 3, "%02x", digest[i]);

	/* every series on its grid; they must share a frequency */
	data = palloc0(sizeof(SeriesData) * n_series);
	for (int s = 0; s < n_series; s++)
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
		total_rows += rows[s].n;
		filled += data[s].regular->n_filled;
		gaps += data[s].regular->n_gaps;
		nulls += data[s].regular->n_null;
	}
	grid = data[0].regular->grid;
	period = forecast_season_length(grid.freq);
	spec = forecast_feature_spec(&grid, period);
	if (filled > 0)
		ereport(NOTICE,
				(errmsg("%d missing periods and %d NULL values were filled by linear interpolation",
						gaps, nulls)));

	for (int s = 0; s < n_series; s++)
	{
		ErrorContextCallback callback = {error_context_stack, series_error_context, data[s].key};

		error_context_stack = &callback;
		data[s].n_origins = forecast_backtest_origins(data[s].regular->n, period, h, FORECAST_ORIGINS,
													  data[s].origins);
		error_context_stack = callback.previous;
	}

	/* the candidates, cheapest first, each on every series unless the budget runs out */
	memset(trials, 0, sizeof(trials));
	for (int c = 0; c < CANDIDATE_COUNT; c++)
	{
		double		t0 = seconds_now();

		trial_done[c] = true;
		if (c > 0 && t0 >= deadline)
			trial_done[c] = false;
		else if (c == CANDIDATE_GBDT)
			backtest_global_gbdt(data, n_series, period, h, &spec);
		else
		{
			ForecastMethod method = c == CANDIDATE_ETS ? FORECAST_ETS : FORECAST_SEASONAL_NAIVE;

			for (int s = 0; s < n_series; s++)
			{
				const RegularSeries *rs = data[s].regular;

				if (c > 0 && seconds_now() >= deadline)
				{
					trial_done[c] = false;
					break;
				}
				data[s].backtest[c] = forecast_backtest(rs->y, rs->n, period, h, FORECAST_ORIGINS,
														forecast_fit_predict_method, &method);
			}
		}
		trial_seconds[c] = seconds_now() - t0;
		if (!trial_done[c])
			for (int s = 0; s < n_series; s++)
				data[s].backtest[c] = NULL;	/* a part done by the deadline is not compared */
		progress_update(c + 1, "mase", NAN, isinf(deadline) ? NAN : deadline - seconds_now(), "search");
	}

	/* scores once every candidate ran, on the series where all of them are defined */
	for (int c = 0; c < CANDIDATE_COUNT; c++)
	{
		trial_score[c] = trial_done[c] ? mean_metric(data, n_series, c, offsetof(ForecastMetrics, mase)) : NAN;
		if (trial_done[c] && !isnan(trial_score[c]) &&
			(isnan(trial_score[best]) || trial_score[c] < trial_score[best]))
			best = (ForecastCandidate) c;
	}
	if (isnan(trial_score[best]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no series has a defined backtest error: each one is constant season to season before its backtest origins"),
				 errhint("A constant series needs no model; forecast it with its last value.")));

	/* the chosen candidate on every period */
	memset(&model, 0, sizeof(model));
	model.method = best;
	model.grid = grid;
	model.period = period;
	model.horizon = h;
	model.n_series = n_series;
	model.series = palloc0(sizeof(SeriesState) * n_series);
	model.n_features = spec.n_features;
	if (best == CANDIDATE_GBDT)
	{
		int		   *length = palloc(sizeof(int) * n_series);

		for (int s = 0; s < n_series; s++)
			length[s] = data[s].regular->n;
		model.gbdt_state = fit_global_gbdt(data, n_series, length, &spec);
	}
	for (int s = 0; s < n_series; s++)
	{
		const RegularSeries *rs = data[s].regular;
		SeriesState *st = &model.series[s];
		int			keep = Min(rs->n, forecast_history_needed(&grid, period));

		st->key = data[s].key;
		st->last_time = forecast_step(&rs->grid, rs->grid.origin, rs->n - 1);
		st->n_history = keep;
		st->history = (double *) rs->y + (rs->n - keep);
		st->scale = forecast_mean_abs(rs->y, rs->n);
		st->step_rmse = data[s].backtest[best]->step_rmse;
		if (best == CANDIDATE_ETS)
			st->ets = ets_fit_auto(rs->y, rs->n, period);
		CHECK_FOR_INTERRUPTS();
	}

	/* the catalog row */
	memset(&rec, 0, sizeof(rec));
	rec.name = req->name;
	rec.task = "forecast";
	rec.algorithm = forecast_candidate_name(best);
	initStringInfo(&json);
	appendStringInfo(&json, "{\"method\": \"%s\", \"frequency\": \"%s\", \"season_length\": %d, \"horizon\": %d",
					 forecast_candidate_name(best), forecast_frequency_name(grid.freq), period, h);
	if (best == CANDIDATE_GBDT)
		appendStringInfo(&json, ", \"features\": %d, \"n_estimators\": 300, \"learning_rate\": 0.05, \"max_leaves\": 15, \"min_samples_leaf\": 5",
						 spec.n_features);
	appendStringInfoChar(&json, '}');
	rec.hyperparams_json = json.data;
	rec.metrics_json = metrics_json(data, n_series, best, h);
	rec.metric = "mase";
	rec.score = trial_score[best];
	feature_names[0] = req->time_column;
	rec.n_features = 1;
	rec.features = feature_names;
	rec.feature_kinds = feature_kinds;
	rec.n_classes = 0;

	initStringInfo(&json);
	appendStringInfo(&json, "{\"series\": %d, \"periods\": [", n_series);
	for (int s = 0; s < Min(n_series, SUMMARY_MAX_SERIES); s++)
	{
		char		buf[32];
		char		first[32];

		appendStringInfoString(&json, s > 0 ? ", {\"key\": " : "{\"key\": ");
		json_append_string(&json, data[s].key);
		appendStringInfo(&json, ", \"first\": \"%s\", \"last\": \"%s\", \"periods\": %d, \"filled\": %d, \"mase\": ",
						 forecast_format_time(data[s].regular->grid.origin, first),
						 forecast_format_time(model.series[s].last_time, buf),
						 data[s].regular->n, data[s].regular->n_filled);
		json_append_number(&json, data[s].backtest[best]->metrics.mase);
		if (best == CANDIDATE_ETS)
			appendStringInfo(&json, ", \"ets\": \"%s\"", ets_describe(model.series[s].ets, buf));
		appendStringInfoChar(&json, '}');
	}
	appendStringInfoString(&json, "]}");
	rec.summary_json = json.data;
	rec.source_relation = relname;
	rec.source_kind = relation_kind_name(relkind);
	rec.source_definition = relation_view_definition(req->relid, relkind);
	rec.target = req->target;

	initStringInfo(&json);
	appendStringInfo(&json, "{\"seed\": %d, \"task_inferred\": false, \"validation\": \"rolling_origin\", \"folds\": %d,"
					 " \"time_budget\": ", req->seed, origins_used(data, n_series));
	json_append_number(&json, req->time_budget > 0 ? req->time_budget : NAN);
	appendStringInfoString(&json, ", \"time_column\": ");
	escape_json(&json, req->time_column);
	appendStringInfoString(&json, ", \"series_column\": ");
	json_append_string(&json, req->series_column);
	appendStringInfo(&json, ", \"horizon\": %d, \"frequency\": \"%s\", \"trials\": %d, \"best_trial\": %d,"
					 " \"rows_in_relation\": " INT64_FORMAT ", \"rows_used\": " INT64_FORMAT
					 ", \"periods_filled\": %d, \"exclude\": [], \"algorithms\": null, \"hyperparams\": null}",
					 h, forecast_frequency_name(grid.freq), CANDIDATE_COUNT, (int) best + 1,
					 total_rows, total_rows, filled);
	rec.options_json = json.data;
	rec.warnings_json = filled > 0
		? psprintf("[{\"check\": \"filled_periods\", \"column\": null, \"message\": \"%d missing periods and %d NULL values were filled by linear interpolation\"}]",
				   gaps, nulls)
		: "[]";
	rec.profile_json = psprintf("{\"rows\": " INT64_FORMAT ", \"columns\": []}", total_rows);
	rec.n_rows = total_rows;
	rec.data_digest = digest_hex;
	rec.model_bytes = forecast_model_serialize(&model);

	for (int c = 0; c < CANDIDATE_COUNT; c++)
	{
		TrialRecord *t = &trials[c];

		t->number = c + 1;
		t->algorithm = forecast_candidate_name((ForecastCandidate) c);
		t->hyperparams_json = "{}";
		t->score = trial_score[c];
		t->score_std = NAN;
		t->fit_seconds = trial_seconds[c];
		t->rows_used = total_rows;
		t->status = trial_done[c] ? "ok" : "stopped at the time budget";
		t->ensemble_weight = NAN;
		t->selected = c == (int) best;
	}
	/* ranks among the finished, best first */
	for (int c = 0; c < CANDIDATE_COUNT; c++)
	{
		if (!trial_done[c] || isnan(trial_score[c]))
			continue;
		trials[c].rank = 1;
		for (int d = 0; d < CANDIDATE_COUNT; d++)
		{
			if (d != c && trial_done[d] && !isnan(trial_score[d]) &&
				(trial_score[d] < trial_score[c] || (trial_score[d] == trial_score[c] && d < c)))
				trials[c].rank++;
		}
	}
	rec.n_trials = CANDIDATE_COUNT;
	rec.trials = trials;

	/*
	 * A version forecasts from the end of the data it saw, so a newer one is
	 * deployed whenever automatic deployment is on; its backtest and the
	 * deployed version's are recorded side by side.
	 */
	rec.parent_version = policy.deployed_version;
	if (policy.deployed_version == 0)
	{
		rec.deploy = true;
		rec.decision_event = "deploy";
		rec.decision_reason = "first version of the model";
	}
	else if (!policy.auto_deploy)
	{
		rec.deploy = false;
		rec.decision_event = "auto_deploy_refused";
		rec.decision_reason = "automatic deployment is off for this model";
	}
	else
	{
		rec.deploy = true;
		rec.decision_event = "auto_deploy";
		rec.decision_reason = psprintf("a forecast model serves from the end of its data: the newest version is deployed (backtest mase %.6g)",
									   trial_score[best]);
	}
	rec.train_seconds = seconds_now() - started;
	version = catalog_store_model(&rec);
	progress_end();

	outcome.version = version;
	outcome.deployed = rec.deploy;
	outcome.task = "forecast";
	outcome.algorithm = rec.algorithm;
	outcome.metric = "mase";
	outcome.score = trial_score[best];
	outcome.decision_reason = rec.decision_reason;
	outcome.gate_rows = 0;
	return outcome;
}
