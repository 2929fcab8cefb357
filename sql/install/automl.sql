-- automl: the install script of the current version (the Makefile concatenates this
-- file and evaluation.sql into automl--<default_version>.sql). Hand-edited.
--
-- Releases: automl--0.1.0.sql is release 0.1.0's complete script, kept as it was (tag
-- v0.1.0); automl--0.1.0--0.2.0.sql updates an installation of 0.1.0 to 0.2.0. Every
-- change to these pieces (a table, column, function, label, grant or comment) must also
-- go into that upgrade script, so that ALTER EXTENSION automl UPDATE gives exactly the
-- catalog of a fresh install: test/t/008_upgrade.pl compares the two. Add a table's new
-- columns at its end (ALTER TABLE ... ADD COLUMN cannot put them anywhere else), and
-- COMMENT ON every new object (test/scripts/catalog_comments.sh checks both, and the
-- volatility and PARALLEL labels of every function).

\echo Use "CREATE EXTENSION automl" to load this file. \quit

-- The catalog lives in its own schema; the functions go where CREATE EXTENSION puts them.
CREATE SCHEMA automl;
COMMENT ON SCHEMA automl IS 'automl catalog: registered models and their versions, deployments, audit trail, prediction log, monitors and evaluations';

-- One row per model name: who owns it and how new versions are deployed.
CREATE TABLE automl.registry (
    name        text        PRIMARY KEY CHECK (name ~ '^[^@]+$'),
    owner       name        NOT NULL,
    auto_deploy boolean     NOT NULL DEFAULT true,
    min_gain    float8      NOT NULL DEFAULT 0 CHECK (min_gain >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE automl.registry IS 'one row per model name: owner and deployment policy';

-- One row per model version. Versions are immutable once written; retiring
-- one frees its bytes and keeps the rest.
CREATE TABLE automl.models (
    name              text        NOT NULL REFERENCES automl.registry (name),
    version           integer     NOT NULL CHECK (version >= 1),
    task              text        NOT NULL CHECK (task IN ('regression', 'classification', 'forecast')),
    algorithm         text        NOT NULL,
    hyperparams       jsonb       NOT NULL,
    metrics           jsonb       NOT NULL,
    metric            text        NOT NULL,
    score             float8,
    features          text[]      NOT NULL,
    feature_kinds     text[]      NOT NULL,
    classes           text[],
    summary           jsonb       NOT NULL,
    source_relation   text        NOT NULL,
    source_kind       text        NOT NULL,
    source_definition text,
    target            text        NOT NULL,
    options           jsonb       NOT NULL,
    warnings          jsonb       NOT NULL,
    profile           jsonb       NOT NULL,
    n_rows            bigint      NOT NULL,
    data_digest       text        NOT NULL,
    parent_version    integer,
    comparison        jsonb,
    train_seconds     float8      NOT NULL,
    extension_version text        NOT NULL,
    created_by        name        NOT NULL DEFAULT current_user,
    created_at        timestamptz NOT NULL DEFAULT now(),
    format_version    integer     NOT NULL,
    model_bytes       bytea,
    retired_at        timestamptz,
    calibration       jsonb,
    PRIMARY KEY (name, version),
    CHECK ((model_bytes IS NULL) = (retired_at IS NOT NULL))
);
COMMENT ON TABLE automl.models IS 'one row per trained model version';

-- Every trial of the search that produced a version.
CREATE TABLE automl.trials (
    name            text        NOT NULL,
    version         integer     NOT NULL,
    trial           integer     NOT NULL CHECK (trial >= 1),
    algorithm       text        NOT NULL,
    hyperparams     jsonb       NOT NULL,
    score           float8,
    score_std       float8,
    fit_seconds     float8      NOT NULL,
    rows_used       bigint      NOT NULL,
    status          text        NOT NULL,
    error           text,
    rank            integer,
    selected        boolean     NOT NULL,
    ensemble_weight float8,
    PRIMARY KEY (name, version, trial),
    FOREIGN KEY (name, version) REFERENCES automl.models (name, version) ON DELETE CASCADE
);
COMMENT ON TABLE automl.trials IS 'every configuration the search validated, per model version';

-- Append-only: the deployed version of a name is its latest row here.
CREATE TABLE automl.deployments (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    version     integer     NOT NULL,
    deployed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    deployed_by name        NOT NULL DEFAULT current_user,
    reason      text        NOT NULL,
    FOREIGN KEY (name, version) REFERENCES automl.models (name, version) ON DELETE CASCADE
);
CREATE INDEX deployments_name_idx ON automl.deployments (name, id);
COMMENT ON TABLE automl.deployments IS 'append-only history of deployments; the latest row per name serves';
COMMENT ON SEQUENCE automl.deployments_id_seq IS 'identity of automl.deployments.id (the order of deployments)';

-- Append-only audit trail: every training, deployment decision, rollback,
-- retirement and deletion, with who, when, what and why.
CREATE TABLE automl.events (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    who     name        NOT NULL,
    event   text        NOT NULL CHECK (event IN ('train', 'deploy', 'auto_deploy', 'auto_deploy_refused',
                                                  'rollback', 'retire', 'delete', 'policy',
                                                  'monitor', 'purge', 'retrain', 'retrain_skipped',
                                                  'schedule', 'grant', 'revoke')),
    name    text        NOT NULL,
    version integer,
    reason  text,
    detail  jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX events_name_idx ON automl.events (name, id);
COMMENT ON TABLE automl.events IS 'append-only audit trail of the model registry';
COMMENT ON SEQUENCE automl.events_id_seq IS 'identity of automl.events.id (the order of the audit trail)';

-- History is not edited. automl_delete, and only it, removes a name's rows:
-- it sets automl.deleting to that name for its transaction.
-- VOLATILE: automl.deleting changes within automl_delete's statement. PARALLEL SAFE: it
-- only reads a setting and raises (a trigger never fires in a parallel worker anyway).
CREATE FUNCTION automl.forbid_change() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'deployments'
       AND current_setting('automl.deleting', true) = OLD.name THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'automl.% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Use automl_deploy, automl_rollback, automl_retire or automl_delete.';
END
$$;
CREATE TRIGGER deployments_append_only
    BEFORE UPDATE OR DELETE ON automl.deployments
    FOR EACH ROW EXECUTE FUNCTION automl.forbid_change();
CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON automl.events
    FOR EACH ROW EXECUTE FUNCTION automl.forbid_change();
COMMENT ON FUNCTION automl.forbid_change() IS 'trigger of automl.deployments and automl.events: refuses UPDATE and DELETE (automl_delete alone removes a deleted name''s deployments)';

-- Monitoring ---------------------------------------------------------------

-- One row per monitored model name: what its predictions log keeps and when
-- its drift or performance counts as an alert.
CREATE TABLE automl.monitors (
    name                text        PRIMARY KEY REFERENCES automl.registry (name) ON DELETE CASCADE,
    enabled             boolean     NOT NULL DEFAULT true,
    sample_rate         float8      NOT NULL DEFAULT 1 CHECK (sample_rate > 0 AND sample_rate <= 1),
    key_column          text,
    exclude             text[]      NOT NULL DEFAULT '{}',
    drift_window        interval    NOT NULL DEFAULT '1 day' CHECK (drift_window > '0'),
    drift_threshold     float8      NOT NULL DEFAULT 0.1 CHECK (drift_threshold > 0),
    psi_threshold       float8      NOT NULL DEFAULT 0.2 CHECK (psi_threshold > 0),
    feature_thresholds  jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(feature_thresholds) = 'object'),
    dataset_drift_share float8      NOT NULL DEFAULT 0.5 CHECK (dataset_drift_share > 0 AND dataset_drift_share <= 1),
    performance_drop    float8      NOT NULL DEFAULT 0.05 CHECK (performance_drop >= 0),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          name        NOT NULL DEFAULT current_user
);
COMMENT ON TABLE automl.monitors IS 'models whose predictions are logged, and their drift and performance thresholds';

-- The prediction log, written by the log writer from the scoring sessions'
-- spool files (see docs/monitoring.md); features holds only the model's
-- own input columns, minus the monitor's exclude list.
-- model and key compare bytewise (COLLATE "C"): the writer's index inserts
-- are the bulk of its work, and no one sorts them for display.
CREATE TABLE automl.predictions (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model         text        COLLATE "C" NOT NULL,
    version       integer     NOT NULL,
    predicted_at  timestamptz NOT NULL,
    key           text        COLLATE "C",
    features      jsonb       NOT NULL,
    prediction    float8,
    label         text,
    probabilities float8[]
);
CREATE INDEX predictions_model_time_idx ON automl.predictions (model, predicted_at);
CREATE INDEX predictions_model_key_idx ON automl.predictions (model, key) WHERE key IS NOT NULL;
COMMENT ON TABLE automl.predictions IS 'logged predictions of monitored models';
COMMENT ON SEQUENCE automl.predictions_id_seq IS 'identity of automl.predictions.id (the order the log writer stored them in)';

-- True outcomes, known later, by the key the monitor declared (latest wins).
CREATE TABLE automl.observations (
    model       text        COLLATE "C" NOT NULL,
    key         text        COLLATE "C" NOT NULL,
    actual      text        NOT NULL,
    observed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, key)
);
COMMENT ON TABLE automl.observations IS 'true outcomes of logged predictions, joined on the monitor key';

-- How far the log writer has read each spool file (same transaction as its rows).
CREATE TABLE automl.log_spool (
    file     text   PRIMARY KEY,
    consumed bigint NOT NULL
);
COMMENT ON TABLE automl.log_spool IS 'internal: bytes of each prediction spool file already in automl.predictions';

-- Records predicted before this extension was created here (in a spool file
-- that outlived a DROP EXTENSION, or a restore that brought their rows back)
-- are not ingested. Not kept by pg_dump: a restore sets it anew.
CREATE TABLE automl.log_state (
    ignore_before timestamptz NOT NULL DEFAULT now()
);
INSERT INTO automl.log_state DEFAULT VALUES;
COMMENT ON TABLE automl.log_state IS 'internal: spool records predicted before this time are not ingested';

-- What the last alert check saw, per model and kind, so alerts fire on changes.
CREATE TABLE automl.alert_state (
    model      text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('drift', 'performance')),
    alerting   boolean     NOT NULL,
    detail     text,
    checked_at timestamptz NOT NULL,
    since      timestamptz,
    PRIMARY KEY (model, kind)
);
COMMENT ON TABLE automl.alert_state IS 'the state each model''s drift and performance alerts had at the last check';

