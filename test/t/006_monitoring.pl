# 006_monitoring.pl: the prediction log seen from outside. Scoring in parallel
# workers, serial plans, read-only and aborted transactions lands in
# automl.predictions exactly once; the background writer moves the spool files
# without automl_flush_predictions() and deletes the ingested ones; a backend
# killed after its statement loses nothing; DROP DATABASE is not held up by
# the writer; a standby scores without logging; a drifted window raises an
# alert that is returned and NOTIFYed once. No timing is asserted: every wait
# is a bounded poll.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $node = PostgreSQL::Test::Cluster->new('monitoring');
$node->init(allows_streaming => 1);
# allows_streaming shrinks shared_buffers and max_connections: give them back.
# restart_after_crash for the SIGKILL part (the test framework turns it off).
$node->append_conf(
	'postgresql.conf', q{
max_worker_processes = 8
max_parallel_workers = 8
shared_buffers = 128MB
max_connections = 30
restart_after_crash = on
});
$node->start;

my $N = 200000;
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION automl;
CREATE TABLE t AS
SELECT i AS id, sin(i) AS x1, cos(i * 1.3) AS x2, sin(i * 0.7) AS x3, (i % 7)::int AS x4
FROM generate_series(1, $N) AS i;
ALTER TABLE t ADD COLUMN y float8, ADD COLUMN positive boolean;
UPDATE t SET y = 3 * x1 - 2 * x2 + 0.5 * x3 + 0.1 * x4 + 0.1 * sin(id * 7.7),
             positive = (x1 + x2 + 0.3 * sin(id * 3.1) > 0);
VACUUM ANALYZE t;
});
is( $node->safe_psql(
		'postgres',
		q{SELECT version FROM automl_train('m', 't', 'y', exclude => ARRAY['id', 'positive'],
                                     algorithms => ARRAY['linear'], max_trials => 1)}),
	'1', 'trained the regression model m');
is( $node->safe_psql(
		'postgres',
		q{SELECT task FROM automl_train('p', 't', 'positive', exclude => ARRAY['id', 'y'], max_trials => 1)}),
	'classification', 'trained the binary model p');

# What automl_predict returns, computed before logging is on (so not logged):
# every logged prediction is compared with it through the key.
$node->safe_psql('postgres',
	q{CREATE TABLE expected AS SELECT id, automl_predict('m', t) AS p FROM t t});

is( $node->safe_psql(
		'postgres', q{
SELECT enabled, sample_rate, key_column, exclude FROM automl_monitor('m', key => 'id', exclude => ARRAY['x4'], sample_rate => 1.0);
SELECT enabled, key_column FROM automl_monitor('p', key => 'id');}),
	"t|1|id|{x4}\nt|id", 'monitoring is on for m (key id, x4 excluded) and p');

my $dboid = $node->safe_psql('postgres',
	q{SELECT oid FROM pg_database WHERE datname = current_database()});
my $spool_dir = $node->data_dir . "/automl_log/$dboid";

# The spool files of a directory with the given suffix (spool or done).
sub spool_files
{
	my ($dir, $suffix) = @_;
	opendir(my $dh, $dir) or return ();
	my @files = sort grep { /\.$suffix$/ } readdir $dh;
	closedir $dh;
	return @files;
}

# Moves everything pending into the table, then counts the model's rows.
sub flushed_count
{
	my ($model) = @_;
	$node->safe_psql('postgres', 'SELECT automl_flush_predictions()');
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM automl.predictions WHERE model = '$model'");
}

# Calls $check until it returns true, for at most 30 s; returns its last result.
sub poll_for
{
	my ($check) = @_;
	my $deadline = time + 30;
	while (time < $deadline)
	{
		my $ok = $check->();
		return $ok if $ok;
		sleep 0.1;
	}
	return $check->();
}

