/*
 * tree.h: the histogram tree core shared by gradient boosting, random forest
 * and extra trees (gbdt.c, forest.c).
 *
 * Features are binned once per fit: at most 255 value bins from quantiles of
 * (a sample of) the training values, plus bin 0 for missing values; a
 * categorical feature's bins are its categories. A tree is grown best-first
 * (leaf-wise) from per-row "gradient" channels and a per-row hessian:
 * boosting passes one channel, the negative gradient, and the hessian;
 * forests pass the target (or one channel per class) with a hessian of 1.
 * Leaves hold sum(g) / (sum(h) + lambda) per channel, and their cover,
 * sum(h). Finished trees are flat arrays, walked on raw values, so
 * prediction and explanation need no bins.
 */
#ifndef AUTOML_TREE_H
#define AUTOML_TREE_H

#include "postgres.h"
#include "common/bytes.h"
#include "common/pg_prng.h"
#include "learn/learner.h"

/* The most nodes a stored tree may have: growth stops there, the loader refuses more. */
#define TREE_MAX_STORED_NODES 10000000

#define TREE_MAX_BINS 256			/* including bin 0, for missing values */
#define TREE_BIN_SAMPLE 50000		/* values sorted per feature for its bin edges */

/*
 * Bins of every row and feature. Built once per training run (see
 * tree_bins_create) and shared by every fit, fold and refit, which take
 * subsets of its rows; or by a fit of its own from a Dataset's X.
 */
typedef struct BinnedData
{
	int64		n_rows;
	int			n_features;
	int			max_bins;			/* the value bins it was built with (2..255) */
	uint8	   *bins;				/* row-major: bins[row * n_features + f], for histograms */
	uint8	   *columns;			/* feature-major: columns[f * n_rows + row], for partitions */
	int		   *n_bins;				/* per feature, including bin 0 */
	bool	   *categorical;
	double	  **upper;				/* numeric: bin b >= 1 holds values <= upper[f][b] */
} BinnedData;

#define TREE_MAX_THREADS 64

/*
 * Threads that build histograms over shares of a node's rows. They run only
 * arithmetic on buffers allocated beforehand: no PostgreSQL call, and all
 * signals blocked. automl.threads sets their number (0: the machine's cores).
 */
typedef struct TreeThreads
{
	int			n_threads;
	double	   *buffers[TREE_MAX_THREADS];	/* private histograms, [0] unused */
	double	   *g_ordered;		/* one channel: a node's gradients in its row order */
	double	   *h_ordered;
} TreeThreads;

extern int	automl_threads;
extern int	automl_max_threads;
extern int	tree_thread_count(void);

/* Bins the dataset's features (NaN = missing; categories as level indices). */
extern BinnedData *tree_bin_data(const Dataset *data, int max_bins);

/*
 * Bins built feature by feature: create, then for each feature its edges
 * (from a sample of its values, or its category count) and every row's
 * value, then finish (the row-major copy).
 */
extern BinnedData *tree_bins_create(int64 n_rows, int n_features, int max_bins);
extern void tree_bins_set_edges(BinnedData *bd, int f, double *sample, int64 m, int n_categories);
extern void tree_bins_put(BinnedData *bd, int f, int64 row, double v);
extern void tree_bins_finish(BinnedData *bd);

/* The bins of a fit's data: its shared binned rows, or its X binned now (see Dataset). */
extern BinnedData *tree_bins_of(const Dataset *data, int max_bins, const int64 **rows);

typedef struct GrowParams
{
	int			n_channels;
	int			max_leaves;			/* 0: no limit */
	int			max_depth;			/* 0: no limit */
	int			min_rows_leaf;
	double		min_hessian_leaf;
	double		lambda;				/* L2 on leaf values */
	double		alpha;				/* L1 on leaf values */
	double		feature_fraction;	/* features tried per split (0 < f <= 1) */
	bool		random_thresholds;	/* extra trees: one random threshold per feature */
	int			max_cat_threshold;	/* most categories sent left by one split */
} GrowParams;

/* An internal node, packed so that a walk touches one cache line per node. */
typedef struct TreeNode
{
	double		threshold;			/* numeric: go left when x <= threshold */
	int32		feature;
	int32		left;				/* >= 0: a node; < 0: leaf -(left + 1) */
	int32		right;
	uint8		flags;				/* TREE_DEFAULT_LEFT, TREE_CATEGORICAL */
	uint8		bin;				/* while training: numeric splits send bins <= bin left */
} TreeNode;

