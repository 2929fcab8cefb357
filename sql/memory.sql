-- The memory budget of a training: automl.train_memory, within the server's
-- ceiling automl.max_train_memory (a superuser's, or a role's granted SET on
-- it). The version records the limit that applied and the run's measured
-- peak; sizes vary by platform, so they are compared here, not printed.

-- rows whose float8 values alone are four times the limit below (16 MB)
CREATE TABLE mem_rows AS
SELECT i AS id, sin(i) AS a1, cos(i) AS a2, sin(2 * i) AS a3, cos(3 * i) AS a4, sin(5 * i) AS a5,
       cos(7 * i) AS a6, sin(11 * i) AS a7, cos(13 * i) AS a8, sin(17 * i) AS a9, cos(19 * i) AS a10,
       sin(23 * i) AS a11, cos(29 * i) AS a12, sin(31 * i) AS a13, cos(37 * i) AS a14, sin(41 * i) AS a15,
       sin(i) * 2 - cos(3 * i) + sin(5 * i) * cos(7 * i) AS y
FROM generate_series(1, 540000) i;
SELECT count(*) * 16 * 8 >= 4 * 16 * 1024 * 1024 AS float8_bytes_four_times_the_limit FROM mem_rows;

-- a search under 16 MB: a sample of the rows (a quarter of the limit), trials
-- that would not fit stopped; its notices name measured sizes, which vary by
-- platform
SET automl.train_memory = '16MB';
SET client_min_messages = warning;
SELECT name, task FROM automl_train('mem_search', 'mem_rows', 'y', exclude => ARRAY['id'], max_trials => 6);
RESET client_min_messages;
SELECT options->'train_memory_mb' AS limit_mb,
       (options->>'memory_peak_mb')::float8 <= 16 AS peak_within_limit,
       -- the peak counts at least the float8 rows the run kept
       (options->>'memory_peak_mb')::float8 * 1024 * 1024 >= (options->>'rows_used')::float8 * 16 * 8
           AS peak_holds_the_rows,
       (options->>'rows_used')::int < (options->>'rows_in_relation')::int AS sampled
FROM automl.models WHERE name = 'mem_search';
-- every trial finished or stopped at a budget; none failed
SELECT count(*) AS trials, count(*) FILTER (WHERE status = 'ok') > 0 AS some_finished,
       count(*) FILTER (WHERE status NOT IN ('ok', 'stopped at the memory budget')) AS others
FROM automl.trials WHERE name = 'mem_search';
SELECT count(automl_predict('mem_search', m)) AS scored FROM mem_rows m WHERE id <= 100;
-- the defaults: 1 GB a training, 4 GB at most
RESET automl.train_memory;
SHOW automl.train_memory;
SHOW automl.max_train_memory;

-- the ceiling: an ordinary role raises automl.train_memory, the ceiling caps it
CREATE TABLE mem_small AS SELECT i AS id, i % 7 AS x, (i % 7) * 2.0 + i % 3 AS y FROM generate_series(1, 200) i;
CREATE ROLE regress_memory;
GRANT SELECT ON mem_small TO regress_memory;
SET automl.max_train_memory = '64MB';
SET ROLE regress_memory;
SET automl.train_memory = '1GB';
SELECT name, algorithm FROM automl_train('mem_capped', 'mem_small', 'y', exclude => ARRAY['id'],
                                         algorithms => ARRAY['linear'], max_trials => 1);
-- error: an ordinary role may not raise the ceiling
SET automl.max_train_memory = '4GB';
RESET ROLE;
SELECT options->'train_memory_mb' AS limit_mb FROM automl.models WHERE name = 'mem_capped';
-- a role granted SET on the ceiling may change it
GRANT SET ON PARAMETER automl.max_train_memory TO regress_memory;
SET ROLE regress_memory;
SET automl.max_train_memory = '2GB';
SELECT name, algorithm FROM automl_train('mem_granted', 'mem_small', 'y', exclude => ARRAY['id'],
                                         algorithms => ARRAY['linear'], max_trials => 1);
RESET ROLE;
SELECT options->'train_memory_mb' AS limit_mb FROM automl.models WHERE name = 'mem_granted';
-- 0: no ceiling
SET automl.max_train_memory = 0;
SELECT name FROM automl_train('mem_unbounded', 'mem_small', 'y', exclude => ARRAY['id'],
                              algorithms => ARRAY['linear'], max_trials => 1);
SELECT options->'train_memory_mb' AS limit_mb FROM automl.models WHERE name = 'mem_unbounded';
RESET automl.train_memory;
RESET automl.max_train_memory;
REVOKE SET ON PARAMETER automl.max_train_memory FROM regress_memory;
REVOKE SELECT ON mem_small FROM regress_memory;
DROP ROLE regress_memory;

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE mem_rows, mem_small;
\i test/fixtures/clean_up.sql
