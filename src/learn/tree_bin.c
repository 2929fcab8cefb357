/*
 * tree_bin.c: binning: each feature's values in at most 255 bins, from quantiles of
 * (a sample of) the training values; bin 0 holds the missing ones.
 */
#include "postgres.h"

#include <math.h>

#include "common/sort_doubles.h"
#include "learn/tree.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#define BIN_SAMPLE TREE_BIN_SAMPLE

/* ---- binning ---- */


/* The bin of v: the first b >= 1 with v <= upper[b]; the last bin's upper is +inf. */
static inline int
bin_of(const double *upper, int n_bins, double v)
{
	int			lo = 1,
				hi = n_bins - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (v <= upper[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

BinnedData *
tree_bins_create(int64 n_rows, int n_features, int max_bins)
{
	BinnedData *bd = palloc0(sizeof(BinnedData));

	bd->n_rows = n_rows;
	bd->n_features = n_features;
	bd->max_bins = Max(2, Min(max_bins, TREE_MAX_BINS - 1));
	bd->columns = MemoryContextAllocHuge(CurrentMemoryContext, mul_size((Size) Max(n_rows, 1), n_features));
	bd->n_bins = palloc0(sizeof(int) * Max(n_features, 1));
	bd->categorical = palloc0(sizeof(bool) * Max(n_features, 1));
	bd->upper = palloc0(sizeof(double *) * Max(n_features, 1));
	return bd;
}

void
tree_bins_set_edges(BinnedData *bd, int f, double *sample, int64 m, int n_categories)
{
	int			max_bins = bd->max_bins;
	int64		distinct = 0;
	double	   *upper;
	int			n_bins = 1;

	if (n_categories > 0)
	{
		/* bins are the categories (level indices), 0 for missing */
		bd->categorical[f] = true;
		bd->n_bins[f] = Min(n_categories, TREE_MAX_BINS - 1) + 1;
		return;
	}
	upper = palloc(sizeof(double) * (max_bins + 1));
	sort_doubles(sample, m);
	for (int64 i = 0; i < m; i++)
	{
		if (i == 0 || sample[i] != sample[i - 1])
			sample[distinct++] = sample[i];
	}
	if (distinct <= max_bins - 1)
	{
		/* a bin per distinct value, cut halfway between neighbours */
		for (int64 k = 0; k + 1 < distinct; k++)
			upper[n_bins++] = sample[k] + (sample[k + 1] - sample[k]) / 2.0;
	}
	else
	{
		/* quantiles of the distinct values weigh rare values too little; of the sample */
		for (int k = 1; k < max_bins - 1; k++)
		{
			double		cut = sample[(int64) ((double) k * distinct / (max_bins - 1))];

			if (n_bins == 1 || cut > upper[n_bins - 1])
				upper[n_bins++] = cut;
		}
	}
	upper[n_bins++] = INFINITY;
	bd->n_bins[f] = n_bins;
	bd->upper[f] = upper;
}

void
tree_bins_put(BinnedData *bd, int f, int64 row, double v)
{
	uint8	   *slot = bd->columns + (size_t) f * bd->n_rows + row;

	if (isnan(v))
		*slot = 0;
	else if (bd->categorical[f])
		*slot = (uint8) (Min(Max((int) v, 0), bd->n_bins[f] - 2) + 1);
	else
		*slot = (uint8) bin_of(bd->upper[f], bd->n_bins[f], v);
}

void
tree_bins_finish(BinnedData *bd)
{
	int64		n = bd->n_rows;
	int			d = bd->n_features;

	/* the same bins row by row: a histogram reads every feature of its rows */
	bd->bins = MemoryContextAllocHuge(CurrentMemoryContext, mul_size((Size) Max(n, 1), d));
	for (int f = 0; f < d; f++)
	{
		const uint8 *col = bd->columns + (size_t) f * n;

		CHECK_FOR_INTERRUPTS();
		for (int64 i = 0; i < n; i++)
			bd->bins[(size_t) i * d + f] = col[i];
	}
}

BinnedData *
tree_bin_data(const Dataset *data, int max_bins)
{
	int64		n = data->n_rows;
	int			d = data->n_features;
	int64		stride = Max(1, n / BIN_SAMPLE);
	double	   *sample = palloc(sizeof(double) * (Min(n, BIN_SAMPLE) + 1));
	BinnedData *bd = tree_bins_create(n, d, max_bins);

	for (int f = 0; f < d; f++)
	{
		int			n_categories = data->n_categories ? data->n_categories[f] : 0;
		int64		m = 0;

		CHECK_FOR_INTERRUPTS();
		for (int64 i = 0; i < n && m < BIN_SAMPLE && n_categories == 0; i += stride)
		{
			double		v = data->X[i * d + f];

			if (!isnan(v))
				sample[m++] = v;
		}
		tree_bins_set_edges(bd, f, sample, m, n_categories);
		for (int64 i = 0; i < n; i++)
			tree_bins_put(bd, f, i, data->X[i * d + f]);
	}
	pfree(sample);
	tree_bins_finish(bd);
	return bd;
}

BinnedData *
tree_bins_of(const Dataset *data, int max_bins, const int64 **rows)
{
	BinnedData *bd;
	int64	   *all;

	if (data->binned != NULL)
	{
		*rows = data->rows;
		return (BinnedData *) data->binned;
	}
	bd = tree_bin_data(data, max_bins);
	all = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(data->n_rows, 1));
	for (int64 i = 0; i < data->n_rows; i++)
		all[i] = i;
	*rows = all;
	return bd;
}
