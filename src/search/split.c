/*
 * split.c: seeded, stratified holdout split.
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "search/search.h"

/* Fisher-Yates shuffle of idx[0..n). */
static void
shuffle(int64 *idx, int64 n, pg_prng_state *rng)
{
	for (int64 i = n - 1; i > 0; i--)
	{
		int64		j = (int64) pg_prng_uint64_range(rng, 0, (uint64) i);
		int64		t = idx[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		idx[i] = idx[j];
		idx[j] = t;
	}
}

Split
holdout_split(int64 n_rows, const int *label, int n_classes,
			  double valid_fraction, uint64 seed)
{
	Split		split;
	int			n_groups = label ? n_classes : 1;
	int64	   *order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n_rows);
	int64	   *group_start = palloc0(sizeof(int64) * (n_groups + 1));
	int64	   *fill = palloc0(sizeof(int64) * n_groups);
	bool	   *is_valid = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * n_rows);
	pg_prng_state rng;

	pg_prng_seed(&rng, seed);
	memset(is_valid, 0, sizeof(bool) * n_rows);
	split.train = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n_rows);
	split.valid = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n_rows);
	split.n_train = 0;
	split.n_valid = 0;

	/* Group the rows by class (one group for regression), keeping row order. */
	for (int64 i = 0; i < n_rows; i++)
		group_start[(label ? label[i] : 0) + 1]++;
	for (int g = 0; g < n_groups; g++)
		group_start[g + 1] += group_start[g];
	for (int64 i = 0; i < n_rows; i++)
	{
		int			g = label ? label[i] : 0;

		order[group_start[g] + fill[g]++] = i;
	}

	/* Shuffle each group and send its first rows to validation. */
	for (int g = 0; g < n_groups; g++)
	{
		int64	   *rows = order + group_start[g];
		int64		n = group_start[g + 1] - group_start[g];
		int64		n_valid = (int64) (valid_fraction * n + 0.5);

		/* A group of two or more rows gives at least one to each side. */
		if (n >= 2)
			n_valid = Max(1, Min(n_valid, n - 1));
		else
			n_valid = 0;
		shuffle(rows, n, &rng);
		for (int64 i = 0; i < n_valid; i++)
			is_valid[rows[i]] = true;
	}

	/* Both lists in row order, without a sort. */
	for (int64 i = 0; i < n_rows; i++)
	{
		if (is_valid[i])
			split.valid[split.n_valid++] = i;
		else
			split.train[split.n_train++] = i;
	}
	pfree(is_valid);
	pfree(order);
	pfree(group_start);
	pfree(fill);
	return split;
}
