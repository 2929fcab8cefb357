/*
 * tabular.c: a training run on a table, view or materialized view.
 *
 *   scan -> task and classes -> (gate) -> metric, learner, data checks ->
 *   search (each fit learns its prep on its own rows) -> ensemble -> refit
 *   on all rows -> calibration -> records -> deployment decision -> store
 *
 * All of it runs in the caller's memory context; on error the transaction's
 * cleanup frees it.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/budget.h"
#include "common/seed.h"
#include "train/tabular.h"
#include "utils/builtins.h"

#define MIN_TRAINING_ROWS 10
#define MIN_GATE_TRAINING_ROWS 50	/* fewer rows left for training: no gate */
/* An integer target with at most this many distinct values is read as classes. */
#define MAX_INFERRED_CLASSES 20
/* Classes this uneven get balanced class weights. */
#define IMBALANCE_RATIO 9
#define VALID_FRACTION 0.2

/* ---- reading ---- */

/* The rows of the relation with a target, as the caller; errors when too few. */
static Frame *
read_rows(const TrainRequest *req)
{
	Frame	   *frame = frame_scan(req->relid, req->target, req->exclude, seed_sample(req->seed));

	if (frame->n_rows == 0)
	{
		if (frame->n_null_target > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target column \"%s\" has only NULL values", req->target)));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" is empty", frame->relation_name)));
	}
	if (frame->n_rows < MIN_TRAINING_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has " INT64_FORMAT " rows with a target value, training needs at least %d",
						frame->relation_name, frame->n_rows, MIN_TRAINING_ROWS)));
	if (frame->n_null_target > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " rows with a NULL target are left out", frame->n_null_target)));
	return frame;
}

/* ---- task and classes ---- */

static void
check_label_count(const TargetColumn *tc)
{
	if (tc->too_many_labels)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target column \"%s\" has more than %d distinct values, too many for classification",
						tc->name, FRAME_MAX_LABELS)));
}

static Task
choose_task(const TrainRequest *req, const Frame *frame, bool *inferred)
{
	const TargetColumn *tc = &frame->target;

	*inferred = (req->task_arg == NULL);
	if (req->task_arg != NULL)
	{
		if (strcmp(req->task_arg, "regression") == 0)
		{
			if (!tc->is_numeric)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("target column \"%s\" has type %s, but regression needs a number",
								tc->name, format_type_be(tc->type_oid)),
						 errhint("Use task => 'classification', or leave task out to infer it.")));
			return TASK_REGRESSION;
		}
		check_label_count(tc);
		return TASK_CLASSIFICATION;
	}
	if (!tc->is_numeric || tc->type_oid == BOOLOID)
	{
		check_label_count(tc);
		return TASK_CLASSIFICATION;
	}
	if (tc->is_integral && !tc->too_many_labels && tc->n_labels <= MAX_INFERRED_CLASSES)
		return TASK_CLASSIFICATION;
	return TASK_REGRESSION;
}

/* Labels in order: numbers by value (the first row's of each label), else byte-wise. */
typedef struct LabelOrder
{
	const TargetColumn *target;
	const double *value;		/* per label, or NULL */
} LabelOrder;

static int
compare_labels(const void *a, const void *b, void *arg)
{
	const LabelOrder *order = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	if (order->value != NULL)
		return (order->value[x] > order->value[y]) - (order->value[x] < order->value[y]);
	return strcmp(order->target->labels[x], order->target->labels[y]);
}

/*
 * Sorts the classes (numbers by value, false before true, text byte-wise)
 * and rewrites the frame's codes to indices into that order.
 */
static char **
sort_classes(Frame *frame)
{
	TargetColumn *tc = &frame->target;
	int			k = tc->n_labels;
	int		   *order = palloc(sizeof(int) * k);
	int		   *new_code = palloc(sizeof(int) * k);
	char	  **classes = palloc(sizeof(char *) * k);
	LabelOrder	how = {tc, NULL};

	if (tc->is_numeric)
	{
		double	   *value = palloc(sizeof(double) * k);

		for (int64 i = 0; i < frame->n_rows; i++)
			value[tc->codes[i]] = tc->values[i];
		how.value = value;
	}
	for (int c = 0; c < k; c++)
		order[c] = c;
	qsort_arg(order, k, sizeof(int), compare_labels, &how);
	for (int c = 0; c < k; c++)
	{
		classes[c] = tc->labels[order[c]];
		new_code[order[c]] = c;
	}
	for (int64 i = 0; i < frame->n_rows; i++)
		tc->codes[i] = new_code[tc->codes[i]];
	return classes;
}