/*
 * A grown tree, flat. Leaves are referenced as -(leaf + 1); a child's index
 * is always larger than its parent's.
 *
 * Cover is the sum of the hessian of the training rows that reached a node
 * (as XGBoost's): boosting's hessians, forests' weights (1 per row, bootstrap
 * repeats counted, or the class weight). Explanations use it to average over
 * a split whose input is left out. Only leaf covers are stored; an internal
 * node's is the sum of its children's, derived by tree_derive_covers().
 */
typedef struct Tree
{
	int			n_nodes;			/* internal nodes; 0 when the tree is one leaf */
	int			n_leaves;
	int			n_outputs;			/* values per leaf */
	TreeNode   *nodes;
	uint64	   *categories;			/* 4 words per node: categories going left */
	double	   *leaf_value;			/* n_leaves x n_outputs */
	double	   *leaf_cover;			/* n_leaves */
	double	   *cover;				/* n_nodes, derived from leaf_cover */
	int			depth;				/* edges from the root to the deepest leaf, derived */
} Tree;

#define TREE_DEFAULT_LEFT 1
#define TREE_CATEGORICAL 2

/*
 * Grows one tree on rows[0..n_rows) (repeats allowed: bootstrap). g holds
 * n_channels values per row of the data (row-major), h one per row.
 * gain_out and splits_out, per feature, are incremented by the tree's splits.
 * When leaf_of_row is not NULL, leaf_of_row[row] gets the leaf of each row
 * grown on, so a booster can update its scores without walking the tree.
 */
extern Tree *tree_grow(const BinnedData *bins, const int64 *rows, int64 n_rows,
					   const double *g, const double *h, const GrowParams *params,
					   pg_prng_state *rng, double *gain_out, double *splits_out,
					   TreeThreads *threads, int32 *leaf_of_row);

/* Histogram threads for this binned data and channel count (see automl.threads). */
extern TreeThreads *tree_threads_create(const BinnedData *bins, int n_channels);

/*
 * Whether x (raw model inputs) goes to the left child of internal node
 * node: the one rule that prediction and explanation share, so that they
 * never disagree. Missing values (NaN) take the node's default direction;
 * so does a category outside 0..255, which no split has seen.
 */
static inline bool
tree_goes_left(const Tree *tree, int32 node, const double *x)
{
	const TreeNode *n = &tree->nodes[node];
	double		v = x[n->feature];

	if (likely(n->flags == 0 || n->flags == TREE_DEFAULT_LEFT) && v == v)
		return v <= n->threshold;	/* numeric, not missing: the common case */
	if (v != v)					/* NaN: missing */
		return (n->flags & TREE_DEFAULT_LEFT) != 0;
	if (v > -1.0 && v < 256.0)
	{
		int			c = (int) v;	/* a level index; truncated as a cast always did */

		return (tree->categories[(size_t) node * 4 + c / 64] >> (c % 64)) & 1;
	}
	return (n->flags & TREE_DEFAULT_LEFT) != 0;
}

/* The leaf values of x (raw model inputs) in tree. */
static inline const double *
tree_leaf(const Tree *tree, const double *x)
{
	int32		node = tree->n_nodes > 0 ? 0 : -1;

	while (node >= 0)
		node = tree_goes_left(tree, node, x) ? tree->nodes[node].left : tree->nodes[node].right;
	return tree->leaf_value + (size_t) (-node - 1) * tree->n_outputs;
}

/* One step of a walk: the child of node that x goes to (see tree_goes_left). */
static inline int32
tree_step(const Tree *tree, int32 node, const double *x)
{
	const TreeNode *n = &tree->nodes[node];
	double		v = x[n->feature];
	bool		left;

	if (likely((n->flags & TREE_CATEGORICAL) == 0))
		left = (v <= n->threshold) | ((v != v) & ((n->flags & TREE_DEFAULT_LEFT) != 0));
	else
		left = tree_goes_left(tree, node, x);
	return left ? n->left : n->right;
}

