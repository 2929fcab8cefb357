/*
 * raw.c: a deformed row's raw values (prep.h's prep_raw_from_datums), for scoring and for
 * the sums of the Citus ridge refit. Apart from prep.c, which the fuzzers and the unit
 * harness build outside the server, because it reads PostgreSQL datums (data/types.c).
 */
#include "postgres.h"

#include <math.h>

#include "prep/prep.h"

void
prep_raw_from_datums(const PrepSpec *spec, const Datum *values, const bool *isnull,
					 const int *att, const Oid *type, RawValue *raw,
					 const char **category, int *category_len)
{
	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];
		int			a = att[c];

		raw[c].isnull = isnull[a];
		if (raw[c].isnull)
			continue;
		if (pc->kind == FEATURE_CATEGORICAL)
		{
			int			len;
			const char *s = frame_datum_to_category(values[a], type[c], &len);

			raw[c].level = prep_level_of(pc, s, len);
			if (category != NULL)
			{
				category[c] = s;
				category_len[c] = len;
			}
		}
		else
		{
			raw[c].number = pc->kind == FEATURE_NUMERIC ?
				frame_datum_to_double(values[a], type[c]) :
				frame_datum_to_seconds(values[a], type[c]);
			raw[c].isnull = !isfinite(raw[c].number);
		}
	}
}
