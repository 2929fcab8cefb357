#!/usr/bin/env bash
# test/scripts/docs.sh: every ```sql block of README.md and docs/*.md runs, as written and in
# order, on the database that the README's steps give a new user; the first block that fails
# fails the test, named by FILE:LINE (the line of its opening fence), with the error.
#
# Order: README.md, then every docs/*.md in the byte order of the file names (LC_ALL=C:
# benchmarks, data, evaluation, ...). Each page may rely on what README.md created, and on
# its own earlier blocks, never on another page.
#
# The database, as the README's "Follow the examples" steps make it:
#   1. a fresh PostgreSQL 15 cluster of its own (like test/scripts/valgrind.sh; the PG*
#      variables that test/run.sh passes are not used), started with the postgresql.conf
#      lines that docs/retraining.md gives for pg_cron (the ``` block marked
#      <!-- docs test: postgresql.conf -->), which test/setup.sh's cluster also has;
#   2. `psql -f test/data/load.sql` in database postgres, from the top of the checkout;
#   3. then the blocks, in one psql session (so SET, LISTEN and \x carry over as they do
#      for a reader), from the top of the checkout (\copy and \i paths), ON_ERROR_STOP on.
#      Before the blocks of docs/PAGE.md, test/docs/PAGE.sql runs when it exists: what a
#      page needs that is not the reader's (benchmarks.md: the tables bench/ builds, small).
#
# Markers: an HTML comment alone on the line just before the opening fence of a block
# (test/docs/blocks.pl checks them and refuses anything malformed):
#   <!-- not run: REASON -->          the block is not run; the test prints it with its reason
#   <!-- expect error: TEXT -->       the block must fail with an error message containing
#                                     TEXT (it should not open a transaction)
#   <!-- docs test: postgresql.conf --> a plain ``` block of settings added to the cluster
# Use them sparingly: the point is that the examples work.
#
# Needs PostgreSQL 15 with automl and pg_cron installed (test/setup.sh installs both):
# PG_CONFIG names it (default: pg_config on PATH). Prints the time each page took, the
# skipped blocks, every WARNING the blocks raised, and the total time.
# Environment: AUTOML_DOCS_KEEP=1 leaves the cluster and its files in place (path printed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PG_BINDIR=$("${PG_CONFIG:-pg_config}" --bindir)
PKGLIBDIR=$("${PG_CONFIG:-pg_config}" --pkglibdir)
T0=$(date +%s.%N)

# A generated page must not publish a section that bench/report.py could not generate.
if grep -n 'could not be generated from the results' docs/benchmarks.md; then
    echo "docs/benchmarks.md: a section above could not be generated; rerun bench/report.py --docs" >&2
    exit 1
fi

fail() { printf 'docs.sh: %s\n' "$*" >&2; exit 1; }

[[ -x $PG_BINDIR/initdb && -x $PG_BINDIR/psql ]] || fail "no initdb or psql in $PG_BINDIR"
[[ -f $PKGLIBDIR/automl.so ]] || fail "automl is not installed in $PKGLIBDIR (make install)"
[[ -f $PKGLIBDIR/pg_cron.so ]] ||
	fail "pg_cron is not installed in $PKGLIBDIR: docs/retraining.md needs it (Debian: postgresql-15-cron, which test/setup.sh installs)"
command -v perl >/dev/null || fail "perl is needed (test/docs/blocks.pl)"

