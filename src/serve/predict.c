/*
 * predict.c: the scalar scoring functions automl_predict, automl_predict_label
 * and automl_predict_proba.
 *
 * The features argument is any row value. Its columns are matched to the
 * model's features by name once per statement (and again only if the row
 * type changes); after that a row costs one deform, a conversion per feature
 * and the learner's predict.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xlog.h"
#include "common/pg_prng.h"
#include "catalog/pg_type.h"
#include "data/frame.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "registry/registry.h"
#include "serve/log.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(automl_predict);
PG_FUNCTION_INFO_V1(automl_predict_label);
PG_FUNCTION_INFO_V1(automl_predict_proba);
PG_FUNCTION_INFO_V1(automl_explain);

/* What a monitored model logs of each row (automl.monitors), per statement. */
typedef struct LogPlan
{
	double		sample_rate;
	char	   *key_column;		/* or NULL */
	int			key_att;		/* the key's attribute in the row, or -1 */
	FmgrInfo	key_output;
	int			n_logged;
	int		   *logged_column;	/* model columns that are logged, in order */
	const char **logged_name;
	LoggedValue *values;
	TimestampTz clock;			/* the time logged rows get */
	uint64		clock_rows;
} LogPlan;

static bool warned_standby = false;
static bool warned_other_role = false;

/* Per-expression state in fn_extra, for the statement's lifetime. */
typedef struct PredictState
{
	text	   *model_ref;		/* the reference this state was built for */
	bool		ref_is_stable;	/* a constant or parameter: no need to compare per row */
	char	   *model_name;
	int			model_version;
	Model	   *model;

	Oid			row_type;		/* the row type the mapping was built for */
	int32		row_typmod;
	TupleDesc	row_desc;		/* a copy, so rows deform without a type-cache lookup */
	int		   *column_att;		/* per model column: its attribute index in the row */
	Oid		   *column_type;	/* per model column: the row column's base type */

	Datum	   *values;			/* deformed row */
	bool	   *isnull;
	RawValue   *raw;			/* per model column */
	double	   *x;				/* model inputs */
	double	   *out;			/* learner output */
	LogPlan    *log;			/* NULL when the model is not monitored */
	const char **category;		/* per model column: the row's category text, for the log */
	int		   *category_len;
} PredictState;

/* Can a row column of type base_type feed a model column of this kind? */
static bool
type_fits_kind(Oid base_type, FeatureKind kind)
{
	FeatureKind row_kind;

	if (kind == FEATURE_CATEGORICAL)
		return true;			/* any value can be read as a category */
	return frame_kind_of_type(base_type, &row_kind) && row_kind == kind;
}

