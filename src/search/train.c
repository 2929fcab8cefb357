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

#include "common/args.h"
#include "common/json_out.h"

#include <math.h>
#include <time.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "common/subxact.h"
#include "data/frame.h"
#include "evaluate/evaluate.h"
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
#include "utils/varlena.h"

PG_FUNCTION_INFO_V1(automl_train);

#define VALID_FRACTION 0.2
#define MIN_TRAINING_ROWS 10
#define MIN_GATE_TRAINING_ROWS 50	/* fewer rows left for training: no gate */
#define DEFAULT_SEED 42
/* An integer target with at most this many distinct values is read as classes. */
#define MAX_INFERRED_CLASSES 20
#define MAX_MODEL_NAME 200
/* Classes this uneven get balanced class weights. */
#define IMBALANCE_RATIO 9
/* Seconds when neither time_budget nor max_trials is given, as FLAML. */



/* Argument positions of automl_train. */
enum
{
	ARG_NAME, ARG_RELATION, ARG_TARGET, ARG_TASK, ARG_TIME_BUDGET, ARG_METRIC,
	ARG_ALGORITHMS, ARG_HYPERPARAMS, ARG_EXCLUDE, ARG_SEED, ARG_MAX_TRIALS, ARG_CALIBRATION,
	ARG_TIME_COLUMN, ARG_SERIES_COLUMN, ARG_HORIZON
};


/*
 * The valid name nearest to a misspelt one (at most a third of its letters
 * off, and at least two), for "did you mean" hints; NULL when none is near.
 */
static const char *
closest_name(const char *given, const char *const *names, int n)
{
	const char *best = NULL;
	int			best_distance = Max(2, (int) strlen(given) / 3) + 1;

	for (int i = 0; i < n; i++)
	{
		int			d = varstr_levenshtein(given, strlen(given), names[i], strlen(names[i]), 1, 1, 1, true);

		if (d < best_distance)
		{
			best_distance = d;
			best = names[i];
		}
	}
	return best;
}

/* "Did you mean "x"? " or "", to start a hint. */
static const char *
did_you_mean(const char *given, const char *const *names, int n)
{
	const char *near = closest_name(given, names, n);

	return near ? psprintf("Did you mean \"%s\"? ", near) : "";
}

static const char *const algorithm_names[] = {
	"linear", "ridge", "logistic", "gbdt", "random_forest", "extra_trees"
};

static const char *const task_names[] = {"regression", "classification", "forecast"};

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

