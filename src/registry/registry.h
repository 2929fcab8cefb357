/*
 * registry.h: models as catalog rows. The in-memory Model, its versioned
 * binary format, the catalog (automl.models, automl.deployments) and the
 * per-backend cache of loaded models.
 */
#ifndef AUTOML_REGISTRY_H
#define AUTOML_REGISTRY_H

#include "postgres.h"
#include "learn/learner.h"
#include "prep/prep.h"

/* A trained model: the feature spec, the learner's state, the classes. */
typedef struct Model
{
	Task		task;
	const Learner *learner;
	void	   *learner_state;
	PrepSpec   *prep;
	int			n_classes;		/* 0 for regression */
	char	  **classes;		/* labels as spelled in the training data, sorted */
} Model;

/* ---- binary format (model_format.c) ---- */

#define MODEL_FORMAT_VERSION 1

/* Model bytes: a 32-byte header (magic, format version, length, CRC-32), then the payload. */
extern bytea *model_serialize(const Model *model);

/* Validates everything; a corrupted or truncated buffer raises ERRCODE_DATA_CORRUPTED. */
extern Model *model_deserialize(const char *data, size_t len);

/* ---- catalog (catalog.c) ---- */

/* What one training run stores; the catalog adds the version, who and when. */
typedef struct ModelRecord
{
	const char *name;
	const char *task;
	const char *algorithm;
	const char *hyperparams_json;
	const char *metrics_json;
	const char *metric;
	double		score;
	int			n_features;
	const char *const *features;
	const char *const *feature_kinds;
	int			n_classes;
	const char *const *classes;
	const char *summary_json;
	const char *source_relation;
	const char *target;
	const char *options_json;
	const char *warnings_json;
	const char *profile_json;
	int64		n_rows;
	double		train_seconds;
	bytea	   *model_bytes;
} ModelRecord;

/*
 * Stores rec as the next version of its name and deploys it when the name has
 * no deployed version. Returns the version; *deployed says whether it serves.
 */
extern int	catalog_store_model(const ModelRecord *rec, bool *deployed);

/* ---- per-backend cache (model_cache.c) ---- */

/*
 * The model that ref names: "name" (the deployed version) or "name@N".
 * Resolves the version with one catalog query and loads the bytes only when
 * this backend has not loaded that exact row yet. The result stays valid
 * until the next call.
 */
extern Model *model_cache_lookup(const char *ref, char **name_out, int *version_out);

#endif							/* AUTOML_REGISTRY_H */
