-- Bad input to every function of docs/sql-reference.md besides automl_train (whose own
-- are in bad_input.sql): NULL arguments, empty and one-row relations, values of the wrong
-- type, names that need quotes (which must work), unknown models and columns, and models
-- of another role. Each gets a clear error; the last query shows that none of them wrote
-- anything. (test/scripts/sql_reference_coverage.sh checks that every documented
-- function has a pinned error somewhere in sql/.)
SET extra_float_digits = 0;

-- Names that need quotes: a schema, a table and columns with capitals and spaces.
CREATE SCHEMA "Bad Input";
CREATE TABLE "Bad Input"."Sales Data" AS
SELECT i AS id, round(sin(i)::numeric, 4)::float8 AS "Unit Price",
       (ARRAY['north', 'south', 'east'])[1 + i % 3] AS "Region",
       (sin(i) + cos(i * 2.3) + (i % 3) * 0.5 > 0.5) AS "Bought",
       round((cos(i) * 3 + sin(i * 2.3))::numeric, 4)::float8 AS "Amount"
FROM generate_series(1, 60) i;
CREATE TABLE bi_empty (LIKE "Bad Input"."Sales Data");
CREATE TABLE bi_one AS SELECT * FROM "Bad Input"."Sales Data" WHERE id = 7;
CREATE TABLE bi_no_price AS SELECT id, "Region", "Bought", "Amount" FROM "Bad Input"."Sales Data";
CREATE TABLE bi_text_price AS
SELECT id, "Unit Price" || ' EUR' AS "Unit Price", "Region", "Bought", "Amount" FROM "Bad Input"."Sales Data";
CREATE TABLE "Bad Input"."Monthly Sales" AS
SELECT s AS "Store", (date '2020-01-01' + make_interval(months => m))::date AS "Month",
       round((100 + 10 * sin(m * pi() / 6) + m + (s = 'B')::int * 20)::numeric, 2)::float8 AS "Units"
FROM generate_series(0, 35) m, unnest(ARRAY['A', 'B']) s;

-- Model names are text, spelled exactly: spaces and capitals need no quoting.
SELECT name, version, task, algorithm FROM automl_train('Sales Model', '"Bad Input"."Sales Data"', 'Bought',
    exclude => ARRAY['id', 'Amount'], algorithms => ARRAY['logistic'], max_trials => 1);
SELECT name, version, task, algorithm FROM automl_train('Amount Model', '"Bad Input"."Sales Data"', 'Amount',
    exclude => ARRAY['id', 'Bought'], algorithms => ARRAY['linear'], max_trials => 1);
SELECT name, version, task FROM automl_train('Store Forecast', '"Bad Input"."Monthly Sales"', 'Units',
    task => 'forecast', time_column => 'Month', series_column => 'Store', horizon => 3);
SELECT features FROM automl.models WHERE name = 'Sales Model';

-- automl_train ----------------------------------------------------------------------

-- errors: names as SQL spells them: the relation is an SQL name (quote capitals and
-- spaces), the target and excluded columns are column names, spelled exactly
SELECT * FROM automl_train('bi', 'Bad Input.Sales Data', 'Bought', max_trials => 1);
SELECT * FROM automl_train('bi', '"Bad Input".sales_data', 'Bought', max_trials => 1);
SELECT * FROM automl_train('bi', 'no_schema.sales', 'Bought', max_trials => 1);
SELECT * FROM automl_train('bi', '"Bad Input"."Sales Data"', '"Bought"', max_trials => 1);
SELECT * FROM automl_train('bi', '"Bad Input"."Sales Data"', 'bought', max_trials => 1);
SELECT * FROM automl_train('bi', '"Bad Input"."Sales Data"', 'Bought', exclude => ARRAY['ID'], max_trials => 1);

