/*
 * log.c: the scoring side of the prediction log (see log.h).
 *
 * A scoring process (a backend or a parallel worker) encodes each logged
 * prediction into a buffer in its own memory and writes the buffer to its
 * spool file with one write() when a statement ends, when the buffer reaches
 * LOG_BUFFER_BYTES, and when the process exits. Nothing is shared between
 * processes on this path, so logging costs an encode and a memcpy per row.
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "port/pg_crc32c.h"
#include "miscadmin.h"
#include "serve/log.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define LOG_BUFFER_BYTES (256 * 1024)
#define LOG_ROTATE_BYTES (64 * 1024 * 1024)	/* a long session starts a new file past this */

static ByteWriter buffer;
static bool buffer_ready = false;
static int	spool_fd = -1;
static int	spool_sequence = 0;	/* files this process has started */
static int64 spool_bytes = 0;	/* written to the current one */
static char *spool_path = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

static void log_at_exit(int code, Datum arg);

/* ---- the record format ---- */

/*
 * The encoder writes straight into space reserved once per record (this is
 * the per-row cost of logging); the layout is what ByteReader reads: integers
 * and doubles little-endian, a text as its length and bytes.
 */
static inline char *
put_le32(char *at, uint32 v)
{
	for (int i = 0; i < 4; i++)
		at[i] = (char) ((v >> (8 * i)) & 0xFF);
	return at + 4;
}

static inline char *
put_le64(char *at, uint64 v)
{
	for (int i = 0; i < 8; i++)
		at[i] = (char) ((v >> (8 * i)) & 0xFF);
	return at + 8;
}

static inline char *
put_double(char *at, double v)
{
	uint64		bits;

	memcpy(&bits, &v, sizeof(bits));
	return put_le64(at, bits);
}

static inline uint32
clipped_length(const char *s, size_t len)
{
	return len > LOG_MAX_TEXT ? (uint32) pg_mbcliplen(s, (int) len, LOG_MAX_TEXT) : (uint32) len;
}

static inline char *
put_text(char *at, const char *s, uint32 len)
{
	at = put_le32(at, len);
	memcpy(at, s, len);
	return at + len;
}

static uint32
get_le32(const char *at)
{
	uint32		v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32) (uint8) at[i] << (8 * i);
	return v;
}

/* CRC-32C, with the CPU's instruction where there is one (as WAL records). */
static uint32
record_crc(const char *data, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return crc;
}

void
log_encode(ByteWriter *w, const LogEntry *e)
{
	uint32		model_len = clipped_length(e->model, strlen(e->model));
	uint32		key_len = e->key ? clipped_length(e->key, strlen(e->key)) : 0;
	uint32		label_len = e->label ? clipped_length(e->label, strlen(e->label)) : 0;
	uint32		lengths[128];
	uint32	   *name_len = e->n_features <= 64 ? lengths : palloc(sizeof(uint32) * 2 * e->n_features);
	uint32	   *text_len = name_len + Max(e->n_features, 64);
	uint64		size = 8 + 8 + 4 + 4 + model_len + 1 + 4 + key_len + 1 + 8 + 1 + 4 + label_len +
		4 + 8 * (uint64) e->n_probabilities + 4;
	uint64		payload_len;
	char	   *start;
	char	   *at;

	for (int f = 0; f < e->n_features; f++)
	{
		const LoggedValue *v = &e->values[f];

		name_len[f] = clipped_length(e->feature_names[f], strlen(e->feature_names[f]));
		text_len[f] = v->kind == LOGGED_TEXT ? clipped_length(v->text, v->text_len) : 0;
		size += 4 + name_len[f] + 1 + (v->kind == LOGGED_NUMBER ? 8 : v->kind == LOGGED_TEXT ? 4 + text_len[f] : 0);
	}
	if (size - 8 > LOG_MAX_RECORD)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a logged prediction of model \"%s\" would take " UINT64_FORMAT " bytes, more than the log's %d",
						e->model, size - 8, LOG_MAX_RECORD),
				 errhint("Keep large columns out of the log with automl_monitor(..., exclude => ...).")));

	enlargeStringInfo(&w->buf, (int) size);
	start = w->buf.data + w->buf.len;
	at = start + 8;				/* payload length and CRC go first, below */
	at = put_le64(at, (uint64) e->predicted_at);
	at = put_le32(at, (uint32) e->version);
	at = put_text(at, e->model, model_len);
	*at++ = e->key != NULL;
	if (e->key != NULL)
		at = put_text(at, e->key, key_len);
	*at++ = e->has_prediction;
	if (e->has_prediction)
		at = put_double(at, e->prediction);
	*at++ = e->label != NULL;
	if (e->label != NULL)
		at = put_text(at, e->label, label_len);
	at = put_le32(at, (uint32) e->n_probabilities);
	for (int k = 0; k < e->n_probabilities; k++)
		at = put_double(at, e->probabilities[k]);
	at = put_le32(at, (uint32) e->n_features);
	for (int f = 0; f < e->n_features; f++)
	{
		const LoggedValue *v = &e->values[f];

		at = put_text(at, e->feature_names[f], name_len[f]);
		*at++ = (char) v->kind;
		if (v->kind == LOGGED_NUMBER)
			at = put_double(at, v->number);
		else if (v->kind == LOGGED_TEXT)
			at = put_text(at, v->text, text_len[f]);
	}
	payload_len = at - start - 8;
	Assert(payload_len + 8 <= size);
	put_le32(start, (uint32) payload_len);
	put_le32(start + 4, record_crc(start + 8, payload_len));
	w->buf.len += (int) (at - start);
	w->buf.data[w->buf.len] = '\0';
	if (name_len != lengths)
		pfree(name_len);
}

