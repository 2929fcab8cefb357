/*
 * model.h: a fitted model, what the catalog stores and scoring runs: the
 * feature spec, the learner's state (or an ensemble of models), the classes,
 * and the calibration of its probabilities (model.c).
 */
#ifndef AUTOML_MODEL_H
#define AUTOML_MODEL_H

#include "postgres.h"
#include "learn/calibration.h"
#include "learn/learner.h"
#include "prep/prep.h"

typedef struct Model
{
	Task		task;
	const Learner *learner;		/* NULL for an ensemble */
	void	   *learner_state;
	PrepSpec   *prep;			/* an ensemble's: its first member's, whose columns all share */
	int			n_classes;		/* 0 for regression */
	char	  **classes;		/* labels as spelled in the training data, sorted */

	/* An ensemble averages its members' outputs with these weights (sum 1). */
	int			n_members;
	struct Model **members;
	double	   *weights;
	double	   *scratch;		/* one member's output while averaging */

	/* Maps the class probabilities of the whole model; NULL: none. */
	Calibrator *calibrator;
} Model;

/* The widest prepared row any of the model's learners takes. */
extern int	model_input_width(const Model *model);

/*
 * Predicts one row of raw values: prepares it (x holds model_input_width
 * doubles) and writes 1 value (regression) or n_classes probabilities
 * (calibrated when the model has a calibrator) to out.
 */
extern void model_predict_raw(const Model *model, const RawValue *raw, double *x, double *out);

/* An ensemble of fitted models of one task whose specs have the same columns. */
extern Model *model_make_ensemble(Model **members, const double *weights, int n_members);

/* The learner's name, or "ensemble". */
extern const char *model_algorithm(const Model *model);

/* ---- explanations ---- */

/* A row's explanation: per source column, what it adds to one margin. */
typedef struct RowExplanation
{
	int			n_columns;
	double	   *contribution;	/* per prep column (its inputs summed) */
	double		base;			/* the expected margin */
	double		margin;			/* base + the contributions */
	const char *scale;			/* value, log_odds, logit, probability */
	int			class_index;	/* the class whose margin; -1 for regression */
} RowExplanation;

/*
 * Contributions of a row's raw values to the model's margin for class
 * class_index (-1: the predicted class of a multiclass model, the positive
 * class of two, nothing for regression): exact TreeSHAP for trees, w (x -
 * mean) for linear models, the weighted sum of members' for a regression
 * ensemble. A classification ensemble's are on the scale of its (calibrated)
 * probabilities, which probabilities holds: each member's change of
 * probability shared in proportion to its exact margin contributions (see
 * add_probability_contributions). x is scratch of model_input_width.
 */
extern RowExplanation model_explain_row(const Model *model, const RawValue *raw,
								  double *x, const double *probabilities, int class_index);

#endif							/* AUTOML_MODEL_H */
