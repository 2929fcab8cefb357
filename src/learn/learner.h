/*
 * learner.h: the one interface every learner implements.
 *
 * A learner fits a Dataset (prepared, dense, row-major doubles) and predicts
 * one prepared row at a time. Its fitted state is opaque to the rest of the
 * extension and reaches the catalog only through save and load.
 */
#ifndef AUTOML_LEARNER_H
#define AUTOML_LEARNER_H

#include "postgres.h"

#include <math.h>

#include "common/bytes.h"
#include "common/json.h"
#include "lib/stringinfo.h"

typedef enum Task
{
	TASK_REGRESSION = 0,
	TASK_CLASSIFICATION = 1
} Task;

#define TASK_BIT(task) (1u << (task))

typedef struct Dataset
{
	Task		task;
	int64		n_rows;
	int			n_features;
	const double *X;			/* n_rows x n_features, row-major */
	const double *y;			/* regression target, or NULL */
	const int  *label;			/* class index 0..n_classes-1, or NULL */
	int			n_classes;		/* 0 for regression */
	const double *class_weight; /* per class, or NULL for equal weights */
	const int  *n_categories;	/* per feature: categories of a level input, 0 if numeric; or NULL */

	/*
	 * Tree learners may fit on rows of bins built once for a whole training
	 * run instead of on X (which is then NULL): rows[0..n_rows) index
	 * binned's rows, and y and label are indexed by those row numbers too.
	 */
	const struct BinnedData *binned;
	const int64 *rows;
} Dataset;

typedef struct HyperparamDef
{
	const char *name;			/* scikit-learn's name where it has one */
	double		default_value;
	double		min_value;
	double		max_value;
	bool		is_integer;
} HyperparamDef;

/*
 * What a fit may know of the search around it: its time and memory limits.
 * The search
 * gives each fit a deadline in seconds on CLOCK_MONOTONIC (0: none). Tree
 * ensembles check it between trees: a fit is past it when, at its pace so
 * far, the work still to come after it (followup_factor times this fit's
 * time: the trial's other folds and the refit on all rows) would end after
 * the deadline. They then stop adding trees and set stopped, and the search
 * discards the trial. They stop the same way before the run would hold more
 * memory than its budget (common/budget.h; out_of_memory is then set too):
 * when the memory now, plus one more step like the largest so far (up to the
 * highest a tree took, its histograms included), plus what the fit
 * grew since its first check again (its trees: the kept copy of the model
 * that may follow the fit) would pass it. Its working memory is allocated
 * before that first check. A NULL context: no limit (the memory is still measured).
 */
typedef struct FitContext
{
	double		deadline;
	double		started;		/* when this fit began, on the same clock */
	double		followup_factor;
	bool		stopped;		/* set by the learner that stopped at the deadline */
	bool		out_of_memory;	/* stopped at the memory budget rather than the deadline */
	Size		first_bytes;	/* the run's memory at the fit's first check (0: none yet) */
	Size		last_bytes;		/* at its last check */
	Size		max_step;		/* the most one tree took above the check before it */
	int			rounds_done;	/* with stopped: the rounds (trees) fitted before the stop */
} FitContext;

/*
 * Whether the fit should stop adding trees now, past the deadline or the
 * memory budget (ctx->stopped is then set); false without ctx.
 */
extern bool fit_should_stop(FitContext *ctx);

/* Seconds on CLOCK_MONOTONIC, the clock of FitContext. */
extern double fit_clock(void);