# ---------------------------------------------------------------------------
# A streaming standby scores the monitored model but logs nothing (done first,
# while the database is small, so the base backup is quick).

$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);

my @standby_files_before = spool_files($standby->data_dir . "/automl_log/$dboid", 'spool|done');
# Serial: each parallel worker is a process of its own and warns as well.
my ($ret, $stdout, $stderr) = $standby->psql(
	'postgres', q{
SET max_parallel_workers_per_gather = 0;
SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 1000;
SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 1000;});
is($ret, 0, 'the standby scores the monitored model');
is($stdout, "1000\n1000", 'the standby returns a prediction for every row');
my @warnings = $stderr =~ /WARNING:  predictions of model "m" are not logged on a standby/g;
is(scalar @warnings, 1, 'the standby warns once per session that it does not log')
  or diag $stderr;
is_deeply([ spool_files($standby->data_dir . "/automl_log/$dboid", 'spool|done') ],
	\@standby_files_before, 'the standby wrote no spool file');
($ret, $stdout, $stderr) = $standby->psql('postgres', 'SELECT automl_flush_predictions()');
like($stderr, qr/the prediction log cannot be written on a standby/,
	'automl_flush_predictions() fails on a standby');
is(flushed_count('m'), '0', 'the primary logged nothing of the standby\'s scoring');
$standby->stop;

# ---------------------------------------------------------------------------
# Every row of a parallel plan, then of a serial plan, logged exactly once.

my $parallel = q{
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
};
my $score_all = q{SELECT count(automl_predict('m', t)) FROM t t};
my $plan = $node->safe_psql('postgres', $parallel . "EXPLAIN (COSTS OFF) $score_all");
like($plan, qr/Gather/, 'the scoring plan has a Gather');
like($plan, qr/Parallel Seq Scan/, 'the scoring plan has a Parallel Seq Scan');

# EXPLAIN ANALYZE runs the query (and logs it); with the leader not taking
# part, the workers score every row.
my $analyze = $node->safe_psql('postgres',
	$parallel . "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $score_all");
note "EXPLAIN ANALYZE:\n$analyze";
my ($launched) = $analyze =~ /Workers Launched: (\d+)/;
ok(defined $launched && $launched >= 1,
	'parallel workers scored the rows (' . ($launched // 'none') . ' launched)');

my $t0 = time;
is(flushed_count('m'), $N, "the parallel run logged $N rows");
note sprintf('automl_flush_predictions() of the parallel run took %.1f s', time - $t0);
is( $node->safe_psql(
		'postgres', q{
SELECT count(DISTINCT key), count(*) FILTER (WHERE p.prediction = e.p),
       count(*) FILTER (WHERE (p.features->>'x1')::float8 = t.x1 AND (p.features->>'x3')::float8 = t.x3),
       bool_and(p.features ?& ARRAY['x1', 'x2', 'x3'] AND NOT p.features ?| ARRAY['x4', 'id', 'y', 'positive']),
       bool_and(p.version = 1 AND p.label IS NULL AND p.probabilities IS NULL)
FROM automl.predictions p JOIN expected e ON p.key = e.id::text JOIN t ON t.id = e.id
WHERE p.model = 'm'}),
	"$N|$N|$N|t|t",
	'parallel run: one row per key, the prediction automl_predict returns, the features as scored (x4 excluded)');

my $serial = q{SET max_parallel_workers_per_gather = 0;};
unlike($node->safe_psql('postgres', $serial . "EXPLAIN (COSTS OFF) $score_all"),
	qr/Gather/, 'the serial plan has no Gather');
is($node->safe_psql('postgres', $serial . $score_all), $N, 'the serial run scored every row');
is(flushed_count('m'), 2 * $N, 'the serial run logged every row once more');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*), count(*) FILTER (WHERE n = 2 AND same = 2)
FROM (SELECT p.key, count(*) AS n, count(*) FILTER (WHERE p.prediction = e.p) AS same
      FROM automl.predictions p JOIN expected e ON p.key = e.id::text
      WHERE p.model = 'm' GROUP BY p.key) k}),
	"$N|$N", 'after both runs every key is logged twice, both times with its prediction');

