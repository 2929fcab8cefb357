/*
 * explain.c: why a model predicts what it does.
 *
 *   explain_row                exact contributions of one row's columns to
 *                              its margin (automl_explain, in src/serve)
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

/* Adds weight times one single model's contributions to margin m into ex. */
static void
add_contributions(const Model *model, const RawValue *raw, double *x, int m, double weight,
				  RowExplanation *ex)
{
	const Learner *learner = model->learner;
	int			F = model->prep->n_outputs;
	int			n_margins = learner->n_margins(model->learner_state);
	double	   *phi = palloc(sizeof(double) * n_margins * (F + 1));
	const double *row;

	prep_apply(model->prep, raw, x);
	learner->contributions(model->learner_state, x, phi);
	row = phi + (size_t) Min(m, n_margins - 1) * (F + 1);
	for (int c = 0; c < model->prep->n_columns; c++)
	{
		const PrepColumn *col = &model->prep->columns[c];

		for (int o = col->first_output; o < col->first_output + col->n_outputs; o++)
			ex->contribution[c] += weight * row[o];
	}
	ex->base += weight * row[F];
	pfree(phi);
}

RowExplanation
explain_row(const Model *model, const RawValue *raw, double *x, const double *probabilities,
			int class_index, const char *model_name)
{
	RowExplanation ex;
	const Model *first = model->n_members > 0 ? model->members[0] : model;
	int			n_margins;
	int			m;

	memset(&ex, 0, sizeof(ex));
	ex.n_columns = model->prep->n_columns;
	ex.contribution = palloc0(sizeof(double) * Max(ex.n_columns, 1));
	ex.class_index = -1;
	if (model->n_members > 0 && model->task == TASK_CLASSIFICATION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is an ensemble of classifiers, whose averaged probabilities have no additive margin to explain",
						model_name),
				 errhint("automl_feature_importance explains it globally; a model trained with one algorithm (algorithms => ARRAY['gbdt']) can be explained per row.")));
	if (model->task == TASK_CLASSIFICATION)
	{
		if (class_index < 0)
		{
			class_index = 0;
			for (int k = 1; k < model->n_classes; k++)
			{
				if (probabilities[k] > probabilities[class_index])
					class_index = k;
			}
			if (model->n_classes == 2)
				class_index = 1;
		}
		ex.class_index = class_index;
	}

	/* a binary model with one margin explains the positive class's */
	n_margins = first->learner->n_margins(first->learner_state);
	m = model->task == TASK_REGRESSION ? 0 : (n_margins == 1 ? 0 : class_index);
	ex.scale = first->learner->margin_scale(first->learner_state);
	if (model->n_members == 0)
		add_contributions(model, raw, x, m, 1.0, &ex);
	else
		for (int k = 0; k < model->n_members; k++)
			add_contributions(model->members[k], raw, x, 0, model->weights[k], &ex);

	/* one log-odds margin is the positive class's; the negative class's is its negation */
	if (model->task == TASK_CLASSIFICATION && n_margins == 1 && class_index == 0)
	{
		for (int c = 0; c < ex.n_columns; c++)
			ex.contribution[c] = -ex.contribution[c];
		ex.base = -ex.base;
	}
	ex.margin = ex.base;
	for (int c = 0; c < ex.n_columns; c++)
		ex.margin += ex.contribution[c];
	return ex;
}

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

/* The metric of the evaluation's rows with the current predictions, as a loss. */
static double
loss_of(const Evaluation *ev, const MetricDef *metric, const double *pred)
{
	double		score = metric_compute(metric->id, ev->scored.n, ev->scored.y, ev->scored.label,
									   ev->scored.n_classes, pred);

	return metric_loss(metric, score);
}

/*
 * Permutation importance (Breiman 2001; scikit-learn's
 * permutation_importance): the rise in the metric's loss when one column's
 * values are shuffled among the rows, mean and standard deviation over
 * repeats with seeded shuffles.
 */
