# 009_faults.pl: the server stopped with `pg_ctl stop -m immediate` (every
# process gets SIGQUIT and exits at once, as in a crash) in the middle of a
# training, of a deployment, of a scoring statement that logs, and of the log
# writer's ingestion, then started again; and a spool file that cannot be
# written (ENOSPC) or created. After each restart the catalog is checked with
# exact queries: every model version has its bytes and loads (checksum
# included), no name without a version, deployments point at stored versions,
# no training shown as running, and the prediction log holds every record that
# reached a spool file exactly once (docs/monitoring.md: what a statement still
# running at the crash had buffered is lost, what it had written is not). Each
# fault is reached by polling what the server shows (training_progress,
# pg_stat_activity wait events, spool files, automl.log_spool), never by a
# bare sleep. docs/reliability.md describes the faults and the figures.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $node = PostgreSQL::Test::Cluster->new('faults');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
max_worker_processes = 8
shared_buffers = 128MB
max_wal_size = 1GB
});
$node->start;

my $N = 300000;    # rows of t
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION automl;
CREATE TABLE t AS
SELECT i AS id, sin(i) AS x1, cos(i * 1.3) AS x2, sin(i * 0.7) AS x3
FROM generate_series(1, $N) AS i;
ALTER TABLE t ADD COLUMN y float8;
UPDATE t SET y = 3 * x1 - 2 * x2 + 0.5 * x3 + 0.1 * sin(id * 7.7);
VACUUM ANALYZE t;
});
is( $node->safe_psql(
		'postgres',
		q{SELECT version, deployed FROM automl_train('m', 't', 'y', exclude => ARRAY['id'],
                                       algorithms => ARRAY['linear'], max_trials => 1)}),
	'1|t', 'trained and deployed version 1 of m');
is( $node->safe_psql('postgres',
		q{SELECT enabled, key_column FROM automl_monitor('m', key => 'id', sample_rate => 1.0)}),
	't|id', 'the predictions of m are logged, with key id');

my $dboid = $node->safe_psql('postgres',
	q{SELECT oid FROM pg_database WHERE datname = current_database()});
my $spool_dir = $node->data_dir . "/automl_log/$dboid";

# Calls $check until it returns true, for at most 120 s; returns its last result.
sub poll_for
{
	my ($check) = @_;
	my $deadline = time + 120;
	while (time < $deadline)
	{
		my $ok = $check->();
		return $ok if $ok;
		sleep 0.02;
	}
	return $check->();
}

# The spool files a process (by pid) wrote, in the order it wrote them.
sub spool_files_of
{
	my ($pid) = @_;
	opendir(my $dh, $spool_dir) or return ();
	my @files =
	  sort { ($a =~ /-(\d+)\.\w+$/)[0] <=> ($b =~ /-(\d+)\.\w+$/)[0] }
	  grep { /^\d+-\d+-$pid-\d+\.(spool|done)$/ } readdir $dh;
	closedir $dh;
	return @files;
}

# The whole records of a spool file (format: src/serve/log.c, log_encode): for
# each, the offset where it ends and its key. A partial record at the end is
# not counted (the writer does not ingest it either).
sub spool_records
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "could not open $path: $!";
	local $/;
	my $data = <$fh>;
	close $fh;
	my @records;
	my $pos = 0;
	while ($pos + 8 <= length $data)
	{
		my $len = unpack('V', substr($data, $pos, 4));
		last if $pos + 8 + $len > length $data;
		my $p = $pos + 8 + 8 + 4;    # payload: predicted_at, version, then the model
		my $model_len = unpack('V', substr($data, $p, 4));
		$p += 4 + $model_len;
		my $key;
		if (unpack('C', substr($data, $p, 1)))
		{
			my $key_len = unpack('V', substr($data, $p + 1, 4));
			$key = substr($data, $p + 5, $key_len);
		}
		$pos += 8 + $len;
		push @records, [ $pos, $key ];
	}
	return (\@records, length $data);
}

# Stops the server as a crash would and starts it again; the sessions given lose
# their server.
sub crash_and_restart
{
	my @sessions = @_;
	$node->stop('immediate');
	eval { $_->quit } foreach @sessions;
	$node->start;
}

