# shellcheck shell=bash
# test/setup.sh: shared set-up for test/demo.sh and test/run.sh. Source it, do not run it.
#
#   source test/setup.sh      # installs what is missing, builds, installs, starts a cluster
#   trap cleanup EXIT         # setup.sh sets this trap itself unless the caller already has
#                             # an EXIT trap (which must then call cleanup)
#
# What it does, idempotently, on Debian bookworm, as root or as a user with sudo:
#   1. installs missing apt packages (PostgreSQL 15, its server headers, OpenBLAS, pg_cron,
#      IPC::Run for the TAP tests, a C tool chain);
#   2. builds the extension and installs it into PostgreSQL 15;
#   3. starts a throwaway cluster (initdb -A trust) in .cluster/data of the checkout, on a
#      free port of 127.0.0.1 from 55432 up, with its unix socket in a short /tmp dir;
#      as root the server runs as the `postgres` system user;
#   4. exports PGHOST PGPORT PGUSER PGDATABASE PG_CONFIG (and PATH with the PostgreSQL 15
#      binaries first) so that psql, pg_regress and scripts reach that cluster;
#   5. defines `cleanup`, which stops the cluster and removes the socket dir.
#
# One run at a time per checkout: a second run waits for the first (lock .cluster/lock).
# A cluster left running by an earlier, killed run is stopped and thrown away.
#
# Knobs (environment): AUTOML_SKIP_APT=1 skips step 1, AUTOML_SKIP_BUILD=1 skips step 2,
# AUTOML_LOCK_WAIT (seconds, default 3600) bounds the wait for another run,
# AUTOML_PG_BINDIR (default /usr/lib/postgresql/15/bin) names the PostgreSQL binaries to use.
# Everything here is for throwaway test clusters: trust authentication, fsync off.

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	echo "test/setup.sh is meant to be sourced: use test/demo.sh or test/run.sh" >&2
	exit 2
fi

set -euo pipefail

AUTOML_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export AUTOML_ROOT

PG_MAJOR=15
# AUTOML_PG_BINDIR: another (relocated) PostgreSQL 15 installation to build against and run.
PG_BINDIR=${AUTOML_PG_BINDIR:-/usr/lib/postgresql/$PG_MAJOR/bin}
PG_CONFIG=$PG_BINDIR/pg_config
export PG_CONFIG
export PATH="$PG_BINDIR:$PATH"

AUTOML_CLUSTER_DIR="$AUTOML_ROOT/.cluster"   # where the cluster lives (or its log, on fallback)
AUTOML_PGDATA=""                              # the data dir actually in use
AUTOML_SOCKDIR=""                             # the unix socket dir (PGHOST)
AUTOML_TMPDATA=""                             # set when the data dir had to go under /tmp
AUTOML_SERVER_LOG=""
AUTOML_CLUSTER_STARTED=0

_setup_log() { printf '=== %s\n' "$*" >&2; }
_setup_die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

if [[ $(id -u) -eq 0 ]]; then
	AUTOML_IS_ROOT=1
	SUDO=()
else
	AUTOML_IS_ROOT=0
	SUDO=(sudo)
fi

# Run a command with root rights (directly when root, through sudo otherwise).
as_root() {
	if [[ $AUTOML_IS_ROOT -eq 1 ]]; then
		"$@"
	else
		command -v sudo >/dev/null 2>&1 ||
			_setup_die "not root and sudo is not installed: cannot run: $*"
		"${SUDO[@]}" "$@"
	fi
}