-- errors: a one-row table; arrays with NULL or of two dimensions; empty strings
SELECT * FROM automl_train('bi', 'bi_one', 'Bought', max_trials => 1);
SELECT * FROM automl_train('bi', 'bi_one', 'Bought', algorithms => ARRAY[NULL], max_trials => 1);
SELECT * FROM automl_train('bi', 'bi_one', 'Bought', algorithms => ARRAY[['gbdt'], ['ridge']], max_trials => 1);
SELECT * FROM automl_train('bi', 'bi_one', 'Bought', exclude => ARRAY[['id'], ['Amount']], max_trials => 1);
SELECT * FROM automl_train('bi', '', 'Bought', max_trials => 1);
SELECT * FROM automl_train('bi', 'bi_one', '', max_trials => 1);
SELECT * FROM automl_train('bi', 'bi_one', 'Bought', task => '', max_trials => 1);
SELECT * FROM automl_train('bi', 'bi_one', 'Bought', calibration => '', max_trials => 1);
SELECT * FROM automl_train('bi', 'bi_one', 'Bought', hyperparams => 'null');

-- a dropped column is no column: training, evaluating and retraining on the table work
CREATE TABLE bi_dropped AS SELECT * FROM "Bad Input"."Sales Data";
ALTER TABLE bi_dropped DROP COLUMN "Amount";
SELECT name, version FROM automl_train('Dropped', 'bi_dropped', 'Bought', exclude => ARRAY['id'],
    algorithms => ARRAY['logistic'], max_trials => 1);
SELECT count(*) AS metrics FROM automl_evaluate('Sales Model', 'bi_dropped');
SELECT name, version FROM automl_retrain('Dropped');
SELECT automl_delete('Dropped');
DROP TABLE bi_dropped;

-- Scoring --------------------------------------------------------------------------

-- NULL model or row: NULL (the functions are STRICT); an empty table: no rows
SELECT automl_predict(NULL, s) IS NULL AS null_model, automl_predict_label('Sales Model', NULL::bi_one) IS NULL AS null_row,
       automl_predict_proba(NULL, NULL::bi_one) IS NULL AS both
FROM bi_one s;
SELECT count(automl_predict_label('Sales Model', e)) AS scored FROM bi_empty e;
SELECT automl_predict_label('Sales Model', s) IN ('true', 'false') AS one_row_scored FROM bi_one s;

-- errors: not a row, a row without a feature, a feature of the wrong type, names spelled
-- otherwise than trained, references that do not parse, a model of another kind
SELECT automl_predict_label('Sales Model', 42);
SELECT automl_predict_proba('Sales Model', 'north'::text);
SELECT automl_predict_label('Sales Model', s) FROM bi_no_price s LIMIT 1;
SELECT automl_predict_proba('Sales Model', s) FROM bi_no_price s LIMIT 1;
SELECT automl_predict_proba('Sales Model', s) FROM bi_text_price s LIMIT 1;
SELECT automl_predict_proba('sales model', s) FROM bi_one s;
SELECT automl_predict_label('Sales Model@x', s) FROM bi_one s;
SELECT automl_predict_proba('Sales Model@2', s) FROM bi_one s;
SELECT automl_predict_label('', s) FROM bi_one s;
SELECT automl_predict_proba('Amount Model', s) FROM bi_one s;
SELECT automl_predict_label('Store Forecast', s) FROM bi_one s;

-- Registry -------------------------------------------------------------------------

-- errors: NULL model or version, unknown models and versions, references where a name is due
SELECT * FROM automl_rollback(NULL);
SELECT automl_retire(NULL, 1);
SELECT automl_retire('Sales Model', NULL);
SELECT automl_retire('Sales Model', 0);
SELECT automl_delete(NULL);
SELECT automl_delete('');
SELECT * FROM automl_deploy('Sales Model', 0);
SELECT * FROM automl_deploy('Sales Model@1', 1);
SELECT * FROM automl_set_policy(NULL);
SELECT * FROM automl_set_policy('sales model', auto_deploy => false);
SELECT * FROM automl_set_policy('Sales Model', min_gain => 'NaN');
SELECT * FROM automl_set_policy('Sales Model', min_gain => 'Infinity');
SELECT automl_grant('Sales Model', '');
SELECT automl_grant('no model', 'public');
SELECT automl_revoke(NULL, 'public');
SELECT automl_revoke('Sales Model', NULL);
SELECT automl_revoke('Sales Model', 'regress_bi_nobody');
SELECT automl_revoke('no model', 'public');

-- errors: automl_version_at: NULL arguments, an unknown model, a reference where a name is due
SELECT automl_version_at(NULL);
SELECT automl_version_at('Sales Model', NULL);
SELECT automl_version_at('no model');
SELECT automl_version_at('Sales Model@1');