# ---------------------------------------------------------------------------
# A read-only transaction logs too (the spool file is not a table); flushing
# is a write, so it is refused there.

my $before = flushed_count('m');
$node->safe_psql(
	'postgres', q{
BEGIN READ ONLY;
SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 1000;
SELECT count(automl_predict_proba('p', t)) FROM t t WHERE id <= 500;
COMMIT;});
is(flushed_count('m') - $before, 1000, 'a read-only transaction logged its 1000 regression rows');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*), count(DISTINCT key), bool_and(label IN ('true', 'false') AND array_length(probabilities, 1) = 2)
FROM automl.predictions WHERE model = 'p'}),
	'500|500|t', 'and its 500 classification rows, with label and probabilities');
($ret, $stdout, $stderr) = $node->psql('postgres',
	'BEGIN READ ONLY; SELECT automl_flush_predictions(); COMMIT;');
isnt($ret, 0, 'automl_flush_predictions() fails in a read-only transaction');
like($stderr, qr/read-only/, 'the error says why: read-only');

# ---------------------------------------------------------------------------
# The log records what was predicted, not what was committed: predictions of
# an aborted transaction, and of a statement that failed half-way, are logged.

$before = flushed_count('m');
$node->safe_psql(
	'postgres', q{
BEGIN;
SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 700;
ROLLBACK;});
is(flushed_count('m') - $before, 700, 'a rolled-back transaction logged its 700 predictions');

# A small table in id order, scanned serially: the row id = 300 is scored
# (left operand first), then the division fails. The failed statement's
# records stay buffered (no ExecutorEnd) until the next statement ends.
$node->safe_psql('postgres', 'CREATE TABLE few AS SELECT * FROM t WHERE id <= 1000 ORDER BY id');
$before = flushed_count('m');
($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
SET max_parallel_workers_per_gather = 0;
SELECT automl_predict('m', f) + 1 / (f.id - 300) FROM few f;
SELECT 'next statement';},
	on_error_stop => 0);
like($stderr, qr/division by zero/, 'the statement failed at id 300');
is(flushed_count('m') - $before, 300, 'the 300 predictions made before the error are logged');

# ---------------------------------------------------------------------------
# The background writer: rows arrive without automl_flush_predictions(), the
# writer is seen in pg_stat_activity, and once it is done no .done file is
# left (a fully ingested file of an ended process is deleted).

my $m = $node->background_psql('postgres');
$before = $m->query_safe(q{SELECT count(*) FROM automl.predictions WHERE model = 'm'});
$node->safe_psql('postgres', q{SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 5000});
my $writer_seen = 0;
my $arrived = poll_for(
	sub {
		my ($n, $writers) = split /\|/, $m->query_safe(
			q{SELECT (SELECT count(*) FROM automl.predictions WHERE model = 'm'),
			         (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'automl log writer'
			            AND datname = current_database())});
		$writer_seen ||= $writers > 0;
		return $n - $before == 5000;
	});
ok($arrived, 'the background writer moved the 5000 rows without a flush');
ok($writer_seen, 'the writer showed up in pg_stat_activity as automl log writer');
ok( poll_for(
		sub {
			$m->query_safe(
				q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'automl log writer'}) eq '0';
		}),
	'the writer exits when idle');
is_deeply([ spool_files($spool_dir, 'done') ], [], 'no .done spool file is left after the writer ran');
is($m->query_safe(q{SELECT count(*) FROM automl.predictions WHERE model = 'm'}) - $before,
	5000, 'the writer ingested the rows once');
$m->quit;

# ---------------------------------------------------------------------------
# Alerts: a window whose x1..x3 moved by +200 drifts (3 of 4 features).

