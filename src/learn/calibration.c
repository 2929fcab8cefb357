/*
 * calibration.c: class probabilities that mean what they say.
 *
 * Boosted trees, forests and class-weighted fits often rank well but give
 * probabilities that are too sure or too timid. A calibrator maps each
 * probability through a fitted monotone function: Platt's sigmoid on the
 * log-odds (two parameters, robust on few rows) or isotonic regression (a
 * free monotone step shape, needs more rows). Which one, if any, the search
 * decides (src/search/calibrate.c); this file fits, applies and stores them.
 */
#include "postgres.h"

#include <math.h>

#include "learn/calibration.h"
#include "miscadmin.h"

#define CALIBRATION_MAX_POINTS 100000
#define PROBABILITY_FLOOR 1e-12

static const char *const method_names[] = {"none", "platt", "isotonic"};

const char *
calibration_method_name(CalibrationMethod method)
{
	return method_names[method];
}

bool
calibration_request_valid(const char *name)
{
	if (strcmp(name, "auto") == 0)
		return true;
	for (int m = 0; m < lengthof(method_names); m++)
	{
		if (strcmp(name, method_names[m]) == 0)
			return true;
	}
	return false;
}

static inline double
logit(double p)
{
	p = Min(Max(p, PROBABILITY_FLOOR), 1.0 - PROBABILITY_FLOOR);
	return log(p / (1.0 - p));
}

static inline double
sigmoid(double t)
{
	return t >= 0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
}

/* ---- fitting one map on (probability, is-positive) pairs ---- */

/* Cross-entropy of sigmoid(a z + b) against the soft targets, stable in a z + b. */
static double
platt_loss(int64 n, const double *z, const bool *positive, double target_pos, double target_neg,
		   double a, double b)
{
	double		loss = 0.0;

	for (int64 i = 0; i < n; i++)
	{
		double		t = positive[i] ? target_pos : target_neg;
		double		m = a * z[i] + b;

		loss += (m > 0 ? m + log1p(exp(-m)) : log1p(exp(m))) - t * m;
	}
	return loss;
}

/*
 * Platt scaling by Newton's method on the log loss, with Platt's smoothed
 * targets ((positives + 1) / (positives + 2) and 1 / (negatives + 2)) so
 * that separable data does not drive the slope to infinity.
 */
