/*
 * slices.c: automl_evaluate, the task's metrics on a labelled relation,
 * overall and per slice of the slice_by columns, with the slices that fall
 * behind the whole flagged.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "evaluate/evaluate.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#define SLICE_MAX_VALUES 10		/* numeric columns with more distinct values are cut in quartiles */
#define SLICE_MAX_GROUPS 1000	/* more groups in one column: an error */
#define DEFAULT_SLICE_MARGIN 0.05

static int
compare_doubles(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static char *
format_number(const FrameColumn *col, double v)
{
	if (col->kind == FEATURE_DATETIME)
	{
		TimestampTz ts = (TimestampTz) ((v - 946684800.0) * 1000000.0);

		return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(ts)));
	}
	if (col->type_oid == BOOLOID)
		return pstrdup(v != 0 ? "true" : "false");
	return psprintf("%.15g", v);
}

/* A quartile bound, short enough to read: six significant digits. */
static char *
format_edge(const FrameColumn *col, double v)
{
	if (col->kind == FEATURE_DATETIME)
		return format_number(col, v);
	return psprintf("%.6g", v);
}

/* Group indices by their names (arg). */
static int
compare_group_names(const void *a, const void *b, void *arg)
{
	char	  **names = arg;

	return strcmp(names[*(const int *) a], names[*(const int *) b]);
}

/* One group per category of the scored rows, in first-seen order; group[i] -1 for NULL. */
static int
categorical_groups(const Evaluation *ev, const FrameColumn *col, int *group, char ***names_out,
				   bool *any_null)
{
	int64		n = ev->scored.n;
	int			n_groups = 0;
	char	  **names;

	int		   *code_group = palloc(sizeof(int) * Max(col->dict->n_values, 1));

	names = palloc(sizeof(char *) * (col->dict->n_values + 1));
	for (int v = 0; v < col->dict->n_values; v++)
		code_group[v] = -1;
	for (int64 i = 0; i < n; i++)
	{
		int32		code = col->codes[ev->rows[i]];

		if (code < 0)
		{
			group[i] = -1;
			*any_null = true;
			continue;
		}
		if (code_group[code] < 0)
		{
			code_group[code] = n_groups;
			names[n_groups++] = col->dict->values[code];
		}
		group[i] = code_group[code];
	}
	*names_out = names;
	return n_groups;
}

/*
 * One group per value of a numeric column with at most SLICE_MAX_VALUES
 * values, else its quartiles, in ascending order; group[i] -1 for NULL.
 */
static int
numeric_groups(const Evaluation *ev, const FrameColumn *col, int *group, char ***names_out,
			   bool *any_null)
{
	int64		n = ev->scored.n;
	int			n_groups = 0;
	char	  **names;

	double	   *sorted = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
	int64		n_values = 0;
	double		distinct[SLICE_MAX_VALUES + 1];
	int			n_distinct = 0;

	for (int64 i = 0; i < n; i++)
	{
		double		v = col->values[ev->rows[i]];

		if (isnan(v))
			*any_null = true;
		else
			sorted[n_values++] = v;
	}
	qsort(sorted, n_values, sizeof(double), compare_doubles);
	for (int64 i = 0; i < n_values && n_distinct <= SLICE_MAX_VALUES; i++)
	{
		if (i == 0 || sorted[i] != sorted[i - 1])
			distinct[n_distinct++] = sorted[i];
	}
	names = palloc(sizeof(char *) * (SLICE_MAX_VALUES + 1));
	if (n_distinct <= SLICE_MAX_VALUES)
	{
		/* each value its own slice, in ascending order */
		for (int d = 0; d < n_distinct; d++)
			names[d] = format_number(col, distinct[d]);
		n_groups = n_distinct;
		for (int64 i = 0; i < n; i++)
		{
			double		v = col->values[ev->rows[i]];

			group[i] = -1;
			for (int d = 0; !isnan(v) && d < n_distinct; d++)
			{
				if (v == distinct[d])
					group[i] = d;
			}
		}
	}
	else
	{
		/* quartiles: (q_{g-1}, q_g], the first closed below; equal edges merge */
		double		edge[5];
		int			n_edges = 0;

		for (int g = 0; g <= 4; g++)
		{
			double		at = g * (n_values - 1) / 4.0;
			int64		lo = (int64) floor(at);
			double		e = sorted[lo] + (sorted[Min(lo + 1, n_values - 1)] - sorted[lo]) * (at - lo);

			if (n_edges == 0 || e > edge[n_edges - 1])
				edge[n_edges++] = e;
		}
		n_groups = n_edges - 1;
		for (int g = 0; g < n_groups; g++)
			names[g] = psprintf("%s%s, %s]", g == 0 ? "[" : "(",
								format_edge(col, edge[g]), format_edge(col, edge[g + 1]));
		for (int64 i = 0; i < n; i++)
		{
			double		v = col->values[ev->rows[i]];

			group[i] = -1;
			if (isnan(v))
				continue;
			for (int g = 0; g < n_groups; g++)
			{
				if (v <= edge[g + 1] || g == n_groups - 1)
				{
					group[i] = g;
					break;
				}
			}
		}
	}
	pfree(sorted);
	*names_out = names;
	return n_groups;
}

