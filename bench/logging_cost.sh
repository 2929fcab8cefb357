#!/bin/bash
# Cost of prediction logging (automl_monitor): extra scoring time per row, and
# the log writer's throughput.
#
# Builds two tables of ROWS rows (default 1,000,000), each with an id column:
#     logc_num   x1..x10 float8                      (the shape of scoring_speed.sh)
#     logc_mix   x1..x8 float8, c1..c3 text (5, 20 and 100 levels)
# trains a linear and a gbdt model on the first TRAIN_ROWS rows of each
# (exclude => id; gbdt: 100 rounds, no early stopping), and declares a monitor
# with key => 'id' on all four. Then, in the same run:
#
# 1. Scoring. Per model, in one session, after a warm-up:
#        SELECT sum(automl_predict('<model>', t)) FROM <table> t
#    RUNS times (gbdt models: RUNS_GBDT times; they score 10-20 times slower)
#    in each of three settings: not logged (enabled => false),
#    logged at sample_rate 1.0, logged at 0.1. The three alternate (their order
#    rotates per repetition); the monitor is switched between statements. The
#    extra time per row of a repetition is (logged - unlogged) / ROWS; reported:
#    the median over repetitions and its min/max. Serially
#    (max_parallel_workers_per_gather = 0) and with PARALLEL_WORKERS (default 2;
#    0 skips it) workers per gather. The session holds the log writer's
#    ingestion lock meanwhile, so the background writer waits instead of
#    competing for the CPU: the figures are the scoring side's cost (encode,
#    buffer, one write() per 256 kB). What was logged is then marked as already
#    ingested in automl.log_spool, so the writer discards it (a benchmark-only
#    short cut, which needs a superuser).
# 2. Ingestion, per table shape (the linear models): 1.0-logged scoring of all
#    rows, then (a) automl_flush_predictions() in the session, the writer held
#    off, and (b) the background writer alone: the lock is released and the
#    spool position in automl.log_spool is polled until it reaches the file's
#    end. Wall time, rows/s, and the CPU time of the ingesting process (from
#    /proc, when the server runs on this machine). Also the spool bytes per row
#    and the table size per row (pg_total_relation_size('automl.predictions'),
#    heap and indexes, after TRUNCATE).
#
# Needs a running server with the extension, a superuser connection (psql with
# the usual PG* variables, see bench/README.md), and a database where nothing
# else logs predictions: it truncates automl.predictions and discards pending
# spool files. It refuses to start when automl.predictions holds rows of other
# models or other models are monitored, unless FORCE=1.
#
# Usage: bench/logging_cost.sh [--reuse]
#   --reuse   keep existing logc_num / logc_mix tables of the right size
# Environment: ROWS (1000000), RUNS (5), RUNS_GBDT (3), TRAIN_ROWS (200000), PARALLEL_WORKERS (2),
#   INGEST (1; 0 skips part 2), FORCE, OUT (default bench/results/logging_cost.md),
#   JSON (machine-readable results for bench/report.py; none when unset)

set -euo pipefail

ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
RUNS_GBDT=${RUNS_GBDT:-3}
TRAIN_ROWS=${TRAIN_ROWS:-200000}
PARALLEL_WORKERS=${PARALLEL_WORKERS:-2}
INGEST=${INGEST:-1}
FORCE=${FORCE:-0}
INGEST_WAIT_S=${INGEST_WAIT_S:-1200}
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$here/results/logging_cost.md}
JSON=${JSON:-}
PYTHON=/usr/bin/python3
REUSE=0
for arg in "$@"; do
    case "$arg" in
        --reuse) REUSE=1 ;;
        -h|--help) sed -n '2,47p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
for v in ROWS RUNS RUNS_GBDT TRAIN_ROWS; do
    case "${!v}" in ''|*[!0-9]*|0) echo "$v must be a positive integer" >&2; exit 2 ;; esac
done
case "$PARALLEL_WORKERS" in ''|*[!0-9]*) echo "PARALLEL_WORKERS must be an integer >= 0" >&2; exit 2 ;; esac
[ "$TRAIN_ROWS" -le "$ROWS" ] || TRAIN_ROWS=$ROWS