# The catalog invariants, after a restart. $expect: "name@version" of every
# stored version, and name => deployed version.
sub check_catalog
{
	my ($when, $versions, $deployed) = @_;
	is( $node->safe_psql(
			'postgres',
			q{SELECT string_agg(name || '@' || version, ',' ORDER BY name, version) FROM automl.models}),
		join(',', @$versions),
		"$when: automl.models holds exactly " . join(', ', @$versions));
	# Each version loaded by a new backend from its stored bytes: the loader
	# checks the header, length and CRC-32C, then scores a row. The row is made
	# up (id -1), so that its logged prediction is told apart from the tests'.
	is( $node->safe_psql(
			'postgres', q{
SELECT count(*) FILTER (WHERE m.model_bytes IS NOT NULL AND length(m.model_bytes) > 32),
       count(*) FILTER (WHERE s.p IS NOT NULL AND s.p = s.p)
FROM automl.models m,
     LATERAL (SELECT automl_predict(m.name || '@' || m.version, r) AS p
              FROM (SELECT -1 AS id, 0.5::float8 AS x1, 0.25::float8 AS x2, -0.5::float8 AS x3,
                           'made up' AS k) r) s}),
		scalar(@$versions) . '|' . scalar(@$versions),
		"$when: every version has its bytes, loads and scores a row");
	is( $node->safe_psql(
			'postgres', q{
SELECT (SELECT count(*) FROM automl.registry r
         WHERE NOT EXISTS (SELECT 1 FROM automl.models m WHERE m.name = r.name)),
       (SELECT count(*) FROM automl.deployments d
         WHERE NOT EXISTS (SELECT 1 FROM automl.models m
                           WHERE (m.name, m.version) = (d.name, d.version) AND m.model_bytes IS NOT NULL)),
       (SELECT count(*) FROM automl.events e
         WHERE e.version IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM automl.models m WHERE (m.name, m.version) = (e.name, e.version))),
       (SELECT count(*) FROM automl.trials t
         WHERE NOT EXISTS (SELECT 1 FROM automl.models m WHERE (m.name, m.version) = (t.name, t.version))),
       (SELECT count(*) FROM automl.training_progress)}),
		'0|0|0|0|0',
		"$when: no name without a version, no deployment, event or trial of a missing version, no training shown running"
	);
	is( $node->safe_psql(
			'postgres',
			q{SELECT string_agg(name || '@' || version, ',' ORDER BY name) FROM automl.deployed}),
		join(',', map { "$_\@$deployed->{$_}" } sort keys %$deployed),
		"$when: deployed: " . join(', ', map { "$_\@$deployed->{$_}" } sort keys %$deployed));
}

# Moves everything pending into automl.predictions (in the caller's transaction).
sub flush
{
	return $node->safe_psql('postgres', 'SELECT automl_flush_predictions()');
}

# ---------------------------------------------------------------------------
# 1. Training. At the crash: a search running (a gbdt trial done, more to
# come), a version 2 of m stored in a transaction not yet committed, and a
# third training of m that finished its search and waits for m's lock to store
# its version. None of them may leave anything behind.

my $events_before = $node->safe_psql('postgres', 'SELECT count(*) FROM automl.events');

# big trains on 5,000 rows: a gbdt trial takes seconds, the search many of them.
$node->safe_psql('postgres', 'CREATE VIEW few AS SELECT * FROM t WHERE id <= 5000');
my $search = $node->background_psql('postgres', on_error_stop => 0);
my $search_pid = $search->query_safe('SELECT pg_backend_pid()');
$search->query_until(qr/started search\n/, q{\echo started search
SELECT * FROM automl_train('big', 'few', 'y', exclude => ARRAY['id'], algorithms => ARRAY['gbdt'],
                           max_trials => 200, time_budget => 600);
});

my $uncommitted = $node->background_psql('postgres', on_error_stop => 0);
is( scalar $uncommitted->query(
		q{BEGIN; SELECT version FROM automl_train('m', 't', 'y', exclude => ARRAY['id'],
                                        algorithms => ARRAY['linear'], max_trials => 1)}),
	'2', 'version 2 of m is stored in a transaction that is not committed');

my $storing = $node->background_psql('postgres', on_error_stop => 0);
my $storing_pid = $storing->query_safe('SELECT pg_backend_pid()');
$storing->query_until(qr/started storing\n/, q{\echo started storing
SELECT * FROM automl_train('m', 't', 'y', exclude => ARRAY['id'], algorithms => ARRAY['linear'], max_trials => 1);
});

