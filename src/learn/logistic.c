/*
 * logistic.c: L2-regularised logistic regression, binary and multinomial.
 *
 * Minimises the summed log loss + ||W||^2 / (2C) with unpenalised intercepts,
 * the objective of scikit-learn's LogisticRegression: by Newton's method for
 * two classes when the Hessian is affordable, else by L-BFGS. Rows may be
 * weighted by class (balanced weights for imbalanced classes). A binary
 * model has one weight vector (sigmoid); K > 2 classes have K (softmax).
 * Loss and gradient stream over blocks of rows with two dgemm calls each.
 */
#include "postgres.h"

#include <math.h>

#include "learn/blas.h"
#include "learn/learner.h"
#include "miscadmin.h"

#define LBFGS_HISTORY 10
#define MAX_CLASSES_STORED 100000

typedef struct LogisticState
{
	int			n_features;
	int			n_classes;
	int			n_outputs;		/* 1 for two classes, else n_classes */
	double	   *weights;		/* n_outputs x n_features */
	double	   *intercepts;		/* n_outputs */
	double	   *mean;			/* of each input over the training rows, for explanations */
	int			iterations;		/* solver iterations used (not stored) */
} LogisticState;

static const HyperparamDef logistic_hyperparams[] = {
	{"C", 1.0, 1e-8, 1e8, false},
	{"max_iter", 1000, 1, 100000, true},
};

typedef struct LossProblem
{
	const Dataset *data;
	int			n_outputs;
	double		lambda;			/* 1 / C */
	double	   *scores;			/* LEARN_BLOCK_ROWS x n_outputs scratch */
} LossProblem;

/* params and grad: n_outputs x d weights, then n_outputs intercepts. */
static double
loss_and_gradient(const LossProblem *p, const double *params, double *grad)
{
	const Dataset *data = p->data;
	int			d = data->n_features;
	int			m = p->n_outputs;
	const double *W = params;
	const double *b = params + (size_t) m * d;
	double	   *gW = grad;
	double	   *gb = grad + (size_t) m * d;
	double		loss = 0.0;

	memset(grad, 0, sizeof(double) * (size_t) m * (d + 1));
	for (int64 start = 0; start < data->n_rows; start += LEARN_BLOCK_ROWS)
	{
		int			rows = (int) Min(LEARN_BLOCK_ROWS, data->n_rows - start);
		const double *Xb = data->X + start * d;
		const int  *yb = data->label + start;
		double	   *Z = p->scores;

		CHECK_FOR_INTERRUPTS();
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, m, d,
					1.0, Xb, d, W, d, 0.0, Z, m);
		for (int i = 0; i < rows; i++)
		{
			double	   *z = Z + (size_t) i * m;
			double		w = data->class_weight ? data->class_weight[yb[i]] : 1.0;

			if (m == 1)
			{
				double		t = z[0] + b[0];
				double		y = (yb[i] == 1) ? 1.0 : 0.0;

				/* log(1 + e^t) - y t, without overflow */
				loss += w * ((t > 0 ? t + log1p(exp(-t)) : log1p(exp(t))) - y * t);
				z[0] = w * ((t >= 0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t))) - y);
				gb[0] += z[0];
			}
			else
			{
				double		top = -INFINITY;
				double		sum = 0.0;
				double		zy;

				for (int k = 0; k < m; k++)
				{
					z[k] += b[k];
					top = Max(top, z[k]);
				}
				zy = z[yb[i]];
				/* each class's exp once: z holds e^(z - top) until the sum is known */
				for (int k = 0; k < m; k++)
				{
					z[k] = exp(z[k] - top);
					sum += z[k];
				}
				loss += w * (top + log(sum) - zy);
				for (int k = 0; k < m; k++)
				{
					z[k] = w * (z[k] / sum - (k == yb[i] ? 1.0 : 0.0));
					gb[k] += z[k];
				}
			}
		}
		cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, d, rows,
					1.0, Z, m, Xb, d, 1.0, gW, d);
	}
	for (size_t j = 0; j < (size_t) m * d; j++)
	{
		loss += 0.5 * p->lambda * W[j] * W[j];
		gW[j] += p->lambda * W[j];
	}
	return loss;
}

