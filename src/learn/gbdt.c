/*
 * gbdt.c: gradient-boosted trees (the gbdt learner).
 *
 * Squared error for regression, log loss for two classes, softmax for more
 * (one tree per class and round). Each round fits a tree to the gradients and
 * hessians (Newton boosting, as XGBoost and LightGBM), with row subsampling
 * and early stopping on an internal 10 % of the rows when there are enough.
 */
#include "postgres.h"

#include <math.h>

#include "learn/learner.h"
#include "learn/tree.h"
#include "miscadmin.h"

#define EARLY_STOPPING_MIN_ROWS 10000
#define EARLY_STOPPING_ROUNDS 10
#define GBDT_MAX_ROUNDS 100000

/*
 * The largest Newton step a classification leaf may take, in log-odds,
 * before the learning rate (XGBoost's max_delta_step): a leaf whose rows are
 * already almost certain has a hessian near zero, and its unbounded step
 * would push the scores to infinity, after which every prediction is 0 or 1.
 */
#define GBDT_MAX_LEAF_STEP 10.0

enum
{
	HP_N_ESTIMATORS, HP_LEARNING_RATE, HP_MAX_LEAVES, HP_MAX_DEPTH, HP_MIN_SAMPLES_LEAF,
	HP_MIN_CHILD_WEIGHT, HP_L2, HP_ALPHA, HP_MAX_BINS, HP_SUBSAMPLE, HP_COLSAMPLE,
	HP_EARLY_STOPPING, HP_MAX_CAT_THRESHOLD, HP_SEED
};

static const HyperparamDef gbdt_hyperparams[] = {
	{"n_estimators", 100, 1, GBDT_MAX_ROUNDS, true},
	{"learning_rate", 0.1, 1e-4, 1.0, false},
	{"max_leaves", 31, 2, 65536, true},
	{"max_depth", 0, 0, 64, true},
	{"min_samples_leaf", 20, 1, 1e7, true},
	{"min_child_weight", 1e-3, 0, 1e7, false},
	{"l2_regularization", 0, 0, 1e7, false},
	{"alpha", 0, 0, 1e7, false},
	{"max_bins", 255, 2, 255, true},
	{"subsample", 1.0, 0.01, 1.0, false},
	{"colsample", 1.0, 0.01, 1.0, false},
	{"early_stopping", 1, 0, 1, true},
	{"max_cat_threshold", 32, 1, 254, true},
	{"seed", 0, 0, 2147483647, true},
};

typedef struct GbdtState
{
	int			n_features;
	int			n_classes;
	int			n_outputs;		/* trees per round: 1, or n_classes */
	int			n_rounds;
	double	   *base;			/* n_outputs starting scores */
	Tree	  **trees;			/* n_rounds x n_outputs */
	ServeTrees **serve;			/* per output: its trees laid out for scoring */
	double	   *importance_gain;
	double	   *importance_splits;
} GbdtState;

static inline double
sigmoid(double t)
{
	return t >= 0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
}

/* The loss of one row, for early stopping. */
static double
row_loss(const Dataset *data, const double *F, int m, int64 row, double *scratch)
{
	if (data->task == TASK_REGRESSION)
		return (F[0] - data->y[row]) * (F[0] - data->y[row]);
	if (m == 1)
	{
		double		p = sigmoid(F[0]);

		return -log(Max(data->label[row] == 1 ? p : 1.0 - p, 1e-15));
	}
	learner_softmax(F, m, scratch);
	return -log(Max(scratch[data->label[row]], 1e-15));
}

/* One fit's working state: scores, gradients and the rows of each role. */
typedef struct GbdtFit
{
	const Dataset *data;
	const BinnedData *bd;
	int64		n;				/* the binned rows: arrays below are indexed by row number */
	const int64 *rows;			/* the fit's rows, data->n_rows of them */
	int			m;				/* outputs: 1, or the classes of a multiclass fit */
	double	   *F;				/* current scores, n x m */
	double	   *g;				/* output-major: output k's values for all rows are g[k * n ...] */
	double	   *h;
	double	   *prob;			/* m, scratch */
	int64	   *train_rows;
	int64		n_train;
	int64	   *valid_rows;		/* early stopping's held-out rows */
	int64		n_valid;
	int64	   *round_rows;		/* the subsample of one round */
	int64		n_round;
	int32	   *leaf_of_row;
	bool	   *grown_on;
} GbdtFit;