-- NULL is the answer for a time before the first deployment
SELECT automl_version_at('Sales Model', '2000-01-01') IS NULL AS before_any, automl_version_at('Sales Model') AS now_serving;

-- NULL for the optional arguments: keep (set_policy), no reason (deploy, rollback)
SELECT * FROM automl_set_policy('Sales Model', NULL, NULL);
SELECT name, version FROM automl_deploy('Sales Model', 1, NULL);

-- Retraining -----------------------------------------------------------------------

-- errors: NULL and unknown models, "if needed" for a forecast (which has no monitor);
-- scheduling checks the model before pg_cron
SELECT * FROM automl_retrain_if_needed(NULL);
SELECT * FROM automl_retrain_if_needed('no model');
SELECT automl_schedule_retrain(NULL, '0 3 * * *');
SELECT automl_schedule_retrain('no model', '0 3 * * *');
SELECT automl_unschedule_retrain(NULL);
SELECT automl_unschedule_retrain('no model');
SELECT * FROM automl_retrain_if_needed('Store Forecast', max_age => '1 day');
SELECT automl_schedule_retrain('Store Forecast', '0 3 * * *', max_age => '1 day');

-- NULL max_age: no age limit (nothing else says it is needed here)
SELECT name, version, deployed, reason FROM automl_retrain_if_needed('Amount Model', NULL);

-- the relation a version was trained on, emptied or left with one row: the training's errors
CREATE TABLE bi_shrinking AS SELECT * FROM "Bad Input"."Sales Data";
SELECT name FROM automl_train('Shrinking', 'bi_shrinking', 'Amount', exclude => ARRAY['id'],
    algorithms => ARRAY['linear'], max_trials => 1);
DELETE FROM bi_shrinking WHERE id <> 7;
-- error: one row left
SELECT * FROM automl_retrain('Shrinking');
DELETE FROM bi_shrinking;
-- error: no row left
SELECT * FROM automl_retrain('Shrinking');
SELECT count(*) AS versions FROM automl.models WHERE name = 'Shrinking';

-- Monitoring -----------------------------------------------------------------------

-- errors: settings of the wrong kind; excluded names are the features' names, spelled exactly
SELECT automl_monitor('Amount Model', psi_threshold => 'Infinity');
SELECT automl_monitor('Amount Model', performance_drop => 'NaN');
SELECT automl_monitor('Amount Model', drift_window => '-1 day');
SELECT automl_monitor('Amount Model', feature_thresholds => 'null');
SELECT automl_monitor('Amount Model', feature_thresholds => '[]');
SELECT automl_monitor('Amount Model', feature_thresholds => '{"Unit Price": {"threshold": -1}}');
SELECT automl_monitor('Amount Model', feature_thresholds => '{"Unit Price": {"limit": 0.3}}');
SELECT automl_monitor('Amount Model', exclude => ARRAY['region']);
SELECT automl_monitor('Amount Model', exclude => ARRAY[NULL]);
SELECT automl_monitor('Amount Model', exclude => ARRAY[['Region']]);
SELECT automl_monitor('Store Forecast');

SELECT name, enabled, key_column, exclude FROM automl_monitor('Amount Model', key => 'id', exclude => ARRAY['Region']);
SELECT count(automl_predict('Amount Model', s)) AS scored FROM "Bad Input"."Sales Data" s;
SELECT automl_flush_predictions() AS flushed;

-- errors: outcomes: NULL model, another model kind, values that are no number for a
-- regression, a query of the wrong shape, an unknown model
SELECT automl_observe(NULL, 1, 2.5);
SELECT automl_observe('Amount Model', 1, 'NaN'::float8);
SELECT automl_observe('Amount Model', 1, 'Infinity'::float8);
SELECT automl_observe('Amount Model', 1, true);
SELECT automl_observe('Amount Model', 1, ARRAY[1, 2]);
SELECT automl_observe('Store Forecast', 1, 2.5);
SELECT automl_observe(NULL, 'SELECT id, "Amount" FROM bi_one');
SELECT automl_observe('Amount Model', 'SELECT id FROM bi_one');
SELECT automl_observe('Amount Model', 'SELECT id, ''Infinity''::float8 FROM bi_one');
SELECT automl_observe('Amount Model', 'SELECT id, "Amount" FROM bi_no_such_table');
SELECT automl_observe('Store Forecast', 'SELECT id, "Amount" FROM bi_one');

