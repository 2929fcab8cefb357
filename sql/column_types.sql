-- Real tables: every common column type, missing values, categories,
-- dates, and the data-quality checks, each said and kept in the model row.
SET extra_float_digits = 0;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN visits_count AS integer CHECK (VALUE > 0);
CREATE TABLE shop AS
SELECT i AS id,
       (i % 7 + 1)::visits_count AS visits,
       (ARRAY['red', 'green', 'blue'])[i % 3 + 1] AS color,
       ('c' || (i % 50))::varchar(10) AS city,
       (ARRAY['sad', 'ok', 'happy'])[i % 3 + 1]::mood AS mood,
       ('x' || (i % 2))::char(4) AS code,
       DATE '2024-01-01' + (i % 365) AS day,
       TIMESTAMP '2024-01-01 00:00' + i * INTERVAL '37 minutes' AS seen_at,
       TIMESTAMPTZ '2024-01-01 00:00+00' + i * INTERVAL '1 hour' AS seen_tz,
       CASE WHEN i % 10 = 0 THEN NULL ELSE sin(i) END AS signal,
       CASE WHEN i % 13 = 0 THEN NULL ELSE (ARRAY['a', 'b'])[i % 2 + 1] END AS maybe,
       ARRAY[i] AS arr,
       point(i, i) AS location
FROM generate_series(1, 600) AS i;
ALTER TABLE shop ADD COLUMN spend float8;
UPDATE shop SET spend = CASE color WHEN 'red' THEN 2 WHEN 'green' THEN 0 ELSE -1 END
                        + coalesce(signal, 0) + 0.3 * sin(id * 3.1) + 0.1 * visits;

SELECT name, version, task, algorithm, metric, round(score::numeric, 1) AS rmse
FROM automl_train('spend', 'shop', 'spend', max_trials => 1);
SELECT features, feature_kinds FROM automl.models WHERE name = 'spend';
-- the model inputs each column became
SELECT jsonb_array_elements_text(summary->'features') AS model_input FROM automl.models WHERE name = 'spend';
SELECT w->>'check' AS "check", w->>'column' AS "column" FROM automl.models, jsonb_array_elements(warnings) w
WHERE name = 'spend';

-- the profile: one entry per column, histograms on fixed bins
SELECT c->>'name' AS name, c->>'kind' AS kind, round((c->>'missing_share')::numeric, 3) AS missing,
       (c->>'distinct')::int AS distinct_values,
       jsonb_array_length(coalesce(c->'bin_shares', c->'levels')) AS bins_or_levels,
       round((SELECT sum(v::numeric) FROM jsonb_array_elements_text(c->'bin_shares') v)
             + (c->>'missing_share')::numeric, 6) AS numeric_shares_total
FROM automl.models, jsonb_array_elements(profile->'columns') c WHERE name = 'spend';
SELECT c->'levels'->0 AS top_level FROM automl.models, jsonb_array_elements(profile->'columns') c
WHERE name = 'spend' AND c->>'name' = 'color';

-- scoring rows of any shape: unseen categories, NULLs, text for an enum, a
-- timestamp for a date, numbers of other types; nothing fails
SELECT round(automl_predict('spend', s)::numeric, 2) = round(automl_predict('spend', t)::numeric, 2) AS same_row
FROM shop s, LATERAL (SELECT s.visits::bigint AS visits, s.color, s.city::text AS city, s.mood::text AS mood,
                             s.code, s.day::timestamp AS day, s.seen_at, s.seen_tz, s.signal::numeric AS signal,
                             s.maybe) t
WHERE s.id = 7;
SELECT automl_predict('spend', r) IS NOT NULL AS scored
FROM (SELECT 3 AS visits, 'purple' AS color, 'Atlantis' AS city, 'furious' AS mood, 'zz' AS code,
             DATE '2031-05-05' AS day, TIMESTAMP '2031-05-05 13:00' AS seen_at,
             TIMESTAMPTZ '2031-05-05 13:00+02' AS seen_tz, 0.5 AS signal, 'c' AS maybe) r;