-- Whether the calling role belongs to a model's owner role (as pg_has_role(...,
-- 'MEMBER') says): who sees a model and reads its log. A dropped owner role matches
-- no one. In C: every row-level policy of the catalog calls it for each row it checks.
CREATE FUNCTION automl.caller_owns(owner name) RETURNS boolean
AS 'MODULE_PATHNAME', 'automl_caller_owns' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl.caller_owns(name) IS 'whether the calling role is a member of this owner role (a dropped role matches no one): whose logged predictions and monitoring rows a role sees';

-- Anyone may read the log of the models whose owner role they belong to.
ALTER TABLE automl.predictions ENABLE ROW LEVEL SECURITY;
ALTER TABLE automl.observations ENABLE ROW LEVEL SECURITY;
CREATE POLICY predictions_of_own_models ON automl.predictions FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r
                   WHERE r.name = predictions.model AND automl.caller_owns(r.owner)));
CREATE POLICY observations_of_own_models ON automl.observations FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r
                   WHERE r.name = observations.model AND automl.caller_owns(r.owner)));

-- pg_dump keeps the models and their history.
SELECT pg_catalog.pg_extension_config_dump('automl.registry', '');
SELECT pg_catalog.pg_extension_config_dump('automl.models', '');
SELECT pg_catalog.pg_extension_config_dump('automl.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('automl.deployments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('automl.events', '');
SELECT pg_catalog.pg_extension_config_dump('automl.events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('automl.trials', '');
SELECT pg_catalog.pg_extension_config_dump('automl.monitors', '');
SELECT pg_catalog.pg_extension_config_dump('automl.predictions', '');
SELECT pg_catalog.pg_extension_config_dump('automl.predictions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('automl.observations', '');
SELECT pg_catalog.pg_extension_config_dump('automl.alert_state', '');

-- The deployed version of every model, one row per name.
CREATE VIEW automl.deployed WITH (security_invoker = true) AS
SELECT DISTINCT ON (d.name)
       d.name, d.version, m.task, m.algorithm, m.metric, m.score,
       d.deployed_at, d.deployed_by, d.reason
FROM automl.deployments d
JOIN automl.models m USING (name, version)
ORDER BY d.name, d.id DESC;
COMMENT ON VIEW automl.deployed IS 'the version of each model that automl_predict uses';

-- One row per version: its data, options, results and deployment history.
CREATE VIEW automl.lineage WITH (security_invoker = true) AS
SELECT m.name AS model, m.version,
       CASE WHEN m.version = d.version THEN 'deployed'
            WHEN m.retired_at IS NOT NULL THEN 'retired'
            ELSE 'stored' END AS status,
       m.created_at, m.created_by, m.source_relation, m.source_kind, m.source_definition,
       m.target, m.task, m.algorithm, m.hyperparams, m.options, m.n_rows, m.data_digest,
       m.metric, m.score, m.metrics, m.parent_version, m.comparison, m.extension_version,
       m.train_seconds, m.retired_at,
       (SELECT jsonb_agg(jsonb_build_object('deployed_at', x.deployed_at, 'deployed_by', x.deployed_by,
                                            'reason', x.reason) ORDER BY x.id)
          FROM automl.deployments x
         WHERE x.name = m.name AND x.version = m.version) AS deployments
FROM automl.models m
LEFT JOIN automl.deployed d ON d.name = m.name;
COMMENT ON VIEW automl.lineage IS 'every model version with its data, results and deployment history';

-- The audit trail, newest last.
CREATE VIEW automl.audit WITH (security_invoker = true) AS
SELECT e.id, e.at, e.who, e.event, e.name AS model, e.version, e.reason, e.detail
FROM automl.events e;
COMMENT ON VIEW automl.audit IS 'who trained, deployed, rolled back, retired or deleted what, when and why';

-- The search's trials, best first within each version.
CREATE VIEW automl.leaderboard WITH (security_invoker = true) AS
SELECT t.name AS model, t.version, t.rank, t.trial, t.algorithm, m.metric, t.score, t.score_std,
       t.fit_seconds, t.rows_used, t.status, t.selected, t.ensemble_weight, t.hyperparams, t.error
FROM automl.trials t
JOIN automl.models m USING (name, version)
ORDER BY t.name, t.version DESC, t.rank NULLS LAST, t.trial;
COMMENT ON VIEW automl.leaderboard IS 'every trial of every search, best first; selected trials were refit into the stored model';

-- Trainings running now, in any session (a copy of an array in shared memory, which a
-- parallel worker reads as well as the leader).
CREATE FUNCTION automl_training_progress(
    OUT pid integer, OUT model text, OUT phase text, OUT started_at timestamptz,
    OUT trials integer, OUT metric text, OUT best_score float8, OUT seconds_left float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'automl_training_progress' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION automl_training_progress() IS 'one row per automl_train running now in any session: phase, trials done, best score, seconds left';

CREATE VIEW automl.training_progress AS
SELECT * FROM automl_training_progress();
COMMENT ON VIEW automl.training_progress IS 'one row per automl_train running now: trials done, best score, seconds left';

-- Who may use a model besides its owner role's members: automl_grant adds a row,
-- automl_revoke removes it. The owner is copied here so that this table's own
-- policy need not read automl.registry, whose policy reads this table.
CREATE TABLE automl.grants (
    name       text        NOT NULL REFERENCES automl.registry (name) ON DELETE CASCADE,
    grantee    name        NOT NULL,
    owner      name        NOT NULL,
    granted_by name        NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, grantee)
);
COMMENT ON TABLE automl.grants IS 'roles other than the owner''s that may see and score with a model (automl_grant, automl_revoke)';
SELECT pg_catalog.pg_extension_config_dump('automl.grants', '');

-- A role sees a model, its versions, trials, deployments, events, monitor and
-- evaluations only if it belongs to the model's owner role or was granted the
-- model (grantee 'public': every role). Scoring reads the catalog as the caller,
-- so the same rule decides who may score. The functions that write check
-- ownership and write as the extension owner, which these policies do not bind;
-- the views read as the caller (security_invoker). The prediction log, its
-- outcomes and the alert state stay the owner's alone (policies above and below).
ALTER TABLE automl.registry ENABLE ROW LEVEL SECURITY;
CREATE POLICY registry_of_visible_models ON automl.registry FOR SELECT
    USING (automl.caller_owns(owner)
           OR EXISTS (SELECT 1 FROM automl.grants g
                      WHERE g.name = registry.name
                        AND (g.grantee = 'public' OR automl.caller_owns(g.grantee))));
ALTER TABLE automl.grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY grants_of_owner_or_grantee ON automl.grants FOR SELECT
    USING (automl.caller_owns(owner) OR grantee = 'public' OR automl.caller_owns(grantee));
ALTER TABLE automl.models ENABLE ROW LEVEL SECURITY;
CREATE POLICY models_of_visible_models ON automl.models FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = models.name));
ALTER TABLE automl.trials ENABLE ROW LEVEL SECURITY;
CREATE POLICY trials_of_visible_models ON automl.trials FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = trials.name));
ALTER TABLE automl.deployments ENABLE ROW LEVEL SECURITY;
CREATE POLICY deployments_of_visible_models ON automl.deployments FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = deployments.name));
ALTER TABLE automl.monitors ENABLE ROW LEVEL SECURITY;
CREATE POLICY monitors_of_visible_models ON automl.monitors FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = monitors.name));
-- the trail of a deleted model stays readable by whoever acted on it, and a name
-- trained again after a deletion does not show its earlier owner's trail
ALTER TABLE automl.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY events_of_visible_models ON automl.events FOR SELECT
    USING (automl.caller_owns(who)
           OR EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = events.name AND events.at >= r.created_at));