-- an empty and a one-row outcome query; a query over quoted names
SELECT automl_observe('Amount Model', 'SELECT id, "Amount" FROM bi_empty') AS stored_from_empty;
SELECT automl_observe('Amount Model', 'SELECT id, "Amount" FROM bi_one') AS stored_from_one;
SELECT automl_observe('Amount Model', 'SELECT id, "Amount" FROM "Bad Input"."Sales Data" WHERE id <= 10') AS stored;

-- errors: windows, NULL and unknown models, and forecasts, for the three window functions
SELECT count(*) FROM automl_data_quality(NULL);
SELECT count(*) FROM automl_data_quality('no model');
SELECT count(*) FROM automl_data_quality('Amount Model', now(), now() - interval '1 day');
SELECT count(*) FROM automl_data_quality('Amount Model', 'infinity', NULL);
SELECT count(*) FROM automl_data_quality('Store Forecast');
SELECT count(*) FROM automl_performance(NULL);
SELECT count(*) FROM automl_performance('no model');
SELECT count(*) FROM automl_performance('Amount Model', now(), now() - interval '1 day');
SELECT count(*) FROM automl_performance('Amount Model', '-infinity', 'infinity');
SELECT count(*) FROM automl_drift('Amount Model', now(), now());
SELECT count(*) FROM automl_drift('Amount Model@1');

-- NULL window bounds: the defaults (the last day)
SELECT kind, feature, rows FROM automl_drift('Amount Model', NULL, NULL) ORDER BY kind, feature;
SELECT feature, rows FROM automl_data_quality('Amount Model', NULL, NULL) ORDER BY feature;
SELECT predictions, labelled, metric FROM automl_performance('Amount Model', NULL, NULL) ORDER BY metric;

-- errors: purging: an unknown model, a zero-length name; checking alerts: no channel
SELECT automl_purge_predictions('1 day', 'no model');
SELECT automl_purge_predictions('1 day', '');
SELECT count(*) FROM automl_check_alerts(NULL);
SELECT count(*) FROM automl_check_alerts('');

-- NULL model: every model the caller owns
SELECT automl_purge_predictions('1 day', NULL) AS purged;

-- Evaluation -----------------------------------------------------------------------

-- quoted relation and column names work; a one-row relation: what is undefined is NULL
SELECT count(*) AS metrics FROM automl_evaluate('Sales Model', '"Bad Input"."Sales Data"', slice_by => ARRAY['Region']);
SELECT metric, value IS NULL AS undefined FROM automl_evaluate('Sales Model', 'bi_one') WHERE metric IN ('roc_auc', 'accuracy') ORDER BY 1;
SELECT sum(rows) AS rows FROM automl_confusion_matrix('Sales Model', 'bi_one');
SELECT count(*) > 0 AS has_points FROM automl_roc_curve('Sales Model', 'bi_one');
SELECT count(*) > 0 AS has_points FROM automl_pr_curve('Sales Model', 'bi_one');
SELECT sum(rows) AS rows FROM automl_calibration_curve('Sales Model', 'bi_one');
SELECT sum(rows) AS rows FROM automl_lift_curve('Sales Model', 'bi_one');
SELECT sensitive_value, rows FROM automl_fairness('Sales Model', 'bi_one', 'Region');
SELECT sensitive_value, rows FROM automl_fairness('Sales Model', '"Bad Input"."Sales Data"', 'Region') ORDER BY 1;
-- permutation importance on rows of one class, where the ROC AUC is undefined: NULL
SELECT feature, importance, importance_std, share, rank
FROM automl_feature_importance('Sales Model', 'bi_one') WHERE method = 'permutation' ORDER BY rank;
-- NULL for the optional arguments: the defaults
SELECT count(*) AS metrics FROM automl_evaluate('Sales Model', 'bi_one', NULL, NULL, NULL);
SELECT count(*) AS features FROM automl_feature_importance('Sales Model', NULL, NULL, NULL);

