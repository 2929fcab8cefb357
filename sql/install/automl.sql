-- automl: the install script (copied to automl--<version>.sql by the Makefile).
-- Hand-edited; each release adds an upgrade script beside it.

\echo Use "CREATE EXTENSION automl" to load this file. \quit

-- The catalog lives in its own schema; the functions go where CREATE EXTENSION puts them.
CREATE SCHEMA automl;
COMMENT ON SCHEMA automl IS 'automl catalog: model versions and deployments';

-- One row per model version. Versions are immutable once written.
CREATE TABLE automl.models (
    name            text        NOT NULL CHECK (name ~ '^[^@]+$'),
    version         integer     NOT NULL CHECK (version >= 1),
    task            text        NOT NULL CHECK (task IN ('regression', 'classification')),
    algorithm       text        NOT NULL,
    hyperparams     jsonb       NOT NULL,
    metrics         jsonb       NOT NULL,
    metric          text        NOT NULL,
    score           float8,
    features        text[]      NOT NULL,
    feature_kinds   text[]      NOT NULL,
    classes         text[],
    summary         jsonb       NOT NULL,
    source_relation text        NOT NULL,
    target          text        NOT NULL,
    options         jsonb       NOT NULL,
    warnings        jsonb       NOT NULL,
    profile         jsonb       NOT NULL,
    n_rows          bigint      NOT NULL,
    train_seconds   float8      NOT NULL,
    created_by      name        NOT NULL DEFAULT current_user,
    created_at      timestamptz NOT NULL DEFAULT now(),
    format_version  integer     NOT NULL,
    model_bytes     bytea       NOT NULL,
    PRIMARY KEY (name, version)
);
COMMENT ON TABLE automl.models IS 'one row per trained model version';

-- Append-only: the deployed version of a name is its latest row here.
CREATE TABLE automl.deployments (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    version     integer     NOT NULL,
    deployed_at timestamptz NOT NULL DEFAULT now(),
    deployed_by name        NOT NULL DEFAULT current_user,
    reason      text        NOT NULL,
    FOREIGN KEY (name, version) REFERENCES automl.models (name, version)
);
CREATE INDEX deployments_name_idx ON automl.deployments (name, id);
COMMENT ON TABLE automl.deployments IS 'append-only history of deployments; the latest row per name serves';

CREATE FUNCTION automl.forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'automl.% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Deploy another version instead of editing the history.';
END
$$;
CREATE TRIGGER deployments_append_only
    BEFORE UPDATE OR DELETE ON automl.deployments
    FOR EACH ROW EXECUTE FUNCTION automl.forbid_change();

-- pg_dump keeps the models and their history.
SELECT pg_catalog.pg_extension_config_dump('automl.models', '');
SELECT pg_catalog.pg_extension_config_dump('automl.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('automl.deployments_id_seq', '');

-- The deployed version of every model, one row per name.
CREATE VIEW automl.deployed AS
SELECT DISTINCT ON (d.name)
       d.name, d.version, m.task, m.algorithm, m.metric, m.score,
       d.deployed_at, d.deployed_by, d.reason
FROM automl.deployments d
JOIN automl.models m USING (name, version)
ORDER BY d.name, d.id DESC;
COMMENT ON VIEW automl.deployed IS 'the version of each model that automl_predict uses';

GRANT USAGE ON SCHEMA automl TO PUBLIC;
GRANT SELECT ON automl.models, automl.deployments, automl.deployed TO PUBLIC;

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
