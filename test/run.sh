#!/usr/bin/env bash
# test/run.sh: install what is missing, build and install the extension, start a throwaway
# cluster (test/setup.sh), then run every test suite:
#
#   1. make installcheck          pg_regress: sql/*.sql against expected/*.out, and the
#                                 isolation specs in test/isolation
#   2. test/t/*.pl                TAP tests (prove, PostgreSQL::Test::Cluster); each file a suite
#   3. test/scripts/*.sh          executable scripts; each gets PGHOST PGPORT PGUSER PGDATABASE
#   4. make fuzz + a short run    when test/fuzz/Makefile exists (test/fuzz/run.sh if present)
#   5. test/unit, test/forecast   standalone harnesses of code built outside the server
#                                 (explanations of every learner; the forecasting core)
#
# Prints `N passed, M failed` (suites) last and exits non-zero if anything failed.
# The cluster is stopped on exit, also on failure or interruption.
# Environment: AUTOML_FUZZ_SECONDS (default 30) bounds the fuzz run; PROVE_FLAGS is passed
# to prove (e.g. PROVE_FLAGS=--verbose); see test/setup.sh for the set-up knobs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PASSED=0
FAILED=0
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

PGXS_SRC=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")   # .../lib/pgxs/src
PG_PERL_DIR="$PGXS_SRC/test/perl"
PG_REGRESS_BIN="$PGXS_SRC/test/regress/pg_regress"

banner() { printf '\n======== %s\n' "$*"; }

# run_suite NAME COMMAND...: run one suite, record its result, never abort the run.
run_suite() {
	local name=$1 rc=0
	shift
	banner "suite: $name"
	"$@" || rc=$?
	if [[ $rc -eq 0 ]]; then
		PASSED=$((PASSED + 1))
		RESULTS+=("ok      $name")
		echo "-------- ok: $name"
	else
		FAILED=$((FAILED + 1))
		RESULTS+=("FAILED  $name (exit $rc)")
		echo "-------- FAILED: $name (exit $rc)"
	fi
}

# ---------------------------------------------------------------------------------------
# 1. pg_regress

suite_installcheck() {
	local rc=0
	make -C "$ROOT" installcheck PG_CONFIG="$PG_CONFIG" || rc=$?
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
# 2. TAP tests. PostgreSQL::Test::Cluster runs initdb and postgres itself, which refuse
# to run as root: as root, prove runs as the postgres system user, in a scratch directory
# it can write (and on a copy of test/ when it cannot read the checkout).

TAP_RUNNER=()
TAP_CWD="$ROOT"
TAP_TESTDIR="$ROOT"

tap_prepare() {
	if [[ $AUTOML_IS_ROOT -eq 1 ]]; then
		TAP_TMP=$(mktemp -d /tmp/automl-tap.XXXXXX)
		chown postgres: "$TAP_TMP"
		TAP_TESTDIR="$TAP_TMP"
		TAP_RUNNER=(runuser -u postgres --)
		if ! runuser -u postgres -- test -r "$ROOT/test/t" -a -x "$ROOT/test/t"; then
			echo "postgres cannot read $ROOT/test: the TAP tests run on a copy in $TAP_TMP/root"
			mkdir -p "$TAP_TMP/root"
			cp -a "$ROOT/test" "$TAP_TMP/root/test"
			chown -R postgres: "$TAP_TMP/root"
			TAP_CWD="$TAP_TMP/root"
		fi
	fi
}

suite_tap() {
	local file=$1 rc=0 name
	name=$(basename "$file" .pl)
	# shellcheck disable=SC2086 # PROVE_FLAGS is a list of flags
	(cd "$TAP_CWD" && "${TAP_RUNNER[@]}" env \
		PATH="$PG_BINDIR:$PATH" PG_CONFIG="$PG_CONFIG" PG_REGRESS="$PG_REGRESS_BIN" \
		TESTDIR="$TAP_TESTDIR" AUTOML_ROOT="$TAP_CWD" \
		prove -I "$PG_PERL_DIR" -I "$TAP_CWD/test/t" ${PROVE_FLAGS:-} "test/t/$name.pl") || rc=$?
	if [[ $rc -ne 0 && -f "$TAP_TESTDIR/tmp_check/log/regress_log_$name" ]]; then
		banner "last 100 lines of tmp_check/log/regress_log_$name"
		tail -n 100 "$TAP_TESTDIR/tmp_check/log/regress_log_$name"
	fi
	if [[ $TAP_TESTDIR != "$ROOT" && -d "$TAP_TESTDIR/tmp_check/log" ]]; then
		mkdir -p "$ROOT/tmp_check"
		cp -a "$TAP_TESTDIR/tmp_check/log" "$ROOT/tmp_check/" 2>/dev/null || true
	fi
	return "$rc"
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

if compgen -G "$ROOT/sql/*.sql" >/dev/null; then
	run_suite "pg_regress (make installcheck)" suite_installcheck
else
	echo "no sql/*.sql: skipping make installcheck"
fi

tap_files=("$ROOT"/test/t/*.pl)
if [[ ${#tap_files[@]} -gt 0 ]]; then
	tap_prepare
	for f in "${tap_files[@]}"; do
		run_suite "TAP $(basename "$f")" suite_tap "$f"
	done
fi

for f in "$ROOT"/test/scripts/*.sh; do
	if [[ -x $f ]]; then
		run_suite "script $(basename "$f")" "$f"
	else
		echo "warning: $f is not executable: skipped"
	fi
done

if [[ -f "$ROOT/test/fuzz/Makefile" ]]; then
	run_suite "fuzz (make fuzz + ${AUTOML_FUZZ_SECONDS:-30}s run)" suite_fuzz
fi
if [[ -f "$ROOT/test/unit/run.sh" ]]; then
	run_suite "unit (explanations: additivity, TreeSHAP against brute force)" suite_unit
fi
if [[ -f "$ROOT/test/forecast/run.sh" ]]; then
	run_suite "forecast core (calendar, ETS against statsmodels, backtests)" suite_forecast_core
fi

server_log=$AUTOML_SERVER_LOG
if [[ -n $AUTOML_TMPDATA ]]; then
	server_log="$AUTOML_CLUSTER_DIR/server.log"   # cleanup copies it there
fi
cleanup   # stop the cluster now, so that the summary is the last thing printed
banner "summary"
for r in "${RESULTS[@]}"; do
	echo "$r"
done
if [[ $((PASSED + FAILED)) -eq 0 ]]; then
	echo "no test suite found (sql/*.sql, test/t/*.pl, test/scripts/*.sh, test/fuzz/Makefile)"
	FAILED=1
fi
echo "server log: $server_log"
echo "$PASSED passed, $FAILED failed"
SUMMARY_PRINTED=1
[[ $FAILED -eq 0 ]]