ok( poll_for(
		sub {
			$node->safe_psql('postgres',
				qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $storing_pid AND wait_event = 'advisory'}) eq
			  '1';
		}),
	'the third training of m finished its search and waits for the lock of m to store its version');
my $progress;
ok( poll_for(
		sub {
			$progress = $node->safe_psql('postgres',
				qq{SELECT phase, trials FROM automl.training_progress WHERE pid = $search_pid});
			return $progress =~ /^(portfolio|search)\|[1-9]\d*$/;
		}),
	"the search of big is running with trials done ($progress)");
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM automl.training_progress WHERE model IN ('big', 'm')}),
	'2', 'automl.training_progress shows the two trainings still running');

crash_and_restart($search, $uncommitted, $storing);

check_catalog('after the crash during training', ['m@1'], { m => 1 });
is($node->safe_psql('postgres', 'SELECT count(*) FROM automl.events'),
	$events_before, 'no audit event of the lost trainings');
is( $node->safe_psql(
		'postgres', q{SELECT version, deployed FROM automl_train('m', 't', 'y', exclude => ARRAY['id'],
                                                      algorithms => ARRAY['linear'], max_trials => 1)}),
	'2|f',
	'training m again after the restart stores version 2 (the same recipe on the same rows: not deployed)');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM automl.trials WHERE name = 'big'}),
	'0', 'big has no trials stored');

# ---------------------------------------------------------------------------
# 2. Deployment. At the crash: automl_deploy('m', 2) done in a transaction not
# yet committed (its deployment row and event written), and an automl_rollback
# of m waiting for m's lock behind it. Then a deployment committed just before
# a crash is still there after it.

$events_before = $node->safe_psql('postgres', 'SELECT count(*) FROM automl.events');
my $deploying = $node->background_psql('postgres', on_error_stop => 0);
is( scalar $deploying->query(q{BEGIN; SELECT version, previous_version FROM automl_deploy('m', 2)}),
	'2|1', 'automl_deploy(m, 2) ran in a transaction that is not committed');
my $rolling = $node->background_psql('postgres', on_error_stop => 0);
my $rolling_pid = $rolling->query_safe('SELECT pg_backend_pid()');
$rolling->query_until(qr/started rollback\n/, q{\echo started rollback
SELECT * FROM automl_rollback('m');
});
ok( poll_for(
		sub {
			$node->safe_psql('postgres',
				qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $rolling_pid AND wait_event = 'advisory'}) eq
			  '1';
		}),
	'automl_rollback(m) waits for the lock of m');

crash_and_restart($deploying, $rolling);

check_catalog('after the crash during deployment', [ 'm@1', 'm@2' ], { m => 1 });
is($node->safe_psql('postgres', 'SELECT count(*) FROM automl.events'),
	$events_before, 'no audit event of the lost deployment');

is($node->safe_psql('postgres', q{SELECT version FROM automl_deploy('m', 2)}),
	'2', 'automl_deploy(m, 2) committed');
crash_and_restart();
check_catalog('after a crash right after a committed deployment', [ 'm@1', 'm@2' ], { m => 2 });
is( $node->safe_psql(
		'postgres',
		q{SELECT event || ':' || version FROM automl.events WHERE name = 'm' ORDER BY id DESC LIMIT 1}),
	'deploy:2', 'its audit event is there too');

# ---------------------------------------------------------------------------
# 3. Scoring with logging on. Committed statements score ids 280001..300000 in
# 20 statements of 1,000; then one statement scores ids 1..280000 in id order
# and stops at id 250000 (after scoring it) on an advisory lock that this test
# holds; the crash comes while it waits. Promise: the committed statements'
# 20,000 rows are logged once each; of the killed statement, exactly the records
# its process had written to its spool file (every 256 kB buffer) are logged,
# once each, and its buffered ones are lost.

my $blocker = $node->background_psql('postgres');
$blocker->query_safe('SELECT pg_advisory_lock(77)');

