-- Evaluation of stored models on labelled relations: metrics, slices,
-- confusion matrix, curves and fairness, each figure against scikit-learn
-- (test/fixtures/evaluation.py made test/fixtures/evaluation_reference.csv
-- from the predictions of the models that evaluation_models.sql trains).
\set QUIET on
\i test/fixtures/evaluation_models.sql
\set QUIET off
CREATE TABLE ref (kind text, model text, key1 text, key2 text, v1 float8, v2 float8, v3 float8);
\copy ref FROM 'test/fixtures/evaluation_reference.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE fixture_adult (id int, class text, sex text, race text, age int, p float8);
\copy fixture_adult FROM 'test/fixtures/evaluation_adult.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE fixture_iris (id int, species text, p1 float8, p2 float8, p3 float8);
\copy fixture_iris FROM 'test/fixtures/evaluation_iris.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE fixture_diabetes (id int, progression float8, sex float8, p float8);
\copy fixture_diabetes FROM 'test/fixtures/evaluation_diabetes.csv' WITH (FORMAT csv, HEADER true)

-- The models still predict what the fixtures hold (else: run test/fixtures/evaluation.sh).
-- The logistic fit is iterative over OpenBLAS, whose kernels differ by CPU: its
-- probabilities agree to about 1e-9 across machines, not to the last bit.
SELECT max(abs(automl_predict('adult_eval', a) - f.p)) < 1e-12 AS adult_same
FROM eval_adult_test a JOIN fixture_adult f USING (id);
SELECT max(abs((automl_predict_proba('iris_eval', i))[2] - f.p2)) < 1e-8 AS iris_same
FROM eval_iris i JOIN fixture_iris f USING (id);
SELECT max(abs(automl_predict('diabetes_eval', d) - f.p)) < 1e-9 AS diabetes_same
FROM eval_diabetes d JOIN fixture_diabetes f USING (id);

-- Whole-relation metrics: binary, three classes, regression.
CREATE FUNCTION close(a float8, b float8) RETURNS boolean LANGUAGE sql IMMUTABLE
RETURN (a IS NULL AND b IS NULL) OR (a = b) OR abs(a - b) <= 1e-9 * greatest(1, abs(b));
CREATE TABLE adult_eval_result AS SELECT * FROM automl_evaluate('adult_eval', 'eval_adult_test',
    slice_by => ARRAY['sex', 'age']);
SELECT e.metric, e.rows, close(e.value, r.v1) AS matches_sklearn
FROM adult_eval_result e JOIN ref r ON r.kind = 'metric' AND r.model = 'adult_eval' AND r.key2 = e.metric
WHERE e.slice_column IS NULL ORDER BY e.metric;
SELECT e.metric, close(e.value, r.v1) AS matches_sklearn
FROM automl_evaluate('iris_eval', 'eval_iris') e
JOIN ref r ON r.kind = 'metric' AND r.model = 'iris_eval' AND r.key2 = e.metric ORDER BY e.metric;
SELECT e.metric, close(e.value, r.v1) AS matches_sklearn
FROM automl_evaluate('diabetes_eval', 'eval_diabetes', slice_by => ARRAY['sex']) e
JOIN ref r ON r.kind = 'metric' AND r.model = 'diabetes_eval' AND r.key2 = e.metric
WHERE e.slice_column IS NULL ORDER BY e.metric;

-- Slices: a category, and quartiles of a number; every metric of every slice.
SELECT e.slice_column, e.slice_value, e.rows, count(*) AS metrics,
       bool_and(close(e.value, r.v1)) AS all_match_sklearn
FROM adult_eval_result e
JOIN ref r ON r.kind = 'slice' AND r.model = 'adult_eval'
          AND r.key1 = e.slice_column || '=' || e.slice_value AND r.key2 = e.metric
GROUP BY 1, 2, 3 ORDER BY 1, 2;
SELECT count(*) AS slice_rows_without_reference FROM adult_eval_result e
WHERE e.slice_column IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM ref r WHERE r.kind = 'slice' AND r.key1 = e.slice_column || '=' || e.slice_value
                          AND r.key2 = e.metric);
