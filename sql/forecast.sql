-- Forecasting: a table of dated values in, the next periods with intervals out.
-- Real series in test/forecast/data (R datasets; sources in its README.md).
CREATE TABLE fc_air (period date, value float8);
\copy fc_air FROM 'test/forecast/data/air_passengers.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE fc_gas (period date, value float8);
\copy fc_gas FROM 'test/forecast/data/uk_gas.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE fc_nottem (period date, value float8);
\copy fc_nottem FROM 'test/forecast/data/nottem.csv' WITH (FORMAT csv, HEADER true)

-- AirPassengers, monthly: three candidates backtested on the last three years
SELECT name, version, task, algorithm, metric, round(score::numeric, 3) AS mase, deployed
FROM automl_train('fc_air', 'fc_air', 'value', task => 'forecast', time_column => 'period', horizon => 12);
SELECT trial, algorithm, round(score::numeric, 3) AS mase, status, selected, rank
FROM automl.trials WHERE name = 'fc_air' ORDER BY trial;
-- never worse than seasonal naive on the backtest
SELECT m.score <= t.score AS not_worse_than_seasonal_naive
FROM automl.models m JOIN automl.trials t ON t.name = m.name AND t.version = m.version AND t.algorithm = 'seasonal_naive'
WHERE m.name = 'fc_air';
SELECT hyperparams->>'frequency' AS frequency, hyperparams->>'season_length' AS season,
       options->>'validation' AS validation, options->>'folds' AS origins,
       round((metrics->>'mase')::numeric, 3) AS mase, round((metrics->>'smape')::numeric, 3) AS smape,
       round((metrics->>'mape')::numeric, 3) AS mape, metrics ? 'rmse' AND metrics ? 'mae' AS has_rmse_mae,
       summary->'periods'->0->>'ets' AS ets, summary->'periods'->0->>'last' AS last
FROM automl.models WHERE name = 'fc_air';

-- the next twelve months, with 95 % intervals that do not narrow further ahead
SELECT series, period, round(forecast::numeric) AS forecast,
       lower < forecast AND forecast < upper AS inside
FROM automl_forecast('fc_air');
SELECT bool_and(width >= prev - 1e-9) AS widths_do_not_shrink
FROM (SELECT upper - lower AS width, lag(upper - lower, 1, 0::float8) OVER (ORDER BY period) AS prev
      FROM automl_forecast('fc_air')) w;
-- a narrower level, a longer horizon (the last backtest width carries on), a pinned version
SELECT bool_and(n.upper - n.lower < w.upper - w.lower) AS level_80_narrower
FROM automl_forecast('fc_air', level => 0.8) n JOIN automl_forecast('fc_air') w USING (period);
SELECT count(*) AS periods, min(period) AS first, max(period) AS last FROM automl_forecast('fc_air', horizon => 24);
SELECT count(*) AS periods FROM automl_forecast('fc_air@1', 3);

-- UK fc_gas, quarterly: the frequency is inferred
SELECT name, algorithm, round(score::numeric, 3) AS mase
FROM automl_train('fc_gas', 'fc_gas', 'value', task => 'forecast', time_column => 'period', horizon => 4);
SELECT hyperparams->>'frequency' AS frequency FROM automl.models WHERE name = 'fc_gas';
SELECT period FROM automl_forecast('fc_gas');

-- many series in one table: one model, each series from its own end
CREATE TABLE fc_sales AS
SELECT 'passengers' AS product, period, value FROM fc_air
UNION ALL SELECT 'temperature', period, value FROM fc_nottem WHERE period <= '1938-06-01';
SELECT name, algorithm FROM automl_train('fc_sales', 'fc_sales', 'value', task => 'forecast', time_column => 'period',
                                          series_column => 'product', horizon => 6);
SELECT series, min(period) AS first, count(*) AS periods FROM automl_forecast('fc_sales') GROUP BY 1 ORDER BY 1;
SELECT p->>'key' AS series, p->>'periods' AS periods, p->>'last' AS last
FROM automl.models, jsonb_array_elements(summary->'periods') p WHERE name = 'fc_sales' ORDER BY 1;
SELECT count(*) AS rows FROM automl_forecast('fc_sales', series => 'temperature');
-- error: a series the model does not know
SELECT * FROM automl_forecast('fc_sales', series => 'bananas');