my $committed = $node->background_psql('postgres');
$committed->query_safe('SET max_parallel_workers_per_gather = 0');
my $committed_pid = $committed->query_safe('SELECT pg_backend_pid()');
my $scored = 0;
for my $s (0 .. 19)
{
	my ($lo, $hi) = (280001 + 1000 * $s, 281000 + 1000 * $s);
	$scored += $committed->query_safe(
		"SELECT count(automl_predict('m', t)) FROM t t WHERE id BETWEEN $lo AND $hi");
}
is($scored, 20000, 'committed statements scored 20000 rows (ids 280001..300000)');

my $long = $node->background_psql('postgres', on_error_stop => 0);
$long->query_safe('SET max_parallel_workers_per_gather = 0; SET synchronize_seqscans = off');
my $long_pid = $long->query_safe('SELECT pg_backend_pid()');
$long->query_until(qr/started long\n/, q{\echo started long
SELECT count(automl_predict('m', t) + CASE WHEN t.id = 250000 THEN length(pg_advisory_lock_shared(77)::text) ELSE 0 END)
FROM t t WHERE id <= 280000;
});
ok( poll_for(
		sub {
			$node->safe_psql('postgres',
				qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $long_pid AND wait_event = 'advisory'}) eq '1';
		}),
	'the long statement scored up to id 250000 and waits');
my ($long_file) = spool_files_of($long_pid);
ok(defined $long_file, 'the long statement has written to its spool file (' . ($long_file // 'none') . ')');
# The log writer reads the file of a running statement too: wait until it
# has ingested some of it, so that the crash finds its records in all three
# states (in the table, in the spool file only, in the process's buffer).
my $before_crash;
ok( poll_for(
		sub {
			$before_crash = $node->safe_psql('postgres',
				q{SELECT count(*) FROM automl.predictions WHERE model = 'm' AND key::int BETWEEN 1 AND 280000});
			return $before_crash > 0;
		}),
	"the log writer ingested rows of the running statement ($before_crash) before the crash");

crash_and_restart($blocker, $committed, $long);

# Its process is gone: the file is what it wrote, read before a writer deletes it.
my ($records, $size) = spool_records("$spool_dir/$long_file");
my @keys = map { $_->[1] } @$records;
my $n_written = scalar @keys;
note "the killed statement's spool file: $size bytes, $n_written whole records";
ok($n_written > 0 && $n_written < 250000,
	"its spool file holds $n_written of the 250000 rows it scored (the rest were buffered)");
is($records->[-1][0], $size, 'the file ends at the end of a record');
is( join(',', $keys[0], $keys[-1], scalar(grep { $keys[$_] != $_ + 1 } 0 .. $#keys)),
	"1,$n_written,0", "the records are ids 1..$n_written, in scan order");

my $flushed = flush();
note "automl_flush_predictions() after the restart inserted $flushed rows";
is( $node->safe_psql(
		'postgres', q{
SELECT count(*), count(DISTINCT key), min(key::int), max(key::int)
FROM automl.predictions WHERE model = 'm' AND key::int BETWEEN 1 AND 280000}),
	"$n_written|$n_written|1|$n_written",
	"the killed statement: its $n_written written records are logged once each, nothing else");
is( $node->safe_psql(
		'postgres', q{
SELECT count(*), count(DISTINCT key), min(key::int), max(key::int)
FROM automl.predictions WHERE model = 'm' AND key::int > 280000}),
	'20000|20000|280001|300000', 'the committed statements: their 20000 rows are logged once each');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM automl.predictions p JOIN t ON t.id = p.key::int
WHERE p.model = 'm' AND (p.version <> 2 OR (p.features->>'x1')::float8 <> t.x1)}),
	'0', 'every logged row has the version that scored it (2) and the features it was given');
check_catalog('after the crash during scoring', [ 'm@1', 'm@2' ], { m => 2 });

# ---------------------------------------------------------------------------
# 4. Ingestion. A session scores 58,000 rows of model w with 1,000-character
# keys (a 63 MB spool file, under the 64 MB at which a file is rotated) while
# this test holds the writer's ingestion lock; then the lock is released, and
# the crash comes when the writer has committed its first round (32 MB: the
# position is in automl.log_spool) and is inserting the second. After the
# restart the table must hold exactly the records before the committed
# position, and after ingestion every record once.

my $W = 58000;
$node->safe_psql(
	'postgres', qq{
CREATE TABLE tw AS
SELECT id, x1, x2, x3, y, lpad(id::text, 1000, '0') AS k FROM t WHERE id <= $W;
SELECT version FROM automl_train('w', 'tw', 'y', exclude => ARRAY['id', 'k'],
                                 algorithms => ARRAY['linear'], max_trials => 1);
SELECT enabled FROM automl_monitor('w', key => 'k');
});
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(6385005, 0)');    # INGEST_LOCK_CLASS
my $wide = $node->background_psql('postgres');
$wide->query_safe('SET max_parallel_workers_per_gather = 0');
my $wide_pid = $wide->query_safe('SELECT pg_backend_pid()');
is($wide->query_safe(q{SELECT count(automl_predict('w', w)) FROM tw w}),
	$W, "the session scored $W rows of w");
my ($wide_file) = spool_files_of($wide_pid);
my $wide_base = $wide_file =~ s/\.\w+$//r;
is(scalar(spool_files_of($wide_pid)), 1, "in one spool file ($wide_file)");
is($node->safe_psql('postgres', q{SELECT count(*) FROM automl.predictions WHERE model = 'w'}),
	'0', 'with the ingestion lock held, nothing of w is ingested');

$holder->query_safe('SELECT pg_advisory_unlock(6385005, 0)');
my $state;
ok( poll_for(
		sub {
			$state = $node->safe_psql(
				'postgres', qq{
SELECT (SELECT coalesce(max(consumed), 0) FROM automl.log_spool WHERE file = '$wide_base'),
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'automl log writer' AND backend_xid IS NOT NULL)});
			return $state =~ /^([1-9]\d*)\|1$/;
		}),
	"the writer committed a first round and is inserting the next (consumed|writers in a transaction: $state)");

