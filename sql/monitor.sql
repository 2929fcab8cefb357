-- Monitoring: the prediction log, outcomes, and the drift, quality and
-- performance functions and views. Expected drift statistics come from
-- test/fixtures/monitor_drift.py (scipy), which builds the same data.
SET extra_float_digits = 0;

-- Training: x1 and x2 each take every value 0..99 ten times; c is a, b, c, d.
CREATE TABLE mon_train AS
SELECT i AS id, (i % 100)::float8 AS x1, ((i * 37) % 100)::float8 AS x2,
       (ARRAY['a', 'b', 'c', 'd'])[1 + i % 4] AS c,
       ((i % 100) + 0.5 * ((i * 37) % 100) + 3 * (i % 4))::float8 AS y
FROM generate_series(1, 1000) AS i;
SELECT name, version, algorithm
FROM automl_train('mon_m', 'mon_train', 'y', exclude => ARRAY['id'], algorithms => ARRAY['linear'], max_trials => 1);

-- The reference: decile bin edges of x1, as the fixture computes them.
SELECT profile->'columns'->0->'name' AS feature, profile->'columns'->0->'bin_edges' AS edges,
       profile->'predictions'->>'kind' AS prediction_profile
FROM automl.models WHERE name = 'mon_m';

-- errors: bad settings
SELECT automl_monitor(NULL);
SELECT automl_monitor('no_such_model');
SELECT automl_monitor('mon_m', sample_rate => 0);
SELECT automl_monitor('mon_m', sample_rate => 1.5);
SELECT automl_monitor('mon_m', sample_rate => 'NaN');
SELECT automl_monitor('mon_m', drift_threshold => -1);
SELECT automl_monitor('mon_m', dataset_drift_share => 2);
SELECT automl_monitor('mon_m', drift_window => '0 seconds');
SELECT automl_monitor('mon_m', exclude => ARRAY['x3']);
SELECT automl_monitor('mon_m', feature_thresholds => '{"x1": 0.2}');
SELECT automl_monitor('mon_m', feature_thresholds => '{"x1": {"threshold": "high"}}');
SELECT automl_monitor('mon_m', feature_thresholds => '{"x9": {"threshold": 0.2}}');

-- none of them made a monitor
SELECT count(*) AS monitors FROM automl.monitors;

-- Flushing writes the log table: not in read-only transactions, and only in
-- READ COMMITTED (it must see the positions other flushes committed).
BEGIN READ ONLY;
-- error: a read-only transaction
SELECT automl_flush_predictions();
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
-- error: REPEATABLE READ
SELECT automl_flush_predictions();
ROLLBACK;

-- Logging is off by default.
SELECT count(automl_predict('mon_m', t)) FROM mon_train t;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) AS logged FROM automl.predictions;

-- On, with a key. The row comes back; settings not given keep their values.
SELECT name, enabled, sample_rate, key_column, exclude, drift_threshold
FROM automl_monitor('mon_m', key => 'id');
-- a key the training relation does not have: accepted with a warning (the scored rows
-- may have it), then set back
SELECT key_column FROM automl_monitor('mon_m', key => 'nope');
SELECT key_column FROM automl_monitor('mon_m', key => 'id');
SELECT name, enabled, sample_rate, key_column, drift_threshold, psi_threshold
FROM automl_monitor('mon_m', drift_threshold => 0.1);
SELECT event, model, detail->>'key_column' AS key FROM automl.audit WHERE event = 'monitor' ORDER BY id;

-- A window of 200 new rows: x1 moved up by 30, x2 did not (5 % missing), c has a new level e.
CREATE TABLE mon_new AS
SELECT i AS id, ((i % 100) + 30)::float8 AS x1,
       CASE WHEN i % 20 = 0 THEN NULL ELSE ((i * 37) % 100)::float8 END AS x2,
       (ARRAY['a', 'b', 'c', 'e'])[1 + i % 4] AS c
FROM generate_series(1001, 1200) AS i;
SELECT count(automl_predict('mon_m', n)) FROM mon_new n;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) AS logged, count(DISTINCT key) AS keys, min(version) AS version,
       bool_and(features ?& ARRAY['x1', 'x2', 'c']) AS all_features, bool_and(NOT features ? 'id') AS no_key_in_features,
       bool_and(label IS NULL AND probabilities IS NULL) AS regression_only
