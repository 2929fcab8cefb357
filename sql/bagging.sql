-- Bagging (automl.bag_fold_models, off by default): under k-fold
-- cross-validation, a searched tree model is stored as the average of the
-- models its trial fitted on the folds (the ones whose out-of-fold
-- predictions the search scored), not refitted on every row.
-- max_trials without a time budget makes each run deterministic for a seed.
SET extra_float_digits = 0;
SET automl.bag_fold_models = on;

CREATE TABLE bag_reg AS
SELECT i AS id, (i % 17) * 0.3 AS a, sin(i * 0.37) AS b,
       (ARRAY['x', 'y', 'z'])[1 + i % 3] AS c,
       CASE WHEN i % 11 = 0 THEN NULL ELSE cos(i * 0.11) END AS d,
       (i % 17) * 0.3 + 2 * sin(i * 0.37) + CASE i % 3 WHEN 0 THEN 1.5 WHEN 1 THEN -1 ELSE 0 END
         + 0.2 * sin(i * 12.9898) AS y
FROM generate_series(1, 500) i;

-- boosting alone, searched: five fold models, a fifth of the weight each
SELECT name, algorithm FROM automl_train('bag_gbdt', 'bag_reg', 'y', exclude => ARRAY['id'],
                                         algorithms => ARRAY['gbdt'], max_trials => 1);
SELECT options->>'validation' AS validation, options->'folds' AS folds,
       options->'bagged_trials' AS bagged_trials, options->'refit' AS refit, options->>'refit_reason' AS reason,
       jsonb_array_length(summary->'members') AS fitted_models,
       jsonb_path_query_array(summary, '$.members[*].fold') AS folds_seen,
       (SELECT round(sum((m->>'weight')::numeric), 9) FROM jsonb_array_elements(summary->'members') m) AS weights,
       (SELECT bool_and((m->>'trial')::int = (options->>'best_trial')::int AND m->>'algorithm' = 'gbdt'
                        AND m->'summary' ? 'rounds')
        FROM jsonb_array_elements(summary->'members') m) AS all_of_the_best_trial
FROM automl.models WHERE name = 'bag_gbdt';

-- it scores, explains (base + contributions = the prediction) and evaluates like any model
SELECT count(*) AS rows, max(abs(e.margin - automl_predict('bag_gbdt', r))) < 1e-9 AS adds_up
FROM (SELECT * FROM bag_reg ORDER BY id LIMIT 50) r,
     LATERAL (SELECT sum(contribution) AS margin FROM automl_explain('bag_gbdt', r)) e;
SELECT metric, value < 0.5 AS rmse_below_half FROM automl_evaluate('bag_gbdt', 'bag_reg') WHERE metric = 'rmse';
-- the learner's own importance: the fold models' gain shares, averaged
SELECT method, feature, rank FROM automl_feature_importance('bag_gbdt')
WHERE method NOT LIKE 'permutation%' AND rank <= 2 ORDER BY rank;

-- the stored bytes give the same predictions in a new session (no cached model)
CREATE TABLE bag_scores AS SELECT id, automl_predict('bag_gbdt', r) AS p FROM bag_reg r;
\c
SET extra_float_digits = 0;
SELECT count(*) AS rows, bool_and(s.p = automl_predict('bag_gbdt', r)) AS same
FROM bag_reg r JOIN bag_scores s USING (id);
SHOW automl.bag_fold_models;

-- off (the new session's default): the same search, its best configuration refitted on every row
SELECT version, algorithm FROM automl_train('bag_gbdt', 'bag_reg', 'y', exclude => ARRAY['id'],
                                            algorithms => ARRAY['gbdt'], max_trials => 1);
SET automl.bag_fold_models = on;
SELECT version, options->'bagged_trials' AS bagged_trials, options->'refit' AS refit,
       options->>'refit_reason' AS reason, summary ? 'members' AS has_members, summary ? 'rounds' AS has_rounds
FROM automl.models WHERE name = 'bag_gbdt' ORDER BY version;
-- the same trials and validation score: only the stored model differs
SELECT count(DISTINCT score) AS scores, count(DISTINCT hyperparams) AS configurations,
       count(DISTINCT model_bytes) AS models
FROM automl.models WHERE name = 'bag_gbdt';
SELECT count(*) AS differing_trials FROM (
  SELECT trial, hyperparams, score FROM automl.trials WHERE name = 'bag_gbdt' AND version = 1
  EXCEPT SELECT trial, hyperparams, score FROM automl.trials WHERE name = 'bag_gbdt' AND version = 2) d;

-- an ensemble of a linear model and boosting: the linear member refitted on
-- every row (fold null), boosting's five fold models, weights adding up to 1
CREATE TABLE bag_cls AS
SELECT id, a, b, c, d,
       (a - 2.4 + 1.5 * b + 0.8 * sin(id * 12.9898) + CASE WHEN id % 17 BETWEEN 6 AND 9 THEN 1.2 ELSE 0 END) > 0 AS high
FROM bag_reg;
SELECT name, algorithm FROM automl_train('bag_mix', 'bag_cls', 'high', exclude => ARRAY['id'],
                                         algorithms => ARRAY['linear', 'gbdt'], max_trials => 8);
SELECT algorithm, jsonb_path_query_array(hyperparams, '$.members[*].algorithm') AS members,
       options->'bagged_trials' AS bagged_trials, options->'refit' AS refit
FROM automl.models WHERE name = 'bag_mix';
SELECT m->>'algorithm' AS algorithm, count(*) AS fitted_models, jsonb_agg(m->'fold' ORDER BY ord) AS folds,
       count(DISTINCT m->>'weight') AS weights
FROM automl.models, jsonb_array_elements(summary->'members') WITH ORDINALITY e(m, ord)
WHERE name = 'bag_mix' GROUP BY 1 ORDER BY 1;
SELECT round(sum((m->>'weight')::numeric), 9) AS weights
FROM automl.models, jsonb_array_elements(summary->'members') m WHERE name = 'bag_mix';
-- probabilities add up to 1; the explanation of an ensemble adds up to the probability served
SELECT count(*) AS rows,
       max(abs(p[1] + p[2] - 1)) < 1e-12 AS sums_to_one,
       max(abs(e.margin - automl_predict('bag_mix', r))) < 1e-9 AS adds_up
FROM (SELECT * FROM bag_cls ORDER BY id LIMIT 50) r,
     LATERAL (SELECT automl_predict_proba('bag_mix', r) AS p) q,
     LATERAL (SELECT sum(contribution) AS margin FROM automl_explain('bag_mix', r)) e;
SELECT metric, value > 0.9 AS auc_above_090 FROM automl_evaluate('bag_mix', 'bag_cls') WHERE metric = 'roc_auc';

-- hyperparams given: the one fit asked for is refitted, never bagged
SELECT name, algorithm FROM automl_train('bag_fixed', 'bag_reg', 'y', exclude => ARRAY['id'],
                                         algorithms => ARRAY['gbdt'], hyperparams => '{"n_estimators": 30}');
SELECT options->'bagged_trials' AS bagged_trials, options->'refit' AS refit, summary ? 'members' AS has_members
FROM automl.models WHERE name = 'bag_fixed';

-- error: the setting takes a boolean only
SET automl.bag_fold_models = 'sometimes';
RESET automl.bag_fold_models;

DROP TABLE bag_reg, bag_cls, bag_scores;
\i test/fixtures/clean_up.sql
