/* pg_shim.h: the harness's view of the server stand-ins in pg_shim.c. */
#ifndef AUTOML_FORECAST_PG_SHIM_H
#define AUTOML_FORECAST_PG_SHIM_H

#include <setjmp.h>

/* The last ereport(ERROR), as the server would have sent it. */
typedef struct ShimError
{
	int			sqlerrcode;
	char		message[1024];
	char		detail[1024];
	char		hint[1024];
} ShimError;

extern ShimError shim_error;

/* Where ereport(ERROR) jumps; NULL makes an error abort the harness. */
extern void shim_set_error_jump(jmp_buf *jump);

#endif
