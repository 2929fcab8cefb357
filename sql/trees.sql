-- Tree learners on small cases that can be checked by hand, then real data.
SET extra_float_digits = 0;

-- one split of one tree recovers a step exactly: the leaf values are the group means
CREATE TABLE step AS SELECT i AS id, i / 100.0 AS x, CASE WHEN i > 50 THEN 1.0 ELSE 0.0 END AS y
FROM generate_series(1, 100) i;
SELECT algorithm, deployed FROM automl_train('step', 'step', 'y', algorithms => ARRAY['gbdt'], exclude => ARRAY['id'],
    hyperparams => '{"n_estimators": 1, "learning_rate": 1, "max_leaves": 2, "min_samples_leaf": 1}');
SELECT x, round(automl_predict('step', s)::numeric, 6) AS predicted
FROM step s WHERE id IN (1, 50, 51, 100) ORDER BY id;
-- between and beyond the training values, the threshold is halfway between 0.50 and 0.51
SELECT x, round(automl_predict('step', r)::numeric, 6) AS predicted
FROM (VALUES (-5.0), (0.505), (0.5051), (99.0)) AS r(x);
SELECT summary->'rounds' AS rounds, summary->'importance_splits' AS splits FROM automl.models WHERE name = 'step';

-- missing values go where training learned they belong
CREATE TABLE holes AS SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 7)::float8 END AS x,
                             CASE WHEN i % 4 = 0 THEN 5.0 ELSE 0.0 END AS y
FROM generate_series(1, 200) i;
SELECT algorithm FROM automl_train('holes', 'holes', 'y', algorithms => ARRAY['gbdt'], exclude => ARRAY['id'],
    hyperparams => '{"n_estimators": 1, "learning_rate": 1, "max_leaves": 2, "min_samples_leaf": 1}');
SELECT round(automl_predict('holes', r)::numeric, 6) AS predicted
FROM (VALUES (NULL::float8), (3.0)) AS r(x);

-- categories split natively: {a, c} against {b, d} in one split
CREATE TABLE colours AS SELECT i AS id, (ARRAY['a', 'b', 'c', 'd'])[i % 4 + 1] AS colour,
                               CASE WHEN i % 4 IN (0, 2) THEN 3.0 ELSE -1.0 END AS y
FROM generate_series(1, 200) i;
SELECT algorithm FROM automl_train('colours', 'colours', 'y', algorithms => ARRAY['gbdt'], exclude => ARRAY['id'],
    hyperparams => '{"n_estimators": 1, "learning_rate": 1, "max_leaves": 2, "min_samples_leaf": 1}');
SELECT colour, round(automl_predict('colours', r)::numeric, 6) AS predicted
FROM (VALUES ('a'), ('b'), ('c'), ('d'), ('never seen'), (NULL)) AS r(colour);
SELECT features, summary->'features' AS inputs FROM automl.models WHERE name = 'colours';

-- a fully grown single tree on all rows reproduces distinct training rows
SELECT algorithm FROM automl_train('one_tree', 'step', 'y', algorithms => ARRAY['random_forest'], exclude => ARRAY['id'],
    hyperparams => '{"n_estimators": 1, "bootstrap": 0, "max_features": 1}');
SELECT count(*) FILTER (WHERE automl_predict('one_tree', s) = y) AS exact, count(*) AS rows FROM step s;

-- forests: class shares that add up to 1, and the informative feature ranks first
CREATE TABLE blobs AS
SELECT i AS id, sin(i) AS signal, cos(i * 7.3) AS noise, (i % 3) AS small_int,
       CASE WHEN sin(i) > 0.3 THEN 'up' WHEN sin(i) < -0.3 THEN 'down' ELSE 'flat' END AS shape
FROM generate_series(1, 900) i;
SELECT algorithm, task, score < 0.3 AS low_log_loss
FROM automl_train('blobs_rf', 'blobs', 'shape', algorithms => ARRAY['random_forest'], exclude => ARRAY['id'],
                  hyperparams => '{"n_estimators": 30}');
SELECT algorithm, task, score < 0.5 AS low_log_loss
FROM automl_train('blobs_et', 'blobs', 'shape', algorithms => ARRAY['extra_trees'], exclude => ARRAY['id'],
                  hyperparams => '{"n_estimators": 30}');
SELECT algorithm, task, score < 0.3 AS low_log_loss
FROM automl_train('blobs_gb', 'blobs', 'shape', algorithms => ARRAY['gbdt'], exclude => ARRAY['id'], max_trials => 1);
SELECT name, (summary->'features'->>0) AS top_input_name,
       (summary->'importance_gain'->>0)::float8 > (summary->'importance_gain'->>1)::float8 AS signal_beats_noise,
       (summary->'importance_gain'->>0)::float8 > (summary->'importance_gain'->>2)::float8 AS signal_beats_int
FROM automl.models WHERE name LIKE 'blobs_%' ORDER BY name;
SELECT name, min(round((SELECT sum(v) FROM unnest(p) v)::numeric, 9)) AS min_total,
       max(round((SELECT sum(v) FROM unnest(p) v)::numeric, 9)) AS max_total
