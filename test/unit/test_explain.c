/*
 * test_explain.c: checks the learners' explanations outside the server.
 *
 * 1. Additivity: every learner, on every task it supports, fitted on small
 *    made-up data (missing values and a categorical input for the trees);
 *    for training rows and fresh ones, the contributions plus the base must
 *    give the margin that predict turns into its output, to 1e-9 relative.
 *    A saved and reloaded model must explain every row bit for bit alike.
 * 2. Exactness: TreeSHAP against Shapley values computed by brute force
 *    (every subset of at most 6 inputs, with the path-dependent value
 *    function E[f(x) | x_S]: at a split on an input outside S, both children
 *    averaged by cover), to 1e-9: on random hand-built trees (repeated
 *    inputs on a path, categorical splits, default directions, zero covers,
 *    several outputs), on trees grown by tree_grow, and on whole boosted and
 *    forest models read back from their saved bytes.
 *
 * Exits 0 when every check passes; prints each failure and exits 1 if not.
 */
#include "postgres.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/bytes.h"
#include "common/pg_prng.h"
#include "learn/learner.h"
#include "learn/tree.h"
#include "pg_shim.h"

#define TOLERANCE 1e-9
#define MAX_FEATURES 6			/* brute force: 2^6 subsets */
#define N_CATEGORIES 5			/* of the categorical input of the made-up data */

static int	n_checks = 0;
static int	n_failures = 0;
static pg_prng_state rng;

static void
check(bool ok, const char *what, const char *detail_fmt,...) pg_attribute_printf(3, 4);

