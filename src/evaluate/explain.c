/*
 * explain.c: why a model predicts what it does, over many rows (per row:
 * model_explain_row in src/learn/model.c, automl_explain in src/serve).
 *
 *   automl_feature_importance  global importance per source column: the
 *                              learner's own (split gain for trees, the size
 *                              of standardised coefficients for linear
 *                              models), the permutation importance training
 *                              measured on validation rows, and permutation
 *                              importance on a labelled relation, for any model
 *
 * Importances are reported per source column: a column's model inputs (the
 * parts of a date, the one-hot levels of a category) are summed.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
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
#include "utils/builtins.h"
#include "utils/memutils.h"

#define MAX_REPEATS 100
#define DEFAULT_REPEATS 5

/* One importance of each source column of a model, by one method. */
typedef struct Importance
{
	const char *method;
	int			n_columns;
	double	   *value;
	double	   *std;			/* NULL unless repeated */
} Importance;

/*
 * The learner's own importance of each model input of a single model (a
 * member when member >= 0), from the version's stored summary: split gain,
 * or the mean over classes of |coefficient| on the standardised inputs.
 * NULL when the learner has neither.
 */
static double *
learner_input_importance(const char *name, int version, int member, int n_inputs,
						 const char **method)
{
	QueryParams p = {0};
	MemoryContext cxt = CurrentMemoryContext;
	double	   *out = NULL;
	bool		isnull;
	Datum		d;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(version), false);
	query_add(&p, INT4OID, Int32GetDatum(member), false);
	query_run("WITH s AS (SELECT CASE WHEN $3 OPERATOR(pg_catalog.<) 0 THEN m.summary"
			  "  ELSE m.summary->'members'->$3->'summary' END AS summary"
			  "  FROM automl.models m WHERE m.name OPERATOR(pg_catalog.=) $1"
			  "  AND m.version OPERATOR(pg_catalog.=) $2)"
			  " SELECT CASE WHEN s.summary ? 'importance_gain' THEN 'gain'"
			  "  WHEN s.summary ? 'coef' THEN 'coefficient' END,"
			  " CASE WHEN s.summary ? 'importance_gain' THEN"
			  "  ARRAY(SELECT g::pg_catalog.float8 FROM pg_catalog.jsonb_array_elements_text(s.summary->'importance_gain')"
			  "        WITH ORDINALITY AS e(g, i) ORDER BY i)"
			  " ELSE ARRAY(SELECT pg_catalog.avg(pg_catalog.abs(c::pg_catalog.float8))"
			  "        FROM pg_catalog.jsonb_array_elements(s.summary->'coef') r,"
			  "        pg_catalog.jsonb_array_elements_text(r) WITH ORDINALITY AS e(c, i) GROUP BY i ORDER BY i) END"
			  " FROM s", &p, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		if (kind != NULL && !isnull)
		{
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			MemoryContextSwitchTo(cxt);
			deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
							  &elems, &nulls, &n);
			if (n == n_inputs)
			{
				out = palloc(sizeof(double) * n);
				for (int i = 0; i < n; i++)
					out[i] = nulls[i] ? 0.0 : DatumGetFloat8(elems[i]);
				*method = strcmp(kind, "gain") == 0 ? "gain" : "coefficient";
			}
		}
	}
	MemoryContextSwitchTo(cxt);
	SPI_finish();
	return out;
}

/* Sums a spec's per-input values into per-column values. */
static void
inputs_to_columns(const PrepSpec *prep, const double *per_input, double *per_column)
{
	for (int c = 0; c < prep->n_columns; c++)
	{
		const PrepColumn *col = &prep->columns[c];

		per_column[c] = 0.0;
		for (int o = col->first_output; o < col->first_output + col->n_outputs; o++)
			per_column[c] += per_input[o];
	}
}

/*
 * The learner's own importance per source column. An ensemble's is the
 * weighted mean of its members' shares (each member's importances scaled to
 * sum 1), so that gains and coefficients can be mixed.
 */
static bool
intrinsic_importance(const char *name, int version, const Model *model, Importance *imp)
{
	int			C = model->prep->n_columns;
	double	   *per_column = palloc(sizeof(double) * C);

	imp->n_columns = C;
	imp->value = palloc0(sizeof(double) * C);
	imp->std = NULL;
	if (model->n_members == 0)
	{
		double	   *in = learner_input_importance(name, version, -1, model->prep->n_outputs, &imp->method);

		if (in == NULL)
			return false;
		inputs_to_columns(model->prep, in, imp->value);
		return true;
	}
	imp->method = "ensemble share";
	for (int m = 0; m < model->n_members; m++)
	{
		const Model *member = model->members[m];
		const char *method;
		double	   *in = learner_input_importance(name, version, m, member->prep->n_outputs, &method);
		double		total = 0.0;

		if (in == NULL)
			return false;
		inputs_to_columns(member->prep, in, per_column);
		for (int c = 0; c < C; c++)
			total += per_column[c];
		for (int c = 0; c < C && total > 0; c++)
			imp->value[c] += model->weights[m] * per_column[c] / total;
	}
	return true;
}

/*
 * The permutation importance training measured on its validation rows, kept
 * in the version's summary; false when there is none (a budget that ran out).
 */