started=$(date +%s)
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -c "$1"; }
log() { printf '[%4ds] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }

# The log writer's ingestion lock: pg_advisory_xact_lock(INGEST_LOCK_CLASS, 0), defined in
# the C sources under src/serve/ (read from there when the checkout has them). A session
# holding it makes the writer (and any flush elsewhere) wait.
LOCK_CLASS=6385005
if [ -d "$here/../src" ]; then
    c=$(grep -rhs --include='*.c' --include='*.h' '^#define INGEST_LOCK_CLASS' "$here/../src" |
        sed -n 's/^#define INGEST_LOCK_CLASS[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1 || true)
    [ -n "$c" ] && LOCK_CLASS=$c
fi
LOCK="$LOCK_CLASS, 0"

# --- checks -------------------------------------------------------------------
if [ "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" != t ]; then
    echo "bench/logging_cost.sh needs a superuser connection (it reads the spool directory and truncates automl.predictions)" >&2
    exit 1
fi
if [ "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'automl'")" = 0 ]; then
    q "CREATE EXTENSION automl" >/dev/null
fi
if [ "$(q "SELECT count(*) FROM pg_proc WHERE proname = 'automl_monitor'")" = 0 ]; then
    echo "this automl has no automl_monitor(): nothing to measure" >&2
    exit 1
fi
others=$(q "SELECT (SELECT count(*) FROM automl.predictions WHERE model NOT LIKE 'logc\_%')
                 + (SELECT count(*) FROM automl.monitors WHERE enabled AND name NOT LIKE 'logc\_%')")
if [ "$others" != 0 ] && [ "$FORCE" != 1 ]; then
    echo "automl.predictions holds rows of other models, or other models are monitored: this" >&2
    echo "benchmark truncates the log and discards pending spool files. Use a throwaway" >&2
    echo "database (bench/run.sh logging), or set FORCE=1." >&2
    exit 1
fi

# The installed library, to spot a reinstall during the run.
. "$here/common.sh"
so_before=$(so_id)
so_changed_at=""
commit=$(git -C "$here/.." log -1 --format='%h %cd %s' --date='format:%Y-%m-%d %H:%M' 2>/dev/null || echo '?')
if [ -n "$(git -C "$here/.." status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit (modified)"
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

# Snippets. The spool directory of this database, summed over its files.
SPOOL_FILES="(SELECT 'automl_log/' || oid AS d FROM pg_database WHERE datname = current_database()) x,
    pg_ls_dir(x.d, true, false) AS f"
SPOOL_SUM="SELECT coalesce(sum((pg_stat_file(x.d || '/' || f, true)).size), 0) FROM $SPOOL_FILES"
# Every spool file counts as ingested up to its current size (the writer then skips,
# and later deletes, what the scoring runs logged).
MARK="INSERT INTO automl.log_spool AS l (file, consumed)
SELECT regexp_replace(f, '[.](spool|done)\$', ''), s.size
FROM $SPOOL_FILES, pg_stat_file(x.d || '/' || f, true) AS s
WHERE f ~ '[.](spool|done)\$' AND s.size IS NOT NULL
ON CONFLICT (file) DO UPDATE SET consumed = greatest(l.consumed, EXCLUDED.consumed);"
# CPU time (utime + stime, in clock ticks) of a server process, from /proc/<pid>/stat.
cpu_of() {
    printf "(SELECT split_part(substr(s, strpos(s, ') ') + 2), ' ', 12)::bigint
                 + split_part(substr(s, strpos(s, ') ') + 2), ' ', 13)::bigint
          FROM pg_read_file('/proc/' || (%s) || '/stat', 0, 4096, true) AS s)" "$1"
}
CPU_SELF=$(cpu_of "pg_backend_pid()")
TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)
if ! q "SELECT $CPU_SELF" 2>/dev/null | grep -q '^[0-9][0-9]*$'; then
    CPU_SELF="-1"     # the server is elsewhere, or /proc is unreadable
fi

# --- data -------------------------------------------------------------------
table_rows() {
    if [ "$(q "SELECT to_regclass('$1') IS NOT NULL")" = t ]; then q "SELECT count(*) FROM $1"; else echo -1; fi
}
if [ "$REUSE" = 1 ] && [ "$(table_rows logc_num)" = "$ROWS" ] && [ "$(table_rows logc_mix)" = "$ROWS" ]; then
    log "reusing logc_num and logc_mix ($ROWS rows)"
else
    log "building logc_num and logc_mix ($ROWS rows each)..."
    "${PSQL[@]}" -v rows="$ROWS" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS logc_num, logc_mix, logc_num_train, logc_mix_train;
SELECT setseed(0.42);
CREATE TABLE logc_num AS
SELECT i AS id, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10,
       3.0 + 1.0*x1 - 2.0*x2 + 0.5*x3 + 4.0*x4 - 1.5*x5
           + 0.25*x6 + 2.5*x7 - 0.75*x8 + 1.25*x9 - 3.0*x10
           + 0.1 * (e1 + e2 + e3 - 1.5) AS y
FROM (SELECT i, random() AS x1, random() AS x2, random() AS x3, random() AS x4,
             random() AS x5, random() AS x6, random() AS x7, random() AS x8,
             random() AS x9, random() AS x10,
             random() AS e1, random() AS e2, random() AS e3
      FROM generate_series(1, :rows) AS i) s;
SELECT setseed(0.43);
CREATE TABLE logc_mix AS
SELECT i AS id, x1, x2, x3, x4, x5, x6, x7, x8,
       (ARRAY['red', 'green', 'blue', 'amber', 'violet'])[1 + k1] AS c1,
       'region_' || lpad(k2::text, 2, '0') AS c2,
       'product_' || lpad(k3::text, 3, '0') AS c3,
       2.0 + 1.0*x1 - 2.0*x2 + 0.5*x3 + 4.0*x4 - 1.5*x5 + 0.25*x6 + 2.5*x7 - 0.75*x8
           + 0.8*k1 - 0.05*k2 + 0.01*(k3 % 7) + 0.1 * (e1 + e2 - 1.0) AS y
FROM (SELECT i, random() AS x1, random() AS x2, random() AS x3, random() AS x4,
             random() AS x5, random() AS x6, random() AS x7, random() AS x8,
             floor(random() * 5)::int AS k1, floor(random() * 20)::int AS k2,
             floor(random() * 100)::int AS k3, random() AS e1, random() AS e2
      FROM generate_series(1, :rows) AS i) s;
VACUUM (FREEZE, ANALYZE) logc_num, logc_mix;
SQL
fi
"${PSQL[@]}" -v n="$TRAIN_ROWS" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS logc_num_train, logc_mix_train;
CREATE TABLE logc_num_train AS SELECT * FROM logc_num WHERE id <= :n;
CREATE TABLE logc_mix_train AS SELECT * FROM logc_mix WHERE id <= :n;
SQL

# --- models -------------------------------------------------------------------
MODELS=(logc_num_linear logc_num_gbdt logc_mix_linear logc_mix_gbdt)
declare -A TABLE ALGO HYPER VERSION ALGNAME TRAIN_S
TABLE=([logc_num_linear]=logc_num [logc_num_gbdt]=logc_num [logc_mix_linear]=logc_mix [logc_mix_gbdt]=logc_mix)
ALGO=([logc_num_linear]=linear [logc_num_gbdt]=gbdt [logc_mix_linear]=linear [logc_mix_gbdt]=gbdt)
HYPER=([linear]='{}' [gbdt]='{"n_estimators": 100, "early_stopping": 0}')
for m in "${MODELS[@]}"; do
    log "training $m on $TRAIN_ROWS rows of ${TABLE[$m]}..."
    out=$("${PSQL[@]}" -F ' ' <<SQL
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT version, algorithm FROM automl_train('$m', '${TABLE[$m]}_train', target => 'y',
    algorithms => ARRAY['${ALGO[$m]}'], hyperparams => '${HYPER[${ALGO[$m]}]}', exclude => ARRAY['id'])
\gset
SELECT :version, :'algorithm', round(extract(epoch FROM clock_timestamp()) - :t0, 1);
SQL
)
    read -r "VERSION[$m]" "ALGNAME[$m]" "TRAIN_S[$m]" <<<"$out"
    q "SELECT name FROM automl_monitor('$m', enabled => false, key => 'id')" >/dev/null
done

# Start clean: nothing pending, an empty log.
"${PSQL[@]}" <<SQL
SELECT pg_advisory_lock($LOCK) \g /dev/null
TRUNCATE automl.predictions;
$MARK
SELECT pg_advisory_unlock($LOCK) \g /dev/null
SQL

# --- 1. scoring -----------------------------------------------------------------
RAW=$(mktemp)
STATE=$(mktemp)
trap 'rm -f "$RAW" "$STATE"' EXIT
[ -z "$JSON" ] || "$PYTHON" "$here/benchlib.py" start "$STATE"
VARIANTS=(off r1 r01)
declare -A MONITOR_ARGS=([off]="enabled => false" [r1]="sample_rate => 1" [r01]="sample_rate => 0.1")

# measure LABEL QUERY: one timed statement, with the spool size and CPU time around it
measure() {
    cat <<EOF
SELECT ($SPOOL_SUM) AS s0, $CPU_SELF AS c0 \gset
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
$2 \g /dev/null
SELECT (extract(epoch FROM clock_timestamp()) - :t0) * 1000 AS ms \gset
SELECT ($SPOOL_SUM) AS s1, $CPU_SELF AS c1 \gset
\echo $1 :ms :s0 :s1 :c0 :c1
EOF
}

# scoring_script MODEL SETTING WORKERS
scoring_script() {
    local m=$1 setting=$2 w=$3 r i v runs=$RUNS
    [ "${ALGO[$m]}" = gbdt ] && runs=$RUNS_GBDT
    local query="SELECT sum(automl_predict('$m', t)) FROM ${TABLE[$m]} t"
    cat <<EOF
SET max_parallel_workers_per_gather = $w;
SELECT pg_advisory_lock($LOCK) \g /dev/null
SELECT name FROM automl_monitor('$m', enabled => false) \g /dev/null
\echo PLAN $m $setting
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $query;
\echo ENDPLAN
SELECT name FROM automl_monitor('$m', sample_rate => 1) \g /dev/null
$query \g /dev/null
SELECT count(*) AS waiting FROM pg_stat_activity
WHERE backend_type = 'automl log writer' AND wait_event_type = 'Lock' AND wait_event = 'advisory' \gset
\echo WRITER $m $setting :waiting
EOF
    for r in $(seq 1 "$runs"); do
        for i in 0 1 2; do
            v=${VARIANTS[$(( (r + i) % 3 ))]}
            echo "SELECT name FROM automl_monitor('$m', ${MONITOR_ARGS[$v]}) \\g /dev/null"
            measure "R $m $setting $v $r" "$query"
        done
    done
    cat <<EOF
SELECT name FROM automl_monitor('$m', enabled => false) \g /dev/null
$MARK
SELECT pg_advisory_unlock($LOCK) \g /dev/null
EOF
}

SETTINGS=(serial)
[ "$PARALLEL_WORKERS" -gt 0 ] && SETTINGS+=(parallel)
for setting in "${SETTINGS[@]}"; do
    w=0
    [ "$setting" = parallel ] && w=$PARALLEL_WORKERS
    for m in "${MODELS[@]}"; do
        runs=$RUNS
        [ "${ALGO[$m]}" = gbdt ] && runs=$RUNS_GBDT
        log "scoring $m, $setting: warm-up + $runs x (unlogged, logged 1.0, logged 0.1)..."
        if [ -z "$so_changed_at" ] && [ "$(so_id)" != "$so_before" ]; then
            so_changed_at="scoring $m, $setting"
            log "warning: automl.so was reinstalled; this block and the later ones use the new build"
        fi
        scoring_script "$m" "$setting" "$w" | "${PSQL[@]}" >>"$RAW"
    done
done
ingested_while_scoring=$(q "SELECT count(*) FROM automl.predictions")

# --- 2. ingestion -------------------------------------------------------------------
# ingest_script MODEL
ingest_script() {
    local m=$1
    local query="SELECT sum(automl_predict('$m', t)) FROM ${TABLE[$m]} t"
    local sizes="SELECT count(*) AS n, pg_relation_size('automl.predictions') AS heap,
       pg_indexes_size('automl.predictions') AS idx,
       pg_total_relation_size('automl.predictions') AS total FROM automl.predictions \gset"
    local hwm="SELECT coalesce(substring(pg_read_file('/proc/' || (:pid) || '/status', 0, 8192, true)
       FROM 'VmHWM:\\s+(\\d+) kB')::bigint, -1) AS hwm \\gset"
    local writer_pid="coalesce((SELECT pid FROM pg_stat_activity WHERE backend_type = 'automl log writer'
       AND datname = current_database() ORDER BY backend_start DESC LIMIT 1), 0)"
    cat <<EOF
