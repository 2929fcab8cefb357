/*
 * catalog.c: writing model versions and deployments to schema automl.
 *
 * Every query is schema-qualified and uses OPERATOR(pg_catalog.=), and every
 * value is a parameter, so neither search_path nor user input can change
 * what runs.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "registry/registry.h"
#include "utils/array.h"
#include "utils/builtins.h"

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

/* Parameters of one catalog query, added in order as $1, $2, ... */
typedef struct QueryParams
{
	int			n;
	Oid			types[24];
	Datum		values[24];
	char		nulls[24];
} QueryParams;

static void
add_param(QueryParams *p, Oid type, Datum value, bool isnull)
{
	Assert(p->n < lengthof(p->types));
	p->types[p->n] = type;
	p->values[p->n] = value;
	p->nulls[p->n] = isnull ? 'n' : ' ';
	p->n++;
}

static void
add_text(QueryParams *p, const char *value)
{
	add_param(p, TEXTOID, CStringGetTextDatum(value), false);
}

static void
run(const char *sql, const QueryParams *p, int expected)
{
	int			rc = SPI_execute_with_args(sql, p->n, (Oid *) p->types, (Datum *) p->values,
										   p->nulls, false, 0);

	if (rc != expected)
		elog(ERROR, "automl catalog query failed (%s): %s", SPI_result_code_string(rc), sql);
}

int
catalog_store_model(const ModelRecord *rec, bool *deployed)
{
	QueryParams key = {0};
	QueryParams row = {0};
	int			version;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* Two trainings of one name in parallel must not pick the same version. */
	add_text(&key, rec->name);
	run("SELECT pg_catalog.pg_advisory_xact_lock(" CppAsString2(AUTOML_LOCK_CLASS) ", pg_catalog.hashtext($1))",
		&key, SPI_OK_SELECT);
	run("SELECT COALESCE(pg_catalog.max(version), 0) OPERATOR(pg_catalog.+) 1"
		" FROM automl.models WHERE name OPERATOR(pg_catalog.=) $1",
		&key, SPI_OK_SELECT);
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	add_param(&key, INT4OID, Int32GetDatum(version), false);

	add_text(&row, rec->name);
	add_param(&row, INT4OID, Int32GetDatum(version), false);
	add_text(&row, rec->task);
	add_text(&row, rec->algorithm);
	add_text(&row, rec->hyperparams_json);
	add_text(&row, rec->metrics_json);
	add_text(&row, rec->metric);
	add_param(&row, FLOAT8OID, Float8GetDatum(rec->score), isnan(rec->score));
	add_param(&row, TEXTARRAYOID, text_array(rec->features, rec->n_features), false);
	add_param(&row, TEXTARRAYOID, text_array(rec->feature_kinds, rec->n_features), false);
	add_param(&row, TEXTARRAYOID,
			  rec->n_classes > 0 ? text_array(rec->classes, rec->n_classes) : (Datum) 0,
			  rec->n_classes == 0);
	add_text(&row, rec->summary_json);
	add_text(&row, rec->source_relation);
	add_text(&row, rec->target);
	add_text(&row, rec->options_json);
	add_text(&row, rec->warnings_json);
	add_text(&row, rec->profile_json);
	add_param(&row, INT8OID, Int64GetDatum(rec->n_rows), false);
	add_param(&row, FLOAT8OID, Float8GetDatum(rec->train_seconds), false);
	add_param(&row, INT4OID, Int32GetDatum(MODEL_FORMAT_VERSION), false);
	add_param(&row, BYTEAOID, PointerGetDatum(rec->model_bytes), false);
	run("INSERT INTO automl.models (name, version, task, algorithm, hyperparams, metrics,"
		" metric, score, features, feature_kinds, classes, summary, source_relation,"
		" target, options, warnings, profile, n_rows, train_seconds, format_version, model_bytes)"
		" VALUES ($1, $2, $3, $4, $5::pg_catalog.jsonb, $6::pg_catalog.jsonb, $7, $8, $9,"
		" $10, $11, $12::pg_catalog.jsonb, $13, $14, $15::pg_catalog.jsonb,"
		" $16::pg_catalog.jsonb, $17::pg_catalog.jsonb, $18, $19, $20, $21)",
		&row, SPI_OK_INSERT);

	/* The first version of a name serves at once; later ones wait for a deploy. */
	run("SELECT 1 FROM automl.deployments WHERE name OPERATOR(pg_catalog.=) $1 LIMIT 1",
		&key, SPI_OK_SELECT);
	*deployed = (SPI_processed == 0);
	if (*deployed)
		run("INSERT INTO automl.deployments (name, version, reason)"
			" VALUES ($1, $2, 'first version of the model')",
			&key, SPI_OK_INSERT);

	SPI_finish();
	return version;
}
