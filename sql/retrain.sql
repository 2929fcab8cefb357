-- Retraining: the stored recipe replayed on the current rows, gated against
-- the deployed version on rows the new version never saw.
SET extra_float_digits = 0;

-- Version 1 learns a curved surface from 60 noisy rows.
CREATE TABLE rt_data AS
SELECT i AS id, (i % 100)::float8 AS x1, ((i * 37) % 100)::float8 AS x2,
       (50 * sin((i % 100) / 15.0) + ((i * 37) % 100) ^ 2 / 100 + 40 * sin(i * 7.1))::float8 AS y
FROM generate_series(1, 60) AS i;
SELECT name, version, algorithm, deployed
FROM automl_train('rt', 'rt_data', 'y', exclude => ARRAY['id'], algorithms => ARRAY['gbdt'], max_trials => 2);

-- errors: bad calls
SELECT * FROM automl_retrain(NULL);
SELECT * FROM automl_retrain('no_such_model');
SELECT * FROM automl_retrain_if_needed('rt', max_age => '-1 day');
SELECT automl_schedule_retrain('rt', NULL);
-- (scheduling with and without pg_cron: test/t/007_retrain_cron.pl)

-- 2000 clean rows arrive: the retrained version beats version 1 on the 400
-- gate rows it never saw, and is deployed.
INSERT INTO rt_data
SELECT i, (i % 100)::float8, ((i * 37) % 100)::float8,
       (50 * sin((i % 100) / 15.0) + ((i * 37) % 100) ^ 2 / 100 + sin(i))::float8
FROM generate_series(61, 2060) AS i;
SELECT name, version, previous_version, deployed, gate_rows, reason ~ '^version 2 deployed: rmse' AS reason_ok
FROM automl_retrain('rt', 'more data');
-- the same recipe: algorithm, budget, seed, exclude; trained on the rows left after the gate
SELECT version, algorithm, options->'algorithms' AS algorithms, options->>'max_trials' AS max_trials,
       options->>'seed' AS seed, options->'exclude' AS exclude, n_rows, options->>'gate_rows' AS gate_rows,
       comparison->>'validation_rows' AS compared_on, (comparison->>'deployed')::boolean AS deployed
FROM automl.models WHERE name = 'rt' ORDER BY version;
SELECT version FROM automl.deployed WHERE name = 'rt';

-- A faulty load leaves 160 rows: a version retrained on 128 of them does not
-- beat version 2 on the other 32, and is stored, not deployed.
DELETE FROM rt_data WHERE id > 160;
SELECT name, version, previous_version, deployed, gate_rows, reason ~ '^version 3 stored, version 2 still serves: rmse' AS reason_ok
FROM automl_retrain('rt');
SELECT version FROM automl.deployed WHERE name = 'rt';

-- If needed: no monitor to say so, no max_age: skipped, and recorded with why.
SELECT name, version, deployed, reason FROM automl_retrain_if_needed('rt');
-- older than max_age: retrained
SELECT name, version, deployed, gate_rows FROM automl_retrain_if_needed('rt', max_age => '0 seconds');

-- Every decision is in the audit trail.
SELECT event, version, reason ~ '^(more data|requested|no monitor|age: )' AS reason_ok,
       detail->>'deployed' AS deployed, detail->>'gate_rows' AS gate_rows
FROM automl.audit WHERE model = 'rt' AND event IN ('retrain', 'retrain_skipped') ORDER BY id;

ALTER TABLE rt_data RENAME TO rt_data_old;
-- error: the relation is gone: a clear error
SELECT * FROM automl_retrain('rt');
ALTER TABLE rt_data_old RENAME TO rt_data;

CREATE ROLE regress_rt_other;
SET ROLE regress_rt_other;
-- error: another role does not see the model
SELECT * FROM automl_retrain('rt');
RESET ROLE;
SELECT automl_grant('rt', 'regress_rt_other');
SET ROLE regress_rt_other;
-- error: granted the model, it still may not retrain it
SELECT * FROM automl_retrain('rt');
RESET ROLE;
SELECT automl_revoke('rt', 'regress_rt_other');
DROP ROLE regress_rt_other;

-- Clean-up: this file's table goes (its role went above); test/fixtures/clean_up.sql
-- deletes the models and shows that nothing is left for the next file.
DROP TABLE rt_data;
\i test/fixtures/clean_up.sql
