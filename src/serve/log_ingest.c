/*
 * log_ingest.c: one ingestion round, from spool files to automl.predictions
 * (see log.h), and automl_flush_predictions, which runs rounds in the
 * caller's transaction.
 *
 * A round runs under a transaction-level advisory lock so that only one
 * runs per database at a time: it reads each spool file from where the last
 * committed round stopped, inserts its complete records in batches, and
 * stores the new position in automl.log_spool in the same transaction. Files
 * whose process has ended and whose every byte was committed are deleted by
 * the next round of the background writer.
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/file_perm.h"
#include "common/shared_struct.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "registry/registry.h"
#include "serve/log.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "common/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#define INGEST_BATCH 2000
#define INGEST_READ_BYTES (2 * LOG_MAX_RECORD)	/* per file and round: fits a whole record */
#define INGEST_LOCK_CLASS 6385005		/* "aml" + 1: the registry uses "aml" */
#define TOMBSTONE_DAYS 30			/* positions of deleted files are kept this long */
#define MAX_FLUSH_ROUNDS 64			/* automl_flush_predictions: then the writer goes on */

PG_FUNCTION_INFO_V1(automl_flush_predictions);

/* ---- one batch of rows ---- */

#define INGEST_BATCH_BYTES (64 * 1024 * 1024)	/* and at most this much text per batch */

typedef struct Batch
{
	int			n;
	size_t		bytes;
	Datum		model[INGEST_BATCH];
	Datum		version[INGEST_BATCH];
	Datum		at[INGEST_BATCH];
	Datum		key[INGEST_BATCH];
	bool		key_null[INGEST_BATCH];
	Datum		features[INGEST_BATCH];
	Datum		prediction[INGEST_BATCH];
	bool		prediction_null[INGEST_BATCH];
	Datum		label[INGEST_BATCH];
	bool		label_null[INGEST_BATCH];
	Datum		probabilities[INGEST_BATCH];
	bool		probabilities_null[INGEST_BATCH];
} Batch;

static void
batch_add(Batch *b, const LogEntry *e)
{
	JsonBuilder json;
	Jsonb	   *features;
	int			i = b->n++;

	b->model[i] = CStringGetTextDatum(e->model);
	b->version[i] = Int32GetDatum(e->version);
	b->at[i] = TimestampTzGetDatum(e->predicted_at);
	b->key_null[i] = e->key == NULL;
	b->key[i] = e->key ? CStringGetTextDatum(e->key) : (Datum) 0;
	b->prediction_null[i] = !e->has_prediction || !isfinite(e->prediction);
	b->prediction[i] = Float8GetDatum(e->prediction);
	b->label_null[i] = e->label == NULL;
	b->label[i] = e->label ? CStringGetTextDatum(e->label) : (Datum) 0;

	json_begin(&json);
	for (int f = 0; f < e->n_features; f++)
	{
		const LoggedValue *v = &e->values[f];

		json_key(&json, e->feature_names[f]);
		if (v->kind == LOGGED_NUMBER)
			json_number(&json, v->number);	/* null when not finite */
		else if (v->kind == LOGGED_TEXT)
			json_string(&json, v->text);
		else
			json_null(&json);
	}
	features = json_end(&json);
	b->features[i] = JsonbPGetDatum(features);
	b->bytes += VARSIZE(features);

	b->probabilities_null[i] = e->n_probabilities == 0;
	if (e->n_probabilities > 0)
	{
		/* a float8[] literal: models' class counts differ, so no two-dimensional array */
		StringInfoData array;
		char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

		initStringInfo(&array);
		appendStringInfoChar(&array, '{');
		for (int k = 0; k < e->n_probabilities; k++)
		{
			if (k > 0)
				appendStringInfoChar(&array, ',');
			if (isfinite(e->probabilities[k]))
			{
				double_to_shortest_decimal_buf(e->probabilities[k], digits);
				appendStringInfoString(&array, digits);
			}
			else
				appendStringInfoString(&array, "NULL");
		}
		appendStringInfoChar(&array, '}');
		b->probabilities[i] = CStringGetTextDatum(array.data);
	}
}

