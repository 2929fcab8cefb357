/*
 * curves.c: curves and tables from scored rows, as scikit-learn draws them
 * (the regression tests compare): roc_curve with drop_intermediate=False,
 * precision_recall_curve, calibration_curve with ten uniform bins, and
 * deciles of lift; and their SQL functions, rows for any chart tool:
 *
 *   automl_confusion_matrix   counts of (actual, predicted) class pairs
 *   automl_roc_curve, automl_pr_curve, automl_calibration_curve,
 *   automl_lift_curve
 */
#include "postgres.h"

#include <math.h>

#include "evaluate/evaluate.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"


int64
curves_roc(const Predictions *s, int k, CurvePoint **points)
{
	ThresholdCounts c = threshold_counts(s, k);
	CurvePoint *pt = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(CurvePoint) * (c.n + 1));

	pt[0] = (CurvePoint) {INFINITY, 0.0, 0.0};
	for (int64 t = 0; t < c.n; t++)
	{
		pt[t + 1].threshold = c.threshold[t];
		pt[t + 1].x = c.n_neg > 0 ? (double) c.fps[t] / c.n_neg : NAN;
		pt[t + 1].y = c.n_pos > 0 ? (double) c.tps[t] / c.n_pos : NAN;
	}
	*points = pt;
	threshold_counts_free(&c);
	return c.n + 1;
}

int64
curves_pr(const Predictions *s, int k, CurvePoint **points)
{
	ThresholdCounts c = threshold_counts(s, k);
	CurvePoint *pt = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(CurvePoint) * (c.n + 1));

	pt[0] = (CurvePoint) {NAN, 0.0, 1.0};
	for (int64 t = 0; t < c.n; t++)
	{
		pt[t + 1].threshold = c.threshold[t];
		pt[t + 1].x = c.n_pos > 0 ? (double) c.tps[t] / c.n_pos : 1.0;
		pt[t + 1].y = (double) c.tps[t] / (c.tps[t] + c.fps[t]);
	}
	*points = pt;
	threshold_counts_free(&c);
	return c.n + 1;
}

void
curves_calibration_bins(const Predictions *s, int k, CalibrationBin *bins)
{
	double		sum_p[CURVES_CALIBRATION_BINS] = {0},
				hits[CURVES_CALIBRATION_BINS] = {0};

	for (int b = 0; b < CURVES_CALIBRATION_BINS; b++)
	{
		bins[b].lower = (double) b / CURVES_CALIBRATION_BINS;
		bins[b].upper = (double) (b + 1) / CURVES_CALIBRATION_BINS;
		bins[b].rows = 0;
	}
	for (int64 i = 0; i < s->n; i++)
	{
		double		p = s->pred[i * s->n_classes + k];
		int			b = probability_bin(p, CURVES_CALIBRATION_BINS);

		sum_p[b] += p;
		hits[b] += s->label[i] == k;
		bins[b].rows++;
	}
	for (int b = 0; b < CURVES_CALIBRATION_BINS; b++)
	{
		bins[b].mean_predicted = bins[b].rows > 0 ? sum_p[b] / bins[b].rows : NAN;
		bins[b].fraction_positive = bins[b].rows > 0 ? hits[b] / bins[b].rows : NAN;
	}
}

void
curves_lift(const Predictions *s, int k, LiftBucket *buckets)
{
	int64	   *order = predictions_rank(s, k);

	for (int g = 0; g < CURVES_LIFT_BUCKETS; g++)
	{
		int64		from = g * s->n / CURVES_LIFT_BUCKETS;
		int64		to = (g + 1) * s->n / CURVES_LIFT_BUCKETS;

		buckets[g].rows = to - from;
		buckets[g].positives = 0;
		buckets[g].max_score = to > from ? s->pred[order[from] * s->n_classes + k] : NAN;
		buckets[g].min_score = to > from ? s->pred[order[to - 1] * s->n_classes + k] : NAN;
		for (int64 i = from; i < to; i++)
			buckets[g].positives += s->label[order[i]] == k;
	}
	pfree(order);
}

/* ---- the SQL functions ---- */

PG_FUNCTION_INFO_V1(automl_confusion_matrix);

