#!/usr/bin/env bash
# valgrind_server.sh: a real postmaster under valgrind memcheck (--trace-children=yes;
# forked processes are memchecked too, each with its own log), so that what a
# single-user backend never runs is covered: the automl log writer (a background worker)
# ingesting logged predictions, and parallel workers scoring with automl_predict,
# automl_predict_label and automl_predict_proba (a linear model and a gbdt, the leader not
# participating, so only the workers score). Any memcheck error in any process, a crash,
# or a part that did not run (no parallel worker scored, the writer did not ingest)
# fails the test. Suppressions: test/valgrind.supp (PostgreSQL's own padding writes, as
# in its src/tools/valgrind.supp). Needs valgrind and PostgreSQL 15 with automl
# installed; takes a minute or two.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BINDIR=$("${PG_CONFIG:-pg_config}" --bindir)
WORK=$(mktemp -d /tmp/automl-vgserver.XXXX)
DATA="$WORK/data"
VGLOGS="$WORK/valgrind"
SERVER_PID=""
ROWS=2000

as_server_user() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
fail() {
	echo "valgrind_server.sh: FAILED: $*"
	exit 1
}
finish() {
	local rc=$?
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		as_server_user "$PG_BINDIR/pg_ctl" -D "$DATA" -m immediate -w -t 120 stop >/dev/null 2>&1 || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ $rc -ne 0 ]]; then
		echo "--- last 40 lines of the server log"
		tail -n 40 "$WORK/server.log" 2>/dev/null || true
	fi
	rm -rf -- "$WORK"
	exit "$rc"
}
trap finish EXIT

command -v valgrind >/dev/null || fail "valgrind is not installed (apt-get install valgrind)"
[[ $(id -u) -eq 0 ]] && chown postgres "$WORK"
as_server_user mkdir -p "$VGLOGS"
as_server_user "$PG_BINDIR/initdb" -D "$DATA" -A trust -U postgres --no-sync >/dev/null
cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$WORK'
port = 5432
fsync = off
autovacuum = off
jit = off
max_worker_processes = 8
max_parallel_workers = 4
log_line_prefix = '%m [%p] %b '
EOF

# The postmaster, and every process it forks, under memcheck: one log per process.
as_server_user valgrind --trace-children=yes --leak-check=no --track-origins=no \
	--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END --gen-suppressions=all \
	--suppressions="$ROOT/test/valgrind.supp" --log-file="$VGLOGS/%p.log" \
	"$PG_BINDIR/postgres" -D "$DATA" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 240); do
	if "$PG_BINDIR/pg_isready" -q -h "$WORK" -p 5432 -U postgres -d postgres; then break; fi
	kill -0 "$SERVER_PID" 2>/dev/null || fail "the server under valgrind did not start"
	sleep 0.5
done
"$PG_BINDIR/pg_isready" -q -h "$WORK" -p 5432 -U postgres -d postgres || fail "the server under valgrind did not start in 120 s"

q() { "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK" -p 5432 -U postgres -d postgres "$@"; }

q <<SQL >/dev/null
CREATE EXTENSION automl;
CREATE TABLE t AS
SELECT i AS id, sin(i) AS x1, cos(i * 1.3) AS x2, (ARRAY['a', 'b', 'c'])[i % 3 + 1] AS c,
       CASE WHEN i % 11 = 0 THEN NULL ELSE sin(i * 0.7) END AS x3,
       3 * sin(i) - 2 * cos(i * 1.3) + 0.1 * sin(i * 7.7) AS y,
       sin(i) + cos(i * 1.3) > 0 AS positive
FROM generate_series(1, $ROWS) AS i;
ALTER TABLE t SET (parallel_workers = 2);
ANALYZE t;
SELECT automl_train('lin', 't', 'y', exclude => ARRAY['id', 'positive'], algorithms => ARRAY['linear'], max_trials => 1);
SELECT automl_train('gb', 't', 'positive', exclude => ARRAY['id', 'y'], algorithms => ARRAY['gbdt'],
                    hyperparams => '{"n_estimators": 10}');
SELECT automl_monitor('lin', key => 'id');
SELECT automl_monitor('gb', key => 'id');
SQL

# Parallel workers score every row (the leader does not take part), each logging what
# it predicted to its own spool file.
plan=$(q <<'SQL'
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT sum(automl_predict('lin', t)), count(automl_predict_label('gb', t)),
       sum((automl_predict_proba('gb', t))[2])
FROM t;
SQL
)
echo "$plan"
grep -q 'Workers Launched: [12]' <<<"$plan" || fail "no parallel worker was launched"

# The log writer (not automl_flush_predictions) moves the 3 x $ROWS predictions into the
# table; its process id is in pg_stat_activity while it runs.
writer_pid=""
logged=0
for _ in $(seq 1 240); do
	pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'automl log writer'")
	[[ -n $pid ]] && writer_pid=$pid
	logged=$(q -c "SELECT count(*) FROM automl.predictions")
	[[ $logged -eq $((3 * ROWS)) ]] && break
	sleep 0.5
done
[[ $logged -eq $((3 * ROWS)) ]] || fail "the log writer ingested $logged of $((3 * ROWS)) predictions in 120 s"
[[ -n $writer_pid ]] || fail "no automl log writer was seen in pg_stat_activity"
# The spool files the writer read are named after the processes that wrote them:
# parallel workers, since the leader did not score.
worker_pids=$(q -c "SELECT DISTINCT split_part(file, '-', 3) FROM automl.log_spool ORDER BY 1")
[[ -n $worker_pids ]] || fail "automl.log_spool names no spool file"
echo "log writer: process $writer_pid; parallel workers that scored: $(echo $worker_pids)"

as_server_user "$PG_BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 300 stop >/dev/null
wait "$SERVER_PID" || fail "the postmaster under valgrind exited with status $?"
SERVER_PID=""

if grep -E 'terminated by signal|was terminated by|server process .* exited with exit code [^0]' "$WORK/server.log"; then
	fail "a server process crashed (see above)"
fi
for pid in $writer_pid $worker_pids; do
	[[ -s "$VGLOGS/$pid.log" ]] || fail "process $pid ran without valgrind (no $VGLOGS/$pid.log)"
done
bad=$(grep -l 'VALGRINDERROR-BEGIN' "$VGLOGS"/*.log || true)
if [[ -n $bad ]]; then
	for f in $bad; do
		echo "--- $f"
		sed -n '/VALGRINDERROR-BEGIN/,/VALGRINDERROR-END/p' "$f"
	done
	fail "memcheck reported errors in $(echo "$bad" | wc -l) process(es)"
fi
summaries=$(grep -h 'ERROR SUMMARY:' "$VGLOGS"/*.log | grep -vc 'ERROR SUMMARY: 0 errors' || true)
[[ $summaries -eq 0 ]] || fail "$summaries process(es) ended with errors in their ERROR SUMMARY"
echo "valgrind_server.sh: no memory errors in $(ls "$VGLOGS" | wc -l) processes of a postmaster under valgrind, the log writer and $(echo $worker_pids | wc -w) parallel worker(s) among them"
