/*
 * ridge.c: ridge regression by the normal equations, solved with Cholesky.
 *
 * Minimises ||y - Xw - b||^2 + alpha ||w||^2 (scikit-learn's Ridge), with the
 * intercept unpenalised. X'X is accumulated block by block with dsyrk so that
 * cancel works on large tables.
 */
#include "postgres.h"

#include <math.h>

#include "learn/blas.h"
#include "learn/learner.h"
#include "miscadmin.h"

typedef struct RidgeState
{
	int			n_features;
	double		intercept;
	double	   *coef;
	double	   *mean;			/* of each input over the training rows, for explanations */
} RidgeState;

static const HyperparamDef ridge_hyperparams[] = {
	{"alpha", 1.0, 0.0, 1e12, false},
};

/*
 * The fit from the rows' sums: n, the mean of x and of y, X'X (upper triangle, row-major,
 * not centred) and X'y (not centred). gram and xty are overwritten; xbar is kept.
 */
static void *
ridge_solve(int d, double n, double *xbar, double ybar, double *gram, double *xty, double alpha)
{
	RidgeState *state = palloc0(sizeof(RidgeState));
	int			info = 0;
	int			one = 1;

	/* Centre: X'X - n xbar xbar' and X'y - n xbar ybar, then add the penalty. */
	for (int j = 0; j < d; j++)
	{
		for (int k = j; k < d; k++)
			gram[j * d + k] -= n * xbar[j] * xbar[k];
		gram[j * d + j] += alpha;
		xty[j] -= n * xbar[j] * ybar;
	}

	/* Row-major upper is column-major lower. */
	dposv_("L", &d, &one, gram, &d, xty, &d, &info, 1);
	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ridge regression failed: the features are linearly dependent"),
				 errhint("Use a positive alpha in hyperparams, or exclude duplicated columns.")));

	state->n_features = d;
	state->coef = xty;
	state->mean = xbar;
	state->intercept = ybar;
	for (int j = 0; j < d; j++)
		state->intercept -= xbar[j] * xty[j];
	return state;
}

static void *
ridge_fit(const Dataset *data, const double *hp, FitContext *ctx)
{
	int			d = data->n_features;
	int64		n = data->n_rows;
	double	   *gram = palloc0(sizeof(double) * d * d);
	double	   *xty = palloc0(sizeof(double) * d);
	double	   *xbar = palloc0(sizeof(double) * d);
	double		ybar = 0.0;
	void	   *state;

	for (int64 i = 0; i < n; i++)
	{
		for (int j = 0; j < d; j++)
			xbar[j] += data->X[i * d + j];
		ybar += data->y[i];
	}
	for (int j = 0; j < d; j++)
		xbar[j] /= n;
	ybar /= n;

	for (int64 start = 0; start < n; start += LEARN_BLOCK_ROWS)
	{
		int			rows = (int) Min(LEARN_BLOCK_ROWS, n - start);
		const double *Xb = data->X + start * d;

		CHECK_FOR_INTERRUPTS();
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, rows,
					1.0, Xb, d, 1.0, gram, d);
		cblas_dgemv(CblasRowMajor, CblasTrans, rows, d,
					1.0, Xb, d, data->y + start, 1, 1.0, xty, 1);
	}
	state = ridge_solve(d, (double) n, xbar, ybar, gram, xty, hp[0]);
	pfree(gram);
	return state;
}

void *
ridge_fit_statistics(const LinearStatistics *s, double alpha)
{
	int			d = s->n_features;
	double	   *gram = palloc(sizeof(double) * d * d);
	double	   *xty = palloc(sizeof(double) * d);
	double	   *xbar = palloc(sizeof(double) * d);
	void	   *state;

	if (s->n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ridge regression needs at least one row")));
	for (int j = 0; j < d; j++)
	{
		xbar[j] = s->sum_x[j] / s->n;
		xty[j] = s->xty[j];
	}
	memcpy(gram, s->xtx, sizeof(double) * d * d);
	state = ridge_solve(d, s->n, xbar, s->sum_y / s->n, gram, xty, alpha);
	pfree(gram);
	return state;
}

static void
ridge_predict(const void *opaque, const double *x, double *out)
{
	const RidgeState *state = opaque;
	double		sum = state->intercept;

	for (int j = 0; j < state->n_features; j++)
		sum += state->coef[j] * x[j];
	out[0] = sum;
}

static void
ridge_summarize(const void *opaque, JsonBuilder *json)
{
	const RidgeState *state = opaque;

	/* shaped as the multiclass logistic model's: one intercept and one row of coefficients */
	json_key(json, "intercept");
	json_numbers(json, &state->intercept, 1);
	json_key(json, "coef");
	json_begin_array(json);
	json_numbers(json, state->coef, state->n_features);
	json_end_array(json);
}

static void
ridge_save(const void *opaque, ByteWriter *w)
{
	const RidgeState *state = opaque;

	bytes_put_u32(w, (uint32) state->n_features);
	bytes_put_f64(w, state->intercept);
	bytes_put_f64_array(w, state->coef, state->n_features);
	bytes_put_f64_array(w, state->mean, state->n_features);
}

static void *
ridge_load(ByteReader *r, Task task, int n_features, int n_classes)
{
	RidgeState *state = palloc0(sizeof(RidgeState));

	if (task != TASK_REGRESSION)
		bytes_corrupted(r, "a ridge model must be a regression");
	state->n_features = (int) bytes_get_u32(r);
	if (state->n_features != n_features)
		bytes_corrupted(r, "the ridge coefficients do not match the features");
	state->intercept = bytes_get_finite_f64(r);
	state->coef = bytes_get_f64_array(r, state->n_features);
	state->mean = bytes_get_f64_array(r, state->n_features);
	return state;
}

static int
ridge_n_margins(const void *opaque)
{
	return 1;
}

static const char *
ridge_margin_scale(const void *opaque)
{
	return MARGIN_VALUE;
}

/*
 * Input j moves the prediction by coef_j (x_j - mean_j) from the prediction
 * at the training means: exact Shapley values for a linear model whose
 * inputs are taken as independent.
 */
static void
ridge_contributions(const void *opaque, const double *x, double *phi)
{
	const RidgeState *state = opaque;
	int			d = state->n_features;
	double		base = state->intercept;

	for (int j = 0; j < d; j++)
	{
		phi[j] = state->coef[j] * (x[j] - state->mean[j]);
		base += state->coef[j] * state->mean[j];
	}
	phi[d] = base;
}

const Learner ridge_learner = {
	.name = "ridge",
	.tasks = TASK_BIT(TASK_REGRESSION),
	.n_hyperparams = lengthof(ridge_hyperparams),
	.hyperparams = ridge_hyperparams,
	.fit = ridge_fit,
	.predict = ridge_predict,
	.summarize = ridge_summarize,
	.save = ridge_save,
	.load = ridge_load,
	.n_margins = ridge_n_margins,
	.margin_scale = ridge_margin_scale,
	.contributions = ridge_contributions,
};
