#!/bin/bash
# Scoring under load while the model's life cycle goes on: pgbench clients score
# single-row and 1,000-row statements with prediction logging at sample rate 1.0,
# while another session, in a loop, trains a new version, deploys it, rolls back,
# retrains and purges the log. Measures the scoring latency (p50, p99) during
# deploys against the steady state, counts client errors, and checks that every
# scored row was logged exactly once.
#
# In a database of its own (LOAD_DB, default automl_load; dropped and re-created):
# the committed data set test/data/phoneme.csv (5,404 rows, 5 float8 features, a
# binary class) in load_t with an id 1..5404 in file order; a model load_m
# (gbdt, 50 trees) trained on it; automl_monitor('load_m', key => 'id',
# sample_rate => 1). Then for DURATION seconds (default 600):
#
# - pgbench, ONE_CLIENTS clients (default 2) at ONE_RATE statements/s in all
#   (default 200): SELECT automl_predict('load_m', s) FROM (one row of load_t) s
# - pgbench, BATCH_CLIENTS clients (default 2) at BATCH_RATE statements/s in all
#   (default 4): SELECT count(automl_predict('load_m', s)) FROM (1,000
#   consecutive rows of load_t) s
#   With ONE_CONNECT=1 each single-row statement opens a connection of its own
#   (pgbench -C: a backend, and a spool file, per statement).
#   Both throttled (-R), so the latency is that of a statement at its scheduled
#   time (pgbench's schedule lag included), each with --log (one line per
#   statement: its end time and latency). The scored row's id, which is the
#   monitor's key, is <random tag of the statement> * 10000 + load_t.id, so
#   every logged row of the run has a key of its own.
# - one maintenance session, repeating, with GAP seconds (default 2) of quiet
#   after each step: automl_train (a new version: 40, 50 or 60 trees, a new
#   seed; it deploys itself when it wins), automl_deploy of the newest version
#   that does not serve, automl_rollback, automl_retrain, and
#   automl_purge_predictions(PURGE_AGE, 'load_m') (default '60 seconds'). Each
#   step's start and end are read from the server's clock. After a deploy and
#   a rollback the session also waits (at most 30 s) until the log holds a
#   prediction of the version it made serve, predicted after the call returned.
#
# Latency: every statement is put in one class by the time it spans (scheduled
# start to end): "deploy" when it overlaps an automl_deploy or automl_rollback
# call or the DEPLOY_WINDOW seconds after it returned (default 1: the first
# statements of every session load the new version), else "train", "retrain" or
# "purge" when it overlaps such a call, else "steady". Reported per statement
# kind and class: p50, p90, p99, max. The issue's target: p99 during deploys
# within 2x the steady state's.
#
# Errors: failed statements and aborted clients (pgbench), failed maintenance
# steps, transactions rolled back in the database (pg_stat_database), and ERROR,
# PANIC and crash lines of the server log when AUTOML_SERVER_LOG names it
# (test/setup.sh exports it).
#
# Exactly once: after pgbench has ended, automl_flush_predictions(); then
#     rows in automl.predictions for load_m + rows purged (the sum of what
#     automl_purge_predictions returned)
# must equal
#     single-row statements * 1 + 1,000-row statements * 1,000
# (statements as pgbench counted them, checked against its log), and no key may
# appear twice.
#
# Needs a running server with the extension and a superuser connection (psql and
# pgbench with the usual PG* variables; see bench/README.md).
#
# Environment: DURATION (600), ONE_CLIENTS (2), ONE_RATE (200), ONE_CONNECT (0), BATCH_CLIENTS (2),
#   BATCH_RATE (4), GAP (2), DEPLOY_WINDOW (1), PURGE_AGE ('60 seconds'),
#   LOAD_DB (automl_load), KEEP (1 keeps the database), RAW_DIR (keep pgbench's
#   logs and the step log there), OUT (default bench/results/load.md),
#   JSON (machine-readable results for bench/report.py; none when unset)

set -euo pipefail

DURATION=${DURATION:-600}
ONE_CLIENTS=${ONE_CLIENTS:-2}
ONE_RATE=${ONE_RATE:-200}
ONE_CONNECT=${ONE_CONNECT:-0}
BATCH_CLIENTS=${BATCH_CLIENTS:-2}
BATCH_RATE=${BATCH_RATE:-4}
GAP=${GAP:-2}
DEPLOY_WINDOW=${DEPLOY_WINDOW:-1}
PURGE_AGE=${PURGE_AGE:-60 seconds}
LOAD_DB=${LOAD_DB:-automl_load}
KEEP=${KEEP:-0}
RAW_DIR=${RAW_DIR:-}
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$here/results/load.md}
JSON=${JSON:-}
PYTHON=/usr/bin/python3
DATA=$here/../test/data/phoneme.csv
BATCH_ROWS=1000

