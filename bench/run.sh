#!/usr/bin/env bash
# bench/run.sh: build and install the extension, start a throwaway cluster
# (test/setup.sh), run benchmarks against it, stop the cluster.
#
#   bench/run.sh                 # compare_sklearn.py and scoring_speed.sh
#   bench/run.sh compare         # only bench/compare_sklearn.py
#   bench/run.sh speed           # only bench/scoring_speed.sh
#   bench/run.sh logging         # only bench/logging_cost.sh (about 7 minutes on 2 cores)
#   bench/run.sh forecast        # only bench/forecast.sh (about 2 minutes; installs
#                                # python3-statsmodels from apt when it is missing)
#
# Arguments after the first are passed to the benchmark (compare, speed, logging or forecast).
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
    forecast)
        # the peer's Python package, the same way test/setup.sh installs the server's
        if [[ ${AUTOML_SKIP_APT:-0} != 1 ]] && ! _pkg_installed python3-statsmodels; then
            { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
              as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                python3-statsmodels; } || rc=1
        fi
        bench/forecast.sh "$@" || rc=1 ;;
    *) echo "usage: bench/run.sh [all|compare|speed|logging|forecast] [args...]" >&2; exit 2 ;;
esac
exit $rc
