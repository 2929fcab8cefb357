#!/bin/bash
# bench/scale_out.sh: automl on a Citus cluster against one node (docs/scale-out.md).
#
# One node is the server the PG* environment names (bench/run.sh's cluster). The cluster is
# started here, with the same PostgreSQL: a coordinator and two workers on loopback ports,
# Citus 13.2.2 (built from ../shared/vendor/build-citus.sh when it is missing and that is
# there). Both get the same rows: ROWS (default 10,000,000) and SMALL_ROWS (default
# 1,000,000) rows of ten float8 features x1..x10 and y, a fixed linear combination plus
# noise (setseed, so every run has the same data); on the cluster they are distributed by id
# over both workers, and the big table once more over one worker only.
#
# Measured, best of RUNS (default 3) after a warm-up, with psql's \timing:
#   scoring   SELECT sum(automl_predict('lin', t)) FROM t t, and the same sum of the plain
#             features (the baseline: what reading the rows costs), on one node serially
#             and with its parallel workers, and on the cluster over one and two workers;
#   training  automl_train('lin', t, 'y', algorithms => ARRAY['linear']) once per size
#             both ways: one node with every row in memory (ONE_TRAIN_MEMORY MB, default
#             16384), the cluster with CLUSTER_TRAIN_MEMORY MB (default 256): the search on
#             a sample read through the coordinator, then the ridge model refitted on every
#             row from the workers' sums (docs/scale-out.md).
# Every node of the cluster shares this machine's cores with the others: throughput per
# worker node is the figure that carries to a real cluster.
#
# Environment: ROWS, SMALL_ROWS, RUNS, ONE_TRAIN_MEMORY, CLUSTER_TRAIN_MEMORY, OUT (markdown),
#   JSON (for bench/report.py),
#   CITUS_BUILD (default ../shared/vendor/build-citus.sh).

set -euo pipefail

ROWS=${ROWS:-10000000}
SMALL_ROWS=${SMALL_ROWS:-1000000}
RUNS=${RUNS:-3}
ONE_TRAIN_MEMORY=${ONE_TRAIN_MEMORY:-16384}
CLUSTER_TRAIN_MEMORY=${CLUSTER_TRAIN_MEMORY:-256}
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$here/results/scale_out.md}
JSON=${JSON:-}
PYTHON=/usr/bin/python3
PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
LIBDIR=$("$PG_CONFIG" --pkglibdir)
CITUS_BUILD=${CITUS_BUILD:-$here/../../shared/vendor/build-citus.sh}

for v in ROWS SMALL_ROWS RUNS; do
    case "${!v}" in ''|*[!0-9]*|0) echo "$v must be a positive integer" >&2; exit 2 ;; esac
done

if [[ ! -f $LIBDIR/citus.so ]]; then
    if [[ -f $CITUS_BUILD && $(id -u) == 0 ]]; then
        PG_CONFIG="$PG_CONFIG" bash "$CITUS_BUILD"
    else
        echo "scale_out: Citus is not installed in $LIBDIR and $CITUS_BUILD cannot build it (needs root)" >&2
        exit 1
    fi
fi

as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
state=$(mktemp)
work=$(mktemp -d /tmp/automl-scale-out.XXXXXX)
[[ $(id -u) == 0 ]] && chown postgres: "$work"
ports=()
cleanup() {
    for name in coordinator worker1 worker2; do
        [[ -f $work/$name/postmaster.pid ]] && as_pg "$BINDIR/pg_ctl" -D "$work/$name" -m immediate -s stop || true
    done
    rm -rf "$work" "$state"
}
trap cleanup EXIT
[ -z "$JSON" ] || "$PYTHON" "$here/benchlib.py" start "$state"