static void
choose_task_and_classes(TabularRun *t)
{
	const TrainRequest *req = t->run.req;
	Frame	   *frame = t->frame;

	t->td.frame = frame;
	t->td.task = choose_task(req, frame, &t->task_inferred);
	t->td.n_classes = 0;
	if (t->td.task == TASK_CLASSIFICATION)
	{
		if (frame->target.n_labels < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target column \"%s\" has a single class, \"%s\"",
							req->target, frame->target.labels[0]),
					 errhint("Classification needs at least two classes.")));
		t->classes = sort_classes(frame);
		t->td.n_classes = frame->target.n_labels;
	}
	else if (strcmp(req->calibration, "auto") != 0 && strcmp(req->calibration, "none") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("calibration \"%s\" applies to classification, and this is a regression",
						req->calibration),
				 errhint("Leave calibration out for regression models.")));
}

/* ---- metric, learner, data checks ---- */

static void
choose_metric_and_learner(TabularRun *t)
{
	const TrainRequest *req = t->run.req;

	t->metric = req->metric ? req->metric : metric_default(t->td.task, t->td.n_classes);
	if (t->metric->task != t->td.task)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metric \"%s\" does not apply to %s", t->metric->name, task_name(t->td.task)),
				 errhint("Valid metrics are %s.", metric_names())));

	/* hyperparams given: one fit of one learner, no search */
	if (req->hyperparams != NULL && list_length(req->algorithms) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams apply to one algorithm, but %d are given", list_length(req->algorithms)),
				 errhint("Give one algorithm with hyperparams for a single fit, or leave hyperparams out to search.")));
	if (req->hyperparams != NULL)
	{
		t->fixed_learner = request_learner(req, t->td.task);
		t->fixed_values = palloc(sizeof(double) * Max(t->fixed_learner->n_hyperparams, 1));
		request_hyperparams(t->fixed_learner, req->hyperparams, t->fixed_values);
	}
	else if (req->algorithms != NIL)
		(void) request_learner(req, t->td.task);	/* names checked, one must fit the task */
}

/*
 * Strongly imbalanced classes (the largest more than
 * IMBALANCE_RATIO times the smallest) get balanced weights, n / (k * count),
 * as scikit-learn's class_weight='balanced'; NULL otherwise.
 */
static double *
balanced_class_weights(const Frame *frame, int n_classes, PrepWarnings *warnings)
{
	int64	   *count = palloc0(sizeof(int64) * n_classes);
	int64		smallest,
				largest;
	double	   *weight;

	for (int64 i = 0; i < frame->n_rows; i++)
		count[frame->target.codes[i]]++;
	smallest = largest = count[0];
	for (int k = 1; k < n_classes; k++)
	{
		smallest = Min(smallest, count[k]);
		largest = Max(largest, count[k]);
	}
	if (largest <= IMBALANCE_RATIO * smallest)
		return NULL;
	weight = palloc(sizeof(double) * n_classes);
	for (int k = 0; k < n_classes; k++)
		weight[k] = (double) frame->n_rows / ((double) n_classes * count[k]);
	prep_warn(warnings, NOTICE, "class_imbalance", frame->target.name,
			  "Probabilities are those of the weighted model; rank by them rather than read them as rates.",
			  "classes are imbalanced (largest " INT64_FORMAT " rows, smallest " INT64_FORMAT "): balanced class weights are used",
			  largest, smallest);
	return weight;
}

/* What the data says before fitting: columns to drop, personal data, imbalance. */
static void
check_data(TabularRun *t)
{
	prep_warnings_init(&t->warnings);
	prep_check_personal_data(t->frame, &t->warnings);
	t->td.features = prep_choose_features(t->frame, &t->warnings);
	t->td.class_weight = NULL;
	if (t->td.task == TASK_CLASSIFICATION)
		t->td.class_weight = balanced_class_weights(t->frame, t->td.n_classes, &t->warnings);
	tree_bins_init(&t->td);		/* built at the first tree fit, for all of them */
}

/* ---- the search ---- */

/* 5-fold cross-validation while rows x columns is at most this many per second of budget. */
#define CV_CELLS_PER_SECOND 5000
#define CV_MAX_ROWS 100000
#define CV_ALWAYS_ROWS 10000
#define CV_FOLDS 5

/*
 * k-fold cross-validation while it is affordable (small data, or data small
 * for the budget), a holdout otherwise: a search on large data learns more
 * from more trials than from steadier scores.
 */
static Validation
choose_validation(const TrainingData *td, double time_budget, int seed)
{
	int64		rows = td->frame->n_rows;
	double		cells = (double) rows * Max(td->features->n_columns, 1);
	double		budget = time_budget > 0 ? time_budget : DEFAULT_TIME_BUDGET;
	const int  *label = td->task == TASK_CLASSIFICATION ? td->frame->target.codes : NULL;

	if (rows >= 2 * CV_FOLDS && rows <= CV_MAX_ROWS &&
		(rows <= CV_ALWAYS_ROWS || cells <= budget * CV_CELLS_PER_SECOND))
		return validation_kfold(rows, label, td->n_classes, CV_FOLDS, seed_validation(seed));
	return validation_holdout(rows, label, td->n_classes, VALID_FRACTION, seed_validation(seed));
}

