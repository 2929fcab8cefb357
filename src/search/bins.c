/*
 * bins.c: the training rows binned once per run for every tree fit: trials,
 * folds, the refit and the importance fit all take row subsets of one
 * BinnedData instead of preparing and binning their own rows (see TreeBins
 * in search.h).
 */
#include "postgres.h"

#include <math.h>

#include "common/budget.h"
#include "learn/tree.h"
#include "miscadmin.h"
#include "search/search.h"
#include "utils/memutils.h"

void
tree_bins_init(TrainingData *td)
{
	td->tree_bins = palloc0(sizeof(TreeBins));
	td->tree_bins->cxt = CurrentMemoryContext;
}

/* The spec for trees, fitted on every row of the frame. */
static PrepSpec *
fit_tree_spec(const TrainingData *td)
{
	PrepSpec   *spec = prep_copy_unfitted(td->features);
	int64		n = td->frame->n_rows;
	int64	   *all = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(n, 1));

	for (int64 i = 0; i < n; i++)
		all[i] = i;
	spec->for_trees = true;
	prep_fit(spec, td->frame, all, n);
	pfree(all);
	return spec;
}

/*
 * Two passes over the rows, each prepared as a model would: a sample of
 * every input for its bin edges, then every row's bins. No dense copy of the
 * prepared rows is made.
 */
static BinnedData *
bin_rows(const PrepSpec *spec, const Frame *frame)
{
	int64		n = frame->n_rows;
	int			d = spec->n_outputs;
	int64		stride = Max(1, n / TREE_BIN_SAMPLE);
	BinnedData *bd = tree_bins_create(n, d, TREE_MAX_BINS - 1);
	RawValue   *raw = palloc(sizeof(RawValue) * Max(spec->n_columns, 1));
	double	   *x = palloc(sizeof(double) * Max(d, 1));
	double	  **sample = palloc(sizeof(double *) * Max(d, 1));
	int64	   *m = palloc0(sizeof(int64) * Max(d, 1));

	for (int o = 0; o < d; o++)
		sample[o] = palloc(sizeof(double) * (Min(n, TREE_BIN_SAMPLE) + 1));
	for (int64 i = 0; i < n; i += stride)
	{
		prep_raw_from_frame(spec, frame, i, raw);
		prep_apply(spec, raw, x);
		for (int o = 0; o < d; o++)
		{
			if (!isnan(x[o]) && m[o] < TREE_BIN_SAMPLE)
				sample[o][m[o]++] = x[o];
		}
	}
	for (int o = 0; o < d; o++)
	{
		tree_bins_set_edges(bd, o, sample[o], m[o], prep_output_categories(spec, o));
		pfree(sample[o]);
	}
	for (int64 i = 0; i < n; i++)
	{
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		prep_raw_from_frame(spec, frame, i, raw);
		prep_apply(spec, raw, x);
		for (int o = 0; o < d; o++)
			tree_bins_put(bd, o, i, x[o]);
	}
	tree_bins_finish(bd);
	pfree(raw);
	pfree(x);
	pfree(sample);
	pfree(m);
	return bd;
}

TreeBins *
tree_bins_get(const TrainingData *td)
{
	TreeBins   *tb = td->tree_bins;
	MemoryContext old;

	if (tb == NULL || tb->built)
		return tb;
	old = MemoryContextSwitchTo(tb->cxt);
	tb->spec = fit_tree_spec(td);
	tb->bd = bin_rows(tb->spec, td->frame);
	tb->built = true;
	MemoryContextSwitchTo(old);
	budget_note();
	return tb;
}
