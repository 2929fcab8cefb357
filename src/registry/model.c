/*
 * model.c: predicting with a Model, a single learner or an ensemble.
 *
 * An ensemble's members were fitted from copies of one feature spec, so they
 * read the same columns: the raw values of a row are made once and each
 * member prepares them its own way (trees raw, linear models one-hot and
 * standardised).
 */
#include "postgres.h"

#include "evaluate/evaluate.h"
#include "registry/registry.h"

int
model_input_width(const Model *model)
{
	int			width = model->prep->n_outputs;

	for (int m = 0; m < model->n_members; m++)
		width = Max(width, model_input_width(model->members[m]));
	return Max(width, 1);
}

void
model_predict_raw(const Model *model, const RawValue *raw, double *x, double *out)
{
	int			width = model->task == TASK_REGRESSION ? 1 : model->n_classes;

	if (model->n_members == 0)
	{
		prep_apply(model->prep, raw, x);
		model->learner->predict(model->learner_state, x, out);
	}
	else
	{
		for (int k = 0; k < width; k++)
			out[k] = 0.0;
		for (int m = 0; m < model->n_members; m++)
		{
			model_predict_raw(model->members[m], raw, x, model->scratch);
			for (int k = 0; k < width; k++)
				out[k] += model->weights[m] * model->scratch[k];
		}
	}
	if (model->calibrator)
		calibration_apply(model->calibrator, out);
}

Model *
model_make_ensemble(Model **members, const double *weights, int n_members)
{
	Model	   *model = palloc0(sizeof(Model));
	int			width;

	Assert(n_members > 0);
	model->task = members[0]->task;
	model->learner = NULL;
	model->prep = members[0]->prep;
	model->n_classes = members[0]->n_classes;
	model->classes = members[0]->classes;
	model->n_members = n_members;
	model->members = palloc(sizeof(Model *) * n_members);
	model->weights = palloc(sizeof(double) * n_members);
	for (int m = 0; m < n_members; m++)
	{
		model->members[m] = members[m];
		model->weights[m] = weights[m];
	}
	width = model->task == TASK_REGRESSION ? 1 : model->n_classes;
	model->scratch = palloc(sizeof(double) * width);
	return model;
}

const char *
model_algorithm(const Model *model)
{
	return model->n_members > 0 ? "ensemble" : model->learner->name;
}
