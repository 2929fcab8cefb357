/*
 * search.c: the budgeted search over learners and configurations.
 *
 * 1. Proven configurations first, in the order of portfolio[] below (the
 *    settings are in space.c).
 * 2. Then a local search per learner in the style of FLAML's cost-frugal
 *    search: from the learner's best configuration, a step in a random
 *    direction of the unit cube, and the opposite step when that did not
 *    help; the step halves after 2 x dimensions steps without gain, and the
 *    search restarts at a random point when it gets too small.
 * 3. The learner to try next is the one that has spent least, weighed by
 *    (1 + its rank among the learners)^2 and doubled for every 10 trials
 *    since its last gain (see choose_learner). Without a time budget
 *    (max_trials only) the seconds are replaced by a fixed cost per learner
 *    and trial, so the run does not depend on the clock and the seed decides
 *    everything.
 *
 * The time budget covers the whole automl_train call: the search stops
 * starting trials when the next one would eat into the time reserved for
 * refitting the best configurations on all rows, and a tree ensemble's fit
 * stops at that deadline (the trial is then discarded). The first trial
 * always finishes, so even a tiny budget gives a model.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "common/budget.h"
#include "common/pg_prng.h"
#include "common/subxact.h"
#include "common/seed.h"
#include "miscadmin.h"
#include "search/search.h"
#include "utils/memutils.h"

#define MAX_LEARNERS 8
#define KEEP_PREDICTIONS 12		/* best trials whose predictions the ensemble may use */
#define KEEP_FOLD_MODELS 4		/* best bagging trials (besides each learner's best) whose
								 * fold models are kept: k models each */
#define INITIAL_STEP 0.15
#define MIN_STEP 0.02

/*
 * The proven configurations, in the order they are tried: the linear model
 * (cheap, and sometimes best), then boosting, which wins most tabular
 * benchmarks, then the forests (slow on large data), then one more boosting
 * setting. config indexes space_default_config.
 */
static const struct
{
	const char *learner;		/* "linear": ridge or logistic */
	int			config;
}			portfolio[] = {
	{"linear", 0}, {"gbdt", 0}, {"gbdt", 1}, {"extra_trees", 0}, {"random_forest", 0}, {"gbdt", 2}
};
#define MAX_REPEATS 32
#define TRIAL_SECONDS_FLOOR 0.01
/* A learner this many trials past its last gain is done (a cheap one would fill the end). */
#define MAX_TRIALS_WITHOUT_GAIN 100
/* A gain smaller than this share of the loss is noise, not progress. */
#define GAIN_TOLERANCE 1e-6

typedef struct LearnerState
{
	LearnerSpace space;
	int			seed_index;		/* its "seed" hyperparameter, or -1 */
	int			n_trials;
	double		seconds;		/* all its trials */
	double		max_seconds;	/* its slowest trial */
	Size		max_bytes;		/* the most memory one of its trials took beyond what the run held */
	double		best_loss;		/* ever; INFINITY before a successful trial */
	int			since_improvement;	/* trials without a gain beyond GAIN_TOLERANCE */
	int			repeats;		/* proposals in a row that met an old configuration */
	bool		exhausted;

	/* local search */
	double	   *center_values;
	double		center_unit[SPACE_MAX_PARAMS];
	double		center_loss;
	double		step;
	int			steps_without_gain;
	bool		has_pending;
	double		pending[SPACE_MAX_PARAMS];
} LearnerState;

typedef struct SearchState
{
	const SearchRequest *req;
	LearnerState learners[MAX_LEARNERS];
	int			n_learners;
	Trial	   *trials;
	int			n_trials;
	int			max_trials_alloc;
	int			best;			/* index into trials, -1 before one succeeds */
	double		best_loss;
	pg_prng_state rng;
	bool		deterministic;
	bool		budget_exhausted;
	bool		memory_exhausted;	/* a trial was not started for want of memory */
	int			n_out_of_memory;	/* trials stopped at the memory budget */
	int64		n_all_rows;
	Predictions truth;			/* the validation rows' true values; pred unused */
} SearchState;

