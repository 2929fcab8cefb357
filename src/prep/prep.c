/*
 * prep.c: choosing features, learning imputation and scaling, applying them.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "prep/prep.h"

/* The largest number of features a stored model may declare. */
#define PREP_MAX_FEATURES 100000

PrepSpec *
prep_choose_features(const Frame *frame)
{
	PrepSpec   *spec = palloc0(sizeof(PrepSpec));

	spec->features = palloc0(sizeof(PrepFeature) * Max(frame->n_columns, 1));
	for (int c = 0; c < frame->n_columns; c++)
	{
		const FrameColumn *col = &frame->columns[c];
		bool		seen = false;
		bool		varies = false;
		double		first = 0.0;

		for (int64 i = 0; i < frame->n_rows && !varies; i++)
		{
			double		v = col->values[i];

			if (isnan(v))
				continue;
			if (!seen)
			{
				first = v;
				seen = true;
			}
			else if (v != first)
				varies = true;
		}
		if (!seen)
		{
			ereport(NOTICE,
					(errmsg("column \"%s\" has no values and is ignored", col->name)));
			continue;
		}
		if (!varies)
		{
			ereport(NOTICE,
					(errmsg("column \"%s\" has a single value and is ignored", col->name)));
			continue;
		}
		spec->features[spec->n_features].name = col->name;
		spec->features[spec->n_features].kind = col->kind;
		spec->features[spec->n_features].frame_column = c;
		spec->n_features++;
	}
	if (spec->n_features == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has no feature column with varying values",
						frame->relation_name)));
	return spec;
}

void
prep_fit(PrepSpec *spec, const Frame *frame, const int64 *rows, int64 n_rows)
{
	for (int j = 0; j < spec->n_features; j++)
	{
		PrepFeature *f = &spec->features[j];
		const double *values = frame->columns[f->frame_column].values;
		double		sum = 0.0;
		double		sum_sq = 0.0;
		int64		n = 0;
		double		mean;

		CHECK_FOR_INTERRUPTS();
		for (int64 i = 0; i < n_rows; i++)
		{
			double		v = values[rows[i]];

			if (!isnan(v))
			{
				sum += v;
				n++;
			}
		}
		mean = n > 0 ? sum / n : 0.0;
		/* Two passes: the centred sum of squares keeps precision for large values. */
		for (int64 i = 0; i < n_rows; i++)
		{
			double		v = values[rows[i]];

			if (!isnan(v))
				sum_sq += (v - mean) * (v - mean);
		}
		f->mean = mean;
		f->scale = n > 0 ? sqrt(sum_sq / n) : 0.0;
		if (!(f->scale > 1e-12 * Max(1.0, fabs(mean))) || !isfinite(f->scale))
			f->scale = 1.0;
	}
}

void
prep_apply_frame(const PrepSpec *spec, const Frame *frame,
				 const int64 *rows, int64 n_rows, double *X)
{
	int			d = spec->n_features;
	double	   *raw = palloc(sizeof(double) * d);

	for (int64 i = 0; i < n_rows; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < d; j++)
			raw[j] = frame->columns[spec->features[j].frame_column].values[rows[i]];
		prep_apply_values(spec, raw, X + i * d);
	}
	pfree(raw);
}

PrepSpec *
prep_copy(const PrepSpec *spec)
{
	PrepSpec   *copy = palloc(sizeof(PrepSpec));

	copy->n_features = spec->n_features;
	copy->features = palloc(sizeof(PrepFeature) * Max(spec->n_features, 1));
	memcpy(copy->features, spec->features, sizeof(PrepFeature) * spec->n_features);
	return copy;
}

void
prep_save(const PrepSpec *spec, ByteWriter *w)
{
	bytes_put_u32(w, (uint32) spec->n_features);
	for (int j = 0; j < spec->n_features; j++)
	{
		const PrepFeature *f = &spec->features[j];

		bytes_put_string(w, f->name);
		bytes_put_u8(w, (uint8) f->kind);
		bytes_put_f64(w, f->mean);
		bytes_put_f64(w, f->scale);
	}
}

PrepSpec *
prep_load(ByteReader *r)
{
	PrepSpec   *spec = palloc0(sizeof(PrepSpec));

	/* each feature takes at least a 4-byte name length, a kind and two doubles */
	spec->n_features = (int) bytes_get_count(r, 4 + 1 + 16, PREP_MAX_FEATURES);
	if (spec->n_features == 0)
		bytes_corrupted(r, "the model has no features");
	spec->features = palloc0(sizeof(PrepFeature) * spec->n_features);
	for (int j = 0; j < spec->n_features; j++)
	{
		PrepFeature *f = &spec->features[j];

		f->name = bytes_get_string(r);
		f->kind = (FeatureKind) bytes_get_u8(r);
		if (f->kind != FEATURE_NUMERIC)
			bytes_corrupted(r, "unknown feature kind");
		f->frame_column = -1;
		f->mean = bytes_get_finite_f64(r);
		f->scale = bytes_get_finite_f64(r);
		if (!(f->scale > 0.0))
			bytes_corrupted(r, "a feature scale is not positive");
	}
	return spec;
}
