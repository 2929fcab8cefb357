/*
 * statistics.c: the sums a linear fit needs (learn/learner.h's LinearStatistics) over the
 * rows of a relation, and the refit of a ridge model from them on a Citus cluster.
 *
 *   automl.linear_inputs(model, target, row)  a row's target and inputs, prepared as the
 *                                              model prepares them: float8[] of 1 + d
 *   automl.linear_statistics(float8[])         their sums: an aggregate with a combine
 *                                              function
 *
 * Citus runs both on each worker's shards and adds the partial sums on the coordinator,
 * so a ridge model trained on a sample of a distributed table (the rows that fit in
 * automl.train_memory) is refitted on every row without the rows leaving the workers
 * (docs/scale-out.md). The aggregate's argument is a plain float8[] because Citus checks
 * the argument types of an aggregate it distributes and refuses polymorphic ones.
 *
 * The state is a float8[] of 2 + 2d + d*d values: n, sum of y, sum of x (d), X'y (d),
 * X'X (d x d, upper triangle).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "common/subxact.h"
#include "train/tabular.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(automl_linear_inputs);
PG_FUNCTION_INFO_V1(automl_linear_statistics_step);
PG_FUNCTION_INFO_V1(automl_linear_statistics_combine);

#define STATS_LENGTH(d) (2 + 2 * (d) + (d) * (d))

/* Per call site: the model, and where its columns and the target are in the row type. */
typedef struct StepState
{
	Model	   *model;
	int			d;
	Oid			row_type;
	int32		row_typmod;
	TupleDesc	desc;
	int		   *att;			/* per model column */
	Oid		   *type;
	int			target_att;
	Oid			target_type;
	Datum	   *values;
	bool	   *isnull;
	RawValue   *raw;
	double	   *x;
} StepState;

static int
find_column(TupleDesc desc, const char *name)
{
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return a;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("the row has no column \"%s\"", name)));
	return -1;
}

static void
bind_row(StepState *st, HeapTupleHeader row, const char *target, MemoryContext cxt)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	const PrepSpec *prep = st->model->prep;
	MemoryContext old = MemoryContextSwitchTo(cxt);

	st->row_type = HeapTupleHeaderGetTypeId(row);
	st->row_typmod = HeapTupleHeaderGetTypMod(row);
	st->desc = CreateTupleDescCopyConstr(desc);
	st->att = palloc(sizeof(int) * Max(prep->n_columns, 1));
	st->type = palloc(sizeof(Oid) * Max(prep->n_columns, 1));
	st->values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	st->isnull = palloc(sizeof(bool) * Max(desc->natts, 1));
	for (int c = 0; c < prep->n_columns; c++)
	{
		st->att[c] = find_column(desc, prep->columns[c].name);
		st->type[c] = getBaseType(TupleDescAttr(desc, st->att[c])->atttypid);
	}
	st->target_att = find_column(desc, target);
	st->target_type = getBaseType(TupleDescAttr(desc, st->target_att)->atttypid);
	MemoryContextSwitchTo(old);
	ReleaseTupleDesc(desc);
}