PAGES=(README.md)
while IFS= read -r f; do PAGES+=("$f"); done < <(LC_ALL=C ls docs/*.md)

WORK=$(mktemp -d /tmp/automl-docs.XXXXXX)
CLUSTER_UP=0
as_server_user() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
	local rc=$?
	set +e
	if [[ ${AUTOML_DOCS_KEEP:-0} == 1 ]]; then
		echo "docs.sh: AUTOML_DOCS_KEEP=1: the cluster keeps running in $WORK/data (socket dir $WORK)"
		return $rc
	fi
	if [[ $CLUSTER_UP -eq 1 ]]; then
		as_server_user "$PG_BINDIR/pg_ctl" -D "$WORK/data" -m fast -w -s stop ||
			as_server_user "$PG_BINDIR/pg_ctl" -D "$WORK/data" -m immediate -w -s stop
	fi
	rm -rf -- "$WORK"
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[[ $(id -u) -eq 0 ]] && chown postgres: "$WORK"
chmod 0755 "$WORK"

# Check every page's markers and blocks before spending time on a cluster.
perl test/docs/blocks.pl markers "${PAGES[@]}" >"$WORK/markers"
perl test/docs/blocks.pl conf "${PAGES[@]}" >"$WORK/docs.conf"
grep -q . "$WORK/docs.conf" || fail "no block is marked <!-- docs test: postgresql.conf --> (docs/retraining.md has one)"

# 1. the cluster: a unix socket only (no port to collide on), the documented settings
as_server_user "$PG_BINDIR/initdb" -D "$WORK/data" -A trust -U postgres --no-sync -E UTF8 \
	--locale=C.UTF-8 >/dev/null
{
	echo "# test/scripts/docs.sh: a throwaway cluster"
	echo "listen_addresses = ''"
	echo "unix_socket_directories = '$WORK'"
	echo "port = 5432"
	echo "fsync = off"
	echo "cron.host = '$WORK'"
	cat "$WORK/docs.conf"
} | as_server_user tee -a "$WORK/data/postgresql.conf" >/dev/null
echo "=== postgresql.conf settings from the docs:"
grep -v '^#' "$WORK/docs.conf" | sed 's/^/    /'
as_server_user "$PG_BINDIR/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w -s start ||
	{ tail -n 20 "$WORK/server.log" >&2; fail "the cluster did not start"; }
CLUSTER_UP=1
export PGHOST=$WORK PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGPASSWORD PGOPTIONS PGSSLMODE 2>/dev/null || true
PSQL=("$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -P pager=off)

# 2. the README's step: the example tables
echo "=== psql -f test/data/load.sql"
"${PSQL[@]}" -q -f test/data/load.sql >"$WORK/load.out" 2>&1 ||
	{ cat "$WORK/load.out" >&2; fail "test/data/load.sql failed"; }

# 3. the blocks, page by page, in one session
: >"$WORK/blocks.sql"
for page in "${PAGES[@]}"; do
	prep="test/docs/$(basename "$page" .md).sql"
	if [[ $page == docs/* && -f $prep ]]; then
		{
			echo "SELECT pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) AS automl_docs_t \\gset"
			echo "\\warn '@@docs-block $prep:1' :automl_docs_t"
			cat "$prep"
		} >>"$WORK/blocks.sql"
	fi
	perl test/docs/blocks.pl script "$page" >>"$WORK/blocks.sql"
done

echo "=== the blocks of ${PAGES[*]}"
rc=0
T_BLOCKS=$(date +%s.%N)
"${PSQL[@]}" -f "$WORK/blocks.sql" >"$WORK/blocks.out" 2>"$WORK/blocks.err" || rc=$?
T1=$(date +%s.%N)

# The report: time per page, skipped blocks, warnings; on failure the block and its error.
perl -e '
	my ($t_end, @rows, %page_time, @order, $last, $last_t);
	my (@skips, @warnings, @expected, @fails);
	while (<STDIN>) {
		chomp;
		if (/^\@\@docs-block (\S+):(\d+) ([\d.]+)/) {
			my ($f, $l, $t) = ($1, $2, $3);
			$page_time{$last->[0]} += $t - $last_t if $last;
			push @order, $f unless exists $page_time{$f};
			$page_time{$f} //= 0;
			$last = [$f, $l]; $last_t = $t;
		} elsif (/^\@\@docs-end ([\d.]+)/) {
			$page_time{$last->[0]} += $1 - $last_t if $last;
			$last = undef;
		} elsif (/^\@\@docs-skip (\S+) (.*)/) { push @skips, "$1  ($2)" }
		elsif (/^\@\@docs-expected (\S+) (.*)/) { push @expected, "$1  $2" }
		elsif (/^\@\@docs-fail (.*)/) { push @fails, $1 }
		elsif (/WARNING:\s+(.*)/) { push @warnings, ($last ? "$last->[0]:$last->[1]" : "?") . "  $1" }
	}
	printf "%-28s %7.1f s\n", $_, $page_time{$_} for @order;
	print "blocks not run (marked):\n", map({ "    $_\n" } @skips) if @skips;
	print "errors expected and seen:\n", map({ "    $_\n" } @expected) if @expected;
	print "warnings raised by the blocks:\n", map({ "    $_\n" } @warnings) if @warnings;
	print "failed: $_\n" for @fails;
	print "last block started: $last->[0]:$last->[1]\n" if $last;
' <"$WORK/blocks.err" | tee "$WORK/report"

if [[ $rc -ne 0 ]]; then
	where=$(sed -n 's/^last block started: //p' "$WORK/report")
	echo
	echo "======== FAILED: the block at $where"
	file=${where%:*}
	line=${where##*:}
	if [[ -f $file && $file == *.md ]]; then
		awk -v s="$line" 'NR >= s { print "    " NR ": " $0; if (NR > s && /^[[:space:]]*```/) exit }' "$file"
	fi
	# the failing statement's line: psql names the line of blocks.sql, which maps back
	# to the page (a block's text follows its \warn line, which follows the fence line)
	err_line=$(awk -v w="@@docs-block $where " 'index($0, w) == 1 { on = 1; next }
		on && match($0, /^psql:[^:]*:[0-9]+: ERROR/) { split($0, a, ":"); print a[3]; exit }' "$WORK/blocks.err")
	warn_line=$(grep -n -F "\\warn '@@docs-block $where'" "$WORK/blocks.sql" | head -n 1 | cut -d: -f1)
	if [[ -n $err_line && -n $warn_line && $file == *.md ]]; then
		echo "-------- the error is in the statement ending at $file:$((line + err_line - warn_line))"
	fi
	echo "-------- psql's messages since that block started:"
	awk -v w="@@docs-block $where " 'index($0, w) == 1 { on = 1; next } on' "$WORK/blocks.err" |
		grep -v '^@@' | tail -n 40
	echo "-------- the last lines of the server log:"
	tail -n 15 "$WORK/server.log"
	fail "the block at $where failed (psql exit status $rc); full output: AUTOML_DOCS_KEEP=1 $0"
fi
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }
printf 'docs.sh: every block of %d pages ran, %d marked not run here (Citus blocks run in TAP 011_citus.pl); the blocks took %s s, the whole test %s s\n' \
	"${#PAGES[@]}" "$(grep -c -E $'\t(not run:|docs test: citus$)' "$WORK/markers" || true)" "$(elapsed "$T_BLOCKS" "$T1")" \
	"$(elapsed "$T0" "$(date +%s.%N)")"
