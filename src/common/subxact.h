/*
 * subxact.h: running a step in an internal subtransaction so that its error
 * can be caught and the caller go on (a failed trial, an unloadable
 * champion), while cancel, statement_timeout and shutdown still end the call.
 *
 *   SubxactState s = subxact_begin();
 *   PG_TRY();
 *   {
 *       ... the step ...
 *       subxact_commit(&s);
 *   }
 *   PG_CATCH();
 *   {
 *       ErrorData *error = subxact_abort(&s);    (re-throws cancel)
 *       ... use error->message ...
 *   }
 *   PG_END_TRY();
 */
#ifndef AUTOML_SUBXACT_H
#define AUTOML_SUBXACT_H

#include "postgres.h"
#include "utils/resowner.h"

typedef struct SubxactState
{
	MemoryContext caller_cxt;
	ResourceOwner caller_owner;
} SubxactState;

/* Starts the subtransaction; the caller's memory context stays current. */
extern SubxactState subxact_begin(void);

/* Ends the subtransaction after the step succeeded. */
extern void subxact_commit(const SubxactState *s);

/*
 * In PG_CATCH: rolls the subtransaction back and returns the error, copied
 * into the caller's context. Cancel, timeouts and shutdown are re-thrown
 * (after the rollback, so the caller's transaction is left as it was).
 */
extern ErrorData *subxact_abort(const SubxactState *s);

#endif							/* AUTOML_SUBXACT_H */
