/*
 * metrics.c: validation metrics for regression and classification.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "search/search.h"

static const MetricDef metrics[] = {
	{METRIC_RMSE, "rmse", TASK_REGRESSION, false},
	{METRIC_MAE, "mae", TASK_REGRESSION, false},
	{METRIC_R2, "r2", TASK_REGRESSION, true},
	{METRIC_MAPE, "mape", TASK_REGRESSION, false},
	{METRIC_ROC_AUC, "roc_auc", TASK_CLASSIFICATION, true},
	{METRIC_LOG_LOSS, "log_loss", TASK_CLASSIFICATION, false},
	{METRIC_ACCURACY, "accuracy", TASK_CLASSIFICATION, true},
	{METRIC_F1, "f1", TASK_CLASSIFICATION, true},
};

const MetricDef *
metric_find(const char *name)
{
	for (size_t i = 0; i < lengthof(metrics); i++)
	{
		if (strcmp(metrics[i].name, name) == 0)
			return &metrics[i];
	}
	return NULL;
}

const MetricDef *
metric_default(Task task, int n_classes)
{
	if (task == TASK_REGRESSION)
		return metric_find("rmse");
	return metric_find(n_classes == 2 ? "roc_auc" : "log_loss");
}

double
metric_loss(const MetricDef *metric, double score)
{
	if (isnan(score))
		return INFINITY;
	return metric->higher_is_better ? -score : score;
}

const char *
metric_names(void)
{
	return "rmse, mae, r2, mape (regression); roc_auc, log_loss, accuracy, f1 (classification)";
}

int
metric_list_for_task(Task task, const MetricDef **out, int max_out)
{
	int			n = 0;

	for (size_t i = 0; i < lengthof(metrics) && n < max_out; i++)
	{
		if (metrics[i].task == task)
			out[n++] = &metrics[i];
	}
	return n;
}

static int
argmax(const double *p, int k)
{
	int			best = 0;

	for (int c = 1; c < k; c++)
	{
		if (p[c] > p[best])
			best = c;
	}
	return best;
}

typedef struct ScoredRow
{
	double		score;
	bool		positive;
} ScoredRow;

static int
compare_scored(const void *a, const void *b)
{
	double		x = ((const ScoredRow *) a)->score;
	double		y = ((const ScoredRow *) b)->score;

	return (x > y) - (x < y);
}

/*
 * ROC AUC of class c against the rest by the rank-sum (Mann-Whitney)
 * statistic, with tied scores given their average rank. NaN with one class.
 */
static double
roc_auc_one_vs_rest(int64 n, const int *label, int n_classes, const double *pred, int c)
{
	ScoredRow  *rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ScoredRow) * n);
	double		rank_sum = 0.0;
	int64		n_pos = 0;
	double		auc;

	for (int64 i = 0; i < n; i++)
	{
		rows[i].score = pred[i * n_classes + c];
		rows[i].positive = (label[i] == c);
		n_pos += rows[i].positive;
	}
	if (n_pos == 0 || n_pos == n)
	{
		pfree(rows);
		return NAN;
	}
	CHECK_FOR_INTERRUPTS();
	qsort(rows, n, sizeof(ScoredRow), compare_scored);
	for (int64 i = 0; i < n;)
	{
		int64		j = i;
		int64		pos_in_tie = 0;

		while (j < n && rows[j].score == rows[i].score)
			pos_in_tie += rows[j++].positive;
		/* ranks i+1 .. j, average (i + 1 + j) / 2 */
		rank_sum += pos_in_tie * (i + 1 + j) / 2.0;
		i = j;
	}
	auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / ((double) n_pos * (n - n_pos));
	pfree(rows);
	return auc;
}

static double
f1_of_class(int64 n, const int *label, int n_classes, const double *pred, int c)
{
	int64		tp = 0,
				fp = 0,
				fn = 0;

	for (int64 i = 0; i < n; i++)
	{
		int			p = argmax(pred + i * n_classes, n_classes);

		tp += (p == c && label[i] == c);
		fp += (p == c && label[i] != c);
		fn += (p != c && label[i] == c);
	}
	return (tp == 0) ? 0.0 : 2.0 * tp / (2.0 * tp + fp + fn);
}

/* Macro average over the classes present in the labels. */
static double
macro_average(double (*per_class) (int64, const int *, int, const double *, int),
			  int64 n, const int *label, int n_classes, const double *pred)
{
	bool	   *present = palloc0(sizeof(bool) * n_classes);
	double		sum = 0.0;
	int			count = 0;

	for (int64 i = 0; i < n; i++)
		present[label[i]] = true;
	for (int c = 0; c < n_classes; c++)
	{
		double		v;

		if (!present[c])
			continue;
		v = per_class(n, label, n_classes, pred, c);
		if (isnan(v))
			continue;
		sum += v;
		count++;
	}
	pfree(present);
	return count > 0 ? sum / count : NAN;
}

double
metric_compute(MetricId id, int64 n, const double *y, const int *label,
			   int n_classes, const double *pred)
{
	double		sum = 0.0;

	if (n <= 0)
		return NAN;
	switch (id)
	{
		case METRIC_RMSE:
			for (int64 i = 0; i < n; i++)
				sum += (pred[i] - y[i]) * (pred[i] - y[i]);
			return sqrt(sum / n);
		case METRIC_MAE:
			for (int64 i = 0; i < n; i++)
				sum += fabs(pred[i] - y[i]);
			return sum / n;
		case METRIC_R2:
			{
				double		mean = 0.0;
				double		total = 0.0;

				for (int64 i = 0; i < n; i++)
					mean += y[i];
				mean /= n;
				for (int64 i = 0; i < n; i++)
				{
					sum += (pred[i] - y[i]) * (pred[i] - y[i]);
					total += (y[i] - mean) * (y[i] - mean);
				}
				return total > 0 ? 1.0 - sum / total : NAN;
			}
		case METRIC_MAPE:
			{
				/* mean |error| / |truth| over rows whose truth is not zero, as a fraction */
				int64		counted = 0;

				for (int64 i = 0; i < n; i++)
				{
					if (y[i] != 0.0)
					{
						sum += fabs(pred[i] - y[i]) / fabs(y[i]);
						counted++;
					}
				}
				return counted > 0 ? sum / counted : NAN;
			}
		case METRIC_ACCURACY:
			for (int64 i = 0; i < n; i++)
				sum += (argmax(pred + i * n_classes, n_classes) == label[i]);
			return sum / n;
		case METRIC_F1:
			/* binary: F1 of the positive (second) class; multiclass: macro F1 */
			if (n_classes == 2)
				return f1_of_class(n, label, n_classes, pred, 1);
			return macro_average(f1_of_class, n, label, n_classes, pred);
		case METRIC_ROC_AUC:
			if (n_classes == 2)
				return roc_auc_one_vs_rest(n, label, n_classes, pred, 1);
			return macro_average(roc_auc_one_vs_rest, n, label, n_classes, pred);
		case METRIC_LOG_LOSS:
			for (int64 i = 0; i < n; i++)
			{
				double		p = pred[i * n_classes + label[i]];

				sum -= log(Min(Max(p, 1e-15), 1.0 - 1e-15));
			}
			return sum / n;
	}
	return NAN;
}
