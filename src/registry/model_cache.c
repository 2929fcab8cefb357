/*
 * model_cache.c: models loaded once per backend.
 *
 * Each statement resolves its model reference with one small catalog query
 * (the deployed version, or the pinned one) and gets back the row's xmin,
 * cmin and ctid, which together identify one row version: a row rewritten by
 * another transaction, by a later command of this one, or removed and
 * inserted again, differs in at least one of them. A cached model is reused
 * only for the same name, version and row version, so a deployment made in
 * another session is seen by the next statement and a rewritten row is never
 * served from a stale copy. Model bytes are read and deserialised only on a
 * miss.
 *
 * On a Citus worker the same queries read automl.replica, the coordinator's
 * catalog as replicated for scoring (replica.c).
 */
#include "postgres.h"

#include <ctype.h>

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/itemptr.h"
#include "registry/registry.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define MODEL_CACHE_SLOTS 32

typedef struct CachedModel
{
	char	   *name;			/* NULL when the slot is free */
	int			version;
	TransactionId xmin;			/* the catalog row version the model came from */
	CommandId	cmin;
	ItemPointerData ctid;
	uint64		last_used;
	MemoryContext cxt;			/* holds name and model */
	Model	   *model;
} CachedModel;

static CachedModel cache[MODEL_CACHE_SLOTS];
static uint64 use_clock = 0;
static MemoryContext cache_cxt = NULL;

/*
 * The lookup queries, planned once per backend: with row-level security on
 * the catalog, planning them costs more than the rest of a one-row statement.
 * The plan cache replans them when the catalog changes, and for another role
 * (the policies depend on it).
 */
static SPIPlanPtr lookup_deployed_plan = NULL;
static SPIPlanPtr lookup_pinned_plan = NULL;

/* The same from automl.replica, on a Citus worker (replica.c); column 10 is the readers. */
static SPIPlanPtr replica_deployed_plan = NULL;
static SPIPlanPtr replica_pinned_plan = NULL;

#define REPLICA_LOOKUP_COLUMNS "SELECT version, xmin, cmin, ctid, monitor_enabled, sample_rate," \
	" key_column, exclude, owner, readers FROM automl.replica WHERE name OPERATOR(pg_catalog.=) $1"

static SPIPlanPtr
saved_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL)
			elog(ERROR, "automl could not prepare the model lookup: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "automl could not keep the model lookup's plan");
		*plan = p;
	}
	return *plan;
}

/*
 * A slot's memory may still be in use by a statement of this transaction, so
 * a replaced model's context is handed to the transaction and freed at its end.
 */
static void
release_slot(CachedModel *slot)
{
	if (slot->cxt != NULL)
		MemoryContextSetParent(slot->cxt, TopTransactionContext);
	memset(slot, 0, sizeof(CachedModel));
}

static void
parse_ref(const char *ref, char **name, int *version)
{
	const char *at = strrchr(ref, '@');

	*version = 0;
	if (at == NULL)
	{
		*name = pstrdup(ref);
		return;
	}
	*name = pnstrdup(ref, at - ref);
	if (at[1] == '\0' || strspn(at + 1, "0123456789") != strlen(at + 1) || strlen(at + 1) > 9)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model reference \"%s\"", ref),
				 errhint("Name a model as \"name\" for its deployed version or \"name@N\" for version N.")));
	*version = atoi(at + 1);
	if (*version < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model reference \"%s\"", ref),
				 errdetail("Versions are numbered from 1."),
				 errhint("Name a model as \"name\" for its deployed version or \"name@N\" for version N.")));
}

/* On a Citus worker: whether the name is in automl.replica and the caller may score with it. */
static bool
replica_name_exists(const char *name)
{
	ReplicaRead read;
	bool		found = false;
	bool		isnull;

	replica_begin_read(&read);
	SPI_execute_with_args("SELECT owner, readers FROM automl.replica WHERE name OPERATOR(pg_catalog.=) $1 LIMIT 1",
						  1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(name)}, NULL, true, 1);
	replica_end_read(&read);
	if (SPI_processed > 0)
		found = replica_caller_may_score(&read, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
										 SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return found;
}

