#!/bin/bash
# Scoring speed of automl_predict: extra time per row over a plain expression.
#
# Builds a table speed_t of ROWS rows (default 1,000,000) with ten float8
# columns x1..x10 and y = a fixed linear combination plus noise (generated with
# a fixed setseed, so every run scores the same data), trains a linear model on
# it, then times
#     SELECT sum(automl_predict('speed', t)) FROM speed_t t        -- predict
#     SELECT sum(x1+x2+...+x10) FROM speed_t t                      -- baseline
# with psql's \timing: one warm-up run of each, then the best of RUNS (default
# 5) runs, alternating the two. The extra cost per row is
#     (t_predict - t_baseline) / ROWS.
# It is measured twice: serially (max_parallel_workers_per_gather = 0, a clean
# per-row figure) and with the server's own parallel settings (wall time).
#
# Needs a running server with the extension installed; psql connects with the
# usual PG* environment variables (see bench/README.md).
#
# Usage: bench/scoring_speed.sh [--reuse]
#   --reuse   keep an existing speed_t of the right size instead of rebuilding it
# Environment: ROWS, RUNS, OUT (markdown output, default bench/results/scoring_speed.md),
#   JSON (machine-readable results for bench/report.py; none when unset)

set -euo pipefail

ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$here/results/scoring_speed.md}
JSON=${JSON:-}
PYTHON=/usr/bin/python3
REUSE=0
for arg in "$@"; do
    case "$arg" in
        --reuse) REUSE=1 ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
case "$ROWS" in ''|*[!0-9]*) echo "ROWS must be a positive integer" >&2; exit 2 ;; esac
case "$RUNS" in ''|*[!0-9]*|0) echo "RUNS must be a positive integer" >&2; exit 2 ;; esac

PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -c "$1"; }

state=$(mktemp)
trap 'rm -f "$state"' EXIT
[ -z "$JSON" ] || "$PYTHON" "$here/benchlib.py" start "$state"

if [ "$(q "SELECT count(*) FROM pg_proc WHERE proname = 'automl_predict'")" = 0 ]; then
    q "CREATE EXTENSION automl" >/dev/null
fi

# --- data -------------------------------------------------------------------
have=-1
if [ "$(q "SELECT to_regclass('speed_t') IS NOT NULL")" = t ]; then
    have=$(q "SELECT count(*) FROM speed_t")
fi
if [ "$REUSE" = 1 ] && [ "$have" = "$ROWS" ]; then
    echo "reusing speed_t ($ROWS rows)" >&2
else
    echo "building speed_t ($ROWS rows)..." >&2
    "${PSQL[@]}" -v rows="$ROWS" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS speed_t;
SELECT setseed(0.42);
CREATE TABLE speed_t AS
SELECT x1, x2, x3, x4, x5, x6, x7, x8, x9, x10,
       3.0 + 1.0*x1 - 2.0*x2 + 0.5*x3 + 4.0*x4 - 1.5*x5
           + 0.25*x6 + 2.5*x7 - 0.75*x8 + 1.25*x9 - 3.0*x10
           + 0.1 * (e1 + e2 + e3 - 1.5) AS y
FROM (SELECT random() AS x1, random() AS x2, random() AS x3, random() AS x4,
             random() AS x5, random() AS x6, random() AS x7, random() AS x8,
             random() AS x9, random() AS x10,
             random() AS e1, random() AS e2, random() AS e3
      FROM generate_series(1, :rows)) s;
VACUUM (FREEZE, ANALYZE) speed_t;
SQL
fi

