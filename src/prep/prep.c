/*
 * prep.c: learning encodings, imputation and scaling from training rows,
 * applying them to any row, and their stored form (choosing the columns is
 * choose.c's).
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "datatype/timestamp.h"
#include "miscadmin.h"
#include "prep/prep.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

/* The largest numbers a stored spec may declare. */
#define PREP_MAX_COLUMNS 100000
#define PREP_MAX_STORED_LEVELS 1000000


static const char *const part_suffix[] = {"", ":year", ":month", ":day_of_week", ":hour"};

/* ---- calendar parts of Unix seconds (proleptic Gregorian, UTC) ---- */

static double
date_part(double seconds, PrepPart part)
{
	double		days = floor(seconds / 86400.0);

	switch (part)
	{
		case PART_VALUE:
			return seconds / 86400.0;
		case PART_HOUR:
			return floor((seconds - days * 86400.0) / 3600.0);
		case PART_DAY_OF_WEEK:
			return fmod(fmod(days + 4.0, 7.0) + 7.0, 7.0);	/* 1970-01-01 was a Thursday */
		case PART_YEAR:
		case PART_MONTH:
			{
				int			year,
							month,
							day;

				/* PostgreSQL's calendar, on the Julian day of the date */
				if (!(days > -UNIX_EPOCH_JDATE && days < INT_MAX - UNIX_EPOCH_JDATE))
					return NAN;
				j2date((int) days + UNIX_EPOCH_JDATE, &year, &month, &day);
				return part == PART_MONTH ? month : year;
			}
	}
	return 0.0;
}

/* ---- fitting ---- */

typedef struct LevelCount
{
	int			code;			/* frame dictionary code */
	int64		count;
	const char *value;
} LevelCount;

static int
compare_level_counts(const void *a, const void *b)
{
	const LevelCount *x = a;
	const LevelCount *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->value, y->value);
}

static void
build_level_index(PrepColumn *pc)
{
	pc->level_index = category_dict_create(CurrentMemoryContext, 0);
	for (int k = 0; k < pc->n_levels; k++)
	{
		if (category_dict_code(pc->level_index, pc->levels[k], (int) strlen(pc->levels[k])) != k)
			elog(ERROR, "duplicate level in a categorical column");
	}
}

static void
fit_categorical(PrepColumn *pc, const FrameColumn *col, const int64 *rows, int64 n_rows, bool for_trees)
{
	int			max_levels = for_trees ? PREP_MAX_TREE_LEVELS : PREP_MAX_LEVELS;
	int			n_codes = col->dict->n_values;
	LevelCount *counts = palloc0(sizeof(LevelCount) * Max(n_codes, 1));
	int64		n_missing = 0;
	int64		n_kept_rows = 0;
	int			n_kept = 0;

	for (int k = 0; k < n_codes; k++)
	{
		counts[k].code = k;
		counts[k].value = col->dict->values[k];
	}
	for (int64 i = 0; i < n_rows; i++)
	{
		int			code = col->codes[rows[i]];

		if (code < 0)
			n_missing++;
		else
			counts[code].count++;
	}
	qsort(counts, n_codes, sizeof(LevelCount), compare_level_counts);
	while (n_kept < n_codes && n_kept < max_levels &&
		   counts[n_kept].count >= PREP_MIN_LEVEL_ROWS)
		n_kept++;

	pc->n_levels = n_kept;
	pc->levels = palloc(sizeof(char *) * Max(n_kept, 1));
	pc->level_share = palloc(sizeof(double) * Max(n_kept, 1));
	pc->frame_level = palloc(sizeof(int) * Max(n_codes, 1));
	for (int k = 0; k < n_codes; k++)
		pc->frame_level[k] = PREP_LEVEL_OTHER;
	for (int k = 0; k < n_kept; k++)
	{
		pc->levels[k] = pstrdup(counts[k].value);
		pc->level_share[k] = (double) counts[k].count / n_rows;
		pc->frame_level[counts[k].code] = k;
		n_kept_rows += counts[k].count;
	}
	pc->missing_share = (double) n_missing / n_rows;
	pc->other_share = (double) (n_rows - n_kept_rows - n_missing) / n_rows;
	if (for_trees)
		pc->encoding = ENCODE_LEVEL;
	else
		pc->encoding = n_kept <= PREP_MAX_ONE_HOT ? ENCODE_ONE_HOT : ENCODE_FREQUENCY;
	pc->missing_output = (pc->encoding == ENCODE_ONE_HOT && n_missing > 0);
	build_level_index(pc);
	pfree(counts);

	pc->frequency_mean = 0.0;
	pc->frequency_scale = 1.0;
	if (pc->encoding == ENCODE_FREQUENCY)
	{
		double		sum = 0.0,
					sum_sq = 0.0;

		for (int64 i = 0; i < n_rows; i++)
		{
			int			code = col->codes[rows[i]];
			double		v = code < 0 ? pc->missing_share :
				pc->frame_level[code] < 0 ? pc->other_share : pc->level_share[pc->frame_level[code]];

			sum += v;
		}
		pc->frequency_mean = sum / n_rows;
		for (int64 i = 0; i < n_rows; i++)
		{
			int			code = col->codes[rows[i]];
			double		v = code < 0 ? pc->missing_share :
				pc->frame_level[code] < 0 ? pc->other_share : pc->level_share[pc->frame_level[code]];

			sum_sq += (v - pc->frequency_mean) * (v - pc->frequency_mean);
		}
		pc->frequency_scale = sqrt(sum_sq / n_rows);
		if (!(pc->frequency_scale > 1e-12))
			pc->frequency_scale = 1.0;
	}
}

