#!/usr/bin/env bash
# test/demo.sh: install what is missing, build and install the extension, start a throwaway
# cluster (test/setup.sh), then run test/demo.sql in a database of its own, automl_demo:
# load real datasets shipped in test/data, train, predict inside queries, show the catalog.
#
#   test/demo.sh          the tour; the cluster is stopped when it ends
#   test/demo.sh --keep   the tour, then the cluster keeps running with database postgres
#                         left empty for you: `. .cluster/env` points psql at it, and
#                         README.md's "Follow the examples" goes on from there
#   test/demo.sh --stop   stop a cluster left running by --keep (the next test/demo.sh or
#                         test/run.sh in this checkout also stops it)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"   # demo.sql reads test/data/*.csv relative to the checkout

KEEP=0
case "${1:-}" in
	"") ;;
	--keep) KEEP=1 ;;
	--stop)
		data=$(cat .cluster/datadir 2>/dev/null || true)
		if [[ -z $data || ! -f $data/postmaster.pid ]]; then
			echo "no cluster of test/demo.sh --keep is running in this checkout"
			exit 0
		fi
		bindir=${AUTOML_PG_BINDIR:-/usr/lib/postgresql/15/bin}
		owner=$(stat -c %U "$data")
		if [[ $(id -u) -eq 0 ]]; then
			runuser -u "$owner" -- "$bindir/pg_ctl" -D "$data" -m fast -w stop
		elif [[ $owner == "$(id -un)" ]]; then
			"$bindir/pg_ctl" -D "$data" -m fast -w stop
		else
			sudo runuser -u "$owner" -- "$bindir/pg_ctl" -D "$data" -m fast -w stop
		fi
		sock=$(cat .cluster/sockdir 2>/dev/null || true)
		if [[ $sock == /tmp/automl-pg.* ]]; then
			rm -rf -- "$sock" 2>/dev/null || sudo rm -rf -- "$sock"
		fi
		rm -f .cluster/env .cluster/sockdir
		exit 0
		;;
	*)
		echo "usage: test/demo.sh [--keep | --stop]" >&2
		exit 2
		;;
esac

# With --keep, nothing stops the cluster on exit: setup.sh leaves the EXIT trap to us.
if [[ $KEEP -eq 1 ]]; then
	trap ':' EXIT
fi
# shellcheck source=test/setup.sh
source "$ROOT/test/setup.sh"
if [[ $KEEP -eq 0 ]]; then
	trap cleanup EXIT
fi

printf '\n======== test/demo.sql (in database automl_demo)\n\n'
psql -X -q -c 'DROP DATABASE IF EXISTS automl_demo' -c 'CREATE DATABASE automl_demo'
PGDATABASE=automl_demo psql -X -v ON_ERROR_STOP=1 -P pager=off -f "$ROOT/test/demo.sql"
printf '\n======== demo finished\n'

if [[ $KEEP -eq 1 ]]; then
	cat >"$AUTOML_CLUSTER_DIR/env" <<-EOF
		# written by test/demo.sh --keep: . .cluster/env points psql at its cluster
		export PGHOST='$PGHOST' PGPORT='$PGPORT' PGUSER='$PGUSER' PGDATABASE=postgres
		export PATH='$PG_BINDIR':"\$PATH"
	EOF
	cat <<-EOF

		The cluster keeps running (data in $AUTOML_PGDATA). Database postgres is empty;
		the tour is in database automl_demo. To use it, from the top of the checkout:

		    . .cluster/env                  # PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER
		    psql -f test/data/load.sql      # the tables of README.md's examples
		    psql

		Stop it with test/demo.sh --stop (the next test/demo.sh or test/run.sh also stops it).
	EOF
fi