SET max_parallel_workers_per_gather = 0;
SELECT pg_advisory_lock($LOCK) \g /dev/null
TRUNCATE automl.predictions;
SELECT name FROM automl_monitor('$m', sample_rate => 1) \g /dev/null
$MARK
SELECT ($SPOOL_SUM) AS s0 \gset
$query \g /dev/null
SELECT ($SPOOL_SUM) AS s1 \gset
SELECT $CPU_SELF AS c0, extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT automl_flush_predictions() AS moved \gset
SELECT (extract(epoch FROM clock_timestamp()) - :t0) * 1000 AS ms, $CPU_SELF AS c1 \gset
$sizes
SELECT pg_backend_pid() AS pid \gset
$hwm
\echo I $m flush :moved :ms :s0 :s1 :c0 :c1 :n :heap :idx :total :pid :pid :hwm
TRUNCATE automl.predictions;
SELECT ($SPOOL_SUM) AS s0 \gset
$query \g /dev/null
SELECT ($SPOOL_SUM) AS s1 \gset
SELECT name FROM automl_monitor('$m', enabled => false) \g /dev/null
SELECT string_agg(regexp_replace(f, '[.](spool|done)\$', ''), ',') AS base,
       sum((pg_stat_file(x.d || '/' || f)).size) AS fsize