/* Mean and population standard deviation of one part over the non-missing rows. */
static void
fit_part(PrepColumn *pc, int p, const double *values, const int64 *rows, int64 n_rows)
{
	double		sum = 0.0,
				sum_sq = 0.0;
	int64		n = 0;
	double		mean;
	double		scale;

	for (int64 i = 0; i < n_rows; i++)
	{
		double		v = values[rows[i]];

		if (isnan(v))
			continue;
		if (pc->kind == FEATURE_DATETIME)
			v = date_part(v, pc->parts[p]);
		sum += v;
		n++;
	}
	mean = n > 0 ? sum / n : 0.0;
	/* Two passes: the centred sum of squares keeps precision for large values. */
	for (int64 i = 0; i < n_rows; i++)
	{
		double		v = values[rows[i]];

		if (isnan(v))
			continue;
		if (pc->kind == FEATURE_DATETIME)
			v = date_part(v, pc->parts[p]);
		sum_sq += (v - mean) * (v - mean);
	}
	scale = n > 0 ? sqrt(sum_sq / n) : 0.0;
	if (!(scale > 1e-12 * Max(1.0, fabs(mean))) || !isfinite(scale))
		scale = 1.0;
	pc->mean[p] = mean;
	pc->scale[p] = scale;
}

/* Does this calendar part take more than one value over the rows? */
static bool
part_varies(const double *values, const int64 *rows, int64 n_rows, PrepPart part)
{
	bool		seen = false;
	double		first = 0.0;

	for (int64 i = 0; i < n_rows; i++)
	{
		double		v = values[rows[i]];

		if (isnan(v))
			continue;
		v = date_part(v, part);
		if (!seen)
		{
			first = v;
			seen = true;
		}
		else if (v != first)
			return true;
	}
	return false;
}

static void
name_outputs(PrepSpec *spec)
{
	int			o = 0;

	spec->n_outputs = 0;
	for (int c = 0; c < spec->n_columns; c++)
	{
		PrepColumn *pc = &spec->columns[c];

		pc->first_output = spec->n_outputs;
		if (pc->kind == FEATURE_CATEGORICAL)
			pc->n_outputs = pc->encoding == ENCODE_ONE_HOT ?
				pc->n_levels + 1 + (pc->missing_output ? 1 : 0) : 1;
		else
			pc->n_outputs = pc->n_parts + (pc->missing_indicator ? 1 : 0);
		spec->n_outputs += pc->n_outputs;
	}
	spec->output_names = palloc(sizeof(char *) * Max(spec->n_outputs, 1));
	for (int c = 0; c < spec->n_columns; c++)
	{
		PrepColumn *pc = &spec->columns[c];

		if (pc->kind == FEATURE_CATEGORICAL && pc->encoding == ENCODE_ONE_HOT)
		{
			for (int k = 0; k < pc->n_levels; k++)
				spec->output_names[o++] = psprintf("%s=%s", pc->name, pc->levels[k]);
			spec->output_names[o++] = psprintf("%s=(other)", pc->name);
			if (pc->missing_output)
				spec->output_names[o++] = psprintf("%s=(missing)", pc->name);
		}
		else if (pc->kind == FEATURE_CATEGORICAL && pc->encoding == ENCODE_LEVEL)
			spec->output_names[o++] = pstrdup(pc->name);
		else if (pc->kind == FEATURE_CATEGORICAL)
			spec->output_names[o++] = psprintf("%s (frequency)", pc->name);
		else
		{
			for (int p = 0; p < pc->n_parts; p++)
				spec->output_names[o++] = psprintf("%s%s", pc->name, part_suffix[pc->parts[p]]);
			if (pc->missing_indicator)
				spec->output_names[o++] = psprintf("%s (missing)", pc->name);
		}
	}
}

