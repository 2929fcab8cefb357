/*
 * ets.c: exponential smoothing with additive errors, ETS(A,{N,A,Ad},{N,A,M}).
 *
 * The recursions are Holt-Winters' in the form statsmodels' ExponentialSmoothing
 * uses, which is the error-correction form of Hyndman et al. (2008) with the
 * trend weight written relative to alpha. For period t with one-step
 * forecast f = (l + phi b) [+ s | * s] and s = the season one period back:
 *
 *   l' = alpha (y - s | y / s) + (1 - alpha)(l + phi b)
 *   b' = beta (l' - l) + (1 - beta) phi b
 *   s' = gamma (y - l - phi b | y / (l + phi b)) + (1 - gamma) s
 *
 * Fitting: the heuristic initial states (classical decomposition of the
 * first cycles, then a line through the first ten values of the moving
 * average), Nelder-Mead over the smoothing weights with those states from a
 * grid of starts, then over weights and initial states together from the
 * best three of those (and from the nested simpler variant's fit, when
 * ets_fit_auto has one). The surface has separate basins, so one start is
 * not enough: a level that follows each observation under a frozen season
 * fits AirPassengers about as well as a slow level under a moving season.
 * Least squares
 * is maximum likelihood here, the error variance being profiled out. The
 * series is divided by its mean absolute value while optimising, so that
 * one set of step sizes and tolerances serves every scale.
 *
 * Bounds, through logistic transforms: alpha and beta in [1e-4, 0.9999],
 * gamma in (0, 1 - alpha) (Hyndman's usual region), phi in [0.8, 0.98].
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "miscadmin.h"

#define WEIGHT_LOW 1e-4
#define WEIGHT_HIGH 0.9999
#define PHI_LOW 0.8
#define PHI_HIGH 0.98
#define RESTARTS 4
#define STAGE2_STARTS 3

/* The observations and what is being fitted: one objective's context. */
typedef struct EtsProblem
{
	const double *y;			/* divided by scale */
	int			n;
	int			m;
	EtsTrend	trend;
	EtsSeason	season;
	bool		fit_states;		/* initial states are free parameters too */
	double		level0;			/* heuristic states, used when !fit_states */
	double		trend0;
	const double *season0;
	double	   *ring;			/* m scratch values */
} EtsProblem;

static bool
has_season(EtsSeason season, int m)
{
	return season != ETS_SEASON_NONE && m > 1;
}

static double
logistic(double u)
{
	return 1.0 / (1.0 + exp(-u));
}

static double
logit(double p)
{
	return log(p / (1.0 - p));
}

static double
to_range(double u, double low, double high)
{
	return low + (high - low) * logistic(u);
}

static double
from_range(double x, double low, double high)
{
	double		p = (x - low) / (high - low);

	return logit(Min(Max(p, 1e-6), 1.0 - 1e-6));
}

/*
 * One pass over y: returns the sum of squared one-step errors, or +inf when
 * a multiplicative season meets a non-positive level or season. ring holds
 * the season for period t at ring[t % m] and is updated in place.
 */
static double
run_filter(EtsTrend trend, EtsSeason season, int m, const EtsParams *p,
		   double *level, double *slope, double *ring, const double *y, int n,
		   double *fitted)
{
	double		l = *level;
	double		b = trend == ETS_TREND_NONE ? 0.0 : *slope;
	double		phi = trend == ETS_TREND_DAMPED ? p->phi : 1.0;
	bool		seasonal = has_season(season, m);
	double		sse = 0.0;

	for (int t = 0; t < n; t++)
	{
		double		base = l + phi * b;
		double		s = seasonal ? ring[t % m] : 0.0;
		double		f;
		double		l_new;

		if (season == ETS_SEASON_MULTIPLICATIVE && seasonal)
		{
			if (!(s > 0.0) || !(base > 0.0))
				return INFINITY;
			f = base * s;
			l_new = p->alpha * y[t] / s + (1.0 - p->alpha) * base;
			ring[t % m] = p->gamma * y[t] / base + (1.0 - p->gamma) * s;
		}
		else
		{
			f = base + s;
			l_new = p->alpha * (y[t] - s) + (1.0 - p->alpha) * base;
			if (seasonal)
				ring[t % m] = p->gamma * (y[t] - base) + (1.0 - p->gamma) * s;
		}
		if (trend != ETS_TREND_NONE)
			b = p->beta * (l_new - l) + (1.0 - p->beta) * phi * b;
		l = l_new;
		if (fitted != NULL)
			fitted[t] = f;
		sse += (y[t] - f) * (y[t] - f);
	}
	*level = l;
	*slope = b;
	return isfinite(sse) ? sse : INFINITY;
}