FROM $SPOOL_FILES WHERE f ~ ('-' || pg_backend_pid() || '-[0-9]+[.](spool|done)\$') \gset
SELECT set_config('logc.base', :'base', false), set_config('logc.size', :'fsize', false) \g /dev/null
SELECT $writer_pid AS wpid \gset
SELECT coalesce($(cpu_of ":wpid"), -1) AS c0 \gset
SELECT pg_advisory_unlock($LOCK), extract(epoch FROM clock_timestamp()) AS t0 \gset
DO \$\$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '$INGEST_WAIT_S seconds';
    pos bigint;
    missing int := 0;
BEGIN
    LOOP
        -- a session's log rotates every 64 MB: every file of this backend counts
        SELECT sum(consumed) INTO pos FROM automl.log_spool
        WHERE file = ANY (string_to_array(current_setting('logc.base'), ','));
        EXIT WHEN coalesce(pos, 0) >= current_setting('logc.size')::bigint;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'the log writer did not ingest the spool file within $INGEST_WAIT_S s';
        END IF;
        PERFORM pg_stat_clear_snapshot();
        IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'automl log writer'
                   AND datname = current_database()) THEN
            missing := 0;
        ELSE
            missing := missing + 1;
            IF missing > 200 THEN
                RAISE EXCEPTION 'no automl log writer has run for 10 s with rows pending';
            END IF;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
