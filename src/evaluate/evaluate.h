/*
 * evaluate.h: what a reviewer needs to trust a model, after training.
 *
 *   curves.c       ROC, precision-recall, reliability and lift tables from
 *                  scored rows (the metrics are learn/metrics.h's)
 *   evaluate.c     a labelled relation scored by a stored model, and the
 *                  record of an evaluation
 *   slices.c       automl_evaluate: metrics overall and per slice
 *   fairness.c     automl_fairness: rates per group of a sensitive column
 *   explain.c      automl_explain and automl_feature_importance
 *
 * The model card is SQL over the catalog (sql/install/evaluation.sql).
 */
#ifndef AUTOML_EVALUATE_H
#define AUTOML_EVALUATE_H

#include "postgres.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "registry/registry.h"
#include "search/search.h"

/* ---- curves and tables from scored rows (curves.c) ---- */

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
extern int64 curves_roc(const Predictions *s, int k, CurvePoint **points);

/*
 * Precision-recall points of class k, from the highest distinct score down,
 * after a first point (recall 0, precision 1, threshold NaN) as
 * scikit-learn's precision_recall_curve ends with.
 */
extern int64 curves_pr(const Predictions *s, int k, CurvePoint **points);

/* One bin of a reliability table. */
typedef struct CalibrationBin
{
	double		lower;
	double		upper;
	int64		rows;
	double		mean_predicted;
	double		fraction_positive;
} CalibrationBin;

#define CURVES_CALIBRATION_BINS 10

/* Class k's probabilities in 10 equal-width bins (empty bins have rows 0). */
extern void curves_calibration_bins(const Predictions *s, int k, CalibrationBin *bins);

/* One tenth of the rows ranked by class k's probability. */
typedef struct LiftBucket
{
	int64		rows;
	int64		positives;
	double		min_score;
	double		max_score;
} LiftBucket;

#define CURVES_LIFT_BUCKETS 10

/*
 * The rows ranked by class k's probability, highest first (ties in row
 * order), cut into 10 buckets: bucket g holds ranks floor(g n / 10) up to
 * floor((g + 1) n / 10).
 */
extern void curves_lift(const Predictions *s, int k, LiftBucket *buckets);

/* ---- a model scoring a labelled relation (evaluate.c) ---- */

typedef struct Evaluation
{
	char	   *name;
	int			version;
	Model *model;
	char	   *target;
	char	   *metric;			/* the version's training metric */
	Frame *frame;
	int		   *binding;		/* model column -> frame column (prep_bind) */
	int64	   *rows;			/* frame rows scored: those with a label the model knows */
	Predictions scored;			/* row i is frame row rows[i] */
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
 * The classes curves are drawn for: the positive class of two (*first 1),
 * else each; an error naming what (a curve, ...) for a regression.
 */
extern int	evaluation_classes(const Evaluation *ev, const char *what, int *first);

/* The frame column named name, or an error naming it as argname's. */
extern const FrameColumn *evaluation_column(const Evaluation *ev, const char *name,
												  const char *argname);

/*
 * Keeps an evaluation's figures in automl.evaluations, when the caller owns
 * the model (anyone who can score a model may evaluate it; only its owner's
 * evaluations reach its model card).
 */
extern void evaluation_record(const Evaluation *ev, const char *kind, const char *relation,
							  const Jsonb *arguments, const Jsonb *result);

/* ---- slices (slices.c) ---- */

/* The rows of one slice of a column. */
typedef struct Slice
{
	char	   *value;			/* NULL: the rows with a NULL */
	int64		n;
	int64	   *rows;			/* indices into ev->scored */
} Slice;

/*
 * The slices of a column: one per category (and one for NULL), one per value
 * of a column with at most 10 distinct values, else quartiles labelled by
 * their bounds. argname names the argument in errors.
 */
extern Slice *evaluation_slices(const Evaluation *ev, const FrameColumn *col,
								const char *argname, int *n_slices);

#endif							/* AUTOML_EVALUATE_H */
