/*
 * checks.c: columns that look like personal data, and the record of what
 * the data checks said (the checks against the target are the search's:
 * src/search/leakage.c).
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "miscadmin.h"
#include "prep/prep.h"

/* ---- the record of what the checks said ---- */

Jsonb *
prep_warnings_json(const PrepWarnings *w)
{
	JsonBuilder b;

	json_begin_list(&b);
	for (int i = 0; i < w->count; i++)
	{
		const PrepWarning *item = &w->items[i];

		json_begin_object(&b);
		json_key_string(&b, "check", item->check);
		json_key_string(&b, "column", item->column);
		json_key_string(&b, "message", item->message);
		json_end_object(&b);
	}
	return json_end_list(&b);
}

#define PII_SAMPLE 1000

/*
 * ---- personal data ----
 *
 * A column is named when most of its values are shaped like e-mail
 * addresses or phone numbers, or when its name says so (email, phone, ssn,
 * birth date, ...) and it is not a category with a handful of values.
 */

static const char *const personal_name_parts[] = {
	"email", "e_mail", "phone", "mobile", "ssn", "social_security", "birth", "dob",
	"passport", "first_name", "last_name", "surname", "full_name", "street", "address",
	"iban", "credit_card", "card_number"
};

static bool
name_looks_personal(const char *name)
{
	char	   *lower = pstrdup(name);
	bool		found = false;

	for (char *p = lower; *p; p++)
		*p = (char) tolower((unsigned char) *p);
	for (size_t i = 0; i < lengthof(personal_name_parts) && !found; i++)
		found = strstr(lower, personal_name_parts[i]) != NULL;
	pfree(lower);
	return found;
}

static bool
value_is_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strchr(s, ' ') != NULL)
		return false;
	return strchr(at + 1, '.') != NULL && at[1] != '.' && s[strlen(s) - 1] != '.';
}

static bool
value_is_phone(const char *s)
{
	int			digits = 0;

	if (strlen(s) > 20)
		return false;
	for (const char *p = s; *p; p++)
	{
		if (isdigit((unsigned char) *p))
			digits++;
		else if (!strchr(" +-().", *p))
			return false;
	}
	return digits >= 7 && digits <= 15;
}

void
prep_check_personal_data(const Frame *frame, PrepWarnings *warnings)
{
	for (int c = 0; c < frame->n_columns; c++)
	{
		const FrameColumn *col = &frame->columns[c];
		const char *shape = NULL;

		if (col->kind == FEATURE_CATEGORICAL && col->dict->n_values > 0)
		{
			int			n = Min(col->dict->n_values, PII_SAMPLE);
			int			emails = 0,
						phones = 0;

			for (int k = 0; k < n; k++)
			{
				emails += value_is_email(col->dict->values[k]);
				phones += value_is_phone(col->dict->values[k]);
			}
			if (emails >= 0.8 * n)
				shape = "e-mail addresses";
			else if (phones >= 0.8 * n)
				shape = "phone numbers";
		}
		if (shape != NULL)
			prep_warn(warnings, WARNING, "personal_data", col->name,
					  "Exclude personal data the model does not need: exclude => ARRAY['...'].",
					  "column \"%s\" holds values shaped like %s: possible personal data",
					  col->name, shape);
		/* by name, but a yes/no column such as own_telephone holds nobody's data */
		else if (name_looks_personal(col->name) &&
				 (col->kind != FEATURE_CATEGORICAL || col->dict->n_values > 20))
			prep_warn(warnings, WARNING, "personal_data", col->name,
					  "Exclude personal data the model does not need: exclude => ARRAY['...'].",
					  "column \"%s\" is named like personal data", col->name);
	}
}
