/*
 * tabular.h: the state of a training run on a table, shared by its steps
 * (tabular.c), its records (record.c) and its deployment decision
 * (deploy.c). Internal to src/train.
 */
#ifndef AUTOML_TABULAR_H
#define AUTOML_TABULAR_H

#include "postgres.h"
#include "train/train.h"

/* One fitted model of the stored model: a trial's, on all rows or on one fold. */
typedef struct FittedModel
{
	const Trial *trial;
	int			fold;			/* -1: refitted on every row, or the first fold's kept
								 * when a refit did not fit (see refit_reason); else the
								 * fold whose training rows it saw (bagging) */
	double		weight;
} FittedModel;

typedef struct TabularRun
{
	TrainingRun run;
	Frame	   *frame;			/* the rows the search and the refit train on */
	Frame	   *gate_frame;		/* rows kept out for the deployment gate, or NULL */
	char	   *data_digest;	/* of every row read, when a gate split them */
	TrainingData td;
	bool		task_inferred;
	char	  **classes;		/* sorted labels; NULL for regression */
	const MetricDef *metric;
	PrepWarnings warnings;
	const Learner *fixed_learner;	/* hyperparams given: one fit of this, no search */
	double	   *fixed_values;
	Validation	validation;
	SearchResult sr;
	const Trial *best;
	EnsembleChoice ens;
	bool		use_ensemble;
	const Predictions *chosen;	/* the validated predictions of what is stored */
	Model	   *model;			/* the fitted models below, averaged when more than one */
	int			n_fitted;
	struct FittedModel *fitted; /* what each of model's members is */
	int			n_bagged;		/* trials whose fold models are averaged (bagging) */
	bool		refitted;		/* some member was refitted on every training row */
	const char *refit_reason;
	double		refit_seconds;
	int64		refit_rows_on_workers;	/* > 0: a ridge model refitted from Citus workers' sums */
	CalibrationChoice calibration;
	double		score_before_calibration;
	double		score;			/* the validation score of the stored model */
} TabularRun;

/* ---- statistics.c ---- */

/* A ridge model trained on a sample of a Citus distributed table, refitted on every row. */
extern void refit_on_workers(TabularRun *t);

/* ---- record.c ---- */

/* The catalog row's documents and trial rows, from a finished run. */
extern void record_tabular(TabularRun *t);

/* ---- deploy.c ---- */

/*
 * With a gate, keeps a seeded stratified share of the rows out of the search
 * and the refit (t->gate_frame); otherwise, or when a class would be missing
 * from the gate, leaves t as it was.
 */
extern void deploy_split_gate(TabularRun *t);

/* The deployment decision and its comparison, into t->run.rec. */
extern void deploy_decide(TabularRun *t);

#endif							/* AUTOML_TABULAR_H */
