/*
 * train.c: automl_train, from a relation and a target to a stored version.
 *
 *   scan -> choose features -> holdout split -> prep fit on the training
 *   rows -> learner fit -> validation metrics -> prep and learner refit on
 *   all rows -> serialise -> catalog row (deployed if it is the first)
 *
 * All of it runs in one memory context that is deleted at the end; on error
 * the transaction's cleanup frees it.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "data/frame.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "prep/prep.h"
#include "registry/registry.h"
#include "search/search.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/varlena.h"

PG_FUNCTION_INFO_V1(automl_train);

#define VALID_FRACTION 0.2
#define MIN_TRAINING_ROWS 10
#define DEFAULT_SEED 42
/* An integer target with at most this many distinct values is read as classes. */
#define MAX_INFERRED_CLASSES 20
#define MAX_MODEL_NAME 200
/* Classes this uneven get balanced class weights. */
#define IMBALANCE_RATIO 9

/* Argument positions of automl_train. */
enum
{
	ARG_NAME, ARG_RELATION, ARG_TARGET, ARG_TASK, ARG_TIME_BUDGET, ARG_METRIC,
	ARG_ALGORITHMS, ARG_HYPERPARAMS, ARG_EXCLUDE, ARG_SEED, ARG_MAX_TRIALS
};

/* What the caller asked for, validated. */
typedef struct TrainRequest
{
	char	   *name;
	Oid			relid;
	char	   *target;
	char	   *task_arg;		/* NULL: infer */
	const MetricDef *metric;	/* NULL: the task's default */
	List	   *algorithms;		/* C strings as given, or NIL */
	Jsonb	   *hyperparams;	/* or NULL */
	List	   *exclude;		/* C strings */
	int			seed;
} TrainRequest;

static double
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *
required_text_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static List *
text_array_to_list(ArrayType *array, const char *argname)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", argname)));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname)));
		result = lappend(result, TextDatumGetCString(elems[i]));
	}
	return result;
}

static void
reject_unsupported(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (!PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s is not supported yet", argname),
				 errdetail("This version fits one model per call; the time-budgeted search over learners comes in a later release."),
				 errhint("Leave %s out.", argname)));
}

static TrainRequest *
parse_request(FunctionCallInfo fcinfo)
{
	TrainRequest *req = palloc0(sizeof(TrainRequest));
	char	   *relation;

	req->name = required_text_arg(fcinfo, ARG_NAME, "name");
	relation = required_text_arg(fcinfo, ARG_RELATION, "relation");
	req->target = required_text_arg(fcinfo, ARG_TARGET, "target");

	if (req->name[0] == '\0' || strlen(req->name) > MAX_MODEL_NAME || strchr(req->name, '@') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", req->name),
				 errdetail("A model name is 1 to %d characters and has no \"@\", which pins versions as in \"name@2\".",
						   MAX_MODEL_NAME)));

	reject_unsupported(fcinfo, ARG_TIME_BUDGET, "time_budget");
	reject_unsupported(fcinfo, ARG_MAX_TRIALS, "max_trials");

	/* The relation is named as in SQL: "Schema"."Table" quoting applies. */
	req->relid = RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(cstring_to_text(relation))),
								  AccessShareLock, false);

	if (!PG_ARGISNULL(ARG_TASK))
	{
		req->task_arg = text_to_cstring(PG_GETARG_TEXT_PP(ARG_TASK));
		if (strcmp(req->task_arg, "forecast") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("task \"forecast\" is not supported yet")));
		if (strcmp(req->task_arg, "regression") != 0 && strcmp(req->task_arg, "classification") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown task \"%s\"", req->task_arg),
					 errhint("Valid tasks are regression and classification, or NULL to infer the task.")));
	}
	if (!PG_ARGISNULL(ARG_METRIC))
	{
		char	   *metric = text_to_cstring(PG_GETARG_TEXT_PP(ARG_METRIC));

		req->metric = metric_find(metric);
		if (req->metric == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown metric \"%s\"", metric),
					 errhint("Valid metrics are %s.", metric_names())));
	}
	if (!PG_ARGISNULL(ARG_ALGORITHMS))
	{
		req->algorithms = text_array_to_list(PG_GETARG_ARRAYTYPE_P(ARG_ALGORITHMS), "algorithms");
		if (req->algorithms == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("algorithms must not be empty"),
					 errhint("Leave algorithms out to use every suitable learner.")));
	}
	if (!PG_ARGISNULL(ARG_HYPERPARAMS))
		req->hyperparams = PG_GETARG_JSONB_P(ARG_HYPERPARAMS);
	if (!PG_ARGISNULL(ARG_EXCLUDE))
		req->exclude = text_array_to_list(PG_GETARG_ARRAYTYPE_P(ARG_EXCLUDE), "exclude");
	req->seed = PG_ARGISNULL(ARG_SEED) ? DEFAULT_SEED : PG_GETARG_INT32(ARG_SEED);
	return req;
}

