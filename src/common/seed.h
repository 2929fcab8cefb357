/*
 * seed.h: where every random choice of a training run gets its seed.
 *
 * All derive from the version's seed (automl_train's seed argument, 42 when
 * none is given, kept in automl.models.options), each for its purpose, so
 * that the same data, options and seed give the same model, and a trial can
 * be rerun alone from its recorded hyperparameters:
 *
 *   row sample when the rows exceed their share of the memory budget  seed_sample
 *   validation folds or holdout                             seed_validation
 *   rows kept out for the deployment gate (retraining)      seed_gate
 *   the search's proposals of configurations                seed_search
 *   the folds that choose the calibration                   seed_calibration
 *   each trial's learner: its "seed" hyperparameter          seed_learner
 *     (the same for every trial and fold; recorded with the trial), which
 *     the learner mixes with a constant of its own: gbdt seed * 7919 + 17
 *     (row subsamples, early-stopping rows), random forest seed * 104729 + 5
 *     and extra trees seed * 104729 + 3 (bootstrap rows, features, cuts)
 *   permutation importance's shuffles                       42 + the column's
 *     index, whatever the version's seed: the same shuffles for every version
 */
#ifndef AUTOML_SEED_H
#define AUTOML_SEED_H

#include "postgres.h"

static inline uint64
seed_sample(int seed)
{
	return (uint64) (uint32) seed;
}

static inline uint64
seed_validation(int seed)
{
	return (uint64) (uint32) seed;
}

static inline uint64
seed_gate(int seed)
{
	return (uint64) (uint32) seed ^ UINT64CONST(0x67617465);	/* "gate" */
}

static inline uint64
seed_search(int seed)
{
	return (uint64) (uint32) seed * 2654435761u + 1;
}

static inline uint64
seed_calibration(int seed)
{
	return (uint64) seed;
}

/* A learner's "seed" hyperparameter, within its range 0 .. 2^31 - 2. */
static inline double
seed_learner(int seed)
{
	return (double) ((uint32) seed % 2147483647u);
}

#endif							/* AUTOML_SEED_H */