FROM automl.predictions WHERE model = 'mon_m';
SELECT key, features, round(prediction::numeric, 6) AS prediction
FROM automl.predictions WHERE key IN ('1001', '1020') ORDER BY key;
-- the logged prediction is the one automl_predict returned (scoring again
-- logs again: from here on the log holds every row of the window twice)
SELECT bool_and(abs(p.prediction - automl_predict('mon_m', n)) < 1e-12) AS same_prediction
FROM automl.predictions p JOIN mon_new n ON p.key = n.id::text;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) AS logged FROM automl.predictions WHERE model = 'mon_m';

-- Drift, each statistic against the fixture.
WITH expected (feature, distance, psi) AS (VALUES
    ('x1', 0.465244638072353, 2.46495729528273),
    ('x2', 0.022359611928859, 0.00277264514889017),
    ('c', 0.25, 3.91045819622597))
SELECT d.feature, d.kind, d.statistic, round(d.distance::numeric, 6) AS distance,
       abs(d.distance - e.distance) < 1e-9 AS distance_matches,
       round(d.psi::numeric, 6) AS psi, abs(d.psi - e.psi) < 1e-9 AS psi_matches,
       d.threshold, d.psi_threshold, d.drifted, d.rows
FROM automl_drift('mon_m') d JOIN expected e USING (feature)
ORDER BY d.feature;
-- The model's rows: two of three features drifted; the predictions moved up with x1.
SELECT kind, statistic, round(distance::numeric, 4) AS distance, threshold, drifted, rows
FROM automl_drift('mon_m') WHERE feature IS NULL ORDER BY kind;

-- The view uses the monitor's window (1 day) and gives the same rows.
SELECT count(*) AS rows, count(*) FILTER (WHERE drifted) AS drifted FROM automl.drift WHERE model = 'mon_m';

-- Per-feature thresholds: x1 tolerated, so the dataset no longer counts as drifted.
SELECT name FROM automl_monitor('mon_m', feature_thresholds => '{"x1": {"threshold": 0.5, "psi_threshold": 3}}');
SELECT feature, kind, threshold, psi_threshold, drifted FROM automl.drift WHERE model = 'mon_m' ORDER BY kind, feature;

-- Data quality: x2's missing share, c's unseen level, x1 beyond the training range.
SELECT feature, kind, rows, missing_share, training_missing_share, unseen_share, training_unseen_share,
       out_of_range_share, training_min, training_max
FROM automl.data_quality WHERE model = 'mon_m' ORDER BY feature;

-- A window with no predictions: zero counts, no errors.
SELECT feature, kind, distance, drifted, rows
FROM automl_drift('mon_m', '2000-01-01', '2000-01-02') ORDER BY kind, feature;
SELECT feature, rows, missing_share FROM automl_data_quality('mon_m', '2000-01-01', '2000-01-02') ORDER BY feature;
SELECT version, predictions, labelled, metric, value, degraded, reason
FROM automl_performance('mon_m', '2000-01-01', '2000-01-02');

-- errors: windows that end before they start or have no end, no model
SELECT automl_drift('mon_m', '2000-01-02', '2000-01-01');
SELECT automl_drift(NULL);
SELECT automl_drift('mon_m', '-infinity', now());
SELECT automl_drift('no_such_model');

-- Performance: no outcomes yet, then outcomes for half of the keys.
SELECT version, predictions, labelled, metric, value, degraded, reason FROM automl.performance WHERE model = 'mon_m';

-- errors: NULLs, an outcome that is not a number for a regression, outcome queries of
-- the wrong shape, no model
SELECT automl_observe('mon_m', NULL::int, 1);
SELECT automl_observe('mon_m', 1001, NULL::float8);
SELECT automl_observe('mon_m', 1001, 'many');
SELECT automl_observe('mon_m', 'SELECT 1, 2, 3');
SELECT automl_observe('mon_m', 'SELECT 1 WHERE false');
SELECT automl_observe('mon_m', NULL::text);
SELECT automl_observe('no_such_model', 1001, 3.5);

