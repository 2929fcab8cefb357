/*
 * card.c: what the owner says about a model, for its card. The card itself
 * is SQL over the catalog (automl_model_card in sql/install/evaluation.sql).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/args.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "registry/catalog_sql.h"
#include "registry/registry.h"
#include "utils/builtins.h"

#define MAX_INTENDED_USE 100000

PG_FUNCTION_INFO_V1(automl_set_intended_use);

/* automl_set_intended_use(name, intended_use): owner only; NULL clears it. */
Datum
automl_set_intended_use(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = arg_required_text(fcinfo, 0, "name");
	char	   *text = arg_optional_text(fcinfo, 1);
	CatalogWriter writer;
	QueryParams p = {0};
	Datum		values[2];
	bool		nulls[2] = {false, false};

	InitMaterializedSRF(fcinfo, 0);
	if (text && strlen(text) > MAX_INTENDED_USE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("intended_use is %zu bytes, more than the %d a model card keeps",
						strlen(text), MAX_INTENDED_USE),
				 errhint("Link to a longer document instead.")));
	catalog_check_owner(name, "describe", true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_begin_write(&writer);
	query_add_text(&p, name);
	query_add_text(&p, text);
	query_add_text(&p, writer.caller);
	query_run("INSERT INTO automl.descriptions (name, intended_use, updated_by) VALUES ($1, $2, $3)"
			  " ON CONFLICT (name) DO UPDATE SET intended_use = EXCLUDED.intended_use,"
			  " updated_by = EXCLUDED.updated_by, updated_at = pg_catalog.now()", &p, SPI_OK_INSERT);
	catalog_end_write(&writer);
	SPI_finish();

	values[0] = CStringGetTextDatum(name);
	values[1] = text ? CStringGetTextDatum(text) : (Datum) 0;
	nulls[1] = text == NULL;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
