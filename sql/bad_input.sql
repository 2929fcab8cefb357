-- Every bad input to automl_train gets a clear error and leaves no catalog row.
SET extra_float_digits = 0;
CREATE TABLE clean AS
SELECT i AS id, sin(i) AS a, cos(i) AS b, (sin(i) + cos(i) > 0) AS label, sin(i) * 2 + 1 AS value
FROM generate_series(1, 50) i;

-- errors: NULL arguments
SELECT * FROM automl_train(NULL, 'clean', 'label', max_trials => 1);
SELECT * FROM automl_train('m', NULL, 'label', max_trials => 1);
SELECT * FROM automl_train('m', 'clean', NULL, max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', exclude => ARRAY[NULL], max_trials => 1);

-- errors: names
SELECT * FROM automl_train('', 'clean', 'label', max_trials => 1);
SELECT * FROM automl_train('a@b', 'clean', 'label', max_trials => 1);

-- errors: unknown relation, target, excluded columns
SELECT * FROM automl_train('m', 'no_such_table', 'label', max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'no_such_column', max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', exclude => ARRAY['label'], max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', exclude => ARRAY['no_such_column'], max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', exclude => ARRAY['a', 'b', 'value', 'id'], max_trials => 1);

CREATE SEQUENCE not_a_table;
-- error: a sequence is not a relation to train on
SELECT * FROM automl_train('m', 'not_a_table', 'label', max_trials => 1);

-- errors: options out of range or not supported yet
SELECT * FROM automl_train('m', 'clean', 'label', task => 'clustering', max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', task => 'forecast', max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', time_budget => 0);
SELECT * FROM automl_train('m', 'clean', 'label', time_budget => -5);
SELECT * FROM automl_train('m', 'clean', 'label', time_budget => 'NaN');
SELECT * FROM automl_train('m', 'clean', 'label', time_budget => 'Infinity');
SELECT * FROM automl_train('m', 'clean', 'label', time_budget => 1e9);
SELECT * FROM automl_train('m', 'clean', 'label', max_trials => 0);
SELECT * FROM automl_train('m', 'clean', 'label', max_trials => -3);
SELECT * FROM automl_train('m', 'clean', 'label', metric => 'accuracy_score', max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', metric => 'rmse', max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'value', metric => 'roc_auc', max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', algorithms => ARRAY['gbdt'], hyperparams => '{"C": 1}');
SELECT * FROM automl_train('m', 'clean', 'label', algorithms => ARRAY['deep_learning'], max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', algorithms => ARRAY[]::text[], max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', algorithms => ARRAY['ridge'], max_trials => 1);
SELECT * FROM automl_train('m', 'clean', 'label', hyperparams => '{"alpha": 1}');
SELECT * FROM automl_train('m', 'clean', 'label', hyperparams => '{"C": -1}');
SELECT * FROM automl_train('m', 'clean', 'label', hyperparams => '{"max_iter": 2.5}');
SELECT * FROM automl_train('m', 'clean', 'label', hyperparams => '{"C": "big"}');
SELECT * FROM automl_train('m', 'clean', 'label', hyperparams => '[1, 2]');

-- the target: empty table, only NULLs, one class, too few rows, wrong type for the task
CREATE TABLE empty (a float8, label boolean);
-- error: an empty table
SELECT * FROM automl_train('m', 'empty', 'label', max_trials => 1);
CREATE TABLE null_target AS SELECT a, NULL::boolean AS label FROM clean;
-- error: a target of NULLs only
SELECT * FROM automl_train('m', 'null_target', 'label', max_trials => 1);
CREATE TABLE one_class AS SELECT a, 'yes'::text AS label FROM clean;
-- error: one class
SELECT * FROM automl_train('m', 'one_class', 'label', max_trials => 1);
CREATE TABLE few AS SELECT a, label FROM clean LIMIT 9;
-- error: too few rows
SELECT * FROM automl_train('m', 'few', 'label', max_trials => 1);
-- error: text cannot be a regression target
SELECT * FROM automl_train('m', 'one_class', 'label', task => 'regression', max_trials => 1);
CREATE TABLE many_labels AS SELECT sin(i) AS a, 'label ' || i AS label FROM generate_series(1, 1100) i;
-- error: more classes than classification takes
SELECT * FROM automl_train('m', 'many_labels', 'label', max_trials => 1);

-- features: none usable, all NULL, constant, unsupported types, infinity
CREATE TABLE only_text AS SELECT a::text AS t, label FROM clean;
-- error: free text is no feature
SELECT * FROM automl_train('m', 'only_text', 'label', max_trials => 1);
CREATE TABLE all_null AS SELECT NULL::float8 AS a, 1.0::float8 AS b, label FROM clean;
-- error: a column of NULLs and a constant are no features
SELECT * FROM automl_train('m', 'all_null', 'label', max_trials => 1);
CREATE TABLE infinite AS SELECT CASE WHEN id % 10 = 0 THEN 'Infinity'::float8 ELSE a END AS a, label FROM clean;
-- error: an infinite feature value
SELECT * FROM automl_train('m', 'infinite', 'label', max_trials => 1);
CREATE TABLE infinite_target AS SELECT a, CASE WHEN id = 5 THEN '-Infinity'::float8 ELSE value END AS value FROM clean;
-- error: an infinite target value
SELECT * FROM automl_train('m', 'infinite_target', 'value', max_trials => 1);

-- nothing was stored by any of the failures
SELECT count(*) AS stored FROM automl.models WHERE name = 'm';

-- what is not an error: NaN and NULL features are missing values, NULL targets
-- are left out, unsupported columns are skipped, each with a NOTICE
CREATE TABLE messy AS
SELECT id,
       CASE WHEN id % 7 = 0 THEN NULL WHEN id % 11 = 0 THEN 'NaN'::float8 ELSE a END AS a,
       b,
       NULL::int AS nothing,
       42 AS constant,
       ARRAY[a] AS arr,
       jsonb_build_object('a', a) AS doc,
       CASE WHEN id % 13 = 0 THEN NULL ELSE label END AS label
FROM clean;
SELECT name, version, task, algorithm, metric, deployed
FROM automl_train('messy', 'messy', 'label', exclude => ARRAY['id'], max_trials => 1);
SELECT features, n_rows, options->'rows_with_null_target' AS null_targets FROM automl.models WHERE name = 'messy';
SELECT count(automl_predict('messy', m)) AS scored FROM messy m;

-- cancel: statement_timeout stops a long training and stores nothing
CREATE TABLE big AS
SELECT sin(i) AS x1, cos(i) AS x2, sin(i * 0.3) AS x3, cos(i * 0.7) AS x4, sin(i * 1.1) AS x5,
       sin(i) + cos(i * 0.7) > 0 AS label
FROM generate_series(1, 1000000) i;
SET statement_timeout = '300ms';
-- (whether the scan, a sample of the rows, ends before the timeout and says so depends on the machine)
SET client_min_messages = warning;
-- error: the statement timeout cancels the training
SELECT * FROM automl_train('big', 'big', 'label', max_trials => 1);
RESET client_min_messages;
RESET statement_timeout;
SELECT count(*) AS stored FROM automl.models WHERE name = 'big';
DROP TABLE big;

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE clean, empty, null_target, one_class, few, many_labels, only_text, all_null, infinite,
           infinite_target, messy;
DROP SEQUENCE not_a_table;
\i test/fixtures/clean_up.sql
