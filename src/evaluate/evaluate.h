/*
 * evaluate.h: what a reviewer needs to trust a model, after training.
 *
 *   calibration.c  Platt and isotonic calibration of class probabilities,
 *                  chosen on out-of-fold predictions, applied by the model
 *   scores.c       metrics, curves and fairness figures from scored rows
 *   evaluate.c     automl_evaluate and the curve and fairness functions:
 *                  a labelled relation scored by a stored model
 *   explain.c      automl_explain and automl_feature_importance
 *
 * The model card is SQL over the catalog (sql/install/evaluation.sql).
 */
#ifndef AUTOML_EVALUATE_H
#define AUTOML_EVALUATE_H

#include "postgres.h"
#include "common/bytes.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

struct Model;					/* registry/registry.h */
struct RawValue;				/* prep/prep.h */
struct Frame;					/* data/frame.h */

/* ---- calibration (calibration.c) ---- */

typedef enum CalibrationMethod
{
	CALIBRATION_NONE = 0,
	CALIBRATION_PLATT = 1,		/* p' = sigmoid(a * logit(p) + b) */
	CALIBRATION_ISOTONIC = 2	/* p' = a monotone piecewise-linear map of p */
} CalibrationMethod;

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

/* What calibration chose, for the model row. */
typedef struct CalibrationChoice
{
	Calibrator *calibrator;		/* NULL: none */
	double	   *cross_fitted;	/* the predictions, each calibrated by a calibrator fitted
								 * on the other folds (honest validation figures); or NULL */
	char	   *json;			/* method, cross-validated log loss of each candidate, rows */
} CalibrationChoice;

/*
 * Chooses among none, Platt and isotonic by 5-fold cross-validated log loss
 * over out-of-fold predictions (n rows of n_classes probabilities, with their
 * labels), and fits the winner on all of them. requested: "auto", or one
 * method forced ("none", "platt", "isotonic").
 */
extern CalibrationChoice calibration_choose(const char *requested, int64 n, const double *pred,
											const int *label, int n_classes, uint64 seed);

/* Calibrates one row's n_classes probabilities in place. */
extern void calibration_apply(const Calibrator *cal, double *probabilities);

extern const char *calibration_method_name(CalibrationMethod method);

/* True when name is auto or a method. */
extern bool calibration_request_valid(const char *name);

extern void calibration_save(const Calibrator *cal, ByteWriter *w);

/* Reads what calibration_save wrote (NULL for none); ereports on anything inconsistent. */
extern Calibrator *calibration_load(ByteReader *r, int n_classes);

/* ---- figures from scored rows (scores.c) ---- */

/*
 * Rows of a labelled relation scored by a model: the truth and the
 * prediction (one value, or n_classes probabilities) of each.
 */
typedef struct ScoredRows
{
	bool		classification;
	int			n_classes;		/* 0 for regression */
	int64		n;
	double	   *pred;			/* n x width */
	double	   *y;				/* regression truth */
	int		   *label;			/* class index of the truth */
} ScoredRows;

#define SCORES_MAX_METRICS 16

typedef struct MetricValue
{
	const char *name;
	double		value;			/* NaN: undefined on these rows */
	int			direction;		/* 1: higher is better, -1: lower is better, 0: neither */
} MetricValue;

/*
 * The task's metrics over the given rows (indices into s; NULL: all). Binary
 * classification reports precision, recall and F1 of the positive (second)
 * class; more classes their macro averages. Returns the number written.
 */
extern int	scores_metrics(const ScoredRows *s, const int64 *rows, int64 n_rows, MetricValue *out);

/* The positive class's probability of row i, or class k's one-vs-rest. */
static inline double
scores_probability(const ScoredRows *s, int64 i, int k)
{
	return s->pred[i * s->n_classes + k];
}

/* The predicted class of row i: the most probable. */
extern int	scores_predicted_class(const ScoredRows *s, int64 i);