int
ets_min_length(int period, EtsSeason season)
{
	if (!has_season(season, period))
		return 3;
	return Max(2 * period, 10 + 2 * (period / 2));
}

/*
 * Hyndman et al. (2008, section 2.6.1) as statsmodels implements it: the
 * season from a centred moving average over the first (at most five) cycles,
 * then level and slope of a line through the first ten values of that
 * moving average (of the series itself without a season).
 */
void
ets_initial_states(EtsModel *model, const double *y, int n)
{
	int			m = model->period;
	const double *base = y;
	int			n_base = n;
	double	   *moving = NULL;
	int			k;
	double		mean_x,
				mean_y,
				sxy = 0.0,
				sxx = 0.0,
				slope;

	if (has_season(model->season, m))
	{
		int			half = m / 2;
		int			min_obs = 10 + 2 * half;
		int			cycles = Max(Min(5, n / m), (min_obs + m - 1) / m);
		int			length = Min(n, cycles * m);
		double		mean = 0.0;

		if (n < ets_min_length(m, model->season))
			elog(ERROR, "series too short for seasonal initial states");
		moving = palloc(length * sizeof(double));
		for (int i = half; i < length - half; i++)
		{
			double		sum = 0.0;

			if (m % 2 == 0)
			{
				/* the 2 x m average: half weight on both ends */
				sum = 0.5 * (y[i - half] + y[i + half]);
				for (int j = i - half + 1; j < i + half; j++)
					sum += y[j];
			}
			else
			{
				for (int j = i - half; j <= i + half; j++)
					sum += y[j];
			}
			moving[i] = sum / m;
		}
		model->initial_season = palloc(m * sizeof(double));
		for (int j = 0; j < m; j++)
		{
			double		total = 0.0;
			int			count = 0;

			for (int i = j; i < length; i += m)
			{
				if (i < half || i >= length - half)
					continue;
				total += model->season == ETS_SEASON_MULTIPLICATIVE ? y[i] / moving[i] : y[i] - moving[i];
				count++;
			}
			model->initial_season[j] = total / count;
			mean += model->initial_season[j] / m;
		}
		for (int j = 0; j < m; j++)
		{
			if (model->season == ETS_SEASON_MULTIPLICATIVE)
				model->initial_season[j] /= mean;
			else
				model->initial_season[j] -= mean;
		}
		base = moving + half;
		n_base = length - 2 * half;
	}

	/* least squares line through (1, base[0]) .. (k, base[k-1]) */
	k = Min(10, n_base);
	mean_x = (k + 1) / 2.0;
	mean_y = 0.0;
	for (int i = 0; i < k; i++)
		mean_y += base[i] / k;
	for (int i = 0; i < k; i++)
	{
		sxy += (i + 1 - mean_x) * (base[i] - mean_y);
		sxx += (i + 1 - mean_x) * (i + 1 - mean_x);
	}
	slope = sxx > 0.0 ? sxy / sxx : 0.0;
	model->initial_level = mean_y - slope * mean_x;
	model->initial_trend = model->trend == ETS_TREND_NONE ? 0.0 : slope;
	if (moving != NULL)
		pfree(moving);
}

