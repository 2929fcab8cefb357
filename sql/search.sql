-- The search: learners and configurations, validated, ranked and recorded.
-- max_trials without a time budget makes a run deterministic for a seed.
SET extra_float_digits = 0;

-- two interleaved half-moons with a little deterministic noise: not linear
CREATE TABLE moons AS
SELECT i AS id,
       CASE WHEN i % 2 = 0 THEN cos(i * 0.0157) ELSE 1 - cos(i * 0.0157) END
         + 0.15 * sin(i * 12.9898) AS x,
       CASE WHEN i % 2 = 0 THEN sin(i * 0.0157) ELSE 0.5 - sin(i * 0.0157) END
         + 0.15 * cos(i * 78.233) AS y,
       i % 2 = 0 AS upper
FROM generate_series(1, 400) i;

SELECT name, version, task, algorithm, metric, deployed
FROM automl_train('moons', 'moons', 'upper', exclude => ARRAY['id'], max_trials => 12);

-- every trial is recorded: the portfolio first (cheapest learner first), then the local search
SELECT trial, algorithm, status, rank IS NOT NULL AS ranked, rows_used, score_std IS NOT NULL AS has_spread
FROM automl.leaderboard WHERE model = 'moons' ORDER BY trial;

-- best first: rank 1 has the highest validation AUC
SELECT bool_and(l.score <= b.score) AS best_first
FROM automl.leaderboard l,
     (SELECT score FROM automl.leaderboard WHERE model = 'moons' AND rank = 1) b
WHERE l.model = 'moons';

-- the stored model is what the leaderboard says was selected
SELECT m.algorithm,
       (SELECT count(*) FROM automl.trials t WHERE t.name = 'moons' AND t.selected) AS selected,
       (SELECT round(sum(ensemble_weight)::numeric, 9) FROM automl.trials t WHERE t.name = 'moons') AS weights,
       (m.calibration->>'score_before')::float8
           >= (SELECT score FROM automl.leaderboard WHERE model = 'moons' AND rank = 1) AS not_worse_than_best,
       m.options->>'validation' AS validation, m.options->>'folds' AS folds,
       m.options->>'trials' AS trials, m.options->>'best_trial' AS best_trial
FROM automl.models m WHERE m.name = 'moons';

-- it scores like any model
SELECT avg(((automl_predict('moons', m) > 0.5) = upper)::int) > 0.9 AS accurate
FROM moons m;

-- the same seed gives the same search
SELECT version FROM automl_train('moons', 'moons', 'upper', exclude => ARRAY['id'], max_trials => 12);
SELECT count(*) AS differing_trials FROM (
  (SELECT trial, algorithm, hyperparams, score FROM automl.trials WHERE name = 'moons' AND version = 1
   EXCEPT
   SELECT trial, algorithm, hyperparams, score FROM automl.trials WHERE name = 'moons' AND version = 2)
  UNION ALL
  (SELECT trial, algorithm, hyperparams, score FROM automl.trials WHERE name = 'moons' AND version = 2
   EXCEPT
   SELECT trial, algorithm, hyperparams, score FROM automl.trials WHERE name = 'moons' AND version = 1)) d;

-- algorithms restricts the search
SELECT algorithm FROM automl_train('moons_trees', 'moons', 'upper', exclude => ARRAY['id'],
                                   algorithms => ARRAY['gbdt', 'extra_trees'], max_trials => 5);
SELECT DISTINCT algorithm FROM automl.leaderboard WHERE model = 'moons_trees' ORDER BY 1;

-- other metrics: the search optimises the one asked for
SELECT metric FROM automl_train('moons_acc', 'moons', 'upper', exclude => ARRAY['id'],
                                metric => 'accuracy', max_trials => 3);
CREATE TABLE sales AS
SELECT i AS id, (i % 7) AS weekday, i * 0.1 AS t, 100 + 10 * (i % 7 = 5)::int + 0.5 * i + 3 * sin(i) AS amount
FROM generate_series(1, 300) i;
SELECT metric, score < 0.05 AS mape_under_5_percent
FROM automl_train('sales', 'sales', 'amount', exclude => ARRAY['id'], metric => 'mape', max_trials => 4);
SELECT (metrics ? 'mape') AS has_mape FROM automl.models WHERE name = 'sales';

-- a time budget bounds the search; the model row records it (its NOTICEs depend on the clock)
SET client_min_messages = warning;
SELECT task FROM automl_train('moons_budget', 'moons', 'upper', exclude => ARRAY['id'], time_budget => 2);
RESET client_min_messages;
SELECT options->>'time_budget' AS budget, (options->>'trials')::int > 1 AS searched,
       options->>'max_trials' AS max_trials
FROM automl.models WHERE name = 'moons_budget';

-- a budget too small for a search still gives the cheapest model, with a NOTICE
SELECT algorithm FROM automl_train('moons_tiny', 'moons', 'upper', exclude => ARRAY['id'], time_budget => 0.001);
SELECT count(*) AS trials FROM automl.trials WHERE name = 'moons_tiny';

-- hyperparams given: one fit, no search
SELECT algorithm FROM automl_train('one_fit', 'moons', 'upper', exclude => ARRAY['id'],
                                   algorithms => ARRAY['gbdt'], hyperparams => '{"n_estimators": 20}');
SELECT trial, algorithm, hyperparams->'n_estimators' AS n_estimators, selected
FROM automl.leaderboard WHERE model = 'one_fit';

-- large data is validated on a holdout of a fifth of the rows (cross-validation
-- is for up to 100,000 rows)
CREATE TABLE large AS SELECT i AS id, sin(i) AS a, cos(i) AS b, sin(i) + cos(i) + 0.1 * sin(i * 3.7) AS y
FROM generate_series(1, 120000) i;
SELECT task FROM automl_train('large', 'large', 'y', exclude => ARRAY['id'], max_trials => 1);
SELECT options->>'validation' AS validation, options->>'folds' AS folds,
       metrics->>'validation_rows' AS validation_rows, metrics->>'training_rows' AS training_rows
FROM automl.models WHERE name = 'large';
DROP TABLE large;

-- errors: mistakes get a hint
SELECT * FROM automl_train('m', 'moons', 'upper', metric => 'rocauc');
SELECT * FROM automl_train('m', 'moons', 'upper', algorithms => ARRAY['gbdtt']);
SELECT * FROM automl_train('m', 'moons', 'upper', task => 'clasification');
SELECT * FROM automl_train('m', 'moons', 'upper', algorithms => ARRAY['gbdt'], hyperparams => '{"learning_rat": 0.1}');
SELECT * FROM automl_train('m', 'moons', 'upper', algorithms => ARRAY['gbdt', 'linear'], hyperparams => '{"learning_rate": 0.1}');
SELECT * FROM automl_train('m', 'moons', 'upper', metric => 'mape');

-- none of them stored a model
SELECT count(*) AS stored FROM automl.models WHERE name = 'm';

-- nothing is training now
SELECT count(*) AS running FROM automl.training_progress;

-- deleting a model deletes its trials
SELECT automl_delete('moons_trees');
SELECT count(*) AS trials_left FROM automl.trials WHERE name = 'moons_trees';

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE moons, sales;
\i test/fixtures/clean_up.sql