/* ---- task and classes ---- */

static void
check_label_count(const TargetColumn *tc)
{
	if (tc->too_many_labels)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target column \"%s\" has more than %d distinct values, too many for classification",
						tc->name, FRAME_MAX_LABELS)));
}

static Task
choose_task(const TrainRequest *req, const Frame *frame, bool *inferred)
{
	const TargetColumn *tc = &frame->target;

	*inferred = (req->task_arg == NULL);
	if (req->task_arg != NULL)
	{
		if (strcmp(req->task_arg, "regression") == 0)
		{
			if (!tc->is_numeric)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("target column \"%s\" has type %s, but regression needs a number",
								tc->name, format_type_be(tc->type_oid)),
						 errhint("Use task => 'classification', or leave task out to infer it.")));
			return TASK_REGRESSION;
		}
		check_label_count(tc);
		return TASK_CLASSIFICATION;
	}
	if (!tc->is_numeric || tc->type_oid == BOOLOID)
	{
		check_label_count(tc);
		return TASK_CLASSIFICATION;
	}
	if (tc->is_integral && !tc->too_many_labels && tc->n_labels <= MAX_INFERRED_CLASSES)
		return TASK_CLASSIFICATION;
	return TASK_REGRESSION;
}

/* The first row of each label, to order numeric labels by value. */
static const Frame *sort_frame;
static double *sort_label_value;

static int
compare_labels(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	if (sort_label_value != NULL)
		return (sort_label_value[x] > sort_label_value[y]) - (sort_label_value[x] < sort_label_value[y]);
	return strcmp(sort_frame->target.labels[x], sort_frame->target.labels[y]);
}

/*
 * Sorts the classes (numbers by value, false before true, text byte-wise)
 * and rewrites the frame's codes to indices into that order.
 */
static char **
sort_classes(Frame *frame)
{
	TargetColumn *tc = &frame->target;
	int			k = tc->n_labels;
	int		   *order = palloc(sizeof(int) * k);
	int		   *new_code = palloc(sizeof(int) * k);
	char	  **classes = palloc(sizeof(char *) * k);

	sort_label_value = NULL;
	if (tc->is_numeric)
	{
		sort_label_value = palloc(sizeof(double) * k);
		for (int64 i = 0; i < frame->n_rows; i++)
			sort_label_value[tc->codes[i]] = tc->values[i];
	}
	sort_frame = frame;
	for (int c = 0; c < k; c++)
		order[c] = c;
	qsort(order, k, sizeof(int), compare_labels);
	for (int c = 0; c < k; c++)
	{
		classes[c] = tc->labels[order[c]];
		new_code[order[c]] = c;
	}
	for (int64 i = 0; i < frame->n_rows; i++)
		tc->codes[i] = new_code[tc->codes[i]];
	return classes;
}

/* ---- learner and hyperparameters ---- */

static const Learner *
choose_learner(const TrainRequest *req, Task task)
{
	const Learner *chosen = NULL;
	ListCell   *lc;

	if (req->algorithms == NIL)
		return learner_default_for(task);
	foreach(lc, req->algorithms)
	{
		const char *name = lfirst(lc);
		const Learner *learner;

		if (strcmp(name, "linear") == 0)
			learner = learner_default_for(task);
		else
		{
			learner = learner_find(name);
			if (learner == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown algorithm \"%s\"", name),
						 errhint("Available algorithms: %s.", learner_names())));
		}
		if ((learner->tasks & TASK_BIT(task)) != 0 && chosen == NULL)
			chosen = learner;
	}
	if (chosen == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("none of the algorithms given can do %s", task_name(task)),
				 errhint("Use linear, gbdt, random_forest or extra_trees.")));
	return chosen;
}