FROM (SELECT 'blobs_rf' AS name, automl_predict_proba('blobs_rf', b) AS p FROM blobs b
      UNION ALL SELECT 'blobs_et', automl_predict_proba('blobs_et', b) FROM blobs b
      UNION ALL SELECT 'blobs_gb', automl_predict_proba('blobs_gb', b) FROM blobs b) q
GROUP BY name ORDER BY name;
SELECT avg((automl_predict_label('blobs_gb', b) = shape)::int) > 0.95 AS accurate FROM blobs b;

-- the same data, options and seed give the same model; another seed another forest
SELECT version FROM automl_train('blobs_rf', 'blobs', 'shape', algorithms => ARRAY['random_forest'], exclude => ARRAY['id'],
                                 hyperparams => '{"n_estimators": 30}');
SELECT version FROM automl_train('blobs_rf', 'blobs', 'shape', algorithms => ARRAY['random_forest'], exclude => ARRAY['id'],
                                 hyperparams => '{"n_estimators": 30, "seed": 7}');
SELECT version, model_bytes = (SELECT model_bytes FROM automl.models WHERE name = 'blobs_rf' AND version = 1) AS same_as_v1
FROM automl.models WHERE name = 'blobs_rf' ORDER BY version;

-- a model read back in a new session predicts the same
CREATE TABLE before_reconnect AS SELECT sum(automl_predict('step', s)) AS gbdt,
    sum((automl_predict_proba('blobs_et', b))[1]) AS et FROM step s, blobs b WHERE b.id = s.id;
\c
SELECT b.gbdt = (SELECT sum(automl_predict('step', s)) FROM step s) AS same_gbdt,
       b.et = (SELECT sum((automl_predict_proba('blobs_et', bb))[1]) FROM step s, blobs bb WHERE bb.id = s.id) AS same_et
FROM before_reconnect b;

-- damaged tree bytes are refused, never followed
CREATE TABLE tree_bytes AS SELECT model_bytes FROM automl.models WHERE name = 'step';
UPDATE automl.models SET model_bytes = substr(model_bytes, 1, length(model_bytes) - 3) WHERE name = 'step';
-- error: truncated tree bytes
SELECT automl_predict('step', s) FROM step s LIMIT 1;
UPDATE automl.models m SET model_bytes = t.model_bytes FROM tree_bytes t WHERE m.name = 'step';
SELECT automl_predict('step', s) IS NOT NULL AS works_again FROM step s LIMIT 1;

-- errors: hyper-parameters are checked
SELECT * FROM automl_train('bad', 'step', 'y', algorithms => ARRAY['gbdt'], hyperparams => '{"max_bins": 300}');
SELECT * FROM automl_train('bad', 'step', 'y', algorithms => ARRAY['random_forest'], hyperparams => '{"learning_rate": 0.1}');
SELECT * FROM automl_train('bad', 'step', 'y', algorithms => ARRAY['extra_trees'], hyperparams => '{"max_features": 2}');

-- real data: iris with every tree learner (5-fold cross-validated log loss;
-- predicting the class shares would give 1.10)
CREATE TABLE iris (sepal_length float8, sepal_width float8, petal_length float8,
                   petal_width float8, species text);
\copy iris FROM 'test/data/iris.csv' WITH (FORMAT csv, HEADER true)
SELECT name, algorithm, metric, score < 0.5 AS low_log_loss
FROM automl_train('iris_gbdt', 'iris', 'species', algorithms => ARRAY['gbdt'], max_trials => 1);
SELECT name, algorithm, metric, score < 0.5 AS low_log_loss
FROM automl_train('iris_rf', 'iris', 'species', algorithms => ARRAY['random_forest'], max_trials => 1);

-- the thread setting is checked
SHOW automl.threads;
SET automl.threads = 1;
SELECT algorithm FROM automl_train('one_thread', 'blobs', 'shape', algorithms => ARRAY['gbdt'], exclude => ARRAY['id'],
                                   hyperparams => '{"n_estimators": 5}');
-- error: at most 64 threads
SET automl.threads = 65;
RESET automl.threads;
-- the server's ceiling: a superuser's setting, or a role's granted SET on it
SHOW automl.max_threads;
CREATE ROLE regress_threads;
GRANT SELECT ON blobs TO regress_threads;
SET ROLE regress_threads;
SET automl.threads = 8;
-- error: an ordinary role may not raise the ceiling
SET automl.max_threads = 64;
RESET ROLE;
GRANT SET ON PARAMETER automl.max_threads TO regress_threads;
SET ROLE regress_threads;
SET automl.max_threads = 1;
SELECT algorithm FROM automl_train('capped_threads', 'blobs', 'shape', algorithms => ARRAY['gbdt'], exclude => ARRAY['id'],
                                   hyperparams => '{"n_estimators": 5}');
RESET ROLE;
RESET automl.threads;
RESET automl.max_threads;
REVOKE SET ON PARAMETER automl.max_threads FROM regress_threads;
REVOKE SELECT ON blobs FROM regress_threads;
DROP ROLE regress_threads;

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE step, holes, colours, blobs, before_reconnect, tree_bytes, iris;
\i test/fixtures/clean_up.sql
