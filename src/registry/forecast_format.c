/*
 * forecast_format.c: the bytes of a trained forecast model.
 *
 * The bytes use the registry's header (magic, format version, length,
 * CRC-32) around a payload that starts with task byte MODEL_TASK_FORECAST:
 *
 *   u8 method, grid (u8 frequency, f64 origin, f64 step seconds, u32 step
 *   months, u32 anchor day, u8 month end, f64 time of day), u32 period,
 *   u32 horizon, u32 series; per series: u8 has key, key, f64 last time,
 *   u32 history, f64[] history, f64 scale, f64[horizon] step RMSE, and for
 *   ETS: u8 trend, u8 season, 4 f64 weights, f64 level, f64 slope,
 *   f64[period] seasonal; for gbdt at the end: u32 features, the learner
 *   section (length-prefixed).
 *
 * The loader trusts nothing: every count, enum and value is checked.
 */
#include "postgres.h"

#include <math.h>

#include "common/bytes.h"
#include "forecast/forecast.h"
#include "learn/learner.h"
#include "registry/registry.h"

#define MAX_SERIES 10000000
#define MAX_HORIZON 100000
#define MAX_HISTORY 1000000

bytea *
forecast_model_serialize(const ForecastModel *model)
{
	ByteWriter	w;

	bytes_writer_init(&w);
	bytes_put_u8(&w, MODEL_TASK_FORECAST);
	bytes_put_u8(&w, (uint8) model->method);
	bytes_put_u8(&w, (uint8) model->grid.freq);
	bytes_put_f64(&w, model->grid.origin);
	bytes_put_f64(&w, model->grid.step_seconds);
	bytes_put_u32(&w, (uint32) model->grid.step_months);
	bytes_put_u32(&w, (uint32) model->grid.anchor_day);
	bytes_put_u8(&w, model->grid.month_end ? 1 : 0);
	bytes_put_f64(&w, model->grid.time_of_day);
	bytes_put_u32(&w, (uint32) model->period);
	bytes_put_u32(&w, (uint32) model->horizon);
	bytes_put_u32(&w, (uint32) model->n_series);
	for (int s = 0; s < model->n_series; s++)
	{
		const SeriesState *st = &model->series[s];

		bytes_put_u8(&w, st->key != NULL);
		if (st->key != NULL)
			bytes_put_string(&w, st->key);
		bytes_put_f64(&w, st->last_time);
		bytes_put_u32(&w, (uint32) st->n_history);
		bytes_put_f64_array(&w, st->history, st->n_history);
		bytes_put_f64(&w, st->scale);
		bytes_put_f64_array(&w, st->step_rmse, model->horizon);
		if (model->method == CANDIDATE_ETS)
		{
			const EtsModel *e = st->ets;

			bytes_put_u8(&w, (uint8) e->trend);
			bytes_put_u8(&w, (uint8) e->season);
			bytes_put_f64(&w, e->params.alpha);
			bytes_put_f64(&w, e->params.beta);
			bytes_put_f64(&w, e->params.gamma);
			bytes_put_f64(&w, e->params.phi);
			bytes_put_f64(&w, e->level);
			bytes_put_f64(&w, e->slope);
			if (e->season != ETS_SEASON_NONE)
				bytes_put_f64_array(&w, e->seasonal, e->period);
		}
	}
	if (model->method == CANDIDATE_GBDT)
	{
		ByteWriter	learner_bytes;

		bytes_put_u32(&w, (uint32) model->n_features);
		bytes_writer_init(&learner_bytes);
		gbdt_learner.save(model->gbdt_state, &learner_bytes);
		bytes_put_u64(&w, (uint64) learner_bytes.buf.len);
		bytes_put_raw(&w, learner_bytes.buf.data, learner_bytes.buf.len);
	}
	return model_bytes_wrap(&w);
}

/* The length of a fixed period: an hour, a day, a week. */
static double
expected_step_seconds(ForecastFrequency freq)
{
	switch (freq)
	{
		case FREQ_HOURLY:
			return 3600.0;
		case FREQ_DAILY:
			return 86400.0;
		case FREQ_WEEKLY:
			return 7 * 86400.0;
		default:
			return 0.0;
	}
}

