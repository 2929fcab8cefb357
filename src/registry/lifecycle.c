/*
 * lifecycle.c: what happens to a model after training: automl_deploy,
 * automl_rollback, automl_retire, automl_delete, automl_set_policy, and who
 * else may use it: automl_grant and automl_revoke.
 *
 * Each checks that the caller owns the model name, then writes as the
 * extension's owner under the name's advisory lock, and leaves an event in
 * the audit trail. All of it is transactional: a rolled-back transaction
 * leaves no trace, and sessions scoring rows see either the old or the new
 * deployment from their next statement on.
 */
#include "postgres.h"

#include "common/args.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "registry/catalog_sql.h"
#include "registry/registry.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(automl_deploy);
PG_FUNCTION_INFO_V1(automl_rollback);
PG_FUNCTION_INFO_V1(automl_retire);
PG_FUNCTION_INFO_V1(automl_delete);
PG_FUNCTION_INFO_V1(automl_set_policy);
PG_FUNCTION_INFO_V1(automl_grant);
PG_FUNCTION_INFO_V1(automl_revoke);

static int
required_version(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("version must not be NULL")));
	return PG_GETARG_INT32(argno);
}

/* The deployed version (0 if none). Connected to SPI. */
static int
deployed_version(const char *name)
{
	QueryParams p = {0};
	char	   *v;

	query_add_text(&p, name);
	query_run("SELECT version FROM automl.deployments WHERE name OPERATOR(pg_catalog.=) $1"
			  " ORDER BY id DESC LIMIT 1", &p, SPI_OK_SELECT);
	v = query_text_result();
	return v ? atoi(v) : 0;
}

/* Errors unless version exists and still has its bytes. Connected to SPI. */
static void
check_version_usable(const char *name, int version)
{
	QueryParams p = {0};
	char	   *retired;

	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(version), false);
	query_run("SELECT retired_at IS NOT NULL FROM automl.models"
			  " WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
			  &p, SPI_OK_SELECT);
	retired = query_text_result();
	if (retired == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version)));
	if (strcmp(retired, "t") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" is retired", version, name),
				 errhint("A retired version keeps its lineage but not its model; train again instead.")));
}

static void
insert_deployment(const CatalogWriter *writer, const char *name, int version, const char *reason)
{
	QueryParams p = {0};

	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(version), false);
	query_add_text(&p, writer->caller);
	query_add_text(&p, reason);
	query_run("INSERT INTO automl.deployments (name, version, deployed_by, reason) VALUES ($1, $2, $3, $4)",
			  &p, SPI_OK_INSERT);
}

static Datum
return_deployment(FunctionCallInfo fcinfo, const char *name, int version, int previous)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(name);
	values[1] = Int32GetDatum(version);
	values[2] = Int32GetDatum(previous);
	nulls[2] = previous <= 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

static Jsonb *
version_detail(int from, int to)
{
	JsonBuilder b;

	json_begin(&b);
	json_key(&b, "from_version");
	if (from > 0)
		json_int(&b, from);
	else
		json_null(&b);
	json_key_int(&b, "to_version", to);
	return json_end(&b);
}

/* A one-member object {key: value}. */
static Jsonb *
number_detail(const char *key, double value)
{
	JsonBuilder b;

	json_begin(&b);
	json_key_number(&b, key, value);
	return json_end(&b);
}

