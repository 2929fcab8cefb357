/*
 * deploy.c: champion and challenger. A later version of a name serves only
 * when it beats the deployed one by more than the name's min_gain, on rows
 * neither was fitted on: under a gate (automl_retrain), rows kept out of this
 * run's training altogether; otherwise (automl_train) this run's validation
 * folds, with the deployed version's configuration refitted on each fold as
 * the challenger's was, since the deployed model itself may have been
 * trained on those very rows.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/seed.h"
#include "common/subxact.h"
#include "executor/spi.h"
#include "registry/catalog_sql.h"
#include "train/tabular.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

void
deploy_split_gate(TabularRun *t)
{
	const TrainRequest *req = t->run.req;
	Frame	   *frame = t->frame;
	Split		split = holdout_split(frame->n_rows,
									  t->td.task == TASK_CLASSIFICATION ? frame->target.codes : NULL,
									  t->td.n_classes, req->gate_fraction,
									  seed_gate(req->seed));

	t->data_digest = frame_digest(frame);	/* of every row read, before they are split */

	/* a class with one row stays in training: the gate would lack it, and no gate is better */
	if (t->td.task == TASK_CLASSIFICATION)
	{
		bool	   *seen = palloc0(sizeof(bool) * t->td.n_classes);
		int			n_seen = 0;

		for (int64 i = 0; i < split.n_valid; i++)
		{
			int			c = frame->target.codes[split.valid[i]];

			n_seen += !seen[c];
			seen[c] = true;
		}
		if (n_seen < t->td.n_classes)
			return;
	}
	t->gate_frame = frame_subset(frame, split.valid, split.n_valid);
	t->frame = frame_subset(frame, split.train, split.n_train);
	t->td.frame = t->frame;
	frame_free_values(frame);	/* the two parts hold copies */
}

/*
 * The deployed model's score with the chosen metric on the given rows of
 * td's frame, or false with *why_not when it cannot be scored on them.
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
	*score = metric_score(metric, &p);
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

/* The comparison document: both scores on the same rows, and what it decided. */
static Jsonb *
comparison_json(const MetricDef *metric, int champion_version, int64 rows, double min_gain,
				double challenger, double champion, bool deployed)
{
	JsonBuilder b;

	json_begin(&b);
	json_key_string(&b, "metric", metric->name);
	json_key_int(&b, "champion_version", champion_version);
	json_key_int(&b, "validation_rows", rows);
	json_key_number(&b, "min_gain", min_gain);
	json_key_number(&b, "challenger_score", challenger);
	json_key_number(&b, "champion_score", champion);
	json_key_bool(&b, "deployed", deployed);
	return json_end(&b);
}

/*
 * The challenger's score (on v's rows of td) against the deployed version's
 * on the same rows.
 */
static void
compare_with_champion(TabularRun *t, const TrainingData *td, const Validation *v, double score)
{
	ModelRecord *rec = &t->run.rec;
	const ModelPolicy *policy = &t->run.policy;
	int			champion_version = policy->deployed_version;
	double		champion_score = NAN;
	char	   *why_not = NULL;

	if (load_and_score_champion(td, v, t->metric, t->run.req->name, t->classes, champion_version,
								&champion_score, &why_not) &&
		!isnan(score) && !isnan(champion_score))
	{
		double		gain = t->metric->higher_is_better ? score - champion_score : champion_score - score;

		rec->deploy = gain > policy->min_gain;
		rec->decision_reason = psprintf("%s %.6g against %.6g of version %d on the same " INT64_FORMAT
										" validation rows: gain %.6g %s min_gain %g",
										t->metric->name, score, champion_score, champion_version,
										v->n_rows, gain, rec->deploy ? ">" : "<=", policy->min_gain);
	}
	else
	{
		rec->deploy = false;
		rec->decision_reason = why_not ? psprintf("the deployed version could not be compared: %s", why_not)
			: pstrdup("a score is undefined on the validation rows");
	}
	rec->decision_event = rec->deploy ? "auto_deploy" : "auto_deploy_refused";
	rec->comparison = comparison_json(t->metric, champion_version, v->n_rows, policy->min_gain,
									  score, champion_score, rec->deploy);
}

/* One configuration of the deployed version: a learner, its values, its weight. */
typedef struct ChampionMember
{
	const Learner *learner;
	double	   *values;
	double		weight;
} ChampionMember;

/* The run's class labels as a text[] datum. */
static Datum
classes_array(const TabularRun *t)
{
	Datum	   *labels = palloc(sizeof(Datum) * Max(t->td.n_classes, 1));

	for (int k = 0; k < t->td.n_classes; k++)
		labels[k] = CStringGetTextDatum(t->classes[k]);
	return PointerGetDatum(construct_array(labels, t->td.n_classes, TEXTOID, -1, false, TYPALIGN_INT));
}