/* The search, validated without leaks: every fit learns its prep from its own rows. */
static void
search(TabularRun *t)
{
	const TrainRequest *req = t->run.req;
	SearchRequest sreq;

	t->validation = choose_validation(&t->td, req->time_budget, req->seed);
	memset(&sreq, 0, sizeof(sreq));
	sreq.td = &t->td;
	sreq.validation = &t->validation;
	sreq.metric = t->metric;
	sreq.algorithms = req->algorithms;
	sreq.fixed_learner = t->fixed_learner;
	sreq.fixed_values = t->fixed_values;
	sreq.time_budget = req->time_budget;
	sreq.started = t->run.started;
	sreq.max_trials = req->max_trials;
	sreq.seed = req->seed;
	t->sr = run_search(&sreq);
	t->best = &t->sr.trials[t->sr.best];
	if (t->fixed_learner == NULL && req->time_budget > 0 && t->sr.n_trials == 1)
		ereport(NOTICE,
				(errmsg("time_budget of %g s left room for one trial only: the cheapest configuration was fitted, without a search",
						req->time_budget),
				 errhint("Give a larger time_budget for a search.")));
	t->chosen = t->best->predictions;
}

/* An ensemble of the best trials when it validates better than the best trial. */
static void
choose_ensemble(TabularRun *t)
{
	memset(&t->ens, 0, sizeof(t->ens));
	if (t->fixed_learner != NULL || !ensemble_select(&t->sr, t->metric, t->td.n_classes, &t->ens))
		return;
	t->use_ensemble = true;
	t->chosen = &t->ens.predictions;
}

/* The i-th member of what the search chose: the best trial, or an ensemble member. */
static const Trial *
chosen_trial(const TabularRun *t, int i, double *weight)
{
	if (!t->use_ensemble)
	{
		*weight = 1.0;
		return t->best;
	}
	*weight = t->ens.weight[i];
	return &t->sr.trials[t->ens.trial[i]];
}

/*
 * The refit rule, for the chosen trials that are not bagged (a bagged
 * trial's fold models are its final models, see search_bags). They are
 * fitted again on every training row when the estimated time of those fits
 * fits in what is left of the time budget (always, without one): the
 * search's models saw 4/5 of the rows (a fold's training part, or the
 * holdout's). Otherwise the models the search validated on the first fold
 * are the stored model: no fit is spent after the search that the budget
 * cannot pay for. Returns whether to refit, with the reason.
 */
static bool
refit_rule(TabularRun *t, const char **reason)
{
	const TrainRequest *req = t->run.req;
	double		estimate = 0.0;
	double		memory = 0.0;
	bool		kept_models = true;
	int			n_members = t->use_ensemble ? t->ens.n_members : 1;
	int			n_refits = 0;

	for (int m = 0; m < n_members; m++)
	{
		double		weight;
		const Trial *trial = chosen_trial(t, m, &weight);
		double		rows_ratio = (double) t->frame->n_rows / Max(trial->rows_used, 1);

		if (trial->fold_models != NULL)
			continue;
		n_refits++;
		estimate += trial_refit_seconds(trial, t->validation.n_folds, t->frame->n_rows);
		/* a trial's memory grows with its rows (its folds' fits ran one after another) */
		memory += (double) trial->memory * Max(rows_ratio, 1.0);
		kept_models &= trial->first_fold != NULL;
	}
	if (n_refits == 0)
	{
		*reason = "the models of the cross-validation folds are averaged (bagging)";
		return false;
	}
	if (kept_models && (double) budget_note() + memory > (double) budget_working_bytes())
	{
		*reason = "a refit on every training row would not fit in automl.train_memory";
		return false;
	}
	if (req->time_budget <= 0)
		*reason = "no time budget";
	else if (seconds_now() + estimate <= t->run.started + req->time_budget * 0.98)
		*reason = "the time budget left room";
	else if (!kept_models)
		*reason = "the validated models were not kept";
	else
	{
		*reason = "a refit on every training row would exceed the time budget";
		return false;
	}
	return true;
}

/*
 * The stored model: each chosen trial bagged (its k fold models, each with
 * a k-th of its weight), refitted on every row, or as validated on the first
 * fold (refit_rule). More than one model makes a flat ensemble.
 */
