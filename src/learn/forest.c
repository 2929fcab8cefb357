/*
 * forest.c: random forest and extra trees, on the histogram tree core.
 *
 * Each tree is grown deep on a bootstrap sample (random forest) or on all
 * rows with one random threshold per feature and split (extra trees), trying
 * a random subset of the features at every split. Leaves hold the mean of
 * the target (regression) or the class shares; predictions average the trees.
 */
#include "postgres.h"

#include <math.h>

#include "learn/learner.h"
#include "learn/tree.h"
#include "miscadmin.h"

#define FOREST_MAX_TREES 10000
#define FOREST_MAX_CLASSES 200		/* a histogram entry holds one channel per class */

enum
{
	HP_N_ESTIMATORS, HP_MAX_DEPTH, HP_MAX_LEAVES, HP_MIN_SAMPLES_LEAF, HP_MAX_FEATURES,
	HP_MAX_BINS, HP_BOOTSTRAP, HP_SEED
};

static const HyperparamDef random_forest_hyperparams[] = {
	{"n_estimators", 100, 1, FOREST_MAX_TREES, true},
	{"max_depth", 0, 0, 64, true},
	{"max_leaves", 0, 0, 10000000, true},
	{"min_samples_leaf", 1, 1, 1e7, true},
	{"max_features", 0, 0, 1, false},
	{"max_bins", 255, 2, 255, true},
	{"bootstrap", 1, 0, 1, true},
	{"seed", 0, 0, 2147483647, true},
};

static const HyperparamDef extra_trees_hyperparams[] = {
	{"n_estimators", 100, 1, FOREST_MAX_TREES, true},
	{"max_depth", 0, 0, 64, true},
	{"max_leaves", 0, 0, 10000000, true},
	{"min_samples_leaf", 1, 1, 1e7, true},
	{"max_features", 0, 0, 1, false},
	{"max_bins", 255, 2, 255, true},
	{"bootstrap", 0, 0, 1, true},
	{"seed", 0, 0, 2147483647, true},
};

typedef struct ForestState
{
	int			n_features;
	int			n_classes;
	int			n_outputs;		/* values per leaf: 1, or n_classes */
	int			n_trees;
	Tree	  **trees;
	ServeTrees *serve;			/* the trees laid out for scoring */
	double	   *importance_gain;
	double	   *importance_splits;
} ForestState;

static void *
forest_fit(const Dataset *data, const double *hp, bool extra, FitContext *ctx)
{
	ForestState *st = palloc0(sizeof(ForestState));
	int64		n = data->n_rows;	/* the fit's rows */
	int			d = data->n_features;
	int			C = data->task == TASK_REGRESSION ? 1 : data->n_classes;
	int			n_trees = (int) hp[HP_N_ESTIMATORS];
	const int64 *fit_rows;
	BinnedData *bd;
	int64		N;				/* the binned rows: g and h are indexed by row number */
	TreeThreads *threads;
	GrowParams	gp;
	pg_prng_state rng;
	double	   *g;
	double	   *h;
	int64	   *rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(n, 1));
	int32	   *draws = NULL;

	if (C > FOREST_MAX_CLASSES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s supports at most %d classes, the target has %d",
						extra ? "extra_trees" : "random_forest", FOREST_MAX_CLASSES, C),
				 errhint("Use gbdt or linear for this target.")));
	bd = tree_bins_of(data, (int) hp[HP_MAX_BINS], &fit_rows);
	N = bd->n_rows;
	g = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(double) * C, (Size) N));
	h = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * N);
	threads = tree_threads_create(bd, C);

	/* the channels: the target, or a (class-weighted) one-hot of the class */
	for (int64 j = 0; j < n; j++)
	{
		int64		i = fit_rows[j];

		if (data->task == TASK_REGRESSION)
		{
			g[i] = data->y[i];
			h[i] = 1.0;
		}
		else
		{
			double		w = data->class_weight ? data->class_weight[data->label[i]] : 1.0;

			for (int c = 0; c < C; c++)
				g[i * C + c] = data->label[i] == c ? w : 0.0;
			h[i] = w;
		}
	}

	pg_prng_seed(&rng, (uint64) hp[HP_SEED] * 104729 + (extra ? 3 : 5));
	gp.n_channels = C;
	gp.max_leaves = (int) hp[HP_MAX_LEAVES];
	gp.max_depth = (int) hp[HP_MAX_DEPTH];
	gp.min_rows_leaf = (int) hp[HP_MIN_SAMPLES_LEAF];
	gp.min_hessian_leaf = 0.0;
	gp.lambda = 0.0;
	gp.alpha = 0.0;
	/* scikit-learn's defaults: sqrt(features) for classes, all for regression */
	gp.feature_fraction = hp[HP_MAX_FEATURES] > 0 ? hp[HP_MAX_FEATURES] :
		(data->task == TASK_REGRESSION ? 1.0 : sqrt((double) d) / d);
	gp.random_thresholds = extra;
	gp.max_cat_threshold = 254;

	st->n_features = d;
	st->n_classes = data->n_classes;
	st->n_outputs = C;
	st->n_trees = n_trees;
	st->trees = palloc(sizeof(Tree *) * n_trees);
	st->importance_gain = palloc0(sizeof(double) * d);
	st->importance_splits = palloc0(sizeof(double) * d);
	for (int t = 0; t < n_trees; t++)
	{
		CHECK_FOR_INTERRUPTS();
		if (t > 0 && fit_should_stop(ctx))
		{
			st->n_trees = t;
			ctx->rounds_done = t;
			break;
		}
		if (hp[HP_BOOTSTRAP] > 0)
		{
			/*
			 * A bootstrap sample, counted and then listed in row order, so
			 * that the tree reads its rows' bins forward (a sum does not
			 * mind the order of its terms, to rounding).
			 */
			int64		k = 0;

			if (draws == NULL)
				draws = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * Max(n, 1));
			memset(draws, 0, sizeof(int32) * Max(n, 1));
			for (int64 i = 0; i < n; i++)
				draws[pg_prng_uint64_range(&rng, 0, n - 1)]++;
			for (int64 i = 0; i < n; i++)
				for (int32 c = 0; c < draws[i]; c++)
					rows[k++] = fit_rows[i];
		}
		else
			memcpy(rows, fit_rows, sizeof(int64) * n);
		st->trees[t] = tree_grow(bd, rows, n, g, h, &gp, &rng,
								 st->importance_gain, st->importance_splits, threads, NULL);
	}
	st->serve = tree_serve_build(st->trees, st->n_trees, 1);
	pfree(g);
	pfree(h);
	pfree(rows);
	return st;
}