bool		automl_bag_fold_models = false;

double
seconds_now(void)
{
	return fit_clock();
}

bool
search_bags(const SearchRequest *req, const Learner *learner)
{
	return automl_bag_fold_models && req->validation->n_folds > 1 &&
		req->fixed_learner == NULL && learner->raw_inputs;
}


void
trial_hyperparams_write(const Trial *trial, JsonBuilder *json)
{
	json_begin_object(json);
	for (int i = 0; i < trial->learner->n_hyperparams; i++)
		json_key_number(json, trial->learner->hyperparams[i].name, trial->hyperparams[i]);
	json_end_object(json);
}

Jsonb *
trial_hyperparams(const Trial *trial)
{
	JsonBuilder json;

	json_begin(&json);
	for (int i = 0; i < trial->learner->n_hyperparams; i++)
		json_key_number(&json, trial->learner->hyperparams[i].name, trial->hyperparams[i]);
	return json_end(&json);
}

/*
 * Seconds to refit a trial's configuration on all rows: one fold's fit,
 * scaled by rows a little faster than linearly (deeper trees, longer sorts)
 * and padded by 30 %, since an overrun of the budget is worse than unused
 * seconds (measured: 4 refits on 36,000 rows took 1.5 x the linear estimate).
 */
double
refit_factor(double rows_ratio)
{
	return pow(Max(rows_ratio, 1.0), 1.15) * 1.3;
}

double
trial_refit_seconds(const Trial *trial, int n_folds, int64 n_all_rows)
{
	double		per_fit = trial->fit_seconds / Max(n_folds, 1);

	return per_fit * refit_factor((double) n_all_rows / Max(trial->rows_used, 1));
}

/* The seconds the final model would spend on the trial: its refit, none when it is bagged. */
static double
refit_estimate(const SearchState *st, const Trial *trial)
{
	if (search_bags(st->req, trial->learner))
		return 0.0;
	return trial_refit_seconds(trial, st->req->validation->n_folds, st->n_all_rows);
}

/*
 * When the search must stop starting trials: the budget, less a margin for
 * storing the model, less the refits of each learner's best trial (the
 * ensemble is likely to want them; the best alone when it is one learner).
 */
static double
search_deadline(const SearchState *st)
{
	const SearchRequest *req = st->req;
	double		reserve = 0.0;

	if (req->time_budget <= 0)
		return INFINITY;
	for (int l = 0; l < st->n_learners; l++)
	{
		const Trial *best_of_learner = NULL;

		for (int t = 0; t < st->n_trials; t++)
		{
			const Trial *trial = &st->trials[t];

			if (trial->learner != st->learners[l].space.learner || trial->status != TRIAL_OK)
				continue;
			if (best_of_learner == NULL ||
				metric_loss(req->metric, trial->score) < metric_loss(req->metric, best_of_learner->score))
				best_of_learner = trial;
		}
		if (best_of_learner != NULL)
			reserve += refit_estimate(st, best_of_learner);
	}
	return req->started + req->time_budget * 0.97 - 0.05 - reserve;
}

/* Frees the fold models a trial kept, the first fold's too unless keep_first. */
static void
free_trial_models(Trial *trial, bool keep_first)
{
	if (trial->fold_models != NULL)
	{
		for (int f = 1; f < trial->n_fold_models; f++)
			kept_model_free(trial->fold_models[f]);
		pfree(trial->fold_models);
		trial->fold_models = NULL;
	}
	if (!keep_first && trial->first_fold != NULL)
	{
		kept_model_free(trial->first_fold);
		trial->first_fold = NULL;
	}
}

/* Whether another trial of the same learner is better, or as good and earlier. */
static bool
beaten_within_learner(const SearchState *st, int t)
{
	const Trial *trial = &st->trials[t];
	double		loss = metric_loss(st->req->metric, trial->score);

	for (int u = 0; u < st->n_trials; u++)
	{
		const Trial *other = &st->trials[u];

		if (u != t && other->learner == trial->learner && other->status == TRIAL_OK &&
			metric_loss(st->req->metric, other->score) <= loss && (u < t || metric_loss(st->req->metric, other->score) < loss))
			return true;
	}
	return false;
}