static void
grow_params(const double *hp, GrowParams *gp)
{
	gp->n_channels = 1;
	gp->max_leaves = (int) hp[HP_MAX_LEAVES];
	gp->max_depth = (int) hp[HP_MAX_DEPTH];
	gp->min_rows_leaf = (int) hp[HP_MIN_SAMPLES_LEAF];
	gp->min_hessian_leaf = hp[HP_MIN_CHILD_WEIGHT];
	gp->lambda = hp[HP_L2];
	gp->alpha = hp[HP_ALPHA];
	gp->feature_fraction = hp[HP_COLSAMPLE];
	gp->random_thresholds = false;
	gp->max_cat_threshold = (int) hp[HP_MAX_CAT_THRESHOLD];
}

static void
fit_start(GbdtFit *f, const Dataset *data, const double *hp, pg_prng_state *rng,
		  const BinnedData *bd, const int64 *rows)
{
	int64		n = bd->n_rows;
	int64		n_fit = data->n_rows;

	f->data = data;
	f->bd = bd;
	f->rows = rows;
	f->n = n;
	f->m = data->task == TASK_REGRESSION ? 1 : (data->n_classes == 2 ? 1 : data->n_classes);
	f->F = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n * f->m);
	f->g = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(double) * f->m, (Size) n));
	f->h = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(double) * f->m, (Size) n));
	f->prob = palloc(sizeof(double) * f->m);
	f->train_rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n);
	f->valid_rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n);
	f->round_rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n);
	f->leaf_of_row = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * n);
	f->grown_on = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * n);
	memset(f->grown_on, 0, sizeof(bool) * n);
	f->n_train = f->n_valid = 0;

	/* early stopping on a seeded 10 % of the rows, when there are enough */
	for (int64 i = 0; i < n_fit; i++)
	{
		if (hp[HP_EARLY_STOPPING] > 0 && n_fit >= EARLY_STOPPING_MIN_ROWS && pg_prng_double(rng) < 0.1)
			f->valid_rows[f->n_valid++] = rows[i];
		else
			f->train_rows[f->n_train++] = rows[i];
	}
}

/* Starting scores: the mean, the log odds, or the log class shares of the training rows. */
static void
starting_scores(GbdtFit *f, double *base)
{
	const Dataset *data = f->data;

	if (data->task == TASK_REGRESSION)
	{
		for (int64 i = 0; i < f->n_train; i++)
			base[0] += data->y[f->train_rows[i]];
		base[0] /= Max(f->n_train, 1);
	}
	else
	{
		double	   *count = palloc0(sizeof(double) * data->n_classes);

		for (int64 i = 0; i < f->n_train; i++)
		{
			int			y = data->label[f->train_rows[i]];

			count[y] += data->class_weight ? data->class_weight[y] : 1.0;
		}
		for (int k = 0; k < data->n_classes; k++)
			count[k] = Max(count[k], 1e-3);
		if (f->m == 1)
			base[0] = log(count[1] / count[0]);
		else
			for (int k = 0; k < f->m; k++)
				base[k] = log(count[k]);
	}
	for (int64 i = 0; i < f->data->n_rows; i++)
		memcpy(f->F + f->rows[i] * f->m, base, sizeof(double) * f->m);
}

/*
 * Negative gradients and hessians of the loss, weighted by class, for every
 * output of the round's rows, before any of this round's trees changes the
 * scores.
 */
static void
round_gradients(GbdtFit *f)
{
	const Dataset *data = f->data;
	int64		n = f->n;
	int			m = f->m;

	for (int64 j = 0; j < f->n_round; j++)
	{
		int64		i = f->round_rows[j];
		const double *Fi = f->F + i * m;
		double		w = 1.0;

		if (data->task == TASK_REGRESSION)
		{
			f->g[i] = data->y[i] - Fi[0];
			f->h[i] = 1.0;
			continue;
		}
		if (data->class_weight)
			w = data->class_weight[data->label[i]];
		if (m == 1)
		{
			double		p = sigmoid(Fi[0]);

			f->g[i] = w * ((data->label[i] == 1 ? 1.0 : 0.0) - p);
			f->h[i] = w * Max(p * (1.0 - p), 1e-16);
			continue;
		}
		learner_softmax(Fi, m, f->prob);
		for (int k = 0; k < m; k++)
		{
			f->g[k * n + i] = w * ((data->label[i] == k ? 1.0 : 0.0) - f->prob[k]);
			f->h[k * n + i] = w * Max(f->prob[k] * (1.0 - f->prob[k]), 1e-16);
		}
	}
}

/*
 * Output k's new tree (leaves already scaled) into the scores: rows it was
 * grown on by their leaf, others (held out, not sampled) by walking it.
 */