/* A learner named algorithm with these hyperparams, and its weight, into m; false if unknown. */
static bool
read_member(Jsonb *hyperparams, const char *algorithm, double weight, ChampionMember *m)
{
	m->learner = learner_find(algorithm);
	if (m->learner == NULL)
		return false;
	m->values = palloc(sizeof(double) * Max(m->learner->n_hyperparams, 1));
	request_hyperparams(m->learner, hyperparams, m->values);
	m->weight = weight;
	return true;
}

/* The value of key in a jsonb object, as a Jsonb of its own, or NULL. */
static Jsonb *
jsonb_field(Jsonb *object, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&object->root, key, strlen(key), NULL);

	return v != NULL ? JsonbValueToJsonb(v) : NULL;
}

/* A jsonb string's text, or NULL. */
static char *
jsonb_text(Jsonb *value)
{
	JsonbValue	v;

	if (value == NULL || !JsonbExtractScalar(&value->root, &v) || v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/*
 * A configuration as text, to tell whether two versions share it: the
 * algorithm and hyper-parameters, and for an ensemble each member's with its
 * weight (not the trial numbers, which differ between runs).
 */
static char *
recipe_text(const char *algorithm, Jsonb *hyperparams)
{
	StringInfoData s;
	Jsonb	   *list;

	initStringInfo(&s);
	appendStringInfoString(&s, algorithm);
	if (hyperparams == NULL)
		return s.data;
	list = strcmp(algorithm, "ensemble") == 0 ? jsonb_field(hyperparams, "members") : NULL;
	if (list == NULL || !JB_ROOT_IS_ARRAY(list))
	{
		appendStringInfo(&s, " %s", JsonbToCString(NULL, &hyperparams->root, VARSIZE(hyperparams)));
		return s.data;
	}
	for (uint32 i = 0; i < JB_ROOT_COUNT(list); i++)
	{
		JsonbValue *item = getIthJsonbValueFromContainer(&list->root, i);
		Jsonb	   *member = item != NULL ? JsonbValueToJsonb(item) : NULL;

		if (member == NULL || !JB_ROOT_IS_OBJECT(member))
			continue;
		for (int k = 0; k < 3; k++)
		{
			static const char *const keys[] = {"algorithm", "hyperparams", "weight"};
			Jsonb	   *v = jsonb_field(member, keys[k]);

			appendStringInfo(&s, " %s", v ? JsonbToCString(NULL, &v->root, VARSIZE(v)) : "null");
		}
		appendStringInfoChar(&s, ';');
	}
	return s.data;
}

/*
 * The deployed version's configurations, read from its catalog row: its
 * learner and hyper-parameters, or each member's with its weight for an
 * ensemble. Returns how many, 0 with *why_not when they cannot be refitted
 * here, or -1 when the configuration is the challenger's own (nothing to
 * compare: the same recipe refitted on the current rows; *same_rows says
 * whether the rows are the deployed version's too).
 */
static int
read_champion_members(const TabularRun *t, int champion_version, ChampionMember **members, char **why_not,
					  bool *same_rows)
{
	MemoryContext caller = CurrentMemoryContext;
	QueryParams p = {0};
	char	   *algorithm;
	Jsonb	   *hyperparams;
	bool		same_task;
	bool		isnull;
	int			n = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, t->run.req->name);
	query_add(&p, INT4OID, Int32GetDatum(champion_version), false);
	query_add_text(&p, t->run.rec.task);
	query_add(&p, TEXTARRAYOID, t->classes ? classes_array(t) : (Datum) 0, t->classes == NULL);
	query_add_text(&p, t->run.rec.data_digest);
	query_run("SELECT algorithm, hyperparams, task OPERATOR(pg_catalog.=) $3"
			  " AND classes IS NOT DISTINCT FROM $4, data_digest OPERATOR(pg_catalog.=) $5"
			  " FROM automl.models WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
			  &p, SPI_OK_SELECT);
	if (SPI_processed != 1)
	{
		SPI_finish();
		*why_not = psprintf("version %d is not in the catalog", champion_version);
		return 0;
	}
	MemoryContextSwitchTo(caller);
	algorithm = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	algorithm = pstrdup(algorithm);
	hyperparams = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	same_task = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	*same_rows = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull)) && !isnull;
	SPI_finish();

	if (!same_task)
	{
		*why_not = psprintf("version %d solves another task or has other classes", champion_version);
		return 0;
	}
	if (strcmp(recipe_text(algorithm, hyperparams),
			   recipe_text(t->run.rec.algorithm, t->run.rec.hyperparams)) == 0)
		return -1;
	if (strcmp(algorithm, "ensemble") != 0)
	{
		*members = palloc(sizeof(ChampionMember));
		if (!read_member(hyperparams, algorithm, 1.0, &(*members)[0]))
		{
			*why_not = psprintf("version %d uses algorithm \"%s\", which this build does not have", champion_version, algorithm);
			return 0;
		}
		return 1;
	}
	{
		Jsonb	   *list = jsonb_field(hyperparams, "members");
		int			count = list != NULL && JB_ROOT_IS_ARRAY(list) ? JB_ROOT_COUNT(list) : 0;

		*members = palloc(sizeof(ChampionMember) * Max(count, 1));
		for (int i = 0; i < count; i++)
		{
			JsonbValue *item = getIthJsonbValueFromContainer(&list->root, i);
			Jsonb	   *member = item != NULL ? JsonbValueToJsonb(item) : NULL;
			char	   *name = member ? jsonb_text(jsonb_field(member, "algorithm")) : NULL;
			Jsonb	   *weight = member ? jsonb_field(member, "weight") : NULL;
			JsonbValue	w;

			if (name == NULL || weight == NULL || !JsonbExtractScalar(&weight->root, &w) || w.type != jbvNumeric ||
				!read_member(jsonb_field(member, "hyperparams"), name,
							 DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(w.val.numeric))),
							 &(*members)[n]))
			{
				*why_not = psprintf("member %d of version %d's ensemble cannot be refitted here", i + 1, champion_version);
				return 0;
			}
			n++;
		}
	}
	if (n == 0)
		*why_not = psprintf("version %d's ensemble lists no members", champion_version);
	return n;
}