static void
check(bool ok, const char *what, const char *detail_fmt,...)
{
	va_list		args;

	n_checks++;
	if (ok)
		return;
	n_failures++;
	if (n_failures > 30)
		return;					/* enough to go on */
	fprintf(stderr, "FAIL %s: ", what);
	va_start(args, detail_fmt);
	vfprintf(stderr, detail_fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

/* |a - b| small against the larger of scale and 1. */
static bool
close_to(double a, double b, double scale)
{
	return fabs(a - b) <= TOLERANCE * Max(1.0, fabs(scale));
}

static double
uniform(double lo, double hi)
{
	return lo + (hi - lo) * pg_prng_double(&rng);
}

/* ---- brute force ---- */

/* The cover share of child ref at internal node node, as tree.c defines it. */
static double
share(const Tree *t, int32 node, int32 ref)
{
	double		total = t->cover[node];
	double		part = ref >= 0 ? t->cover[ref] : t->leaf_cover[-ref - 1];

	return total > 0.0 ? part / total : 0.5;
}

/* E[f_c(x) | x_S] by the path-dependent recursion; S a bit set of inputs. */
static double
expected_given(const Tree *t, int32 ref, const double *x, unsigned S, int c)
{
	const TreeNode *n;

	if (ref < 0)
		return t->leaf_value[(size_t) (-ref - 1) * t->n_outputs + c];
	n = &t->nodes[ref];
	if (S & (1u << n->feature))
		return expected_given(t, tree_goes_left(t, ref, x) ? n->left : n->right, x, S, c);
	return share(t, ref, n->left) * expected_given(t, n->left, x, S, c) +
		share(t, ref, n->right) * expected_given(t, n->right, x, S, c);
}

/*
 * Shapley values of the game v over F <= MAX_FEATURES players, v given for
 * every subset: phi[j] = sum over S without j of |S|! (F-|S|-1)! / F! (v(S+j) - v(S)).
 */
static void
shapley(const double *v, int F, double *phi)
{
	double		factorial[MAX_FEATURES + 1] = {1};

	for (int k = 1; k <= F; k++)
		factorial[k] = factorial[k - 1] * k;
	for (int j = 0; j < F; j++)
	{
		phi[j] = 0.0;
		for (unsigned S = 0; S < (1u << F); S++)
		{
			int			size = __builtin_popcount(S);

			if (S & (1u << j))
				continue;
			phi[j] += factorial[size] * factorial[F - size - 1] / factorial[F] *
				(v[S | (1u << j)] - v[S]);
		}
	}
}

/* Adds scale times tree's value function, output c, for every subset, to v. */
static void
add_value_function(const Tree *t, const double *x, int F, int c, double scale, double *v)
{
	int32		root = t->n_nodes > 0 ? 0 : -1;

	for (unsigned S = 0; S < (1u << F); S++)
		v[S] += scale * expected_given(t, root, x, S, c);
}

/* Compares tree_contributions with the brute force, for every output. */
static void
check_tree_exact(const Tree *t, const double *x, int F, const char *what)
{
	int			stride = F + 1;
	double	   *phi = palloc0(sizeof(double) * t->n_outputs * stride);
	double		v[1 << MAX_FEATURES];
	double		expected[MAX_FEATURES];

	tree_contributions(t, x, F, 1.0, phi);
	for (int c = 0; c < t->n_outputs; c++)
	{
		const double *row = phi + c * stride;
		double		leaf = tree_leaf(t, x)[c];
		double		sum = row[F];

		memset(v, 0, sizeof(v));
		add_value_function(t, x, F, c, 1.0, v);
		shapley(v, F, expected);
		for (int j = 0; j < F; j++)
		{
			check(close_to(row[j], expected[j], expected[j]), what,
				  "output %d input %d: TreeSHAP %.17g, brute force %.17g", c, j, row[j], expected[j]);
			sum += row[j];
		}
		check(close_to(row[F], v[0], v[0]), what, "output %d: base %.17g, E[f] %.17g", c, row[F], v[0]);
		check(close_to(v[(1u << F) - 1], leaf, leaf), what,
			  "output %d: v(all) %.17g is not the leaf %.17g", c, v[(1u << F) - 1], leaf);
		check(close_to(sum, leaf, leaf), what, "output %d: sum %.17g, leaf %.17g", c, sum, leaf);
	}
}

/* ---- random hand-built trees ---- */

typedef struct TreeMaker
{
	Tree	   *t;
	int			F;
	int			n_categorical;	/* the last inputs are categorical, levels 0..7 */
} TreeMaker;

static int32
make_subtree(TreeMaker *tm, int depth, int max_depth)
{
	Tree	   *t = tm->t;

	if (depth == max_depth || (depth > 0 && pg_prng_double(&rng) < 0.25))
	{
		int			leaf = t->n_leaves++;
		double		u = pg_prng_double(&rng);

		for (int c = 0; c < t->n_outputs; c++)
			t->leaf_value[leaf * t->n_outputs + c] = uniform(-3, 3);
		/* now and then no training row: a zero cover */
		t->leaf_cover[leaf] = u < 0.1 ? 0.0 : u < 0.2 ? 1e-12 : uniform(0.5, 20);
		return -(leaf + 1);
	}
	else
	{
		int32		id = t->n_nodes++;
		TreeNode   *n = &t->nodes[id];
		/* few inputs, so that paths repeat them */
		int			f = (int) pg_prng_uint64_range(&rng, 0, tm->F - 1);
		int32		left,
					right;

		memset(n, 0, sizeof(TreeNode));
		memset(t->categories + id * 4, 0, 4 * sizeof(uint64));
		n->feature = f;
		n->flags = pg_prng_double(&rng) < 0.5 ? TREE_DEFAULT_LEFT : 0;
		if (f >= tm->F - tm->n_categorical)
		{
			n->flags |= TREE_CATEGORICAL;
			t->categories[id * 4] = pg_prng_uint64(&rng) & 0xFF;	/* levels 0..7 */
		}
		else
			n->threshold = uniform(-1, 1);
		left = make_subtree(tm, depth + 1, max_depth);
		right = make_subtree(tm, depth + 1, max_depth);
		t->nodes[id].left = left;
		t->nodes[id].right = right;
		return id;
	}
}

static Tree *
random_tree(int F, int n_categorical, int n_outputs, int max_depth)
{
	TreeMaker	tm;
	Tree	   *t = palloc0(sizeof(Tree));
	int			capacity = (1 << max_depth) + 1;

	t->n_outputs = n_outputs;
	t->nodes = palloc(sizeof(TreeNode) * capacity);
	t->categories = palloc(sizeof(uint64) * 4 * capacity);
	t->leaf_value = palloc(sizeof(double) * n_outputs * capacity);
	t->leaf_cover = palloc(sizeof(double) * capacity);
	tm.t = t;
	tm.F = F;
	tm.n_categorical = n_categorical;
	make_subtree(&tm, 0, max_depth);
	if (!tree_derive_covers(t))
		check(false, "random tree", "tree_derive_covers refused a valid tree");
	return t;
}

static void
random_row(double *x, int F, int n_categorical)
{
	for (int j = 0; j < F; j++)
	{
		double		u = pg_prng_double(&rng);

		if (u < 0.15)
			x[j] = NAN;
		else if (j >= F - n_categorical)
			x[j] = u < 0.2 ? 300.0 : u < 0.25 ? -5.0 : (double) pg_prng_uint64_range(&rng, 0, 7);
		else
			x[j] = uniform(-1.2, 1.2);
	}
}

static void
test_random_trees(void)
{
	double		x[MAX_FEATURES];
	int			before = n_failures;

	for (int i = 0; i < 3000; i++)
	{
		int			F = 1 + (int) pg_prng_uint64_range(&rng, 0, MAX_FEATURES - 1);
		int			n_categorical = (int) pg_prng_uint64_range(&rng, 0, Min(F, 2));
		int			n_outputs = 1 + (int) pg_prng_uint64_range(&rng, 0, 2);
		Tree	   *t = random_tree(F, n_categorical, n_outputs, 1 + (int) pg_prng_uint64_range(&rng, 0, 7));

		for (int r = 0; r < 4; r++)
		{
			random_row(x, F, n_categorical);
			check_tree_exact(t, x, F, "random tree");
		}
		shim_free_all();
	}
	printf("random hand-built trees (3000, depth <= 8, up to 3 outputs): %s\n",
		   n_failures == before ? "exact" : "FAILED");
}

/* A tree that is one leaf: no contribution, the base is the leaf. */
static void
test_single_leaf(void)
{
	Tree	   *t = palloc0(sizeof(Tree));
	double		x[2] = {0.5, NAN};
	double		phi[2 * 3] = {0};
	int			before = n_failures;

	t->n_outputs = 2;
	t->n_leaves = 1;
	t->leaf_value = palloc(sizeof(double) * 2);
	t->leaf_value[0] = 1.5;
	t->leaf_value[1] = -2.0;
	t->leaf_cover = palloc(sizeof(double));
	t->leaf_cover[0] = 7.0;
	check(tree_derive_covers(t), "single leaf", "not accepted");
	tree_contributions(t, x, 2, 2.0, phi);
	check(phi[0] == 0 && phi[1] == 0 && phi[2] == 3.0 && phi[3] == 0 && phi[4] == 0 && phi[5] == -4.0,
		  "single leaf", "phi = %g %g %g / %g %g %g", phi[0], phi[1], phi[2], phi[3], phi[4], phi[5]);
	t->leaf_cover[0] = -1.0;
	check(!tree_derive_covers(t), "single leaf", "a negative cover was accepted");
	shim_free_all();
	printf("single-leaf tree: %s\n", n_failures == before ? "ok" : "FAILED");
}

/* ---- made-up data ---- */

typedef struct Made
{
	Dataset		data;
	double	   *X;
	double	   *y;
	int		   *label;
	int		   *n_categories;
} Made;

/*
 * n rows of F inputs: for trees, input 0 has gaps (NaN), input F-2 is
 * categorical (N_CATEGORIES levels, some missing) and input F-1 is constant,
 * so no tree can split on it. For linear learners every input is numeric
 * and present.
 */
static Made *
make_data(int n, int F, Task task, int n_classes, bool for_trees)
{
	Made	   *m = palloc0(sizeof(Made));

	m->X = palloc(sizeof(double) * n * F);
	m->y = palloc(sizeof(double) * n);
	m->label = palloc(sizeof(int) * n);
	m->n_categories = palloc0(sizeof(int) * F);
	if (for_trees)
		m->n_categories[F - 2] = N_CATEGORIES;
	for (int i = 0; i < n; i++)
	{
		double	   *x = m->X + i * F;
		double		score;

		for (int j = 0; j < F; j++)
			x[j] = uniform(-2, 2);
		if (for_trees)
		{
			if (pg_prng_double(&rng) < 0.15)
				x[0] = NAN;
			x[F - 2] = pg_prng_double(&rng) < 0.1 ? NAN :
				(double) pg_prng_uint64_range(&rng, 0, N_CATEGORIES - 1);
			x[F - 1] = 1.0;
		}
		score = (isnan(x[0]) ? 1.0 : x[0]) + x[1] * x[2] + 0.5 * sin(3 * x[1]) + 0.3 * uniform(-1, 1);
		if (!for_trees)
			score += 0.3 * x[F - 2];
		else if (!isnan(x[F - 2]))
			score += 0.7 * ((int) x[F - 2] % 3);
		m->y[i] = score;
		if (n_classes == 2)
			m->label[i] = score > 0.5 ? 1 : 0;
		else if (n_classes > 2)
			m->label[i] = score < 0.0 ? 0 : score < 1.2 ? 1 : 2;
	}
	m->data.task = task;
	m->data.n_rows = n;
	m->data.n_features = F;
	m->data.X = m->X;
	m->data.y = task == TASK_REGRESSION ? m->y : NULL;
	m->data.label = task == TASK_CLASSIFICATION ? m->label : NULL;
	m->data.n_classes = task == TASK_CLASSIFICATION ? n_classes : 0;
	m->data.class_weight = NULL;
	m->data.n_categories = for_trees ? m->n_categories : NULL;
	return m;
}

/* ---- additivity ---- */

static double
relative_error(double a, double b, double scale)
{
	return fabs(a - b) / Max(1.0, fabs(scale));
}

/*
 * Checks that the margins from phi give predict's output: regression the
 * value itself; two classes class 1's log-odds; softmax the differences of
 * log-probabilities; forests' classes the probabilities themselves.
 * Returns the largest relative error seen.
 */
static double
check_margins(const char *what, const char *scale, int n_margins, const double *margin,
			  const double *magnitude, const double *out, int n_outputs)
{
	double		worst = 0.0;

	if (strcmp(scale, MARGIN_VALUE) == 0 || strcmp(scale, MARGIN_PROBABILITY) == 0)
	{
		check(n_margins == n_outputs, what, "%d margins for %d outputs", n_margins, n_outputs);
		for (int k = 0; k < n_margins; k++)
		{
			check(close_to(margin[k], out[k], magnitude[k]), what,
				  "margin %d: contributions add up to %.17g, prediction %.17g", k, margin[k], out[k]);
			worst = Max(worst, relative_error(margin[k], out[k], magnitude[k]));
		}
	}
	else if (strcmp(scale, MARGIN_LOG_ODDS) == 0)
	{
		double		p = 1.0 / (1.0 + exp(-margin[0]));

		check(n_margins == 1 && n_outputs == 2, what, "%d log-odds for %d classes", n_margins, n_outputs);
		check(fabs(p - out[1]) <= 1e-12, what, "sigmoid of the sum %.17g, predicted %.17g", p, out[1]);
		/* the log-odds themselves where the probabilities keep their digits */
		if (out[1] > 1e-6 && out[0] > 1e-6)
		{
			double		log_odds = log(out[1]) - log(out[0]);

			check(close_to(margin[0], log_odds, magnitude[0]), what,
				  "sum %.17g, predicted log-odds %.17g", margin[0], log_odds);
			worst = relative_error(margin[0], log_odds, magnitude[0]);
		}
	}
	else if (strcmp(scale, MARGIN_LOGIT) == 0)
	{
		check(n_margins == n_outputs, what, "%d logits for %d classes", n_margins, n_outputs);
		for (int k = 1; k < n_margins; k++)
		{
			if (out[k] > 1e-6 && out[0] > 1e-6)
			{
				double		difference = log(out[k]) - log(out[0]);

				check(close_to(margin[k] - margin[0], difference, magnitude[k] + magnitude[0]), what,
					  "class %d: logit difference %.17g, predicted %.17g", k,
					  margin[k] - margin[0], difference);
				worst = Max(worst, relative_error(margin[k] - margin[0], difference,
												  magnitude[k] + magnitude[0]));
			}
		}
	}
	else
		check(false, what, "unknown margin scale \"%s\"", scale);
	return worst;
}

/* Saves and loads a fitted state, as the registry does. */
static void *
reload(const Learner *learner, const void *state, Task task, int F, int n_classes)
{
	ByteWriter	w;
	ByteReader	r;
	void	   *again;

	bytes_writer_init(&w);
	learner->save(state, &w);
	bytes_reader_init(&r, w.buf.data, w.buf.len, "test");
	again = learner->load(&r, task, F, n_classes);
	bytes_expect_end(&r);
	return again;
}

typedef struct Case
{
	const Learner *learner;
	Task		task;
	int			n_classes;
	const char *scale;			/* the margin scale the table in learner.h promises */
	int			n_margins;
} Case;

static double *
default_hyperparams(const Learner *learner)
{
	double	   *hp = palloc(sizeof(double) * learner->n_hyperparams);

	for (int i = 0; i < learner->n_hyperparams; i++)
		hp[i] = learner->hyperparams[i].default_value;
	/* n_estimators: enough trees, and quick (forests' trees are grown deep) */
	if (learner == &gbdt_learner)
	{
		hp[0] = 25;
		hp[4] = 5;				/* min_samples_leaf: deeper trees */
	}
	else if (learner->raw_inputs)
		hp[0] = 8;
	return hp;
}

static void
test_additivity(const Case *c)
{
	int			F = 6;
	int			n = 300;
	int			n_fresh = 150;
	Made	   *m = make_data(n, F, c->task, c->n_classes, c->learner->raw_inputs);
	void	   *state = c->learner->fit(&m->data, default_hyperparams(c->learner), NULL);
	void	   *loaded = reload(c->learner, state, c->task, F, c->n_classes);
	int			n_outputs = c->n_classes > 0 ? c->n_classes : 1;
	int			n_margins = c->learner->n_margins(state);
	const char *scale = c->learner->margin_scale(state);
	int			stride = F + 1;
	double	   *phi = palloc(sizeof(double) * n_margins * stride);
	double	   *phi_loaded = palloc(sizeof(double) * n_margins * stride);
	double	   *out = palloc(sizeof(double) * n_outputs);
	double	   *margin = palloc(sizeof(double) * n_margins);
	double	   *magnitude = palloc(sizeof(double) * n_margins);
	double	   *x = palloc(sizeof(double) * F);
	char		what[64];
	int			before = n_failures;
	double		worst = 0.0;

	snprintf(what, sizeof(what), "%s %s", c->learner->name,
			 c->task == TASK_REGRESSION ? "regression" : c->n_classes == 2 ? "2 classes" : "3 classes");
	check(n_margins == c->n_margins, what, "%d margins, expected %d", n_margins, c->n_margins);
	check(strcmp(scale, c->scale) == 0, what, "margin scale %s, expected %s", scale, c->scale);
	check(c->learner->n_margins(loaded) == n_margins &&
		  strcmp(c->learner->margin_scale(loaded), scale) == 0, what, "the loaded model's margins differ");

	for (int i = 0; i < n + n_fresh; i++)
	{
		/* the training rows, then fresh ones with unseen levels */
		if (i < n)
			memcpy(x, m->X + i * F, sizeof(double) * F);
		else
		{
			for (int j = 0; j < F; j++)
				x[j] = uniform(-3, 3);
			if (c->learner->raw_inputs)
			{
				double		u = pg_prng_double(&rng);

				x[0] = u < 0.2 ? NAN : x[0];
				x[F - 2] = u < 0.3 ? NAN : u < 0.4 ? 300.0 : u < 0.5 ? 9.0 :
					(double) pg_prng_uint64_range(&rng, 0, N_CATEGORIES - 1);
				x[F - 1] = u < 0.6 ? 1.0 : u < 0.8 ? NAN : -4.0;
			}
		}
		c->learner->predict(state, x, out);
		c->learner->contributions(state, x, phi);
		c->learner->contributions(loaded, x, phi_loaded);
		check(memcmp(phi, phi_loaded, sizeof(double) * n_margins * stride) == 0, what,
			  "row %d: the reloaded model explains it differently", i);
		for (int k = 0; k < n_margins; k++)
		{
			const double *row = phi + k * stride;

			margin[k] = row[F];
			magnitude[k] = fabs(row[F]);
			for (int j = 0; j < F; j++)
			{
				margin[k] += row[j];
				magnitude[k] += fabs(row[j]);
			}
			/* trees never split on the constant input: exactly nothing */
			if (c->learner->raw_inputs)
				check(row[F - 1] == 0.0, what, "row %d: the constant input got %.17g", i, row[F - 1]);
		}
		worst = Max(worst, check_margins(what, scale, n_margins, margin, magnitude, out, n_outputs));
	}
	printf("additivity %-26s %d rows, %d margin%s (%s): %s, worst relative error %.1e\n",
		   what, n + n_fresh, n_margins, n_margins > 1 ? "s" : "", scale,
		   n_failures == before ? "ok" : "FAILED", worst);
	shim_free_all();
}

/* ---- whole tree models against brute force, through their saved bytes ---- */

/*
 * Reads the trees back from a saved gbdt or forest (the layouts of
 * gbdt_save and forest_save) and compares the learner's contributions with
 * the brute-force Shapley values of its whole value function: the base
 * score plus the sum of the trees (gbdt), or their mean (forest).
 */
static void
test_model_exact(const Learner *learner, Task task, int n_classes)
{
	int			F = 5;
	int			n = 300;
	Made	   *m = make_data(n, F, task, n_classes, true);
	void	   *state = learner->fit(&m->data, default_hyperparams(learner), NULL);
	bool		boosted = learner == &gbdt_learner;
	int			n_margins = learner->n_margins(state);
	int			per_round = boosted ? n_margins : 1;
	ByteWriter	w;
	ByteReader	r;
	double	   *base;
	int			n_trees;
	Tree	  **trees;
	int			stride = F + 1;
	double	   *phi = palloc(sizeof(double) * n_margins * stride);
	double		x[MAX_FEATURES];
	char		what[64];
	int			before = n_failures;

	snprintf(what, sizeof(what), "%s %s brute force", learner->name,
			 task == TASK_REGRESSION ? "regression" : n_classes == 2 ? "2 classes" : "3 classes");
	bytes_writer_init(&w);
	learner->save(state, &w);
	bytes_reader_init(&r, w.buf.data, w.buf.len, "test");
	bytes_get_u32(&r);			/* n_features */
	bytes_get_u32(&r);			/* n_classes */
	n_trees = (int) bytes_get_u32(&r);	/* gbdt: rounds */
	base = boosted ? bytes_get_f64_array(&r, n_margins) : palloc0(sizeof(double) * n_margins);
	bytes_get_f64_array(&r, F); /* importances */
	bytes_get_f64_array(&r, F);
	n_trees *= per_round;
	trees = palloc(sizeof(Tree *) * n_trees);
	for (int t = 0; t < n_trees; t++)
		trees[t] = tree_load(&r, F, boosted ? 1 : n_margins);
	bytes_expect_end(&r);

	for (int i = 0; i < 60; i++)
	{
		if (i < 40)
			memcpy(x, m->X + i * F, sizeof(double) * F);
		else
		{
			random_row(x, F, 0);
			x[F - 2] = i % 3 == 0 ? NAN : i % 3 == 1 ? 7.0 : (double) (i % N_CATEGORIES);
		}
		learner->contributions(state, x, phi);
		for (int k = 0; k < n_margins; k++)
		{
			double		v[1 << MAX_FEATURES];
			double		expected[MAX_FEATURES];

			for (unsigned S = 0; S < (1u << F); S++)
				v[S] = base[k];
			for (int t = 0; t < n_trees; t++)
			{
				if (boosted && t % per_round != k)
					continue;
				add_value_function(trees[t], x, F, boosted ? 0 : k, boosted ? 1.0 : 1.0 / n_trees, v);
			}
			shapley(v, F, expected);
			for (int j = 0; j < F; j++)
				check(close_to(phi[k * stride + j], expected[j], expected[j]), what,
					  "row %d margin %d input %d: %.17g, brute force %.17g",
					  i, k, j, phi[k * stride + j], expected[j]);
			check(close_to(phi[k * stride + F], v[0], v[0]), what,
				  "row %d margin %d: base %.17g, brute force %.17g", i, k, phi[k * stride + F], v[0]);
		}
	}
	printf("%-44s %d trees, %d rows: %s\n", what, n_trees, 60, n_failures == before ? "exact" : "FAILED");
	shim_free_all();
}

/*
 * Trees grown by tree_grow as the learners grow them, including three
 * channels (a forest's classes); also checks that each leaf's cover is the
 * summed hessian of the rows that reach it.
 */
static void
test_grown_trees(void)
{
	int			F = 6;
	int			n = 500;
	Made	   *m = make_data(n, F, TASK_REGRESSION, 0, true);
	BinnedData *bd = tree_bin_data(&m->data, 32);
	int64	   *rows = palloc(sizeof(int64) * n);
	double	   *g = palloc(sizeof(double) * n * 3);
	double	   *h = palloc(sizeof(double) * n);
	double	   *gain = palloc0(sizeof(double) * F);
	double	   *splits = palloc0(sizeof(double) * F);
	int			before = n_failures;

	for (int trial = 0; trial < 6; trial++)
	{
		GrowParams	gp = {0};
		Tree	   *t;
		double	   *reached;

		gp.n_channels = trial % 2 == 0 ? 1 : 3;
		gp.max_leaves = trial < 4 ? 0 : 40;
		gp.max_depth = trial < 2 ? 4 : 0;
		gp.min_rows_leaf = 1 + trial;
		gp.min_hessian_leaf = 0.0;
		gp.lambda = trial % 3 == 0 ? 1.0 : 0.0;
		gp.feature_fraction = trial >= 4 ? 0.5 : 1.0;
		gp.random_thresholds = trial == 3;
		gp.max_cat_threshold = 3;
		for (int i = 0; i < n; i++)
		{
			/* a bootstrap: repeats count in the cover */
			rows[i] = trial % 2 == 1 ? (int64) pg_prng_uint64_range(&rng, 0, n - 1) : i;
			for (int c = 0; c < gp.n_channels; c++)
				g[i * gp.n_channels + c] = m->y[i] * (c + 1) + (c == 2 ? uniform(-1, 1) : 0.0);
			h[i] = trial % 2 == 0 ? uniform(0.1, 1.0) : 1.0;
		}
		t = tree_grow(bd, rows, n, g, h, &gp, &rng, gain, splits, NULL, NULL);

		reached = palloc0(sizeof(double) * t->n_leaves);
		for (int i = 0; i < n; i++)
			reached[(tree_leaf(t, m->X + rows[i] * F) - t->leaf_value) / t->n_outputs] += h[rows[i]];
		for (int j = 0; j < t->n_leaves; j++)
			check(close_to(reached[j], t->leaf_cover[j], t->leaf_cover[j]), "grown tree cover",
				  "trial %d leaf %d: rows bring %.17g, cover %.17g", trial, j, reached[j], t->leaf_cover[j]);

		for (int i = 0; i < 80; i++)
		{
			double		x[MAX_FEATURES];

			if (i < 50)
				memcpy(x, m->X + i * F, sizeof(double) * F);
			else
			{
				random_row(x, F, 0);
				x[F - 2] = i % 4 == 0 ? NAN : i % 4 == 1 ? 300.0 : (double) (i % N_CATEGORIES);
			}
			check_tree_exact(t, x, F, "grown tree");
		}
	}
	printf("trees grown by tree_grow (6 settings, 1 and 3 channels): %s\n",
		   n_failures == before ? "exact, covers are the rows' hessians" : "FAILED");
	shim_free_all();
}

int
main(void)
{
	jmp_buf		jump;
	static const Case cases[] = {
		{&ridge_learner, TASK_REGRESSION, 0, MARGIN_VALUE, 1},
		{&logistic_learner, TASK_CLASSIFICATION, 2, MARGIN_LOG_ODDS, 1},
		{&logistic_learner, TASK_CLASSIFICATION, 3, MARGIN_LOGIT, 3},
		{&gbdt_learner, TASK_REGRESSION, 0, MARGIN_VALUE, 1},
		{&gbdt_learner, TASK_CLASSIFICATION, 2, MARGIN_LOG_ODDS, 1},
		{&gbdt_learner, TASK_CLASSIFICATION, 3, MARGIN_LOGIT, 3},
		{&random_forest_learner, TASK_REGRESSION, 0, MARGIN_VALUE, 1},
		{&random_forest_learner, TASK_CLASSIFICATION, 2, MARGIN_PROBABILITY, 2},
		{&random_forest_learner, TASK_CLASSIFICATION, 3, MARGIN_PROBABILITY, 3},
		{&extra_trees_learner, TASK_REGRESSION, 0, MARGIN_VALUE, 1},
		{&extra_trees_learner, TASK_CLASSIFICATION, 2, MARGIN_PROBABILITY, 2},
		{&extra_trees_learner, TASK_CLASSIFICATION, 3, MARGIN_PROBABILITY, 3},
	};

	setvbuf(stdout, NULL, _IOLBF, 0);	/* progress stays visible if a sanitizer stops the run */
	pg_prng_seed(&rng, 20240611);
	shim_set_error_jump(&jump);
	if (setjmp(jump) != 0)
	{
		fprintf(stderr, "FAIL: an error was raised (run with FUZZ_VERBOSE=1 for where)\n");
		return 1;
	}

	test_single_leaf();
	test_random_trees();
	test_grown_trees();
	for (size_t i = 0; i < lengthof(cases); i++)
		test_additivity(&cases[i]);
	test_model_exact(&gbdt_learner, TASK_REGRESSION, 0);
	test_model_exact(&gbdt_learner, TASK_CLASSIFICATION, 2);
	test_model_exact(&gbdt_learner, TASK_CLASSIFICATION, 3);
	test_model_exact(&random_forest_learner, TASK_REGRESSION, 0);
	test_model_exact(&random_forest_learner, TASK_CLASSIFICATION, 3);
	test_model_exact(&extra_trees_learner, TASK_CLASSIFICATION, 2);

	if (n_failures > 0)
	{
		printf("test_explain: %d of %d checks FAILED\n", n_failures, n_checks);
		return 1;
	}
	printf("test_explain: all %d checks passed\n", n_checks);
	return 0;
}
