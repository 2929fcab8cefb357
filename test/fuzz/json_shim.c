/*
 * json_shim.c: the JSON writer (src/common/json.c) builds jsonb with the
 * server's jsonb functions, which the standalone harnesses do not link. The
 * learners call it only to describe a fitted model for the catalog
 * (Learner.summarize), which no harness does: each stand-in aborts, so a
 * harness that reached one would fail loudly.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/json.h"

static void
not_in_harness(const char *what)
{
	fprintf(stderr, "json_shim: %s called outside the server\n", what);
	abort();
}

void
json_begin_object(JsonBuilder *b)
{
	not_in_harness("json_begin_object");
}

void
json_end_object(JsonBuilder *b)
{
	not_in_harness("json_end_object");
}

void
json_begin_array(JsonBuilder *b)
{
	not_in_harness("json_begin_array");
}

void
json_end_array(JsonBuilder *b)
{
	not_in_harness("json_end_array");
}

void
json_key(JsonBuilder *b, const char *key)
{
	not_in_harness("json_key");
}

void
json_key_int(JsonBuilder *b, const char *key, int64 v)
{
	not_in_harness("json_key_int");
}

void
json_numbers(JsonBuilder *b, const double *v, int n)
{
	not_in_harness("json_numbers");
}
