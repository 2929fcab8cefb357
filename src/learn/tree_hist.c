/*
 * tree_hist.c: histograms of a node's rows, summed per bin of every feature, over
 * worker threads that run only arithmetic.
 */
#include "postgres.h"

#include <math.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "learn/tree.h"
#include "miscadmin.h"
#include "utils/memutils.h"

/* ---- histograms ---- */

/*
 * Adds rows[0..n) into hist for the listed features (all of them when
 * features is NULL). Row-major bins make each row's bins one contiguous read;
 * the histograms, a few hundred kilobytes, stay in cache. Pure arithmetic:
 * this runs in worker threads too, so it calls no PostgreSQL function.
 */
static void
accumulate_rows(const BinnedData *bd, const HistLayout *layout, const int *features, int n_features,
				const int64 *rows, int64 n, const double *g, const double *h, int C, double *hist)
{
	int			d = bd->n_features;
	int			E = layout->entry;
	const int  *offset = layout->offset;

	if (C == 1 && features == NULL)
	{
		for (int64 i = 0; i < n; i++)
		{
			int64		r = rows[i];
			const uint8 *br = bd->bins + (size_t) r * d;
			double		gi = g[r];
			double		hi = h[r];

			for (int f = 0; f < d; f++)
			{
				double	   *e = hist + (size_t) (offset[f] + br[f]) * 3;

				e[0] += gi;
				e[1] += hi;
				e[2] += 1.0;
			}
		}
		return;
	}
	for (int64 i = 0; i < n; i++)
	{
		int64		r = rows[i];
		const uint8 *br = bd->bins + (size_t) r * d;
		const double *gr = g + r * C;

		for (int k = 0; k < n_features; k++)
		{
			int			f = features ? features[k] : k;
			double	   *e = hist + (size_t) (offset[f] + br[f]) * E;

			for (int c = 0; c < C; c++)
				e[c] += gr[c];
			e[C] += h[r];
			e[C + 1] += 1.0;
		}
	}
}

/*
 * One channel, feature by feature (LightGBM's column-wise histograms): the
 * node's gradients gathered in its row order once, then each feature's
 * histogram, a few kilobytes that stay in the L1 cache, from its own bins.
 * Features first..last step by stride: threads take every stride-th.
 */
static void
accumulate_columns(const BinnedData *bd, const HistLayout *layout, const int64 *rows, int64 n,
				   const double *g_ordered, const double *h_ordered, int first, int stride,
				   double *hist)
{
	int			f = first;

	/* four features a pass: each row's index and gradients are read once for four */
	for (; f + 3 * stride < bd->n_features; f += 4 * stride)
	{
		const uint8 *c0 = bd->columns + (size_t) f * bd->n_rows;
		const uint8 *c1 = c0 + (size_t) stride * bd->n_rows;
		const uint8 *c2 = c1 + (size_t) stride * bd->n_rows;
		const uint8 *c3 = c2 + (size_t) stride * bd->n_rows;
		double	   *e0 = hist + (size_t) layout->offset[f] * 3;
		double	   *e1 = hist + (size_t) layout->offset[f + stride] * 3;
		double	   *e2 = hist + (size_t) layout->offset[f + 2 * stride] * 3;
		double	   *e3 = hist + (size_t) layout->offset[f + 3 * stride] * 3;

		for (int64 i = 0; i < n; i++)
		{
			int64		r = rows[i];
			double		gi = g_ordered[i];
			double		hi = h_ordered[i];
			double	   *s0 = e0 + c0[r] * 3;
			double	   *s1 = e1 + c1[r] * 3;
			double	   *s2 = e2 + c2[r] * 3;
			double	   *s3 = e3 + c3[r] * 3;

			s0[0] += gi;
			s0[1] += hi;
			s0[2] += 1.0;
			s1[0] += gi;
			s1[1] += hi;
			s1[2] += 1.0;
			s2[0] += gi;
			s2[1] += hi;
			s2[2] += 1.0;
			s3[0] += gi;
			s3[1] += hi;
			s3[2] += 1.0;
		}
	}
	for (; f < bd->n_features; f += stride)
	{
		const uint8 *col = bd->columns + (size_t) f * bd->n_rows;
		double	   *e = hist + (size_t) layout->offset[f] * 3;

		for (int64 i = 0; i < n; i++)
		{
			double	   *slot = e + col[rows[i]] * 3;

			slot[0] += g_ordered[i];
			slot[1] += h_ordered[i];
			slot[2] += 1.0;
		}
	}
}

