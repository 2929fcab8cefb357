/*
 * series.c: observations placed on their period grid.
 *
 * Every row's timestamp counts for the grid, also a row whose target is
 * NULL. The series then runs from the first to the last non-NULL target:
 * NULLs at either end are dropped (there is nothing to interpolate towards),
 * and each interior hole, a missing period or a NULL target, is filled on the
 * straight line between its observed neighbours. Linear interpolation keeps
 * trend and level and is what a reader expects; it flattens the season over
 * a long gap, which is why the gap counts are reported.
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"

static bool
target_is_null(const double *values, const bool *is_null, int i)
{
	return is_null != NULL ? is_null[i] : isnan(values[i]);
}

RegularSeries *
forecast_regularize(const double *times, const double *values, const bool *is_null, int n)
{
	RegularSeries *series = palloc0(sizeof(RegularSeries));
	GridReport	report;
	int			first = -1;
	int			last = -1;
	int			start;
	bool	   *known;

	for (int i = 0; i < n; i++)
	{
		if (!target_is_null(values, is_null, i))
		{
			if (!isfinite(values[i]))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("the target column has an infinite value"),
						 errhint("Leave those rows out or set their target to NULL.")));
			if (first < 0)
				first = i;
			last = i;
		}
	}
	if (first < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the target column has only NULL values"),
				 errhint("A forecast needs observed values of the target.")));

	series->grid = forecast_infer_grid(times, n, &report);
	series->n_trimmed = first + (n - 1 - last);
	start = forecast_grid_index(&series->grid, times[first]);
	series->n = forecast_grid_index(&series->grid, times[last]) - start + 1;
	series->grid.origin = times[first];
	series->y = palloc(series->n * sizeof(double));
	known = palloc0(series->n * sizeof(bool));

	for (int i = first; i <= last; i++)
	{
		int			k = forecast_grid_index(&series->grid, times[i]);

		if (k < 0 || k >= series->n)
			elog(ERROR, "timestamp off the inferred grid");
		if (target_is_null(values, is_null, i))
			series->n_null++;
		else
		{
			series->y[k] = values[i];
			known[k] = true;
		}
	}
	series->n_gaps = series->n - (last - first + 1);
	series->n_filled = series->n_gaps + series->n_null;

	/* Both ends are known, so every hole has a neighbour on each side. */
	for (int k = 1, left = 0; k < series->n; k++)
	{
		if (!known[k])
			continue;
		for (int j = left + 1; j < k; j++)
			series->y[j] = series->y[left]
				+ (series->y[k] - series->y[left]) * (double) (j - left) / (double) (k - left);
		left = k;
	}
	pfree(known);
	return series;
}

double
forecast_mean_abs(const double *y, int n)
{
	double		total = 0.0;

	for (int i = 0; i < n; i++)
		total += fabs(y[i]);
	return total > 0.0 ? total / n : 1.0;
}
