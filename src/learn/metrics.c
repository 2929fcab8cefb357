/*
 * metrics.c: every metric, once (definitions in metrics.h).
 */
#include "postgres.h"

#include <math.h>

#include "learn/metrics.h"
#include "miscadmin.h"

#define LOG_LOSS_CLIP 1e-15
#define ECE_BINS 10

static const MetricDef metrics[] = {
	{METRIC_RMSE, "rmse", TASK_REGRESSION, false, true},
	{METRIC_MAE, "mae", TASK_REGRESSION, false, true},
	{METRIC_R2, "r2", TASK_REGRESSION, true, true},
	{METRIC_MAPE, "mape", TASK_REGRESSION, false, true},
	{METRIC_ROC_AUC, "roc_auc", TASK_CLASSIFICATION, true, true},
	{METRIC_LOG_LOSS, "log_loss", TASK_CLASSIFICATION, false, true},
	{METRIC_ACCURACY, "accuracy", TASK_CLASSIFICATION, true, true},
	{METRIC_F1, "f1", TASK_CLASSIFICATION, true, true},
	{METRIC_BALANCED_ACCURACY, "balanced_accuracy", TASK_CLASSIFICATION, true, false},
	{METRIC_PRECISION, "precision", TASK_CLASSIFICATION, true, false},
	{METRIC_RECALL, "recall", TASK_CLASSIFICATION, true, false},
	{METRIC_PR_AUC, "pr_auc", TASK_CLASSIFICATION, true, false},
	{METRIC_BRIER, "brier", TASK_CLASSIFICATION, false, false},
	{METRIC_ECE, "ece", TASK_CLASSIFICATION, false, false},
};

const MetricDef *
metric_lookup(const char *name)
{
	for (size_t i = 0; i < lengthof(metrics); i++)
	{
		if (strcmp(metrics[i].name, name) == 0)
			return &metrics[i];
	}
	return NULL;
}

const MetricDef *
metric_find(const char *name)
{
	const MetricDef *m = metric_lookup(name);

	return m != NULL && m->searchable ? m : NULL;
}

const MetricDef *
metric_get(MetricId id)
{
	for (size_t i = 0; i < lengthof(metrics); i++)
	{
		if (metrics[i].id == id)
			return &metrics[i];
	}
	elog(ERROR, "unknown metric %d", (int) id);
	return NULL;				/* keep the compiler quiet */
}

const MetricDef *
metric_default(Task task, int n_classes)
{
	if (task == TASK_REGRESSION)
		return metric_get(METRIC_RMSE);
	return metric_get(n_classes == 2 ? METRIC_ROC_AUC : METRIC_LOG_LOSS);
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
		if (metrics[i].task == task && metrics[i].searchable)
			out[n++] = &metrics[i];
	}
	return n;
}

/* ---- predictions ---- */

Predictions
predictions_alloc(int64 n, int n_classes)
{
	Predictions p = {0};

	p.n = n;
	p.n_classes = n_classes;
	p.pred = MemoryContextAllocHuge(CurrentMemoryContext,
									sizeof(double) * Max(n, 1) * predictions_width(&p));
	if (n_classes > 0)
		p.label = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * Max(n, 1));
	else
		p.y = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
	return p;
}

Predictions
predictions_subset(const Predictions *p, const int64 *rows, int64 n_rows)
{
	Predictions sub = predictions_alloc(n_rows, p->n_classes);
	int			width = predictions_width(p);

	for (int64 i = 0; i < n_rows; i++)
	{
		memcpy(sub.pred + i * width, p->pred + rows[i] * width, sizeof(double) * width);
		if (p->n_classes > 0)
			sub.label[i] = p->label[rows[i]];
		else
			sub.y[i] = p->y[rows[i]];
	}
	return sub;
}

Predictions
predictions_slice(const Predictions *p, int64 from, int64 n)
{
	Predictions s = *p;

	s.n = n;
	s.pred = p->pred + from * predictions_width(p);
	s.y = p->y ? p->y + from : NULL;
	s.label = p->label ? p->label + from : NULL;
	return s;
}

void
predictions_free(Predictions *p)
{
	if (p->pred)
		pfree(p->pred);
	if (p->y)
		pfree(p->y);
	if (p->label)
		pfree(p->label);
	p->pred = NULL;
	p->y = NULL;
	p->label = NULL;
}

int
predictions_class(const Predictions *p, int64 i)
{
	const double *row = p->pred + i * p->n_classes;
	int			best = 0;

	for (int k = 1; k < p->n_classes; k++)
	{
		if (row[k] > row[best])
			best = k;
	}
	return best;
}

/* ---- regression ---- */

