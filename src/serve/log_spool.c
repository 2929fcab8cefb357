/*
 * log_spool.c: the spool files of this database: their directory, this
 * process's file name, and the files an ingestion round reads.
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/file_perm.h"
#include "common/shared_struct.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "registry/registry.h"
#include "serve/log.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

/* ---- spool files ---- */


char *
log_spool_name(void)
{
	return psprintf(INT64_FORMAT "-" INT64_FORMAT "-%d", log_writer_generation(),
					(int64) MyStartTimestamp, MyProcPid);
}

char *
log_spool_directory(bool create)
{
	char	   *dir = psprintf("%s/%u", LOG_SPOOL_DIR, MyDatabaseId);

	if (create)
	{
		if (MakePGDirectory(LOG_SPOOL_DIR) != 0 && errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create directory \"%s\": %m", LOG_SPOOL_DIR)));
		if (MakePGDirectory(dir) != 0 && errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create directory \"%s\": %m", dir)));
	}
	return dir;
}

int
log_spool_compare(const void *a, const void *b)
{
	return strcmp(((const SpoolFile *) a)->base, ((const SpoolFile *) b)->base);
}

SpoolFile *
log_spool_list(int *n_out)
{
	char	   *dir = log_spool_directory(false);
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	int			n = 0,
				cap = 16;
	SpoolFile  *files = palloc(sizeof(SpoolFile) * cap);
	char	   *current = psprintf(INT64_FORMAT "-", log_writer_generation());

	if (d == NULL && errno == ENOENT)
	{
		*n_out = 0;
		return files;
	}
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		bool		done;
		struct stat st;
		char	   *path;

		if (len <= 5 || de->d_name[0] == '.')
			continue;
		done = strcmp(de->d_name + len - 5, ".done") == 0;
		if (!done && (len <= 6 || strcmp(de->d_name + len - 6, ".spool") != 0))
			continue;
		path = psprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;			/* renamed or deleted meanwhile: seen next round */
		if (n == cap)
		{
			cap *= 2;
			files = repalloc(files, sizeof(SpoolFile) * cap);
		}
		files[n].base = pnstrdup(de->d_name, len - (done ? 5 : 6));
		files[n].path = path;
		files[n].complete = done || strncmp(de->d_name, current, strlen(current)) != 0;
		files[n].size = st.st_size;
		files[n].consumed = 0;
		n++;
	}
	FreeDir(d);
	qsort(files, n, sizeof(SpoolFile), log_spool_compare);

	/* a file renamed .spool -> .done while listed may appear twice: keep the complete one */
	{
		int			kept = 0;

		for (int i = 0; i < n; i++)
		{
			if (kept > 0 && strcmp(files[kept - 1].base, files[i].base) == 0)
			{
				if (files[i].complete)
					files[kept - 1] = files[i];
				continue;
			}
			files[kept++] = files[i];
		}
		n = kept;
	}
	*n_out = n;
	return files;
}

