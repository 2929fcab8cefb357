/*
 * scores.c: metrics, curves and tables from scored rows.
 *
 * Definitions follow scikit-learn's where it has one (the regression tests
 * compare with it): average precision for the area under the
 * precision-recall curve, macro averages over the classes present in the
 * truth or the predictions for precision, recall and F1, balanced accuracy
 * as the mean recall over the classes present in the truth. The expected
 * calibration error bins the positive class's probability in ten equal
 * bins for two classes, and the top class's probability (its confidence)
 * for more, as Guo et al. (2017).
 */
#include "postgres.h"

#include <math.h>

#include "evaluate/evaluate.h"
#include "miscadmin.h"
#include "search/search.h"

#define LOG_LOSS_CLIP 1e-15

/*
 * The reliability bin of a probability: the number of inner edges k / 10
 * below it, so that a probability on an edge falls in the lower bin, as
 * scikit-learn's calibration_curve places it (edges computed as it does).
 */
static int
probability_bin(double p)
{
	int			bin = 0;

	for (int k = 1; k < SCORES_CALIBRATION_BINS; k++)
		bin += (k * (1.0 / SCORES_CALIBRATION_BINS)) < p;
	return bin;
}

int
scores_predicted_class(const ScoredRows *s, int64 i)
{
	const double *p = s->pred + i * s->n_classes;
	int			best = 0;

	for (int k = 1; k < s->n_classes; k++)
	{
		if (p[k] > p[best])
			best = k;
	}
	return best;
}

/* ---- ranking by one class's probability ---- */

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

/* s's rows ranked by class k's probability, highest first; *n_pos gets the positives. */
static Ranked *
rank_rows(const ScoredRows *s, int k, int64 *n_pos)
{
	Ranked	   *r = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Ranked) * Max(s->n, 1));

	*n_pos = 0;
	for (int64 i = 0; i < s->n; i++)
	{
		r[i].score = scores_probability(s, i, k);
		r[i].row = i;
		r[i].positive = s->label[i] == k;
		*n_pos += r[i].positive;
	}
	CHECK_FOR_INTERRUPTS();
	qsort(r, s->n, sizeof(Ranked), compare_ranked_desc);
	return r;
}

