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
#include "utils/json.h"

#define PROFILE_BINS 10
#define PROFILE_SAMPLE 50000
#define PROFILE_TOP_LEVELS 20


static void
append_number(StringInfo json, double v)
{
	if (isfinite(v))
		appendStringInfo(json, "%.17g", v);
	else
		appendStringInfoString(json, "null");
}

static void
profile_numeric(StringInfo json, const double *values, int64 n_rows, int64 n_missing)
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

	appendStringInfo(json, ", \"missing_share\": %.17g", n_rows > 0 ? (double) n_missing / n_rows : 0.0);
	appendStringInfo(json, ", \"distinct\": " INT64_FORMAT ", \"distinct_exact\": %s",
					 distinct, stride == 1 ? "true" : "false");
	appendStringInfoString(json, ", \"min\": ");
	append_number(json, min);
	appendStringInfoString(json, ", \"max\": ");
	append_number(json, max);
	appendStringInfoString(json, ", \"mean\": ");
	append_number(json, n_present > 0 ? sum / n_present : NAN);
	appendStringInfoString(json, ", \"bin_edges\": [");
	for (int e = 0; e < n_edges; e++)
	{
		if (e > 0)
			appendStringInfoString(json, ", ");
		append_number(json, edges[e]);
	}
	appendStringInfoString(json, "], \"bin_shares\": [");
	for (int b = 0; b < n_edges - 1; b++)
		appendStringInfo(json, "%s%.17g", b > 0 ? ", " : "", n_rows > 0 ? (double) counts[b] / n_rows : 0.0);
	appendStringInfoChar(json, ']');
	pfree(sample);
}

typedef struct LevelShare
{
	int			code;
	int64		count;
} LevelShare;

static const CategoryDict *sort_dict;

static int
compare_level_shares(const void *a, const void *b)
{
	const LevelShare *x = a;
	const LevelShare *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(sort_dict->values[x->code], sort_dict->values[y->code]);
}

static void
profile_categorical(StringInfo json, const FrameColumn *col, int64 n_rows)
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
	sort_dict = col->dict;
	qsort(levels, n_codes, sizeof(LevelShare), compare_level_shares);
	n_top = (int) Min(distinct, PROFILE_TOP_LEVELS);

	appendStringInfo(json, ", \"missing_share\": %.17g", n_rows > 0 ? (double) col->n_missing / n_rows : 0.0);
	appendStringInfo(json, ", \"distinct\": " INT64_FORMAT ", \"distinct_exact\": true, \"levels\": [", distinct);
	for (int k = 0; k < n_top; k++)
	{
		appendStringInfoString(json, k > 0 ? ", {\"level\": " : "{\"level\": ");
		escape_json(json, col->dict->values[levels[k].code]);
		appendStringInfo(json, ", \"share\": %.17g}", (double) levels[k].count / n_rows);
		top_rows += levels[k].count;
	}
	appendStringInfo(json, "], \"other_share\": %.17g",
					 n_rows > 0 ? (double) (n_rows - top_rows - col->n_missing) / n_rows : 0.0);
	pfree(levels);
}

char *
prep_profile_json(const PrepSpec *spec, const Frame *frame)
{
	StringInfoData json;
	static const char *const kind_names[] = {"numeric", "categorical", "datetime"};

	initStringInfo(&json);
	appendStringInfo(&json, "{\"rows\": " INT64_FORMAT ", \"rows_in_relation\": " INT64_FORMAT
					 ", \"columns\": [", frame->n_rows, frame->n_rows_seen);
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];
		const FrameColumn *col = &frame->columns[pc->frame_column];

		CHECK_FOR_INTERRUPTS();
		appendStringInfoString(&json, c > 0 ? ", {\"name\": " : "{\"name\": ");
		escape_json(&json, col->name);
		appendStringInfo(&json, ", \"kind\": \"%s\"", kind_names[col->kind]);
		if (col->kind == FEATURE_CATEGORICAL)
			profile_categorical(&json, col, frame->n_rows);
		else
			profile_numeric(&json, col->values, frame->n_rows, col->n_missing);
		appendStringInfoChar(&json, '}');
	}
	appendStringInfoString(&json, "]}");
	return json.data;
}

char *
prep_profile_values_json(const double *values, int64 n)
{
	StringInfoData json;
	int64		n_missing = 0;

	for (int64 i = 0; i < n; i++)
		n_missing += isnan(values[i]);
	initStringInfo(&json);
	appendStringInfoString(&json, "{\"kind\": \"numeric\"");
	profile_numeric(&json, values, n, n_missing);
	appendStringInfoChar(&json, '}');
	return json.data;
}
