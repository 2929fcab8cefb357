#!/usr/bin/env bash
# bench/run.sh: run the benchmarks on a throwaway cluster, record what was measured, and
# generate docs/benchmarks.md and its charts from the results.
#
#   bench/run.sh                      # every benchmark, full size (about 125 minutes on 2 cores)
#   bench/run.sh --quick              # every benchmark, smoke-test sizes (about 8 minutes)
#   bench/run.sh search forecast      # some of them (names or aliases below)
#   bench/run.sh --long search        # the search also at time_budget 300 s on every dataset
#   bench/run.sh compare -- --datasets iris   # arguments after -- go to the one benchmark
#
# Benchmarks, in the order they run (alias in brackets):
#   compare_sklearn (compare)      linear learners against scikit-learn, to the optimum
#   compare_categorical (categorical)  linear learner on text columns against scikit-learn
#   scoring_speed (speed)          extra time per row of automl_predict
#   logging_cost (logging)         prediction logging: scoring-side cost and ingestion
#   gbdt_speed                     tree learner: fit, whole call, scoring, memory vs XGBoost
#   gbdt_accuracy                  tree learner at defaults vs XGBoost and HGB, ten datasets
#   search_benchmark (search)      the time-budgeted search vs XGBoost random search, seeds
#   bagging                        the same search's model bagged from its folds vs refitted
#   forecast                       forecasting vs seasonal naive and statsmodels
#   scale_out (citus)              Citus coordinator + two workers against one node: scoring
#                                  10M rows, training a linear model (builds Citus if missing)
#   load                           scoring latency and exactly-once logging while the model is
#                                  retrained, deployed, rolled back and its log purged
#                                  (LOAD_DURATION seconds, default 600; --quick: 60)
#
# Options:
#   --quick          smaller sizes, fewer datasets, one seed: proves the harness, not for
#                    publication; results go to bench/results/<time>-quick/ only
#   --seeds LIST     seeds of search_benchmark (default 0,1,2; --quick: 0)
#   --curve          search_benchmark also at 10 and 30 s on adult and diamonds (every seed)
#   --long           search_benchmark also at 300 s on every dataset (every seed; about 5 hours
#                    more on 2 cores: issue 20's figures)
#   --docs           write docs/benchmarks.md and docs/img/*.svg even for a partial run
#   --no-docs        do not write them (only bench/results/<time>/benchmarks.md)
#   --results DIR    where to put the results (default bench/results/<UTC time>[-quick])
#   --list           print the benchmarks and exit
#
# By default a full run of every benchmark that succeeded writes docs/benchmarks.md and
# docs/img/; any other run writes the report into its results directory only
# (bench/report.py DIR regenerates it from the results at any time).
#
# Set-up: installs the Debian packages the peers need (python3-numpy, python3-sklearn,
# python3-xgboost, python3-statsmodels, python3-matplotlib; apt only), then sources
# test/setup.sh, which builds and installs the extension and starts a throwaway cluster
# (knobs: AUTOML_SKIP_APT=1, AUTOML_SKIP_BUILD=1, AUTOML_PG_BINDIR; see test/setup.sh).
# The exit status is 1 when a benchmark failed (its log is in the results directory).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PYTHON=/usr/bin/python3

ALL=(compare_sklearn compare_categorical scoring_speed logging_cost gbdt_speed gbdt_accuracy
     search_benchmark bagging forecast load scale_out)
PEER_PACKAGES=(python3-numpy python3-sklearn python3-xgboost python3-statsmodels python3-matplotlib)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

canonical() {
    case "$1" in
        compare|compare_sklearn) echo compare_sklearn ;;
        categorical|compare_categorical) echo compare_categorical ;;
        speed|scoring_speed) echo scoring_speed ;;
        logging|logging_cost) echo logging_cost ;;
        gbdt_speed) echo gbdt_speed ;;
        gbdt_accuracy) echo gbdt_accuracy ;;
        search|search_benchmark) echo search_benchmark ;;
        bagging) echo bagging ;;
        forecast) echo forecast ;;
        citus|scale_out) echo scale_out ;;
        load) echo load ;;
        *) return 1 ;;
    esac
}

QUICK=0 SEEDS="" CURVE=0 LONG=0 DOCS=auto RESULTS="" selected=() extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --seeds) SEEDS=${2:?--seeds needs a list}; shift ;;
        --seeds=*) SEEDS=${1#*=} ;;
        --curve) CURVE=1 ;;
        --long) LONG=1 ;;
        --docs) DOCS=yes ;;
        --no-docs) DOCS=no ;;
        --results) RESULTS=${2:?--results needs a directory}; shift ;;
        --results=*) RESULTS=${1#*=} ;;
        --list) printf '%s\n' "${ALL[@]}"; exit 0 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        all) selected+=("${ALL[@]}") ;;
        -*) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) b=$(canonical "$1") || { echo "bench/run.sh: unknown benchmark $1 (see --list)" >&2; exit 2; }
           selected+=("$b") ;;
    esac
    shift
