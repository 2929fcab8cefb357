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
CREATE TABLE fmt_adult (
    id int GENERATED ALWAYS AS IDENTITY, age int, workclass text, fnlwgt int, education text,
    education_num int, marital_status text, occupation text, relationship text, race text, sex text,
    capital_gain int, capital_loss int, hours_per_week int, native_country text, class text);
\copy fmt_adult (age, workclass, fnlwgt, education, education_num, marital_status, occupation, relationship, race, sex, capital_gain, capital_loss, hours_per_week, native_country, class) FROM 'test/data/adult_sample.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
CREATE TABLE fmt_diabetes (
    id int GENERATED ALWAYS AS IDENTITY, age float8, sex float8, bmi float8, bp float8, s1 float8,
    s2 float8, s3 float8, s4 float8, s5 float8, s6 float8, progression float8);
\copy fmt_diabetes (age, sex, bmi, bp, s1, s2, s3, s4, s5, s6, progression) FROM 'test/data/diabetes.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE fmt_breast_cancer (id int GENERATED ALWAYS AS IDENTITY, mean_radius float8, mean_texture float8, mean_perimeter float8, mean_area float8, mean_smoothness float8, mean_compactness float8, mean_concavity float8, mean_concave_points float8, mean_symmetry float8, mean_fractal_dimension float8, radius_error float8, texture_error float8, perimeter_error float8, area_error float8, smoothness_error float8, compactness_error float8, concavity_error float8, concave_points_error float8, symmetry_error float8, fractal_dimension_error float8, worst_radius float8, worst_texture float8, worst_perimeter float8, worst_area float8, worst_smoothness float8, worst_compactness float8, worst_concavity float8, worst_concave_points float8, worst_symmetry float8, worst_fractal_dimension float8, diagnosis text);
\copy fmt_breast_cancer (mean_radius, mean_texture, mean_perimeter, mean_area, mean_smoothness, mean_compactness, mean_concavity, mean_concave_points, mean_symmetry, mean_fractal_dimension, radius_error, texture_error, perimeter_error, area_error, smoothness_error, compactness_error, concavity_error, concave_points_error, symmetry_error, fractal_dimension_error, worst_radius, worst_texture, worst_perimeter, worst_area, worst_smoothness, worst_compactness, worst_concavity, worst_concave_points, worst_symmetry, worst_fractal_dimension, diagnosis) FROM 'test/data/breast_cancer.csv' WITH (FORMAT csv, HEADER true)
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
