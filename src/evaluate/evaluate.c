/*
 * evaluate.c: a stored model scored on a labelled relation, as SQL rows.
 *
 *   automl_evaluate           the task's metrics, overall and per slice
 *   automl_confusion_matrix   counts of (actual, predicted) class pairs
 *   automl_roc_curve, automl_pr_curve, automl_calibration_curve,
 *   automl_lift_curve         curves as rows, for any chart tool
 *   automl_fairness           selection and error rates per group
 *
 * The relation is read as the caller (privileges and row-level security
 * apply) with the model's own target column. automl_evaluate and
 * automl_fairness also keep their figures in automl.evaluations when the
 * caller owns the model, for the model card.
 */
#include "postgres.h"

#include <math.h>

#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/args.h"
#include "common/json_out.h"
#include "data/frame.h"
#include "evaluate/evaluate.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "registry/catalog_sql.h"
#include "registry/registry.h"
#include "search/search.h"
#include "utils/array.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#define SLICE_MAX_VALUES 10		/* numeric columns with more distinct values are cut in quartiles */
#define SLICE_MAX_GROUPS 1000	/* more groups in one column: an error */
#define DEFAULT_SLICE_MARGIN 0.05

/* The model version's target column and metric, from the catalog. */
static char *
model_target(const char *name, int version, char **metric)
{
	QueryParams p = {0};
	MemoryContext cxt = CurrentMemoryContext;
	char	   *target;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(version), false);
	query_run("SELECT target, metric FROM automl.models WHERE name OPERATOR(pg_catalog.=) $1"
			  " AND version OPERATOR(pg_catalog.=) $2", &p, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "model \"%s\" version %d has no catalog row", name, version);
	MemoryContextSwitchTo(cxt);
	target = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*metric = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	SPI_finish();
	return target;
}

/*
 * The relation's columns that neither the model, the target nor also_read
 * (slice and sensitive columns) need: they are not read, so that their
 * values (an infinity, say) and their width do not matter.
 */
static List *
columns_not_needed(Oid relid, const Model *model, const char *target, List *also_read)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *skip = NIL;

	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		const char *name = NameStr(att->attname);
		bool		needed = strcmp(name, target) == 0;
		ListCell   *lc;

		if (att->attisdropped)
			continue;
		for (int c = 0; c < model->prep->n_columns && !needed; c++)
			needed = strcmp(model->prep->columns[c].name, name) == 0;
		foreach(lc, also_read)
		{
			if (strcmp((const char *) lfirst(lc), name) == 0)
				needed = true;
		}
		if (!needed)
			skip = lappend(skip, pstrdup(name));
	}
	relation_close(rel, AccessShareLock);
	return skip;
}