SELECT e.slice_value, count(*) AS metrics, bool_and(close(e.value, r.v1)) AS all_match_sklearn
FROM automl_evaluate('diabetes_eval', 'eval_diabetes', slice_by => ARRAY['sex']) e
JOIN ref r ON r.kind = 'slice' AND r.model = 'diabetes_eval'
          AND r.key1 = 'sex=' || e.slice_value AND r.key2 = e.metric
GROUP BY 1 ORDER BY 1;

-- Confusion matrices.
SELECT c.actual, c.predicted, c.rows, c.rows = r.v1 AS matches_sklearn
FROM automl_confusion_matrix('adult_eval', 'eval_adult_test') c
JOIN ref r ON r.kind = 'confusion' AND r.model = 'adult_eval' AND r.key1 = c.actual AND r.key2 = c.predicted
ORDER BY 1, 2;
SELECT count(*) AS cells, bool_and(c.rows = r.v1) AS all_match_sklearn
FROM automl_confusion_matrix('iris_eval', 'eval_iris') c
JOIN ref r ON r.kind = 'confusion' AND r.model = 'iris_eval' AND r.key1 = c.actual AND r.key2 = c.predicted;

-- Curves, point by point.
SELECT count(*) AS points, count(r) AS referenced,
       bool_and(c.threshold = r.v1 AND close(c.false_positive_rate, r.v2)
                AND close(c.true_positive_rate, r.v3)) AS all_match_sklearn
FROM (SELECT *, row_number() OVER () AS i FROM automl_roc_curve('adult_eval', 'eval_adult_test')) c
LEFT JOIN ref r ON r.kind = 'roc' AND r.key2::int = c.i;
SELECT count(*) AS points, count(r) AS referenced,
       bool_and(close(c.threshold, r.v1) AND close(c.recall, r.v2)
                AND close(c.precision, r.v3)) AS all_match_sklearn
FROM (SELECT *, row_number() OVER () AS i FROM automl_pr_curve('adult_eval', 'eval_adult_test')) c
LEFT JOIN ref r ON r.kind = 'pr' AND r.key2::int = c.i;
SELECT c.bin, c.rows, close(c.rows, r.v1) AND close(c.mean_predicted, r.v2)
                      AND close(c.fraction_positive, r.v3) AS matches_sklearn
FROM automl_calibration_curve('adult_eval', 'eval_adult_test') c
LEFT JOIN ref r ON r.kind = 'calibration' AND r.key2::int = c.bin ORDER BY c.bin;
SELECT c.decile, c.rows, c.positives, close(c.positives, r.v1) AND close(c.lift, r.v2)
                                      AND close(c.cumulative_gain, r.v3) AS matches_numpy
FROM automl_lift_curve('adult_eval', 'eval_adult_test') c
JOIN ref r ON r.kind = 'lift' AND r.key2::int = c.decile ORDER BY c.decile;
-- three classes: one curve per class against the rest
SELECT class, count(*) AS bins, sum(rows) AS rows FROM automl_calibration_curve('iris_eval', 'eval_iris')
GROUP BY 1 ORDER BY 1;