/* automl.linear_inputs(model bytea, target text, row anyelement): STRICT */
Datum
automl_linear_inputs(PG_FUNCTION_ARGS)
{
	StepState  *st = fcinfo->flinfo->fn_extra;
	HeapTupleHeader row;
	HeapTupleData tuple;
	Datum	   *out;
	double		y;

	if (st == NULL)
	{
		bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		st = palloc0(sizeof(StepState));
		st->model = model_deserialize(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
		if (st->model->learner == NULL || st->model->task != TASK_REGRESSION)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("automl.linear_inputs needs a single regression model")));
		st->d = model_input_width(st->model);
		st->raw = palloc(sizeof(RawValue) * Max(st->model->prep->n_columns, 1));
		st->x = palloc(sizeof(double) * Max(st->d, 1));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = st;
	}
	if (!type_is_rowtype(get_fn_expr_argtype(fcinfo->flinfo, 2)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("automl.linear_inputs needs a row value")));
	row = PG_GETARG_HEAPTUPLEHEADER(2);
	if (st->desc == NULL || HeapTupleHeaderGetTypeId(row) != st->row_type ||
		HeapTupleHeaderGetTypMod(row) != st->row_typmod)
		bind_row(st, row, text_to_cstring(PG_GETARG_TEXT_PP(1)), fcinfo->flinfo->fn_mcxt);
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	heap_deform_tuple(&tuple, st->desc, st->values, st->isnull);

	/* rows without a finite target are not trained on, as in the scan */
	if (st->isnull[st->target_att])
		PG_RETURN_NULL();
	y = frame_datum_to_double(st->values[st->target_att], st->target_type);
	if (!isfinite(y))
		PG_RETURN_NULL();

	prep_raw_from_datums(st->model->prep, st->values, st->isnull, st->att, st->type, st->raw, NULL, NULL);
	prep_apply(st->model->prep, st->raw, st->x);
	out = palloc(sizeof(Datum) * (st->d + 1));
	out[0] = Float8GetDatum(y);
	for (int j = 0; j < st->d; j++)
		out[j + 1] = Float8GetDatum(st->x[j]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, st->d + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}

/* automl.linear_statistics(float8[]) state function: adds one row (y, then x) */
Datum
automl_linear_statistics_step(PG_FUNCTION_ARGS)
{
	MemoryContext agg_cxt;
	ArrayType  *state;
	ArrayType  *input;
	const double *v;
	double	   *s;
	double		y;
	int			d;

	if (!AggCheckCallContext(fcinfo, &agg_cxt))
		elog(ERROR, "automl_linear_statistics_step called outside an aggregate");
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0));
	input = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(input) != 1 || ARR_HASNULL(input) || ARR_DIMS(input)[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("automl.linear_statistics takes a row's target and inputs (automl.linear_inputs)")));
	d = ARR_DIMS(input)[0] - 1;
	v = (const double *) ARR_DATA_PTR(input);
	y = v[0];

	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(agg_cxt);
		Datum	   *zeros = palloc(sizeof(Datum) * STATS_LENGTH(d));

		for (int i = 0; i < STATS_LENGTH(d); i++)
			zeros[i] = Float8GetDatum(0.0);
		state = construct_array(zeros, STATS_LENGTH(d), FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		MemoryContextSwitchTo(old);
	}
	else
		state = PG_GETARG_ARRAYTYPE_P(0);	/* ours, in the aggregate's context: updated in place */
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] != STATS_LENGTH(d) || ARR_HASNULL(state))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("automl.linear_statistics: rows of different widths")));
	s = (double *) ARR_DATA_PTR(state);
	s[0] += 1.0;
	s[1] += y;
	for (int j = 0; j < d; j++)
	{
		const double xj = v[j + 1];
		double	   *xtx = s + 2 + 2 * d + (size_t) j * d;

		s[2 + j] += xj;
		s[2 + d + j] += xj * y;
		for (int k = j; k < d; k++)
			xtx[k] += xj * v[k + 1];
	}
	PG_RETURN_ARRAYTYPE_P(state);
}

/* The combine function: the element-wise sum of two partial states. */
Datum
automl_linear_statistics_combine(PG_FUNCTION_ARGS)
{
	MemoryContext agg_cxt;
	ArrayType  *a,
			   *b;
	double	   *sa;
	const double *sb;
	int			n;

	if (!AggCheckCallContext(fcinfo, &agg_cxt))
		elog(ERROR, "automl_linear_statistics_combine called outside an aggregate");
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0));
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(agg_cxt);
		ArrayType  *copy = DatumGetArrayTypePCopy(PG_GETARG_DATUM(1));

		MemoryContextSwitchTo(old);
		PG_RETURN_ARRAYTYPE_P(copy);
	}
	a = PG_GETARG_ARRAYTYPE_P(0);
	b = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(a) != 1 || ARR_NDIM(b) != 1 || ARR_DIMS(a)[0] != ARR_DIMS(b)[0] ||
		ARR_HASNULL(a) || ARR_HASNULL(b))
		elog(ERROR, "automl.linear_statistics: partial states of different shapes");
	n = ARR_DIMS(a)[0];
	sa = (double *) ARR_DATA_PTR(a);
	sb = (const double *) ARR_DATA_PTR(b);
	for (int i = 0; i < n; i++)
		sa[i] += sb[i];
	PG_RETURN_ARRAYTYPE_P(a);
}