/* automl_confusion_matrix(name, relation, version): (actual, predicted, rows), every pair. */
Datum
automl_confusion_matrix(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext work_cxt;
	Evaluation *ev;
	int			first;
	int			K;
	int64	   *counts;

	InitMaterializedSRF(fcinfo, 0);
	work_cxt = AllocSetContextCreate(call_cxt, "automl evaluate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work_cxt);
	ev = evaluation_run(fcinfo, 0, 1, 2, NIL);
	K = evaluation_classes(ev, "a confusion matrix", &first);
	counts = palloc0(sizeof(int64) * K * K);
	for (int64 i = 0; i < ev->scored.n; i++)
		counts[ev->scored.label[i] * K + predictions_class(&ev->scored, i)]++;
	MemoryContextSwitchTo(call_cxt);
	for (int a = 0; a < K; a++)
	{
		for (int p = 0; p < K; p++)
		{
			Datum		values[3];
			bool		nulls[3] = {false};

			values[0] = CStringGetTextDatum(ev->model->classes[a]);
			values[1] = CStringGetTextDatum(ev->model->classes[p]);
			values[2] = Int64GetDatum(counts[a * K + p]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	MemoryContextDelete(work_cxt);
	return (Datum) 0;
}

typedef enum CurveKind
{
	CURVE_ROC,
	CURVE_PR,
	CURVE_CALIBRATION,
	CURVE_LIFT
} CurveKind;

/* The rows of one curve for class k. */
static void
put_curve(ReturnSetInfo *rsinfo, const Evaluation *ev, CurveKind kind, int k,
		  MemoryContext call_cxt)
{
	Datum		class_name = CStringGetTextDatum(ev->model->classes[k]);

	if (kind == CURVE_ROC || kind == CURVE_PR)
	{
		CurvePoint *pt;
		int64		n = kind == CURVE_ROC ? curves_roc(&ev->scored, k, &pt)
			: curves_pr(&ev->scored, k, &pt);

		for (int64 i = 0; i < n; i++)
		{
			Datum		values[4];
			bool		nulls[4] = {false};

			values[0] = class_name;
			values[1] = Float8GetDatum(pt[i].threshold);
			nulls[1] = isnan(pt[i].threshold);
			values[2] = Float8GetDatum(pt[i].x);
			nulls[2] = isnan(pt[i].x);
			values[3] = Float8GetDatum(pt[i].y);
			nulls[3] = isnan(pt[i].y);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	else if (kind == CURVE_CALIBRATION)
	{
		CalibrationBin bins[CURVES_CALIBRATION_BINS];

		curves_calibration_bins(&ev->scored, k, bins);
		for (int b = 0; b < CURVES_CALIBRATION_BINS; b++)
		{
			Datum		values[7];
			bool		nulls[7] = {false};

			values[0] = class_name;
			values[1] = Int32GetDatum(b + 1);
			values[2] = Float8GetDatum(bins[b].lower);
			values[3] = Float8GetDatum(bins[b].upper);
			values[4] = Int64GetDatum(bins[b].rows);
			values[5] = Float8GetDatum(bins[b].mean_predicted);
			nulls[5] = bins[b].rows == 0;
			values[6] = Float8GetDatum(bins[b].fraction_positive);
			nulls[6] = bins[b].rows == 0;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	else
	{
		LiftBucket buckets[CURVES_LIFT_BUCKETS];
		int64		total_pos = 0,
					cum_rows = 0,
					cum_pos = 0;
		double		base_rate;

		curves_lift(&ev->scored, k, buckets);
		for (int g = 0; g < CURVES_LIFT_BUCKETS; g++)
			total_pos += buckets[g].positives;
		base_rate = (double) total_pos / ev->scored.n;
		for (int g = 0; g < CURVES_LIFT_BUCKETS; g++)
		{
			Datum		values[11];
			bool		nulls[11] = {false};
			double		rate = buckets[g].rows > 0 ? (double) buckets[g].positives / buckets[g].rows : NAN;

			cum_rows += buckets[g].rows;
			cum_pos += buckets[g].positives;
			values[0] = class_name;
			values[1] = Int32GetDatum(g + 1);
			values[2] = Int64GetDatum(buckets[g].rows);
			values[3] = Int64GetDatum(buckets[g].positives);
			values[4] = Float8GetDatum(buckets[g].min_score);
			values[5] = Float8GetDatum(buckets[g].max_score);
			values[6] = Float8GetDatum(rate);
			values[7] = Float8GetDatum(rate / base_rate);
			values[8] = Float8GetDatum((double) cum_rows / ev->scored.n);
			values[9] = Float8GetDatum(total_pos > 0 ? (double) cum_pos / total_pos : NAN);
			values[10] = Float8GetDatum(((double) cum_pos / cum_rows) / base_rate);
			/* an empty bucket (fewer than ten rows) has no scores or rates */
			for (int c = 4; c <= 7; c++)
				nulls[c] = buckets[g].rows == 0 || (c == 7 && total_pos == 0);
			nulls[9] = total_pos == 0;
			nulls[10] = cum_rows == 0 || total_pos == 0;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
}

static Datum
curve_function(FunctionCallInfo fcinfo, CurveKind kind)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext work_cxt;
	Evaluation *ev;
	int			first;
	int			K;

	InitMaterializedSRF(fcinfo, 0);
	work_cxt = AllocSetContextCreate(call_cxt, "automl evaluate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work_cxt);
	ev = evaluation_run(fcinfo, 0, 1, 2, NIL);
	K = evaluation_classes(ev, "a curve", &first);
	for (int k = first; k < K; k++)
		put_curve(rsinfo, ev, kind, k, call_cxt);
	MemoryContextSwitchTo(call_cxt);
	MemoryContextDelete(work_cxt);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(automl_roc_curve);
PG_FUNCTION_INFO_V1(automl_pr_curve);
PG_FUNCTION_INFO_V1(automl_calibration_curve);
PG_FUNCTION_INFO_V1(automl_lift_curve);

Datum
automl_roc_curve(PG_FUNCTION_ARGS)
{
	return curve_function(fcinfo, CURVE_ROC);
}

Datum
automl_pr_curve(PG_FUNCTION_ARGS)
{
	return curve_function(fcinfo, CURVE_PR);
}

Datum
automl_calibration_curve(PG_FUNCTION_ARGS)
{
	return curve_function(fcinfo, CURVE_CALIBRATION);
}

Datum
automl_lift_curve(PG_FUNCTION_ARGS)
{
	return curve_function(fcinfo, CURVE_LIFT);
}
