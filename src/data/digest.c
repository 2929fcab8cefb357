/*
 * digest.c: a SHA-256 digest of the rows a model was trained on, the same
 * whatever order the rows were read in.
 *
 * Each row is encoded canonically (per column: a kind byte, then NULL as a
 * marker, a number as its IEEE 754 bits, a category or label as length and
 * bytes) and hashed with SHA-256; the row hashes are added as 256-bit
 * integers, so the sum does not depend on order. The digest is SHA-256 over
 * the column names and kinds, the row count and that sum.
 */
#include "postgres.h"

#include <math.h>

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "data/frame.h"
#include "miscadmin.h"

static void
check(int rc)
{
	if (rc < 0)
		elog(ERROR, "could not compute a SHA-256 digest");
}

static void
put_number(pg_cryptohash_ctx *ctx, double v)
{
	uint8		marker = isnan(v) ? 0 : 1;
	uint64		bits;

	check(pg_cryptohash_update(ctx, &marker, 1));
	if (marker)
	{
		if (v == 0.0)
			v = 0.0;			/* -0 and 0 are one value */
		memcpy(&bits, &v, sizeof(bits));
		check(pg_cryptohash_update(ctx, (uint8 *) &bits, sizeof(bits)));
	}
}

static void
put_string(pg_cryptohash_ctx *ctx, const char *s)
{
	uint8		marker = s ? 1 : 0;

	check(pg_cryptohash_update(ctx, &marker, 1));
	if (s)
	{
		uint32		len = (uint32) strlen(s);

		check(pg_cryptohash_update(ctx, (uint8 *) &len, sizeof(len)));
		check(pg_cryptohash_update(ctx, (const uint8 *) s, len));
	}
}

/* sum += h, as little-endian 256-bit integers */
static void
add_256(uint64 *sum, const uint8 *h)
{
	unsigned __int128 carry = 0;

	for (int w = 0; w < 4; w++)
	{
		uint64		word = 0;

		for (int b = 0; b < 8; b++)
			word |= (uint64) h[w * 8 + b] << (8 * b);
		carry += (unsigned __int128) sum[w] + word;
		sum[w] = (uint64) carry;
		carry >>= 64;
	}
}

char *
frame_digest(const Frame *frame)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		h[PG_SHA256_DIGEST_LENGTH];
	uint64		sum[4] = {0, 0, 0, 0};
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);
	const TargetColumn *tc = &frame->target;

	for (int64 i = 0; i < frame->n_rows; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		check(pg_cryptohash_init(ctx));
		for (int c = 0; c < frame->n_columns; c++)
		{
			const FrameColumn *col = &frame->columns[c];

			if (col->kind == FEATURE_CATEGORICAL)
				put_string(ctx, col->codes[i] < 0 ? NULL : col->dict->values[col->codes[i]]);
			else
				put_number(ctx, col->values[i]);
		}
		if (tc->is_numeric)
			put_number(ctx, tc->values[i]);
		else
			put_string(ctx, tc->labels[tc->codes[i]]);
		check(pg_cryptohash_final(ctx, h, sizeof(h)));
		add_256(sum, h);
	}

	check(pg_cryptohash_init(ctx));
	for (int c = 0; c < frame->n_columns; c++)
	{
		uint8		kind = (uint8) frame->columns[c].kind;

		put_string(ctx, frame->columns[c].name);
		check(pg_cryptohash_update(ctx, &kind, 1));
	}
	put_string(ctx, tc->name);
	check(pg_cryptohash_update(ctx, (const uint8 *) &frame->n_rows, sizeof(frame->n_rows)));
	check(pg_cryptohash_update(ctx, (const uint8 *) sum, sizeof(sum)));
	check(pg_cryptohash_final(ctx, h, sizeof(h)));
	pg_cryptohash_free(ctx);

	for (int b = 0; b < PG_SHA256_DIGEST_LENGTH; b++)
		snprintf(hex + 2 * b, 3, "%02x", h[b]);
	return hex;
}