-- Fairness for a sensitive column (Fairlearn's definitions).
SELECT f.sensitive_value, f.rows, close(f.selection_rate, r.v1) AND close(f.true_positive_rate, r.v2)
                                 AND close(f.false_positive_rate, r.v3) AS matches_reference
FROM automl_fairness('adult_eval', 'eval_adult_test', 'sex') f
JOIN ref r ON r.kind = 'fairness' AND r.key1 = 'sex' AND r.key2 = f.sensitive_value ORDER BY 1;
SELECT DISTINCT close(f.demographic_parity_difference, r.v1) AS parity_matches,
       close(f.equalized_odds_difference, r.v2) AS odds_matches
FROM automl_fairness('adult_eval', 'eval_adult_test', 'race') f
JOIN ref r ON r.kind = 'fairness_summary' AND r.key1 = 'race';

-- The owner's evaluations are kept for the model card.
SELECT name, version, kind, relation, n_rows, arguments FROM automl.evaluations ORDER BY id;

-- Slice flags on data built to fail in one slice: in region "east" the label
-- is a coin toss, elsewhere it follows x. Only east falls behind.
SELECT setseed(0.25);
CREATE TABLE regions AS
SELECT i, x, region,
       CASE WHEN region = 'east' THEN random() < 0.5 ELSE x + (random() - 0.5) * 0.4 > 0 END AS label
FROM (SELECT i, random() * 2 - 1 AS x, (ARRAY['north', 'south', 'east', 'west'])[1 + i % 4] AS region
      FROM generate_series(1, 2000) i) s;
SELECT name, algorithm FROM automl_train('regions', 'regions', 'label', exclude => ARRAY['i', 'region'],
                                         algorithms => ARRAY['logistic'], max_trials => 1);
SELECT slice_value, rows, round(value::numeric, 2) AS accuracy, round(overall::numeric, 2) AS overall, behind
FROM automl_evaluate('regions', 'regions', slice_by => ARRAY['region'])
WHERE metric = 'accuracy' ORDER BY slice_value NULLS FIRST;
-- a wider margin lets it pass
SELECT slice_value, behind FROM automl_evaluate('regions', 'regions', slice_by => ARRAY['region'], slice_margin => 0.5)
WHERE metric = 'accuracy' AND slice_value = 'east';

-- Calibration: boosting with a learning rate of 1 and no early stopping is
-- far too sure of itself. Calibration is chosen on held-out predictions and
-- lowers the log loss on unseen rows.
SELECT name, version FROM automl_train('overconfident', 'eval_adult', 'class', exclude => ARRAY['id'], algorithms => ARRAY['gbdt'],
                  hyperparams => '{"learning_rate": 1.0, "n_estimators": 200, "early_stopping": 0, "min_samples_leaf": 2}');
SELECT calibration->>'method' AS method,
       (calibration->'log_loss'->>'isotonic')::float8 < (calibration->'log_loss'->>'none')::float8 AS isotonic_better,
       (calibration->'log_loss'->>'platt')::float8 < (calibration->'log_loss'->>'none')::float8 AS platt_better
FROM automl.models WHERE name = 'overconfident' AND version = 1;
SELECT version FROM automl_train('overconfident', 'eval_adult', 'class', exclude => ARRAY['id'], algorithms => ARRAY['gbdt'],
                  hyperparams => '{"learning_rate": 1.0, "n_estimators": 200, "early_stopping": 0, "min_samples_leaf": 2}',
                  calibration => 'none');
SELECT calibration->>'method' AS method, calibration->>'reason' AS reason FROM automl.models
WHERE name = 'overconfident' AND version = 2;
WITH loss AS (
    SELECT 1 AS version, metric, value FROM automl_evaluate('overconfident', 'eval_adult_test', version => 1)
    UNION ALL
    SELECT 2, metric, value FROM automl_evaluate('overconfident', 'eval_adult_test', version => 2))
SELECT metric, (SELECT value FROM loss WHERE version = 1 AND metric = l.metric)
             < (SELECT value FROM loss WHERE version = 2 AND metric = l.metric) AS calibrated_lower
FROM loss l WHERE version = 2 AND metric IN ('log_loss', 'brier', 'ece') ORDER BY 1;
SELECT v.version, e.metric, round(e.value::numeric, 3) AS value
FROM (VALUES (1), (2)) v(version),
     LATERAL automl_evaluate('overconfident', 'eval_adult_test', version => v.version) e
WHERE e.metric IN ('roc_auc', 'log_loss', 'brier', 'ece') ORDER BY 2, 1;
-- the probabilities served are the calibrated ones: less sure than the raw ones
SELECT avg(least(automl_predict('overconfident@1', a), 1 - automl_predict('overconfident@1', a)))
     > avg(least(automl_predict('overconfident@2', a), 1 - automl_predict('overconfident@2', a))) * 2
       AS served_less_sure,
       bool_and(abs(automl_predict('overconfident@1', a) + (automl_predict_proba('overconfident@1', a))[1] - 1) < 1e-12)
       AS probabilities_sum_to_one
FROM eval_adult_test a;
-- forced methods, and what does not apply
SELECT name FROM automl_train('iris_platt', 'eval_iris', 'species', exclude => ARRAY['id'],
    algorithms => ARRAY['logistic'], max_trials => 1, calibration => 'platt');
SELECT calibration->>'method' AS method, calibration->>'reason' AS reason FROM automl.models WHERE name = 'iris_platt';
SELECT abs((SELECT sum(x) FROM unnest(automl_predict_proba('iris_platt', i)) x) - 1) < 1e-12 AS sums_to_one
FROM eval_iris i WHERE id IN (1, 60, 120);

-- errors: calibration of a regression, an unknown method
SELECT * FROM automl_train('bad', 'eval_diabetes', 'progression', calibration => 'isotonic');
SELECT * FROM automl_train('bad', 'eval_iris', 'species', calibration => 'beta');

-- a regression has no calibration
SELECT calibration FROM automl.models WHERE name = 'diabetes_eval';

-- errors: bad input, clear errors
SELECT * FROM automl_evaluate(NULL, 'eval_adult_test');
SELECT * FROM automl_evaluate('adult_eval', NULL);
SELECT * FROM automl_evaluate('nope', 'eval_adult_test');
SELECT * FROM automl_evaluate('adult_eval', 'no_such_table');
SELECT * FROM automl_evaluate('adult_eval', 'eval_adult_test', version => 7);
SELECT * FROM automl_evaluate('adult_eval', 'eval_iris');
SELECT * FROM automl_evaluate('adult_eval', 'eval_adult_test', slice_by => ARRAY['nope']);
SELECT * FROM automl_evaluate('adult_eval', 'eval_adult_test', slice_by => ARRAY['class']);
SELECT * FROM automl_evaluate('adult_eval', 'eval_adult_test', slice_by => ARRAY[NULL]);
SELECT * FROM automl_evaluate('adult_eval', 'eval_adult_test', slice_margin => -1);

CREATE TABLE adult_unlabelled AS SELECT * FROM eval_adult_test;
UPDATE adult_unlabelled SET class = NULL;
-- error: no labels
SELECT * FROM automl_evaluate('adult_eval', 'adult_unlabelled');
UPDATE adult_unlabelled SET class = 'unknown';
-- error: no label the model knows
SELECT * FROM automl_evaluate('adult_eval', 'adult_unlabelled');
-- rows with labels the model never saw are left out, with a NOTICE
CREATE TABLE adult_mixed AS SELECT * FROM eval_adult_test;
UPDATE adult_mixed SET class = 'unknown' WHERE id % 2 = 0;
SELECT metric, rows FROM automl_evaluate('adult_eval', 'adult_mixed') WHERE metric = 'accuracy';
CREATE TABLE diabetes_text AS SELECT age, sex, bmi, bp, s1, s2, s3, s4, s5, s6, progression::text AS progression FROM eval_diabetes;
-- errors: a text target for a regression, curves and matrices of a regression, NULL arguments
SELECT * FROM automl_evaluate('diabetes_eval', 'diabetes_text');
SELECT * FROM automl_roc_curve('diabetes_eval', 'eval_diabetes');
SELECT * FROM automl_confusion_matrix('diabetes_eval', 'eval_diabetes');
SELECT * FROM automl_pr_curve(NULL, 'eval_adult_test');
SELECT * FROM automl_calibration_curve('adult_eval', NULL);

-- fewer than ten rows: empty deciles have no scores or rates, the others add up
CREATE TABLE eval_adult_three AS SELECT * FROM eval_adult_test ORDER BY id LIMIT 3;
SELECT decile, rows, positives, min_score IS NULL AS empty, cumulative_share
FROM automl_lift_curve('adult_eval', 'eval_adult_three') ORDER BY decile;

-- errors: fairness of three classes, no sensitive column
SELECT * FROM automl_fairness('iris_eval', 'eval_iris', 'sepal_width');
SELECT * FROM automl_fairness('adult_eval', 'eval_adult_test', NULL);

-- one class only in the relation: what is undefined is NULL, not an error
CREATE TABLE adult_rich AS SELECT * FROM eval_adult_test WHERE class = '>50K';
SELECT metric, value IS NULL AS undefined FROM automl_evaluate('adult_eval', 'adult_rich')
WHERE metric IN ('roc_auc', 'accuracy', 'pr_auc') ORDER BY 1;
-- a role granted the model (not its owner) may evaluate, and is not recorded
CREATE ROLE regress_eval_reader;
GRANT SELECT ON eval_adult_test TO regress_eval_reader;
SELECT automl_grant('adult_eval', 'regress_eval_reader');
SET ROLE regress_eval_reader;
SELECT count(*) AS metrics FROM automl_evaluate('adult_eval', 'eval_adult_test');
RESET ROLE;
SELECT count(*) AS recorded_by_reader FROM automl.evaluations WHERE evaluated_by = 'regress_eval_reader';
REVOKE SELECT ON eval_adult_test FROM regress_eval_reader;
SELECT automl_revoke('adult_eval', 'regress_eval_reader');
DROP ROLE regress_eval_reader;
-- deleting a model deletes its evaluations
SELECT automl_delete('regions');
SELECT count(*) FROM automl.evaluations WHERE name = 'regions';

-- The model card: every section, from the catalog and the recorded evaluations.
SELECT count(*) AS rows FROM automl_evaluate('adult_eval', 'eval_adult_test', slice_by => ARRAY['sex']);
SELECT * FROM automl_set_intended_use('adult_eval', 'Teaching: ranking census records by the chance of an income over 50K. Not for decisions about people.');
SELECT section, position(section IN card) > 0 AS present
FROM (SELECT automl_model_card('adult_eval') AS card) c,
     unnest(ARRAY['# Model card: adult_eval, version 1', '## Model details', '## Intended use',
                  'Teaching: ranking census records', '## Training data', 'public.eval_adult (table), target class',
                  '## Evaluation data and metrics', 'Evaluated on public.eval_adult_test (2000 rows)',
                  '## Per-slice results', '| sex | Female | 683 |', '## Fairness',
                  'Sensitive column race on public.eval_adult_test', '## Caveats', '## Lineage',
                  '| 1 | deployed |']) AS section;
SELECT jsonb_object_keys(automl_model_card_json('adult_eval')) AS section ORDER BY 1;
SELECT (c->'evaluation'->'metrics'->>'roc_auc')::float8 = (SELECT value FROM adult_eval_result
                                                 WHERE slice_column IS NULL AND metric = 'roc_auc') AS card_has_evaluated_auc,
       jsonb_array_length(c->'fairness') AS sensitive_columns,
       c->'model_details'->>'calibration' AS calibration,
       jsonb_array_length(c->'lineage') AS versions
FROM automl_model_card_json('adult_eval') c;
-- caveats it knows: small data, no evaluation, no monitoring, a slice behind
SELECT cv FROM jsonb_array_elements_text(automl_model_card_json('iris_eval')->'caveats') cv ORDER BY 1;
SELECT (automl_monitor('iris_eval')).enabled;
SELECT count(*) AS monitoring_caveats FROM jsonb_array_elements_text(automl_model_card_json('iris_eval')->'caveats') cv
WHERE cv LIKE 'Predictions are not monitored%';
SELECT cv FROM jsonb_array_elements_text(automl_model_card_json('adult_eval')->'caveats') cv
WHERE cv LIKE 'Slice sex%' ORDER BY 1;
-- an older version has its own card
SELECT name, version FROM automl_train('adult_eval', 'eval_adult', 'class', exclude => ARRAY['id'],
    algorithms => ARRAY['logistic'], max_trials => 1);
SELECT c->'model_details'->>'version' AS version, c->'model_details'->>'deployed' AS deployed,
       jsonb_typeof(c->'evaluation') = 'object' AS evaluated
FROM (VALUES (automl_model_card_json('adult_eval', 1)), (automl_model_card_json('adult_eval', 2))) v(c);
-- errors: NULL arguments, no such model or version
SELECT automl_model_card(NULL);
SELECT automl_model_card('nope');
SELECT automl_model_card('adult_eval', 9);
SELECT * FROM automl_set_intended_use('nope', 'x');
SELECT * FROM automl_set_intended_use(NULL, 'x');

-- a role granted the model reads its card; only the owner describes a model
CREATE ROLE regress_card_reader;
SET ROLE regress_card_reader;
-- error: not granted, the model does not exist for it
SELECT automl_model_card('adult_eval');
RESET ROLE;
SELECT automl_grant('adult_eval', 'regress_card_reader');
SET ROLE regress_card_reader;
SELECT position('## Intended use' IN automl_model_card('adult_eval')) > 0 AS grantee_reads_card;
-- error: not the owner
SELECT * FROM automl_set_intended_use('adult_eval', 'mine now');
RESET ROLE;
SELECT automl_revoke('adult_eval', 'regress_card_reader');
DROP ROLE regress_card_reader;
SELECT name, intended_use IS NULL AS cleared FROM automl_set_intended_use('adult_eval', NULL);

-- Global importance: the learner's own, and permutation importance on labelled rows.
SELECT setseed(0.5);
CREATE TABLE signal AS
SELECT i, x, noise, category, 3 * x + CASE category WHEN 'a' THEN 2 ELSE 0 END + (random() - 0.5) * 0.1 AS y
FROM (SELECT i, random() AS x, random() AS noise, (ARRAY['a', 'b'])[1 + i % 2] AS category
      FROM generate_series(1, 1000) i) s;
SELECT name FROM automl_train('signal_tree', 'signal', 'y', exclude => ARRAY['i'], algorithms => ARRAY['gbdt'], max_trials => 1);
SELECT name FROM automl_train('signal_linear', 'signal', 'y', exclude => ARRAY['i'], algorithms => ARRAY['linear'], max_trials => 1);
-- (the category moves y by 2, x by up to 3: variances 1 and 0.75; noise not at all)
SELECT feature, method, rank, round(share::numeric, 1) AS share FROM automl_feature_importance('signal_tree')
WHERE method = 'gain' ORDER BY rank;
-- training measured permutation importance on validation rows the refitted model never saw
SELECT feature, rank, round(share::numeric, 1) AS share, abs(importance) < 0.02 AS negligible
FROM automl_feature_importance('signal_tree') WHERE method = 'permutation (validation)' ORDER BY rank;
SELECT summary->'permutation_importance'->>'metric' AS metric, summary->'permutation_importance'->>'rows' AS rows,
       summary->'permutation_importance'->>'repeats' AS repeats
FROM automl.models WHERE name = 'signal_tree';
-- the gain is the learner's summary, summed per column
SELECT abs(i.importance - (SELECT sum(g::float8) FROM automl.models m,
           jsonb_array_elements_text(m.summary->'importance_gain') WITH ORDINALITY e(g, k)
           WHERE m.name = 'signal_tree' AND (m.summary->'features'->>(k::int - 1)) = i.feature)) < 1e-9 AS matches_summary
FROM automl_feature_importance('signal_tree') i WHERE i.feature = 'x' AND i.method = 'gain';
-- linear: |coefficient| on standardised inputs; one-hot levels summed
SELECT feature, method, rank FROM automl_feature_importance('signal_linear') ORDER BY method, rank;
-- permutation: the pure-noise column moves the loss by almost nothing, x by most
SELECT feature, rank, importance > 0.5 AS large, abs(importance) < 0.02 AS negligible, importance_std >= 0 AS has_std
FROM automl_feature_importance('signal_tree', 'signal', repeats => 3) WHERE method = 'permutation' ORDER BY rank;

-- errors: no repeats, NULL, no such model
SELECT * FROM automl_feature_importance('signal_tree', 'signal', repeats => 0);
SELECT * FROM automl_feature_importance(NULL);
SELECT * FROM automl_feature_importance('nope');

-- Per-row explanations: contributions plus the base add up to the margin.
SELECT name FROM automl_train('adult_raw', 'eval_adult', 'class', exclude => ARRAY['id'], algorithms => ARRAY['gbdt'],
    hyperparams => '{"n_estimators": 40, "max_leaves": 15}', calibration => 'none');
SELECT feature, value, round(contribution::numeric, 4) AS contribution, scale, class
FROM automl_explain('adult_raw', (SELECT a FROM eval_adult_test a ORDER BY id LIMIT 1));
-- binary boosting: the log-odds of the probability served, on 200 rows
SELECT count(*) AS rows,
       max(abs(e.margin - ln(automl_predict('adult_raw', a) / (1 - automl_predict('adult_raw', a))))) < 1e-9 AS adds_up
FROM (SELECT * FROM eval_adult_test ORDER BY id LIMIT 200) a,
     LATERAL (SELECT sum(contribution) AS margin FROM automl_explain('adult_raw', a)) e;
-- regression, linear: the prediction itself; each contribution is w (x - mean)
SELECT count(*) AS rows, max(abs(e.margin - automl_predict('diabetes_eval', d))) < 1e-9 AS adds_up
FROM eval_diabetes d, LATERAL (SELECT sum(contribution) AS margin FROM automl_explain('diabetes_eval', d)) e;
-- a regression forest and a regression ensemble (the weighted sum of the members')
SELECT name FROM automl_train('diabetes_forest', 'eval_diabetes', 'progression', exclude => ARRAY['id'],
    algorithms => ARRAY['random_forest'], hyperparams => '{"n_estimators": 20, "max_depth": 6}');
SELECT count(*) AS rows, max(abs(e.margin - automl_predict('diabetes_forest', d))) < 1e-9 AS adds_up
FROM (SELECT * FROM eval_diabetes ORDER BY id LIMIT 50) d,
     LATERAL (SELECT sum(contribution) AS margin FROM automl_explain('diabetes_forest', d)) e;
SELECT name, algorithm FROM automl_train('diabetes_ensemble', 'eval_diabetes', 'progression', exclude => ARRAY['id'],
    algorithms => ARRAY['linear', 'gbdt'], max_trials => 6);
SELECT count(*) AS rows, max(abs(e.margin - automl_predict('diabetes_ensemble', d))) < 1e-9 AS adds_up
FROM (SELECT * FROM eval_diabetes ORDER BY id LIMIT 50) d,
     LATERAL (SELECT sum(contribution) AS margin FROM automl_explain('diabetes_ensemble', d)) e;
-- three classes, logistic without calibration: the margins' differences are log ratios of probabilities
SELECT name FROM automl_train('iris_raw', 'eval_iris', 'species', exclude => ARRAY['id'],
    algorithms => ARRAY['logistic'], max_trials => 1, calibration => 'none');
SELECT count(*) AS rows,
       max(abs((e1.margin - e2.margin) - ln(p[1] / p[3]))) < 1e-9 AS adds_up
FROM eval_iris i,
     LATERAL (SELECT automl_predict_proba('iris_raw', i) AS p) q,
     LATERAL (SELECT sum(contribution) AS margin FROM automl_explain('iris_raw', i, 'setosa')) e1,
     LATERAL (SELECT sum(contribution) AS margin FROM automl_explain('iris_raw', i, 'virginica')) e2;
SELECT DISTINCT scale, class FROM automl_explain('iris_raw', (SELECT i FROM eval_iris i ORDER BY id LIMIT 1));
-- a missing value shows as NULL, and still gets its contribution
SELECT feature, value IS NULL AS missing, contribution IS NOT NULL AS explained
FROM automl_explain('adult_raw', (SELECT a FROM eval_adult_test a WHERE workclass IS NULL ORDER BY id LIMIT 1))
WHERE feature = 'workclass';
-- explaining does not log
SELECT (automl_monitor('adult_raw')).enabled;
SELECT count(*) FROM automl_explain('adult_raw', (SELECT a FROM eval_adult_test a ORDER BY id LIMIT 1));
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) AS logged FROM automl.predictions WHERE model = 'adult_raw';
SELECT automl_predict('adult_raw', a) IS NOT NULL AS scored FROM (SELECT * FROM eval_adult_test ORDER BY id LIMIT 1) a;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) AS logged_by_predict FROM automl.predictions WHERE model = 'adult_raw';