/* A curve point, any of the curves: which columns are used depends on the curve. */
typedef struct CurvePoint
{
	double		threshold;
	double		x;				/* ROC: false positive rate; PR: recall */
	double		y;				/* ROC: true positive rate; PR: precision */
} CurvePoint;

/*
 * ROC points of class k against the rest, from the highest threshold
 * (+infinity: nothing positive) down through every distinct score (as
 * scikit-learn's roc_curve with drop_intermediate=False).
 */
extern int64 scores_roc_curve(const ScoredRows *s, int k, CurvePoint **points);

/*
 * Precision-recall points of class k, from the highest distinct score down,
 * after a first point (recall 0, precision 1, threshold NaN) as
 * scikit-learn's precision_recall_curve ends with.
 */
extern int64 scores_pr_curve(const ScoredRows *s, int k, CurvePoint **points);

/* One bin of a reliability table. */
typedef struct CalibrationBin
{
	double		lower;
	double		upper;
	int64		rows;
	double		mean_predicted;
	double		fraction_positive;
} CalibrationBin;

#define SCORES_CALIBRATION_BINS 10

/* Class k's probabilities in 10 equal-width bins (empty bins have rows 0). */
extern void scores_calibration_bins(const ScoredRows *s, int k, CalibrationBin *bins);

/* One tenth of the rows ranked by class k's probability. */
typedef struct LiftBucket
{
	int64		rows;
	int64		positives;
	double		min_score;
	double		max_score;
} LiftBucket;

#define SCORES_LIFT_BUCKETS 10

/*
 * The rows ranked by class k's probability, highest first (ties in row
 * order), cut into 10 buckets: bucket g holds ranks floor(g n / 10) up to
 * floor((g + 1) n / 10).
 */
extern void scores_lift_buckets(const ScoredRows *s, int k, LiftBucket *buckets);

/* ---- per-row explanations (explain.c) ---- */

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
 * Exact contributions of a row's raw values to the model's margin for class
 * class_index (-1: the predicted class of a multiclass model, the positive
 * class of two, nothing for regression): TreeSHAP for trees, w (x - mean)
 * for linear models, the weighted sum of members' for a regression
 * ensemble. x is scratch of model_input_width. Errors for a classification
 * ensemble, whose averaged probabilities have no additive margin.
 */
extern RowExplanation explain_row(const struct Model *model, const struct RawValue *raw,
								  double *x, const double *probabilities, int class_index,
								  const char *model_name);

/* ---- a model scoring a labelled relation (evaluate.c) ---- */

typedef struct Evaluation
{
	char	   *name;
	int			version;
	struct Model *model;
	char	   *target;
	char	   *metric;			/* the version's training metric */
	struct Frame *frame;
	int		   *binding;		/* model column -> frame column (prep_bind) */
	int64	   *rows;			/* frame rows scored: those with a label the model knows */
	ScoredRows	scored;			/* row i is frame row rows[i] */
} Evaluation;

/*
 * Loads the model named by the function's arguments name_arg and
 * version_arg (NULL: deployed), reads the relation of relation_arg with the
 * model's target column as the caller, and scores every row whose label the
 * model knows. Only the model's columns, the target and also_read (C strings)
 * are read. Errors for NULL arguments, a missing feature or target column,
 * no labelled rows.
 */
extern Evaluation *evaluation_run(FunctionCallInfo fcinfo, int name_arg, int relation_arg,
								  int version_arg, List *also_read);

/*
 * Permutation importance of each of the model's columns on the evaluation's
 * rows (mean and standard deviation over seeded repeats of the rise in the
 * loss of ev->metric); the frame's values are put back. Training uses it on
 * validation rows, automl_feature_importance on a labelled relation.
 */
extern void evaluation_permutation_importance(Evaluation *ev, int repeats, double *mean,
											  double *std);

#endif							/* AUTOML_EVALUATE_H */
