/*
 * scan.c: read a relation into a Frame through an SPI cursor, in batches.
 *
 * The query runs as the calling user, so privileges and row-level security
 * apply. Identifiers are quoted; nothing from the user is spliced into SQL
 * unquoted. Rows beyond the frame's share of the memory budget
 * (common/budget.h) are reservoir-sampled.
 */
#include "postgres.h"

#include <math.h>

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/budget.h"
#include "common/pg_prng.h"
#include "data/frame.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#define SCAN_BATCH_ROWS 10000

static bool
name_in_list(const char *name, List *names)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		if (strcmp(name, (const char *) lfirst(lc)) == 0)
			return true;
	}
	return false;
}

static void
check_relkind(Relation rel)
{
	char		kind = rel->rd_rel->relkind;

	if (kind != RELKIND_RELATION && kind != RELKIND_VIEW &&
		kind != RELKIND_MATVIEW && kind != RELKIND_PARTITIONED_TABLE &&
		kind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, view or materialized view",
						RelationGetRelationName(rel))));
}

static bool
type_is_integral(Oid type_oid)
{
	return type_oid == INT2OID || type_oid == INT4OID ||
		type_oid == INT8OID || type_oid == BOOLOID;
}

/* Bytes one kept row costs in the frame. */
static Size
bytes_per_row(const Frame *frame)
{
	Size		bytes = sizeof(double) + sizeof(int);	/* the target, both forms */

	for (int c = 0; c < frame->n_columns; c++)
		bytes += frame->columns[c].kind == FEATURE_CATEGORICAL ? sizeof(int32) : sizeof(double);
	return bytes;
}

static void
grow_frame(Frame *frame, int64 *capacity, int64 max_rows)
{
	int64		new_capacity = Min(*capacity * 2, max_rows);

	for (int c = 0; c < frame->n_columns; c++)
	{
		FrameColumn *col = &frame->columns[c];

		if (col->kind == FEATURE_CATEGORICAL)
			col->codes = repalloc_huge(col->codes, sizeof(int32) * (Size) new_capacity);
		else
			col->values = repalloc_huge(col->values, sizeof(double) * (Size) new_capacity);
	}
	if (frame->target.is_numeric)
		frame->target.values = repalloc_huge(frame->target.values, sizeof(double) * (Size) new_capacity);
	frame->target.codes = repalloc_huge(frame->target.codes, sizeof(int) * (Size) new_capacity);
	*capacity = new_capacity;
}

/*
 * Reads the column list of the relation: the target, and the features that
 * are not excluded and of a supported type. Builds the SELECT.
 */
static void
describe_columns(Frame *frame, Oid relid, const char *target, List *exclude, StringInfo query)
{
	TargetColumn *tc = &frame->target;
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData skipped;
	ListCell   *lc;
	bool		found_target = false;

	check_relkind(rel);
	frame->relation_id = relid;
	frame->relation_kind = rel->rd_rel->relkind;
	frame->relation_name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													  RelationGetRelationName(rel));

	/* Every excluded name must exist: a typo would otherwise train on PII. */
	foreach(lc, exclude)
	{
		const char *name = lfirst(lc);
		bool		found = false;

		for (int i = 0; i < desc->natts && !found; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			found = !att->attisdropped && strcmp(NameStr(att->attname), name) == 0;
		}
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" named in exclude does not exist in relation \"%s\"",
							name, RelationGetRelationName(rel))));
	}
	if (name_in_list(target, exclude))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target column \"%s\" is also named in exclude", target)));

	frame->columns = palloc0(sizeof(FrameColumn) * Max(desc->natts, 1));
	initStringInfo(&skipped);
	appendStringInfoString(query, "SELECT ");
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);
		Oid			base_type;
		FeatureKind kind;
		FrameColumn *col;

		/* a dropped column keeps its place, with no type */
		if (att->attisdropped)
			continue;
		base_type = getBaseType(att->atttypid);
		if (strcmp(name, target) == 0)
		{
			found_target = true;
			tc->name = pstrdup(name);
			tc->type_oid = base_type;
			continue;
		}
		if (name_in_list(name, exclude))
			continue;
		if (!frame_kind_of_type(base_type, &kind))
		{
			appendStringInfo(&skipped, "%s%s (%s)", skipped.len > 0 ? ", " : "",
							 quote_identifier(name), format_type_be(att->atttypid));
			continue;
		}
		col = &frame->columns[frame->n_columns++];
		col->name = pstrdup(name);
		col->type_oid = base_type;
		col->kind = kind;
		col->is_integral = type_is_integral(base_type) && base_type != BOOLOID;
		appendStringInfo(query, "%s, ", quote_identifier(name));
	}
	if (!found_target)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("target column \"%s\" does not exist in relation \"%s\"",
						target, RelationGetRelationName(rel))));
	appendStringInfo(query, "%s FROM %s", quote_identifier(target), frame->relation_name);
	relation_close(rel, NoLock);	/* keep the lock until the end of the transaction */

	if (skipped.len > 0)
		ereport(NOTICE,
				(errmsg("skipping columns of unsupported types: %s", skipped.data),
				 errhint("Numbers, booleans, text, enums, dates and timestamps are used; use exclude to silence this notice.")));
	if (frame->n_columns == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has no usable feature columns", frame->relation_name),
				 errdetail("Every column other than the target is excluded or of an unsupported type.")));
}

