/*
 * shared_struct.c: see shared_struct.h.
 */
#include "postgres.h"

#include "common/shared_struct.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

void *
shared_struct_attach(const char *name, Size size, void (*init) (void *shared))
{
	void	   *volatile shared = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	PG_TRY();
	{
		shared = ShmemInitStruct(name, size, &found);
		if (!found)
			init(shared);
	}
	PG_CATCH();
	{
		/* out of spare shared memory: the caller goes on without */
		MemoryContextSwitchTo(cxt);	/* the error left ErrorContext current */
		FlushErrorState();
		shared = NULL;
	}
	PG_END_TRY();
	LWLockRelease(AddinShmemInitLock);
	return shared;
}
