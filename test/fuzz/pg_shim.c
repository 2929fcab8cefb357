/*
 * pg_shim.c: the few PostgreSQL server functions that the model loader and
 * the prediction-log decoder use, for running them outside the server.
 * Memory comes from a list that the harness frees after each input.
 * ereport(ERROR) jumps to the innermost PG_TRY, as in the server, or with
 * none active back to the harness.
 */
#include "postgres.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/file_perm.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "serve/log.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "pg_shim.h"

volatile sig_atomic_t InterruptPending = false;

/* PG_TRY's state (elog.h) */
sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;

static jmp_buf *error_jump = NULL;
static int	pending_level = 0;
static int	pending_sqlerrcode = 0;	/* of the error being raised, for CopyErrorData */
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
MemoryContext TopMemoryContext = NULL;

/*
 * Never allocated from (palloc ignores contexts here); only so that a caught
 * error leaves CurrentMemoryContext changed, as in the server, and a PG_CATCH
 * that forgets to switch back is seen by the harness.
 */
static MemoryContextData error_context_data;
MemoryContext ErrorContext = &error_context_data;

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

/*
 * The memory budget (src/common/budget.c) is linked, never opened: no run
 * here has a memory context of its own to measure.
 */
Size
MemoryContextMemAllocated(MemoryContext context, bool recurse)
{
	return 0;
}

void
MemoryContextRegisterResetCallback(MemoryContext context, MemoryContextCallback *cb)
{
}

/* simplehash's allocation (category dictionaries): huge and zeroed on request. */
void *
MemoryContextAllocExtended(MemoryContext context, Size size, int flags)
{
	void	   *p = allocate(size, (flags & MCXT_ALLOC_HUGE) ? MaxAllocHugeSize : MaxAllocSize);

	if (flags & MCXT_ALLOC_ZERO)
		memset(p, 0, size);
	return p;
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
MemoryContextStrdup(MemoryContext context, const char *string)
{
	return pstrdup(string);
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
	pending_sqlerrcode = 0;
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
		if (PG_exception_stack != NULL)
		{
			/* as the server's errfinish + pg_re_throw: caught in ErrorContext */
			CurrentMemoryContext = ErrorContext;
			siglongjmp(*PG_exception_stack, 1);
		}
		if (error_jump == NULL)
			abort();
		longjmp(*error_jump, 1);
	}
}

/* PG_END_TRY's re-throw, after a PG_CATCH that does not handle the error */
void
pg_re_throw(void)
{
	if (PG_exception_stack != NULL)
		siglongjmp(*PG_exception_stack, 1);
	if (error_jump == NULL)
		abort();
	longjmp(*error_jump, 1);
}

void
FlushErrorState(void)
{
	pending_level = 0;
}

int
errcode_for_file_access(void)
{
	return 0;
}

int
errcode(int sqlerrcode)
{
	pending_sqlerrcode = sqlerrcode;
	return 0;
}

/* Only what the decoders look at: the error's code. */
ErrorData *
CopyErrorData(void)
{
	ErrorData  *e = palloc0(sizeof(ErrorData));

	e->sqlerrcode = pending_sqlerrcode;
	return e;
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
resetStringInfo(StringInfo str)
{
	str->data[0] = '\0';
	str->len = 0;
	str->cursor = 0;
}

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

/*
 * ---- the server side of serve/log.c ----
 *
 * log.c is linked whole for log_encode and log_decode; its spool file,
 * executor hook and exit callback need a running server and are never
 * called by a fuzzer, so each of these stand-ins stops the program.
 */

ExecutorEnd_hook_type ExecutorEnd_hook = NULL;
TimestampTz PgStartTime = 0;
int			MyProcPid = 0;
Oid			MyDatabaseId = InvalidOid;
int			pg_file_create_mode = PG_FILE_MODE_OWNER;

static void
not_in_fuzzer(const char *what)
{
	fprintf(stderr, "%s was called: it is not available outside the server\n", what);
	abort();
}

void
standard_ExecutorEnd(QueryDesc *queryDesc)
{
	not_in_fuzzer("standard_ExecutorEnd");
}

int
BasicOpenFilePerm(const char *fileName, int fileFlags, mode_t fileMode)
{
	not_in_fuzzer("BasicOpenFilePerm");
	return -1;
}

int
MakePGDirectory(const char *directoryName)
{
	not_in_fuzzer("MakePGDirectory");
	return -1;
}

void
before_shmem_exit(pg_on_exit_callback function, Datum arg)
{
	not_in_fuzzer("before_shmem_exit");
}

/* from serve/log_writer.c, which is not linked */
void
log_writer_wake(void)
{
	not_in_fuzzer("log_writer_wake");
}

char *
log_spool_directory(bool create)
{
	not_in_fuzzer("log_spool_directory");
	return NULL;
}

char *
log_spool_name(void)
{
	not_in_fuzzer("log_spool_name");
	return NULL;
}

/* The server's clip to a character boundary, for UTF-8 (log.c cuts long texts with it). */
int
pg_mbcliplen(const char *mbstr, int len, int limit)
{
	int			n = limit;

	if (len <= limit)
		return len;
	while (n > 0 && ((unsigned char) mbstr[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/*
 * The server's table of the traditional CRC-32 (src/backend/utils/hash/pg_crc.c,
 * not in libpgcommon), which models of format 2 are checked with: the zlib
 * polynomial, reflected, filled before main.
 */
uint32		pg_crc32_table[256];

static void fill_crc32_table(void) __attribute__((constructor));

static void
fill_crc32_table(void)
{
	for (uint32 i = 0; i < 256; i++)
	{
		uint32		c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		pg_crc32_table[i] = c;
	}
}
