/*
 * split.c: seeded, stratified holdout and k-fold validation.
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

/*
 * The row indices grouped by class (one group for regression), each group in
 * row order: group g is order[group_start[g] .. group_start[g + 1]).
 */
static int64 *
rows_by_class(int64 n_rows, const int *label, int n_groups, int64 **group_start_out)
{
	int64	   *order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(n_rows, 1));
	int64	   *group_start = palloc0(sizeof(int64) * (n_groups + 1));
	int64	   *fill = palloc0(sizeof(int64) * n_groups);

	for (int64 i = 0; i < n_rows; i++)
		group_start[(label ? label[i] : 0) + 1]++;
	for (int g = 0; g < n_groups; g++)
		group_start[g + 1] += group_start[g];
	for (int64 i = 0; i < n_rows; i++)
	{
		int			g = label ? label[i] : 0;

		order[group_start[g] + fill[g]++] = i;
	}
	pfree(fill);
	*group_start_out = group_start;
	return order;
}

Split
holdout_split(int64 n_rows, const int *label, int n_classes,
			  double valid_fraction, uint64 seed)
{
	Split		split;
	int			n_groups = label ? n_classes : 1;
	int64	   *group_start;
	int64	   *order = rows_by_class(n_rows, label, n_groups, &group_start);
	bool	   *is_valid = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * n_rows);
	pg_prng_state rng;

	pg_prng_seed(&rng, seed);
	memset(is_valid, 0, sizeof(bool) * n_rows);
	split.train = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n_rows);
	split.valid = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n_rows);
	split.n_train = 0;
	split.n_valid = 0;

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
	return split;
}

Validation
validation_holdout(int64 n_rows, const int *label, int n_classes,
				   double valid_fraction, uint64 seed)
{
	Validation	v;

	v.n_folds = 1;
	v.folds = palloc(sizeof(Split));
	v.folds[0] = holdout_split(n_rows, label, n_classes, valid_fraction, seed);
	v.n_rows = v.folds[0].n_valid;
	v.rows = v.folds[0].valid;
	return v;
}

/*
 * Stratified k-fold: each class's rows are shuffled and dealt to the folds in
 * turn, so every fold gets its share of every class.
 */
Validation
validation_kfold(int64 n_rows, const int *label, int n_classes, int n_folds, uint64 seed)
{
	Validation	v;
	int			n_groups = label ? n_classes : 1;
	int64	   *group_start;
	int64	   *order;
	int		   *fold_of = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * n_rows);
	int64		dealt = 0;
	int64		at = 0;
	pg_prng_state rng;

	Assert(n_folds >= 2);
	pg_prng_seed(&rng, seed);
	order = rows_by_class(n_rows, label, n_groups, &group_start);
	/* Dealing continues across classes, so small classes do not all land in fold 0. */
	for (int g = 0; g < n_groups; g++)
	{
		int64	   *rows = order + group_start[g];
		int64		n = group_start[g + 1] - group_start[g];

		shuffle(rows, n, &rng);
		for (int64 i = 0; i < n; i++)
			fold_of[rows[i]] = (int) (dealt++ % n_folds);
	}

	v.n_folds = n_folds;
	v.folds = palloc(sizeof(Split) * n_folds);
	v.n_rows = n_rows;
	v.rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n_rows);
	for (int f = 0; f < n_folds; f++)
	{
		Split	   *s = &v.folds[f];

		s->train = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n_rows);
		s->valid = v.rows + at;
		s->n_train = 0;
		s->n_valid = 0;
		for (int64 i = 0; i < n_rows; i++)
		{
			if (fold_of[i] == f)
				s->valid[s->n_valid++] = i;
			else
				s->train[s->n_train++] = i;
		}
		at += s->n_valid;
	}
	pfree(order);
	pfree(group_start);
	pfree(fold_of);
	return v;
}