static double
regression_metric(MetricId id, const Predictions *p)
{
	const double *y = p->y,
			   *f = p->pred;
	double		sum = 0.0;
	int64		n = p->n;

	switch (id)
	{
		case METRIC_RMSE:
			for (int64 i = 0; i < n; i++)
				sum += (f[i] - y[i]) * (f[i] - y[i]);
			return sqrt(sum / n);
		case METRIC_MAE:
			for (int64 i = 0; i < n; i++)
				sum += fabs(f[i] - y[i]);
			return sum / n;
		case METRIC_R2:
			{
				double		mean = 0.0,
							total = 0.0;

				for (int64 i = 0; i < n; i++)
					mean += y[i];
				mean /= n;
				for (int64 i = 0; i < n; i++)
				{
					sum += (f[i] - y[i]) * (f[i] - y[i]);
					total += (y[i] - mean) * (y[i] - mean);
				}
				return total > 0 ? 1.0 - sum / total : NAN;
			}
		case METRIC_MAPE:
			{
				int64		counted = 0;

				for (int64 i = 0; i < n; i++)
				{
					if (y[i] != 0.0)
					{
						sum += fabs(f[i] - y[i]) / fabs(y[i]);
						counted++;
					}
				}
				return counted > 0 ? sum / counted : NAN;
			}
		default:
			return NAN;
	}
}

/* ---- classification ---- */

/* Per class: rows predicted right, rows of that truth, rows predicted as it. */
typedef struct ClassCounts
{
	int64	   *correct;
	int64	   *in_truth;
	int64	   *in_pred;
} ClassCounts;

static ClassCounts
class_counts(const Predictions *p)
{
	ClassCounts c;

	c.correct = palloc0(sizeof(int64) * p->n_classes);
	c.in_truth = palloc0(sizeof(int64) * p->n_classes);
	c.in_pred = palloc0(sizeof(int64) * p->n_classes);
	for (int64 i = 0; i < p->n; i++)
	{
		int			guess = predictions_class(p, i);

		c.in_truth[p->label[i]]++;
		c.in_pred[guess]++;
		c.correct[guess] += guess == p->label[i];
	}
	return c;
}

static void
class_counts_free(ClassCounts *c)
{
	pfree(c->correct);
	pfree(c->in_truth);
	pfree(c->in_pred);
}

static double
class_precision(const ClassCounts *c, int k)
{
	return c->in_pred[k] > 0 ? (double) c->correct[k] / c->in_pred[k] : 0.0;
}

static double
class_recall(const ClassCounts *c, int k)
{
	return c->in_truth[k] > 0 ? (double) c->correct[k] / c->in_truth[k] : 0.0;
}

static double
class_f1(const ClassCounts *c, int k)
{
	int64		denominator = c->in_pred[k] + c->in_truth[k];

	return denominator > 0 ? 2.0 * c->correct[k] / denominator : 0.0;
}

/*
 * Precision, recall or F1: of the positive class for two classes, else the
 * macro average over the classes in the truth or the predictions
 * (scikit-learn's average='macro' over unique_labels(y_true, y_pred)).
 */
static double
averaged(const Predictions *p, double (*per_class) (const ClassCounts *, int))
{
	ClassCounts c = class_counts(p);
	double		sum = 0.0;
	int			count = 0;

	if (p->n_classes == 2)
		sum = per_class(&c, 1), count = 1;
	else
	{
		for (int k = 0; k < p->n_classes; k++)
		{
			if (c.in_truth[k] > 0 || c.in_pred[k] > 0)
			{
				sum += per_class(&c, k);
				count++;
			}
		}
	}
	class_counts_free(&c);
	return count > 0 ? sum / count : NAN;
}

static double
accuracy_of(const Predictions *p)
{
	int64		correct = 0;

	for (int64 i = 0; i < p->n; i++)
		correct += predictions_class(p, i) == p->label[i];
	return (double) correct / p->n;
}

static double
balanced_accuracy_of(const Predictions *p)
{
	ClassCounts c = class_counts(p);
	double		sum = 0.0;
	int			count = 0;

	for (int k = 0; k < p->n_classes; k++)
	{
		if (c.in_truth[k] > 0)
		{
			sum += class_recall(&c, k);
			count++;
		}
	}
	class_counts_free(&c);
	return count > 0 ? sum / count : NAN;
}

typedef struct Ranked
{
	double		score;
	int64		row;			/* position among the rows, for stable ties */
	bool		positive;
} Ranked;

static int
compare_ranked_desc(const void *a, const void *b)
{
	const Ranked *x = a,
			   *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->row > y->row) - (x->row < y->row);
}

