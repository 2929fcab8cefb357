/*
 * subxact.c: catchable steps in internal subtransactions (see subxact.h).
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/subxact.h"

SubxactState
subxact_begin(void)
{
	SubxactState s;

	s.caller_cxt = CurrentMemoryContext;
	s.caller_owner = CurrentResourceOwner;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(s.caller_cxt);
	return s;
}

void
subxact_commit(const SubxactState *s)
{
	ReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(s->caller_cxt);
	CurrentResourceOwner = s->caller_owner;
}

ErrorData *
subxact_abort(const SubxactState *s)
{
	ErrorData  *error;

	MemoryContextSwitchTo(s->caller_cxt);
	error = CopyErrorData();
	FlushErrorState();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(s->caller_cxt);
	CurrentResourceOwner = s->caller_owner;
	if (error->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		error->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
		ReThrowError(error);
	return error;
}
