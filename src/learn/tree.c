/*
 * tree.c: binning, histograms, split finding and best-first growth of one
 * tree, the flat tree's stored form, and its explanations: covers and
 * path-dependent TreeSHAP (see tree.h).
 */
#include "postgres.h"

#include <math.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "learn/tree.h"
#include "common/sort_doubles.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#define BIN_SAMPLE 50000			/* values sorted per input for its bin edges */
#define MAX_STORED_NODES 10000000

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

/* ---- histograms ---- */

/* One histogram entry: n_channels sums of g, then the sum of h, then the row count. */
#define ENTRY(C) ((C) + 2)

typedef struct HistLayout
{
	int		   *offset;			/* per feature, first entry */
	int			total_bins;
	int			entry;			/* doubles per entry */
} HistLayout;

/*
 * Adds rows[0..n) into hist for the listed features (all of them when
 * features is NULL). Row-major bins make each row's bins one contiguous read;
 * the histograms, a few hundred kilobytes, stay in cache. Pure arithmetic:
 * this runs in worker threads too, so it calls no PostgreSQL function.
 */
static void
accumulate_rows(const BinnedData *bd, const HistLayout *layout, const int *features, int n_features,
				const int64 *rows, int64 n, const double *g, const double *h, int C, double *hist)
{
	int			d = bd->n_features;
	int			E = layout->entry;
	const int  *offset = layout->offset;

	if (C == 1 && features == NULL)
	{
		for (int64 i = 0; i < n; i++)
		{
			int64		r = rows[i];
			const uint8 *br = bd->bins + (size_t) r * d;
			double		gi = g[r];
			double		hi = h[r];

			for (int f = 0; f < d; f++)
			{
				double	   *e = hist + (size_t) (offset[f] + br[f]) * 3;

				e[0] += gi;
				e[1] += hi;
				e[2] += 1.0;
			}
		}
		return;
	}
	for (int64 i = 0; i < n; i++)
	{
		int64		r = rows[i];
		const uint8 *br = bd->bins + (size_t) r * d;
		const double *gr = g + r * C;

		for (int k = 0; k < n_features; k++)
		{
			int			f = features ? features[k] : k;
			double	   *e = hist + (size_t) (offset[f] + br[f]) * E;

			for (int c = 0; c < C; c++)
				e[c] += gr[c];
			e[C] += h[r];
			e[C + 1] += 1.0;
		}
	}
}

typedef struct HistWorker
{
	const BinnedData *bd;
	const HistLayout *layout;
	const int  *features;
	int			n_features;
	const int64 *rows;
	int64		n;
	const double *g;
	const double *h;
	int			C;
	double	   *hist;			/* private, zeroed by the caller */
} HistWorker;

static void *
hist_worker_main(void *arg)
{
	HistWorker *w = arg;

	accumulate_rows(w->bd, w->layout, w->features, w->n_features, w->rows, w->n,
					w->g, w->h, w->C, w->hist);
	return NULL;
}

/* Below this many rows a node's histogram is not worth a thread. */
#define THREAD_MIN_ROWS 4000