$node->safe_psql(
	'postgres', q{
CREATE TABLE dtrain AS
SELECT i AS id, (i % 100)::float8 AS x1, ((i * 37) % 100)::float8 AS x2, ((i * 59) % 100)::float8 AS x3,
       ((i * 13) % 100)::float8 AS x4, ((i % 100) + 0.5 * ((i * 37) % 100) - ((i * 13) % 100))::float8 AS y
FROM generate_series(1, 2000) AS i;
SELECT version FROM automl_train('d', 'dtrain', 'y', exclude => ARRAY['id'], algorithms => ARRAY['linear'], max_trials => 1);
SELECT name FROM automl_monitor('d', key => 'id');
CREATE TABLE dnew AS
SELECT id, x1 + 200 AS x1, x2 + 200 AS x2, x3 + 200 AS x3, x4 FROM dtrain d WHERE id <= 500;
SELECT count(automl_predict('d', n)) FROM dnew n;
SELECT automl_flush_predictions();});
is( $node->safe_psql(
		'postgres', q{SELECT drifted FROM automl_drift('d') WHERE feature IS NULL AND kind = 'dataset'}),
	't', 'automl_drift: the dataset of d drifted');

($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
LISTEN automl_alerts;
SELECT model, kind, alerting FROM automl_check_alerts();
SELECT 'after the check';});
is($ret, 0, 'automl_check_alerts() ran') or diag $stderr;
note "check output:\n$stdout";
like($stdout, qr/^d\|drift\|t$/m, 'the check returns the drift alert of d');
my @alert_rows = grep { /^\w+\|\w+\|[tf]$/ } split /\n/, $stdout;
is_deeply(\@alert_rows, ['d|drift|t'], 'and nothing else (m scored its own training data)');
my ($payload) =
  $stdout =~ /Asynchronous notification "automl_alerts" with payload "(.*)" received from server process with PID \d+\./;
ok(defined $payload, 'the listening session received a notification on automl_alerts');
my $alert = defined $payload ? eval { decode_json($payload) } : undef;
is(ref $alert, 'HASH', 'the payload is a JSON object') or diag $payload // '(none)';
is($alert->{model}, 'd', 'payload: model');
is($alert->{kind}, 'drift', 'payload: kind');
ok($alert->{alerting}, 'payload: alerting');
like($alert->{detail} // '', qr/dataset/, 'payload: the detail names the dataset drift');
is($node->safe_psql('postgres', 'SELECT count(*) FROM automl_check_alerts()'),
	'0', 'a second check returns nothing: the alert did not change');

# ---------------------------------------------------------------------------
# DROP DATABASE of a database whose writer ran: the writer leaves when idle,
# so DROP succeeds (PostgreSQL waits 5 s for other sessions; retried for 30 s).

$node->safe_psql('postgres', 'CREATE DATABASE scratch');
$node->safe_psql(
	'scratch', q{
CREATE EXTENSION automl;
CREATE TABLE s AS SELECT i AS id, (i % 10)::float8 AS x, (2 * (i % 10) + 1)::float8 AS y FROM generate_series(1, 300) AS i;
SELECT version FROM automl_train('s', 's', 'y', exclude => ARRAY['id'], algorithms => ARRAY['linear'], max_trials => 1);
SELECT name FROM automl_monitor('s', key => 'id');
SELECT count(automl_predict('s', s)) FROM s s;});
ok( poll_for(
		sub {
			$node->safe_psql('scratch', q{SELECT count(*) FROM automl.predictions WHERE model = 's'}) eq
			  '300';
		}),
	'the writer of the scratch database logged its rows');
my $scratch_oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'scratch'});
my $attempts = 0;
my $drop_stderr = '';
my $dropped = poll_for(
	sub {
		$attempts++;
		my ($r, $o, $e) = $node->psql('postgres', 'DROP DATABASE scratch');
		$drop_stderr = $e;
		return $r == 0;
	});