/* Drops labels that no kept row has (rows replaced by the reservoir). */
static void
compact_labels(Frame *frame)
{
	TargetColumn *tc = &frame->target;
	int		   *count = palloc0(sizeof(int) * Max(tc->n_labels, 1));
	int		   *new_code = palloc(sizeof(int) * Max(tc->n_labels, 1));
	int			n = 0;

	for (int64 i = 0; i < frame->n_rows; i++)
		count[tc->codes[i]]++;
	for (int k = 0; k < tc->n_labels; k++)
	{
		new_code[k] = count[k] > 0 ? n : -1;
		if (count[k] > 0)
			tc->labels[n++] = tc->labels[k];
	}
	if (n != tc->n_labels)
	{
		for (int64 i = 0; i < frame->n_rows; i++)
			tc->codes[i] = new_code[tc->codes[i]];
		tc->n_labels = n;
	}
	pfree(count);
	pfree(new_code);
}

/* What a scan carries from row to row. */
typedef struct FrameScan
{
	Frame	   *frame;
	MemoryContext frame_cxt;
	MemoryContext batch_cxt;	/* per fetched batch: label and category texts */
	int64		capacity;
	int64		max_rows;		/* automl.train_memory's bound; past it, a reservoir sample */
	pg_prng_state rng;
	CategoryDict *labels;
	int64	   *n_infinite;		/* per column */
	int64		n_infinite_target;
} FrameScan;

/* The frame's arrays for the first rows, and the memory budget's bound. */
static void
scan_start(FrameScan *st, Frame *frame, uint64 seed)
{
	TargetColumn *tc = &frame->target;

	st->frame = frame;
	st->frame_cxt = CurrentMemoryContext;
	st->max_rows = budget_frame_rows(bytes_per_row(frame), 1000);
	st->capacity = Min(1024, st->max_rows);
	pg_prng_seed(&st->rng, seed ^ UINT64CONST(0x5DEECE66D));

	tc->is_numeric = frame_type_is_numeric(tc->type_oid);
	tc->is_integral = type_is_integral(tc->type_oid);
	for (int c = 0; c < frame->n_columns; c++)
	{
		FrameColumn *col = &frame->columns[c];

		if (col->kind == FEATURE_CATEGORICAL)
		{
			col->codes = MemoryContextAllocHuge(st->frame_cxt, sizeof(int32) * st->capacity);
			col->dict = category_dict_create(st->frame_cxt, 0);
		}
		else
			col->values = MemoryContextAllocHuge(st->frame_cxt, sizeof(double) * st->capacity);
	}
	if (tc->is_numeric)
		tc->values = MemoryContextAllocHuge(st->frame_cxt, sizeof(double) * st->capacity);
	/* Any target may turn out to be class labels, until it has too many. */
	tc->codes = MemoryContextAllocHuge(st->frame_cxt, sizeof(int) * st->capacity);
	st->labels = category_dict_create(st->frame_cxt, FRAME_MAX_LABELS);
	st->n_infinite = palloc0(sizeof(int64) * Max(frame->n_columns, 1));
	st->n_infinite_target = 0;
	st->batch_cxt = AllocSetContextCreate(st->frame_cxt, "automl scan batch", ALLOCSET_DEFAULT_SIZES);
}

