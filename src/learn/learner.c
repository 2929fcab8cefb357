/*
 * learner.c: the table of learners.
 */
#include "postgres.h"

#include <time.h>

#include "common/budget.h"
#include "learn/learner.h"

static const Learner *const all_learners[] = {
	&ridge_learner,
	&logistic_learner,
	&gbdt_learner,
	&random_forest_learner,
	&extra_trees_learner,
};

const Learner *
learner_find(const char *name)
{
	for (size_t i = 0; i < lengthof(all_learners); i++)
	{
		if (strcmp(all_learners[i]->name, name) == 0)
			return all_learners[i];
	}
	return NULL;
}

int
learner_hyperparam_index(const Learner *learner, const char *name)
{
	for (int i = 0; i < learner->n_hyperparams; i++)
	{
		if (strcmp(learner->hyperparams[i].name, name) == 0)
			return i;
	}
	return -1;
}

const char *
learner_names(void)
{
	return "linear (ridge for regression, logistic for classification), gbdt, random_forest, extra_trees";
}

const Learner *
learner_default_for(Task task)
{
	return task == TASK_REGRESSION ? &ridge_learner : &logistic_learner;
}

double
fit_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool
fit_should_stop(FitContext *ctx)
{
	double		now;
	Size		bytes = budget_note();

	if (ctx != NULL && budget_active())
	{
		Size		recent = budget_recent_peak_take();	/* within the last tree too */
		Size		step,
					growth;

		if (ctx->first_bytes == 0)
			ctx->first_bytes = ctx->last_bytes = bytes;
		step = recent > ctx->last_bytes ? recent - ctx->last_bytes : 0;
		ctx->max_step = Max(ctx->max_step, step);
		step = ctx->max_step;
		growth = bytes > ctx->first_bytes ? bytes - ctx->first_bytes : 0;
		ctx->last_bytes = bytes;
		if (bytes + step + growth > budget_working_bytes())
		{
			ctx->stopped = true;
			ctx->out_of_memory = true;
			return true;
		}
	}
	if (ctx == NULL || ctx->deadline <= 0.0)
		return false;
	now = fit_clock();
	if (now + (now - ctx->started) * ctx->followup_factor < ctx->deadline)
		return false;
	ctx->stopped = true;
	return true;
}

const char *
task_name(Task task)
{
	return task == TASK_REGRESSION ? "regression" : "classification";
}