ALTER TABLE automl.alert_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY alert_state_of_own_models ON automl.alert_state FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = alert_state.model AND automl.caller_owns(r.owner)));

-- Everyone may read the catalog, through the policies above; it is written only
-- through the functions, which check that the caller owns the name and write as
-- the extension owner.
GRANT USAGE ON SCHEMA automl TO PUBLIC;
GRANT SELECT ON automl.registry, automl.models, automl.deployments, automl.events,
                automl.deployed, automl.lineage, automl.audit, automl.trials,
                automl.leaderboard, automl.training_progress, automl.monitors,
                automl.predictions, automl.observations, automl.alert_state,
                automl.grants TO PUBLIC;

-- Training -----------------------------------------------------------------

CREATE FUNCTION automl_train(
    name        text,
    relation    text,
    target      text,
    task        text    DEFAULT NULL,
    time_budget float8  DEFAULT NULL,
    metric      text    DEFAULT NULL,
    algorithms  text[]  DEFAULT NULL,
    hyperparams jsonb   DEFAULT NULL,
    exclude     text[]  DEFAULT NULL,
    seed        integer DEFAULT NULL,
    max_trials  integer DEFAULT NULL,
    calibration text    DEFAULT 'auto',
    time_column   text    DEFAULT NULL,
    series_column text    DEFAULT NULL,
    horizon       integer DEFAULT NULL)