/* Decodes a payload whose framing and checksum are right; false when a field is bad. */
static bool
decode_payload(const char *payload, uint32 payload_len, LogEntry *e)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	memset(e, 0, sizeof(LogEntry));
	PG_TRY();
	{
		ByteReader	r;
		char	  **names;
		LoggedValue *values;
		double	   *probabilities = NULL;

		bytes_reader_init(&r, payload, payload_len, "prediction log record");
		e->predicted_at = (TimestampTz) bytes_get_u64(&r);
		e->version = (int32) bytes_get_u32(&r);
		e->model = bytes_get_string(&r);
		if (e->version < 1)
			bytes_corrupted(&r, "the model version is not positive");
		if (bytes_get_flag(&r))
			e->key = bytes_get_string(&r);
		e->has_prediction = bytes_get_flag(&r);
		if (e->has_prediction)
			e->prediction = bytes_get_f64(&r);
		if (bytes_get_flag(&r))
			e->label = bytes_get_string(&r);
		e->n_probabilities = (int) bytes_get_count(&r, sizeof(double), LOG_MAX_CLASSES);
		if (e->n_probabilities > 0)
		{
			/* not bytes_get_f64_array: a probability may be NaN (logged as NULL) */
			probabilities = palloc(sizeof(double) * e->n_probabilities);
			for (int k = 0; k < e->n_probabilities; k++)
				probabilities[k] = bytes_get_f64(&r);
		}
		e->probabilities = probabilities;
		e->n_features = (int) bytes_get_count(&r, 5, LOG_MAX_FEATURES);
		names = palloc(sizeof(char *) * Max(e->n_features, 1));
		values = palloc0(sizeof(LoggedValue) * Max(e->n_features, 1));
		for (int f = 0; f < e->n_features; f++)
		{
			uint8		kind;

			names[f] = bytes_get_string(&r);
			kind = bytes_get_u8(&r);
			if (kind > LOGGED_TEXT)
				bytes_corrupted(&r, "a value kind is unknown");
			values[f].kind = (LoggedKind) kind;
			if (kind == LOGGED_NUMBER)
				values[f].number = bytes_get_f64(&r);
			else if (kind == LOGGED_TEXT)
			{
				char	   *s = bytes_get_string(&r);

				values[f].text = s;
				values[f].text_len = strlen(s);
			}
		}
		e->feature_names = (const char *const *) names;
		e->values = values;
		bytes_expect_end(&r);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		/* only palloc'd copies were made; the caller's context frees them */
		MemoryContextSwitchTo(cxt);
		error = CopyErrorData();
		if (error->sqlerrcode != ERRCODE_DATA_CORRUPTED)
			PG_RE_THROW();		/* out of memory, cancel: not a verdict on the record */
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

LogDecodeStatus
log_decode(const char *data, size_t len, LogEntry *e, size_t *consumed)
{
	uint32		payload_len;

	if (len < 8)
		return LOG_INCOMPLETE;
	payload_len = get_le32(data);
	if (payload_len > LOG_MAX_RECORD)
		return LOG_CORRUPTED;
	if (len - 8 < payload_len)
		return LOG_INCOMPLETE;
	if (record_crc(data + 8, payload_len) != get_le32(data + 4))
		return LOG_CORRUPTED;
	*consumed = 8 + (size_t) payload_len;
	return decode_payload(data + 8, payload_len, e) ? LOG_DECODED : LOG_BAD_FIELDS;
}

/* ---- the spool buffer and file ---- */

/*
 * Opens this process's next spool file; returns false (errno set) when its
 * directory or the file cannot be made (a full disk, a read-only directory):
 * logging must not fail the statement, nor every later one of the session.
 */
static bool
open_spool_file(void)
{
	char	   *dir = log_spool_directory(false);

	if ((MakePGDirectory(LOG_SPOOL_DIR) != 0 && errno != EEXIST) ||
		(MakePGDirectory(dir) != 0 && errno != EEXIST))
	{
		int			save_errno = errno;

		if (spool_path != NULL)
			pfree(spool_path);
		spool_path = MemoryContextStrdup(TopMemoryContext, dir);
		errno = save_errno;
		return false;
	}
	if (spool_path != NULL)
		pfree(spool_path);
	spool_path = MemoryContextStrdup(TopMemoryContext,
									 psprintf("%s/%s-%d.spool", dir, log_spool_name(), spool_sequence));
	spool_bytes = 0;
	/* kept open across transactions, so not a transient file */
	spool_fd = BasicOpenFilePerm(spool_path, O_WRONLY | O_CREAT | O_APPEND | PG_BINARY,
								 pg_file_create_mode);
	return spool_fd >= 0;
}

/*
 * Writes the buffer; returns false (errno set) when the file could not take
 * it all, after cutting the file back so that no partial record is left in
 * front of later ones.
 */
static bool
write_buffer(void)
{
	const char *p = buffer.buf.data;
	size_t		left = buffer.buf.len;
	off_t		start = lseek(spool_fd, 0, SEEK_END);

	while (left > 0)
	{
		ssize_t		n = write(spool_fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			int			save_errno = n == 0 ? ENOSPC : errno;
			size_t		written = buffer.buf.len - left;
			size_t		whole = 0;

			/*
			 * Keep the records written whole (the writer may have read them
			 * already) and cut the partial one, so that later records start
			 * where a reader expects one.
			 */
			while (whole + 8 <= written)
			{
				uint32		len = get_le32(buffer.buf.data + whole);

				if (whole + 8 + len > written)
					break;
				whole += 8 + len;
			}
			if (start >= 0 && ftruncate(spool_fd, start + whole) != 0)
				elog(LOG, "automl: could not cut back \"%s\": %m", spool_path);
			errno = save_errno;
			return false;
		}
		p += n;
		left -= n;
	}
	spool_bytes += buffer.buf.len;
	resetStringInfo(&buffer.buf);
	return true;
}

/* Closes the current file and marks it complete (.done); the next write starts another. */
static void
close_spool_file(void)
{
	char	   *done = pstrdup(spool_path);

	strcpy(done + strlen(done) - strlen(".spool"), ".done");
	(void) close(spool_fd);
	spool_fd = -1;
	spool_sequence++;
	if (rename(spool_path, done) != 0)
		elog(LOG, "automl: could not rename \"%s\": %m", spool_path);
	pfree(done);
}

void
log_flush(void)
{
	if (!buffer_ready || buffer.buf.len == 0)
		return;
	if ((spool_fd < 0 && !open_spool_file()) || !write_buffer())
	{
		int			save_errno = errno;

		resetStringInfo(&buffer.buf);	/* do not retry forever on a full disk */
		errno = save_errno;
		/* monitoring must not fail the user's statement */
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not write the prediction log to \"%s\": %m", spool_path),
				 errdetail("The predictions of this statement were not logged.")));
		return;
	}
	if (spool_bytes >= LOG_ROTATE_BYTES)
		close_spool_file();		/* complete: the writer may delete it once read */
	log_writer_wake();
}