crash_and_restart($holder, $wide);

($records, $size) = spool_records("$spool_dir/$wide_file");
is(scalar @$records, $W, "the spool file holds $W records ($size bytes)");
my ($consumed, $ingested) = split /\|/,
  $node->safe_psql(
	'postgres', qq{
SELECT (SELECT consumed FROM automl.log_spool WHERE file = '$wide_base'),
       (SELECT count(*) FROM automl.predictions WHERE model = 'w')});
my $before_position = grep { $_->[0] <= $consumed } @$records;
note "after the restart: committed position $consumed of $size bytes, $ingested rows of w in the table";
ok($consumed > 0 && $consumed < $size, 'the crash came after a committed round, before the last one');
ok((grep { $_->[0] == $consumed } @$records), 'the committed position is the end of a record');
is($ingested, $before_position,
	"the table holds exactly the $before_position records before the committed position");
flush();
is( $node->safe_psql(
		'postgres', q{
SELECT count(*), count(DISTINCT key), min(ltrim(key, '0')::int), max(ltrim(key, '0')::int)
FROM automl.predictions WHERE model = 'w'}),
	"$W|$W|1|$W", "after ingestion every one of the $W records is in the table once");
check_catalog('after the crash during ingestion', [ 'm@1', 'm@2', 'w@1' ], { m => 2, w => 1 });

# The file of the killed session is of the generation before the crash, so
# complete; once ingested, the next writer round deletes it.
$node->safe_psql('postgres', q{SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 10});
ok(poll_for(sub { !-e "$spool_dir/$wide_file" && !-e "$spool_dir/$long_file" }),
	'the spool files of the killed sessions are deleted once ingested');

# ---------------------------------------------------------------------------
# 5. A spool file that cannot be written. The spool directory is
# $PGDATA/automl_log/<database oid>, not configurable; the test runs as an
# ordinary user that cannot mount a small file system, so the session's spool
# file is made a symbolic link to /dev/full before its first logged statement:
# write() fails with ENOSPC, the error of a full disk. Then a spool directory
# where no file can be created (read-only: open() fails).

my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $keeper = $node->background_psql('postgres');
$keeper->query_safe(q{SELECT count(automl_predict('m', t)) FROM t t WHERE id = 1});
my $keeper_pid = $keeper->query_safe('SELECT pg_backend_pid()');
my ($keeper_file) = spool_files_of($keeper_pid);
my ($generation) = $keeper_file =~ /^(\d+)-/;

my $full = $node->background_psql('postgres', on_error_stop => 0);
# serial: a parallel worker would write a spool file of its own, not the one made full
$full->query_safe('SET max_parallel_workers_per_gather = 0');
my ($full_pid, $full_start) = split /\|/, $full->query_safe(
	q{SELECT pid, (extract(epoch FROM backend_start - '2000-01-01 00:00:00+00') * 1000000)::int8
      FROM pg_stat_activity WHERE pid = pg_backend_pid()});
