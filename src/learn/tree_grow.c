/*
 * tree_grow.c: best-first (leaf-wise) growth of one tree: split finding on histograms
 * (numeric thresholds with a learned missing direction, categorical
 * partitions), histogram subtraction, and the flat tree it makes.
 */
#include "postgres.h"

#include <math.h>

#include "common/budget.h"
#include "learn/tree.h"
#include "miscadmin.h"
#include "utils/memutils.h"

/* ---- split finding ---- */

typedef struct Split
{
	double		gain;			/* -inf: no valid split */
	int			feature;
	int			bin;			/* numeric: bins 1..bin go left */
	bool		default_left;
	bool		categorical;
	uint64		categories[4];	/* categorical: category indices going left */
} Split;

static inline double
threshold_l1(double g, double alpha)
{
	if (g > alpha)
		return g - alpha;
	if (g < -alpha)
		return g + alpha;
	return 0.0;
}

/* The score of a side: sum over channels of T(G)^2 / (H + lambda). */
static inline double
side_score(const double *sums, int C, double lambda, double alpha)
{
	double		s = 0.0;

	for (int c = 0; c < C; c++)
	{
		double		t = threshold_l1(sums[c], alpha);

		s += t * t / (sums[C] + lambda);
	}
	return s;
}

static inline bool
side_ok(const double *sums, int C, const GrowParams *p)
{
	return sums[C + 1] >= p->min_rows_leaf && sums[C] >= p->min_hessian_leaf && sums[C + 1] > 0;
}

/* Tries left = L (+ missing when missing_left): keeps it in best when better. */
static bool
try_split(const double *L, const double *total, const double *missing, bool missing_left,
		  int C, const GrowParams *p, double parent_score, double *best_gain)
{
	double		left[TREE_MAX_BINS];	/* C + 2 <= a class count + 2 */
	double		right[TREE_MAX_BINS];
	double		gain;

	if (C == 1)
	{
		/* boosting: one channel, the common case, without the loops */
		double		lg = L[0] + (missing_left ? missing[0] : 0.0);
		double		lh = L[1] + (missing_left ? missing[1] : 0.0);
		double		ln = L[2] + (missing_left ? missing[2] : 0.0);
		double		rg = total[0] - lg,
					rh = total[1] - lh,
					rn = total[2] - ln;
		double		tl,
					tr;

		if (ln < p->min_rows_leaf || rn < p->min_rows_leaf || ln <= 0 || rn <= 0 ||
			lh < p->min_hessian_leaf || rh < p->min_hessian_leaf)
			return false;
		tl = threshold_l1(lg, p->alpha);
		tr = threshold_l1(rg, p->alpha);
		gain = tl * tl / (lh + p->lambda) + tr * tr / (rh + p->lambda) - parent_score;
		if (gain > *best_gain)
		{
			*best_gain = gain;
			return true;
		}
		return false;
	}

	for (int c = 0; c < C + 2; c++)
	{
		left[c] = L[c] + (missing_left ? missing[c] : 0.0);
		right[c] = total[c] - left[c];
	}
	if (!side_ok(left, C, p) || !side_ok(right, C, p))
		return false;
	gain = side_score(left, C, p->lambda, p->alpha) + side_score(right, C, p->lambda, p->alpha) - parent_score;
	if (gain > *best_gain)
	{
		*best_gain = gain;
		return true;
	}
	return false;
}

typedef struct CategoryOrder
{
	int			category;
	double		key;
} CategoryOrder;

static int
compare_category_order(const void *a, const void *b)
{
	double		x = ((const CategoryOrder *) a)->key;
	double		y = ((const CategoryOrder *) b)->key;

	return (x > y) - (x < y);
}

