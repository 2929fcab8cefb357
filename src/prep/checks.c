/*
 * checks.c: data-quality checks that a careful analyst would make before
 * trusting a model: a column that alone predicts the target (leakage), too
 * few rows for the number of inputs, and columns that look like personal data.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "miscadmin.h"
#include "prep/prep.h"

#define LEAKAGE_THRESHOLD 0.99
#define MIN_ROWS_PER_INPUT 10
#define PII_SAMPLE 1000
#define AUC_SAMPLE 100000			/* rows sorted for a column's ROC AUC, at most */

typedef struct ValueClass
{
	double		value;
	bool		positive;
} ValueClass;

static int
compare_value_class(const void *a, const void *b)
{
	double		x = ((const ValueClass *) a)->value;
	double		y = ((const ValueClass *) b)->value;

	return (x > y) - (x < y);
}

/*
 * ROC AUC of a numeric column against a binary target (0.5 = no signal), on
 * an evenly spaced sample of at most AUC_SAMPLE rows: enough to tell 0.99.
 */
static double
single_column_auc(const FrameColumn *col, const int *label, int64 n)
{
	int64		stride = Max(1, n / AUC_SAMPLE);
	ValueClass *rows = MemoryContextAllocHuge(CurrentMemoryContext,
											  sizeof(ValueClass) * Max(n / stride + 1, 1));
	int64		m = 0,
				n_pos = 0;
	double		rank_sum = 0.0;

	for (int64 i = 0; i < n; i += stride)
	{
		if (isnan(col->values[i]))
			continue;
		rows[m].value = col->values[i];
		rows[m].positive = label[i] == 1;
		n_pos += rows[m].positive;
		m++;
	}
	if (n_pos == 0 || n_pos == m)
	{
		pfree(rows);
		return 0.5;
	}
	qsort(rows, m, sizeof(ValueClass), compare_value_class);
	for (int64 i = 0; i < m;)
	{
		int64		j = i,
					pos = 0;

		while (j < m && rows[j].value == rows[i].value)
			pos += rows[j++].positive;
		rank_sum += pos * (i + 1 + j) / 2.0;
		i = j;
	}
	pfree(rows);
	return (rank_sum - n_pos * (n_pos + 1) / 2.0) / ((double) n_pos * (m - n_pos));
}

/* Pearson correlation of a numeric column with a numeric target. */
static double
single_column_correlation(const FrameColumn *col, const double *y, int64 n)
{
	double		sx = 0,
				sy = 0,
				sxx = 0,
				syy = 0,
				sxy = 0;
	int64		m = 0;

	for (int64 i = 0; i < n; i++)
	{
		double		x = col->values[i];

		if (isnan(x))
			continue;
		sx += x;
		sy += y[i];
		m++;
	}
	if (m < 2)
		return 0.0;
	sx /= m;
	sy /= m;
	for (int64 i = 0; i < n; i++)
	{
		double		x = col->values[i];

		if (isnan(x))
			continue;
		sxx += (x - sx) * (x - sx);
		syy += (y[i] - sy) * (y[i] - sy);
		sxy += (x - sx) * (y[i] - sy);
	}
	if (sxx <= 0 || syy <= 0)
		return 0.0;
	return sxy / sqrt(sxx * syy);
}

/*
 * How well "the usual class of this level" predicts the class: the accuracy
 * of predicting each level's majority class, over rows with a value. Levels
 * seen once are left out: they would make any identifier look perfect.
 */
static double
category_purity(const FrameColumn *col, const int *label, int n_classes, int64 n)
{
	int			n_codes = col->dict->n_values;
	int64	   *counts = MemoryContextAllocHuge(CurrentMemoryContext,
												sizeof(int64) * (Size) n_codes * n_classes);
	int64		correct = 0,
				total = 0;

	memset(counts, 0, sizeof(int64) * (Size) n_codes * n_classes);
	for (int64 i = 0; i < n; i++)
	{
		if (col->codes[i] >= 0)
			counts[(int64) col->codes[i] * n_classes + label[i]]++;
	}
	for (int c = 0; c < n_codes; c++)
	{
		int64		best = 0,
					sum = 0;

		for (int k = 0; k < n_classes; k++)
		{
			best = Max(best, counts[(int64) c * n_classes + k]);
			sum += counts[(int64) c * n_classes + k];
		}
		if (sum < 2)
			continue;
		correct += best;
		total += sum;
	}
	pfree(counts);
	return total > 0 ? (double) correct / total : 0.0;
}

void
prep_check_target(const PrepSpec *spec, const Frame *frame, bool classification,
				  int n_classes, PrepWarnings *warnings)
{
	const TargetColumn *tc = &frame->target;
	int64		n = frame->n_rows;
	double		majority_share = 0.0;

	if (classification)
	{
		int64	   *count = palloc0(sizeof(int64) * n_classes);

		for (int64 i = 0; i < n; i++)
			count[tc->codes[i]]++;
		for (int k = 0; k < n_classes; k++)
			majority_share = Max(majority_share, (double) count[k] / n);
		pfree(count);
	}

	for (int c = 0; c < spec->n_columns; c++)
	{
		const PrepColumn *pc = &spec->columns[c];
		const FrameColumn *col = &frame->columns[pc->frame_column];
		double		strength = 0.0;
		const char *measure = NULL;

		CHECK_FOR_INTERRUPTS();
		if (col->kind != FEATURE_CATEGORICAL && classification && n_classes == 2)
		{
			double		auc = single_column_auc(col, tc->codes, n);

			strength = Max(auc, 1.0 - auc);
			measure = "ROC AUC";
		}
		else if (col->kind != FEATURE_CATEGORICAL && !classification)
		{
			strength = fabs(single_column_correlation(col, tc->values, n));
			measure = "correlation";
		}
		else if (col->kind == FEATURE_CATEGORICAL && classification)
		{
			double		purity = category_purity(col, tc->codes, n_classes, n);

			/* only meaningful when the classes are not already near-pure */
			if (majority_share < LEAKAGE_THRESHOLD)
			{
				strength = purity;
				measure = "accuracy";
			}
		}
		if (measure != NULL && strength >= LEAKAGE_THRESHOLD)
			prep_warn(warnings, WARNING, "leakage", col->name,
					  "A column that is known only after the outcome leaks the answer; exclude it if so.",
					  "column \"%s\" alone predicts the target almost perfectly (%s %.3f): possible leakage",
					  col->name, measure, strength);
	}

	if (n < (int64) MIN_ROWS_PER_INPUT * spec->n_outputs)
		prep_warn(warnings, NOTICE, "few_rows", NULL,
				  "More rows, or fewer columns (exclude), give a more reliable model.",
				  "only " INT64_FORMAT " rows for %d model inputs", n, spec->n_outputs);
}

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
