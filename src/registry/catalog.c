/*
 * catalog.c: model versions, the deployment decision and the audit trail in
 * schema automl.
 *
 * Writes run as the extension's owner (catalog_begin_write), after the
 * caller's right to the model name was checked. Every query is
 * schema-qualified and uses OPERATOR(pg_catalog.=), and every value is a
 * parameter, so neither search_path nor user input can change what runs.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "registry/catalog_sql.h"
#include "registry/registry.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"

/* First key of the advisory lock that serialises versions of one name. */
#define AUTOML_LOCK_CLASS 6385004		/* "aml" */

static Datum
text_array(const char *const *items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

void
query_add(QueryParams *p, Oid type, Datum value, bool isnull)
{
	Assert(p->n < lengthof(p->types));
	p->types[p->n] = type;
	p->values[p->n] = value;
	p->nulls[p->n] = isnull ? 'n' : ' ';
	p->n++;
}

void
query_add_text(QueryParams *p, const char *value)
{
	query_add(p, TEXTOID, value ? CStringGetTextDatum(value) : (Datum) 0, value == NULL);
}

void
query_add_jsonb(QueryParams *p, const Jsonb *value)
{
	query_add(p, JSONBOID, value ? JsonbPGetDatum(value) : (Datum) 0, value == NULL);
}

void
query_run(const char *sql, const QueryParams *p, int expected)
{
	int			rc = SPI_execute_with_args(sql, p->n, (Oid *) p->types, (Datum *) p->values,
										   p->nulls, false, 0);

	if (rc != expected)
		elog(ERROR, "automl catalog query failed (%s): %s", SPI_result_code_string(rc), sql);
}

/* The first column of the first row of the last query, or NULL. */
char *
query_text_result(void)
{
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

void
catalog_lock_name(const char *name)
{
	QueryParams key = {0};

	query_add_text(&key, name);
	query_run("SELECT pg_catalog.pg_advisory_xact_lock(" CppAsString2(AUTOML_LOCK_CLASS)
			  ", pg_catalog.hashtext($1))", &key, SPI_OK_SELECT);
}

void
catalog_add_event(const CatalogWriter *writer, const char *event, const char *name,
				  int version, const char *reason, const Jsonb *detail)
{
	QueryParams p = {0};

	query_add_text(&p, writer->caller);
	query_add_text(&p, event);
	query_add_text(&p, name);
	query_add(&p, INT4OID, Int32GetDatum(version), version <= 0);
	query_add_text(&p, reason);
	query_add_jsonb(&p, detail);
	query_run("INSERT INTO automl.events (who, event, name, version, reason, detail)"
			  " VALUES ($1, $2, $3, $4, $5, COALESCE($6, '{}'))", &p, SPI_OK_INSERT);
}

/* ---- writing as the extension owner ---- */

Oid
catalog_extension_owner(void)
{
	QueryParams none = {0};
	bool		isnull;

	query_run("SELECT extowner FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'automl'",
			  &none, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "extension automl is not installed in this database");
	return DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

void
catalog_begin_write(CatalogWriter *writer)
{
	Oid			owner;

	writer->caller = GetUserNameFromId(GetUserId(), false);
	owner = catalog_extension_owner();
	GetUserIdAndSecContext(&writer->saved_user, &writer->saved_context);
	SetUserIdAndSecContext(owner, writer->saved_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
catalog_end_write(CatalogWriter *writer)
{
	SetUserIdAndSecContext(writer->saved_user, writer->saved_context);
}

const char *
catalog_extension_version(void)
{
	QueryParams none = {0};
	char	   *version;
	MemoryContext caller = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_run("SELECT extversion FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'automl'",
			  &none, SPI_OK_SELECT);
	version = query_text_result();
	version = MemoryContextStrdup(caller, version ? version : "unknown");
	SPI_finish();
	return version;
}

/* ---- ownership and policy ---- */

PG_FUNCTION_INFO_V1(automl_caller_owns);

/*
 * automl.caller_owns(owner): whether the calling role is a member of the
 * owner role (superusers are members of every role; a dropped role has no
 * members). The catalog's row-level policies call it for every row they
 * check, so it is a syscache lookup in C, not a query.
 */
Datum
automl_caller_owns(PG_FUNCTION_ARGS)
{
	Oid			role;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	role = get_role_oid(NameStr(*PG_GETARG_NAME(0)), true);
	PG_RETURN_BOOL(OidIsValid(role) && is_member_of_role(GetUserId(), role));
}

/* Whether role 'who' may change models owned by role 'owner' (a dropped owner: no one). */
static bool
role_owns(Oid who, const char *owner)
{
	Oid			owner_id = get_role_oid(owner, true);

	return superuser_arg(who) || (OidIsValid(owner_id) && has_privs_of_role(who, owner_id));
}

/* Whether the caller sees the name in automl.registry (its row-level policy decides). */
static bool
caller_sees_name(const char *name)
{
	QueryParams p = {0};

	query_add_text(&p, name);
	query_run("SELECT 1 FROM automl.registry WHERE name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_SELECT);
	return SPI_processed > 0;
}

void
catalog_check_owner(const char *name, const char *action, bool must_exist)
{
	QueryParams p = {0};
	CatalogWriter writer;
	char	   *owner;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, name);
	/* as the extension owner: a name the caller may not see is taken all the same */
	catalog_begin_write(&writer);
	query_run("SELECT owner FROM automl.registry WHERE name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_SELECT);
	owner = query_text_result();
	catalog_end_write(&writer);
	if (owner == NULL || (!role_owns(GetUserId(), owner) && !caller_sees_name(name)))
	{
		SPI_finish();
		if (owner == NULL && !must_exist)
			return;
		/* a model the caller may not see is, to it, one that does not exist */
		if (must_exist)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", name),
					 errhint("automl.models lists the trained models.")));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s model \"%s\"", action, name),
				 errdetail("Model names are unique in a database, and this one belongs to a role whose models you may not see."),
				 errhint("Choose another name.")));
	}
	if (!role_owns(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s model \"%s\"", action, name),
				 errdetail("Model \"%s\" belongs to role \"%s\".", name, owner),
				 errhint("Ask role \"%s\" to do it, or to grant you membership in it.", owner)));
	SPI_finish();
}