Datum
automl_deploy(PG_FUNCTION_ARGS)
{
	char	   *name = arg_required_text(fcinfo, 0, "model");
	int			version = required_version(fcinfo, 1);
	char	   *reason = arg_optional_text(fcinfo, 2);
	MemoryContext caller = CurrentMemoryContext;
	CatalogWriter writer;
	int			previous;

	InitMaterializedSRF(fcinfo, 0);
	catalog_check_owner(name, "deploy", true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	catalog_lock_name(name);
	check_version_usable(name, version);
	previous = deployed_version(name);
	if (previous == version)
		ereport(NOTICE,
				(errmsg("version %d of model \"%s\" is already deployed", version, name)));
	else
	{
		if (reason == NULL)
			reason = "deployed by hand";
		insert_deployment(&writer, name, version, reason);
		catalog_add_event(&writer, "deploy", name, version, reason, version_detail(previous, version));
	}
	catalog_end_write(&writer);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	return return_deployment(fcinfo, name, version, previous);
}

Datum
automl_rollback(PG_FUNCTION_ARGS)
{
	char	   *name = arg_required_text(fcinfo, 0, "model");
	char	   *reason = arg_optional_text(fcinfo, 1);
	MemoryContext caller = CurrentMemoryContext;
	CatalogWriter writer;
	QueryParams p = {0};
	int			current;
	char	   *previous_text;
	int			previous;
	char	   *full_reason;

	InitMaterializedSRF(fcinfo, 0);
	catalog_check_owner(name, "roll back", true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	catalog_lock_name(name);
	current = deployed_version(name);
	if (current == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no deployed version to roll back", name)));

	/* The version deployed before the current one, skipping retired ones. */
	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(current), false);
	query_run("SELECT d.version FROM automl.deployments d"
			  " JOIN automl.models m ON m.name OPERATOR(pg_catalog.=) d.name"
			  "  AND m.version OPERATOR(pg_catalog.=) d.version"
			  " WHERE d.name OPERATOR(pg_catalog.=) $1 AND d.version OPERATOR(pg_catalog.<>) $2"
			  "  AND m.retired_at IS NULL"
			  " ORDER BY d.id DESC LIMIT 1", &p, SPI_OK_SELECT);
	previous_text = query_text_result();
	if (previous_text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no earlier deployment to roll back to", name),
				 errdetail("Version %d is the only version that has served.", current)));
	previous = atoi(previous_text);
	full_reason = reason ? psprintf("rollback from version %d: %s", current, reason)
		: psprintf("rollback from version %d", current);
	insert_deployment(&writer, name, previous, full_reason);
	catalog_add_event(&writer, "rollback", name, previous, reason, version_detail(current, previous));
	catalog_end_write(&writer);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	return return_deployment(fcinfo, name, previous, current);
}

Datum
automl_retire(PG_FUNCTION_ARGS)
{
	char	   *name = arg_required_text(fcinfo, 0, "model");
	int			version = required_version(fcinfo, 1);
	char	   *reason = arg_optional_text(fcinfo, 2);
	CatalogWriter writer;
	QueryParams p = {0};

	catalog_check_owner(name, "retire a version of", true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	catalog_lock_name(name);
	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(version), false);
	query_run("SELECT retired_at IS NOT NULL FROM automl.models"
			  " WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
			  &p, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version)));
	if (strcmp(query_text_result(), "t") == 0)
		ereport(NOTICE,
				(errmsg("version %d of model \"%s\" is already retired", version, name)));
	else
	{
		if (deployed_version(name) == version)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("version %d of model \"%s\" is deployed", version, name),
					 errhint("Deploy or roll back to another version first.")));
		query_run("UPDATE automl.models SET model_bytes = NULL, retired_at = pg_catalog.now()"
				  " WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
				  &p, SPI_OK_UPDATE);
		catalog_add_event(&writer, "retire", name, version, reason, NULL);
	}
	catalog_end_write(&writer);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
