/*
 * search.h: the AutoML loop, from prepared training data to the chosen
 * configuration, with its validated predictions.
 *
 *   split.c      holdout and stratified k-fold validation
 *   evaluate.c   one configuration: fit per fold, out-of-fold predictions
 *   space.c      each learner's hyper-parameter space and proven defaults
 *   search.c     the budgeted search over learners and configurations
 *   ensemble.c   greedy ensemble selection over out-of-fold predictions
 *   calibrate.c  whether and how the chosen model's probabilities are calibrated
 *   importance.c permutation importance of a model's columns on scored rows
 *   progress.c   NOTICEs and the shared-memory progress view
 *
 * The metrics are learn/metrics.h's; storing the result is src/train's.
 */
#ifndef AUTOML_SEARCH_H
#define AUTOML_SEARCH_H

#include "postgres.h"
#include "common/json.h"
#include "data/frame.h"
#include "learn/metrics.h"
#include "learn/model.h"
#include "nodes/pg_list.h"
#include "prep/prep.h"
#include "utils/jsonb.h"

/* The seconds a training may run at most, and when none is given. */
#define MAX_TIME_BUDGET (7 * 24 * 3600.0)
#define DEFAULT_TIME_BUDGET 60.0

/* ---- validation split (split.c) ---- */

typedef struct Split
{
	int64	   *train;
	int64		n_train;
	int64	   *valid;
	int64		n_valid;
} Split;

/*
 * A seeded holdout of about valid_fraction of the rows, stratified by label
 * when label is not NULL. Both index lists come out sorted.
 */
extern Split holdout_split(int64 n_rows, const int *label, int n_classes,
						   double valid_fraction, uint64 seed);

/*
 * The validation scheme: one holdout split, or k stratified folds whose
 * validation parts partition the rows. rows lists every validation row, fold
 * after fold, in the order that predictions are kept.
 */
typedef struct Validation
{
	int			n_folds;		/* 1: holdout */
	Split	   *folds;
	int64		n_rows;
	int64	   *rows;
} Validation;

extern Validation validation_holdout(int64 n_rows, const int *label, int n_classes,
									 double valid_fraction, uint64 seed);
extern Validation validation_kfold(int64 n_rows, const int *label, int n_classes,
								   int n_folds, uint64 seed);

/* ---- fitting and scoring one configuration (evaluate.c) ---- */

/*
 * The training rows binned once for every tree fit of a run (bins.c): a
 * feature spec for trees fitted on all of them, and their bins, built at
 * the first tree fit in the run's memory context. Bin edges and category
 * levels come from every training row, validation rows included, as
 * LightGBM and XGBoost build them for cross-validation: no target is read.
 */
typedef struct TreeBins
{
	MemoryContext cxt;
	bool		built;
	PrepSpec   *spec;
	struct BinnedData *bd;
} TreeBins;

/* What every fit of one training shares. */
typedef struct TrainingData
{
	Frame	   *frame;
	Task		task;
	int			n_classes;
	double	   *class_weight;	/* balanced weights, or NULL */
	const PrepSpec *features;	/* the chosen columns, unfitted */
	TreeBins   *tree_bins;		/* or NULL: each tree fit prepares and bins its own rows */
} TrainingData;

/* Sets up td's shared bins, to be built at the first tree fit, in the current context. */
extern void tree_bins_init(TrainingData *td);

/* The shared bins of td, built now if they were not yet. */
extern TreeBins *tree_bins_get(const TrainingData *td);

/* A fitted model: a fresh copy of td->features fitted on rows, then the learner. */
extern Model *fit_model(const TrainingData *td, const Learner *learner,
						const double *hyperparams, const int64 *rows, int64 n_rows,
						FitContext *ctx);

/*
 * Predicts the given rows of the frame into pred (n_rows x width). binding
 * maps the model's columns to the frame's (prep_bind) for a model fitted on
 * other data; NULL for one fitted on this frame.
 */
extern void predict_rows(const TrainingData *td, const Model *model, const int *binding,
						 const int64 *rows, int64 n_rows, double *pred);