static Datum
batch_array(const Batch *b, const Datum *values, const bool *nulls, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {b->n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array((Datum *) values, (bool *) nulls, 1, dims, lbs,
											  type, typlen, typbyval, typalign));
}

/* Inserts the batch; the arrays are built in cxt, which the caller resets after. */
static void
batch_insert(Batch *b, MemoryContext cxt)
{
	Oid			types[8] = {TEXTARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID,
	JSONBARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		args[8];
	int			rc;

	MemoryContext old;

	if (b->n == 0)
		return;
	b->bytes = 0;
	old = MemoryContextSwitchTo(cxt);
	args[0] = batch_array(b, b->model, NULL, TEXTOID);
	args[1] = batch_array(b, b->version, NULL, INT4OID);
	args[2] = batch_array(b, b->at, NULL, TIMESTAMPTZOID);
	args[3] = batch_array(b, b->key, b->key_null, TEXTOID);
	args[4] = batch_array(b, b->features, NULL, JSONBOID);
	args[5] = batch_array(b, b->prediction, b->prediction_null, FLOAT8OID);
	args[6] = batch_array(b, b->label, b->label_null, TEXTOID);
	args[7] = batch_array(b, b->probabilities, b->probabilities_null, TEXTOID);
	MemoryContextSwitchTo(old);
	rc = SPI_execute_with_args(
		"INSERT INTO automl.predictions"
		" (model, version, predicted_at, key, features, prediction, label, probabilities)"
		" SELECT u.m, u.v, u.t, u.k, u.f, u.p, u.l, u.pr::pg_catalog.float8[]"
		" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
		" pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7),"
		" pg_catalog.unnest($8)) AS u(m, v, t, k, f, p, l, pr)",
		8, types, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "automl could not insert logged predictions: %s", SPI_result_code_string(rc));
	b->n = 0;
}

static void
save_position(const SpoolFile *f, int64 consumed)
{
	Oid			types[2] = {TEXTOID, INT8OID};
	Datum		args[2] = {CStringGetTextDatum(f->base), Int64GetDatum(consumed)};

	if (SPI_execute_with_args("INSERT INTO automl.log_spool (file, consumed) VALUES ($1, $2)"
							  " ON CONFLICT (file) DO UPDATE SET consumed = EXCLUDED.consumed",
							  2, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "automl could not record the spool position of \"%s\"", f->path);
}

/*
 * Which records may be inserted (asked once per model name and round, not per
 * row): not those of a deleted model, nor of an earlier model of a name taken
 * again since, nor any predicted before the extension was (re)created here.
 */
#define FILTER_NAMES 64

typedef struct RecordFilter
{
	TimestampTz ignore_before;
	int			n;
	char	   *name[FILTER_NAMES];
	TimestampTz created_at[FILTER_NAMES];	/* DT_NOEND: no such model */
} RecordFilter;

static void
filter_init(RecordFilter *filter)
{
	bool		isnull;

	memset(filter, 0, sizeof(RecordFilter));
	if (SPI_execute("SELECT max(ignore_before) FROM automl.log_state", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "automl could not read automl.log_state");
	filter->ignore_before = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		filter->ignore_before = DT_NOBEGIN;
}

static bool
filter_accepts(RecordFilter *filter, const LogEntry *e)
{
	int			i;

	if (e->predicted_at < filter->ignore_before)
		return false;
	for (i = 0; i < filter->n; i++)
		if (strcmp(filter->name[i], e->model) == 0)
			break;
	if (i == filter->n)
	{
		Oid			types[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(e->model)};
		bool		isnull;
		TimestampTz created = DT_NOEND;

		/* on a Citus worker, the registry's created_at comes with the replica (replica.c) */
		bool		on_replica = replica_in_use();
		ReplicaRead read;
		int			rc;

		if (on_replica)
			replica_begin_read(&read);
		rc = SPI_execute_with_args(on_replica
								   ? "SELECT created_at FROM automl.replica WHERE name OPERATOR(pg_catalog.=) $1 LIMIT 1"
								   : "SELECT created_at FROM automl.registry WHERE name OPERATOR(pg_catalog.=) $1",
								   1, types, args, NULL, false, 1);
		if (on_replica)
			replica_end_read(&read);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "automl could not read automl.registry");
		if (SPI_processed == 1)
			created = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (filter->n == FILTER_NAMES)
			filter->n = 0;		/* more names than that in one round: start over */
		i = filter->n++;
		filter->name[i] = MemoryContextStrdup(TopTransactionContext, e->model);
		filter->created_at[i] = created;
	}
	return e->predicted_at >= filter->created_at[i];
}

/* Reads one file from its committed position; returns the rows inserted. */
static int64
ingest_file(SpoolFile *f, Batch *batch, MemoryContext batch_cxt, RecordFilter *filter)
{
	int			fd;
	size_t		want = (size_t) Min((int64) f->size - f->consumed, (int64) INGEST_READ_BYTES);
	char	   *data = palloc(want + 1);
	size_t		have = 0;
	size_t		pos = 0;
	int64		rows = 0;
	bool		to_end;

	fd = OpenTransientFile(f->path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return 0;				/* renamed to .done meanwhile: next round */
	while (have < want)
	{
		ssize_t		n = pg_pread(fd, data + have, want - have, f->consumed + have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += n;
	}
	CloseTransientFile(fd);
	to_end = (int64) (f->consumed + have) >= (int64) f->size;

	while (pos < have)
	{
		LogEntry	entry;
		size_t		used = 0;
		LogDecodeStatus status;
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);

		status = log_decode(data + pos, have - pos, &entry, &used);
		MemoryContextSwitchTo(old);
		if (status == LOG_DECODED)
		{
			bool		accepted = filter_accepts(filter, &entry);

			old = MemoryContextSwitchTo(batch_cxt);
			if (accepted)
				batch_add(batch, &entry);
			MemoryContextSwitchTo(old);
			pos += used;
			rows += accepted;
			if (batch->n == INGEST_BATCH || batch->bytes >= INGEST_BATCH_BYTES)
			{
				batch_insert(batch, batch_cxt);
				MemoryContextReset(batch_cxt);
			}
			continue;
		}
		if (status == LOG_BAD_FIELDS)
		{
			/* a whole record whose fields make no sense (another layout?): skip it alone */
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("automl skipped a malformed record of %zu bytes in spool file \"%s\" at offset " INT64_FORMAT,
							used, f->path, f->consumed + (int64) pos)));
			pos += used;
			continue;
		}
		/* A short or bad record in a running process's file may still be being written. */
		if (f->complete && to_end)
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("automl skipped %zu bytes of spool file \"%s\" at offset " INT64_FORMAT
							": %s record", have - pos, f->path, f->consumed + (int64) pos,
							status == LOG_INCOMPLETE ? "a truncated" : "a corrupted")));
			pos = have;
		}
		else if (status == LOG_CORRUPTED && f->complete)
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("automl skipped the rest of spool file \"%s\" from offset " INT64_FORMAT
							": a corrupted record", f->path, f->consumed + (int64) pos)));
			pos = (size_t) (f->size - f->consumed);
		}
		break;
	}
	batch_insert(batch, batch_cxt);
	MemoryContextReset(batch_cxt);
	if (pos > 0)
	{
		f->consumed += pos;
		save_position(f, f->consumed);
	}
	pfree(data);
	return rows;
}