-- errors: NULL arguments, classes the model does not have, a row without the model's columns
SELECT * FROM automl_explain('adult_raw', NULL::eval_adult_test);
SELECT * FROM automl_explain(NULL, (SELECT a FROM eval_adult_test a ORDER BY id LIMIT 1));
SELECT * FROM automl_explain('adult_raw', (SELECT a FROM eval_adult_test a ORDER BY id LIMIT 1), 'rich');
SELECT * FROM automl_explain('diabetes_eval', (SELECT d FROM eval_diabetes d ORDER BY id LIMIT 1), 'x');
SELECT * FROM automl_explain('adult_raw', (SELECT i FROM eval_iris i ORDER BY id LIMIT 1));

SELECT name, algorithm FROM automl_train('iris_ensemble', 'eval_iris', 'species', exclude => ARRAY['id'],
    algorithms => ARRAY['logistic', 'gbdt'], max_trials => 8);
-- an ensemble of classifiers is explained on the scale of its probabilities: for every
-- row and class the contributions plus the base add up to automl_predict_proba's value
SELECT count(*) AS explained, max(abs(e.total - pr.p)) < 1e-9 AS additive,
       bool_and(e.scale = 'probability') AS probability_scale
FROM eval_iris i
CROSS JOIN unnest(ARRAY['setosa', 'versicolor', 'virginica']) WITH ORDINALITY AS c(label, k)
CROSS JOIN LATERAL (SELECT sum(contribution) AS total, min(scale) AS scale
                    FROM automl_explain('iris_ensemble', i, c.label)) e
