/*
 * optim.c: Nelder-Mead minimisation without constraints.
 *
 * Bounded parameters are the caller's business: it optimises unconstrained
 * values and maps them into their ranges (a logistic curve for a smoothing
 * weight). The coefficients are the standard ones (reflect 1, expand 2,
 * contract 1/2, shrink 1/2, as in Lagarias et al. 1998). A run stops when
 * the simplex's values agree to a relative tolerance or the evaluations run
 * out; callers restart from the best point, which fixes most collapses.
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "miscadmin.h"

typedef struct Simplex
{
	int			dim;
	double	   *points;			/* (dim + 1) x dim */
	double	   *values;			/* dim + 1 */
} Simplex;

static double *
vertex(Simplex *s, int i)
{
	return s->points + (size_t) i * s->dim;
}

/* Values that are not numbers count as the worst possible. */
static double
evaluate(ObjectiveFn f, void *arg, const double *x)
{
	double		v = f(arg, x);

	return isnan(v) ? INFINITY : v;
}

/* Index of the best, worst and second worst vertices. */
static void
rank(const Simplex *s, int *best, int *worst, int *second)
{
	*best = 0;
	*worst = 0;
	for (int i = 1; i <= s->dim; i++)
	{
		if (s->values[i] < s->values[*best])
			*best = i;
		if (s->values[i] > s->values[*worst])
			*worst = i;
	}
	*second = *best;
	for (int i = 0; i <= s->dim; i++)
	{
		if (i != *worst && s->values[i] > s->values[*second])
			*second = i;
	}
}

/* x = centroid + t * (centroid - worst) */
static void
along(const double *centroid, const double *worst, double t, double *x, int dim)
{
	for (int j = 0; j < dim; j++)
		x[j] = centroid[j] + t * (centroid[j] - worst[j]);
}

double
nelder_mead(ObjectiveFn f, void *arg, double *x, int dim, const double *step,
			double tolerance, int max_evaluations)
{
	Simplex		s;
	double	   *centroid = palloc(dim * sizeof(double));
	double	   *trial = palloc(dim * sizeof(double));
	double	   *trial2 = palloc(dim * sizeof(double));
	int			evaluations = 0;
	int			best,
				worst,
				second;
	double		result;

	s.dim = dim;
	s.points = palloc((size_t) (dim + 1) * dim * sizeof(double));
	s.values = palloc((dim + 1) * sizeof(double));
	for (int i = 0; i <= dim; i++)
	{
		memcpy(vertex(&s, i), x, dim * sizeof(double));
		if (i > 0)
			vertex(&s, i)[i - 1] += step[i - 1];
		s.values[i] = evaluate(f, arg, vertex(&s, i));
		evaluations++;
	}

	for (;;)
	{
		double		reflected;

		CHECK_FOR_INTERRUPTS();
		rank(&s, &best, &worst, &second);
		if (evaluations >= max_evaluations)
			break;
		if (isfinite(s.values[worst])
			&& s.values[worst] - s.values[best] <= tolerance * (fabs(s.values[best]) + 1e-20))
			break;

		memset(centroid, 0, dim * sizeof(double));
		for (int i = 0; i <= dim; i++)
		{
			if (i == worst)
				continue;
			for (int j = 0; j < dim; j++)
				centroid[j] += vertex(&s, i)[j] / dim;
		}

		along(centroid, vertex(&s, worst), 1.0, trial, dim);
		reflected = evaluate(f, arg, trial);
		evaluations++;
		if (reflected < s.values[best])
		{
			double		expanded;

			along(centroid, vertex(&s, worst), 2.0, trial2, dim);
			expanded = evaluate(f, arg, trial2);
			evaluations++;
			if (expanded < reflected)
			{
				memcpy(vertex(&s, worst), trial2, dim * sizeof(double));
				s.values[worst] = expanded;
			}
			else
			{
				memcpy(vertex(&s, worst), trial, dim * sizeof(double));
				s.values[worst] = reflected;
			}
			continue;
		}
		if (reflected < s.values[second])
		{
			memcpy(vertex(&s, worst), trial, dim * sizeof(double));
			s.values[worst] = reflected;
			continue;
		}

		/* contract: outside when the reflection beat the worst, else inside */
		{
			bool		outside = reflected < s.values[worst];
			double		contracted;

			along(centroid, vertex(&s, worst), outside ? 0.5 : -0.5, trial2, dim);
			contracted = evaluate(f, arg, trial2);
			evaluations++;
			if (contracted < (outside ? reflected : s.values[worst]))
			{
				memcpy(vertex(&s, worst), trial2, dim * sizeof(double));
				s.values[worst] = contracted;
				continue;
			}
		}

		/* shrink towards the best vertex */
		for (int i = 0; i <= dim; i++)
		{
			if (i == best)
				continue;
			for (int j = 0; j < dim; j++)
				vertex(&s, i)[j] = vertex(&s, best)[j] + 0.5 * (vertex(&s, i)[j] - vertex(&s, best)[j]);
			s.values[i] = evaluate(f, arg, vertex(&s, i));
			evaluations++;
		}
	}

	memcpy(x, vertex(&s, best), dim * sizeof(double));
	result = s.values[best];
	pfree(s.points);
	pfree(s.values);
	pfree(centroid);
	pfree(trial);
	pfree(trial2);
	return result;
}
