/*
 * monitor.h: drift, data quality and performance of monitored models,
 * measured on windows of the prediction log (automl.predictions) against the
 * training profile stored with the deployed version.
 *
 * Numeric and date/time features are binned on the profile's bin edges
 * (values outside the training range fall into the outer bins) and compared
 * by Jensen-Shannon distance; categorical features by the L-infinity distance
 * between level shares (the profile's most frequent levels, all others
 * pooled). The population stability index is given for both. Shares are
 * taken over present values; missing values are reported by the quality view.
 */
#ifndef AUTOML_MONITOR_H
#define AUTOML_MONITOR_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "fmgr.h"

/* Shares below this are raised to it in the PSI (ln 0 is undefined). */
#define MONITOR_PSI_FLOOR 0.0001

/* ---- statistics (stats.c); p and q are shares that each sum to 1 ---- */

/* Jensen-Shannon distance with base-2 logarithms: in [0, 1]. */
extern double js_distance(const double *p, const double *q, int n);

/* Largest absolute difference between two shares. */
extern double linf_distance(const double *p, const double *q, int n);

/* Population stability index: sum of (q - p) ln(q / p), shares floored at MONITOR_PSI_FLOOR. */
extern double population_stability_index(const double *p, const double *q, int n);

/* Divides counts by their sum into shares; false (shares untouched) when the sum is 0. */
extern bool counts_to_shares(const double *counts, int n, double *shares);

/* ---- one window of one model's log (window.c) ---- */

typedef struct FeatureWindow
{
	char	   *name;			/* NULL for the model's predictions */
	bool		categorical;
	bool		excluded;		/* not logged (the monitor's exclude list) */

	/* the training reference */
	int			n_bins;			/* numeric: bins; categorical: levels + 1 (all others) */
	double	   *edges;			/* numeric: n_bins + 1 edges */
	char	  **levels;			/* categorical: n_bins - 1 levels */
	double	   *reference;		/* shares over present values */
	bool		has_reference;
	double		training_missing_share;
	double		training_min;
	double		training_max;
	double		training_unseen_share;	/* rows in levels the model pools as unknown */
	int			prep_column;	/* its column in the model's feature spec, or -1 */

	/* thresholds */
	double		threshold;
	double		psi_threshold;

	/* the window */
	int64		rows;
	int64		missing;
	int64		out_of_range;
	int64		unseen;
	double	   *counts;			/* n_bins */
} FeatureWindow;

typedef struct ModelWindow
{
	char	   *model;
	int			version;		/* the deployed version, whose profile is the reference */
	TimestampTz start;
	TimestampTz end;
	int64		rows;			/* logged predictions in the window */
	int			n_features;
	FeatureWindow *features;
	FeatureWindow prediction;
	double		dataset_drift_share;
} ModelWindow;

/*
 * The (model, window_start, window_end) arguments of the window functions:
 * the window defaults to the day before the transaction began.
 */
extern void window_arguments(FunctionCallInfo fcinfo, char **model, TimestampTz *start, TimestampTz *end);

/*
 * Errors when model name's latest version is a forecast model: logging,
 * outcomes, drift, quality and performance apply to models that score rows.
 */
extern void monitor_refuse_forecast(const char *model);

/* Reads the reference and scans the window [start, end) of model's log. */
extern ModelWindow *model_window_scan(const char *model, TimestampTz start, TimestampTz end);

#endif							/* AUTOML_MONITOR_H */
