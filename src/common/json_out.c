/*
 * json_out.c: JSON numbers and strings for the catalog's jsonb columns.
 */
#include "postgres.h"

#include <math.h>

#include "common/json_out.h"
#include "utils/json.h"

void
json_append_number(StringInfo json, double v)
{
	if (isnan(v) || isinf(v))
		appendStringInfoString(json, "null");
	else
		appendStringInfo(json, "%.17g", v);
}

void
json_append_string(StringInfo json, const char *s)
{
	if (s == NULL)
		appendStringInfoString(json, "null");
	else
		escape_json(json, s);
}
