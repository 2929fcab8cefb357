/*
 * choose.c: which columns of a frame become features (constant, empty and
 * identifier-like ones are dropped), and the warnings every data check adds
 * to (said as NOTICE or WARNING, kept for automl.models.warnings).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "prep/prep.h"
#include "utils/memutils.h"

bool		automl_keep_id_columns = false;

/* ---- warnings ---- */

void
prep_warnings_init(PrepWarnings *w)
{
	w->items = NULL;
	w->count = 0;
}

void
prep_warn(PrepWarnings *w, int elevel, const char *check, const char *column,
		  const char *hint, const char *fmt,...)
{
	StringInfoData message;

	initStringInfo(&message);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&message, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&message, needed);
	}
	ereport(elevel, (errmsg_internal("%s", message.data), hint ? errhint("%s", hint) : 0));

	w->items = w->items ? repalloc(w->items, sizeof(PrepWarning) * (w->count + 1))
		: palloc(sizeof(PrepWarning));
	w->items[w->count].check = check;
	w->items[w->count].column = column ? pstrdup(column) : NULL;
	w->items[w->count].message = message.data;
	w->count++;
}

/* ---- choosing columns ---- */

static int
compare_doubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static bool
looks_like_id_name(const char *name)
{
	size_t		len = strlen(name);

	return pg_strcasecmp(name, "id") == 0 ||
		(len > 3 && pg_strcasecmp(name + len - 3, "_id") == 0);
}

/*
 * Every value distinct (and enough rows to say so), and for integers also
 * monotone in scan order or named like an identifier.
 */
static bool
looks_like_identifier(const Frame *frame, const FrameColumn *col)
{
	if (frame->n_rows < 20 || col->n_missing > 0)
		return false;
	if (col->kind == FEATURE_CATEGORICAL)
		return col->dict->n_values == frame->n_rows;
	if (col->kind == FEATURE_NUMERIC && col->is_integral)
	{
		bool		increasing = true,
					decreasing = true;
		double	   *sorted;
		bool		distinct = true;

		for (int64 i = 1; i < frame->n_rows; i++)
		{
			increasing &= col->values[i] > col->values[i - 1];
			decreasing &= col->values[i] < col->values[i - 1];
		}
		if (increasing || decreasing)
			return true;
		if (!looks_like_id_name(col->name))
			return false;
		sorted = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * frame->n_rows);
		memcpy(sorted, col->values, sizeof(double) * frame->n_rows);
		qsort(sorted, frame->n_rows, sizeof(double), compare_doubles);
		for (int64 i = 1; i < frame->n_rows && distinct; i++)
			distinct = sorted[i] != sorted[i - 1];
		pfree(sorted);
		return distinct;
	}
	return false;
}

/* The number of distinct non-missing values, counted up to 2. */
static int
distinct_up_to_two(const Frame *frame, const FrameColumn *col)
{
	if (col->kind == FEATURE_CATEGORICAL)
	{
		/* the dictionary may hold values of rows the reservoir replaced */
		int			first = -1;

		for (int64 i = 0; i < frame->n_rows; i++)
		{
			int			c = col->codes[i];

			if (c < 0)
				continue;
			if (first < 0)
				first = c;
			else if (c != first)
				return 2;
		}
		return first < 0 ? 0 : 1;
	}
	else
	{
		bool		seen = false;
		double		first = 0.0;

		for (int64 i = 0; i < frame->n_rows; i++)
		{
			double		v = col->values[i];

			if (isnan(v))
				continue;
			if (!seen)
			{
				first = v;
				seen = true;
			}
			else if (v != first)
				return 2;
		}
		return seen ? 1 : 0;
	}
}

PrepSpec *
prep_choose_features(const Frame *frame, PrepWarnings *warnings)
{
	PrepSpec   *spec = palloc0(sizeof(PrepSpec));

	spec->columns = palloc0(sizeof(PrepColumn) * Max(frame->n_columns, 1));
	for (int c = 0; c < frame->n_columns; c++)
	{
		const FrameColumn *col = &frame->columns[c];
		int			distinct = distinct_up_to_two(frame, col);
		PrepColumn *pc;

		CHECK_FOR_INTERRUPTS();
		if (distinct == 0)
		{
			prep_warn(warnings, NOTICE, "no_values", col->name, NULL,
					  "column \"%s\" has no values and is ignored", col->name);
			continue;
		}
		if (distinct == 1)
		{
			prep_warn(warnings, NOTICE, "constant", col->name, NULL,
					  "column \"%s\" has a single value and is ignored", col->name);
			continue;
		}
		if (looks_like_identifier(frame, col))
		{
			if (!automl_keep_id_columns)
			{
				prep_warn(warnings, NOTICE, "identifier", col->name,
						  "Set automl.keep_id_columns to keep such columns.",
						  "column \"%s\" looks like an identifier (every value is distinct) and is ignored",
						  col->name);
				continue;
			}
			prep_warn(warnings, NOTICE, "identifier", col->name, NULL,
					  "column \"%s\" looks like an identifier (every value is distinct); it is kept because automl.keep_id_columns is on",
					  col->name);
		}
		pc = &spec->columns[spec->n_columns++];
		pc->name = col->name;
		pc->kind = col->kind;
		pc->frame_column = c;
	}
	if (spec->n_columns == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has no feature column left to train on",
						frame->relation_name),
				 errdetail("Columns with no values, a single value, or a distinct value in every row are ignored.")));
	return spec;
}

PrepSpec *
prep_copy_unfitted(const PrepSpec *spec)
{
	PrepSpec   *copy = palloc0(sizeof(PrepSpec));

	copy->for_trees = spec->for_trees;
	copy->n_columns = spec->n_columns;
	copy->columns = palloc0(sizeof(PrepColumn) * Max(spec->n_columns, 1));
	for (int c = 0; c < spec->n_columns; c++)
	{
		copy->columns[c].name = spec->columns[c].name;
		copy->columns[c].kind = spec->columns[c].kind;
		copy->columns[c].frame_column = spec->columns[c].frame_column;
	}
	return copy;
}