static const char *
hyperparam_names(const Learner *learner)
{
	StringInfoData names;

	initStringInfo(&names);
	for (int i = 0; i < learner->n_hyperparams; i++)
		appendStringInfo(&names, "%s%s", i > 0 ? ", " : "", learner->hyperparams[i].name);
	return names.data;
}

/* Reads hyperparams into values (defaults first); unknown names are errors. */
static void
parse_hyperparams(const Learner *learner, Jsonb *json, double *values)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	char	   *key = NULL;

	for (int i = 0; i < learner->n_hyperparams; i++)
		values[i] = learner->hyperparams[i].default_value;
	if (json == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(json))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams must be a JSON object"),
				 errhint("For example: '{\"%s\": %g}'.", learner->hyperparams[0].name,
						 learner->hyperparams[0].default_value)));

	it = JsonbIteratorInit(&json->root);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const HyperparamDef *def = NULL;
		int			index = -1;
		double		value;

		if (token == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (token != WJB_VALUE)
			continue;
		for (int i = 0; i < learner->n_hyperparams; i++)
		{
			if (strcmp(learner->hyperparams[i].name, key) == 0)
			{
				def = &learner->hyperparams[i];
				index = i;
			}
		}
		if (def == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown hyperparameter \"%s\" for algorithm \"%s\"", key, learner->name),
					 errhint("Valid hyperparameters of %s: %s.", learner->name, hyperparam_names(learner))));
		if (v.type != jbvNumeric)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"%s\" must be a number", key)));
		value = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
												   NumericGetDatum(v.val.numeric)));
		if (!(value >= def->min_value && value <= def->max_value) ||
			(def->is_integer && value != floor(value)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"%s\" must be %s between %g and %g", key,
							def->is_integer ? "an integer" : "a number",
							def->min_value, def->max_value)));
		values[index] = value;
	}
}

/* ---- fitting and scoring ---- */

typedef struct TrainingData
{
	Frame	   *frame;
	Task		task;
	int			n_classes;
	const Learner *learner;
	const double *hyperparams;
	double	   *class_weight;	/* balanced weights, or NULL */
} TrainingData;

/* Fits prep and learner on the given rows. */
static Model *
fit_model(const TrainingData *td, PrepSpec *prep, const int64 *rows, int64 n_rows)
{
	Model	   *model = palloc0(sizeof(Model));
	Dataset		data;
	double	   *X;
	double	   *y = NULL;
	int		   *label = NULL;

	prep_fit(prep, td->frame, rows, n_rows);
	X = MemoryContextAllocHuge(CurrentMemoryContext,
							   mul_size(mul_size(sizeof(double), n_rows), prep->n_outputs));
	prep_apply_frame(prep, td->frame, rows, n_rows, X);
	if (td->task == TASK_REGRESSION)
	{
		y = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n_rows);
		for (int64 i = 0; i < n_rows; i++)
			y[i] = td->frame->target.values[rows[i]];
	}
	else
	{
		label = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * n_rows);
		for (int64 i = 0; i < n_rows; i++)
			label[i] = td->frame->target.codes[rows[i]];
	}
	data.task = td->task;
	data.n_rows = n_rows;
	data.n_features = prep->n_outputs;
	data.X = X;
	data.y = y;
	data.label = label;
	data.n_classes = td->n_classes;
	data.class_weight = td->class_weight;
	data.n_categories = NULL;
	if (prep->for_trees)
	{
		int		   *categories = palloc(sizeof(int) * Max(prep->n_outputs, 1));

		for (int o = 0; o < prep->n_outputs; o++)
			categories[o] = prep_output_categories(prep, o);
		data.n_categories = categories;
	}

	model->task = td->task;
	model->learner = td->learner;
	model->learner_state = td->learner->fit(&data, td->hyperparams);
	model->prep = prep;
	model->n_classes = td->n_classes;
	pfree(X);
	return model;
}

