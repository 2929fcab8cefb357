/*
 * importance.c: permutation importance (Breiman 2001; scikit-learn's
 * permutation_importance): the rise in a metric's loss when one column's
 * values are shuffled among the scored rows, mean and standard deviation
 * over repeats with seeded shuffles. Training measures it on validation
 * rows, automl_feature_importance on a labelled relation.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "search/search.h"

/* Swaps the values of two frame rows in one column. */
static void
swap_rows(FrameColumn *col, int64 a, int64 b)
{
	if (col->values)
	{
		double		t = col->values[a];

		col->values[a] = col->values[b];
		col->values[b] = t;
	}
	else
	{
		int32		t = col->codes[a];

		col->codes[a] = col->codes[b];
		col->codes[b] = t;
	}
}

static void
set_row(FrameColumn *col, int64 row, double v)
{
	if (col->values)
		col->values[row] = v;
	else
		col->codes[row] = (int32) v;
}

bool
permutation_importance(const TrainingData *td, const Model *model, const int *binding,
					   const Predictions *scored, const int64 *rows, const MetricDef *metric,
					   int repeats, double deadline, double *mean, double *std)
{
	int			C = model->prep->n_columns;
	int64		n = scored->n;
	Predictions shuffled = *scored;
	double	   *saved = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
	double	   *drops = palloc(sizeof(double) * repeats);
	double		base = metric_loss(metric, metric_score(metric, scored));

	shuffled.pred = MemoryContextAllocHuge(CurrentMemoryContext,
										   sizeof(double) * Max(n, 1) * predictions_width(scored));
	for (int c = 0; c < C; c++)
	{
		FrameColumn *col = &td->frame->columns[binding[c]];
		pg_prng_state rng;
		double		var = 0.0;

		if (deadline > 0 && seconds_now() >= deadline)
			return false;
		mean[c] = 0.0;
		pg_prng_seed(&rng, 42 + c);	/* see common/seed.h */
		for (int64 i = 0; i < n; i++)
			saved[i] = col->values ? col->values[rows[i]] : (double) col->codes[rows[i]];
		for (int r = 0; r < repeats; r++)
		{
			/* a seeded Fisher-Yates shuffle of the column among the scored rows */
			for (int64 i = 0; i < n; i++)
				set_row(col, rows[i], saved[i]);
			for (int64 i = n - 1; i > 0; i--)
				swap_rows(col, rows[i], rows[(int64) pg_prng_uint64_range(&rng, 0, (uint64) i)]);
			CHECK_FOR_INTERRUPTS();
			predict_rows(td, model, binding, rows, n, shuffled.pred);
			drops[r] = metric_loss(metric, metric_score(metric, &shuffled)) - base;
			mean[c] += drops[r] / repeats;
		}
		for (int r = 0; r < repeats; r++)
			var += (drops[r] - mean[c]) * (drops[r] - mean[c]) / repeats;
		std[c] = sqrt(var);
		/* put the column back */
		for (int64 i = 0; i < n; i++)
			set_row(col, rows[i], saved[i]);
	}
	pfree(shuffled.pred);
	pfree(saved);
	pfree(drops);
	return true;
}