static TrainRequest *
parse_request(FunctionCallInfo fcinfo)
{
	TrainRequest *req = palloc0(sizeof(TrainRequest));
	char	   *relation;

	req->name = arg_required_text(fcinfo, ARG_NAME, "name");
	relation = arg_required_text(fcinfo, ARG_RELATION, "relation");
	req->target = arg_required_text(fcinfo, ARG_TARGET, "target");

	if (req->name[0] == '\0' || strlen(req->name) > MAX_MODEL_NAME || strchr(req->name, '@') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", req->name),
				 errdetail("A model name is 1 to %d characters and has no \"@\", which pins versions as in \"name@2\".",
						   MAX_MODEL_NAME)));

	if (!PG_ARGISNULL(ARG_MAX_TRIALS))
	{
		req->max_trials = PG_GETARG_INT32(ARG_MAX_TRIALS);
		if (req->max_trials < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_trials must be at least 1"),
					 errhint("Leave max_trials out to let the time budget alone decide.")));
	}
	if (!PG_ARGISNULL(ARG_TIME_BUDGET))
	{
		req->time_budget = PG_GETARG_FLOAT8(ARG_TIME_BUDGET);
		if (!(req->time_budget > 0) || req->time_budget > MAX_TIME_BUDGET)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time_budget must be a number of seconds greater than 0 and at most %.0f",
							MAX_TIME_BUDGET),
					 errhint("For example time_budget => 60.")));
	}
	else if (req->max_trials == 0)
		req->time_budget = DEFAULT_TIME_BUDGET;

	/* The relation is named as in SQL: "Schema"."Table" quoting applies. */
	req->relid = RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(cstring_to_text(relation))),
								  AccessShareLock, false);

	if (!PG_ARGISNULL(ARG_TASK))
	{
		req->task_arg = text_to_cstring(PG_GETARG_TEXT_PP(ARG_TASK));
		if (strcmp(req->task_arg, "regression") != 0 && strcmp(req->task_arg, "classification") != 0 &&
			strcmp(req->task_arg, "forecast") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown task \"%s\"", req->task_arg),
					 errhint("%sValid tasks are regression, classification and forecast, or NULL to infer regression or classification.",
							 did_you_mean(req->task_arg, task_names, lengthof(task_names)))));
	}
	if (!PG_ARGISNULL(ARG_METRIC))
	{
		char	   *metric = text_to_cstring(PG_GETARG_TEXT_PP(ARG_METRIC));

		req->metric = metric_find(metric);
		if (req->metric == NULL)
		{
			const MetricDef *defs[16];
			const char *names[16];
			int			n = metric_list_for_task(TASK_REGRESSION, defs, 8);

			n += metric_list_for_task(TASK_CLASSIFICATION, defs + n, 8);
			for (int i = 0; i < n; i++)
				names[i] = defs[i]->name;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown metric \"%s\"", metric),
					 errhint("%sValid metrics are %s.", did_you_mean(metric, names, n), metric_names())));
		}
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
	req->calibration = PG_ARGISNULL(ARG_CALIBRATION) ? "auto"
		: text_to_cstring(PG_GETARG_TEXT_PP(ARG_CALIBRATION));
	req->time_column = arg_optional_text(fcinfo, ARG_TIME_COLUMN);
	req->series_column = arg_optional_text(fcinfo, ARG_SERIES_COLUMN);
	req->horizon = PG_ARGISNULL(ARG_HORIZON) ? 0 : PG_GETARG_INT32(ARG_HORIZON);
	if (!PG_ARGISNULL(ARG_HORIZON) && req->horizon <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be at least 1"),
				 errhint("horizon is the number of periods to forecast, for example 12 months.")));
	if ((req->time_column || req->series_column || req->horizon > 0) &&
		(req->task_arg == NULL || strcmp(req->task_arg, "forecast") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_column, series_column and horizon are arguments of task \"forecast\""),
				 errhint("Add task => 'forecast'.")));
	if (!calibration_request_valid(req->calibration))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown calibration \"%s\"", req->calibration),
				 errhint("Valid values are auto (calibrate when it lowers the validation log loss), none, platt and isotonic.")));
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
						 errhint("%sAvailable algorithms: %s.",
								 did_you_mean(name, algorithm_names, lengthof(algorithm_names)),
								 learner_names())));
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
		{
			const char **names = palloc(sizeof(char *) * learner->n_hyperparams);

			for (int i = 0; i < learner->n_hyperparams; i++)
				names[i] = learner->hyperparams[i].name;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown hyperparameter \"%s\" for algorithm \"%s\"", key, learner->name),
					 errhint("%sValid hyperparameters of %s: %s.",
							 did_you_mean(key, names, learner->n_hyperparams),
							 learner->name, hyperparam_names(learner))));
		}
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

/* ---- validation metrics ---- */

/*
 * The data profile plus the distribution of the chosen model's validation
 * predictions (out of fold under cross-validation): the reference that
 * prediction drift is measured against. Regression values and a binary
 * classifier's positive-class probability are binned like a numeric column;
 * a multiclass model's predicted classes are counted like a category.
 */
static char *
profile_with_predictions(char *profile, const Predictions *p, int n_classes, char **classes)
{
	StringInfoData json;
	size_t		len = strlen(profile);

	initStringInfo(&json);
	appendBinaryStringInfo(&json, profile, len - 1);	/* without the closing brace */
	appendStringInfoString(&json, ", \"predictions\": ");
	if (n_classes <= 2)
	{
		double	   *values = palloc(sizeof(double) * Max(p->n, 1));

		for (int64 i = 0; i < p->n; i++)
			values[i] = p->pred[i * p->width + (p->width == 2 ? 1 : 0)];
		appendStringInfoString(&json, prep_profile_values_json(values, p->n));
		pfree(values);
	}
	else
	{
		int64	   *counts = palloc0(sizeof(int64) * n_classes);

		for (int64 i = 0; i < p->n; i++)
		{
			const double *row = p->pred + i * p->width;
			int			best = 0;

			for (int k = 1; k < n_classes; k++)
			{
				if (row[k] > row[best])
					best = k;
			}
			counts[best]++;
		}
		appendStringInfoString(&json, "{\"kind\": \"categorical\", \"missing_share\": 0, \"levels\": [");
		for (int k = 0; k < n_classes; k++)
		{
			appendStringInfoString(&json, k > 0 ? ", {\"level\": " : "{\"level\": ");
			escape_json(&json, classes[k]);
			appendStringInfo(&json, ", \"share\": %.17g}", p->n > 0 ? (double) counts[k] / p->n : 0.0);
		}
		appendStringInfoString(&json, "], \"other_share\": 0}");
		pfree(counts);
	}
	appendStringInfoChar(&json, '}');
	return json.data;
}

