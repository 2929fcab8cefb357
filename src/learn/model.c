/*
 * model.c: predicting with a Model, a single learner or an ensemble.
 *
 * An ensemble's members were fitted from copies of one feature spec, so they
 * read the same columns: the raw values of a row are made once and each
 * member prepares them its own way (trees raw, linear models one-hot and
 * standardised).
 */
#include "postgres.h"

#include <math.h>

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

/* Points of the midpoint rule that integrates softmax gradients along the path. */
#define PATH_POINTS 32

/*
 * Adds to share the residual so that share sums to change: in proportion to
 * each share's size (signs kept), or, when every share is 0, to none (the
 * caller keeps it in the base). Returns what could not be placed.
 */
static double
place_residual(double *share, int n, double change)
{
	double		sum = 0.0;
	double		size = 0.0;
	double		residual;

	for (int j = 0; j < n; j++)
	{
		sum += share[j];
		size += fabs(share[j]);
	}
	residual = change - sum;
	if (size <= 0.0)
		return residual;
	for (int j = 0; j < n; j++)
		share[j] += residual * fabs(share[j]) / size;
	return 0.0;
}

/*
 * One member's share of a classification ensemble's explanation of class c,
 * on the probability scale: weight times each input's share of the member's
 * change of probability, from its base probabilities b (at its base margins)
 * to the row's p, added into contribution (per column); weight times b into
 * base_all (every class). The shares follow the member's exact margin
 * contributions phi along the straight path from the base margins to the
 * row's (integrated gradients over the margins):
 *   log-odds margin: share_j = phi_j (p - b) / (z - z0), exact;
 *   softmax margins: share_j = integral of p_c(t) (phi_cj - sum_m p_m(t) phi_mj),
 *                    by the midpoint rule, its small error placed pro rata;
 *   a forest's probabilities: phi itself, exact.
 * They add up to p_c - b_c.
 */
static void
add_probability_contributions(const Model *member, const RawValue *raw, double *x, int c, double weight,
							  double *contribution, double *base_all)
{
	const Learner *learner = member->learner;
	int			F = member->prep->n_outputs;
	int			K = member->n_classes;
	int			n_margins = learner->n_margins(member->learner_state);
	const char *scale = learner->margin_scale(member->learner_state);
	double	   *phi = palloc(sizeof(double) * n_margins * (F + 1));
	double	   *share = palloc0(sizeof(double) * Max(F, 1));
	double	   *p = palloc(sizeof(double) * Max(K, 1));
	double	   *b = palloc(sizeof(double) * Max(K, 1));
	double		left;

	prep_apply(member->prep, raw, x);
	learner->predict(member->learner_state, x, p);
	learner->contributions(member->learner_state, x, phi);
	if (strcmp(scale, MARGIN_PROBABILITY) == 0)
	{
		for (int k = 0; k < K; k++)
			b[k] = phi[(size_t) k * (F + 1) + F];
		for (int j = 0; j < F; j++)
			share[j] = phi[(size_t) c * (F + 1) + j];
	}
	else if (n_margins == 1)
	{
		double		z0 = phi[F];
		double		dz = 0.0;
		b[1] = 1.0 / (1.0 + exp(-z0));
		b[0] = 1.0 - b[1];
		for (int j = 0; j < F; j++)
			dz += phi[j];
		for (int j = 0; j < F; j++)
			share[j] = dz != 0.0 ? phi[j] * (p[c] - b[c]) / dz : 0.0;	/* class 0: both signs flip */
	}
	else
	{
		double	   *z0 = palloc(sizeof(double) * K);
		double	   *dz = palloc0(sizeof(double) * K);
		double	   *zt = palloc(sizeof(double) * K);
		double	   *pt = palloc(sizeof(double) * K);

		for (int m = 0; m < K; m++)
		{
			z0[m] = phi[(size_t) m * (F + 1) + F];
			for (int j = 0; j < F; j++)
				dz[m] += phi[(size_t) m * (F + 1) + j];
		}
		learner_softmax(z0, K, b);
		for (int step = 0; step < PATH_POINTS; step++)
		{
			double		t = (step + 0.5) / PATH_POINTS;

			for (int m = 0; m < K; m++)
				zt[m] = z0[m] + t * dz[m];
			learner_softmax(zt, K, pt);
			for (int j = 0; j < F; j++)
			{
				double		mean = 0.0;

				for (int m = 0; m < K; m++)
					mean += pt[m] * phi[(size_t) m * (F + 1) + j];
				share[j] += pt[c] * (phi[(size_t) c * (F + 1) + j] - mean) / PATH_POINTS;
			}
		}
		pfree(z0);
		pfree(dz);
		pfree(zt);
		pfree(pt);
	}
	/* exact sums: the rounding, and the quadrature's error for softmax, placed pro rata */
	left = place_residual(share, F, p[c] - b[c]);
	for (int k = 0; k < K; k++)
		base_all[k] += weight * b[k];
	base_all[c] += weight * left;	/* nothing moved the margins, yet p did: the base's */
	for (int col = 0; col < member->prep->n_columns; col++)
	{
		const PrepColumn *pc = &member->prep->columns[col];

		for (int o = pc->first_output; o < pc->first_output + pc->n_outputs; o++)
			contribution[col] += weight * share[o];
	}
	pfree(phi);
	pfree(share);
	pfree(p);
	pfree(b);
}

/*
 * A classification ensemble's explanation of class c on the scale of the
 * probabilities automl_predict_proba returns: the members' shares averaged
 * with their weights (they add up to the averaged probability less the
 * averaged base). For a calibrated model the base is the calibrated averaged
 * base, and what calibration changes beyond that is shared among the columns
 * in proportion to the size of their shares.
 */
static void
explain_classification_ensemble(const Model *model, const RawValue *raw, double *x,
								const double *probabilities, int c, RowExplanation *ex)
{
	double	   *bases = palloc0(sizeof(double) * model->n_classes);

	for (int k = 0; k < model->n_members; k++)
		add_probability_contributions(model->members[k], raw, x, c, model->weights[k],
									  ex->contribution, bases);
	if (model->calibrator != NULL)
		calibration_apply(model->calibrator, bases);
	ex->base = bases[c];
	ex->base += place_residual(ex->contribution, ex->n_columns, probabilities[c] - bases[c]);
	ex->scale = MARGIN_PROBABILITY;
	pfree(bases);
}

RowExplanation
model_explain_row(const Model *model, const RawValue *raw, double *x, const double *probabilities,
			int class_index)
{
	RowExplanation ex;
	const Model *first = model->n_members > 0 ? model->members[0] : model;
	int			n_margins;
	int			m;

	memset(&ex, 0, sizeof(ex));
	ex.n_columns = model->prep->n_columns;
	ex.contribution = palloc0(sizeof(double) * Max(ex.n_columns, 1));
	ex.class_index = -1;
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

	if (model->n_members > 0 && model->task == TASK_CLASSIFICATION)
	{
		explain_classification_ensemble(model, raw, x, probabilities, class_index, &ex);
		ex.margin = ex.base;
		for (int c = 0; c < ex.n_columns; c++)
			ex.margin += ex.contribution[c];
		return ex;
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