static void
build_row_mapping(PredictState *state, HeapTupleHeader row, MemoryContext cxt)
{
	static const char *const kind_needs[] = {"a number", "a category", "a date or timestamp"};
	Oid			row_type = HeapTupleHeaderGetTypeId(row);
	int32		row_typmod = HeapTupleHeaderGetTypMod(row);
	TupleDesc	desc = lookup_rowtype_tupdesc(row_type, row_typmod);
	const PrepSpec *prep = state->model->prep;

	state->row_type = row_type;
	state->row_typmod = row_typmod;
	state->row_desc = NULL;
	state->column_att = MemoryContextAlloc(cxt, sizeof(int) * prep->n_columns);
	state->column_type = MemoryContextAlloc(cxt, sizeof(Oid) * prep->n_columns);
	state->values = MemoryContextAlloc(cxt, sizeof(Datum) * Max(desc->natts, 1));
	state->isnull = MemoryContextAlloc(cxt, sizeof(bool) * Max(desc->natts, 1));

	for (int c = 0; c < prep->n_columns; c++)
	{
		const PrepColumn *pc = &prep->columns[c];
		int			found = -1;

		for (int a = 0; a < desc->natts && found < 0; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), pc->name) == 0)
				found = a;
		}
		if (found < 0)
		{
			ReleaseTupleDesc(desc);
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the row has no column \"%s\", which model \"%s\" needs",
							pc->name, state->model_name),
					 errhint("Pass a row with every feature column; automl.models lists them.")));
		}
		state->column_att[c] = found;
		state->column_type[c] = getBaseType(TupleDescAttr(desc, found)->atttypid);
		if (!type_fits_kind(state->column_type[c], pc->kind))
		{
			Oid			type = TupleDescAttr(desc, found)->atttypid;

			ReleaseTupleDesc(desc);
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" has type %s, but model \"%s\" needs %s",
							pc->name, format_type_be(type), state->model_name, kind_needs[pc->kind])));
		}
	}
	if (state->log != NULL)
	{
		LogPlan    *log = state->log;

		/* a row without the key column is still scored and logged, with a NULL key */
		log->key_att = -1;
		for (int a = 0; a < desc->natts && log->key_column != NULL; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);
			Oid			output;
			bool		varlena;

			if (att->attisdropped || strcmp(NameStr(att->attname), log->key_column) != 0)
				continue;
			log->key_att = a;
			getTypeOutputInfo(att->atttypid, &output, &varlena);
			fmgr_info_cxt(output, &log->key_output, cxt);
			break;
		}
		/* once per statement: parallel workers leave it to their leader */
		if (log->key_att < 0 && log->key_column != NULL && !IsParallelWorker())
			ereport(WARNING,
					(errmsg("the scored rows have no column \"%s\", the key of model \"%s\"'s monitor",
							log->key_column, state->model_name),
					 errdetail("Their predictions are logged with a NULL key: no outcome can be joined to them."),
					 errhint("Score rows that carry the key column, or change it with automl_monitor(model, key => ...).")));
	}
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		state->row_desc = CreateTupleDescCopyConstr(desc);	/* keeps missing-value defaults */
		MemoryContextSwitchTo(old);
	}
	ReleaseTupleDesc(desc);
}

/* Frees a state whose model reference no longer applies (it may change per row). */
static void
free_state(PredictState *state)
{
	if (state->row_desc != NULL)
	{
		pfree(state->column_att);
		pfree(state->column_type);
		pfree(state->values);
		pfree(state->isnull);
		FreeTupleDesc(state->row_desc);
	}
	pfree(state->model_ref);
	pfree(state->model_name);
	pfree(state->raw);
	pfree(state->x);
	pfree(state->out);
	pfree(state->category);
	pfree(state->category_len);
	if (state->log != NULL)
	{
		pfree(state->log->logged_column);
		pfree(state->log->logged_name);
		pfree(state->log->values);
		pfree(state->log);
	}
	pfree(state);
}

/* The logging plan of a monitored model: which columns, which key, how often. */
static LogPlan *
make_log_plan(const MonitorSettings *monitor, const Model *model, const char *model_name)
{
	const PrepSpec *prep = model->prep;
	LogPlan    *log;

	if (!monitor->enabled)
		return NULL;

	/*
	 * Only the owner's roles' scoring is logged: the log is the owner's to
	 * read, and another role's rows (its key column, its feature values) are
	 * not the owner's to see.
	 */
	{
		Oid			owner = monitor->owner ? get_role_oid(monitor->owner, true) : InvalidOid;

		if (!OidIsValid(owner) || !has_privs_of_role(GetUserId(), owner))
		{
			if (!warned_other_role && !IsParallelWorker())
				ereport(NOTICE,
						(errmsg("predictions of model \"%s\" by role \"%s\" are not logged", model_name,
								GetUserNameFromId(GetUserId(), false)),
						 errdetail("Only predictions made by the model's owner role, or roles that are members of it, are logged.")));
			warned_other_role = true;
			return NULL;
		}
	}
	if (RecoveryInProgress())
	{
		/* once per session: parallel workers leave it to their leader */
		if (!warned_standby && !IsParallelWorker())
			ereport(WARNING,
					(errmsg("predictions of model \"%s\" are not logged on a standby", model_name),
					 errdetail("The prediction log is written on the primary only.")));
		warned_standby = true;
		return NULL;
	}
	log = palloc0(sizeof(LogPlan));
	log->sample_rate = monitor->sample_rate;
	log->key_column = monitor->key_column ? pstrdup(monitor->key_column) : NULL;
	log->key_att = -1;
	log->logged_column = palloc(sizeof(int) * Max(prep->n_columns, 1));
	log->logged_name = palloc(sizeof(char *) * Max(prep->n_columns, 1));
	log->values = palloc0(sizeof(LoggedValue) * Max(prep->n_columns, 1));
	for (int c = 0; c < prep->n_columns; c++)
	{
		bool		excluded = false;

		for (int e = 0; e < monitor->n_exclude && !excluded; e++)
			excluded = strcmp(monitor->exclude[e], prep->columns[c].name) == 0;
		if (excluded)
			continue;
		log->logged_column[log->n_logged] = c;
		log->logged_name[log->n_logged] = prep->columns[c].name;
		log->n_logged++;
	}
	return log;
}