\$\$;
SELECT (extract(epoch FROM clock_timestamp()) - :t0) * 1000 AS ms \gset
SELECT coalesce($(cpu_of ":wpid"), -1) AS c1, $writer_pid AS wpid_after, :wpid AS pid \gset
$hwm
$sizes
\echo I $m writer :n :ms :s0 :s1 :c0 :c1 :n :heap :idx :total :wpid :wpid_after :hwm
EOF
}

if [ "$INGEST" = 1 ]; then
    for m in logc_num_linear logc_mix_linear; do
        log "ingestion of $ROWS rows of $m: automl_flush_predictions(), then the background writer..."
        if [ -z "$so_changed_at" ] && [ "$(so_id)" != "$so_before" ]; then
            so_changed_at="ingestion of $m"
            log "warning: automl.so was reinstalled; this block and the later ones use the new build"
        fi
        ingest_script "$m" | "${PSQL[@]}" >>"$RAW"
    done
fi

# Clean up: no monitor left on, an empty log, and no spool files. The discarded files
# go once a writer runs a round, so one row is logged to start one.
log "cleaning up..."
"${PSQL[@]}" <<SQL
SELECT pg_advisory_lock($LOCK) \g /dev/null
$MARK
SELECT pg_advisory_unlock($LOCK) \g /dev/null
SQL
q "SELECT name FROM automl_monitor('logc_num_linear', sample_rate => 1)" >/dev/null
q "SELECT automl_predict('logc_num_linear', t) FROM logc_num t WHERE id = 1" >/dev/null
for m in "${MODELS[@]}"; do
    q "SELECT name FROM automl_monitor('$m', enabled => false)" >/dev/null
done
for _ in $(seq 1 60); do
    [ "$(q "SELECT count(*) FROM $SPOOL_FILES")" = 0 ] && break
    sleep 0.25
done
left=$(q "SELECT count(*) FROM $SPOOL_FILES")
[ "$left" = 0 ] || log "$left spool file(s) left in automl_log/ (all marked ingested; the next writer round deletes them)"
"${PSQL[@]}" <<SQL
SELECT pg_advisory_lock($LOCK) \g /dev/null
TRUNCATE automl.predictions;
SELECT pg_advisory_unlock($LOCK) \g /dev/null
SQL

# --- report -------------------------------------------------------------------
so_after=$(so_id)
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
elapsed=$(( $(date +%s) - started ))
pgver=$(q "SHOW server_version")
extver=$(q "SELECT extversion FROM pg_extension WHERE extname = 'automl'")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
so_note=""
if [ "$so_before" != "$so_after" ]; then
    so_note=" — **reinstalled during the run** (first seen before: ${so_changed_at:-the clean-up}; now: ${so_after}); sessions started after the reinstall used the new build: rerun"
    echo "warning: automl.so changed during the run" >&2
fi

models_md=""
for m in "${MODELS[@]}"; do
    models_md+="| model ${m} | ${m}@${VERSION[$m]:-?} (${ALGNAME[$m]:-?}), on ${TABLE[$m]}_train, trained in ${TRAIN_S[$m]:-?} s |"$'\n'
done

