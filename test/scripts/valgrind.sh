#!/usr/bin/env bash
# Runs training, scoring and the error paths inside a single-user postgres under
# valgrind memcheck; any invalid read or write, use of uninitialised memory or
# bad free fails the test. Needs valgrind and PostgreSQL 15 with automl installed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BINDIR=$("${PG_CONFIG:-pg_config}" --bindir)
WORK=$(mktemp -d /tmp/automl-valgrind.XXXX)
trap 'rm -rf -- "$WORK"' EXIT

as_server_user() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[[ $(id -u) -eq 0 ]] && chown postgres "$WORK"
as_server_user "$PG_BINDIR/initdb" -D "$WORK/data" -A trust -U postgres --no-sync >/dev/null

cat > "$WORK/script.sql" <<'SQL'
CREATE EXTENSION automl;
CREATE TABLE p AS SELECT i AS id, (ARRAY['red','green','blue'])[i%3+1] AS color, CASE WHEN i%7=0 THEN NULL ELSE 'city' || (i%40) END AS city, DATE '2024-01-01' + i AS day, TIMESTAMPTZ '2024-01-01 00:00+00' + i * INTERVAL '17 minutes' AS seen, sin(i) AS x1, cos(i*1.3) AS x2, (i%5)::int AS x3, (i%3=0) AS f, CASE WHEN i%9=0 THEN NULL ELSE sin(i*0.7)::numeric END AS x4, (sin(i)+cos(i*1.3) > 0) AS c, sin(i)*3 - cos(i*1.3) AS y, CASE WHEN sin(i) > 0.4 THEN 'a' WHEN sin(i) > -0.4 THEN 'b' ELSE 'c' END AS g, 'text' AS t FROM generate_series(1,500) i;
SELECT * FROM automl_train('r', 'p', 'y', exclude => ARRAY['id','c','g'], max_trials => 1);
SELECT * FROM automl_train('b', 'p', 'c', exclude => ARRAY['id','y','g'], max_trials => 1);
SELECT * FROM automl_train('m', 'p', 'g', exclude => ARRAY['id','y','c'], hyperparams => '{"C": 0.3}');
SELECT * FROM automl_train('r', 'p', 'y', exclude => ARRAY['id','c','g'], hyperparams => '{"alpha": 50}');
SELECT sum(automl_predict('r', p)), sum(automl_predict('b', p)), sum(automl_predict('r@2', p)) FROM p;
SELECT count(automl_predict_label('m', p)), sum((automl_predict_proba('m', p))[1]) FROM p;
SELECT sum(automl_predict(CASE WHEN id % 2 = 0 THEN 'r' ELSE 'r@2' END, p)) FROM p;
SELECT automl_predict('r', q) FROM (SELECT 1 AS x3, NULL::float8 AS x1, 2.5 AS x2, true AS f, NULL::numeric AS x4, 'purple' AS color, NULL AS city, DATE '2030-01-01' AS day, NULL::timestamptz AS seen, 'free text' AS t) q;
SELECT * FROM automl_train('tg', 'p', 'y', exclude => ARRAY['id','c','g'], algorithms => ARRAY['gbdt'], hyperparams => '{"n_estimators": 5}');
SELECT * FROM automl_train('tc', 'p', 'g', exclude => ARRAY['id','y','c'], algorithms => ARRAY['gbdt'], hyperparams => '{"n_estimators": 5}');
SELECT * FROM automl_train('tr', 'p', 'c', exclude => ARRAY['id','y','g'], algorithms => ARRAY['random_forest'], hyperparams => '{"n_estimators": 3}');
SELECT * FROM automl_train('te', 'p', 'y', exclude => ARRAY['id','c','g'], algorithms => ARRAY['extra_trees'], hyperparams => '{"n_estimators": 3}');
SELECT sum(automl_predict('tg', p)), sum((automl_predict_proba('tc', p))[1]), sum(automl_predict('tr', p)), sum(automl_predict('te', p)) FROM p;
SELECT * FROM automl_train('sr', 'p', 'y', exclude => ARRAY['id','c','g'], algorithms => ARRAY['linear','gbdt'], max_trials => 4);
SELECT * FROM automl_train('sm', 'p', 'g', exclude => ARRAY['id','y','c'], algorithms => ARRAY['linear','extra_trees'], max_trials => 3);
SELECT * FROM automl_train('sb', 'p', 'c', exclude => ARRAY['id','y','g'], time_budget => 3);
-- bagging: fold models kept through the search, dropped, and stored as one flat ensemble
SET automl.bag_fold_models = on;
SELECT * FROM automl_train('bg', 'p', 'g', exclude => ARRAY['id','y','c'], algorithms => ARRAY['linear','gbdt','random_forest'], max_trials => 8);
SELECT options->'bagged_trials' AS bg_bagged FROM automl.models WHERE name = 'bg';
SELECT sum((automl_predict_proba('bg', p))[1]) FROM p;
SELECT count(*) FROM (SELECT * FROM p ORDER BY id LIMIT 3) q, LATERAL automl_explain('bg', q) e;
RESET automl.bag_fold_models;
-- a second version of a name: the gate refits the deployed configuration on the new folds
SELECT * FROM automl_train('sm', 'p', 'g', exclude => ARRAY['id','y','c'], algorithms => ARRAY['linear','gbdt'], max_trials => 4, seed => 3);
SELECT reason AS sm_gate FROM automl.audit WHERE model = 'sm' AND event LIKE 'auto%';
SELECT sum(automl_predict('sr', p)), sum((automl_predict_proba('sm', p))[1]), sum(automl_predict('sb', p)) FROM p;
SELECT count(*) FROM automl.leaderboard;
SELECT count(*) FROM automl.training_progress;
SET automl.train_memory = '1MB';
CREATE TABLE big AS SELECT sin(i) AS a, 'k' || (i % 100) AS k, cos(i) AS y FROM generate_series(1, 40000) i;
SELECT * FROM automl_train('s', 'big', 'y', max_trials => 1);
SELECT sum(automl_predict('s', b)) FROM big b;
SELECT automl_monitor('r', key => 'id', exclude => ARRAY['city']);
SELECT automl_monitor('tc', key => 'id');
SELECT sum(automl_predict('r', p)), count(automl_predict_label('tc', p)) FROM p;
SELECT automl_flush_predictions();
SELECT count(*), count(DISTINCT key) FROM automl.predictions;
SELECT * FROM automl_drift('r');
SELECT * FROM automl_data_quality('tc');
SELECT automl_observe('r', 'SELECT id, y FROM p WHERE id % 2 = 0');
SELECT automl_observe('tc', 1, 'a');
SELECT * FROM automl_performance('r');
SELECT * FROM automl_performance('tc');
SELECT * FROM automl_check_alerts();
SELECT automl_purge_predictions('0 seconds');
SELECT * FROM automl_retrain('r');
SELECT * FROM automl_retrain_if_needed('sr', max_age => '0 seconds');
SELECT * FROM automl_retrain_if_needed('tc');
SELECT automl_predict('m', p) FROM p LIMIT 1;
SELECT automl_predict('r', 42);
SELECT automl_predict('r', q) FROM (SELECT 1 AS x1) q;
SELECT * FROM automl_train('x', 'p', 'nope', max_trials => 1);
SELECT * FROM automl_train('x', 'p', 'y', hyperparams => '{"alpha": -1}');
SELECT * FROM automl_evaluate('tc', 'p', slice_by => ARRAY['color', 'x1', 'city']);
SELECT * FROM automl_evaluate('sr', 'p', slice_by => ARRAY['f']);
SELECT count(*) FROM automl_roc_curve('b', 'p');
SELECT count(*) FROM automl_pr_curve('tc', 'p');
SELECT count(*) FROM automl_calibration_curve('b', 'p');
SELECT count(*) FROM automl_lift_curve('tc', 'p');
SELECT * FROM automl_confusion_matrix('m', 'p');
SELECT * FROM automl_fairness('b', 'p', 'color');
SELECT * FROM automl_feature_importance('sr', 'p', repeats => 2);
SELECT * FROM automl_feature_importance('tc');
SELECT sum(contribution) FROM p, LATERAL automl_explain('tc', p) e WHERE p.id < 20;
SELECT sum(contribution) FROM p, LATERAL automl_explain('tr', p) e WHERE p.id < 5;
SELECT sum(contribution) FROM p, LATERAL automl_explain('r', p) e WHERE p.id < 20;
SELECT sum(contribution) FROM p, LATERAL automl_explain('sr', p) e WHERE p.id < 20;
SELECT * FROM automl_explain('sb', (SELECT p FROM p LIMIT 1));
SELECT sum(contribution) AS sm_explained FROM p, LATERAL automl_explain('sm@1', p) e WHERE p.id < 10;
SELECT sum(contribution) AS sm_explained FROM p, LATERAL automl_explain('sm@2', p) e WHERE p.id < 10;
-- the sums of the Citus ridge refit (docs/scale-out.md), on a plain table: every row's inputs as the ridge model prepares them
SELECT (automl.linear_statistics(automl.linear_inputs(m.model_bytes, 'y', p)))[1] AS linear_sums_rows FROM p, automl.models m WHERE m.name = 'r' AND m.version = 2;
SELECT * FROM automl_train('ci', 'p', 'c', exclude => ARRAY['id','y','g'], algorithms => ARRAY['gbdt'], hyperparams => '{"n_estimators": 5}', calibration => 'isotonic');
SELECT sum(automl_predict('ci', p)) FROM p;
SELECT automl_set_intended_use('tc', 'testing');
SELECT automl_model_card('tc') LIKE '# Model card: tc, version 1%' AS card_ok;
CREATE TABLE series AS SELECT 'k' || (i % 2) AS k, DATE '2024-01-01' + (i / 2) AS d, 50 + 10 * sin(i / 2 * 0.9) + (i % 2) * 20 AS v FROM generate_series(0, 119) i;
SELECT * FROM automl_train('fc', 'series', 'v', task => 'forecast', time_column => 'd', series_column => 'k', horizon => 7);
SELECT count(*), sum(forecast) FROM automl_forecast('fc', horizon => 10);
SELECT * FROM automl_train('fc', 'series', 'v', task => 'forecast', time_column => 'd', series_column => 'k', horizon => 0);
UPDATE automl.models SET model_bytes = substr(model_bytes, 1, 60) WHERE name = 'fc';
SELECT * FROM automl_forecast('fc');
UPDATE automl.models SET model_bytes = substr(model_bytes, 1, 40) WHERE name = 'r' AND version = 1;
SELECT automl_predict('r', p) FROM p LIMIT 1;
UPDATE automl.models SET model_bytes = set_byte(model_bytes, 50, 7) WHERE name = 'b';
SELECT automl_predict('b', p) FROM p LIMIT 1;
SQL

status=0
as_server_user valgrind --quiet --error-exitcode=99 --suppressions="$ROOT/test/valgrind.supp" \
	--log-file="$WORK/valgrind.log" \
	"$PG_BINDIR/postgres" --single -D "$WORK/data" postgres \
	< "$WORK/script.sql" > "$WORK/out.txt" 2>&1 || status=$?
# the statements' results must be there: the run did not stop early
for expected in 'model "m" is a multiclass classifier' 'features must be a row value' \
	'stored model is corrupted' 'target column "nope" does not exist' 'drifted_feature_share' 'still serves\|deployed:' \
	'horizon must be at least 1' 'card_ok = "t"' 'sm_explained = "' 'configuration' 'linear_sums_rows = "500"'; do
	if ! grep -q "$expected" "$WORK/out.txt"; then
		echo "valgrind.sh: expected '$expected' in the output"
		status=1
	fi
done
if [[ $status -ne 0 ]]; then
	cat "$WORK/valgrind.log"
	tail -40 "$WORK/out.txt"
	echo "valgrind.sh: FAILED (status $status)"
	exit 1
fi
echo "valgrind.sh: no memory errors in training, scoring, monitoring, evaluation, explanations, forecasting and error paths"
