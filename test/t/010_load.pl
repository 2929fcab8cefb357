# 010_load.pl: scoring under load while the model's life cycle goes on, the mix of
# bench/load.sh for about a minute (AUTOML_LOAD_SECONDS, default 60). Two pgbench
# runs score the committed phoneme data set with prediction logging at sample rate
# 1 (single-row statements, and 1,000-row statements) while this script, in a
# loop, trains a new version, deploys the newest version that does not serve,
# rolls back, retrains, and purges the log's rows older than 15 seconds. Then:
#   - no client error: every statement succeeded, no client aborted;
#   - exactly once: the rows in automl.predictions plus the rows the purges
#     deleted (what automl_purge_predictions returned) equal the rows scored by
#     the statements pgbench counted, and no key (a random tag per statement
#     times 10000 plus the row's id) is logged twice;
#   - every deploy and rollback is seen serving: a prediction of the version it
#     made serve is logged after the call returned; the audit trail has each;
#   - no maintenance call failed, no transaction of the database rolled back,
#     no ERROR or crash in the server log, the server did not restart.
# No timing is asserted (the latencies are bench/load.sh's business): every wait
# is a bounded poll.
use strict;
use warnings;

use Cwd qw(abs_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $root = abs_path($ENV{AUTOML_ROOT} // '.');
my $data = "$root/test/data/phoneme.csv";
-f $data
  or BAIL_OUT("cannot find test/data under $root: run from the repository root or set AUTOML_ROOT");
my $seconds = $ENV{AUTOML_LOAD_SECONDS} // 60;
my $batch_rows = 1000;
my $purge_age = '15 seconds';

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
max_connections = 30
log_min_messages = warning
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql(qq{
CREATE EXTENSION automl;
CREATE TABLE load_t (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     "V1" float8, "V2" float8, "V3" float8, "V4" float8, "V5" float8, "Class" text);
\\copy load_t ("V1", "V2", "V3", "V4", "V5", "Class") FROM '$data' CSV HEADER
VACUUM ANALYZE load_t;
});
my $n = sql('SELECT count(*) FROM load_t');
is(sql('SELECT max(id) FROM load_t'), $n, "load_t holds phoneme's $n rows with ids 1..$n");
is( sql(q{SELECT version || ' ' || deployed FROM automl_train('load_m', 'load_t', 'Class', exclude => ARRAY['id'],
        algorithms => ARRAY['gbdt'], hyperparams => '{"n_estimators": 50}', seed => 0)}),
	'1 true', 'version 1 of load_m trained and deployed');
is(sql(q{SELECT enabled || ' ' || sample_rate FROM automl_monitor('load_m', key => 'id', sample_rate => 1)}),
	'true 1', 'load_m is logged at sample rate 1');

# ---------------------------------------------------------------------------
# The scoring clients: every statement's rows get keys of their own.

my $dir = PostgreSQL::Test::Utils::tempdir();
my %script = (
	one => qq{\\set id random(1, $n)
\\set tag random(1, 900000000000000)
SELECT automl_predict('load_m', s) FROM (SELECT "V1", "V2", "V3", "V4", "V5", :tag::bigint * 10000 + id AS id FROM load_t WHERE id = :id) s;
},
	batch => qq{\\set first random(1, @{[ $n - $batch_rows + 1 ]})
\\set tag random(1, 900000000000000)
SELECT count(automl_predict('load_m', s)) FROM (SELECT "V1", "V2", "V3", "V4", "V5", :tag::bigint * 10000 + id AS id FROM load_t WHERE id BETWEEN :first AND :first + @{[ $batch_rows - 1 ]}) s;
});
my %rate = (one => 100, batch => 2);
my %rows_per = (one => 1, batch => $batch_rows);

my $rollbacks_before = sql(
	q{SELECT pg_stat_force_next_flush(); SELECT pg_stat_clear_snapshot();
	  SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()});
$rollbacks_before = (split /\n/, $rollbacks_before)[-1];
my $start_time = sql('SELECT pg_postmaster_start_time()');
my $log_offset = -s $node->logfile;

my %bench;
for my $k (sort keys %script)
{
	PostgreSQL::Test::Utils::append_to_file("$dir/$k.sql", $script{$k});
	$bench{$k} = IPC::Run::start(
		[
			'pgbench', '-n', '-h', $node->host, '-p', $node->port,
			'-c', 2, '-j', 1, '-R', $rate{$k}, '-T', $seconds,
			'-f', "$dir/$k.sql", '--log', "--log-prefix=$dir/$k", 'postgres'
		],
		'>', "$dir/$k.out", '2>', "$dir/$k.err");
}
my $end = time + $seconds;

# ---------------------------------------------------------------------------
# The life cycle, in a loop while they score.

my (%calls, %failed, @visible, $purged);
$purged = 0;

# Runs one call; returns its first output line (undef when it failed) and the
# server's clock after it committed.
sub call
{
	my ($kind, $query) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"$query;\nSELECT extract(epoch FROM clock_timestamp());");
	$calls{$kind}++;
	if ($ret != 0)
	{
		$failed{$kind}++;
		diag "$kind failed: $err";
		return (undef, undef);
	}
	my @lines = split /\n/, $out;
	return ($lines[0], $lines[-1]);
}

# Waits (30 s at most) for a logged prediction of $version made after $t.
sub seen_serving
{
	my ($kind, $version, $t) = @_;
	my $deadline = time + 30;
	my $seen;
	while (1)
	{
		$seen = sql(
			qq{SELECT EXISTS (SELECT 1 FROM automl.predictions WHERE model = 'load_m'
			   AND version = $version AND predicted_at > to_timestamp($t))});
		last if $seen eq 't' || time > $deadline;
		sleep 0.1;
	}
	push @visible, [ $kind, $version, $seen eq 't' ];
}

my $i = 0;
while (time < $end)
{
	$i++;
	call('train',
		qq{SELECT version FROM automl_train('load_m', 'load_t', 'Class', exclude => ARRAY['id'],
		   algorithms => ARRAY['gbdt'], hyperparams => '{"n_estimators": @{[ 40 + ($i % 3) * 10 ]}}', seed => $i)});
	sleep 1;
	last if time >= $end;
	my $target = sql(
		q{SELECT max(version) FROM automl.models WHERE name = 'load_m' AND retired_at IS NULL
		  AND version <> (SELECT version FROM automl.deployed WHERE name = 'load_m')});
	my ($v, $t) = call('deploy', "SELECT version FROM automl_deploy('load_m', $target, 'load test')");
	sleep 1;
	seen_serving('deploy', $v, $t) if defined $v;
	last if time >= $end;
	($v, $t) = call('rollback', q{SELECT version FROM automl_rollback('load_m', 'load test')});
	sleep 1;
	seen_serving('rollback', $v, $t) if defined $v;
	last if time >= $end;
	call('retrain', q{SELECT version FROM automl_retrain('load_m', 'load test')});
	sleep 1;
	last if time >= $end;
	my ($deleted) = call('purge', "SELECT automl_purge_predictions('$purge_age', 'load_m')");
	$purged += $deleted // 0;
	sleep 1;
}
note "maintenance: $i rounds; " . join(', ', map { "$_ $calls{$_}" } sort keys %calls);

# ---------------------------------------------------------------------------
# The clients' side.

my %processed;
for my $k (sort keys %bench)
{
	my $clean = $bench{$k}->finish;
	my $out = slurp_file("$dir/$k.out");
	my $err = slurp_file("$dir/$k.err");
	ok($clean, "pgbench $k exited with status 0") or diag "stdout:\n$out\nstderr:\n$err";
	my ($p) = $out =~ /number of transactions actually processed: (\d+)/;
	my ($f) = $out =~ /number of failed transactions: (\d+)/;
	ok(defined $p && $p > 0, "pgbench $k ran statements (" . ($p // 'none') . ')');
	is($f, '0', "pgbench $k: no failed statement");
	unlike($err, qr/aborted|ERROR/, "pgbench $k: no client aborted, no error");
	my ($lines, $bad) = (0, 0);
	for my $file (glob("$dir/$k.[0-9]*"))
	{
		for my $line (split /\n/, slurp_file($file))
		{
			my @f = split ' ', $line;
			if (@f >= 6 && $f[2] =~ /^\d+$/) { $lines++ } else { $bad++ }
		}
	}
	is($lines, $p // -1, "pgbench $k: its log has a line for every statement it counted");
	is($bad, 0, "pgbench $k: no failed or skipped statement in its log");
	$processed{$k} = $p // 0;
}

# ---------------------------------------------------------------------------
# The log: exactly once.

sql('SELECT automl_flush_predictions()');
my $expected = $processed{one} * $rows_per{one} + $processed{batch} * $rows_per{batch};
my ($logged, $distinct) = split /\|/,
  sql(q{SELECT count(*), count(DISTINCT key) FROM automl.predictions WHERE model = 'load_m'});
note "scored $expected rows: $logged in the log, $purged purged";
is($logged + $purged, $expected,
	"every scored row logged once: $logged in the log + $purged purged = $processed{one} single-row + $processed{batch} x $batch_rows");
is($distinct, $logged, 'no key logged twice');

# ---------------------------------------------------------------------------
# The life cycle's side.

ok($calls{$_}, "the loop called $_") for qw(train deploy rollback retrain purge);
is(join(',', map { "$_=" . ($failed{$_} // 0) } sort keys %calls),
	join(',', map { "$_=0" } sort keys %calls), 'no maintenance call failed');
is(scalar(grep { !$_->[2] } @visible), 0,
	'every deploy and rollback (' . scalar(@visible) . ') was seen serving in the log')
  or diag join("\n", map { "$_->[0] to version $_->[1]: " . ($_->[2] ? 'seen' : 'NOT seen') } @visible);
is( sql(q{SELECT string_agg(event || '=' || n, ',' ORDER BY event) FROM
	      (SELECT event, count(*) AS n FROM automl.audit WHERE model = 'load_m' AND reason = 'load test'
	       AND event IN ('deploy', 'rollback') GROUP BY event) e}),
	"deploy=" . ($calls{deploy} - ($failed{deploy} // 0)) . ",rollback=" . ($calls{rollback} - ($failed{rollback} // 0)),
	'the audit trail has every deploy and rollback');

# ---------------------------------------------------------------------------
# The server.

my $rollbacks_after = sql(
	q{SELECT pg_stat_force_next_flush(); SELECT pg_stat_clear_snapshot();
	  SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()});
$rollbacks_after = (split /\n/, $rollbacks_after)[-1];
is($rollbacks_after - $rollbacks_before, 0, 'no transaction of the database rolled back');
is(sql('SELECT pg_postmaster_start_time()'), $start_time, 'the server did not restart');
my $server_log = substr(slurp_file($node->logfile), $log_offset);
my @bad = grep { /\b(ERROR|FATAL|PANIC):|terminated by signal|server process .* exited/ } split /\n/, $server_log;
is(scalar @bad, 0, 'no ERROR, FATAL, PANIC or crash in the server log')
  or diag join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

$node->stop;
done_testing();
