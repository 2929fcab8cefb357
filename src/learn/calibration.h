/*
 * calibration.h: maps of class probabilities, fitted on out-of-fold
 * predictions and applied by the model after its learner (calibration.c).
 * Which map, if any, a model gets is the search's choice (search.h).
 */
#ifndef AUTOML_CALIBRATION_H
#define AUTOML_CALIBRATION_H

#include "postgres.h"
#include "common/bytes.h"

typedef enum CalibrationMethod
{
	CALIBRATION_NONE = 0,
	CALIBRATION_PLATT = 1,		/* p' = sigmoid(a * logit(p) + b) */
	CALIBRATION_ISOTONIC = 2	/* p' = a monotone piecewise-linear map of p */
} CalibrationMethod;

#define CALIBRATION_METHODS 3

/*
 * One map per calibrated probability: the positive class's for two classes,
 * each class's against the rest for more (then renormalised to sum 1, as
 * scikit-learn's CalibratedClassifierCV does).
 */
typedef struct CalibrationMap
{
	double		a;				/* Platt */
	double		b;
	int			n_points;		/* isotonic: increasing x, non-decreasing y */
	double	   *x;
	double	   *y;
} CalibrationMap;

typedef struct Calibrator
{
	CalibrationMethod method;
	int			n_classes;
	int			n_maps;			/* 1 for two classes, else n_classes */
	CalibrationMap *maps;
} Calibrator;

/*
 * A calibrator of method fitted on the given rows of predictions (n_classes
 * probabilities per row) with their labels.
 */
extern Calibrator *calibration_fit(CalibrationMethod method, const int64 *rows, int64 n_rows,
								   const double *pred, const int *label, int n_classes);

/* Calibrates one row's n_classes probabilities in place; cal NULL: leaves them. */
extern void calibration_apply(const Calibrator *cal, double *probabilities);

extern const char *calibration_method_name(CalibrationMethod method);

/* True when name is auto or a method. */
extern bool calibration_request_valid(const char *name);

extern void calibration_save(const Calibrator *cal, ByteWriter *w);

/* Reads what calibration_save wrote (NULL for none); ereports on anything inconsistent. */
extern Calibrator *calibration_load(ByteReader *r, int n_classes);

#endif							/* AUTOML_CALIBRATION_H */
