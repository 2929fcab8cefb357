/*
 * log_writer.c: moves spool files into automl.predictions (see log.h).
 *
 * One ingestion round, under a transaction-level advisory lock so that only
 * one runs per database at a time: read each spool file from where the last
 * committed round stopped, insert its complete records in batches, and store
 * the new position in automl.log_spool in the same transaction. Files whose
 * process has ended and whose every byte was committed are deleted by the
 * next round of the background writer.
 *
 * The background writer is a dynamic background worker, one per database,
 * started by the first spool write that finds none running and ending after
 * a few idle seconds (so that it never holds up DROP DATABASE for long).
 * automl_flush_predictions() runs a round in the caller's transaction.
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
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#define WRITER_SLOTS 32
#define WRITER_NAP_MS 200
#define WRITER_IDLE_EXIT_MS 3000
#define WRITER_START_GRACE_MS 10000		/* a launch not yet running is trusted this long */
#define INGEST_BATCH 2000
#define INGEST_READ_BYTES (2 * LOG_MAX_RECORD)	/* per file and round: fits a whole record */
#define INGEST_LOCK_CLASS 6385005		/* "aml" + 1: the registry uses "aml" */
#define TOMBSTONE_DAYS 30			/* positions of deleted files are kept this long */
#define MAX_FLUSH_ROUNDS 64			/* automl_flush_predictions: then the writer goes on */

typedef struct WriterSlot
{
	Oid			database;		/* InvalidOid: free */
	int			pid;			/* 0 while starting */
	TimestampTz launched_at;
} WriterSlot;

typedef struct WriterShared
{
	slock_t		mutex;
	int64		generation;		/* when this shared memory was set up */
	WriterSlot	slots[WRITER_SLOTS];
} WriterShared;

static WriterShared *writers = NULL;
static bool writers_attach_failed = false;
static bool warned_no_writer = false;
static shmem_request_hook_type prev_shmem_request_hook = NULL;

PGDLLEXPORT void automl_log_writer_main(Datum arg);

PG_FUNCTION_INFO_V1(automl_flush_predictions);

/* ---- shared state ---- */

static void
writer_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(WriterShared)));
}

void
log_writer_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = writer_shmem_request;
}

static void
init_writers(void *shared)
{
	WriterShared *w = shared;

	SpinLockInit(&w->mutex);
	w->generation = (int64) GetCurrentTimestamp();
	memset(w->slots, 0, sizeof(w->slots));
}

static bool
attach(void)
{
	if (writers != NULL)
		return true;
	if (writers_attach_failed)
		return false;
	/* the name carries the layout: a library replaced under a running server must not reuse an old one */
	writers = shared_struct_attach("automl log writers, layout 2", sizeof(WriterShared), init_writers);
	writers_attach_failed = writers == NULL;
	return writers != NULL;
}

static void
warn_no_writer(const char *why)
{
	if (warned_no_writer)
		return;
	warned_no_writer = true;
	ereport(WARNING,
			(errmsg("automl could not start its prediction log writer: %s", why),
			 errdetail("Logged predictions wait in the spool files until a writer runs."),
			 errhint("Raise max_worker_processes, or call automl_flush_predictions().")));
}

void
log_writer_wake(void)
{
	TimestampTz now = GetCurrentTimestamp();
	WriterSlot *slot = NULL;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	if (!attach())
	{
		warn_no_writer("no shared memory is left for it; add automl to shared_preload_libraries");
		return;
	}
	SpinLockAcquire(&writers->mutex);
	for (int i = 0; i < WRITER_SLOTS; i++)
	{
		WriterSlot *s = &writers->slots[i];

		if (s->database == MyDatabaseId &&
			(s->pid != 0 || !TimestampDifferenceExceeds(s->launched_at, now, WRITER_START_GRACE_MS)))
		{
			SpinLockRelease(&writers->mutex);
			return;				/* running, or starting */
		}
		if (s->database == MyDatabaseId || (slot == NULL && s->database == InvalidOid))
			slot = s;
	}
	if (slot == NULL)
	{
		SpinLockRelease(&writers->mutex);
		warn_no_writer("more databases log predictions than it has slots for");
		return;
	}
	slot->database = MyDatabaseId;
	slot->pid = 0;
	slot->launched_at = now;
	SpinLockRelease(&writers->mutex);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "automl");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "automl_log_writer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "automl prediction log writer for database %u", MyDatabaseId);
	snprintf(worker.bgw_type, BGW_MAXLEN, "automl log writer");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		SpinLockAcquire(&writers->mutex);
		if (slot->database == MyDatabaseId && slot->pid == 0)
			slot->database = InvalidOid;
		SpinLockRelease(&writers->mutex);
		warn_no_writer("no background worker slot is free");
	}
}

/*
 * Frees this writer's slot. A writer that failed keeps the slot as "starting"
 * with a fresh launch time, so the next one starts only after
 * WRITER_START_GRACE_MS: a persistent error does not respawn a writer per
 * logged statement.
 */