static void
build_histogram(const BinnedData *bd, const HistLayout *layout, const int *features, int n_features,
				const int64 *rows, int64 n_rows, const double *g, const double *h, int C, double *hist,
				TreeThreads *threads)
{
	int			E = layout->entry;
	int			n_threads = threads ? Min(threads->n_threads, (int) (n_rows / THREAD_MIN_ROWS) + 1) : 1;
	bool		all = (n_features == bd->n_features);

	for (int k = 0; k < n_features; k++)
	{
		int			f = all ? k : features[k];

		memset(hist + (size_t) layout->offset[f] * E, 0, sizeof(double) * bd->n_bins[f] * E);
	}
	if (n_threads <= 1)
	{
		accumulate_rows(bd, layout, all ? NULL : features, n_features, rows, n_rows, g, h, C, hist);
		return;
	}

	/* the main thread takes the first share; workers the others, into private histograms */
	{
		HistWorker	workers[TREE_MAX_THREADS];
		pthread_t	ids[TREE_MAX_THREADS];
		bool		started[TREE_MAX_THREADS] = {false};
		int64		share = (n_rows + n_threads - 1) / n_threads;
		size_t		size = (size_t) layout->total_bins * E;
		sigset_t	all_signals,
					saved;

		/* workers must never take a signal meant for the backend */
		sigfillset(&all_signals);
		pthread_sigmask(SIG_BLOCK, &all_signals, &saved);
		for (int t = 1; t < n_threads; t++)
		{
			HistWorker *w = &workers[t];

			w->bd = bd;
			w->layout = layout;
			w->features = all ? NULL : features;
			w->n_features = n_features;
			w->rows = rows + Min(n_rows, t * share);
			w->n = Max(0, Min(n_rows, (t + 1) * share) - t * share);
			w->g = g;
			w->h = h;
			w->C = C;
			w->hist = threads->buffers[t];
			memset(w->hist, 0, sizeof(double) * size);
			started[t] = pthread_create(&ids[t], NULL, hist_worker_main, w) == 0;
			if (!started[t])
				hist_worker_main(w);	/* no thread: do its share here */
		}
		pthread_sigmask(SIG_SETMASK, &saved, NULL);

		accumulate_rows(bd, layout, all ? NULL : features, n_features, rows, Min(n_rows, share),
						g, h, C, hist);
		for (int t = 1; t < n_threads; t++)
		{
			if (started[t])
				pthread_join(ids[t], NULL);
			for (int k = 0; k < n_features; k++)
			{
				int			f = all ? k : features[k];
				size_t		from = (size_t) layout->offset[f] * E;
				size_t		to = from + (size_t) bd->n_bins[f] * E;

				for (size_t j = from; j < to; j++)
					hist[j] += workers[t].hist[j];
			}
		}
	}
}

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
	int			b = bd->bins[(size_t) row * bd->n_features + s->feature];

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
		build_histogram(gc->bd, &gc->layout, features, n_try, gc->idx + node->start, node->n,
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

Tree *
tree_grow(const BinnedData *bd, const int64 *rows, int64 n_rows,
		  const double *g, const double *h, const GrowParams *p,
		  pg_prng_state *rng, double *gain_out, double *splits_out, TreeThreads *threads,
		  int32 *leaf_of_row)
{
	int			C = p->n_channels;
	int			d = bd->n_features;
	GrowContext gc;
	TreeBuilder tb;
	Tree	   *t = palloc0(sizeof(Tree));
	GrowNode   *frontier;
	int			n_frontier = 0;
	int			frontier_capacity = 64;
	int			n_leaves_open = 1;

	Assert(C + 2 <= TREE_MAX_BINS);
	gc.bd = bd;
	gc.g = g;
	gc.h = h;
	gc.p = p;
	gc.rng = rng;
	gc.threads = threads;
	gc.layout.offset = palloc(sizeof(int) * d);
	gc.layout.total_bins = 0;
	gc.layout.entry = ENTRY(C);
	for (int f = 0; f < d; f++)
	{
		gc.layout.offset[f] = gc.layout.total_bins;
		gc.layout.total_bins += bd->n_bins[f];
	}
	gc.idx = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(n_rows, 1));
	memcpy(gc.idx, rows, sizeof(int64) * n_rows);
	gc.all_features = palloc(sizeof(int) * d);
	gc.sampled = palloc(sizeof(int) * d);
	for (int f = 0; f < d; f++)
		gc.all_features[f] = f;
	/* subtraction needs every feature's histogram; forests sample features instead */
	gc.keep_histograms = p->feature_fraction >= 1.0;
	gc.scratch = gc.keep_histograms ? NULL :
		MemoryContextAllocHuge(CurrentMemoryContext,
							   sizeof(double) * gc.layout.total_bins * gc.layout.entry);

	t->n_outputs = C;
	tb.tree = t;
	tb.capacity = 16;
	tb.leaf_capacity = 16;
	t->nodes = palloc0(sizeof(TreeNode) * tb.capacity);
	t->categories = palloc(sizeof(uint64) * 4 * tb.capacity);
	t->leaf_value = palloc(sizeof(double) * C * tb.leaf_capacity);
	t->leaf_cover = palloc(sizeof(double) * tb.leaf_capacity);

	frontier = palloc(sizeof(GrowNode) * frontier_capacity);
	memset(&frontier[0], 0, sizeof(GrowNode));
	frontier[0].n = n_rows;
	frontier[0].parent = -1;
	for (int64 i = 0; i < n_rows; i++)
	{
		const double *gr = g + rows[i] * C;

		for (int c = 0; c < C; c++)
			frontier[0].sums[c] += gr[c];
		frontier[0].sums[C] += h[rows[i]];
	}
	frontier[0].sums[C + 1] = (double) n_rows;
	evaluate(&gc, &frontier[0]);
	n_frontier = 1;

	while (n_frontier > 0)
	{
		int			pick = n_frontier - 1;
		GrowNode	node;
		GrowNode	children[2];
		int64		lo,
					hi;
		int			small;

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
			t->n_nodes >= MAX_STORED_NODES)
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

		/* split: partition the node's rows in place */
		make_internal(&tb, &node, bd);
		gain_out[node.split.feature] += node.split.gain;
		splits_out[node.split.feature] += 1.0;
		lo = node.start;
		hi = node.start + node.n - 1;
		while (lo <= hi)
		{
			if (row_goes_left(bd, &node.split, gc.idx[lo]))
				lo++;
			else
			{
				int64		tmp = gc.idx[lo];

				gc.idx[lo] = gc.idx[hi];
				gc.idx[hi--] = tmp;
			}
		}
		memset(children, 0, sizeof(children));
		children[0].start = node.start;
		children[0].n = lo - node.start;
		children[1].start = lo;
		children[1].n = node.start + node.n - lo;
		for (int k = 0; k < 2; k++)
		{
			children[k].depth = node.depth + 1;
			children[k].parent = t->n_nodes - 1;
			children[k].is_left = (k == 0);
		}
		if (node.hist != NULL)
		{
			/* the children's sums are the parent's histogram bins of the split feature */
			int			f = node.split.feature;
			const double *H = node.hist + (size_t) gc.layout.offset[f] * gc.layout.entry;

			for (int b = 0; b < bd->n_bins[f]; b++)
			{
				bool		left = b == 0 ? node.split.default_left :
					node.split.categorical ? (node.split.categories[(b - 1) / 64] >> ((b - 1) % 64)) & 1 :
					b <= node.split.bin;
				GrowNode   *child = &children[left ? 0 : 1];

				for (int c = 0; c < C + 1; c++)
					child->sums[c] += H[b * gc.layout.entry + c];
			}
		}
		else
		{
			for (int k = 0; k < 2; k++)
			{
				for (int64 i = children[k].start; i < children[k].start + children[k].n; i++)
				{
					int64		row = gc.idx[i];
					const double *gr = g + row * C;

					for (int c = 0; c < C; c++)
						children[k].sums[c] += gr[c];
					children[k].sums[C] += h[row];
				}
			}
		}
		children[0].sums[C + 1] = (double) children[0].n;
		children[1].sums[C + 1] = (double) children[1].n;

		/* the smaller child's histogram is built, the larger one's is the difference */
		small = children[0].n <= children[1].n ? 0 : 1;
		if (node.hist != NULL)
		{
			size_t		size = (size_t) gc.layout.total_bins * gc.layout.entry;
			double	   *hs = palloc(sizeof(double) * size);

			build_histogram(bd, &gc.layout, gc.all_features, d, gc.idx + children[small].start,
							children[small].n, g, h, C, hs, threads);
			for (size_t j = 0; j < size; j++)
				node.hist[j] -= hs[j];
			children[small].hist = hs;
			children[1 - small].hist = node.hist;
		}
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
	}
	pfree(gc.idx);
	pfree(frontier);
	if (gc.scratch)
		pfree(gc.scratch);
	pfree(gc.layout.offset);
	pfree(gc.all_features);
	pfree(gc.sampled);
	if (!tree_derive_covers(t))
		elog(ERROR, "a grown tree has a cover that is negative or not finite");
	return t;
}