static void *
random_forest_fit(const Dataset *data, const double *hp, FitContext *ctx)
{
	return forest_fit(data, hp, false, ctx);
}

static void *
extra_trees_fit(const Dataset *data, const double *hp, FitContext *ctx)
{
	return forest_fit(data, hp, true, ctx);
}

static void
forest_predict(const void *opaque, const double *x, double *out)
{
	const ForestState *st = opaque;
	int			C = st->n_outputs;

	memset(out, 0, sizeof(double) * C);
	tree_serve_add_all(st->serve, out, x);
	for (int c = 0; c < C; c++)
		out[c] /= st->n_trees;
}

static void
forest_summarize(const void *opaque, JsonBuilder *json)
{
	const ForestState *st = opaque;

	json_key_int(json, "trees", st->n_trees);
	tree_importance_json(json, st->importance_gain, st->importance_splits, st->n_features);
}

static void
forest_save(const void *opaque, ByteWriter *w)
{
	const ForestState *st = opaque;

	bytes_put_u32(w, (uint32) st->n_features);
	bytes_put_u32(w, (uint32) st->n_classes);
	bytes_put_u32(w, (uint32) st->n_trees);
	bytes_put_f64_array(w, st->importance_gain, st->n_features);
	bytes_put_f64_array(w, st->importance_splits, st->n_features);
	for (int t = 0; t < st->n_trees; t++)
		tree_save(st->trees[t], w);
}

static void *
forest_load(ByteReader *r, Task task, int n_features, int n_classes)
{
	ForestState *st = palloc0(sizeof(ForestState));

	st->n_features = (int) bytes_get_u32(r);
	st->n_classes = (int) bytes_get_u32(r);
	if (st->n_features != n_features || st->n_classes != n_classes ||
		(task == TASK_REGRESSION) != (n_classes == 0) || n_classes > FOREST_MAX_CLASSES)
		bytes_corrupted(r, "the forest does not match the features and classes");
	st->n_outputs = task == TASK_REGRESSION ? 1 : n_classes;
	/* every tree holds at least 8 bytes and one leaf (a value and a cover) */
	st->n_trees = (int) bytes_get_count(r, 24, FOREST_MAX_TREES);
	if (st->n_trees == 0)
		bytes_corrupted(r, "a forest without trees");
	st->importance_gain = bytes_get_f64_array(r, n_features);
	st->importance_splits = bytes_get_f64_array(r, n_features);
	st->trees = palloc(sizeof(Tree *) * st->n_trees);
	for (int t = 0; t < st->n_trees; t++)
		st->trees[t] = tree_load(r, n_features, st->n_outputs);
	st->serve = tree_serve_build(st->trees, st->n_trees, 1);
	return st;
}

/* The margins are the outputs: the predicted value, or every class's share. */
static int
forest_n_margins(const void *opaque)
{
	const ForestState *st = opaque;

	return st->n_outputs;
}

static const char *
forest_margin_scale(const void *opaque)
{
	const ForestState *st = opaque;

	return st->n_classes == 0 ? MARGIN_VALUE : MARGIN_PROBABILITY;
}

/* The mean of the trees' TreeSHAP values, as predictions are the mean of their leaves. */
static void
forest_contributions(const void *opaque, const double *x, double *phi)
{
	const ForestState *st = opaque;

	memset(phi, 0, sizeof(double) * st->n_outputs * (st->n_features + 1));
	for (int t = 0; t < st->n_trees; t++)
	{
		CHECK_FOR_INTERRUPTS();
		tree_contributions(st->trees[t], x, st->n_features, 1.0 / st->n_trees, phi);
	}
}

const Learner random_forest_learner = {
	.name = "random_forest",
	.tasks = TASK_BIT(TASK_REGRESSION) | TASK_BIT(TASK_CLASSIFICATION),
	.raw_inputs = true,
	.n_hyperparams = lengthof(random_forest_hyperparams),
	.hyperparams = random_forest_hyperparams,
	.fit = random_forest_fit,
	.predict = forest_predict,
	.summarize = forest_summarize,
	.save = forest_save,
	.load = forest_load,
	.n_margins = forest_n_margins,
	.margin_scale = forest_margin_scale,
	.contributions = forest_contributions,
};

const Learner extra_trees_learner = {
	.name = "extra_trees",
	.tasks = TASK_BIT(TASK_REGRESSION) | TASK_BIT(TASK_CLASSIFICATION),
	.raw_inputs = true,
	.n_hyperparams = lengthof(extra_trees_hyperparams),
	.hyperparams = extra_trees_hyperparams,
	.fit = extra_trees_fit,
	.predict = forest_predict,
	.summarize = forest_summarize,
	.save = forest_save,
	.load = forest_load,
	.n_margins = forest_n_margins,
	.margin_scale = forest_margin_scale,
	.contributions = forest_contributions,
};