CROSS JOIN LATERAL (SELECT (automl_predict_proba('iris_ensemble', i))[c.k] AS p) pr;
-- calibrated too: the shares are scaled to the calibrated probability
SELECT name, algorithm FROM automl_train('iris_ensemble_cal', 'eval_iris', 'species', exclude => ARRAY['id'],
    algorithms => ARRAY['logistic', 'gbdt'], max_trials => 8, calibration => 'platt');
SELECT calibration->>'method' AS calibration FROM automl.models WHERE name = 'iris_ensemble_cal';
SELECT count(*) AS explained, max(abs(e.total - pr.p)) < 1e-9 AS additive
FROM eval_iris i
CROSS JOIN unnest(ARRAY['setosa', 'versicolor', 'virginica']) WITH ORDINALITY AS c(label, k)
CROSS JOIN LATERAL (SELECT sum(contribution) AS total FROM automl_explain('iris_ensemble_cal', i, c.label)) e
CROSS JOIN LATERAL (SELECT (automl_predict_proba('iris_ensemble_cal', i))[c.k] AS p) pr;

-- the negative class of a binary booster: its log-odds are the positive class's, negated
SELECT abs(n.m + p.m) < 1e-12 AS negated
FROM (SELECT sum(contribution) AS m FROM automl_explain('adult_raw', (SELECT a FROM eval_adult_test a ORDER BY id LIMIT 1), '<=50K')) n,
     (SELECT sum(contribution) AS m FROM automl_explain('adult_raw', (SELECT a FROM eval_adult_test a ORDER BY id LIMIT 1), '>50K')) p;
-- only the columns the model, the target and the slices need are read: an infinity elsewhere does not matter
CREATE TABLE eval_adult_extra AS SELECT a.*, 'infinity'::float8 AS unrelated FROM eval_adult_test a;
SELECT count(*) AS metrics FROM automl_evaluate('adult_eval', 'eval_adult_extra');
-- a read-only transaction evaluates, without recording
BEGIN READ ONLY;
SELECT count(*) AS metrics FROM automl_evaluate('adult_eval', 'eval_adult_test');
ROLLBACK;

-- Clean-up: this file's tables and function go (its roles went above);
-- test/fixtures/clean_up.sql deletes the models and shows that nothing is left.
DROP TABLE ref, fixture_adult, fixture_iris, fixture_diabetes, adult_eval_result, regions,
           adult_unlabelled, adult_mixed, diabetes_text, eval_adult_three, adult_rich, signal,
           eval_adult_extra, eval_adult, eval_adult_test, eval_iris, eval_diabetes;
DROP FUNCTION close(float8, float8);
\i test/fixtures/clean_up.sql
