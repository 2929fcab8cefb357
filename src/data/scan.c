/*
 * scan.c: read a relation into a Frame through an SPI cursor, in batches.
 *
 * The query runs as the calling user, so privileges and row-level security
 * apply. Identifiers are quoted; nothing from the user is spliced into SQL
 * unquoted.
 */
#include "postgres.h"

#include <math.h>

#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "data/frame.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#define SCAN_BATCH_ROWS 10000

bool
frame_type_is_numeric(Oid type_oid)
{
	switch (type_oid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
		case BOOLOID:
			return true;
		default:
			return false;
	}
}

double
frame_datum_to_double(Datum value, Oid type_oid)
{
	switch (type_oid)
	{
		case INT2OID:
			return (double) DatumGetInt16(value);
		case INT4OID:
			return (double) DatumGetInt32(value);
		case INT8OID:
			return (double) DatumGetInt64(value);
		case FLOAT4OID:
			return (double) DatumGetFloat4(value);
		case FLOAT8OID:
			return DatumGetFloat8(value);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, value));
		case BOOLOID:
			return DatumGetBool(value) ? 1.0 : 0.0;
		default:
			elog(ERROR, "type %u is not numeric", type_oid);
	}
	return 0.0;					/* keep the compiler quiet */
}

static bool
type_is_integral(Oid type_oid)
{
	return type_oid == INT2OID || type_oid == INT4OID ||
		type_oid == INT8OID || type_oid == BOOLOID;
}

/* ---- target labels: a small open-addressing table from text to code ---- */

typedef struct LabelTable
{
	int		   *slots;			/* label index + 1; 0 = empty */
	int			n_slots;		/* a power of two, more than twice the labels */
	MemoryContext cxt;
} LabelTable;

static uint32
label_hash(const char *s)
{
	uint32		h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8) *s) * 16777619u;
	return h;
}

static int
label_code(LabelTable *table, TargetColumn *target, const char *label)
{
	uint32		mask = table->n_slots - 1;
	uint32		i = label_hash(label) & mask;

	while (table->slots[i] != 0)
	{
		int			code = table->slots[i] - 1;

		if (strcmp(target->labels[code], label) == 0)
			return code;
		i = (i + 1) & mask;
	}
	if (target->n_labels >= FRAME_MAX_LABELS)
		return -1;
	target->labels[target->n_labels] = MemoryContextStrdup(table->cxt, label);
	table->slots[i] = ++target->n_labels;
	return target->n_labels - 1;
}

/* ---- the scan ---- */

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

static void
grow_frame(Frame *frame, MemoryContext cxt, int64 *capacity)
{
	int64		new_capacity = *capacity * 2;
	Size		size = mul_size(sizeof(double), (Size) new_capacity);

	for (int c = 0; c < frame->n_columns; c++)
		frame->columns[c].values = repalloc_huge(frame->columns[c].values, size);
	if (frame->target.is_numeric)
		frame->target.values = repalloc_huge(frame->target.values, size);
	if (frame->target.codes)
		frame->target.codes = repalloc_huge(frame->target.codes,
											mul_size(sizeof(int), (Size) new_capacity));
	*capacity = new_capacity;
}