/* Appends the scored row to the prediction log (the model is monitored). */
static void
log_prediction(PredictState *state)
{
	const Model *model = state->model;
	LogPlan    *log = state->log;
	LogEntry	entry;

	memset(&entry, 0, sizeof(entry));
	/* the clock is read every 16th row: a tenth of logging's cost otherwise */
	if (log->clock_rows++ % 16 == 0)
		log->clock = GetCurrentTimestamp();
	entry.predicted_at = log->clock;
	entry.model = state->model_name;
	entry.version = state->model_version;
	if (log->key_att >= 0 && !state->isnull[log->key_att])
		entry.key = OutputFunctionCall(&log->key_output, state->values[log->key_att]);
	for (int i = 0; i < log->n_logged; i++)
	{
		int			c = log->logged_column[i];
		const RawValue *raw = &state->raw[c];
		LoggedValue *v = &log->values[i];

		if (raw->isnull)
			v->kind = LOGGED_NULL;
		else if (model->prep->columns[c].kind == FEATURE_CATEGORICAL)
		{
			v->kind = LOGGED_TEXT;
			v->text = state->category[c];
			v->text_len = state->category_len[c];
		}
		else
		{
			v->kind = LOGGED_NUMBER;
			v->number = raw->number;
		}
	}
	entry.n_features = log->n_logged;
	entry.feature_names = log->logged_name;
	entry.values = log->values;
	if (model->task == TASK_REGRESSION)
	{
		entry.has_prediction = true;
		entry.prediction = state->out[0];
	}
	else
	{
		int			best = 0;

		for (int k = 1; k < model->n_classes; k++)
		{
			if (state->out[k] > state->out[best])
				best = k;
		}
		entry.has_prediction = model->n_classes == 2;
		entry.prediction = state->out[model->n_classes == 2 ? 1 : 0];
		entry.label = model->classes[best];
		entry.n_probabilities = model->n_classes;
		entry.probabilities = state->out;
	}
	log_append(&entry);
}

/* What a scoring function returns, which the model must be able to give. */
typedef enum PredictUse
{
	USE_VALUE,					/* automl_predict: a value, or a binary classifier's probability */
	USE_CLASSES,				/* automl_predict_label and _proba: a classifier's classes */
	USE_EXPLAIN					/* automl_explain: any model, never logged */
} PredictUse;

/*
 * Errors, before anything is predicted or logged, when the model cannot
 * give what the function returns.
 */
