/*
 * pg_shim.c: the few PostgreSQL server functions that the model loader uses,
 * for running it outside the server. Memory comes from a list that the
 * harness frees after each input; ereport(ERROR) jumps back to the harness.
 */
#include "postgres.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "pg_shim.h"

volatile sig_atomic_t InterruptPending = false;

static jmp_buf *error_jump = NULL;
static int	pending_level = 0;
static void **allocations = NULL;
static size_t n_allocations = 0;
static size_t max_allocations = 0;

void
shim_set_error_jump(jmp_buf *jump)
{
	error_jump = jump;
}

static void *
track(void *p)
{
	if (p == NULL)
		abort();
	if (n_allocations == max_allocations)
	{
		max_allocations = max_allocations ? max_allocations * 2 : 1024;
		allocations = realloc(allocations, max_allocations * sizeof(void *));
		if (allocations == NULL)
			abort();
	}
	allocations[n_allocations++] = p;
	return p;
}

void
shim_free_all(void)
{
	for (size_t i = 0; i < n_allocations; i++)
		free(allocations[i]);
	n_allocations = 0;
}

MemoryContext CurrentMemoryContext = NULL;

/* Each block starts with its size, so that repalloc can copy it. */
#define HEADER_BYTES 16

static void *
allocate(Size size, Size limit)
{
	char	   *block;

	/* The server refuses larger requests; so does the shim. */
	if (size > limit)
		abort();
	block = track(malloc(size + HEADER_BYTES));
	*(Size *) block = size;
	return block + HEADER_BYTES;
}

void *
palloc(Size size)
{
	return allocate(size, MaxAllocSize);
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return allocate(size, MaxAllocSize);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	void	   *p = allocate(size, MaxAllocSize);

	memset(p, 0, size);
	return p;
}

void *
MemoryContextAllocHuge(MemoryContext context, Size size)
{
	return allocate(size, MaxAllocHugeSize);
}

void *
repalloc_huge(void *pointer, Size size)
{
	Size		old = *(Size *) ((char *) pointer - HEADER_BYTES);
	void	   *p = allocate(size, MaxAllocHugeSize);

	memcpy(p, pointer, Min(old, size));
	return p;
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

char *
psprintf(const char *fmt,...)
{
	char		buf[4096];
	va_list		args;
	int			n;

	va_start(args, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	if (n < 0 || n >= (int) sizeof(buf))
		abort();
	return pstrdup(buf);
}

void *
palloc0(Size size)
{
	void	   *p = palloc(size);

	memset(p, 0, size);
	return p;
}

void
pfree(void *pointer)
{
	(void) pointer;				/* freed with everything else after the input */
}

void
ProcessInterrupts(void)
{
}

bool
errstart(int elevel, const char *domain)
{
	pending_level = elevel;
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
	if (pending_level >= ERROR)
	{
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "error raised at %s:%d (%s)\n", filename, lineno, funcname);
		if (error_jump == NULL)
			abort();
		longjmp(*error_jump, 1);
	}
}

int
errcode(int sqlerrcode)
{
	return 0;
}

int
errmsg(const char *fmt,...)
{
	return 0;
}

int
errdetail(const char *fmt,...)
{
	if (getenv("FUZZ_VERBOSE") != NULL)
	{
		va_list		args;

		va_start(args, fmt);
		vfprintf(stderr, fmt, args);
		va_end(args);
		fputc('\n', stderr);
	}
	return 0;
}

int
errhint(const char *fmt,...)
{
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	return 0;
}

/* ---- StringInfo ---- */

void
initStringInfo(StringInfo str)
{
	str->maxlen = 1024;
	str->data = palloc(str->maxlen);
	str->len = 0;
	str->data[0] = '\0';
	str->cursor = 0;
}

static void
reserve(StringInfo str, int more)
{
	if (str->len + more + 1 <= str->maxlen)
		return;
	while (str->len + more + 1 > str->maxlen)
		str->maxlen *= 2;
	{
		char	   *bigger = palloc(str->maxlen);

		memcpy(bigger, str->data, str->len + 1);
		str->data = bigger;
	}
}

void
appendBinaryStringInfo(StringInfo str, const char *data, int datalen)
{
	reserve(str, datalen);
	memcpy(str->data + str->len, data, datalen);
	str->len += datalen;
	str->data[str->len] = '\0';
}

void
appendStringInfoString(StringInfo str, const char *s)
{
	appendBinaryStringInfo(str, s, (int) strlen(s));
}

void
appendStringInfoChar(StringInfo str, char ch)
{
	appendBinaryStringInfo(str, &ch, 1);
}

void
enlargeStringInfo(StringInfo str, int needed)
{
	reserve(str, needed);
}

int
appendStringInfoVA(StringInfo str, const char *fmt, va_list args)
{
	char		buf[4096];
	int			n = vsnprintf(buf, sizeof(buf), fmt, args);

	if (n < 0 || n >= (int) sizeof(buf))
		abort();
	appendBinaryStringInfo(str, buf, n);
	return 0;
}

void
escape_json(StringInfo buf, const char *str)
{
	appendStringInfoChar(buf, '"');
	appendStringInfoString(buf, str);
	appendStringInfoChar(buf, '"');
}

void
appendStringInfo(StringInfo str, const char *fmt,...)
{
	char		buf[4096];
	va_list		args;
	int			n;

	va_start(args, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	if (n < 0 || n >= (int) sizeof(buf))
		abort();
	appendBinaryStringInfo(str, buf, n);
}

Size
mul_size(Size s1, Size s2)
{
	Size		result = s1 * s2;

	if (s1 != 0 && result / s1 != s2)
		abort();				/* the server raises an error; overflow is a bug here */
	return result;
}

void *
repalloc(void *pointer, Size size)
{
	return repalloc_huge(pointer, size);
}