void
ets_filter(EtsModel *model, const double *y, int n, double *fitted)
{
	int			m = model->period;
	double	   *ring = palloc(m * sizeof(double));
	double		level = model->initial_level;
	double		slope = model->initial_trend;
	double		floor_sse;
	double		scale = forecast_mean_abs(y, n);
	int			k = model->n_params;

	for (int j = 0; j < m; j++)
		ring[j] = has_season(model->season, m) ? model->initial_season[j] : 0.0;
	if (model->trend != ETS_TREND_DAMPED)
		model->params.phi = 1.0;
	model->sse = run_filter(model->trend, model->season, m, &model->params,
							&level, &slope, ring, y, n, fitted);
	model->n = n;
	model->level = level;
	model->slope = model->trend == ETS_TREND_NONE ? 0.0 : slope;
	if (model->seasonal == NULL)
		model->seasonal = palloc(m * sizeof(double));
	for (int j = 0; j < m; j++)
		model->seasonal[j] = ring[(n + j) % m];
	pfree(ring);

	/* A perfect fit would give an infinite likelihood; ties then go to the simplest. */
	floor_sse = n * (1e-10 * scale) * (1e-10 * scale);
	model->log_likelihood = -0.5 * n * (log(2.0 * M_PI * Max(model->sse, floor_sse) / n) + 1.0);
	if (n - k - 1 > 0 && isfinite(model->sse))
		model->aicc = -2.0 * model->log_likelihood + 2.0 * k + 2.0 * k * (k + 1) / (n - k - 1);
	else
		model->aicc = INFINITY;
}

/* Parameters in the vector: smoothing weights, then (stage 2) initial states. */
static int
n_weights(const EtsProblem *pr)
{
	return 1 + (pr->trend != ETS_TREND_NONE) + has_season(pr->season, pr->m)
		+ (pr->trend == ETS_TREND_DAMPED);
}

static int
n_states(const EtsProblem *pr)
{
	return 1 + (pr->trend != ETS_TREND_NONE) + (has_season(pr->season, pr->m) ? pr->m - 1 : 0);
}

static EtsParams
decode_weights(const EtsProblem *pr, const double *x)
{
	EtsParams	p = {0.0, 0.0, 0.0, 1.0};
	int			i = 0;

	p.alpha = to_range(x[i++], WEIGHT_LOW, WEIGHT_HIGH);
	if (pr->trend != ETS_TREND_NONE)
		p.beta = to_range(x[i++], WEIGHT_LOW, WEIGHT_HIGH);
	if (has_season(pr->season, pr->m))
		p.gamma = (1.0 - p.alpha) * logistic(x[i++]);
	if (pr->trend == ETS_TREND_DAMPED)
		p.phi = to_range(x[i++], PHI_LOW, PHI_HIGH);
	return p;
}

static void
encode_weights(const EtsProblem *pr, const EtsParams *p, double *x)
{
	int			i = 0;

	x[i++] = from_range(p->alpha, WEIGHT_LOW, WEIGHT_HIGH);
	if (pr->trend != ETS_TREND_NONE)
		x[i++] = from_range(p->beta, WEIGHT_LOW, WEIGHT_HIGH);
	if (has_season(pr->season, pr->m))
		x[i++] = from_range(p->gamma / (1.0 - p->alpha), 0.0, 1.0);
	if (pr->trend == ETS_TREND_DAMPED)
		x[i++] = from_range(p->phi, PHI_LOW, PHI_HIGH);
}

/*
 * Initial states from the vector: level, slope, and the season but its last
 * value, which makes the seasons sum to zero (additive) or average one
 * (multiplicative), so that level and season do not trade places. Returns
 * false when a multiplicative season would not be positive.
 */
static bool
decode_states(const EtsProblem *pr, const double *x, double *level, double *slope, double *ring)
{
	int			i = n_weights(pr);
	int			m = pr->m;

	if (!pr->fit_states)
	{
		*level = pr->level0;
		*slope = pr->trend0;
		if (has_season(pr->season, m))
			memcpy(ring, pr->season0, m * sizeof(double));
		return true;
	}
	*level = x[i++];
	*slope = pr->trend != ETS_TREND_NONE ? x[i++] : 0.0;
	if (has_season(pr->season, m))
	{
		double		total = 0.0;

		for (int j = 0; j < m - 1; j++)
		{
			ring[j] = x[i++];
			total += ring[j];
		}
		ring[m - 1] = (pr->season == ETS_SEASON_MULTIPLICATIVE ? m : 0.0) - total;
		if (pr->season == ETS_SEASON_MULTIPLICATIVE && !(ring[m - 1] > 0.0))
			return false;
	}
	return true;
}