static bool
model_name_exists(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};

	if (replica_in_use())
		return replica_name_exists(name);
	SPI_execute_with_args("SELECT 1 FROM automl.models WHERE name OPERATOR(pg_catalog.=) $1 LIMIT 1",
						  1, types, values, NULL, true, 1);
	return SPI_processed > 0;
}

/* Columns 5 to 9 of the lookup row: the name's automl.monitors settings, if any, and owner. */
static void
read_monitor_settings(MonitorSettings *monitor, MemoryContext cxt)
{
	HeapTuple	row = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	Datum		enabled = SPI_getbinval(row, desc, 5, &isnull);
	MemoryContext old;

	memset(monitor, 0, sizeof(MonitorSettings));
	if (isnull || !DatumGetBool(enabled))
		return;
	old = MemoryContextSwitchTo(cxt);
	monitor->enabled = true;
	monitor->sample_rate = DatumGetFloat8(SPI_getbinval(row, desc, 6, &isnull));
	monitor->key_column = SPI_getvalue(row, desc, 7);
	monitor->owner = SPI_getvalue(row, desc, 9);
	{
		Datum		exclude = SPI_getbinval(row, desc, 8, &isnull);
		Datum	   *elems;
		bool	   *nulls;

		deconstruct_array(DatumGetArrayTypeP(exclude), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &monitor->n_exclude);
		monitor->exclude = palloc(sizeof(char *) * Max(monitor->n_exclude, 1));
		for (int i = 0; i < monitor->n_exclude; i++)
			monitor->exclude[i] = nulls[i] ? "" : TextDatumGetCString(elems[i]);
	}
	MemoryContextSwitchTo(old);
}

void
model_error_not_deployed(const char *name)
{
	if (!model_name_exists(name))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("automl.models lists the trained models.")));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model \"%s\" has no deployed version", name)));
}

