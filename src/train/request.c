/*
 * request.c: automl_train's arguments as a validated TrainRequest, the
 * defaults every training shares (a stored recipe's too), and the entry
 * point that hands the request to the run of its task.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/args.h"
#include "fmgr.h"
#include "funcapi.h"
#include "learn/calibration.h"
#include "train/train.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

PG_FUNCTION_INFO_V1(automl_train);

#define MAX_MODEL_NAME 200

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

void
train_request_defaults(TrainRequest *req)
{
	if (req->time_budget <= 0 && req->max_trials <= 0)
		req->time_budget = DEFAULT_TIME_BUDGET;
	if (req->calibration == NULL)
		req->calibration = "auto";
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
	req->seed = PG_ARGISNULL(ARG_SEED) ? TRAIN_DEFAULT_SEED : PG_GETARG_INT32(ARG_SEED);
	req->calibration = PG_ARGISNULL(ARG_CALIBRATION) ? NULL
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
	train_request_defaults(req);
	if (!calibration_request_valid(req->calibration))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown calibration \"%s\"", req->calibration),
				 errhint("Valid values are auto (calibrate when it lowers the validation log loss), none, platt and isotonic.")));
	return req;
}

/* ---- learner and hyperparameters ---- */

/* The first algorithm given that can do task; the default learner without algorithms. */
const Learner *
request_learner(const TrainRequest *req, Task task)
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
void
request_hyperparams(const Learner *learner, Jsonb *json, double *values)
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
		const HyperparamDef *def;
		int			index;
		double		value;

		if (token == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (token != WJB_VALUE)
			continue;
		index = learner_hyperparam_index(learner, key);
		def = index >= 0 ? &learner->hyperparams[index] : NULL;
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

TrainOutcome
train_run(TrainRequest *req)
{
	if (req->task_arg != NULL && strcmp(req->task_arg, "forecast") == 0)
		return train_forecast(req);
	return train_tabular(req);
}

/*
 * automl_train(name, relation, target, task, time_budget, metric, algorithms,
 * hyperparams, exclude, seed, max_trials, calibration, time_column,
 * series_column, horizon): one row, the stored version and its decision.
 */
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
	outcome = train_run(req);

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