typedef struct Learner
{
	const char *name;
	uint32		tasks;			/* TASK_BIT()s the learner supports */
	bool		raw_inputs;		/* trees: raw values and level indices (PrepSpec.for_trees) */
	int			n_hyperparams;
	const HyperparamDef *hyperparams;

	/*
	 * Fits the data with hyperparameter values in the order of hyperparams;
	 * ctx (or NULL) bounds its time.
	 */
	void	   *(*fit) (const Dataset *data, const double *hyperparams, FitContext *ctx);

	/*
	 * Predicts one prepared row: regression writes the value to out[0];
	 * classification writes n_classes probabilities.
	 */
	void		(*predict) (const void *state, const double *x, double *out);

	/* Writes the fitted parameters as members of the JSON object being built. */
	void		(*summarize) (const void *state, JsonBuilder *json);

	void		(*save) (const void *state, ByteWriter *w);

	/* Reads what save wrote; ereports on anything inconsistent. */
	void	   *(*load) (ByteReader *r, Task task, int n_features, int n_classes);

	/*
	 * Explanations. predict computes its output from n_margins(state)
	 * margins, on the scale named by margin_scale(state):
	 *
	 *   learner        task                margins     scale
	 *   ridge          regression          1           "value": the prediction
	 *   logistic       2 classes           1           "log_odds" of class 1
	 *   logistic       K > 2 classes       K           "logit": softmax inputs, per class
	 *   gbdt           regression          1           "value": the prediction
	 *   gbdt           2 classes           1           "log_odds" of class 1
	 *   gbdt           K > 2 classes       K           "logit": softmax inputs, per class
	 *   random_forest  regression          1           "value": the prediction
	 *   and            K >= 2 classes      K           "probability": the predicted
	 *   extra_trees                                    probabilities themselves
	 *
	 * Two-class margins: out[1] = 1 / (1 + exp(-margin)), out[0] = 1 - out[1].
	 * Softmax margins are defined up to a shared constant; these are the
	 * learner's own.
	 *
	 * contributions writes phi, n_margins x (n_features + 1), row-major:
	 * phi[m * (F + 1) + j] is input j's contribution to margin m and
	 * phi[m * (F + 1) + F] the base, the margin expected when nothing is
	 * known of the row. For every margin the contributions plus the base add
	 * up to the margin of x (to rounding). Linear learners: input j gives
	 * w_j (x_j - mean_j), mean_j its mean over the training rows, and the
	 * base is the margin at the means. Trees: exact path-dependent TreeSHAP,
	 * summed over boosting's trees (whose starting score is in the base) and
	 * averaged over a forest's (see tree_contributions).
	 */
	int			(*n_margins) (const void *state);
	const char *(*margin_scale) (const void *state);
	void		(*contributions) (const void *state, const double *x, double *phi);
} Learner;

/* The names margin_scale returns. */
#define MARGIN_VALUE "value"
#define MARGIN_LOG_ODDS "log_odds"
#define MARGIN_LOGIT "logit"
#define MARGIN_PROBABILITY "probability"

extern const Learner ridge_learner;

/*
 * The sums a linear fit needs, accumulated row by row anywhere (a Citus worker's shards)
 * and added up: rows, sum of x and of y, X'X (d x d, row-major, upper triangle used) and
 * X'y, none centred.
 */
typedef struct LinearStatistics
{
	int			n_features;
	double		n;
	double		sum_y;
	double	   *sum_x;
	double	   *xtx;
	double	   *xty;
} LinearStatistics;

/* A ridge learner state fitted from the sums alone, as ridge_learner.fit on those rows. */
extern void *ridge_fit_statistics(const LinearStatistics *s, double alpha);
extern const Learner logistic_learner;
extern const Learner gbdt_learner;
extern const Learner random_forest_learner;
extern const Learner extra_trees_learner;

/* The learner named name, or NULL. */
extern const Learner *learner_find(const char *name);

/* The position of the learner's hyperparameter called name in its hyperparams, or -1. */
extern int	learner_hyperparam_index(const Learner *learner, const char *name);

/* The names of all learners, comma-separated, for error hints. */
extern const char *learner_names(void);

/* The default learner for a task in this release (no search yet). */
extern const Learner *learner_default_for(Task task);

extern const char *task_name(Task task);


/* softmax(z) into p (K values), shifted by the largest for range; z and p may be the same. */
static inline void
learner_softmax(const double *z, int K, double *p)
{
	double		top = -INFINITY,
				sum = 0.0;

	for (int k = 0; k < K; k++)
		top = Max(top, z[k]);
	for (int k = 0; k < K; k++)
	{
		p[k] = exp(z[k] - top);
		sum += p[k];
	}
	for (int k = 0; k < K; k++)
		p[k] /= sum;
}

#endif							/* AUTOML_LEARNER_H */
