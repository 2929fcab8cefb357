
# 005_search.pl: a time-budgeted search seen from outside. Another session
# follows it in automl.training_progress; the training session gets progress
# NOTICEs; a cancel in the middle of the search stores no model and no trial
# and frees the progress slot; the call's wall time against its budget is
# reported with note, never asserted (machines are noisy); a tree trial cut
# by the budget keeps its rounds.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $node = PostgreSQL::Test::Cluster->new('search');
$node->init;
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION automl;
CREATE TABLE rings AS
SELECT i AS id, sin(i * 0.37) * (1 + i % 5) AS x1, cos(i * 0.37) * (1 + i % 5) AS x2,
       sin(i * 1.7) AS x3, (i % 13)::text AS code,
       (i % 5) % 2 = 0 AS label
FROM generate_series(1, 20000) AS i;
});

my $s = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $s->query_safe('SELECT pg_backend_pid()');
my $m = $node->background_psql('postgres');

sub progress_rows
{
	return $m->query_safe(
		qq{SELECT count(*) FROM automl.training_progress WHERE pid = $pid});
}

# ---------------------------------------------------------------------------
# A 12-second search: visible from another session while it runs, NOTICEs in
# its own session, gone from the view when it ends.

$s->{stderr} = '';
my $t0 = time;
$s->query_until(qr/started\n/,
	"\\echo started\nSELECT version FROM automl_train('rings', 'rings', 'label', exclude => ARRAY['id'], time_budget => 12);\n\\echo ended\n"
);
ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 1 FROM automl.training_progress
WHERE pid = $pid AND model = 'rings' AND trials >= 2 AND best_score > 0.5
  AND metric = 'roc_auc' AND seconds_left < 12}),
	'another session sees the running search: trials, metric, best score, time left');
my $row = $m->query_safe(
	qq{SELECT phase || ' ' || trials FROM automl.training_progress WHERE pid = $pid});
note "progress seen from another session: $row";

$s->query_until(qr/ended\n/, '');
my $wall = time - $t0;
like($s->{stderr}, qr/NOTICE:  \d+ trials in \d+ s, best roc_auc [0-9.]+, \d+ s left/,
	'the training session got a progress NOTICE');
is(progress_rows(), '0', 'the finished training left the progress view');
my $stored = $node->safe_psql('postgres',
	q{SELECT train_seconds::numeric(6,2) || ' s, ' || (options->>'trials') || ' trials, ' || algorithm
	  FROM automl.models WHERE name = 'rings'});
note sprintf('time_budget 12: the call took %.2f s wall (%s)', $wall, $stored);
ok($stored ne '', 'the search stored a version');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) > 1 AND count(*) = (SELECT (options->>'trials')::int FROM automl.models WHERE name = 'rings')
FROM automl.trials WHERE name = 'rings'}),
	't', 'every trial is in automl.trials');

# ---------------------------------------------------------------------------
# Cancel in the middle of the search: no model, no trials, no progress row,
# and the session trains again afterwards.

$s->{stderr} = '';
$s->query_until(qr/started 2\n/,
	"\\echo started 2\nSELECT version FROM automl_train('cancelled', 'rings', 'label', exclude => ARRAY['id'], time_budget => 60);\n\\echo ended 2\n"
);
ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 1 FROM automl.training_progress WHERE pid = $pid AND trials >= 3}),
	'the second search is under way');
$m->query_safe("SELECT pg_cancel_backend($pid)");
$s->query_until(qr/ended 2\n/, '');
like($s->{stderr}, qr/canceling statement due to user request/, 'the search was cancelled');
is($node->safe_psql('postgres', q{SELECT count(*) FROM automl.models WHERE name = 'cancelled'}),
	'0', 'no model row after the cancel');
is($node->safe_psql('postgres', q{SELECT count(*) FROM automl.trials WHERE name = 'cancelled'}),
	'0', 'no trial rows after the cancel');
is(progress_rows(), '0', 'the cancelled training left the progress view');
$s->{stderr} = '';
is($s->query_safe(q{SELECT txid_current_if_assigned() IS NULL}), 't',
	'the session is out of the aborted transaction');
# a slow machine makes progress NOTICEs, which query_safe takes for errors
$s->query_safe(q{SET client_min_messages = warning});
is( $s->query_safe(
		q{SELECT version FROM automl_train('after', 'rings', 'label', exclude => ARRAY['id'], max_trials => 2)}),
	'1', 'the session trains again after the cancel');

# ---------------------------------------------------------------------------
# Two searches of one name at once: both finish, the versions do not collide.

my $s2 = $node->background_psql('postgres');
$s2->query_safe('SET client_min_messages = warning');	# no progress NOTICEs on stderr
$s->query_until(qr/started 3\n/,
	"\\echo started 3\nSELECT 'A ' || version FROM automl_train('twice', 'rings', 'label', exclude => ARRAY['id'], time_budget => 4);\n\\echo ended 3\n"
);
my $b = $s2->query_safe(
	q{SELECT 'B ' || version FROM automl_train('twice', 'rings', 'label', exclude => ARRAY['id'], time_budget => 4)});
$s->query_until(qr/ended 3\n/, '');
is( $node->safe_psql('postgres',
		q{SELECT string_agg(version::text, ',' ORDER BY version) FROM automl.models WHERE name = 'twice'}),
	'1,2', 'two concurrent searches of one name stored versions 1 and 2');
is( $node->safe_psql('postgres',
		q{SELECT count(DISTINCT version) FROM automl.trials WHERE name = 'twice'}),
	'2', 'each version has its own trials');

# ---------------------------------------------------------------------------
# A tree ensemble stopped at the time budget keeps the rounds it fitted. On a
# holdout (20,000 rows is past cross-validation for this budget) every stop is
# a first fold's, so no tree trial is thrown away: each is 'ok', and one that
# stopped records the rounds it kept as n_estimators. How many stopped depends
# on the machine's speed: noted, not asserted.

$s->query_safe(
	q{SELECT version FROM automl_train('sliced', 'rings', 'label', exclude => ARRAY['id'],
	                                   algorithms => ARRAY['linear', 'gbdt', 'random_forest'], time_budget => 2)});
is( $node->safe_psql(
		'postgres', q{
SELECT (options->>'validation') || ' ' || (SELECT count(*) FROM automl.trials t
        WHERE t.name = 'sliced' AND t.algorithm IN ('gbdt', 'random_forest') AND t.status <> 'ok')
FROM automl.models WHERE name = 'sliced'}),
	'holdout 0', 'a budget too short for the trees leaves no tree trial stopped and unused');
note 'tree trials (algorithm, n_estimators, status): ' . $node->safe_psql(
	'postgres', q{
SELECT string_agg(algorithm || ' ' || (hyperparams->>'n_estimators') || ' ' || status, '; ' ORDER BY trial)
FROM automl.trials WHERE name = 'sliced' AND algorithm IN ('gbdt', 'random_forest')});

$s->quit;
$s2->quit;
$m->quit;
$node->stop;
done_testing();