static bool
validation_importance(const char *name, int version, const Model *model, Importance *imp)
{
	QueryParams p = {0};
	MemoryContext cxt = CurrentMemoryContext;
	int			C = model->prep->n_columns;
	bool		found = false;

	imp->method = "permutation (validation)";
	imp->n_columns = C;
	imp->value = palloc0(sizeof(double) * Max(C, 1));
	imp->std = palloc0(sizeof(double) * Max(C, 1));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(version), false);
	query_run("SELECT c->>'name', (c->>'importance')::pg_catalog.float8, (c->>'std')::pg_catalog.float8"
			  " FROM automl.models m,"
			  " pg_catalog.jsonb_array_elements(m.summary->'permutation_importance'->'columns') c"
			  " WHERE m.name OPERATOR(pg_catalog.=) $1 AND m.version OPERATOR(pg_catalog.=) $2",
			  &p, SPI_OK_SELECT);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *column = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		bool		null_value,
					null_std;
		Datum		v = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &null_value);
		Datum		sd = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &null_std);

		for (int c = 0; c < C && column != NULL; c++)
		{
			if (strcmp(model->prep->columns[c].name, column) == 0)
			{
				imp->value[c] = null_value ? NAN : DatumGetFloat8(v);
				imp->std[c] = null_std ? NAN : DatumGetFloat8(sd);
				found = true;
			}
		}
	}
	MemoryContextSwitchTo(cxt);
	SPI_finish();
	return found;
}

/* Permutation importance on an evaluation's rows, with the version's training metric. */
static void
evaluation_importance(Evaluation *ev, int repeats, Importance *imp)
{
	const MetricDef *metric = metric_find(ev->metric);
	int			C = ev->model->prep->n_columns;
	TrainingData td;

	if (metric == NULL)
		metric = metric_default(ev->model->task, ev->model->n_classes);
	memset(&td, 0, sizeof(td));
	td.frame = ev->frame;
	td.task = ev->model->task;
	td.n_classes = ev->model->n_classes;
	imp->method = "permutation";
	imp->n_columns = C;
	imp->value = palloc0(sizeof(double) * Max(C, 1));
	imp->std = palloc0(sizeof(double) * Max(C, 1));
	(void) permutation_importance(&td, ev->model, ev->binding, &ev->scored, ev->rows, metric,
								  repeats, 0.0, imp->value, imp->std);
}

/* Column indices by importance (arg), highest first, ties by index. */
static int
compare_by_value_desc(const void *a, const void *b, void *arg)
{
	const double *value = arg;
	double		x = value[*(const int *) a],
				y = value[*(const int *) b];

	/* an undefined importance (NaN) last */
	if (isnan(x) != isnan(y))
		return isnan(x) ? 1 : -1;
	if (!isnan(x) && x != y)
		return x < y ? 1 : -1;
	return *(const int *) a - *(const int *) b;
}

/* Rows (feature, method, importance, importance_std, share, rank), most important first. */
static void
put_importance(ReturnSetInfo *rsinfo, const Model *model, const Importance *imp)
{
	int			C = imp->n_columns;
	int		   *order = palloc(sizeof(int) * C);
	double		total = 0.0;

	for (int c = 0; c < C; c++)
	{
		order[c] = c;
		total += Max(imp->value[c], 0.0);
	}
	qsort_arg(order, C, sizeof(int), compare_by_value_desc, imp->value);
	for (int r = 0; r < C; r++)
	{
		int			c = order[r];
		Datum		values[6];
		bool		nulls[6] = {false};

		values[0] = CStringGetTextDatum(model->prep->columns[c].name);
		values[1] = CStringGetTextDatum(imp->method);
		/* undefined on these rows (the metric is: ROC AUC of one class): NULL, as automl_evaluate */
		values[2] = Float8GetDatum(imp->value[c]);
		nulls[2] = isnan(imp->value[c]);
		values[3] = imp->std ? Float8GetDatum(imp->std[c]) : (Datum) 0;
		nulls[3] = imp->std == NULL || isnan(imp->std[c]);
		values[4] = Float8GetDatum(total > 0 ? Max(imp->value[c], 0.0) / total : 0.0);
		values[5] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

PG_FUNCTION_INFO_V1(automl_feature_importance);

/*
 * automl_feature_importance(name, relation DEFAULT NULL, version DEFAULT NULL,
 * repeats DEFAULT 5): the learner's own importance, and with a labelled
 * relation the permutation importance on it.
 */
Datum
automl_feature_importance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext work_cxt;
	int			repeats = PG_ARGISNULL(3) ? DEFAULT_REPEATS : PG_GETARG_INT32(3);
	Model	   *model;
	char	   *name;
	int			version;
	Evaluation *ev = NULL;
	Importance	intrinsic;
	Importance	permuted;
	Importance	validation;
	bool		has_intrinsic;
	bool		has_validation;

	InitMaterializedSRF(fcinfo, 0);
	if (repeats < 1 || repeats > MAX_REPEATS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("repeats must be between 1 and %d", MAX_REPEATS)));
	work_cxt = AllocSetContextCreate(call_cxt, "automl importance", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work_cxt);
	if (!PG_ARGISNULL(1))
	{
		ev = evaluation_run(fcinfo, 0, 1, 2, NIL);
		model = ev->model;
		name = ev->name;
		version = ev->version;
	}
	else
	{
		char	   *ref;
		char	   *cached_name;

		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("name must not be NULL")));
		ref = text_to_cstring(PG_GETARG_TEXT_PP(0));
		if (!PG_ARGISNULL(2))
			ref = psprintf("%s@%d", ref, PG_GETARG_INT32(2));
		model = model_cache_lookup(ref, &cached_name, &version, NULL);
		name = pstrdup(cached_name);
	}

	has_intrinsic = intrinsic_importance(name, version, model, &intrinsic);
	has_validation = validation_importance(name, version, model, &validation);
	if (ev)
		evaluation_importance(ev, repeats, &permuted);

	MemoryContextSwitchTo(call_cxt);
	if (has_intrinsic)
		put_importance(rsinfo, model, &intrinsic);
	if (has_validation)
		put_importance(rsinfo, model, &validation);
	if (ev)
		put_importance(rsinfo, model, &permuted);
	MemoryContextDelete(work_cxt);
	return (Datum) 0;
}
