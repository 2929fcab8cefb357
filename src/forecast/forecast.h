/*
 * forecast.h: forecasting's models and their search, one interface: what
 * a learner and the search are for tables, this folder is for time series.
 *
 *   frequency.c  the period grid: frequency inference, calendar stepping
 *   series.c     observations placed on the grid, gaps and NULLs filled
 *   ets.c        exponential smoothing (additive error), chosen by AICc
 *   optim.c      Nelder-Mead, bounded through transforms
 *   model.c      naive, seasonal naive, and one fit/forecast entry point
 *   features.c   lag, rolling and calendar features; recursive forecasts
 *   backtest.c   rolling-origin backtest, metrics, prediction intervals
 *   global.c     one gradient-boosted model over every series, and its backtest
 *   trained.c    a trained forecast model and its forecasts
 *
 * Elsewhere: its bytes in src/registry/forecast_format.c, its training run
 * (automl_train(task => 'forecast')) in src/train/forecast.c, and
 * automl_forecast in src/serve/forecast.c.
 *
 * Timestamps are seconds since 1970-01-01 00:00 as doubles, read on the
 * proleptic Gregorian calendar without time zones (what date_part('epoch')
 * gives for a timestamp without time zone). A caller with timestamptz
 * converts to local time first, so that a daily series stays one day apart
 * across daylight-saving changes.
 *
 * Everything is palloc'd in CurrentMemoryContext; errors are ereport(ERROR).
 */
#ifndef AUTOML_FORECAST_H
#define AUTOML_FORECAST_H

#include "postgres.h"

/* ---- the period grid (frequency.c) ---- */

typedef enum ForecastFrequency
{
	FREQ_HOURLY = 0,
	FREQ_DAILY,
	FREQ_WEEKLY,
	FREQ_MONTHLY,
	FREQ_QUARTERLY,
	FREQ_YEARLY
} ForecastFrequency;

/*
 * A regular grid of periods. Hourly, daily and weekly periods are a fixed
 * number of seconds; monthly, quarterly and yearly ones are calendar months
 * anchored on a day of the month (clamped to shorter months) or on the
 * month's last day, at a fixed time of day.
 */
typedef struct TimeGrid
{
	ForecastFrequency freq;
	double		origin;			/* timestamp of period 0 */
	double		step_seconds;	/* hourly, daily, weekly: the period's length */
	int			step_months;	/* monthly 1, quarterly 3, yearly 12; else 0 */
	int			anchor_day;		/* month-based: day of month, 1..31 */
	bool		month_end;		/* month-based: the last day of each month */
	double		time_of_day;	/* month-based: seconds after midnight */
} TimeGrid;

/* What frequency inference found besides the grid. */
typedef struct GridReport
{
	int			n_periods;		/* from first to last timestamp, inclusive */
	int			n_missing;		/* periods without a timestamp (gaps) */
	int			largest_gap;	/* most consecutive missing periods */
	double		first_gap_at;	/* timestamp of the first missing period, or NaN */
} GridReport;

/*
 * Infers the grid of n timestamps sorted ascending. Errors: fewer than two
 * timestamps, unsorted or duplicate timestamps, spacing that is not a whole
 * number of one supported period, more missing periods than observed ones.
 * report may be NULL.
 */
extern TimeGrid forecast_infer_grid(const double *times, int n, GridReport *report);

/* The timestamp k periods (k may be negative) after t, which is on the grid. */
extern double forecast_step(const TimeGrid *grid, double t, int k);

/* Index of t on the grid (period 0 is grid->origin); -1 when t is off the grid. */
extern int	forecast_grid_index(const TimeGrid *grid, double t);

/* 24 hourly, 7 daily, 52 weekly, 12 monthly, 4 quarterly, 1 yearly. */
extern int	forecast_season_length(ForecastFrequency freq);

/* "hourly", "daily", ... */
extern const char *forecast_frequency_name(ForecastFrequency freq);

/* Calendar helpers, also for tests: a timestamp from its parts, and back. */
extern double forecast_make_time(int year, int month, int day, int hour, int minute, int second);

typedef struct CalendarParts
{
	int			year;
	int			month;			/* 1..12 */
	int			day;			/* 1..31 */
	int			hour;			/* 0..23 */
	int			day_of_week;	/* ISO: 1 Monday .. 7 Sunday */
	int			day_of_year;	/* 1..366 */
	double		seconds_of_day;
} CalendarParts;

extern CalendarParts forecast_calendar(double t);

/* "YYYY-MM-DD HH:MM:SS" into buf (at least 32 bytes), for messages. */
extern char *forecast_format_time(double t, char *buf);

/* ---- a regular series (series.c) ---- */

