/*
 * prep.h: the feature spec, learned from training rows and replayed
 * identically at prediction. This release: numeric features with mean
 * imputation of missing values and standardisation (x - mean) / scale.
 */
#ifndef AUTOML_PREP_H
#define AUTOML_PREP_H

#include "postgres.h"
#include "common/bytes.h"
#include "data/frame.h"

typedef struct PrepFeature
{
	char	   *name;
	FeatureKind kind;
	int			frame_column;	/* index in the training Frame; -1 once loaded */
	double		mean;			/* of the non-missing training values; imputes missing */
	double		scale;			/* population standard deviation; 1 when it is 0 */
} PrepFeature;

typedef struct PrepSpec
{
	int			n_features;
	PrepFeature *features;
} PrepSpec;

/*
 * Chooses the features of a frame: columns with no value at all, or a single
 * value, are dropped with a NOTICE. Errors when nothing is left.
 */
extern PrepSpec *prep_choose_features(const Frame *frame);

/* Learns means and scales from the given rows (indices into the frame). */
extern void prep_fit(PrepSpec *spec, const Frame *frame, const int64 *rows, int64 n_rows);

/* Writes the given rows, prepared, into X (row-major, n_rows x n_features). */
extern void prep_apply_frame(const PrepSpec *spec, const Frame *frame,
							 const int64 *rows, int64 n_rows, double *X);

/* Prepares one row of raw values (NaN = missing), in feature order. */
static inline void
prep_apply_values(const PrepSpec *spec, const double *raw, double *x)
{
	for (int j = 0; j < spec->n_features; j++)
	{
		const PrepFeature *f = &spec->features[j];
		double		v = raw[j];

		x[j] = (v != v) ? 0.0 : (v - f->mean) / f->scale;	/* v != v: NaN */
	}
}

extern PrepSpec *prep_copy(const PrepSpec *spec);
extern void prep_save(const PrepSpec *spec, ByteWriter *w);
extern PrepSpec *prep_load(ByteReader *r);

#endif							/* AUTOML_PREP_H */