ok($dropped, "DROP DATABASE of a logging database succeeded ($attempts attempts)")
  or diag $drop_stderr;
note "DROP DATABASE attempts: $attempts; last stderr: $drop_stderr";

# ---------------------------------------------------------------------------
# A backend killed with SIGKILL after its statement ended: the statement-end
# write put its records on disk, so after the crash restart they are all
# ingested, once. The writers are held off meanwhile with the ingestion lock
# (INGEST_LOCK_CLASS in src/serve/log_writer.c), so the records are still in
# the spool file, not yet in the table, at the kill.

$before = flushed_count('m');
my $max_id = $node->safe_psql('postgres', 'SELECT max(id) FROM automl.predictions');
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(6385005, 0)');
my $victim = $node->background_psql('postgres');
my $victim_pid = $victim->query_safe('SELECT pg_backend_pid()');
is( $victim->query_safe(
		q{SELECT count(automl_predict('m', t)) FROM t t WHERE id BETWEEN 10001 AND 13000}),
	'3000', 'the doomed session scored 3000 rows');
my ($victim_file) = grep { /-$victim_pid-\d+\.spool$/ } spool_files($spool_dir, 'spool');
ok(defined $victim_file && -s "$spool_dir/$victim_file",
	'its spool file is on disk after the statement (' . ($victim_file // 'missing') . ')');
sleep 0.5;    # give a writer the chance it must not take
is($node->safe_psql('postgres', q{SELECT count(*) FROM automl.predictions WHERE model = 'm'}),
	$before, 'with the ingestion lock held, nothing was ingested yet');
my $start_before = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

kill 'KILL', $victim_pid;
# not poll_query_until: a psql that finds the server restarting can exit before
# reading its query, and the broken pipe would end the test
ok( poll_for(
		sub {
			my $up = eval { $node->safe_psql('postgres', 'SELECT NOT pg_is_in_recovery()') };
			return defined $up && $up eq 't';
		}),
	'the server is back after the crash restart');
# both sessions lost their server in the crash: their psql may exit with an error
eval { $victim->quit };
eval { $holder->quit };
like(slurp_file($node->logfile), qr/was terminated by signal 9/, 'the server log shows the SIGKILL');
note 'pg_postmaster_start_time() '
  . ($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()') eq $start_before
	? 'did not change' : 'changed')
  . ' at the crash restart';

is(flushed_count('m') - $before, 3000, 'after the crash, the 3000 records are ingested');
is( $node->safe_psql(
		'postgres', qq{
SELECT count(DISTINCT key), count(*) FILTER (WHERE p.prediction = e.p)
FROM automl.predictions p JOIN expected e ON p.key = e.id::text
WHERE p.model = 'm' AND p.id > $max_id AND e.id BETWEEN 10001 AND 13000}),
	'3000|3000', 'each of them once, with its prediction');
is(flushed_count('m') - $before, 3000, 'a second flush ingests nothing again');

# The killed backend's file belongs to the generation before the crash, so it
# counts as complete and goes once ingested; a writer starting after the drop
# removed the dropped database's spool directory.
$node->safe_psql('postgres', q{SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 10});
# wait for the deletion itself: on a loaded machine the writer may not have
# started yet when a first look finds no writer running
poll_for(sub { defined $victim_file && !-e "$spool_dir/$victim_file" });
poll_for(
	sub {
		$node->safe_psql('postgres',
			q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'automl log writer'}) eq '0';
	});
ok(defined $victim_file && !-e "$spool_dir/$victim_file",
	"the killed backend's spool file was deleted once ingested")
  or diag 'spool directory: ' . join(' ', spool_files($spool_dir, 'spool|done'));
ok(!-d $node->data_dir . "/automl_log/$scratch_oid",
	'the spool directory of the dropped database was removed');

$node->stop;
done_testing();
