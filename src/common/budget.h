/*
 * budget.h: the memory budget of a training run, in one place.
 *
 * The limit is automl.train_memory, within the server's ceiling
 * automl.max_train_memory (a superuser's setting, or a role's granted SET on
 * it): the effective limit is the smaller of the two.
 *
 * A run (automl_train, automl_retrain, automl_evaluate) opens the budget on
 * its memory context; the budget then measures what that context and its
 * children have allocated (MemoryContextMemAllocated: the blocks taken from
 * malloc, so what the backend really holds for the run) wherever memory
 * grows: after the scan, after the binned copy, inside every fit (between
 * trees, and once its prepared matrix exists), after every trial, the
 * ensemble, the refit, calibration and importance. The largest of those
 * samples is the run's measured peak, kept in the version's record.
 *
 * How the limit is kept:
 *   - the scan keeps at most BUDGET_FRAME_SHARE of the limit as rows, each
 *     counted with BUDGET_ROW_OVERHEAD (a seeded reservoir sample past it,
 *     with a NOTICE), the rest being for the binned copy, the fits, the kept
 *     predictions and models;
 *   - the search starts no trial that the memory left cannot pay for (its
 *     learner's largest trial so far), and says so in a NOTICE;
 *   - a tree fit stops before it would grow past the limit (fit_should_stop
 *     in learn/learner.c, between trees) and its trial is discarded, like a
 *     fit that reaches the time budget;
 *   - the refit on every row is skipped (the validated models are stored)
 *     when the chosen trials' memory, scaled to every row, would not fit;
 *   - trials, fits and the refit keep BUDGET_TAIL_SHARE of the limit for
 *     what follows them; a refit still over the limit ends the call with an
 *     ERROR (budget_check) that says how much it held.
 * Not counted: the SPI batch of the scan (SCAN_BATCH_ROWS tuples, in SPI's
 * memory) and what malloc keeps beyond the blocks it hands out. Not
 * prevented: the first tree of a fit, whose working memory (histograms: up
 * to max_leaves x bins x features x 24 bytes) no check precedes; it is
 * measured, and the version's record shows it.
 */
#ifndef AUTOML_BUDGET_H
#define AUTOML_BUDGET_H

#include "postgres.h"

/* automl.train_memory and automl.max_train_memory (0: none), in megabytes. */
extern int	automl_train_memory_mb;
extern int	automl_max_train_memory_mb;

/*
 * The frame of scanned rows, with what the run keeps per row whatever its
 * columns (BUDGET_ROW_OVERHEAD bytes: the validation folds' row indices, the
 * trials' validation predictions that the ensemble may use, the refit's row
 * list), takes at most this share of the limit.
 */
#define BUDGET_FRAME_SHARE 0.25
#define BUDGET_ROW_OVERHEAD 160
/*
 * The trials, their fits and the refit keep this share of the limit free
 * for what follows them: calibration, the record, the model's bytes.
 */
#define BUDGET_TAIL_SHARE 0.1

/* The limit in force: automl.train_memory within automl.max_train_memory, in MB. */
extern int	budget_limit_mb(void);

/*
 * Opens the budget of a run whose memory is cxt and its children; says in a
 * NOTICE when automl.max_train_memory caps automl.train_memory. The budget
 * closes by itself when cxt is reset or deleted (on error too).
 */
extern void budget_begin(MemoryContext cxt);

/* Whether a run's budget is open. */
extern bool budget_active(void);

/* Samples the run's memory now (bytes), keeping the peak; 0 when no budget is open. */
extern Size budget_note(void);

/* The limit in bytes, and the peak measured so far (0 without an open budget). */
extern Size budget_limit_bytes(void);
/* What the trials, fits and refit may hold: the limit less BUDGET_TAIL_SHARE. */
extern Size budget_working_bytes(void);
extern Size budget_peak(void);

/*
 * A window over part of the run (a trial): budget_window_begin returns the
 * bytes held now, budget_window_peak the largest sample since.
 */
extern Size budget_window_begin(void);
extern Size budget_window_peak(void);

/*
 * The largest sample since the last call (or since the budget opened), and
 * starts the next such span at the memory held now: the fits' checks between
 * trees see the peak within the tree before (its histograms), not only what
 * is left after it.
 */
extern Size budget_recent_peak_take(void);

/* The most rows of row_bytes each that the scan keeps (at least min_rows). */
extern int64 budget_frame_rows(Size row_bytes, int64 min_rows);

/* An ERROR when the run is past its limit: step names what was being done. */
extern void budget_check(const char *step);

#endif
