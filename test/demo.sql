-- test/demo.sql: a tour of automl on real data shipped in test/data (see SOURCES.md).
-- Run by test/demo.sh from the top of the checkout, in a fresh database (automl_demo):
--   psql -X -v ON_ERROR_STOP=1 -f test/demo.sql
-- (\copy reads test/data/*.csv relative to the current directory.)

\echo
\echo '== 1. the extension'
CREATE EXTENSION automl;

-- -----------------------------------------------------------------------------------
\echo
\echo '== 2. load the Wisconsin breast cancer data (569 tumours, 30 measurements each)'
CREATE TABLE breast_cancer (
    id                      serial PRIMARY KEY,
    mean_radius             float8,
    mean_texture            float8,
    mean_perimeter          float8,
    mean_area               float8,
    mean_smoothness         float8,
    mean_compactness        float8,
    mean_concavity          float8,
    mean_concave_points     float8,
    mean_symmetry           float8,
    mean_fractal_dimension  float8,
    radius_error            float8,
    texture_error           float8,
    perimeter_error         float8,
    area_error              float8,
    smoothness_error        float8,
    compactness_error       float8,
    concavity_error         float8,
    concave_points_error    float8,
    symmetry_error          float8,
    fractal_dimension_error float8,
    worst_radius            float8,
    worst_texture           float8,
    worst_perimeter         float8,
    worst_area              float8,
    worst_smoothness        float8,
    worst_compactness       float8,
    worst_concavity         float8,
    worst_concave_points    float8,
    worst_symmetry          float8,
    worst_fractal_dimension float8,
    diagnosis               text NOT NULL
);
\copy breast_cancer (mean_radius, mean_texture, mean_perimeter, mean_area, mean_smoothness, mean_compactness, mean_concavity, mean_concave_points, mean_symmetry, mean_fractal_dimension, radius_error, texture_error, perimeter_error, area_error, smoothness_error, compactness_error, concavity_error, concave_points_error, symmetry_error, fractal_dimension_error, worst_radius, worst_texture, worst_perimeter, worst_area, worst_smoothness, worst_compactness, worst_concavity, worst_concave_points, worst_symmetry, worst_fractal_dimension, diagnosis) FROM 'test/data/breast_cancer.csv' WITH (FORMAT csv, HEADER true)
SELECT diagnosis, count(*) FROM breast_cancer GROUP BY diagnosis ORDER BY diagnosis;

-- -----------------------------------------------------------------------------------
\echo
\echo '== 3. train: one call searches learners and settings for 15 seconds (5-fold'
\echo '   cross-validated), keeps an ensemble of the best if it validates better, refits on'
\echo '   all rows, stores the result as version 1 and deploys it'
SELECT * FROM automl_train('cancer', 'breast_cancer', target => 'diagnosis',
                           time_budget => 15, exclude => ARRAY['id'], seed => 42);

\echo '   the leaderboard: every trial, best first (selected = refit into the stored model)'
SELECT rank, trial, algorithm, round(score::numeric, 5) AS roc_auc, round(score_std::numeric, 4) AS spread,
       round(fit_seconds::numeric, 2) AS seconds, selected, round(ensemble_weight::numeric, 2) AS weight
FROM automl.leaderboard WHERE model = 'cancer' AND version = 1
ORDER BY rank NULLS LAST LIMIT 8;
SELECT algorithm, count(*) AS trials, round(max(score)::numeric, 5) AS best_roc_auc,
       round(sum(fit_seconds)::numeric, 1) AS seconds
FROM automl.leaderboard WHERE model = 'cancer' AND version = 1
GROUP BY algorithm ORDER BY best_roc_auc DESC;

\echo
\echo '== 4. predict inside a query (the model scores each row; columns are matched by name)'
\echo '   automl_predict is the probability of the positive class (here the second class,'
\echo '   malignant); automl_predict_label is the predicted class. The model lists its classes:'
SELECT name, version, classes FROM automl.models WHERE name = 'cancer';
SELECT id, diagnosis,
       round(automl_predict('cancer', b)::numeric, 4) AS p_malignant,
       automl_predict_label('cancer', b) AS label
FROM breast_cancer b
ORDER BY id
LIMIT 10;

\echo '   class probabilities, in the order of the classes above:'
SELECT id, diagnosis, automl_predict_proba('cancer', b) AS proba
FROM breast_cancer b
ORDER BY id
LIMIT 3;

\echo '   confusion matrix on all rows (in-sample, so optimistic; the honest score, measured'
\echo '   on rows held out from training, is in automl.models.score and metrics):'
SELECT diagnosis AS actual,
       count(*) FILTER (WHERE automl_predict_label('cancer', b) = 'benign')    AS predicted_benign,
       count(*) FILTER (WHERE automl_predict_label('cancer', b) = 'malignant') AS predicted_malignant
FROM breast_cancer b
GROUP BY diagnosis
ORDER BY diagnosis;

\echo '   every call adds a version: version 2 sees only the ten mean_* measurements (a view);'
\echo '   it would be deployed only if it beat version 1 on the same validation rows; version 1'
\echo '   needs columns the view lacks, so the two cannot be compared and version 2 is stored'
CREATE VIEW breast_cancer_means AS
SELECT id, mean_radius, mean_texture, mean_perimeter, mean_area, mean_smoothness,
       mean_compactness, mean_concavity, mean_concave_points, mean_symmetry,
       mean_fractal_dimension, diagnosis
FROM breast_cancer;
SELECT * FROM automl_train('cancer', 'breast_cancer_means', target => 'diagnosis',
                           time_budget => 10, exclude => ARRAY['id'], seed => 42);
SELECT * FROM automl.deployed WHERE name = 'cancer';

\echo '   pinned versions: cancer@1 and cancer@2 score the same rows (extra columns are ignored)'
SELECT id, diagnosis,
       round(automl_predict('cancer@1', b)::numeric, 4) AS p_v1,
       round(automl_predict('cancer@2', b)::numeric, 4) AS p_v2,
       round(automl_predict('cancer', b)::numeric, 4)   AS p_deployed
FROM breast_cancer b
ORDER BY id
LIMIT 5;

-- -----------------------------------------------------------------------------------
\echo
\echo '== 5. regression: the diabetes data (442 patients, disease progression after one year)'
CREATE TABLE diabetes (
    id          serial PRIMARY KEY,
    age         integer,
    sex         integer,
    bmi         float8,
    bp          float8,
    s1          float8,
    s2          float8,
    s3          float8,
    s4          float8,
    s5          float8,
    s6          float8,
    progression float8 NOT NULL
);
\copy diabetes (age, sex, bmi, bp, s1, s2, s3, s4, s5, s6, progression) FROM 'test/data/diabetes.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*) AS patients, round(avg(progression)::numeric, 1) AS mean_progression FROM diabetes;

\echo '   first only the linear learner (ridge; the search tunes its alpha):'
SELECT * FROM automl_train('diabetes', 'diabetes', target => 'progression',
                           algorithms => ARRAY['linear'], time_budget => 5,
                           exclude => ARRAY['id'], seed => 42);

\echo '   predictions next to the actual values:'
SELECT id, progression AS actual,
       round(automl_predict('diabetes', d)::numeric, 1) AS predicted,
       round((automl_predict('diabetes', d) - progression)::numeric, 1) AS error
FROM diabetes d
ORDER BY id
LIMIT 10;

\echo '   in-sample RMSE and MAE (compare with the held-out score in the catalog):'
SELECT round(sqrt(avg((automl_predict('diabetes', d) - progression) ^ 2))::numeric, 2) AS rmse,
       round(avg(abs(automl_predict('diabetes', d) - progression))::numeric, 2)      AS mae
FROM diabetes d;

\echo '   then every learner for 15 seconds: a new version, deployed only if it beats the'
\echo '   ridge model on the same validation rows'
SELECT * FROM automl_train('diabetes', 'diabetes', target => 'progression',
                           time_budget => 15, exclude => ARRAY['id'], seed => 42);
SELECT version, algorithm, round(score::numeric, 2) AS rmse, comparison->>'champion_score' AS ridge_rmse_same_rows,
       (comparison->>'deployed')::boolean AS deployed
FROM automl.models WHERE name = 'diabetes' ORDER BY version;
SELECT algorithm, count(*) AS trials, round(min(score)::numeric, 2) AS best_rmse
FROM automl.leaderboard WHERE model = 'diabetes' AND version = 2
GROUP BY algorithm ORDER BY best_rmse;

-- -----------------------------------------------------------------------------------
\echo
\echo '== 6. the catalog: every version, with its validation metrics, and what is deployed'
\x on
SELECT name, version, task, algorithm, metric, round(score::numeric, 4) AS score, n_rows, metrics
FROM automl.models
ORDER BY name, version;
\x off
SELECT * FROM automl.deployed;

-- -----------------------------------------------------------------------------------
\echo
\echo '== 7. lineage and audit: what each version was trained on, and every decision'
SELECT model, version, status, source_relation, source_kind, n_rows,
       left(data_digest, 16) AS data_digest, metric, round(score::numeric, 4) AS score,
       parent_version
FROM automl.lineage WHERE model = 'cancer' ORDER BY version;
SELECT id, who, event, model, version, reason FROM automl.audit ORDER BY id;

\echo '   deploy version 2 by hand, then roll back in one call:'
SELECT * FROM automl_deploy('cancer', 2, 'try the smaller model');
SELECT * FROM automl_rollback('cancer', 'the smaller model is worse');
SELECT version, deployed_by, reason FROM automl.deployments WHERE name = 'cancer' ORDER BY id;
SELECT automl_version_at('cancer') AS serving_now;

-- -----------------------------------------------------------------------------------
\echo
\echo '== 8. monitoring: log what the deployed diabetes model predicts, add the true'
\echo '   outcomes later, and compare what it sees with what it was trained on'
SELECT name, enabled, sample_rate, key_column, drift_window FROM automl_monitor('diabetes', key => 'id');
\echo '   this week the clinic sees only its older patients (age 50 and over):'
SELECT count(*) AS patients, round(avg(automl_predict('diabetes', d))::numeric, 1) AS mean_predicted
FROM diabetes d WHERE age >= 50;
\echo '   a background worker moves the log into automl.predictions within a second;'
\echo '   automl_flush_predictions() does it now:'
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT id, version, key, features, round(prediction::numeric, 1) AS prediction
FROM automl.predictions WHERE model = 'diabetes' ORDER BY id LIMIT 3;
\echo '   drift per feature against the training profile (Jensen-Shannon distance on the'
\echo '   training deciles; age and the measurements that go with it moved):'
SELECT coalesce(feature, '(' || kind || ')') AS feature, statistic, round(distance::numeric, 3) AS distance,
       threshold, round(psi::numeric, 3) AS psi, drifted, rows
FROM automl.drift WHERE model = 'diabetes' ORDER BY feature IS NULL, distance DESC;
SELECT feature, rows, missing_share, round(out_of_range_share::numeric, 3) AS out_of_range_share,
       training_min, training_max
FROM automl.data_quality WHERE model = 'diabetes' ORDER BY feature;
\echo '   the outcomes arrive a year later; the model on these patients, beside its'
\echo '   cross-validated score at training (they were among its training rows, so the'
\echo '   first figure is optimistic here; on new patients it is the honest one):'
SELECT automl_observe('diabetes', $$SELECT id, progression FROM diabetes WHERE age >= 50$$) AS outcomes;
SELECT version, predictions, labelled, metric, round(value::numeric, 2) AS value,
       round(validation_value::numeric, 2) AS at_training, degraded
FROM automl.performance WHERE model = 'diabetes';
\echo '   alerts for a scheduler (pg_cron), also sent with NOTIFY automl_alerts:'
SELECT model, kind, alerting, detail FROM automl_check_alerts();

-- -----------------------------------------------------------------------------------
\echo
\echo '== 9. retraining: the drift above is a reason to retrain; the stored recipe runs again'
\echo '   on the current rows, a fifth of them kept out, and the new version serves only if it'
\echo '   beats the deployed one on those rows'
SELECT name, version, previous_version, deployed, gate_rows, reason
FROM automl_retrain_if_needed('diabetes', max_age => '30 days');
SELECT event, version, left(reason, 60) AS trigger, detail->>'deployed' AS deployed
FROM automl.audit WHERE model = 'diabetes' AND event LIKE 'retrain%' ORDER BY id;
\echo '   with pg_cron installed, automl_schedule_retrain(''diabetes'', ''0 3 * * *'') runs this nightly'

-- -----------------------------------------------------------------------------------
\echo
\echo '== 10. evaluation a reviewer can trust: census incomes (UCI adult, 4,000 training rows),'
\echo '   checked on 2,000 rows it never saw, per group, with a model card at the end'
CREATE TABLE adult (
    age int, workclass text, fnlwgt int, education text, education_num int,
    marital_status text, occupation text, relationship text, race text, sex text,
    capital_gain int, capital_loss int, hours_per_week int, native_country text, class text);
CREATE TABLE adult_test (LIKE adult);
\copy adult FROM 'test/data/adult_sample.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
\copy adult_test FROM 'test/data/adult_test_sample.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
SELECT name, version, algorithm, metric, round(score::numeric, 4) AS score
FROM automl_train('income', 'adult', 'class', time_budget => 20);
\echo '   calibration chosen on the validation predictions:'
SELECT calibration->>'method' AS method, calibration->'log_loss' AS cross_validated_log_loss
FROM automl.models WHERE name = 'income';
\echo '   metrics on the unseen rows, and the slices that fall behind by more than 5 points:'
SELECT metric, round(value::numeric, 4) AS value FROM automl_evaluate('income', 'adult_test', slice_by => ARRAY['sex', 'race'])
WHERE slice_column IS NULL;
SELECT slice_column, slice_value, rows, metric, round(value::numeric, 3) AS value, round(overall::numeric, 3) AS overall
FROM automl_evaluate('income', 'adult_test', slice_by => ARRAY['sex', 'race'])
WHERE behind AND metric IN ('accuracy', 'recall', 'roc_auc') ORDER BY 1, 2, 4;
\echo '   the reliability table: predicted probability against the observed share'
SELECT bin, rows, round(mean_predicted::numeric, 3) AS mean_predicted, round(fraction_positive::numeric, 3) AS observed
FROM automl_calibration_curve('income', 'adult_test') WHERE rows > 0;
\echo '   fairness by sex (Fairlearn''s definitions):'
SELECT sensitive_value, rows, round(selection_rate::numeric, 3) AS selection_rate,
       round(true_positive_rate::numeric, 3) AS tpr, round(false_positive_rate::numeric, 3) AS fpr,
       round(demographic_parity_difference::numeric, 3) AS parity_diff, round(equalized_odds_difference::numeric, 3) AS odds_diff
FROM automl_fairness('income', 'adult_test', 'sex');
\echo '   what drives it: the learner''s own importance and permutation importance on the unseen rows'
SELECT feature, method, round(share::numeric, 3) AS share, rank
FROM automl_feature_importance('income', 'adult_test') WHERE rank <= 5 ORDER BY method, rank;
\echo '   the model card, one document for the auditor:'
SELECT automl_set_intended_use('income', 'Teaching example: ranking census records by the chance of an income over 50K. Not for decisions about people.') IS NOT NULL AS described;
\pset format unaligned
\pset tuples_only on
SELECT automl_model_card('income');
\pset format aligned
\pset tuples_only off

-- -----------------------------------------------------------------------------------
\echo
\echo '== 11. forecasting: monthly airline passengers 1949-1960 (R AirPassengers) in, the next'
\echo '   twelve months with 95 % intervals out; candidates backtested on the last three years'
CREATE TABLE passengers (month date, passengers float8);
\copy passengers FROM 'test/forecast/data/air_passengers.csv' WITH (FORMAT csv, HEADER true)
SELECT name, version, algorithm, metric, round(score::numeric, 3) AS backtest_mase
FROM automl_train('passengers', 'passengers', 'passengers', task => 'forecast',
                  time_column => 'month', horizon => 12);
\echo '   every candidate''s backtest (MASE below 1 beats seasonal naive):'
SELECT rank, algorithm, round(score::numeric, 3) AS mase, selected FROM automl.leaderboard
WHERE model = 'passengers' ORDER BY rank;
SELECT period::date AS month, round(forecast::numeric) AS forecast, round(lower::numeric) AS lower,
       round(upper::numeric) AS upper
FROM automl_forecast('passengers');
