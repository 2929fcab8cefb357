/*
 * backtest.c: rolling-origin evaluation, its metrics, and prediction
 * intervals from its residuals.
 *
 * The origins are the last k forecast origins one horizon apart: the model
 * is fitted on y[0..o-1] and forecasts y[o..o+h-1], for o = n - k*h, ...,
 * n - h. Time order is never broken and the tested periods do not overlap.
 * MASE divides each error by the in-sample MAE of seasonal naive on that
 * origin's training part (Hyndman & Koehler 2006), so 1.0 means "as good as
 * repeating last season would have been, in-sample".
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "learn/metrics.h"
#include "miscadmin.h"

#define DEFAULT_ORIGINS 3

void
forecast_fit_predict_method(void *arg, const double *y, int n, int period, int h, double *out)
{
	Forecaster *f = forecaster_fit(*(const ForecastMethod *) arg, y, n, period);

	forecaster_predict(f, h, out);
	forecaster_free(f);
}

int
forecast_min_train(int period)
{
	return period > 1 ? 2 * period : 4;
}

int
forecast_backtest_origins(int n, int period, int horizon, int max_origins, int *origins)
{
	int			min_train = forecast_min_train(period);
	int			count = 0;

	if (horizon <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be at least 1, it is %d", horizon)));
	if (max_origins <= 0)
		max_origins = DEFAULT_ORIGINS;
	if (n - horizon < min_train)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("series too short: it has %d periods, a horizon of %d needs at least %d",
						n, horizon, min_train + horizon),
				 period > 1
				 ? errdetail("Backtesting trains on at least two seasons of %d periods and tests on one horizon.", period)
				 : errdetail("Backtesting trains on at least %d periods and tests on one horizon.", min_train),
				 errhint("Use a shorter horizon, or a series with more history.")));

	for (int k = max_origins; k >= 1; k--)
	{
		/* as a double: k * horizon may not fit an int */
		double		origin = (double) n - (double) k * horizon;

		if (origin >= min_train)
			origins[count++] = (int) origin;
	}
	return count;
}

double
forecast_mase_scale(const double *y, int n, int period)
{
	int			m = period > 1 && n > period ? period : 1;
	double		total = 0.0;

	if (n <= m)
		return NAN;
	for (int t = m; t < n; t++)
		total += fabs(y[t] - y[t - m]);
	return total / (n - m);
}

ForecastMetrics
forecast_metrics(const double *a, const double *f, const double *scale, int n_points)
{
	ForecastMetrics metrics;
	double		sym_sum = 0.0,
				scaled_sum = 0.0;

	Predictions p = {n_points, 0, (double *) f, (double *) a, NULL};

	for (int i = 0; i < n_points; i++)
	{
		double		e = fabs(a[i] - f[i]);
		double		denominator = fabs(a[i]) + fabs(f[i]);

		sym_sum += denominator > 0.0 ? 2.0 * e / denominator : 0.0;
		scaled_sum += e / scale[i];		/* NaN when the training part was constant */
	}
	metrics.mae = metric_value(METRIC_MAE, &p);
	metrics.rmse = metric_value(METRIC_RMSE, &p);
	metrics.mape = metric_value(METRIC_MAPE, &p);
	metrics.smape = sym_sum / n_points;
	metrics.mase = scaled_sum / n_points;
	return metrics;
}

BacktestResult *
forecast_backtest(const double *y, int n, int period, int horizon, int max_origins,
				  ForecastFitPredictFn fit_predict, void *arg)
{
	BacktestResult *result = palloc0(sizeof(BacktestResult));
	int		   *origins = palloc(Max(max_origins, DEFAULT_ORIGINS) * sizeof(int));
	int			k = forecast_backtest_origins(n, period, horizon, max_origins, origins);
	int			h = horizon;
	double	   *point_scales;

	result->horizon = h;
	result->period = period;
	result->n_origins = k;
	result->origins = origins;
	result->forecasts = palloc((size_t) k * h * sizeof(double));
	result->actuals = palloc((size_t) k * h * sizeof(double));
	result->scales = palloc(k * sizeof(double));
	result->step_rmse = palloc0(h * sizeof(double));
	point_scales = palloc((size_t) k * h * sizeof(double));

	for (int o = 0; o < k; o++)
	{
		double	   *forecast = result->forecasts + (size_t) o * h;

		CHECK_FOR_INTERRUPTS();
		fit_predict(arg, y, origins[o], period, h, forecast);
		memcpy(result->actuals + (size_t) o * h, y + origins[o], h * sizeof(double));
		result->scales[o] = forecast_mase_scale(y, origins[o], period);
		for (int j = 0; j < h; j++)
		{
			double		e = y[origins[o] + j] - forecast[j];

			point_scales[o * h + j] = result->scales[o];
			result->step_rmse[j] += e * e / k;
		}
	}
	for (int j = 0; j < h; j++)
		result->step_rmse[j] = sqrt(result->step_rmse[j]);
	result->metrics = forecast_metrics(result->actuals, result->forecasts, point_scales, k * h);
	pfree(point_scales);
	return result;
}

/*
 * Acklam's rational approximation of the normal quantile (relative error
 * below 1.2e-9), which is plenty for an interval's width.
 */
double
forecast_normal_quantile(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
	2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
	2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
	2.445134137142996e+00, 3.754408661907416e+00};
	const double low = 0.02425;

	if (!(p > 0.0 && p < 1.0))
		return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : NAN;
	if (p < low)
	{
		double		q = sqrt(-2.0 * log(p));

		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
			/ ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
	}
	if (p > 1.0 - low)
		return -forecast_normal_quantile(1.0 - p);
	{
		double		q = p - 0.5;
		double		r = q * q;

		return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
			/ (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
	}
}

/*
 * A normal approximation per step: with three origins there are only three
 * residuals per step, too few for empirical quantiles, but enough for a
 * root mean square (which keeps any bias of the method in the width).
 */
void
forecast_intervals(const BacktestResult *backtest, const double *point, int h,
				   double level, double *lower, double *upper)
{
	double		z;
	double		sigma = 0.0;

	if (!(level > 0.0 && level < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("interval level must be between 0 and 1, it is %g", level),
				 errhint("For a 90%% interval, give 0.9.")));
	z = forecast_normal_quantile(0.5 + level / 2.0);
	for (int j = 0; j < h; j++)
	{
		if (j < backtest->horizon)
			sigma = Max(sigma, backtest->step_rmse[j]);
		lower[j] = point[j] - z * sigma;
		upper[j] = point[j] + z * sigma;
	}
}
