/*
 * global.c: the gradient-boosted candidate, one model over every series'
 * lag, rolling-window and calendar features (each series divided by its mean
 * absolute value, so series of any size share one model), and its backtest.
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "learn/learner.h"
#include "miscadmin.h"


/*
 * Fits one gbdt on every series' first length[s] periods: rows t >= 1 of
 * each, features of the series divided by its scale.
 */
void *
forecast_global_fit(const RegularSeries *const *series, int n_series, const int *length,
					const FeatureSpec *spec0)
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
		const RegularSeries *rs = series[s];
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
	return gbdt_learner.fit(&ds, hp, NULL);
}

/* h forecasts of a series from its first n periods with a fitted global model. */
static void
predict_global(void *state, const RegularSeries *rs, int n, const FeatureSpec *spec0,
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
BacktestResult **
forecast_global_backtest(const RegularSeries *const *series, const int *n_origins,
						 int *const *origins, int n_series, int period, int h,
						 const FeatureSpec *spec)
{
	int			max_origins = 0;
	int		   *length = palloc(sizeof(int) * n_series);
	BacktestResult **result = palloc(sizeof(BacktestResult *) * n_series);

	for (int s = 0; s < n_series; s++)
	{
		BacktestResult *bt = palloc0(sizeof(BacktestResult));

		max_origins = Max(max_origins, n_origins[s]);
		bt->horizon = h;
		bt->period = period;
		bt->n_origins = n_origins[s];
		bt->origins = origins[s];
		bt->forecasts = palloc(sizeof(double) * bt->n_origins * h);
		bt->actuals = palloc(sizeof(double) * bt->n_origins * h);
		bt->scales = palloc(sizeof(double) * bt->n_origins);
		bt->step_rmse = palloc0(sizeof(double) * h);
		result[s] = bt;
	}
	/* origin index o counts from the end: series with fewer origins join the later ones */
	for (int o = 0; o < max_origins; o++)
	{
		void	   *state;

		/* a series without an origin at this index sits this fit out: it may end later */
		for (int s = 0; s < n_series; s++)
		{
			int			k = o - (max_origins - n_origins[s]);

			length[s] = k >= 0 ? origins[s][k] : 0;
		}
		state = forecast_global_fit(series, n_series, length, spec);
		for (int s = 0; s < n_series; s++)
		{
			BacktestResult *bt = result[s];
			int			k = o - (max_origins - n_origins[s]);
			const double *y = series[s]->y;

			if (k < 0)
				continue;
			predict_global(state, series[s], length[s], spec, h, bt->forecasts + k * h);
			memcpy(bt->actuals + k * h, y + length[s], sizeof(double) * h);
			bt->scales[k] = forecast_mase_scale(y, length[s], period);
		}
		CHECK_FOR_INTERRUPTS();
	}
	for (int s = 0; s < n_series; s++)
	{
		BacktestResult *bt = result[s];
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
	return result;
}