/*
 * Among the trials that hold predictions (or, with fold_models, fold
 * models), the worst that another trial of its learner beats (each
 * learner's best is always kept), or -1. *n_holding counts the trials that
 * hold them, *n_beaten those of them so beaten.
 */
static int
worst_beaten_holder(const SearchState *st, bool fold_models, int *n_holding, int *n_beaten)
{
	int			worst = -1;
	double		worst_loss = -INFINITY;

	*n_holding = *n_beaten = 0;
	for (int t = 0; t < st->n_trials; t++)
	{
		const Trial *trial = &st->trials[t];
		double		loss;

		if (fold_models ? trial->fold_models == NULL : trial->predictions == NULL)
			continue;
		(*n_holding)++;
		if (!beaten_within_learner(st, t))
			continue;
		(*n_beaten)++;
		loss = metric_loss(st->req->metric, trial->score);
		if (loss >= worst_loss)
		{
			worst_loss = loss;
			worst = t;
		}
	}
	return worst;
}

/*
 * Keeps the predictions of at most KEEP_PREDICTIONS trials for the ensemble:
 * always each learner's best (an ensemble gains from different learners),
 * then the best of the rest. Of the bagging trials among them, at most
 * KEEP_FOLD_MODELS besides each learner's best keep their fold models (k
 * models each hold memory the search could use): the worst of the others
 * keeps its first fold's only, and is refitted should the ensemble want it.
 */
static void
drop_extra_predictions(SearchState *st)
{
	int			n_holding,
				n_beaten;
	int			worst = worst_beaten_holder(st, false, &n_holding, &n_beaten);

	if (n_holding > KEEP_PREDICTIONS && worst >= 0)
	{
		Predictions *p = st->trials[worst].predictions;

		pfree(p->pred);
		pfree(p);
		st->trials[worst].predictions = NULL;
		free_trial_models(&st->trials[worst], false);
	}
	worst = worst_beaten_holder(st, true, &n_holding, &n_beaten);
	if (n_beaten > KEEP_FOLD_MODELS && worst >= 0)
		free_trial_models(&st->trials[worst], true);
}

static bool
same_values(const Learner *learner, const double *a, const double *b)
{
	for (int i = 0; i < learner->n_hyperparams; i++)
	{
		if (a[i] != b[i])
			return false;
	}
	return true;
}

static bool
already_tried(const SearchState *st, const Learner *learner, const double *values)
{
	for (int t = 0; t < st->n_trials; t++)
	{
		if (st->trials[t].learner == learner && same_values(learner, st->trials[t].hyperparams, values))
			return true;
	}
	return false;
}

/*
 * Runs one trial. Errors inside a fit (out of memory, a numeric failure) fail
 * the trial, not the search: the fit runs in a subtransaction. Cancel and
 * statement_timeout end the whole call as usual.
 */