/* p's rows ranked by class k's probability, highest first (ties in row order). */
static Ranked *
rank_rows(const Predictions *p, int k)
{
	Ranked	   *r = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Ranked) * Max(p->n, 1));

	for (int64 i = 0; i < p->n; i++)
	{
		r[i].score = p->pred[i * p->n_classes + k];
		r[i].row = i;
		r[i].positive = p->label[i] == k;
	}
	CHECK_FOR_INTERRUPTS();
	qsort(r, p->n, sizeof(Ranked), compare_ranked_desc);
	return r;
}

int64 *
predictions_rank(const Predictions *p, int k)
{
	Ranked	   *r = rank_rows(p, k);
	int64	   *order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(p->n, 1));

	for (int64 i = 0; i < p->n; i++)
		order[i] = r[i].row;
	pfree(r);
	return order;
}

ThresholdCounts
threshold_counts(const Predictions *p, int k)
{
	ThresholdCounts c = {0};
	Ranked	   *r = rank_rows(p, k);
	int64		tp = 0,
				fp = 0;

	for (int64 i = 0; i < p->n; i++)
		c.n_pos += r[i].positive;
	c.n_neg = p->n - c.n_pos;
	c.threshold = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(p->n, 1));
	c.tps = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(p->n, 1));
	c.fps = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(p->n, 1));
	for (int64 i = 0; i < p->n; i++)
	{
		tp += r[i].positive;
		fp += !r[i].positive;
		if (i + 1 == p->n || r[i + 1].score != r[i].score)
		{
			c.threshold[c.n] = r[i].score;
			c.tps[c.n] = tp;
			c.fps[c.n] = fp;
			c.n++;
		}
	}
	pfree(r);
	return c;
}

void
threshold_counts_free(ThresholdCounts *c)
{
	pfree(c->threshold);
	pfree(c->tps);
	pfree(c->fps);
}

/* Area under class k's ROC curve by the trapezoidal rule; NaN with one class. */
static double
roc_auc_of_class(const Predictions *p, int k)
{
	ThresholdCounts c = threshold_counts(p, k);
	double		area = 0.0,
				prev_tpr = 0.0,
				prev_fpr = 0.0;

	if (c.n_pos == 0 || c.n_neg == 0)
	{
		threshold_counts_free(&c);
		return NAN;
	}
	for (int64 t = 0; t < c.n; t++)
	{
		double		tpr = (double) c.tps[t] / c.n_pos;
		double		fpr = (double) c.fps[t] / c.n_neg;

		area += (fpr - prev_fpr) * (tpr + prev_tpr) / 2.0;
		prev_tpr = tpr;
		prev_fpr = fpr;
	}
	threshold_counts_free(&c);
	return area;
}

/* Average precision of class k: recall gained times precision, summed; NaN without positives. */
static double
average_precision_of_class(const Predictions *p, int k)
{
	ThresholdCounts c = threshold_counts(p, k);
	double		ap = 0.0,
				prev_recall = 0.0;

	if (c.n_pos == 0)
	{
		threshold_counts_free(&c);
		return NAN;
	}
	for (int64 t = 0; t < c.n; t++)
	{
		double		recall = (double) c.tps[t] / c.n_pos;

		ap += (recall - prev_recall) * (double) c.tps[t] / (c.tps[t] + c.fps[t]);
		prev_recall = recall;
	}
	threshold_counts_free(&c);
	return ap;
}

/* Class 1's for two classes, else the macro mean over the classes in the truth (skipping NaN). */
static double
one_vs_rest(const Predictions *p, double (*of_class) (const Predictions *, int))
{
	bool	   *present;
	double		sum = 0.0;
	int			count = 0;

	if (p->n_classes == 2)
		return of_class(p, 1);
	present = palloc0(sizeof(bool) * p->n_classes);
	for (int64 i = 0; i < p->n; i++)
		present[p->label[i]] = true;
	for (int k = 0; k < p->n_classes; k++)
	{
		double		v;

		if (!present[k])
			continue;
		v = of_class(p, k);
		if (!isnan(v))
		{
			sum += v;
			count++;
		}
	}
	pfree(present);
	return count > 0 ? sum / count : NAN;
}

static double
log_loss_of(const Predictions *p)
{
	double		sum = 0.0;

	for (int64 i = 0; i < p->n; i++)
	{
		double		q = p->pred[i * p->n_classes + p->label[i]];

		sum -= log(Min(Max(q, LOG_LOSS_CLIP), 1.0 - LOG_LOSS_CLIP));
	}
	return sum / p->n;
}

static double
brier_of(const Predictions *p)
{
	int			K = p->n_classes;
	double		sum = 0.0;

	for (int64 i = 0; i < p->n; i++)
	{
		const double *q = p->pred + i * K;

		if (K == 2)
			sum += (q[1] - (p->label[i] == 1)) * (q[1] - (p->label[i] == 1));
		else
			for (int k = 0; k < K; k++)
				sum += (q[k] - (p->label[i] == k)) * (q[k] - (p->label[i] == k));
	}
	return sum / p->n;
}