static void
find_split_in_feature(const BinnedData *bd, int f, const double *H, const double *total,
					  int C, const GrowParams *p, pg_prng_state *rng, Split *best)
{
	int			E = ENTRY(C);
	int			nb = bd->n_bins[f];
	const double *missing = H;	/* bin 0 */
	double		parent_score = side_score(total, C, p->lambda, p->alpha);
	double		cum[TREE_MAX_BINS];

	if (!bd->categorical[f])
	{
		int			lo = -1,
					hi = -1,
					chosen;

		for (int b = 1; b < nb; b++)
		{
			if (H[b * E + C + 1] > 0)
			{
				if (lo < 0)
					lo = b;
				hi = b;
			}
		}
		if (lo < 0 || (lo == hi && missing[C + 1] == 0))
			return;				/* one value (or none), nothing missing */
		memset(cum, 0, sizeof(double) * E);
		/* extra trees: one random threshold among the values present */
		chosen = p->random_thresholds ?
			lo + (int) pg_prng_uint64_range(rng, 0, Max(hi - lo - 1, 0)) : -1;
		for (int b = 1; b <= hi; b++)
		{
			for (int c = 0; c < E; c++)
				cum[c] += H[b * E + c];
			if (b < lo)
				continue;
			if (p->random_thresholds && b != chosen && b != hi)
				continue;
			for (int side = 0; side < 2; side++)
			{
				/*
				 * Missing values go left or right, whichever gains more; with
				 * none in the node, where most rows go. At the last value bin
				 * the split is "missing or not".
				 */
				bool		missing_left = side == 0;

				if ((missing[C + 1] == 0 && side == 1) ||
					(b == hi && (missing[C + 1] == 0 || missing_left)))
					continue;
				if (try_split(cum, total, missing, missing_left, C, p, parent_score, &best->gain))
				{
					best->feature = f;
					best->bin = b;
					best->categorical = false;
					best->default_left = missing[C + 1] > 0 ? missing_left :
						cum[C + 1] >= total[C + 1] - cum[C + 1];
				}
			}
		}
		return;
	}
	else
	{
		CategoryOrder order[TREE_MAX_BINS];
		int			n_present = 0;
		int			limit;

		for (int b = 1; b < nb; b++)
		{
			const double *e = H + b * E;

			if (e[C + 1] <= 0)
				continue;
			order[n_present].category = b - 1;
			/* boosting and forests alike: order by the first channel's mean, smoothed */
			order[n_present].key = p->random_thresholds ? (double) pg_prng_uint64(rng) :
				e[0] / (e[C] + 10.0);
			n_present++;
		}
		if (n_present < 2)
			return;
		qsort(order, n_present, sizeof(CategoryOrder), compare_category_order);
		limit = Min(n_present - 1, p->max_cat_threshold);
		if (p->random_thresholds)
			limit = 1 + (int) pg_prng_uint64_range(rng, 0, limit - 1);
		memset(cum, 0, sizeof(double) * E);
		for (int k = 0; k < limit; k++)
		{
			const double *e = H + (order[k].category + 1) * E;

			for (int c = 0; c < E; c++)
				cum[c] += e[c];
			if (p->random_thresholds && k != limit - 1)
				continue;
			for (int side = 0; side < 2; side++)
			{
				bool		missing_left = side == 0;

				if (missing[C + 1] == 0 && side == 1)
					break;
				if (try_split(cum, total, missing, missing_left, C, p, parent_score, &best->gain))
				{
					best->feature = f;
					best->categorical = true;
					best->default_left = missing[C + 1] > 0 ? missing_left : false;
					memset(best->categories, 0, sizeof(best->categories));
					for (int j = 0; j <= k; j++)
						best->categories[order[j].category / 64] |= UINT64CONST(1) << (order[j].category % 64);
				}
			}
		}
	}
}

/* ---- growth ---- */

typedef struct GrowNode
{
	int64		start;			/* rows: idx[start .. start + n) */
	int64		n;
	int			depth;
	double	   *hist;			/* NULL when not kept */
	double		sums[TREE_MAX_BINS];	/* C channels, h, count */
	Split		split;
	int32		parent;			/* internal node index, -1 for the root */
	bool		is_left;
} GrowNode;

typedef struct TreeBuilder
{
	Tree	   *tree;
	int			capacity;		/* internal nodes */
	int			leaf_capacity;
} TreeBuilder;

static void
attach(TreeBuilder *tb, const GrowNode *node, int32 ref)
{
	Tree	   *t = tb->tree;

	if (node->parent < 0)
		return;
	if (node->is_left)
		t->nodes[node->parent].left = ref;
	else
		t->nodes[node->parent].right = ref;
}

static void
make_leaf(TreeBuilder *tb, const GrowNode *node, int C, const GrowParams *p)
{
	Tree	   *t = tb->tree;

	if (t->n_leaves == tb->leaf_capacity)
	{
		tb->leaf_capacity *= 2;
		t->leaf_value = repalloc_huge(t->leaf_value, sizeof(double) * C * tb->leaf_capacity);
		t->leaf_cover = repalloc_huge(t->leaf_cover, sizeof(double) * tb->leaf_capacity);
	}
	for (int c = 0; c < C; c++)
		t->leaf_value[(size_t) t->n_leaves * C + c] =
			threshold_l1(node->sums[c], p->alpha) / (node->sums[C] + p->lambda);
	t->leaf_cover[t->n_leaves] = node->sums[C];
	attach(tb, node, -(t->n_leaves + 1));
	t->n_leaves++;
}