/* The workers' sums of the relation's rows, prepared as the model prepares them; NULL: no row. */
static ArrayType *
sum_on_workers(const TabularRun *t)
{
	const Frame *frame = t->frame;
	MemoryContext caller = CurrentMemoryContext;
	ArrayType  *stats = NULL;
	Datum		stats_datum;
	bool		isnull;
	char	   *sql;
	bytea	   *bytes = model_serialize(t->model);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sql = psprintf("SELECT automl.linear_statistics(automl.linear_inputs($1, $2, t)) FROM %s t",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(frame->relation_id)),
											  get_rel_name(frame->relation_id)));
	if (SPI_execute_with_args(sql, 2, (Oid[]) {BYTEAOID, TEXTOID},
							  (Datum[]) {PointerGetDatum(bytes), CStringGetTextDatum(t->run.req->target)},
							  NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "automl could not sum the rows on the workers");
	stats_datum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		/* into the caller's memory: SPI_finish frees the result */
		MemoryContext old = MemoryContextSwitchTo(caller);

		stats = DatumGetArrayTypePCopy(stats_datum);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	if (stats != NULL &&
		(ARR_NDIM(stats) != 1 || ARR_DIMS(stats)[0] != STATS_LENGTH(model_input_width(t->model))))
		elog(ERROR, "automl.linear_statistics: a result of the wrong shape");
	return stats;
}

/*
 * A ridge model trained on a sample of a Citus distributed table: refit it on every row
 * from the workers' sums (the search, the prepared inputs and alpha stay those chosen on
 * the sample). Leaves t as it is for any other model or relation; when the sums cannot be
 * had (a worker down), keeps the sample's model and says so: the search is not lost.
 */
void
refit_on_workers(TabularRun *t)
{
	const Frame *frame = t->frame;
	double		started = seconds_now();
	bool		distributed;
	ArrayType  *volatile stats = NULL;
	void	   *volatile state = NULL;
	SubxactState sx;

	if (!t->refitted || t->use_ensemble || t->td.task != TASK_REGRESSION ||
		t->model->learner != &ridge_learner || frame->n_rows >= frame->n_rows_seen)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	distributed = replica_is_distributed_table(frame->relation_id);
	SPI_finish();
	if (!distributed)
		return;

	sx = subxact_begin();
	PG_TRY();
	{
		stats = sum_on_workers(t);
		if (stats != NULL)
		{
			int			d = model_input_width(t->model);
			double	   *s = (double *) ARR_DATA_PTR(stats);
			LinearStatistics ls = {.n_features = d, .n = s[0], .sum_y = s[1], .sum_x = s + 2,
			.xty = s + 2 + d, .xtx = s + 2 + 2 * d};

			state = ridge_fit_statistics(&ls, t->best->hyperparams[0]);
		}
		subxact_commit(&sx);
	}
	PG_CATCH();
	{
		ErrorData  *error = subxact_abort(&sx);

		ereport(WARNING,
				(errmsg("the linear model could not be refitted on every row of %s: %s",
						frame->relation_name, error->message),
				 errdetail("It stays the one trained on the sample of " INT64_FORMAT " rows.", frame->n_rows)));
		return;
	}
	PG_END_TRY();
	if (state == NULL)
		return;
	t->model->learner_state = state;
	t->refit_rows_on_workers = (int64) ((double *) ARR_DATA_PTR(stats))[0];
	t->refit_seconds += seconds_now() - started;
	ereport(NOTICE,
			(errmsg("the linear model was refitted on all " INT64_FORMAT " rows of %s, summed on the Citus workers",
					t->refit_rows_on_workers, frame->relation_name),
			 errdetail("The search, its validation scores and the data profile used the sample of " INT64_FORMAT " rows.",
					   frame->n_rows)));
}