typedef struct RegularSeries
{
	TimeGrid	grid;			/* period 0 is the first non-NULL observation */
	int			n;
	double	   *y;				/* n values, no NaN */
	int			n_filled;		/* interior periods filled: gaps + NULL targets */
	int			n_gaps;			/* of those, periods without a row */
	int			n_null;			/* of those, rows with a NULL target */
	int			n_trimmed;		/* leading and trailing NULL targets dropped */
} RegularSeries;

/*
 * Places n observations (timestamps sorted ascending; a NULL target is
 * is_null[i], or NaN in values when is_null is NULL) on their inferred
 * grid. Interior gaps and NULL targets are filled by linear interpolation
 * between the nearest observed neighbours; leading and trailing NULL targets
 * are dropped, so the series runs from the first to the last observed value.
 * Errors: an all-NULL target, and those of forecast_infer_grid.
 */
extern RegularSeries *forecast_regularize(const double *times, const double *values,
										  const bool *is_null, int n);

/* Mean |y| over y[0..n), or 1 when it is 0: the scale a series is measured in. */
extern double forecast_mean_abs(const double *y, int n);

/* ---- models (ets.c, model.c) ---- */

typedef enum ForecastMethod
{
	FORECAST_NAIVE = 0,			/* the last value */
	FORECAST_SEASONAL_NAIVE,	/* the value one season before */
	FORECAST_ETS				/* exponential smoothing, variant by AICc */
} ForecastMethod;

typedef enum EtsTrend
{
	ETS_TREND_NONE = 0,
	ETS_TREND_ADDITIVE,
	ETS_TREND_DAMPED
} EtsTrend;

typedef enum EtsSeason
{
	ETS_SEASON_NONE = 0,
	ETS_SEASON_ADDITIVE,
	ETS_SEASON_MULTIPLICATIVE
} EtsSeason;

/*
 * Smoothing parameters in Holt-Winters form, as statsmodels' ExponentialSmoothing
 * names them: alpha (level), beta (trend, the fraction of the level's change;
 * the error-correction form's beta is alpha * beta), gamma (season), phi
 * (damping; 1 without damping).
 */
typedef struct EtsParams
{
	double		alpha;
	double		beta;
	double		gamma;
	double		phi;
} EtsParams;

typedef struct EtsModel
{
	EtsTrend	trend;
	EtsSeason	season;
	int			period;			/* season length m; 1 without season */
	EtsParams	params;
	double		initial_level;
	double		initial_trend;
	double	   *initial_season; /* m values for the first m periods, or NULL */
	/* after the last observation: */
	double		level;
	double		slope;
	double	   *seasonal;		/* m values; seasonal[j] is for period n + j */
	int			n;				/* observations fitted */
	double		sse;			/* one-step in-sample squared errors */
	int			n_params;		/* smoothing + initial states + variance */
	double		log_likelihood; /* Gaussian, variance profiled out */
	double		aicc;			/* +inf when there are too few observations */
} EtsModel;

/* Smallest series for a seasonal ETS variant: two seasons and 10 + 2*(m/2). */
extern int	ets_min_length(int period, EtsSeason season);

/*
 * Fits one variant: initial states by the heuristic of Hyndman et al. (2008)
 * (as statsmodels' initialization_method="heuristic"), smoothing weights by
 * least squares (= maximum likelihood with additive Gaussian errors) with
 * Nelder-Mead from several starts, then weights and initial states together
 * from the best few of those. AICc counts the initial states as parameters.
 * Errors: a series too short for the variant, a multiplicative season on
 * values <= 0.
 */
extern EtsModel *ets_fit(const double *y, int n, int period, EtsTrend trend, EtsSeason season);

/*
 * Fits every variant the series allows and keeps the lowest AICc: seasons
 * need ets_min_length periods (shorter series get the non-seasonal variants),
 * a multiplicative season needs positive values. Each trend variant starts
 * from the fit of the one it nests (N, then A, then Ad).
 */
extern EtsModel *ets_fit_auto(const double *y, int n, int period);

/*
 * Runs the model over y with fixed parameters and initial states (as set in
 * model) and updates the final states, sse and likelihood; fitted, if not
 * NULL, receives the n one-step forecasts. For tests against statsmodels.
 */
extern void ets_filter(EtsModel *model, const double *y, int n, double *fitted);

/* The heuristic initial states alone (model's trend, season and period set). */
extern void ets_initial_states(EtsModel *model, const double *y, int n);

extern void ets_forecast(const EtsModel *model, int h, double *out);
extern void ets_free(EtsModel *model);

/* "ETS(A,Ad,M)" and the like, into buf (at least 16 bytes). */
extern char *ets_describe(const EtsModel *model, char *buf);