port=56432
for name in coordinator worker1 worker2; do
    while (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    as_pg "$BINDIR/initdb" -D "$work/$name" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$work/$name/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
shared_preload_libraries = 'citus'
fsync = off
max_connections = 60
shared_buffers = 512MB
citus.shard_count = 8
EOF
    as_pg "$BINDIR/pg_ctl" -D "$work/$name" -l "$work/$name.log" -w -s start
    ports+=("$port")
    port=$((port + 1))
done

PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
one() { "${PSQL[@]}" "$@"; }                                   # the run's single node
cl() { "${PSQL[@]}" -h "$work" -p "${ports[0]}" -U postgres -d postgres "$@"; }  # coordinator

for p in "${ports[@]}"; do
    "${PSQL[@]}" -h "$work" -p "$p" -U postgres -d postgres -c "CREATE EXTENSION citus" >/dev/null
done
cl -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" >/dev/null
cl -c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" >/dev/null
cl -c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" >/dev/null
cl -c "CREATE EXTENSION automl" >/dev/null
cl -c "SELECT automl_citus_setup()" >/dev/null
if [ "$(one -c "SELECT count(*) FROM pg_extension WHERE extname = 'automl'")" = 0 ]; then
    one -c "CREATE EXTENSION automl" >/dev/null
fi

# make_table NAME ROWS: the same rows on both sides
make_sql() {
    cat <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS $1;
SELECT setseed(0.42);
CREATE TABLE $1 AS
SELECT i AS id, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10,
       3.0 + 1.0*x1 - 2.0*x2 + 0.5*x3 + 4.0*x4 - 1.5*x5
           + 0.25*x6 + 2.5*x7 - 0.75*x8 + 1.25*x9 - 3.0*x10
           + 0.1 * (e1 + e2 + e3 - 1.5) AS y
FROM (SELECT i, random() AS x1, random() AS x2, random() AS x3, random() AS x4,
             random() AS x5, random() AS x6, random() AS x7, random() AS x8,
             random() AS x9, random() AS x10,
             random() AS e1, random() AS e2, random() AS e3
      FROM generate_series(1, $2) AS i) s;
SQL
}
echo "scale_out: building the tables (one node: $ROWS + $SMALL_ROWS rows)..." >&2
{ make_sql t_big "$ROWS"; echo "VACUUM (FREEZE, ANALYZE) t_big;"; make_sql t_small "$SMALL_ROWS"; echo "VACUUM (FREEZE, ANALYZE) t_small;"; } | one >/dev/null
echo "scale_out: building the tables (cluster)..." >&2
{
    make_sql t_big "$ROWS"; echo "SELECT create_distributed_table('t_big', 'id'); SELECT truncate_local_data_after_distributing_table('t_big');"
    make_sql t_small "$SMALL_ROWS"; echo "SELECT create_distributed_table('t_small', 'id'); SELECT truncate_local_data_after_distributing_table('t_small');"
    # the same rows on one worker only
    echo "SELECT citus_set_node_property('127.0.0.1', ${ports[2]}, 'shouldhaveshards', false);"
    make_sql t_big_1w "$ROWS"; echo "SELECT create_distributed_table('t_big_1w', 'id', colocate_with => 'none'); SELECT truncate_local_data_after_distributing_table('t_big_1w');"
    echo "SELECT citus_set_node_property('127.0.0.1', ${ports[2]}, 'shouldhaveshards', true);"
    echo "VACUUM (FREEZE, ANALYZE) t_big; VACUUM (FREEZE, ANALYZE) t_small; VACUUM (FREEZE, ANALYZE) t_big_1w;"
} | cl >/dev/null
placements=$(cl -c "SELECT string_agg(DISTINCT nodeport::text, ',') FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid) WHERE s.logicalrelid = 't_big_1w'::regclass")
[[ $placements == "${ports[1]}" ]] || { echo "scale_out: t_big_1w is on $placements, not on worker1 only" >&2; exit 1; }

# train SIDE TABLE MB: seconds of one automl_train call with automl.train_memory = MB
train() {
    local side=$1 table=$2 mb=$3 out
    out=$("$side" <<SQL
SET client_min_messages = warning;
LOAD 'automl';
SELECT set_config(name, '${mb}MB', false) FROM pg_settings
WHERE name IN ('automl.train_memory', 'automl.max_train_memory') ORDER BY name DESC;
SELECT count(*) FROM (SELECT automl_delete(name) FROM automl.registry WHERE name = 'lin_$table') d;
\\timing on
SELECT version FROM automl_train('lin_$table', '$table', 'y', exclude => ARRAY['id'], algorithms => ARRAY['linear'], hyperparams => '{}');
SQL
)
    printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1 | awk '{ printf "%.3f", $1 / 1000 }'
}

# best SIDE SETTING SQL: the best time in ms of RUNS runs after a warm-up
best() {
    local side=$1 setting=$2 sql=$3 script
    script="$setting
$sql
\\timing on
"
    for _ in $(seq 1 "$RUNS"); do script+="\\echo RUN
$sql
"; done
    "$side" <<<"$script" | awk '/^RUN$/ { on = 1; next } on && /^Time: / { ms = $2 + 0; if (b == "" || ms < b) b = ms } END { print b }'
}

# One node trains on every row in memory; the cluster on a sample of CLUSTER_TRAIN_MEMORY,
# then refits the ridge model on every row from the workers' sums (docs/scale-out.md).
echo "scale_out: training..." >&2
train_one_small=$(train one t_small "$ONE_TRAIN_MEMORY")
train_cl_small=$(train cl t_small "$CLUSTER_TRAIN_MEMORY")
train_one_big=$(train one t_big "$ONE_TRAIN_MEMORY")
train_cl_big=$(train cl t_big "$CLUSTER_TRAIN_MEMORY")
refit_rows=$(cl -c "SELECT coalesce(options->>'refit_rows_on_workers', 'none') || ' of ' || (options->>'rows_in_relation') || ', sample ' || (options->>'rows_used') FROM automl.models WHERE name = 'lin_t_big'")
one_rows=$(one -c "SELECT (options->>'rows_used') || ' of ' || (options->>'rows_in_relation') FROM automl.models WHERE name = 'lin_t_big'")
# predict TABLE [MODEL]: t_big_1w is scored with the model trained on t_big
predict() { echo "SELECT sum(automl_predict('lin_${2:-$1}', t)) FROM $1 t;"; }
baseline() { echo "SELECT sum(x1+x2+x3+x4+x5+x6+x7+x8+x9+x10) FROM $1 t;"; }
SERIAL="SET max_parallel_workers_per_gather = 0;"
PARALLEL="RESET max_parallel_workers_per_gather;"

plan=$(cl -c "EXPLAIN (VERBOSE, COSTS OFF) $(predict t_big)")
grep -q "Query: SELECT .*automl_predict" <<<"$plan" || { echo "scale_out: scoring was not pushed down:" >&2; echo "$plan" >&2; exit 1; }
par_workers=$(one -c "SHOW max_parallel_workers_per_gather")

echo "scale_out: scoring..." >&2
declare -A T
for size in small big; do
    t=t_$size
    T[one_serial_${size}_pred]=$(best one "$SERIAL" "$(predict $t)")
    T[one_serial_${size}_base]=$(best one "$SERIAL" "$(baseline $t)")
    T[one_parallel_${size}_pred]=$(best one "$PARALLEL" "$(predict $t)")
    T[one_parallel_${size}_base]=$(best one "$PARALLEL" "$(baseline $t)")
    T[cl2_${size}_pred]=$(best cl "$SERIAL" "$(predict $t)")
    T[cl2_${size}_base]=$(best cl "$SERIAL" "$(baseline $t)")
done
T[cl1_big_pred]=$(best cl "$SERIAL" "$(predict t_big_1w t_big)")
T[cl1_big_base]=$(best cl "$SERIAL" "$(baseline t_big_1w)")

# same answers: the cluster's sum equals one node's to 9 significant digits (summation order
# differs); each side scores with its own model, so this also checks that the cluster's
# (a sample, then the refit on the workers' sums) is the one node's (every row in memory)
same=$(awk -v a="$(one -c "SELECT sum(automl_predict('lin_t_big', t)) FROM t_big t")" \
           -v b="$(cl -c "SELECT sum(automl_predict('lin_t_big', t)) FROM t_big t")" \
           'BEGIN { d = a - b; if (d < 0) d = -d; print (d <= 1e-9 * (a < 0 ? -a : a)) ? "yes" : "no" }')

pgver=$(one -c "SHOW server_version")
citusver=$(cl -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

row() {  # label nodes rows pred_ms base_ms
    awk -v l="$1" -v k="$2" -v n="$3" -v p="$4" -v b="$5" 'BEGIN {
        printf "| %s | %d | %d | %.0f | %.0f | %.2f | %.2f |\n", l, k, n, b, p, n / (p / 1000) / 1e6, n / (p / 1000) / 1e6 / k }'
}
report=$(cat <<EOF
# automl on Citus against one node

Generated by \`bench/scale_out.sh\` on $(date -u '+%Y-%m-%d %H:%M:%S UTC'): PostgreSQL $pgver,
Citus $citusver, $(nproc) CPUs ($cpu) shared by every node. Linear model on ten float8
features; scoring is \`$(predict t_big)\`, best of $RUNS runs after a warm-up; the baseline is
\`$(baseline t_big)\`. Cluster: a coordinator and two workers, 8 shards per table.

| where | nodes scoring | rows | baseline ms | predict ms | M rows/s | M rows/s per node |
|---|---|---|---|---|---|---|
$(row "one node, serial" 1 "$SMALL_ROWS" "${T[one_serial_small_pred]}" "${T[one_serial_small_base]}")
$(row "one node, $par_workers parallel workers" 1 "$SMALL_ROWS" "${T[one_parallel_small_pred]}" "${T[one_parallel_small_base]}")
$(row "Citus, two workers" 2 "$SMALL_ROWS" "${T[cl2_small_pred]}" "${T[cl2_small_base]}")
$(row "one node, serial" 1 "$ROWS" "${T[one_serial_big_pred]}" "${T[one_serial_big_base]}")
$(row "one node, $par_workers parallel workers" 1 "$ROWS" "${T[one_parallel_big_pred]}" "${T[one_parallel_big_base]}")
$(row "Citus, one worker" 1 "$ROWS" "${T[cl1_big_pred]}" "${T[cl1_big_base]}")
$(row "Citus, two workers" 2 "$ROWS" "${T[cl2_big_pred]}" "${T[cl2_big_base]}")

The cluster's sum of predictions equals one node's (to 1e-9 relative): $same.

Training: one node with \`automl.train_memory\` = $ONE_TRAIN_MEMORY MB (rows used: $one_rows); the
cluster with $CLUSTER_TRAIN_MEMORY MB: the search on a sample through the coordinator, then the ridge
model refitted from the workers' sums (refit rows: $refit_rows).

| training (automl_train, linear) | rows | one node s | Citus s | ratio |
|---|---|---|---|---|
| | $SMALL_ROWS | $train_one_small | $train_cl_small | $(awk -v a="$train_cl_small" -v b="$train_one_small" 'BEGIN { printf "%.2f", a / b }') |
| | $ROWS | $train_one_big | $train_cl_big | $(awk -v a="$train_cl_big" -v b="$train_one_big" 'BEGIN { printf "%.2f", a / b }') |
EOF
)
printf '%s\n' "$report"
mkdir -p "$(dirname "$OUT")"
printf '%s\n' "$report" > "$OUT"
echo "written to $OUT" >&2
[ "$same" = yes ] || { echo "scale_out: the cluster's predictions differ from one node's" >&2; exit 1; }
if [ -n "$JSON" ]; then
    cat <<EOF | "$PYTHON" "$here/benchlib.py" write "$JSON" scale_out "$state"
{"params": {"rows": $ROWS, "small_rows": $SMALL_ROWS, "runs": $RUNS, "features": 10, "shards": 8,
            "one_train_memory_mb": $ONE_TRAIN_MEMORY, "cluster_train_memory_mb": $CLUSTER_TRAIN_MEMORY,
            "parallel_workers": $par_workers, "postgresql": "$pgver", "citus": "$citusver",
            "cpu": "${cpu:-?}", "nproc": $(nproc)},
 "results": {"same_predictions": "$same", "one_node_rows": "$one_rows", "cluster_refit_rows": "$refit_rows",
             "scoring_ms": {$(for k in "${!T[@]}"; do printf '"%s": %s, ' "$k" "${T[$k]}"; done | sed 's/, $//')},
             "train_s": {"one_small": $train_one_small, "citus_small": $train_cl_small,
                         "one_big": $train_one_big, "citus_big": $train_cl_big}}}
EOF
    echo "written to $JSON" >&2
fi
