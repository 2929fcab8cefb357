/*
 * replica.c: scoring on a Citus worker, from automl.replica.
 *
 * The catalog lives on the coordinator. automl_citus_setup() makes
 * automl.replica a Citus reference table, which the catalog's triggers keep
 * in step (sql/install/scale_out.sql); a statement pushed down to a worker
 * finds its model there. Citus refuses a query on a Citus table from inside
 * a query on a shard ("nested distributed execution") because a distributed
 * table's shards may move; a reference table has a placement on every node
 * and is read locally, so the lookup allows it for its own queries only.
 * The replica has no row-level security: it is read as the extension owner,
 * and the caller's right to score (owner, member of the owner role, or a
 * grantee) is checked here, as the catalog's policies check it on the
 * coordinator.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "registry/registry.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/acl.h"
#include "utils/guc.h"

#define NESTED_EXECUTION_GUC "citus.allow_nested_distributed_execution"

/* -1: not read yet; 0: the coordinator (or a node not yet added); > 0: a worker's group */
static int	local_group = -1;
static Oid	extension_owner = InvalidOid;

bool
replica_in_use(void)
{
	bool		isnull;
	int			rc;

	if (local_group > 0)
		return true;
	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	/* a group id other than 0 is set once, when the coordinator adds the node */
	rc = SPI_execute("SELECT groupid FROM pg_catalog.pg_dist_local_group", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		return false;
	local_group = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return local_group > 0;
}

void
replica_begin_read(ReplicaRead *read)
{
	read->caller = GetUserId();
	if (!OidIsValid(extension_owner))
		extension_owner = catalog_extension_owner();
	read->guc_nest_level = NewGUCNestLevel();
	if (GetConfigOption(NESTED_EXECUTION_GUC, true, false) != NULL)
		(void) set_config_option(NESTED_EXECUTION_GUC, "on", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	GetUserIdAndSecContext(&read->saved_user, &read->saved_context);
	SetUserIdAndSecContext(extension_owner, read->saved_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
replica_end_read(ReplicaRead *read)
{
	SetUserIdAndSecContext(read->saved_user, read->saved_context);
	AtEOXact_GUC(true, read->guc_nest_level);
}

/* automl.caller_owns's rule, for a role other than the current one */
static bool
member_of(Oid who, const char *role_name)
{
	Oid			role = get_role_oid(role_name, true);

	return OidIsValid(role) && is_member_of_role(who, role);
}

bool
replica_caller_may_score(const ReplicaRead *read, const char *owner, Datum readers)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (member_of(read->caller, owner))
		return true;
	deconstruct_array(DatumGetArrayTypeP(readers), NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		const char *reader = NameStr(*DatumGetName(elems[i]));

		if (!nulls[i] && (strcmp(reader, "public") == 0 || member_of(read->caller, reader)))
			return true;
	}
	return false;
}

bool
replica_collects(void)
{
	bool		isnull;

	if (!OidIsValid(get_extension_oid("citus", true)) || replica_in_use())
		return false;
	if (SPI_execute("SELECT automl.replica_enabled()", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		return false;
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

int64
replica_collect_predictions(void)
{
	char	   *sql;
	bool		isnull;

	/* the function is in the extension's schema */
	if (SPI_execute("SELECT pg_catalog.format('SELECT %I.automl_collect_predictions()', n.nspname)"
					" FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n"
					" ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
					" WHERE e.extname OPERATOR(pg_catalog.=) 'automl'", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "extension automl is not installed in this database");
	sql = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (SPI_execute(sql, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "automl could not collect the workers' predictions");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

bool
replica_is_distributed_table(Oid relid)
{
	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition"
						  " WHERE logicalrelid OPERATOR(pg_catalog.=) $1"
						  " AND partmethod OPERATOR(pg_catalog.<>) 'n'",
						  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)}, NULL, true, 1);
	return SPI_processed > 0;
}