static void
check_use(const PredictState *state, PredictUse use, const char *function)
{
	const Model *model = state->model;

	if (use == USE_VALUE && model->task == TASK_CLASSIFICATION && model->n_classes != 2)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a multiclass classifier", state->model_name),
				 errdetail("automl_predict returns one number: a regression value or the probability of the positive class."),
				 errhint("Use automl_predict_label for the class, or automl_predict_proba for the class probabilities.")));
	if (use == USE_CLASSES && model->task != TASK_CLASSIFICATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a regression model", state->model_name),
				 errdetail("%s returns class labels or probabilities.", function),
				 errhint("Use automl_predict for the predicted value.")));
}

/*
 * Scores the row in argument 1 with the model named in argument 0, and logs
 * it when the model is monitored (and use is not USE_EXPLAIN).
 */
static PredictState *
predict_row(FunctionCallInfo fcinfo, PredictUse use, const char *function)
{
	PredictState *state = fcinfo->flinfo->fn_extra;
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;
	text	   *ref = PG_GETARG_TEXT_PP(0);
	HeapTupleHeader row;
	HeapTupleData tuple;
	const Model *model;
	const PrepSpec *prep;
	bool		logging;

	/* Resolve the model once per statement, or when the reference changes. */
	if (state == NULL ||
		(!state->ref_is_stable &&
		 (VARSIZE_ANY_EXHDR(ref) != VARSIZE_ANY_EXHDR(state->model_ref) ||
		  memcmp(VARDATA_ANY(ref), VARDATA_ANY(state->model_ref), VARSIZE_ANY_EXHDR(ref)) != 0)))
	{
		MemoryContext old;
		char	   *name;
		int			version;
		Model	   *found;
		MonitorSettings monitor;

		if (!type_is_rowtype(get_fn_expr_argtype(fcinfo->flinfo, 1)))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("features must be a row value"),
					 errhint("Pass a whole row, as in automl_predict('model', t.*) ... FROM my_table t.")));
		found = model_cache_lookup(text_to_cstring(ref), &name, &version, &monitor);
		if (state != NULL)
			free_state(state);
		fcinfo->flinfo->fn_extra = NULL;

		old = MemoryContextSwitchTo(cxt);
		state = palloc0(sizeof(PredictState));
		state->model_ref = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(ref));
		state->ref_is_stable = get_fn_expr_arg_stable(fcinfo->flinfo, 0);
		state->model_name = pstrdup(name);
		state->model_version = version;
		state->model = found;
		state->raw = palloc(sizeof(RawValue) * found->prep->n_columns);
		state->x = palloc(sizeof(double) * model_input_width(found));
		state->out = palloc(sizeof(double) * Max(found->n_classes, 1));
		state->log = use != USE_EXPLAIN ? make_log_plan(&monitor, found, name) : NULL;
		state->category = palloc0(sizeof(char *) * Max(found->prep->n_columns, 1));
		state->category_len = palloc0(sizeof(int) * Max(found->prep->n_columns, 1));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = state;
	}
	model = state->model;
	prep = model->prep;

	/* Only now is argument 1 known to be a row. */
	row = PG_GETARG_HEAPTUPLEHEADER(1);

	if (state->row_desc == NULL ||
		HeapTupleHeaderGetTypeId(row) != state->row_type ||
		HeapTupleHeaderGetTypMod(row) != state->row_typmod)
		build_row_mapping(state, row, cxt);

	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	heap_deform_tuple(&tuple, state->row_desc, state->values, state->isnull);
	logging = use != USE_EXPLAIN && state->log != NULL &&
		(state->log->sample_rate >= 1.0 || pg_prng_double(&pg_global_prng_state) < state->log->sample_rate);

	/* NaN and, unlike in training, infinity are missing values */
	prep_raw_from_datums(prep, state->values, state->isnull, state->column_att, state->column_type,
						 state->raw, state->category, state->category_len);
	check_use(state, use, function);
	model_predict_raw(model, state->raw, state->x, state->out);
	if (logging)
		log_prediction(state);
	return state;
}

static int
best_class(const PredictState *state)
{
	int			best = 0;

	for (int k = 1; k < state->model->n_classes; k++)
	{
		if (state->out[k] > state->out[best])
			best = k;
	}
	return best;
}