void
log_append(const LogEntry *entry)
{
	if (!buffer_ready)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		bytes_writer_init(&buffer);
		MemoryContextSwitchTo(old);
		buffer_ready = true;
		/* here, not in _PG_init: a child process drops the postmaster's exit callbacks */
		before_shmem_exit(log_at_exit, (Datum) 0);
	}
	log_encode(&buffer, entry);
	if (buffer.buf.len >= LOG_BUFFER_BYTES)
		log_flush();
}

static void
log_executor_end(QueryDesc *query)
{
	if (prev_executor_end)
		prev_executor_end(query);
	else
		standard_ExecutorEnd(query);
	log_flush();
}

/*
 * At exit the buffer is written and the file renamed to .done, which tells
 * the writer it is complete. No error may escape here.
 */
static void
log_at_exit(int code, Datum arg)
{
	if (buffer_ready && buffer.buf.len > 0)
	{
		if (spool_fd < 0)
		{
			char	   *dir = psprintf("%s/%u", LOG_SPOOL_DIR, MyDatabaseId);

			(void) MakePGDirectory(LOG_SPOOL_DIR);
			(void) MakePGDirectory(dir);
			spool_path = psprintf("%s/%s-%d.spool", dir, log_spool_name(), spool_sequence);
			spool_fd = open(spool_path, O_WRONLY | O_CREAT | O_APPEND | PG_BINARY, pg_file_create_mode);
		}
		if (spool_fd < 0 || !write_buffer())
			elog(LOG, "automl: %d bytes of the prediction log were lost at exit: %m", buffer.buf.len);
	}
	if (spool_fd >= 0)
		close_spool_file();
}

void
log_init(void)
{
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = log_executor_end;
}
