/*
 * frame.h: the data stage's interface. A Frame is a relation read into typed
 * columns, one array of doubles per feature column (NaN marks a missing
 * value), plus the target column in the two forms the task may need.
 */
#ifndef AUTOML_FRAME_H
#define AUTOML_FRAME_H

#include "postgres.h"
#include "nodes/pg_list.h"

/* How a feature's values reach the model. Later releases add categoricals. */
typedef enum FeatureKind
{
	FEATURE_NUMERIC = 0
} FeatureKind;

typedef struct FrameColumn
{
	char	   *name;
	Oid			type_oid;		/* the column's type (base type of a domain) */
	FeatureKind kind;
	double	   *values;			/* n_rows values; NaN = missing */
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
	char	  **labels;			/* distinct labels as text, in first-seen order */
	int			n_labels;
	bool		too_many_labels;
} TargetColumn;

typedef struct Frame
{
	char	   *relation_name;	/* schema-qualified, quoted as needed */
	int64		n_rows;			/* rows read (those with a non-NULL target) */
	int64		n_null_target;	/* rows skipped because the target is NULL */
	int			n_columns;
	FrameColumn *columns;
	TargetColumn target;
} Frame;

/*
 * Reads relation relid through an SPI cursor in batches, as the calling user.
 * Columns named in exclude (a List of C strings) are not read; columns of
 * unsupported types are skipped with a NOTICE naming them. Errors name the
 * column for an unknown target or excluded column, and for infinite values.
 */
extern Frame *frame_scan(Oid relid, const char *target, List *exclude);

/* True for the types frame_scan reads as numbers (after domain lookup). */
extern bool frame_type_is_numeric(Oid type_oid);

/* A numeric Datum of such a type as a double (NaN for NaN). */
extern double frame_datum_to_double(Datum value, Oid type_oid);

#endif							/* AUTOML_FRAME_H */