/* Where the next row with a target goes: the next slot, a reservoir slot, or nowhere (-1). */
static int64
scan_place_row(FrameScan *st)
{
	Frame	   *frame = st->frame;
	int64		row;

	frame->n_rows_seen++;
	if (frame->n_rows < st->max_rows)
	{
		row = frame->n_rows++;
		if (row >= st->capacity)
			grow_frame(frame, &st->capacity, st->max_rows);
		return row;
	}
	row = (int64) pg_prng_uint64_range(&st->rng, 0, (uint64) frame->n_rows_seen - 1);
	return row < st->max_rows ? row : -1;
}

/* The feature columns of one tuple into frame row row. */
static void
scan_store_columns(FrameScan *st, HeapTuple tuple, TupleDesc tdesc, int64 row)
{
	Frame	   *frame = st->frame;

	for (int c = 0; c < frame->n_columns; c++)
	{
		FrameColumn *col = &frame->columns[c];
		bool		isnull;
		Datum		d = SPI_getbinval(tuple, tdesc, c + 1, &isnull);

		if (col->kind == FEATURE_CATEGORICAL)
		{
			int32		code = -1;

			if (!isnull)
			{
				int			len;
				const char *s;
				MemoryContext old = MemoryContextSwitchTo(st->batch_cxt);

				s = frame_datum_to_category(d, col->type_oid, &len);
				MemoryContextSwitchTo(old);
				code = category_dict_code(col->dict, s, len);
			}
			col->codes[row] = code;
		}
		else
		{
			double		v;

			if (isnull)
				v = NAN;
			else if (col->kind == FEATURE_NUMERIC)
				v = frame_datum_to_double(d, col->type_oid);
			else
				v = frame_datum_to_seconds(d, col->type_oid);
			if (isinf(v))
				st->n_infinite[c]++;
			col->values[row] = v;
		}
	}
}

/* One fetched tuple: its target, then its columns, unless the target is NULL or the sample skips it. */
static void
scan_tuple(FrameScan *st, HeapTuple tuple, TupleDesc tdesc)
{
	Frame	   *frame = st->frame;
	TargetColumn *tc = &frame->target;
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tdesc, frame->n_columns + 1, &isnull);
	double		target_value = 0.0;
	int64		row;
	int			label;

	if (!isnull && tc->is_numeric)
	{
		target_value = frame_datum_to_double(d, tc->type_oid);
		if (isnan(target_value))
			isnull = true;
		else if (isinf(target_value))
		{
			st->n_infinite_target++;
			isnull = true;
		}
	}
	if (isnull)
	{
		frame->n_null_target++;
		return;
	}
	row = scan_place_row(st);
	if (row < 0)
		return;
	if (tc->is_numeric)
		tc->values[row] = target_value;
	{
		int			len;
		MemoryContext old = MemoryContextSwitchTo(st->batch_cxt);
		const char *s = frame_datum_to_label(d, tc->type_oid, &len);

		MemoryContextSwitchTo(old);
		label = category_dict_code(st->labels, s, len);
	}
	if (label < 0)
		tc->too_many_labels = true;
	tc->codes[row] = label;
	scan_store_columns(st, tuple, tdesc, row);
}

/* Infinite values are errors; missing counts, the sampling NOTICE, the labels. */
static void
scan_finish(FrameScan *st)
{
	Frame	   *frame = st->frame;
	TargetColumn *tc = &frame->target;

	for (int c = 0; c < frame->n_columns; c++)
	{
		FrameColumn *col = &frame->columns[c];

		if (st->n_infinite[c] > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("column \"%s\" contains infinite values", col->name),
					 errdetail_plural("%lld row holds Infinity or -Infinity.",
									  "%lld rows hold Infinity or -Infinity.",
									  st->n_infinite[c], (long long) st->n_infinite[c]),
					 errhint("Replace them with NULL or finite values, or exclude the column.")));
		for (int64 i = 0; i < frame->n_rows; i++)
		{
			if (col->kind == FEATURE_CATEGORICAL ? col->codes[i] < 0 : isnan(col->values[i]))
				col->n_missing++;
		}
	}
	if (st->n_infinite_target > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" contains infinite values", tc->name),
				 errdetail_plural("%lld row holds Infinity or -Infinity.",
								  "%lld rows hold Infinity or -Infinity.",
								  st->n_infinite_target, (long long) st->n_infinite_target),
				 errhint("Filter those rows out with a view.")));

	if (frame->n_rows < frame->n_rows_seen)
		ereport(NOTICE,
				(errmsg("training on a sample of " INT64_FORMAT " of " INT64_FORMAT " rows",
						frame->n_rows, frame->n_rows_seen),
				 errdetail("The rows do not fit in a quarter of automl.train_memory (%d MB); a seeded reservoir sample is used.",
						   budget_limit_mb()),
				 errhint("Raise automl.train_memory to train on every row.")));

	tc->labels = st->labels->values;
	tc->n_labels = st->labels->n_values;
	if (tc->too_many_labels)
		tc->codes = NULL;
	else
		compact_labels(frame);
}

