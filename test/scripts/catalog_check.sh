#!/usr/bin/env bash
# test/scripts/catalog_check.sh: the extension's catalog, after a fresh install and after
# an update from 0.1.0 (CREATE EXTENSION automl VERSION '0.1.0'; ALTER EXTENSION automl
# UPDATE), each in a scratch database of the server that PGHOST/PGPORT/PGUSER/PGDATABASE
# name (test/run.sh sets them):
#
#   1. every object of the extension (pg_depend deptype 'e') has a comment;
#   2. every function has the volatility and PARALLEL label listed below (a new function,
#      or a changed label, must be added here on purpose: the list is the audit);
#   3. both databases have the same catalog (test/upgrade/catalog.sql, which lists every
#      definition, label, privilege and comment);
#   4. every PARALLEL SAFE function runs in a parallel worker (force_parallel_mode with
#      the leader not participating, "Workers Launched: 1" checked) and answers there
#      what it answers in the leader.
#
# Needs automl installed (make install) with its 0.1.0 scripts. Prints what it checks;
# exits non-zero when a check fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FRESH=automl_catalog_fresh
UPDATED=automl_catalog_updated
FAILED=0

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)

cleanup() {
	for db in "$FRESH" "$UPDATED"; do
		"${PSQL[@]}" -d "${PGDATABASE:-postgres}" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	FAILED=1
}
ok() { echo "ok: $*"; }

# The audit of docs/sql-reference.md's functions (see the comments in sql/install/*.sql):
# function | volatility | parallel. SAFE: may run in a parallel worker; RESTRICTED: reads
# leader-only state (a caller-named relation may be a temporary table); UNSAFE: writes,
# NOTIFYs or starts background work.
EXPECTED_LABELS=$(
	cat <<'EOF'
automl.caller_owns(name)|stable|safe
automl.forbid_change()|volatile|safe
automl.linear_inputs(bytea,text,anyelement)|immutable|safe
automl.linear_statistics(double precision[])|immutable|safe
automl.linear_statistics_combine(double precision[],double precision[])|immutable|safe
automl.linear_statistics_step(double precision[],double precision[])|immutable|safe
automl.replica_enabled()|stable|safe
automl.replica_follow()|volatile|unsafe
automl.replica_sync(text)|volatile|unsafe
automl_calibration_curve(text,text,integer)|stable|restricted
automl_check_alerts(text)|volatile|unsafe
automl_citus_setup()|volatile|unsafe
automl_collect_predictions()|volatile|unsafe
automl_confusion_matrix(text,text,integer)|stable|restricted
automl_data_quality(text,timestamp with time zone,timestamp with time zone)|stable|safe
automl_delete(text,text)|volatile|unsafe
automl_deploy(text,integer,text)|volatile|unsafe
automl_drift(text,timestamp with time zone,timestamp with time zone)|stable|safe
automl_evaluate(text,text,integer,text[],double precision)|volatile|unsafe
automl_explain(text,anyelement,text)|stable|safe
automl_fairness(text,text,text,integer)|volatile|unsafe
automl_feature_importance(text,text,integer,integer)|stable|restricted
automl_flush_predictions()|volatile|unsafe
automl_forecast(text,integer,text,double precision)|stable|safe
automl_grant(text,text)|volatile|unsafe
automl_lift_curve(text,text,integer)|stable|restricted
automl_model_card(text,integer)|stable|safe
automl_model_card_json(text,integer)|stable|safe
automl_monitor(text,boolean,double precision,text,text[],interval,double precision,double precision,jsonb,double precision,double precision)|volatile|unsafe
automl_observe(text,"any","any")|volatile|unsafe
automl_observe(text,text)|volatile|unsafe
automl_performance(text,timestamp with time zone,timestamp with time zone)|stable|safe
automl_pr_curve(text,text,integer)|stable|restricted
automl_predict(text,anyelement)|stable|safe
automl_predict_label(text,anyelement)|stable|safe
automl_predict_proba(text,anyelement)|stable|safe
automl_purge_predictions(interval,text)|volatile|unsafe
automl_retire(text,integer,text)|volatile|unsafe
automl_retrain(text,text)|volatile|unsafe
automl_retrain_if_needed(text,interval)|volatile|unsafe
automl_revoke(text,text)|volatile|unsafe
automl_roc_curve(text,text,integer)|stable|restricted
automl_rollback(text,text)|volatile|unsafe
automl_schedule_retrain(text,text,boolean,interval)|volatile|unsafe
automl_set_intended_use(text,text)|volatile|unsafe
automl_set_policy(text,boolean,double precision)|volatile|unsafe
automl_train(text,text,text,text,double precision,text,text[],jsonb,text[],integer,integer,text,text,text,integer)|volatile|unsafe
automl_training_progress()|volatile|safe
automl_unschedule_retrain(text)|volatile|unsafe
automl_version_at(text,timestamp with time zone)|stable|safe
EOF
)