/* An empty Predictions for the validation rows, with their true values. */
extern Predictions predictions_for(const TrainingData *td, const Validation *v);

/*
 * One configuration validated: fitted on each fold's training rows, its
 * predictions for every validation row written into out->pred, the metric per
 * fold into fold_scores (n_folds), and copies of the first n_kept folds'
 * models in kept[], each in a memory context of its own under the caller's
 * (0: none). refit_follows says whether a refit on all rows would follow a
 * win, for the deadline's projection. Returns false when a fit stopped at
 * the deadline (seconds_now(); 0: none) before finishing (see FitContext),
 * except that, given capped_rounds, a tree ensemble whose first fold stopped
 * keeps the rounds it fitted: the other folds fit as many, and
 * *capped_rounds says how many (0: the configuration as given).
 */
extern bool evaluate_config(const TrainingData *td, const Validation *v, const Learner *learner,
							const double *hyperparams, const MetricDef *metric, double deadline,
							Predictions *out, double *fold_scores, Model **kept, int n_kept,
							bool refit_follows, bool *out_of_memory, int *capped_rounds);

/* Frees a model kept by evaluate_config (its own memory context). */
extern void kept_model_free(Model *model);

/* ---- hyper-parameter spaces (space.c) ---- */

#define SPACE_MAX_PARAMS 8

typedef struct SearchParam
{
	int			index;			/* into the learner's hyperparams */
	double		low;
	double		high;
	bool		log_scale;
} SearchParam;

typedef struct LearnerSpace
{
	const Learner *learner;
	int			n_params;
	SearchParam params[SPACE_MAX_PARAMS];
	double		relative_cost;	/* a fixed cost guess, for runs without a clock */
} LearnerSpace;

/* The learners a search for task may use, cheapest first; algorithms (C strings) restricts them. */
extern int	space_learners(Task task, List *algorithms, int64 n_train_rows,
						   LearnerSpace *out, int max_out);

/*
 * The proven configurations of a learner, tried before any search: writes
 * the i-th into values (every hyperparameter) and returns true, or false when
 * there are fewer than i + 1.
 */
extern bool space_default_config(const LearnerSpace *space, Task task, int64 n_train_rows,
								 int n_inputs, int i, double *values);

/* A configuration as a point in [0, 1]^n_params, and back (rounding integers). */
extern void space_to_unit(const LearnerSpace *space, const double *values, double *unit);
extern void space_from_unit(const LearnerSpace *space, const double *unit, double *values);

/* ---- the search (search.c) ---- */

typedef enum TrialStatus
{
	TRIAL_OK,
	TRIAL_STOPPED,				/* stopped at the time budget, not used */
	TRIAL_OUT_OF_MEMORY,		/* stopped at the memory budget, not used */
	TRIAL_FAILED
} TrialStatus;

typedef struct Trial
{
	int			number;			/* 1, 2, ... in the order run */
	const Learner *learner;
	double	   *hyperparams;
	double		score;			/* NaN unless TRIAL_OK */
	double		score_std;		/* over folds; NaN with one */
	double		fit_seconds;	/* all folds */
	int64		rows_used;		/* training rows of one fit */
	Size		memory;			/* the most it held beyond what the run held before it */
	TrialStatus status;
	char	   *error;			/* TRIAL_FAILED */
	Predictions *predictions;	/* kept for the best trials only, else NULL */
	Model	   *first_fold;		/* with predictions: the model of the first fold, validated
								 * on its rows (permutation importance; a holdout's model) */
	Model	  **fold_models;	/* a bagging trial's model of every fold (first_fold the
								 * first), while it is among the best; else NULL */
	int			n_fold_models;
} Trial;

typedef struct SearchRequest
{
	const TrainingData *td;
	const Validation *validation;
	const MetricDef *metric;
	List	   *algorithms;
	const Learner *fixed_learner;	/* hyperparams given: no search, one fit of this */
	const double *fixed_values;
	double		time_budget;	/* seconds for the whole call; 0: none */
	double		started;		/* when the call began (seconds_now()) */
	int			max_trials;		/* 0: none */
	int			seed;
} SearchRequest;

