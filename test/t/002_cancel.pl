
# 002_cancel.pl: a long automl_train is interruptible by pg_cancel_backend and by
# statement_timeout, stores nothing, and leaves the backend able to train and score.
# The latencies are reported with note, never asserted (machines are noisy).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION automl');

my $t0 = time;
$node->safe_psql(
	'postgres', q{
CREATE TABLE big AS
SELECT sin(i) AS x1, cos(i * 1.3) AS x2, sin(i * 0.7) AS x3, cos(i * 0.3) AS x4,
       sin(i * 2.1) AS x5,
       (sin(i) + cos(i * 1.3) + 0.3 * sin(i * 3.1) > 0) AS label
FROM generate_series(1, 2000000) AS i;
ANALYZE big;
});
note sprintf('created the 2,000,000-row table in %.2f s', time - $t0);

# The session that trains; it keeps going after an error.
my $s = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $s->query_safe('SELECT pg_backend_pid()');
# every row read (the default automl.train_memory would sample them): a long training
$s->query_safe("SET automl.max_train_memory = 0");
$s->query_safe("SET automl.train_memory = '4GB'");
# The session that looks for it and cancels it (no psql start-up in the timing).
my $m = $node->background_psql('postgres');

my $n_run = 0;

# Start automl_train('slow', ..., max_trials => 1) in $s without waiting for it; returns the marker
# that is echoed when the statement has ended.
sub start_training
{
	my ($prefix) = @_;
	$n_run++;
	$s->{stderr} = '';
	$s->query_until(qr/started $n_run\n/,
		"\\echo started $n_run\n${prefix}SELECT * FROM automl_train('slow', 'big', 'label', max_trials => 1);\n\\echo ended $n_run\n"
	);
	return qr/ended $n_run\n/;
}

sub wait_training_active
{
	return $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
WHERE query LIKE '%automl_train%' AND state = 'active' AND pid <> pg_backend_pid()});
}

sub check_nothing_stored
{
	my ($what) = @_;
	is($node->safe_psql('postgres', q{SELECT count(*) FROM automl.models WHERE name = 'slow'}),
		'0', "$what: automl.models has no row for 'slow'");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM automl.deployments WHERE name = 'slow'}),
		'0', "$what: automl.deployments has no row for 'slow'");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'}),
		'0', "$what: no advisory lock left behind");
}

# ---------------------------------------------------------------------------
# pg_cancel_backend after ~1 s, and once more later in the run.

foreach my $delay (1, 3)
{
	my $ended = start_training('');
	ok(wait_training_active(), "training is running (cancel after ${delay} s)");
	sleep($delay);

	my $target = $m->query_safe(
		q{SELECT pid FROM pg_stat_activity
WHERE query LIKE '%automl_train%' AND state = 'active' AND pid <> pg_backend_pid()});
	is($target, $pid, 'found the training backend in pg_stat_activity');
	my $tc = time;
	is($m->query_safe("SELECT pg_cancel_backend($target)"),
		't', 'pg_cancel_backend returned true');
	my $out = $s->query_until($ended, '');
	my $latency = time - $tc;

	like($s->{stderr}, qr/ERROR:  canceling statement due to user request/,
		"training canceled after ${delay} s ends with the cancel error");
	unlike($out, qr/^slow\|/m, 'and returns no row');
	$s->{stderr} = '';
	note sprintf('cancel after %d s: %.3f s from pg_cancel_backend to the error', $delay, $latency);
	check_nothing_stored("canceled after ${delay} s");
}

# ---------------------------------------------------------------------------
# statement_timeout = 1s

{
	my $ended = start_training("SET statement_timeout = '1s';\n");
	my $ts = time;
	my $out = $s->query_until($ended, '');
	my $elapsed = time - $ts;
	like($s->{stderr}, qr/ERROR:  canceling statement due to statement timeout/,
		'statement_timeout ends the training with the timeout error');
	unlike($out, qr/^slow\|/m, 'and returns no row');
	$s->{stderr} = '';
	note sprintf('statement_timeout = 1s: statement ended after %.3f s (%.3f s past the timeout)',
		$elapsed, $elapsed - 1);
	check_nothing_stored('statement timeout');
	$s->query_safe('RESET statement_timeout');
}

# ---------------------------------------------------------------------------
# The server and the canceled backend are fine.

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up');
is($s->query_safe('SELECT pg_backend_pid()'), $pid, 'the canceled backend is the same one');

$s->query_safe(
	q{CREATE TABLE small AS
SELECT sin(i) AS x1, cos(i * 1.3) AS x2, sin(i * 0.7) AS x3, cos(i * 0.3) AS x4,
       sin(i * 2.1) AS x5,
       (sin(i) + cos(i * 1.3) + 0.3 * sin(i * 3.1) > 0) AS label
FROM generate_series(1, 2000) AS i});
is( $s->query_safe(
		q{SELECT name || ' ' || version || ' ' || task || ' ' || deployed FROM automl_train('slow', 'small', 'label', max_trials => 1)}),
	'slow 1 classification true',
	"the canceled backend trains 'slow' again: version 1, deployed");
is( $s->query_safe(
		q{SELECT avg((automl_predict_label('slow', s) = label::text)::int) > 0.9 FROM small s}),
	't', 'and its predictions are accurate');
is( $s->query_safe(
		q{SELECT count(*) FROM small s WHERE automl_predict('slow', s) NOT BETWEEN 0 AND 1}),
	'0', 'and automl_predict gives probabilities');
is( $s->query_safe(
		q{SELECT name || ' ' || version FROM automl_train('small_reg', 'small', 'x1', exclude => ARRAY['label'], max_trials => 1)}),
	'small_reg 1', 'and trains a regression model');
is($node->safe_psql('postgres', q{SELECT count(*) FROM automl.models}),
	'2', 'the catalog holds only the two small models');

$s->quit;
$m->quit;
$node->stop;
done_testing();