static void
release_writer_slot(int code, Datum arg)
{
	SpinLockAcquire(&writers->mutex);
	for (int i = 0; i < WRITER_SLOTS; i++)
	{
		if (writers->slots[i].pid != MyProcPid)
			continue;
		if (code != 0)
		{
			writers->slots[i].pid = 0;
			writers->slots[i].launched_at = GetCurrentTimestamp();
		}
		else
			memset(&writers->slots[i], 0, sizeof(WriterSlot));
	}
	SpinLockRelease(&writers->mutex);
}

/* Takes this database's slot; false when another writer already holds it. */
static bool
claim_writer_slot(void)
{
	bool		claimed = false;
	WriterSlot *free_slot = NULL;

	SpinLockAcquire(&writers->mutex);
	for (int i = 0; i < WRITER_SLOTS; i++)
	{
		WriterSlot *s = &writers->slots[i];

		if (s->database == MyDatabaseId)
		{
			if (s->pid == 0)
			{
				s->pid = MyProcPid;
				claimed = true;
			}
			free_slot = NULL;
			break;
		}
		if (free_slot == NULL && s->database == InvalidOid)
			free_slot = s;
	}
	if (!claimed && free_slot != NULL)
	{
		/* started by automl_flush_predictions' caller's launch that lost its slot */
		free_slot->database = MyDatabaseId;
		free_slot->pid = MyProcPid;
		free_slot->launched_at = GetCurrentTimestamp();
		claimed = true;
	}
	SpinLockRelease(&writers->mutex);
	return claimed;
}

/* ---- spool files ---- */

/* The current generation (see log.h); the postmaster's start without shared memory. */
static int64
spool_generation(void)
{
	return attach() ? writers->generation : (int64) PgStartTime;
}

char *
log_spool_name(void)
{
	return psprintf(INT64_FORMAT "-" INT64_FORMAT "-%d", spool_generation(),
					(int64) MyStartTimestamp, MyProcPid);
}

char *
log_spool_directory(bool create)
{
	char	   *dir = psprintf("%s/%u", LOG_SPOOL_DIR, MyDatabaseId);

	if (create)
	{
		if (MakePGDirectory(LOG_SPOOL_DIR) != 0 && errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create directory \"%s\": %m", LOG_SPOOL_DIR)));
		if (MakePGDirectory(dir) != 0 && errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create directory \"%s\": %m", dir)));
	}
	return dir;
}

typedef struct SpoolFile
{
	char	   *base;			/* the name without .spool/.done: the key in automl.log_spool */
	char	   *path;
	bool		complete;		/* its process has ended */
	off_t		size;
	int64		consumed;
} SpoolFile;

static int
compare_spool_files(const void *a, const void *b)
{
	return strcmp(((const SpoolFile *) a)->base, ((const SpoolFile *) b)->base);
}

static SpoolFile *
list_spool_files(int *n_out)
{
	char	   *dir = log_spool_directory(false);
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	int			n = 0,
				cap = 16;
	SpoolFile  *files = palloc(sizeof(SpoolFile) * cap);
	char	   *current = psprintf(INT64_FORMAT "-", spool_generation());

	if (d == NULL && errno == ENOENT)
	{
		*n_out = 0;
		return files;
	}
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		bool		done;
		struct stat st;
		char	   *path;

		if (len <= 5 || de->d_name[0] == '.')
			continue;
		done = strcmp(de->d_name + len - 5, ".done") == 0;
		if (!done && (len <= 6 || strcmp(de->d_name + len - 6, ".spool") != 0))
			continue;
		path = psprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;			/* renamed or deleted meanwhile: seen next round */
		if (n == cap)
		{
			cap *= 2;
			files = repalloc(files, sizeof(SpoolFile) * cap);
		}
		files[n].base = pnstrdup(de->d_name, len - (done ? 5 : 6));
		files[n].path = path;
		files[n].complete = done || strncmp(de->d_name, current, strlen(current)) != 0;
		files[n].size = st.st_size;
		files[n].consumed = 0;
		n++;
	}
	FreeDir(d);
	qsort(files, n, sizeof(SpoolFile), compare_spool_files);

	/* a file renamed .spool -> .done while listed may appear twice: keep the complete one */
	{
		int			kept = 0;

		for (int i = 0; i < n; i++)
		{
			if (kept > 0 && strcmp(files[kept - 1].base, files[i].base) == 0)
			{
				if (files[i].complete)
					files[kept - 1] = files[i];
				continue;
			}
			files[kept++] = files[i];
		}
		n = kept;
	}
	*n_out = n;
	return files;
}

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
append_double(StringInfo s, double v)
{
	char		buf[32];

	if (isfinite(v))
	{
		double_to_shortest_decimal_buf(v, buf);
		appendStringInfoString(s, buf);
	}
	else
		appendStringInfoString(s, "null");
}