/* A model's predictions on the validation rows, with their true values. */
typedef struct ValidationScores
{
	int64		n;
	double	   *pred;			/* n x (1 or n_classes) */
	double	   *y;				/* regression, or NULL */
	int		   *label;			/* classification, or NULL */
} ValidationScores;

/*
 * Scores the validation rows with model. binding maps the model's columns to
 * the frame's (prep_bind) for a model fitted on other data; NULL for one
 * fitted on this frame.
 */
static ValidationScores
score_validation_rows(const TrainingData *td, const Model *model, const int *binding, const Split *split)
{
	const Frame *frame = td->frame;
	const PrepSpec *prep = model->prep;
	int			width = td->task == TASK_REGRESSION ? 1 : td->n_classes;
	RawValue   *raw = palloc(sizeof(RawValue) * prep->n_columns);
	double	   *x = palloc(sizeof(double) * prep->n_outputs);
	ValidationScores vs;

	vs.n = split->n_valid;
	vs.pred = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(vs.n, 1) * width);
	vs.y = td->task == TASK_REGRESSION ? palloc(sizeof(double) * Max(vs.n, 1)) : NULL;
	vs.label = td->task == TASK_REGRESSION ? NULL : palloc(sizeof(int) * Max(vs.n, 1));
	for (int64 i = 0; i < vs.n; i++)
	{
		int64		row = split->valid[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (binding)
			prep_raw_from_bound_frame(prep, frame, binding, row, raw);
		else
			prep_raw_from_frame(prep, frame, row, raw);
		prep_apply(prep, raw, x);
		model->learner->predict(model->learner_state, x, vs.pred + i * width);
		if (vs.y)
			vs.y[i] = frame->target.values[row];
		else
			vs.label[i] = frame->target.codes[row];
	}
	pfree(raw);
	pfree(x);
	return vs;
}

/* Validation metrics as a JSON object, and the chosen metric's value. */
static char *
validate(const TrainingData *td, const Model *model, const Split *split,
		 const MetricDef *chosen, double *score)
{
	ValidationScores vs = score_validation_rows(td, model, NULL, split);
	int64		n = vs.n;
	double	   *pred = vs.pred;
	double	   *y = vs.y;
	int		   *label = vs.label;
	const MetricDef *defs[8];
	int			n_defs = metric_list_for_task(td->task, defs, lengthof(defs));
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	for (int m = 0; m < n_defs; m++)
	{
		double		v = metric_compute(defs[m]->id, n, y, label, td->n_classes, pred);

		if (isnan(v))
			appendStringInfo(&json, "\"%s\": null, ", defs[m]->name);
		else
			appendStringInfo(&json, "\"%s\": %.17g, ", defs[m]->name, v);
		if (defs[m] == chosen)
			*score = v;
	}
	appendStringInfo(&json, "\"validation_rows\": " INT64_FORMAT ", \"training_rows\": " INT64_FORMAT "}",
					 split->n_valid, split->n_train);
	return json.data;
}

static void
append_json_string(StringInfo json, const char *s)
{
	escape_json(json, s);
}

static void
append_json_list(StringInfo json, List *items)
{
	ListCell   *lc;

	appendStringInfoChar(json, '[');
	foreach(lc, items)
	{
		if (lc != list_head(items))
			appendStringInfoString(json, ", ");
		append_json_string(json, lfirst(lc));
	}
	appendStringInfoChar(json, ']');
}

/*
 * Strongly imbalanced classes (the largest more than
 * IMBALANCE_RATIO times the smallest) get balanced weights, n / (k * count),
 * as scikit-learn's class_weight='balanced'; NULL otherwise.
 */