done
[[ ${#selected[@]} -gt 0 ]] || selected=("${ALL[@]}")
# each benchmark once, in the order of ALL
wanted=()
for b in "${ALL[@]}"; do
    for s in "${selected[@]}"; do [[ $s == "$b" ]] && { wanted+=("$b"); break; }; done
done
if [[ ${#extra[@]} -gt 0 && ${#wanted[@]} -ne 1 ]]; then
    echo "bench/run.sh: arguments after -- need exactly one benchmark" >&2
    exit 2
fi
[[ -n $SEEDS ]] || { if [[ $QUICK == 1 ]]; then SEEDS=0; else SEEDS=0,1,2; fi; }
[[ $SEEDS =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "bench/run.sh: --seeds takes integers separated by commas" >&2; exit 2; }
full=0
[[ $QUICK == 0 && ${#wanted[@]} -eq ${#ALL[@]} && ${#extra[@]} -eq 0 ]] && full=1

stamp=$(date -u +%Y-%m-%dT%H-%M-%SZ)
[[ -n $RESULTS ]] || RESULTS=$ROOT/bench/results/$stamp$([[ $QUICK == 1 ]] && echo -quick || true)
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
echo "=== bench/run.sh: ${wanted[*]} -> $RESULTS" >&2
changed=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -v ' docs/' || true)
if [[ -n $changed ]]; then
    echo "=== WARNING: the checkout has uncommitted changes; the report will say so:" >&2
    printf '%s\n' "$changed" >&2
fi
[[ ${AUTOML_SKIP_BUILD:-0} == 1 ]] &&
    echo "=== WARNING: AUTOML_SKIP_BUILD=1: the installed automl.so may not be this commit's; the report will say so" >&2

# --- the peers' Python packages (Debian only), before the cluster's set-up --------------
missing=()
for p in "${PEER_PACKAGES[@]}"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ ${AUTOML_SKIP_APT:-0} == 1 ]]; then
        echo "bench/run.sh: missing Debian packages ${missing[*]} and AUTOML_SKIP_APT=1:" \
             "install them (apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "=== installing ${missing[*]}" >&2
    sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y -q --no-install-recommends "${missing[@]}"
fi

# --- build, install, throwaway cluster (exports PG*, PATH with AUTOML_PG_BINDIR first) ---
# shellcheck source=SCRIPTDIR/../test/setup.sh
source test/setup.sh
# The benchmarks measure the engine on every row (1M-row tables): no memory limit of a
# shared server's defaults (automl.train_memory 1 GB, a quarter of it for rows); the
# report's machine table shows the settings. PostgreSQL 15's ALTER SYSTEM knows a
# module's settings only once the module is loaded: LOAD first, and stop on an error.
psql -X -q -v ON_ERROR_STOP=1 -c "LOAD 'automl'" -c "ALTER SYSTEM SET automl.train_memory = '16GB'" \
     -c "ALTER SYSTEM SET automl.max_train_memory = 0" -c "SELECT pg_reload_conf()" >/dev/null
set +e          # a failing benchmark is recorded, not fatal
set -o pipefail

"$PYTHON" bench/benchlib.py start "$RESULTS/state.json"
: > "$RESULTS/timings.tsv"

# run NAME CMD...: runs a benchmark, its output into NAME.log (and the terminal's stderr)
run() {
    local name=$1 t0 t1 rc
    shift
    echo "=== $name: $*" >&2
    t0=$(date +%s.%N)
    "$@" 2>&1 | tee "$RESULTS/$name.log" >&2
    rc=${PIPESTATUS[0]}
    t1=$(date +%s.%N)
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
        >> "$RESULTS/timings.tsv"
    echo "=== $name: exit $rc, $(tail -n 1 "$RESULTS/timings.tsv" | cut -f3) s" >&2
}

J() { echo "$RESULTS/$1.json"; }
M() { echo "$RESULTS/$1.md"; }

for b in "${wanted[@]}"; do
    case "$b" in
        compare_sklearn)
            run "$b" "$PYTHON" bench/compare_sklearn.py --out "$(M $b)" --json "$(J $b)" "${extra[@]}" ;;
        compare_categorical)
            run "$b" "$PYTHON" bench/compare_categorical.py --out "$(M $b)" --json "$(J $b)" "${extra[@]}" ;;
        scoring_speed)
            if [[ $QUICK == 1 ]]; then rows=100000 runs=2; else rows=1000000 runs=5; fi
            run "$b" env ROWS=$rows RUNS=$runs OUT="$(M $b)" JSON="$(J $b)" bench/scoring_speed.sh "${extra[@]}" ;;
        logging_cost)
            if [[ $QUICK == 1 ]]; then
                knobs=(ROWS=100000 TRAIN_ROWS=20000 RUNS=2 RUNS_GBDT=1)
            else
                knobs=(ROWS=1000000 TRAIN_ROWS=200000 RUNS=5 RUNS_GBDT=3)
            fi
            run "$b" env "${knobs[@]}" OUT="$(M $b)" JSON="$(J $b)" bench/logging_cost.sh "${extra[@]}" ;;
        gbdt_speed)
            if [[ $QUICK == 1 ]]; then args=(--rows 100000 --fit-runs 1 --runs 1)
            else args=(--rows 1000000 --fit-runs 3 --runs 3); fi
            run "$b" "$PYTHON" bench/gbdt_speed.py "${args[@]}" --out "$(M $b)" --json "$(J $b)" "${extra[@]}" ;;
        gbdt_accuracy)
            args=()
            [[ $QUICK == 1 ]] && args=(--datasets credit_g,vehicle,boston)
            run "$b" "$PYTHON" bench/gbdt_accuracy.py "${args[@]}" --out "$(M $b)" --json "$(J $b)" "${extra[@]}" ;;
        search_benchmark)
            if [[ $QUICK == 1 ]]; then
                args=(--datasets credit_g,vehicle,boston --budget 10)
            else
                args=(--budget 60)
            fi
            if [[ $LONG == 1 ]]; then
                args+=(--budgets "$([[ $CURVE == 1 ]] && echo 10,30,)60,300"
                       --curve-datasets adult,bank_marketing,credit_g,phoneme,kc1,australian,vehicle,cmc,diamonds,boston)
            elif [[ $CURVE == 1 ]]; then
                args+=(--budgets 10,30,60 --curve-datasets adult,diamonds)
            else
                args+=(--skip-curve)
            fi
            run "$b" "$PYTHON" bench/search_benchmark.py "${args[@]}" --seeds "$SEEDS" \
                --out "$(M $b)" --json "$(J $b)" "${extra[@]}" ;;
        bagging)
            if [[ $QUICK == 1 ]]; then args=(--datasets credit_g,vehicle --max-trials 8)
            else args=(--max-trials 40); fi
            run "$b" "$PYTHON" bench/bagging.py "${args[@]}" --seeds "$SEEDS" \
                --out "$(M $b)" --json "$(J $b)" "${extra[@]}" ;;
        forecast)
            args=()
            if [[ $QUICK == 1 ]]; then args=(--series air_passengers,uk_gas); knobs=(RUNS=1 ETSMODEL=0)
            else knobs=(RUNS=3 ETSMODEL=1); fi
            run "$b" env "${knobs[@]}" COVERAGE=1 OUT="$(M $b)" JSON="$(J $b)" bench/forecast.sh "${args[@]}" "${extra[@]}" ;;
        scale_out)
            if [[ $QUICK == 1 ]]; then knobs=(ROWS=500000 SMALL_ROWS=100000 RUNS=1)
            else knobs=(ROWS=10000000 SMALL_ROWS=1000000 RUNS=3); fi
            run "$b" env "${knobs[@]}" OUT="$(M $b)" JSON="$(J $b)" bench/scale_out.sh "${extra[@]}" ;;
        load)
            if [[ $QUICK == 1 ]]; then duration=${LOAD_DURATION:-60}; else duration=${LOAD_DURATION:-600}; fi
            run "$b" env DURATION="$duration" OUT="$(M $b)" JSON="$(J $b)" bench/load.sh "${extra[@]}" ;;
    esac