Evaluation *
evaluation_run(FunctionCallInfo fcinfo, int name_arg, int relation_arg, int version_arg,
			   List *also_read)
{
	Evaluation *ev = palloc0(sizeof(Evaluation));
	char	   *name = arg_required_text(fcinfo, name_arg, "name");
	char	   *relation = arg_required_text(fcinfo, relation_arg, "relation");
	char	   *ref = name;
	Oid			relid;
	int		   *binding;
	const char *missing = NULL;
	TrainingData td;
	int		   *class_of_label = NULL;
	int64		n_unknown = 0;
	Model	   *cached;
	char	   *cached_name;

	if (!PG_ARGISNULL(version_arg))
		ref = psprintf("%s@%d", name, PG_GETARG_INT32(version_arg));
	cached = model_cache_lookup(ref, &cached_name, &ev->version, NULL);
	ev->model = cached;
	ev->name = pstrdup(cached_name);
	ev->target = model_target(ev->name, ev->version, &ev->metric);

	relid = RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(cstring_to_text(relation))),
							 AccessShareLock, false);
	ev->frame = frame_scan(relid, ev->target, columns_not_needed(relid, ev->model, ev->target, also_read), 42);
	if (ev->frame->n_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has no rows with a value in target column \"%s\"",
						relation, ev->target),
				 errhint("Evaluation needs labelled rows: the model's target column, not NULL.")));

	binding = palloc(sizeof(int) * Max(ev->model->prep->n_columns, 1));
	if (!prep_bind(ev->model->prep, ev->frame, binding, &missing))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("relation \"%s\" has no usable column \"%s\", a feature of model \"%s\" version %d",
						relation, missing, ev->name, ev->version),
				 errhint("Evaluate on a relation with the columns the model was trained on, of the same kinds.")));

	ev->scored.classification = ev->model->task == TASK_CLASSIFICATION;
	ev->scored.n_classes = ev->model->n_classes;
	if (ev->scored.classification)
	{
		/* the relation's labels as the model's classes; unknown labels cannot be scored */
		class_of_label = palloc(sizeof(int) * Max(ev->frame->target.n_labels, 1));
		if (ev->frame->target.codes == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target column \"%s\" has more than %d distinct values, not the classes of a classifier",
							ev->target, FRAME_MAX_LABELS)));
		for (int l = 0; l < ev->frame->target.n_labels; l++)
		{
			class_of_label[l] = -1;
			for (int k = 0; k < ev->model->n_classes; k++)
			{
				if (strcmp(ev->frame->target.labels[l], ev->model->classes[k]) == 0)
					class_of_label[l] = k;
			}
		}
	}
	else if (!ev->frame->target.is_numeric)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" is not numeric, and model \"%s\" is a regression",
						ev->target, ev->name)));

	ev->rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * ev->frame->n_rows);
	for (int64 r = 0; r < ev->frame->n_rows; r++)
	{
		if (class_of_label && class_of_label[ev->frame->target.codes[r]] < 0)
			n_unknown++;
		else
			ev->rows[ev->scored.n++] = r;
	}
	if (n_unknown > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " rows have a label that model \"%s\" was not trained on and are left out",
						n_unknown, ev->name)));
	if (ev->scored.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no row of relation \"%s\" has a label that model \"%s\" knows", relation, ev->name)));

	memset(&td, 0, sizeof(td));
	td.frame = ev->frame;
	td.task = ev->model->task;
	td.n_classes = ev->model->n_classes;
	ev->binding = binding;
	ev->scored.pred = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(double) * ev->scored.n * Max(td.n_classes, 1));
	predict_rows(&td, ev->model, binding, ev->rows, ev->scored.n, ev->scored.pred);
	if (ev->scored.classification)
	{
		ev->scored.label = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * ev->scored.n);
		for (int64 i = 0; i < ev->scored.n; i++)
			ev->scored.label[i] = class_of_label[ev->frame->target.codes[ev->rows[i]]];
	}
	else
	{
		ev->scored.y = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * ev->scored.n);
		for (int64 i = 0; i < ev->scored.n; i++)
			ev->scored.y[i] = ev->frame->target.values[ev->rows[i]];
	}
	return ev;
}

/* The classes curves are drawn for: the positive class of two, else each. */
static int
curve_classes(const Evaluation *ev, const char *what, int *first)
{
	if (!ev->scored.classification)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is a regression; %s needs a classifier", ev->name, what),
				 errhint("automl_evaluate gives a regression's metrics and residual quantiles.")));
	*first = ev->model->n_classes == 2 ? 1 : 0;
	return ev->model->n_classes;
}

/* ---- slices ---- */

typedef struct Slice
{
	char	   *value;			/* NULL: the rows with a NULL */
	int64		n;
	int64	   *rows;			/* indices into ev->scored */
} Slice;

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

/* The frame column named name, or an error naming it. */
static const FrameColumn *
frame_column(const Evaluation *ev, const char *name, const char *argname)
{
	for (int c = 0; c < ev->frame->n_columns; c++)
	{
		if (strcmp(ev->frame->columns[c].name, name) == 0)
			return &ev->frame->columns[c];
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("%s column \"%s\" is not a column of the relation", argname, name),
			 errhint(strcmp(name, ev->target) == 0 ? "The target column cannot slice its own metrics."
					 : "Name a column of a supported type: numbers, booleans, text, dates or times.")));
	return NULL;
}

