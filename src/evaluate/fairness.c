/*
 * fairness.c: automl_fairness, selection and error rates of a binary
 * classifier per group of a sensitive column, with Fairlearn's summaries.
 */
#include "postgres.h"

#include <math.h>

#include "common/args.h"
#include "evaluate/evaluate.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(automl_fairness);

/*
 * automl_fairness(name, relation, sensitive, version): per group of the
 * sensitive column, the share predicted positive (selection rate) and the
 * true- and false-positive rates; with Fairlearn's two summaries, the same
 * on every row: demographic-parity difference (largest minus smallest
 * selection rate) and equalized-odds difference (the larger of the
 * true-positive-rate and false-positive-rate ranges).
 */
Datum
automl_fairness(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext work_cxt;
	Evaluation *ev;
	char	   *sensitive;
	const FrameColumn *col;
	Slice	   *groups;
	int			n_groups;
	double	   *selection,
			   *tpr,
			   *fpr;
	double		sel_lo = INFINITY,
				sel_hi = -INFINITY,
				tpr_lo = INFINITY,
				tpr_hi = -INFINITY,
				fpr_lo = INFINITY,
				fpr_hi = -INFINITY;
	double		dp_diff,
				eo_diff;
	JsonBuilder result;

	InitMaterializedSRF(fcinfo, 0);
	work_cxt = AllocSetContextCreate(call_cxt, "automl evaluate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work_cxt);
	sensitive = arg_required_text(fcinfo, 2, "sensitive");
	ev = evaluation_run(fcinfo, 0, 1, 3, list_make1(sensitive));
	if (ev->scored.n_classes != 2)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("fairness figures need a model with two classes, and model \"%s\" has %s",
						ev->name, ev->scored.n_classes > 0 ? psprintf("%d", ev->model->n_classes) : "none"),
				 errhint("automl_evaluate with slice_by => ARRAY['%s'] gives every metric per group.", sensitive)));
	col = evaluation_column(ev, sensitive, "sensitive");
	groups = evaluation_slices(ev, col, "sensitive", &n_groups);
	selection = palloc(sizeof(double) * Max(n_groups, 1));
	tpr = palloc(sizeof(double) * Max(n_groups, 1));
	fpr = palloc(sizeof(double) * Max(n_groups, 1));
	for (int g = 0; g < n_groups; g++)
	{
		int64		chosen = 0,
					pos = 0,
					neg = 0,
					tp = 0,
					fp = 0;

		for (int64 j = 0; j < groups[g].n; j++)
		{
			int64		i = groups[g].rows[j];
			bool		predicted = predictions_class(&ev->scored, i) == 1;
			bool		actual = ev->scored.label[i] == 1;

			chosen += predicted;
			pos += actual;
			neg += !actual;
			tp += predicted && actual;
			fp += predicted && !actual;
		}
		selection[g] = (double) chosen / groups[g].n;
		tpr[g] = pos > 0 ? (double) tp / pos : NAN;
		fpr[g] = neg > 0 ? (double) fp / neg : NAN;
		sel_lo = Min(sel_lo, selection[g]);
		sel_hi = Max(sel_hi, selection[g]);
		if (!isnan(tpr[g]))
		{
			tpr_lo = Min(tpr_lo, tpr[g]);
			tpr_hi = Max(tpr_hi, tpr[g]);
		}
		if (!isnan(fpr[g]))
		{
			fpr_lo = Min(fpr_lo, fpr[g]);
			fpr_hi = Max(fpr_hi, fpr[g]);
		}
	}
	dp_diff = sel_hi - sel_lo;
	eo_diff = Max(tpr_hi > tpr_lo ? tpr_hi - tpr_lo : 0.0, fpr_hi > fpr_lo ? fpr_hi - fpr_lo : 0.0);

	json_begin(&result);
	json_key_string(&result, "sensitive", sensitive);
	json_key_string(&result, "positive_class", ev->model->classes[1]);
	json_key_number(&result, "demographic_parity_difference", dp_diff);
	json_key_number(&result, "equalized_odds_difference", eo_diff);
	json_key(&result, "groups");
	json_begin_array(&result);
	for (int g = 0; g < n_groups; g++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};

		json_begin_object(&result);
		json_key_string(&result, "value", groups[g].value);
		json_key_int(&result, "rows", groups[g].n);
		json_key_number(&result, "selection_rate", selection[g]);
		json_key_number(&result, "true_positive_rate", tpr[g]);
		json_key_number(&result, "false_positive_rate", fpr[g]);
		json_end_object(&result);

		MemoryContextSwitchTo(call_cxt);
		values[0] = groups[g].value ? CStringGetTextDatum(groups[g].value) : (Datum) 0;
		nulls[0] = groups[g].value == NULL;
		values[1] = Int64GetDatum(groups[g].n);
		values[2] = Float8GetDatum(selection[g]);
		values[3] = Float8GetDatum(tpr[g]);
		nulls[3] = isnan(tpr[g]);
		values[4] = Float8GetDatum(fpr[g]);
		nulls[4] = isnan(fpr[g]);
		values[5] = Float8GetDatum(dp_diff);
		values[6] = Float8GetDatum(eo_diff);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(work_cxt);
	}
	json_end_array(&result);
	{
		JsonBuilder args;

		json_begin(&args);
		json_key_string(&args, "sensitive", sensitive);
		evaluation_record(ev, "fairness", ev->frame->relation_name, json_end(&args), json_end(&result));
	}
	MemoryContextSwitchTo(call_cxt);
	MemoryContextDelete(work_cxt);
	return (Datum) 0;
}