-- gaps and NULL targets are filled by linear interpolation, and said so
CREATE TABLE fc_daily AS
SELECT d::date AS day, CASE WHEN d = '2024-03-10' THEN NULL ELSE 100 + 10 * extract(isodow FROM d) + (extract(doy FROM d)::int % 5) END AS units
FROM generate_series('2024-01-01'::date, '2024-06-30', '1 day') d
WHERE d NOT IN ('2024-02-14', '2024-02-15');
SELECT name, algorithm FROM automl_train('fc_daily', 'fc_daily', 'units', task => 'forecast', time_column => 'day', horizon => 14);
SELECT hyperparams->>'frequency' AS frequency, summary->'periods'->0->>'filled' AS filled, warnings->0->>'message' AS warning
FROM automl.models WHERE name = 'fc_daily';
SELECT min(period)::date AS first, max(period)::date AS last FROM automl_forecast('fc_daily');

-- versions and retraining work as for any model: new rows arrive, the recipe runs again
INSERT INTO fc_air SELECT period + interval '12 months', value * 1.1 FROM fc_air WHERE period >= '1960-01-01';
SELECT name, version, previous_version, deployed, gate_rows FROM automl_retrain('fc_air');
SELECT min(period) AS first FROM automl_forecast('fc_air');
SELECT version, status FROM automl.lineage WHERE model = 'fc_air' ORDER BY version;
SELECT event, version FROM automl.audit WHERE model = 'fc_air' ORDER BY id;
SELECT min(period) AS first FROM automl_forecast('fc_air@1');
-- the model card
SELECT position('## Model details' IN automl_model_card('fc_air')) > 0 AS card,
       automl_model_card_json('fc_air')->'validation'->>'scheme' AS scheme;

-- errors: bad input, clear errors
SELECT * FROM automl_train('fc_bad', 'fc_air', 'value', task => 'forecast', horizon => 12);
SELECT * FROM automl_train('fc_bad', 'fc_air', 'value', task => 'forecast', time_column => 'period');
SELECT * FROM automl_train('fc_bad', 'fc_air', 'value', task => 'forecast', time_column => 'period', horizon => 0);
SELECT * FROM automl_train('fc_bad', 'fc_air', 'value', task => 'forecast', time_column => 'period', horizon => -3);
SELECT * FROM automl_train('fc_bad', 'fc_air', 'value', time_column => 'period', horizon => 12);
SELECT * FROM automl_train('fc_bad', 'fc_air', 'value', task => 'forecast', time_column => 'nope', horizon => 12);

CREATE TABLE fc_text_time AS SELECT period::text AS period, value FROM fc_air;
-- error: text is no time
SELECT * FROM automl_train('fc_bad', 'fc_text_time', 'value', task => 'forecast', time_column => 'period', horizon => 12);
CREATE TABLE fc_text_value AS SELECT period, value::text AS value FROM fc_air;
-- error: text is no value
SELECT * FROM automl_train('fc_bad', 'fc_text_value', 'value', task => 'forecast', time_column => 'period', horizon => 12);
CREATE TABLE fc_dup AS SELECT * FROM fc_air UNION ALL SELECT * FROM fc_air WHERE period = '1955-03-01';
-- error: a period twice
SELECT * FROM automl_train('fc_bad', 'fc_dup', 'value', task => 'forecast', time_column => 'period', horizon => 12);
CREATE TABLE fc_irregular AS SELECT period + (CASE WHEN period = '1955-03-01' THEN 3 ELSE 0 END) AS period, value FROM fc_air;
-- error: one period off the calendar
SELECT * FROM automl_train('fc_bad', 'fc_irregular', 'value', task => 'forecast', time_column => 'period', horizon => 12);
CREATE TABLE fc_short AS SELECT * FROM fc_air WHERE period < '1950-06-01';
-- error: too short for the horizon
SELECT * FROM automl_train('fc_bad', 'fc_short', 'value', task => 'forecast', time_column => 'period', horizon => 12);
CREATE TABLE fc_no_values AS SELECT period, NULL::float8 AS value FROM fc_air;
-- error: no values
SELECT * FROM automl_train('fc_bad', 'fc_no_values', 'value', task => 'forecast', time_column => 'period', horizon => 12);
CREATE TABLE fc_no_series AS SELECT NULL::text AS product, period, value FROM fc_air;
-- error: NULL series keys
SELECT * FROM automl_train('fc_bad', 'fc_no_series', 'value', task => 'forecast', time_column => 'period', series_column => 'product', horizon => 12);
CREATE TABLE fc_mixed AS SELECT 'monthly' AS s, period, value FROM fc_air UNION ALL SELECT 'quarterly', period, value FROM fc_gas;
-- error: series of two frequencies
SELECT * FROM automl_train('fc_bad', 'fc_mixed', 'value', task => 'forecast', time_column => 'period', series_column => 's', horizon => 4);
CREATE TABLE fc_infinite AS SELECT period, CASE WHEN period = '1950-01-01' THEN 'infinity'::float8 ELSE value END AS value FROM fc_air;
-- error: an infinite value
SELECT * FROM automl_train('fc_bad', 'fc_infinite', 'value', task => 'forecast', time_column => 'period', horizon => 12);
-- none of them stored a model
SELECT count(*) FROM automl.models WHERE name = 'fc_bad';