/* Any method behind one pair of calls. */
typedef struct Forecaster
{
	ForecastMethod method;		/* as fitted: seasonal naive may become naive */
	int			period;
	int			n;
	const double *history;		/* naive methods: the fitted series (not copied) */
	EtsModel   *ets;			/* FORECAST_ETS */
} Forecaster;

/*
 * Seasonal naive falls back to naive when the period is 1 or the series is
 * shorter than two seasons; ETS falls back to its non-seasonal variants on a
 * series too short for a season. y must outlive the Forecaster.
 */
extern Forecaster *forecaster_fit(ForecastMethod method, const double *y, int n, int period);
extern void forecaster_predict(const Forecaster *f, int h, double *out);
extern void forecaster_free(Forecaster *f);
extern const char *forecast_method_name(ForecastMethod method);

/* ---- Nelder-Mead (optim.c) ---- */

/* Minimises f over R^dim from x (updated in place); returns the minimum. */
typedef double (*ObjectiveFn) (void *arg, const double *x);
extern double nelder_mead(ObjectiveFn f, void *arg, double *x, int dim,
						  const double *step, double tolerance, int max_evaluations);

/* ---- features for a global tree model (features.c) ---- */

#define FORECAST_MAX_LAGS 64
#define FORECAST_MAX_WINDOWS 4

typedef enum CalendarFeature
{
	CAL_HOUR = 0,
	CAL_DAY_OF_WEEK,
	CAL_DAY_OF_MONTH,
	CAL_WEEK_OF_YEAR,
	CAL_MONTH,
	CAL_QUARTER,
	CAL_COUNT
} CalendarFeature;

/*
 * The features of row t describe y[t] from what is known before it: lags
 * y[t-k], mean and standard deviation of y[t-w..t-1], and calendar parts of
 * period t's timestamp. A lag or window reaching before the series is NaN
 * (a missing value to the tree learners).
 */
typedef struct FeatureSpec
{
	TimeGrid	grid;
	int			period;
	int			n_lags;
	int			lags[FORECAST_MAX_LAGS];
	int			n_windows;
	int			windows[FORECAST_MAX_WINDOWS];
	int			n_calendar;
	CalendarFeature calendar[CAL_COUNT];
	int			n_features;		/* lags, then mean and std per window, then calendar */
} FeatureSpec;

/*
 * Lags 1..m (at least 1..3, at most 1..48), m, 2m and, for hourly data, 168
 * (a week); windows of 3 and m periods; the calendar parts that vary at the
 * grid's frequency (hour, day of week, day of month, week of year counted
 * from January 1, month, quarter).
 */
extern FeatureSpec forecast_feature_spec(const TimeGrid *grid, int period);

/* Feature i's name: "lag_12", "mean_3", "std_12", "month", ... */
extern const char *forecast_feature_name(const FeatureSpec *spec, int i, char *buf, size_t len);

/* Fills out[spec->n_features] for row t (0 <= t <= n) of y[0..n-1]; t == n is the next period. */
extern void forecast_features_row(const FeatureSpec *spec, const double *y, int n, int t, double *out);

/* Rows first..n-1 into X (row-major), the training matrix; its targets are y[first..n-1]. */
extern void forecast_features_matrix(const FeatureSpec *spec, const double *y, int n,
									 int first, double *X);

/* A fitted model's prediction for one feature row. */
typedef double (*ForecastPredictFn) (void *arg, const double *features);

/*
 * Recursive multi-step forecast: each step's prediction becomes the history
 * the next step's lags and windows read. Writes h values to out.
 */
extern void forecast_recursive(const FeatureSpec *spec, const double *y, int n, int h,
							   ForecastPredictFn predict, void *arg, double *out);

/* ---- rolling-origin backtest (backtest.c) ---- */

/* Fits on y[0..n-1] and writes h forecasts to out: one candidate method. */
typedef void (*ForecastFitPredictFn) (void *arg, const double *y, int n, int period, int h,
									  double *out);

/* forecaster_fit + forecaster_predict as a ForecastFitPredictFn; arg is a ForecastMethod *. */
extern void forecast_fit_predict_method(void *arg, const double *y, int n, int period, int h,
										double *out);

typedef struct ForecastMetrics
{
	double		mae;
	double		rmse;
	double		mape;			/* fraction; over nonzero actuals; NaN if none */
	double		smape;			/* fraction, 0..2: mean 2|e| / (|y| + |f|) */
	double		mase;			/* |e| over the training part's in-sample seasonal naive MAE */
} ForecastMetrics;

typedef struct BacktestResult
{
	int			horizon;
	int			period;
	int			n_origins;
	int		   *origins;		/* training lengths, ascending */
	double	   *forecasts;		/* n_origins x horizon */
	double	   *actuals;		/* n_origins x horizon */
	double	   *scales;			/* per origin: the MASE denominator */
	ForecastMetrics metrics;	/* over every origin and step */
	double	   *step_rmse;		/* per step ahead: sqrt(mean residual^2) over origins */
} BacktestResult;

