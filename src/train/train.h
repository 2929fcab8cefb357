/*
 * train.h: a training run, from a relation and a target to a stored,
 * decided version: what automl_train and automl_retrain do, for tables and
 * for time series alike.
 *
 *   request.c    automl_train: its arguments as a TrainRequest, and the
 *                defaults every run shares (also for a stored recipe)
 *   run.c        a training run: start, trial records and their ranks, the
 *                deployment policy's first steps, store, outcome
 *   tabular.c    a run on a table: scan, task, search, ensemble, refit,
 *                calibration (src/search), the catalog row
 *   deploy.c     champion and challenger on the same rows, and the gate
 *   record.c     the JSON documents of a tabular version
 *   forecast.c   a run of task forecast (src/forecast)
 *   retrain.c    automl_retrain, automl_retrain_if_needed and the pg_cron job
 *
 * Everything runs in the caller's memory context, which the SQL entry points
 * make per call and delete at the end (on error, the transaction does).
 */
#ifndef AUTOML_TRAIN_H
#define AUTOML_TRAIN_H

#include "postgres.h"
#include "registry/registry.h"
#include "search/search.h"

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
	double		time_budget;	/* seconds; 0: none (max_trials only) */
	int			max_trials;		/* 0: none */
	double		gate_fraction;	/* > 0: rows kept out to compare with the deployed version */
	const char *calibration;	/* auto, none, platt, isotonic */

	/* task forecast */
	char	   *time_column;
	char	   *series_column;	/* or NULL: one series */
	int			horizon;		/* periods ahead; 0: not given */
} TrainRequest;

/* What one training stored and decided. */
typedef struct TrainOutcome
{
	int			version;
	bool		deployed;
	const char *task;
	const char *algorithm;
	const char *metric;
	double		score;			/* validation score of the search; NaN: undefined */
	const char *decision_reason;
	int64		gate_rows;		/* rows both were scored on under a gate, else 0 */
} TrainOutcome;

/* ---- request.c ---- */

#define TRAIN_DEFAULT_SEED 42

/*
 * The defaults of a request whose arguments were read: the time budget when
 * neither it nor max_trials is given, the calibration. automl_train and a
 * stored recipe both end with it.
 */
extern void train_request_defaults(TrainRequest *req);

/*
 * The learner of a request with hyperparams (the first algorithm given that
 * can do task; the task's default learner without algorithms); errors for
 * unknown names and when none of them can.
 */
extern const Learner *request_learner(const TrainRequest *req, Task task);

/* Reads hyperparams into values (the learner's defaults first); unknown names are errors. */
extern void request_hyperparams(const Learner *learner, Jsonb *json, double *values);

/* Trains as req says: a table (tabular.c) or task forecast (forecast.c). */
extern TrainOutcome train_run(TrainRequest *req);

/* ---- run.c ---- */

/* One training run in progress. */
typedef struct TrainingRun
{
	TrainRequest *req;
	double		started;		/* seconds_now() */
	double		deadline;		/* started + time budget, or INFINITY */
	ModelPolicy policy;			/* the name's deployment policy when the run began */
	ModelRecord rec;			/* the version to store */
} TrainingRun;

/* Checks ownership, reads the policy, starts the clock and the progress view. */
extern void run_start(TrainingRun *run, TrainRequest *req);

/* The source relation of the version (name, kind, a view's query). */
extern void run_set_source(TrainingRun *run, Oid relid, const char *relation_name, char relkind);

/* A trial of the run, before it is ranked. */
typedef struct RunTrial
{
	const char *algorithm;
	Jsonb	   *hyperparams;
	double		score;			/* NaN: did not finish, or undefined */
	double		score_std;
	double		fit_seconds;
	int64		rows_used;
	const char *status;			/* "ok", "stopped at the time budget", "failed" */
	const char *error;
	bool		selected;
	double		ensemble_weight;	/* NaN: not an ensemble member */
} RunTrial;

/*
 * The trials as catalog rows, ranked by score among those that finished
 * ("ok" with a score): 1 is the best, ties go to the earlier trial.
 */
extern void run_set_trials(TrainingRun *run, const RunTrial *trials, int n_trials,
						   bool higher_is_better);

/*
 * The first steps of every deployment decision: the first version of a
 * name is deployed, and none is when automatic deployment is off. Returns
 * true when that decided; false when the run must compare (deploy.c).
 */
extern bool run_decide_by_policy(TrainingRun *run);

/* Stores the version with its decision and ends the progress view. */
extern TrainOutcome run_store(TrainingRun *run);

/* "table", "view", "materialized view", ... for the model row. */
extern const char *relation_kind_name(char relkind);

/* A view's or materialized view's query, or NULL for other relations. */
extern char *relation_view_definition(Oid relid, char relkind);

/* ---- tabular.c, forecast.c ---- */

extern TrainOutcome train_tabular(TrainRequest *req);
extern TrainOutcome train_forecast(TrainRequest *req);

#endif							/* AUTOML_TRAIN_H */