static void
batch_add(Batch *b, const LogEntry *e)
{
	StringInfoData json;
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

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	for (int f = 0; f < e->n_features; f++)
	{
		const LoggedValue *v = &e->values[f];

		if (f > 0)
			appendStringInfoString(&json, ", ");
		escape_json(&json, e->feature_names[f]);
		appendStringInfoString(&json, ": ");
		if (v->kind == LOGGED_NUMBER)
			append_double(&json, v->number);
		else if (v->kind == LOGGED_TEXT)
			escape_json(&json, v->text);
		else
			appendStringInfoString(&json, "null");
	}
	appendStringInfoChar(&json, '}');
	b->features[i] = CStringGetTextDatum(json.data);
	b->bytes += json.len;

	b->probabilities_null[i] = e->n_probabilities == 0;
	if (e->n_probabilities > 0)
	{
		resetStringInfo(&json);
		appendStringInfoChar(&json, '{');
		for (int k = 0; k < e->n_probabilities; k++)
		{
			if (k > 0)
				appendStringInfoChar(&json, ',');
			if (isfinite(e->probabilities[k]))
				append_double(&json, e->probabilities[k]);
			else
				appendStringInfoString(&json, "NULL");
		}
		appendStringInfoChar(&json, '}');
		b->probabilities[i] = CStringGetTextDatum(json.data);
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
	TEXTARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
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
	args[4] = batch_array(b, b->features, NULL, TEXTOID);
	args[5] = batch_array(b, b->prediction, b->prediction_null, FLOAT8OID);
	args[6] = batch_array(b, b->label, b->label_null, TEXTOID);
	args[7] = batch_array(b, b->probabilities, b->probabilities_null, TEXTOID);
	MemoryContextSwitchTo(old);
	rc = SPI_execute_with_args(
		"INSERT INTO automl.predictions"
		" (model, version, predicted_at, key, features, prediction, label, probabilities)"
		" SELECT u.m, u.v, u.t, u.k, u.f::pg_catalog.jsonb, u.p, u.l, u.pr::pg_catalog.float8[]"
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

		if (SPI_execute_with_args("SELECT created_at FROM automl.registry WHERE name OPERATOR(pg_catalog.=) $1",
								  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
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
static int64
ingest_round(bool background, bool *more, bool *locked)
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

	files = list_spool_files(&n_files);
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
		SpoolFile  *f = bsearch(&key, files, n_files, sizeof(SpoolFile), compare_spool_files);

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

		rows += ingest_round(false, &more, &locked);
	}
	catalog_end_write(&writer);
	SPI_finish();
	PG_RETURN_INT64(rows);
}

/* ---- the background writer ---- */

/*
 * Removes the spool directories of dropped databases, so that a database
 * that later gets the same OID never reads them. In a transaction.
 */
static void
remove_dropped_databases_spools(void)
{
	DIR		   *top = AllocateDir(LOG_SPOOL_DIR);
	struct dirent *de;

	if (top == NULL)
		return;
	while ((de = ReadDir(top, LOG_SPOOL_DIR)) != NULL)
	{
		char	   *end;
		unsigned long oid = strtoul(de->d_name, &end, 10);
		char	   *dir;
		DIR		   *d;
		struct dirent *f;

		if (de->d_name[0] == '.' || *end != '\0' || oid == 0 ||
			SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum((Oid) oid)))
			continue;
		dir = psprintf("%s/%s", LOG_SPOOL_DIR, de->d_name);
		d = AllocateDir(dir);
		while (d != NULL && (f = ReadDir(d, dir)) != NULL)
		{
			if (f->d_name[0] != '.')
				(void) unlink(psprintf("%s/%s", dir, f->d_name));
		}
		if (d != NULL)
			FreeDir(d);
		if (rmdir(dir) == 0)
			elog(LOG, "automl removed the prediction spool files of dropped database %lu", oid);
	}
	FreeDir(top);
}

static bool
extension_installed(void)
{
	return SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'automl'",
					   true, 1) == SPI_OK_SELECT && SPI_processed == 1;
}

void
automl_log_writer_main(Datum arg)
{
	Oid			database = DatumGetObjectId(arg);
	TimestampTz last_work;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
	pgstat_report_appname("automl log writer");
	/* each round reads positions committed by others: a fresh snapshot per statement */
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	/* a database set read-only by default must not make every round fail */
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);

	if (!attach() || !claim_writer_slot())
		proc_exit(0);			/* another writer serves this database */
	before_shmem_exit(release_writer_slot, (Datum) 0);

	StartTransactionCommand();
	remove_dropped_databases_spools();
	CommitTransactionCommand();

	last_work = GetCurrentTimestamp();
	for (bool last_round = false;; )
	{
		int64		rows = 0;
		bool		more = false;
		bool		locked = true;
		bool		installed;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "automl: moving spool files into automl.predictions");
		installed = extension_installed();
		if (installed)
			rows = ingest_round(true, &more, &locked);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);
		if (!installed || last_round)
			break;

		if (rows > 0 || more || !locked)
			last_work = GetCurrentTimestamp();
		else if (TimestampDifferenceExceeds(last_work, GetCurrentTimestamp(), WRITER_IDLE_EXIT_MS))
		{
			/*
			 * Give the slot up first, then look once more: a spool write from
			 * now on starts a new writer, and one made before is read here.
			 */
			release_writer_slot(0, (Datum) 0);
			last_round = true;
			continue;
		}
		if (!more)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 WRITER_NAP_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
	proc_exit(0);
}
