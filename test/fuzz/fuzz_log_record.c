/*
 * fuzz_log_record.c: feeds mutated prediction-log records to log_decode.
 *
 * Built like fuzz_model_format (see Makefile): as a standalone program with
 * its own seeded mutation loop, or with libFuzzer (clang, -DUSE_LIBFUZZER),
 * under AddressSanitizer and UBSan either way. Each input is decoded record
 * after record, as the log writer reads a spool file, from a buffer of
 * exactly the bytes left, so that a read past the end is caught. For every
 * record log_decode must return LOG_DECODED, LOG_INCOMPLETE, LOG_CORRUPTED or LOG_BAD_FIELDS,
 * without raising an error, and with PG_TRY's state and the caller's memory
 * context as they were. Moreover:
 *
 *   - LOG_INCOMPLETE: the bytes really end inside the record (shorter than
 *     its 8-byte header, or than 8 + the payload length in the header);
 *   - LOG_DECODED: *consumed is 8 + the header's payload length and within
 *     the bytes; the entry is within the decoder's limits; the input is freed
 *     and log_encode must then turn the entry back into exactly the record's
 *     bytes (so a string pointing into the input instead of being copied is
 *     a use after free); the record without its last byte, and cut in the
 *     middle, is LOG_INCOMPLETE.
 *
 * Seeds are records written by log_encode: fixed ones for every kind of
 * prediction and logged value, long strings, no features, and concatenations
 * of two. The standalone loop also encodes random entries within the
 * decoder's limits, which must decode. Mutants mostly get their checksums
 * recomputed, since a random change otherwise stops at the CRC check.
 *
 *   ./fuzz_log_record SECONDS SEED    runs; a seed replays the same inputs
 *   ./fuzz_log_record FILE            checks one input (a saved failure)
 *   ./fuzz_log_record --seeds DIR     writes the seeds (a libFuzzer corpus)
 *
 * A failure (a check here, or a sanitizer report) of the standalone program
 * saves the input that caused it to fuzz_log_record.crash in the current
 * directory.
 */
#include "postgres.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "pg_shim.h"
#include "serve/log.h"
#include "utils/memutils.h"
#include "port/pg_crc32c.h"

/* bytes.c's private limit, as an interesting value for mutation (log.h has the log's). */
#define MAX_STORED_STRING (1024 * 1024)

/* The record checksum, as log.c computes it (CRC-32C). */
static uint32
record_crc32c(const void *data, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return crc;
}

#define CRASH_FILE "fuzz_log_record.crash"

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

/*
 * A smaller quarantine than the default 256 MB: the copies of each input
 * cycle through it, and touching fresh pages halved the speed. A block freed
 * here is still held long enough for a use after free within one input (the
 * check of decoded strings) to be caught. Standalone, a sanitizer report
 * ends in abort(), whose handler saves the input. ASAN_OPTIONS and
 * UBSAN_OPTIONS override these.
 */
const char *
__asan_default_options(void)
{
#ifdef USE_LIBFUZZER
	return "quarantine_size_mb=16";
#else
	return "quarantine_size_mb=16:abort_on_error=1";
#endif
}

const char *
__ubsan_default_options(void)
{
#ifdef USE_LIBFUZZER
	return "print_stacktrace=1";
#else
	return "print_stacktrace=1:abort_on_error=1";
#endif
}

/* The input being checked, saved when the process aborts (standalone only). */
static const uint8 *current_input = NULL;
static size_t current_len = 0;
static long current_run = -1;
static uint64 current_seed = 0;

#ifndef USE_LIBFUZZER