static double
dot(const double *a, const double *b, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static double
max_abs(const double *a, int n)
{
	double		m = 0.0;

	for (int i = 0; i < n; i++)
		m = Max(m, fabs(a[i]));
	return m;
}

/*
 * L-BFGS with a backtracking (Armijo) line search. Stops when the largest
 * gradient component, per row, falls below 1e-9, or the loss stops moving.
 * Returns the iterations used.
 */
static int
minimise_lbfgs(const LossProblem *p, double *x, int n, int max_iter)
{
	double	   *g = palloc(sizeof(double) * n);
	double	   *x_new = palloc(sizeof(double) * n);
	double	   *g_new = palloc(sizeof(double) * n);
	double	   *dir = palloc(sizeof(double) * n);
	double	   *s_hist = palloc(sizeof(double) * n * LBFGS_HISTORY);
	double	   *y_hist = palloc(sizeof(double) * n * LBFGS_HISTORY);
	double		rho[LBFGS_HISTORY];
	double		alpha_tmp[LBFGS_HISTORY];
	int			n_hist = 0;
	int			newest = -1;
	double		gtol = 1e-9 * Max(1.0, (double) p->data->n_rows);
	double		f = loss_and_gradient(p, x, g);
	int			iter;

	for (iter = 0; iter < max_iter; iter++)
	{
		double		dg;
		double		step = 1.0;
		double		f_new = f;
		bool		moved = false;

		if (max_abs(g, n) <= gtol)
			break;

		/* Two-loop recursion: dir = -H g. */
		for (int i = 0; i < n; i++)
			dir[i] = -g[i];
		for (int h = 0; h < n_hist; h++)
		{
			int			idx = (newest - h + LBFGS_HISTORY) % LBFGS_HISTORY;

			alpha_tmp[idx] = rho[idx] * dot(s_hist + (size_t) idx * n, dir, n);
			for (int i = 0; i < n; i++)
				dir[i] -= alpha_tmp[idx] * y_hist[(size_t) idx * n + i];
		}
		if (n_hist > 0)
		{
			const double *s = s_hist + (size_t) newest * n;
			const double *y = y_hist + (size_t) newest * n;
			double		gamma = dot(s, y, n) / dot(y, y, n);

			for (int i = 0; i < n; i++)
				dir[i] *= gamma;
		}
		else
		{
			double		norm = sqrt(dot(g, g, n));

			for (int i = 0; i < n; i++)
				dir[i] /= Max(norm, 1.0);
		}
		for (int h = n_hist - 1; h >= 0; h--)
		{
			int			idx = (newest - h + LBFGS_HISTORY) % LBFGS_HISTORY;
			double		beta = rho[idx] * dot(y_hist + (size_t) idx * n, dir, n);

			for (int i = 0; i < n; i++)
				dir[i] += s_hist[(size_t) idx * n + i] * (alpha_tmp[idx] - beta);
		}

		dg = dot(g, dir, n);
		if (!(dg < 0.0))
		{
			/* Not a descent direction: forget the history, go downhill. */
			n_hist = 0;
			for (int i = 0; i < n; i++)
				dir[i] = -g[i] / Max(sqrt(dot(g, g, n)), 1.0);
			dg = dot(g, dir, n);
		}

		for (int tries = 0; tries < 60; tries++)
		{
			for (int i = 0; i < n; i++)
				x_new[i] = x[i] + step * dir[i];
			f_new = loss_and_gradient(p, x_new, g_new);
			if (f_new <= f + 1e-4 * step * dg)
			{
				moved = true;
				break;
			}
			step *= 0.5;
		}
		if (!moved)
			break;				/* no progress possible at double precision */

		/* Remember s = x_new - x and y = g_new - g when the curvature is positive. */
		{
			int			slot = (newest + 1) % LBFGS_HISTORY;
			double	   *s = s_hist + (size_t) slot * n;
			double	   *y = y_hist + (size_t) slot * n;
			double		sy;

			for (int i = 0; i < n; i++)
			{
				s[i] = x_new[i] - x[i];
				y[i] = g_new[i] - g[i];
			}
			sy = dot(s, y, n);
			if (sy > 1e-12 * dot(y, y, n))
			{
				rho[slot] = 1.0 / sy;
				newest = slot;
				n_hist = Min(n_hist + 1, LBFGS_HISTORY);
			}
		}
		memcpy(x, x_new, sizeof(double) * n);
		memcpy(g, g_new, sizeof(double) * n);
		if (f - f_new <= 1e-15 * Max(1.0, fabs(f)))
		{
			f = f_new;
			iter++;
			break;
		}
		f = f_new;
	}
	pfree(g);
	pfree(x_new);
	pfree(g_new);
	pfree(dir);
	pfree(s_hist);
	pfree(y_hist);
	return iter;
}

/*
 * Newton's method for two classes: the Hessian X~'DX~ + lambda I (X~ = [X 1],
 * D = weight * p(1-p), intercept unpenalised) is accumulated with dsyrk over
 * blocks of rows scaled by sqrt(D) and solved by Cholesky; a backtracking
 * line search keeps every step downhill. It converges in a few iterations
 * where L-BFGS may need hundreds. Returns the iterations used, or -1 if the
 * Hessian is not positive definite (the caller then uses L-BFGS).
 */
static int
minimise_newton_binary(const LossProblem *p, double *x, int n, int max_iter)
{
	const Dataset *data = p->data;
	int			d = data->n_features;
	int			m = d + 1;			/* weights and the intercept */
	double	   *g = palloc(sizeof(double) * n);
	double	   *g_new = palloc(sizeof(double) * n);
	double	   *x_new = palloc(sizeof(double) * n);
	double	   *hessian = palloc(sizeof(double) * m * m);
	double	   *step = palloc(sizeof(double) * m);
	double	   *scaled = palloc(sizeof(double) * LEARN_BLOCK_ROWS * m);
	double		gtol = 1e-9 * Max(1.0, (double) data->n_rows);
	double		f = loss_and_gradient(p, x, g);
	int			iter;
	int			one = 1;

	Assert(n == m);
	for (iter = 0; iter < max_iter; iter++)
	{
		double		dg = 0.0;
		double		t_step = 1.0;
		double		f_new = f;
		bool		moved = false;
		int			info = 0;

		if (max_abs(g, n) <= gtol)
			break;

		memset(hessian, 0, sizeof(double) * m * m);
		for (int64 start = 0; start < data->n_rows; start += LEARN_BLOCK_ROWS)
		{
			int			rows = (int) Min(LEARN_BLOCK_ROWS, data->n_rows - start);
			const double *Xb = data->X + start * d;

			CHECK_FOR_INTERRUPTS();
			for (int i = 0; i < rows; i++)
			{
				const double *xi = Xb + (size_t) i * d;
				double		t = x[d];
				double		prob;
				double		w = data->class_weight ? data->class_weight[data->label[start + i]] : 1.0;
				double		root;

				for (int j = 0; j < d; j++)
					t += x[j] * xi[j];
				prob = t >= 0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
				root = sqrt(w * prob * (1.0 - prob));
				for (int j = 0; j < d; j++)
					scaled[(size_t) i * m + j] = root * xi[j];
				scaled[(size_t) i * m + d] = root;
			}
			cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, m, rows,
						1.0, scaled, m, 1.0, hessian, m);
		}
		for (int j = 0; j < d; j++)
			hessian[j * m + j] += p->lambda;

		for (int j = 0; j < m; j++)
			step[j] = -g[j];
		dposv_("L", &m, &one, hessian, &m, step, &m, &info, 1);
		if (info != 0)
		{
			iter = -1;
			break;
		}

		for (int j = 0; j < m; j++)
			dg += g[j] * step[j];
		for (int tries = 0; tries < 40; tries++)
		{
			for (int j = 0; j < m; j++)
				x_new[j] = x[j] + t_step * step[j];
			f_new = loss_and_gradient(p, x_new, g_new);
			if (f_new <= f + 1e-4 * t_step * dg)
			{
				moved = true;
				break;
			}
			t_step *= 0.5;
		}
		if (!moved)
			break;				/* no progress possible at double precision */
		memcpy(x, x_new, sizeof(double) * n);
		memcpy(g, g_new, sizeof(double) * n);
		if (f - f_new <= 1e-15 * Max(1.0, fabs(f)))
		{
			iter++;
			break;
		}
		f = f_new;
	}
	pfree(g);
	pfree(g_new);
	pfree(x_new);
	pfree(hessian);
	pfree(step);
	pfree(scaled);
	return iter;
}