Slice *
evaluation_slices(const Evaluation *ev, const FrameColumn *col, const char *argname, int *n_slices)
{
	int64		n = ev->scored.n;
	int		   *group = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * Max(n, 1));
	char	  **names;
	int			n_groups = 0;
	Slice	   *slices;
	bool		any_null = false;

	if (col->kind == FEATURE_CATEGORICAL)
		n_groups = categorical_groups(ev, col, group, &names, &any_null);
	else
		n_groups = numeric_groups(ev, col, group, &names, &any_null);
	if (n_groups > SLICE_MAX_GROUPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s column \"%s\" has %d distinct values, more than the %d slices one column may have",
						argname, col->name, n_groups, SLICE_MAX_GROUPS),
				 errhint("Slice by a coarser column, for example a CASE expression in a view.")));

	/* categories in ascending order of their text (numbers are already in order) */
	if (col->kind == FEATURE_CATEGORICAL && n_groups > 1)
	{
		int		   *order = palloc(sizeof(int) * n_groups);
		int		   *rank = palloc(sizeof(int) * n_groups);
		char	  **sorted_names = palloc(sizeof(char *) * n_groups);

		for (int g = 0; g < n_groups; g++)
			order[g] = g;
		qsort_arg(order, n_groups, sizeof(int), compare_group_names, names);
		for (int g = 0; g < n_groups; g++)
		{
			rank[order[g]] = g;
			sorted_names[g] = names[order[g]];
		}
		for (int64 i = 0; i < n; i++)
			group[i] = group[i] < 0 ? -1 : rank[group[i]];
		names = sorted_names;
	}

	*n_slices = n_groups + (any_null ? 1 : 0);
	slices = palloc0(sizeof(Slice) * Max(*n_slices, 1));
	for (int g = 0; g < n_groups; g++)
		slices[g].value = names[g];
	for (int64 i = 0; i < n; i++)
		slices[group[i] < 0 ? n_groups : group[i]].n++;
	for (int g = 0; g < *n_slices; g++)
	{
		slices[g].rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(slices[g].n, 1));
		slices[g].n = 0;
	}
	for (int64 i = 0; i < n; i++)
	{
		Slice	   *s = &slices[group[i] < 0 ? n_groups : group[i]];

		s->rows[s->n++] = i;
	}
	pfree(group);
	return slices;
}

/*
 * Whether a slice's metric falls behind the whole's by more than margin: in
 * points for metrics bounded by 0 and 1 (accuracy, AUC, F1, Brier, ECE, ...),
 * as a share of the whole's value for the others (RMSE, MAE, MAPE, log loss,
 * R squared).
 */
static bool
is_behind(const MetricValue *slice, const MetricValue *whole, double margin)
{
	static const char *const relative[] = {"rmse", "mae", "mape", "log_loss", "r2"};
	double		worse = slice->direction * (whole->value - slice->value);

	for (int i = 0; i < lengthof(relative); i++)
	{
		if (strcmp(slice->name, relative[i]) == 0)
			return worse > margin * fabs(whole->value);
	}
	return worse > margin;
}

/*
 * automl_evaluate's rows for one slice (or the whole, overall NULL); whether
 * each metric is behind the whole into behind (unless NULL).
 */
static void
put_metric_rows(Tuplestorestate *store, TupleDesc desc, const char *column, const char *value,
				int64 rows, const MetricValue *m, int n_metrics, const MetricValue *overall,
				double margin, bool *behind)
{
	for (int i = 0; i < n_metrics; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};
		bool		is = false;
		bool		known = overall && m[i].direction != 0 &&
			!isnan(m[i].value) && !isnan(overall[i].value);

		values[0] = column ? CStringGetTextDatum(column) : (Datum) 0;
		nulls[0] = column == NULL;
		values[1] = value ? CStringGetTextDatum(value) : (Datum) 0;
		nulls[1] = value == NULL;
		values[2] = Int64GetDatum(rows);
		values[3] = CStringGetTextDatum(m[i].name);
		values[4] = Float8GetDatum(m[i].value);
		nulls[4] = isnan(m[i].value);
		values[5] = overall ? Float8GetDatum(overall[i].value) : Float8GetDatum(m[i].value);
		nulls[5] = overall ? isnan(overall[i].value) : isnan(m[i].value);
		if (known)
			is = is_behind(&m[i], &overall[i], margin);
		if (behind)
			behind[i] = is;
		values[6] = BoolGetDatum(is);
		nulls[6] = !known;
		tuplestore_putvalues(store, desc, values, nulls);
	}
}

