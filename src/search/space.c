/*
 * space.c: where the search looks. Each learner has a few hyper-parameters
 * worth tuning, with ranges (log-scaled where the effect is multiplicative),
 * and a short list of proven configurations tried before any search: the
 * library defaults first, then settings that do well across the AutoML
 * benchmark's tables for LightGBM-style boosting (as in FLAML's and
 * AutoGluon's portfolios). The rest of the hyper-parameters stay at the
 * learner's defaults.
 */
#include "postgres.h"

#include <math.h>

#include "search/search.h"

/* Early stopping inside gbdt needs this many rows; fewer and n_estimators is searched. */
#define GBDT_EARLY_STOPPING_ROWS 10000

/* The position of a hyperparameter the space names; the learner must have it. */
static int
hyperparam_index(const Learner *learner, const char *name)
{
	int			i = learner_hyperparam_index(learner, name);

	if (i < 0)
		elog(ERROR, "learner %s has no hyperparameter %s", learner->name, name);
	return i;
}

static void
add_param(LearnerSpace *space, const char *name, double low, double high, bool log_scale)
{
	SearchParam *p = &space->params[space->n_params++];

	Assert(space->n_params <= SPACE_MAX_PARAMS);
	p->index = hyperparam_index(space->learner, name);
	p->low = low;
	p->high = high;
	p->log_scale = log_scale;
}

static bool
wanted(List *algorithms, const char *name, const char *alias)
{
	ListCell   *lc;

	if (algorithms == NIL)
		return true;
	foreach(lc, algorithms)
	{
		if (strcmp(lfirst(lc), name) == 0 || (alias && strcmp(lfirst(lc), alias) == 0))
			return true;
	}
	return false;
}

int
space_learners(Task task, List *algorithms, int64 n_train_rows, LearnerSpace *out, int max_out)
{
	int			n = 0;
	LearnerSpace *s;

	Assert(max_out >= 4);
	if (task == TASK_REGRESSION && wanted(algorithms, "ridge", "linear"))
	{
		s = &out[n++];
		memset(s, 0, sizeof(*s));
		s->learner = &ridge_learner;
		s->relative_cost = 1;
		add_param(s, "alpha", 1e-4, 1e3, true);
	}
	if (task == TASK_CLASSIFICATION && wanted(algorithms, "logistic", "linear"))
	{
		s = &out[n++];
		memset(s, 0, sizeof(*s));
		s->learner = &logistic_learner;
		s->relative_cost = 1;
		add_param(s, "C", 1e-3, 1e3, true);
	}
	if (wanted(algorithms, "gbdt", NULL))
	{
		s = &out[n++];
		memset(s, 0, sizeof(*s));
		s->learner = &gbdt_learner;
		s->relative_cost = 5;
		add_param(s, "learning_rate", 0.01, 0.3, true);
		add_param(s, "max_leaves", 4, 256, true);
		add_param(s, "min_samples_leaf", 2, 128, true);
		add_param(s, "l2_regularization", 1e-3, 100, true);
		add_param(s, "subsample", 0.5, 1.0, false);
		add_param(s, "colsample", 0.4, 1.0, false);
		if (n_train_rows < GBDT_EARLY_STOPPING_ROWS)
			add_param(s, "n_estimators", 10, 2000, true);
	}
	if (wanted(algorithms, "random_forest", NULL))
	{
		s = &out[n++];
		memset(s, 0, sizeof(*s));
		s->learner = &random_forest_learner;
		s->relative_cost = 8;
		add_param(s, "max_features", 0.05, 1.0, true);
		add_param(s, "min_samples_leaf", 1, 32, true);
	}
	if (wanted(algorithms, "extra_trees", NULL))
	{
		s = &out[n++];
		memset(s, 0, sizeof(*s));
		s->learner = &extra_trees_learner;
		s->relative_cost = 4;
		add_param(s, "max_features", 0.05, 1.0, true);
		add_param(s, "min_samples_leaf", 1, 32, true);
	}
	return n;
}

static void
set(const LearnerSpace *space, double *values, const char *name, double value)
{
	values[hyperparam_index(space->learner, name)] = value;
}

bool
space_default_config(const LearnerSpace *space, Task task, int64 n_train_rows, int n_inputs,
					 int i, double *values)
{
	const Learner *learner = space->learner;
	bool		early_stopping = n_train_rows >= GBDT_EARLY_STOPPING_ROWS;

	for (int h = 0; h < learner->n_hyperparams; h++)
		values[h] = learner->hyperparams[h].default_value;

	if (learner == &gbdt_learner)
	{
		/* With early stopping the number of rounds finds itself; without, it is part of the setting. */
		switch (i)
		{
			case 0:				/* LightGBM's defaults */
				set(space, values, "n_estimators", early_stopping ? 2000 : 100);
				return true;
			case 1:				/* slower, smaller trees, row and column sampling */
				set(space, values, "learning_rate", 0.05);
				set(space, values, "max_leaves", 15);
				set(space, values, "min_samples_leaf", 10);
				set(space, values, "subsample", 0.8);
				set(space, values, "colsample", 0.8);
				set(space, values, "n_estimators", early_stopping ? 2000 : 300);
				return true;
			case 2:				/* larger trees, regularised */
				set(space, values, "learning_rate", 0.03);
				set(space, values, "max_leaves", 63);
				set(space, values, "min_samples_leaf", 30);
				set(space, values, "l2_regularization", 1.0);
				set(space, values, "colsample", 0.6);
				set(space, values, "n_estimators", early_stopping ? 3000 : 400);
				return true;
			default:
				return false;
		}
	}
	if (learner == &random_forest_learner || learner == &extra_trees_learner)
	{
		/* scikit-learn's defaults: sqrt(inputs) per split for classes, all for regression */
		if (i != 0)
			return false;
		set(space, values, "max_features",
			task == TASK_REGRESSION ? 1.0 : Min(1.0, sqrt((double) n_inputs) / Max(n_inputs, 1)));
		return true;
	}
	return i == 0;				/* linear: the library default */
}

void
space_to_unit(const LearnerSpace *space, const double *values, double *unit)
{
	for (int p = 0; p < space->n_params; p++)
	{
		const SearchParam *sp = &space->params[p];
		double		v = Min(Max(values[sp->index], sp->low), sp->high);

		unit[p] = sp->log_scale ? log(v / sp->low) / log(sp->high / sp->low)
			: (v - sp->low) / (sp->high - sp->low);
	}
}

void
space_from_unit(const LearnerSpace *space, const double *unit, double *values)
{
	for (int p = 0; p < space->n_params; p++)
	{
		const SearchParam *sp = &space->params[p];
		const HyperparamDef *def = &space->learner->hyperparams[sp->index];
		double		u = Min(Max(unit[p], 0.0), 1.0);
		double		v = sp->log_scale ? sp->low * exp(u * log(sp->high / sp->low))
			: sp->low + u * (sp->high - sp->low);

		if (def->is_integer)
			v = round(v);
		values[sp->index] = Min(Max(v, def->min_value), def->max_value);
	}
}
