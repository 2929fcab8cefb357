/*
 * record.c: what a tabular version records beside its model bytes, as jsonb
 * documents: hyperparameters, validation metrics, the fitted summary with
 * permutation importance, the recipe (options), the data profile with the
 * validation predictions, and the trials.
 */
#include "postgres.h"

#include <math.h>

#include "common/budget.h"
#include "train/tabular.h"

#define IMPORTANCE_MAX_ROWS 10000
#define IMPORTANCE_MIN_ROWS 500
#define IMPORTANCE_REPEATS 3
#define VALID_FRACTION 0.2

/*
 * The data profile plus the distribution of the chosen model's validation
 * predictions (out of fold under cross-validation): the reference that
 * prediction drift is measured against. Regression values and a binary
 * classifier's positive-class probability are binned like a numeric column;
 * a multiclass model's predicted classes are counted like a category.
 */
static Jsonb *
profile_json(const TabularRun *t)
{
	const Predictions *p = t->chosen;
	int			n_classes = t->td.n_classes;
	int			width = predictions_width(p);
	JsonBuilder b;

	json_begin(&b);
	prep_profile_write(t->model->prep, t->frame, &b);
	json_key(&b, "predictions");
	if (n_classes <= 2)
	{
		double	   *values = palloc(sizeof(double) * Max(p->n, 1));

		for (int64 i = 0; i < p->n; i++)
			values[i] = p->pred[i * width + (width == 2 ? 1 : 0)];
		prep_profile_values_write(values, p->n, &b);
		pfree(values);
	}
	else
	{
		int64	   *counts = palloc0(sizeof(int64) * n_classes);

		for (int64 i = 0; i < p->n; i++)
			counts[predictions_class(p, i)]++;
		json_begin_object(&b);
		json_key_string(&b, "kind", "categorical");
		json_key_int(&b, "missing_share", 0);
		json_key(&b, "levels");
		json_begin_array(&b);
		for (int k = 0; k < n_classes; k++)
		{
			json_begin_object(&b);
			json_key_string(&b, "level", t->classes[k]);
			json_key_number(&b, "share", p->n > 0 ? (double) counts[k] / p->n : 0.0);
			json_end_object(&b);
		}
		json_end_array(&b);
		json_key_int(&b, "other_share", 0);
		json_end_object(&b);
		pfree(counts);
	}
	return json_end(&b);
}

/* All searchable metrics of the task on the chosen predictions; the chosen metric's into t->score. */
static Jsonb *
metrics_json(TabularRun *t)
{
	const MetricDef *defs[8];
	int			n_defs = metric_list_for_task(t->td.task, defs, lengthof(defs));
	JsonBuilder b;

	json_begin(&b);
	for (int m = 0; m < n_defs; m++)
	{
		double		value = metric_score(defs[m], t->chosen);

		json_key_number(&b, defs[m]->name, value);
		if (defs[m] == t->metric)
			t->score = value;
	}
	json_key_int(&b, "validation_rows", t->validation.n_rows);
	json_key_int(&b, "training_rows", t->validation.folds[0].n_train);
	return json_end(&b);
}

/* A single model's fitted parameters, with the name, mean and scale of every model input. */
static void
summary_write(const Learner *learner, const Model *model, JsonBuilder *b)
{
	const PrepSpec *prep = model->prep;
	double	   *mean = palloc0(sizeof(double) * Max(prep->n_outputs, 1));
	double	   *scale = palloc(sizeof(double) * Max(prep->n_outputs, 1));

	for (int o = 0; o < prep->n_outputs; o++)
		scale[o] = 1.0;			/* indicators and one-hot inputs are 0 or 1 */
	for (int c = 0; c < prep->n_columns; c++)
	{
		const PrepColumn *pc = &prep->columns[c];

		if (pc->kind != FEATURE_CATEGORICAL)
		{
			for (int p = 0; p < pc->n_parts; p++)
			{
				mean[pc->first_output + p] = pc->mean[p];
				scale[pc->first_output + p] = pc->scale[p];
			}
		}
		else if (pc->encoding == ENCODE_FREQUENCY)
		{
			mean[pc->first_output] = pc->frequency_mean;
			scale[pc->first_output] = pc->frequency_scale;
		}
	}
	learner->summarize(model->learner_state, b);
	json_key(b, "features");
	json_begin_array(b);
	for (int o = 0; o < prep->n_outputs; o++)
		json_string(b, prep->output_names[o]);
	json_end_array(b);
	json_key(b, "mean");
	json_numbers(b, mean, prep->n_outputs);
	json_key(b, "scale");
	json_numbers(b, scale, prep->n_outputs);
}