my $full_name = "$generation-$full_start-$full_pid-0.spool";
symlink('/dev/full', "$spool_dir/$full_name") or die "symlink: $!";
flush();
my $logged_before = $node->safe_psql('postgres', q{SELECT count(*) FROM automl.predictions WHERE model = 'm'});
my $full_began = $node->safe_psql('postgres', q{SELECT clock_timestamp()});

my @full_results;
my @full_warnings;
for my $range ('id <= 1000', 'id BETWEEN 1001 AND 2000')
{
	$full->{stderr} = '';
	my ($out) = $full->query("SELECT count(automl_predict('m', t)) FROM t t WHERE $range");
	push @full_results, $out;
	push @full_warnings, $full->{stderr};
}
is_deeply(\@full_results, [ '1000', '1000' ], 'with the spool file full, both statements score their rows');
like($full_warnings[0],
	qr/WARNING:  could not write the prediction log to "automl_log\/$dboid\/\Q$full_name\E": No space left on device\nDETAIL:  The predictions of this statement were not logged\./,
	'the first one warns: no space left, its predictions not logged');
like($full_warnings[1], qr/No space left on device/, 'and so does the second');
$full->{stderr} = '';
is($full->query('SELECT 1'), '1', 'a statement that scores nothing runs');
is($full->{stderr}, '', 'without a warning');
flush();
is( $node->safe_psql('postgres',
		qq{SELECT count(*) FROM automl.predictions WHERE model = 'm' AND predicted_at >= '$full_began'}),
	'0', 'none of the 2000 rows reached the log');
note 'rows of m logged before and now: ' . $logged_before . ' ' . $node->safe_psql('postgres',
	qq{SELECT count(*) || ' (' || count(*) FILTER (WHERE predicted_at >= '$full_began') || ' since; keys ' || coalesce(min(key::int) FILTER (WHERE predicted_at >= '$full_began') || '-' || max(key::int) FILTER (WHERE predicted_at >= '$full_began') || ', at ' || min(predicted_at) FILTER (WHERE predicted_at >= '$full_began'), 'none') || ')' FROM automl.predictions WHERE model = 'm'});

# A directory where no spool file can be created: the same WARNING, and the
# session's later statements run (before the fix, every statement of the
# session failed at its end, SELECT 1 included).
chmod(0500, $spool_dir) or die "chmod: $!";
my $ro = $node->background_psql('postgres', on_error_stop => 0);
$ro->query_safe('SET max_parallel_workers_per_gather = 0');
$ro->{stderr} = '';
my ($ro_out) = $ro->query(q{SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 500});
my $ro_warning = $ro->{stderr};
$ro->{stderr} = '';
my ($ro_next) = $ro->query('SELECT 1');
my $ro_next_err = $ro->{stderr};
chmod(0700, $spool_dir) or die "chmod: $!";
is($ro_out, '500', 'with the spool directory read-only, the statement scores its rows');
like($ro_warning,
	qr/WARNING:  could not write the prediction log to "automl_log\/$dboid\/[^"]+": Permission denied\nDETAIL:  The predictions of this statement were not logged\./,
	'and warns that its predictions were not logged');
is($ro_next, '1', 'the next statement of the session runs');
is($ro_next_err, '', 'without an error');

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	$start_time, 'the server did not restart');
unlike(slurp_file($node->logfile), qr/terminated by signal/,
	'no server process crashed in the whole test');
$_->quit foreach ($keeper, $full, $ro);
# a logged statement starts a writer, whose rounds delete complete files
$node->safe_psql('postgres', q{SELECT count(automl_predict('m', t)) FROM t t WHERE id <= 10});
ok(poll_for(sub { !-e "$spool_dir/$full_name" && !-l "$spool_dir/$full_name" }),
	'the link to /dev/full is gone once its session ended (renamed .done, then deleted as empty)')
  or diag 'spool directory: ' . join(' ', map { s/^.*\///r } glob("$spool_dir/*"));
check_catalog('at the end', [ 'm@1', 'm@2', 'w@1' ], { m => 2, w => 1 });

$node->stop;
done_testing();
