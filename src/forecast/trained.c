/*
 * trained.c: a trained forecast model's names and forecasts (forecast.h);
 * its bytes are the registry's (src/registry/forecast_format.c).
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "learn/learner.h"

static const char *const candidate_names[] = {"seasonal_naive", "ets", "gbdt"};

const char *
forecast_candidate_name(ForecastCandidate c)
{
	return candidate_names[c];
}

int
forecast_history_needed(const TimeGrid *grid, int period)
{
	int			needed = Max(2 * Max(period, 1), 4);

	if (grid->freq == FREQ_HOURLY)
		needed = Max(needed, 168);
	return needed;
}

typedef struct GbdtPredictArg
{
	const void *state;
	double		out[1];
} GbdtPredictArg;

static double
gbdt_predict_one(void *arg, const double *features)
{
	GbdtPredictArg *a = arg;

	gbdt_learner.predict(a->state, features, a->out);
	return a->out[0];
}

void
forecast_gbdt_predict(const void *gbdt_state, const FeatureSpec *spec, const double *y, int n,
					  double scale, int h, double *out)
{
	double	   *scaled = palloc(sizeof(double) * Max(n, 1));
	GbdtPredictArg arg = {gbdt_state, {0}};

	for (int i = 0; i < n; i++)
		scaled[i] = y[i] / scale;
	forecast_recursive(spec, scaled, n, h, gbdt_predict_one, &arg, out);
	for (int j = 0; j < h; j++)
		out[j] *= scale;
	pfree(scaled);
}

void
forecast_model_predict(const ForecastModel *model, const SeriesState *s, int h, double *out)
{
	switch (model->method)
	{
		case CANDIDATE_SEASONAL_NAIVE:
			{
				/* as forecaster_fit decides: naive without two seasons of history */
				Forecaster f = {FORECAST_SEASONAL_NAIVE, model->period, s->n_history, s->history, NULL};

				if (model->period == 1 || s->n_history < 2 * model->period)
					f.method = FORECAST_NAIVE;
				forecaster_predict(&f, h, out);
				break;
			}
		case CANDIDATE_ETS:
			ets_forecast(s->ets, h, out);
			break;
		case CANDIDATE_GBDT:
			{
				FeatureSpec spec = forecast_feature_spec(&model->grid, model->period);

				/* the kept history starts n_history - 1 periods before the last */
				spec.grid.origin = forecast_step(&model->grid, s->last_time, -(s->n_history - 1));
				forecast_gbdt_predict(model->gbdt_state, &spec, s->history, s->n_history, s->scale, h, out);
				break;
			}
		case CANDIDATE_COUNT:
			break;
	}
}