/*
 * An ensemble's members as "members": [...] for automl.models.hyperparams:
 * algorithm, trial, weight and hyperparameters of each chosen trial.
 */
static void
members_write(const TabularRun *t, JsonBuilder *b)
{
	json_key(b, "members");
	json_begin_array(b);
	for (int m = 0; m < t->ens.n_members; m++)
	{
		const Trial *trial = &t->sr.trials[t->ens.trial[m]];

		json_begin_object(b);
		json_key_string(b, "algorithm", trial->learner->name);
		json_key_int(b, "trial", trial->number);
		json_key_number(b, "weight", t->ens.weight[m]);
		json_key(b, "hyperparams");
		trial_hyperparams_write(trial, b);
		json_end_object(b);
	}
	json_end_array(b);
}

/*
 * The stored model's fitted models as "members": [...] for
 * automl.models.summary, in the order of the model's members: algorithm,
 * trial, fold (the fold whose training rows it saw; null: every row),
 * weight, and its fitted summary.
 */
static void
fitted_members_write(const TabularRun *t, JsonBuilder *b)
{
	json_key(b, "members");
	json_begin_array(b);
	for (int i = 0; i < t->n_fitted; i++)
	{
		const FittedModel *fm = &t->fitted[i];

		json_begin_object(b);
		json_key_string(b, "algorithm", fm->trial->learner->name);
		json_key_int(b, "trial", fm->trial->number);
		json_key(b, "fold");
		if (fm->fold >= 0)
			json_int(b, fm->fold + 1);
		else
			json_null(b);
		json_key_number(b, "weight", fm->weight);
		json_key(b, "summary");
		json_begin_object(b);
		summary_write(fm->trial->learner, t->model->members[i], b);
		json_end_object(b);
		json_end_object(b);
	}
	json_end_array(b);
}

/* "permutation_importance": why it was not measured. */
static void
importance_not_measured(JsonBuilder *b, const char *why)
{
	json_key(b, "permutation_importance");
	json_begin_object(b);
	json_key_bool(b, "measured", false);
	json_key_string(b, "reason", why);
	json_end_object(b);
}

/* A trial's model of the first fold, as the search kept it (fitted again if it did not). */
static Model *
first_fold_model(const TrainingData *td, const Trial *trial, const Split *fold)
{
	if (trial->first_fold != NULL)
		return trial->first_fold;
	return fit_model(td, trial->learner, trial->hyperparams, fold->train, fold->n_train, NULL);
}

/*
 * Permutation importance on validation rows the model did not see: the
 * chosen configuration (or ensemble) as the search validated it on the first
 * fold, scored on at most IMPORTANCE_MAX_ROWS of that fold's validation rows
 * with each column shuffled in turn. Written as member
 * "permutation_importance", unless the time budget has run out.
 */