# Run a command as the user that owns the server: `postgres` when we are root (the server
# refuses to run as root), ourselves otherwise.
as_pg() {
	if [[ $AUTOML_IS_ROOT -eq 1 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# ---------------------------------------------------------------------------------------
# 1. packages

AUTOML_APT_PACKAGES=(
	"postgresql-$PG_MAJOR"
	"postgresql-server-dev-$PG_MAJOR"
	"postgresql-$PG_MAJOR-cron"
	libopenblas-serial-dev
	build-essential
	libipc-run-perl
	valgrind
)

_pkg_installed() {
	local status
	status=$(dpkg -s "$1" 2>/dev/null) || return 1
	[[ $status == *$'\nStatus: install ok installed\n'* ]]
}

setup_packages() {
	local missing=() p
	for p in "${AUTOML_APT_PACKAGES[@]}"; do
		_pkg_installed "$p" || missing+=("$p")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		return 0
	fi
	_setup_log "installing missing packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------------------------------
# 2. build and install

# Explicit checks: this runs inside a || list, where bash ignores set -e, and a
# failed build must not go on to test a library installed earlier.
setup_build() {
	_setup_log "building the extension"
	make -C "$AUTOML_ROOT" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" || _setup_die "the build failed"
	_setup_log "installing the extension"
	as_root make -C "$AUTOML_ROOT" install PG_CONFIG="$PG_CONFIG" || _setup_die "make install failed"
}

# ---------------------------------------------------------------------------------------
# 3. the throwaway cluster

# Stop a server left running by an earlier run (interrupted, killed) in data dir $1.
_stop_stale_cluster() {
	local data=$1 owner
	[[ -f "$data/postmaster.pid" ]] || return 0
	_setup_log "stopping a cluster left over from an earlier run ($data)"
	owner=$(stat -c %U "$data")
	if [[ $AUTOML_IS_ROOT -eq 1 ]]; then
		runuser -u "$owner" -- "$PG_BINDIR/pg_ctl" -D "$data" -m immediate -w stop || true
	elif [[ $owner == "$(id -un)" ]]; then
		"$PG_BINDIR/pg_ctl" -D "$data" -m immediate -w stop || true
	else
		as_root runuser -u "$owner" -- "$PG_BINDIR/pg_ctl" -D "$data" -m immediate -w stop || true
	fi
}

# rm -rf, with root rights if an earlier run as root left files we cannot remove.
_remove_tree() {
	rm -rf -- "$1" 2>/dev/null || as_root rm -rf -- "$1"
}

# Can the server user create and enter $1 (a directory that exists)?
_pg_can_use_dir() {
	as_pg test -d "$1" -a -x "$1" -a -w "$1" 2>/dev/null
}

_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_free_port() {
	local port=${1:-55432}
	while _port_in_use "$port"; do
		port=$((port + 1))
		[[ $port -lt 65535 ]] || _setup_die "no free TCP port on 127.0.0.1 above 55432"
	done
	echo "$port"
}

# One run at a time per checkout: a second test/run.sh or test/demo.sh in the same checkout
# waits here instead of stopping the first one's cluster. The lock is an open file
# descriptor, so it dies with the shell; the server must not inherit it (see the start).
AUTOML_LOCK_FD=""
setup_lock() {
	mkdir -p "$AUTOML_CLUSTER_DIR" 2>/dev/null || as_root mkdir -p "$AUTOML_CLUSTER_DIR"
	if [[ $AUTOML_IS_ROOT -eq 1 ]]; then
		id postgres >/dev/null 2>&1 || _setup_die "system user postgres is missing (is postgresql-$PG_MAJOR installed?)"
		chown postgres: "$AUTOML_CLUSTER_DIR"
	elif [[ ! -w $AUTOML_CLUSTER_DIR ]]; then
		# an earlier run as root left it owned by postgres
		as_root chown -R "$(id -u):$(id -g)" "$AUTOML_CLUSTER_DIR"
	fi
	exec {AUTOML_LOCK_FD}>>"$AUTOML_CLUSTER_DIR/lock"
	if ! flock -n "$AUTOML_LOCK_FD"; then
		_setup_log "another test/run.sh or test/demo.sh is using $AUTOML_CLUSTER_DIR: waiting for it (up to ${AUTOML_LOCK_WAIT:-3600}s)"
		flock -w "${AUTOML_LOCK_WAIT:-3600}" "$AUTOML_LOCK_FD" ||
			_setup_die "gave up waiting for the other run in this checkout"
	fi
}

setup_cluster() {
	local previous port attempt

	# An earlier run's cluster: stop it and throw it away.
	if [[ -f "$AUTOML_CLUSTER_DIR/datadir" ]]; then
		previous=$(cat "$AUTOML_CLUSTER_DIR/datadir")
		if [[ -n $previous && -d $previous ]]; then
			_stop_stale_cluster "$previous"
			if [[ $previous == /tmp/automl-data.*/data ]]; then
				_remove_tree "$(dirname "$previous")"
			fi
		fi
	fi
	if [[ -d "$AUTOML_CLUSTER_DIR/data" ]]; then
		_stop_stale_cluster "$AUTOML_CLUSTER_DIR/data"
		_remove_tree "$AUTOML_CLUSTER_DIR/data"
	fi
	if [[ -f "$AUTOML_CLUSTER_DIR/sockdir" ]]; then
		previous=$(cat "$AUTOML_CLUSTER_DIR/sockdir")
		if [[ $previous == /tmp/automl-pg.* && -d $previous ]]; then
			_remove_tree "$previous"
		fi
	fi

	rm -f "$AUTOML_CLUSTER_DIR/server.log" "$AUTOML_CLUSTER_DIR/datadir" \
		"$AUTOML_CLUSTER_DIR/sockdir" 2>/dev/null || true

	if _pg_can_use_dir "$AUTOML_CLUSTER_DIR"; then
		AUTOML_PGDATA="$AUTOML_CLUSTER_DIR/data"
		AUTOML_SERVER_LOG="$AUTOML_CLUSTER_DIR/server.log"
	else
		AUTOML_TMPDATA=$(mktemp -d /tmp/automl-data.XXXXXX)
		if [[ $AUTOML_IS_ROOT -eq 1 ]]; then chown postgres: "$AUTOML_TMPDATA"; fi
		AUTOML_PGDATA="$AUTOML_TMPDATA/data"
		AUTOML_SERVER_LOG="$AUTOML_TMPDATA/server.log"
		_setup_log "the server user cannot reach $AUTOML_CLUSTER_DIR (a parent directory is not" \
			"traversable): using $AUTOML_PGDATA instead (its log is copied to .cluster/server.log on exit)"
	fi
	echo "$AUTOML_PGDATA" >"$AUTOML_CLUSTER_DIR/datadir"

	AUTOML_SOCKDIR=$(mktemp -d /tmp/automl-pg.XXXX)
	if [[ $AUTOML_IS_ROOT -eq 1 ]]; then chown postgres: "$AUTOML_SOCKDIR"; fi
	chmod 0755 "$AUTOML_SOCKDIR"
	echo "$AUTOML_SOCKDIR" >"$AUTOML_CLUSTER_DIR/sockdir"

	_setup_log "initdb $AUTOML_PGDATA"
	as_pg "$PG_BINDIR/initdb" -D "$AUTOML_PGDATA" -A trust -U postgres --no-sync \
		-E UTF8 --locale=C.UTF-8 >/dev/null

	# Start on a free port; if another process grabs it first, try the next one.
	port=55432
	for attempt in 1 2 3 4 5; do
		port=$(_free_port "$port")
		cat >>"$AUTOML_PGDATA/postgresql.conf" <<-EOF

			# added by test/setup.sh (throwaway test cluster, attempt $attempt)
			listen_addresses = '127.0.0.1'
			port = $port
			unix_socket_directories = '$AUTOML_SOCKDIR'
			max_connections = 50
			fsync = off
			shared_preload_libraries = 'pg_cron'
			cron.database_name = 'postgres'
			cron.host = '$AUTOML_SOCKDIR'
		EOF
		_setup_log "starting the cluster on 127.0.0.1:$port (socket in $AUTOML_SOCKDIR)"
		if as_pg "$PG_BINDIR/pg_ctl" -D "$AUTOML_PGDATA" -l "$AUTOML_SERVER_LOG" -w -s start \
			{AUTOML_LOCK_FD}>&-; then
			AUTOML_CLUSTER_STARTED=1
			break
		fi
		if grep -q 'could not bind\|could not create any TCP/IP sockets' "$AUTOML_SERVER_LOG" 2>/dev/null; then
			port=$((port + 1))
			continue
		fi
		tail -n 30 "$AUTOML_SERVER_LOG" >&2 || true
		_setup_die "the cluster did not start (log: $AUTOML_SERVER_LOG)"
	done
	[[ $AUTOML_CLUSTER_STARTED -eq 1 ]] || _setup_die "the cluster did not start (log: $AUTOML_SERVER_LOG)"

	export PGHOST="$AUTOML_SOCKDIR"
	export PGPORT="$port"
	export PGUSER=postgres
	export PGDATABASE=postgres
	export AUTOML_PGDATA AUTOML_SERVER_LOG
	# libpq settings of the caller's environment must not redirect our clients
	unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGPASSWORD PGOPTIONS PGSSLMODE 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# 5. clean-up (safe to call more than once, and when set-up stopped half way)

cleanup() {
	local rc=$? errexit=0
	if [[ $- == *e* ]]; then errexit=1; fi
	set +e
	if [[ -n $AUTOML_PGDATA && -f "$AUTOML_PGDATA/postmaster.pid" ]]; then
		_setup_log "stopping the cluster"
		as_pg "$PG_BINDIR/pg_ctl" -D "$AUTOML_PGDATA" -m fast -w -s stop ||
			as_pg "$PG_BINDIR/pg_ctl" -D "$AUTOML_PGDATA" -m immediate -w -s stop
	fi
	AUTOML_CLUSTER_STARTED=0
	if [[ -n $AUTOML_SOCKDIR && -d $AUTOML_SOCKDIR ]]; then
		rm -rf -- "$AUTOML_SOCKDIR"
		rm -f "$AUTOML_CLUSTER_DIR/sockdir"
	fi
	AUTOML_SOCKDIR=""
	if [[ -n $AUTOML_TMPDATA && -d $AUTOML_TMPDATA ]]; then
		cp -f "$AUTOML_TMPDATA/server.log" "$AUTOML_CLUSTER_DIR/server.log" 2>/dev/null
		rm -rf -- "$AUTOML_TMPDATA"
		rm -f "$AUTOML_CLUSTER_DIR/datadir"
	fi
	AUTOML_TMPDATA=""
	if [[ $errexit -eq 1 ]]; then set -e; fi
	return $rc
}

# ---------------------------------------------------------------------------------------
# run the steps

# The caller's own EXIT trap (set before sourcing) wins; it must call cleanup itself.
if [[ -z $(trap -p EXIT) ]]; then
	trap cleanup EXIT
fi
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

export DEBIAN_FRONTEND=noninteractive
[[ ${AUTOML_SKIP_APT:-0} == 1 ]] || setup_packages
[[ -x $PG_CONFIG ]] || _setup_die "$PG_CONFIG not found (is postgresql-server-dev-$PG_MAJOR installed?)"
setup_lock
[[ ${AUTOML_SKIP_BUILD:-0} == 1 ]] || setup_build
setup_cluster
_setup_log "cluster ready: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER PGDATABASE=$PGDATABASE"