RETURNS TABLE (name text, version integer, task text, algorithm text,
               metric text, score float8, deployed boolean)
AS 'MODULE_PATHNAME', 'automl_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_train IS 'train a model on a relation and store it as the next version of name';

-- Scoring ------------------------------------------------------------------

CREATE FUNCTION automl_predict(model text, features anyelement) RETURNS float8
AS 'MODULE_PATHNAME', 'automl_predict' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION automl_predict IS 'regression value, or probability of the positive class of a binary classifier';

CREATE FUNCTION automl_predict_label(model text, features anyelement) RETURNS text
AS 'MODULE_PATHNAME', 'automl_predict_label' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION automl_predict_label IS 'predicted class label, spelled as in the training data';

CREATE FUNCTION automl_predict_proba(model text, features anyelement) RETURNS float8[]
AS 'MODULE_PATHNAME', 'automl_predict_proba' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION automl_predict_proba IS 'class probabilities, in the order of the model''s classes';

-- Registry -----------------------------------------------------------------

CREATE FUNCTION automl_deploy(model text, version integer, reason text DEFAULT NULL)
RETURNS TABLE (name text, version integer, previous_version integer)
AS 'MODULE_PATHNAME', 'automl_deploy' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_deploy IS 'serve this version of the model from the next statement on';