/* ---- threads ---- */

int			automl_threads = 0;

TreeThreads *
tree_threads_create(const BinnedData *bd, int n_channels)
{
	TreeThreads *threads = palloc0(sizeof(TreeThreads));
	int			n = automl_threads > 0 ? automl_threads : (int) sysconf(_SC_NPROCESSORS_ONLN);
	int			total_bins = 0;

	threads->n_threads = Max(1, Min(n, TREE_MAX_THREADS));
	if (bd->n_rows < 2 * THREAD_MIN_ROWS)
		threads->n_threads = 1;	/* no node is large enough to share: no buffers */
	for (int f = 0; f < bd->n_features; f++)
		total_bins += bd->n_bins[f];
	/* each worker gets a private histogram, allocated here on the main thread */
	for (int t = 1; t < threads->n_threads; t++)
		threads->buffers[t] = MemoryContextAllocHuge(CurrentMemoryContext,
													 sizeof(double) * total_bins * ENTRY(n_channels));
	return threads;
}

/* ---- stored form ---- */

void
tree_save(const Tree *t, ByteWriter *w)
{
	bytes_put_u32(w, (uint32) t->n_nodes);
	bytes_put_u32(w, (uint32) t->n_leaves);
	for (int i = 0; i < t->n_nodes; i++)
	{
		bytes_put_u32(w, (uint32) t->nodes[i].feature);
		bytes_put_f64(w, t->nodes[i].threshold);
		bytes_put_u8(w, t->nodes[i].flags);
		for (int k = 0; k < 4; k++)
			bytes_put_u64(w, t->categories[i * 4 + k]);
		bytes_put_u32(w, (uint32) t->nodes[i].left);
		bytes_put_u32(w, (uint32) t->nodes[i].right);
	}
	bytes_put_f64_array(w, t->leaf_value, (size_t) t->n_leaves * t->n_outputs);
	bytes_put_f64_array(w, t->leaf_cover, t->n_leaves);
}

