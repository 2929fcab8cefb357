/*
 * features.c: rows of features for a global tree model, and the recursive
 * driver that turns its one-step predictions into a multi-step forecast.
 *
 * Row t describes y[t] with what was known before it, so a model trained on
 * rows of the past can be asked for row n (the next period) and then, with
 * its own prediction appended, for row n + 1, and so on.
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "miscadmin.h"

#define MAX_PLAIN_LAGS 48

static void
add_lag(FeatureSpec *spec, int lag)
{
	for (int i = 0; i < spec->n_lags; i++)
	{
		if (spec->lags[i] == lag)
			return;
	}
	if (spec->n_lags < FORECAST_MAX_LAGS)
		spec->lags[spec->n_lags++] = lag;
}

FeatureSpec
forecast_feature_spec(const TimeGrid *grid, int period)
{
	FeatureSpec spec;
	int			m = Max(period, 1);

	memset(&spec, 0, sizeof(spec));
	spec.grid = *grid;
	spec.period = m;

	/* the last season period by period, then the same phase one and two seasons back */
	for (int lag = 1; lag <= Max(Min(m, MAX_PLAIN_LAGS), 3); lag++)
		add_lag(&spec, lag);
	add_lag(&spec, m);
	add_lag(&spec, 2 * m);
	if (grid->freq == FREQ_HOURLY)
		add_lag(&spec, 168);	/* the same hour a week ago */

	spec.windows[spec.n_windows++] = 3;
	if (m > 3)
		spec.windows[spec.n_windows++] = m;

	switch (grid->freq)
	{
		case FREQ_HOURLY:
			spec.calendar[spec.n_calendar++] = CAL_HOUR;
			spec.calendar[spec.n_calendar++] = CAL_DAY_OF_WEEK;
			spec.calendar[spec.n_calendar++] = CAL_MONTH;
			break;
		case FREQ_DAILY:
			spec.calendar[spec.n_calendar++] = CAL_DAY_OF_WEEK;
			spec.calendar[spec.n_calendar++] = CAL_DAY_OF_MONTH;
			spec.calendar[spec.n_calendar++] = CAL_MONTH;
			break;
		case FREQ_WEEKLY:
			spec.calendar[spec.n_calendar++] = CAL_WEEK_OF_YEAR;
			spec.calendar[spec.n_calendar++] = CAL_MONTH;
			break;
		case FREQ_MONTHLY:
			spec.calendar[spec.n_calendar++] = CAL_MONTH;
			spec.calendar[spec.n_calendar++] = CAL_QUARTER;
			break;
		case FREQ_QUARTERLY:
			spec.calendar[spec.n_calendar++] = CAL_QUARTER;
			break;
		case FREQ_YEARLY:
			break;
	}
	spec.n_features = spec.n_lags + 2 * spec.n_windows + spec.n_calendar;
	return spec;
}

const char *
forecast_feature_name(const FeatureSpec *spec, int i, char *buf, size_t len)
{
	static const char *const calendar_names[] = {
		"hour", "day_of_week", "day_of_month", "week_of_year", "month", "quarter"
	};

	if (i < spec->n_lags)
		snprintf(buf, len, "lag_%d", spec->lags[i]);
	else if ((i -= spec->n_lags) < 2 * spec->n_windows)
		snprintf(buf, len, "%s_%d", i % 2 == 0 ? "mean" : "std", spec->windows[i / 2]);
	else
		snprintf(buf, len, "%s", calendar_names[spec->calendar[i - 2 * spec->n_windows]]);
	return buf;
}

static double
calendar_value(CalendarFeature feature, const CalendarParts *p)
{
	switch (feature)
	{
		case CAL_HOUR:
			return p->hour;
		case CAL_DAY_OF_WEEK:
			return p->day_of_week;
		case CAL_DAY_OF_MONTH:
			return p->day;
		case CAL_WEEK_OF_YEAR:
			return (p->day_of_year - 1) / 7 + 1;	/* 1..53, weeks counted from January 1 */
		case CAL_MONTH:
			return p->month;
		case CAL_QUARTER:
			return (p->month - 1) / 3 + 1;
		case CAL_COUNT:
			break;
	}
	return NAN;
}

void
forecast_features_row(const FeatureSpec *spec, const double *y, int n, int t, double *out)
{
	int			f = 0;

	if (t < 0 || t > n)
		elog(ERROR, "feature row %d outside a series of %d values", t, n);

	for (int i = 0; i < spec->n_lags; i++)
		out[f++] = t - spec->lags[i] >= 0 ? y[t - spec->lags[i]] : NAN;

	for (int i = 0; i < spec->n_windows; i++)
	{
		int			w = spec->windows[i];
		double		mean = 0.0;
		double		squares = 0.0;

		if (t - w < 0)
		{
			out[f++] = NAN;
			out[f++] = NAN;
			continue;
		}
		for (int k = t - w; k < t; k++)
			mean += y[k] / w;
		for (int k = t - w; k < t; k++)
			squares += (y[k] - mean) * (y[k] - mean);
		out[f++] = mean;
		out[f++] = sqrt(squares / (w - 1));	/* sample standard deviation */
	}

	if (spec->n_calendar > 0)
	{
		CalendarParts p = forecast_calendar(forecast_step(&spec->grid, spec->grid.origin, t));

		for (int i = 0; i < spec->n_calendar; i++)
			out[f++] = calendar_value(spec->calendar[i], &p);
	}
}

void
forecast_features_matrix(const FeatureSpec *spec, const double *y, int n, int first, double *X)
{
	if (first < 0)
		elog(ERROR, "feature rows start at %d", first);
	for (int t = first; t < n; t++)
	{
		if ((t & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		forecast_features_row(spec, y, n, t, X + (size_t) (t - first) * spec->n_features);
	}
}

void
forecast_recursive(const FeatureSpec *spec, const double *y, int n, int h,
				   ForecastPredictFn predict, void *arg, double *out)
{
	double	   *history = palloc((n + h) * sizeof(double));
	double	   *features = palloc(spec->n_features * sizeof(double));

	memcpy(history, y, n * sizeof(double));
	for (int j = 0; j < h; j++)
	{
		CHECK_FOR_INTERRUPTS();
		forecast_features_row(spec, history, n + j, n + j, features);
		history[n + j] = predict(arg, features);
		out[j] = history[n + j];
	}
	pfree(features);
	pfree(history);
}
