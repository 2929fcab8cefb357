-- Scoring: the contract of automl_predict, automl_predict_label and
-- automl_predict_proba, on models trained as in train.sql.
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
SELECT name, version, task FROM automl_train('points_y', 'points', target => 'y',
    exclude => ARRAY['id', 'positive', 'grade', 'level'], max_trials => 1);
SELECT name, version, task FROM automl_train('points_pos', 'points', 'positive',
    exclude => ARRAY['id', 'y', 'grade', 'level'], max_trials => 1);
SELECT name, version, task FROM automl_train('points_grade', 'points', 'grade',
    exclude => ARRAY['id', 'y', 'positive', 'level'], max_trials => 1);
SELECT name, version, task FROM automl_train('points_level', 'points', 'level',
    exclude => ARRAY['id', 'y', 'positive', 'grade'], max_trials => 1);

-- scores inside an ordinary query, with the table's own row
SELECT id, round(y::numeric, 2) AS y, round(automl_predict('points_y', p)::numeric, 2) AS predicted
FROM points p ORDER BY id LIMIT 5;

-- binary: automl_predict is the probability of the positive class (true);
-- the label is spelled as in the training data
SELECT id, positive,
       automl_predict('points_pos', p) BETWEEN 0 AND 1 AS is_probability,
       automl_predict_label('points_pos', p) AS label,
       (automl_predict('points_pos', p) > 0.5) = (automl_predict_label('points_pos', p) = 'true') AS consistent
FROM points p ORDER BY id LIMIT 5;

-- accuracy on the training table
SELECT avg((automl_predict_label('points_pos', p) = positive::text)::int) > 0.9 AS accurate,
       avg((automl_predict_label('points_grade', p) = grade)::int) > 0.9 AS accurate_multiclass
FROM points p;

-- probabilities come in the order of the model's classes and add up to 1
SELECT classes FROM automl.models WHERE name = 'points_grade';
SELECT id, grade, automl_predict_label('points_grade', p) AS label,
       array_length(automl_predict_proba('points_grade', p), 1) AS n,
       round((SELECT sum(v) FROM unnest(automl_predict_proba('points_grade', p)) v)::numeric, 10) AS total,
       (SELECT m.classes[array_position(pr, (SELECT max(v) FROM unnest(pr) v))]
          FROM automl.models m, LATERAL (SELECT automl_predict_proba('points_grade', p) AS pr) q
         WHERE m.name = 'points_grade') = automl_predict_label('points_grade', p) AS argmax_is_label
FROM points p ORDER BY id LIMIT 4;
SELECT automl_predict_proba('points_pos', p) IS NOT NULL AS binary_proba FROM points p LIMIT 1;

-- integer classes come back spelled as integers
SELECT DISTINCT automl_predict_label('points_level', p) AS level FROM points p ORDER BY 1;

-- columns are matched by name: order does not matter, extra columns are ignored
SELECT round(automl_predict('points_y', r)::numeric, 6) =
       round(automl_predict('points_y', p)::numeric, 6) AS same
FROM points p,
     LATERAL (SELECT p.x4 AS x4, 'extra' AS note, p.flag AS flag, p.x3 AS x3,
                     p.x2 AS x2, p.x1 AS x1) r
WHERE p.id = 10;

-- other numeric types are accepted for a feature (int for float, numeric for bool)
SELECT round(automl_predict('points_y', r)::numeric, 4) AS from_other_types
FROM (SELECT 1::numeric AS x1, 0::int AS x2, 2::bigint AS x3, 1 AS flag, 0.5::real AS x4) r;

-- NULL features are missing values (imputed), not errors; a NULL row gives NULL
SELECT automl_predict('points_y', r) IS NOT NULL AS scored
FROM (SELECT NULL::float8 AS x1, NULL::float8 AS x2, NULL::int AS x3,
             NULL::boolean AS flag, NULL::numeric AS x4) r;
SELECT automl_predict('points_y', NULL::points) IS NULL AS null_row;
SELECT automl_predict(NULL, p) IS NULL AS null_model FROM points p LIMIT 1;

-- 'name@N' pins a version; the plain name is the deployed one. A strongly
-- regularised version 2 predicts differently from version 1.
SELECT version, deployed FROM automl_train('points_y', 'points', target => 'y',
                                           hyperparams => '{"alpha": 100000}',
                                           exclude => ARRAY['id', 'positive', 'grade', 'level']);
SELECT version FROM automl.deployed WHERE name = 'points_y';
SELECT automl_predict('points_y@1', p) = automl_predict('points_y', p) AS deployed_is_v1,
       automl_predict('points_y@2', p) <> automl_predict('points_y', p) AS v2_differs
FROM points p WHERE id = 1;

-- a deployment made by another statement is seen by the next statement
SELECT * FROM automl_deploy('points_y', 2, 'test');
SELECT automl_predict('points_y@2', p) = automl_predict('points_y', p) AS now_v2
FROM points p WHERE id = 1;
SELECT * FROM automl_deploy('points_y', 1, 'back to 1');

-- errors: the deployments table is append-only
UPDATE automl.deployments SET reason = 'edited';
DELETE FROM automl.deployments;

-- errors: unknown models and versions, rows that do not fit, the wrong function for the task
SELECT automl_predict('no_such_model', p) FROM points p LIMIT 1;
SELECT automl_predict('points_y@99', p) FROM points p LIMIT 1;
SELECT automl_predict('points_y@x', p) FROM points p LIMIT 1;
SELECT automl_predict('points_y@', p) FROM points p LIMIT 1;
SELECT automl_predict('points_y', r) FROM (SELECT 1.0 AS x1, 2.0 AS x2) r;
SELECT automl_predict('points_y', r)
FROM (SELECT 'a'::text AS x1, 0.0 AS x2, 0 AS x3, true AS flag, 0.0 AS x4) r;
SELECT automl_predict('points_y', 42);
SELECT automl_predict('points_grade', p) FROM points p LIMIT 1;
SELECT automl_predict_label('points_y', p) FROM points p LIMIT 1;
SELECT automl_predict_proba('points_y', p) FROM points p LIMIT 1;

-- labels with odd spelling come back exactly
CREATE TABLE spelled AS
SELECT x, CASE WHEN x < 0 THEN ' Ünïcode label ' ELSE 'it''s "quoted"' END AS label
FROM (SELECT sin(i * 1.7) + 0.2 * cos(i) AS x FROM generate_series(1, 100) i) s;
SELECT task FROM automl_train('spelled', 'spelled', 'label', max_trials => 1);
SELECT classes FROM automl.models WHERE name = 'spelled';
SELECT DISTINCT automl_predict_label('spelled', s) AS label FROM spelled s ORDER BY 1;

-- the model may change from row to row
SELECT sum(automl_predict(CASE WHEN id % 2 = 0 THEN 'points_y' ELSE 'points_y@1' END, p))
       = sum(automl_predict('points_y', p)) AS same_model_by_two_names,
       count(DISTINCT automl_predict(CASE WHEN id % 2 = 0 THEN 'points_y@1' ELSE 'points_y@2' END, p)) > 300 AS scored
FROM points p;

-- t.* is the whole row too, also when a column is named like the alias
CREATE TABLE named_like_alias AS SELECT x1, x2, x3, flag, x4, 'oops' AS p FROM points WHERE id <= 3;
SELECT count(automl_predict('points_y', p.*)) AS scored FROM named_like_alias p;

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE points, spelled, named_like_alias;
\i test/fixtures/clean_up.sql