Frame *
frame_scan(Oid relid, const char *target, List *exclude, uint64 seed)
{
	Frame	   *frame = palloc0(sizeof(Frame));
	StringInfoData query;
	FrameScan	st;
	SPIPlanPtr	plan;
	Portal		portal;

	initStringInfo(&query);
	describe_columns(frame, relid, target, exclude, &query);
	scan_start(&st, frame, seed);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(query.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", query.data, SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		SPITupleTable *tuptable;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, SCAN_BATCH_ROWS);
		if (SPI_processed == 0)
			break;
		tuptable = SPI_tuptable;
		for (uint64 t = 0; t < SPI_processed; t++)
			scan_tuple(&st, tuptable->vals[t], tuptable->tupdesc);
		SPI_freetuptable(tuptable);
		MemoryContextReset(st.batch_cxt);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(st.batch_cxt);
	scan_finish(&st);
	return frame;
}

Frame *
frame_subset(const Frame *frame, const int64 *rows, int64 n)
{
	Frame	   *sub = palloc(sizeof(Frame));
	MemoryContext cxt = CurrentMemoryContext;

	*sub = *frame;
	sub->n_rows = n;
	sub->columns = palloc(sizeof(FrameColumn) * Max(frame->n_columns, 1));
	for (int c = 0; c < frame->n_columns; c++)
	{
		const FrameColumn *from = &frame->columns[c];
		FrameColumn *to = &sub->columns[c];

		*to = *from;			/* name, kind and the category dictionary are shared */
		to->n_missing = 0;
		to->values = NULL;
		to->codes = NULL;
		if (from->values != NULL)
		{
			to->values = MemoryContextAllocHuge(cxt, sizeof(double) * Max(n, 1));
			for (int64 i = 0; i < n; i++)
			{
				to->values[i] = from->values[rows[i]];
				to->n_missing += isnan(to->values[i]);
			}
		}
		if (from->codes != NULL)
		{
			to->codes = MemoryContextAllocHuge(cxt, sizeof(int32) * Max(n, 1));
			for (int64 i = 0; i < n; i++)
			{
				to->codes[i] = from->codes[rows[i]];
				to->n_missing += to->codes[i] < 0;
			}
		}
	}
	if (frame->target.values != NULL)
	{
		sub->target.values = MemoryContextAllocHuge(cxt, sizeof(double) * Max(n, 1));
		for (int64 i = 0; i < n; i++)
			sub->target.values[i] = frame->target.values[rows[i]];
	}
	if (frame->target.codes != NULL)
	{
		sub->target.codes = MemoryContextAllocHuge(cxt, sizeof(int) * Max(n, 1));
		for (int64 i = 0; i < n; i++)
			sub->target.codes[i] = frame->target.codes[rows[i]];
	}
	return sub;
}

void
frame_free_values(Frame *frame)
{
	for (int c = 0; c < frame->n_columns; c++)
	{
		if (frame->columns[c].values != NULL)
			pfree(frame->columns[c].values);
		if (frame->columns[c].codes != NULL)
			pfree(frame->columns[c].codes);
		frame->columns[c].values = NULL;
		frame->columns[c].codes = NULL;
	}
	if (frame->target.values != NULL)
		pfree(frame->target.values);
	if (frame->target.codes != NULL)
		pfree(frame->target.codes);
	frame->target.values = NULL;
	frame->target.codes = NULL;
	frame->n_rows = 0;
}