CREATE FUNCTION automl_rollback(model text, reason text DEFAULT NULL)
RETURNS TABLE (name text, version integer, previous_version integer)
AS 'MODULE_PATHNAME', 'automl_rollback' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_rollback IS 'serve the version that was deployed before the current one again';

CREATE FUNCTION automl_retire(model text, version integer, reason text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'automl_retire' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_retire IS 'free the bytes of a version that is not deployed; its lineage stays';

CREATE FUNCTION automl_delete(model text, reason text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'automl_delete' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_delete IS 'delete every version of a model; the audit trail keeps a record';

CREATE FUNCTION automl_set_policy(model text, auto_deploy boolean DEFAULT NULL, min_gain float8 DEFAULT NULL)
RETURNS TABLE (name text, auto_deploy boolean, min_gain float8)
AS 'MODULE_PATHNAME', 'automl_set_policy' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_set_policy IS 'whether and by how much a new version must beat the deployed one to be deployed';

CREATE FUNCTION automl_grant(model text, role text) RETURNS boolean
AS 'MODULE_PATHNAME', 'automl_grant' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_grant IS 'let a role (or public) see the model''s catalog rows and score with it; true if it could not before';

CREATE FUNCTION automl_revoke(model text, role text) RETURNS boolean
AS 'MODULE_PATHNAME', 'automl_revoke' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_revoke IS 'withdraw what automl_grant gave a role; true if the role had been granted the model';

CREATE FUNCTION automl_version_at(model text, at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $version_at$
BEGIN
    IF automl_version_at.model IS NULL THEN
        RAISE EXCEPTION 'model must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF automl_version_at.at IS NULL THEN
        RAISE EXCEPTION 'at must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Leave it out for the version that serves now.';
    END IF;
    -- NULL only for a time before its first deployment: an unknown name (or one the
    -- caller may not see) is an error, as in every other function
    IF NOT EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = automl_version_at.model) THEN
        RAISE EXCEPTION 'model "%" does not exist', automl_version_at.model USING ERRCODE = 'undefined_object',
            HINT = 'automl.models lists the trained models.';
    END IF;
    RETURN (SELECT d.version FROM automl.deployments d
            WHERE d.name = automl_version_at.model AND d.deployed_at <= automl_version_at.at
            ORDER BY d.id DESC LIMIT 1);
END
$version_at$;
COMMENT ON FUNCTION automl_version_at IS 'the version of the model that served at a given time';

-- Monitoring ---------------------------------------------------------------

CREATE FUNCTION automl_monitor(
    model               text,
    enabled             boolean  DEFAULT true,
    sample_rate         float8   DEFAULT NULL,
    key                 text     DEFAULT NULL,
    exclude             text[]   DEFAULT NULL,
    drift_window        interval DEFAULT NULL,
    drift_threshold     float8   DEFAULT NULL,
    psi_threshold       float8   DEFAULT NULL,
    feature_thresholds  jsonb    DEFAULT NULL,
    dataset_drift_share float8   DEFAULT NULL,
    performance_drop    float8   DEFAULT NULL)
RETURNS automl.monitors
AS 'MODULE_PATHNAME', 'automl_monitor' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_monitor IS 'log the model''s predictions (or stop), and set its drift and performance thresholds; NULL keeps a setting';

CREATE FUNCTION automl_flush_predictions() RETURNS bigint
AS 'MODULE_PATHNAME', 'automl_flush_predictions' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_flush_predictions IS 'move every logged prediction still in a spool file into automl.predictions now';

CREATE FUNCTION automl_observe(model text, key "any", actual "any") RETURNS void
AS 'MODULE_PATHNAME', 'automl_observe' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_observe(text, "any", "any") IS 'record the true outcome for the predictions logged with this key';

CREATE FUNCTION automl_observe(model text, outcomes text) RETURNS bigint
AS 'MODULE_PATHNAME', 'automl_observe_query' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_observe(text, text) IS 'record true outcomes from a query returning (key, outcome); returns the rows stored';

CREATE FUNCTION automl_purge_predictions(older_than interval, model text DEFAULT NULL) RETURNS bigint
AS 'MODULE_PATHNAME', 'automl_purge_predictions' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_purge_predictions IS 'delete logged predictions and outcomes older than the interval (of one model, or of all the caller owns)';

CREATE FUNCTION automl_drift(
    model text, window_start timestamptz DEFAULT NULL, window_end timestamptz DEFAULT NULL,
    OUT model text, OUT version integer, OUT window_start timestamptz, OUT window_end timestamptz,
    OUT feature text, OUT kind text, OUT statistic text, OUT distance float8, OUT threshold float8,
    OUT psi float8, OUT psi_threshold float8, OUT drifted boolean, OUT rows bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'automl_drift' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_drift IS 'per-feature, prediction and dataset drift of a window of the log (default: the last day) against the deployed version''s training profile';

CREATE FUNCTION automl_data_quality(
    model text, window_start timestamptz DEFAULT NULL, window_end timestamptz DEFAULT NULL,
    OUT model text, OUT version integer, OUT window_start timestamptz, OUT window_end timestamptz,
    OUT feature text, OUT kind text, OUT rows bigint, OUT missing_share float8,
    OUT training_missing_share float8, OUT unseen_share float8, OUT training_unseen_share float8,
    OUT out_of_range_share float8, OUT training_min float8, OUT training_max float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'automl_data_quality' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_data_quality IS 'missing, unseen-category and out-of-range shares per feature in a window of the log, beside training';

CREATE FUNCTION automl_performance(
    model text, window_start timestamptz DEFAULT NULL, window_end timestamptz DEFAULT NULL,
    OUT model text, OUT version integer, OUT window_start timestamptz, OUT window_end timestamptz,
    OUT predictions bigint, OUT labelled bigint, OUT metric text, OUT value float8,
    OUT validation_value float8, OUT degraded boolean, OUT reason text, OUT unknown_labels bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'automl_performance' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_performance IS 'metrics of the window''s predictions that have observed outcomes, beside the validation score at training';

-- The views: every monitored model the caller's roles own, over its drift_window.
CREATE VIEW automl.drift WITH (security_invoker = true) AS
SELECT d.*
FROM automl.monitors o
JOIN automl.registry r ON r.name = o.name
CROSS JOIN LATERAL automl_drift(o.name, now() - o.drift_window, now()) d
WHERE automl.caller_owns(r.owner)
  AND EXISTS (SELECT 1 FROM automl.deployments x WHERE x.name = o.name);
COMMENT ON VIEW automl.drift IS 'per-feature drift of each monitored model over its drift window; feature NULL: the dataset and prediction rows';

CREATE VIEW automl.data_quality WITH (security_invoker = true) AS
SELECT q.*
FROM automl.monitors o
JOIN automl.registry r ON r.name = o.name
CROSS JOIN LATERAL automl_data_quality(o.name, now() - o.drift_window, now()) q
WHERE automl.caller_owns(r.owner)
  AND EXISTS (SELECT 1 FROM automl.deployments x WHERE x.name = o.name);
COMMENT ON VIEW automl.data_quality IS 'missing, unseen and out-of-range shares per feature of each monitored model, beside training';

CREATE VIEW automl.performance WITH (security_invoker = true) AS
SELECT p.*
FROM automl.monitors o
JOIN automl.registry r ON r.name = o.name
CROSS JOIN LATERAL automl_performance(o.name, now() - o.drift_window, now()) p
WHERE automl.caller_owns(r.owner)
  AND EXISTS (SELECT 1 FROM automl.deployments x WHERE x.name = o.name);
COMMENT ON VIEW automl.performance IS 'metrics on observed outcomes of each monitored model''s window, beside its validation score';

GRANT SELECT ON automl.drift, automl.data_quality, automl.performance TO PUBLIC;
GRANT EXECUTE ON FUNCTION automl.caller_owns(name) TO PUBLIC;

-- Alerts: drift (the dataset or the predictions drifted) and performance (the
-- training metric degraded) per monitored model. Returns, and NOTIFYs on the
-- channel as JSON, the alerts that started or ended since the last check.
CREATE FUNCTION automl_check_alerts(channel text DEFAULT 'automl_alerts')
RETURNS TABLE (model text, kind text, alerting boolean, detail text, since timestamptz)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
    k text;
    now_alerting boolean;
    why text;
    prev automl.alert_state;
BEGIN
    IF channel IS NULL OR channel = '' THEN
        RAISE EXCEPTION 'channel must not be NULL or empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR m IN SELECT o.name, o.drift_window FROM automl.monitors o
             WHERE o.enabled AND EXISTS (SELECT 1 FROM automl.deployments x WHERE x.name = o.name)
             ORDER BY o.name LOOP
        FOREACH k IN ARRAY ARRAY['drift', 'performance'] LOOP
            IF k = 'drift' THEN
                SELECT bool_or(d.drifted),
                       string_agg(format('%s %s = %s (threshold %s)', d.kind, d.statistic,
                                         round(d.distance::numeric, 4), d.threshold), '; ')
                         FILTER (WHERE d.drifted)
                  INTO now_alerting, why
                  FROM @extschema@.automl_drift(m.name, now() - m.drift_window, now()) d
                 WHERE d.feature IS NULL;
            ELSE
                SELECT bool_or(p.degraded),
                       string_agg(format('version %s %s = %s, validation %s', p.version, p.metric,
                                         round(p.value::numeric, 4), round(p.validation_value::numeric, 4)), '; ')
                         FILTER (WHERE p.degraded)
                  INTO now_alerting, why
                  FROM @extschema@.automl_performance(m.name, now() - m.drift_window, now()) p;
            END IF;
            now_alerting := coalesce(now_alerting, false);
            SELECT * INTO prev FROM automl.alert_state s WHERE s.model = m.name AND s.kind = k;
            IF NOT FOUND OR prev.alerting IS DISTINCT FROM now_alerting THEN
                INSERT INTO automl.alert_state AS s (model, kind, alerting, detail, checked_at, since)
                VALUES (m.name, k, now_alerting, why, now(), now())
                ON CONFLICT ON CONSTRAINT alert_state_pkey DO UPDATE
                    SET alerting = EXCLUDED.alerting, detail = EXCLUDED.detail,
                        checked_at = EXCLUDED.checked_at, since = EXCLUDED.since;
                -- a first check that finds nothing wrong is not news
                IF now_alerting OR FOUND AND prev.alerting THEN
                    model := m.name; kind := k; alerting := now_alerting; detail := why; since := now();
                    PERFORM pg_notify(channel, json_build_object('model', m.name, 'kind', k,
                                      'alerting', now_alerting, 'detail', why)::text);
                    RETURN NEXT;
                END IF;
            ELSE
                UPDATE automl.alert_state s SET checked_at = now(), detail = why
                 WHERE s.model = m.name AND s.kind = k;
            END IF;
        END LOOP;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION automl_check_alerts(text) FROM PUBLIC;
COMMENT ON FUNCTION automl_check_alerts IS 'the monitored models whose drift or performance alert started or ended since the last check; also NOTIFY';

-- Retraining -----------------------------------------------------------------

CREATE FUNCTION automl_retrain(model text, reason text DEFAULT NULL)
RETURNS TABLE (name text, version integer, previous_version integer, deployed boolean,
               reason text, gate_rows bigint)
AS 'MODULE_PATHNAME', 'automl_retrain' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_retrain IS 'retrain the deployed version''s recipe on the current data; deploy only if it beats it on rows it never saw';

CREATE FUNCTION automl_retrain_if_needed(model text, max_age interval DEFAULT NULL)
RETURNS TABLE (name text, version integer, previous_version integer, deployed boolean,
               reason text, gate_rows bigint)
AS 'MODULE_PATHNAME', 'automl_retrain_if_needed' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_retrain_if_needed IS 'retrain when the data or predictions drifted, performance degraded, or the deployed version is older than max_age';

CREATE FUNCTION automl_schedule_retrain(model text, schedule text, if_needed boolean DEFAULT true,
                                        max_age interval DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'automl_schedule_retrain' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_schedule_retrain IS 'a pg_cron job that retrains the model on a cron schedule (if needed, by default); returns the job id';

CREATE FUNCTION automl_unschedule_retrain(model text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'automl_unschedule_retrain' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_unschedule_retrain IS 'remove the model''s retraining job from pg_cron';