/* The SQL functions are STRICT; this guards a definition that is not. */
#define RETURN_NULL_ON_NULL_ARGS() \
	do { if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL(); } while (0)

Datum
automl_predict(PG_FUNCTION_ARGS)
{
	PredictState *state;

	RETURN_NULL_ON_NULL_ARGS();
	state = predict_row(fcinfo, USE_VALUE, "automl_predict");
	PG_RETURN_FLOAT8(state->model->task == TASK_REGRESSION ? state->out[0] : state->out[1]);
}

Datum
automl_predict_label(PG_FUNCTION_ARGS)
{
	PredictState *state;

	RETURN_NULL_ON_NULL_ARGS();
	state = predict_row(fcinfo, USE_CLASSES, "automl_predict_label");
	PG_RETURN_TEXT_P(cstring_to_text(state->model->classes[best_class(state)]));
}

Datum
automl_predict_proba(PG_FUNCTION_ARGS)
{
	PredictState *state;
	Datum	   *elems;
	int			k;

	RETURN_NULL_ON_NULL_ARGS();
	state = predict_row(fcinfo, USE_CLASSES, "automl_predict_proba");
	k = state->model->n_classes;
	elems = palloc(sizeof(Datum) * k);
	for (int c = 0; c < k; c++)
		elems[c] = Float8GetDatum(state->out[c]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, k, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * automl_explain(model, features, class): per feature column, its value and
 * its contribution to the row's margin (an ensemble of classifiers: to its
 * probability), then a (base) row with the expected one; base plus
 * contributions is the margin or probability (see model_explain_row).
 * Explanations are not logged.
 */
Datum
automl_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PredictState *state;
	int			class_index = -1;
	RowExplanation ex;
	const PrepSpec *prep;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features must not be NULL"),
				 errhint("Pass a whole row, as in automl_explain('model', t) ... FROM my_table t.")));
	state = predict_row(fcinfo, USE_EXPLAIN, "automl_explain");
	prep = state->model->prep;
	if (!PG_ARGISNULL(2))
	{
		char	   *wanted = text_to_cstring(PG_GETARG_TEXT_PP(2));

		if (state->model->task != TASK_CLASSIFICATION)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" is a regression model; class applies to classifiers", state->model_name),
					 errhint("Leave class out: a regression's contributions add up to the predicted value.")));
		for (int k = 0; k < state->model->n_classes && class_index < 0; k++)
		{
			if (strcmp(state->model->classes[k], wanted) == 0)
				class_index = k;
		}
		if (class_index < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" has no class \"%s\"", state->model_name, wanted),
					 errhint("automl.models lists its classes.")));
	}
	ex = model_explain_row(state->model, state->raw, state->x, state->out, class_index);

	for (int c = 0; c <= prep->n_columns; c++)
	{
		Datum		values[5];
		bool		nulls[5] = {false};

		if (c < prep->n_columns)
		{
			int			a = state->column_att[c];

			values[0] = CStringGetTextDatum(prep->columns[c].name);
			nulls[1] = state->isnull[a];
			if (!nulls[1])
			{
				Oid			output;
				bool		varlena;

				getTypeOutputInfo(TupleDescAttr(state->row_desc, a)->atttypid, &output, &varlena);
				values[1] = CStringGetTextDatum(OidOutputFunctionCall(output, state->values[a]));
			}
			values[2] = Float8GetDatum(ex.contribution[c]);
		}
		else
		{
			values[0] = CStringGetTextDatum("(base)");
			nulls[1] = true;
			values[2] = Float8GetDatum(ex.base);
		}
		values[3] = CStringGetTextDatum(ex.scale);
		values[4] = ex.class_index >= 0 ? CStringGetTextDatum(state->model->classes[ex.class_index]) : (Datum) 0;
		nulls[4] = ex.class_index < 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
