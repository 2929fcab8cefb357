/*
 * prep.h: the feature spec, learned from training rows and replayed
 * identically at prediction, and the data checks and profile made while
 * learning it.
 *
 * A source column becomes one or more model inputs ("outputs" here):
 *   numeric      standardised value, plus a missing indicator when training
 *                rows had missing values (imputed with the training mean)
 *   date/time    days since 1970 and the calendar parts that vary (year,
 *                month, day of week, hour), standardised, plus an indicator
 *   categorical  one-hot over the kept levels, "(other)" for rare and unseen
 *                levels and "(missing)" when training had NULLs; or, with
 *                more than PREP_MAX_ONE_HOT kept levels, one standardised
 *                frequency (the level's share of the training rows)
 *
 * For tree learners (for_trees) each column instead becomes raw values: the
 * number or calendar parts unscaled with NaN for missing (trees learn where
 * missing values go), and a category as its level index (split natively).
 */
#ifndef AUTOML_PREP_H
#define AUTOML_PREP_H

#include "postgres.h"
#include "common/bytes.h"
#include "common/json.h"
#include "data/frame.h"
#include "lib/stringinfo.h"

#define PREP_MAX_PARTS 5
#define PREP_MAX_ONE_HOT 32			/* more kept levels: frequency encoding */
#define PREP_MIN_LEVEL_ROWS 5		/* rarer levels are pooled into (other) */
#define PREP_MAX_LEVELS 10000		/* levels kept for frequency encoding */

#define PREP_MAX_TREE_LEVELS 254	/* levels kept for tree learners */

#define PREP_LEVEL_OTHER (-1)		/* a pooled, rare or unseen level */

typedef enum PrepPart
{
	PART_VALUE = 0,				/* the number; for a date/time, days since 1970 */
	PART_YEAR,
	PART_MONTH,
	PART_DAY_OF_WEEK,			/* 0 = Sunday */
	PART_HOUR
} PrepPart;

typedef enum Encoding
{
	ENCODE_NUMBER = 0,
	ENCODE_ONE_HOT = 1,
	ENCODE_FREQUENCY = 2,
	ENCODE_LEVEL = 3			/* trees: the level's index; (other) = n_levels */
} Encoding;

typedef struct PrepColumn
{
	char	   *name;
	FeatureKind kind;
	Encoding	encoding;
	int			first_output;	/* where its outputs start */
	int			n_outputs;

	/* numeric and date/time */
	int			n_parts;
	uint8		parts[PREP_MAX_PARTS];
	double		mean[PREP_MAX_PARTS];	/* imputes missing values */
	double		scale[PREP_MAX_PARTS];
	bool		missing_indicator;

	/* categorical */
	int			n_levels;
	char	  **levels;			/* kept levels, most frequent first */
	double	   *level_share;	/* share of the training rows per level */
	double		other_share;
	double		missing_share;
	bool		missing_output; /* one-hot: a (missing) output */
	double		frequency_mean; /* frequency encoding: standardisation */
	double		frequency_scale;
	CategoryDict *level_index;	/* level string -> index */

	/* training only */
	int			frame_column;
	int		   *frame_level;	/* frame dictionary code -> level */
} PrepColumn;

typedef struct PrepSpec
{
	bool		for_trees;		/* raw values and level indices, see above */
	int			n_columns;
	PrepColumn *columns;
	int			n_outputs;
	char	  **output_names;
} PrepSpec;

/* One column's value of one row, before encoding. */
typedef struct RawValue
{
	bool		isnull;
	double		number;			/* numeric value, or date/time as seconds since 1970 */
	int			level;			/* categorical: index into levels, or PREP_LEVEL_OTHER */
} RawValue;

/* Data-quality findings, reported as NOTICE or WARNING and kept in the model row. */
/* What the checks said, in order, for automl.models.warnings. */
typedef struct PrepWarning
{
	const char *check;
	const char *column;			/* or NULL */
	const char *message;
} PrepWarning;

