/*
 * ensemble.c: greedy ensemble selection (Caruana et al., 2004), as
 * auto-sklearn and AutoGluon use it. Starting from nothing, each round adds
 * (with replacement) the trial whose predictions, averaged with those chosen
 * so far, give the best validation score; the weights are how often each
 * trial was chosen. The candidates are the best trials that kept their
 * validation predictions (out-of-fold under cross-validation).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "search/search.h"

#define ENSEMBLE_ROUNDS 25


bool
ensemble_select(const SearchResult *result, const MetricDef *metric, int n_classes,
				EnsembleChoice *choice)
{
	int		   *candidates = palloc(sizeof(int) * Max(result->n_trials, 1));
	int			n_candidates = 0;
	int		   *count;
	const Predictions *first;
	Predictions sum;
	Predictions trial_avg;
	int64		cells;
	int			rounds_done = 0;
	int			n_members = 0;
	double		best_loss = metric_loss(metric, result->trials[result->best].score);
	double		ensemble_loss = INFINITY;

	for (int t = 0; t < result->n_trials; t++)
	{
		if (result->trials[t].predictions != NULL)
			candidates[n_candidates++] = t;
	}
	if (n_candidates < 2)
		return false;
	first = result->trials[candidates[0]].predictions;
	cells = first->n * predictions_width(first);
	count = palloc0(sizeof(int) * n_candidates);
	sum = *first;
	sum.pred = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(cells, 1));
	memset(sum.pred, 0, sizeof(double) * Max(cells, 1));
	trial_avg = *first;
	trial_avg.pred = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(cells, 1));

	for (int round = 0; round < ENSEMBLE_ROUNDS; round++)
	{
		int			pick = -1;
		double		pick_loss = INFINITY;

		CHECK_FOR_INTERRUPTS();
		for (int c = 0; c < n_candidates; c++)
		{
			const double *p = result->trials[candidates[c]].predictions->pred;
			double		loss;

			for (int64 i = 0; i < cells; i++)
				trial_avg.pred[i] = (sum.pred[i] + p[i]) / (round + 1);
			loss = metric_loss(metric, metric_score(metric, &trial_avg));
			if (loss < pick_loss)
			{
				pick_loss = loss;
				pick = c;
			}
		}
		if (pick < 0)
			break;
		{
			const double *p = result->trials[candidates[pick]].predictions->pred;

			for (int64 i = 0; i < cells; i++)
				sum.pred[i] += p[i];
		}
		count[pick]++;
		rounds_done++;
		ensemble_loss = pick_loss;
	}

	for (int c = 0; c < n_candidates; c++)
		n_members += count[c] > 0;
	if (n_members < 2 || !(ensemble_loss < best_loss))
		return false;

	choice->n_members = n_members;
	choice->trial = palloc(sizeof(int) * n_members);
	choice->weight = palloc(sizeof(double) * n_members);
	n_members = 0;
	/* members best first */
	for (int c = 0; c < n_candidates; c++)
	{
		if (count[c] == 0)
			continue;
		choice->trial[n_members] = candidates[c];
		choice->weight[n_members] = (double) count[c] / rounds_done;
		n_members++;
	}
	for (int a = 1; a < n_members; a++)
	{
		for (int b = a; b > 0 && metric_loss(metric, result->trials[choice->trial[b]].score) <
			 metric_loss(metric, result->trials[choice->trial[b - 1]].score); b--)
		{
			int			t = choice->trial[b];
			double		w = choice->weight[b];

			choice->trial[b] = choice->trial[b - 1];
			choice->weight[b] = choice->weight[b - 1];
			choice->trial[b - 1] = t;
			choice->weight[b - 1] = w;
		}
	}
	for (int64 i = 0; i < cells; i++)
		sum.pred[i] /= rounds_done;
	choice->predictions = sum;
	choice->score = metric_score(metric, &sum);
	pfree(trial_avg.pred);
	pfree(count);
	pfree(candidates);
	return true;
}
