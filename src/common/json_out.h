/*
 * json_out.h: the two JSON values the catalog's jsonb columns are built from
 * in C: a number that reads back exactly (null for NaN and infinity) and a
 * string (null for NULL).
 */
#ifndef AUTOML_JSON_OUT_H
#define AUTOML_JSON_OUT_H

#include "postgres.h"
#include "lib/stringinfo.h"

extern void json_append_number(StringInfo json, double v);
extern void json_append_string(StringInfo json, const char *s);

#endif							/* AUTOML_JSON_OUT_H */
