-- Real tables with text categories and missing values, loaded as they come
-- (copies in test/data, sources in test/data/SOURCES.md), no preprocessing.
SET extra_float_digits = 0;

-- credit-g: quoted text categories, 1,000 rows
CREATE TABLE credit_g (
    checking_status text, duration int, credit_history text, purpose text, credit_amount int,
    savings_status text, employment text, installment_commitment int, personal_status text,
    other_parties text, residence_since int, property_magnitude text, age int,
    other_payment_plans text, housing text, existing_credits int, job text, num_dependents int,
    own_telephone text, foreign_worker text, class text);
\copy credit_g FROM 'test/data/credit_g.csv' WITH (FORMAT csv, HEADER true)
SELECT name, task, algorithm, metric, score > 0.7 AS auc_above_07
FROM automl_train('credit', 'credit_g', 'class', max_trials => 1);
SELECT classes, array_length(features, 1) AS n_columns,
       jsonb_array_length(summary->'features') AS n_model_inputs,
       (SELECT count(*) FROM unnest(feature_kinds) k WHERE k = 'categorical') AS categorical
FROM automl.models WHERE name = 'credit';
SELECT jsonb_array_elements_text(summary->'features') AS model_input
FROM automl.models WHERE name = 'credit' LIMIT 6;

-- adult: text categories with missing values spelled NA; a separate test file
CREATE TABLE adult (
    age int, workclass text, fnlwgt int, education text, education_num int, marital_status text,
    occupation text, relationship text, race text, sex text, capital_gain int, capital_loss int,
    hours_per_week int, native_country text, class text);
CREATE TABLE adult_test (LIKE adult);
\copy adult FROM 'test/data/adult_sample.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
\copy adult_test FROM 'test/data/adult_test_sample.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
SELECT count(*) FILTER (WHERE workclass IS NULL) > 0 AS has_missing FROM adult;
SELECT name, task, metric, score > 0.85 AS auc_above_085
FROM automl_train('adult', 'adult', 'class', max_trials => 1);
SELECT classes FROM automl.models WHERE name = 'adult';
SELECT c->>'name' AS name, round((c->>'missing_share')::numeric, 2) AS missing_share
FROM automl.models, jsonb_array_elements(profile->'columns') c
WHERE name = 'adult' AND (c->>'missing_share')::float8 > 0 ORDER BY 1;
-- ROC AUC on the separate test rows, in SQL (ties get their average rank)
WITH scored AS (
    SELECT class = '>50K' AS positive, automl_predict('adult', t) AS p FROM adult_test t
), ranked AS (
    SELECT positive, rank() OVER (ORDER BY p) + (count(*) OVER (PARTITION BY p) - 1) / 2.0 AS r FROM scored
)
SELECT (sum(r) FILTER (WHERE positive) - count(*) FILTER (WHERE positive) * (count(*) FILTER (WHERE positive) + 1) / 2.0)
       / (count(*) FILTER (WHERE positive) * count(*) FILTER (WHERE NOT positive)) > 0.85 AS test_auc_above_085
FROM ranked;
-- rows with missing values and categories never seen in training still score
SELECT count(*) AS rows_with_nulls, count(automl_predict('adult', t)) AS scored
FROM adult_test t WHERE workclass IS NULL OR occupation IS NULL OR native_country IS NULL;
SELECT automl_predict_label('adult', t) AS label
FROM (SELECT 40 AS age, 'Space-force' AS workclass, 100000 AS fnlwgt, 'PhD-in-SQL' AS education,
             16 AS education_num, 'Married-civ-spouse' AS marital_status, NULL AS occupation,
             'Husband' AS relationship, 'White' AS race, 'Male' AS sex, 0 AS capital_gain,
             0 AS capital_loss, 60 AS hours_per_week, 'Atlantis' AS native_country) t;

-- bank marketing: numbers and categories, 7.5 to 1 imbalance (a sample of 5,000 rows)
CREATE TABLE bank (
    "V1" int, "V2" text, "V3" text, "V4" text, "V5" text, "V6" int, "V7" text, "V8" text,
    "V9" text, "V10" int, "V11" text, "V12" int, "V13" int, "V14" int, "V15" int, "V16" text,
    "Class" int);
\copy bank FROM 'test/data/bank_sample.csv' WITH (FORMAT csv, HEADER true)
SELECT name, task, metric, score > 0.85 AS auc_above_085
FROM automl_train('bank', 'bank', 'Class', max_trials => 1);
SELECT classes, options->'class_weights' AS class_weights FROM automl.models WHERE name = 'bank';
SELECT "Class", automl_predict_label('bank', b) AS predicted, count(*) > 0 AS some
FROM bank b GROUP BY 1, 2 ORDER BY 1, 2;

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE credit_g, adult, adult_test, bank;
\i test/fixtures/clean_up.sql
