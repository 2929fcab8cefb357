/*
 * metrics.h: how good predictions are.
 *
 * The one implementation of every metric the extension reports: the search
 * ranks trials with it, calibration chooses by it, evaluation, monitoring
 * and forecasting report it. Definitions are scikit-learn's (test/unit
 * checks them against figures scikit-learn computed):
 *
 *   rmse, mae, r2          mean_squared_error ** 0.5, mean_absolute_error, r2_score
 *                          (NaN when the truth is constant)
 *   mape                   mean |error| / |truth| over rows whose truth is not 0, a fraction
 *   accuracy               accuracy_score
 *   balanced_accuracy      mean recall over the classes present in the truth
 *   precision, recall, f1  two classes: of the positive (second) class; more: the
 *                          macro average over the classes in the truth or the predictions
 *   roc_auc                two classes: roc_auc_score; more: one-vs-rest, macro over the
 *                          classes present in the truth (NaN with one class)
 *   pr_auc                 average_precision_score, the same way
 *   log_loss               log_loss with probabilities clipped to [1e-15, 1 - 1e-15]
 *   brier                  two classes: brier_score_loss of the positive class; more: the
 *                          sum over classes of the squared error, averaged over rows
 *   ece                    expected calibration error over ten equal-width bins of the
 *                          positive class's probability (two classes) or of the top
 *                          class's (more), as Guo et al. (2017)
 *
 * Forecasting adds MASE and sMAPE, which need a series (forecast/backtest.c).
 */
#ifndef AUTOML_METRICS_H
#define AUTOML_METRICS_H

#include "postgres.h"
#include "learn/learner.h"

/*
 * Predictions of n rows with their truth: regression (n_classes 0) one value
 * per row and y; classification n_classes probabilities per row and the
 * class index of the truth in label.
 */
typedef struct Predictions
{
	int64		n;
	int			n_classes;		/* 0 for regression */
	double	   *pred;			/* n x predictions_width() */
	double	   *y;				/* regression truth, or NULL */
	int		   *label;			/* classification truth, or NULL */
} Predictions;

static inline int
predictions_width(const Predictions *p)
{
	return p->n_classes > 0 ? p->n_classes : 1;
}

/* Empty predictions of n rows for a task, with room for the truth. */
extern Predictions predictions_alloc(int64 n, int n_classes);

/* The given rows of p, copied. */
extern Predictions predictions_subset(const Predictions *p, const int64 *rows, int64 n_rows);

/* Rows from..from+n of p, sharing its arrays. */
extern Predictions predictions_slice(const Predictions *p, int64 from, int64 n);

extern void predictions_free(Predictions *p);

/* The most probable class of row i. */
extern int	predictions_class(const Predictions *p, int64 i);

typedef enum MetricId
{
	METRIC_RMSE,
	METRIC_MAE,
	METRIC_R2,
	METRIC_MAPE,
	METRIC_ACCURACY,
	METRIC_BALANCED_ACCURACY,
	METRIC_PRECISION,
	METRIC_RECALL,
	METRIC_F1,
	METRIC_ROC_AUC,
	METRIC_PR_AUC,
	METRIC_LOG_LOSS,
	METRIC_BRIER,
	METRIC_ECE
} MetricId;

typedef struct MetricDef
{
	MetricId	id;
	const char *name;
	Task		task;
	bool		higher_is_better;
	bool		searchable;		/* may be the search's metric */
} MetricDef;

/* A metric the search may optimise, by name; NULL for any other name. */
extern const MetricDef *metric_find(const char *name);

/* Any metric by name (searchable or not), or NULL. */
extern const MetricDef *metric_lookup(const char *name);

extern const MetricDef *metric_get(MetricId id);
extern const MetricDef *metric_default(Task task, int n_classes);

/* The searchable metrics, for error hints. */
extern const char *metric_names(void);

/* The score as a loss (lower is better); NaN is the worst. */
extern double metric_loss(const MetricDef *metric, double score);

/* The searchable metrics of a task, in a fixed order, for the catalog row. */
extern int	metric_list_for_task(Task task, const MetricDef **out, int max_out);

/* The metric of p; NaN when undefined on these rows (for example AUC with one class). */
extern double metric_value(MetricId id, const Predictions *p);

static inline double
metric_score(const MetricDef *metric, const Predictions *p)
{
	return metric_value(metric->id, p);
}

/* ---- every figure of a task, for evaluation ---- */

#define METRICS_REPORT_MAX 16

typedef struct MetricValue
{
	const char *name;
	double		value;			/* NaN: undefined on these rows */
	int			direction;		/* 1: higher is better, -1: lower is better, 0: neither */
} MetricValue;

/*
 * Every metric of p's task over the given rows (NULL: all), in a fixed
 * order; regression adds the 5th, 25th, 50th, 75th and 95th percentiles of
 * the residual (truth - prediction). Returns the number written.
 */
extern int	metrics_report(const Predictions *p, const int64 *rows, int64 n_rows,
						   MetricValue *out);

/* ---- ranking by one class's probability (curves, AUC) ---- */

/*
 * The cumulative true and false positives of class k against the rest at
 * each distinct probability, highest first (scikit-learn's _binary_clf_curve).
 */
typedef struct ThresholdCounts
{
	int64		n;
	double	   *threshold;
	int64	   *tps;
	int64	   *fps;
	int64		n_pos;
	int64		n_neg;
} ThresholdCounts;

extern ThresholdCounts threshold_counts(const Predictions *p, int k);

/* The row indices of p ranked by class k's probability, highest first (ties in row order). */
extern int64 *predictions_rank(const Predictions *p, int k);
extern void threshold_counts_free(ThresholdCounts *c);

/* The reliability bin (of nbins equal-width bins) of a probability; an edge falls in the lower bin. */
extern int	probability_bin(double p, int nbins);

#endif							/* AUTOML_METRICS_H */