Frame *
frame_scan(Oid relid, const char *target, List *exclude)
{
	MemoryContext frame_cxt = CurrentMemoryContext;
	MemoryContext batch_cxt;
	Frame	   *frame = palloc0(sizeof(Frame));
	TargetColumn *tc = &frame->target;
	Relation	rel;
	TupleDesc	desc;
	StringInfoData query;
	StringInfoData skipped;
	int			target_attno = 0;
	int64		capacity = 1024;
	int64	   *n_infinite;
	int64		n_infinite_target = 0;
	LabelTable	labels;
	Oid			target_out_func = InvalidOid;
	bool		target_out_varlena;
	SPIPlanPtr	plan;
	Portal		portal;
	ListCell   *lc;

	rel = relation_open(relid, AccessShareLock);
	check_relkind(rel);
	desc = RelationGetDescr(rel);
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

	frame->columns = palloc0(sizeof(FrameColumn) * desc->natts);
	initStringInfo(&query);
	initStringInfo(&skipped);
	appendStringInfoString(&query, "SELECT ");
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);
		Oid			base_type = getBaseType(att->atttypid);

		if (att->attisdropped)
			continue;
		if (strcmp(name, target) == 0)
		{
			target_attno = i + 1;
			tc->name = pstrdup(name);
			tc->type_oid = base_type;
			continue;
		}
		if (name_in_list(name, exclude))
			continue;
		if (!frame_type_is_numeric(base_type))
		{
			appendStringInfo(&skipped, "%s%s (%s)", skipped.len > 0 ? ", " : "",
							 quote_identifier(name), format_type_be(att->atttypid));
			continue;
		}
		frame->columns[frame->n_columns].name = pstrdup(name);
		frame->columns[frame->n_columns].type_oid = base_type;
		frame->columns[frame->n_columns].kind = FEATURE_NUMERIC;
		appendStringInfo(&query, "%s, ", quote_identifier(name));
		frame->n_columns++;
	}
	if (target_attno == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("target column \"%s\" does not exist in relation \"%s\"",
						target, RelationGetRelationName(rel))));
	appendStringInfo(&query, "%s FROM %s", quote_identifier(target), frame->relation_name);
	relation_close(rel, NoLock);	/* keep the lock until the end of the transaction */

	if (skipped.len > 0)
		ereport(NOTICE,
				(errmsg("skipping columns of unsupported types: %s", skipped.data),
				 errhint("This version trains on numeric and boolean columns; use exclude to silence this notice.")));
	if (frame->n_columns == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has no usable feature columns", frame->relation_name),
				 errdetail("Feature columns must be of a numeric or boolean type.")));

	/* Storage for the columns and the target, grown by doubling. */
	tc->is_numeric = frame_type_is_numeric(tc->type_oid);
	tc->is_integral = type_is_integral(tc->type_oid);
	for (int c = 0; c < frame->n_columns; c++)
		frame->columns[c].values = MemoryContextAllocHuge(frame_cxt, sizeof(double) * capacity);
	if (tc->is_numeric)
		tc->values = MemoryContextAllocHuge(frame_cxt, sizeof(double) * capacity);
	/* Any target may turn out to be class labels, until it has too many. */
	tc->codes = MemoryContextAllocHuge(frame_cxt, sizeof(int) * capacity);
	tc->labels = palloc(sizeof(char *) * FRAME_MAX_LABELS);
	labels.n_slots = 4096;
	labels.slots = palloc0(sizeof(int) * labels.n_slots);
	labels.cxt = frame_cxt;
	if (tc->type_oid != BOOLOID)
		getTypeOutputInfo(tc->type_oid, &target_out_func, &target_out_varlena);
	n_infinite = palloc0(sizeof(int64) * frame->n_columns);

	batch_cxt = AllocSetContextCreate(frame_cxt, "automl scan batch", ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(query.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", query.data, SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);

	for (;;)
	{
		SPITupleTable *tuptable;
		uint64		n_fetched;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, SCAN_BATCH_ROWS);
		n_fetched = SPI_processed;
		tuptable = SPI_tuptable;
		if (n_fetched == 0)
			break;

		for (uint64 t = 0; t < n_fetched; t++)
		{
			HeapTuple	tuple = tuptable->vals[t];
			TupleDesc	tdesc = tuptable->tupdesc;
			int64		row = frame->n_rows;
			bool		isnull;
			Datum		d;

			d = SPI_getbinval(tuple, tdesc, frame->n_columns + 1, &isnull);
			if (!isnull && tc->is_numeric)
			{
				double		v = frame_datum_to_double(d, tc->type_oid);

				if (isnan(v))
					isnull = true;
				else if (isinf(v))
				{
					n_infinite_target++;
					isnull = true;
				}
			}
			if (isnull)
			{
				frame->n_null_target++;
				continue;
			}

			if (row >= capacity)
				grow_frame(frame, frame_cxt, &capacity);

			if (tc->is_numeric)
				tc->values[row] = frame_datum_to_double(d, tc->type_oid);
			if (!tc->too_many_labels)
			{
				MemoryContext old = MemoryContextSwitchTo(batch_cxt);
				const char *label;
				int			code;

				if (tc->type_oid == BOOLOID)
					label = DatumGetBool(d) ? "true" : "false";
				else
					label = OidOutputFunctionCall(target_out_func, d);
				MemoryContextSwitchTo(old);
				code = label_code(&labels, tc, label);
				if (code < 0)
					tc->too_many_labels = true;
				tc->codes[row] = code;
			}

			for (int c = 0; c < frame->n_columns; c++)
			{
				FrameColumn *col = &frame->columns[c];
				double		v;

				d = SPI_getbinval(tuple, tdesc, c + 1, &isnull);
				v = isnull ? NAN : frame_datum_to_double(d, col->type_oid);
				if (isinf(v))
					n_infinite[c]++;
				if (isnan(v))
					col->n_missing++;
				col->values[row] = v;
			}
			frame->n_rows++;
		}
		SPI_freetuptable(tuptable);
		MemoryContextReset(batch_cxt);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(batch_cxt);

	for (int c = 0; c < frame->n_columns; c++)
	{
		if (n_infinite[c] > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("column \"%s\" contains infinite values", frame->columns[c].name),
					 errdetail_plural("%lld row holds Infinity or -Infinity.",
									 "%lld rows hold Infinity or -Infinity.",
									 n_infinite[c], (long long) n_infinite[c]),
					 errhint("Replace them with NULL or finite values, or exclude the column.")));
	}
	if (n_infinite_target > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" contains infinite values", tc->name),
				 errdetail_plural("%lld row holds Infinity or -Infinity.",
								 "%lld rows hold Infinity or -Infinity.",
								 n_infinite_target, (long long) n_infinite_target),
				 errhint("Filter those rows out with a view.")));
	if (tc->too_many_labels)
		tc->codes = NULL;
	return frame;
}