static double *
balanced_class_weights(const Frame *frame, int n_classes, PrepWarnings *warnings)
{
	int64	   *count = palloc0(sizeof(int64) * n_classes);
	int64		smallest,
				largest;
	double	   *weight;

	for (int64 i = 0; i < frame->n_rows; i++)
		count[frame->target.codes[i]]++;
	smallest = largest = count[0];
	for (int k = 1; k < n_classes; k++)
	{
		smallest = Min(smallest, count[k]);
		largest = Max(largest, count[k]);
	}
	if (largest <= IMBALANCE_RATIO * smallest)
		return NULL;
	weight = palloc(sizeof(double) * n_classes);
	for (int k = 0; k < n_classes; k++)
		weight[k] = (double) frame->n_rows / ((double) n_classes * count[k]);
	prep_warn(warnings, NOTICE, "class_imbalance", frame->target.name,
			  "Probabilities are those of the weighted model; rank by them rather than read them as rates.",
			  "classes are imbalanced (largest " INT64_FORMAT " rows, smallest " INT64_FORMAT "): balanced class weights are used",
			  largest, smallest);
	return weight;
}

/* Fitted parameters, with the name, mean and scale of every model input. */
static char *
summary_json(const Learner *learner, const Model *model)
{
	const PrepSpec *prep = model->prep;
	StringInfoData json;
	double	   *mean = palloc0(sizeof(double) * Max(prep->n_outputs, 1));
	double	   *scale = palloc(sizeof(double) * Max(prep->n_outputs, 1));

	for (int o = 0; o < prep->n_outputs; o++)
		scale[o] = 1.0;			/* indicators and one-hot inputs are 0 or 1 */
	for (int c = 0; c < prep->n_columns; c++)
	{
		const PrepColumn *pc = &prep->columns[c];

		if (pc->kind != FEATURE_CATEGORICAL)
		{
			for (int p = 0; p < pc->n_parts; p++)
			{
				mean[pc->first_output + p] = pc->mean[p];
				scale[pc->first_output + p] = pc->scale[p];
			}
		}
		else if (pc->encoding == ENCODE_FREQUENCY)
		{
			mean[pc->first_output] = pc->frequency_mean;
			scale[pc->first_output] = pc->frequency_scale;
		}
	}

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	learner->summarize(model->learner_state, &json);
	appendStringInfoString(&json, ", \"features\": [");
	for (int o = 0; o < prep->n_outputs; o++)
	{
		if (o > 0)
			appendStringInfoString(&json, ", ");
		escape_json(&json, prep->output_names[o]);
	}
	appendStringInfoString(&json, "], \"mean\": ");
	learner_json_array(&json, mean, prep->n_outputs);
	appendStringInfoString(&json, ", \"scale\": ");
	learner_json_array(&json, scale, prep->n_outputs);
	appendStringInfoChar(&json, '}');
	return json.data;
}

/* ---- lineage and the deployment decision ---- */

static const char *
relation_kind_name(char relkind)
{
	switch (relkind)
	{
		case RELKIND_VIEW:
			return "view";
		case RELKIND_MATVIEW:
			return "materialized view";
		case RELKIND_PARTITIONED_TABLE:
			return "partitioned table";
		case RELKIND_FOREIGN_TABLE:
			return "foreign table";
		default:
			return "table";
	}
}

/* A view's query at training time, as PostgreSQL prints it; NULL for a table. */
static const char *
view_definition(const Frame *frame)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(frame->relation_id)};
	char	   *definition = NULL;

	if (frame->relation_kind != RELKIND_VIEW && frame->relation_kind != RELKIND_MATVIEW)
		return NULL;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT pg_catalog.pg_get_viewdef($1, true)", 1, types, values,
							  NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v)
			definition = MemoryContextStrdup(caller, v);
	}
	SPI_finish();
	return definition;
}

/*
 * The deployed model's score with the chosen metric on this training's
 * validation rows, or false with *why_not when it cannot be scored on them.
 */