/*
 * Bagging: under k-fold validation a searched tree learner's final model is
 * the average of the k models its trial fitted on the folds, the models
 * whose out-of-fold predictions the search scored, instead of one refit on
 * all rows (AutoGluon's bagging), when automl.bag_fold_models is on. A
 * linear model is refitted: the mean of k linear fits is one linear model,
 * and its refit is cheap.
 */
extern bool automl_bag_fold_models;	/* the GUC */
extern bool search_bags(const SearchRequest *req, const Learner *learner);

typedef struct SearchResult
{
	int			n_trials;
	Trial	   *trials;
	int			best;			/* index of the best trial */
	double		seconds;
} SearchResult;

extern SearchResult run_search(const SearchRequest *req);

/* Seconds on a monotonic clock. */
extern double seconds_now(void);

/* A refit on rows_ratio times a fit's rows takes about this many times as long. */
extern double refit_factor(double rows_ratio);

/* The estimated seconds to refit a trial's configuration on n_all_rows rows. */
extern double trial_refit_seconds(const Trial *trial, int n_folds, int64 n_all_rows);

/* The trial's hyperparameters as a JSON object: a document, or a value written into json. */
extern Jsonb *trial_hyperparams(const Trial *trial);
extern void trial_hyperparams_write(const Trial *trial, JsonBuilder *json);

/* ---- ensembles (ensemble.c) ---- */

typedef struct EnsembleChoice
{
	int			n_members;
	int		   *trial;			/* indices into the trials */
	double	   *weight;
	double		score;
	Predictions predictions;
} EnsembleChoice;

/*
 * Caruana's greedy ensemble selection with replacement over the trials that
 * kept predictions. Returns true, with the choice, when the ensemble of two
 * or more trials beats the best single trial.
 */
extern bool ensemble_select(const SearchResult *result, const MetricDef *metric, int n_classes,
							EnsembleChoice *choice);

/* ---- checks against the target (leakage.c) ---- */

/*
 * Names columns that predict the target almost perfectly on their own
 * (possible leakage), and says when there are few rows per model input.
 */
extern void check_target(const PrepSpec *spec, const Frame *frame, bool classification,
							  int n_classes, PrepWarnings *warnings);

/* ---- calibration (calibrate.c) ---- */

/* What calibration chose, for the model row. */
typedef struct CalibrationChoice
{
	Calibrator *calibrator;		/* NULL: none */
	double	   *cross_fitted;	/* the predictions, each calibrated by a calibrator fitted
								 * on the other folds (honest validation figures); or NULL */
	Jsonb	   *json;			/* method, cross-validated log loss of each candidate, rows */
} CalibrationChoice;

/*
 * Chooses among none, Platt and isotonic by 5-fold cross-validated log loss
 * over out-of-fold predictions (n rows of n_classes probabilities, with their
 * labels), and fits the winner on all of them. requested: "auto", or one
 * method forced ("none", "platt", "isotonic").
 */
extern CalibrationChoice calibration_choose(const char *requested, int64 n, const double *pred,
											const int *label, int n_classes, uint64 seed);

/* ---- permutation importance (importance.c) ---- */

/*
 * The importance of each of the model's columns on the given frame rows,
 * whose predictions (unshuffled) are scored: mean and standard deviation
 * over seeded repeats of the rise in the loss of metric. binding maps the
 * model's columns to td->frame's; the frame's values are put back. Returns
 * false, with the figures incomplete, when the deadline (seconds_now(); 0:
 * none) passed before the last column.
 */
extern bool permutation_importance(const TrainingData *td, const Model *model, const int *binding,
								   const Predictions *scored, const int64 *rows,
								   const MetricDef *metric, int repeats, double deadline,
								   double *mean, double *std);

/* ---- progress (progress.c) ---- */

extern void progress_init(void);	/* from _PG_init */
extern void progress_start(const char *model_name, double time_budget);
extern void progress_update(int trials_done, const char *metric, double best_score,
							double seconds_left, const char *phase);
extern void progress_end(void);

#endif							/* AUTOML_SEARCH_H */