/*
 * Besides the bounds, the loader checks that every internal node but the
 * root is the child of exactly one earlier node and every leaf is reached
 * exactly once: the walk in tree_leaf then always ends.
 */
Tree *
tree_load(ByteReader *r, int n_features, int n_outputs)
{
	Tree	   *t = palloc0(sizeof(Tree));
	uint8	   *seen;

	/* each node is at least 57 bytes and adds a leaf: n_outputs doubles and a cover */
	t->n_nodes = (int) bytes_get_count(r, 57 + 8, MAX_STORED_NODES);
	t->n_leaves = (int) bytes_get_u32(r);
	t->n_outputs = n_outputs;
	if (t->n_leaves != t->n_nodes + 1)
		bytes_corrupted(r, "a tree has a wrong number of leaves");
	t->nodes = palloc0(sizeof(TreeNode) * Max(t->n_nodes, 1));
	t->categories = palloc(sizeof(uint64) * 4 * Max(t->n_nodes, 1));
	seen = palloc0(t->n_nodes + t->n_leaves);
	for (int i = 0; i < t->n_nodes; i++)
	{
		t->nodes[i].feature = (int32) bytes_get_u32(r);
		if (t->nodes[i].feature < 0 || t->nodes[i].feature >= n_features)
			bytes_corrupted(r, "a tree splits on an unknown feature");
		t->nodes[i].threshold = bytes_get_f64(r);
		if (isnan(t->nodes[i].threshold))
			bytes_corrupted(r, "a tree threshold is not a number");
		t->nodes[i].flags = bytes_get_u8(r);
		if (t->nodes[i].flags & ~(TREE_DEFAULT_LEFT | TREE_CATEGORICAL))
			bytes_corrupted(r, "unknown tree node flags");
		for (int k = 0; k < 4; k++)
			t->categories[i * 4 + k] = bytes_get_u64(r);
		t->nodes[i].left = (int32) bytes_get_u32(r);
		t->nodes[i].right = (int32) bytes_get_u32(r);
	}
	for (int i = 0; i < t->n_nodes; i++)
	{
		int32		children[2] = {t->nodes[i].left, t->nodes[i].right};

		for (int k = 0; k < 2; k++)
		{
			int32		c = children[k];

			/* an internal child must come after its parent: no cycles */
			if (c >= 0 ? (c <= i || c >= t->n_nodes) : (-c - 1 >= t->n_leaves))
				bytes_corrupted(r, "a tree child is out of range");
			if (seen[c >= 0 ? c : t->n_nodes + (-c - 1)]++)
				bytes_corrupted(r, "a tree node is reached twice");
		}
	}
	t->leaf_value = bytes_get_f64_array(r, (size_t) t->n_leaves * n_outputs);
	t->leaf_cover = bytes_get_f64_array(r, t->n_leaves);
	if (!tree_derive_covers(t))
		bytes_corrupted(r, "a tree has a cover that is negative or too large");
	pfree(seen);
	return t;
}

