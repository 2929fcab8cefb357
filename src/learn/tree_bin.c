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

#define BIN_SAMPLE 50000			/* values sorted per input for its bin edges */

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
tree_bin_data(const Dataset *data, int max_bins)
{
	BinnedData *bd = palloc0(sizeof(BinnedData));
	int64		n = data->n_rows;
	int			d = data->n_features;
	int64		stride = Max(1, n / BIN_SAMPLE);
	double	   *sample = palloc(sizeof(double) * (Min(n, BIN_SAMPLE) + 1));

	max_bins = Max(2, Min(max_bins, TREE_MAX_BINS - 1));
	bd->n_rows = n;
	bd->n_features = d;
	bd->bins = MemoryContextAllocHuge(CurrentMemoryContext, mul_size((Size) n, d));
	bd->n_bins = palloc(sizeof(int) * d);
	bd->categorical = palloc0(sizeof(bool) * d);
	bd->upper = palloc0(sizeof(double *) * d);

	for (int f = 0; f < d; f++)
	{
		uint8	   *col = bd->bins + f;	/* row-major: col[i * d] */
		int			n_categories = data->n_categories ? data->n_categories[f] : 0;

		CHECK_FOR_INTERRUPTS();
		if (n_categories > 0)
		{
			/* bins are the categories (level indices), 0 for missing */
			bd->categorical[f] = true;
			bd->n_bins[f] = Min(n_categories, TREE_MAX_BINS - 1) + 1;
			for (int64 i = 0; i < n; i++)
			{
				double		v = data->X[i * d + f];

				col[i * d] = isnan(v) ? 0 : (uint8) (Min(Max((int) v, 0), bd->n_bins[f] - 2) + 1);
			}
			continue;
		}
		else
		{
			int64		m = 0;
			int64		distinct = 0;
			double	   *upper = palloc(sizeof(double) * (max_bins + 1));
			int			n_bins = 1;

			for (int64 i = 0; i < n && m < BIN_SAMPLE; i += stride)
			{
				double		v = data->X[i * d + f];

				if (!isnan(v))
					sample[m++] = v;
			}
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
			for (int64 i = 0; i < n; i++)
			{
				double		v = data->X[i * d + f];

				col[i * d] = isnan(v) ? 0 : (uint8) bin_of(upper, n_bins, v);
			}
		}
	}
	pfree(sample);
	return bd;
}