/* The SIGABRT handler: writes the input to CRASH_FILE, with plain system calls. */
static void
save_current_input(int signo)
{
	char		msg[256];
	int			fd;
	bool		saved;

	if (current_input == NULL)
		return;
	fd = open(CRASH_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	saved = fd >= 0 && write(fd, current_input, current_len) == (ssize_t) current_len;
	if (fd >= 0 && close(fd) != 0)
		saved = false;
	if (!saved)
		snprintf(msg, sizeof(msg), "fuzz_log_record: could not save the failing input to " CRASH_FILE "\n");
	else if (current_run >= 0)
		snprintf(msg, sizeof(msg), "fuzz_log_record: input %ld of seed " UINT64_FORMAT " (%zu bytes) saved to "
				 CRASH_FILE "; replay: ./fuzz_log_record " CRASH_FILE "\n",
				 current_run, current_seed, current_len);
	else
		snprintf(msg, sizeof(msg), "fuzz_log_record: the input (%zu bytes) saved to " CRASH_FILE
				 "; replay: ./fuzz_log_record " CRASH_FILE "\n", current_len);
	current_input = NULL;		/* once */
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
		return;
}

#endif

static void
fail(const char *what, size_t offset)
{
	fprintf(stderr, "fuzz_log_record: %s (record at byte %zu)\n", what, offset);
	fflush(stderr);
	abort();
}

static uint32
read_u32(const uint8 *p)
{
	return (uint32) p[0] | (uint32) p[1] << 8 | (uint32) p[2] << 16 | (uint32) p[3] << 24;
}

static void
write_u32(uint8 *p, uint32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8) (v >> (8 * i));
}

/* A copy in a block of exactly len bytes: AddressSanitizer guards its end. */
static uint8 *
exact_copy(const uint8 *data, size_t len)
{
	uint8	   *copy = malloc(len);

	if (copy == NULL && len > 0)
		abort();
	if (len > 0)
		memcpy(copy, data, len);
	return copy;
}

/* Not a real context: only compared, to see that log_decode switches back. */
static MemoryContextData caller_context_data;

/*
 * log_decode on a copy of len bytes, which is freed before returning. An
 * error that escapes log_decode comes back here through the shim and fails.
 */
static LogDecodeStatus
decode(const uint8 *data, size_t len, LogEntry *entry, size_t *consumed, size_t offset)
{
	jmp_buf		jump;
	uint8	   *copy = exact_copy(data, len);
	MemoryContext caller = &caller_context_data;
	LogDecodeStatus status;

	CurrentMemoryContext = caller;
	shim_set_error_jump(&jump);
	if (setjmp(jump) != 0)
		fail("log_decode raised an error instead of returning", offset);
	status = log_decode((const char *) copy, len, entry, consumed);
	shim_set_error_jump(NULL);
	if (CurrentMemoryContext != caller)
		fail("log_decode returned in another memory context than the caller's", offset);
	if (PG_exception_stack != NULL || error_context_stack != NULL)
		fail("log_decode left PG_TRY's state changed", offset);
	if (status != LOG_DECODED && status != LOG_INCOMPLETE && status != LOG_CORRUPTED &&
		status != LOG_BAD_FIELDS)
		fail("log_decode returned an unknown status", offset);
	free(copy);
	return status;
}

/* What the writer relies on in a decoded entry (re-encoding checks the rest). */
static void
check_entry(const LogEntry *e, size_t offset)
{
	if (e->model == NULL || e->version < 1)
		fail("a decoded entry has no model or a version below 1", offset);
	if (e->n_probabilities < 0 || e->n_probabilities > LOG_MAX_CLASSES ||
		(e->n_probabilities > 0) != (e->probabilities != NULL))
		fail("a decoded entry has a bad probability count or array", offset);
	if (e->n_features < 0 || e->n_features > LOG_MAX_FEATURES ||
		(e->n_features > 0 && (e->feature_names == NULL || e->values == NULL)))
		fail("a decoded entry has a bad feature count or arrays", offset);
	for (int f = 0; f < e->n_features; f++)
	{
		const LoggedValue *v = &e->values[f];

		if (e->feature_names[f] == NULL)
			fail("a decoded feature has no name", offset);
		if (v->kind != LOGGED_NULL && v->kind != LOGGED_NUMBER && v->kind != LOGGED_TEXT)
			fail("a decoded value has an unknown kind", offset);
		if (v->kind == LOGGED_TEXT && (v->text == NULL || strlen(v->text) != v->text_len))
			fail("a decoded text value's length is not its strlen", offset);
	}
}

/*
 * Checks one input (see the header comment); with must_decode, its first
 * record must decode. Returns the number of records decoded; *last (unless
 * NULL) is the status of the last record tried, LOG_DECODED when every byte
 * decoded.
 */
