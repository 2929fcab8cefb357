/*
 * log_writer.c: the background writer that moves spool files into
 * automl.predictions (see log.h): its shared slots, one per database, and
 * its main loop.
 *
 * The background writer is a dynamic background worker, one per database,
 * started by the first spool write that finds none running and ending after
 * a few idle seconds (so that it never holds up DROP DATABASE for long).
 * Each of its rounds is log_ingest_round (log_ingest.c).
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

int64
log_writer_generation(void)
{
	return attach() ? writers->generation : (int64) PgStartTime;
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
			rows = log_ingest_round(true, &more, &locked);
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