static void
importance_write(const TabularRun *t, JsonBuilder *b)
{
	const TrainingData *td = &t->td;
	const Split *fold = &t->validation.folds[0];
	int64		step = (fold->n_valid + IMPORTANCE_MAX_ROWS - 1) / IMPORTANCE_MAX_ROWS;
	int64		n = 0;
	int64	   *rows = palloc(sizeof(int64) * Max(fold->n_valid, 1));
	Model	   *model;
	Predictions scored;
	Validation	sample;
	int		   *binding;
	int			C;
	double	   *mean,
			   *std;
	double		started;

	if (fold->n_valid == 0)
		return;
	if (seconds_now() >= t->run.deadline)
	{
		importance_not_measured(b, "the time budget was spent");
		return;
	}
	for (int64 i = 0; i < fold->n_valid; i += Max(step, 1))
		rows[n++] = fold->valid[i];
	/* the models the search validated on this fold, kept: no fit here */
	if (t->use_ensemble)
	{
		Model	  **members = palloc(sizeof(Model *) * t->ens.n_members);

		for (int m = 0; m < t->ens.n_members; m++)
			members[m] = first_fold_model(td, &t->sr.trials[t->ens.trial[m]], fold);
		model = model_make_ensemble(members, t->ens.weight, t->ens.n_members);
	}
	else
		model = first_fold_model(td, t->best, fold);
	model->classes = t->classes;

	C = model->prep->n_columns;
	binding = palloc(sizeof(int) * Max(C, 1));
	for (int c = 0; c < C; c++)
		binding[c] = model->prep->columns[c].frame_column;
	memset(&sample, 0, sizeof(sample));
	sample.n_rows = n;
	sample.rows = rows;
	started = seconds_now();
	scored = predictions_for(td, &sample);
	predict_rows(td, model, binding, rows, n, scored.pred);

	/*
	 * The shuffles cost C x repeats times these predictions: fewer rows when
	 * that would not end in the time budget, none below IMPORTANCE_MIN_ROWS.
	 */
	if (isfinite(t->run.deadline))
	{
		double		pass = seconds_now() - started;
		double		left = t->run.deadline - seconds_now();
		double		need = pass * C * IMPORTANCE_REPEATS;

		if (need > left)
		{
			int64		keep = (int64) (n * Max(left, 0.0) / Max(need, 1e-9));
			int64		every = keep > 0 ? (n + keep - 1) / keep : n;
			int64	   *positions = palloc(sizeof(int64) * Max(n, 1));
			int64		k = 0;
			Predictions fewer;

			if (keep < IMPORTANCE_MIN_ROWS)
			{
				importance_not_measured(b, "the time budget was spent");
				return;
			}
			for (int64 i = 0; i < n; i += every)
				positions[k++] = i;
			fewer = predictions_subset(&scored, positions, k);
			for (int64 i = 0; i < k; i++)
				rows[i] = rows[positions[i]];
			n = k;
			scored = fewer;
		}
	}
	mean = palloc(sizeof(double) * Max(C, 1));
	std = palloc(sizeof(double) * Max(C, 1));
	if (!permutation_importance(td, model, binding, &scored, rows, t->metric, IMPORTANCE_REPEATS,
								isfinite(t->run.deadline) ? t->run.deadline : 0.0, mean, std))
	{
		importance_not_measured(b, "the time budget was spent");
		return;
	}
	budget_note();

	json_key(b, "permutation_importance");
	json_begin_object(b);
	json_key_string(b, "metric", t->metric->name);
	json_key_int(b, "rows", n);
	json_key_int(b, "repeats", IMPORTANCE_REPEATS);
	json_key_string(b, "fitted_on", "the first validation fold's training rows (the model the search validated there)");
	json_key(b, "columns");
	json_begin_array(b);
	for (int c = 0; c < C; c++)
	{
		json_begin_object(b);
		json_key_string(b, "name", model->prep->columns[c].name);
		json_key_number(b, "importance", mean[c]);
		json_key_number(b, "std", std[c]);
		json_end_object(b);
	}
	json_end_array(b);
	json_end_object(b);
}

/* The fitted model: the learner's summary or the members', then the importance. */
static Jsonb *
summary_json(const TabularRun *t)
{
	JsonBuilder b;

	json_begin(&b);
	if (t->model->n_members > 0)
		fitted_members_write(t, &b);
	else
		summary_write(t->best->learner, t->model, &b);
	importance_write(t, &b);
	return json_end(&b);
}

static Jsonb *
hyperparams_json(const TabularRun *t)
{
	JsonBuilder b;

	if (!t->use_ensemble)
		return trial_hyperparams(t->best);
	json_begin(&b);
	members_write(t, &b);
	return json_end(&b);
}

static void
string_list_write(List *items, JsonBuilder *b)
{
	ListCell   *lc;

	json_begin_array(b);
	foreach(lc, items)
		json_string(b, lfirst(lc));
	json_end_array(b);
}

/* The recipe and what the run did with it; automl_retrain replays the recipe. */
static Jsonb *
options_json(const TabularRun *t)
{
	const TrainRequest *req = t->run.req;
	const Frame *frame = t->frame;
	int			folds = t->validation.n_folds;
	JsonBuilder b;

	json_begin(&b);
	json_key_int(&b, "seed", req->seed);
	json_key_bool(&b, "task_inferred", t->task_inferred);
	json_key_string(&b, "validation", folds > 1 ? "cross_validation" : "holdout");
	json_key_int(&b, "folds", folds);
	json_key_number(&b, "validation_fraction", folds > 1 ? 1.0 / folds : VALID_FRACTION);
	json_key_number(&b, "time_budget", req->time_budget > 0 ? req->time_budget : NAN);
	json_key(&b, "max_trials");
	if (req->max_trials > 0)
		json_int(&b, req->max_trials);
	else
		json_null(&b);
	json_key_int(&b, "trials", t->sr.n_trials);
	json_key_int(&b, "best_trial", t->best->number);
	json_key_string(&b, "search", t->fixed_learner ? "none: hyperparams given" : "portfolio + local search");
	json_key_number(&b, "search_seconds", t->sr.seconds);
	json_key(&b, "exclude");
	string_list_write(req->exclude, &b);
	json_key(&b, "algorithms");
	if (req->algorithms)
		string_list_write(req->algorithms, &b);
	else
		json_null(&b);
	json_key_document(&b, "hyperparams", req->hyperparams);
	json_key_int(&b, "rows_with_null_target", frame->n_null_target);
	json_key_int(&b, "rows_in_relation", frame->n_rows_seen);
	json_key_int(&b, "rows_used", frame->n_rows);
	json_key_number(&b, "refit_seconds", t->refit_seconds);
	json_key_bool(&b, "refit", t->refitted);
	json_key_string(&b, "refit_reason", t->refit_reason);
	json_key_int(&b, "bagged_trials", t->n_bagged);
	if (t->refit_rows_on_workers > 0)
		json_key_int(&b, "refit_rows_on_workers", t->refit_rows_on_workers);
	json_key(&b, "class_weights");
	if (t->td.class_weight)
		json_numbers(&b, t->td.class_weight, t->td.n_classes);
	else
		json_null(&b);
	json_key_int(&b, "gate_rows", t->gate_frame ? t->gate_frame->n_rows : 0);
	json_key_string(&b, "calibration", req->calibration);
	return json_end(&b);
}