static int32
make_internal(TreeBuilder *tb, const GrowNode *node, const BinnedData *bd)
{
	Tree	   *t = tb->tree;
	int32		id = t->n_nodes;
	const Split *s = &node->split;

	if (id == tb->capacity)
	{
		tb->capacity *= 2;
		t->nodes = repalloc_huge(t->nodes, sizeof(TreeNode) * tb->capacity);
		t->categories = repalloc_huge(t->categories, sizeof(uint64) * 4 * tb->capacity);
	}
	t->nodes[id].feature = s->feature;
	t->nodes[id].threshold = s->categorical ? 0.0 : bd->upper[s->feature][s->bin];
	t->nodes[id].bin = s->categorical ? 0 : (uint8) s->bin;
	t->nodes[id].flags = (s->default_left ? TREE_DEFAULT_LEFT : 0) | (s->categorical ? TREE_CATEGORICAL : 0);
	memcpy(t->categories + (size_t) id * 4, s->categories, sizeof(s->categories));
	t->nodes[id].left = t->nodes[id].right = 0;
	attach(tb, node, id);
	t->n_nodes++;
	return id;
}

static inline bool
row_goes_left(const BinnedData *bd, const Split *s, int64 row)
{
	int			b = bd->columns[(size_t) s->feature * bd->n_rows + row];

	if (b == 0)
		return s->default_left;
	if (s->categorical)
		return (s->categories[(b - 1) / 64] >> ((b - 1) % 64)) & 1;
	return b <= s->bin;
}

typedef struct GrowContext
{
	const BinnedData *bd;
	const double *g;
	const double *h;
	const GrowParams *p;
	pg_prng_state *rng;
	HistLayout	layout;
	int64	   *idx;
	int64	   *right;			/* a partition's right rows, before they go back into idx */
	int		   *all_features;
	int		   *sampled;
	bool		keep_histograms;
	double	   *scratch;		/* the histogram of a node when none is kept */
	TreeThreads *threads;
} GrowContext;

/* The best split of a node; builds its histogram when it has none. */
static void
evaluate(GrowContext *gc, GrowNode *node)
{
	const GrowParams *p = gc->p;
	int			C = p->n_channels;
	int			d = gc->bd->n_features;
	int			n_try = d;
	const int  *features = gc->all_features;
	double	   *hist = node->hist;

	node->split.gain = -INFINITY;
	if (node->n < 2 * p->min_rows_leaf || (p->max_depth > 0 && node->depth >= p->max_depth))
		return;

	if (p->feature_fraction < 1.0)
	{
		/* a fresh random subset of features for every split (forests) */
		n_try = Max(1, (int) (p->feature_fraction * d + 0.5));
		for (int k = 0; k < d; k++)
			gc->sampled[k] = k;
		for (int k = 0; k < n_try; k++)
		{
			int			j = k + (int) pg_prng_uint64_range(gc->rng, 0, d - 1 - k);
			int			t = gc->sampled[k];

			gc->sampled[k] = gc->sampled[j];
			gc->sampled[j] = t;
		}
		features = gc->sampled;
	}
	if (hist == NULL)
	{
		hist = gc->keep_histograms ?
			palloc(sizeof(double) * gc->layout.total_bins * gc->layout.entry) : gc->scratch;
		tree_build_histogram(gc->bd, &gc->layout, features, n_try, gc->idx + node->start, node->n,
						gc->g, gc->h, C, hist, gc->threads);
	}
	for (int k = 0; k < n_try; k++)
	{
		int			f = features[k];

		find_split_in_feature(gc->bd, f, hist + (size_t) gc->layout.offset[f] * gc->layout.entry,
							  node->sums, C, p, gc->rng, &node->split);
	}
	if (gc->keep_histograms)
		node->hist = hist;
}