int
probability_bin(double p, int nbins)
{
	int			bin = 0;

	/* edges k / nbins computed as scikit-learn's calibration_curve does */
	for (int k = 1; k < nbins; k++)
		bin += (k * (1.0 / nbins)) < p;
	return bin;
}

static double
ece_of(const Predictions *p)
{
	int			K = p->n_classes;
	double		conf_sum[ECE_BINS] = {0},
				hit_sum[ECE_BINS] = {0};
	double		ece = 0.0;

	for (int64 i = 0; i < p->n; i++)
	{
		const double *q = p->pred + i * K;
		int			guess = predictions_class(p, i);
		double		conf = K == 2 ? q[1] : q[guess];
		bool		hit = K == 2 ? p->label[i] == 1 : guess == p->label[i];
		int			bin = probability_bin(conf, ECE_BINS);

		conf_sum[bin] += conf;
		hit_sum[bin] += hit;
	}
	for (int b = 0; b < ECE_BINS; b++)
		ece += fabs(conf_sum[b] - hit_sum[b]) / p->n;
	return ece;
}

double
metric_value(MetricId id, const Predictions *p)
{
	if (p->n <= 0)
		return NAN;
	if (p->n_classes == 0)
		return regression_metric(id, p);
	switch (id)
	{
		case METRIC_ACCURACY:
			return accuracy_of(p);
		case METRIC_BALANCED_ACCURACY:
			return balanced_accuracy_of(p);
		case METRIC_PRECISION:
			return averaged(p, class_precision);
		case METRIC_RECALL:
			return averaged(p, class_recall);
		case METRIC_F1:
			return averaged(p, class_f1);
		case METRIC_ROC_AUC:
			return one_vs_rest(p, roc_auc_of_class);
		case METRIC_PR_AUC:
			return one_vs_rest(p, average_precision_of_class);
		case METRIC_LOG_LOSS:
			return log_loss_of(p);
		case METRIC_BRIER:
			return brier_of(p);
		case METRIC_ECE:
			return ece_of(p);
		default:
			return NAN;
	}
}

/* ---- the report ---- */

static int
compare_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* The q-quantile of sorted values, interpolating linearly (numpy's default). */
static double
quantile_sorted(const double *sorted, int64 n, double q)
{
	double		at = q * (n - 1);
	int64		lo = (int64) floor(at);
	int64		hi = Min(lo + 1, n - 1);

	return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

static int
report_rows(const Predictions *p, MetricValue *out)
{
	static const MetricId regression[] = {METRIC_RMSE, METRIC_MAE, METRIC_R2, METRIC_MAPE};
	static const MetricId classification[] = {METRIC_ACCURACY, METRIC_BALANCED_ACCURACY,
		METRIC_PRECISION, METRIC_RECALL, METRIC_F1, METRIC_ROC_AUC, METRIC_PR_AUC,
	METRIC_LOG_LOSS, METRIC_BRIER, METRIC_ECE};
	static const double qs[] = {0.05, 0.25, 0.5, 0.75, 0.95};
	static const char *const q_names[] = {"residual_p05", "residual_p25", "residual_p50",
	"residual_p75", "residual_p95"};
	const MetricId *ids = p->n_classes > 0 ? classification : regression;
	int			n_ids = p->n_classes > 0 ? lengthof(classification) : lengthof(regression);
	int			n = 0;
	double	   *residual;

	if (p->n == 0)
		return 0;
	for (int m = 0; m < n_ids; m++)
	{
		const MetricDef *def = metric_get(ids[m]);

		out[n++] = (MetricValue) {def->name, metric_value(ids[m], p), def->higher_is_better ? 1 : -1};
	}
	if (p->n_classes > 0)
		return n;
	residual = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * p->n);
	for (int64 i = 0; i < p->n; i++)
		residual[i] = p->y[i] - p->pred[i];
	qsort(residual, p->n, sizeof(double), compare_double);
	for (int q = 0; q < lengthof(qs); q++)
		out[n++] = (MetricValue) {q_names[q], quantile_sorted(residual, p->n, qs[q]), 0};
	pfree(residual);
	return n;
}

int
metrics_report(const Predictions *p, const int64 *rows, int64 n_rows, MetricValue *out)
{
	Predictions sub;
	int			n;

	if (rows == NULL)
		return report_rows(p, out);
	sub = predictions_subset(p, rows, n_rows);
	n = report_rows(&sub, out);
	predictions_free(&sub);
	return n;
}