/* Training periods each backtest origin needs: two seasons (m > 1), else 4. */
extern int	forecast_min_train(int period);

/*
 * Origins (training lengths) n - k*h, ..., n - h for up to max_origins
 * origins, fewer when the series is short. Errors: horizon <= 0, a series
 * too short for even one origin (the message says how many periods).
 */
extern int	forecast_backtest_origins(int n, int period, int horizon, int max_origins,
									  int *origins);

extern BacktestResult *forecast_backtest(const double *y, int n, int period, int horizon,
										 int max_origins, ForecastFitPredictFn fit_predict,
										 void *arg);

/* Metrics of forecasts f against actuals a (n_points), scaled per point for MASE. */
extern ForecastMetrics forecast_metrics(const double *a, const double *f, const double *scale,
										int n_points);

/* In-sample MAE of seasonal naive over y[0..n-1] (naive when n <= period). */
extern double forecast_mase_scale(const double *y, int n, int period);

/*
 * Prediction intervals at level (0 < level < 1) around point forecasts:
 * point +- z * sigma_j, with z the normal quantile and sigma_j the step's
 * backtest RMSE, made non-decreasing in j (uncertainty does not shrink
 * further ahead). Steps beyond the backtest's horizon use its last sigma.
 */
extern void forecast_intervals(const BacktestResult *backtest, const double *point, int h,
							   double level, double *lower, double *upper);

/* The standard normal quantile function. */
extern double forecast_normal_quantile(double p);

/* ---- one gradient-boosted model over many series (global.c) ---- */

/*
 * Fits one gbdt on every series' first length[s] periods: rows t >= 1 of
 * each, features of the series divided by its scale. A regression learner
 * state of gbdt_learner.
 */
extern void *forecast_global_fit(const RegularSeries *const *series, int n_series,
								 const int *length, const FeatureSpec *spec);

/*
 * The global model's backtest: at each origin index one model on every
 * series cut there, then each series forecast from its cut; a BacktestResult
 * per series like forecast_backtest's. origins[s] holds n_origins[s] cuts.
 */
extern BacktestResult **forecast_global_backtest(const RegularSeries *const *series,
												 const int *n_origins, int *const *origins,
												 int n_series, int period, int h,
												 const FeatureSpec *spec);

/* ---- a trained forecast model (trained.c) ---- */

/* What the search chooses among, for every series of a model at once. */
typedef enum ForecastCandidate
{
	CANDIDATE_SEASONAL_NAIVE = 0,
	CANDIDATE_ETS,
	CANDIDATE_GBDT,				/* one boosted-tree model over every series' lag features */
	CANDIDATE_COUNT
} ForecastCandidate;

extern const char *forecast_candidate_name(ForecastCandidate c);

/* One series as the model keeps it: enough to forecast from its end. */
typedef struct SeriesState
{
	char	   *key;			/* the series column's value as text; NULL: one series */
	double		last_time;		/* timestamp of the last observed period */
	int			n_history;		/* the last values, oldest first */
	double	   *history;
	double		scale;			/* gbdt: mean |value| the series is divided by */
	EtsModel   *ets;			/* CANDIDATE_ETS: the fitted states */
	double	   *step_rmse;		/* horizon values: backtest RMSE per step ahead */
} SeriesState;

typedef struct ForecastModel
{
	ForecastCandidate method;
	TimeGrid	grid;			/* frequency and anchoring (the origin is each series' own) */
	int			period;
	int			horizon;		/* the horizon it was trained and backtested for */
	int			n_series;
	SeriesState *series;
	void	   *gbdt_state;		/* CANDIDATE_GBDT: the learner's fitted state */
	int			n_features;		/* CANDIDATE_GBDT: FeatureSpec's */
} ForecastModel;

/* Timestamps a stored model may hold and forecasts may reach: years 1 to 9999. */
#define FORECAST_MIN_TIME (-62135596800.0)
#define FORECAST_MAX_TIME 253402300799.0

/* The history a series keeps: what lags and windows read, and a season for naive. */
extern int	forecast_history_needed(const TimeGrid *grid, int period);

/*
 * h recursive forecasts of the shared gbdt model (a regression learner state
 * over the features of spec) for y[0..n), whose period 0 is spec->grid.origin:
 * the series is divided by scale for the model, as it was in training.
 */
extern void forecast_gbdt_predict(const void *gbdt_state, const FeatureSpec *spec,
								  const double *y, int n, double scale, int h, double *out);

/* h point forecasts of one series after its last observed period. */
extern void forecast_model_predict(const ForecastModel *model, const SeriesState *s, int h,
								   double *out);

#endif							/* AUTOML_FORECAST_H */