/* ---- cover ---- */

/* The cover of a node (ref >= 0) or a leaf (ref < 0). */
static inline double
cover_of(const Tree *t, int32 ref)
{
	return ref >= 0 ? t->cover[ref] : t->leaf_cover[-ref - 1];
}

bool
tree_derive_covers(Tree *t)
{
	int		   *node_depth;

	for (int j = 0; j < t->n_leaves; j++)
	{
		if (!(t->leaf_cover[j] >= 0.0 && isfinite(t->leaf_cover[j])))
			return false;
	}
	node_depth = palloc(sizeof(int) * Max(t->n_nodes, 1));
	if (t->cover == NULL)
		t->cover = palloc(sizeof(double) * Max(t->n_nodes, 1));

	/* children come after their parent: last to first sees children first */
	for (int i = t->n_nodes - 1; i >= 0; i--)
	{
		t->cover[i] = cover_of(t, t->nodes[i].left) + cover_of(t, t->nodes[i].right);
		if (!isfinite(t->cover[i]))
			return false;
	}

	/* and first to last sees parents first */
	t->depth = 0;
	if (t->n_nodes > 0)
		node_depth[0] = 0;
	for (int i = 0; i < t->n_nodes; i++)
	{
		int32		children[2] = {t->nodes[i].left, t->nodes[i].right};

		for (int k = 0; k < 2; k++)
		{
			if (children[k] >= 0)
				node_depth[children[k]] = node_depth[i] + 1;
			else
				t->depth = Max(t->depth, node_depth[i] + 1);
		}
	}
	pfree(node_depth);
	return true;
}

/*
 * The share of internal node node's training rows that went to its child
 * ref. A node that no weight reached (possible only with zero class weights)
 * is split evenly, so that its children's shares still add up to 1.
 */
static inline double
cover_share(const Tree *t, int32 node, int32 ref)
{
	double		total = t->cover[node];

	return total > 0.0 ? cover_of(t, ref) / total : 0.5;
}

/* ---- explanations: path-dependent TreeSHAP ---- */

/*
 * Algorithm 2 of Lundberg, Erion and Lee (2018) walks every root-to-leaf
 * path once, keeping the distinct inputs split on along the path, and for
 * each input the fraction of the coalitions without it and with it that
 * reach this node: without it, the share of the training rows that went
 * this way at its splits (cover, zero_fraction); with it, whether x went
 * this way (1 or 0, one_fraction). pweight[i] (stored in step i, though it
 * belongs to no input) is the summed Shapley weight of the coalitions of i
 * of the path's inputs. At a leaf, unwinding one input from the weights
 * gives the weight of the coalitions without it, and its contribution there
 * is that times (one_fraction - zero_fraction) times the leaf value.
 */
typedef struct PathStep
{
	int			feature;		/* -1: the root's placeholder, which stands for no input */
	double		zero_fraction;
	double		one_fraction;
	double		pweight;
} PathStep;

/* EXTEND: adds an input as step len of path[0..len), updating the weights. */
static void
path_extend(PathStep *path, int len, double zero_fraction, double one_fraction, int feature)
{
	path[len].feature = feature;
	path[len].zero_fraction = zero_fraction;
	path[len].one_fraction = one_fraction;
	path[len].pweight = len == 0 ? 1.0 : 0.0;
	for (int i = len - 1; i >= 0; i--)
	{
		path[i + 1].pweight += one_fraction * path[i].pweight * (i + 1) / (len + 1);
		path[i].pweight = zero_fraction * path[i].pweight * (len - i) / (len + 1);
	}
}

