-- test/docs/benchmarks.sql: run by test/scripts/docs.sh just before the blocks of
-- docs/benchmarks.md. That page shows the queries the benchmarks time on tables that bench/
-- builds, not on the reader's tables; this builds them as bench/scoring_speed.sh does, with
-- 10,000 rows instead of 1,000,000, so that the page's queries are checked as written.
SET client_min_messages = warning;
DROP TABLE IF EXISTS speed_t;
SELECT setseed(0.42);
CREATE TABLE speed_t AS
SELECT x1, x2, x3, x4, x5, x6, x7, x8, x9, x10,
       3.0 + 1.0*x1 - 2.0*x2 + 0.5*x3 + 4.0*x4 - 1.5*x5
           + 0.25*x6 + 2.5*x7 - 0.75*x8 + 1.25*x9 - 3.0*x10
           + 0.1 * (e1 + e2 + e3 - 1.5) AS y
FROM (SELECT random() AS x1, random() AS x2, random() AS x3, random() AS x4,
             random() AS x5, random() AS x6, random() AS x7, random() AS x8,
             random() AS x9, random() AS x10,
             random() AS e1, random() AS e2, random() AS e3
      FROM generate_series(1, 10000)) s;
SELECT version FROM automl_train('speed', 'speed_t', target => 'y', algorithms => ARRAY['linear'], hyperparams => '{}');
RESET client_min_messages;