/* The leaf values of row of the binned data the tree was grown on. */
static inline const double *
tree_leaf_binned(const Tree *tree, const BinnedData *bd, int64 row)
{
	int32		node = tree->n_nodes > 0 ? 0 : -1;

	while (node >= 0)
	{
		const TreeNode *n = &tree->nodes[node];
		int			b = bd->columns[(size_t) n->feature * bd->n_rows + row];
		bool		left;

		if (b == 0)
			left = (n->flags & TREE_DEFAULT_LEFT) != 0;
		else if (n->flags & TREE_CATEGORICAL)
			left = (tree->categories[(size_t) node * 4 + (b - 1) / 64] >> ((b - 1) % 64)) & 1;
		else
			left = b <= n->bin;
		node = left ? n->left : n->right;
	}
	return tree->leaf_value + (size_t) (-node - 1) * tree->n_outputs;
}

/*
 * ---- the serving layout ----
 *
 * Trees laid out for scoring, built once when a model is fitted or loaded:
 * every tree's nodes in one array, leaves as nodes that lead to themselves
 * (a threshold of +infinity, missing values left), so that a walk is a fixed
 * number of branch-free steps (the tree's depth), and four trees are walked
 * at once, four independent chains of loads. A tree with a categorical split
 * is walked the usual way (tree_leaf).
 */
typedef struct ServeNode
{
	double		threshold;
	int32		feature;
	int32		child[2];			/* [0] left, [1] right: indexes into the layout's nodes */
	uint8		default_left;
} ServeNode;

typedef struct ServeTrees
{
	int			n_trees;
	int			n_outputs;			/* values per leaf */
	const Tree *const *trees;		/* the trees, for categorical ones */
	int		   *root;				/* per tree: its root's node, or -1: walk the Tree */
	int		   *depth;
	ServeNode  *nodes;
	double	   *value;				/* per node, n_outputs: a leaf's values */
} ServeTrees;

/* The serving layout of trees[0], trees[stride], ... (n trees), in the current context. */
extern ServeTrees *tree_serve_build(Tree *const *trees, int n, int stride);

/*
 * Adds the first leaf value of x in each tree of st to score, in tree order
 * (so that the sum rounds as one tree after another would).
 */
extern double tree_serve_add(const ServeTrees *st, double score, const double *x);

/* Adds every leaf value of x in each tree of st to out[0..n_outputs), in tree order. */
extern void tree_serve_add_all(const ServeTrees *st, double *out, const double *x);

/*
 * Derives the internal nodes' covers from the leaves' and the depth; false
 * when a cover is negative or not finite. tree_grow and tree_load call it;
 * so must anything else that builds a Tree by hand (tests).
 */
extern bool tree_derive_covers(Tree *tree);

/*
 * Adds scale times the exact path-dependent SHAP values of x in tree
 * (TreeSHAP: Lundberg, Erion and Lee 2018, Algorithm 2) to phi, which is
 * n_outputs x (n_features + 1), row-major: phi[c * (n_features + 1) + j] gets
 * input j's contribution to output c, phi[c * (n_features + 1) + n_features]
 * the tree's expected output (leaves averaged by cover). For every output,
 * the contributions plus the expected output are the leaf value of x.
 *
 * Inputs left out of a coalition are averaged over as the training rows were
 * split (cover), so an input the tree never splits on gets exactly 0.
 */
extern void tree_contributions(const Tree *tree, const double *x, int n_features,
							   double scale, double *phi);

extern void tree_save(const Tree *tree, ByteWriter *w);

/* Reads a tree and checks every index against n_features and its own sizes. */
extern Tree *tree_load(ByteReader *r, int n_features, int n_outputs);

/* Per-feature importance as JSON members: "importance_gain", "importance_splits". */
extern void tree_importance_json(JsonBuilder *json, const double *gain, const double *splits,
								 int n_features);

/* ---- inside the tree core: histograms (tree_hist.c) for growth (tree_grow.c) ---- */

/* One histogram entry: n_channels sums of g, then the sum of h, then the row count. */
#define ENTRY(C) ((C) + 2)

typedef struct HistLayout
{
	int		   *offset;			/* per feature, first entry */
	int			total_bins;
	int			entry;			/* doubles per entry */
} HistLayout;

/*
 * Sums rows[0..n)'s g and h per bin of the listed features (all of them
 * when features is NULL) into hist, over the threads when there are enough
 * rows.
 */
extern void tree_build_histogram(const BinnedData *bd, const HistLayout *layout, const int *features,
								 int n_features, const int64 *rows, int64 n, const double *g,
								 const double *h, int C, double *hist, TreeThreads *threads);

#endif							/* AUTOML_TREE_H */