static void
add_tree_scores(GbdtFit *f, const Tree *tree, int k)
{
	int			m = f->m;

	for (int64 j = 0; j < f->n_round; j++)
	{
		int64		i = f->round_rows[j];

		f->F[i * m + k] += tree->leaf_value[f->leaf_of_row[i]];
		f->grown_on[i] = true;
	}
	for (int64 j = 0; j < f->data->n_rows; j++)
	{
		int64		i = f->rows[j];

		if (!f->grown_on[i])
			f->F[i * m + k] += tree_leaf_binned(tree, f->bd, i)[0];
		f->grown_on[i] = false;	/* ready for the next tree */
	}
}

/* The loss of the current scores on the early-stopping rows. */
static double
valid_loss(GbdtFit *f)
{
	double		loss = 0.0;

	for (int64 j = 0; j < f->n_valid; j++)
		loss += row_loss(f->data, f->F + f->valid_rows[j] * f->m, f->m, f->valid_rows[j], f->prob);
	return loss;
}

/* The serving layout of each output's trees, once the trees are final. */
static void
build_serving(GbdtState *st)
{
	st->serve = palloc(sizeof(ServeTrees *) * st->n_outputs);
	for (int k = 0; k < st->n_outputs; k++)
		st->serve[k] = tree_serve_build(st->trees + k, st->n_rounds, st->n_outputs);
}

static void *
gbdt_fit(const Dataset *data, const double *hp, FitContext *ctx)
{
	GbdtState  *st = palloc0(sizeof(GbdtState));
	int			d = data->n_features;
	int			max_rounds = (int) hp[HP_N_ESTIMATORS];
	double		rate = hp[HP_LEARNING_RATE];
	const int64 *rows;
	BinnedData *bd = tree_bins_of(data, (int) hp[HP_MAX_BINS], &rows);
	GrowParams	gp;
	pg_prng_state rng;
	GbdtFit		f;
	double		best_loss = INFINITY;
	int			best_rounds = 0;
	TreeThreads *threads = tree_threads_create(bd, 1);

	pg_prng_seed(&rng, (uint64) hp[HP_SEED] * 7919 + 17);	/* see common/seed.h */
	grow_params(hp, &gp);
	fit_start(&f, data, hp, &rng, bd, rows);
	st->base = palloc0(sizeof(double) * f.m);
	starting_scores(&f, st->base);
	st->n_features = d;
	st->n_classes = data->n_classes;
	st->n_outputs = f.m;
	st->trees = palloc(sizeof(Tree *) * (size_t) max_rounds * f.m);
	st->importance_gain = palloc0(sizeof(double) * d);
	st->importance_splits = palloc0(sizeof(double) * d);

	for (int round = 0; round < max_rounds; round++)
	{
		CHECK_FOR_INTERRUPTS();
		if (round > 0 && fit_should_stop(ctx))
		{
			ctx->rounds_done = round;
			break;
		}
		f.n_round = 0;
		for (int64 i = 0; i < f.n_train; i++)
		{
			if (hp[HP_SUBSAMPLE] >= 1.0 || pg_prng_double(&rng) < hp[HP_SUBSAMPLE])
				f.round_rows[f.n_round++] = f.train_rows[i];
		}
		if (f.n_round == 0)
			f.round_rows[f.n_round++] = f.train_rows[0];
		round_gradients(&f);
		for (int k = 0; k < f.m; k++)
		{
			Tree	   *tree = tree_grow(bd, f.round_rows, f.n_round, f.g + (size_t) k * f.n,
										 f.h + (size_t) k * f.n, &gp, &rng, st->importance_gain,
										 st->importance_splits, threads, f.leaf_of_row);

			for (int j = 0; j < tree->n_leaves; j++)
			{
				double		v = tree->leaf_value[j];

				if (data->task == TASK_CLASSIFICATION)
					v = Max(Min(v, GBDT_MAX_LEAF_STEP), -GBDT_MAX_LEAF_STEP);
				tree->leaf_value[j] = v * rate;
			}
			st->trees[(size_t) round * f.m + k] = tree;
			add_tree_scores(&f, tree, k);
		}
		st->n_rounds = round + 1;
		if (f.n_valid > 0)
		{
			double		loss = valid_loss(&f);

			if (best_rounds == 0 || loss < best_loss - 1e-12 * fabs(best_loss))
			{
				best_loss = loss;
				best_rounds = round + 1;
			}
			else if (round + 1 - best_rounds >= EARLY_STOPPING_ROUNDS)
				break;
		}
		else
			best_rounds = round + 1;
	}
	st->n_rounds = Max(best_rounds, 1);
	build_serving(st);
	pfree(f.F);
	pfree(f.g);
	pfree(f.h);
	pfree(f.leaf_of_row);
	pfree(f.grown_on);
	return st;
}