SELECT automl_predict('spend', r) IS NOT NULL AS scored_all_null
FROM (SELECT NULL::int AS visits, NULL::text AS color, NULL::text AS city, NULL::mood AS mood,
             NULL::text AS code, NULL::date AS day, NULL::timestamp AS seen_at,
             NULL::timestamptz AS seen_tz, NULL::float8 AS signal, NULL::text AS maybe) r;
-- an unseen level scores like the pooled (other) level, whatever it is called
SELECT count(DISTINCT round(automl_predict('spend', r)::numeric, 10)) AS one_value
FROM (SELECT 3 AS visits, v AS color, 'c1' AS city, 'ok' AS mood, 'x1' AS code, DATE '2024-02-02' AS day,
             TIMESTAMP '2024-02-02 10:00' AS seen_at, TIMESTAMPTZ '2024-02-02 10:00+00' AS seen_tz,
             0.1 AS signal, 'a' AS maybe
      FROM unnest(ARRAY['purple', 'orange', '']) v) r;
-- error: a column of the wrong kind is an error that names it
SELECT automl_predict('spend', r)
FROM (SELECT 3 AS visits, 'red' AS color, 'c1' AS city, 'ok' AS mood, 'x1' AS code, 'monday' AS day,
             TIMESTAMP '2024-02-02 10:00' AS seen_at, TIMESTAMPTZ '2024-02-02 10:00+00' AS seen_tz,
             0.1 AS signal, 'a' AS maybe) r;
-- infinity at prediction is a missing value (in training it is an error)
SELECT automl_predict('spend', r) IS NOT NULL AS scored
FROM (SELECT 3 AS visits, 'red' AS color, 'c1' AS city, 'ok' AS mood, 'x1' AS code,
             'infinity'::date AS day, TIMESTAMP '2024-02-02 10:00' AS seen_at,
             TIMESTAMPTZ '2024-02-02 10:00+00' AS seen_tz, 'Infinity'::float8 AS signal, 'a' AS maybe) r;

-- classification on categories, with a text target
CREATE TABLE visits AS
SELECT id, color, city, mood, signal,
       CASE WHEN color = 'red' OR signal > 0.8 THEN 'buyer' ELSE 'browser' END AS outcome
FROM shop;
SELECT name, task, metric, score > 0.9 AS good_auc
FROM automl_train('outcome', 'visits', 'outcome', exclude => ARRAY['id'], max_trials => 1);
SELECT classes FROM automl.models WHERE name = 'outcome';
SELECT outcome, automl_predict_label('outcome', v) AS predicted, count(*)
FROM visits v GROUP BY 1, 2 ORDER BY 1, 2;

-- identifiers are dropped unless kept; personal data and leakage are named
CREATE TABLE people AS
SELECT i AS customer_id,
       'user' || i || '@example.com' AS contact,
       '+1 555 ' || lpad((i * 7919 % 10000)::text, 4, '0') AS mobile_number,
       md5(i::text) AS token,
       (i % 4)::text AS segment,
       sin(i) AS score,
       (sin(i) > 0) AS churned,
       (sin(i) > 0)::int AS churn_flag_copy
FROM generate_series(1, 300) i;
SELECT name, version FROM automl_train('churn', 'people', 'churned', max_trials => 1);
SELECT features FROM automl.models WHERE name = 'churn' AND version = 1;
SELECT w->>'check' AS "check", w->>'column' AS "column" FROM automl.models, jsonb_array_elements(warnings) w
WHERE name = 'churn' AND version = 1 ORDER BY 1, 2;
SET automl.keep_id_columns = on;
SELECT name, version FROM automl_train('churn', 'people', 'churned', exclude => ARRAY['churn_flag_copy', 'contact', 'mobile_number', 'token'], max_trials => 1);
RESET automl.keep_id_columns;
SELECT features FROM automl.models WHERE name = 'churn' AND version = 2;

