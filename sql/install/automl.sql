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
    task              text        NOT NULL CHECK (task IN ('regression', 'classification')),
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
                                                  'rollback', 'retire', 'delete', 'policy')),
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

-- pg_dump keeps the models and their history.
SELECT pg_catalog.pg_extension_config_dump('automl.registry', '');
SELECT pg_catalog.pg_extension_config_dump('automl.models', '');
SELECT pg_catalog.pg_extension_config_dump('automl.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('automl.deployments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('automl.events', '');
SELECT pg_catalog.pg_extension_config_dump('automl.events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('automl.trials', '');

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
                automl.leaderboard, automl.training_progress TO PUBLIC;

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
    max_trials  integer DEFAULT NULL)
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