done

# --- what was measured, where, and how long each benchmark took -------------------------------
"$PYTHON" bench/benchlib.py run-info "$RESULTS" "$(printf '%s\n' \
    "{\"quick\": $QUICK, \"seeds\": \"$SEEDS\", \"curve\": $CURVE, \"long\": $LONG," \
    " \"benchmarks\": \"${wanted[*]}\", \"extra\": \"${extra[*]}\", \"full\": $full," \
    " \"skip_build\": ${AUTOML_SKIP_BUILD:-0}}")"
if [[ $(dirname "$RESULTS") == "$ROOT/bench/results" ]]; then
    ln -sfn "$(basename "$RESULTS")" "$ROOT/bench/results/latest" 2>/dev/null || true
fi

failed=$(awk -F'\t' '$2 != 0 { print $1 }' "$RESULTS/timings.tsv" | tr '\n' ' ')
write_docs=0
case $DOCS in
    yes) write_docs=1 ;;
    auto) [[ $full == 1 && -z $failed ]] && write_docs=1 ;;
esac
report_args=("$RESULTS")
[[ $write_docs == 1 ]] && report_args+=(--docs)
"$PYTHON" bench/report.py "${report_args[@]}" || failed="$failed report"

echo "=== results in $RESULTS (report: $RESULTS/benchmarks.md)" >&2
[[ $write_docs == 1 ]] && echo "=== wrote docs/benchmarks.md and docs/img/" >&2
if [[ -n $failed ]]; then
    echo "=== FAILED: $failed(see the .log files in $RESULTS)" >&2
    [[ $DOCS == auto && $full == 1 ]] && echo "=== docs/benchmarks.md was not written (a benchmark failed); bench/report.py $RESULTS --docs writes it anyway" >&2
    exit 1
fi
exit 0
