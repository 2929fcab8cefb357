/*
 * frame.h: the data stage's interface. A Frame is a relation read into typed
 * columns: numbers and date/times as doubles (NaN marks a missing value),
 * categories as codes into a per-column dictionary (-1 marks a missing
 * value), plus the target column in the two forms the task may need.
 */
#ifndef AUTOML_FRAME_H
#define AUTOML_FRAME_H

#include "postgres.h"
#include "nodes/pg_list.h"

/* How a column's values reach the model. */
typedef enum FeatureKind
{
	FEATURE_NUMERIC = 0,		/* integers, floats, numeric, boolean */
	FEATURE_CATEGORICAL = 1,	/* text, varchar, char, enum */
	FEATURE_DATETIME = 2		/* date, timestamp, timestamptz: seconds since 1970 UTC */
} FeatureKind;

/* Distinct strings of a column, in first-seen order, with a hash index. */
typedef struct CategoryDict
{
	char	  **values;
	int			n_values;
	int			capacity;
	struct category_hash_hash *index;	/* value -> code (category.c) */
	int			max_values;		/* adding more fails; 0 = no limit */
	MemoryContext cxt;
} CategoryDict;

extern CategoryDict *category_dict_create(MemoryContext cxt, int max_values);

/* The code of s (len bytes, no terminator needed), added if new; -1 when full. */
extern int	category_dict_code(CategoryDict *dict, const char *s, int len);

/* The code of s, or -1 when it is not in the dictionary. */
extern int	category_dict_find(const CategoryDict *dict, const char *s, int len);

typedef struct FrameColumn
{
	char	   *name;
	Oid			type_oid;		/* the column's type (base type of a domain) */
	FeatureKind kind;
	bool		is_integral;	/* an integer type: a candidate identifier */
	double	   *values;			/* numeric and datetime: n_rows, NaN = missing */
	int32	   *codes;			/* categorical: n_rows, -1 = missing */
	CategoryDict *dict;			/* categorical: the distinct values */
	int64		n_missing;
} FrameColumn;

/* Above this many distinct values the target is not read as class labels. */
#define FRAME_MAX_LABELS 1000

typedef struct TargetColumn
{
	char	   *name;
	Oid			type_oid;
	bool		is_numeric;		/* integer, float, numeric or boolean type */
	bool		is_integral;	/* integer or boolean type */
	double	   *values;			/* numeric value per row (is_numeric only) */
	int		   *codes;			/* label index per row; NULL if too many labels */
	char	  **labels;			/* distinct labels as text */
	int			n_labels;
	bool		too_many_labels;
} TargetColumn;

typedef struct Frame
{
	char	   *relation_name;	/* schema-qualified, quoted as needed */
	Oid			relation_id;
	char		relation_kind;	/* RELKIND_... */
	int64		n_rows;			/* rows kept (those with a non-NULL target) */
	int64		n_rows_seen;	/* rows with a non-NULL target in the relation */
	int64		n_null_target;	/* rows skipped because the target is NULL */
	int			n_columns;
	FrameColumn *columns;
	TargetColumn target;
} Frame;

/*
 * Reads relation relid through an SPI cursor in batches, as the calling user.
 * Columns named in exclude (a List of C strings) are not read; columns of
 * unsupported types are skipped with a NOTICE naming them. When the rows do
 * not fit in their share of the memory budget (common/budget.h), a
 * reservoir sample seeded by seed is kept
 * and a NOTICE says so. Errors name the column for an unknown target or
 * excluded column, and for infinite values.
 */
extern Frame *frame_scan(Oid relid, const char *target, List *exclude, uint64 seed);

/*
 * A frame of the given rows of another (copies of the values; the category
 * dictionaries and labels are shared).
 */
extern Frame *frame_subset(const Frame *frame, const int64 *rows, int64 n);

/* Frees a frame's row values (after frame_subset copied what is needed); it then has no rows. */
extern void frame_free_values(Frame *frame);

/*
 * SHA-256 (hex) of the frame's rows, independent of their order, with the
 * column names and kinds: the same data gives the same digest.
 */
extern char *frame_digest(const Frame *frame);


/* The kind a column of this type becomes; false when the type is not supported. */
extern bool frame_kind_of_type(Oid base_type, FeatureKind *kind);

/* True for the types read as numbers (FEATURE_NUMERIC). */
extern bool frame_type_is_numeric(Oid base_type);

/* A numeric Datum (see FEATURE_NUMERIC) as a double (NaN for NaN). */
extern double frame_datum_to_double(Datum value, Oid type_oid);

/* A date, timestamp or timestamptz Datum as seconds since 1970-01-01 UTC (NaN for infinite). */
extern double frame_datum_to_seconds(Datum value, Oid type_oid);

/*
 * A categorical Datum as bytes: *len gets the length; the result may point
 * into the datum. Trailing blanks of char(n) are dropped, as char(n)
 * comparison ignores them.
 */
extern const char *frame_datum_to_category(Datum value, Oid type_oid, int *len);

/* A class label as training spells it: a category's text, a boolean as "true" or "false". */
extern const char *frame_datum_to_label(Datum value, Oid type_oid, int *len);

#endif							/* AUTOML_FRAME_H */