# --- model --------------------------------------------------------------------
echo "training the linear model..." >&2
train_out=$("${PSQL[@]}" <<'SQL'
\timing on
SELECT version FROM automl_train('speed', 'speed_t', target => 'y', algorithms => ARRAY['linear'], hyperparams => '{}');
SQL
)
version=$(printf '%s\n' "$train_out" | grep -v '^Time:' | head -n 1)
train_ms=$(printf '%s\n' "$train_out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)

# --- timing -------------------------------------------------------------------
PREDICT="SELECT sum(automl_predict('speed', t)) FROM speed_t t;"
BASELINE="SELECT sum(x1+x2+x3+x4+x5+x6+x7+x8+x9+x10) FROM speed_t t;"

# time_pair SETTING: prints "best_baseline_ms best_predict_ms workers_planned"
time_pair() {
    local setting=$1 script
    script="$setting
\\echo PLAN
EXPLAIN (COSTS OFF) $PREDICT
\\timing on
\\echo WARM
$BASELINE
$PREDICT
"
    for _ in $(seq 1 "$RUNS"); do
        script+="\\echo BASE
$BASELINE
\\echo PRED
$PREDICT
"
    done
    "${PSQL[@]}" <<<"$script" | awk '
        /^PLAN$/ { mode = "plan"; next }
        /^WARM$/ { mode = "warm"; next }
        /^BASE$/ { mode = "base"; next }
        /^PRED$/ { mode = "pred"; next }
        mode == "plan" && /Workers Planned:/ { workers = $NF }
        /^Time: / {
            ms = $2 + 0
            if (mode == "base" && (b == "" || ms < b)) b = ms
            if (mode == "pred" && (p == "" || ms < p)) p = ms
        }
        END { printf "%s %s %s\n", b, p, (workers == "" ? 0 : workers) }'
}

echo "timing, serial..." >&2
read -r s_base s_pred s_workers < <(time_pair "SET max_parallel_workers_per_gather = 0;")
echo "timing, default parallel settings..." >&2
read -r p_base p_pred p_workers < <(time_pair "RESET max_parallel_workers_per_gather;")

if [ -z "$s_base" ] || [ -z "$s_pred" ] || [ -z "$p_base" ] || [ -z "$p_pred" ]; then
    echo "could not read the timings" >&2
    exit 1
fi

row() {  # label workers base pred
    awk -v l="$1" -v w="$2" -v b="$3" -v p="$4" -v n="$ROWS" 'BEGIN {
        extra = (p - b) * 1e6 / n
        printf "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.2f |\n",
               l, w, b, p, p - b, extra, n / (p / 1000) / 1e6 }'
}

pgver=$(q "SHOW server_version")
extver=$(q "SELECT extversion FROM pg_extension WHERE extname = 'automl'")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
defworkers=$(q "SHOW max_parallel_workers_per_gather")
algo=$(q "SELECT algorithm FROM automl.models WHERE name = 'speed' AND version = ${version:-0}" || true)

report=$(cat <<EOF
# automl_predict scoring speed

Generated by \`bench/scoring_speed.sh\` on $(date -u '+%Y-%m-%d %H:%M:%S UTC').

| | |
|---|---|
| PostgreSQL | ${pgver} |
| automl | ${extver:-?} |
| CPU | ${cpu:-?} ($(nproc) CPUs) |
| rows | ${ROWS} (10 float8 features) |
| model | speed@${version:-?} (${algo:-?}), trained in $(awk -v t="${train_ms:-0}" 'BEGIN { printf "%.1f", t / 1000 }') s |
| runs | best of ${RUNS} after one warm-up |

Predict: \`${PREDICT}\`
Baseline: \`${BASELINE}\`
Extra per row = (predict − baseline) / rows.

| setting | workers planned | baseline ms | predict ms | extra ms | extra ns/row | predict M rows/s |
|---|---|---|---|---|---|---|
$(row "serial (max_parallel_workers_per_gather = 0)" "$s_workers" "$s_base" "$s_pred")
$(row "parallel (server default, max_parallel_workers_per_gather = ${defworkers})" "$p_workers" "$p_base" "$p_pred")

With parallel workers the figures are wall-clock time shared by the leader and the workers,
not CPU time per row.
EOF
)

printf '%s\n' "$report"
mkdir -p "$(dirname "$OUT")"
printf '%s\n' "$report" > "$OUT"
echo "written to $OUT" >&2
if [ -n "$JSON" ]; then
    cat <<EOF | "$PYTHON" "$here/benchlib.py" write "$JSON" scoring_speed "$state"
{"params": {"rows": $ROWS, "runs": $RUNS, "features": 10,
            "predict": "$PREDICT", "baseline": "$BASELINE",
            "default_workers_per_gather": ${defworkers:-null},
            "postgresql": "$pgver", "cpu": "${cpu:-?}", "nproc": $(nproc)},
 "results": {"model": "speed@${version:-?}", "algorithm": "${algo:-?}", "train_ms": ${train_ms:-null},
             "serial": {"workers": $s_workers, "baseline_ms": $s_base, "predict_ms": $s_pred},
             "parallel": {"workers": $p_workers, "baseline_ms": $p_base, "predict_ms": $p_pred}}}
EOF
    echo "written to $JSON" >&2
fi
