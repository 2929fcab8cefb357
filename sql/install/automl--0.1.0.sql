-- automl: the install script (copied to automl--<version>.sql by the Makefile).
-- Hand-edited; each release adds an upgrade script beside it.

\echo Use "CREATE EXTENSION automl" to load this file. \quit

-- The catalog lives in its own schema; the functions go where CREATE EXTENSION puts them.
CREATE SCHEMA automl;
COMMENT ON SCHEMA automl IS 'automl catalog: model versions and deployments';

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

-- Append-only audit trail: every training, deployment decision, rollback,
-- retirement and deletion, with who, when, what and why.
CREATE TABLE automl.events (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    who     name        NOT NULL,
    event   text        NOT NULL CHECK (event IN ('train', 'deploy', 'auto_deploy', 'auto_deploy_refused',
                                                  'rollback', 'retire', 'delete', 'policy',
                                                  'monitor', 'purge', 'retrain', 'retrain_skipped',
                                                  'schedule')),
    name    text        NOT NULL,
    version integer,
    reason  text,
    detail  jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX events_name_idx ON automl.events (name, id);
COMMENT ON TABLE automl.events IS 'append-only audit trail of the model registry';

-- History is not edited. automl_delete, and only it, removes a name's rows:
-- it sets automl.deleting to that name for its transaction.
CREATE FUNCTION automl.forbid_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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

-- Whether the calling role belongs to a model's owner role: who may read its
-- log and see it in the monitoring views. A dropped owner role matches no one
-- (pg_has_role on a missing name would fail the whole query). Inlined by the planner.
CREATE FUNCTION automl.caller_owns(owner name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_roles ro
               WHERE ro.rolname OPERATOR(pg_catalog.=) owner AND pg_catalog.pg_has_role(ro.oid, 'MEMBER'));

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
CREATE VIEW automl.deployed AS
SELECT DISTINCT ON (d.name)
       d.name, d.version, m.task, m.algorithm, m.metric, m.score,
       d.deployed_at, d.deployed_by, d.reason
FROM automl.deployments d
JOIN automl.models m USING (name, version)
ORDER BY d.name, d.id DESC;
COMMENT ON VIEW automl.deployed IS 'the version of each model that automl_predict uses';

-- One row per version: its data, options, results and deployment history.
CREATE VIEW automl.lineage AS
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
CREATE VIEW automl.audit AS
SELECT e.id, e.at, e.who, e.event, e.name AS model, e.version, e.reason, e.detail
FROM automl.events e;
COMMENT ON VIEW automl.audit IS 'who trained, deployed, rolled back, retired or deleted what, when and why';

-- The search's trials, best first within each version.
CREATE VIEW automl.leaderboard AS
SELECT t.name AS model, t.version, t.rank, t.trial, t.algorithm, m.metric, t.score, t.score_std,
       t.fit_seconds, t.rows_used, t.status, t.selected, t.ensemble_weight, t.hyperparams, t.error
FROM automl.trials t
JOIN automl.models m USING (name, version)
ORDER BY t.name, t.version DESC, t.rank NULLS LAST, t.trial;
COMMENT ON VIEW automl.leaderboard IS 'every trial of every search, best first; selected trials were refit into the stored model';

-- Trainings running now, in any session.
CREATE FUNCTION automl_training_progress(
    OUT pid integer, OUT model text, OUT phase text, OUT started_at timestamptz,
    OUT trials integer, OUT metric text, OUT best_score float8, OUT seconds_left float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'automl_training_progress' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE VIEW automl.training_progress AS
SELECT * FROM automl_training_progress();
COMMENT ON VIEW automl.training_progress IS 'one row per automl_train running now: trials done, best score, seconds left';

-- Everyone may read the registry; it is written only through the functions,
-- which check that the caller owns the name and write as the extension owner.
GRANT USAGE ON SCHEMA automl TO PUBLIC;
GRANT SELECT ON automl.registry, automl.models, automl.deployments, automl.events,
                automl.deployed, automl.lineage, automl.audit, automl.trials,
                automl.leaderboard, automl.training_progress, automl.monitors,
                automl.predictions, automl.observations, automl.alert_state TO PUBLIC;

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

CREATE FUNCTION automl_version_at(model text, at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT d.version FROM automl.deployments d
    WHERE d.name = automl_version_at.model AND d.deployed_at <= automl_version_at.at
    ORDER BY d.id DESC LIMIT 1;
END;
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
AS 'MODULE_PATHNAME', 'automl_drift' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_drift IS 'per-feature, prediction and dataset drift of a window of the log (default: the last day) against the deployed version''s training profile';

CREATE FUNCTION automl_data_quality(
    model text, window_start timestamptz DEFAULT NULL, window_end timestamptz DEFAULT NULL,
    OUT model text, OUT version integer, OUT window_start timestamptz, OUT window_end timestamptz,
    OUT feature text, OUT kind text, OUT rows bigint, OUT missing_share float8,
    OUT training_missing_share float8, OUT unseen_share float8, OUT training_unseen_share float8,
    OUT out_of_range_share float8, OUT training_min float8, OUT training_max float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'automl_data_quality' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_data_quality IS 'missing, unseen-category and out-of-range shares per feature in a window of the log, beside training';

CREATE FUNCTION automl_performance(
    model text, window_start timestamptz DEFAULT NULL, window_end timestamptz DEFAULT NULL,
    OUT model text, OUT version integer, OUT window_start timestamptz, OUT window_end timestamptz,
    OUT predictions bigint, OUT labelled bigint, OUT metric text, OUT value float8,
    OUT validation_value float8, OUT degraded boolean, OUT reason text, OUT unknown_labels bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'automl_performance' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_performance IS 'metrics of the window''s predictions that have observed outcomes, beside the validation score at training';

-- The views: every monitored model the caller's roles own, over its drift_window.
CREATE VIEW automl.drift AS
SELECT d.*
FROM automl.monitors o
JOIN automl.registry r ON r.name = o.name
CROSS JOIN LATERAL automl_drift(o.name, now() - o.drift_window, now()) d
WHERE automl.caller_owns(r.owner)
  AND EXISTS (SELECT 1 FROM automl.deployments x WHERE x.name = o.name);
COMMENT ON VIEW automl.drift IS 'per-feature drift of each monitored model over its drift window; feature NULL: the dataset and prediction rows';

CREATE VIEW automl.data_quality AS
SELECT q.*
FROM automl.monitors o
JOIN automl.registry r ON r.name = o.name
CROSS JOIN LATERAL automl_data_quality(o.name, now() - o.drift_window, now()) q
WHERE automl.caller_owns(r.owner)
  AND EXISTS (SELECT 1 FROM automl.deployments x WHERE x.name = o.name);
COMMENT ON VIEW automl.data_quality IS 'missing, unseen and out-of-range shares per feature of each monitored model, beside training';

CREATE VIEW automl.performance AS
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
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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

-- Evaluation: metrics, slices, curves, fairness, explanations, model cards --

-- What an owner evaluated, for the model card: the figures of each
-- automl_evaluate (kind metrics) and automl_fairness (kind fairness) call.
CREATE TABLE automl.evaluations (
    id            bigserial   PRIMARY KEY,
    name          text        NOT NULL,
    version       integer     NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('metrics', 'fairness')),
    relation      text        NOT NULL,
    n_rows        bigint      NOT NULL,
    arguments     jsonb       NOT NULL,
    result        jsonb       NOT NULL,
    evaluated_by  name        NOT NULL,
    evaluated_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (name, version) REFERENCES automl.models (name, version) ON DELETE CASCADE
);
CREATE INDEX ON automl.evaluations (name, version, kind, evaluated_at);
COMMENT ON TABLE automl.evaluations IS 'figures of the evaluations run by each model''s owner, for its model card';

-- Free text an owner gives a model name for its card.
CREATE TABLE automl.descriptions (
    name          text        PRIMARY KEY REFERENCES automl.registry (name) ON DELETE CASCADE,
    intended_use  text,
    updated_by    name        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE automl.descriptions IS 'intended use of each model name, as its owner wrote it';

SELECT pg_catalog.pg_extension_config_dump('automl.evaluations', '');
SELECT pg_catalog.pg_extension_config_dump('automl.evaluations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('automl.descriptions', '');
GRANT SELECT ON automl.evaluations, automl.descriptions TO PUBLIC;

CREATE FUNCTION automl_evaluate(
    name         text,
    relation     text,
    version      integer  DEFAULT NULL,
    slice_by     text[]   DEFAULT NULL,
    slice_margin float8   DEFAULT 0.05)
RETURNS TABLE (slice_column text, slice_value text, rows bigint, metric text,
               value float8, overall float8, behind boolean)
AS 'MODULE_PATHNAME', 'automl_evaluate' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_evaluate IS 'the model''s metrics on a labelled relation, overall and per slice, with slices that fall behind flagged';

CREATE FUNCTION automl_confusion_matrix(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (actual text, predicted text, rows bigint)
AS 'MODULE_PATHNAME', 'automl_confusion_matrix' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_confusion_matrix IS 'rows per (actual, predicted) class pair on a labelled relation';

CREATE FUNCTION automl_roc_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, threshold float8, false_positive_rate float8, true_positive_rate float8)
AS 'MODULE_PATHNAME', 'automl_roc_curve' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_roc_curve IS 'ROC points per class (the positive class of two) on a labelled relation';

CREATE FUNCTION automl_pr_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, threshold float8, recall float8, "precision" float8)
AS 'MODULE_PATHNAME', 'automl_pr_curve' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_pr_curve IS 'precision-recall points per class (the positive class of two) on a labelled relation';

CREATE FUNCTION automl_calibration_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, bin integer, lower float8, upper float8, rows bigint,
               mean_predicted float8, fraction_positive float8)
AS 'MODULE_PATHNAME', 'automl_calibration_curve' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_calibration_curve IS 'reliability table: ten probability bins, mean predicted against observed share';

CREATE FUNCTION automl_lift_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, decile integer, rows bigint, positives bigint, min_score float8,
               max_score float8, positive_rate float8, lift float8, cumulative_share float8,
               cumulative_gain float8, cumulative_lift float8)
AS 'MODULE_PATHNAME', 'automl_lift_curve' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_lift_curve IS 'lift and gain per tenth of the rows ranked by probability';

CREATE FUNCTION automl_fairness(name text, relation text, sensitive text, version integer DEFAULT NULL)
RETURNS TABLE (sensitive_value text, rows bigint, selection_rate float8,
               true_positive_rate float8, false_positive_rate float8,
               demographic_parity_difference float8, equalized_odds_difference float8)
AS 'MODULE_PATHNAME', 'automl_fairness' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_fairness IS 'selection rate and error rates per group of a sensitive column, with demographic-parity and equalized-odds differences';

CREATE FUNCTION automl_set_intended_use(name text, intended_use text)
RETURNS TABLE (name text, intended_use text)
AS 'MODULE_PATHNAME', 'automl_set_intended_use' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_set_intended_use IS 'the intended use of a model name, in its owner''s words, for the model card';

-- The model card (Mitchell et al., 2019) of a version, as jsonb: every
-- section from the catalog, the owner's latest evaluations and the monitor.
CREATE FUNCTION automl_model_card_json(name text, version integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $card$
DECLARE
    model_name text := automl_model_card_json.name;
    v integer := automl_model_card_json.version;
    deployed_version integer;
    m automl.models;
    caveats jsonb := '[]';
    latest automl.evaluations;
    fairness jsonb;
    drifted text[];
    monitored boolean;
    behind jsonb;
BEGIN
    IF model_name IS NULL THEN
        RAISE EXCEPTION 'name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = model_name) THEN
        RAISE EXCEPTION 'model "%" does not exist', model_name USING ERRCODE = 'undefined_object',
            HINT = 'automl.models lists the trained models.';
    END IF;
    SELECT d.version INTO deployed_version FROM automl.deployed d WHERE d.name = model_name;
    IF v IS NULL THEN
        v := deployed_version;
        IF v IS NULL THEN
            RAISE EXCEPTION 'model "%" has no deployed version', model_name USING ERRCODE = 'undefined_object',
                HINT = 'Name a version: automl_model_card(name, version).';
        END IF;
    END IF;
    SELECT * INTO m FROM automl.models x WHERE x.name = model_name AND x.version = v;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no version %', model_name, v USING ERRCODE = 'undefined_object';
    END IF;

    SELECT * INTO latest FROM automl.evaluations e
    WHERE e.name = model_name AND e.version = v AND e.kind = 'metrics'
    ORDER BY e.evaluated_at DESC, e.id DESC LIMIT 1;

    SELECT jsonb_agg(f.result || jsonb_build_object('relation', f.relation, 'rows', f.n_rows,
                                                    'evaluated_at', f.evaluated_at, 'evaluated_by', f.evaluated_by)
                     ORDER BY f.result->>'sensitive')
    INTO fairness
    FROM (SELECT DISTINCT ON (e.result->>'sensitive') e.*
          FROM automl.evaluations e
          WHERE e.name = model_name AND e.version = v AND e.kind = 'fairness'
          ORDER BY e.result->>'sensitive', e.evaluated_at DESC, e.id DESC) f;

    -- caveats the extension knows
    SELECT caveats || coalesce(jsonb_agg(w->>'message'), '[]') INTO caveats
    FROM jsonb_array_elements(m.warnings) w;
    IF m.n_rows < 1000 THEN
        caveats := caveats || to_jsonb(format('Trained on %s rows: its figures carry wide uncertainty.', m.n_rows));
    END IF;
    IF m.task = 'classification' AND m.calibration->>'method' = 'none' THEN
        caveats := caveats || to_jsonb(format('Probabilities are not calibrated (%s).', m.calibration->>'reason'));
    END IF;
    IF latest IS NULL THEN
        caveats := caveats || to_jsonb('No evaluation on a labelled relation is recorded: the metrics are the training''s validation figures. Run automl_evaluate.'::text);
    ELSE
        SELECT jsonb_agg(format('Slice %s = %s falls behind the whole on %s.', s->>'column',
                                coalesce(s->>'value', 'NULL'),
                                (SELECT string_agg(b, ', ') FROM jsonb_array_elements_text(s->'behind') b)))
        INTO behind
        FROM jsonb_array_elements(latest.result->'slices') s
        WHERE jsonb_array_length(s->'behind') > 0;
        caveats := caveats || coalesce(behind, '[]');
    END IF;
    IF fairness IS NULL THEN
        caveats := caveats || to_jsonb('No fairness figures are recorded: run automl_fairness with a sensitive column.'::text);
    END IF;
    SELECT EXISTS (SELECT 1 FROM automl.monitors mo WHERE mo.name = model_name AND mo.enabled) INTO monitored;
    IF NOT monitored THEN
        caveats := caveats || to_jsonb('Predictions are not monitored: no drift status (automl_monitor switches it on).'::text);
    ELSIF v = deployed_version THEN
        SELECT array_agg(d.feature ORDER BY d.feature) INTO drifted
        FROM automl.drift d WHERE d.model = model_name AND d.drifted AND d.feature IS NOT NULL;
        IF drifted IS NOT NULL THEN
            caveats := caveats || to_jsonb(format('Drift in the latest window: %s.', array_to_string(drifted, ', ')));
        END IF;
    END IF;
    IF m.retired_at IS NOT NULL THEN
        caveats := caveats || to_jsonb(format('This version was retired at %s: it can no longer predict.', m.retired_at));
    END IF;

    RETURN jsonb_build_object(
        'model_details', jsonb_build_object(
            'name', m.name, 'version', m.version, 'task', m.task, 'algorithm', m.algorithm,
            'hyperparams', m.hyperparams,
            'features', (SELECT jsonb_agg(jsonb_build_object('name', f, 'kind', k) ORDER BY i)
                         FROM unnest(m.features, m.feature_kinds) WITH ORDINALITY AS u(f, k, i)),
            'classes', to_jsonb(m.classes), 'calibration', m.calibration->>'method',
            'created_at', m.created_at, 'created_by', m.created_by,
            'extension_version', m.extension_version, 'format_version', m.format_version,
            'train_seconds', m.train_seconds, 'trials', m.options->'trials',
            'deployed', v IS NOT DISTINCT FROM deployed_version),
        'intended_use', (SELECT d.intended_use FROM automl.descriptions d WHERE d.name = model_name),
        'training_data', jsonb_build_object(
            'relation', m.source_relation, 'kind', m.source_kind, 'definition', m.source_definition,
            'target', m.target, 'rows', m.n_rows, 'rows_in_relation', m.options->'rows_in_relation',
            'rows_with_null_target', m.options->'rows_with_null_target', 'digest', m.data_digest,
            'columns', coalesce((SELECT jsonb_agg(c - 'bin_edges' - 'bin_shares')
                                 FROM jsonb_array_elements(m.profile->'columns') c), '[]')),
        'validation', jsonb_build_object(
            'scheme', m.options->>'validation', 'folds', m.options->'folds', 'metric', m.metric,
            'score', m.score, 'metrics', m.metrics, 'calibration', m.calibration),
        'evaluation', CASE WHEN latest IS NULL THEN NULL ELSE jsonb_build_object(
            'relation', latest.relation, 'rows', latest.n_rows, 'evaluated_at', latest.evaluated_at,
            'evaluated_by', latest.evaluated_by, 'metrics', latest.result->'metrics') END,
        'slices', CASE WHEN latest IS NULL THEN NULL ELSE jsonb_build_object(
            'slice_margin', latest.arguments->'slice_margin', 'slices', latest.result->'slices') END,
        'fairness', fairness,
        'caveats', caveats,
        'lineage', (SELECT jsonb_agg(jsonb_build_object(
                        'version', l.version, 'status', l.status, 'created_at', l.created_at,
                        'created_by', l.created_by, 'relation', l.source_relation,
                        'digest', l.data_digest, 'rows', l.n_rows, 'parent_version', l.parent_version,
                        'metric', l.metric, 'score', l.score, 'deployments', l.deployments) ORDER BY l.version)
                    FROM automl.lineage l WHERE l.model = model_name));
END
$card$;
COMMENT ON FUNCTION automl_model_card_json IS 'the model card of a version (default: the deployed one) as jsonb';

-- The same card as a Markdown document.
CREATE FUNCTION automl_model_card(name text, version integer DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $card$
DECLARE
    c jsonb := @extschema@.automl_model_card_json(name, version);
    d jsonb := c->'model_details';
    md text;
    x jsonb;
    k text;
    val jsonb;

BEGIN
    md := format(E'# Model card: %s, version %s\n\n', d->>'name', d->>'version');

    md := md || E'## Model details\n\n'
        || format(E'- Task: %s; algorithm: %s; calibration: %s\n', d->>'task', d->>'algorithm',
                  coalesce(d->>'calibration', 'not applicable'))
        || format(E'- Hyper-parameters: `%s`\n', d->'hyperparams')
        || format(E'- Features (%s): %s\n', jsonb_array_length(d->'features'),
                  (SELECT string_agg(format('%s (%s)', f->>'name', f->>'kind'), ', ')
                   FROM jsonb_array_elements(d->'features') f))
        || CASE WHEN d->'classes' <> 'null' THEN format(E'- Classes: %s\n',
                  (SELECT string_agg(cl, ', ') FROM jsonb_array_elements_text(d->'classes') cl)) ELSE '' END
        || format(E'- Trained by %s at %s in %s s (%s trials); automl %s, model format %s\n',
                  d->>'created_by', d->>'created_at', round((d->>'train_seconds')::numeric, 1),
                  coalesce(d->>'trials', '1'), d->>'extension_version', d->>'format_version')
        || format(E'- Deployed: %s\n\n', CASE WHEN (d->>'deployed')::boolean THEN 'yes' ELSE 'no' END);

    md := md || E'## Intended use\n\n'
        || coalesce(c->>'intended_use', 'Not stated. The owner sets it with automl_set_intended_use(name, text).')
        || E'\n\n';

    x := c->'training_data';
    md := md || E'## Training data\n\n'
        || format(E'- Source: %s (%s), target %s\n', x->>'relation', x->>'kind', x->>'target')
        || format(E'- Rows: %s used of %s with a target (%s with a NULL target left out)\n',
                  x->>'rows', coalesce(x->>'rows_in_relation', x->>'rows'), coalesce(x->>'rows_with_null_target', '0'))
        || format(E'- Digest (SHA-256 of the rows): %s\n\n', x->>'digest')
        || E'| column | kind | missing | summary |\n|---|---|---|---|\n'
        || coalesce((SELECT string_agg(format(E'| %s | %s | %s | %s |', col->>'name', col->>'kind',
                        round(coalesce((col->>'missing_share')::numeric, 0), 4),
                        CASE WHEN col->>'kind' = 'categorical'
                             THEN 'top levels: ' || coalesce((SELECT string_agg(format('%s %s', l->>'level', round((l->>'share')::numeric, 3)), ', ')
                                   FROM (SELECT l FROM jsonb_array_elements(col->'levels') l LIMIT 5) t), '')
                             ELSE format('min %s, mean %s, max %s', col->>'min', round((col->>'mean')::numeric, 4), col->>'max') END),
                        E'\n') FROM jsonb_array_elements(x->'columns') col), '')
        || E'\n\n';

    x := c->'validation';
    md := md || E'## Evaluation data and metrics\n\n'
        || format(E'Validation during training: %s (%s folds), chosen by %s = %s.\n\n',
                  x->>'scheme', x->>'folds', x->>'metric', round((x->>'score')::numeric, 4))
        || E'| metric | validation |\n|---|---|\n'
        || coalesce((SELECT string_agg(format('| %s | %s |', key,
                            CASE WHEN value::numeric = trunc(value::numeric) THEN value::text ELSE round(value::numeric, 4)::text END),
                            E'\n' ORDER BY key)
                     FROM jsonb_each(x->'metrics') WHERE jsonb_typeof(value) = 'number'), '')
        || E'\n\n';
    x := c->'evaluation';
    IF x IS NULL OR x = 'null' THEN
        md := md || E'No evaluation on a labelled relation is recorded (automl_evaluate records one).\n\n';
    ELSE
        md := md || format(E'Evaluated on %s (%s rows) by %s at %s:\n\n', x->>'relation', x->>'rows',
                           x->>'evaluated_by', x->>'evaluated_at')
            || E'| metric | value |\n|---|---|\n'
            || coalesce((SELECT string_agg(format('| %s | %s |', key,
                            CASE WHEN jsonb_typeof(value) = 'number' THEN round(value::text::numeric, 4)::text ELSE 'undefined' END),
                            E'\n' ORDER BY key) FROM jsonb_each(x->'metrics')), '')
            || E'\n\n';
    END IF;

    md := md || E'## Per-slice results\n\n';
    x := c->'slices';
    IF x IS NULL OR x = 'null' OR jsonb_array_length(x->'slices') = 0 THEN
        md := md || E'No slices evaluated (automl_evaluate with slice_by).\n\n';
    ELSE
        md := md || format(E'A slice falls behind when a metric is worse than the whole''s by more than %s (points for metrics between 0 and 1, a share of the value for the others). Slices of few rows are noisy: read their row counts.\n\n',
                           x->>'slice_margin')
            || E'| column | value | rows | behind on |\n|---|---|---|---|\n'
            || (SELECT string_agg(format('| %s | %s | %s | %s |', s->>'column', coalesce(s->>'value', 'NULL'), s->>'rows',
                                         coalesce((SELECT string_agg(b, ', ') FROM jsonb_array_elements_text(s->'behind') b), '-')),
                                  E'\n') FROM jsonb_array_elements(x->'slices') s)
            || E'\n\n';
    END IF;

    md := md || E'## Fairness\n\n';
    IF c->'fairness' IS NULL OR c->'fairness' = 'null' THEN
        md := md || E'No sensitive column evaluated (automl_fairness records one).\n\n';
    ELSE
        FOR x IN SELECT * FROM jsonb_array_elements(c->'fairness') LOOP
            md := md || format(E'Sensitive column %s on %s (%s rows), positive class %s: demographic-parity difference %s, equalized-odds difference %s.\n\n',
                               x->>'sensitive', x->>'relation', x->>'rows', x->>'positive_class',
                               round((x->>'demographic_parity_difference')::numeric, 4),
                               round((x->>'equalized_odds_difference')::numeric, 4))
                || E'| group | rows | selection rate | true positive rate | false positive rate |\n|---|---|---|---|---|\n'
                || (SELECT string_agg(format('| %s | %s | %s | %s | %s |', coalesce(g->>'value', 'NULL'), g->>'rows',
                                             round((g->>'selection_rate')::numeric, 4),
                                             coalesce(round((g->>'true_positive_rate')::numeric, 4)::text, 'undefined'),
                                             coalesce(round((g->>'false_positive_rate')::numeric, 4)::text, 'undefined')),
                                      E'\n') FROM jsonb_array_elements(x->'groups') g)
                || E'\n\n';
        END LOOP;
    END IF;

    md := md || E'## Caveats\n\n'
        || coalesce((SELECT string_agg('- ' || cv, E'\n') FROM jsonb_array_elements_text(c->'caveats') cv), 'None known.')
        || E'\n\n';

    md := md || E'## Lineage\n\n| version | status | created | by | relation | rows | digest | metric | score |\n|---|---|---|---|---|---|---|---|---|\n'
        || (SELECT string_agg(format('| %s | %s | %s | %s | %s | %s | %s | %s | %s |', l->>'version', l->>'status',
                                     l->>'created_at', l->>'created_by', l->>'relation', l->>'rows',
                                     left(l->>'digest', 12), l->>'metric', round((l->>'score')::numeric, 4)),
                              E'\n') FROM jsonb_array_elements(c->'lineage') l)
        || E'\n';
    RETURN md;
END
$card$;
COMMENT ON FUNCTION automl_model_card IS 'the model card of a version (default: the deployed one) as a Markdown document';

CREATE FUNCTION automl_feature_importance(name text, relation text DEFAULT NULL,
                                          version integer DEFAULT NULL, repeats integer DEFAULT 5)
RETURNS TABLE (feature text, method text, importance float8, importance_std float8,
               share float8, rank integer)
AS 'MODULE_PATHNAME', 'automl_feature_importance' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_feature_importance IS 'importance of each feature: the learner''s own (gain, coefficients) and, on a labelled relation, permutation importance';

CREATE FUNCTION automl_explain(model text, features anyelement, class text DEFAULT NULL)
RETURNS TABLE (feature text, value text, contribution float8, scale text, class text)
AS 'MODULE_PATHNAME', 'automl_explain' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_explain IS 'each feature''s exact contribution to one row''s margin (TreeSHAP for trees, w (x - mean) for linear models), and the (base) row';

-- Forecasting ---------------------------------------------------------------

CREATE FUNCTION automl_forecast(name text, horizon integer DEFAULT NULL, series text DEFAULT NULL,
                                level float8 DEFAULT 0.95)
RETURNS TABLE (series text, period timestamp, forecast float8, lower float8, upper float8)
AS 'MODULE_PATHNAME', 'automl_forecast' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_forecast IS 'the next periods of each series of a forecast model, with prediction intervals';