/* Newton's Hessian costs rows x inputs^2 per iteration: worth it below this. */
#define NEWTON_MAX_WORK 4e9

static void *
logistic_fit(const Dataset *data, const double *hp, FitContext *ctx)
{
	LogisticState *state = palloc0(sizeof(LogisticState));
	LossProblem problem;
	int			d = data->n_features;
	int			m = data->n_classes == 2 ? 1 : data->n_classes;
	int			n_params = m * (d + 1);
	double	   *params = palloc0(sizeof(double) * n_params);
	int			max_iter = (int) hp[1];

	problem.data = data;
	problem.n_outputs = m;
	problem.lambda = 1.0 / hp[0];
	problem.scores = palloc(sizeof(double) * LEARN_BLOCK_ROWS * m);

	state->iterations = -1;
	if (m == 1 && (double) data->n_rows * (d + 1) * (d + 1) <= NEWTON_MAX_WORK)
		state->iterations = minimise_newton_binary(&problem, params, n_params, max_iter);
	if (state->iterations < 0)
	{
		memset(params, 0, sizeof(double) * n_params);
		state->iterations = minimise_lbfgs(&problem, params, n_params, max_iter);
	}
	if (state->iterations >= max_iter)
		ereport(NOTICE,
				(errmsg("logistic regression stopped at max_iter (%d) before converging", max_iter),
				 errhint("Raise max_iter in hyperparams, or lower C.")));

	state->n_features = d;
	state->n_classes = data->n_classes;
	state->n_outputs = m;
	state->weights = params;
	state->intercepts = params + (size_t) m * d;
	state->mean = palloc0(sizeof(double) * Max(d, 1));
	for (int64 i = 0; i < data->n_rows; i++)
	{
		for (int j = 0; j < d; j++)
			state->mean[j] += data->X[i * d + j];
	}
	for (int j = 0; j < d; j++)
		state->mean[j] /= Max(data->n_rows, 1);
	pfree(problem.scores);
	return state;
}

