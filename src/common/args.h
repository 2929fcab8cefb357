/*
 * args.h: reading the arguments of the SQL-callable functions the same way
 * everywhere (a NULL where a value is needed is the same error).
 */
#ifndef AUTOML_ARGS_H
#define AUTOML_ARGS_H

#include "postgres.h"
#include "fmgr.h"

/* Text argument argno; NULL is an error naming argname ("model must not be NULL"). */
extern char *arg_required_text(FunctionCallInfo fcinfo, int argno, const char *argname);

/* Text argument argno, or NULL. */
extern char *arg_optional_text(FunctionCallInfo fcinfo, int argno);

#endif							/* AUTOML_ARGS_H */
