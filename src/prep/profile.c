/*
 * profile.c: the reference profile of the training data, stored with each
 * model version so that later data can be compared with it (drift).
 *
 * Per column: kind, missing share, distinct count, and a histogram:
 * numeric and date/time columns on fixed bin edges (the deciles of the
 * training values, which later data is binned on too), categorical columns
 * as the shares of the most frequent levels and of all others.
 */
#include "postgres.h"

#include <math.h>

#include "common/sort_doubles.h"
#include "miscadmin.h"
#include "prep/prep.h"

#define PROFILE_BINS 10
#define PROFILE_SAMPLE 50000
#define PROFILE_TOP_LEVELS 20

static void
profile_numeric(JsonBuilder *json, const double *values, int64 n_rows, int64 n_missing)
{
	int64		stride = Max(1, n_rows / PROFILE_SAMPLE);
	double	   *sample = palloc(sizeof(double) * (Min(n_rows, PROFILE_SAMPLE) + 1));
	int64		m = 0;
	int64		distinct = 0;
	double		edges[PROFILE_BINS + 1];
	int			n_edges = 0;
	int64		counts[PROFILE_BINS] = {0};
	double		min = INFINITY,
				max = -INFINITY,
				sum = 0.0;
	int64		n_present = 0;

	for (int64 i = 0; i < n_rows; i++)
	{
		double		v = values[i];

		if (isnan(v))
			continue;
		min = Min(min, v);
		max = Max(max, v);
		sum += v;
		n_present++;
		if (i % stride == 0 && m < PROFILE_SAMPLE)
			sample[m++] = v;
	}
	sort_doubles(sample, m);
	for (int64 i = 0; i < m; i++)
		distinct += (i == 0 || sample[i] != sample[i - 1]);

	/* decile edges of the sample, without repeats */
	for (int b = 0; b <= PROFILE_BINS && m > 0; b++)
	{
		double		e = sample[Min(m - 1, (int64) floor((double) b * (m - 1) / PROFILE_BINS + 0.5))];

		if (b == 0)
			e = min;
		if (b == PROFILE_BINS)
			e = max;
		if (n_edges == 0 || e > edges[n_edges - 1])
			edges[n_edges++] = e;
	}
	if (n_edges == 1)
		edges[n_edges++] = edges[0];	/* one value: a single bin */

	for (int64 i = 0; i < n_rows; i++)
	{
		double		v = values[i];
		int			lo = 0,
					hi = n_edges - 2;

		if (isnan(v))
			continue;
		/* the bin whose [edge, next edge) holds v; the last bin is closed */
		while (lo < hi)
		{
			int			mid = (lo + hi + 1) / 2;

			if (v >= edges[mid])
				lo = mid;
			else
				hi = mid - 1;
		}
		counts[lo]++;
	}

	json_key_number(json, "missing_share", n_rows > 0 ? (double) n_missing / n_rows : 0.0);
	json_key_int(json, "distinct", distinct);
	json_key_bool(json, "distinct_exact", stride == 1);
	json_key_number(json, "min", min);
	json_key_number(json, "max", max);
	json_key_number(json, "mean", n_present > 0 ? sum / n_present : NAN);
	json_key(json, "bin_edges");
	json_numbers(json, edges, n_edges);
	json_key(json, "bin_shares");
	json_begin_array(json);
	for (int b = 0; b < n_edges - 1; b++)
		json_number(json, n_rows > 0 ? (double) counts[b] / n_rows : 0.0);
	json_end_array(json);
	pfree(sample);
}

typedef struct LevelShare
{
	int			code;
	int64		count;
} LevelShare;

/* Most frequent first, ties by the level's text; arg is the column's dictionary. */
static int
compare_level_shares(const void *a, const void *b, void *arg)
{
	const LevelShare *x = a;
	const LevelShare *y = b;
	const CategoryDict *dict = arg;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(dict->values[x->code], dict->values[y->code]);
}

static void
profile_categorical(JsonBuilder *json, const FrameColumn *col, int64 n_rows)
{
	int			n_codes = col->dict->n_values;
	LevelShare *levels = palloc0(sizeof(LevelShare) * Max(n_codes, 1));
	int64		distinct = 0,
				top_rows = 0;
	int			n_top;

	for (int k = 0; k < n_codes; k++)
		levels[k].code = k;
	for (int64 i = 0; i < n_rows; i++)
	{
		if (col->codes[i] >= 0)
			levels[col->codes[i]].count++;
	}
	for (int k = 0; k < n_codes; k++)
		distinct += levels[k].count > 0;
	qsort_arg(levels, n_codes, sizeof(LevelShare), compare_level_shares, (void *) col->dict);
	n_top = (int) Min(distinct, PROFILE_TOP_LEVELS);

	json_key_number(json, "missing_share", n_rows > 0 ? (double) col->n_missing / n_rows : 0.0);
	json_key_int(json, "distinct", distinct);
	json_key_bool(json, "distinct_exact", true);
	json_key(json, "levels");
	json_begin_array(json);
	for (int k = 0; k < n_top; k++)
	{
		json_begin_object(json);
		json_key_string(json, "level", col->dict->values[levels[k].code]);
		json_key_number(json, "share", (double) levels[k].count / n_rows);
		json_end_object(json);
		top_rows += levels[k].count;
	}
	json_end_array(json);
	json_key_number(json, "other_share",
					n_rows > 0 ? (double) (n_rows - top_rows - col->n_missing) / n_rows : 0.0);
	pfree(levels);
}

void
prep_profile_write(const PrepSpec *spec, const Frame *frame, JsonBuilder *json)
{
	static const char *const kind_names[] = {"numeric", "categorical", "datetime"};

	json_key_int(json, "rows", frame->n_rows);
	json_key_int(json, "rows_in_relation", frame->n_rows_seen);
	json_key(json, "columns");
	json_begin_array(json);
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];
		const FrameColumn *col = &frame->columns[pc->frame_column];

		CHECK_FOR_INTERRUPTS();
		json_begin_object(json);
		json_key_string(json, "name", col->name);
		json_key_string(json, "kind", kind_names[col->kind]);
		if (col->kind == FEATURE_CATEGORICAL)
			profile_categorical(json, col, frame->n_rows);
		else
			profile_numeric(json, col->values, frame->n_rows, col->n_missing);
		json_end_object(json);
	}
	json_end_array(json);
}

void
prep_profile_values_write(const double *values, int64 n, JsonBuilder *json)
{
	int64		n_missing = 0;

	for (int64 i = 0; i < n; i++)
		n_missing += isnan(values[i]);
	json_begin_object(json);
	json_key_string(json, "kind", "numeric");
	profile_numeric(json, values, n, n_missing);
	json_end_object(json);
}