/* All metrics of the task on the predictions, as a JSON object; the chosen one into *score. */
static char *
metrics_json(const TrainingData *td, const Predictions *p, const Validation *v,
			 const MetricDef *chosen, double *score)
{
	const MetricDef *defs[8];
	int			n_defs = metric_list_for_task(td->task, defs, lengthof(defs));
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	for (int m = 0; m < n_defs; m++)
	{
		double		value = predictions_score(p, defs[m], td->n_classes);

		if (isnan(value))
			appendStringInfo(&json, "\"%s\": null, ", defs[m]->name);
		else
			appendStringInfo(&json, "\"%s\": %.17g, ", defs[m]->name, value);
		if (defs[m] == chosen)
			*score = value;
	}
	appendStringInfo(&json, "\"validation_rows\": " INT64_FORMAT ", \"training_rows\": " INT64_FORMAT "}",
					 v->n_rows, v->folds[0].n_train);
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

const char *
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
char *
relation_view_definition(Oid relid, char relkind)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	char	   *definition = NULL;

	if (relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW)
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
score_champion(const TrainingData *td, const Validation *v, const MetricDef *metric,
			   const Model *champion, char **classes, int champion_version,
			   double *score, char **why_not)
{
	int		   *binding = palloc(sizeof(int) * Max(champion->prep->n_columns, 1));
	const char *missing;
	Predictions p;

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
	p = predictions_for(td, v);
	predict_rows(td, champion, binding, v->rows, v->n_rows, p.pred);
	*score = predictions_score(&p, metric, td->n_classes);
	return true;
}

/*
 * score_champion on the deployed version loaded from the catalog. A deployed
 * version that cannot be loaded (damaged bytes, a format this build cannot
 * read) must not make the new version's training fail: the error is caught
 * in a subtransaction and becomes the reason not to deploy. Cancel is not.
 */
static bool
load_and_score_champion(const TrainingData *td, const Validation *v, const MetricDef *metric,
						const char *name, char **classes, int champion_version,
						double *score, char **why_not)
{
	SubxactState subxact = subxact_begin();
	volatile bool scored = false;

	PG_TRY();
	{
		char	   *champion_name;
		int			loaded_version;
		Model	   *champion = model_cache_lookup(psprintf("%s@%d", name, champion_version),
												  &champion_name, &loaded_version, NULL);

		scored = score_champion(td, v, metric, champion, classes, loaded_version, score, why_not);
		subxact_commit(&subxact);
	}
	PG_CATCH();
	{
		ErrorData  *error = subxact_abort(&subxact);

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
decide_deployment(const TrainingData *td, const Validation *v, const MetricDef *metric,
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
	if (load_and_score_champion(td, v, metric, name, classes, champion_version,
								&champion_score, &why_not) &&
		!isnan(score) && !isnan(champion_score))
	{
		gain = metric->higher_is_better ? score - champion_score : champion_score - score;
		rec->deploy = gain > policy->min_gain;
		rec->decision_reason = psprintf("%s %.6g against %.6g of version %d on the same " INT64_FORMAT
										" validation rows: gain %.6g %s min_gain %g",
										metric->name, score, champion_score, champion_version,
										v->n_rows, gain, rec->deploy ? ">" : "<=", policy->min_gain);
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
					 v->n_rows, policy->min_gain);
	appendStringInfoString(&cmp, isnan(score) ? "null" : psprintf("%.17g", score));
	appendStringInfoString(&cmp, ", \"champion_score\": ");
	appendStringInfoString(&cmp, isnan(champion_score) ? "null" : psprintf("%.17g", champion_score));
	appendStringInfo(&cmp, ", \"deployed\": %s}", rec->deploy ? "true" : "false");
	rec->comparison_json = cmp.data;
}

/* ---- validation scheme ---- */

/* 5-fold cross-validation while rows x columns is at most this many per second of budget. */
#define CV_CELLS_PER_SECOND 5000
#define CV_MAX_ROWS 100000
#define CV_ALWAYS_ROWS 10000
#define CV_FOLDS 5

/*
 * k-fold cross-validation while it is affordable (small data, or data small
 * for the budget), a holdout otherwise: a search on large data learns more
 * from more trials than from steadier scores.
 */
static Validation
choose_validation(const TrainingData *td, double time_budget, int seed)
{
	int64		rows = td->frame->n_rows;
	double		cells = (double) rows * Max(td->features->n_columns, 1);
	double		budget = time_budget > 0 ? time_budget : DEFAULT_TIME_BUDGET;
	const int  *label = td->task == TASK_CLASSIFICATION ? td->frame->target.codes : NULL;

	if (rows >= 2 * CV_FOLDS && rows <= CV_MAX_ROWS &&
		(rows <= CV_ALWAYS_ROWS || cells <= budget * CV_CELLS_PER_SECOND))
		return validation_kfold(rows, label, td->n_classes, CV_FOLDS, (uint64) (uint32) seed);
	return validation_holdout(rows, label, td->n_classes, VALID_FRACTION, (uint64) (uint32) seed);
}

/* ---- the stored model ---- */

/*
 * An ensemble's members as {"members": [...]}: algorithm, trial and weight of
 * each, with its hyperparameters (for automl.models.hyperparams) or, given
 * the fitted ensemble, its fitted summary (for automl.models.summary).
 */
static char *
members_json(const SearchResult *sr, const EnsembleChoice *ens, const Model *fitted)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfoString(&json, "{\"members\": [");
	for (int m = 0; m < ens->n_members; m++)
	{
		const Trial *t = &sr->trials[ens->trial[m]];

		appendStringInfo(&json, "%s{\"algorithm\": \"%s\", \"trial\": %d, \"weight\": %.17g, ",
						 m > 0 ? ", " : "", t->learner->name, t->number, ens->weight[m]);
		if (fitted)
			appendStringInfo(&json, "\"summary\": %s}", summary_json(t->learner, fitted->members[m]));
		else
			appendStringInfo(&json, "\"hyperparams\": %s}", trial_hyperparams_json(t));
	}
	appendStringInfoString(&json, "]}");
	return json.data;
}

/* The trials as catalog rows: rank by score among those that finished. */
static TrialRecord *
trial_records(const SearchResult *sr, const MetricDef *metric, int chosen,
			  const EnsembleChoice *ens)
{
	TrialRecord *records = palloc0(sizeof(TrialRecord) * Max(sr->n_trials, 1));

	for (int t = 0; t < sr->n_trials; t++)
	{
		const Trial *trial = &sr->trials[t];
		TrialRecord *r = &records[t];

		r->number = trial->number;
		r->algorithm = trial->learner->name;
		r->hyperparams_json = trial_hyperparams_json(trial);
		r->score = trial->score;
		r->score_std = trial->score_std;
		r->fit_seconds = trial->fit_seconds;
		r->rows_used = trial->rows_used;
		r->status = trial->status == TRIAL_OK ? "ok" :
			trial->status == TRIAL_STOPPED ? "stopped at the time budget" : "failed";
		r->error = trial->error;
		r->selected = (t == chosen);
		r->ensemble_weight = NAN;
		if (ens)
		{
			for (int m = 0; m < ens->n_members; m++)
			{
				if (ens->trial[m] == t)
				{
					r->ensemble_weight = ens->weight[m];
					r->selected = true;
				}
			}
		}
		r->rank = 0;
		if (trial->status == TRIAL_OK && !isnan(trial->score))
		{
			int			rank = 1;

			for (int u = 0; u < sr->n_trials; u++)
			{
				const Trial *other = &sr->trials[u];

				if (u == t || other->status != TRIAL_OK || isnan(other->score))
					continue;
				if (metric->higher_is_better ? other->score > trial->score :
					other->score < trial->score)
					rank++;
				else if (other->score == trial->score && u < t)
					rank++;
			}
			r->rank = rank;
		}
	}
	return records;
}

/* ---- the SQL entry point ---- */

/*
 * With a gate, a seeded stratified share of the rows is kept out of the
 * search and the refit; the new version and the deployed one are then both
 * scored on those rows, which the new version has never seen.
 */
static Frame *
split_off_gate(Frame **frame, const TrainingData *td, const TrainRequest *req)
{
	Split		split = holdout_split((*frame)->n_rows,
									  td->task == TASK_CLASSIFICATION ? (*frame)->target.codes : NULL,
									  td->n_classes, req->gate_fraction,
									  (uint64) (uint32) req->seed ^ UINT64CONST(0x67617465));	/* "gate" */
	Frame	   *gate;

	/* a class with one row stays in training: the gate would lack it, and no gate is better */
	if (td->task == TASK_CLASSIFICATION)
	{
		bool	   *seen = palloc0(sizeof(bool) * td->n_classes);
		int			n_seen = 0;

		for (int64 i = 0; i < split.n_valid; i++)
		{
			int			c = (*frame)->target.codes[split.valid[i]];

			n_seen += !seen[c];
			seen[c] = true;
		}
		if (n_seen < td->n_classes)
			return NULL;
	}
	gate = frame_subset(*frame, split.valid, split.n_valid);
	*frame = frame_subset(*frame, split.train, split.n_train);
	return gate;
}

/* The new version's score on the gate rows. */
static double
score_on_gate(const TrainingData *gate_td, const Validation *gate, const MetricDef *metric, const Model *model)
{
	Predictions p = predictions_for(gate_td, gate);

	predict_rows(gate_td, model, NULL, gate->rows, gate->n_rows, p.pred);
	return predictions_score(&p, metric, gate_td->n_classes);
}

#define IMPORTANCE_MAX_ROWS 10000
#define IMPORTANCE_REPEATS 3

/*
 * Permutation importance on validation rows the model did not see: the
 * chosen configuration (or ensemble) fitted again on the first fold's
 * training rows, scored on at most IMPORTANCE_MAX_ROWS of its validation
 * rows with each column shuffled in turn. A JSON object for the summary, or
 * NULL when the time budget has run out.
 */
static char *
validation_importance(const TrainingData *td, const Validation *v, const MetricDef *metric,
					  const SearchResult *sr, const Trial *best, const EnsembleChoice *ens,
					  bool use_ensemble, char **classes, double deadline)
{
	const Split *fold = &v->folds[0];
	int64		step = (fold->n_valid + IMPORTANCE_MAX_ROWS - 1) / IMPORTANCE_MAX_ROWS;
	int64		n = 0;
	int64	   *rows = palloc(sizeof(int64) * Max(fold->n_valid, 1));
	Model	   *model;
	Evaluation	ev;
	int			C;
	double	   *mean,
			   *std;
	StringInfoData json;

	if (seconds_now() >= deadline || fold->n_valid == 0)
		return NULL;
	for (int64 i = 0; i < fold->n_valid; i += Max(step, 1))
		rows[n++] = fold->valid[i];
	if (use_ensemble)
	{
		Model	  **members = palloc(sizeof(Model *) * ens->n_members);

		for (int m = 0; m < ens->n_members; m++)
		{
			const Trial *t = &sr->trials[ens->trial[m]];

			members[m] = fit_model(td, t->learner, t->hyperparams, fold->train, fold->n_train);
			members[m]->classes = classes;
		}
		model = model_make_ensemble(members, ens->weight, ens->n_members);
	}
	else
		model = fit_model(td, best->learner, best->hyperparams, fold->train, fold->n_train);
	model->classes = classes;

	memset(&ev, 0, sizeof(ev));
	C = model->prep->n_columns;
	ev.model = model;
	ev.metric = (char *) metric->name;
	ev.frame = td->frame;
	ev.binding = palloc(sizeof(int) * Max(C, 1));
	for (int c = 0; c < C; c++)
		ev.binding[c] = model->prep->columns[c].frame_column;
	ev.rows = rows;
	ev.scored.classification = td->task == TASK_CLASSIFICATION;
	ev.scored.n_classes = td->n_classes;
	ev.scored.n = n;
	ev.scored.pred = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n * Max(td->n_classes, 1));
	predict_rows(td, model, ev.binding, rows, n, ev.scored.pred);
	if (ev.scored.classification)
	{
		ev.scored.label = palloc(sizeof(int) * n);
		for (int64 i = 0; i < n; i++)
			ev.scored.label[i] = td->frame->target.codes[rows[i]];
	}
	else
	{
		ev.scored.y = palloc(sizeof(double) * n);
		for (int64 i = 0; i < n; i++)
			ev.scored.y[i] = td->frame->target.values[rows[i]];
	}
	mean = palloc(sizeof(double) * Max(C, 1));
	std = palloc(sizeof(double) * Max(C, 1));
	evaluation_permutation_importance(&ev, IMPORTANCE_REPEATS, mean, std);

	initStringInfo(&json);
	appendStringInfo(&json, "{\"metric\": \"%s\", \"rows\": " INT64_FORMAT ", \"repeats\": %d,"
					 " \"fitted_on\": \"the first validation fold's training rows\", \"columns\": [",
					 metric->name, n, IMPORTANCE_REPEATS);
	for (int c = 0; c < C; c++)
	{
		appendStringInfoString(&json, c > 0 ? ", {\"name\": " : "{\"name\": ");
		json_append_string(&json, model->prep->columns[c].name);
		appendStringInfoString(&json, ", \"importance\": ");
		json_append_number(&json, mean[c]);
		appendStringInfoString(&json, ", \"std\": ");
		json_append_number(&json, std[c]);
		appendStringInfoChar(&json, '}');
	}
	appendStringInfoString(&json, "]}");
	return json.data;
}

TrainOutcome
train_and_store(TrainRequest *req)
{
	double		started = seconds_now();
	Frame	   *frame;
	char	   *data_digest = NULL;
	Frame	   *gate_frame = NULL;
	TrainOutcome outcome;
	TrainingData td;
	bool		task_inferred;
	char	  **classes = NULL;
	const MetricDef *metric;
	PrepSpec   *features;
	Validation	validation;
	SearchRequest sreq;
	SearchResult sr;
	EnsembleChoice ens;
	CalibrationChoice calibration;
	bool		use_ensemble = false;
	const Trial *best;
	const Predictions *chosen_predictions;
	const Learner *fixed_learner = NULL;
	double	   *fixed_values = NULL;
	Model	   *model;
	double		score = NAN;
	ModelRecord rec;
	StringInfoData json;
	const char **feature_names;
	const char **feature_kinds;
	PrepWarnings warnings;
	ModelPolicy policy;
	double		refit_started;
	double		refit_seconds;
	int64	   *all_rows;
	int			version;

	if (req->task_arg != NULL && strcmp(req->task_arg, "forecast") == 0)
		return forecast_train(req);
	catalog_check_owner(req->name, "train", false);
	policy = catalog_get_policy(req->name);
	progress_start(req->name, req->time_budget);
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
	else if (strcmp(req->calibration, "auto") != 0 && strcmp(req->calibration, "none") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("calibration \"%s\" applies to classification, and this is a regression",
						req->calibration),
				 errhint("Leave calibration out for regression models.")));

	/* A gate needs a deployed version to compare with, and rows enough for both parts. */
	if (req->gate_fraction > 0 && policy.deployed_version > 0 && policy.auto_deploy &&
		frame->n_rows * (1.0 - req->gate_fraction) >= MIN_GATE_TRAINING_ROWS)
	{
		Frame	   *scanned = frame;

		data_digest = frame_digest(scanned);	/* of every row read, before they are split */
		gate_frame = split_off_gate(&frame, &td, req);	/* NULL: no gate */
		td.frame = frame;
		if (gate_frame != NULL)
			frame_free_values(scanned);	/* the two parts hold copies */
	}

	metric = req->metric ? req->metric : metric_default(td.task, td.n_classes);
	if (metric->task != td.task)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metric \"%s\" does not apply to %s", metric->name, task_name(td.task)),
				 errhint("Valid metrics are %s.", metric_names())));

	/* hyperparams given: one fit of one learner, no search */
	if (req->hyperparams != NULL && list_length(req->algorithms) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams apply to one algorithm, but %d are given", list_length(req->algorithms)),
				 errhint("Give one algorithm with hyperparams for a single fit, or leave hyperparams out to search.")));
	if (req->hyperparams != NULL)
	{
		fixed_learner = choose_learner(req, td.task);
		fixed_values = palloc(sizeof(double) * Max(fixed_learner->n_hyperparams, 1));
		parse_hyperparams(fixed_learner, req->hyperparams, fixed_values);
	}
	else if (req->algorithms != NIL)
		(void) choose_learner(req, td.task);	/* names checked, one must fit the task */

	/* What the data says before fitting: columns to drop, personal data, imbalance. */
	prep_warnings_init(&warnings);
	prep_check_personal_data(frame, &warnings);
	features = prep_choose_features(frame, &warnings);
	td.features = features;
	td.class_weight = NULL;
	if (td.task == TASK_CLASSIFICATION)
		td.class_weight = balanced_class_weights(frame, td.n_classes, &warnings);

	/* The search, validated without leaks: every fit learns its prep from its own rows. */
	validation = choose_validation(&td, req->time_budget, req->seed);
	memset(&sreq, 0, sizeof(sreq));
	sreq.td = &td;
	sreq.validation = &validation;
	sreq.metric = metric;
	sreq.algorithms = req->algorithms;
	sreq.fixed_learner = fixed_learner;
	sreq.fixed_values = fixed_values;
	sreq.time_budget = req->time_budget;
	sreq.started = started;
	sreq.max_trials = req->max_trials;
	sreq.seed = req->seed;
	sr = run_search(&sreq);
	best = &sr.trials[sr.best];
	if (fixed_learner == NULL && req->time_budget > 0 && sr.n_trials == 1)
		ereport(NOTICE,
				(errmsg("time_budget of %g s left room for one trial only: the cheapest configuration was fitted, without a search",
						req->time_budget),
				 errhint("Give a larger time_budget for a search.")));
	chosen_predictions = best->predictions;

	/* An ensemble of the best trials when it validates better and its refits fit in the budget. */
	memset(&ens, 0, sizeof(ens));
	if (fixed_learner == NULL && ensemble_select(&sr, metric, td.n_classes, &ens))
	{
		double		refit_estimate = 0.0;

		for (int m = 0; m < ens.n_members; m++)
		{
			const Trial *t = &sr.trials[ens.trial[m]];

			refit_estimate += trial_refit_seconds(t, validation.n_folds, frame->n_rows);
		}
		use_ensemble = req->time_budget <= 0 ||
			seconds_now() + refit_estimate <= started + req->time_budget * 0.98;
		if (use_ensemble)
			chosen_predictions = &ens.predictions;
		else
			ereport(NOTICE,
					(errmsg("an ensemble of %d trials validated better, but refitting it would exceed the time budget; the best single trial is kept",
							ens.n_members)));
	}
	progress_update(sr.n_trials, metric->name, best->score,
					req->time_budget > 0 ? started + req->time_budget - seconds_now() : NAN, "refit");

	/* Refit on every row for the stored model. */
	all_rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * frame->n_rows);
	for (int64 i = 0; i < frame->n_rows; i++)
		all_rows[i] = i;
	refit_started = seconds_now();
	if (use_ensemble)
	{
		Model	  **members = palloc(sizeof(Model *) * ens.n_members);

		for (int m = 0; m < ens.n_members; m++)
		{
			const Trial *t = &sr.trials[ens.trial[m]];

			members[m] = fit_model(&td, t->learner, t->hyperparams, all_rows, frame->n_rows);
			members[m]->classes = classes;
		}
		model = model_make_ensemble(members, ens.weight, ens.n_members);
	}
	else
		model = fit_model(&td, best->learner, best->hyperparams, all_rows, frame->n_rows);
	refit_seconds = seconds_now() - refit_started;
	model->classes = classes;
	/* The column checks read the fitted spec of the first (best) member. */
	prep_check_target(model->prep, frame, td.task == TASK_CLASSIFICATION, td.n_classes, &warnings);
	appendStringInfoChar(&warnings.json, ']');

	/*
	 * Calibration, chosen on the validation predictions. From here on they
	 * are the cross-fitted calibrated ones, so the stored metrics, the
	 * deployment decision and the drift reference describe what the model
	 * will return.
	 */
	memset(&calibration, 0, sizeof(calibration));
	if (td.task == TASK_CLASSIFICATION)
	{
		double		before = predictions_score(chosen_predictions, metric, td.n_classes);
		StringInfoData cal_json;

		calibration = calibration_choose(req->calibration, chosen_predictions->n,
										 chosen_predictions->pred, chosen_predictions->label,
										 td.n_classes, (uint64) req->seed);
		model->calibrator = calibration.calibrator;
		if (calibration.cross_fitted)
		{
			Predictions *calibrated = palloc(sizeof(Predictions));

			*calibrated = *chosen_predictions;
			calibrated->pred = calibration.cross_fitted;
			chosen_predictions = calibrated;
		}
		/* the search metric before and after, for the record */
		initStringInfo(&cal_json);
		appendBinaryStringInfo(&cal_json, calibration.json, strlen(calibration.json) - 1);
		appendStringInfo(&cal_json, ", \"metric\": \"%s\", \"score_before\": ", metric->name);
		json_append_number(&cal_json, before);
		appendStringInfoString(&cal_json, ", \"score_after\": ");
		json_append_number(&cal_json, predictions_score(chosen_predictions, metric, td.n_classes));
		appendStringInfoChar(&cal_json, '}');
		calibration.json = cal_json.data;
	}

	/* The catalog row. */
	memset(&rec, 0, sizeof(rec));
	rec.name = req->name;
	rec.task = task_name(td.task);
	rec.algorithm = model_algorithm(model);
	rec.hyperparams_json = use_ensemble ? members_json(&sr, &ens, NULL) : trial_hyperparams_json(best);
	rec.metrics_json = metrics_json(&td, chosen_predictions, &validation, metric, &score);
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
	rec.summary_json = use_ensemble ? members_json(&sr, &ens, model)
		: summary_json(best->learner, model);
	{
		/* the learner's summary, and the permutation importance on validation rows */
		char	   *importance = validation_importance(&td, &validation, metric, &sr, best, &ens,
													   use_ensemble, classes,
													   req->time_budget > 0 ? started + req->time_budget : INFINITY);

		if (importance != NULL)
		{
			size_t		len = strlen(rec.summary_json);

			Assert(len > 1 && rec.summary_json[len - 1] == '}');
			rec.summary_json = psprintf("%.*s%s\"permutation_importance\": %s}", (int) (len - 1),
										rec.summary_json, len > 2 ? ", " : "", importance);
		}
	}
	rec.source_relation = frame->relation_name;
	rec.target = req->target;

	initStringInfo(&json);
	appendStringInfo(&json, "{\"seed\": %d, \"task_inferred\": %s, \"validation\": \"%s\", \"folds\": %d,"
					 " \"validation_fraction\": %g, \"time_budget\": ",
					 req->seed, task_inferred ? "true" : "false",
					 validation.n_folds > 1 ? "cross_validation" : "holdout", validation.n_folds,
					 validation.n_folds > 1 ? 1.0 / validation.n_folds : VALID_FRACTION);
	appendStringInfoString(&json, req->time_budget > 0 ? psprintf("%g", req->time_budget) : "null");
	appendStringInfoString(&json, ", \"max_trials\": ");
	appendStringInfoString(&json, req->max_trials > 0 ? psprintf("%d", req->max_trials) : "null");
	appendStringInfo(&json, ", \"trials\": %d, \"best_trial\": %d, \"search\": \"%s\", \"search_seconds\": %.6f, \"exclude\": ",
					 sr.n_trials, best->number, fixed_learner ? "none: hyperparams given" : "portfolio + local search",
					 sr.seconds);
	append_json_list(&json, req->exclude);
	appendStringInfoString(&json, ", \"algorithms\": ");
	if (req->algorithms)
		append_json_list(&json, req->algorithms);
	else
		appendStringInfoString(&json, "null");
	appendStringInfoString(&json, ", \"hyperparams\": ");
	if (req->hyperparams)
		appendStringInfoString(&json, JsonbToCString(NULL, &req->hyperparams->root, VARSIZE(req->hyperparams)));
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
	appendStringInfo(&json, ", \"gate_rows\": " INT64_FORMAT ", \"calibration\": \"%s\"",
					 gate_frame ? gate_frame->n_rows : 0, req->calibration);
	appendStringInfoChar(&json, '}');
	rec.options_json = json.data;
	rec.warnings_json = warnings.json.data;
	rec.calibration_json = calibration.json;
	rec.profile_json = profile_with_predictions(prep_profile_json(model->prep, frame),
												chosen_predictions, td.n_classes, classes);

	rec.n_rows = frame->n_rows;
	rec.model_bytes = model_serialize(model);
	rec.source_kind = relation_kind_name(frame->relation_kind);
	rec.source_definition = relation_view_definition(frame->relation_id, frame->relation_kind);
	rec.data_digest = data_digest ? data_digest : frame_digest(frame);
	rec.n_trials = sr.n_trials;
	rec.trials = trial_records(&sr, metric, use_ensemble ? -1 : sr.best, use_ensemble ? &ens : NULL);
	if (gate_frame != NULL)
	{
		/* champion and challenger on the rows the challenger never saw */
		TrainingData gate_td = td;
		Validation	gate;

		gate_td.frame = gate_frame;
		memset(&gate, 0, sizeof(gate));
		gate.n_folds = 1;
		gate.n_rows = gate_frame->n_rows;
		gate.rows = palloc(sizeof(int64) * Max(gate.n_rows, 1));
		for (int64 i = 0; i < gate.n_rows; i++)
			gate.rows[i] = i;
		decide_deployment(&gate_td, &gate, metric, score_on_gate(&gate_td, &gate, metric, model),
						  &policy, req->name, classes, &rec);
	}
	else
		decide_deployment(&td, &validation, metric, score, &policy, req->name, classes, &rec);
	rec.train_seconds = seconds_now() - started;
	version = catalog_store_model(&rec);
	progress_end();

	outcome.version = version;
	outcome.deployed = rec.deploy;
	outcome.task = task_name(td.task);
	outcome.algorithm = rec.algorithm;
	outcome.metric = metric->name;
	outcome.score = score;
	outcome.decision_reason = rec.decision_reason;
	outcome.gate_rows = gate_frame ? gate_frame->n_rows : 0;
	return outcome;
}

Datum
automl_train(PG_FUNCTION_ARGS)
{
	MemoryContext call_cxt = CurrentMemoryContext;
	MemoryContext train_cxt;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TrainRequest *req;
	TrainOutcome outcome;
	Datum		result[7];
	bool		result_null[7] = {false};

	InitMaterializedSRF(fcinfo, 0);
	train_cxt = AllocSetContextCreate(call_cxt, "automl train", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(train_cxt);
	req = parse_request(fcinfo);
	outcome = train_and_store(req);

	/* The result row, built in the caller's context. */
	MemoryContextSwitchTo(call_cxt);
	result[0] = CStringGetTextDatum(req->name);
	result[1] = Int32GetDatum(outcome.version);
	result[2] = CStringGetTextDatum(outcome.task);
	result[3] = CStringGetTextDatum(outcome.algorithm);
	result[4] = CStringGetTextDatum(outcome.metric);
	result[5] = Float8GetDatum(outcome.score);
	result_null[5] = isnan(outcome.score);
	result[6] = BoolGetDatum(outcome.deployed);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, result, result_null);
	MemoryContextDelete(train_cxt);
	return (Datum) 0;
}