/* The metrics as the members of an object. */
static void
metrics_write(JsonBuilder *b, const MetricValue *m, int n_metrics)
{
	json_begin_object(b);
	for (int i = 0; i < n_metrics; i++)
		json_key_number(b, m[i].name, m[i].value);
	json_end_object(b);
}

/* slice_by as a list of column names; NULL elements are an error. */
static List *
slice_columns(FunctionCallInfo fcinfo, int argno)
{
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	List	   *slice_by = NIL;

	if (PG_ARGISNULL(argno))
		return NIL;
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elem_nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (elem_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("slice_by must not contain NULL")));
		slice_by = lappend(slice_by, TextDatumGetCString(elems[i]));
	}
	return slice_by;
}

/* The rows and the JSON of every slice of one column. */
static void
put_column_slices(ReturnSetInfo *rsinfo, const Evaluation *ev, const char *column,
				  const MetricValue *overall, double margin, JsonBuilder *result,
				  MemoryContext call_cxt)
{
	const FrameColumn *col = evaluation_column(ev, column, "slice_by");
	int			n_slices;
	Slice	   *slices = evaluation_slices(ev, col, "slice_by", &n_slices);

	for (int s = 0; s < n_slices; s++)
	{
		MetricValue m[METRICS_REPORT_MAX];
		bool		behind[METRICS_REPORT_MAX];
		int			n = metrics_report(&ev->scored, slices[s].rows, slices[s].n, m);
		MemoryContext work_cxt = MemoryContextSwitchTo(call_cxt);

		put_metric_rows(rsinfo->setResult, rsinfo->setDesc, column, slices[s].value, slices[s].n,
						m, n, overall, margin, behind);
		MemoryContextSwitchTo(work_cxt);
		json_begin_object(result);
		json_key_string(result, "column", column);
		json_key_string(result, "value", slices[s].value);
		json_key_int(result, "rows", slices[s].n);
		json_key(result, "metrics");
		metrics_write(result, m, n);
		json_key(result, "behind");
		json_begin_array(result);
		for (int i = 0; i < n; i++)
		{
			if (behind[i])
				json_string(result, m[i].name);
		}
		json_end_array(result);
		json_end_object(result);
	}
}

PG_FUNCTION_INFO_V1(automl_evaluate);

/*
 * automl_evaluate(name, relation, version, slice_by, slice_margin):
 * (slice_column, slice_value, rows, metric, value, overall, behind).
 */
Datum
automl_evaluate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext work_cxt;
	Evaluation *ev;
	MetricValue overall[METRICS_REPORT_MAX];
	int			n_metrics;
	double		margin = PG_ARGISNULL(4) ? DEFAULT_SLICE_MARGIN : PG_GETARG_FLOAT8(4);
	JsonBuilder result;
	JsonBuilder args;
	List	   *slice_by;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	if (!(margin >= 0) || isinf(margin))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slice_margin must be a number 0 or greater"),
				 errhint("0.05 flags a slice 5 points behind the whole in accuracy or AUC, or 5 %% behind in RMSE.")));
	work_cxt = AllocSetContextCreate(call_cxt, "automl evaluate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work_cxt);
	slice_by = slice_columns(fcinfo, 3);
	ev = evaluation_run(fcinfo, 0, 1, 2, slice_by);

	n_metrics = metrics_report(&ev->scored, NULL, 0, overall);
	MemoryContextSwitchTo(call_cxt);
	put_metric_rows(rsinfo->setResult, rsinfo->setDesc, NULL, NULL, ev->scored.n,
					overall, n_metrics, NULL, margin, NULL);
	MemoryContextSwitchTo(work_cxt);
	json_begin(&result);
	json_key(&result, "metrics");
	metrics_write(&result, overall, n_metrics);
	json_key(&result, "slices");
	json_begin_array(&result);
	foreach(lc, slice_by)
		put_column_slices(rsinfo, ev, lfirst(lc), overall, margin, &result, call_cxt);
	json_end_array(&result);

	json_begin(&args);
	json_key_number(&args, "slice_margin", margin);
	json_key(&args, "slice_by");
	json_begin_array(&args);
	foreach(lc, slice_by)
		json_string(&args, lfirst(lc));
	json_end_array(&args);
	evaluation_record(ev, "metrics", ev->frame->relation_name, json_end(&args), json_end(&result));

	MemoryContextSwitchTo(call_cxt);
	MemoryContextDelete(work_cxt);
	return (Datum) 0;
}
