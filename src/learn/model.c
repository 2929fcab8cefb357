/*
 * model.c: predicting with a Model, a single learner or an ensemble.
 *
 * An ensemble's members were fitted from copies of one feature spec, so they
 * read the same columns: the raw values of a row are made once and each
 * member prepares them its own way (trees raw, linear models one-hot and
 * standardised).
 */
#include "postgres.h"

#include "learn/model.h"

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

/* ---- explanations ---- */

/* Adds weight times one single model's contributions to margin m into ex. */
static void
add_contributions(const Model *model, const RawValue *raw, double *x, int m, double weight,
				  RowExplanation *ex)
{
	const Learner *learner = model->learner;
	int			F = model->prep->n_outputs;
	int			n_margins = learner->n_margins(model->learner_state);
	double	   *phi = palloc(sizeof(double) * n_margins * (F + 1));
	const double *row;

	prep_apply(model->prep, raw, x);
	learner->contributions(model->learner_state, x, phi);
	row = phi + (size_t) Min(m, n_margins - 1) * (F + 1);
	for (int c = 0; c < model->prep->n_columns; c++)
	{
		const PrepColumn *col = &model->prep->columns[c];

		for (int o = col->first_output; o < col->first_output + col->n_outputs; o++)
			ex->contribution[c] += weight * row[o];
	}
	ex->base += weight * row[F];
	pfree(phi);
}

RowExplanation
model_explain_row(const Model *model, const RawValue *raw, double *x, const double *probabilities,
			int class_index, const char *model_name)
{
	RowExplanation ex;
	const Model *first = model->n_members > 0 ? model->members[0] : model;
	int			n_margins;
	int			m;

	memset(&ex, 0, sizeof(ex));
	ex.n_columns = model->prep->n_columns;
	ex.contribution = palloc0(sizeof(double) * Max(ex.n_columns, 1));
	ex.class_index = -1;
	if (model->n_members > 0 && model->task == TASK_CLASSIFICATION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is an ensemble of classifiers, whose averaged probabilities have no additive margin to explain",
						model_name),
				 errhint("automl_feature_importance explains it globally; a model trained with one algorithm (algorithms => ARRAY['gbdt']) can be explained per row.")));
	if (model->task == TASK_CLASSIFICATION)
	{
		if (class_index < 0)
		{
			class_index = 0;
			for (int k = 1; k < model->n_classes; k++)
			{
				if (probabilities[k] > probabilities[class_index])
					class_index = k;
			}
			if (model->n_classes == 2)
				class_index = 1;
		}
		ex.class_index = class_index;
	}

	/* a binary model with one margin explains the positive class's */
	n_margins = first->learner->n_margins(first->learner_state);
	m = model->task == TASK_REGRESSION ? 0 : (n_margins == 1 ? 0 : class_index);
	ex.scale = first->learner->margin_scale(first->learner_state);
	if (model->n_members == 0)
		add_contributions(model, raw, x, m, 1.0, &ex);
	else
		for (int k = 0; k < model->n_members; k++)
			add_contributions(model->members[k], raw, x, 0, model->weights[k], &ex);

	/* one log-odds margin is the positive class's; the negative class's is its negation */
	if (model->task == TASK_CLASSIFICATION && n_margins == 1 && class_index == 0)
	{
		for (int c = 0; c < ex.n_columns; c++)
			ex.contribution[c] = -ex.contribution[c];
		ex.base = -ex.base;
	}
	ex.margin = ex.base;
	for (int c = 0; c < ex.n_columns; c++)
		ex.margin += ex.contribution[c];
	return ex;
}
