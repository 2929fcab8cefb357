/*
 * pg_shim.c: the few server functions src/forecast (and learn/metrics.c,
 * which it reports with) call, for running it
 * outside the server (after test/fuzz/pg_shim.c, cut down). palloc is
 * malloc; ereport(ERROR) keeps the message, code, detail and hint and jumps
 * back to the harness, which checks them.
 */
#include "postgres.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "miscadmin.h"
#include "utils/memutils.h"
#include "pg_shim.h"

volatile sig_atomic_t InterruptPending = false;

ShimError	shim_error;

static jmp_buf *error_jump = NULL;
static int	pending_level = 0;

void
shim_set_error_jump(jmp_buf *jump)
{
	error_jump = jump;
}

/* Each block starts with its size, as a palloc chunk knows its own. */
#define HEADER_BYTES 16

void *
palloc(Size size)
{
	char	   *block;

	if (size > MaxAllocSize)
	{
		fprintf(stderr, "palloc of %zu bytes: the server would refuse it\n", (size_t) size);
		abort();
	}
	block = malloc(size + HEADER_BYTES);
	if (block == NULL)
		abort();
	*(Size *) block = size;
	return block + HEADER_BYTES;
}

void *
palloc0(Size size)
{
	void	   *p = palloc(size);

	memset(p, 0, size);
	return p;
}

/* learn/metrics.c sizes its arrays by rows: one context here, malloc. */
MemoryContext CurrentMemoryContext = NULL;

void *
MemoryContextAllocHuge(MemoryContext context, Size size)
{
	char	   *block = malloc(size + HEADER_BYTES);

	if (block == NULL)
		abort();
	*(Size *) block = size;
	return block + HEADER_BYTES;
}

void
pfree(void *pointer)
{
	free((char *) pointer - HEADER_BYTES);
}

void
ProcessInterrupts(void)
{
}

bool
errstart(int elevel, const char *domain)
{
	pending_level = elevel;
	if (elevel >= ERROR)
		memset(&shim_error, 0, sizeof(shim_error));
	return elevel >= ERROR;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (pending_level < ERROR)
		return;
	if (error_jump == NULL)
	{
		fprintf(stderr, "unexpected error at %s:%d: %s\n", filename, lineno, shim_error.message);
		abort();
	}
	longjmp(*error_jump, 1);
}

int
errcode(int sqlerrcode)
{
	shim_error.sqlerrcode = sqlerrcode;
	return 0;
}

#define KEEP(field) \
	do { \
		va_list		args; \
		va_start(args, fmt); \
		vsnprintf(shim_error.field, sizeof(shim_error.field), fmt, args); \
		va_end(args); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	KEEP(message);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	KEEP(message);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	KEEP(detail);
	return 0;
}

int
errhint(const char *fmt,...)
{
	KEEP(hint);
	return 0;
}