static double
objective(void *arg, const double *x)
{
	EtsProblem *pr = arg;
	EtsParams	p = decode_weights(pr, x);
	double		level,
				slope;

	if (!decode_states(pr, x, &level, &slope, pr->ring))
		return INFINITY;
	return run_filter(pr->trend, pr->season, pr->m, &p, &level, &slope, pr->ring,
					  pr->y, pr->n, NULL);
}

/* Nelder-Mead restarted from its own optimum until it stops improving. */
static double
minimise(EtsProblem *pr, double *x, int dim, const double *step)
{
	double		best = INFINITY;

	for (int r = 0; r < RESTARTS; r++)
	{
		double		value = nelder_mead(objective, pr, x, dim, step, 1e-10, 200 * (dim + 1));

		if (!(value < best * (1.0 - 1e-9)))
		{
			best = Min(best, value);
			break;
		}
		best = value;
	}
	return best;
}

static void
check_fit_input(const double *y, int n, int period, EtsSeason season)
{
	if (has_season(season, period) && n < ets_min_length(period, season))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("series too short for seasonal exponential smoothing: it has %d periods, a season of %d periods needs at least %d",
						n, period, ets_min_length(period, season)),
				 errhint("Collect at least two full seasons, or forecast without a season.")));
	if (n < ets_min_length(period, ETS_SEASON_NONE))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("series too short for exponential smoothing: it has %d periods, needs at least %d",
						n, ets_min_length(period, ETS_SEASON_NONE))));
	if (season == ETS_SEASON_MULTIPLICATIVE && has_season(season, period))
	{
		for (int i = 0; i < n; i++)
		{
			if (!(y[i] > 0.0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a multiplicative season needs positive values, the series has %g", y[i])));
		}
	}
}

/* Stage 2's starting point: weights x[0..weights-1], then the states. */
static void
set_states(const EtsProblem *pr, double *x, double level, double slope, const double *season)
{
	int			i = n_weights(pr);

	x[i++] = level;
	if (pr->trend != ETS_TREND_NONE)
		x[i++] = slope;
	if (has_season(pr->season, pr->m))
	{
		for (int j = 0; j < pr->m - 1; j++)
			x[i++] = season[j];
	}
}

/*
 * A start from a simpler variant's fit (no trend, or an undamped trend), so
 * that a variant which nests another never ends with a worse fit because its
 * own optimisation found a poorer local minimum.
 */
static void
warm_start(const EtsProblem *pr, const EtsModel *warm, double scale, double *x)
{
	EtsParams	p = warm->params;
	double	   *season = palloc(pr->m * sizeof(double));

	if (warm->trend == ETS_TREND_NONE)
		p.beta = 2 * WEIGHT_LOW;
	if (pr->trend == ETS_TREND_DAMPED && warm->trend != ETS_TREND_DAMPED)
		p.phi = PHI_HIGH - 1e-3;
	encode_weights(pr, &p, x);
	for (int j = 0; j < pr->m && warm->initial_season != NULL; j++)
		season[j] = pr->season == ETS_SEASON_ADDITIVE ? warm->initial_season[j] / scale : warm->initial_season[j];
	set_states(pr, x, warm->initial_level / scale,
			   warm->trend == ETS_TREND_NONE ? 0.0 : warm->initial_trend / scale, season);
	pfree(season);
}

/*
 * The error surface has separate basins (a level that follows every step with
 * a frozen season, or a slow level with a fast season), so stage 1 starts
 * from a grid of weights and stage 2 from each of stage 1's best few.
 */
static EtsModel *
fit_variant(const double *y, int n, int period, EtsTrend trend, EtsSeason season, const EtsModel *warm)
{
	EtsModel   *model = palloc0(sizeof(EtsModel));
	EtsProblem	pr;
	double		scale;
	double	   *scaled;
	int			weights,
				dim;
	double	   *x,
			   *best_x,
			   *step;
	double		best = INFINITY;
	bool		best_fits_states = false;
	static const double alpha_starts[] = {0.1, 0.5, 0.9};
	static const double gamma_starts[] = {0.1, 0.5};
	double		kept_value[STAGE2_STARTS];
	double	   *kept_x;
	int			n_kept = 0;

	check_fit_input(y, n, period, season);
	scale = forecast_mean_abs(y, n);
	scaled = palloc(n * sizeof(double));
	model->trend = trend;
	model->season = has_season(season, period) ? season : ETS_SEASON_NONE;
	model->period = model->season == ETS_SEASON_NONE ? 1 : period;

	for (int i = 0; i < n; i++)
		scaled[i] = y[i] / scale;
	ets_initial_states(model, scaled, n);

	pr.y = scaled;
	pr.n = n;
	pr.m = model->period;
	pr.trend = trend;
	pr.season = model->season;
	pr.fit_states = false;
	pr.level0 = model->initial_level;
	pr.trend0 = model->initial_trend;
	pr.season0 = model->initial_season;
	pr.ring = palloc(pr.m * sizeof(double));

	weights = n_weights(&pr);
	dim = weights + n_states(&pr);
	x = palloc(dim * sizeof(double));
	best_x = palloc(dim * sizeof(double));
	step = palloc(dim * sizeof(double));
	kept_x = palloc(STAGE2_STARTS * weights * sizeof(double));

	/* stage 1: the weights alone with the heuristic states; keep the best few */
	for (int i = 0; i < weights; i++)
		step[i] = 1.0;
	for (int a = 0; a < lengthof(alpha_starts); a++)
	{
		for (int g = 0; g < (has_season(pr.season, pr.m) ? lengthof(gamma_starts) : 1); g++)
		{
			EtsParams	start = {alpha_starts[a], 0.1, gamma_starts[g] * (1.0 - alpha_starts[a]), 0.9};
			double		value;
			int			slot;

			encode_weights(&pr, &start, x);
			value = minimise(&pr, x, weights, step);
			if (!isfinite(value))
				continue;
			/* insertion into the sorted list of kept optima */
			slot = n_kept < STAGE2_STARTS ? n_kept++ : STAGE2_STARTS;
			if (slot == STAGE2_STARTS && !(value < kept_value[STAGE2_STARTS - 1]))
				continue;
			if (slot == STAGE2_STARTS)
				slot = STAGE2_STARTS - 1;
			while (slot > 0 && value < kept_value[slot - 1])
			{
				kept_value[slot] = kept_value[slot - 1];
				memcpy(kept_x + slot * weights, kept_x + (slot - 1) * weights, weights * sizeof(double));
				slot--;
			}
			kept_value[slot] = value;
			memcpy(kept_x + slot * weights, x, weights * sizeof(double));
		}
	}
	if (n_kept > 0)
	{
		best = kept_value[0];
		memcpy(best_x, kept_x, weights * sizeof(double));
	}
	else
	{
		/* nothing finite (a multiplicative season gone negative): start anywhere */
		EtsParams	start = {0.5, 0.1, 0.1, 0.9};

		encode_weights(&pr, &start, best_x);
	}

	/* stage 2: weights and initial states together */
	{
		int			i = weights;

		step[i++] = 0.1;
		if (trend != ETS_TREND_NONE)
			step[i++] = 0.01;
		while (i < dim)
			step[i++] = 0.05;
	}
	pr.fit_states = true;
	for (int k = 0; k <= n_kept; k++)
	{
		double		value;

		if (k < n_kept)
		{
			memcpy(x, kept_x + k * weights, weights * sizeof(double));
			set_states(&pr, x, pr.level0, pr.trend0, pr.season0);
		}
		else if (warm != NULL)
			warm_start(&pr, warm, scale, x);
		else
			break;
		value = minimise(&pr, x, dim, step);
		if (value < best)
		{
			best = value;
			best_fits_states = true;
			memcpy(best_x, x, dim * sizeof(double));
		}
	}
	pr.fit_states = best_fits_states;

	/* back to the series' own units */
	model->params = decode_weights(&pr, best_x);
	{
		double		level,
					slope;
		double	   *ring = pr.ring;

		decode_states(&pr, best_x, &level, &slope, ring);
		model->initial_level = level * scale;
		model->initial_trend = slope * scale;
		if (model->initial_season != NULL)
		{
			for (int j = 0; j < pr.m; j++)
				model->initial_season[j] = model->season == ETS_SEASON_ADDITIVE ? ring[j] * scale : ring[j];
		}
	}
	model->n_params = weights + n_states(&pr) + 1;	/* + the error variance */
	ets_filter(model, y, n, NULL);

	pfree(scaled);
	pfree(pr.ring);
	pfree(x);
	pfree(best_x);
	pfree(step);
	pfree(kept_x);
	return model;
}

EtsModel *
ets_fit(const double *y, int n, int period, EtsTrend trend, EtsSeason season)
{
	return fit_variant(y, n, period, trend, season, NULL);
}

EtsModel *
ets_fit_auto(const double *y, int n, int period)
{
	static const EtsTrend trends[] = {ETS_TREND_NONE, ETS_TREND_ADDITIVE, ETS_TREND_DAMPED};
	static const EtsSeason seasons[] = {ETS_SEASON_NONE, ETS_SEASON_ADDITIVE, ETS_SEASON_MULTIPLICATIVE};
	EtsModel   *best = NULL;
	EtsModel   *simpler;
	bool		positive = true;

	for (int i = 0; i < n; i++)
		positive = positive && y[i] > 0.0;

	/* simplest first, so that ties and all-infinite AICc keep the simplest */
	for (int s = 0; s < lengthof(seasons); s++)
	{
		if (seasons[s] != ETS_SEASON_NONE
			&& (period <= 1 || n < ets_min_length(period, seasons[s])))
			continue;
		if (seasons[s] == ETS_SEASON_MULTIPLICATIVE && !positive)
			continue;
		simpler = NULL;
		for (int t = 0; t < lengthof(trends); t++)
		{
			EtsModel   *candidate;

			CHECK_FOR_INTERRUPTS();
			/* N starts A, A starts Ad: each nests (or nearly nests) the one before */
			candidate = fit_variant(y, n, period, trends[t], seasons[s], simpler);
			if (simpler != NULL && simpler != best)
				ets_free(simpler);
			if (best == NULL || candidate->aicc < best->aicc)
			{
				if (best != NULL)
					ets_free(best);	/* (when it was simpler, it was kept for this) */
				best = candidate;
			}
			simpler = candidate;
		}
		if (simpler != best)
			ets_free(simpler);
	}
	return best;
}

void
ets_free(EtsModel *model)
{
	if (model->initial_season != NULL)
		pfree(model->initial_season);
	if (model->seasonal != NULL)
		pfree(model->seasonal);
	pfree(model);
}

void
ets_forecast(const EtsModel *model, int h, double *out)
{
	double		damped_sum = 0.0;
	double		phi_power = 1.0;
	bool		seasonal = has_season(model->season, model->period);

	for (int j = 0; j < h; j++)
	{
		double		base;

		if (model->trend == ETS_TREND_DAMPED)
		{
			phi_power *= model->params.phi;
			damped_sum += phi_power;
		}
		else
			damped_sum += 1.0;
		base = model->level + (model->trend == ETS_TREND_NONE ? 0.0 : damped_sum * model->slope);
		if (!seasonal)
			out[j] = base;
		else if (model->season == ETS_SEASON_MULTIPLICATIVE)
			out[j] = base * model->seasonal[j % model->period];
		else
			out[j] = base + model->seasonal[j % model->period];
	}
}

char *
ets_describe(const EtsModel *model, char *buf)
{
	static const char *const trend_codes[] = {"N", "A", "Ad"};
	static const char *const season_codes[] = {"N", "A", "M"};

	snprintf(buf, 16, "ETS(A,%s,%s)", trend_codes[model->trend], season_codes[model->season]);
	return buf;
}
