/*
 * registry.h: models as catalog rows: the versioned binary format of a
 * Model (learn/model.h) or a forecaster (forecast/forecast.h), the catalog
 * (automl.models, automl.deployments, automl.events) and the per-backend
 * cache of loaded models.
 */
#ifndef AUTOML_REGISTRY_H
#define AUTOML_REGISTRY_H

#include "postgres.h"
#include "common/json.h"
#include "forecast/forecast.h"
#include "learn/model.h"

/* ---- binary format (model_format.c) ---- */

/*
 * 3: the header's checksum is CRC-32C (PostgreSQL's pg_crc32c); the payload
 *    is format 2's.
 * 2: calibration, tree node covers and linear input means (explanations);
 *    what automl 0.1.0 writes, still read.
 * Version 1 was never released and is refused.
 */
#define MODEL_FORMAT_VERSION 3
#define MODEL_FORMAT_OLDEST 2

/* Model bytes: a 32-byte header (magic, format version, length, CRC-32), then the payload. */
extern bytea *model_serialize(const Model *model);

/* Validates everything; a corrupted or truncated buffer raises ERRCODE_DATA_CORRUPTED. */
extern Model *model_deserialize(const char *data, size_t len);

/* The task byte that starts a forecast model's payload (src/forecast). */
#define MODEL_TASK_FORECAST 2

/* Model bytes around a payload: the header with magic, version, length and CRC. */
extern bytea *model_bytes_wrap(const ByteWriter *payload);

/* Checks the header, length and checksum; returns a reader over the payload. */
extern ByteReader model_bytes_open(const char *data, size_t len);

/* ---- a forecast model's bytes (forecast_format.c) ---- */

/* Model bytes (the registry's header) with task MODEL_TASK_FORECAST. */
extern bytea *forecast_model_serialize(const ForecastModel *model);

/* Validates everything; damaged bytes raise ERRCODE_DATA_CORRUPTED. */
extern ForecastModel *forecast_model_deserialize(const char *data, size_t len);

/* ---- catalog (catalog.c) ---- */

/* One trial of the search, as automl.trials stores it. */
typedef struct TrialRecord
{
	int			number;
	const char *algorithm;
	Jsonb	   *hyperparams;
	double		score;			/* NaN: NULL */
	double		score_std;		/* NaN: NULL */
	double		fit_seconds;
	int64		rows_used;
	const char *status;
	const char *error;			/* or NULL */
	int			rank;			/* 1 = best; 0: unranked (did not finish) */
	bool		selected;		/* refit into the stored model */
	double		ensemble_weight;	/* NaN: not an ensemble member */
} TrialRecord;

/* What one training run stores; the catalog adds the version, who and when. */
typedef struct ModelRecord
{
	const char *name;
	const char *task;
	const char *algorithm;
	Jsonb	   *hyperparams;
	Jsonb	   *metrics;
	const char *metric;
	double		score;
	int			n_features;
	const char *const *features;
	const char *const *feature_kinds;
	int			n_classes;
	const char *const *classes;
	Jsonb	   *summary;
	const char *source_relation;
	const char *source_kind;	/* table, view, materialized view, ... */
	const char *source_definition;	/* a view's query, or NULL */
	const char *target;
	Jsonb	   *options;
	Jsonb	   *warnings;
	Jsonb	   *calibration;	/* classification: what calibration chose; else NULL */
	Jsonb	   *profile;
	int64		n_rows;
	const char *data_digest;
	double		train_seconds;
	bytea	   *model_bytes;
	int			n_trials;
	const TrialRecord *trials;

	/* the deployment decision */
	int			parent_version; /* the deployed version compared against, or 0 */
	Jsonb	   *comparison;	/* scores of both on the same rows, or NULL */
	bool		deploy;
	const char *decision_event; /* deploy, auto_deploy, auto_deploy_refused, or NULL */
	const char *decision_reason;
} ModelRecord;

/* A model name's deployment policy and state. */
typedef struct ModelPolicy
{
	bool		exists;
	bool		auto_deploy;
	double		min_gain;
	int			deployed_version;	/* 0 when none */
} ModelPolicy;

/*
 * Errors unless the calling role may change model name: a new name may be
 * taken by anyone (who then owns it); an existing one only by its owner, a
 * member of the owner role, or a superuser. With must_exist, an unknown name
 * is an error too. action names what was attempted, for the message.
 */
extern void catalog_check_owner(const char *name, const char *action, bool must_exist);

extern ModelPolicy catalog_get_policy(const char *name);

/*
 * Stores rec as the next version of its name, with its training event and
 * deployment decision, and returns the version. A decision to deploy is
 * withdrawn (rec->deploy becomes false, with the reason) when another version
 * was deployed while this one trained.
 */
extern int	catalog_store_model(ModelRecord *rec);

/*
 * Catalog writes run as the extension's owner, so that ordinary roles need no
 * privileges on the catalog tables; callers check ownership first.
 */
typedef struct CatalogWriter
{
	Oid			saved_user;
	int			saved_context;
	char	   *caller;			/* the role that called, for who columns */
} CatalogWriter;

/* The role that owns the extension (and so the catalog). Connected to SPI. */
extern Oid	catalog_extension_owner(void);

extern void catalog_begin_write(CatalogWriter *writer);
extern void catalog_end_write(CatalogWriter *writer);

extern const char *catalog_extension_version(void);

/* ---- the scoring replica on Citus workers (replica.c, sql/install/scale_out.sql) ---- */

/* Whether this backend runs on a Citus worker, where models come from automl.replica. Connected to SPI. */
extern bool replica_in_use(void);

/* automl.replica is read as the extension owner, with Citus's nested execution allowed. */
typedef struct ReplicaRead
{
	Oid			caller;			/* the role that scores */
	Oid			saved_user;
	int			saved_context;
	int			guc_nest_level;
} ReplicaRead;

extern void replica_begin_read(ReplicaRead *read);
extern void replica_end_read(ReplicaRead *read);

/* Whether read->caller may score with a name of this owner and these automl.grants grantees (name[]). */
extern bool replica_caller_may_score(const ReplicaRead *read, const char *owner, Datum readers);

/* Whether relid is a Citus distributed (hash, range or append) table. Connected to SPI. */
extern bool replica_is_distributed_table(Oid relid);

/* Whether this is a Citus coordinator where automl_citus_setup has run. Connected to SPI. */
extern bool replica_collects(void);

/* automl_collect_predictions(): the workers' logged predictions moved here; the rows moved. */
extern int64 replica_collect_predictions(void);

/* ---- per-backend cache (model_cache.c) ---- */

/* How a model name's predictions are logged (automl.monitors), read with its version. */
typedef struct MonitorSettings
{
	bool		enabled;		/* false also when the name has no monitor row */
	char	   *owner;			/* the role that owns the name */
	double		sample_rate;
	char	   *key_column;		/* or NULL */
	int			n_exclude;
	char	  **exclude;		/* columns never logged */
} MonitorSettings;

/*
 * The model that ref names: "name" (the deployed version) or "name@N".
 * Resolves the version (and, into *monitor unless NULL, the name's logging
 * settings) with one catalog query and loads the bytes only when this
 * backend has not loaded that exact row yet. The result stays valid until
 * the next call.
 */
extern Model *model_cache_lookup(const char *ref, char **name_out, int *version_out,
								 MonitorSettings *monitor);

/* Raises "model does not exist", or "has no deployed version" when it does. Connected to SPI. */
extern void model_error_not_deployed(const char *name) pg_attribute_noreturn();

#endif							/* AUTOML_REGISTRY_H */