/*
 * The deployed version's configuration validated on this run's folds: each
 * member fitted on every fold's training rows and its out-of-fold predictions
 * averaged with the member weights, scored before calibration (like
 * t->score_before_calibration). It stops at the run's deadline plus a fifth
 * of its budget; false with *why_not when it cannot finish.
 */
static bool
champion_recipe_score(TabularRun *t, int n_members, const ChampionMember *members, double *score,
					  char **why_not)
{
	const Validation *v = &t->validation;
	Predictions sum = predictions_for(&t->td, v);
	int			width = predictions_width(&sum);
	double	   *fold_scores = palloc(sizeof(double) * Max(v->n_folds, 1));
	double		deadline = 0.0;

	if (t->run.req->time_budget > 0)
		deadline = Max(t->run.deadline, seconds_now()) + 0.2 * t->run.req->time_budget;
	memset(sum.pred, 0, sizeof(double) * sum.n * width);
	for (int m = 0; m < n_members; m++)
	{
		Predictions one = predictions_for(&t->td, v);
		bool		out_of_memory = false;

		if (!evaluate_config(&t->td, v, members[m].learner, members[m].values, t->metric, deadline,
							 &one, fold_scores, NULL, 0, false, &out_of_memory, NULL))
		{
			*why_not = pstrdup(out_of_memory
							   ? "its configuration could not be refitted on this run's folds within automl.train_memory"
							   : "its configuration could not be refitted on this run's folds within the time budget");
			return false;
		}
		for (int64 i = 0; i < sum.n * width; i++)
			sum.pred[i] += members[m].weight * one.pred[i];
	}
	*score = metric_score(t->metric, &sum);
	return true;
}

/*
 * read_champion_members and champion_recipe_score in a subtransaction: a
 * catalog row this build cannot refit (say, a hyper-parameter it no longer
 * knows) must not fail the training. Returns what read_champion_members
 * does, 0 also when the refit did not finish or failed (*why_not says why).
 */
static int
try_champion_recipe(TabularRun *t, int champion_version, double *champion_score, char **why_not,
					bool *same_rows)
{
	SubxactState subxact = subxact_begin();
	volatile int result = 0;

	PG_TRY();
	{
		ChampionMember *members = NULL;
		int			n = read_champion_members(t, champion_version, &members, why_not, same_rows);

		if (n > 0 && !champion_recipe_score(t, n, members, champion_score, why_not))
			n = 0;
		result = n;
		subxact_commit(&subxact);
	}
	PG_CATCH();
	{
		ErrorData  *error = subxact_abort(&subxact);

		*why_not = psprintf("refitting it failed: %s", error->message);
		result = 0;
	}
	PG_END_TRY();
	return result;
}

