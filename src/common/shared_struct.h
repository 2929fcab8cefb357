/*
 * shared_struct.h: a small named struct in shared memory for an extension
 * that may or may not be preloaded.
 *
 * When automl is in shared_preload_libraries the space is reserved at server
 * start (each user requests it from its shmem_request_hook); otherwise it is
 * carved out of the few kilobytes PostgreSQL keeps spare for add-ins, at first
 * use (as pg_prewarm's autoprewarm does).
 */
#ifndef AUTOML_SHARED_STRUCT_H
#define AUTOML_SHARED_STRUCT_H

#include "postgres.h"

/*
 * The struct of that name and size, initialised by init the first time any
 * process attaches; NULL when no shared memory is left for it (no error).
 */
extern void *shared_struct_attach(const char *name, Size size, void (*init) (void *shared));

#endif							/* AUTOML_SHARED_STRUCT_H */