# Per model and setting: medians and spreads of the paired differences.
scoring_rows() {
    awk -v n="$ROWS" -v want="$1" -v ticks="$TICKS" '
    function median(a, k,    i, j, t, b) {
        for (i = 1; i <= k; i++) b[i] = a[i]
        for (i = 2; i <= k; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
        return (k % 2) ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
    }
    function minof(a, k,    i, m) { m = a[1]; for (i = 2; i <= k; i++) if (a[i] < m) m = a[i]; return m }
    function maxof(a, k,    i, m) { m = a[1]; for (i = 2; i <= k; i++) if (a[i] > m) m = a[i]; return m }
    $1 == "PLAN" { cur = $2 " " $3; next }
    /Workers Planned:/ { planned[cur] = $NF }
    /Workers Launched:/ { launched[cur] = $NF }
    $1 == "WRITER" { waiting[$2 " " $3] = $4 }
    $1 == "R" && $3 == want {
        key = $2; r = $5
        if (!(key in seen)) { seen[key] = 1; order[++nm] = key }
        ms[key, $4, r] = $6; bytes[key, $4, r] = $8 - $7
        cpu[key, $4, r] = ($9 >= 0 && $10 >= 0) ? ($10 - $9) * 1000 / ticks : -1
        if (r > runs[key]) runs[key] = r
    }
    END {
        for (k = 1; k <= nm; k++) {
            key = order[k]; R = runs[key]; cpuok = 1
            for (r = 1; r <= R; r++) {
                off[r] = ms[key, "off", r]; on[r] = ms[key, "r1", r]; tenth[r] = ms[key, "r01", r]
                d1[r] = (on[r] - off[r]) * 1e6 / n; d01[r] = (tenth[r] - off[r]) * 1e6 / n
                bpr[r] = bytes[key, "r1", r] / n; b01[r] = bytes[key, "r01", r]; boff[r] = bytes[key, "off", r]
                if (cpu[key, "r1", r] < 0 || cpu[key, "off", r] < 0) cpuok = 0
                cd[r] = (cpu[key, "r1", r] - cpu[key, "off", r]) * 1e6 / n
            }
            mb = median(bpr, R)
            frac = (mb > 0) ? median(b01, R) / (mb * n) : 0
            w = key " " want
            plan = (want == "serial") ? "serial" : sprintf("%s workers planned, %s launched", \
                   (w in planned) ? planned[w] : 0, (w in launched) ? launched[w] : 0)
            printf "| %s | %s | %d | %.0f | %.0f | %.0f | %.0f (%.0f … %.0f) | %.1f%% | %.0f (%.0f … %.0f) | %s | %.0f | %.1f%% | %s |\n", \
                key, plan, R, median(off, R), median(on, R), median(tenth, R), \
                median(d1, R), minof(d1, R), maxof(d1, R), \
                100 * (median(on, R) / median(off, R) - 1), \
                median(d01, R), minof(d01, R), maxof(d01, R), \
                (want == "serial" && cpuok) ? sprintf("%.0f", median(cd, R)) : "–", \
                mb, 100 * frac, maxof(boff, R) == 0 ? "ok" : \
                sprintf("unlogged runs wrote %d B", maxof(boff, R))
        }
    }' "$RAW"
}

ingest_rows() {
    awk -v n="$ROWS" -v ticks="$TICKS" '
    $1 == "I" {
        m = $2; how = $3; rows = $10; ms = $5
        shape = (m ~ /_num_/) ? "10 float8" : "8 float8 + 3 text"
        spool = ($7 - $6) / rows
        cpu = ($8 >= 0 && $9 >= 0) ? sprintf("%.1f", ($9 - $8) * 1e6 / ticks / rows) : "–"
        who = (how == "flush") ? "`automl_flush_predictions()`, one transaction, writer held off" : \
              "background writer (" (($14 == $15) ? "pid " $14 : "pid changed " $14 " → " $15) ")"
        if (how == "flush" && $4 != rows) who = who sprintf(" (returned %d)", $4)
        printf "| %s (%s) | %s | %d | %.1f | %.0f | %s | %s | %.0f | %.0f + %.0f = %.0f |\n", \
            m, shape, who, rows, ms / 1000, rows / (ms / 1000), cpu, \
            ($16 >= 0) ? sprintf("%.0f", $16 / 1024) : "–", spool, \
            $11 / rows, $12 / rows, $13 / rows
    }' "$RAW"
}

serial_md=$(scoring_rows serial)
parallel_md=""
[ "$PARALLEL_WORKERS" -gt 0 ] && parallel_md=$(scoring_rows parallel)
ingest_md=""
[ "$INGEST" = 1 ] && ingest_md=$(ingest_rows)
if [ -z "$serial_md" ]; then
    echo "could not read the timings (raw output in $RAW)" >&2
    trap - EXIT
    exit 1
fi

# Summary lines from the tables: the target, and the writer against the scoring side.
summary=$(printf '%s\n' "$serial_md" | awk -F'|' '
    { split($8, a, " "); x = a[1] + 0; if (n++ == 0 || x > worst) { worst = x; wm = $2 }
      split($11, c, " "); if (c[1] != "–") { cpu += c[1]; nc++ } }
    END {
        gsub(/ /, "", wm)
        printf "- Target (under 2,000 ns extra per row at sample rate 1.0, serial): **%s**; the largest median is %.0f ns/row (%s).\n", \
               (worst < 2000) ? "met" : "not met", worst, wm
        if (nc) printf "- Scoring side, extra CPU per logged row (serial, mean of the per-model medians): %.0f ns.\n", cpu / nc
    }')
if [ -n "$ingest_md" ]; then
    summary+=$'\n'$(printf '%s\n' "$ingest_md" | awk -F'|' '
        $3 ~ /background writer/ { r = $6 + 0; c = $7 + 0
            if (n++ == 0) { rlo = rhi = r; clo = chi = c }
            if (r < rlo) rlo = r; if (r > rhi) rhi = r; if (c < clo) clo = c; if (c > chi) chi = c }
        END { if (n) printf "- Ingestion: the background writer moved %.0f–%.0f rows/s using %.1f–%.1f µs of CPU per row: one writer per database is the ceiling on a sustained logging rate, and per row it costs far more CPU than the scoring side.\n", rlo, rhi, clo, chi }')
fi

SCORING_HEADER="| model | plan | runs | unlogged ms | logged 1.0 ms | logged 0.1 ms | extra ns/row at 1.0: median (min … max) | extra at 1.0 | extra ns/row at 0.1: median (min … max) | extra CPU ns/row at 1.0 | spool B/row | rows logged at 0.1 | check |
|---|---|---|---|---|---|---|---|---|---|---|---|---|"

report=$(cat <<EOF
# Prediction logging: cost per row

Generated by \`bench/logging_cost.sh\` on $(date -u '+%Y-%m-%d %H:%M:%S UTC'); the run took ${elapsed} s.

| | |
|---|---|
| PostgreSQL | ${pgver} |
| automl | ${extver:-?}; ${so_before}${so_note} |
| checkout | ${commit} |
| CPU | ${cpu:-?} ($(nproc) CPUs) |
| load average (1, 5, 15 min) | before ${load_before}; after ${load_after} |
| rows | ${ROWS} per table: \`logc_num\` (id, 10 float8), \`logc_mix\` (id, 8 float8, 3 text of 5, 20 and 100 levels) |
${models_md}| runs | ${RUNS} repetitions of each setting after a warm-up, the three settings alternating (order rotated per repetition) |

Query: \`SELECT sum(automl_predict('<model>', t)) FROM <table> t\`, in one session per model and
plan, with the monitor (\`automl_monitor('<model>', key => 'id')\`) switched between statements:
\`enabled => false\` (unlogged), \`sample_rate => 1\`, \`sample_rate => 0.1\`. Extra per row =
(logged − unlogged) / rows, paired within a repetition; median over the repetitions, with the
smallest and largest. "extra at 1.0" is median logged / median unlogged − 1. The extra CPU is
the backend's own CPU time (/proc, utime + stime) logged minus unlogged, median. Spool bytes
are the growth of the database's spool files during a statement, per row; "rows logged at 0.1"
is the spool growth at 0.1 over that at 1.0. During these runs the session held the log
writer's ingestion lock (pg_advisory_lock(${LOCK})), so the background writer (which only tries the lock) skipped its rounds instead of
taking the second core: the figures are the scoring side's cost; the writer's is below.
"check": the unlogged runs wrote no spool bytes (the writer, which only tries the lock, ingested nothing meanwhile: see below).
Target (issue): under 2,000 ns extra per row at sample rate 1.0.

${summary}

## Serial (max_parallel_workers_per_gather = 0)

${SCORING_HEADER}
${serial_md}
EOF
)
if [ -n "$parallel_md" ]; then
    report+=$(cat <<EOF


## Parallel (max_parallel_workers_per_gather = ${PARALLEL_WORKERS})

Wall time of the whole query (leader and workers); every worker writes its own spool file.

${SCORING_HEADER}
${parallel_md}
EOF
)
fi
if [ -n "$ingest_md" ]; then
    report+=$(cat <<EOF


## Ingestion into automl.predictions

All ${ROWS} rows scored once at sample rate 1.0 (writer held off), then moved by
\`automl_flush_predictions()\` in the scoring session (the writer still held off, so it alone
works), into a truncated table; then the table truncated, the rows scored again, the lock
released and the background writer timed until its position in \`automl.log_spool\` reached the
end of the spool file (polled every 50 ms). CPU µs/row: CPU time of the ingesting process
(the backend, or the writer) per row; peak RSS: its \`VmHWM\` after ingesting. Table bytes per row: heap + indexes (primary key,
(model, predicted_at), (model, key)) = \`pg_total_relation_size\`, right after ingestion.

| model (features) | ingested by | rows | s | rows/s | CPU µs/row | peak RSS MB | spool B/row | table B/row: heap + indexes = total |
|---|---|---|---|---|---|---|---|---|
${ingest_md}

Rows ingested while the scoring runs held the lock: ${ingested_while_scoring} (expected 0).
EOF
)
fi

printf '%s\n' "$report"
mkdir -p "$(dirname "$OUT")"
printf '%s\n' "$report" > "$OUT"
log "written to $OUT (took ${elapsed} s)"

# The same figures, machine-readable, from the raw lines (the formulas of the tables above).
if [ -n "$JSON" ]; then
    models_json=""
    for m in "${MODELS[@]}"; do
        models_json+="${models_json:+, }\"$m\": {\"table\": \"${TABLE[$m]}\", \"algorithm\": \"${ALGNAME[$m]:-?}\", \"version\": ${VERSION[$m]:-null}, \"train_s\": ${TRAIN_S[$m]:-null}}"
    done
    export LOGC_PARAMS="{\"rows\": $ROWS, \"runs\": $RUNS, \"runs_gbdt\": $RUNS_GBDT, \"train_rows\": $TRAIN_ROWS,
        \"parallel_workers\": $PARALLEL_WORKERS, \"ingest\": $INGEST, \"clock_ticks\": $TICKS,
        \"lock\": \"$LOCK\", \"postgresql\": \"$pgver\", \"nproc\": $(nproc),
        \"load_before\": \"$load_before\", \"load_after\": \"$load_after\",
        \"ingested_while_scoring\": ${ingested_while_scoring:-null}, \"models\": {$models_json}}"
    "$PYTHON" - "$RAW" <<'PY' | "$PYTHON" "$here/benchlib.py" write "$JSON" logging_cost "$STATE"
import json, os, statistics, sys

params = json.loads(os.environ["LOGC_PARAMS"])
n, ticks = params["rows"], params["clock_ticks"]
runs, plans, writer, ingest = {}, {}, {}, []
cur = None
for line in open(sys.argv[1]):
    f = line.split()
    if not f:
        continue
    if f[0] == "PLAN":
        cur = (f[1], f[2])
    elif "Workers Planned:" in line and cur:
        plans.setdefault(cur, {})["planned"] = int(f[-1])
    elif "Workers Launched:" in line and cur:
        plans.setdefault(cur, {})["launched"] = int(f[-1])
    elif f[0] == "WRITER":
        writer[(f[1], f[2])] = int(f[3])
    elif f[0] == "R" and len(f) == 10:
        m, setting, variant, rep = f[1], f[2], f[3], int(f[4])
        ms, s0, s1, c0, c1 = float(f[5]), float(f[6]), float(f[7]), int(f[8]), int(f[9])
        cpu = (c1 - c0) / ticks if c0 >= 0 and c1 >= 0 else None
        runs.setdefault((m, setting), {}).setdefault(rep, {})[variant] = {
            "ms": ms, "spool_bytes": s1 - s0, "cpu_s": cpu}
    elif f[0] == "I" and len(f) == 16:
        m, how = f[1], f[2]
        rows, ms = int(f[9]), float(f[4])
        cpu = (int(f[8]) - int(f[7])) / ticks if int(f[7]) >= 0 and int(f[8]) >= 0 else None
        ingest.append({"model": m, "by": how, "returned": int(f[3]), "rows": rows,
                       "seconds": ms / 1000, "rows_per_s": rows / (ms / 1000),
                       "cpu_us_per_row": cpu * 1e6 / rows if cpu is not None and rows else None,
                       "peak_rss_mb": int(f[15]) / 1024 if int(f[15]) >= 0 else None,
                       "spool_bytes_per_row": (float(f[6]) - float(f[5])) / rows if rows else None,
                       "table_heap_bytes_per_row": int(f[10]) / rows if rows else None,
                       "table_index_bytes_per_row": int(f[11]) / rows if rows else None,
                       "table_bytes_per_row": int(f[12]) / rows if rows else None,
                       "pid": f[13], "pid_after": f[14]})


def stats(v):
    v = [x for x in v if x is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)} if v else None


scoring = []
for (m, setting), reps in runs.items():
    full = [r for r in reps.values() if all(k in r for k in ("off", "r1", "r01"))]
    extra1 = [(r["r1"]["ms"] - r["off"]["ms"]) * 1e6 / n for r in full]
    extra01 = [(r["r01"]["ms"] - r["off"]["ms"]) * 1e6 / n for r in full]
    cpu = [(r["r1"]["cpu_s"] - r["off"]["cpu_s"]) * 1e9 / n for r in full
           if r["r1"]["cpu_s"] is not None and r["off"]["cpu_s"] is not None]
    spool = [r["r1"]["spool_bytes"] / n for r in full]
    share = [r["r01"]["spool_bytes"] / r["r1"]["spool_bytes"] for r in full if r["r1"]["spool_bytes"] > 0]
    scoring.append({
        "model": m, "setting": setting, "runs": len(full),
        "unlogged_ms": stats(r["off"]["ms"] for r in full),
        "logged_ms": stats(r["r1"]["ms"] for r in full),
        "logged_01_ms": stats(r["r01"]["ms"] for r in full),
        "extra_ns_per_row": stats(extra1), "extra_ns_per_row_01": stats(extra01),
        "extra_cpu_ns_per_row": stats(cpu) if setting == "serial" else None,
        "spool_bytes_per_row": stats(spool), "share_logged_01": stats(share),
        "unlogged_spool_bytes": max(r["off"]["spool_bytes"] for r in full) if full else None,
        "workers": plans.get((m, setting), {}), "writer_waiting": writer.get((m, setting))})
json.dump({"params": params, "results": {"scoring": scoring, "ingestion": ingest}}, sys.stdout)
PY
    log "written to $JSON"
fi