/* The growth context of one tree: its histogram layout, row order and features. */
static void
grow_start(GrowContext *gc, const BinnedData *bd, const int64 *rows, int64 n_rows,
		   const double *g, const double *h, const GrowParams *p, pg_prng_state *rng,
		   TreeThreads *threads)
{
	int			d = bd->n_features;

	gc->bd = bd;
	gc->g = g;
	gc->h = h;
	gc->p = p;
	gc->rng = rng;
	gc->threads = threads;
	gc->layout.offset = palloc(sizeof(int) * d);
	gc->layout.total_bins = 0;
	gc->layout.entry = ENTRY(p->n_channels);
	for (int f = 0; f < d; f++)
	{
		gc->layout.offset[f] = gc->layout.total_bins;
		gc->layout.total_bins += bd->n_bins[f];
	}
	gc->idx = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(n_rows, 1));
	memcpy(gc->idx, rows, sizeof(int64) * n_rows);
	gc->right = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(n_rows, 1));
	gc->all_features = palloc(sizeof(int) * d);
	gc->sampled = palloc(sizeof(int) * d);
	for (int f = 0; f < d; f++)
		gc->all_features[f] = f;
	/* subtraction needs every feature's histogram; forests sample features instead */
	gc->keep_histograms = p->feature_fraction >= 1.0;
	gc->scratch = gc->keep_histograms ? NULL :
		MemoryContextAllocHuge(CurrentMemoryContext,
							   sizeof(double) * gc->layout.total_bins * gc->layout.entry);
}

static void
grow_end(GrowContext *gc)
{
	pfree(gc->idx);
	pfree(gc->right);
	if (gc->scratch)
		pfree(gc->scratch);
	pfree(gc->layout.offset);
	pfree(gc->all_features);
	pfree(gc->sampled);
}

static Tree *
builder_start(TreeBuilder *tb, int C)
{
	Tree	   *t = palloc0(sizeof(Tree));

	t->n_outputs = C;
	tb->tree = t;
	tb->capacity = 16;
	tb->leaf_capacity = 16;
	t->nodes = palloc0(sizeof(TreeNode) * tb->capacity);
	t->categories = palloc(sizeof(uint64) * 4 * tb->capacity);
	t->leaf_value = palloc(sizeof(double) * C * tb->leaf_capacity);
	t->leaf_cover = palloc(sizeof(double) * tb->leaf_capacity);
	return t;
}

/* The root: every row, with its sums, evaluated. */
static void
root_node(GrowContext *gc, int64 n_rows, GrowNode *root)
{
	int			C = gc->p->n_channels;

	memset(root, 0, sizeof(GrowNode));
	root->n = n_rows;
	root->parent = -1;
	for (int64 i = 0; i < n_rows; i++)
	{
		const double *gr = gc->g + gc->idx[i] * C;

		for (int c = 0; c < C; c++)
			root->sums[c] += gr[c];
		root->sums[C] += gc->h[gc->idx[i]];
	}
	root->sums[C + 1] = (double) n_rows;
	evaluate(gc, root);
}

/*
 * Splits node (already made internal node node_id): partitions its rows in
 * place, and gives each child its sums and, when histograms are kept, its
 * histogram (the smaller child's built, the larger's the parent's minus it).
 */
