-- Models stored by release 0.1.0 (model format 2) still load and predict exactly
-- what they predicted then. test/fixtures/format2_models.csv holds three models'
-- bytes, catalog rows and answers on their data's first 50 rows, made by the code
-- of tag v0.1.0 (test/fixtures/format2_models.README). Each row goes into the
-- catalog as it was, and the answers are compared bit for bit (float8 =).
\set QUIET on
CREATE TABLE fixture_models (name text, data_file text, relation text, table_definition text,
    copy_options text, training_call text, task text, algorithm text, format_version int,
    extension_version text, classes text[], predictions float8[], labels text[],
    probabilities float8[], catalog_row jsonb, model_bytes_hex text);
\copy fixture_models FROM 'test/fixtures/format2_models.csv' WITH (FORMAT csv, HEADER true)
\i test/fixtures/format2_tables.sql
-- the catalog rows as 0.1.0 stored them (as a superuser: the catalog's own writes are the extension's)
INSERT INTO automl.registry (name, owner) SELECT name, current_user FROM fixture_models;
INSERT INTO automl.models
SELECT (jsonb_populate_record(NULL::automl.models,
        catalog_row || jsonb_build_object('model_bytes', '\x' || model_bytes_hex))).*
FROM fixture_models;
INSERT INTO automl.deployments (name, version, reason) SELECT name, 1, 'fixture' FROM fixture_models;
\set QUIET off

SELECT name, f.task, f.algorithm, m.format_version,
       get_byte(m.model_bytes, 8) AS header_format_version
FROM fixture_models f JOIN automl.models m USING (name) ORDER BY name;

-- every answer, bit for bit
SELECT f.name,
       a.predictions = f.predictions AS same_predictions,
       a.labels IS NOT DISTINCT FROM f.labels AS same_labels,
       a.probabilities IS NOT DISTINCT FROM f.probabilities AS same_probabilities
FROM fixture_models f
JOIN (SELECT 'fmt_gbdt' AS name, array_agg(automl_predict('fmt_gbdt', t) ORDER BY id) AS predictions,
             array_agg(automl_predict_label('fmt_gbdt', t) ORDER BY id) AS labels,
             array_agg(automl_predict_proba('fmt_gbdt', t) ORDER BY id) AS probabilities
      FROM fmt_adult t WHERE id <= 50
      UNION ALL
      SELECT 'fmt_linear', array_agg(automl_predict('fmt_linear', t) ORDER BY id), NULL, NULL
      FROM fmt_diabetes t WHERE id <= 50
      UNION ALL
      SELECT 'fmt_ensemble', array_agg(automl_predict('fmt_ensemble', t) ORDER BY id),
             array_agg(automl_predict_label('fmt_ensemble', t) ORDER BY id),
             array_agg(automl_predict_proba('fmt_ensemble', t) ORDER BY id)
      FROM fmt_breast_cancer t WHERE id <= 50) a USING (name)
ORDER BY f.name;

-- a format 2 tree model is explained as before: a row per column and the base
SELECT count(*) AS rows, count(*) FILTER (WHERE feature = '(base)') AS base_rows,
       bool_and(contribution IS NOT NULL AND scale = 'log_odds') AS log_odds
FROM automl_explain('fmt_gbdt', (SELECT t FROM fmt_adult t WHERE id = 3));

-- a new version of the same recipe is written in today's format and serves the same rows
SELECT version, deployed FROM automl_train('fmt_linear', 'fmt_diabetes', 'progression',
    algorithms => ARRAY['linear'], exclude => ARRAY['id'], seed => 7, max_trials => 1);
SELECT version, format_version, get_byte(model_bytes, 8) AS header_format_version
FROM automl.models WHERE name = 'fmt_linear' ORDER BY version;
SELECT max(abs(automl_predict('fmt_linear@2', t) - automl_predict('fmt_linear@1', t))) < 1e-9 AS same_model
FROM fmt_diabetes t;

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the models
-- and shows that nothing is left.
DROP TABLE fixture_models, fmt_adult, fmt_diabetes, fmt_breast_cancer;
\i test/fixtures/clean_up.sql
