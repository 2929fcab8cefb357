/*
 * evaluate.c: a stored model scoring a labelled relation (evaluation_run),
 * which every evaluation function starts from, and the record of an
 * evaluation in automl.evaluations.
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

	ev->scored.n_classes = ev->model->task == TASK_CLASSIFICATION ? ev->model->n_classes : 0;
	if (ev->scored.n_classes > 0)
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
	if (ev->scored.n_classes > 0)
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

int
evaluation_classes(const Evaluation *ev, const char *what, int *first)
{
	if (ev->scored.n_classes == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is a regression; %s needs a classifier", ev->name, what),
				 errhint("automl_evaluate gives a regression's metrics and residual quantiles.")));
	*first = ev->model->n_classes == 2 ? 1 : 0;
	return ev->model->n_classes;
}

const FrameColumn *
evaluation_column(const Evaluation *ev, const char *name, const char *argname)
{
	for (int c = 0; c < ev->frame->n_columns; c++)
	{
		if (strcmp(ev->frame->columns[c].name, name) == 0)
			return &ev->frame->columns[c];
	}
	if (strcmp(name, ev->target) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s column \"%s\" is the target column of model \"%s\"", argname, name, ev->name),
				 errhint("The target column cannot slice its own metrics.")));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("%s column \"%s\" is not a column of the relation", argname, name),
			 errhint("Name a column of a supported type: numbers, booleans, text, dates or times.")));
	return NULL;
}

void
evaluation_record(const Evaluation *ev, const char *kind, const char *relation,
				  const Jsonb *arguments, const Jsonb *result)
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
	query_add_jsonb(&p, arguments);
	query_add_jsonb(&p, result);
	query_add_text(&p, writer.caller);
	query_run("INSERT INTO automl.evaluations (name, version, kind, relation, n_rows, arguments,"
			  " result, evaluated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", &p, SPI_OK_INSERT);
	catalog_end_write(&writer);
	SPI_finish();
}