static int
check_input(const uint8 *data, size_t size, bool must_decode, LogDecodeStatus *last)
{
	size_t		pos = 0;
	int			decoded = 0;
	LogDecodeStatus status;

	current_input = data;
	current_len = size;
	for (;;)
	{
		size_t		left = size - pos;
		LogEntry	entry;
		size_t		consumed = SIZE_MAX;

		status = decode(data + pos, left, &entry, &consumed, pos);

		if (status == LOG_INCOMPLETE &&
			left >= 8 && left - 8 >= (size_t) read_u32(data + pos))
			fail("LOG_INCOMPLETE for a record whose bytes are all there", pos);
		if (status == LOG_BAD_FIELDS)
		{
			/* the writer skips just this record: its framing must say where the next starts */
			if (must_decode && decoded == 0)
				fail("a record encoded by log_encode does not decode", pos);
			if (left < 8 || consumed != 8 + (size_t) read_u32(data + pos) || consumed > left)
				fail("LOG_BAD_FIELDS with *consumed not 8 + the payload length, within the bytes", pos);
			pos += consumed;
			if (pos == size)
				break;
			continue;
		}
		if (status != LOG_DECODED)
		{
			if (must_decode && decoded == 0)
				fail("a record encoded by log_encode does not decode", pos);
			break;
		}
		if (left < 8 || consumed != 8 + (size_t) read_u32(data + pos) || consumed > left)
			fail("LOG_DECODED with *consumed not 8 + the payload length, within the bytes", pos);
		check_entry(&entry, pos);
		{
			ByteWriter	again;

			bytes_writer_init(&again);
			log_encode(&again, &entry);
			if ((size_t) again.buf.len != consumed ||
				memcmp(again.buf.data, data + pos, consumed) != 0)
			{
				size_t		at = 8;	/* the payload's first difference: the CRC differs too */

				while (at < consumed && at < (size_t) again.buf.len &&
					   (uint8) again.buf.data[at] == data[pos + at])
					at++;
				fprintf(stderr, "re-encoded: %d bytes, record: %zu bytes, first difference at byte %zu of the record\n",
						again.buf.len, consumed, at);
				fail("a decoded record does not encode back to its bytes", pos);
			}
		}
		{
			LogEntry	cut_entry;
			size_t		cut_consumed;

			if (decode(data + pos, consumed - 1, &cut_entry, &cut_consumed, pos) != LOG_INCOMPLETE ||
				decode(data + pos, (consumed - 1) / 2, &cut_entry, &cut_consumed, pos) != LOG_INCOMPLETE)
				fail("a decoded record cut short is not LOG_INCOMPLETE", pos);
		}
		decoded++;
		pos += consumed;
		if (pos == size)
			break;
	}
	shim_free_all();
	current_input = NULL;
	if (last != NULL)
		*last = status;
	return decoded;
}

/* Recomputes the CRC of each record, as far as the lengths chain within len. */
static void
fix_checksums(uint8 *buf, size_t len)
{
	size_t		pos = 0;

	while (len - pos >= 8)
	{
		uint32		payload_len = read_u32(buf + pos);

		if (payload_len > len - pos - 8)
			break;
		write_u32(buf + pos + 4, record_crc32c(buf + pos + 8, payload_len));
		pos += 8 + (size_t) payload_len;
	}
}

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	uint8	   *fixed;

	check_input(data, size, false, NULL);
	/* and with the checksums made right, to reach the field checks */
	fixed = exact_copy(data, size);
	fix_checksums(fixed, size);
	check_input(fixed, size, false, NULL);
	free(fixed);
	return 0;
}

#ifndef USE_LIBFUZZER

/* ---- seeds ---- */

typedef struct Seed
{
	uint8	   *bytes;
	size_t		len;
} Seed;

#define MAX_SEEDS 32

static Seed seeds[MAX_SEEDS];
static int	n_seeds = 0;

static void
add_seed(const void *bytes, size_t len)
{
	if (n_seeds == MAX_SEEDS)
		abort();
	seeds[n_seeds].bytes = exact_copy(bytes, len);
	seeds[n_seeds].len = len;
	n_seeds++;
}