/*
 * The cumulative true and false positives at each distinct score, highest
 * first (scikit-learn's _binary_clf_curve): threshold[t], tps[t], fps[t].
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

static ThresholdCounts
threshold_counts(const ScoredRows *s, int k)
{
	ThresholdCounts c;
	Ranked	   *r = rank_rows(s, k, &c.n_pos);
	int64		tp = 0,
				fp = 0;

	c.n_neg = s->n - c.n_pos;
	c.threshold = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(s->n, 1));
	c.tps = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(s->n, 1));
	c.fps = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(s->n, 1));
	c.n = 0;
	for (int64 i = 0; i < s->n; i++)
	{
		tp += r[i].positive;
		fp += !r[i].positive;
		if (i + 1 == s->n || r[i + 1].score != r[i].score)
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

static void
threshold_counts_free(ThresholdCounts *c)
{
	pfree(c->threshold);
	pfree(c->tps);
	pfree(c->fps);
}

/* Area under the ROC curve by the trapezoidal rule; NaN with one class. */
static double
roc_auc_of(const ScoredRows *s, int k)
{
	ThresholdCounts c = threshold_counts(s, k);
	double		area = 0.0;
	double		prev_tpr = 0.0,
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

/* Average precision: sum over thresholds of (recall gained) x precision; NaN without positives. */
static double
average_precision_of(const ScoredRows *s, int k)
{
	ThresholdCounts c = threshold_counts(s, k);
	double		ap = 0.0;
	double		prev_recall = 0.0;

	if (c.n_pos == 0)
	{
		threshold_counts_free(&c);
		return NAN;
	}
	for (int64 t = 0; t < c.n; t++)
	{
		double		recall = (double) c.tps[t] / c.n_pos;
		double		precision = (double) c.tps[t] / (c.tps[t] + c.fps[t]);

		ap += (recall - prev_recall) * precision;
		prev_recall = recall;
	}
	threshold_counts_free(&c);
	return ap;
}

/* Mean over the classes flagged in use (skipping NaN); NaN when none. */
static double
macro_mean(const double *per_class, const bool *use, int n_classes)
{
	double		sum = 0.0;
	int			count = 0;

	for (int k = 0; k < n_classes; k++)
	{
		if (use[k] && !isnan(per_class[k]))
		{
			sum += per_class[k];
			count++;
		}
	}
	return count > 0 ? sum / count : NAN;
}

static int
classification_metrics(const ScoredRows *s, MetricValue *out)
{
	int			K = s->n_classes;
	int64	   *tp = palloc0(sizeof(int64) * K);
	int64	   *in_truth = palloc0(sizeof(int64) * K);
	int64	   *in_pred = palloc0(sizeof(int64) * K);
	double	   *precision = palloc(sizeof(double) * K);
	double	   *recall = palloc(sizeof(double) * K);
	double	   *f1 = palloc(sizeof(double) * K);
	double	   *auc = palloc(sizeof(double) * K);
	double	   *ap = palloc(sizeof(double) * K);
	bool	   *truth_present = palloc0(sizeof(bool) * K);
	bool	   *either_present = palloc0(sizeof(bool) * K);
	double		correct = 0.0,
				log_loss = 0.0,
				brier = 0.0,
				ece = 0.0;
	double		bin_conf[SCORES_CALIBRATION_BINS] = {0},
				bin_hit[SCORES_CALIBRATION_BINS] = {0},
				bin_rows[SCORES_CALIBRATION_BINS] = {0};
	int			n = 0;

	for (int64 i = 0; i < s->n; i++)
	{
		const double *p = s->pred + i * K;
		int			truth = s->label[i];
		int			guess = scores_predicted_class(s, i);
		double		conf;
		bool		hit;
		int			bin;

		in_truth[truth]++;
		in_pred[guess]++;
		if (guess == truth)
		{
			tp[truth]++;
			correct += 1.0;
		}
		log_loss -= log(Min(Max(p[truth], LOG_LOSS_CLIP), 1.0 - LOG_LOSS_CLIP));
		if (K == 2)
			brier += (p[1] - (truth == 1)) * (p[1] - (truth == 1));
		else
			for (int k = 0; k < K; k++)
				brier += (p[k] - (truth == k)) * (p[k] - (truth == k));

		/* reliability: the positive class's probability, or the top class's confidence */
		conf = K == 2 ? p[1] : p[guess];
		hit = K == 2 ? truth == 1 : guess == truth;
		bin = probability_bin(conf);
		bin_conf[bin] += conf;
		bin_hit[bin] += hit;
		bin_rows[bin] += 1.0;
	}
	for (int b = 0; b < SCORES_CALIBRATION_BINS; b++)
	{
		if (bin_rows[b] > 0)
			ece += fabs(bin_conf[b] - bin_hit[b]) / s->n;
	}

	for (int k = 0; k < K; k++)
	{
		truth_present[k] = in_truth[k] > 0;
		either_present[k] = in_truth[k] > 0 || in_pred[k] > 0;
		precision[k] = in_pred[k] > 0 ? (double) tp[k] / in_pred[k] : 0.0;
		recall[k] = in_truth[k] > 0 ? (double) tp[k] / in_truth[k] : 0.0;
		f1[k] = (in_pred[k] + in_truth[k]) > 0 ? 2.0 * tp[k] / (in_pred[k] + in_truth[k]) : 0.0;
		auc[k] = (K == 2 && k == 0) ? NAN : roc_auc_of(s, k);
		ap[k] = (K == 2 && k == 0) ? NAN : average_precision_of(s, k);
	}

	out[n++] = (MetricValue) {"accuracy", correct / s->n, 1};
	out[n++] = (MetricValue) {"balanced_accuracy", macro_mean(recall, truth_present, K), 1};
	if (K == 2)
	{
		out[n++] = (MetricValue) {"precision", precision[1], 1};
		out[n++] = (MetricValue) {"recall", recall[1], 1};
		out[n++] = (MetricValue) {"f1", f1[1], 1};
		out[n++] = (MetricValue) {"roc_auc", auc[1], 1};
		out[n++] = (MetricValue) {"pr_auc", ap[1], 1};
	}
	else
	{
		out[n++] = (MetricValue) {"precision", macro_mean(precision, either_present, K), 1};
		out[n++] = (MetricValue) {"recall", macro_mean(recall, either_present, K), 1};
		out[n++] = (MetricValue) {"f1", macro_mean(f1, either_present, K), 1};
		out[n++] = (MetricValue) {"roc_auc", macro_mean(auc, truth_present, K), 1};
		out[n++] = (MetricValue) {"pr_auc", macro_mean(ap, truth_present, K), 1};
	}
	out[n++] = (MetricValue) {"log_loss", log_loss / s->n, -1};
	out[n++] = (MetricValue) {"brier", brier / s->n, -1};
	out[n++] = (MetricValue) {"ece", ece, -1};
	return n;
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
compare_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static int
regression_metrics(const ScoredRows *s, MetricValue *out)
{
	static const double qs[] = {0.05, 0.25, 0.5, 0.75, 0.95};
	static const char *const q_names[] = {"residual_p05", "residual_p25", "residual_p50",
	"residual_p75", "residual_p95"};
	double	   *residual = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * s->n);
	int			n = 0;

	out[n++] = (MetricValue) {"rmse", metric_compute(METRIC_RMSE, s->n, s->y, NULL, 0, s->pred), -1};
	out[n++] = (MetricValue) {"mae", metric_compute(METRIC_MAE, s->n, s->y, NULL, 0, s->pred), -1};
	out[n++] = (MetricValue) {"r2", metric_compute(METRIC_R2, s->n, s->y, NULL, 0, s->pred), 1};
	out[n++] = (MetricValue) {"mape", metric_compute(METRIC_MAPE, s->n, s->y, NULL, 0, s->pred), -1};
	for (int64 i = 0; i < s->n; i++)
		residual[i] = s->y[i] - s->pred[i];
	qsort(residual, s->n, sizeof(double), compare_double);
	for (int q = 0; q < lengthof(qs); q++)
		out[n++] = (MetricValue) {q_names[q], quantile_sorted(residual, s->n, qs[q]), 0};
	pfree(residual);
	return n;
}

/* s restricted to the given rows, copied so that the figures run over contiguous arrays. */
static ScoredRows
subset(const ScoredRows *s, const int64 *rows, int64 n_rows)
{
	ScoredRows	sub = *s;
	int			width = s->classification ? s->n_classes : 1;

	sub.n = n_rows;
	sub.pred = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n_rows, 1) * width);
	if (s->classification)
		sub.label = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * Max(n_rows, 1));
	else
		sub.y = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n_rows, 1));
	for (int64 i = 0; i < n_rows; i++)
	{
		memcpy(sub.pred + i * width, s->pred + rows[i] * width, sizeof(double) * width);
		if (s->classification)
			sub.label[i] = s->label[rows[i]];
		else
			sub.y[i] = s->y[rows[i]];
	}
	return sub;
}