/*
 * UNWIND: removes step k from path[0..last], undoing its EXTEND. A step's
 * fractions are never both 0 (shap_walk skips such children), and
 * one_fraction is 1 or 0, so the divisions are by non-zero numbers.
 */
static void
path_unwind(PathStep *path, int last, int k)
{
	double		zero_fraction = path[k].zero_fraction;
	double		one_fraction = path[k].one_fraction;
	double		next = path[last].pweight;

	for (int i = last - 1; i >= 0; i--)
	{
		if (one_fraction != 0.0)
		{
			double		w = path[i].pweight;

			path[i].pweight = next * (last + 1) / ((i + 1) * one_fraction);
			next = w - path[i].pweight * zero_fraction * (last - i) / (last + 1);
		}
		else
			path[i].pweight = path[i].pweight * (last + 1) / (zero_fraction * (last - i));
	}
	for (int i = k; i < last; i++)
	{
		path[i].feature = path[i + 1].feature;
		path[i].zero_fraction = path[i + 1].zero_fraction;
		path[i].one_fraction = path[i + 1].one_fraction;
	}
}

/* The summed weights that UNWIND of step k would leave, without changing path. */
static double
path_unwound_sum(const PathStep *path, int last, int k)
{
	double		zero_fraction = path[k].zero_fraction;
	double		one_fraction = path[k].one_fraction;
	double		next = path[last].pweight;
	double		total = 0.0;

	for (int i = last - 1; i >= 0; i--)
	{
		if (one_fraction != 0.0)
		{
			double		w = next * (last + 1) / ((i + 1) * one_fraction);

			total += w;
			next = path[i].pweight - w * zero_fraction * (last - i) / (last + 1);
		}
		else
			total += path[i].pweight * (last + 1) / (zero_fraction * (last - i));
	}
	return total;
}

/*
 * A node still to visit, with the path of its parent and the step for the
 * split that led to it. The walk is a loop over a stack of these rather than
 * a recursion, so that no tree, however deep, can exhaust the C stack.
 */
typedef struct ShapVisit
{
	int32		ref;			/* a node (>= 0) or a leaf (< 0) */
	PathStep   *parent_path;	/* parent_path[0..len); this node's path goes after it */
	int			len;
	int			feature;
	double		zero_fraction;
	double		one_fraction;
} ShapVisit;

/*
 * The path steps a walk of the tree may hold at once: a path per level on
 * the way to a leaf, each of at most min(level, n_features) + 1 steps.
 */
static Size
shap_path_steps(const Tree *t, int n_features)
{
	Size		steps = 0;

	for (int level = 0; level <= t->depth; level++)
	{
		steps += (Size) Min(level, n_features) + 1;
		if (steps > MaxAllocSize / sizeof(PathStep))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a tree of depth %d is too deep to explain", t->depth),
					 errdetail("Its explanation would need more than 1 GB.")));
	}
	return steps;
}

static inline void
push_visit(ShapVisit *pending, int *n_pending, int32 ref, PathStep *parent_path, int len,
		   int feature, double zero_fraction, double one_fraction)
{
	ShapVisit  *v = &pending[(*n_pending)++];

	v->ref = ref;
	v->parent_path = parent_path;
	v->len = len;
	v->feature = feature;
	v->zero_fraction = zero_fraction;
	v->one_fraction = one_fraction;
}

