/*
 * bytes.h: bounded little-endian byte writer and reader for stored models.
 *
 * The reader never trusts its input: every read checks the bytes left and
 * raises ERRCODE_DATA_CORRUPTED on a short or malformed buffer, so a loader
 * built on it cannot read past the end or allocate absurd sizes.
 */
#ifndef AUTOML_BYTES_H
#define AUTOML_BYTES_H

#include "postgres.h"
#include "lib/stringinfo.h"

typedef struct ByteWriter
{
	StringInfoData buf;
} ByteWriter;

typedef struct ByteReader
{
	const uint8 *pos;
	size_t		left;
	const char *what;			/* what is being read, for error messages */
} ByteReader;

extern void bytes_writer_init(ByteWriter *w);
extern void bytes_put_u8(ByteWriter *w, uint8 v);
extern void bytes_put_u32(ByteWriter *w, uint32 v);
extern void bytes_put_u64(ByteWriter *w, uint64 v);
extern void bytes_put_f64(ByteWriter *w, double v);
extern void bytes_put_f64_array(ByteWriter *w, const double *v, size_t n);
extern void bytes_put_string(ByteWriter *w, const char *s);
extern void bytes_put_raw(ByteWriter *w, const void *data, size_t len);

extern void bytes_reader_init(ByteReader *r, const void *data, size_t len, const char *what);
extern uint8 bytes_get_u8(ByteReader *r);
extern bool bytes_get_flag(ByteReader *r);	/* a u8 that must be 0 or 1 */
extern uint32 bytes_get_u32(ByteReader *r);
extern uint64 bytes_get_u64(ByteReader *r);
extern double bytes_get_f64(ByteReader *r);
extern double bytes_get_finite_f64(ByteReader *r);
extern double *bytes_get_f64_array(ByteReader *r, size_t n);
extern char *bytes_get_string(ByteReader *r);
extern uint32 bytes_get_count(ByteReader *r, size_t min_bytes_each, uint32 max_count);
extern ByteReader bytes_get_section(ByteReader *r);
extern void bytes_expect_end(ByteReader *r);

extern void bytes_corrupted(ByteReader *r, const char *detail) pg_attribute_noreturn();

#endif							/* AUTOML_BYTES_H */