CREATE TABLE mon_outcomes AS
SELECT id, x1 + 0.5 * coalesce(x2, 0) + 3 * (id % 4) AS actual FROM mon_new WHERE id % 2 = 0;
SELECT automl_observe('mon_m', 'SELECT id, actual FROM mon_outcomes');
SELECT automl_observe('mon_m', 1001, 42.5);  -- a single outcome, for an odd key
SELECT automl_observe('mon_m', 1001, 77);    -- later outcomes replace earlier ones
SELECT count(*) AS outcomes, max(actual) FILTER (WHERE key = '1001') AS key_1001 FROM automl.observations;
-- The metrics over the 2 x 101 labelled rows, against the same sums in SQL.
WITH labelled AS (
    SELECT p.prediction, o.actual::float8 AS actual
    FROM automl.predictions p JOIN automl.observations o ON o.model = p.model AND o.key = p.key
    WHERE p.model = 'mon_m')
SELECT f.metric, f.labelled, f.predictions,
       abs(f.value - CASE f.metric WHEN 'rmse' THEN (SELECT sqrt(avg((prediction - actual) ^ 2)) FROM labelled)
                                   WHEN 'mae' THEN (SELECT avg(abs(prediction - actual)) FROM labelled) END) < 1e-9 AS matches_sql,
       f.validation_value = (SELECT (metrics->>f.metric)::float8 FROM automl.models WHERE name = 'mon_m') AS validation_from_training,
       f.degraded, f.reason
FROM automl.performance f WHERE f.model = 'mon_m' ORDER BY f.metric;

-- A classifier: labels and probabilities are logged, accuracy over observed outcomes.
CREATE TABLE mon_cls AS SELECT id, x1, x2, c, (x1 + x2 > 100) AS big FROM mon_train;
SELECT name, algorithm FROM automl_train('mon_c', 'mon_cls', 'big', exclude => ARRAY['id'], algorithms => ARRAY['linear'], max_trials => 1);
SELECT name FROM automl_monitor('mon_c', key => 'id', exclude => ARRAY['c']);
SELECT count(automl_predict_label('mon_c', t)) FROM mon_cls t WHERE id <= 100;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) AS logged, bool_and(label IN ('false', 'true')) AS labels,
       bool_and(array_length(probabilities, 1) = 2 AND abs(prediction - probabilities[2]) < 1e-15) AS probabilities,
       bool_and(NOT features ? 'c') AS excluded_not_logged
FROM automl.predictions WHERE model = 'mon_c';
SELECT automl_observe('mon_c', 'SELECT id, big FROM mon_cls WHERE id <= 50');
SELECT f.metric, f.labelled, f.unknown_labels,
       CASE WHEN f.metric = 'accuracy' THEN abs(f.value - (
           SELECT avg((p.label = o.actual)::int) FROM automl.predictions p
           JOIN automl.observations o ON o.model = p.model AND o.key = p.key WHERE p.model = 'mon_c')) < 1e-12 END AS matches_sql
FROM automl_performance('mon_c') f ORDER BY f.metric;
-- excluded features are not in the drift view
SELECT feature FROM automl_drift('mon_c') ORDER BY feature;

-- Alerts: the first check reports the drift of mon_m (the dataset and its
-- predictions), a second check finds nothing new. (The NOTIFY is checked in
-- test/t/006_monitoring.pl: its payload names the sending process.)
SELECT name FROM automl_monitor('mon_m', feature_thresholds => '{}');
SELECT model, kind, alerting FROM automl_check_alerts() ORDER BY model, kind;
SELECT model, kind, alerting FROM automl_check_alerts() ORDER BY model, kind;
-- what each check saw is kept, for every monitored model and kind
SELECT model, kind, alerting FROM automl.alert_state ORDER BY model, kind;

-- Sampling: about half of the rows.
SELECT name FROM automl_monitor('mon_c', sample_rate => 0.5);
SELECT count(automl_predict('mon_c', t)) FROM mon_cls t;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) - 100 BETWEEN 300 AND 700 AS about_half FROM automl.predictions WHERE model = 'mon_c';

-- Off again: nothing more is logged.
SELECT name, enabled FROM automl_monitor('mon_m', enabled => false);
SELECT count(automl_predict('mon_m', n)) FROM mon_new n;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) AS logged FROM automl.predictions WHERE model = 'mon_m';