static int
metrics_of(const ScoredRows *s, MetricValue *out)
{
	if (s->n == 0)
		return 0;
	return s->classification ? classification_metrics(s, out) : regression_metrics(s, out);
}

int
scores_metrics(const ScoredRows *s, const int64 *rows, int64 n_rows, MetricValue *out)
{
	ScoredRows	sub;
	int			n;

	if (rows == NULL)
		return metrics_of(s, out);
	sub = subset(s, rows, n_rows);
	n = metrics_of(&sub, out);
	pfree(sub.pred);
	if (sub.label)
		pfree(sub.label);
	if (sub.y)
		pfree(sub.y);
	return n;
}


/* ---- curves and tables ---- */

int64
scores_roc_curve(const ScoredRows *s, int k, CurvePoint **points)
{
	ThresholdCounts c = threshold_counts(s, k);
	CurvePoint *pt = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(CurvePoint) * (c.n + 1));

	pt[0] = (CurvePoint) {INFINITY, 0.0, 0.0};
	for (int64 t = 0; t < c.n; t++)
	{
		pt[t + 1].threshold = c.threshold[t];
		pt[t + 1].x = c.n_neg > 0 ? (double) c.fps[t] / c.n_neg : NAN;
		pt[t + 1].y = c.n_pos > 0 ? (double) c.tps[t] / c.n_pos : NAN;
	}
	*points = pt;
	threshold_counts_free(&c);
	return c.n + 1;
}

int64
scores_pr_curve(const ScoredRows *s, int k, CurvePoint **points)
{
	ThresholdCounts c = threshold_counts(s, k);
	CurvePoint *pt = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(CurvePoint) * (c.n + 1));

	pt[0] = (CurvePoint) {NAN, 0.0, 1.0};
	for (int64 t = 0; t < c.n; t++)
	{
		pt[t + 1].threshold = c.threshold[t];
		pt[t + 1].x = c.n_pos > 0 ? (double) c.tps[t] / c.n_pos : 1.0;
		pt[t + 1].y = (double) c.tps[t] / (c.tps[t] + c.fps[t]);
	}
	*points = pt;
	threshold_counts_free(&c);
	return c.n + 1;
}

void
scores_calibration_bins(const ScoredRows *s, int k, CalibrationBin *bins)
{
	double		sum_p[SCORES_CALIBRATION_BINS] = {0},
				hits[SCORES_CALIBRATION_BINS] = {0};

	for (int b = 0; b < SCORES_CALIBRATION_BINS; b++)
	{
		bins[b].lower = (double) b / SCORES_CALIBRATION_BINS;
		bins[b].upper = (double) (b + 1) / SCORES_CALIBRATION_BINS;
		bins[b].rows = 0;
	}
	for (int64 i = 0; i < s->n; i++)
	{
		double		p = scores_probability(s, i, k);
		int			b = probability_bin(p);

		sum_p[b] += p;
		hits[b] += s->label[i] == k;
		bins[b].rows++;
	}
	for (int b = 0; b < SCORES_CALIBRATION_BINS; b++)
	{
		bins[b].mean_predicted = bins[b].rows > 0 ? sum_p[b] / bins[b].rows : NAN;
		bins[b].fraction_positive = bins[b].rows > 0 ? hits[b] / bins[b].rows : NAN;
	}
}

void
scores_lift_buckets(const ScoredRows *s, int k, LiftBucket *buckets)
{
	int64		n_pos;
	Ranked	   *r = rank_rows(s, k, &n_pos);

	for (int g = 0; g < SCORES_LIFT_BUCKETS; g++)
	{
		int64		from = g * s->n / SCORES_LIFT_BUCKETS;
		int64		to = (g + 1) * s->n / SCORES_LIFT_BUCKETS;

		buckets[g].rows = to - from;
		buckets[g].positives = 0;
		buckets[g].max_score = to > from ? r[from].score : NAN;
		buckets[g].min_score = to > from ? r[to - 1].score : NAN;
		for (int64 i = from; i < to; i++)
			buckets[g].positives += r[i].positive;
	}
	pfree(r);
}
