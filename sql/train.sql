-- automl_train on made-up data: regression, binary and multiclass, task
-- inference, the catalog row, and the first version being deployed.
SET extra_float_digits = 0;

CREATE TABLE points AS
SELECT i AS id,
       sin(i) AS x1,
       cos(i * 1.3) AS x2,
       (i % 5)::int AS x3,
       (i % 3 = 0) AS flag,
       sin(i * 0.7)::numeric(10,4) AS x4
FROM generate_series(1, 600) AS i;
ALTER TABLE points
    ADD COLUMN y float8,
    ADD COLUMN positive boolean,
    ADD COLUMN grade text,
    ADD COLUMN level int;
UPDATE points SET
    y = 3 * x1 - 2 * x2 + 0.5 * x3 + 0.1 * sin(id * 7.7),
    positive = (x1 + x2 + 0.3 * sin(id * 3.1) > 0),
    grade = CASE WHEN x1 > 0.4 THEN 'high' WHEN x1 > -0.4 THEN 'middle' ELSE 'low' END,
    level = CASE WHEN x2 > 0.3 THEN 3 WHEN x2 > -0.3 THEN 2 ELSE 1 END;

-- regression: a float target
SELECT name, version, task, algorithm, metric, round(score::numeric, 2) AS score, deployed
FROM automl_train('points_y', 'points', target => 'y',
                  exclude => ARRAY['id', 'positive', 'grade', 'level'], max_trials => 1);

-- binary classification: a boolean target, probability of true
SELECT name, version, task, algorithm, metric, score > 0.95 AS good_auc, deployed
FROM automl_train('points_pos', 'points', 'positive',
                  exclude => ARRAY['id', 'y', 'grade', 'level'], max_trials => 1);

-- multiclass: a text target, log loss
SELECT name, version, task, algorithm, metric, score < 0.3 AS low_log_loss, deployed
FROM automl_train('points_grade', 'points', 'grade',
                  exclude => ARRAY['id', 'y', 'positive', 'level'], max_trials => 1);

-- an integer target with few values is inferred as classification ...
SELECT task, metric FROM automl_train('points_level', 'points', 'level',
                                      exclude => ARRAY['id', 'y', 'positive', 'grade'], max_trials => 1);
-- ... unless the caller says otherwise
SELECT task, metric FROM automl_train('points_level_reg', 'points', 'level', task => 'regression',
                                      exclude => ARRAY['id', 'y', 'positive', 'grade'], max_trials => 1);

-- the catalog rows
SELECT name, version, task, algorithm, features, feature_kinds, classes, source_relation,
       target, n_rows, format_version, created_by = current_user AS by_me,
       train_seconds >= 0 AS timed, length(model_bytes) > 32 AS has_bytes
FROM automl.models ORDER BY name, version;

SELECT name, metrics ? 'rmse' AS rmse, metrics ? 'r2' AS r2, metrics ? 'mae' AS mae,
       metrics ? 'roc_auc' AS auc, metrics ? 'log_loss' AS logloss,
       metrics ? 'accuracy' AS acc, metrics ? 'f1' AS f1,
       (metrics->>'validation_rows')::int AS valid_rows, (metrics->>'training_rows')::int AS train_rows
FROM automl.models ORDER BY name, version;

SELECT name, hyperparams, options - 'refit_seconds' - 'search_seconds' - 'memory_peak_mb' AS options FROM automl.models ORDER BY name, version;

-- the ridge fit recovers the generating coefficients (in raw units: coef / scale)
SELECT f AS feature,
       round(((summary->'coef'->0->>(i - 1)::int)::float8 / (summary->'scale'->>(i - 1)::int)::float8)::numeric, 1) AS raw_coef
FROM automl.models, unnest(features) WITH ORDINALITY AS u(f, i)
WHERE name = 'points_y' ORDER BY i;

-- every first version is deployed
SELECT name, version, reason FROM automl.deployed ORDER BY name;

-- a second version is stored but not deployed automatically
SELECT version, deployed FROM automl_train('points_y', 'points', target => 'y',
                                           exclude => ARRAY['id', 'positive', 'grade', 'level'], max_trials => 1);
SELECT name, version FROM automl.deployed WHERE name = 'points_y';

-- the same data, options and seed give the same model
SELECT a.model_bytes = b.model_bytes AS same_bytes
FROM automl.models a, automl.models b
WHERE a.name = 'points_y' AND a.version = 1 AND b.name = 'points_y' AND b.version = 2;

-- another seed gives another validation split
SELECT version FROM automl_train('points_y', 'points', target => 'y', seed => 7,
                                 exclude => ARRAY['id', 'positive', 'grade', 'level'], max_trials => 1);
SELECT a.metrics = b.metrics AS same_validation, b.options->'seed' AS seed
FROM automl.models a, automl.models b
WHERE a.name = 'points_y' AND a.version = 1 AND b.name = 'points_y' AND b.version = 3;

-- hyperparameters and named algorithms
SELECT algorithm, deployed FROM automl_train('points_ridge', 'points', 'y', algorithms => ARRAY['ridge'],
                                             hyperparams => '{"alpha": 10}',
                                             exclude => ARRAY['id', 'positive', 'grade', 'level']);
SELECT hyperparams FROM automl.models WHERE name = 'points_ridge';
SELECT algorithm FROM automl_train('points_logit', 'points', 'positive', algorithms => ARRAY['linear'],
                                   hyperparams => '{"C": 0.5, "max_iter": 200}', metric => 'accuracy',
                                   exclude => ARRAY['id', 'y', 'grade', 'level']);
SELECT hyperparams, metric FROM automl.models WHERE name = 'points_logit';

-- a view and a quoted, schema-qualified name work as relations
CREATE SCHEMA "My Schema";
CREATE VIEW "My Schema"."Points View" AS SELECT x1, x2, x3, y FROM points WHERE id <= 300;
SELECT name, version, task FROM automl_train('from_view', '"My Schema"."Points View"', 'y', max_trials => 1);
SELECT name, n_rows, source_relation, features FROM automl.models WHERE name = 'from_view';

-- Clean-up: this file's tables and schema go; test/fixtures/clean_up.sql deletes
-- the models and shows that nothing is left for the next file.
DROP SCHEMA "My Schema" CASCADE;
DROP TABLE points;
\i test/fixtures/clean_up.sql
