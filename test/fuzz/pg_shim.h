/* pg_shim.h: control of the server stand-ins in pg_shim.c. */
#ifndef AUTOML_PG_SHIM_H
#define AUTOML_PG_SHIM_H

#include <setjmp.h>

extern void shim_set_error_jump(jmp_buf *jump);
extern void shim_free_all(void);

#endif
