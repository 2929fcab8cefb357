/*
 * evaluate.c: fitting one configuration and scoring it on validation rows.
 *
 * Every fit starts from a fresh copy of the chosen columns and learns its
 * encoders, imputation and scaling from its own training rows only, so
 * nothing of a validation row reaches the model that is scored on it.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "search/search.h"
#include "utils/memutils.h"

Model *
fit_model(const TrainingData *td, const Learner *learner, const double *hyperparams,
		  const int64 *rows, int64 n_rows, FitContext *ctx)
{
	Model	   *model = palloc0(sizeof(Model));
	PrepSpec   *prep = prep_copy_unfitted(td->features);
	Dataset		data;
	double	   *X;
	double	   *y = NULL;
	int		   *label = NULL;

	prep->for_trees = learner->raw_inputs;
	prep_fit(prep, td->frame, rows, n_rows);
	X = MemoryContextAllocHuge(CurrentMemoryContext,
							   mul_size(mul_size(sizeof(double), n_rows), Max(prep->n_outputs, 1)));
	prep_apply_frame(prep, td->frame, rows, n_rows, X);
	if (td->task == TASK_REGRESSION)
	{
		y = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n_rows);
		for (int64 i = 0; i < n_rows; i++)
			y[i] = td->frame->target.values[rows[i]];
	}
	else
	{
		label = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * n_rows);
		for (int64 i = 0; i < n_rows; i++)
			label[i] = td->frame->target.codes[rows[i]];
	}
	data.task = td->task;
	data.n_rows = n_rows;
	data.n_features = prep->n_outputs;
	data.X = X;
	data.y = y;
	data.label = label;
	data.n_classes = td->n_classes;
	data.class_weight = td->class_weight;
	data.n_categories = NULL;
	if (prep->for_trees)
	{
		int		   *categories = palloc(sizeof(int) * Max(prep->n_outputs, 1));

		for (int o = 0; o < prep->n_outputs; o++)
			categories[o] = prep_output_categories(prep, o);
		data.n_categories = categories;
	}

	model->task = td->task;
	model->learner = learner;
	model->learner_state = learner->fit(&data, hyperparams, ctx);
	model->prep = prep;
	model->n_classes = td->n_classes;
	pfree(X);
	if (y)
		pfree(y);
	if (label)
		pfree(label);
	return model;
}

void
predict_rows(const TrainingData *td, const Model *model, const int *binding,
			 const int64 *rows, int64 n_rows, double *pred)
{
	const PrepSpec *prep = model->prep;
	int			width = td->task == TASK_REGRESSION ? 1 : td->n_classes;
	RawValue   *raw = palloc(sizeof(RawValue) * Max(prep->n_columns, 1));
	double	   *x = palloc(sizeof(double) * model_input_width(model));

	for (int64 i = 0; i < n_rows; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (binding)
			prep_raw_from_bound_frame(prep, td->frame, binding, rows[i], raw);
		else
			prep_raw_from_frame(prep, td->frame, rows[i], raw);
		model_predict_raw(model, raw, x, pred + i * width);
	}
	pfree(raw);
	pfree(x);
}

Predictions
predictions_for(const TrainingData *td, const Validation *v)
{
	Predictions p = predictions_alloc(v->n_rows, td->task == TASK_REGRESSION ? 0 : td->n_classes);

	for (int64 i = 0; i < p.n; i++)
	{
		if (td->task == TASK_REGRESSION)
			p.y[i] = td->frame->target.values[v->rows[i]];
		else
			p.label[i] = td->frame->target.codes[v->rows[i]];
	}
	return p;
}

bool
evaluate_config(const TrainingData *td, const Validation *v, const Learner *learner,
				const double *hyperparams, const MetricDef *metric, double deadline,
				Predictions *out, double *fold_scores)
{
	MemoryContext fit_cxt = AllocSetContextCreate(CurrentMemoryContext, "automl fit",
												  ALLOCSET_DEFAULT_SIZES);
	int64		at = 0;
	FitContext	ctx = {deadline, 0.0, 0.0, false};

	for (int f = 0; f < v->n_folds; f++)
	{
		const Split *fold = &v->folds[f];
		MemoryContext old;
		Model	   *model;
		Predictions fold_pred = predictions_slice(out, at, fold->n_valid);

		/* what follows this fit: the other folds, then a refit on all rows */
		ctx.started = seconds_now();
		ctx.followup_factor = (v->n_folds - f - 1) +
			refit_factor((double) td->frame->n_rows / Max(fold->n_train, 1));
		old = MemoryContextSwitchTo(fit_cxt);
		model = fit_model(td, learner, hyperparams, fold->train, fold->n_train, &ctx);

		if (ctx.stopped)
		{
			MemoryContextSwitchTo(old);
			MemoryContextDelete(fit_cxt);
			return false;
		}
		predict_rows(td, model, NULL, fold->valid, fold->n_valid, fold_pred.pred);
		MemoryContextSwitchTo(old);
		MemoryContextReset(fit_cxt);
		fold_scores[f] = metric_score(metric, &fold_pred);
		at += fold->n_valid;
	}
	MemoryContextDelete(fit_cxt);
	return true;
}
