/*
 * log.h: the prediction log of monitored models.
 *
 * Scoring must stay cheap and must work where a backend cannot write a table
 * (parallel workers, read-only transactions), so a scoring process only
 * appends binary records to its own spool file (log.c); the log writer, a
 * background worker per database, moves them into automl.predictions
 * (log_writer.c). How far each file has been read is stored in the same
 * transaction as its rows, so a record is inserted exactly once even when
 * the writer stops half-way.
 *
 * Spool files live in $PGDATA/automl_log/<database oid>/ and are named
 * <generation>-<process start>-<pid>.spool while their process runs, .done
 * after it exits. The generation changes whenever shared memory is set up
 * again (server start, restart after a crash), so a .spool file of an
 * earlier generation is complete too: its process was killed.
 */
#ifndef AUTOML_LOG_H
#define AUTOML_LOG_H

#include "postgres.h"
#include "common/bytes.h"
#include "datatype/timestamp.h"

#define LOG_SPOOL_DIR "automl_log"
#define LOG_MAX_FEATURES 10000
#define LOG_MAX_CLASSES 100000
#define LOG_MAX_TEXT (64 * 1024)	/* longer keys, labels and category texts are cut */
#define LOG_MAX_RECORD (16 * 1024 * 1024)	/* payload bytes of one record */

/* One logged value of a feature: NULL, a number, or a category's text. */
typedef enum LoggedKind
{
	LOGGED_NULL = 0,
	LOGGED_NUMBER = 1,
	LOGGED_TEXT = 2
} LoggedKind;

typedef struct LoggedValue
{
	LoggedKind	kind;
	double		number;
	const char *text;			/* not NUL-terminated: text_len bytes */
	uint32		text_len;
} LoggedValue;

/* One prediction, as written by a scoring process and read by the writer. */
typedef struct LogEntry
{
	TimestampTz predicted_at;
	const char *model;
	int32		version;
	const char *key;			/* NULL: no key */
	bool		has_prediction;
	double		prediction;		/* regression value, or the positive class's probability */
	const char *label;			/* classification: the predicted class, else NULL */
	int			n_probabilities;
	const double *probabilities;
	int			n_features;
	const char *const *feature_names;
	const LoggedValue *values;
} LogEntry;

/* ---- writing (log.c), in scoring processes ---- */

/* Installs the statement-end and process-exit flushes; from _PG_init. */
extern void log_init(void);

/* Appends one record to this process's spool buffer (written at statement end). */
extern void log_append(const LogEntry *entry);

/* Writes this process's buffered records to its spool file now. */
extern void log_flush(void);

/*
 * Encodes a record (framing: payload length, CRC-32C, both little-endian, then
 * the payload). Texts longer than LOG_MAX_TEXT are cut at a character
 * boundary; a record that would still exceed LOG_MAX_RECORD is an error.
 */
extern void log_encode(ByteWriter *w, const LogEntry *entry);

typedef enum LogDecodeStatus
{
	LOG_DECODED,				/* *entry holds a record of *consumed bytes */
	LOG_INCOMPLETE,				/* the bytes end inside a record */
	LOG_CORRUPTED,				/* a bad length or checksum: where the next record starts is unknown */
	LOG_BAD_FIELDS				/* framing and checksum right, a field wrong: *consumed skips it */
} LogDecodeStatus;

/*
 * Decodes the record at the start of data. Strings in *entry are palloc'd
 * copies; nothing is trusted: a bad record is LOG_CORRUPTED or LOG_BAD_FIELDS,
 * never a crash. Errors other than corruption (out of memory) are raised.
 */
extern LogDecodeStatus log_decode(const char *data, size_t len, LogEntry *entry, size_t *consumed);

/* ---- the log writer (log_writer.c) ---- */

/* Reserves the writers' shared state when preloaded; from _PG_init. */
extern void log_writer_init(void);

/* Starts the log writer of this database if none runs (after a spool write). */
extern void log_writer_wake(void);

/* The directory of this database's spool files, created if missing. */
extern char *log_spool_directory(bool create);

/* The generation of the writers' shared memory: spool files of older ones are complete. */
extern int64 log_writer_generation(void);

/* ---- spool files (log_spool.c) ---- */

/* The spool file name (without directory and suffix) this process writes. */
extern char *log_spool_name(void);

/* One spool file of this database, as an ingestion round sees it. */
typedef struct SpoolFile
{
	char	   *base;			/* the name without .spool/.done: the key in automl.log_spool */
	char	   *path;
	bool		complete;		/* its process has ended */
	off_t		size;
	int64		consumed;
} SpoolFile;

/* This database's spool files, sorted by base name (log_spool_compare). */
extern SpoolFile *log_spool_list(int *n_out);
extern int	log_spool_compare(const void *a, const void *b);

/* ---- ingestion (log_ingest.c) ---- */

/*
 * One round: every spool file's new complete records into automl.predictions.
 * background: the writer's round (deletes finished files, waits for nothing).
 * Returns the rows inserted; *more when a file has bytes left, *locked when
 * another round held the lock.
 */
extern int64 log_ingest_round(bool background, bool *more, bool *locked);

#endif							/* AUTOML_LOG_H */
