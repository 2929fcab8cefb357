/*
 * budget.c: the memory budget of a training run (see budget.h).
 */
#include "postgres.h"

#include "common/budget.h"
#include "utils/memutils.h"

/* 1 GB a training, 4 GB at most (the defaults of src/automl.c): docs/sql-reference.md. */
int			automl_train_memory_mb = 1024;
int			automl_max_train_memory_mb = 4096;

/* The open budget of this backend's run: one at a time. */
static struct
{
	MemoryContext cxt;			/* NULL when none is open */
	Size		peak;
	Size		window_peak;
	Size		recent_peak;
}			budget;

int
budget_limit_mb(void)
{
	if (automl_max_train_memory_mb > 0)
		return Min(automl_train_memory_mb, automl_max_train_memory_mb);
	return automl_train_memory_mb;
}

Size
budget_limit_bytes(void)
{
	return (Size) budget_limit_mb() * 1024 * 1024;
}

Size
budget_working_bytes(void)
{
	return (Size) ((double) budget_limit_bytes() * (1.0 - BUDGET_TAIL_SHARE));
}

/* When the run's context goes (at the end, or on error), so does its budget. */
static void
budget_close(void *arg)
{
	if (budget.cxt == (MemoryContext) arg)
		budget.cxt = NULL;
}

void
budget_begin(MemoryContext cxt)
{
	MemoryContextCallback *closer;

	if (automl_max_train_memory_mb > 0 && automl_train_memory_mb > automl_max_train_memory_mb)
		ereport(NOTICE,
				(errmsg("automl.train_memory (%d MB) is capped by automl.max_train_memory: this training may use %d MB",
						automl_train_memory_mb, automl_max_train_memory_mb),
				 errhint("A superuser sets automl.max_train_memory, or grants SET on it.")));
	closer = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	closer->func = budget_close;
	closer->arg = cxt;
	MemoryContextRegisterResetCallback(cxt, closer);
	budget.cxt = cxt;
	budget.peak = budget.window_peak = budget.recent_peak = 0;
	budget_note();
}

bool
budget_active(void)
{
	return budget.cxt != NULL;
}

Size
budget_note(void)
{
	Size		now;

	if (budget.cxt == NULL)
		return 0;
	now = MemoryContextMemAllocated(budget.cxt, true);
	budget.peak = Max(budget.peak, now);
	budget.window_peak = Max(budget.window_peak, now);
	budget.recent_peak = Max(budget.recent_peak, now);
	return now;
}

Size
budget_peak(void)
{
	return budget.cxt != NULL ? budget.peak : 0;
}

Size
budget_window_begin(void)
{
	budget.window_peak = 0;
	return budget_note();
}

Size
budget_recent_peak_take(void)
{
	Size		recent;

	if (budget.cxt == NULL)
		return 0;
	recent = budget.recent_peak;
	budget.recent_peak = 0;
	return Max(recent, budget_note());
}

Size
budget_window_peak(void)
{
	return budget.cxt != NULL ? budget.window_peak : 0;
}

int64
budget_frame_rows(Size row_bytes, int64 min_rows)
{
	double		rows = (double) budget_limit_bytes() * BUDGET_FRAME_SHARE / (row_bytes + BUDGET_ROW_OVERHEAD);

	return Max((int64) Min(rows, (double) PG_INT64_MAX / 2), min_rows);
}

void
budget_check(const char *step)
{
	Size		now = budget_note();

	if (now > budget_limit_bytes())
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training needs more memory than automl.train_memory allows (%d MB)", budget_limit_mb()),
				 errdetail("The run held %zu MB %s.", (now + 1024 * 1024 - 1) / (1024 * 1024), step),
				 errhint("Raise automl.train_memory (within automl.max_train_memory), or train on fewer rows or columns.")));
}