void
prep_fit(PrepSpec *spec, const Frame *frame, const int64 *rows, int64 n_rows)
{
	for (int c = 0; c < spec->n_columns; c++)
	{
		PrepColumn *pc = &spec->columns[c];
		const FrameColumn *col = &frame->columns[pc->frame_column];

		CHECK_FOR_INTERRUPTS();
		if (pc->kind == FEATURE_CATEGORICAL)
		{
			fit_categorical(pc, col, rows, n_rows, spec->for_trees);
			continue;
		}
		pc->encoding = ENCODE_NUMBER;
		pc->n_parts = 0;
		pc->parts[pc->n_parts++] = PART_VALUE;
		if (pc->kind == FEATURE_DATETIME)
		{
			for (int part = PART_YEAR; part <= PART_HOUR; part++)
			{
				if (part_varies(col->values, rows, n_rows, (PrepPart) part))
					pc->parts[pc->n_parts++] = (uint8) part;
			}
		}
		pc->missing_indicator = false;
		if (spec->for_trees)
		{
			/* trees take the values as they are, and NaN for missing */
			for (int p = 0; p < pc->n_parts; p++)
			{
				pc->mean[p] = 0.0;
				pc->scale[p] = 1.0;
			}
			continue;
		}
		for (int p = 0; p < pc->n_parts; p++)
			fit_part(pc, p, col->values, rows, n_rows);
		for (int64 i = 0; i < n_rows && !pc->missing_indicator; i++)
			pc->missing_indicator = isnan(col->values[rows[i]]);
	}
	name_outputs(spec);
}

/* ---- applying ---- */

int
prep_level_of(const PrepColumn *col, const char *s, int len)
{
	int			level = category_dict_find(col->level_index, s, len);

	return level < 0 ? PREP_LEVEL_OTHER : level;
}

void
prep_raw_from_frame(const PrepSpec *spec, const Frame *frame, int64 row, RawValue *raw)
{
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];
		const FrameColumn *col = &frame->columns[pc->frame_column];

		if (pc->kind == FEATURE_CATEGORICAL)
		{
			int			code = col->codes[row];

			raw[c].isnull = code < 0;
			raw[c].level = code < 0 ? PREP_LEVEL_OTHER : pc->frame_level[code];
		}
		else
		{
			raw[c].number = col->values[row];
			raw[c].isnull = isnan(raw[c].number);
		}
	}
}

bool
prep_bind(const PrepSpec *spec, const Frame *frame, int *binding, const char **missing)
{
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];

		binding[c] = -1;
		for (int f = 0; f < frame->n_columns && binding[c] < 0; f++)
		{
			if (strcmp(frame->columns[f].name, pc->name) == 0 && frame->columns[f].kind == pc->kind)
				binding[c] = f;
		}
		if (binding[c] < 0)
		{
			*missing = pc->name;
			return false;
		}
	}
	return true;
}

void
prep_raw_from_bound_frame(const PrepSpec *spec, const Frame *frame,
						  const int *binding, int64 row, RawValue *raw)
{
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];
		const FrameColumn *col = &frame->columns[binding[c]];

		if (pc->kind == FEATURE_CATEGORICAL)
		{
			int			code = col->codes[row];

			raw[c].isnull = code < 0;
			if (code >= 0)
			{
				const char *s = col->dict->values[code];

				raw[c].level = prep_level_of(pc, s, (int) strlen(s));
			}
		}
		else
		{
			raw[c].number = col->values[row];
			raw[c].isnull = isnan(raw[c].number);
		}
	}
}