static Trial *
run_trial(SearchState *st, LearnerState *ls, const double *values, bool use_deadline)
{
	const SearchRequest *req = st->req;
	const Validation *v = req->validation;
	SubxactState subxact;
	Trial	   *trial;
	Predictions *pred;
	double	   *fold_scores = palloc(sizeof(double) * v->n_folds);
	double		started = seconds_now();
	double		deadline;
	volatile bool finished = false;
	bool		out_of_memory = false;
	bool		bags = search_bags(req, ls->space.learner);
	Model	  **kept = palloc0(sizeof(Model *) * v->n_folds);
	int			capped_rounds = 0;
	Size		held;

	if (st->n_trials == st->max_trials_alloc)
	{
		st->max_trials_alloc *= 2;
		st->trials = repalloc(st->trials, sizeof(Trial) * st->max_trials_alloc);
	}
	trial = &st->trials[st->n_trials++];
	memset(trial, 0, sizeof(Trial));
	trial->number = st->n_trials;
	trial->learner = ls->space.learner;
	trial->hyperparams = palloc(sizeof(double) * Max(trial->learner->n_hyperparams, 1));
	memcpy(trial->hyperparams, values, sizeof(double) * trial->learner->n_hyperparams);
	trial->rows_used = v->folds[0].n_train;
	trial->score = NAN;
	trial->score_std = NAN;

	/* the true values are shared by every trial; only the predictions are its own */
	pred = palloc(sizeof(Predictions));
	*pred = st->truth;
	pred->pred = MemoryContextAllocHuge(CurrentMemoryContext,
										sizeof(double) * Max(pred->n, 1) * predictions_width(pred));

	deadline = use_deadline ? search_deadline(st) : 0.0;
	if (!isfinite(deadline))
		deadline = 0.0;
	held = budget_window_begin();
	subxact = subxact_begin();
	PG_TRY();
	{
		finished = evaluate_config(req->td, v, trial->learner, trial->hyperparams, req->metric,
								   deadline, pred, fold_scores, kept, bags ? v->n_folds : 1,
								   !bags, &out_of_memory, &capped_rounds);
		subxact_commit(&subxact);
		trial->status = finished ? TRIAL_OK : out_of_memory ? TRIAL_OUT_OF_MEMORY : TRIAL_STOPPED;
		/* a capped trial is the configuration it fitted: its rounds so far */
		if (finished && capped_rounds > 0)
			trial->hyperparams[learner_hyperparam_index(trial->learner, "n_estimators")] = capped_rounds;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		error = subxact_abort(&subxact);	/* re-throws cancel */
		trial->status = TRIAL_FAILED;
		trial->error = error->message;
	}
	PG_END_TRY();
	trial->fit_seconds = seconds_now() - started;
	ls->n_trials++;
	ls->seconds += trial->fit_seconds;
	ls->max_seconds = Max(ls->max_seconds, trial->fit_seconds);
	if (budget_window_peak() > held)
		trial->memory = budget_window_peak() - held;
	ls->max_bytes = Max(ls->max_bytes, trial->memory);
	if (trial->status == TRIAL_OUT_OF_MEMORY)
	{
		st->n_out_of_memory++;
		trial->error = pstrdup("the fit outgrew automl.train_memory");
	}

	if (trial->status == TRIAL_OK)
	{
		double		mean = 0.0,
					var = 0.0;

		trial->score = metric_score(req->metric, pred);
		if (v->n_folds > 1)
		{
			for (int f = 0; f < v->n_folds; f++)
				mean += fold_scores[f] / v->n_folds;
			for (int f = 0; f < v->n_folds; f++)
				var += (fold_scores[f] - mean) * (fold_scores[f] - mean) / (v->n_folds - 1);
			trial->score_std = sqrt(var);
		}
		trial->predictions = pred;
		trial->first_fold = kept[0];
		if (bags)
		{
			trial->fold_models = kept;
			trial->n_fold_models = v->n_folds;
		}
		else
			pfree(kept);
		drop_extra_predictions(st);
	}
	else
	{
		pfree(pred->pred);
		pfree(pred);
		/* a fit that failed may have left the folds before it */
		for (int f = 0; f < v->n_folds; f++)
		{
			if (kept[f] != NULL)
				kept_model_free(kept[f]);
		}
		pfree(kept);
	}
	pfree(fold_scores);
	return trial;
}

/*
 * Halves the local search step after steps without gain; below MIN_STEP the
 * search restarts at a random point (the next trial) with the first step.
 */
static void
shrink_step(SearchState *st, LearnerState *ls)
{
	ls->step *= 0.5;
	ls->steps_without_gain = 0;
	if (ls->step < MIN_STEP)
	{
		for (int p = 0; p < ls->space.n_params; p++)
			ls->center_unit[p] = pg_prng_double(&st->rng);
		ls->center_loss = INFINITY;
		ls->step = INITIAL_STEP;
		ls->has_pending = false;
	}
}