Model *
model_cache_lookup(const char *ref, char **name_out, int *version_out, MonitorSettings *monitor)
{
	char	   *name;
	int			version;
	TransactionId xmin;
	CommandId	cmin;
	ItemPointerData ctid;
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	bool		isnull;
	CachedModel *slot = NULL;
	MemoryContext caller_cxt = CurrentMemoryContext;
	int			rc;
	bool		on_replica;
	ReplicaRead read;

	parse_ref(ref, &name, &version);
	values[0] = CStringGetTextDatum(name);
	values[1] = Int32GetDatum(version);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	on_replica = replica_in_use();
	if (on_replica)
	{
		replica_begin_read(&read);
		if (version == 0)
			rc = SPI_execute_plan(saved_plan(&replica_deployed_plan,
											 REPLICA_LOOKUP_COLUMNS " AND deployed", 1, types),
								  values, NULL, true, 1);
		else
			rc = SPI_execute_plan(saved_plan(&replica_pinned_plan,
											 REPLICA_LOOKUP_COLUMNS " AND version OPERATOR(pg_catalog.=) $2",
											 2, types),
								  values, NULL, true, 1);
		replica_end_read(&read);
		/* a name the caller may not score with is, to it, one that does not exist */
		if (rc == SPI_OK_SELECT && SPI_processed > 0 &&
			!replica_caller_may_score(&read, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 9),
									  SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 10, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", name),
					 errhint("automl.models lists the trained models.")));
	}
	else if (version == 0)
		rc = SPI_execute_plan(saved_plan(&lookup_deployed_plan,
										 "SELECT d.version, m.xmin, m.cmin, m.ctid,"
										 " o.enabled, o.sample_rate, o.key_column, o.exclude, r.owner"
										 " FROM automl.deployments d"
										 " JOIN automl.models m ON m.name OPERATOR(pg_catalog.=) d.name"
										 " AND m.version OPERATOR(pg_catalog.=) d.version"
										 " LEFT JOIN automl.monitors o ON o.name OPERATOR(pg_catalog.=) d.name"
										 " LEFT JOIN automl.registry r ON r.name OPERATOR(pg_catalog.=) d.name"
										 " WHERE d.name OPERATOR(pg_catalog.=) $1"
										 " ORDER BY d.id DESC LIMIT 1", 1, types),
							  values, NULL, true, 1);
	else
		rc = SPI_execute_plan(saved_plan(&lookup_pinned_plan,
										 "SELECT m.version, m.xmin, m.cmin, m.ctid,"
										 " o.enabled, o.sample_rate, o.key_column, o.exclude, r.owner"
										 " FROM automl.models m"
										 " LEFT JOIN automl.monitors o ON o.name OPERATOR(pg_catalog.=) m.name"
										 " LEFT JOIN automl.registry r ON r.name OPERATOR(pg_catalog.=) m.name"
										 " WHERE m.name OPERATOR(pg_catalog.=) $1"
										 " AND m.version OPERATOR(pg_catalog.=) $2", 2, types),
							  values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "automl model lookup failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		if (version > 0 && model_name_exists(name))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" has no version %d", name, version)));
		model_error_not_deployed(name);
	}
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	cmin = DatumGetCommandId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	ctid = *(ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	if (monitor != NULL)
		read_monitor_settings(monitor, caller_cxt);

	for (int i = 0; i < MODEL_CACHE_SLOTS; i++)
	{
		if (cache[i].name != NULL && cache[i].version == version &&
			strcmp(cache[i].name, name) == 0)
		{
			slot = &cache[i];
			break;
		}
	}
	if (slot != NULL &&
		(slot->xmin != xmin || slot->cmin != cmin || !ItemPointerEquals(&slot->ctid, &ctid)))
	{
		release_slot(slot);		/* the row was rewritten: load it again */
		slot = NULL;
	}

	if (slot == NULL)
	{
		MemoryContext model_cxt;
		Datum		bytes_datum;
		bytea	   *bytes;

		if (on_replica)
			replica_begin_read(&read);
		rc = SPI_execute_with_args(on_replica
								   ? "SELECT model_bytes FROM automl.replica"
								   " WHERE name OPERATOR(pg_catalog.=) $1"
								   " AND version OPERATOR(pg_catalog.=) $2"
								   : "SELECT model_bytes FROM automl.models"
								   " WHERE name OPERATOR(pg_catalog.=) $1"
								   " AND version OPERATOR(pg_catalog.=) $2",
								   2, types, (Datum[]) {values[0], Int32GetDatum(version)},
								   NULL, true, 1);
		if (on_replica)
			replica_end_read(&read);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "automl could not read the bytes of model \"%s\" version %d", name, version);
		bytes_datum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("version %d of model \"%s\" is retired", version, name),
					 errhint("A retired version keeps its lineage but not its model.")));
		bytes = DatumGetByteaPP(bytes_datum);

		/*
		 * Load under the caller's context: if the bytes are corrupted the
		 * error frees it with the statement, and only a model that loaded
		 * completely moves into the cache.
		 */
		model_cxt = AllocSetContextCreate(caller_cxt, "automl model", ALLOCSET_SMALL_SIZES);
		{
			MemoryContext old = MemoryContextSwitchTo(model_cxt);
			Model	   *model = model_deserialize(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
			char	   *cached_name = pstrdup(name);

			MemoryContextSwitchTo(old);

			if (cache_cxt == NULL)
				cache_cxt = AllocSetContextCreate(CacheMemoryContext, "automl model cache",
												  ALLOCSET_SMALL_SIZES);
			slot = &cache[0];
			for (int i = 0; i < MODEL_CACHE_SLOTS; i++)
			{
				if (cache[i].name == NULL)
				{
					slot = &cache[i];
					break;
				}
				if (cache[i].last_used < slot->last_used)
					slot = &cache[i];
			}
			if (slot->name != NULL)
				release_slot(slot);
			MemoryContextSetParent(model_cxt, cache_cxt);
			slot->name = cached_name;
			slot->version = version;
			slot->xmin = xmin;
			slot->cmin = cmin;
			slot->ctid = ctid;
			slot->cxt = model_cxt;
			slot->model = model;
		}
	}
	slot->last_used = ++use_clock;
	SPI_finish();

	*name_out = name;
	*version_out = version;
	return slot->model;
}
