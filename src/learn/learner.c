/*
 * learner.c: the table of learners.
 */
#include "postgres.h"

#include <time.h>

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

double		learner_deadline = 0.0;
double		learner_fit_started = 0.0;
double		learner_followup_factor = 0.0;
bool		learner_deadline_hit = false;

bool
learner_past_deadline(void)
{
	struct timespec ts;
	double		now;

	if (learner_deadline <= 0.0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec + ts.tv_nsec * 1e-9;
	if (now + (now - learner_fit_started) * learner_followup_factor < learner_deadline)
		return false;
	learner_deadline_hit = true;
	return true;
}

const char *
task_name(Task task)
{
	return task == TASK_REGRESSION ? "regression" : "classification";
}