/* Bookkeeping after a trial: bests, the local search center, the step. */
static void
learn_from_trial(SearchState *st, LearnerState *ls, const Trial *trial, const double *unit)
{
	double		loss = trial->status == TRIAL_OK ? metric_loss(st->req->metric, trial->score) : INFINITY;
	int			dims = Max(ls->space.n_params, 1);

	if (loss < st->best_loss || st->best < 0)
	{
		if (trial->status == TRIAL_OK)
		{
			st->best_loss = loss;
			st->best = trial->number - 1;
		}
	}
	if (loss < ls->best_loss - GAIN_TOLERANCE * fabs(ls->best_loss) || isinf(ls->best_loss))
		ls->since_improvement = 0;
	else
		ls->since_improvement++;
	if (loss < ls->best_loss)
		ls->best_loss = loss;
	ls->repeats = 0;

	if (loss < ls->center_loss || ls->center_values == NULL)
	{
		if (trial->status == TRIAL_OK || ls->center_values == NULL)
		{
			ls->center_loss = loss;
			ls->center_values = trial->hyperparams;
			memcpy(ls->center_unit, unit, sizeof(double) * SPACE_MAX_PARAMS);
			ls->steps_without_gain = 0;
			ls->has_pending = false;
			return;
		}
	}
	if (!ls->has_pending && ++ls->steps_without_gain >= 2 * dims)
		shrink_step(st, ls);
}

