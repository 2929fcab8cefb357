/*
 * tree.c: a flat tree's stored form, its importances, and the serving
 * layout of many trees (see tree.h for the whole tree core: tree_bin.c,
 * tree_hist.c, tree_grow.c, tree_shap.c).
 */
#include "postgres.h"

#include <math.h>

#include "learn/tree.h"
#include "utils/memutils.h"

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
	t->n_nodes = (int) bytes_get_count(r, 57 + 8, TREE_MAX_STORED_NODES);
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

void
tree_importance_json(JsonBuilder *json, const double *gain, const double *splits, int n_features)
{
	json_key(json, "importance_gain");
	json_numbers(json, gain, n_features);
	json_key(json, "importance_splits");
	json_numbers(json, splits, n_features);
}

/* ---- the serving layout (see tree.h) ---- */

ServeTrees *
tree_serve_build(Tree *const *trees, int n, int stride)
{
	ServeTrees *st = palloc0(sizeof(ServeTrees));
	int			total = 0,
				at = 0;
	const Tree **list = palloc(sizeof(Tree *) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		list[i] = trees[(size_t) i * stride];
		total += list[i]->n_nodes + list[i]->n_leaves;
	}
	st->n_trees = n;
	st->n_outputs = n > 0 ? list[0]->n_outputs : 1;
	st->trees = list;
	st->root = palloc(sizeof(int) * Max(n, 1));
	st->depth = palloc(sizeof(int) * Max(n, 1));
	st->nodes = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ServeNode) * Max(total, 1));
	st->value = MemoryContextAllocHuge(CurrentMemoryContext,
									   sizeof(double) * Max(total, 1) * Max(st->n_outputs, 1));
	for (int i = 0; i < n; i++)
	{
		const Tree *t = list[i];
		int			leaves = at + t->n_nodes;
		bool		categorical = false;

		for (int j = 0; j < t->n_nodes; j++)
		{
			const TreeNode *tn = &t->nodes[j];
			ServeNode  *sn = &st->nodes[at + j];

			categorical |= (tn->flags & TREE_CATEGORICAL) != 0;
			sn->threshold = tn->threshold;
			sn->feature = tn->feature;
			sn->default_left = (tn->flags & TREE_DEFAULT_LEFT) != 0;
			sn->child[0] = tn->left >= 0 ? at + tn->left : leaves + (-tn->left - 1);
			sn->child[1] = tn->right >= 0 ? at + tn->right : leaves + (-tn->right - 1);
			for (int c = 0; c < st->n_outputs; c++)
				st->value[(size_t) (at + j) * st->n_outputs + c] = 0.0;
		}
		for (int l = 0; l < t->n_leaves; l++)
		{
			ServeNode  *sn = &st->nodes[leaves + l];

			sn->threshold = INFINITY;	/* any value, and a missing one, stays */
			sn->feature = 0;
			sn->default_left = 1;
			sn->child[0] = sn->child[1] = leaves + l;
			memcpy(st->value + (size_t) (leaves + l) * st->n_outputs,
				   t->leaf_value + (size_t) l * t->n_outputs, sizeof(double) * st->n_outputs);
		}
		st->root[i] = categorical ? -1 : (t->n_nodes > 0 ? at : leaves);
		st->depth[i] = t->n_nodes > 0 ? t->depth : 0;
		at += t->n_nodes + t->n_leaves;
	}
	return st;
}

static inline int
serve_step(const ServeNode *nodes, int i, const double *x)
{
	const ServeNode *n = &nodes[i];
	double		v = x[n->feature];
	int			right = !((v <= n->threshold) | ((v != v) & n->default_left));

	return n->child[right];
}

/* Whether trees i..i+3 can all be walked in the layout. */
static inline bool
four_laid_out(const ServeTrees *st, int i)
{
	return st->root[i] >= 0 && st->root[i + 1] >= 0 && st->root[i + 2] >= 0 && st->root[i + 3] >= 0;
}

/* The leaf nodes of x in trees i..i+3, walked together. */
static inline void
walk_four(const ServeTrees *st, int i, const double *x, int *reached)
{
	const ServeNode *nodes = st->nodes;
	int			n0 = st->root[i],
				n1 = st->root[i + 1],
				n2 = st->root[i + 2],
				n3 = st->root[i + 3];
	int			depth = Max(Max(st->depth[i], st->depth[i + 1]),
							Max(st->depth[i + 2], st->depth[i + 3]));

	for (int s = 0; s < depth; s++)
	{
		n0 = serve_step(nodes, n0, x);
		n1 = serve_step(nodes, n1, x);
		n2 = serve_step(nodes, n2, x);
		n3 = serve_step(nodes, n3, x);
	}
	reached[0] = n0;
	reached[1] = n1;
	reached[2] = n2;
	reached[3] = n3;
}

/* The leaf values of x in tree i: in the layout, or by a walk of the Tree. */
static inline const double *
leaf_of(const ServeTrees *st, int i, const double *x)
{
	int			node = st->root[i];

	if (node < 0)
		return tree_leaf(st->trees[i], x);
	for (int s = 0; s < st->depth[i]; s++)
		node = serve_step(st->nodes, node, x);
	return st->value + (size_t) node * st->n_outputs;
}

double
tree_serve_add(const ServeTrees *st, double score, const double *x)
{
	int			i = 0;
	int			reached[4];

	for (; i + 3 < st->n_trees && four_laid_out(st, i); i += 4)
	{
		walk_four(st, i, x, reached);
		for (int k = 0; k < 4; k++)
			score += st->value[(size_t) reached[k] * st->n_outputs];
	}
	for (; i < st->n_trees; i++)
		score += leaf_of(st, i, x)[0];
	return score;
}

void
tree_serve_add_all(const ServeTrees *st, double *out, const double *x)
{
	int			C = st->n_outputs;
	int			i = 0;
	int			reached[4];

	for (; i + 3 < st->n_trees && four_laid_out(st, i); i += 4)
	{
		walk_four(st, i, x, reached);
		for (int k = 0; k < 4; k++)
		{
			const double *v = st->value + (size_t) reached[k] * C;

			for (int c = 0; c < C; c++)
				out[c] += v[c];
		}
	}
	for (; i < st->n_trees; i++)
	{
		const double *v = leaf_of(st, i, x);

		for (int c = 0; c < C; c++)
			out[c] += v[c];
	}
}
