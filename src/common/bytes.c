/*
 * bytes.c: the byte writer and the validating byte reader (see bytes.h).
 */
#include "common/bytes.h"

#include <math.h>

/* Longest string a model may hold (feature names, class labels). */
#define MAX_STORED_STRING (1024 * 1024)

void
bytes_writer_init(ByteWriter *w)
{
	initStringInfo(&w->buf);
}

void
bytes_put_raw(ByteWriter *w, const void *data, size_t len)
{
	appendBinaryStringInfo(&w->buf, data, (int) len);
}

void
bytes_put_u8(ByteWriter *w, uint8 v)
{
	bytes_put_raw(w, &v, 1);
}

void
bytes_put_u32(ByteWriter *w, uint32 v)
{
	uint8		b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8) (v >> (8 * i));
	bytes_put_raw(w, b, 4);
}

void
bytes_put_u64(ByteWriter *w, uint64 v)
{
	uint8		b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8) (v >> (8 * i));
	bytes_put_raw(w, b, 8);
}

void
bytes_put_f64(ByteWriter *w, double v)
{
	uint64		bits;

	memcpy(&bits, &v, sizeof(bits));
	bytes_put_u64(w, bits);
}

void
bytes_put_f64_array(ByteWriter *w, const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bytes_put_f64(w, v[i]);
}

void
bytes_put_string(ByteWriter *w, const char *s)
{
	size_t		len = strlen(s);

	bytes_put_u32(w, (uint32) len);
	bytes_put_raw(w, s, len);
}

void
bytes_reader_init(ByteReader *r, const void *data, size_t len, const char *what)
{
	r->pos = data;
	r->left = len;
	r->what = what;
}

void
bytes_corrupted(ByteReader *r, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("stored model is corrupted"),
			 errdetail("%s: %s.", r->what, detail),
			 errhint("Train the model again with automl_train, or pin another version as \"name@N\".")));
}

static const uint8 *
take(ByteReader *r, size_t n)
{
	const uint8 *p = r->pos;

	if (n > r->left)
		bytes_corrupted(r, "the bytes end too early");
	r->pos += n;
	r->left -= n;
	return p;
}

uint8
bytes_get_u8(ByteReader *r)
{
	return *take(r, 1);
}

bool
bytes_get_flag(ByteReader *r)
{
	uint8		v = bytes_get_u8(r);

	if (v > 1)
		bytes_corrupted(r, "a flag is neither 0 nor 1");
	return v == 1;
}

uint32
bytes_get_u32(ByteReader *r)
{
	const uint8 *b = take(r, 4);
	uint32		v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32) b[i] << (8 * i);
	return v;
}

uint64
bytes_get_u64(ByteReader *r)
{
	const uint8 *b = take(r, 8);
	uint64		v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64) b[i] << (8 * i);
	return v;
}

double
bytes_get_f64(ByteReader *r)
{
	uint64		bits = bytes_get_u64(r);
	double		v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

double
bytes_get_finite_f64(ByteReader *r)
{
	double		v = bytes_get_f64(r);

	if (!isfinite(v))
		bytes_corrupted(r, "a stored number is not finite");
	return v;
}

double *
bytes_get_f64_array(ByteReader *r, size_t n)
{
	double	   *v;

	if (n > r->left / 8)
		bytes_corrupted(r, "an array is longer than the bytes left");
	v = palloc(n * sizeof(double) + 1);
	for (size_t i = 0; i < n; i++)
		v[i] = bytes_get_finite_f64(r);
	return v;
}

char *
bytes_get_string(ByteReader *r)
{
	uint32		len = bytes_get_u32(r);
	const uint8 *p;
	char	   *s;

	if (len > MAX_STORED_STRING)
		bytes_corrupted(r, "a stored string is too long");
	p = take(r, len);
	if (memchr(p, '\0', len) != NULL)
		bytes_corrupted(r, "a stored string contains a zero byte");
	s = palloc(len + 1);
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/*
 * A count of items that follow, each at least min_bytes_each long: checking it
 * against the bytes left keeps a corrupted count from driving a huge palloc.
 */
uint32
bytes_get_count(ByteReader *r, size_t min_bytes_each, uint32 max_count)
{
	uint32		n = bytes_get_u32(r);

	if (n > max_count)
		bytes_corrupted(r, "a stored count is out of range");
	if (min_bytes_each > 0 && n > r->left / min_bytes_each)
		bytes_corrupted(r, "a stored count is larger than the bytes left");
	return n;
}

/* A length-prefixed section, read by its own reader that must end exactly. */
ByteReader
bytes_get_section(ByteReader *r)
{
	uint64		len = bytes_get_u64(r);
	ByteReader	sub;

	if (len > r->left)
		bytes_corrupted(r, "a section is longer than the bytes left");
	bytes_reader_init(&sub, take(r, (size_t) len), (size_t) len, r->what);
	return sub;
}

void
bytes_expect_end(ByteReader *r)
{
	if (r->left != 0)
		bytes_corrupted(r, "unexpected bytes after the end");
}