static void
split_node(GrowContext *gc, GrowNode *node, int32 node_id, GrowNode *children)
{
	const BinnedData *bd = gc->bd;
	int			C = gc->p->n_channels;
	int64		lo = node->start;
	int64		n_right = 0;
	int			small;

	/*
	 * A stable partition: the left rows stay in place, the right ones go
	 * through a buffer, so that every node's rows stay in ascending order and
	 * histograms and later partitions read the bins forward, not at random.
	 */
	for (int64 i = node->start; i < node->start + node->n; i++)
	{
		int64		row = gc->idx[i];

		if (row_goes_left(bd, &node->split, row))
			gc->idx[lo++] = row;
		else
			gc->right[n_right++] = row;
	}
	memcpy(gc->idx + lo, gc->right, sizeof(int64) * n_right);
	memset(children, 0, sizeof(GrowNode) * 2);
	children[0].start = node->start;
	children[0].n = lo - node->start;
	children[1].start = lo;
	children[1].n = node->start + node->n - lo;
	for (int k = 0; k < 2; k++)
	{
		children[k].depth = node->depth + 1;
		children[k].parent = node_id;
		children[k].is_left = (k == 0);
	}
	if (node->hist != NULL)
	{
		/* the children's sums are the parent's histogram bins of the split feature */
		int			f = node->split.feature;
		const double *H = node->hist + (size_t) gc->layout.offset[f] * gc->layout.entry;

		for (int b = 0; b < bd->n_bins[f]; b++)
		{
			bool		left = b == 0 ? node->split.default_left :
				node->split.categorical ? (node->split.categories[(b - 1) / 64] >> ((b - 1) % 64)) & 1 :
				b <= node->split.bin;
			GrowNode   *child = &children[left ? 0 : 1];

			for (int c = 0; c < C + 1; c++)
				child->sums[c] += H[b * gc->layout.entry + c];
		}
	}
	else
	{
		for (int k = 0; k < 2; k++)
		{
			for (int64 i = children[k].start; i < children[k].start + children[k].n; i++)
			{
				int64		row = gc->idx[i];
				const double *gr = gc->g + row * C;

				for (int c = 0; c < C; c++)
					children[k].sums[c] += gr[c];
				children[k].sums[C] += gc->h[row];
			}
		}
	}
	children[0].sums[C + 1] = (double) children[0].n;
	children[1].sums[C + 1] = (double) children[1].n;

	small = children[0].n <= children[1].n ? 0 : 1;
	if (node->hist != NULL)
	{
		size_t		size = (size_t) gc->layout.total_bins * gc->layout.entry;
		double	   *hs = palloc(sizeof(double) * size);

		tree_build_histogram(bd, &gc->layout, gc->all_features, bd->n_features,
							 gc->idx + children[small].start, children[small].n, gc->g, gc->h, C, hs,
							 gc->threads);
		for (size_t j = 0; j < size; j++)
			node->hist[j] -= hs[j];
		children[small].hist = hs;
		children[1 - small].hist = node->hist;
	}
}

Tree *
tree_grow(const BinnedData *bd, const int64 *rows, int64 n_rows,
		  const double *g, const double *h, const GrowParams *p,
		  pg_prng_state *rng, double *gain_out, double *splits_out, TreeThreads *threads,
		  int32 *leaf_of_row)
{
	int			C = p->n_channels;
	GrowContext gc;
	TreeBuilder tb;
	Tree	   *t;
	int			frontier_capacity = 64;
	GrowNode   *frontier = palloc(sizeof(GrowNode) * frontier_capacity);
	int			n_frontier = 1;
	int			n_leaves_open = 1;

	Assert(C + 2 <= TREE_MAX_BINS);
	grow_start(&gc, bd, rows, n_rows, g, h, p, rng, threads);
	t = builder_start(&tb, C);
	root_node(&gc, n_rows, &frontier[0]);

	while (n_frontier > 0)
	{
		int			pick = n_frontier - 1;
		GrowNode	node;
		GrowNode	children[2];

		CHECK_FOR_INTERRUPTS();
		/* best-first with a leaf budget; otherwise the order does not matter: depth-first */
		if (p->max_leaves > 0)
		{
			for (int k = 0; k < n_frontier; k++)
			{
				if (frontier[k].split.gain > frontier[pick].split.gain)
					pick = k;
			}
		}
		node = frontier[pick];
		frontier[pick] = frontier[--n_frontier];

		if (!(node.split.gain > 1e-12) || (p->max_leaves > 0 && n_leaves_open >= p->max_leaves) ||
			t->n_nodes >= TREE_MAX_STORED_NODES)
		{
			if (leaf_of_row)
			{
				for (int64 i = node.start; i < node.start + node.n; i++)
					leaf_of_row[gc.idx[i]] = t->n_leaves;
			}
			make_leaf(&tb, &node, C, p);
			if (node.hist)
				pfree(node.hist);
			continue;
		}

		make_internal(&tb, &node, bd);
		gain_out[node.split.feature] += node.split.gain;
		splits_out[node.split.feature] += 1.0;
		split_node(&gc, &node, t->n_nodes - 1, children);
		n_leaves_open++;
		for (int k = 0; k < 2; k++)
		{
			evaluate(&gc, &children[k]);
			if (!(children[k].split.gain > 1e-12) && children[k].hist)
			{
				pfree(children[k].hist);
				children[k].hist = NULL;
			}
			if (n_frontier == frontier_capacity)
			{
				frontier_capacity *= 2;
				frontier = repalloc(frontier, sizeof(GrowNode) * frontier_capacity);
			}
			frontier[n_frontier++] = children[k];
		}
		budget_note();			/* the frontier's histograms */
	}
	grow_end(&gc);
	pfree(frontier);
	if (!tree_derive_covers(t))
		elog(ERROR, "a grown tree has a cover that is negative or not finite");
	return t;
}