-- error: a forecast model does not score rows
SELECT automl_predict('fc_air', a) FROM fc_air a LIMIT 1;
CREATE TABLE fc_rows_model AS SELECT i % 7 AS x, (i % 7) * 2.0 + i % 3 AS y FROM generate_series(1, 50) i;
SELECT name FROM automl_train('fc_rows_model', 'fc_rows_model', 'y', max_trials => 1);

-- errors: a row model does not forecast; unknown models and versions, NULL, a horizon or level out of range
SELECT * FROM automl_forecast('fc_rows_model');
SELECT * FROM automl_forecast('nope');
SELECT * FROM automl_forecast('fc_air@9');
SELECT * FROM automl_forecast(NULL);
SELECT * FROM automl_forecast('fc_air', horizon => 0);
SELECT * FROM automl_forecast('fc_air', level => 1);

CREATE TABLE fc_air_bytes AS SELECT model_bytes FROM automl.models WHERE name = 'fc_air' AND version = 2;
UPDATE automl.models m SET model_bytes = set_byte(b.model_bytes, 70, get_byte(b.model_bytes, 70) # 1)
FROM fc_air_bytes b WHERE m.name = 'fc_air' AND m.version = 2;
-- error: damaged bytes are refused, not read
SELECT * FROM automl_forecast('fc_air');
UPDATE automl.models m SET model_bytes = b.model_bytes FROM fc_air_bytes b WHERE m.name = 'fc_air' AND m.version = 2;
SELECT count(*) FROM automl_forecast('fc_air');

-- errors: monitoring does not apply to forecasts: a clear error, never a crash
SELECT * FROM automl_monitor('fc_air');
SELECT * FROM automl_performance('fc_air');
SELECT * FROM automl_drift('fc_air');
SELECT * FROM automl_data_quality('fc_air');
SELECT automl_observe('fc_air', 1, 2);

CREATE TABLE fc_anchors AS SELECT 'first' AS s, period, value FROM fc_air
UNION ALL SELECT 'fifteenth', period + 14, value FROM fc_air;
-- error: series on different days of the month cannot share one calendar
SELECT * FROM automl_train('fc_bad', 'fc_anchors', 'value', task => 'forecast', time_column => 'period', series_column => 's', horizon => 12);
-- a series that is constant season to season before its origins has no MASE; the others decide
CREATE TABLE fc_intermittent AS SELECT 'steady' AS s, period, value FROM fc_air
UNION ALL SELECT 'zeros', period, CASE WHEN period < '1960-01-01' THEN 0 ELSE value END FROM fc_air;
SELECT name, algorithm, score IS NOT NULL AND score <> 'Infinity' AS defined
FROM automl_train('fc_intermittent', 'fc_intermittent', 'value', task => 'forecast', time_column => 'period', series_column => 's', horizon => 12);
SELECT algorithm, score IS NOT NULL AND score <> 'Infinity' AS defined FROM automl.trials WHERE name = 'fc_intermittent' ORDER BY trial;
SELECT p->>'key' AS series, p->>'mase' IS NULL AS mase_undefined
FROM automl.models, jsonb_array_elements(summary->'periods') p WHERE name = 'fc_intermittent' ORDER BY 1;
SELECT count(*) AS periods FROM automl_forecast('fc_intermittent', series => 'zeros');
CREATE TABLE fc_flat AS SELECT period, 5.0::float8 AS value FROM fc_air;
-- error: with every series constant season to season, no backtest error decides
SELECT * FROM automl_train('fc_bad', 'fc_flat', 'value', task => 'forecast', time_column => 'period', horizon => 12);

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE fc_air, fc_gas, fc_nottem, fc_sales, fc_daily, fc_text_time, fc_text_value, fc_dup,
           fc_irregular, fc_short, fc_no_values, fc_no_series, fc_mixed, fc_infinite, fc_rows_model,
           fc_air_bytes, fc_anchors, fc_intermittent, fc_flat;
\i test/fixtures/clean_up.sql