static void
fit_platt(int64 n, const double *p, const bool *positive, CalibrationMap *map)
{
	double		n_pos = 0.0;
	double		target_pos,
				target_neg;
	double		a = 1.0,
				b = 0.0;
	double	   *z = palloc(sizeof(double) * n);
	double		loss = INFINITY;

	for (int64 i = 0; i < n; i++)
	{
		z[i] = logit(p[i]);
		n_pos += positive[i];
	}
	target_pos = (n_pos + 1.0) / (n_pos + 2.0);
	target_neg = 1.0 / (n - n_pos + 2.0);
	loss = platt_loss(n, z, positive, target_pos, target_neg, a, b);

	for (int iter = 0; iter < 100; iter++)
	{
		double		g_a = 0.0,
					g_b = 0.0,
					h_aa = 1e-12,
					h_ab = 0.0,
					h_bb = 1e-12;
		double		det,
					step_a,
					step_b,
					scale = 1.0;

		for (int64 i = 0; i < n; i++)
		{
			double		q = sigmoid(a * z[i] + b);
			double		t = positive[i] ? target_pos : target_neg;
			double		w = q * (1.0 - q);

			g_a += (q - t) * z[i];
			g_b += (q - t);
			h_aa += w * z[i] * z[i];
			h_ab += w * z[i];
			h_bb += w;
		}
		det = h_aa * h_bb - h_ab * h_ab;
		if (!(fabs(det) > 0))
			break;
		step_a = (h_bb * g_a - h_ab * g_b) / det;
		step_b = (h_aa * g_b - h_ab * g_a) / det;

		/* halve the step until the loss goes down */
		for (;;)
		{
			double		na = a - scale * step_a,
						nb = b - scale * step_b,
						new_loss = platt_loss(n, z, positive, target_pos, target_neg, na, nb);

			if (new_loss <= loss)
			{
				a = na;
				b = nb;
				if (loss - new_loss < 1e-12 * Max(fabs(loss), 1.0) && iter > 0)
					iter = 100;	/* converged */
				loss = new_loss;
				break;
			}
			scale *= 0.5;
			if (scale < 1e-10)
			{
				iter = 100;		/* no step lowers the loss: a minimum */
				break;
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
	map->a = a;
	map->b = b;
	pfree(z);
}

typedef struct Point
{
	double		x;
	double		y;				/* share of positives */
	double		weight;			/* rows pooled */
} Point;

static int
compare_point_x(const void *l, const void *r)
{
	double		a = ((const Point *) l)->x,
				b = ((const Point *) r)->x;

	return (a > b) - (a < b);
}

/*
 * Isotonic regression by pool-adjacent-violators, then only the points where
 * the fitted step shape bends are kept, as scikit-learn's IsotonicRegression
 * keeps them; prediction interpolates linearly between them and clamps
 * outside.
 */
static void
fit_isotonic(int64 n, const double *p, const bool *positive, CalibrationMap *map)
{
	Point	   *pts = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Point) * n);
	int64		n_unique = 0;
	Point	   *fit;
	int64	   *block_end;
	int64		n_blocks = 0;
	int64		kept = 0;

	for (int64 i = 0; i < n; i++)
	{
		pts[i].x = p[i];
		pts[i].y = positive[i] ? 1.0 : 0.0;
		pts[i].weight = 1.0;
	}
	qsort(pts, n, sizeof(Point), compare_point_x);

	/* equal x pooled first: one point with their mean */
	for (int64 i = 0; i < n; i++)
	{
		if (n_unique > 0 && pts[n_unique - 1].x == pts[i].x)
		{
			Point	   *u = &pts[n_unique - 1];

			u->y = (u->y * u->weight + pts[i].y) / (u->weight + 1.0);
			u->weight += 1.0;
		}
		else
			pts[n_unique++] = pts[i];
	}

	/* PAV: blocks of pooled points, merged while they decrease */
	fit = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Point) * n_unique);
	block_end = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n_unique);
	for (int64 i = 0; i < n_unique; i++)
	{
		fit[n_blocks] = pts[i];
		block_end[n_blocks] = i;
		n_blocks++;
		while (n_blocks > 1 && fit[n_blocks - 2].y >= fit[n_blocks - 1].y)
		{
			Point	   *l = &fit[n_blocks - 2],
					   *r = &fit[n_blocks - 1];

			l->y = (l->y * l->weight + r->y * r->weight) / (l->weight + r->weight);
			l->weight += r->weight;
			block_end[n_blocks - 2] = block_end[n_blocks - 1];
			n_blocks--;
		}
	}

	/* every unique x gets its block's value; keep the first and last x of each block */
	map->x = palloc(sizeof(double) * Min(2 * n_blocks, n_unique));
	map->y = palloc(sizeof(double) * Min(2 * n_blocks, n_unique));
	for (int64 bi = 0, start = 0; bi < n_blocks; start = block_end[bi] + 1, bi++)
	{
		map->x[kept] = pts[start].x;
		map->y[kept++] = fit[bi].y;
		if (block_end[bi] != start)
		{
			map->x[kept] = pts[block_end[bi]].x;
			map->y[kept++] = fit[bi].y;
		}
	}
	/* a very fine shape is thinned evenly (still monotone) to what a model may store */
	if (kept > CALIBRATION_MAX_POINTS)
	{
		int64		step = (kept + CALIBRATION_MAX_POINTS - 2) / (CALIBRATION_MAX_POINTS - 1);
		int64		out = 0;

		for (int64 i = 0; i < kept; i += step)
		{
			map->x[out] = map->x[i];
			map->y[out++] = map->y[i];
		}
		map->x[out - 1] = map->x[kept - 1];
		map->y[out - 1] = map->y[kept - 1];
		kept = out;
	}
	map->n_points = (int) kept;
	pfree(pts);
	pfree(fit);
	pfree(block_end);
}

static double
apply_map(CalibrationMethod method, const CalibrationMap *map, double p)
{
	int			lo,
				hi;

	if (method == CALIBRATION_PLATT)
		return sigmoid(map->a * logit(p) + map->b);
	if (p <= map->x[0])
		return map->y[0];
	if (p >= map->x[map->n_points - 1])
		return map->y[map->n_points - 1];
	/* the last x <= p, by bisection */
	lo = 0;
	hi = map->n_points - 1;
	while (hi - lo > 1)
	{
		int			mid = (lo + hi) / 2;

		if (map->x[mid] <= p)
			lo = mid;
		else
			hi = mid;
	}
	if (map->x[hi] == map->x[lo])
		return map->y[lo];
	return map->y[lo] + (map->y[hi] - map->y[lo]) * (p - map->x[lo]) / (map->x[hi] - map->x[lo]);
}

