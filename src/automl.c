/*
 * automl.c: the module's entry point and its settings.
 */
#include "postgres.h"

#include <limits.h>

#include "common/budget.h"
#include "data/frame.h"
#include "fmgr.h"
#include "learn/tree.h"
#include "prep/prep.h"
#include "search/search.h"
#include "serve/log.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static char *automl_deleting = NULL;

void
_PG_init(void)
{
	/*
	 * 1 GB a training by default: enough for every learner on a few hundred
	 * thousand rows of tens of columns (forests stopped at 256 MB on 200,000
	 * rows of 20), and ten sessions training at once hold at most 10 GB. The
	 * server's ceiling, automl.max_train_memory (4 GB by default), is a superuser's (or a role granted SET on it): an ordinary
	 * role raises its own limit only up to it. See common/budget.h.
	 */
	DefineCustomIntVariable("automl.train_memory",
							"Memory that one training may hold, within automl.max_train_memory.",
							"Rows past a quarter of it are sampled (seeded reservoir); trials it cannot pay for are not run.",
							&automl_train_memory_mb,
							1024, 1, INT_MAX / 2,
							PGC_USERSET, GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("automl.max_train_memory",
							"The most memory one training may hold, whatever automl.train_memory says (0: no limit).",
							"Only superusers, and roles granted SET on it, change it.",
							&automl_max_train_memory_mb,
							4096, 0, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("automl.keep_id_columns",
							 "Keep columns that look like identifiers as features.",
							 "By default a column whose every value is distinct is dropped.",
							 &automl_keep_id_columns,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	/*
	 * Two by default, like max_parallel_workers_per_gather: ten sessions
	 * training at once start twenty threads, not ten per core. The server's
	 * ceiling, automl.max_threads, is a superuser's (or a role granted SET on it).
	 */
	DefineCustomIntVariable("automl.threads",
							"Threads that build tree histograms during training (0: one per core), within automl.max_threads.",
							"They run only arithmetic; everything else stays on the backend's thread.",
							&automl_threads,
							2, 0, TREE_MAX_THREADS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("automl.max_threads",
							"The most threads one training may use, whatever automl.threads says (0: no limit).",
							"Only superusers, and roles granted SET on it, change it.",
							&automl_max_threads,
							0, 0, TREE_MAX_THREADS,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	/*
	 * Off: measured on seven AMLB datasets with the same trials, the average
	 * of the fold models validated no better than one refit (docs/search.md).
	 */
	DefineCustomBoolVariable("automl.bag_fold_models",
							 "Average a searched tree model's cross-validation fold models instead of refitting it on all rows.",
							 "Applies when the search validates by k-fold cross-validation; see docs/search.md.",
							 &automl_bag_fold_models,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	/* set only by automl_delete, for its own transaction (see automl.forbid_change) */
	DefineCustomStringVariable("automl.deleting",
							   "The model name that automl_delete is removing.",
							   NULL,
							   &automl_deleting,
							   "",
							   PGC_USERSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("automl");
	progress_init();
	log_writer_init();
	log_init();
}