int
prep_output_categories(const PrepSpec *spec, int o)
{
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];

		if (o >= pc->first_output && o < pc->first_output + pc->n_outputs)
			return pc->encoding == ENCODE_LEVEL ? pc->n_levels + 1 : 0;
	}
	return 0;
}

void
prep_apply(const PrepSpec *spec, const RawValue *raw, double *x)
{
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];
		double	   *out = x + pc->first_output;

		if (pc->kind == FEATURE_CATEGORICAL)
		{
			if (pc->encoding == ENCODE_LEVEL)
				out[0] = raw[c].isnull ? NAN :
					(raw[c].level < 0 || raw[c].level >= pc->n_levels) ? pc->n_levels : raw[c].level;
			else if (pc->encoding == ENCODE_ONE_HOT)
			{
				memset(out, 0, sizeof(double) * pc->n_outputs);
				if (raw[c].isnull && pc->missing_output)
					out[pc->n_levels + 1] = 1.0;
				else if (raw[c].isnull || raw[c].level < 0 || raw[c].level >= pc->n_levels)
					out[pc->n_levels] = 1.0;	/* (other) */
				else
					out[raw[c].level] = 1.0;
			}
			else
			{
				double		share = raw[c].isnull ? pc->missing_share :
					(raw[c].level < 0 || raw[c].level >= pc->n_levels) ? pc->other_share :
					pc->level_share[raw[c].level];

				out[0] = (share - pc->frequency_mean) / pc->frequency_scale;
			}
			continue;
		}
		for (int p = 0; p < pc->n_parts; p++)
		{
			if (raw[c].isnull)
				out[p] = spec->for_trees ? NAN : 0.0;	/* 0: the mean, standardised */
			else
			{
				double		v = pc->kind == FEATURE_DATETIME ?
					date_part(raw[c].number, pc->parts[p]) : raw[c].number;

				out[p] = (v - pc->mean[p]) / pc->scale[p];
			}
		}
		if (pc->missing_indicator)
			out[pc->n_parts] = raw[c].isnull ? 1.0 : 0.0;
	}
}

void
prep_apply_frame(const PrepSpec *spec, const Frame *frame,
				 const int64 *rows, int64 n_rows, double *X)
{
	RawValue   *raw = palloc(sizeof(RawValue) * spec->n_columns);

	for (int64 i = 0; i < n_rows; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		prep_raw_from_frame(spec, frame, rows[i], raw);
		prep_apply(spec, raw, X + i * spec->n_outputs);
	}
	pfree(raw);
}

/* ---- stored form ---- */

void
prep_save(const PrepSpec *spec, ByteWriter *w)
{
	bytes_put_u8(w, spec->for_trees ? 1 : 0);
	bytes_put_u32(w, (uint32) spec->n_columns);
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];

		bytes_put_string(w, pc->name);
		bytes_put_u8(w, (uint8) pc->kind);
		bytes_put_u8(w, (uint8) pc->encoding);
		if (pc->kind == FEATURE_CATEGORICAL)
		{
			bytes_put_u32(w, (uint32) pc->n_levels);
			for (int k = 0; k < pc->n_levels; k++)
			{
				bytes_put_string(w, pc->levels[k]);
				bytes_put_f64(w, pc->level_share[k]);
			}
			bytes_put_f64(w, pc->other_share);
			bytes_put_f64(w, pc->missing_share);
			bytes_put_u8(w, pc->missing_output ? 1 : 0);
			bytes_put_f64(w, pc->frequency_mean);
			bytes_put_f64(w, pc->frequency_scale);
		}
		else
		{
			bytes_put_u8(w, (uint8) pc->n_parts);
			for (int p = 0; p < pc->n_parts; p++)
			{
				bytes_put_u8(w, pc->parts[p]);
				bytes_put_f64(w, pc->mean[p]);
				bytes_put_f64(w, pc->scale[p]);
			}
			bytes_put_u8(w, pc->missing_indicator ? 1 : 0);
		}
	}
}

static double
get_share(ByteReader *r)
{
	double		v = bytes_get_finite_f64(r);

	if (v < 0.0 || v > 1.0)
		bytes_corrupted(r, "a share is outside 0 to 1");
	return v;
}

