/*
 * leakage.c: checks against the target that a careful analyst would make
 * before trusting a model: a column that alone predicts the target almost
 * perfectly (leakage), and too few rows for the number of inputs.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "search/search.h"

#define LEAKAGE_THRESHOLD 0.99
#define MIN_ROWS_PER_INPUT 10
#define AUC_SAMPLE 100000			/* rows ranked for a column's ROC AUC, at most */

/*
 * ROC AUC of a numeric column against a binary target (0.5 = no signal), on
 * an evenly spaced sample of at most AUC_SAMPLE rows: enough to tell 0.99.
 */
static double
single_column_auc(const FrameColumn *col, const int *label, int64 n)
{
	int64		stride = Max(1, n / AUC_SAMPLE);
	Predictions p = predictions_alloc(n / stride + 1, 2);
	double		auc;

	p.n = 0;
	for (int64 i = 0; i < n; i += stride)
	{
		if (isnan(col->values[i]))
			continue;
		p.pred[p.n * 2] = 0.0;	/* unused: AUC ranks by the second class's column */
		p.pred[p.n * 2 + 1] = col->values[i];
		p.label[p.n] = label[i];
		p.n++;
	}
	auc = metric_value(METRIC_ROC_AUC, &p);
	predictions_free(&p);
	return isnan(auc) ? 0.5 : auc;
}

/* Pearson correlation of a numeric column with a numeric target. */
static double
single_column_correlation(const FrameColumn *col, const double *y, int64 n)
{
	double		sx = 0,
				sy = 0,
				sxx = 0,
				syy = 0,
				sxy = 0;
	int64		m = 0;

	for (int64 i = 0; i < n; i++)
	{
		double		x = col->values[i];

		if (isnan(x))
			continue;
		sx += x;
		sy += y[i];
		m++;
	}
	if (m < 2)
		return 0.0;
	sx /= m;
	sy /= m;
	for (int64 i = 0; i < n; i++)
	{
		double		x = col->values[i];

		if (isnan(x))
			continue;
		sxx += (x - sx) * (x - sx);
		syy += (y[i] - sy) * (y[i] - sy);
		sxy += (x - sx) * (y[i] - sy);
	}
	if (sxx <= 0 || syy <= 0)
		return 0.0;
	return sxy / sqrt(sxx * syy);
}

/*
 * How well "the usual class of this level" predicts the class: the accuracy
 * of predicting each level's majority class, over rows with a value. Levels
 * seen once are left out: they would make any identifier look perfect.
 */
static double
category_purity(const FrameColumn *col, const int *label, int n_classes, int64 n)
{
	int			n_codes = col->dict->n_values;
	int64	   *counts = MemoryContextAllocHuge(CurrentMemoryContext,
												sizeof(int64) * (Size) n_codes * n_classes);
	int64		correct = 0,
				total = 0;

	memset(counts, 0, sizeof(int64) * (Size) n_codes * n_classes);
	for (int64 i = 0; i < n; i++)
	{
		if (col->codes[i] >= 0)
			counts[(int64) col->codes[i] * n_classes + label[i]]++;
	}
	for (int c = 0; c < n_codes; c++)
	{
		int64		best = 0,
					sum = 0;

		for (int k = 0; k < n_classes; k++)
		{
			best = Max(best, counts[(int64) c * n_classes + k]);
			sum += counts[(int64) c * n_classes + k];
		}
		if (sum < 2)
			continue;
		correct += best;
		total += sum;
	}
	pfree(counts);
	return total > 0 ? (double) correct / total : 0.0;
}

void
check_target(const PrepSpec *spec, const Frame *frame, bool classification,
				  int n_classes, PrepWarnings *warnings)
{
	const TargetColumn *tc = &frame->target;
	int64		n = frame->n_rows;
	double		majority_share = 0.0;

	if (classification)
	{
		int64	   *count = palloc0(sizeof(int64) * n_classes);

		for (int64 i = 0; i < n; i++)
			count[tc->codes[i]]++;
		for (int k = 0; k < n_classes; k++)
			majority_share = Max(majority_share, (double) count[k] / n);
		pfree(count);
	}

	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];
		const FrameColumn *col = &frame->columns[pc->frame_column];
		double		strength = 0.0;
		const char *measure = NULL;

		CHECK_FOR_INTERRUPTS();
		if (col->kind != FEATURE_CATEGORICAL && classification && n_classes == 2)
		{
			double		auc = single_column_auc(col, tc->codes, n);

			strength = Max(auc, 1.0 - auc);
			measure = "ROC AUC";
		}
		else if (col->kind != FEATURE_CATEGORICAL && !classification)
		{
			strength = fabs(single_column_correlation(col, tc->values, n));
			measure = "correlation";
		}
		else if (col->kind == FEATURE_CATEGORICAL && classification)
		{
			double		purity = category_purity(col, tc->codes, n_classes, n);

			/* only meaningful when the classes are not already near-pure */
			if (majority_share < LEAKAGE_THRESHOLD)
			{
				strength = purity;
				measure = "accuracy";
			}
		}
		if (measure != NULL && strength >= LEAKAGE_THRESHOLD)
			prep_warn(warnings, WARNING, "leakage", col->name,
					  "A column that is known only after the outcome leaks the answer; exclude it if so.",
					  "column \"%s\" alone predicts the target almost perfectly (%s %.3f): possible leakage",
					  col->name, measure, strength);
	}

	if (n < (int64) MIN_ROWS_PER_INPUT * spec->n_outputs)
		prep_warn(warnings, NOTICE, "few_rows", NULL,
				  "More rows, or fewer columns (exclude), give a more reliable model.",
				  "only " INT64_FORMAT " rows for %d model inputs", n, spec->n_outputs);
}

