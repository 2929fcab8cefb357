/*
 * types.c: which column types the frame reads, and how a Datum of each
 * becomes a number, a time or a category. Shared by the scan and by scoring,
 * so training and prediction read values the same way.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "data/frame.h"
#include "utils/date.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

/* Seconds from 1970-01-01 (Unix) to 2000-01-01 (PostgreSQL's epoch). */
#define PG_EPOCH_UNIX_SECONDS 946684800.0

bool
frame_kind_of_type(Oid base_type, FeatureKind *kind)
{
	switch (base_type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
		case BOOLOID:
			*kind = FEATURE_NUMERIC;
			return true;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			*kind = FEATURE_CATEGORICAL;
			return true;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			*kind = FEATURE_DATETIME;
			return true;
		default:
			if (type_is_enum(base_type))
			{
				*kind = FEATURE_CATEGORICAL;
				return true;
			}
			return false;
	}
}

bool
frame_type_is_numeric(Oid base_type)
{
	FeatureKind kind;

	return frame_kind_of_type(base_type, &kind) && kind == FEATURE_NUMERIC;
}

double
frame_datum_to_double(Datum value, Oid type_oid)
{
	switch (type_oid)
	{
		case INT2OID:
			return (double) DatumGetInt16(value);
		case INT4OID:
			return (double) DatumGetInt32(value);
		case INT8OID:
			return (double) DatumGetInt64(value);
		case FLOAT4OID:
			return (double) DatumGetFloat4(value);
		case FLOAT8OID:
			return DatumGetFloat8(value);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, value));
		case BOOLOID:
			return DatumGetBool(value) ? 1.0 : 0.0;
		default:
			elog(ERROR, "type %u is not numeric", type_oid);
	}
	return 0.0;					/* keep the compiler quiet */
}

double
frame_datum_to_seconds(Datum value, Oid type_oid)
{
	switch (type_oid)
	{
		case DATEOID:
			{
				DateADT		d = DatumGetDateADT(value);

				if (DATE_NOT_FINITE(d))
					return DATE_IS_NOBEGIN(d) ? -INFINITY : INFINITY;
				return (double) d * SECS_PER_DAY + PG_EPOCH_UNIX_SECONDS;
			}
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			{
				Timestamp	t = DatumGetTimestamp(value);

				if (TIMESTAMP_NOT_FINITE(t))
					return TIMESTAMP_IS_NOBEGIN(t) ? -INFINITY : INFINITY;
				return (double) t / USECS_PER_SEC + PG_EPOCH_UNIX_SECONDS;
			}
		default:
			elog(ERROR, "type %u is not a date or time", type_oid);
	}
	return 0.0;
}

const char *
frame_datum_to_category(Datum value, Oid type_oid, int *len)
{
	static Oid	cached_type = InvalidOid;
	static Oid	cached_out_func = InvalidOid;

	switch (type_oid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(value);
				const char *s = VARDATA_ANY(v);
				int			n = VARSIZE_ANY_EXHDR(v);

				if (type_oid == BPCHAROID)
				{
					while (n > 0 && s[n - 1] == ' ')
						n--;
				}
				*len = n;
				return s;
			}
		case NAMEOID:
			{
				const char *s = NameStr(*DatumGetName(value));

				*len = (int) strlen(s);
				return s;
			}
		default:
			{
				/* enums, and anything else by its output function */
				char	   *s;

				if (type_oid != cached_type)
				{
					bool		is_varlena;

					getTypeOutputInfo(type_oid, &cached_out_func, &is_varlena);
					cached_type = type_oid;
				}
				s = OidOutputFunctionCall(cached_out_func, value);
				*len = (int) strlen(s);
				return s;
			}
	}
}

const char *
frame_datum_to_label(Datum value, Oid type_oid, int *len)
{
	if (type_oid == BOOLOID)
	{
		*len = DatumGetBool(value) ? 4 : 5;
		return DatumGetBool(value) ? "true" : "false";
	}
	return frame_datum_to_category(value, type_oid, len);
}
