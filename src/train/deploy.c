/*
 * deploy.c: champion and challenger. A later version of a name serves only
 * when it beats the deployed one on the same rows by more than the name's
 * min_gain: this run's validation rows, or, under a gate (automl_retrain),
 * rows kept out of this run's training altogether.
 */
#include "postgres.h"

#include <math.h>

#include "common/seed.h"
#include "common/subxact.h"
#include "train/tabular.h"

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
		compare_with_champion(t, &t->td, &t->validation, t->score);
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
