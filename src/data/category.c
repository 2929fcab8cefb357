/*
 * category.c: a dictionary of distinct strings, in first-seen order, indexed
 * by PostgreSQL's simplehash. Used for categorical columns and class labels.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "data/frame.h"
#include "utils/memutils.h"

/* A string that need not end in a terminator: what lookups bring. */
typedef struct CategoryKey
{
	const char *str;
	int			len;
} CategoryKey;

typedef struct CategoryEntry
{
	CategoryKey key;			/* points at the dictionary's own copy */
	int			code;
	char		status;			/* simplehash's */
} CategoryEntry;

#define SH_PREFIX category_hash
#define SH_ELEMENT_TYPE CategoryEntry
#define SH_KEY_TYPE CategoryKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).str, (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).str, (b).str, (a).len) == 0)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

CategoryDict *
category_dict_create(MemoryContext cxt, int max_values)
{
	CategoryDict *dict = MemoryContextAllocZero(cxt, sizeof(CategoryDict));

	dict->cxt = cxt;
	dict->max_values = max_values;
	dict->capacity = 64;
	dict->values = MemoryContextAlloc(cxt, sizeof(char *) * dict->capacity);
	dict->index = category_hash_create(cxt, 64, NULL);
	return dict;
}

int
category_dict_find(const CategoryDict *dict, const char *s, int len)
{
	CategoryKey key = {s, len};
	CategoryEntry *entry = category_hash_lookup(dict->index, key);

	return entry ? entry->code : -1;
}

int
category_dict_code(CategoryDict *dict, const char *s, int len)
{
	CategoryKey key = {s, len};
	CategoryEntry *entry = category_hash_lookup(dict->index, key);
	char	   *copy;
	bool		found;

	if (entry != NULL)
		return entry->code;
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
	key.str = copy;
	entry = category_hash_insert(dict->index, key, &found);
	entry->code = dict->n_values++;
	return entry->code;
}