/*
 * One ingestion round in the current transaction (connected to SPI, as a
 * role that may write automl.predictions). The background writer (background)
 * only tries the lock (*locked says whether it got it), deletes complete
 * files whose every byte an earlier committed round stored, and prunes old
 * tombstones; automl_flush_predictions waits for the lock and deletes
 * nothing, since its transaction may still roll back. Returns the rows
 * inserted; *more is set when a file has bytes left for another round.
 */
int64
log_ingest_round(bool background, bool *more, bool *locked)
{
	int			n_files;
	SpoolFile  *files;
	int64		rows = 0;
	Batch	   *batch = palloc(sizeof(Batch));
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "automl log batch",
													ALLOCSET_DEFAULT_SIZES);
	RecordFilter filter;

	batch->n = 0;
	batch->bytes = 0;
	*more = false;
	/* the background writer only tries: whoever holds the lock does this work */
	if (SPI_execute(background
					? "SELECT pg_catalog.pg_try_advisory_xact_lock(" CppAsString2(INGEST_LOCK_CLASS) ", 0)"
					: "SELECT pg_catalog.pg_advisory_xact_lock(" CppAsString2(INGEST_LOCK_CLASS) ", 0) IS NULL",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "automl could not lock the prediction log");
	*locked = !background ||
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &(bool) {false}));
	if (!*locked)
		return 0;

	files = log_spool_list(&n_files);
	filter_init(&filter);
	/*
	 * Not read_only: that would read with the snapshot taken before the lock
	 * was granted, and miss the positions the previous holder committed.
	 */
	if (SPI_execute("SELECT file, consumed FROM automl.log_spool", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "automl could not read automl.log_spool");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		char	   *base = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		int64		consumed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
		SpoolFile	key = {.base = base};
		SpoolFile  *f = bsearch(&key, files, n_files, sizeof(SpoolFile), log_spool_compare);

		if (f != NULL)
			f->consumed = consumed;
	}

	for (int i = 0; i < n_files; i++)
	{
		SpoolFile  *f = &files[i];

		CHECK_FOR_INTERRUPTS();
		if (f->consumed >= (int64) f->size)
		{
			/* its position row stays as a tombstone: a stale copy (a base backup) is not read again */
			if (f->complete && background)
				(void) unlink(f->path);
			continue;
		}
		{
			int64		before = f->consumed;

			rows += ingest_file(f, batch, batch_cxt, &filter);
			/* more to read now; a file stuck on a record still being written waits */
			if (f->consumed < (int64) f->size && f->consumed > before)
				*more = true;
		}
	}
	/* tombstones of processes that started more than TOMBSTONE_DAYS ago go */
	if (background &&
		SPI_execute("DELETE FROM automl.log_spool WHERE pg_catalog.split_part(file, '-', 2)::int8"
					" OPERATOR(pg_catalog.<) (pg_catalog.date_part('epoch', pg_catalog.now()"
					" OPERATOR(pg_catalog.-) '" CppAsString2(TOMBSTONE_DAYS) " days'::interval"
					" OPERATOR(pg_catalog.-) '2000-01-01 00:00:00+00'::timestamptz) * 1000000)::int8",
					false, 0) != SPI_OK_DELETE)
		elog(ERROR, "automl could not update automl.log_spool");
	MemoryContextDelete(batch_cxt);
	return rows;
}

/* ---- the SQL function ---- */

Datum
automl_flush_predictions(PG_FUNCTION_ARGS)
{
	CatalogWriter writer;
	int64		rows = 0;
	bool		more = true;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("the prediction log cannot be written on a standby"),
				 errdetail("Predictions scored on a standby are not logged.")));
	PreventCommandIfReadOnly("automl_flush_predictions()");
	/* the positions must be read after the lock, which a transaction snapshot cannot */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("automl_flush_predictions() runs only in READ COMMITTED transactions")));
	log_flush();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	for (int round = 0; more && round < MAX_FLUSH_ROUNDS; round++)
	{
		bool		locked;

		rows += log_ingest_round(false, &more, &locked);
	}
	/* on a Citus coordinator, the predictions logged on the workers too (docs/scale-out.md) */
	if (replica_collects())
		rows += replica_collect_predictions();
	catalog_end_write(&writer);
	SPI_finish();
	PG_RETURN_INT64(rows);
}