/*
 * automl_train's comparison: the challenger's out-of-fold score against the
 * deployed configuration's on the same folds. When the configuration cannot
 * be refitted, the deployed model itself is scored on the validation rows, and
 * the reason says that it may have been trained on them.
 */
static void
compare_with_champion_refitted(TabularRun *t)
{
	ModelRecord *rec = &t->run.rec;
	const ModelPolicy *policy = &t->run.policy;
	int			champion_version = policy->deployed_version;
	char	   *why_not = NULL;
	double		champion_score = NAN;
	/* before calibration, as the refitted configuration's (regression has none) */
	double		score = t->td.task == TASK_CLASSIFICATION ? t->score_before_calibration : t->score;
	bool		same_rows = false;
	int			n_members = try_champion_recipe(t, champion_version, &champion_score, &why_not, &same_rows);
	JsonBuilder b;

	if (n_members < 0)
	{
		/*
		 * The same recipe: nothing to compare. On other rows it is the
		 * deployed version brought up to date (unless a gain is demanded); on
		 * the same rows, nothing new.
		 */
		rec->deploy = !same_rows && policy->min_gain <= 0.0;
		rec->decision_event = rec->deploy ? "auto_deploy" : "auto_deploy_refused";
		rec->decision_reason =
			same_rows ? psprintf("the configuration and the rows of version %d: nothing new to deploy", champion_version)
			: rec->deploy ? psprintf("the configuration of version %d refitted on the current " INT64_FORMAT " rows",
									 champion_version, t->frame->n_rows)
			: psprintf("the configuration of version %d refitted on the current " INT64_FORMAT
					   " rows: no gain can be measured against min_gain %g", champion_version,
					   t->frame->n_rows, policy->min_gain);
	}
	else if (n_members > 0 && !isnan(score) && !isnan(champion_score))
	{
		double		gain = t->metric->higher_is_better ? score - champion_score : champion_score - score;

		rec->deploy = gain > policy->min_gain;
		rec->decision_event = rec->deploy ? "auto_deploy" : "auto_deploy_refused";
		rec->decision_reason = psprintf("%s %.6g against %.6g of version %d's configuration refitted on the same %d fold%s"
										" (" INT64_FORMAT " out-of-fold rows, before calibration): gain %.6g %s min_gain %g",
										t->metric->name, score, champion_score, champion_version, t->validation.n_folds,
										t->validation.n_folds == 1 ? "" : "s", t->validation.n_rows, gain,
										rec->deploy ? ">" : "<=", policy->min_gain);
	}
	else if (n_members > 0)
	{
		rec->deploy = false;
		rec->decision_event = "auto_deploy_refused";
		rec->decision_reason = pstrdup("a score is undefined on the validation rows");
	}
	else
	{
		/* the model itself, on rows it may have been trained on: said in the reason */
		compare_with_champion(t, &t->td, &t->validation, t->score);
		rec->decision_reason = psprintf("%s (version %d's configuration was not refitted: %s; it may have been trained on these rows)",
										rec->decision_reason, champion_version, why_not);
		return;
	}
	json_begin(&b);
	json_key_string(&b, "metric", t->metric->name);
	json_key_int(&b, "champion_version", champion_version);
	json_key_string(&b, "compared_on", n_members < 0 ? "same configuration" : "champion configuration refitted on the challenger's folds");
	json_key_int(&b, "validation_rows", t->validation.n_rows);
	json_key_int(&b, "folds", t->validation.n_folds);
	json_key_number(&b, "min_gain", policy->min_gain);
	json_key_number(&b, "challenger_score", score);
	json_key_number(&b, "champion_score", champion_score);
	json_key_bool(&b, "deployed", rec->deploy);
	rec->comparison = json_end(&b);
}

void
deploy_decide(TabularRun *t)
{
	TrainingData gate_td;
	Validation	gate;
	Predictions p;

	if (run_decide_by_policy(&t->run))
		return;
	if (t->gate_frame == NULL)
	{
		compare_with_champion_refitted(t);
		return;
	}
	/* champion and challenger on the rows the challenger never saw */
	gate_td = t->td;
	gate_td.frame = t->gate_frame;
	memset(&gate, 0, sizeof(gate));
	gate.n_folds = 1;
	gate.n_rows = t->gate_frame->n_rows;
	gate.rows = palloc(sizeof(int64) * Max(gate.n_rows, 1));
	for (int64 i = 0; i < gate.n_rows; i++)
		gate.rows[i] = i;
	p = predictions_for(&gate_td, &gate);
	predict_rows(&gate_td, t->model, NULL, gate.rows, gate.n_rows, p.pred);
	compare_with_champion(t, &gate_td, &gate, metric_score(t->metric, &p));
}