for arg in "$@"; do
    case "$arg" in
        -h|--help) sed -n '2,66p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
for v in DURATION ONE_CLIENTS ONE_RATE BATCH_CLIENTS BATCH_RATE; do
    case "${!v}" in ''|*[!0-9]*|0) echo "$v must be a positive integer" >&2; exit 2 ;; esac
done
for v in GAP DEPLOY_WINDOW; do
    [[ ${!v} =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "$v must be a number of seconds" >&2; exit 2; }
done
[[ $LOAD_DB =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "LOAD_DB must be a plain lower-case name" >&2; exit 2; }
[ -r "$DATA" ] || { echo "no $DATA" >&2; exit 1; }

started=$(date +%s)
log() { printf '[%4ds] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -d "$LOAD_DB" -c "$1"; }

if [ "$("${PSQL[@]}" -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" != t ]; then
    echo "bench/load.sh needs a superuser connection (it creates a database and the extension)" >&2
    exit 1
fi
command -v pgbench >/dev/null || { echo "pgbench is not on PATH" >&2; exit 1; }

W=$(mktemp -d /tmp/automl-load.XXXXXX)
chmod 755 "$W"
STATE=$W/state.json
cleanup() {
    local pids
    pids=$(jobs -p)
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    if [ -n "$RAW_DIR" ] && [ -d "$W" ]; then
        mkdir -p "$RAW_DIR" && cp -a "$W"/. "$RAW_DIR"/ && log "raw logs kept in $RAW_DIR"
    fi
    rm -rf "$W"
    if [ "$KEEP" != 1 ]; then
        "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $LOAD_DB WITH (FORCE)" 2>/dev/null || true
    fi
}
trap cleanup EXIT
[ -z "$JSON" ] || "$PYTHON" "$here/benchlib.py" start "$STATE"

. "$here/common.sh"
so_before=$(so_id)
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

# --- the database, the data, the model ------------------------------------------
log "database $LOAD_DB: phoneme.csv, model load_m, monitor"
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $LOAD_DB WITH (FORCE)" -c "CREATE DATABASE $LOAD_DB"
(cd "$here/.." && "${PSQL[@]}" -d "$LOAD_DB") <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION automl;
CREATE TABLE load_t (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     "V1" float8, "V2" float8, "V3" float8, "V4" float8, "V5" float8, "Class" text);
\copy load_t ("V1", "V2", "V3", "V4", "V5", "Class") FROM 'test/data/phoneme.csv' CSV HEADER
VACUUM ANALYZE load_t;
SELECT version FROM automl_train('load_m', 'load_t', 'Class', exclude => ARRAY['id'],
                                 algorithms => ARRAY['gbdt'], hyperparams => '{"n_estimators": 50}', seed => 0) \g /dev/null
SELECT name FROM automl_monitor('load_m', key => 'id', sample_rate => 1) \g /dev/null
SQL
N=$(q "SELECT count(*) FROM load_t")
[ "$(q "SELECT max(id) FROM load_t")" = "$N" ] || { echo "load_t ids are not 1..$N" >&2; exit 1; }
[ "$N" -ge "$BATCH_ROWS" ] || { echo "load_t has fewer than $BATCH_ROWS rows" >&2; exit 1; }

# Each statement's tag: random, so that every logged row's key (tag * 10000 + id) is its own.
cat > "$W/one.sql" <<EOF
\\set id random(1, $N)
\\set tag random(1, 900000000000000)
SELECT automl_predict('load_m', s) FROM (SELECT "V1", "V2", "V3", "V4", "V5", :tag::bigint * 10000 + id AS id FROM load_t WHERE id = :id) s;
EOF
cat > "$W/batch.sql" <<EOF
\\set first random(1, $(( N - BATCH_ROWS + 1 )))
\\set tag random(1, 900000000000000)
SELECT count(automl_predict('load_m', s)) FROM (SELECT "V1", "V2", "V3", "V4", "V5", :tag::bigint * 10000 + id AS id FROM load_t WHERE id BETWEEN :first AND :first + $(( BATCH_ROWS - 1 ))) s;
EOF

# Counters before: rolled-back transactions of the database, the server's start, its log.
q "SELECT pg_stat_force_next_flush()" >/dev/null
rollbacks_before=$(q "SELECT pg_stat_clear_snapshot(); SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()" | tail -n 1)
start_time_before=$(q "SELECT pg_postmaster_start_time()")
server_log=${AUTOML_SERVER_LOG:-}
log_offset=0
if [ -n "$server_log" ] && [ -r "$server_log" ]; then log_offset=$(stat -c %s "$server_log"); else server_log=""; fi

# --- the maintenance session ----------------------------------------------------------
# step KIND SQL: one call between two readings of the server's clock (three statements,
# each its own transaction: the second reading follows the call's commit). Appends
# "KIND t0 t1 ok result..." to steps.tsv; prints the result.
step() {
    local kind=$1 sql=$2 out rc
    out=$("${PSQL[@]}" -d "$LOAD_DB" -F ' ' -c "SELECT extract(epoch FROM clock_timestamp())" \
            -c "$sql" -c "SELECT extract(epoch FROM clock_timestamp())" 2>>"$W/steps.err") && rc=0 || rc=$?
    local lines
    mapfile -t lines <<<"$out"
    if [ "$rc" = 0 ] && [ "${#lines[@]}" -ge 3 ]; then
        printf '%s\t%s\t%s\t1\t%s\n' "$kind" "${lines[0]}" "${lines[-1]}" "${lines[1]}" >> "$W/steps.tsv"
        printf '%s\n' "${lines[1]}"
    else
        printf '%s\t%s\t%s\t0\t%s\n' "$kind" "${lines[0]:-}" "$(date +%s.%N)" "exit $rc" >> "$W/steps.tsv"
        echo "step $kind failed (exit $rc): $(tail -n 3 "$W/steps.err" | tr '\n' ' ')" >&2
        return 1
    fi
}
stopped() { [ -e "$W/stop" ]; }
pause() { stopped || sleep "$GAP"; }
# visible KIND VERSION T: polls (30 s at most) for a logged prediction of VERSION after T;
# appends to visible.tsv how long after T the first one was predicted ("-": none).
visible() {
    local kind=$1 version=$2 t=$3 i after=""
    for i in $(seq 1 300); do
        after=$(q "SELECT extract(epoch FROM min(predicted_at)) - $t FROM automl.predictions
                   WHERE model = 'load_m' AND version = $version AND predicted_at > to_timestamp($t)") || after=""
        [ -n "$after" ] && break
        sleep 0.1
    done
    printf '%s\t%s\t%s\t%s\n' "$kind" "$version" "$t" "${after:--}" >> "$W/visible.tsv"
}
maintain() {
    local i=0 r v t1 target
    set +e
    while ! stopped; do
        i=$((i + 1))
        step train "SELECT version || ' ' || deployed FROM automl_train('load_m', 'load_t', 'Class',
            exclude => ARRAY['id'], algorithms => ARRAY['gbdt'],
            hyperparams => '{\"n_estimators\": $(( 40 + (i % 3) * 10 ))}', seed => $i)" >/dev/null
        pause; stopped && break
        target=$(q "SELECT max(version) FROM automl.models WHERE name = 'load_m' AND retired_at IS NULL
                     AND version <> (SELECT version FROM automl.deployed WHERE name = 'load_m')")
        if r=$(step deploy "SELECT version || ' ' || previous_version FROM automl_deploy('load_m', $target, 'load test')"); then
            v=${r%% *}; t1=$(tail -n 1 "$W/steps.tsv" | cut -f3)
            pause; visible deploy "$v" "$t1"
        else
            pause
        fi
        stopped && break
        if r=$(step rollback "SELECT version || ' ' || previous_version FROM automl_rollback('load_m', 'load test')"); then
            v=${r%% *}; t1=$(tail -n 1 "$W/steps.tsv" | cut -f3)
            pause; visible rollback "$v" "$t1"
        else
            pause
        fi
        stopped && break
        step retrain "SELECT version || ' ' || previous_version || ' ' || deployed FROM automl_retrain('load_m', 'load test')" >/dev/null
        pause; stopped && break
        step purge "SELECT automl_purge_predictions('$PURGE_AGE', 'load_m')" >/dev/null
        pause
    done
}

# --- the run ------------------------------------------------------------------------
: > "$W/steps.tsv"; : > "$W/visible.tsv"; : > "$W/steps.err"
log "scoring for $DURATION s: $ONE_CLIENTS clients at $ONE_RATE/s single-row, $BATCH_CLIENTS at $BATCH_RATE/s $BATCH_ROWS-row; maintenance every $GAP s"
t_start=$(q "SELECT extract(epoch FROM clock_timestamp())")
connect=()
[ "$ONE_CONNECT" = 1 ] && connect=(-C)
(cd "$W" && pgbench -n -d "$LOAD_DB" "${connect[@]}" -c "$ONE_CLIENTS" -j 1 -R "$ONE_RATE" -T "$DURATION" \
    -f one.sql --log --log-prefix=one > one.out 2>&1) &
pid_one=$!
(cd "$W" && pgbench -n -d "$LOAD_DB" -c "$BATCH_CLIENTS" -j 1 -R "$BATCH_RATE" -T "$DURATION" \
    -f batch.sql --log --log-prefix=batch > batch.out 2>&1) &
pid_batch=$!
maintain &
pid_maint=$!
rc_one=0; rc_batch=0
wait "$pid_one" || rc_one=$?
wait "$pid_batch" || rc_batch=$?
touch "$W/stop"
t_end=$(q "SELECT extract(epoch FROM clock_timestamp())")
log "pgbench done (exit $rc_one, $rc_batch); waiting for the maintenance session's last step"
wait "$pid_maint" || true

# --- what was logged --------------------------------------------------------------
flushed=$(q "SELECT automl_flush_predictions()")
read -r logged distinct_keys < <(q "SELECT count(*), count(DISTINCT key) FROM automl.predictions WHERE model = 'load_m'" | tr '|' ' ')
read -r versions deployments < <(q "SELECT (SELECT count(*) FROM automl.models WHERE name = 'load_m'),
    (SELECT count(*) FROM automl.deployments WHERE name = 'load_m')" | tr '|' ' ')
q "SELECT event, count(*) FROM automl.audit WHERE model = 'load_m' AND at >= to_timestamp($t_start)
   AND event IN ('deploy', 'rollback', 'auto_deploy', 'retrain', 'purge') GROUP BY event ORDER BY event" | tr '|' ' ' > "$W/audit.txt"
q "SELECT pg_stat_force_next_flush()" >/dev/null
rollbacks_after=$(q "SELECT pg_stat_clear_snapshot(); SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()" | tail -n 1)
start_time_after=$(q "SELECT pg_postmaster_start_time()")
pgver=$(q "SHOW server_version")
: > "$W/server.log"
[ -z "$server_log" ] || tail -c +"$(( log_offset + 1 ))" "$server_log" > "$W/server.log" || true
so_after=$(so_id)
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
elapsed=$(( $(date +%s) - started ))

export LOAD_PARAMS
LOAD_PARAMS=$(cat <<EOF
{"duration_s": $DURATION, "one_clients": $ONE_CLIENTS, "one_rate": $ONE_RATE, "one_connect": $ONE_CONNECT,
 "batch_clients": $BATCH_CLIENTS, "batch_rate": $BATCH_RATE, "batch_rows": $BATCH_ROWS,
 "gap_s": $GAP, "deploy_window_s": $DEPLOY_WINDOW, "purge_age": "$PURGE_AGE",
 "data": "test/data/phoneme.csv", "rows": $N,
 "model": "load_m: gbdt, 50 trees (retrained versions 40-60), 5 float8 features, binary",
 "postgresql": "$pgver", "nproc": $(nproc), "load_before": "$load_before", "load_after": "$load_after",
 "automl_so": "$so_before", "automl_so_after": "$so_after", "elapsed_s": $elapsed}
EOF
)
export LOAD_FACTS
LOAD_FACTS=$(cat <<EOF
{"t_start": $t_start, "t_end": $t_end, "pgbench_exit": {"one": $rc_one, "batch": $rc_batch},
 "flushed_at_end": $flushed, "logged": $logged, "distinct_keys": $distinct_keys,
 "versions": $versions, "deployments": $deployments,
 "rollbacks_before": $rollbacks_before, "rollbacks_after": $rollbacks_after,
 "server_restarted": $([ "$start_time_before" = "$start_time_after" ] && echo false || echo true),
 "server_log_read": $([ -n "$server_log" ] && echo true || echo false)}
EOF
)
args=("$W" --out "$OUT")
[ -z "$JSON" ] || args+=(--json "$JSON" --state "$STATE")
rc=0
"$PYTHON" "$here/load_analyze.py" "${args[@]}" || rc=$?
log "done in ${elapsed} s"
exit "$rc"