/* Adds scale times the SHAP values (not the expected output) of x to phi. */
static void
shap_walk(const Tree *t, const double *x, int n_features, double scale, double *phi)
{
	int			stride = n_features + 1;
	PathStep   *steps = palloc(sizeof(PathStep) * shap_path_steps(t, n_features));
	/* depth-first: at most one sibling waits per level, and two children at the deepest */
	ShapVisit  *pending = palloc(sizeof(ShapVisit) * ((Size) t->depth + 2));
	int			n_pending = 0;

	push_visit(pending, &n_pending, t->n_nodes > 0 ? 0 : -1, steps, 0, -1, 1.0, 1.0);
	while (n_pending > 0)
	{
		ShapVisit	v = pending[--n_pending];

		/*
		 * This node's own copy of the path, past its parent's: the siblings
		 * and ancestors still pending keep theirs intact.
		 */
		PathStep   *path = v.parent_path + v.len;
		int			last = v.len;
		const TreeNode *node;
		int32		hot,
					cold;
		double		incoming_zero = 1.0,
					incoming_one = 1.0,
					hot_zero,
					cold_zero;

		memcpy(path, v.parent_path, sizeof(PathStep) * v.len);
		path_extend(path, last, v.zero_fraction, v.one_fraction, v.feature);

		if (v.ref < 0)
		{
			const double *value = t->leaf_value + (size_t) (-v.ref - 1) * t->n_outputs;

			/* step 0 is the placeholder */
			for (int k = 1; k <= last; k++)
			{
				double		w = path_unwound_sum(path, last, k) *
					(path[k].one_fraction - path[k].zero_fraction) * scale;

				for (int c = 0; c < t->n_outputs; c++)
					phi[(size_t) c * stride + path[k].feature] += w * value[c];
			}
			continue;
		}

		node = &t->nodes[v.ref];
		if (tree_goes_left(t, v.ref, x))
		{
			hot = node->left;
			cold = node->right;
		}
		else
		{
			hot = node->right;
			cold = node->left;
		}

		/*
		 * An input split on again: its earlier step comes off the path and
		 * its fractions carry over, so that each input appears once.
		 */
		for (int k = 1; k <= last; k++)
		{
			if (path[k].feature == node->feature)
			{
				incoming_zero = path[k].zero_fraction;
				incoming_one = path[k].one_fraction;
				path_unwind(path, last, k);
				last--;
				break;
			}
		}

		/* x goes to the hot child; coalitions without the input go both ways, by cover */
		hot_zero = cover_share(t, v.ref, hot) * incoming_zero;
		cold_zero = cover_share(t, v.ref, cold) * incoming_zero;

		/* a child no coalition reaches contributes nothing: skipped, it would divide by 0 */
		if (cold_zero != 0.0)
			push_visit(pending, &n_pending, cold, path, last + 1, node->feature, cold_zero, 0.0);
		if (hot_zero != 0.0 || incoming_one != 0.0)
			push_visit(pending, &n_pending, hot, path, last + 1, node->feature, hot_zero, incoming_one);
	}
	pfree(steps);
	pfree(pending);
}

/* Adds scale times the tree's expected output, its leaves weighted by the share of cover reaching them. */
static void
add_expected_output(const Tree *t, int n_features, double scale, double *phi)
{
	int			stride = n_features + 1;
	double	   *reach;

	if (t->n_nodes == 0)
	{
		for (int c = 0; c < t->n_outputs; c++)
			phi[(size_t) c * stride + n_features] += scale * t->leaf_value[c];
		return;
	}

	/* parents come before their children */
	reach = palloc(sizeof(double) * t->n_nodes);
	reach[0] = 1.0;
	for (int i = 0; i < t->n_nodes; i++)
	{
		int32		children[2] = {t->nodes[i].left, t->nodes[i].right};

		for (int k = 0; k < 2; k++)
		{
			double		w = reach[i] * cover_share(t, i, children[k]);

			if (children[k] >= 0)
				reach[children[k]] = w;
			else
			{
				const double *value = t->leaf_value + (size_t) (-children[k] - 1) * t->n_outputs;

				for (int c = 0; c < t->n_outputs; c++)
					phi[(size_t) c * stride + n_features] += scale * w * value[c];
			}
		}
	}
	pfree(reach);
}

void
tree_contributions(const Tree *tree, const double *x, int n_features, double scale, double *phi)
{
	add_expected_output(tree, n_features, scale, phi);
	if (tree->n_nodes > 0)
		shap_walk(tree, x, n_features, scale, phi);
}

void
tree_importance_json(JsonBuilder *json, const double *gain, const double *splits, int n_features)
{
	json_key(json, "importance_gain");
	json_numbers(json, gain, n_features);
	json_key(json, "importance_splits");
	json_numbers(json, splits, n_features);
}