-- errors: automl_evaluate: an empty relation, an unquoted name with a space, a relation
-- without a feature or with one of the wrong type, slices and margins of the wrong kind
SELECT * FROM automl_evaluate('Sales Model', 'bi_empty');
SELECT * FROM automl_evaluate('Sales Model', 'Bad Input.Sales Data');
SELECT * FROM automl_evaluate('Sales Model', 'bi_no_price');
SELECT * FROM automl_evaluate('Sales Model', 'bi_text_price');
SELECT * FROM automl_evaluate('Sales Model', 'bi_one', version => 0);
SELECT * FROM automl_evaluate('Sales Model', 'bi_one', slice_by => ARRAY['"Region"']);
SELECT * FROM automl_evaluate('Sales Model', 'bi_one', slice_margin => 'NaN');
SELECT * FROM automl_evaluate('Sales Model', 'bi_one', slice_margin => 'Infinity');
SELECT * FROM automl_evaluate('Store Forecast', 'bi_one');

-- errors: the confusion matrix and the curves: NULL arguments, empty relations, unknown
-- models and relations, a missing feature
SELECT * FROM automl_confusion_matrix(NULL, 'bi_one');
SELECT * FROM automl_confusion_matrix('Sales Model', NULL);
SELECT * FROM automl_confusion_matrix('Sales Model', 'bi_empty');
SELECT * FROM automl_confusion_matrix('no model', 'bi_one');
SELECT * FROM automl_confusion_matrix('Sales Model', 'bi_one', 5);
SELECT * FROM automl_roc_curve(NULL, 'bi_one');
SELECT * FROM automl_roc_curve('Sales Model', NULL);
SELECT * FROM automl_roc_curve('Sales Model', 'bi_empty');
SELECT * FROM automl_roc_curve('Sales Model', 'no_such_table');
SELECT * FROM automl_pr_curve('Sales Model', NULL);
SELECT * FROM automl_pr_curve('Sales Model', 'bi_empty');
SELECT * FROM automl_pr_curve('Amount Model', 'bi_one');
SELECT * FROM automl_calibration_curve(NULL, 'bi_one');
SELECT * FROM automl_calibration_curve('Sales Model', 'bi_empty');
SELECT * FROM automl_calibration_curve('Amount Model', 'bi_one');
SELECT * FROM automl_lift_curve(NULL, 'bi_one');
SELECT * FROM automl_lift_curve('Sales Model', NULL);
SELECT * FROM automl_lift_curve('Sales Model', 'bi_empty');
SELECT * FROM automl_lift_curve('Sales Model', 'bi_no_price');
SELECT * FROM automl_lift_curve('Amount Model', 'bi_one');
SELECT * FROM automl_lift_curve('no model', 'bi_one');

-- errors: fairness: NULL arguments, an empty relation, sensitive columns spelled otherwise
-- or empty, the target as sensitive column, a regression
SELECT * FROM automl_fairness(NULL, 'bi_one', 'Region');
SELECT * FROM automl_fairness('Sales Model', NULL, 'Region');
SELECT * FROM automl_fairness('Sales Model', 'bi_empty', 'Region');
SELECT * FROM automl_fairness('Sales Model', 'bi_one', 'region');
SELECT * FROM automl_fairness('Sales Model', 'bi_one', '');
SELECT * FROM automl_fairness('Sales Model', 'bi_one', 'Bought');
SELECT * FROM automl_fairness('Amount Model', 'bi_one', 'Region');

-- errors: importance: an empty relation, a missing feature, an unknown relation or
-- version, too many repeats, a forecast
SELECT * FROM automl_feature_importance('Sales Model', 'bi_empty');
SELECT * FROM automl_feature_importance('Sales Model', 'bi_no_price');
SELECT * FROM automl_feature_importance('Sales Model', 'no_such_table');
SELECT * FROM automl_feature_importance('Sales Model', version => 9);
SELECT * FROM automl_feature_importance('Sales Model', 'bi_one', repeats => 101);
SELECT * FROM automl_feature_importance('Store Forecast');