typedef struct ColumnWorker
{
	const BinnedData *bd;
	const HistLayout *layout;
	const int64 *rows;
	int64		n;
	const double *g_ordered;
	const double *h_ordered;
	int			first;
	int			stride;
	double	   *hist;			/* shared: each worker writes its own features' part */
} ColumnWorker;

static void *
column_worker_main(void *arg)
{
	ColumnWorker *w = arg;

	accumulate_columns(w->bd, w->layout, w->rows, w->n, w->g_ordered, w->h_ordered, w->first,
					   w->stride, w->hist);
	return NULL;
}

/*
 * One channel and every feature: the features shared among the threads, so
 * that each writes its own features' histograms and nothing is added up after.
 */
static void
build_columns(const BinnedData *bd, const HistLayout *layout, const int64 *rows, int64 n_rows,
			  const double *g, const double *h, double *hist, TreeThreads *threads, int n_threads)
{
	double	   *g_ordered = threads->g_ordered;
	double	   *h_ordered = threads->h_ordered;
	ColumnWorker workers[TREE_MAX_THREADS];
	pthread_t	ids[TREE_MAX_THREADS];
	bool		started[TREE_MAX_THREADS] = {false};
	sigset_t	all_signals,
				saved;

	for (int64 i = 0; i < n_rows; i++)
	{
		g_ordered[i] = g[rows[i]];
		h_ordered[i] = h[rows[i]];
	}
	n_threads = Min(n_threads, bd->n_features);
	sigfillset(&all_signals);
	pthread_sigmask(SIG_BLOCK, &all_signals, &saved);
	for (int t = 1; t < n_threads; t++)
	{
		ColumnWorker *w = &workers[t];

		w->bd = bd;
		w->layout = layout;
		w->rows = rows;
		w->n = n_rows;
		w->g_ordered = g_ordered;
		w->h_ordered = h_ordered;
		w->first = t;
		w->stride = n_threads;
		w->hist = hist;
		started[t] = pthread_create(&ids[t], NULL, column_worker_main, w) == 0;
		if (!started[t])
			column_worker_main(w);	/* no thread: do its share here */
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	accumulate_columns(bd, layout, rows, n_rows, g_ordered, h_ordered, 0, Max(n_threads, 1), hist);
	for (int t = 1; t < n_threads; t++)
	{
		if (started[t])
			pthread_join(ids[t], NULL);
	}
}

typedef struct HistWorker
{
	const BinnedData *bd;
	const HistLayout *layout;
	const int  *features;
	int			n_features;
	const int64 *rows;
	int64		n;
	const double *g;
	const double *h;
	int			C;
	double	   *hist;			/* private, zeroed by the caller */
} HistWorker;

static void *
hist_worker_main(void *arg)
{
	HistWorker *w = arg;

	accumulate_rows(w->bd, w->layout, w->features, w->n_features, w->rows, w->n,
					w->g, w->h, w->C, w->hist);
	return NULL;
}

/* Below this many rows a node's histogram is not worth a thread. */
#define THREAD_MIN_ROWS 4000

void
tree_build_histogram(const BinnedData *bd, const HistLayout *layout, const int *features, int n_features,
				const int64 *rows, int64 n_rows, const double *g, const double *h, int C, double *hist,
				TreeThreads *threads)
{
	int			E = layout->entry;
	int			n_threads = threads ? Min(threads->n_threads, (int) (n_rows / THREAD_MIN_ROWS) + 1) : 1;
	bool		all = (n_features == bd->n_features);

	for (int k = 0; k < n_features; k++)
	{
		int			f = all ? k : features[k];

		memset(hist + (size_t) layout->offset[f] * E, 0, sizeof(double) * bd->n_bins[f] * E);
	}
	if (C == 1 && all && threads != NULL)
	{
		build_columns(bd, layout, rows, n_rows, g, h, hist, threads, n_threads);
		return;
	}
	if (n_threads <= 1)
	{
		accumulate_rows(bd, layout, all ? NULL : features, n_features, rows, n_rows, g, h, C, hist);
		return;
	}

	/* the main thread takes the first share; workers the others, into private histograms */
	{
		HistWorker	workers[TREE_MAX_THREADS];
		pthread_t	ids[TREE_MAX_THREADS];
		bool		started[TREE_MAX_THREADS] = {false};
		int64		share = (n_rows + n_threads - 1) / n_threads;
		size_t		size = (size_t) layout->total_bins * E;
		sigset_t	all_signals,
					saved;

		/* workers must never take a signal meant for the backend */
		sigfillset(&all_signals);
		pthread_sigmask(SIG_BLOCK, &all_signals, &saved);
		for (int t = 1; t < n_threads; t++)
		{
			HistWorker *w = &workers[t];

			w->bd = bd;
			w->layout = layout;
			w->features = all ? NULL : features;
			w->n_features = n_features;
			w->rows = rows + Min(n_rows, t * share);
			w->n = Max(0, Min(n_rows, (t + 1) * share) - t * share);
			w->g = g;
			w->h = h;
			w->C = C;
			w->hist = threads->buffers[t];
			memset(w->hist, 0, sizeof(double) * size);
			started[t] = pthread_create(&ids[t], NULL, hist_worker_main, w) == 0;
			if (!started[t])
				hist_worker_main(w);	/* no thread: do its share here */
		}
		pthread_sigmask(SIG_SETMASK, &saved, NULL);

		accumulate_rows(bd, layout, all ? NULL : features, n_features, rows, Min(n_rows, share),
						g, h, C, hist);
		for (int t = 1; t < n_threads; t++)
		{
			if (started[t])
				pthread_join(ids[t], NULL);
			for (int k = 0; k < n_features; k++)
			{
				int			f = all ? k : features[k];
				size_t		from = (size_t) layout->offset[f] * E;
				size_t		to = from + (size_t) bd->n_bins[f] * E;

				for (size_t j = from; j < to; j++)
					hist[j] += workers[t].hist[j];
			}
		}
	}
}

/* ---- threads ---- */

int			automl_threads = 2;
int			automl_max_threads = 0;

/*
 * The threads a training uses: automl.threads (0: one per core), within
 * automl.max_threads when that is set.
 */
int
tree_thread_count(void)
{
	int			wanted = automl_threads > 0 ? automl_threads : (int) sysconf(_SC_NPROCESSORS_ONLN);

	if (automl_max_threads > 0)
		wanted = Min(wanted, automl_max_threads);
	return Max(1, Min(wanted, TREE_MAX_THREADS));
}

TreeThreads *
tree_threads_create(const BinnedData *bd, int n_channels)
{
	TreeThreads *threads = palloc0(sizeof(TreeThreads));
	int			total_bins = 0;

	threads->n_threads = tree_thread_count();
	if (bd->n_rows < 2 * THREAD_MIN_ROWS)
		threads->n_threads = 1;	/* no node is large enough to share: no buffers */
	for (int f = 0; f < bd->n_features; f++)
		total_bins += bd->n_bins[f];
	/* a node's gradients in its row order, for column-wise histograms of one channel */
	if (n_channels == 1)
	{
		threads->g_ordered = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(bd->n_rows, 1));
		threads->h_ordered = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(bd->n_rows, 1));
	}
	/* each worker gets a private histogram, allocated here on the main thread */
	for (int t = 1; t < threads->n_threads; t++)
		threads->buffers[t] = MemoryContextAllocHuge(CurrentMemoryContext,
													 sizeof(double) * total_bins * ENTRY(n_channels));
	return threads;
}
