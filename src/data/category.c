/*
 * category.c: a dictionary of distinct strings, in first-seen order, with an
 * open-addressing hash index. Used for categorical columns and class labels.
 */
#include "postgres.h"

#include "data/frame.h"
#include "utils/memutils.h"

static uint32
hash_bytes_fnv(const char *s, int len)
{
	uint32		h = 2166136261u;

	for (int i = 0; i < len; i++)
		h = (h ^ (uint8) s[i]) * 16777619u;
	return h;
}

CategoryDict *
category_dict_create(MemoryContext cxt, int max_values)
{
	CategoryDict *dict = MemoryContextAllocZero(cxt, sizeof(CategoryDict));

	dict->cxt = cxt;
	dict->max_values = max_values;
	dict->capacity = 64;
	dict->values = MemoryContextAlloc(cxt, sizeof(char *) * dict->capacity);
	dict->n_slots = 256;
	dict->slots = MemoryContextAllocZero(cxt, sizeof(int) * dict->n_slots);
	return dict;
}

/* The slot where s is, or the empty slot where it would go. */
static int
find_slot(const CategoryDict *dict, const char *s, int len)
{
	uint32		mask = dict->n_slots - 1;
	uint32		i = hash_bytes_fnv(s, len) & mask;

	while (dict->slots[i] != 0)
	{
		const char *v = dict->values[dict->slots[i] - 1];

		if (strncmp(v, s, len) == 0 && v[len] == '\0')
			return (int) i;
		i = (i + 1) & mask;
	}
	return (int) i;
}

int
category_dict_find(const CategoryDict *dict, const char *s, int len)
{
	int			slot = find_slot(dict, s, len);

	return dict->slots[slot] - 1;
}

static void
grow_index(CategoryDict *dict)
{
	int			n_slots = dict->n_slots * 2;

	pfree(dict->slots);
	dict->n_slots = n_slots;
	dict->slots = MemoryContextAllocHuge(dict->cxt, sizeof(int) * (Size) n_slots);
	memset(dict->slots, 0, sizeof(int) * (Size) n_slots);
	for (int v = 0; v < dict->n_values; v++)
	{
		int			slot = find_slot(dict, dict->values[v], (int) strlen(dict->values[v]));

		dict->slots[slot] = v + 1;
	}
}

int
category_dict_code(CategoryDict *dict, const char *s, int len)
{
	int			slot = find_slot(dict, s, len);
	char	   *copy;

	if (dict->slots[slot] != 0)
		return dict->slots[slot] - 1;
	if (dict->max_values > 0 && dict->n_values >= dict->max_values)
		return -1;
	if (dict->n_values == dict->capacity)
	{
		dict->capacity *= 2;
		dict->values = repalloc_huge(dict->values, sizeof(char *) * (Size) dict->capacity);
	}
	copy = MemoryContextAlloc(dict->cxt, len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	dict->values[dict->n_values] = copy;
	dict->slots[slot] = ++dict->n_values;
	if (dict->n_values * 2 >= dict->n_slots)
		grow_index(dict);
	return dict->n_values - 1;
}