/* Encodes entry as a seed and checks that it decodes. */
static void
add_entry_seed(const LogEntry *entry)
{
	ByteWriter	w;
	uint8	   *bytes;
	size_t		len;

	bytes_writer_init(&w);
	log_encode(&w, entry);
	len = w.buf.len;
	bytes = exact_copy((const uint8 *) w.buf.data, len);
	shim_free_all();
	if (check_input(bytes, len, true, NULL) != 1)
		fail("a seed record does not decode alone", 0);
	add_seed(bytes, len);
	free(bytes);
}

static void
add_concatenated_seed(int a, int b)
{
	size_t		len = seeds[a].len + seeds[b].len;
	uint8	   *bytes = malloc(len);

	memcpy(bytes, seeds[a].bytes, seeds[a].len);
	memcpy(bytes + seeds[a].len, seeds[b].bytes, seeds[b].len);
	if (check_input(bytes, len, true, NULL) != 2)
		fail("two seed records do not decode one after the other", 0);
	add_seed(bytes, len);
	free(bytes);
}

static char *
repeated(char c, int n)
{
	char	   *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
make_seeds(void)
{
	static const char *const names[] = {"sqft", "city", "garage", "built", "", "note"};
	LoggedValue values[6];
	double		two[2] = {0.27, 0.73};
	double		five[5] = {0.1, 0.05, 0.6, 0.2, 0.05};
	LogEntry	e;
	int			fixed;

	/* regression with a key: a number, a category and a NULL */
	memset(&e, 0, sizeof(e));
	memset(values, 0, sizeof(values));
	e.predicted_at = INT64CONST(757382400000000);	/* 2024-01-01 */
	e.model = "house_prices";
	e.version = 3;
	e.key = "row-17";
	e.has_prediction = true;
	e.prediction = 123456.78;
	values[0].kind = LOGGED_NUMBER;
	values[0].number = 1450.5;
	values[1].kind = LOGGED_TEXT;
	values[1].text = "Lyon";
	values[1].text_len = 4;
	values[2].kind = LOGGED_NULL;
	e.n_features = 3;
	e.feature_names = names;
	e.values = values;
	add_entry_seed(&e);

	/* binary classification: label, positive probability and both probabilities */
	e.model = "churn";
	e.version = 1;
	e.key = "customer 42";
	e.prediction = two[1];
	e.label = "yes";
	e.n_probabilities = 2;
	e.probabilities = two;
	add_entry_seed(&e);

	/* multiclass, 5 classes: no prediction, no key */
	e.model = "species";
	e.version = 12;
	e.key = NULL;
	e.has_prediction = false;
	e.prediction = 0;
	e.label = "class_c";
	e.n_probabilities = 5;
	e.probabilities = five;
	add_entry_seed(&e);

	/* every kind of value, odd numbers, empty and non-ASCII text, an empty name */
	memset(&e, 0, sizeof(e));
	e.predicted_at = -INT64CONST(86400000000);	/* before 2000 */
	e.model = "mixed";
	e.version = 2;
	e.has_prediction = true;
	e.prediction = -0.0;
	values[0].kind = LOGGED_NUMBER;
	values[0].number = NAN;
	values[1].kind = LOGGED_TEXT;
	values[1].text = "";
	values[1].text_len = 0;
	values[2].kind = LOGGED_NUMBER;
	values[2].number = -INFINITY;
	values[3].kind = LOGGED_NUMBER;
	values[3].number = 4.9e-324;
	values[4].kind = LOGGED_TEXT;
	values[4].text = "S\xc3\xa3o Paulo";
	values[4].text_len = strlen(values[4].text);
	values[5].kind = LOGGED_NULL;
	e.n_features = 6;
	e.feature_names = names;
	e.values = values;
	add_entry_seed(&e);

	/* no features, extreme timestamp, version and prediction */
	memset(&e, 0, sizeof(e));
	e.predicted_at = PG_INT64_MIN;
	e.model = "m";
	e.version = PG_INT32_MAX;
	e.has_prediction = true;
	e.prediction = INFINITY;
	add_entry_seed(&e);

	/* long strings: past 16-bit lengths */
	{
		char	   *model = repeated('m', 300);
		char	   *key = repeated('k', 3000);
		char	   *label = repeated('l', 1000);
		char	   *name = repeated('n', 500);
		char	   *text = repeated('t', 70000);
		const char *long_names[2] = {name, "short"};
		double		p[3] = {0.5, 0.25, 0.25};

		memset(&e, 0, sizeof(e));
		e.predicted_at = 1;
		e.model = model;
		e.version = 7;
		e.key = key;
		e.label = label;
		e.n_probabilities = 3;
		e.probabilities = p;
		values[0].kind = LOGGED_TEXT;
		values[0].text = text;
		values[0].text_len = 70000;
		values[1].kind = LOGGED_TEXT;
		values[1].text = key;
		values[1].text_len = 3000;
		e.n_features = 2;
		e.feature_names = long_names;
		e.values = values;
		add_entry_seed(&e);
		free(model);
		free(key);
		free(label);
		free(name);
		free(text);
	}

	fixed = n_seeds;
	add_concatenated_seed(0, 1);
	add_concatenated_seed(2, 3);
	add_concatenated_seed(4, 4);
	add_concatenated_seed(1, fixed - 1);
}

/* Writes the seeds to dir, one file each. */
static int
write_seeds(const char *dir)
{
	for (int s = 0; s < n_seeds; s++)
	{
		char		path[1024];
		FILE	   *f;

		snprintf(path, sizeof(path), "%s/log-record-seed-%02d", dir, s);
		f = fopen(path, "wb");
		if (f == NULL || fwrite(seeds[s].bytes, 1, seeds[s].len, f) != seeds[s].len || fclose(f) != 0)
		{
			fprintf(stderr, "fuzz_log_record: could not write %s\n", path);
			return 1;
		}
	}
	printf("fuzz_log_record: %d seeds written to %s\n", n_seeds, dir);
	return 0;
}

/* ---- random entries and mutations ---- */

#include "fuzz_random.h"

/* A palloc'd string of up to max_len bytes, never a zero byte. */
static char *
random_string(size_t max_len)
{
	size_t		len = random_below(max_len + 1);
	char	   *s = palloc(len + 1);

	for (size_t i = 0; i < len; i++)
		s[i] = random_below(4) == 0 ? (char) (1 + random_below(255)) : (char) ('a' + random_below(26));
	s[len] = '\0';
	return s;
}

static double
random_double(bool finite)
{
	static const double specials[] = {0.0, -0.0, 1.0, 0.5, 1e308, -1e-308, 4.9e-324,
	NAN, INFINITY, -INFINITY};
	double		v;

	if (random_below(3) == 0)
	{
		uint64		bits = next_random();

		memcpy(&v, &bits, 8);
	}
	else
		v = specials[random_below(lengthof(specials))];
	return (finite && !isfinite(v)) ? 0.25 : v;
}

/*
 * The encoding of a random entry within the decoder's limits (version >= 1,
 * finite probabilities, short strings without zero bytes), palloc'd.
 */
static ByteWriter
random_record(void)
{
	LogEntry	e;
	ByteWriter	w;
	bool		big = random_below(16) == 0;

	memset(&e, 0, sizeof(e));
	e.predicted_at = (TimestampTz) next_random();
	e.version = 1 + (int32) random_below(random_below(2) ? 20 : PG_INT32_MAX);
	e.model = random_string(24);
	if (random_below(2))
		e.key = random_string(big ? 2000 : 30);
	e.has_prediction = random_below(2);
	if (e.has_prediction)
		e.prediction = random_double(false);
	if (random_below(2))
		e.label = random_string(16);
	e.n_probabilities = (int) random_below(big ? 300 : 7);
	if (e.n_probabilities > 0)
	{
		double	   *p = palloc(sizeof(double) * e.n_probabilities);

		for (int k = 0; k < e.n_probabilities; k++)
			p[k] = random_double(true);
		e.probabilities = p;
	}
	e.n_features = (int) random_below(big ? 300 : 10);
	{
		const char **names = palloc(sizeof(char *) * Max(e.n_features, 1));
		LoggedValue *values = palloc0(sizeof(LoggedValue) * Max(e.n_features, 1));

		for (int f = 0; f < e.n_features; f++)
		{
			names[f] = random_string(12);
			values[f].kind = (LoggedKind) random_below(3);
			if (values[f].kind == LOGGED_NUMBER)
				values[f].number = random_double(false);
			else if (values[f].kind == LOGGED_TEXT)
			{
				values[f].text = random_string(big ? 200 : 20);
				values[f].text_len = strlen(values[f].text);
			}
		}
		e.feature_names = names;
		e.values = values;
	}
	bytes_writer_init(&w);
	log_encode(&w, &e);
	return w;
}

/* Where the counts, lengths, flags and kinds of the records in a buffer are. */
typedef enum FieldType
{
	FIELD_PAYLOAD_LEN,
	FIELD_STRING_LEN,
	FIELD_FLAG,
	FIELD_N_PROBABILITIES,
	FIELD_N_FEATURES,
	FIELD_KIND
} FieldType;

typedef struct Field
{
	size_t		at;
	FieldType	type;
} Field;

#define MAX_FIELDS 4096

/*
 * Walks the records of buf as log_encode lays them out, as far as they make
 * sense (mutated bytes included), and lists their fields; returns how many.
 */
static int
map_fields(const uint8 *buf, size_t len, Field *fields)
{
	int			n = 0;
	size_t		pos = 0;

#define ADD(where, t) do { if (n < MAX_FIELDS) { fields[n].at = (where); fields[n].type = (t); n++; } } while (0)
#define NEED(k) do { if (end - p < (size_t) (k)) goto next_record; } while (0)
#define STRING() do { uint32 s_; NEED(4); ADD(p, FIELD_STRING_LEN); s_ = read_u32(buf + p); p += 4; NEED(s_); p += s_; } while (0)
#define FLAG(var) do { NEED(1); ADD(p, FIELD_FLAG); (var) = buf[p]; p++; } while (0)

	while (len - pos >= 8 && n < MAX_FIELDS)
	{
		uint32		payload_len = read_u32(buf + pos);
		size_t		end;
		size_t		p = pos + 8;
		uint8		flag;
		uint32		count;

		ADD(pos, FIELD_PAYLOAD_LEN);
		if (payload_len > len - pos - 8)
			break;
		end = pos + 8 + payload_len;
		NEED(12);				/* predicted_at, version */
		p += 12;
		STRING();				/* model */
		FLAG(flag);
		if (flag == 1)
			STRING();			/* key */
		FLAG(flag);
		if (flag == 1)
		{
			NEED(8);
			p += 8;
		}
		FLAG(flag);
		if (flag == 1)
			STRING();			/* label */
		NEED(4);
		ADD(p, FIELD_N_PROBABILITIES);
		count = read_u32(buf + p);
		p += 4;
		if (count > (end - p) / 8)
			goto next_record;
		p += 8 * (size_t) count;
		NEED(4);
		ADD(p, FIELD_N_FEATURES);
		count = read_u32(buf + p);
		p += 4;
		for (uint32 f = 0; f < count; f++)
		{
			uint8		kind;

			STRING();			/* name */
			NEED(1);
			ADD(p, FIELD_KIND);
			kind = buf[p];
			p++;
			if (kind == LOGGED_NUMBER)
			{
				NEED(8);
				p += 8;
			}
			else if (kind == LOGGED_TEXT)
				STRING();
			else if (kind != LOGGED_NULL)
				break;
		}
next_record:
		pos = end;
	}
#undef ADD
#undef NEED
#undef STRING
#undef FLAG
	return n;
}

/* Gives one length, count, flag or kind field an edge value. */
static void
edit_field(uint8 *buf, size_t len, const Field *field)
{
	static const uint8 flags[] = {0, 1, 2, 0xFF};
	static const uint8 kinds[] = {LOGGED_NULL, LOGGED_NUMBER, LOGGED_TEXT, 3, 0x80, 0xFF};
	size_t		at = field->at;
	uint32		old,
				after,
				limit,
				v;

	if (field->type == FIELD_FLAG)
	{
		buf[at] = flags[random_below(lengthof(flags))];
		return;
	}
	if (field->type == FIELD_KIND)
	{
		buf[at] = kinds[random_below(lengthof(kinds))];
		return;
	}
	old = read_u32(buf + at);
	after = (uint32) Min(len - at - 4, (size_t) PG_UINT32_MAX);	/* bytes after the field */
	switch (field->type)
	{
		case FIELD_PAYLOAD_LEN:
			limit = LOG_MAX_RECORD;
			break;
		case FIELD_STRING_LEN:
			limit = MAX_STORED_STRING;
			break;
		case FIELD_N_PROBABILITIES:
			limit = LOG_MAX_CLASSES;
			break;
		default:
			limit = LOG_MAX_FEATURES;
			break;
	}
	switch (random_below(12))
	{
		case 0:
		case 1:
		case 2:
			v = old + (uint32) (random_below(2) ? 1 + random_below(8) : -(1 + random_below(8)));
			break;
		case 3:
			v = 0;
			break;
		case 4:
			v = after;
			break;
		case 5:
			v = after + 1;
			break;
		case 6:
			v = after / (field->type == FIELD_N_PROBABILITIES ? 8 : 5);
			break;
		case 7:
			v = limit;
			break;
		case 8:
			v = limit + 1;
			break;
		case 9:
			v = old * 2;
			break;
		case 10:
			v = random_below(2) ? PG_INT32_MAX : (uint32) PG_INT32_MAX + 1;
			break;
		default:
			v = PG_UINT32_MAX;
			break;
	}
	write_u32(buf + at, v);
}

/*
 * A seed to start from or append: the long ones (tens of kilobytes, slow to
 * copy and checksum) only one time in 16.
 */
static const Seed *
pick_seed(void)
{
	for (;;)
	{
		const Seed *seed = &seeds[random_below(n_seeds)];

		if (seed->len <= 4096 || random_below(16) == 0)
			return seed;
	}
}

/* One random change of buf (len bytes, room for cap); returns the new length. */
static size_t
mutate(uint8 *buf, size_t len, size_t cap)
{
	static const uint32 interesting[] = {0, 1, 2, 3, 4, 5, 7, 8, 0x7F, 0x80, 0xFF, 0x100,
		0xFFFF, 0x10000, 10000, 10001, 100000, 100001, 0x100000, 0x100001,
	0x4000000, 0x4000001, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF};

	switch (random_below(10))
	{
		case 0:					/* flip a bit */
			if (len > 0)
				buf[random_below(len)] ^= (uint8) (1u << random_below(8));
			break;
		case 1:					/* a random byte */
			if (len > 0)
				buf[random_below(len)] = (uint8) next_random();
			break;
		case 2:					/* truncate */
			len = random_below(len + 1);
			break;
		case 3:					/* an interesting 32-bit value anywhere */
			if (len >= 4)
				write_u32(buf + random_below(len - 3), interesting[random_below(lengthof(interesting))]);
			break;
		case 4:					/* insert bytes */
			{
				size_t		at = random_below(len + 1);
				size_t		n = 1 + random_below(16);

				if (len + n > cap)
					break;
				memmove(buf + at + n, buf + at, len - at);
				for (size_t i = 0; i < n; i++)
					buf[at + i] = random_below(2) ? 0 : (uint8) next_random();
				len += n;
			}
			break;
		case 5:					/* delete bytes */
			if (len > 0)
			{
				size_t		at = random_below(len);
				size_t		n = 1 + random_below(Min(16, len - at));

				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
			}
			break;
		case 6:					/* a special double */
			if (len >= 8)
			{
				static const double specials[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e308};
				double		v = specials[random_below(lengthof(specials))];
				uint64		bits;
				size_t		at = random_below(len - 7);

				memcpy(&bits, &v, 8);
				for (int i = 0; i < 8; i++)
					buf[at + i] = (uint8) (bits >> (8 * i));
			}
			break;
		case 7:					/* a length, count, flag or kind (twice as likely) */
		case 8:
			{
				static Field fields[MAX_FIELDS];
				int			n = map_fields(buf, len, fields);

				if (n > 0)
					edit_field(buf, len, &fields[random_below(n)]);
			}
			break;
		case 9:					/* append a seed, or part of one */
			{
				const Seed *other = pick_seed();
				size_t		n = random_below(2) ? other->len : random_below(other->len + 1);

				if (len + n > cap)
					break;
				memcpy(buf + len, other->bytes, n);
				len += n;
			}
			break;
	}
	return len;
}

static int
replay_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	uint8	   *data = NULL;
	size_t		len = 0,
				cap = 0,
				n;
	int			decoded;

	if (f == NULL)
	{
		fprintf(stderr, "fuzz_log_record: cannot open %s\n", path);
		return 1;
	}
	do
	{
		if (len == cap)
		{
			cap = cap ? cap * 2 : 65536;
			data = realloc(data, cap);
			if (data == NULL)
				abort();
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	decoded = check_input(data, len, false, NULL);
	printf("fuzz_log_record: %s (%zu bytes): %d records decoded, no failure\n", path, len, decoded);
	/* as libFuzzer runs it: also with the checksums made right */
	fix_checksums(data, len);
	decoded = check_input(data, len, false, NULL);
	printf("fuzz_log_record: with its checksums recomputed: %d records decoded, no failure\n", decoded);
	free(data);
	return 0;
}

int
main(int argc, char **argv)
{
	char	   *end = NULL;
	double		seconds = argc > 1 ? strtod(argv[1], &end) : 10.0;
	uint64		start_seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	size_t		max_len = 0,
				cap;
	uint8	   *buf;
	long		runs = 0,
				random_records = 0;
	long		records = 0,
				by_status[4] = {0, 0, 0, 0};
	struct timespec t0,
				t1;
	double		elapsed;

	signal(SIGABRT, save_current_input);
	make_seeds();
	if (argc > 2 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	if (argc > 1 && (end == argv[1] || *end != '\0'))
		return replay_file(argv[1]);

	for (int s = 0; s < n_seeds; s++)
		max_len = Max(max_len, seeds[s].len);
	cap = 2 * max_len + 4096;
	buf = malloc(cap);

	current_seed = start_seed;
	rng_state = start_seed * 0x9E3779B97F4A7C15ULL + 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;)
	{
		clock_gettime(CLOCK_MONOTONIC, &t1);
		elapsed = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (elapsed >= seconds)
			break;
		for (int batch = 0; batch < 1000; batch++)
		{
			size_t		len;
			int			n_mutations = 1 + (int) random_below(random_below(4) ? 2 : 8);
			LogDecodeStatus last;

			current_run = runs;
			if (random_below(8) == 0)
			{
				/* a random entry within the limits: it must decode, then mutate it */
				ByteWriter	w = random_record();

				if ((size_t) w.buf.len > cap / 2)
				{
					shim_free_all();
					continue;
				}
				len = w.buf.len;
				memcpy(buf, w.buf.data, len);
				shim_free_all();
				check_input(buf, len, true, NULL);
				random_records++;
			}
			else
			{
				const Seed *seed = pick_seed();

				len = seed->len;
				memcpy(buf, seed->bytes, len);
			}
			for (int m = 0; m < n_mutations; m++)
				len = mutate(buf, len, cap);
			switch (random_below(8))
			{
				case 0:			/* checksums left as they are */
				case 1:
					break;
				case 2:			/* the whole buffer one record */
					if (len >= 8)
						write_u32(buf, (uint32) (len - 8));
					fix_checksums(buf, len);
					break;
				default:
					fix_checksums(buf, len);
					break;
			}
			records += check_input(buf, len, false, &last);
			by_status[last]++;
			runs++;
		}
	}
	printf("fuzz_log_record: %ld inputs in %.1f s (%.0f/s), seed " UINT64_FORMAT ": "
		   "%ld decoded to the end, %ld stopped at an incomplete record, %ld at a corrupted one, %ld ended on a skipped record; "
		   "%ld records decoded, %ld random records; no failure\n",
		   runs, elapsed, runs / Max(elapsed, 1e-9), start_seed,
		   by_status[LOG_DECODED], by_status[LOG_INCOMPLETE], by_status[LOG_CORRUPTED], by_status[LOG_BAD_FIELDS],
		   records, random_records);
	for (int s = 0; s < n_seeds; s++)
		free(seeds[s].bytes);
	free(buf);
	return 0;
}

#endif							/* USE_LIBFUZZER */
