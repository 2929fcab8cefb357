/*
 * calibrate.c: whether the chosen model's probabilities are calibrated, and how.
 *
 * None, Platt and isotonic are compared by 5-fold cross-validated log loss on
 * the search's out-of-fold predictions, so the choice is made on rows the
 * model did not see; the winner is fitted on all of them.
 */
#include "postgres.h"

#include <math.h>

#include "common/json.h"
#include "learn/calibration.h"
#include "learn/metrics.h"
#include "search/search.h"

#define CALIBRATION_FOLDS 5
#define CALIBRATION_MIN_ROWS 50		/* fewer out-of-fold rows: not calibrated */
#define CALIBRATION_MIN_GAIN 1e-3	/* relative log-loss gain a calibrator must bring */

/* Log loss of predictions (n rows of n_classes) against their labels. */
static double
log_loss(int64 n, double *pred, const int *label, int n_classes)
{
	Predictions p = {n, n_classes, pred, NULL, (int *) label};

	return metric_value(METRIC_LOG_LOSS, &p);
}

/*
 * Cross-fitted predictions: each fold's rows calibrated by a calibrator of
 * method fitted on the other folds.
 */
static double *
cross_fit(CalibrationMethod method, const Validation *folds, int64 n, const double *pred,
		  const int *label, int n_classes)
{
	double	   *out = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n * n_classes);

	for (int f = 0; f < folds->n_folds; f++)
	{
		const Split *s = &folds->folds[f];
		Calibrator *cal = calibration_fit(method, s->train, s->n_train, pred, label, n_classes);

		for (int64 i = 0; i < s->n_valid; i++)
		{
			double	   *row = out + s->valid[i] * n_classes;

			memcpy(row, pred + s->valid[i] * n_classes, sizeof(double) * n_classes);
			calibration_apply(cal, row);
		}
	}
	return out;
}

CalibrationChoice
calibration_choose(const char *requested, int64 n, const double *pred, const int *label,
				   int n_classes, uint64 seed)
{
	CalibrationChoice choice = {NULL, NULL, NULL};
	double		loss[CALIBRATION_METHODS];
	CalibrationMethod best = CALIBRATION_NONE;
	bool		forced = strcmp(requested, "auto") != 0;
	const char *why = NULL;
	JsonBuilder b;

	for (int m = 0; m < CALIBRATION_METHODS; m++)
		loss[m] = NAN;

	if (n < CALIBRATION_MIN_ROWS && !(forced && strcmp(requested, "none") == 0))
	{
		why = psprintf("fewer than %d validation rows", CALIBRATION_MIN_ROWS);
		if (forced)
			ereport(NOTICE,
					(errmsg("calibration \"%s\" was not applied: the model has " INT64_FORMAT " validation rows, calibration needs %d",
							requested, n, CALIBRATION_MIN_ROWS)));
	}
	else if (forced && strcmp(requested, "none") == 0)
		why = "not requested";
	else
	{
		Validation	folds = validation_kfold(n, label, n_classes, CALIBRATION_FOLDS, seed);
		double	   *cross_fitted[CALIBRATION_METHODS] = {NULL};
		int64	   *all = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n);

		for (int64 i = 0; i < n; i++)
			all[i] = i;
		loss[CALIBRATION_NONE] = log_loss(n, (double *) pred, label, n_classes);
		for (int method = CALIBRATION_PLATT; method <= CALIBRATION_ISOTONIC; method++)
		{
			if (forced && strcmp(requested, calibration_method_name(method)) != 0)
				continue;
			cross_fitted[method] = cross_fit((CalibrationMethod) method, &folds, n, pred, label,
											 n_classes);
			loss[method] = log_loss(n, cross_fitted[method], label, n_classes);
		}
		if (forced)
			best = strcmp(requested, "platt") == 0 ? CALIBRATION_PLATT : CALIBRATION_ISOTONIC;
		else
		{
			for (int method = CALIBRATION_PLATT; method <= CALIBRATION_ISOTONIC; method++)
			{
				if (loss[method] < loss[best] &&
					loss[method] < loss[CALIBRATION_NONE] * (1.0 - CALIBRATION_MIN_GAIN))
					best = (CalibrationMethod) method;
			}
			if (best == CALIBRATION_NONE)
				why = "no calibrator lowered the cross-validated log loss by 0.1 % or more";
		}
		if (best != CALIBRATION_NONE)
		{
			choice.calibrator = calibration_fit(best, all, n, pred, label, n_classes);
			choice.cross_fitted = cross_fitted[best];
		}
		pfree(all);
	}

	json_begin(&b);
	json_key_string(&b, "method", calibration_method_name(best));
	json_key_string(&b, "requested", requested);
	json_key_int(&b, "rows", n);
	json_key_int(&b, "folds", CALIBRATION_FOLDS);
	json_key(&b, "log_loss");
	json_begin_object(&b);
	for (int m = 0; m < CALIBRATION_METHODS; m++)
		json_key_number(&b, calibration_method_name(m), loss[m]);
	json_end_object(&b);
	json_key_string(&b, "reason", why ? why
					: forced ? "requested" : "lowest cross-validated log loss");
	choice.json = json_end(&b);
	return choice;
}