static void
permutation_importance(Evaluation *ev, int repeats, Importance *imp)
{
	const Model *model = ev->model;
	const MetricDef *metric = metric_find(ev->metric);
	int			C = model->prep->n_columns;
	int64		n = ev->scored.n;
	int			width = ev->scored.classification ? ev->scored.n_classes : 1;
	double	   *pred = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n * width);
	double	   *saved = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n);
	double	   *drops = palloc(sizeof(double) * repeats);
	double		base;
	TrainingData td;

	if (metric == NULL)
		metric = metric_default(model->task, model->n_classes);
	memset(&td, 0, sizeof(td));
	td.frame = ev->frame;
	td.task = model->task;
	td.n_classes = model->n_classes;
	base = loss_of(ev, metric, ev->scored.pred);

	imp->method = "permutation";
	imp->n_columns = C;
	imp->value = palloc0(sizeof(double) * C);
	imp->std = palloc0(sizeof(double) * C);
	for (int c = 0; c < C; c++)
	{
		FrameColumn *col = &ev->frame->columns[ev->binding[c]];
		pg_prng_state rng;
		double		mean = 0.0,
					var = 0.0;

		pg_prng_seed(&rng, 42 + c);
		for (int64 i = 0; i < n; i++)
			saved[i] = col->values ? col->values[ev->rows[i]] : (double) col->codes[ev->rows[i]];
		for (int r = 0; r < repeats; r++)
		{
			/* a seeded Fisher-Yates shuffle of the column among the scored rows */
			for (int64 i = 0; i < n; i++)
			{
				double		v = saved[i];

				if (col->values)
					col->values[ev->rows[i]] = v;
				else
					col->codes[ev->rows[i]] = (int32) v;
			}
			for (int64 i = n - 1; i > 0; i--)
			{
				int64		j = (int64) pg_prng_uint64_range(&rng, 0, (uint64) i);
				int64		a = ev->rows[i],
							b = ev->rows[j];

				if (col->values)
				{
					double		t = col->values[a];

					col->values[a] = col->values[b];
					col->values[b] = t;
				}
				else
				{
					int32		t = col->codes[a];

					col->codes[a] = col->codes[b];
					col->codes[b] = t;
				}
			}
			CHECK_FOR_INTERRUPTS();
			predict_rows(&td, model, ev->binding, ev->rows, n, pred);
			drops[r] = loss_of(ev, metric, pred) - base;
			mean += drops[r] / repeats;
		}
		for (int r = 0; r < repeats; r++)
			var += (drops[r] - mean) * (drops[r] - mean) / repeats;
		imp->value[c] = mean;
		imp->std[c] = sqrt(var);
		/* put the column back */
		for (int64 i = 0; i < n; i++)
		{
			if (col->values)
				col->values[ev->rows[i]] = saved[i];
			else
				col->codes[ev->rows[i]] = (int32) saved[i];
		}
	}
}

void
evaluation_permutation_importance(Evaluation *ev, int repeats, double *mean, double *std)
{
	Importance	imp;

	permutation_importance(ev, repeats, &imp);
	memcpy(mean, imp.value, sizeof(double) * imp.n_columns);
	memcpy(std, imp.std, sizeof(double) * imp.n_columns);
}

static const double *rank_order_values;

static int
compare_by_value_desc(const void *a, const void *b)
{
	double		x = rank_order_values[*(const int *) a],
				y = rank_order_values[*(const int *) b];

	if (x != y)
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
	rank_order_values = imp->value;
	qsort(order, C, sizeof(int), compare_by_value_desc);
	for (int r = 0; r < C; r++)
	{
		int			c = order[r];
		Datum		values[6];
		bool		nulls[6] = {false};

		values[0] = CStringGetTextDatum(model->prep->columns[c].name);
		values[1] = CStringGetTextDatum(imp->method);
		values[2] = Float8GetDatum(imp->value[c]);
		values[3] = imp->std ? Float8GetDatum(imp->std[c]) : (Datum) 0;
		nulls[3] = imp->std == NULL;
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
		permutation_importance(ev, repeats, &permuted);

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