ForecastModel *
forecast_model_deserialize(const char *data, size_t len)
{
	ByteReader	r = model_bytes_open(data, len);
	ForecastModel *model = palloc0(sizeof(ForecastModel));
	uint8		b;

	if (bytes_get_u8(&r) != MODEL_TASK_FORECAST)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("this model scores rows and does not forecast a time series"),
				 errhint("Call automl_predict(name, row) to score rows.")));
	b = bytes_get_u8(&r);
	if (b >= CANDIDATE_COUNT)
		bytes_corrupted(&r, "unknown forecast method");
	model->method = (ForecastCandidate) b;
	b = bytes_get_u8(&r);
	if (b > FREQ_YEARLY)
		bytes_corrupted(&r, "unknown frequency");
	model->grid.freq = (ForecastFrequency) b;
	model->grid.origin = bytes_get_finite_f64(&r);
	model->grid.step_seconds = bytes_get_finite_f64(&r);
	model->grid.step_months = (int) bytes_get_u32(&r);
	model->grid.anchor_day = (int) bytes_get_u32(&r);
	model->grid.month_end = bytes_get_flag(&r);
	model->grid.time_of_day = bytes_get_finite_f64(&r);
	if (model->grid.origin < FORECAST_MIN_TIME || model->grid.origin > FORECAST_MAX_TIME)
		bytes_corrupted(&r, "the grid's origin is outside the years 1 to 9999");
	if (model->grid.freq <= FREQ_WEEKLY ? model->grid.step_seconds != expected_step_seconds(model->grid.freq) ||
		model->grid.step_months != 0
		: model->grid.step_months < 1 || model->grid.step_months > 12 ||
		model->grid.anchor_day < 1 || model->grid.anchor_day > 31 ||
		model->grid.time_of_day < 0 || model->grid.time_of_day >= 86400)
		bytes_corrupted(&r, "the period grid is inconsistent");
	model->period = (int) bytes_get_u32(&r);
	if (model->period != forecast_season_length(model->grid.freq))
		bytes_corrupted(&r, "the season length does not fit the frequency");
	model->horizon = (int) bytes_get_u32(&r);
	if (model->horizon < 1 || model->horizon > MAX_HORIZON)
		bytes_corrupted(&r, "the horizon is out of range");
	model->n_series = (int) bytes_get_count(&r, 30, MAX_SERIES);
	if (model->n_series < 1)
		bytes_corrupted(&r, "a forecast model without series");
	model->series = palloc0(sizeof(SeriesState) * model->n_series);
	for (int s = 0; s < model->n_series; s++)
	{
		SeriesState *st = &model->series[s];

		if (bytes_get_flag(&r))
			st->key = bytes_get_string(&r);
		st->last_time = bytes_get_finite_f64(&r);
		if (st->last_time < FORECAST_MIN_TIME || st->last_time > FORECAST_MAX_TIME)
			bytes_corrupted(&r, "a series ends outside the years 1 to 9999");
		st->n_history = (int) bytes_get_count(&r, 8, MAX_HISTORY);
		if (st->n_history < 1)
			bytes_corrupted(&r, "a series without history");
		st->history = bytes_get_f64_array(&r, st->n_history);
		for (int i = 0; i < st->n_history; i++)
		{
			if (!isfinite(st->history[i]))
				bytes_corrupted(&r, "a history value is not finite");
		}
		st->scale = bytes_get_finite_f64(&r);
		if (!(st->scale > 0))
			bytes_corrupted(&r, "a series scale is not positive");
		st->step_rmse = bytes_get_f64_array(&r, model->horizon);
		for (int j = 0; j < model->horizon; j++)
		{
			if (!(st->step_rmse[j] >= 0) || !isfinite(st->step_rmse[j]))
				bytes_corrupted(&r, "a backtest error is not a finite number 0 or greater");
		}
		if (model->method == CANDIDATE_ETS)
		{
			EtsModel   *e = palloc0(sizeof(EtsModel));

			b = bytes_get_u8(&r);
			if (b > ETS_TREND_DAMPED)
				bytes_corrupted(&r, "unknown ETS trend");
			e->trend = (EtsTrend) b;
			b = bytes_get_u8(&r);
			if (b > ETS_SEASON_MULTIPLICATIVE)
				bytes_corrupted(&r, "unknown ETS season");
			e->season = (EtsSeason) b;
			e->period = e->season == ETS_SEASON_NONE ? 1 : model->period;
			e->params.alpha = bytes_get_finite_f64(&r);
			e->params.beta = bytes_get_finite_f64(&r);
			e->params.gamma = bytes_get_finite_f64(&r);
			e->params.phi = bytes_get_finite_f64(&r);
			e->level = bytes_get_finite_f64(&r);
			e->slope = bytes_get_finite_f64(&r);
			if (e->params.phi < 0 || e->params.phi > 1)
				bytes_corrupted(&r, "the ETS damping is outside [0, 1]");
			if (e->season != ETS_SEASON_NONE)
			{
				if (model->period < 2)
					bytes_corrupted(&r, "a seasonal ETS model without a season");
				e->seasonal = bytes_get_f64_array(&r, e->period);
				for (int j = 0; j < e->period; j++)
				{
					if (!isfinite(e->seasonal[j]))
						bytes_corrupted(&r, "a seasonal state is not finite");
				}
			}
			st->ets = e;
		}
	}
	if (model->method == CANDIDATE_GBDT)
	{
		FeatureSpec spec = forecast_feature_spec(&model->grid, model->period);
		ByteReader	section;

		model->n_features = (int) bytes_get_u32(&r);
		if (model->n_features != spec.n_features)
			bytes_corrupted(&r, "the number of features does not fit the frequency");
		section = bytes_get_section(&r);
		section.what = "forecast learner state";
		model->gbdt_state = gbdt_learner.load(&section, TASK_REGRESSION, model->n_features, 0);
		bytes_expect_end(&section);
	}
	bytes_expect_end(&r);
	return model;
}

