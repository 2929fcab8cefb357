/*
 * model.c: naive and seasonal naive forecasts, and one fit/forecast pair
 * over every method, which is what the backtest and the search call.
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"

const char *
forecast_method_name(ForecastMethod method)
{
	switch (method)
	{
		case FORECAST_NAIVE:
			return "naive";
		case FORECAST_SEASONAL_NAIVE:
			return "seasonal_naive";
		case FORECAST_ETS:
			return "ets";
	}
	return "unknown";
}

Forecaster *
forecaster_fit(ForecastMethod method, const double *y, int n, int period)
{
	Forecaster *f = palloc0(sizeof(Forecaster));

	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a forecast needs at least one observed value")));
	f->method = method;
	f->period = Max(period, 1);
	f->n = n;
	f->history = y;

	/* One season of history would make seasonal naive copy noise forward unchecked. */
	if (method == FORECAST_SEASONAL_NAIVE && (f->period == 1 || n < 2 * f->period))
		f->method = FORECAST_NAIVE;
	if (method == FORECAST_ETS)
		f->ets = ets_fit_auto(y, n, f->period);
	return f;
}

void
forecaster_free(Forecaster *f)
{
	if (f->ets != NULL)
		ets_free(f->ets);
	pfree(f);
}

void
forecaster_predict(const Forecaster *f, int h, double *out)
{
	switch (f->method)
	{
		case FORECAST_NAIVE:
			for (int j = 0; j < h; j++)
				out[j] = f->history[f->n - 1];
			break;
		case FORECAST_SEASONAL_NAIVE:
			/* step j repeats the last season's period at the same phase */
			for (int j = 0; j < h; j++)
				out[j] = f->history[f->n - f->period + j % f->period];
			break;
		case FORECAST_ETS:
			ets_forecast(f->ets, h, out);
			break;
	}
}