automl_delete(PG_FUNCTION_ARGS)
{
	char	   *name = arg_required_text(fcinfo, 0, "model");
	char	   *reason = arg_optional_text(fcinfo, 1);
	CatalogWriter writer;
	QueryParams p = {0};
	int			n_versions;

	catalog_check_owner(name, "delete", true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	catalog_lock_name(name);
	query_add_text(&p, name);
	/* the append-only trigger lets this transaction remove this name's deployments */
	query_run("SELECT pg_catalog.set_config('automl.deleting', $1, true)", &p, SPI_OK_SELECT);
	query_run("DELETE FROM automl.models WHERE name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_DELETE);
	n_versions = (int) SPI_processed;
	/* the prediction log, outcomes and alert state go with the model (its monitor by cascade) */
	query_run("DELETE FROM automl.predictions WHERE model OPERATOR(pg_catalog.=) $1", &p, SPI_OK_DELETE);
	query_run("DELETE FROM automl.observations WHERE model OPERATOR(pg_catalog.=) $1", &p, SPI_OK_DELETE);
	query_run("DELETE FROM automl.alert_state WHERE model OPERATOR(pg_catalog.=) $1", &p, SPI_OK_DELETE);
	query_run("DELETE FROM automl.registry WHERE name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_DELETE);
	query_run("SELECT pg_catalog.set_config('automl.deleting', '', true)", &(QueryParams) {0}, SPI_OK_SELECT);
	catalog_add_event(&writer, "delete", name, 0, reason, number_detail("versions_deleted", n_versions));
	catalog_end_write(&writer);
	SPI_finish();
	PG_RETURN_INT32(n_versions);
}

Datum
automl_set_policy(PG_FUNCTION_ARGS)
{
	char	   *name = arg_required_text(fcinfo, 0, "model");
	MemoryContext caller = CurrentMemoryContext;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CatalogWriter writer;
	QueryParams p = {0};
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bool		isnull;
	bool		auto_deploy;
	double		min_gain;

	if (!PG_ARGISNULL(2))
	{
		double		gain = PG_GETARG_FLOAT8(2);

		if (!(gain >= 0.0) || isinf(gain))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("min_gain must be a finite number of at least 0")));
	}
	InitMaterializedSRF(fcinfo, 0);
	catalog_check_owner(name, "change the policy of", true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	catalog_lock_name(name);
	query_add_text(&p, name);
	query_add(&p, BOOLOID, PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1));
	query_add(&p, FLOAT8OID, PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2));
	query_run("UPDATE automl.registry SET auto_deploy = COALESCE($2, auto_deploy),"
			  " min_gain = COALESCE($3, min_gain) WHERE name OPERATOR(pg_catalog.=) $1"
			  " RETURNING auto_deploy, min_gain", &p, SPI_OK_UPDATE_RETURNING);
	auto_deploy = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	min_gain = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	{
		JsonBuilder b;

		json_begin(&b);
		json_key_bool(&b, "auto_deploy", auto_deploy);
		json_key_number(&b, "min_gain", min_gain);
		catalog_add_event(&writer, "policy", name, 0, NULL, json_end(&b));
	}
	catalog_end_write(&writer);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	values[0] = CStringGetTextDatum(name);
	values[1] = BoolGetDatum(auto_deploy);
	values[2] = Float8GetDatum(min_gain);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * The grantee as automl.grants stores it: an existing role's name, or
 * "public" for every role (a name no role may have; PUBLIC in any case, as
 * in GRANT, unless a role of that exact name exists).
 */
static char *
grantee_name(FunctionCallInfo fcinfo)
{
	char	   *role = arg_required_text(fcinfo, 1, "role");

	if (pg_strcasecmp(role, "public") == 0 && !OidIsValid(get_role_oid(role, true)))
		return "public";
	(void) get_role_oid(role, false);	/* role "x" does not exist */
	return role;
}

/*
 * automl_grant (grant true) and automl_revoke: the row of automl.grants added
 * or removed as the extension owner, under the name's lock, and one audit
 * event with the role in its detail. Returns whether anything changed.
 */
static bool
change_grant(FunctionCallInfo fcinfo, bool grant)
{
	char	   *name = arg_required_text(fcinfo, 0, "model");
	char	   *role = grantee_name(fcinfo);
	CatalogWriter writer;
	QueryParams p = {0};
	bool		changed;

	catalog_check_owner(name, grant ? "grant" : "revoke", true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	catalog_lock_name(name);
	query_add_text(&p, name);
	query_add_text(&p, role);
	if (grant)
	{
		query_add_text(&p, writer.caller);
		query_run("INSERT INTO automl.grants (name, grantee, owner, granted_by)"
				  " SELECT r.name, $2, r.owner, $3 FROM automl.registry r WHERE r.name OPERATOR(pg_catalog.=) $1"
				  " ON CONFLICT (name, grantee) DO NOTHING", &p, SPI_OK_INSERT);
	}
	else
		query_run("DELETE FROM automl.grants WHERE name OPERATOR(pg_catalog.=) $1"
				  " AND grantee OPERATOR(pg_catalog.=) $2", &p, SPI_OK_DELETE);
	changed = SPI_processed > 0;
	if (changed)
	{
		JsonBuilder b;

		json_begin(&b);
		json_key_string(&b, "role", role);
		catalog_add_event(&writer, grant ? "grant" : "revoke", name, 0, NULL, json_end(&b));
	}
	else if (grant)
		ereport(NOTICE,
				(errmsg("role \"%s\" was already granted model \"%s\"", role, name)));
	else
		ereport(NOTICE,
				(errmsg("role \"%s\" had not been granted model \"%s\"", role, name),
				 errdetail("Members of the owner role use the model without a grant; automl.grants lists the grants.")));
	catalog_end_write(&writer);
	SPI_finish();
	return changed;
}

Datum
automl_grant(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(change_grant(fcinfo, true));
}

Datum
automl_revoke(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(change_grant(fcinfo, false));
}