static char **sort_names;		/* what compare_group_names compares */

static int
compare_group_names(const void *a, const void *b)
{
	return strcmp(sort_names[*(const int *) a], sort_names[*(const int *) b]);
}

/*
 * The slices of a column: one per category (and one for NULL), one per value
 * of a column with at most SLICE_MAX_VALUES distinct values, else quartiles
 * labelled by their bounds.
 */
static Slice *
column_slices(const Evaluation *ev, const FrameColumn *col, const char *argname, int *n_slices)
{
	int64		n = ev->scored.n;
	int		   *group = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * Max(n, 1));
	char	  **names;
	int			n_groups = 0;
	Slice	   *slices;
	bool		any_null = false;

	if (col->kind == FEATURE_CATEGORICAL)
	{
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
				any_null = true;
				continue;
			}
			if (code_group[code] < 0)
			{
				code_group[code] = n_groups;
				names[n_groups++] = col->dict->values[code];
			}
			group[i] = code_group[code];
		}
	}
	else
	{
		double	   *sorted = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
		int64		n_values = 0;
		double		distinct[SLICE_MAX_VALUES + 1];
		int			n_distinct = 0;

		for (int64 i = 0; i < n; i++)
		{
			double		v = col->values[ev->rows[i]];

			if (isnan(v))
				any_null = true;
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
	}
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
		sort_names = names;
		qsort(order, n_groups, sizeof(int), compare_group_names);
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

/* ---- output ---- */

/*
 * Keeps an evaluation's figures in automl.evaluations, when the caller owns
 * the model (anyone who can score a model may evaluate it; only its owner's
 * evaluations reach its model card).
 */
static void
record_evaluation(const Evaluation *ev, const char *kind, const char *relation,
				  const char *arguments_json, const char *result_json)
{
	QueryParams p = {0};
	CatalogWriter writer;
	bool		owner;

	if (XactReadOnly || RecoveryInProgress())
	{
		ereport(NOTICE,
				(errmsg("this evaluation is not recorded: the transaction is read-only")));
		return;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, ev->name);
	query_run("SELECT owner FROM automl.registry WHERE name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_SELECT);
	/* the rule catalog_check_owner applies to every change of a model */
	owner = false;
	if (SPI_processed == 1)
	{
		Oid			owner_id = get_role_oid(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), true);

		owner = superuser() || (OidIsValid(owner_id) && has_privs_of_role(GetUserId(), owner_id));
	}
	if (!owner)
	{
		SPI_finish();
		ereport(NOTICE,
				(errmsg("this evaluation is not recorded: only the owner of model \"%s\" records evaluations for its model card",
						ev->name)));
		return;
	}
	catalog_begin_write(&writer);
	memset(&p, 0, sizeof(p));
	query_add_text(&p, ev->name);
	query_add(&p, INT4OID, Int32GetDatum(ev->version), false);
	query_add_text(&p, kind);
	query_add_text(&p, relation);
	query_add(&p, INT8OID, Int64GetDatum(ev->scored.n), false);
	query_add_text(&p, arguments_json);
	query_add_text(&p, result_json);
	query_add_text(&p, writer.caller);
	query_run("INSERT INTO automl.evaluations (name, version, kind, relation, n_rows, arguments,"
			  " result, evaluated_by) VALUES ($1, $2, $3, $4, $5, $6::pg_catalog.jsonb,"
			  " $7::pg_catalog.jsonb, $8)", &p, SPI_OK_INSERT);
	catalog_end_write(&writer);
	SPI_finish();
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
 * automl_evaluate's rows for one slice (or the whole, overall NULL), the
 * metrics as JSON members into json, and the names of those behind as JSON
 * array elements into behind_json unless it is NULL.
 */
static void
put_metric_rows(Tuplestorestate *store, TupleDesc desc, StringInfo json, StringInfo behind_json,
				const char *column, const char *value, int64 rows, const MetricValue *m,
				int n_metrics, const MetricValue *overall, double margin)
{
	bool		first_behind = true;

	for (int i = 0; i < n_metrics; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};
		bool		behind = false;
		bool		behind_known = overall && m[i].direction != 0 &&
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
		if (behind_known)
			behind = is_behind(&m[i], &overall[i], margin);
		if (behind && behind_json)
		{
			appendStringInfoString(behind_json, first_behind ? "" : ", ");
			json_append_string(behind_json, m[i].name);
			first_behind = false;
		}
		values[6] = BoolGetDatum(behind);
		nulls[6] = !behind_known;
		tuplestore_putvalues(store, desc, values, nulls);

		appendStringInfoString(json, i > 0 ? ", " : "");
		json_append_string(json, m[i].name);
		appendStringInfoString(json, ": ");
		json_append_number(json, m[i].value);
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
	MetricValue overall[SCORES_MAX_METRICS];
	int			n_metrics;
	double		margin = PG_ARGISNULL(4) ? DEFAULT_SLICE_MARGIN : PG_GETARG_FLOAT8(4);
	StringInfoData result;
	StringInfoData args;
	List	   *slice_by = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	if (!(margin >= 0) || isinf(margin))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slice_margin must be a number 0 or greater"),
				 errhint("0.05 flags a slice 5 points behind the whole in accuracy or AUC, or 5 %% behind in RMSE.")));
	work_cxt = AllocSetContextCreate(call_cxt, "automl evaluate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work_cxt);
	if (!PG_ARGISNULL(3))
	{
		Datum	   *elems;
		bool	   *elem_nulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elem_nulls, &n);
		for (int i = 0; i < n; i++)
		{
			if (elem_nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("slice_by must not contain NULL")));
			slice_by = lappend(slice_by, TextDatumGetCString(elems[i]));
		}
	}
	ev = evaluation_run(fcinfo, 0, 1, 2, slice_by);

	initStringInfo(&result);
	n_metrics = scores_metrics(&ev->scored, NULL, 0, overall);
	MemoryContextSwitchTo(call_cxt);
	appendStringInfoString(&result, "{\"metrics\": {");
	put_metric_rows(rsinfo->setResult, rsinfo->setDesc, &result, NULL, NULL, NULL, ev->scored.n,
					overall, n_metrics, NULL, margin);
	MemoryContextSwitchTo(work_cxt);
	appendStringInfoString(&result, "}, \"slices\": [");

	foreach(lc, slice_by)
	{
		const char *column = lfirst(lc);
		const FrameColumn *col = frame_column(ev, column, "slice_by");
		int			n_slices;
		Slice	   *slices = column_slices(ev, col, "slice_by", &n_slices);

		for (int s = 0; s < n_slices; s++)
		{
			MetricValue m[SCORES_MAX_METRICS];
			int			n = scores_metrics(&ev->scored, slices[s].rows, slices[s].n, m);
			StringInfoData behind;

			appendStringInfoString(&result, result.data[result.len - 1] == '[' ? "{" : ", {");
			appendStringInfoString(&result, "\"column\": ");
			json_append_string(&result, column);
			appendStringInfoString(&result, ", \"value\": ");
			json_append_string(&result, slices[s].value);
			appendStringInfo(&result, ", \"rows\": " INT64_FORMAT ", \"metrics\": {", slices[s].n);
			initStringInfo(&behind);
			MemoryContextSwitchTo(call_cxt);
			put_metric_rows(rsinfo->setResult, rsinfo->setDesc, &result, &behind, column,
							slices[s].value, slices[s].n, m, n, overall, margin);
			MemoryContextSwitchTo(work_cxt);
			appendStringInfo(&result, "}, \"behind\": [%s]}", behind.data);
		}
	}
	appendStringInfoString(&result, "]}");

	initStringInfo(&args);
	appendStringInfo(&args, "{\"slice_margin\": %.15g, \"slice_by\": [", margin);
	foreach(lc, slice_by)
	{
		appendStringInfoString(&args, foreach_current_index(lc) > 0 ? ", " : "");
		json_append_string(&args, lfirst(lc));
	}
	appendStringInfoString(&args, "]}");
	record_evaluation(ev, "metrics", ev->frame->relation_name, args.data, result.data);

	MemoryContextSwitchTo(call_cxt);
	MemoryContextDelete(work_cxt);
	return (Datum) 0;
}

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
	K = curve_classes(ev, "a confusion matrix", &first);
	counts = palloc0(sizeof(int64) * K * K);
	for (int64 i = 0; i < ev->scored.n; i++)
		counts[ev->scored.label[i] * K + scores_predicted_class(&ev->scored, i)]++;
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
		int64		n = kind == CURVE_ROC ? scores_roc_curve(&ev->scored, k, &pt)
			: scores_pr_curve(&ev->scored, k, &pt);

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
		CalibrationBin bins[SCORES_CALIBRATION_BINS];

		scores_calibration_bins(&ev->scored, k, bins);
		for (int b = 0; b < SCORES_CALIBRATION_BINS; b++)
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
		LiftBucket buckets[SCORES_LIFT_BUCKETS];
		int64		total_pos = 0,
					cum_rows = 0,
					cum_pos = 0;
		double		base_rate;

		scores_lift_buckets(&ev->scored, k, buckets);
		for (int g = 0; g < SCORES_LIFT_BUCKETS; g++)
			total_pos += buckets[g].positives;
		base_rate = (double) total_pos / ev->scored.n;
		for (int g = 0; g < SCORES_LIFT_BUCKETS; g++)
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
	K = curve_classes(ev, "a curve", &first);
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
	StringInfoData result;

	InitMaterializedSRF(fcinfo, 0);
	work_cxt = AllocSetContextCreate(call_cxt, "automl evaluate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work_cxt);
	sensitive = arg_required_text(fcinfo, 2, "sensitive");
	ev = evaluation_run(fcinfo, 0, 1, 3, list_make1(sensitive));
	if (!ev->scored.classification || ev->model->n_classes != 2)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("fairness figures need a model with two classes, and model \"%s\" has %s",
						ev->name, ev->scored.classification ? psprintf("%d", ev->model->n_classes) : "none"),
				 errhint("automl_evaluate with slice_by => ARRAY['%s'] gives every metric per group.", sensitive)));
	col = frame_column(ev, sensitive, "sensitive");
	groups = column_slices(ev, col, "sensitive", &n_groups);
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
			bool		predicted = scores_predicted_class(&ev->scored, i) == 1;
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

	initStringInfo(&result);
	appendStringInfo(&result, "{\"sensitive\": ");
	json_append_string(&result, sensitive);
	appendStringInfo(&result, ", \"positive_class\": ");
	json_append_string(&result, ev->model->classes[1]);
	appendStringInfoString(&result, ", \"demographic_parity_difference\": ");
	json_append_number(&result, dp_diff);
	appendStringInfoString(&result, ", \"equalized_odds_difference\": ");
	json_append_number(&result, eo_diff);
	appendStringInfoString(&result, ", \"groups\": [");
	for (int g = 0; g < n_groups; g++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};

		appendStringInfoString(&result, g > 0 ? ", {\"value\": " : "{\"value\": ");
		json_append_string(&result, groups[g].value);
		appendStringInfo(&result, ", \"rows\": " INT64_FORMAT ", \"selection_rate\": ", groups[g].n);
		json_append_number(&result, selection[g]);
		appendStringInfoString(&result, ", \"true_positive_rate\": ");
		json_append_number(&result, tpr[g]);
		appendStringInfoString(&result, ", \"false_positive_rate\": ");
		json_append_number(&result, fpr[g]);
		appendStringInfoChar(&result, '}');

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
	appendStringInfoString(&result, "]}");
	{
		StringInfoData args;

		initStringInfo(&args);
		appendStringInfoString(&args, "{\"sensitive\": ");
		json_append_string(&args, sensitive);
		appendStringInfoChar(&args, '}');
		record_evaluation(ev, "fairness", ev->frame->relation_name, args.data, result.data);
	}
	MemoryContextSwitchTo(call_cxt);
	MemoryContextDelete(work_cxt);
	return (Datum) 0;
}