static void
gbdt_predict(const void *opaque, const double *x, double *out)
{
	const GbdtState *st = opaque;
	int			m = st->n_outputs;
	double		F[256];
	double	   *scores = m <= 256 ? F : palloc(sizeof(double) * m);

	for (int k = 0; k < m; k++)
		scores[k] = tree_serve_add(st->serve[k], st->base[k], x);
	if (st->n_classes == 0)
		out[0] = scores[0];
	else if (m == 1)
	{
		out[1] = sigmoid(scores[0]);
		out[0] = 1.0 - out[1];
	}
	else
		learner_softmax(scores, m, out);
	if (scores != F)
		pfree(scores);
}

static void
gbdt_summarize(const void *opaque, JsonBuilder *json)
{
	const GbdtState *st = opaque;

	json_key_int(json, "rounds", st->n_rounds);
	json_key_int(json, "trees", st->n_rounds * st->n_outputs);
	tree_importance_json(json, st->importance_gain, st->importance_splits, st->n_features);
}

static void
gbdt_save(const void *opaque, ByteWriter *w)
{
	const GbdtState *st = opaque;

	bytes_put_u32(w, (uint32) st->n_features);
	bytes_put_u32(w, (uint32) st->n_classes);
	bytes_put_u32(w, (uint32) st->n_rounds);
	bytes_put_f64_array(w, st->base, st->n_outputs);
	bytes_put_f64_array(w, st->importance_gain, st->n_features);
	bytes_put_f64_array(w, st->importance_splits, st->n_features);
	for (int t = 0; t < st->n_rounds * st->n_outputs; t++)
		tree_save(st->trees[t], w);
}

static void *
gbdt_load(ByteReader *r, Task task, int n_features, int n_classes)
{
	GbdtState  *st = palloc0(sizeof(GbdtState));

	st->n_features = (int) bytes_get_u32(r);
	st->n_classes = (int) bytes_get_u32(r);
	if (st->n_features != n_features || st->n_classes != n_classes ||
		(task == TASK_REGRESSION) != (n_classes == 0))
		bytes_corrupted(r, "the boosted trees do not match the features and classes");
	st->n_outputs = n_classes > 2 ? n_classes : 1;
	/* every round holds n_outputs trees of at least 8 bytes and one leaf (value and cover) */
	st->n_rounds = (int) bytes_get_count(r, (size_t) st->n_outputs * 24, GBDT_MAX_ROUNDS);
	if (st->n_rounds == 0)
		bytes_corrupted(r, "boosting without trees");
	st->base = bytes_get_f64_array(r, st->n_outputs);
	st->importance_gain = bytes_get_f64_array(r, n_features);
	st->importance_splits = bytes_get_f64_array(r, n_features);
	st->trees = palloc(sizeof(Tree *) * (size_t) st->n_rounds * st->n_outputs);
	for (int t = 0; t < st->n_rounds * st->n_outputs; t++)
		st->trees[t] = tree_load(r, n_features, 1);
	build_serving(st);
	return st;
}

/* One margin per tree of a round: the score before the sigmoid or softmax. */
static int
gbdt_n_margins(const void *opaque)
{
	const GbdtState *st = opaque;

	return st->n_outputs;
}

static const char *
gbdt_margin_scale(const void *opaque)
{
	const GbdtState *st = opaque;

	if (st->n_classes == 0)
		return MARGIN_VALUE;
	return st->n_outputs == 1 ? MARGIN_LOG_ODDS : MARGIN_LOGIT;
}

/*
 * The scores are the starting score plus the trees' leaf values (already
 * scaled by the learning rate): the starting score joins the base, and each
 * tree's TreeSHAP values add to its output's margin.
 */
static void
gbdt_contributions(const void *opaque, const double *x, double *phi)
{
	const GbdtState *st = opaque;
	int			m = st->n_outputs;
	int			stride = st->n_features + 1;

	memset(phi, 0, sizeof(double) * m * stride);
	for (int k = 0; k < m; k++)
		phi[k * stride + st->n_features] = st->base[k];
	for (int r = 0; r < st->n_rounds; r++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < m; k++)
			tree_contributions(st->trees[(size_t) r * m + k], x, st->n_features, 1.0,
							   phi + (size_t) k * stride);
	}
}

const Learner gbdt_learner = {
	.name = "gbdt",
	.tasks = TASK_BIT(TASK_REGRESSION) | TASK_BIT(TASK_CLASSIFICATION),
	.raw_inputs = true,
	.n_hyperparams = lengthof(gbdt_hyperparams),
	.hyperparams = gbdt_hyperparams,
	.fit = gbdt_fit,
	.predict = gbdt_predict,
	.summarize = gbdt_summarize,
	.save = gbdt_save,
	.load = gbdt_load,
	.n_margins = gbdt_n_margins,
	.margin_scale = gbdt_margin_scale,
	.contributions = gbdt_contributions,
};
