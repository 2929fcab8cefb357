#!/usr/bin/env bash
# bench/run.sh: build and install the extension, start a throwaway cluster
# (test/setup.sh), run benchmarks against it, stop the cluster.
#
#   bench/run.sh                 # compare_sklearn.py and scoring_speed.sh
#   bench/run.sh compare         # only bench/compare_sklearn.py
#   bench/run.sh speed           # only bench/scoring_speed.sh
#   bench/run.sh logging         # only bench/logging_cost.sh (about 7 minutes on 2 cores)
#
# Arguments after the first are passed to the benchmark (compare, speed or logging).
# Results are written to bench/results/ (gitignored). Set-up knobs (AUTOML_SKIP_APT,
# AUTOML_SKIP_BUILD) are described in test/setup.sh; ROWS and RUNS in scoring_speed.sh
# and logging_cost.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
what=${1:-all}
[[ $# -gt 0 ]] && shift

# shellcheck source=SCRIPTDIR/../test/setup.sh
source test/setup.sh

rc=0
case "$what" in
    all)
        /usr/bin/python3 bench/compare_sklearn.py || rc=1
        bench/scoring_speed.sh || rc=1 ;;
    compare) /usr/bin/python3 bench/compare_sklearn.py "$@" || rc=1 ;;
    speed)   bench/scoring_speed.sh "$@" || rc=1 ;;
    logging) bench/logging_cost.sh "$@" || rc=1 ;;
    *) echo "usage: bench/run.sh [all|compare|speed|logging] [args...]" >&2; exit 2 ;;
esac
exit $rc