static void
refit(TabularRun *t)
{
	int64		n = t->frame->n_rows;
	int64	   *all_rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n);
	double		refit_started = seconds_now();
	int			n_members = t->use_ensemble ? t->ens.n_members : 1;
	int			capacity = n_members * Max(t->validation.n_folds, 1);
	Model	  **models = palloc(sizeof(Model *) * capacity);
	double	   *weights = palloc(sizeof(double) * capacity);
	bool		refit_others;

	progress_update(t->sr.n_trials, t->metric->name, t->best->score,
					t->run.req->time_budget > 0 ? t->run.deadline - seconds_now() : NAN, "refit");
	refit_others = refit_rule(t, &t->refit_reason);
	t->fitted = palloc(sizeof(FittedModel) * capacity);
	t->n_fitted = 0;
	t->n_bagged = 0;
	t->refitted = false;
	for (int64 i = 0; i < n; i++)
		all_rows[i] = i;
	for (int m = 0; m < n_members; m++)
	{
		double		weight;
		const Trial *trial = chosen_trial(t, m, &weight);
		int			k = trial->fold_models != NULL ? trial->n_fold_models : 1;

		t->n_bagged += trial->fold_models != NULL;
		for (int f = 0; f < k; f++)
		{
			FittedModel *fm = &t->fitted[t->n_fitted];

			fm->trial = trial;
			fm->weight = weight / k;
			if (trial->fold_models != NULL)
			{
				fm->fold = f;
				models[t->n_fitted] = trial->fold_models[f];
			}
			else if (refit_others)
			{
				fm->fold = -1;
				models[t->n_fitted] = fit_model(&t->td, trial->learner, trial->hyperparams, all_rows, n, NULL);
				t->refitted = true;
			}
			else
			{
				fm->fold = 0;
				models[t->n_fitted] = trial->first_fold;
			}
			weights[t->n_fitted] = fm->weight;
			models[t->n_fitted]->classes = t->classes;
			t->n_fitted++;
		}
	}
	if (!refit_others && t->n_bagged < n_members)
		ereport(NOTICE,
				(errmsg("the stored model is the one validated on the first fold: %s", t->refit_reason),
				 strstr(t->refit_reason, "memory") != NULL
				 ? errhint("Raise automl.train_memory (within automl.max_train_memory) to refit on every row.")
				 : errhint("Give a larger time_budget to refit on every row.")));
	else if (t->refitted)
		budget_check("after refitting the chosen configuration on every row");
	t->model = t->n_fitted > 1 ? model_make_ensemble(models, weights, t->n_fitted) : models[0];
	t->refit_seconds = seconds_now() - refit_started;
	t->model->classes = t->classes;
	/* The column checks read the fitted spec of the first (best) member. */
	check_target(t->model->prep, t->frame, t->td.task == TASK_CLASSIFICATION, t->td.n_classes,
					  &t->warnings);
}

/*
 * Calibration, chosen on the validation predictions. From here on they are
 * the cross-fitted calibrated ones, so the stored metrics, the deployment
 * decision and the drift reference describe what the model will return.
 */
static void
calibrate(TabularRun *t)
{
	const Predictions *chosen = t->chosen;

	memset(&t->calibration, 0, sizeof(t->calibration));
	if (t->td.task != TASK_CLASSIFICATION)
		return;
	t->score_before_calibration = metric_score(t->metric, chosen);
	t->calibration = calibration_choose(t->run.req->calibration, chosen->n, chosen->pred,
										chosen->label, t->td.n_classes,
										seed_calibration(t->run.req->seed));
	t->model->calibrator = t->calibration.calibrator;
	if (t->calibration.cross_fitted)
	{
		Predictions *calibrated = palloc(sizeof(Predictions));

		*calibrated = *chosen;
		calibrated->pred = t->calibration.cross_fitted;
		t->chosen = calibrated;
	}
}

TrainOutcome
train_tabular(TrainRequest *req)
{
	TabularRun	t;
	TrainOutcome outcome;

	memset(&t, 0, sizeof(t));
	run_start(&t.run, req);
	t.frame = read_rows(req);
	budget_note();
	choose_task_and_classes(&t);

	/* A gate needs a deployed version to compare with, and rows enough for both parts. */
	if (req->gate_fraction > 0 && t.run.policy.deployed_version > 0 && t.run.policy.auto_deploy &&
		t.frame->n_rows * (1.0 - req->gate_fraction) >= MIN_GATE_TRAINING_ROWS)
		deploy_split_gate(&t);

	choose_metric_and_learner(&t);
	check_data(&t);
	search(&t);
	choose_ensemble(&t);
	budget_note();
	refit(&t);
	refit_on_workers(&t);
	calibrate(&t);
	budget_note();

	run_set_source(&t.run, t.frame->relation_id, t.frame->relation_name, t.frame->relation_kind);
	record_tabular(&t);
	deploy_decide(&t);
	outcome = run_store(&t.run);
	outcome.gate_rows = t.gate_frame ? t.gate_frame->n_rows : 0;
	return outcome;
}
