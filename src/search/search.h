/*
 * search.h: from a relation and a target to a stored model. This release
 * fits one learner per call; the search over learners comes later. The
 * interface holds the validation split and the metrics that the search and
 * the evaluation views will share.
 */
#ifndef AUTOML_SEARCH_H
#define AUTOML_SEARCH_H

#include "postgres.h"
#include "learn/learner.h"

/* ---- metrics (metrics.c) ---- */

typedef enum MetricId
{
	METRIC_RMSE,
	METRIC_MAE,
	METRIC_R2,
	METRIC_ACCURACY,
	METRIC_F1,
	METRIC_ROC_AUC,
	METRIC_LOG_LOSS
} MetricId;

typedef struct MetricDef
{
	MetricId	id;
	const char *name;
	Task		task;
	bool		higher_is_better;
} MetricDef;

extern const MetricDef *metric_find(const char *name);
extern const MetricDef *metric_default(Task task, int n_classes);
extern const char *metric_names(void);

/* All metrics of a task, in a fixed order, for the catalog row. */
extern int	metric_list_for_task(Task task, const MetricDef **out, int max_out);

/*
 * The metric over n rows. Regression: pred holds one value per row, y the
 * truth. Classification: pred holds n_classes probabilities per row, label the
 * true class. Returns NaN when undefined (for example AUC with one class).
 */
extern double metric_compute(MetricId id, int64 n, const double *y, const int *label,
							 int n_classes, const double *pred);

/* ---- validation split (split.c) ---- */

typedef struct Split
{
	int64	   *train;
	int64		n_train;
	int64	   *valid;
	int64		n_valid;
} Split;

/*
 * A seeded holdout of about valid_fraction of the rows, stratified by label
 * when label is not NULL. Both index lists come out sorted.
 */
extern Split holdout_split(int64 n_rows, const int *label, int n_classes,
						   double valid_fraction, uint64 seed);

#endif							/* AUTOML_SEARCH_H */
