/*
 * run.c: what every training run does around its search, whatever the task:
 * start (ownership, policy, clock, progress), the source relation, the
 * trials as ranked catalog rows, the policy's part of the deployment
 * decision, and storing the version.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_class.h"
#include "common/budget.h"
#include "common/json.h"
#include "executor/spi.h"
#include "train/train.h"

void
run_start(TrainingRun *run, TrainRequest *req)
{
	memset(run, 0, sizeof(*run));
	budget_begin(CurrentMemoryContext);	/* the run's context, deleted at its end */
	run->req = req;
	run->started = seconds_now();
	run->deadline = req->time_budget > 0 ? run->started + req->time_budget : INFINITY;
	catalog_check_owner(req->name, "train", false);
	run->policy = catalog_get_policy(req->name);
	progress_start(req->name, req->time_budget);
	run->rec.name = req->name;
	run->rec.target = req->target;
}

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

void
run_set_source(TrainingRun *run, Oid relid, const char *relation_name, char relkind)
{
	run->rec.source_relation = relation_name;
	run->rec.source_kind = relation_kind_name(relkind);
	run->rec.source_definition = relation_view_definition(relid, relkind);
}

/* 1 + the finished trials that scored better than trial t (ties: the earlier wins). */
static int
trial_rank(const RunTrial *trials, int n_trials, int t, bool higher_is_better)
{
	int			rank = 1;

	for (int u = 0; u < n_trials; u++)
	{
		const RunTrial *other = &trials[u];

		if (u == t || strcmp(other->status, "ok") != 0 || isnan(other->score))
			continue;
		if (higher_is_better ? other->score > trials[t].score : other->score < trials[t].score)
			rank++;
		else if (other->score == trials[t].score && u < t)
			rank++;
	}
	return rank;
}

void
run_set_trials(TrainingRun *run, const RunTrial *trials, int n_trials, bool higher_is_better)
{
	TrialRecord *records = palloc0(sizeof(TrialRecord) * Max(n_trials, 1));

	for (int t = 0; t < n_trials; t++)
	{
		const RunTrial *trial = &trials[t];
		TrialRecord *r = &records[t];

		r->number = t + 1;
		r->algorithm = trial->algorithm;
		r->hyperparams = trial->hyperparams;
		r->score = trial->score;
		r->score_std = trial->score_std;
		r->fit_seconds = trial->fit_seconds;
		r->rows_used = trial->rows_used;
		r->status = trial->status;
		r->error = trial->error;
		r->selected = trial->selected;
		r->ensemble_weight = trial->ensemble_weight;
		r->rank = strcmp(trial->status, "ok") == 0 && !isnan(trial->score)
			? trial_rank(trials, n_trials, t, higher_is_better) : 0;
	}
	run->rec.n_trials = n_trials;
	run->rec.trials = records;
}

bool
run_decide_by_policy(TrainingRun *run)
{
	ModelRecord *rec = &run->rec;

	rec->parent_version = run->policy.deployed_version;
	if (run->policy.deployed_version == 0)
	{
		rec->deploy = true;
		rec->decision_event = "deploy";
		rec->decision_reason = "first version of the model";
		return true;
	}
	if (!run->policy.auto_deploy)
	{
		rec->deploy = false;
		rec->decision_event = "auto_deploy_refused";
		rec->decision_reason = "automatic deployment is off for this model";
		return true;
	}
	return false;
}

/* The memory limit that applied and the run's measured peak, into the options. */
static void
record_memory(ModelRecord *rec)
{
	JsonBuilder b;

	budget_note();
	json_begin(&b);
	if (rec->options != NULL)
		json_members(&b, rec->options);
	json_key_int(&b, "train_memory_mb", budget_limit_mb());
	json_key_number(&b, "memory_peak_mb", (double) budget_peak() / (1024 * 1024));
	rec->options = json_end(&b);
}

TrainOutcome
run_store(TrainingRun *run)
{
	TrainOutcome outcome;

	record_memory(&run->rec);
	run->rec.train_seconds = seconds_now() - run->started;
	outcome.version = catalog_store_model(&run->rec);
	progress_end();
	outcome.deployed = run->rec.deploy;
	outcome.task = run->rec.task;
	outcome.algorithm = run->rec.algorithm;
	outcome.metric = run->rec.metric;
	outcome.score = run->rec.score;
	outcome.decision_reason = run->rec.decision_reason;
	outcome.gate_rows = 0;
	return outcome;
}
