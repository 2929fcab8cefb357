#!/usr/bin/env bash
# test/run.sh: install what is missing, build and install the extension, start a throwaway
# cluster (test/setup.sh), then run every test suite:
#
#   1. make installcheck          pg_regress: sql/*.sql against expected/*.out, and the
#                                 isolation specs in test/isolation
#   2. test/t/*.pl                TAP tests (PostgreSQL::Test::Cluster), through
#                                 make prove_installcheck; each file a suite
#   3. test/scripts/*.sh          scripts; each gets PGHOST PGPORT PGUSER PGDATABASE; one
#                                 that is not executable fails
#   4. test/fuzz/run.sh           builds the fuzzers and runs them for a short while
#   5. test/unit, test/forecast   standalone harnesses of code built outside the server
#                                 (explanations of every learner; the forecasting core)
#
# Prints each suite's result and time, then `N passed, M failed` (suites) last, and exits
# non-zero if anything failed.
# The cluster is stopped on exit, also on failure or interruption.
# Environment: AUTOML_FUZZ_SECONDS (default 30) bounds the fuzz run; PROVE_FLAGS replaces
# the Makefile's flags for prove (e.g. PROVE_FLAGS='--timer --verbose'); see
# test/setup.sh for the set-up knobs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PASSED=0
FAILED=0
SKIPPED=0
SKIPPED_NOTE=""
RESULTS=()
SUMMARY_PRINTED=0
TAP_TMP=""

on_exit() {
	local rc=$?
	set +e
	if declare -F cleanup >/dev/null; then
		cleanup
	fi
	if [[ -n $TAP_TMP && -d $TAP_TMP ]]; then
		rm -rf -- "$TAP_TMP"
	fi
	if [[ $SUMMARY_PRINTED -eq 0 ]]; then
		# set-up (packages, build, cluster) failed or we were interrupted
		echo "test/run.sh: stopped before the test suites completed (exit status $rc)" >&2
		echo "$PASSED passed, $((FAILED + 1)) failed"
		[[ $rc -ne 0 ]] || rc=1
	fi
	exit "$rc"
}
trap on_exit EXIT

# shellcheck source=test/setup.sh
source "$ROOT/test/setup.sh"

banner() { printf '\n======== %s\n' "$*"; }

# run_suite NAME COMMAND...: run one suite, record its result, never abort the run.
run_suite() {
	SKIPPED_NOTE=""
	local name=$1 rc=0 start=$SECONDS took
	shift
	banner "suite: $name"
	"$@" || rc=$?
	took=$(printf '%4ds' $((SECONDS - start)))
	if [[ $rc -eq 0 && -n $SKIPPED_NOTE ]]; then
		SKIPPED=$((SKIPPED + 1))
		RESULTS+=("SKIPPED $took  $name ($SKIPPED_NOTE)")
		echo "-------- SKIPPED: $name ($SKIPPED_NOTE)"
	elif [[ $rc -eq 0 ]]; then
		PASSED=$((PASSED + 1))
		RESULTS+=("ok      $took  $name")
		echo "-------- ok: $name ($took)"
	else
		FAILED=$((FAILED + 1))
		RESULTS+=("FAILED  $took  $name (exit $rc)")
		echo "-------- FAILED: $name (exit $rc, $took)"
	fi
}

# ---------------------------------------------------------------------------------------
# 1. pg_regress

suite_installcheck() {
	local rc=0
	# the TAP tests run below, one suite per file
	make -C "$ROOT" installcheck PG_CONFIG="$PG_CONFIG" TAP_TESTS= || rc=$?
	if [[ $rc -ne 0 ]]; then
		local diffs found=0
		# pg_regress (sql/) and the isolation specs (test/isolation) each write their own
		for diffs in "$ROOT/regression.diffs" "$ROOT/output_iso/regression.diffs"; do
			if [[ -s $diffs ]]; then
				found=1
				banner "$diffs"
				cat "$diffs"
				banner "end of $diffs"
			fi
		done
		if [[ $found -eq 0 ]]; then
			echo "(no regression.diffs; see the output above and $AUTOML_SERVER_LOG)"
		fi
	fi
	return "$rc"
}

# ---------------------------------------------------------------------------------------
# 2. TAP tests, through PGXS's prove_installcheck (make prove_installcheck PROVE_TESTS=one
# file at a time, for one suite per file). PostgreSQL::Test::Cluster runs initdb and
# postgres itself, which refuse to run as root: as root, make runs as the postgres system
# user. make runs in a scratch directory (PGXS puts tmp_check/ where make runs) with
# -f the checkout's Makefile, or a copy of it and test/ when postgres cannot read the
# checkout. Each file's logs are copied to tmp_check/log of the checkout.

TAP_RUNNER=()
TAP_MAKEFILE="$ROOT/Makefile"

tap_prepare() {
	TAP_TMP=$(mktemp -d /tmp/automl-tap.XXXXXX)
	if [[ $AUTOML_IS_ROOT -eq 1 ]]; then
		chown postgres: "$TAP_TMP"
		TAP_RUNNER=(runuser -u postgres --)
		if ! runuser -u postgres -- test -r "$ROOT/Makefile" -a -r "$ROOT/test/t" -a -x "$ROOT/test/t"; then
			echo "postgres cannot read $ROOT: the TAP tests run on a copy in $TAP_TMP/root"
			mkdir -p "$TAP_TMP/root"
			cp -a "$ROOT/Makefile" "$ROOT/automl.control" "$ROOT/test" "$ROOT/docs" "$TAP_TMP/root/"
			chown -R postgres: "$TAP_TMP/root"
			TAP_MAKEFILE="$TAP_TMP/root/Makefile"
		fi
	fi
	# this run's logs only
	rm -rf "$ROOT/tmp_check/log" 2>/dev/null || true
	mkdir -p "$ROOT/tmp_check/log"
}

