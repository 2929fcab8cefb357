/*
 * json.c: a small writer of jsonb documents (json.h).
 */
#include "postgres.h"

#include <math.h>

#include "common/json.h"
#include "common/shortest_dec.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

static void
push_scalar(JsonBuilder *b, JsonbValue *v)
{
	JsonbIteratorToken token = WJB_ELEM;

	if (b->state == NULL)
		elog(ERROR, "automl JSON value outside a document");
	if (b->state->contVal.type == jbvObject)
		token = WJB_VALUE;
	b->result = pushJsonbValue(&b->state, token, v);
}

void
json_begin(JsonBuilder *b)
{
	b->state = NULL;
	b->result = pushJsonbValue(&b->state, WJB_BEGIN_OBJECT, NULL);
}

Jsonb *
json_end(JsonBuilder *b)
{
	b->result = pushJsonbValue(&b->state, WJB_END_OBJECT, NULL);
	if (b->state != NULL)
		elog(ERROR, "automl JSON document closed with a container still open");
	return JsonbValueToJsonb(b->result);
}

void
json_begin_list(JsonBuilder *b)
{
	b->state = NULL;
	b->result = pushJsonbValue(&b->state, WJB_BEGIN_ARRAY, NULL);
}

Jsonb *
json_end_list(JsonBuilder *b)
{
	b->result = pushJsonbValue(&b->state, WJB_END_ARRAY, NULL);
	if (b->state != NULL)
		elog(ERROR, "automl JSON document closed with a container still open");
	return JsonbValueToJsonb(b->result);
}

char *
json_end_text(JsonBuilder *b)
{
	return json_to_text(json_end(b));
}

void
json_begin_object(JsonBuilder *b)
{
	b->result = pushJsonbValue(&b->state, WJB_BEGIN_OBJECT, NULL);
}

void
json_end_object(JsonBuilder *b)
{
	b->result = pushJsonbValue(&b->state, WJB_END_OBJECT, NULL);
}

void
json_begin_array(JsonBuilder *b)
{
	b->result = pushJsonbValue(&b->state, WJB_BEGIN_ARRAY, NULL);
}

void
json_end_array(JsonBuilder *b)
{
	b->result = pushJsonbValue(&b->state, WJB_END_ARRAY, NULL);
}

void
json_key(JsonBuilder *b, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = pstrdup(key);
	v.val.string.len = strlen(key);
	b->result = pushJsonbValue(&b->state, WJB_KEY, &v);
}

void
json_null(JsonBuilder *b)
{
	JsonbValue	v;

	v.type = jbvNull;
	push_scalar(b, &v);
}

void
json_number(JsonBuilder *b, double d)
{
	JsonbValue	v;
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (isnan(d) || isinf(d))
	{
		json_null(b);
		return;
	}
	/* the shortest decimal that reads back as d, whatever extra_float_digits says */
	double_to_shortest_decimal_buf(d, digits);
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(digits),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1)));
	push_scalar(b, &v);
}

void
json_int(JsonBuilder *b, int64 i)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(i);
	push_scalar(b, &v);
}

void
json_bool(JsonBuilder *b, bool flag)
{
	JsonbValue	v;

	v.type = jbvBool;
	v.val.boolean = flag;
	push_scalar(b, &v);
}

void
json_string(JsonBuilder *b, const char *s)
{
	JsonbValue	v;

	if (s == NULL)
	{
		json_null(b);
		return;
	}
	v.type = jbvString;
	v.val.string.val = pstrdup(s);
	v.val.string.len = strlen(s);
	push_scalar(b, &v);
}

void
json_document(JsonBuilder *b, const Jsonb *doc)
{
	JsonbValue	v;

	if (doc == NULL)
	{
		json_null(b);
		return;
	}
	if (JB_ROOT_IS_SCALAR(doc))
	{
		/* a scalar document is stored as a one-element array: take the element */
		JsonbValue	scalar;

		if (!JsonbExtractScalar((JsonbContainer *) &doc->root, &scalar))
			elog(ERROR, "automl JSON scalar document without its scalar");
		push_scalar(b, &scalar);
		return;
	}
	/* pushJsonbValue unpacks a binary container given as a value or element */
	v.type = jbvBinary;
	v.val.binary.data = (JsonbContainer *) &doc->root;
	v.val.binary.len = VARSIZE(doc) - VARHDRSZ;
	push_scalar(b, &v);
}

void
json_members(JsonBuilder *b, const Jsonb *object)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;

	if (!JB_ROOT_IS_OBJECT(object))
		elog(ERROR, "automl JSON members of a document that is not an object");
	it = JsonbIteratorInit((JsonbContainer *) &object->root);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		/* skipNested: a nested container comes whole, as a binary value */
		if (token == WJB_KEY)
			b->result = pushJsonbValue(&b->state, WJB_KEY, &v);
		else if (token == WJB_VALUE)
			b->result = pushJsonbValue(&b->state, WJB_VALUE, &v);
	}
}

void
json_numbers(JsonBuilder *b, const double *v, int n)
{
	json_begin_array(b);
	for (int i = 0; i < n; i++)
		json_number(b, v[i]);
	json_end_array(b);
}

void
json_key_number(JsonBuilder *b, const char *key, double v)
{
	json_key(b, key);
	json_number(b, v);
}

void
json_key_int(JsonBuilder *b, const char *key, int64 v)
{
	json_key(b, key);
	json_int(b, v);
}

void
json_key_bool(JsonBuilder *b, const char *key, bool v)
{
	json_key(b, key);
	json_bool(b, v);
}

void
json_key_string(JsonBuilder *b, const char *key, const char *s)
{
	json_key(b, key);
	json_string(b, s);
}

void
json_key_document(JsonBuilder *b, const char *key, const Jsonb *doc)
{
	json_key(b, key);
	json_document(b, doc);
}

char *
json_to_text(const Jsonb *doc)
{
	if (doc == NULL)
		return NULL;
	return JsonbToCString(NULL, (JsonbContainer *) &doc->root, VARSIZE(doc));
}