ModelPolicy
catalog_get_policy(const char *name)
{
	QueryParams p = {0};
	ModelPolicy policy = {false, true, 0.0, 0};
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query_add_text(&p, name);
	query_run("SELECT r.auto_deploy, r.min_gain,"
			  " (SELECT d.version FROM automl.deployments d WHERE d.name OPERATOR(pg_catalog.=) r.name"
			  "  ORDER BY d.id DESC LIMIT 1)"
			  " FROM automl.registry r WHERE r.name OPERATOR(pg_catalog.=) $1", &p, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		v;

		policy.exists = true;
		policy.auto_deploy = DatumGetBool(SPI_getbinval(row, desc, 1, &isnull));
		policy.min_gain = DatumGetFloat8(SPI_getbinval(row, desc, 2, &isnull));
		v = SPI_getbinval(row, desc, 3, &isnull);
		policy.deployed_version = isnull ? 0 : DatumGetInt32(v);
	}
	SPI_finish();
	return policy;
}

/* ---- storing a version ---- */

int
catalog_store_model(ModelRecord *rec)
{
	CatalogWriter writer;
	QueryParams key = {0};
	QueryParams row = {0};
	JsonBuilder detail;
	int			version;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);

	/* Two trainings of one name in parallel must not pick the same version. */
	catalog_lock_name(rec->name);
	query_add_text(&key, rec->name);
	query_add_text(&key, writer.caller);
	query_run("INSERT INTO automl.registry (name, owner) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
			  &key, SPI_OK_INSERT);
	key.n = 1;
	/* another role may have taken the name while this one trained */
	query_run("SELECT owner FROM automl.registry WHERE name OPERATOR(pg_catalog.=) $1", &key, SPI_OK_SELECT);
	if (!role_owns(writer.saved_user, query_text_result()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to train model \"%s\"", rec->name),
				 errdetail("Another role created a model of this name while this one trained.")));
	query_run("SELECT COALESCE(pg_catalog.max(version), 0) OPERATOR(pg_catalog.+) 1"
			  " FROM automl.models WHERE name OPERATOR(pg_catalog.=) $1",
			  &key, SPI_OK_SELECT);
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/*
	 * The decision compared with the version deployed when training began.
	 * If another session deployed since, it no longer holds: store this
	 * version without deploying it.
	 */
	query_run("SELECT version FROM automl.deployments WHERE name OPERATOR(pg_catalog.=) $1"
			  " ORDER BY id DESC LIMIT 1", &key, SPI_OK_SELECT);
	{
		char	   *now_deployed = query_text_result();
		int			current = now_deployed ? atoi(now_deployed) : 0;

		if (current != rec->parent_version && rec->deploy)
		{
			rec->deploy = false;
			rec->decision_event = "auto_deploy_refused";
			rec->decision_reason = psprintf("version %d was deployed while this version trained;"
											" compare them and deploy with automl_deploy", current);
		}
	}

	query_add_text(&row, rec->name);
	query_add(&row, INT4OID, Int32GetDatum(version), false);
	query_add_text(&row, rec->task);
	query_add_text(&row, rec->algorithm);
	query_add_jsonb(&row, rec->hyperparams);
	query_add_jsonb(&row, rec->metrics);
	query_add_text(&row, rec->metric);
	query_add(&row, FLOAT8OID, Float8GetDatum(rec->score), isnan(rec->score));
	query_add(&row, TEXTARRAYOID, text_array(rec->features, rec->n_features), false);
	query_add(&row, TEXTARRAYOID, text_array(rec->feature_kinds, rec->n_features), false);
	query_add(&row, TEXTARRAYOID,
			  rec->n_classes > 0 ? text_array(rec->classes, rec->n_classes) : (Datum) 0,
			  rec->n_classes == 0);
	query_add_jsonb(&row, rec->summary);
	query_add_text(&row, rec->source_relation);
	query_add_text(&row, rec->source_kind);
	query_add_text(&row, rec->source_definition);
	query_add_text(&row, rec->target);
	query_add_jsonb(&row, rec->options);
	query_add_jsonb(&row, rec->warnings);
	query_add_jsonb(&row, rec->profile);
	query_add(&row, INT8OID, Int64GetDatum(rec->n_rows), false);
	query_add_text(&row, rec->data_digest);
	query_add(&row, INT4OID, Int32GetDatum(rec->parent_version), rec->parent_version <= 0);
	query_add_jsonb(&row, rec->comparison);
	query_add(&row, FLOAT8OID, Float8GetDatum(rec->train_seconds), false);
	query_add_text(&row, catalog_extension_version());
	query_add_text(&row, writer.caller);
	query_add(&row, INT4OID, Int32GetDatum(MODEL_FORMAT_VERSION), false);
	query_add(&row, BYTEAOID, PointerGetDatum(rec->model_bytes), false);
	query_add_jsonb(&row, rec->calibration);
	query_run("INSERT INTO automl.models (name, version, task, algorithm, hyperparams, metrics,"
			  " metric, score, features, feature_kinds, classes, summary, source_relation,"
			  " source_kind, source_definition, target, options, warnings, profile, n_rows,"
			  " data_digest, parent_version, comparison, train_seconds, extension_version,"
			  " created_by, format_version, model_bytes, calibration)"
			  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
			  " $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
			  &row, SPI_OK_INSERT);

	for (int t = 0; t < rec->n_trials; t++)
	{
		const TrialRecord *tr = &rec->trials[t];
		QueryParams trial = {0};

		query_add_text(&trial, rec->name);
		query_add(&trial, INT4OID, Int32GetDatum(version), false);
		query_add(&trial, INT4OID, Int32GetDatum(tr->number), false);
		query_add_text(&trial, tr->algorithm);
		query_add_jsonb(&trial, tr->hyperparams);
		query_add(&trial, FLOAT8OID, Float8GetDatum(tr->score), isnan(tr->score));
		query_add(&trial, FLOAT8OID, Float8GetDatum(tr->score_std), isnan(tr->score_std));
		query_add(&trial, FLOAT8OID, Float8GetDatum(tr->fit_seconds), false);
		query_add(&trial, INT8OID, Int64GetDatum(tr->rows_used), false);
		query_add_text(&trial, tr->status);
		query_add_text(&trial, tr->error);
		query_add(&trial, INT4OID, Int32GetDatum(tr->rank), tr->rank == 0);
		query_add(&trial, BOOLOID, BoolGetDatum(tr->selected), false);
		query_add(&trial, FLOAT8OID, Float8GetDatum(tr->ensemble_weight), isnan(tr->ensemble_weight));
		query_run("INSERT INTO automl.trials (name, version, trial, algorithm, hyperparams, score,"
				  " score_std, fit_seconds, rows_used, status, error, rank, selected, ensemble_weight)"
				  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
				  &trial, SPI_OK_INSERT);
	}

	json_begin(&detail);
	json_key_string(&detail, "relation", rec->source_relation);
	json_key_int(&detail, "rows", rec->n_rows);
	json_key_string(&detail, "algorithm", rec->algorithm);
	json_key_string(&detail, "metric", rec->metric);
	json_key_number(&detail, "score", rec->score);
	json_key_string(&detail, "data_digest", rec->data_digest);
	catalog_add_event(&writer, "train", rec->name, version, NULL, json_end(&detail));

	if (rec->decision_event != NULL)
		catalog_add_event(&writer, rec->decision_event, rec->name, version, rec->decision_reason,
						  rec->comparison);
	if (rec->deploy)
	{
		QueryParams dep = {0};

		query_add_text(&dep, rec->name);
		query_add(&dep, INT4OID, Int32GetDatum(version), false);
		query_add_text(&dep, writer.caller);
		query_add_text(&dep, rec->decision_reason);
		query_run("INSERT INTO automl.deployments (name, version, deployed_by, reason)"
				  " VALUES ($1, $2, $3, $4)", &dep, SPI_OK_INSERT);
	}

	catalog_end_write(&writer);
	SPI_finish();
	return version;
}
