/*
 * tree_shap.c: explanations of a flat tree: node covers and exact path-dependent
 * TreeSHAP (Lundberg, Erion and Lee 2018, Algorithm 2).
 */
#include "postgres.h"

#include <math.h>

#include "learn/tree.h"
#include "miscadmin.h"
#include "utils/memutils.h"

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