/* What calibration chose, with the search metric before and after it. */
static Jsonb *
calibration_json(const TabularRun *t)
{
	JsonBuilder b;

	if (t->calibration.json == NULL)
		return NULL;
	json_begin(&b);
	json_members(&b, t->calibration.json);
	json_key_string(&b, "metric", t->metric->name);
	json_key_number(&b, "score_before", t->score_before_calibration);
	json_key_number(&b, "score_after", metric_score(t->metric, t->chosen));
	return json_end(&b);
}

/* The trials as the run's catalog rows. */
static void
trials_record(TabularRun *t)
{
	RunTrial   *trials = palloc0(sizeof(RunTrial) * Max(t->sr.n_trials, 1));

	for (int i = 0; i < t->sr.n_trials; i++)
	{
		const Trial *trial = &t->sr.trials[i];
		RunTrial   *r = &trials[i];

		r->algorithm = trial->learner->name;
		r->hyperparams = trial_hyperparams(trial);
		r->score = trial->score;
		r->score_std = trial->score_std;
		r->fit_seconds = trial->fit_seconds;
		r->rows_used = trial->rows_used;
		r->status = trial->status == TRIAL_OK ? "ok" :
			trial->status == TRIAL_STOPPED ? "stopped at the time budget" :
			trial->status == TRIAL_OUT_OF_MEMORY ? "stopped at the memory budget" : "failed";
		r->error = trial->error;
		r->selected = !t->use_ensemble && i == t->sr.best;
		r->ensemble_weight = NAN;
		for (int m = 0; t->use_ensemble && m < t->ens.n_members; m++)
		{
			if (t->ens.trial[m] == i)
			{
				r->ensemble_weight = t->ens.weight[m];
				r->selected = true;
			}
		}
	}
	run_set_trials(&t->run, trials, t->sr.n_trials, t->metric->higher_is_better);
}

void
record_tabular(TabularRun *t)
{
	ModelRecord *rec = &t->run.rec;
	const PrepSpec *features = t->td.features;
	const char **names = palloc(sizeof(char *) * Max(features->n_columns, 1));
	const char **kinds = palloc(sizeof(char *) * Max(features->n_columns, 1));

	for (int c = 0; c < features->n_columns; c++)
	{
		static const char *const kind_names[] = {"numeric", "categorical", "datetime"};

		names[c] = features->columns[c].name;
		kinds[c] = kind_names[features->columns[c].kind];
	}
	rec->task = task_name(t->td.task);
	/* a bagged trial is its learner's model, though k of them are stored */
	rec->algorithm = t->use_ensemble ? "ensemble" : t->best->learner->name;
	rec->hyperparams = hyperparams_json(t);
	rec->metrics = metrics_json(t);
	rec->metric = t->metric->name;
	rec->score = t->score;
	rec->n_features = features->n_columns;
	rec->features = names;
	rec->feature_kinds = kinds;
	rec->n_classes = t->td.n_classes;
	rec->classes = (const char *const *) t->classes;
	rec->summary = summary_json(t);
	rec->options = options_json(t);
	rec->warnings = prep_warnings_json(&t->warnings);
	rec->calibration = calibration_json(t);
	rec->profile = profile_json(t);
	rec->n_rows = t->frame->n_rows;
	rec->model_bytes = model_serialize(t->model);
	rec->data_digest = t->data_digest ? t->data_digest : frame_digest(t->frame);
	trials_record(t);
}
