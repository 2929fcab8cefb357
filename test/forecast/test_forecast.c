/*
 * test_forecast.c: the harness of src/forecast, outside the server.
 *
 *   ./test_forecast [--csv FILE]
 *
 * Run from test/forecast (it reads data/ and expected/). Checks calendar
 * arithmetic and frequency inference on hand-made timestamps, the error
 * cases and their messages, gap filling, naive forecasts, features and the
 * recursive driver, backtest origins, metrics and intervals, exponential
 * smoothing against numbers statsmodels produced (expected/reference.txt,
 * from reference.py), and backtests the real series in data/, printing MASE
 * per method (and writing them as CSV with --csv, in the columns of
 * bench/forecast_peer.py). Exits 1 when a check fails.
 */
#include "postgres.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "forecast/forecast.h"
#include "pg_shim.h"
#include "utils/elog.h"

static int	n_checks = 0;
static int	n_failures = 0;

#define CHECK(cond, ...) \
	do { \
		n_checks++; \
		if (!(cond)) \
		{ \
			n_failures++; \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

/* Runs statement, which must raise an error whose message contains text. */
#define EXPECT_ERROR(statement, code, text) \
	do { \
		jmp_buf		jump_; \
		n_checks++; \
		shim_set_error_jump(&jump_); \
		if (setjmp(jump_) == 0) \
		{ \
			statement; \
			shim_set_error_jump(NULL); \
			n_failures++; \
			fprintf(stderr, "FAIL %s:%d: no error, expected \"%s\"\n", __FILE__, __LINE__, text); \
		} \
		else \
		{ \
			shim_set_error_jump(NULL); \
			if (strstr(shim_error.message, text) == NULL || shim_error.sqlerrcode != (code)) \
			{ \
				n_failures++; \
				fprintf(stderr, "FAIL %s:%d: error \"%s\", expected \"%s\"\n", \
						__FILE__, __LINE__, shim_error.message, text); \
			} \
			else if (getenv("SHOW_ERRORS") != NULL) \
				printf("  error: %s%s%s%s%s\n", shim_error.message, \
					   shim_error.detail[0] ? "\n    detail: " : "", shim_error.detail, \
					   shim_error.hint[0] ? "\n    hint: " : "", shim_error.hint); \
		} \
	} while (0)

static bool
close_to(double a, double b, double relative)
{
	return fabs(a - b) <= relative * Max(fabs(b), 1.0);
}

static double
day(int y, int m, int d)
{
	return forecast_make_time(y, m, d, 0, 0, 0);
}

static const char *
show(double t)
{
	static char buf[4][32];
	static int	next = 0;

	next = (next + 1) % 4;
	return forecast_format_time(t, buf[next]);
}

/* ---- calendar and frequency ---- */

static void
test_calendar(void)
{
	CalendarParts p;

	CHECK(day(1970, 1, 1) == 0.0, "epoch");
	CHECK(day(2000, 3, 1) - day(2000, 2, 28) == 2 * 86400.0, "2000 is a leap year");
	CHECK(day(1900, 3, 1) - day(1900, 2, 28) == 86400.0, "1900 is not");
	p = forecast_calendar(forecast_make_time(1949, 7, 15, 13, 30, 0));
	CHECK(p.year == 1949 && p.month == 7 && p.day == 15 && p.hour == 13, "before 1970: %s", show(forecast_make_time(1949, 7, 15, 13, 30, 0)));
	p = forecast_calendar(day(2024, 1, 1));
	CHECK(p.day_of_week == 1 && p.day_of_year == 1, "2024-01-01 was a Monday");
	p = forecast_calendar(day(2024, 12, 31));
	CHECK(p.day_of_week == 2 && p.day_of_year == 366, "2024-12-31: Tuesday, day 366");
	CHECK(strcmp(show(forecast_make_time(2024, 2, 29, 23, 5, 9)), "2024-02-29 23:05:09") == 0, "format");
}

static TimeGrid
grid_of(const double *t, int n, GridReport *report)
{
	return forecast_infer_grid(t, n, report);
}

static void
test_fixed_frequencies(void)
{
	double		t[64];
	TimeGrid	g;
	GridReport	r;
	int			n = 0;

	for (int k = 0; k < 48; k++)	/* across a European DST change: timestamps carry no zone */
		t[k] = forecast_make_time(2024, 3, 30, 0, 0, 0) + k * 3600.0;
	g = grid_of(t, 48, &r);
	CHECK(g.freq == FREQ_HOURLY && g.step_seconds == 3600.0 && r.n_missing == 0 && r.n_periods == 48,
		  "hourly: %s, missing %d", forecast_frequency_name(g.freq), r.n_missing);
	CHECK(forecast_season_length(g.freq) == 24, "hourly season");

	/* daily, January 5-6 and 10 missing, across nothing special */
	for (int d = 1; d <= 14; d++)
	{
		if (d == 5 || d == 6 || d == 10)
			continue;
		t[n++] = day(2024, 1, d);
	}
	g = grid_of(t, n, &r);
	CHECK(g.freq == FREQ_DAILY && r.n_periods == 14 && r.n_missing == 3 && r.largest_gap == 2
		  && r.first_gap_at == day(2024, 1, 5),
		  "daily gaps: %s periods %d missing %d largest %d first %s", forecast_frequency_name(g.freq),
		  r.n_periods, r.n_missing, r.largest_gap, show(r.first_gap_at));
	CHECK(forecast_grid_index(&g, day(2024, 1, 11)) == 10 && forecast_grid_index(&g, day(2024, 1, 11) + 60) == -1,
		  "daily grid index");
	CHECK(forecast_step(&g, day(2024, 2, 28), 2) == day(2024, 3, 1), "daily step over a leap day");
	CHECK(forecast_season_length(g.freq) == 7, "daily season");

	for (int k = 0; k < 10; k++)
		t[k] = day(2024, 1, 1) + k * 7 * 86400.0;
	t[9] += 7 * 86400.0;		/* one week missing */
	g = grid_of(t, 10, &r);
	CHECK(g.freq == FREQ_WEEKLY && r.n_missing == 1, "weekly: %s", forecast_frequency_name(g.freq));
	CHECK(forecast_season_length(g.freq) == 52, "weekly season");
}

static void
test_month_frequencies(void)
{
	double		t[16];
	TimeGrid	g;
	GridReport	r;

	/* month starts, before 1970 */
	for (int k = 0; k < 6; k++)
		t[k] = day(1949, 1 + k, 1);
	g = grid_of(t, 6, &r);
	CHECK(g.freq == FREQ_MONTHLY && g.step_months == 1 && !g.month_end && g.anchor_day == 1 && r.n_missing == 0,
		  "month starts: %s", forecast_frequency_name(g.freq));
	CHECK(forecast_step(&g, day(1949, 11, 1), 3) == day(1950, 2, 1), "month start + 3");
	CHECK(forecast_step(&g, day(1949, 1, 1), -1) == day(1948, 12, 1), "month start - 1");
	CHECK(forecast_grid_index(&g, day(1950, 1, 1)) == 12 && forecast_grid_index(&g, day(1950, 1, 2)) == -1,
		  "monthly grid index");
	CHECK(forecast_season_length(g.freq) == 12, "monthly season");

	/* month ends: 30, 31, 29 days */
	t[0] = day(2023, 11, 30);
	t[1] = day(2023, 12, 31);
	t[2] = day(2024, 1, 31);
	t[3] = day(2024, 2, 29);
	t[4] = day(2024, 3, 31);
	g = grid_of(t, 5, &r);
	CHECK(g.freq == FREQ_MONTHLY && g.month_end, "month ends");
	CHECK(forecast_step(&g, day(2024, 1, 31), 1) == day(2024, 2, 29), "Jan 31 + 1 month, leap: %s",
		  show(forecast_step(&g, day(2024, 1, 31), 1)));
	CHECK(forecast_step(&g, day(2024, 2, 29), 1) == day(2024, 3, 31), "Feb 29 + 1 month end: %s",
		  show(forecast_step(&g, day(2024, 2, 29), 1)));
	CHECK(forecast_step(&g, day(2023, 1, 31), 1) == day(2023, 2, 28), "Jan 31 + 1 month, not leap");
	CHECK(forecast_step(&g, day(2024, 3, 31), -1) == day(2024, 2, 29), "Mar 31 - 1 month end");
	CHECK(forecast_step(&g, day(2024, 3, 31), 12) == day(2025, 3, 31), "+ 12 month ends");

	/* the 30th, clamped to February */
	t[0] = day(2023, 12, 30);
	t[1] = day(2024, 1, 30);
	t[2] = day(2024, 2, 29);
	t[3] = day(2024, 3, 30);
	g = grid_of(t, 4, &r);
	CHECK(g.freq == FREQ_MONTHLY && !g.month_end && g.anchor_day == 30, "the 30th: anchor %d", g.anchor_day);
	CHECK(forecast_step(&g, day(2024, 2, 29), 1) == day(2024, 3, 30), "Feb 29 + 1 on the 30th");
	CHECK(forecast_step(&g, day(2024, 12, 30), 2) == day(2025, 2, 28), "Dec 30 + 2 on the 30th");

	/* mid-month at noon */
	for (int k = 0; k < 4; k++)
		t[k] = forecast_make_time(2021, 3 + k, 15, 12, 0, 0);
	g = grid_of(t, 4, &r);
	CHECK(g.freq == FREQ_MONTHLY && g.time_of_day == 43200.0, "15th at noon");
	CHECK(forecast_step(&g, t[3], 1) == forecast_make_time(2021, 7, 15, 12, 0, 0), "15th at noon + 1");

	/* quarter starts with a missing quarter; quarter ends */
	t[0] = day(2020, 1, 1);
	t[1] = day(2020, 4, 1);
	t[2] = day(2020, 7, 1);
	t[3] = day(2021, 1, 1);
	g = grid_of(t, 4, &r);
	CHECK(g.freq == FREQ_QUARTERLY && g.step_months == 3 && r.n_missing == 1 && r.first_gap_at == day(2020, 10, 1),
		  "quarter starts: %s missing %d", forecast_frequency_name(g.freq), r.n_missing);
	CHECK(forecast_season_length(g.freq) == 4, "quarterly season");
	t[0] = day(2020, 3, 31);
	t[1] = day(2020, 6, 30);
	t[2] = day(2020, 9, 30);
	t[3] = day(2020, 12, 31);
	g = grid_of(t, 4, &r);
	CHECK(g.freq == FREQ_QUARTERLY && g.month_end, "quarter ends");
	CHECK(forecast_step(&g, day(2020, 12, 31), 1) == day(2021, 3, 31), "quarter end + 1");
	CHECK(forecast_step(&g, day(2020, 3, 31), -1) == day(2019, 12, 31), "quarter end - 1");

	for (int k = 0; k < 6; k++)
		t[k] = day(2000 + k, 1, 1);
	g = grid_of(t, 6, &r);
	CHECK(g.freq == FREQ_YEARLY && g.step_months == 12, "yearly");
	CHECK(forecast_step(&g, day(2005, 1, 1), 10) == day(2015, 1, 1), "yearly step");
	CHECK(forecast_season_length(g.freq) == 1, "yearly season");
}

/* ---- errors ---- */

static void
test_errors(void)
{
	double		t[16];
	double		v[16];
	bool		null[16];
	double		y[64];
	int			origins[8];

	for (int k = 0; k < 6; k++)
		t[k] = day(2024, 1, 1 + k);
	t[3] = t[2];
	EXPECT_ERROR(forecast_infer_grid(t, 6, NULL), ERRCODE_DATA_EXCEPTION,
				 "duplicate timestamp 2024-01-03 00:00:00");

	for (int k = 0; k < 6; k++)
		t[k] = day(2024, 1, 1 + k);
	t[5] += 12 * 3600.0;
	EXPECT_ERROR(forecast_infer_grid(t, 6, NULL), ERRCODE_DATA_EXCEPTION,
				 "timestamps are irregularly spaced: 2024-01-05 00:00:00 is followed by 2024-01-06 12:00:00");

	for (int k = 0; k < 6; k++)
		t[k] = day(2024, 1, 1 + 2 * k);
	EXPECT_ERROR(forecast_infer_grid(t, 6, NULL), ERRCODE_DATA_EXCEPTION,
				 "the smallest spacing, 172800 seconds (2024-01-01 00:00:00 to 2024-01-03 00:00:00), is not one period");

	for (int k = 0; k < 6; k++)
		t[k] = forecast_make_time(2024, 1, 1, 0, 10 * k, 0);
	EXPECT_ERROR(forecast_infer_grid(t, 6, NULL), ERRCODE_DATA_EXCEPTION, "smallest spacing, 600 seconds");

	for (int k = 0; k < 6; k++)
		t[k] = day(2024, 1 + 2 * k, 1);
	EXPECT_ERROR(forecast_infer_grid(t, 6, NULL), ERRCODE_DATA_EXCEPTION,
				 "timestamps are 2 months apart, which is not a supported frequency");

	t[0] = day(2020, 1, 1);
	t[1] = day(2020, 4, 1);
	t[2] = day(2020, 8, 1);
	EXPECT_ERROR(forecast_infer_grid(t, 3, NULL), ERRCODE_DATA_EXCEPTION,
				 "irregularly spaced: 2020-04-01 00:00:00 is followed by 2020-08-01 00:00:00");

	t[0] = day(2024, 1, 1);
	t[1] = day(2024, 1, 2);
	t[2] = day(2024, 1, 10);
	EXPECT_ERROR(forecast_infer_grid(t, 3, NULL), ERRCODE_DATA_EXCEPTION,
				 "the daily series has more missing periods (7) than observed ones (3)");

	EXPECT_ERROR(forecast_infer_grid(t, 1, NULL), ERRCODE_INVALID_PARAMETER_VALUE,
				 "at least two timestamps");

	for (int k = 0; k < 5; k++)
	{
		t[k] = day(2024, 1 + k, 1);
		v[k] = NAN;
		null[k] = true;
	}
	EXPECT_ERROR(forecast_regularize(t, v, null, 5), ERRCODE_NULL_VALUE_NOT_ALLOWED,
				 "the target column has only NULL values");
	EXPECT_ERROR(forecast_regularize(t, v, NULL, 5), ERRCODE_NULL_VALUE_NOT_ALLOWED,
				 "only NULL values");

	EXPECT_ERROR(forecast_backtest_origins(100, 12, 0, 3, origins), ERRCODE_INVALID_PARAMETER_VALUE,
				 "horizon must be at least 1, it is 0");
	EXPECT_ERROR(forecast_backtest_origins(100, 12, -3, 3, origins), ERRCODE_INVALID_PARAMETER_VALUE,
				 "horizon must be at least 1, it is -3");
	EXPECT_ERROR(forecast_backtest_origins(30, 12, 12, 3, origins), ERRCODE_INVALID_PARAMETER_VALUE,
				 "series too short: it has 30 periods, a horizon of 12 needs at least 36");

	for (int k = 0; k < 64; k++)
		y[k] = 10.0 + (k % 12) + 0.1 * k;
	EXPECT_ERROR(ets_fit(y, 20, 12, ETS_TREND_ADDITIVE, ETS_SEASON_ADDITIVE), ERRCODE_INVALID_PARAMETER_VALUE,
				 "series too short for seasonal exponential smoothing: it has 20 periods, a season of 12 periods needs at least 24");
	EXPECT_ERROR(ets_fit(y, 2, 1, ETS_TREND_NONE, ETS_SEASON_NONE), ERRCODE_INVALID_PARAMETER_VALUE,
				 "needs at least 3");
	y[7] = 0.0;
	EXPECT_ERROR(ets_fit(y, 48, 12, ETS_TREND_NONE, ETS_SEASON_MULTIPLICATIVE), ERRCODE_INVALID_PARAMETER_VALUE,
				 "a multiplicative season needs positive values");

	{
		BacktestResult b = {0};
		double		sigma[1] = {1.0};
		double		point[1] = {0.0};
		double		lo[1],
					hi[1];

		b.horizon = 1;
		b.step_rmse = sigma;
		EXPECT_ERROR(forecast_intervals(&b, point, 1, 95.0, lo, hi), ERRCODE_INVALID_PARAMETER_VALUE,
					 "interval level must be between 0 and 1");
	}
}

/* ---- a regular series ---- */

static void
test_regularize(void)
{
	/* Jan 1 NULL (dropped), 2, 3, [4, 5 missing], 6, 7 NULL, 8, 9, 10 NULL (dropped) */
	double		t[8];
	double		v[8] = {NAN, 2.0, 3.0, 6.0, NAN, 8.0, 9.0, NAN};
	int			days[8] = {1, 2, 3, 6, 7, 8, 9, 10};
	double		expected[8] = {2, 3, 4, 5, 6, 7, 8, 9};
	RegularSeries *s;
	bool		ok = true;

	for (int i = 0; i < 8; i++)
		t[i] = day(2024, 1, days[i]);
	s = forecast_regularize(t, v, NULL, 8);
	CHECK(s->n == 8 && s->grid.origin == day(2024, 1, 2), "regular series of %d from %s", s->n, show(s->grid.origin));
	for (int i = 0; i < Min(s->n, 8); i++)
		ok = ok && close_to(s->y[i], expected[i], 1e-12);
	CHECK(ok, "linear interpolation across a gap and a NULL");
	CHECK(s->n_gaps == 2 && s->n_null == 1 && s->n_filled == 3 && s->n_trimmed == 2,
		  "counts: gaps %d null %d filled %d trimmed %d", s->n_gaps, s->n_null, s->n_filled, s->n_trimmed);

	/* an uneven gap in a monthly series: 10 at January, 40 at April */
	{
		double		mt[3] = {day(2024, 1, 31), day(2024, 4, 30), day(2024, 5, 31)};
		double		mv[3] = {10.0, 40.0, 50.0};

		s = forecast_regularize(mt, mv, NULL, 3);
		CHECK(s->n == 5 && close_to(s->y[1], 20.0, 1e-12) && close_to(s->y[2], 30.0, 1e-12) && s->grid.month_end,
			  "monthly gap filled: n %d y1 %g y2 %g", s->n, s->y[1], s->y[2]);
	}
}

/* ---- naive methods ---- */

static void
test_naive(void)
{
	double		y[30];
	double		out[14];
	Forecaster *f;
	bool		ok = true;

	for (int i = 0; i < 30; i++)
		y[i] = i + 1;
	f = forecaster_fit(FORECAST_SEASONAL_NAIVE, y, 30, 12);
	forecaster_predict(f, 14, out);
	for (int j = 0; j < 14; j++)
		ok = ok && out[j] == 19 + (j % 12);
	CHECK(f->method == FORECAST_SEASONAL_NAIVE && ok, "seasonal naive repeats the last season");

	f = forecaster_fit(FORECAST_SEASONAL_NAIVE, y, 20, 12);
	forecaster_predict(f, 3, out);
	CHECK(f->method == FORECAST_NAIVE && out[0] == 20 && out[2] == 20, "under two seasons: naive");
	f = forecaster_fit(FORECAST_SEASONAL_NAIVE, y, 30, 1);
	CHECK(f->method == FORECAST_NAIVE, "season 1: naive");
}

/* ---- exponential smoothing on made-up series ---- */

static void
test_ets_synthetic(void)
{
	double		y[120];
	double		out[12];
	double		worst = 0.0;
	EtsModel   *e;
	char		desc[16];

	/* a straight line with a fixed season: smoothing should continue it */
	for (int t = 0; t < 120; t++)
		y[t] = 100.0 + 2.0 * t + 10.0 * sin(2.0 * M_PI * t / 12.0);
	e = ets_fit_auto(y, 108, 12);
	ets_forecast(e, 12, out);
	for (int j = 0; j < 12; j++)
		worst = Max(worst, fabs(out[j] - y[108 + j]));
	CHECK(worst < 0.05 && e->trend != ETS_TREND_NONE && e->season != ETS_SEASON_NONE,
		  "line plus season: %s, largest error %g", ets_describe(e, desc), worst);

	/* too short for a season of 12: the non-seasonal variants only */
	e = ets_fit_auto(y, 20, 12);
	CHECK(e->season == ETS_SEASON_NONE, "20 periods, season 12: %s", ets_describe(e, desc));

	/* a constant: every variant fits perfectly, the simplest is kept */
	for (int t = 0; t < 48; t++)
		y[t] = 5.0;
	e = ets_fit_auto(y, 48, 12);
	ets_forecast(e, 3, out);
	CHECK(e->trend == ETS_TREND_NONE && e->season == ETS_SEASON_NONE && fabs(out[2] - 5.0) < 1e-9,
		  "a constant: %s forecasts %g", ets_describe(e, desc), out[2]);

	/* zeros rule out a multiplicative season but not the others */
	for (int t = 0; t < 48; t++)
		y[t] = (t % 4 == 0) ? 0.0 : 10.0 + t % 4;
	e = ets_fit_auto(y, 48, 4);
	CHECK(e->season != ETS_SEASON_MULTIPLICATIVE, "zeros: %s", ets_describe(e, desc));
}

/* ---- features and the recursive driver ---- */

static double
predict_same_month_last_year(void *arg, const double *features)
{
	return features[*(int *) arg];
}

static double
predict_mean_3(void *arg, const double *features)
{
	const FeatureSpec *spec = arg;

	return features[spec->n_lags];	/* mean_3 comes first after the lags */
}

static void
test_features(void)
{
	double		t[2] = {day(2020, 1, 1), day(2020, 2, 1)};
	TimeGrid	g = forecast_infer_grid(t, 2, NULL);
	FeatureSpec spec = forecast_feature_spec(&g, 12);
	double		y[36];
	double		row[64];
	double		out[15];
	char		name[32];
	int			lag12 = -1;
	bool		ok = true;
	double	   *X;

	for (int i = 0; i < 36; i++)
		y[i] = i + 1;
	CHECK(spec.n_lags == 13 && spec.n_windows == 2 && spec.n_calendar == 2 && spec.n_features == 19,
		  "monthly spec: %d lags, %d windows, %d calendar", spec.n_lags, spec.n_windows, spec.n_calendar);
	CHECK(strcmp(forecast_feature_name(&spec, 0, name, sizeof(name)), "lag_1") == 0
		  && strcmp(forecast_feature_name(&spec, 12, name, sizeof(name)), "lag_24") == 0
		  && strcmp(forecast_feature_name(&spec, 13, name, sizeof(name)), "mean_3") == 0
		  && strcmp(forecast_feature_name(&spec, 16, name, sizeof(name)), "std_12") == 0
		  && strcmp(forecast_feature_name(&spec, 17, name, sizeof(name)), "month") == 0
		  && strcmp(forecast_feature_name(&spec, 18, name, sizeof(name)), "quarter") == 0,
		  "feature names");
	for (int i = 0; i < spec.n_lags; i++)
		if (spec.lags[i] == 12)
			lag12 = i;

	forecast_features_row(&spec, y, 36, 30, row);
	CHECK(row[0] == 30 && row[lag12] == 19 && row[12] == 7 && close_to(row[13], 29, 1e-12)
		  && close_to(row[14], 1.0, 1e-12) && close_to(row[15], 24.5, 1e-12) && row[17] == 7 && row[18] == 3,
		  "row 30: lag1 %g lag12 %g lag24 %g mean3 %g std3 %g mean12 %g month %g quarter %g",
		  row[0], row[lag12], row[12], row[13], row[14], row[15], row[17], row[18]);
	forecast_features_row(&spec, y, 36, 5, row);
	CHECK(row[4] == 1 && isnan(row[5]) && isnan(row[lag12]) && isnan(row[15]) && row[17] == 6,
		  "row 5: lags before the series are NaN");

	X = palloc(12 * spec.n_features * sizeof(double));
	forecast_features_matrix(&spec, y, 36, 24, X);
	forecast_features_row(&spec, y, 36, 35, row);
	CHECK(memcmp(X + 11 * spec.n_features, row, spec.n_features * sizeof(double)) == 0, "matrix rows are feature rows");

	/* a callback reading lag 12 is seasonal naive */
	forecast_recursive(&spec, y, 36, 15, predict_same_month_last_year, &lag12, out);
	for (int j = 0; j < 15; j++)
		ok = ok && out[j] == (j < 12 ? 25 + j : 25 + j - 12);
	CHECK(ok, "recursive forecast through lag 12");

	/* a callback reading the 3-period mean feeds its own predictions back */
	forecast_recursive(&spec, y, 36, 3, predict_mean_3, &spec, out);
	CHECK(close_to(out[0], 35.0, 1e-12) && close_to(out[1], (35 + 36 + 35) / 3.0, 1e-12)
		  && close_to(out[2], (36 + 35 + out[1]) / 3.0, 1e-12), "recursive mean: %g %g %g", out[0], out[1], out[2]);

	{
		double		ht[2] = {0.0, 3600.0};
		TimeGrid	hg = forecast_infer_grid(ht, 2, NULL);
		FeatureSpec hs = forecast_feature_spec(&hg, 24);

		CHECK(hs.lags[hs.n_lags - 1] == 168 && hs.calendar[0] == CAL_HOUR, "hourly: a lag of a week, the hour");
	}
}

/* ---- backtest pieces ---- */

static void
test_backtest_pieces(void)
{
	int			o[8];
	int			k;
	double		a[3] = {10, 20, 0};
	double		f[3] = {12, 15, 0};
	double		s[3] = {2, 2, 2};
	ForecastMetrics m;

	k = forecast_backtest_origins(144, 12, 12, 3, o);
	CHECK(k == 3 && o[0] == 108 && o[1] == 120 && o[2] == 132, "origins of 144");
	k = forecast_backtest_origins(40, 12, 12, 3, o);
	CHECK(k == 1 && o[0] == 28, "a short series has fewer origins: %d", k);
	k = forecast_backtest_origins(50, 4, 8, 0, o);
	CHECK(k == 3 && o[0] == 26 && o[2] == 42, "default of three origins");

	m = forecast_metrics(a, f, s, 3);
	CHECK(close_to(m.mae, 7.0 / 3, 1e-12) && close_to(m.rmse, sqrt(29.0 / 3), 1e-12)
		  && close_to(m.mape, (0.2 + 0.25) / 2, 1e-12)
		  && close_to(m.smape, (4.0 / 22 + 10.0 / 35) / 3, 1e-12) && close_to(m.mase, 3.5 / 3, 1e-12),
		  "metrics: mae %g rmse %g mape %g smape %g mase %g", m.mae, m.rmse, m.mape, m.smape, m.mase);

	{
		double		y1[4] = {1, 2, 4, 7};
		double		y2[5] = {1, 2, 4, 7, 11};

		CHECK(forecast_mase_scale(y1, 4, 1) == 2.0 && forecast_mase_scale(y2, 5, 2) == 5.0
			  && forecast_mase_scale(y1, 4, 12) == 2.0, "MASE scale");
	}

	CHECK(close_to(forecast_normal_quantile(0.975), 1.959963984540054, 1e-8)
		  && forecast_normal_quantile(0.5) == 0.0
		  && close_to(forecast_normal_quantile(0.1), -1.2815515655446004, 1e-8)
		  && close_to(forecast_normal_quantile(0.001), -3.090232306167813, 1e-8), "normal quantiles");

	{
		BacktestResult b = {0};
		double		sigma[3] = {1.0, 0.5, 2.0};
		double		point[4] = {10, 10, 10, 10};
		double		lo[4],
					hi[4];
		double		z = 1.959963984540054;

		b.horizon = 3;
		b.step_rmse = sigma;
		forecast_intervals(&b, point, 4, 0.95, lo, hi);
		CHECK(close_to(hi[0], 10 + z, 1e-8) && close_to(hi[1], 10 + z, 1e-8) && close_to(lo[2], 10 - 2 * z, 1e-8)
			  && close_to(hi[3], 10 + 2 * z, 1e-8), "interval widths never shrink");
	}
}

/* ---- statsmodels fixtures ---- */

typedef struct Loaded
{
	int			n;
	double	   *t;
	double	   *y;
} Loaded;

static Loaded
load_series(const char *name)
{
	Loaded		s = {0, NULL, NULL};
	char		path[256];
	char		line[256];
	FILE	   *f;
	int			size = 1024;

	snprintf(path, sizeof(path), "data/%s.csv", name);
	f = fopen(path, "r");
	if (f == NULL)
	{
		fprintf(stderr, "cannot open %s (run from test/forecast)\n", path);
		exit(2);
	}
	s.t = palloc(size * sizeof(double));
	s.y = palloc(size * sizeof(double));
	while (fgets(line, sizeof(line), f) != NULL)
	{
		int			yy,
					mm,
					dd;
		double		v;

		if (sscanf(line, "%d-%d-%d,%lf", &yy, &mm, &dd, &v) != 4)
			continue;			/* the header */
		if (s.n == size)
		{
			fprintf(stderr, "%s: too many rows\n", path);
			exit(2);
		}
		s.t[s.n] = day(yy, mm, dd);
		s.y[s.n++] = v;
	}
	fclose(f);
	return s;
}

static EtsTrend
trend_code(const char *code)
{
	return strcmp(code, "N") == 0 ? ETS_TREND_NONE : strcmp(code, "A") == 0 ? ETS_TREND_ADDITIVE : ETS_TREND_DAMPED;
}

static EtsSeason
season_code(const char *code)
{
	return strcmp(code, "N") == 0 ? ETS_SEASON_NONE : strcmp(code, "A") == 0 ? ETS_SEASON_ADDITIVE
		: ETS_SEASON_MULTIPLICATIVE;
}

/* Splits a line into at most max fields (spaces), in place. */
static int
split(char *line, char **fields, int max)
{
	int			n = 0;

	for (char *p = strtok(line, " \n"); p != NULL && n < max; p = strtok(NULL, " \n"))
		fields[n++] = p;
	return n;
}

static void
test_statsmodels_reference(void)
{
	FILE	   *f = fopen("expected/reference.txt", "r");
	char		line[16384];
	int			cases = 0;

	if (f == NULL)
	{
		CHECK(false, "expected/reference.txt is missing (reference.py makes it)");
		return;
	}
	printf("exponential smoothing against statsmodels 0.13.5 (expected/reference.txt):\n");
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *fl[64];
		int			nf = split(line, fl, 64);
		Loaded		s;
		EtsModel	model;
		int			m;

		if (nf < 5)
			continue;
		cases++;
		s = load_series(fl[1]);
		m = atoi(fl[4]);
		memset(&model, 0, sizeof(model));
		model.trend = trend_code(fl[2]);
		model.season = season_code(fl[3]);
		model.period = model.season == ETS_SEASON_NONE ? 1 : m;

		if (strcmp(fl[0], "init") == 0)
		{
			bool		ok;

			ets_initial_states(&model, s.y, s.n);
			ok = close_to(model.initial_level, atof(fl[5]), 1e-9)
				&& close_to(model.initial_trend, atof(fl[6]), 1e-9);
			for (int j = 0; j < model.period && model.season != ETS_SEASON_NONE; j++)
				ok = ok && close_to(model.initial_season[j], atof(fl[7 + j]), 1e-9);
			CHECK(ok, "heuristic initial states of %s %s,%s: level %.10g vs %s", fl[1], fl[2], fl[3],
				  model.initial_level, fl[5]);
		}
		else if (strcmp(fl[0], "filter") == 0)
		{
			int			h = atoi(fl[12]);
			double		out[64];
			bool		ok = true;

			ets_initial_states(&model, s.y, s.n);
			model.params.alpha = atof(fl[5]);
			model.params.beta = atof(fl[6]);
			model.params.gamma = atof(fl[7]);
			model.params.phi = atof(fl[8]);
			ets_filter(&model, s.y, s.n, NULL);
			ets_forecast(&model, h, out);
			for (int j = 0; j < h; j++)
				ok = ok && close_to(out[j], atof(fl[13 + j]), 1e-8);
			CHECK(close_to(model.sse, atof(fl[9]), 1e-9) && close_to(model.level, atof(fl[10]), 1e-9)
				  && close_to(model.slope, atof(fl[11]), 1e-9) && ok,
				  "fixed-weight filter of %s %s,%s: sse %.10g vs %s, level %.10g vs %s, forecast %d %.10g vs %s",
				  fl[1], fl[2], fl[3], model.sse, fl[9], model.level, fl[10], h, out[h - 1], fl[12 + h]);
		}
		else if (strcmp(fl[0], "fit") == 0)
		{
			double		hw_sse = atof(fl[5]);
			double		ets_llf = atof(fl[6]);
			EtsModel   *fit = ets_fit(s.y, s.n, m, model.trend, model.season);
			char		desc[16];

			printf("  %-15s %-12s ours: sse %-12.6g loglik %-10.4f | ExponentialSmoothing sse %-12.6g | ETSModel loglik %.4f\n",
				   fl[1], ets_describe(fit, desc), fit->sse, fit->log_likelihood, hw_sse, ets_llf);
			/* as good a least-squares fit as statsmodels' best, within 1% */
			CHECK(fit->sse <= 1.01 * Min(hw_sse, atof(fl[7])) && fit->log_likelihood >= ets_llf - 0.05,
				  "fit of %s %s: sse %.8g vs %.8g, loglik %.6f vs %.6f", fl[1], desc, fit->sse, hw_sse,
				  fit->log_likelihood, ets_llf);
		}
	}
	fclose(f);
	CHECK(cases >= 20, "only %d reference cases", cases);
}

/* ---- the real series ---- */

typedef struct RealSeries
{
	const char *name;
} RealSeries;

static const ForecastMethod seasonal_naive = FORECAST_SEASONAL_NAIVE;
static const ForecastMethod ets = FORECAST_ETS;

/* How the search will choose: the lower backtest MASE on the training part alone. */
typedef struct Selection
{
	int			chose_ets;
	int			chose_naive;
	double		level;
	int			covered[2];		/* points inside the 80% and 95% intervals */
	int			points;
} Selection;

static void
fit_predict_selected(void *arg, const double *y, int n, int period, int h, double *out)
{
	Selection  *sel = arg;
	int			origins[8];
	bool		use_ets = true;

	/* without room for an inner backtest, smoothing is the better default */
	if (n - h >= forecast_min_train(period))
	{
		BacktestResult *a = forecast_backtest(y, n, period, h, 3, forecast_fit_predict_method, (void *) &seasonal_naive);
		BacktestResult *b = forecast_backtest(y, n, period, h, 3, forecast_fit_predict_method, (void *) &ets);
		double		actual_known = n;	/* the outer origin's test part starts at y[n] */
		const BacktestResult *chosen;
		double		lo[64],
					hi[64];

		(void) origins;
		use_ets = !(a->metrics.mase < b->metrics.mase);
		chosen = use_ets ? b : a;
		forecast_fit_predict_method((void *) (use_ets ? &ets : &seasonal_naive), y, n, period, h, out);
		for (int l = 0; l < 2; l++)
		{
			forecast_intervals(chosen, out, h, l == 0 ? 0.8 : 0.95, lo, hi);
			for (int j = 0; j < h; j++)
				sel->covered[l] += y[(int) actual_known + j] >= lo[j] && y[(int) actual_known + j] <= hi[j];
		}
		sel->points += h;
	}
	else
		forecast_fit_predict_method((void *) &ets, y, n, period, h, out);
	if (use_ets)
		sel->chose_ets++;
	else
		sel->chose_naive++;
}

static void
test_real_series(FILE *csv)
{
	static const char *const names[] = {"air_passengers", "uk_gas", "nottem", "co2", "us_acc_deaths"};
	int			beaten = 0;

	printf("\nrolling-origin backtest, horizon one season, 3 origins (MASE; lower is better):\n");
	printf("  %-15s %-9s %4s %3s  %14s %8s %8s  %-12s %9s  %s\n", "series", "frequency", "n", "h",
		   "seasonal_naive", "ets", "selected", "ets (full)", "coverage", "seconds");
	if (csv != NULL)
		fprintf(csv, "series,frequency,n,horizon,origins,method,mase,smape,rmse\n");
	for (int i = 0; i < lengthof(names); i++)
	{
		Loaded		raw = load_series(names[i]);
		RegularSeries *s = forecast_regularize(raw.t, raw.y, NULL, raw.n);
		int			m = forecast_season_length(s->grid.freq);
		int			h = m;
		clock_t		start = clock();
		BacktestResult *naive = forecast_backtest(s->y, s->n, m, h, 3, forecast_fit_predict_method, (void *) &seasonal_naive);
		BacktestResult *smooth = forecast_backtest(s->y, s->n, m, h, 3, forecast_fit_predict_method, (void *) &ets);
		Selection	sel = {0};
		BacktestResult *selected = forecast_backtest(s->y, s->n, m, h, 3, fit_predict_selected, &sel);
		EtsModel   *full = ets_fit_auto(s->y, s->n, m);
		char		desc[16];
		char		coverage[32];
		const BacktestResult *rows[3] = {naive, smooth, selected};
		const char *const methods[3] = {"seasonal_naive", "ets", "selected"};

		snprintf(coverage, sizeof(coverage), "%.0f%%/%.0f%%", 100.0 * sel.covered[0] / Max(sel.points, 1),
				 100.0 * sel.covered[1] / Max(sel.points, 1));
		printf("  %-15s %-9s %4d %3d  %14.3f %8.3f %8.3f  %-12s %9s  %.1f\n", names[i],
			   forecast_frequency_name(s->grid.freq), s->n, h, naive->metrics.mase, smooth->metrics.mase,
			   selected->metrics.mase, ets_describe(full, desc), coverage,
			   (double) (clock() - start) / CLOCKS_PER_SEC);
		if (csv != NULL)
		{
			for (int r = 0; r < 3; r++)
				fprintf(csv, "%s,%s,%d,%d,%d,%s,%.6f,%.6f,%.6f\n", names[i], forecast_frequency_name(s->grid.freq),
						s->n, h, rows[r]->n_origins, methods[r], rows[r]->metrics.mase, rows[r]->metrics.smape,
						rows[r]->metrics.rmse);
		}

		CHECK(s->n_filled == 0 && s->n == raw.n, "%s is complete", names[i]);
		CHECK(isfinite(smooth->metrics.mase) && isfinite(naive->metrics.mase) && isfinite(selected->metrics.mase),
			  "%s: finite MASE", names[i]);
		/* smoothing may lose to seasonal naive on a series, but never by much */
		CHECK(smooth->metrics.mase <= 1.25 * naive->metrics.mase, "%s: ets MASE %.3f vs seasonal naive %.3f",
			  names[i], smooth->metrics.mase, naive->metrics.mase);
		beaten += smooth->metrics.mase <= naive->metrics.mase;
	}
	CHECK(beaten >= 4, "ets beats seasonal naive on only %d of 5 series", beaten);
	printf("  coverage: share of test points inside the 80%%/95%% intervals of the selected method,\n"
		   "  intervals from a backtest on the training part alone\n");
}

int
main(int argc, char **argv)
{
	FILE	   *csv = NULL;
	clock_t		start = clock();

	if (argc == 3 && strcmp(argv[1], "--csv") == 0)
	{
		csv = fopen(argv[2], "w");
		if (csv == NULL)
		{
			perror(argv[2]);
			return 2;
		}
	}
	test_calendar();
	test_fixed_frequencies();
	test_month_frequencies();
	test_errors();
	test_regularize();
	test_naive();
	test_ets_synthetic();
	test_features();
	test_backtest_pieces();
	test_statsmodels_reference();
	test_real_series(csv);
	if (csv != NULL)
		fclose(csv);

	printf("\n%d checks, %d failed, %.1f s\n", n_checks, n_failures, (double) (clock() - start) / CLOCKS_PER_SEC);
	return n_failures == 0 ? 0 : 1;
}
