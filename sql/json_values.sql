-- Every JSON document the extension writes is built with the jsonb API: a number
-- that is NaN or infinite becomes null, never the text nan or Infinity (which are
-- not JSON). Each query below drives one writer into such a number and reads the
-- stored document back.
CREATE TABLE jv (id int, x float8, g text, y int);
INSERT INTO jv SELECT i, sin(i), CASE WHEN i % 4 = 0 THEN 'solo' ELSE 'many' END,
       -- group 'solo' has only the positive class: its ROC AUC and false-positive rate are undefined
       CASE WHEN i % 4 = 0 THEN 1 WHEN sin(i) > 0 THEN 1 ELSE 0 END
FROM generate_series(1, 200) i;
SELECT name FROM automl_train('jv_model', 'jv', 'y', exclude => ARRAY['id'],
                              algorithms => ARRAY['linear'], max_trials => 1);

-- evaluation: metrics undefined in a slice are null in the recorded result
SELECT slice_value, value IS NULL AS auc_undefined FROM automl_evaluate('jv_model', 'jv', slice_by => ARRAY['g'])
WHERE metric = 'roc_auc' ORDER BY slice_value NULLS FIRST;
SELECT jsonb_typeof(s->'metrics'->'roc_auc') AS solo_auc
FROM automl.evaluations e, jsonb_array_elements(e.result->'slices') s
WHERE e.name = 'jv_model' AND e.kind = 'metrics' AND s->>'value' = 'solo';

-- fairness: a rate undefined in a group is null
SELECT sensitive_value, false_positive_rate FROM automl_fairness('jv_model', 'jv', 'g') ORDER BY 1;
SELECT g->>'value' AS grp, jsonb_typeof(g->'false_positive_rate') AS fpr
FROM automl.evaluations e, jsonb_array_elements(e.result->'groups') g
WHERE e.name = 'jv_model' AND e.kind = 'fairness' ORDER BY 1;

-- the prediction log: NaN and infinite feature values are logged as null
SELECT automl_monitor('jv_model', key => 'id') IS NOT NULL AS monitoring;
SELECT count(automl_predict('jv_model', r)) FROM (VALUES (1001, 'NaN'::float8, 'many', 0),
    (1002, 'Infinity'::float8, 'many', 0), (1003, '-Infinity'::float8, 'solo', 1)) AS r(id, x, g, y);
SELECT automl_flush_predictions() >= 3 AS flushed;
SELECT key, jsonb_typeof(features->'x') AS x FROM automl.predictions
WHERE model = 'jv_model' ORDER BY key;

-- error: the deployment policy refuses a min_gain that is not a number
SELECT * FROM automl_set_policy('jv_model', min_gain => 'NaN');

-- forecasting: a series that never changes season to season has no MASE (null),
-- beside one that has
CREATE TABLE jv_series (month date, shop text, sales float8);
INSERT INTO jv_series
SELECT make_date(2015, 1, 1) + (k || ' months')::interval, s,
       CASE WHEN s = 'flat' THEN 5 ELSE 100 + 10 * sin(k / 2.0) + k END
FROM generate_series(0, 59) k, (VALUES ('flat'), ('busy')) v(s);
SELECT algorithm FROM automl_train('jv_forecast', 'jv_series', 'sales', task => 'forecast',
    time_column => 'month', series_column => 'shop', horizon => 6);
SELECT p->>'key' AS series, jsonb_typeof(p->'mase') AS mase
FROM automl.models m, jsonb_array_elements(m.summary->'periods') p
WHERE m.name = 'jv_forecast' ORDER BY 1;

-- no stored document anywhere holds a number that is not finite
SELECT count(*) AS documents_with_nan_text
FROM (SELECT metrics::text || hyperparams::text || summary::text || options::text || warnings::text ||
             profile::text || coalesce(calibration::text, '') || coalesce(comparison::text, '') AS doc
      FROM automl.models
      UNION ALL SELECT result::text || arguments::text FROM automl.evaluations
      UNION ALL SELECT features::text FROM automl.predictions
      UNION ALL SELECT detail::text FROM automl.events) d
WHERE doc ~* '\mnan\M|infinity';

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the models
-- and shows that nothing is left.
DROP TABLE jv, jv_series;
\i test/fixtures/clean_up.sql