-- errors: explanations: not a row, a row without a feature or with one of the wrong
-- type, classes spelled otherwise than trained, unknown versions, a forecast
SELECT * FROM automl_explain('Sales Model', 42);
SELECT * FROM automl_explain('Sales Model', 'north'::text);
SELECT * FROM automl_explain('Sales Model', (SELECT s FROM bi_no_price s LIMIT 1));
SELECT * FROM automl_explain('Sales Model', (SELECT s FROM bi_text_price s LIMIT 1));
SELECT * FROM automl_explain('Sales Model', (SELECT s FROM bi_one s), 'True');
SELECT * FROM automl_explain('Sales Model@9', (SELECT s FROM bi_one s));
SELECT * FROM automl_explain('Store Forecast', (SELECT s FROM bi_one s));

-- NULL class: the positive class
SELECT count(*) AS rows, min(class) AS class FROM automl_explain('Sales Model', (SELECT s FROM bi_one s), NULL);

-- errors: the model card: NULL, unknown names and versions, a reference where a name is due
SELECT automl_model_card_json(NULL);
SELECT automl_model_card_json('no model');
SELECT automl_model_card_json('Sales Model', 9);
SELECT automl_model_card_json('Sales Model', 0);
SELECT automl_model_card_json('Sales Model@1');
SELECT automl_model_card('Sales Model', -1);

-- errors: the intended use: a name spelled otherwise, too long a text
SELECT * FROM automl_set_intended_use('sales model', 'x');
SELECT * FROM automl_set_intended_use('Sales Model', repeat('x', 100001));

-- Forecasting ----------------------------------------------------------------------

-- NULL for every optional argument: the defaults (the trained horizon, every series, 95 %)
SELECT series, count(*) AS periods FROM automl_forecast('Store Forecast', NULL, NULL, NULL) GROUP BY 1 ORDER BY 1;

-- errors: series spelled otherwise or empty, levels and horizons out of range
SELECT * FROM automl_forecast('Store Forecast', series => 'b');
SELECT * FROM automl_forecast('Store Forecast', series => '');
SELECT * FROM automl_forecast('Store Forecast', level => 'NaN');
SELECT * FROM automl_forecast('Store Forecast', level => 0);
SELECT * FROM automl_forecast('Store Forecast', horizon => -1);
SELECT * FROM automl_forecast('Store Forecast', horizon => 100001);
SELECT * FROM automl_forecast('Amount Model');

-- Models of another role ------------------------------------------------------------

-- A role that was granted nothing: to it the models do not exist, whatever it calls.
CREATE ROLE regress_bi_stranger;
GRANT USAGE ON SCHEMA "Bad Input" TO regress_bi_stranger;
GRANT SELECT ON "Bad Input"."Sales Data", bi_one TO regress_bi_stranger;
SET ROLE regress_bi_stranger;
-- errors: every function, on a model of another role
SELECT automl_predict('Amount Model', s) FROM bi_one s;
SELECT automl_predict_label('Sales Model', s) FROM bi_one s;
SELECT automl_predict_proba('Sales Model', s) FROM bi_one s;
SELECT * FROM automl_train('Sales Model', '"Bad Input"."Sales Data"', 'Bought', max_trials => 1);
SELECT * FROM automl_deploy('Sales Model', 1);
SELECT * FROM automl_rollback('Sales Model');
SELECT automl_retire('Sales Model', 1);
SELECT automl_delete('Sales Model');
SELECT * FROM automl_set_policy('Sales Model', auto_deploy => false);
SELECT automl_grant('Sales Model', 'regress_bi_stranger');
SELECT automl_revoke('Sales Model', 'public');
SELECT automl_version_at('Sales Model');
SELECT * FROM automl_retrain('Amount Model');
SELECT * FROM automl_retrain_if_needed('Amount Model');
SELECT automl_schedule_retrain('Amount Model', '0 3 * * *');
SELECT automl_unschedule_retrain('Amount Model');
SELECT automl_monitor('Amount Model');
SELECT automl_observe('Amount Model', 1, 2.5);
SELECT automl_observe('Amount Model', 'SELECT id, "Amount" FROM bi_one');
SELECT automl_purge_predictions('1 day', 'Amount Model');
SELECT count(*) FROM automl_drift('Amount Model');
SELECT count(*) FROM automl_data_quality('Amount Model');
SELECT count(*) FROM automl_performance('Amount Model');
SELECT automl_check_alerts();
SELECT * FROM automl_evaluate('Sales Model', 'bi_one');
SELECT * FROM automl_confusion_matrix('Sales Model', 'bi_one');
SELECT * FROM automl_roc_curve('Sales Model', 'bi_one');
SELECT * FROM automl_pr_curve('Sales Model', 'bi_one');
SELECT * FROM automl_calibration_curve('Sales Model', 'bi_one');
SELECT * FROM automl_lift_curve('Sales Model', 'bi_one');
SELECT * FROM automl_fairness('Sales Model', 'bi_one', 'Region');
SELECT * FROM automl_feature_importance('Sales Model');
SELECT * FROM automl_explain('Sales Model', (SELECT s FROM bi_one s));
SELECT * FROM automl_set_intended_use('Sales Model', 'mine');
SELECT automl_model_card('Sales Model');
SELECT automl_model_card_json('Sales Model');
SELECT * FROM automl_forecast('Store Forecast');