static void
logistic_predict(const void *opaque, const double *x, double *out)
{
	const LogisticState *state = opaque;
	int			d = state->n_features;

	if (state->n_outputs == 1)
	{
		double		t = state->intercepts[0];

		for (int j = 0; j < d; j++)
			t += state->weights[j] * x[j];
		out[1] = t >= 0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
		out[0] = 1.0 - out[1];
	}
	else
	{
		for (int k = 0; k < state->n_outputs; k++)
		{
			const double *w = state->weights + (size_t) k * d;
			double		t = state->intercepts[k];

			for (int j = 0; j < d; j++)
				t += w[j] * x[j];
			out[k] = t;
		}
		learner_softmax(out, state->n_outputs, out);
	}
}

static void
logistic_summarize(const void *opaque, JsonBuilder *json)
{
	const LogisticState *state = opaque;

	json_key(json, "intercept");
	json_numbers(json, state->intercepts, state->n_outputs);
	json_key(json, "coef");
	json_begin_array(json);
	for (int k = 0; k < state->n_outputs; k++)
		json_numbers(json, state->weights + (size_t) k * state->n_features, state->n_features);
	json_end_array(json);
	json_key_int(json, "solver_iterations", state->iterations);
}

static void
logistic_save(const void *opaque, ByteWriter *w)
{
	const LogisticState *state = opaque;

	bytes_put_u32(w, (uint32) state->n_features);
	bytes_put_u32(w, (uint32) state->n_classes);
	bytes_put_f64_array(w, state->weights, (size_t) state->n_outputs * state->n_features);
	bytes_put_f64_array(w, state->intercepts, state->n_outputs);
	bytes_put_f64_array(w, state->mean, state->n_features);
}

static void *
logistic_load(ByteReader *r, Task task, int n_features, int n_classes)
{
	LogisticState *state = palloc0(sizeof(LogisticState));

	if (task != TASK_CLASSIFICATION)
		bytes_corrupted(r, "a logistic model must be a classification");
	state->n_features = (int) bytes_get_u32(r);
	state->n_classes = (int) bytes_get_u32(r);
	if (state->n_features != n_features || state->n_classes != n_classes ||
		n_classes < 2 || n_classes > MAX_CLASSES_STORED)
		bytes_corrupted(r, "the logistic coefficients do not match the features and classes");
	state->n_outputs = n_classes == 2 ? 1 : n_classes;
	if ((uint64) state->n_outputs * state->n_features > r->left / 8)
		bytes_corrupted(r, "the logistic coefficients are longer than the bytes left");
	state->weights = bytes_get_f64_array(r, (size_t) state->n_outputs * state->n_features);
	state->intercepts = bytes_get_f64_array(r, state->n_outputs);
	state->mean = bytes_get_f64_array(r, state->n_features);
	return state;
}

/* The scores before the sigmoid (class 1's log-odds) or the softmax (one per class). */
static int
logistic_n_margins(const void *opaque)
{
	const LogisticState *state = opaque;

	return state->n_outputs;
}

static const char *
logistic_margin_scale(const void *opaque)
{
	const LogisticState *state = opaque;

	return state->n_outputs == 1 ? MARGIN_LOG_ODDS : MARGIN_LOGIT;
}

/* Per score, as ridge_contributions: w_j (x_j - mean_j), and the score at the means. */
static void
logistic_contributions(const void *opaque, const double *x, double *phi)
{
	const LogisticState *state = opaque;
	int			d = state->n_features;

	for (int k = 0; k < state->n_outputs; k++)
	{
		const double *w = state->weights + (size_t) k * d;
		double	   *row = phi + (size_t) k * (d + 1);
		double		base = state->intercepts[k];

		for (int j = 0; j < d; j++)
		{
			row[j] = w[j] * (x[j] - state->mean[j]);
			base += w[j] * state->mean[j];
		}
		row[d] = base;
	}
}

const Learner logistic_learner = {
	.name = "logistic",
	.tasks = TASK_BIT(TASK_CLASSIFICATION),
	.n_hyperparams = lengthof(logistic_hyperparams),
	.hyperparams = logistic_hyperparams,
	.fit = logistic_fit,
	.predict = logistic_predict,
	.summarize = logistic_summarize,
	.save = logistic_save,
	.load = logistic_load,
	.n_margins = logistic_n_margins,
	.margin_scale = logistic_margin_scale,
	.contributions = logistic_contributions,
};
