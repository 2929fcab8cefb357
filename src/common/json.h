/*
 * json.h: JSON documents built with PostgreSQL's jsonb API, so that what the
 * extension writes is always valid JSON: numbers are written so that they
 * read back exactly, NaN and infinity become null, strings are escaped by
 * jsonb, and one document is nested in another as a value, not spliced as
 * text.
 *
 *   JsonBuilder b;
 *   json_begin(&b);                       -- an object
 *   json_key_number(&b, "score", 0.93);
 *   json_key(&b, "columns"); json_begin_array(&b); ... json_end_array(&b);
 *   Jsonb *doc = json_end(&b);            -- closes the object
 */
#ifndef AUTOML_JSON_H
#define AUTOML_JSON_H

#include "postgres.h"
#include "utils/jsonb.h"

typedef struct JsonBuilder
{
	JsonbParseState *state;
	JsonbValue *result;
} JsonBuilder;

/* Starts a document whose root is an object. */
extern void json_begin(JsonBuilder *b);

/* Closes the root object and returns the document. */
extern Jsonb *json_end(JsonBuilder *b);

/* A document whose root is an array, and its end. */
extern void json_begin_list(JsonBuilder *b);
extern Jsonb *json_end_list(JsonBuilder *b);

/* The same, as text (for a NOTICE's detail, say). */
extern char *json_end_text(JsonBuilder *b);

extern void json_begin_object(JsonBuilder *b);
extern void json_end_object(JsonBuilder *b);
extern void json_begin_array(JsonBuilder *b);
extern void json_end_array(JsonBuilder *b);

/* A member's name; its value follows. */
extern void json_key(JsonBuilder *b, const char *key);

/* Values: a member's (after json_key) or an array element. */
extern void json_null(JsonBuilder *b);
extern void json_number(JsonBuilder *b, double v);	/* null for NaN and infinity */
extern void json_int(JsonBuilder *b, int64 v);
extern void json_bool(JsonBuilder *b, bool v);
extern void json_string(JsonBuilder *b, const char *s); /* null for NULL */
extern void json_document(JsonBuilder *b, const Jsonb *doc);	/* null for NULL */
extern void json_numbers(JsonBuilder *b, const double *v, int n);	/* an array */

/* Every member of an object document, as members of the object being built. */
extern void json_members(JsonBuilder *b, const Jsonb *object);

/* A member and its value in one call. */
extern void json_key_number(JsonBuilder *b, const char *key, double v);
extern void json_key_int(JsonBuilder *b, const char *key, int64 v);
extern void json_key_bool(JsonBuilder *b, const char *key, bool v);
extern void json_key_string(JsonBuilder *b, const char *key, const char *s);
extern void json_key_document(JsonBuilder *b, const char *key, const Jsonb *doc);

/* A stored document as text, or NULL for NULL. */
extern char *json_to_text(const Jsonb *doc);

#endif							/* AUTOML_JSON_H */