/* A standard normal draw (Box-Muller), for random directions. */
static double
normal_draw(pg_prng_state *rng)
{
	double		u1 = pg_prng_double(rng);
	double		u2 = pg_prng_double(rng);

	return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* The next configuration of ls's local search, into values and unit. */
static void
propose(SearchState *st, LearnerState *ls, double *values, double *unit)
{
	int			d = ls->space.n_params;

	memcpy(values, ls->center_values, sizeof(double) * ls->space.learner->n_hyperparams);
	if (isinf(ls->center_loss) && d > 0)
	{
		/* a restart: try the center itself */
		memcpy(unit, ls->center_unit, sizeof(double) * SPACE_MAX_PARAMS);
	}
	else if (ls->has_pending)
	{
		for (int p = 0; p < d; p++)
			unit[p] = ls->center_unit[p] - ls->step * ls->pending[p];
		ls->has_pending = false;
	}
	else
	{
		double		norm = 0.0;

		for (int p = 0; p < d; p++)
		{
			ls->pending[p] = normal_draw(&st->rng);
			norm += ls->pending[p] * ls->pending[p];
		}
		norm = sqrt(Max(norm, 1e-12));
		for (int p = 0; p < d; p++)
		{
			ls->pending[p] /= norm;
			unit[p] = ls->center_unit[p] + ls->step * ls->pending[p];
		}
		ls->has_pending = true;
	}
	for (int p = 0; p < d; p++)
		unit[p] = Min(Max(unit[p], 0.0), 1.0);
	space_from_unit(&ls->space, unit, values);
}

/*
 * Seconds a new trial of the learner needs before the deadline: its slowest
 * trial so far (cautious: a trial cut at the deadline is wasted), plus the
 * refit on all rows it would need if it won.
 */
static double
estimated_trial_seconds(const SearchState *st, const LearnerState *ls)
{
	const Validation *v = st->req->validation;

	if (search_bags(st->req, ls->space.learner))
		return ls->max_seconds;
	return ls->max_seconds *
		(1.0 + refit_factor((double) st->n_all_rows / Max(v->folds[0].n_train, 1)) / v->n_folds);
}

/*
 * Whether the memory the run does not hold yet pays for another trial of ls:
 * its largest trial so far, beyond what the run held before it (before its
 * first, yes: a fit stops at the limit). Remembers a refusal for the NOTICE.
 */
static bool
memory_allows(SearchState *st, const LearnerState *ls)
{
	if (budget_note() + ls->max_bytes <= budget_working_bytes())
		return true;
	st->memory_exhausted = true;
	return false;
}

/* The learner of a portfolio entry, or NULL when the search does not use it. */
static LearnerState *
portfolio_learner(SearchState *st, const char *name)
{
	for (int l = 0; l < st->n_learners; l++)
	{
		const char *learner = st->learners[l].space.learner->name;

		if (strcmp(learner, name) == 0 ||
			(strcmp(name, "linear") == 0 && (strcmp(learner, "ridge") == 0 || strcmp(learner, "logistic") == 0)))
			return &st->learners[l];
	}
	return NULL;
}

/*
 * The learner to try next, or NULL when none fits in the time left. Each
 * learner's spending (seconds, or trials x a fixed cost without a clock) is
 * weighed by (1 + its rank among the learners)^2 and doubled for every 10
 * trials without a gain; the lowest goes next. So the best learner gets most
 * of the time, the others a shrinking share, and a stalled one ever less.
 */
static LearnerState *
choose_learner(SearchState *st, double now, double deadline)
{
	LearnerState *chosen = NULL;
	double		chosen_priority = INFINITY;

	for (int l = 0; l < st->n_learners; l++)
	{
		LearnerState *ls = &st->learners[l];
		double		spent;
		double		priority;
		int			rank = 0;

		if (ls->center_values == NULL || isinf(ls->best_loss) || ls->exhausted ||
			ls->space.n_params == 0 || ls->since_improvement >= MAX_TRIALS_WITHOUT_GAIN)
			continue;
		if (!st->deterministic && now + estimated_trial_seconds(st, ls) > deadline)
			continue;
		if (!memory_allows(st, ls))
			continue;
		for (int o = 0; o < st->n_learners; o++)
		{
			if (o != l && st->learners[o].best_loss < ls->best_loss)
				rank++;
		}
		/* a floor per trial, so that a learner of millisecond fits cannot take hundreds of trials */
		spent = st->deterministic ? ls->n_trials * ls->space.relative_cost :
			ls->seconds + TRIAL_SECONDS_FLOOR * ls->n_trials;
		priority = (spent + 1e-3) * (1 + rank) * (1 + rank) *
			pow(2.0, Min(ls->since_improvement, 300) / 10.0);
		if (priority < chosen_priority)
		{
			chosen_priority = priority;
			chosen = ls;
		}
	}
	return chosen;
}

static bool
out_of_trials(const SearchState *st)
{
	return st->req->max_trials > 0 && st->n_trials >= st->req->max_trials;
}

static void
report(const SearchState *st, const char *phase)
{
	double		left = st->req->time_budget > 0 ?
		st->req->started + st->req->time_budget - seconds_now() : NAN;

	progress_update(st->n_trials, st->req->metric->name,
					st->best >= 0 ? st->trials[st->best].score : NAN, left, phase);
}

static void
set_seed(const LearnerState *ls, const SearchRequest *req, double *values)
{
	if (ls->seed_index >= 0)
		values[ls->seed_index] = seed_learner(req->seed);
}

SearchResult
run_search(const SearchRequest *req)
{
	SearchState st;
	SearchResult result;
	LearnerSpace spaces[MAX_LEARNERS];
	double		unit[SPACE_MAX_PARAMS];

	memset(&st, 0, sizeof(st));
	st.req = req;
	st.best = -1;
	st.best_loss = INFINITY;
	st.deterministic = req->time_budget <= 0;
	st.max_trials_alloc = 64;
	st.trials = palloc(sizeof(Trial) * st.max_trials_alloc);
	st.n_all_rows = req->td->frame->n_rows;
	st.truth = predictions_for(req->td, req->validation);
	pg_prng_seed(&st.rng, seed_search(req->seed));

	if (req->fixed_learner != NULL)
	{
		memset(&spaces[0], 0, sizeof(LearnerSpace));
		spaces[0].learner = req->fixed_learner;
		st.n_learners = 1;
	}
	else
		st.n_learners = space_learners(req->td->task, req->algorithms, req->validation->folds[0].n_train,
									   spaces, MAX_LEARNERS);
	for (int l = 0; l < st.n_learners; l++)
	{
		LearnerState *ls = &st.learners[l];

		ls->space = spaces[l];
		ls->seed_index = learner_hyperparam_index(ls->space.learner, "seed");
		ls->best_loss = INFINITY;
		ls->center_loss = INFINITY;
		ls->step = INITIAL_STEP;
	}

	if (req->fixed_learner != NULL)
	{
		/* hyperparams given: one fit, no deadline */
		run_trial(&st, &st.learners[0], req->fixed_values, false);
		memset(unit, 0, sizeof(unit));
		learn_from_trial(&st, &st.learners[0], &st.trials[0], unit);
	}
	else
	{
		int			max_hyperparams = 1;
		double	   *values;

		for (int l = 0; l < st.n_learners; l++)
			max_hyperparams = Max(max_hyperparams, st.learners[l].space.learner->n_hyperparams);
		values = palloc(sizeof(double) * max_hyperparams);

		/* 1. the portfolio, in its order */
		for (int entry = 0; entry < (int) lengthof(portfolio) && !st.budget_exhausted; entry++)
		{
			LearnerState *ls = portfolio_learner(&st, portfolio[entry].learner);
			Trial	   *trial;
			double		now = seconds_now();

			if (out_of_trials(&st))
			{
				st.budget_exhausted = true;
				break;
			}
			if (ls == NULL ||
				!space_default_config(&ls->space, req->td->task, req->validation->folds[0].n_train,
									  req->td->features->n_columns, portfolio[entry].config, values))
				continue;
			set_seed(ls, req, values);
			if (st.n_trials > 0 && !st.deterministic && now >= search_deadline(&st))
			{
				st.budget_exhausted = true;
				break;
			}
			/* a learner known to be too slow or too large for what is left is skipped */
			if (st.n_trials > 0 && !st.deterministic &&
				now + estimated_trial_seconds(&st, ls) > search_deadline(&st))
				continue;
			if (st.n_trials > 0 && !memory_allows(&st, ls))
				continue;
			space_to_unit(&ls->space, values, unit);
			trial = run_trial(&st, ls, values, st.n_trials > 0);
			learn_from_trial(&st, ls, trial, unit);
			report(&st, "portfolio");
		}

		/* 2. local search, learner by learner */
		while (!st.budget_exhausted && !out_of_trials(&st))
		{
			double		now = seconds_now();
			double		deadline = search_deadline(&st);
			LearnerState *ls;
			Trial	   *trial;

			CHECK_FOR_INTERRUPTS();
			if (now >= deadline)
				break;
			ls = choose_learner(&st, now, deadline);
			if (ls == NULL)
				break;
			propose(&st, ls, values, unit);
			set_seed(ls, req, values);
			if (already_tried(&st, ls->space.learner, values))
			{
				/* rounding met an old configuration: a step without gain, and no trial */
				if (!ls->has_pending && ++ls->steps_without_gain >= 2 * ls->space.n_params)
					shrink_step(&st, ls);
				if (++ls->repeats > MAX_REPEATS)
					ls->exhausted = true;
				continue;
			}
			trial = run_trial(&st, ls, values, true);
			learn_from_trial(&st, ls, trial, unit);
			report(&st, "search");
		}
	}

	if (st.memory_exhausted || st.n_out_of_memory > 0)
		ereport(NOTICE,
				(errmsg("the search ran %d trials: %s",
						st.n_trials, st.n_out_of_memory > 0
						? "trials that outgrew automl.train_memory were stopped and are not used"
						: "further trials would not fit in automl.train_memory"),
				 errdetail("The limit is %d MB; the run held %zu MB at most.",
						   budget_limit_mb(), budget_peak() / (1024 * 1024)),
				 errhint("Raise automl.train_memory (within automl.max_train_memory), or train on fewer rows.")));
	if (st.best < 0)
	{
		const char *why = "no trial finished";

		for (int t = 0; t < st.n_trials; t++)
		{
			if (st.trials[t].status == TRIAL_FAILED || st.trials[t].status == TRIAL_OUT_OF_MEMORY)
			{
				why = st.trials[t].error;
				break;
			}
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no configuration could be trained: %s", why)));
	}
	result.n_trials = st.n_trials;
	result.trials = st.trials;
	result.best = st.best;
	result.seconds = seconds_now() - req->started;
	return result;
}
