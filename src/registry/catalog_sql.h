/*
 * catalog_sql.h: parameterised SPI queries on the catalog, shared by the
 * registry's files (catalog.c, lifecycle.c). Callers are connected to SPI.
 */
#ifndef AUTOML_CATALOG_SQL_H
#define AUTOML_CATALOG_SQL_H

#include "postgres.h"
#include "registry/registry.h"

/* Parameters of one catalog query, added in order as $1, $2, ... */
typedef struct QueryParams
{
	int			n;
	Oid			types[32];
	Datum		values[32];
	char		nulls[32];
} QueryParams;

extern void query_add(QueryParams *p, Oid type, Datum value, bool isnull);
extern void query_add_text(QueryParams *p, const char *value);	/* NULL gives SQL NULL */
extern void query_add_jsonb(QueryParams *p, const Jsonb *value);	/* NULL gives SQL NULL */
extern void query_run(const char *sql, const QueryParams *p, int expected);
extern char *query_text_result(void);

/* Serialises changes to one model name until the transaction ends. */
extern void catalog_lock_name(const char *name);

extern void catalog_add_event(const CatalogWriter *writer, const char *event, const char *name,
							  int version, const char *reason, const Jsonb *detail);

#endif							/* AUTOML_CATALOG_SQL_H */