PrepSpec *
prep_load(ByteReader *r)
{
	PrepSpec   *spec = palloc0(sizeof(PrepSpec));

	spec->for_trees = bytes_get_flag(r);
	/* each column takes at least a 4-byte name length and three bytes */
	spec->n_columns = (int) bytes_get_count(r, 4 + 3, PREP_MAX_COLUMNS);
	if (spec->n_columns == 0)
		bytes_corrupted(r, "the model has no features");
	spec->columns = palloc0(sizeof(PrepColumn) * spec->n_columns);
	for (int c = 0; c < spec->n_columns; c++)
	{
		PrepColumn *pc = &spec->columns[c];
		uint8		kind;
		uint8		encoding;

		pc->name = bytes_get_string(r);
		kind = bytes_get_u8(r);
		encoding = bytes_get_u8(r);
		pc->frame_column = -1;
		if (kind == FEATURE_CATEGORICAL)
		{
			if (spec->for_trees ? encoding != ENCODE_LEVEL :
				(encoding != ENCODE_ONE_HOT && encoding != ENCODE_FREQUENCY))
				bytes_corrupted(r, "unknown categorical encoding");
			pc->kind = FEATURE_CATEGORICAL;
			pc->encoding = (Encoding) encoding;
			/* each level: a 4-byte length and a share */
			pc->n_levels = (int) bytes_get_count(r, 4 + 8, PREP_MAX_STORED_LEVELS);
			if ((pc->encoding == ENCODE_ONE_HOT && pc->n_levels > PREP_MAX_ONE_HOT) ||
				(pc->encoding == ENCODE_LEVEL && pc->n_levels > PREP_MAX_TREE_LEVELS))
				bytes_corrupted(r, "too many levels");
			pc->levels = palloc(sizeof(char *) * Max(pc->n_levels, 1));
			pc->level_share = palloc(sizeof(double) * Max(pc->n_levels, 1));
			for (int k = 0; k < pc->n_levels; k++)
			{
				pc->levels[k] = bytes_get_string(r);
				pc->level_share[k] = get_share(r);
			}
			pc->other_share = get_share(r);
			pc->missing_share = get_share(r);
			pc->missing_output = bytes_get_flag(r);
			if (pc->missing_output && pc->encoding != ENCODE_ONE_HOT)
				bytes_corrupted(r, "a missing output without one-hot encoding");
			pc->frequency_mean = bytes_get_finite_f64(r);
			pc->frequency_scale = bytes_get_finite_f64(r);
			if (!(pc->frequency_scale > 0.0))
				bytes_corrupted(r, "a frequency scale is not positive");
			pc->level_index = category_dict_create(CurrentMemoryContext, 0);
			for (int k = 0; k < pc->n_levels; k++)
			{
				if (category_dict_code(pc->level_index, pc->levels[k],
									   (int) strlen(pc->levels[k])) != k)
					bytes_corrupted(r, "a level is stored twice");
			}
		}
		else if (kind == FEATURE_NUMERIC || kind == FEATURE_DATETIME)
		{
			if (encoding != ENCODE_NUMBER)
				bytes_corrupted(r, "unknown numeric encoding");
			pc->kind = (FeatureKind) kind;
			pc->encoding = ENCODE_NUMBER;
			pc->n_parts = bytes_get_u8(r);
			if (pc->n_parts < 1 || pc->n_parts > PREP_MAX_PARTS ||
				(kind == FEATURE_NUMERIC && pc->n_parts != 1))
				bytes_corrupted(r, "a column has an invalid number of parts");
			for (int p = 0; p < pc->n_parts; p++)
			{
				pc->parts[p] = bytes_get_u8(r);
				if (pc->parts[p] > PART_HOUR || (kind == FEATURE_NUMERIC && pc->parts[p] != PART_VALUE))
					bytes_corrupted(r, "unknown column part");
				pc->mean[p] = bytes_get_finite_f64(r);
				pc->scale[p] = bytes_get_finite_f64(r);
				if (!(pc->scale[p] > 0.0))
					bytes_corrupted(r, "a feature scale is not positive");
			}
			pc->missing_indicator = bytes_get_flag(r);
			if (spec->for_trees && pc->missing_indicator)
				bytes_corrupted(r, "a missing indicator in a tree model");
		}
		else
			bytes_corrupted(r, "unknown feature kind");
	}
	name_outputs(spec);
	return spec;
}