-- strong class imbalance: balanced class weights, said and recorded
CREATE TABLE rare AS
SELECT sin(i) AS a, cos(i * 1.7) AS b, (i % 20 = 0) AS fraud FROM generate_series(1, 1000) i;
SELECT name, task FROM automl_train('fraud', 'rare', 'fraud', max_trials => 1);
SELECT options->'class_weights' AS class_weights FROM automl.models WHERE name = 'fraud';

-- few rows for many inputs
CREATE TABLE tiny AS SELECT i AS n, sin(i) AS a, cos(i) AS b, sin(2 * i) AS c, cos(3 * i) AS d,
                            i % 2 = 0 AS even FROM generate_series(1, 12) i;
SELECT name, task FROM automl_train('tiny', 'tiny', 'even', exclude => ARRAY['n'], max_trials => 1);

-- column names with spaces, quotes and capitals
CREATE TABLE "Odd Names" ("Weird Column" float8, "quote""d" text, "UPPER" int, "Target Value" float8);
INSERT INTO "Odd Names" SELECT sin(i), (ARRAY['p', 'q'])[i % 2 + 1], i % 5, 3 * sin(i) + (i % 2)
FROM generate_series(1, 100) i;
SELECT name, task FROM automl_train('odd', '"Odd Names"', 'Target Value', max_trials => 1);
SELECT features FROM automl.models WHERE name = 'odd';
SELECT round(automl_predict('odd', o)::numeric, 1) AS predicted, round("Target Value"::numeric, 1) AS actual
FROM "Odd Names" o LIMIT 3;

-- error: a view cannot have duplicate column names: PostgreSQL refuses it
-- before automl could see it
CREATE VIEW duplicated AS SELECT 1 AS a, 2 AS a;

-- a 1,000-column table
DO $$
BEGIN
    EXECUTE 'CREATE TABLE wide AS SELECT i AS y, '
         || (SELECT string_agg(format('sin(i * %s) AS c%s', k, k), ', ') FROM generate_series(1, 1000) k)
         || ' FROM generate_series(1, 60) i';
END
$$;
SELECT name, task FROM automl_train('wide', 'wide', 'y', max_trials => 1);
SELECT array_length(features, 1) AS n_features FROM automl.models WHERE name = 'wide';
SELECT count(automl_predict('wide', w)) AS scored FROM wide w;

-- the memory budget: rows past a quarter of it, a seeded reservoir sample, said in a NOTICE
CREATE TABLE many AS SELECT sin(i) AS a, cos(i) AS b, 2 * sin(i) - cos(i) AS y FROM generate_series(1, 60000) i;
SET automl.train_memory = '4MB';
SELECT name, task FROM automl_train('sampled', 'many', 'y', max_trials => 1);
RESET automl.train_memory;
SELECT n_rows, options->'rows_in_relation' AS in_relation, options->'rows_used' AS used,
       profile->'rows_in_relation' AS profiled_from
FROM automl.models WHERE name = 'sampled';

-- a categorical column with a million distinct values is an identifier
-- (every row read: 1 GB, within the default ceiling, keeps them all)
CREATE TABLE million AS SELECT md5(i::text) AS key, sin(i) AS a, sin(i) * 3 AS y FROM generate_series(1, 1000000) i;
SET automl.train_memory = '1GB';
SELECT name, task FROM automl_train('million', 'million', 'y', max_trials => 1);
RESET automl.train_memory;
SELECT features FROM automl.models WHERE name = 'million';
DROP TABLE million;

-- Clean-up: this file's tables and types go; test/fixtures/clean_up.sql deletes
-- the models and shows that nothing is left for the next file.
DROP TABLE shop, visits, people, rare, tiny, "Odd Names", wide, many;
DROP TYPE mood;
DROP DOMAIN visits_count;
\i test/fixtures/clean_up.sql
