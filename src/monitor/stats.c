/*
 * stats.c: distances between two distributions given as shares.
 */
#include "postgres.h"

#include <math.h>

#include "monitor/monitor.h"

double
js_distance(const double *p, const double *q, int n)
{
	double		divergence = 0.0;

	for (int i = 0; i < n; i++)
	{
		double		m = 0.5 * (p[i] + q[i]);

		if (p[i] > 0.0)
			divergence += 0.5 * p[i] * log2(p[i] / m);
		if (q[i] > 0.0)
			divergence += 0.5 * q[i] * log2(q[i] / m);
	}
	/* shares that differ only by rounding: no distance, not sqrt(1e-16) = 1e-8 */
	if (divergence < 1e-12)
		return 0.0;
	return sqrt(divergence);
}

double
linf_distance(const double *p, const double *q, int n)
{
	double		d = 0.0;

	for (int i = 0; i < n; i++)
		d = Max(d, fabs(p[i] - q[i]));
	return d;
}

double
population_stability_index(const double *p, const double *q, int n)
{
	double		psi = 0.0;

	for (int i = 0; i < n; i++)
	{
		double		a = Max(p[i], MONITOR_PSI_FLOOR);
		double		b = Max(q[i], MONITOR_PSI_FLOOR);

		psi += (b - a) * log(b / a);
	}
	return psi;
}

bool
counts_to_shares(const double *counts, int n, double *shares)
{
	double		sum = 0.0;

	for (int i = 0; i < n; i++)
		sum += counts[i];
	if (!(sum > 0.0))
		return false;
	for (int i = 0; i < n; i++)
		shares[i] = counts[i] / sum;
	return true;
}
