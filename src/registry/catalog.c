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
#define AUTOML_LOCK_CLASS 0x616d6c

static Datum
text_array(const char *const *items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static void
run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expected)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expected)
		elog(ERROR, "automl catalog query failed (%s): %s", SPI_result_code_string(rc), sql);
}

int
catalog_store_model(const ModelRecord *rec, bool *deployed)
{
	Oid			types[20];
	Datum		values[20];
	char		nulls[20];
	int			version;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* Two trainings of one name in parallel must not pick the same version. */
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(rec->name);
	types[1] = INT4OID;
	values[1] = Int32GetDatum(AUTOML_LOCK_CLASS);
	run("SELECT pg_catalog.pg_advisory_xact_lock($2, pg_catalog.hashtext($1))",
		2, types, values, NULL, SPI_OK_SELECT);

	run("SELECT COALESCE(pg_catalog.max(version), 0) OPERATOR(pg_catalog.+) 1"
		" FROM automl.models WHERE name OPERATOR(pg_catalog.=) $1",
		1, types, values, NULL, SPI_OK_SELECT);
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	memset(nulls, ' ', sizeof(nulls));
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(rec->name);
	types[1] = INT4OID;
	values[1] = Int32GetDatum(version);
	types[2] = TEXTOID;
	values[2] = CStringGetTextDatum(rec->task);
	types[3] = TEXTOID;
	values[3] = CStringGetTextDatum(rec->algorithm);
	types[4] = TEXTOID;
	values[4] = CStringGetTextDatum(rec->hyperparams_json);
	types[5] = TEXTOID;
	values[5] = CStringGetTextDatum(rec->metrics_json);
	types[6] = TEXTOID;
	values[6] = CStringGetTextDatum(rec->metric);
	types[7] = FLOAT8OID;
	values[7] = Float8GetDatum(rec->score);
	nulls[7] = isnan(rec->score) ? 'n' : ' ';
	types[8] = TEXTARRAYOID;
	values[8] = text_array(rec->features, rec->n_features);
	types[9] = TEXTARRAYOID;
	values[9] = text_array(rec->feature_kinds, rec->n_features);
	types[10] = TEXTARRAYOID;
	if (rec->n_classes > 0)
		values[10] = text_array(rec->classes, rec->n_classes);
	else
	{
		values[10] = (Datum) 0;
		nulls[10] = 'n';
	}
	types[11] = TEXTOID;
	values[11] = CStringGetTextDatum(rec->summary_json);
	types[12] = TEXTOID;
	values[12] = CStringGetTextDatum(rec->source_relation);
	types[13] = TEXTOID;
	values[13] = CStringGetTextDatum(rec->target);
	types[14] = TEXTOID;
	values[14] = CStringGetTextDatum(rec->options_json);
	types[15] = INT8OID;
	values[15] = Int64GetDatum(rec->n_rows);
	types[16] = FLOAT8OID;
	values[16] = Float8GetDatum(rec->train_seconds);
	types[17] = INT4OID;
	values[17] = Int32GetDatum(MODEL_FORMAT_VERSION);
	types[18] = BYTEAOID;
	values[18] = PointerGetDatum(rec->model_bytes);

	run("INSERT INTO automl.models (name, version, task, algorithm, hyperparams, metrics,"
		" metric, score, features, feature_kinds, classes, summary, source_relation,"
		" target, options, n_rows, train_seconds, format_version, model_bytes)"
		" VALUES ($1, $2, $3, $4, $5::pg_catalog.jsonb, $6::pg_catalog.jsonb, $7, $8, $9,"
		" $10, $11, $12::pg_catalog.jsonb, $13, $14, $15::pg_catalog.jsonb, $16, $17, $18, $19)",
		19, types, values, nulls, SPI_OK_INSERT);

	/* The first version of a name serves at once; later ones wait for a deploy. */
	run("SELECT 1 FROM automl.deployments WHERE name OPERATOR(pg_catalog.=) $1 LIMIT 1",
		1, types, values, NULL, SPI_OK_SELECT);
	*deployed = (SPI_processed == 0);
	if (*deployed)
		run("INSERT INTO automl.deployments (name, version, reason)"
			" VALUES ($1, $2, 'first version of the model')",
			2, types, values, NULL, SPI_OK_INSERT);

	SPI_finish();
	return version;
}