static bool
score_champion(const TrainingData *td, const Split *split, const MetricDef *metric,
			   const Model *champion, char **classes, int champion_version,
			   double *score, char **why_not)
{
	int		   *binding = palloc(sizeof(int) * champion->prep->n_columns);
	const char *missing;
	ValidationScores vs;

	if (champion->task != td->task || champion->n_classes != td->n_classes)
	{
		*why_not = psprintf("version %d solves another task or has other classes", champion_version);
		return false;
	}
	for (int k = 0; k < td->n_classes; k++)
	{
		if (strcmp(champion->classes[k], classes[k]) != 0)
		{
			*why_not = psprintf("version %d has other classes", champion_version);
			return false;
		}
	}
	if (!prep_bind(champion->prep, td->frame, binding, &missing))
	{
		*why_not = psprintf("column \"%s\" of version %d is not in the new data", missing, champion_version);
		return false;
	}
	vs = score_validation_rows(td, champion, binding, split);
	*score = metric_compute(metric->id, vs.n, vs.y, vs.label, td->n_classes, vs.pred);
	return true;
}

/*
 * score_champion on the deployed version loaded from the catalog. A deployed
 * version that cannot be loaded (damaged bytes, a format this build cannot
 * read) must not make the new version's training fail: the error is caught
 * in a subtransaction and becomes the reason not to deploy. Cancel is not.
 */
static bool
load_and_score_champion(const TrainingData *td, const Split *split, const MetricDef *metric,
						const char *name, char **classes, int champion_version,
						double *score, char **why_not)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	volatile bool scored = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_cxt);
	PG_TRY();
	{
		char	   *champion_name;
		int			loaded_version;
		Model	   *champion = model_cache_lookup(psprintf("%s@%d", name, champion_version),
												  &champion_name, &loaded_version);

		scored = score_champion(td, split, metric, champion, classes, loaded_version, score, why_not);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_cxt);
		CurrentResourceOwner = caller_owner;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(caller_cxt);
		error = CopyErrorData();
		if (error->sqlerrcode == ERRCODE_QUERY_CANCELED)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_cxt);
		CurrentResourceOwner = caller_owner;
		*why_not = psprintf("version %d could not be loaded: %s", champion_version, error->message);
		scored = false;
	}
	PG_END_TRY();
	return scored;
}

/*
 * Champion and challenger: the first version serves at once; a later one
 * only when it beats the deployed version on this training's validation rows
 * by more than the name's min_gain, and auto_deploy is on.
 */
static void
decide_deployment(const TrainingData *td, const Split *split, const MetricDef *metric,
				  double score, const ModelPolicy *policy, const char *name, char **classes,
				  ModelRecord *rec)
{
	int			champion_version;
	double		champion_score = NAN;
	char	   *why_not = NULL;
	double		gain;
	StringInfoData cmp;

	rec->parent_version = policy->deployed_version;
	if (policy->deployed_version == 0)
	{
		rec->deploy = true;
		rec->decision_event = "deploy";
		rec->decision_reason = "first version of the model";
		return;
	}
	if (!policy->auto_deploy)
	{
		rec->deploy = false;
		rec->decision_event = "auto_deploy_refused";
		rec->decision_reason = "automatic deployment is off for this model";
		return;
	}

	champion_version = policy->deployed_version;
	if (load_and_score_champion(td, split, metric, name, classes, champion_version,
								&champion_score, &why_not) &&
		!isnan(score) && !isnan(champion_score))
	{
		gain = metric->higher_is_better ? score - champion_score : champion_score - score;
		rec->deploy = gain > policy->min_gain;
		rec->decision_reason = psprintf("%s %.6g against %.6g of version %d on the same " INT64_FORMAT
										" validation rows: gain %.6g %s min_gain %g",
										metric->name, score, champion_score, champion_version,
										split->n_valid, gain, rec->deploy ? ">" : "<=", policy->min_gain);
	}
	else
	{
		rec->deploy = false;
		rec->decision_reason = why_not ? psprintf("the deployed version could not be compared: %s", why_not)
			: pstrdup("a score is undefined on the validation rows");
	}
	rec->decision_event = rec->deploy ? "auto_deploy" : "auto_deploy_refused";

	initStringInfo(&cmp);
	appendStringInfo(&cmp, "{\"metric\": \"%s\", \"champion_version\": %d, \"validation_rows\": " INT64_FORMAT
					 ", \"min_gain\": %.17g, \"challenger_score\": ", metric->name, champion_version,
					 split->n_valid, policy->min_gain);
	appendStringInfoString(&cmp, isnan(score) ? "null" : psprintf("%.17g", score));
	appendStringInfoString(&cmp, ", \"champion_score\": ");
	appendStringInfoString(&cmp, isnan(champion_score) ? "null" : psprintf("%.17g", champion_score));
	appendStringInfo(&cmp, ", \"deployed\": %s}", rec->deploy ? "true" : "false");
	rec->comparison_json = cmp.data;
}

