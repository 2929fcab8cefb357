/*
 * progress.c: how a running training is going, for its own session (a NOTICE
 * every 10 s, or every fifth of a smaller budget, at least 2 s apart) and for
 * the sessions of the trainer's roles (the view automl.training_progress,
 * over a small array in shared memory).
 *
 * The array is reserved at server start when automl is in
 * shared_preload_libraries; otherwise it is carved out of the few kilobytes
 * PostgreSQL keeps spare for add-ins at first use (as pg_prewarm's
 * autoprewarm does). If even that fails the view is empty and training goes
 * on. Each backend owns the slot with its pid; an aborted transaction or an
 * exiting backend frees it.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "common/shared_struct.h"
#include "search/search.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#define PROGRESS_SLOTS 64
#define PROGRESS_NOTICE_SECONDS 10.0	/* at most; a fifth of a smaller budget, from 2 s */
#define PROGRESS_NAME_LEN 64

typedef struct ProgressSlot
{
	int			pid;			/* 0: free */
	Oid			role;			/* who trains: only its roles' members see the row */
	char		model[PROGRESS_NAME_LEN];
	char		metric[16];
	char		phase[16];
	TimestampTz started;
	double		time_budget;	/* 0: none */
	int			trials;
	double		best_score;
	double		seconds_left;
} ProgressSlot;

typedef struct ProgressArray
{
	slock_t		mutex;
	ProgressSlot slots[PROGRESS_SLOTS];
} ProgressArray;

static ProgressArray *progress_array = NULL;
static bool progress_attach_failed = false;
static bool callbacks_registered = false;
static int	my_slot = -1;
static double last_notice = 0.0;
static double notice_interval = PROGRESS_NOTICE_SECONDS;
static double started_at = 0.0;

PG_FUNCTION_INFO_V1(automl_training_progress);

static shmem_request_hook_type prev_shmem_request_hook = NULL;

static void
progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(ProgressArray)));
}

/* Called from _PG_init: reserves the array when preloaded. */
void
progress_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = progress_shmem_request;
}

static void
init_array(void *shared)
{
	ProgressArray *array = shared;

	SpinLockInit(&array->mutex);
	memset(array->slots, 0, sizeof(array->slots));
}

static bool
attach(void)
{
	if (progress_array != NULL)
		return true;
	if (progress_attach_failed)
		return false;
	progress_array = shared_struct_attach("automl training progress", sizeof(ProgressArray), init_array);
	progress_attach_failed = progress_array == NULL;	/* the view is empty, training goes on */
	return progress_array != NULL;
}

static void
release_slot(void)
{
	if (progress_array == NULL || my_slot < 0)
		return;
	SpinLockAcquire(&progress_array->mutex);
	if (progress_array->slots[my_slot].pid == MyProcPid)
		progress_array->slots[my_slot].pid = 0;
	SpinLockRelease(&progress_array->mutex);
	my_slot = -1;
}

static void
on_xact_end(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		release_slot();
}

static void
on_exit_release(int code, Datum arg)
{
	release_slot();
}

void
progress_start(const char *model_name, double time_budget)
{
	started_at = seconds_now();
	last_notice = started_at;
	notice_interval = time_budget > 0 ? Min(PROGRESS_NOTICE_SECONDS, Max(2.0, time_budget / 5)) :
		PROGRESS_NOTICE_SECONDS;
	if (!attach())
		return;
	if (!callbacks_registered)
	{
		RegisterXactCallback(on_xact_end, NULL);
		before_shmem_exit(on_exit_release, (Datum) 0);
		callbacks_registered = true;
	}
	release_slot();
	SpinLockAcquire(&progress_array->mutex);
	for (int s = 0; s < PROGRESS_SLOTS; s++)
	{
		ProgressSlot *slot = &progress_array->slots[s];

		if (slot->pid == 0)
		{
			memset(slot, 0, sizeof(*slot));
			slot->pid = MyProcPid;
			slot->role = GetUserId();
			strlcpy(slot->model, model_name, sizeof(slot->model));
			strlcpy(slot->phase, "reading", sizeof(slot->phase));
			slot->started = GetCurrentTimestamp();
			slot->time_budget = time_budget;
			slot->best_score = NAN;
			slot->seconds_left = NAN;
			my_slot = s;
			break;
		}
	}
	SpinLockRelease(&progress_array->mutex);
}

void
progress_update(int trials_done, const char *metric, double best_score,
				double seconds_left, const char *phase)
{
	double		now = seconds_now();

	if (now - last_notice >= notice_interval)
	{
		last_notice = now;
		if (isnan(seconds_left))
			ereport(NOTICE,
					(errmsg("%d trials in %.0f s, best %s %.6g",
							trials_done, now - started_at, metric, best_score)));
		else
			ereport(NOTICE,
					(errmsg("%d trials in %.0f s, best %s %.6g, %.0f s left",
							trials_done, now - started_at, metric, best_score, Max(seconds_left, 0.0))));
	}
	if (progress_array == NULL || my_slot < 0)
		return;
	SpinLockAcquire(&progress_array->mutex);
	{
		ProgressSlot *slot = &progress_array->slots[my_slot];

		strlcpy(slot->metric, metric, sizeof(slot->metric));
		strlcpy(slot->phase, phase, sizeof(slot->phase));
		slot->trials = trials_done;
		slot->best_score = best_score;
		slot->seconds_left = seconds_left;
	}
	SpinLockRelease(&progress_array->mutex);
}

void
progress_end(void)
{
	release_slot();
}

/* automl_training_progress(): one row per running training. */
Datum
automl_training_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProgressSlot copy[PROGRESS_SLOTS];

	InitMaterializedSRF(fcinfo, 0);
	if (!attach())
		return (Datum) 0;
	SpinLockAcquire(&progress_array->mutex);
	memcpy(copy, progress_array->slots, sizeof(copy));
	SpinLockRelease(&progress_array->mutex);
	for (int s = 0; s < PROGRESS_SLOTS; s++)
	{
		ProgressSlot *slot = &copy[s];
		Datum		values[8];
		bool		nulls[8] = {false};

		/* like the catalog's rows: the trainer's roles and superusers see a training */
		if (slot->pid == 0 || (!superuser() && !has_privs_of_role(GetUserId(), slot->role)))
			continue;
		values[0] = Int32GetDatum(slot->pid);
		values[1] = CStringGetTextDatum(slot->model);
		values[2] = CStringGetTextDatum(slot->phase);
		values[3] = TimestampTzGetDatum(slot->started);
		values[4] = Int32GetDatum(slot->trials);
		values[5] = CStringGetTextDatum(slot->metric);
		nulls[5] = slot->metric[0] == '\0';
		values[6] = Float8GetDatum(slot->best_score);
		nulls[6] = isnan(slot->best_score);
		values[7] = Float8GetDatum(slot->seconds_left);
		nulls[7] = isnan(slot->seconds_left);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