-- its own purge (it owns no model: nothing to purge) and the training progress show
-- nothing of the others'
SELECT automl_purge_predictions('1 day') AS purged;
SELECT count(*) AS trainings FROM automl_training_progress();
RESET ROLE;

-- A role granted the models may read and score, never change them.
CREATE ROLE regress_bi_reader;
GRANT USAGE ON SCHEMA "Bad Input" TO regress_bi_reader;
GRANT SELECT ON bi_one TO regress_bi_reader;
SELECT automl_grant('Sales Model', 'regress_bi_reader') AS granted, automl_grant('Amount Model', 'regress_bi_reader') AS granted,
       automl_grant('Store Forecast', 'regress_bi_reader') AS granted;
SET ROLE regress_bi_reader;
SELECT automl_predict_label('Sales Model', s) IN ('true', 'false') AS scored FROM bi_one s;
SELECT count(*) > 0 AS forecast FROM automl_forecast('Store Forecast');
SELECT automl_version_at('Sales Model') AS serving;
SELECT count(*) AS metrics FROM automl_evaluate('Sales Model', 'bi_one');
-- errors: what only the owner may do
SELECT * FROM automl_retrain_if_needed('Amount Model');
SELECT automl_schedule_retrain('Amount Model', '0 3 * * *');
SELECT automl_unschedule_retrain('Amount Model');
SELECT automl_observe('Amount Model', 'SELECT id, "Amount" FROM bi_one');
SELECT automl_purge_predictions('1 day', 'Amount Model');
SELECT automl_retire('Sales Model', 1);
SELECT * FROM automl_set_policy('Sales Model', min_gain => 1);
SELECT * FROM automl_set_intended_use('Sales Model', 'mine');
SELECT * FROM automl_retrain('Store Forecast');

RESET ROLE;

-- None of the failures above wrote anything: one version each, the first deployment
-- only, no policy or description changed, no monitor but the one set, the three grants,
-- and no event of a failed call.
SELECT name, count(*) AS versions FROM automl.models GROUP BY 1 ORDER BY 1;
SELECT name, version, reason FROM automl.deployments ORDER BY id;
SELECT name, auto_deploy, min_gain FROM automl.registry ORDER BY name;
SELECT count(*) AS descriptions FROM automl.descriptions;
SELECT name, enabled FROM automl.monitors ORDER BY name;
SELECT name, grantee FROM automl.grants ORDER BY name, grantee;
SELECT event, name, count(*) FROM automl.events WHERE name <> 'Dropped' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS outcomes FROM automl.observations;

-- Clean-up: this file's tables, schema and roles go; test/fixtures/clean_up.sql deletes
-- the models and shows that nothing is left for the next file.
SELECT automl_revoke('Sales Model', 'regress_bi_reader') AS revoked, automl_revoke('Amount Model', 'regress_bi_reader') AS revoked,
       automl_revoke('Store Forecast', 'regress_bi_reader') AS revoked;
DROP OWNED BY regress_bi_stranger, regress_bi_reader;
DROP ROLE regress_bi_stranger, regress_bi_reader;
DROP TABLE bi_empty, bi_one, bi_no_price, bi_text_price, bi_shrinking;
DROP SCHEMA "Bad Input" CASCADE;
\i test/fixtures/clean_up.sql