q() {
	local db=$1
	shift
	"${PSQL[@]}" -d "$db" "$@"
}

cleanup
q "${PGDATABASE:-postgres}" -c "CREATE DATABASE $FRESH" -c "CREATE DATABASE $UPDATED"
q "$FRESH" -c 'CREATE EXTENSION automl'
q "$UPDATED" -c "CREATE EXTENSION automl VERSION '0.1.0'"
from=$(q "$UPDATED" -c "SELECT extversion FROM pg_extension WHERE extname = 'automl'")
q "$UPDATED" -c 'ALTER EXTENSION automl UPDATE'
to=$(q "$UPDATED" -c "SELECT extversion FROM pg_extension WHERE extname = 'automl'")
fresh_version=$(q "$FRESH" -c "SELECT extversion FROM pg_extension WHERE extname = 'automl'")
if [[ $from == 0.1.0 && $to == "$fresh_version" ]]; then
	ok "$UPDATED: updated from $from to $to, the version a fresh install gets"
else
	fail "$UPDATED: installed $from, updated to $to; a fresh install is $fresh_version"
fi

for db in "$FRESH" "$UPDATED"; do
	# 1. comments
	members=$(q "$db" -c "
SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'automl' AND d.deptype = 'e'")
	missing=$(q "$db" -c "
SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'automl' AND d.deptype = 'e'
  AND NOT EXISTS (SELECT 1 FROM pg_description x
                  WHERE x.classoid = d.classid AND x.objoid = d.objid AND x.objsubid = d.objsubid
                    AND x.description <> '')
ORDER BY 1")
	if [[ -z $missing ]]; then
		ok "$db: all $members objects of the extension have a comment"
	else
		fail "$db: objects of the extension without a comment:"$'\n'"$missing"
	fi

	# 2. labels
	labels=$(q "$db" -c "
SELECT p.oid::regprocedure::text || '|' ||
       CASE p.provolatile WHEN 'v' THEN 'volatile' WHEN 's' THEN 'stable' ELSE 'immutable' END || '|' ||
       CASE p.proparallel WHEN 'u' THEN 'unsafe' WHEN 'r' THEN 'restricted' ELSE 'safe' END
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'automl' AND d.deptype = 'e'
ORDER BY p.oid::regprocedure::text COLLATE \"C\"")
	if [[ $labels == "$EXPECTED_LABELS" ]]; then
		ok "$db: the volatility and PARALLEL labels of all $(wc -l <<<"$labels") functions are the audited ones"
	else
		fail "$db: labels differ from the audited list (< expected, > installed):"$'\n'"$(diff <(echo "$EXPECTED_LABELS") <(echo "$labels") || true)"
	fi
done

# 3. the same catalog
fresh_catalog=$(q "$FRESH" -f "$ROOT/test/upgrade/catalog.sql")
updated_catalog=$(q "$UPDATED" -f "$ROOT/test/upgrade/catalog.sql")
if [[ $fresh_catalog == "$updated_catalog" ]]; then
	ok "the updated and the fresh database have the same catalog ($(wc -l <<<"$fresh_catalog") lines of test/upgrade/catalog.sql)"
else
	fail "the updated catalog differs from a fresh install (< fresh, > updated):"$'\n'"$(diff <(echo "$fresh_catalog") <(echo "$updated_catalog") || true)"
fi

# 4. every PARALLEL SAFE function in a parallel worker. A classifier that is monitored,
# with logged predictions and outcomes, and a forecast model.
q "$FRESH" >/dev/null <<'EOF'
CREATE TABLE cc_rows AS
SELECT i AS id, (i % 17)::float8 AS x1, ((i * 7) % 23)::float8 AS x2,
       CASE WHEN (i % 17) + 0.5 * ((i * 7) % 23) + 3 * sin(i) > 14 THEN 'yes' ELSE 'no' END AS y
FROM generate_series(1, 300) AS i;
SELECT 1 FROM automl_train('cc_clf', 'cc_rows', 'y', exclude => ARRAY['id'], algorithms => ARRAY['linear'],
                           max_trials => 1, seed => 1);
SELECT 1 FROM automl_train('cc_reg', 'cc_rows', 'x2', exclude => ARRAY['id', 'y'], algorithms => ARRAY['linear'],
                           max_trials => 1, seed => 1);
CREATE TABLE cc_reg_bytes AS SELECT model_bytes FROM automl.models WHERE name = 'cc_reg';
SELECT 1 FROM automl_monitor('cc_clf', key => 'id');
SELECT sum(automl_predict('cc_clf', r)) FROM cc_rows r;
SELECT automl_flush_predictions();
SELECT automl_observe('cc_clf', 'SELECT id::text, y FROM cc_rows WHERE id <= 200');
CREATE TABLE cc_series AS
SELECT (date '2000-01-01' + i * interval '1 month')::date AS period, 100 + 10 * sin(i / 2.0) + i AS value
FROM generate_series(0, 59) AS i;
SELECT 1 FROM automl_train('cc_fc', 'cc_series', 'value', task => 'forecast', time_column => 'period', horizon => 6);
EOF

# A query per PARALLEL SAFE function (a trigger function cannot be called by a query).
declare -A CALL=(
	["automl.caller_owns(name)"]="SELECT automl.caller_owns(current_user)"
	["automl.replica_enabled()"]="SELECT automl.replica_enabled()"
	# the row function, the aggregate, its state and combine functions: one query runs all four
	["automl.linear_inputs(bytea,text,anyelement)"]="SELECT automl.linear_statistics(automl.linear_inputs(m.model_bytes, 'x2', r)) FROM cc_rows r, cc_reg_bytes m"
	["automl.linear_statistics(double precision[])"]="SELECT automl.linear_statistics(automl.linear_inputs(m.model_bytes, 'x2', r)) FROM cc_rows r, cc_reg_bytes m"
	["automl.linear_statistics_step(double precision[],double precision[])"]="SELECT automl.linear_statistics(automl.linear_inputs(m.model_bytes, 'x2', r)) FROM cc_rows r, cc_reg_bytes m"
	["automl.linear_statistics_combine(double precision[],double precision[])"]="SELECT automl.linear_statistics(automl.linear_inputs(m.model_bytes, 'x2', r)) FROM cc_rows r, cc_reg_bytes m"
	["automl_data_quality(text,timestamp with time zone,timestamp with time zone)"]="SELECT * FROM automl_data_quality('cc_clf') ORDER BY feature"
	["automl_drift(text,timestamp with time zone,timestamp with time zone)"]="SELECT * FROM automl_drift('cc_clf') ORDER BY feature NULLS FIRST, kind"
	["automl_explain(text,anyelement,text)"]="SELECT e.* FROM cc_rows r, automl_explain('cc_clf', r) e WHERE r.id <= 3"
	["automl_forecast(text,integer,text,double precision)"]="SELECT * FROM automl_forecast('cc_fc')"
	["automl_model_card(text,integer)"]="SELECT automl_model_card('cc_clf')"
	["automl_model_card_json(text,integer)"]="SELECT automl_model_card_json('cc_clf')"
	["automl_performance(text,timestamp with time zone,timestamp with time zone)"]="SELECT * FROM automl_performance('cc_clf')"
	["automl_predict(text,anyelement)"]="SELECT id, automl_predict('cc_clf', r) FROM cc_rows r ORDER BY id"
	["automl_predict_label(text,anyelement)"]="SELECT id, automl_predict_label('cc_clf', r) FROM cc_rows r ORDER BY id"
	["automl_predict_proba(text,anyelement)"]="SELECT id, automl_predict_proba('cc_clf', r) FROM cc_rows r ORDER BY id"
	["automl_training_progress()"]="SELECT * FROM automl_training_progress()"
	["automl_version_at(text,timestamp with time zone)"]="SELECT automl_version_at('cc_clf')"
)
safe=$(q "$FRESH" -c "
SELECT p.oid::regprocedure FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'automl' AND p.proparallel = 's' AND p.prorettype <> 'trigger'::regtype
ORDER BY 1")
while IFS= read -r fn; do
	call=${CALL[$fn]:-}
	if [[ -z $call ]]; then
		fail "$fn is PARALLEL SAFE but this script has no query to run it in a worker: add one to CALL"
		continue
	fi
	# The leader's answer and the worker's, in one transaction (one now(), and one
	# snapshot: the log writer may insert predictions logged by the calls above meanwhile).
	out=$(q "$FRESH" 2>&1 <<EOF || true
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) || ' rows ' || coalesce(md5(string_agg(x::text, E'\n')), '') FROM ($call) x;
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_leader_participation = off;
SET LOCAL max_parallel_workers_per_gather = 1;
SELECT count(*) || ' rows ' || coalesce(md5(string_agg(x::text, E'\n')), '') FROM ($call) x;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $call;
COMMIT;
EOF
	)
	leader=$(sed -n 1p <<<"$out")
	worker=$(sed -n 2p <<<"$out")
	if ! grep -q 'Workers Launched: 1' <<<"$out"; then
		fail "$fn: no parallel worker ran $call:"$'\n'"$out"
	elif [[ $leader != *" rows "* || $leader != "$worker" ]]; then
		fail "$fn: the worker's answer ($worker) is not the leader's ($leader):"$'\n'"$out"
	else
		ok "$fn ran in a parallel worker and answered as in the leader (${leader%% rows*} rows of: $call)"
	fi
done <<<"$safe"

if [[ $FAILED -ne 0 ]]; then
	echo "catalog_check: FAILED"
	exit 1
fi
echo "catalog_check: all checks passed"