void
calibration_apply(const Calibrator *cal, double *probabilities)
{
	double		sum = 0.0;

	if (cal == NULL || cal->method == CALIBRATION_NONE)
		return;
	if (cal->n_maps == 1)
	{
		double		p = apply_map(cal->method, &cal->maps[0], probabilities[1]);

		probabilities[1] = p;
		probabilities[0] = 1.0 - p;
		return;
	}
	for (int k = 0; k < cal->n_classes; k++)
	{
		probabilities[k] = apply_map(cal->method, &cal->maps[k], probabilities[k]);
		sum += probabilities[k];
	}
	for (int k = 0; k < cal->n_classes; k++)
		probabilities[k] = sum > 0 ? probabilities[k] / sum : 1.0 / cal->n_classes;
}

/* A calibrator of method fitted on the given rows of the predictions. */
Calibrator *
calibration_fit(CalibrationMethod method, const int64 *rows, int64 n_rows, const double *pred,
			   const int *label, int n_classes)
{
	Calibrator *cal = palloc0(sizeof(Calibrator));
	double	   *p = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n_rows);
	bool	   *positive = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * n_rows);

	cal->method = method;
	cal->n_classes = n_classes;
	cal->n_maps = n_classes == 2 ? 1 : n_classes;
	cal->maps = palloc0(sizeof(CalibrationMap) * cal->n_maps);
	for (int m = 0; m < cal->n_maps; m++)
	{
		int			k = n_classes == 2 ? 1 : m;

		for (int64 i = 0; i < n_rows; i++)
		{
			p[i] = pred[rows[i] * n_classes + k];
			positive[i] = label[rows[i]] == k;
		}
		if (method == CALIBRATION_PLATT)
			fit_platt(n_rows, p, positive, &cal->maps[m]);
		else
			fit_isotonic(n_rows, p, positive, &cal->maps[m]);
	}
	pfree(p);
	pfree(positive);
	return cal;
}

/* ---- bytes ---- */

void
calibration_save(const Calibrator *cal, ByteWriter *w)
{
	bytes_put_u8(w, cal ? (uint8) cal->method : CALIBRATION_NONE);
	if (cal == NULL || cal->method == CALIBRATION_NONE)
		return;
	bytes_put_u32(w, (uint32) cal->n_maps);
	for (int m = 0; m < cal->n_maps; m++)
	{
		const CalibrationMap *map = &cal->maps[m];

		if (cal->method == CALIBRATION_PLATT)
		{
			bytes_put_f64(w, map->a);
			bytes_put_f64(w, map->b);
		}
		else
		{
			bytes_put_u32(w, (uint32) map->n_points);
			bytes_put_f64_array(w, map->x, map->n_points);
			bytes_put_f64_array(w, map->y, map->n_points);
		}
	}
}

Calibrator *
calibration_load(ByteReader *r, int n_classes)
{
	uint8		method = bytes_get_u8(r);
	Calibrator *cal;

	if (method == CALIBRATION_NONE)
		return NULL;
	if (method > CALIBRATION_ISOTONIC)
		bytes_corrupted(r, "unknown calibration method");
	if (n_classes < 2)
		bytes_corrupted(r, "a calibrator on a model without classes");
	cal = palloc0(sizeof(Calibrator));
	cal->method = (CalibrationMethod) method;
	cal->n_classes = n_classes;
	cal->n_maps = (int) bytes_get_count(r, 16, CALIBRATION_MAX_POINTS);
	if (cal->n_maps != (n_classes == 2 ? 1 : n_classes))
		bytes_corrupted(r, "the number of calibration maps does not fit the classes");
	cal->maps = palloc0(sizeof(CalibrationMap) * cal->n_maps);
	for (int m = 0; m < cal->n_maps; m++)
	{
		CalibrationMap *map = &cal->maps[m];

		if (cal->method == CALIBRATION_PLATT)
		{
			map->a = bytes_get_finite_f64(r);
			map->b = bytes_get_finite_f64(r);
			continue;
		}
		map->n_points = (int) bytes_get_count(r, 16, CALIBRATION_MAX_POINTS);
		if (map->n_points < 1)
			bytes_corrupted(r, "an isotonic map without points");
		map->x = bytes_get_f64_array(r, map->n_points);
		map->y = bytes_get_f64_array(r, map->n_points);
		for (int i = 0; i < map->n_points; i++)
		{
			if (!(map->x[i] >= 0.0 && map->x[i] <= 1.0 && map->y[i] >= 0.0 && map->y[i] <= 1.0) ||
				(i > 0 && (map->x[i] < map->x[i - 1] || map->y[i] < map->y[i - 1])))
				bytes_corrupted(r, "an isotonic map is not monotone within [0, 1]");
		}
	}
	return cal;
}