typedef struct PrepWarnings
{
	PrepWarning *items;
	int			count;
} PrepWarnings;

/* The warnings as a JSON array of {check, column, message} (checks.c). */
extern Jsonb *prep_warnings_json(const PrepWarnings *w);

extern void prep_warnings_init(PrepWarnings *w);
extern void prep_warn(PrepWarnings *w, int elevel, const char *check, const char *column,
					  const char *hint, const char *fmt,...) pg_attribute_printf(6, 7);

/* automl.keep_id_columns: keep columns that look like identifiers. */
extern bool automl_keep_id_columns;

/*
 * Chooses the columns of a frame: those with no value or a single value are
 * dropped, and so are identifier-like ones (unless automl.keep_id_columns);
 * personal-data-like columns are named. Errors when nothing is left.
 */
extern PrepSpec *prep_choose_features(const Frame *frame, PrepWarnings *warnings);

/* Learns encodings, imputation and scaling from the given rows (indices into the frame). */
extern void prep_fit(PrepSpec *spec, const Frame *frame, const int64 *rows, int64 n_rows);

/* The raw values of one frame row, one per column of the spec. */
extern void prep_raw_from_frame(const PrepSpec *spec, const Frame *frame, int64 row, RawValue *raw);

/*
 * The raw values of one deformed row (scoring, and the sums of the Citus refit): column c
 * of the spec is attribute att[c], of base type type[c]. NaN and infinity are missing.
 * Unless category is NULL, each categorical column's text goes to category[c] and
 * category_len[c] (the prediction log writes it).
 */
extern void prep_raw_from_datums(const PrepSpec *spec, const Datum *values, const bool *isnull,
								 const int *att, const Oid *type, RawValue *raw,
								 const char **category, int *category_len);

/*
 * Binds a fitted spec (another model's) to a frame by column name: binding[c]
 * gets the frame column of spec column c. False, with *missing set, when a
 * column is absent or of another kind.
 */
extern bool prep_bind(const PrepSpec *spec, const Frame *frame, int *binding, const char **missing);

/* The raw values of one row of a frame that prep_bind bound the spec to. */
extern void prep_raw_from_bound_frame(const PrepSpec *spec, const Frame *frame,
									  const int *binding, int64 row, RawValue *raw);

/* Writes the given rows, prepared, into X (row-major, n_rows x n_outputs). */
extern void prep_apply_frame(const PrepSpec *spec, const Frame *frame,
							 const int64 *rows, int64 n_rows, double *X);

/* The number of categories of model input o (levels and (other)), or 0 if numeric. */
extern int	prep_output_categories(const PrepSpec *spec, int o);

/* Encodes one row of raw values into n_outputs model inputs. */
extern void prep_apply(const PrepSpec *spec, const RawValue *raw, double *x);

/* The level index of a category string (len bytes), or PREP_LEVEL_OTHER. */
extern int	prep_level_of(const PrepColumn *col, const char *s, int len);

/* A spec with the same columns, not yet fitted. */
extern PrepSpec *prep_copy_unfitted(const PrepSpec *spec);

extern void prep_save(const PrepSpec *spec, ByteWriter *w);
extern PrepSpec *prep_load(ByteReader *r);

/* ---- checks that need the target (checks.c) ---- */


/* Names columns that look like personal data, by name or by their values. */
extern void prep_check_personal_data(const Frame *frame, PrepWarnings *warnings);

/* ---- the data profile (profile.c) ---- */

/*
 * The profile of the frame's columns in the spec, for drift measurement:
 * members "rows", "rows_in_relation" and "columns" of the object being built.
 */
extern void prep_profile_write(const PrepSpec *spec, const Frame *frame, JsonBuilder *json);

/* The same profile of one numeric series (NaN: missing), e.g. a model's predictions, as a value. */
extern void prep_profile_values_write(const double *values, int64 n, JsonBuilder *json);

#endif							/* AUTOML_PREP_H */