-- Another role, granted the model: cannot change the monitor, sees none of the
-- log, and its own scoring is not logged (its rows are not the owner's to read).
CREATE ROLE regress_mon_reader;
GRANT SELECT ON mon_new TO regress_mon_reader;
SELECT automl_grant('mon_m', 'regress_mon_reader');
SELECT name, enabled FROM automl_monitor('mon_m', enabled => true);
SET ROLE regress_mon_reader;
SELECT count(automl_predict('mon_m', n)) FROM mon_new n;
-- error: the monitor is the owner's
SELECT automl_monitor('mon_m');
-- error: so are the outcomes
SELECT automl_observe('mon_m', 1, 1);
SELECT count(*) AS visible_predictions FROM automl.predictions;
SELECT count(*) AS visible_outcomes FROM automl.observations;
SELECT count(*) AS drift_rows FROM automl.drift;
-- error: checking the alerts is not for PUBLIC
SELECT automl_check_alerts();
RESET ROLE;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) AS logged FROM automl.predictions WHERE model = 'mon_m';
REVOKE SELECT ON mon_new FROM regress_mon_reader;
SELECT automl_revoke('mon_m', 'regress_mon_reader');
DROP ROLE regress_mon_reader;

-- errors: purging by age needs an age
SELECT automl_purge_predictions(NULL);
SELECT automl_purge_predictions('-1 day');

-- Purging by age.
SELECT automl_purge_predictions('1 day', 'mon_m') AS purged_recent;
SELECT automl_purge_predictions('0 seconds', 'mon_m') AS purged_all;
SELECT count(*) FILTER (WHERE model = 'mon_m') AS mon_m, count(*) FILTER (WHERE model = 'mon_c') > 0 AS mon_c_kept
FROM automl.predictions;
SELECT event, model, detail->>'predictions_deleted' AS deleted FROM automl.audit WHERE event = 'purge' ORDER BY id;

-- A dropped owner role does not break the views, the policies or the purge
-- for everyone else: its model just belongs to no one.
CREATE ROLE regress_mon_gone;
GRANT SELECT ON mon_train TO regress_mon_gone;
SET ROLE regress_mon_gone;
SELECT name FROM automl_train('mon_gone_m', 'mon_train', 'y', exclude => ARRAY['id'], algorithms => ARRAY['linear'], max_trials => 1);
SELECT name FROM automl_monitor('mon_gone_m');
RESET ROLE;
REVOKE SELECT ON mon_train FROM regress_mon_gone;
DROP ROLE regress_mon_gone;
SELECT DISTINCT model FROM automl.drift ORDER BY model;
SELECT automl_purge_predictions('1 day') AS purged;
SELECT automl_delete('mon_gone_m');

-- A scoring call that fails on the kind of model logs nothing: the kind is
-- checked before the row is predicted or logged.
CREATE TABLE mon_three AS SELECT i AS id, sin(i) AS x, (i % 3)::text AS k FROM generate_series(1, 60) i;
SELECT name FROM automl_train('mon_three', 'mon_three', 'k', exclude => ARRAY['id'],
                              algorithms => ARRAY['linear'], max_trials => 1, calibration => 'none');
SELECT name FROM automl_monitor('mon_three', key => 'id');
-- error: automl_predict on a multiclass classifier
SELECT automl_predict('mon_three', t) FROM mon_three t;
-- error: automl_predict_label on a regression model
SELECT automl_predict_label('mon_m', t) FROM mon_new t;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) FILTER (WHERE model = 'mon_three') AS logged_three FROM automl.predictions;
SELECT count(automl_predict_label('mon_three', t)) AS scored FROM mon_three t;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) FILTER (WHERE model = 'mon_three') AS logged_three FROM automl.predictions;
-- rows without the key column: scored and logged, with a warning (once per statement)
-- that their key is NULL
SELECT count(automl_predict_label('mon_three', t)) AS scored FROM (SELECT x FROM mon_three) t;
SELECT automl_flush_predictions() >= 0 AS flushed;
SELECT count(*) FILTER (WHERE key IS NULL) AS logged_without_key FROM automl.predictions WHERE model = 'mon_three';
SELECT automl_delete('mon_three');
DROP TABLE mon_three;

-- Deleting a model removes its monitor.
SELECT automl_delete('mon_c');
SELECT name FROM automl.monitors ORDER BY name;

-- Clean-up: this file's tables go (its roles went above); test/fixtures/clean_up.sql
-- deletes the models and shows that nothing is left for the next file.
DROP TABLE mon_train, mon_new, mon_outcomes, mon_cls;
\i test/fixtures/clean_up.sql