/* ---- the SQL entry point ---- */

Datum
automl_train(PG_FUNCTION_ARGS)
{
	double		started = seconds_now();
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext train_cxt;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TrainRequest *req;
	Frame	   *frame;
	TrainingData td;
	bool		task_inferred;
	char	  **classes = NULL;
	double	   *hyperparams;
	const MetricDef *metric;
	PrepSpec   *features;
	Split		split;
	Model	   *model;
	double		score = NAN;
	char	   *metrics_json;
	ModelRecord rec;
	StringInfoData json;
	const char **feature_names;
	const char **feature_kinds;
	PrepWarnings warnings;
	ModelPolicy policy;
	double		refit_started;
	double		refit_seconds;
	int			version;
	bool		deployed;
	Datum		result[7];
	bool		result_null[7] = {false};

	InitMaterializedSRF(fcinfo, 0);
	train_cxt = AllocSetContextCreate(call_cxt, "automl train", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(train_cxt);

	req = parse_request(fcinfo);
	catalog_check_owner(req->name, "train", false);
	policy = catalog_get_policy(req->name);
	frame = frame_scan(req->relid, req->target, req->exclude, (uint64) (uint32) req->seed);

	if (frame->n_rows == 0)
	{
		if (frame->n_null_target > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target column \"%s\" has only NULL values", req->target)));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" is empty", frame->relation_name)));
	}
	if (frame->n_rows < MIN_TRAINING_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has " INT64_FORMAT " rows with a target value, training needs at least %d",
						frame->relation_name, frame->n_rows, MIN_TRAINING_ROWS)));
	if (frame->n_null_target > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " rows with a NULL target are left out", frame->n_null_target)));

	td.frame = frame;
	td.task = choose_task(req, frame, &task_inferred);
	td.n_classes = 0;
	if (td.task == TASK_CLASSIFICATION)
	{
		if (frame->target.n_labels < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target column \"%s\" has a single class, \"%s\"",
							req->target, frame->target.labels[0]),
					 errhint("Classification needs at least two classes.")));
		classes = sort_classes(frame);
		td.n_classes = frame->target.n_labels;
	}

	metric = req->metric ? req->metric : metric_default(td.task, td.n_classes);
	if (metric->task != td.task)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metric \"%s\" does not apply to %s", metric->name, task_name(td.task)),
				 errhint("Valid metrics are %s.", metric_names())));

	td.learner = choose_learner(req, td.task);
	hyperparams = palloc(sizeof(double) * Max(td.learner->n_hyperparams, 1));
	parse_hyperparams(td.learner, req->hyperparams, hyperparams);
	td.hyperparams = hyperparams;

	/* What the data says before fitting: columns to drop, personal data, imbalance. */
	prep_warnings_init(&warnings);
	prep_check_personal_data(frame, &warnings);
	features = prep_choose_features(frame, &warnings);
	td.class_weight = NULL;
	if (td.task == TASK_CLASSIFICATION)
		td.class_weight = balanced_class_weights(frame, td.n_classes, &warnings);

	/* Trees take raw values and categories; linear models standardised and one-hot inputs. */
	features->for_trees = td.learner->raw_inputs;

	/* Validate on a holdout, with prep learned from the training rows only. */
	split = holdout_split(frame->n_rows, td.task == TASK_CLASSIFICATION ? frame->target.codes : NULL,
						  td.n_classes, VALID_FRACTION, (uint64) (uint32) req->seed);
	model = fit_model(&td, prep_copy_unfitted(features), split.train, split.n_train);
	metrics_json = validate(&td, model, &split, metric, &score);

	/* Refit on every row for the stored model. */
	{
		int64	   *all_rows = MemoryContextAllocHuge(train_cxt, sizeof(int64) * frame->n_rows);

		for (int64 i = 0; i < frame->n_rows; i++)
			all_rows[i] = i;
		refit_started = seconds_now();
		model = fit_model(&td, features, all_rows, frame->n_rows);
		refit_seconds = seconds_now() - refit_started;
		model->classes = classes;
	}
	prep_check_target(features, frame, td.task == TASK_CLASSIFICATION, td.n_classes, &warnings);
	appendStringInfoChar(&warnings.json, ']');

	/* The catalog row. */
	memset(&rec, 0, sizeof(rec));
	rec.name = req->name;
	rec.task = task_name(td.task);
	rec.algorithm = td.learner->name;

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	for (int i = 0; i < td.learner->n_hyperparams; i++)
		appendStringInfo(&json, "%s\"%s\": %.17g", i > 0 ? ", " : "",
						 td.learner->hyperparams[i].name, hyperparams[i]);
	appendStringInfoChar(&json, '}');
	rec.hyperparams_json = json.data;

	rec.metrics_json = metrics_json;
	rec.metric = metric->name;
	rec.score = score;
	rec.n_features = features->n_columns;
	feature_names = palloc(sizeof(char *) * features->n_columns);
	feature_kinds = palloc(sizeof(char *) * features->n_columns);
	for (int c = 0; c < features->n_columns; c++)
	{
		static const char *const kind_names[] = {"numeric", "categorical", "datetime"};

		feature_names[c] = features->columns[c].name;
		feature_kinds[c] = kind_names[features->columns[c].kind];
	}
	rec.features = feature_names;
	rec.feature_kinds = feature_kinds;
	rec.n_classes = td.n_classes;
	rec.classes = (const char *const *) classes;
	rec.summary_json = summary_json(td.learner, model);


	rec.source_relation = frame->relation_name;
	rec.target = req->target;

	initStringInfo(&json);
	appendStringInfo(&json, "{\"seed\": %d, \"task_inferred\": %s, \"validation\": \"holdout\","
					 " \"validation_fraction\": %g, \"exclude\": ",
					 req->seed, task_inferred ? "true" : "false", VALID_FRACTION);
	append_json_list(&json, req->exclude);
	appendStringInfoString(&json, ", \"algorithms\": ");
	if (req->algorithms)
		append_json_list(&json, req->algorithms);
	else
		appendStringInfoString(&json, "null");
	appendStringInfo(&json, ", \"rows_with_null_target\": " INT64_FORMAT
					 ", \"rows_in_relation\": " INT64_FORMAT ", \"rows_used\": " INT64_FORMAT
					 ", \"train_memory_mb\": %d, \"refit_seconds\": %.6f, \"class_weights\": ",
					 frame->n_null_target, frame->n_rows_seen, frame->n_rows, automl_train_memory_mb,
					 refit_seconds);
	if (td.class_weight)
		learner_json_array(&json, td.class_weight, td.n_classes);
	else
		appendStringInfoString(&json, "null");
	appendStringInfoChar(&json, '}');
	rec.options_json = json.data;
	rec.warnings_json = warnings.json.data;
	rec.profile_json = prep_profile_json(features, frame);

	rec.n_rows = frame->n_rows;
	rec.model_bytes = model_serialize(model);
	rec.train_seconds = seconds_now() - started;
	rec.source_kind = relation_kind_name(frame->relation_kind);
	rec.source_definition = view_definition(frame);
	rec.data_digest = frame_digest(frame);
	decide_deployment(&td, &split, metric, score, &policy, req->name, classes, &rec);
	version = catalog_store_model(&rec);
	deployed = rec.deploy;

	/* The result row, built in the caller's context. */
	MemoryContextSwitchTo(call_cxt);
	result[0] = CStringGetTextDatum(req->name);
	result[1] = Int32GetDatum(version);
	result[2] = CStringGetTextDatum(task_name(td.task));
	result[3] = CStringGetTextDatum(td.learner->name);
	result[4] = CStringGetTextDatum(metric->name);
	result[5] = Float8GetDatum(score);
	result_null[5] = isnan(score);
	result[6] = BoolGetDatum(deployed);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, result, result_null);
	MemoryContextDelete(train_cxt);
	return (Datum) 0;
}