suite_tap() {
	local file=$1 rc=0 name
	name=$(basename "$file" .pl)
	# PROVE_FLAGS from the environment replaces the Makefile's (--timer)
	(cd "$TAP_TMP" && "${TAP_RUNNER[@]}" make -s -f "$TAP_MAKEFILE" prove_installcheck \
		PG_CONFIG="$PG_CONFIG" PROVE_TESTS="test/t/$name.pl" ${PROVE_FLAGS:+PROVE_FLAGS="$PROVE_FLAGS"}) \
		2>&1 | tee "$TAP_TMP/prove.out" || rc=$?
	# a file that skips (011_citus.pl without Citus) is reported as skipped, not as passed
	if [[ $rc -eq 0 ]] && grep -q "skipped: " "$TAP_TMP/prove.out"; then
		SKIPPED_NOTE="$(grep -o 'skipped: .*' "$TAP_TMP/prove.out" | head -1)"
	fi
	if [[ $rc -ne 0 && -f "$TAP_TMP/tmp_check/log/regress_log_$name" ]]; then
		banner "last 100 lines of tmp_check/log/regress_log_$name"
		tail -n 100 "$TAP_TMP/tmp_check/log/regress_log_$name"
	fi
	if [[ -d "$TAP_TMP/tmp_check/log" ]]; then
		cp -a "$TAP_TMP/tmp_check/log/." "$ROOT/tmp_check/log/" 2>/dev/null || true
	fi
	return "$rc"
}

# 3. scripts: each executable test/scripts/*.sh is a suite; one that is not executable
# fails (a test that cannot run must say so, not vanish).

suite_not_executable() {
	echo "$1 is not executable: chmod +x it (or remove it)"
	return 1
}

# ---------------------------------------------------------------------------------------
# 4. fuzzer

suite_fuzz() {
	PG_CONFIG="$PG_CONFIG" AUTOML_FUZZ_SECONDS=${AUTOML_FUZZ_SECONDS:-30} bash "$ROOT/test/fuzz/run.sh"
}

# 5. standalone harnesses

suite_unit() {
	PG_CONFIG="$PG_CONFIG" bash "$ROOT/test/unit/run.sh"
}

suite_forecast_core() {
	PG_CONFIG="$PG_CONFIG" sh "$ROOT/test/forecast/run.sh"
}

# ---------------------------------------------------------------------------------------

shopt -s nullglob

# Every suite runs: one whose files are missing fails, it is not left out.
run_suite "pg_regress (make installcheck)" suite_installcheck

# Citus, for TAP 011_citus.pl: a test dependency only (AGPL-3.0, never linked into
# automl), built from the tarball in ../shared/vendor where it is there (about 5 minutes
# once; nothing when Citus is installed). Without it that file says SKIPPED.
suite_citus() {
	local build=${AUTOML_CITUS_BUILD:-$ROOT/../shared/vendor/build-citus.sh}
	if [[ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]]; then
		echo "citus is installed in $("$PG_CONFIG" --pkglibdir)"
	elif [[ -f $build ]]; then
		as_root env PG_CONFIG="$PG_CONFIG" bash "$build"
	else
		echo "Citus is not installed and $build does not exist: the Citus tests will be skipped"
		SKIPPED_NOTE="skipped: no Citus and no $build"
	fi
}
run_suite "Citus for the scale-out tests (shared/vendor/build-citus.sh)" suite_citus

tap_files=("$ROOT"/test/t/*.pl)
tap_prepare
for f in "${tap_files[@]}"; do
	run_suite "TAP $(basename "$f")" suite_tap "$f"
done

for f in "$ROOT"/test/scripts/*.sh; do
	if [[ -x $f ]]; then
		run_suite "script $(basename "$f")" "$f"
	else
		run_suite "script $(basename "$f")" suite_not_executable "$f"
	fi
done

run_suite "fuzz (make fuzz + ${AUTOML_FUZZ_SECONDS:-30}s run)" suite_fuzz
run_suite "unit (explanations: additivity, TreeSHAP against brute force)" suite_unit
run_suite "forecast core (calendar, ETS against statsmodels, backtests)" suite_forecast_core

server_log=$AUTOML_SERVER_LOG
if [[ -n $AUTOML_TMPDATA ]]; then
	server_log="$AUTOML_CLUSTER_DIR/server.log"   # cleanup copies it there
fi
cleanup   # stop the cluster now, so that the summary is the last thing printed
banner "summary"
for r in "${RESULTS[@]}"; do
	echo "$r"
done
if [[ ${#tap_files[@]} -eq 0 ]]; then
	echo "no TAP test found in test/t"
	FAILED=$((FAILED + 1))
fi
echo "server log: $server_log"
echo "total time: $((SECONDS / 60))m$((SECONDS % 60))s"
if [[ $SKIPPED -gt 0 ]]; then
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (see SKIPPED above)"
else
	echo "$PASSED passed, $FAILED failed"
fi
SUMMARY_PRINTED=1
[[ $FAILED -eq 0 ]]
