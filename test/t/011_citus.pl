
# 011_citus.pl: automl on a Citus cluster (docs/scale-out.md): a coordinator and two
# workers on loopback ports. CREATE EXTENSION on the coordinator reaches the workers;
# automl_citus_setup() replicates what scoring needs; automl_predict and friends over a
# distributed table run on the workers (the plan says so) and answer exactly what one
# node answers; deployments and rollbacks made while other sessions score are seen by
# the next statement with no error; a worker restarted mid-way serves again; training,
# evaluation and retraining read distributed tables through the coordinator.
#
# Needs Citus (a test dependency only, AGPL-3.0, never linked into automl): test/run.sh
# builds it with ../shared/vendor/build-citus.sh where that exists. Without it this file
# says so and skips.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
if (!-f "$pkglibdir/citus.so")
{
	plan skip_all => "SKIPPED: Citus is not installed in $pkglibdir"
	  . ' (test/run.sh builds it where ../shared/vendor/build-citus.sh exists)';
}

my $data = abs_path(dirname(__FILE__) . '/../data');

my @nodes;
for my $name ('coordinator', 'worker1', 'worker2')
{
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
max_connections = 60
max_worker_processes = 16
citus.shard_count = 8
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	push @nodes, $node;
}
my ($coord, $w1, $w2) = @nodes;
$coord->safe_psql('postgres',
	    "SELECT citus_set_coordinator_host('127.0.0.1', "
	  . $coord->port . ');'
	  . "SELECT citus_add_node('127.0.0.1', "
	  . $w1->port . ');'
	  . "SELECT citus_add_node('127.0.0.1', "
	  . $w2->port . ');');

# ---------------------------------------------------------------------------
# Set-up: CREATE EXTENSION on the coordinator, then the one call.

$coord->safe_psql('postgres', 'CREATE EXTENSION automl');
for my $w ($w1, $w2)
{
	is($w->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'automl'}),
		$coord->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'automl'}),
		'CREATE EXTENSION automl on the coordinator installed it on ' . $w->name);
}
is($coord->safe_psql('postgres', 'SELECT automl_citus_setup()'), '0', 'set-up with no model yet');
is($coord->safe_psql('postgres', 'SELECT automl_citus_setup()'), '0', 'the set-up is idempotent');
my ($rc, $out, $err) = $w1->psql('postgres', 'SELECT automl_citus_setup()');
like($err, qr/automl_citus_setup runs on the coordinator, not on a worker/, 'the set-up refuses a worker');

# The adult census sample (test/data/SOURCES.md), distributed by id, and the same rows
# in a plain table of the coordinator: the single-node reference.
$coord->safe_psql(
	'postgres', qq{
CREATE TABLE adult (
    id integer, age integer, workclass text, fnlwgt integer, education text,
    education_num integer, marital_status text, occupation text, relationship text,
    race text, sex text, capital_gain integer, capital_loss integer,
    hours_per_week integer, native_country text, class text);
CREATE TEMP TABLE adult_file (LIKE adult);
COPY adult_file (age, workclass, fnlwgt, education, education_num, marital_status, occupation,
                 relationship, race, sex, capital_gain, capital_loss, hours_per_week,
                 native_country, class)
    FROM '$data/adult_sample.csv' WITH (FORMAT csv, HEADER true, NULL 'NA');
INSERT INTO adult SELECT row_number() OVER () AS id, age, workclass, fnlwgt, education,
    education_num, marital_status, occupation, relationship, race, sex, capital_gain,
    capital_loss, hours_per_week, native_country, class FROM adult_file;
CREATE TABLE adult_one_node AS SELECT * FROM adult;
SELECT create_distributed_table('adult', 'id');
});
is($coord->safe_psql('postgres', q{SELECT count(*) FROM adult}), '4000', 'adult is distributed');

# ---------------------------------------------------------------------------
# Training on the distributed table: its rows come through the coordinator.

is( $coord->safe_psql(
		'postgres',
		q{SELECT version || ' ' || deployed FROM automl_train('income', 'adult', 'class',
		      exclude => ARRAY['id'], algorithms => ARRAY['gbdt'], max_trials => 2, seed => 7)}),
	'1 true',
	'automl_train on a distributed table');
$coord->safe_psql('postgres', q{SELECT automl_set_policy('income', auto_deploy => false)});
is( $coord->safe_psql(
		'postgres',
		q{SELECT version || ' ' || deployed FROM automl_train('income', 'adult', 'class',
		      exclude => ARRAY['id'], algorithms => ARRAY['logistic'], max_trials => 1, seed => 7)}),
	'2 false',
	'a second version, not deployed');
is( $coord->safe_psql('postgres',
		q{SELECT string_agg(version || ':' || deployed, ' ' ORDER BY version) FROM automl.replica WHERE name = 'income'}),
	'1:true 2:false',
	'the replica follows the catalog');
for my $w ($w1, $w2)
{
	my $shard = $w->safe_psql('postgres',
		q{SELECT 'automl.replica_' || shardid FROM pg_dist_shard WHERE logicalrelid = 'automl.replica'::regclass});
	is($w->safe_psql('postgres', "SELECT count(*) FROM $shard WHERE name = 'income'"),
		'2', 'both versions are on ' . $w->name);
}

# ---------------------------------------------------------------------------
# Scoring pushdown: the workers score, and answer what one node answers.

my $plan = $coord->safe_psql('postgres',
	q{EXPLAIN (VERBOSE, COSTS OFF) SELECT automl_predict('income', a) FROM adult a});
like($plan, qr/Task Count: 8/, 'the scoring statement runs as one task per shard');
like($plan, qr/Query: SELECT public\.automl_predict\('income'::text, a\.\*\)/,
	'automl_predict is in the workers\' query');

# each scoring function, distributed against one node, row by row (text forms are exact)
my %calls = (
	predict => q{automl_predict('income', %s)::text},
	label => q{automl_predict_label('income', %s)},
	proba => q{automl_predict_proba('income', %s)::text},
	pinned => q{automl_predict('income@2', %s)::text},
);
for my $what (sort keys %calls)
{
	my $dist = sprintf($calls{$what}, 'a');
	my $local = sprintf($calls{$what}, 'o');
	$coord->safe_psql('postgres',
		"CREATE TABLE scored_$what AS SELECT a.id, $dist AS v FROM adult a");
	is( $coord->safe_psql(
			'postgres', qq{
SELECT count(*) || ' rows, ' || count(*) FILTER (WHERE s.v IS DISTINCT FROM $local) || ' differ'
FROM scored_$what s JOIN adult_one_node o USING (id)}),
		'4000 rows, 0 differ',
		"$what on the workers equals $what on one node");
}
# automl_explain returns rows: in the select list it is pushed down too (Citus takes no
# set-returning function over a distributed table in FROM: docs/scale-out.md)
like($coord->safe_psql('postgres',
		q{EXPLAIN (VERBOSE, COSTS OFF) SELECT a.id, automl_explain('income', a) FROM adult a}),
	qr/Query: SELECT .*automl_explain\('income'::text, a\.\*/, 'automl_explain is pushed down too');
$coord->safe_psql('postgres', q{
CREATE TABLE explained AS SELECT a.id, automl_explain('income', a)::text AS e FROM adult a;
CREATE TABLE explained_one_node AS SELECT o.id, automl_explain('income', o)::text AS e FROM adult_one_node o;
});
is( $coord->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) FROM explained) || ' rows, '
    || (SELECT count(*) FROM (SELECT * FROM explained EXCEPT ALL SELECT * FROM explained_one_node) d) || ' differ'}),
	$coord->safe_psql('postgres', q{SELECT count(*) FROM explained_one_node}) . ' rows, 0 differ',
	'explanations on the workers equal those of one node');

# errors raised on a worker reach the caller as on one node
($rc, $out, $err) = $coord->psql('postgres', q{SELECT automl_predict('income@9', a) FROM adult a});
like($err, qr/model "income" has no version 9/, 'a version that does not exist, from a worker');
($rc, $out, $err) = $coord->psql('postgres', q{SELECT automl_predict('nope', a) FROM adult a});
like($err, qr/model "nope" does not exist/, 'a model that does not exist, from a worker');

# the right to score holds on the workers: another role sees nothing until granted
$coord->safe_psql('postgres',
	q{CREATE ROLE regress_analyst LOGIN; GRANT SELECT ON adult TO regress_analyst;});
($rc, $out, $err) = $coord->psql('postgres',
	q{SET ROLE regress_analyst; SELECT count(automl_predict('income', a)) FROM adult a});
like($err, qr/model "income" does not exist/, 'a role without the grant cannot score on the workers');
$coord->safe_psql('postgres', q{SELECT automl_grant('income', 'regress_analyst')});
is( $coord->safe_psql('postgres',
		q{SET ROLE regress_analyst; SELECT count(automl_predict('income', a)) FROM adult a}),
	'4000', 'after automl_grant it can');
$coord->safe_psql('postgres', q{SELECT automl_revoke('income', 'regress_analyst')});
($rc, $out, $err) = $coord->psql('postgres',
	q{SET ROLE regress_analyst; SELECT count(automl_predict('income', a)) FROM adult a});
like($err, qr/model "income" does not exist/, 'after automl_revoke it cannot');

# ---------------------------------------------------------------------------
# Deploy and roll back while other sessions score: no error, and the next statement
# after each change serves the new version.

my $sum_of = sub {
	my ($version) = @_;
	return $coord->safe_psql('postgres',
		"SELECT round(sum(automl_predict('income\@$version', o))::numeric, 9) FROM adult_one_node o");
};
my %sum = (1 => $sum_of->(1), 2 => $sum_of->(2));
isnt($sum{1}, $sum{2}, 'the two versions score differently');
my $served = q{SELECT round(sum(automl_predict('income', a))::numeric, 9) FROM adult a};

my $script = PostgreSQL::Test::Utils::tempdir() . '/score.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"SELECT count(automl_predict('income', a)) FROM adult a;\n");
my ($bench_out, $bench_err) = ('', '');
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '2', '-T', '20', '-f', $script,
		'-h', $coord->host, '-p', $coord->port, 'postgres'
	],
	'>', \$bench_out, '2>', \$bench_err);
for my $round (1 .. 3)
{
	$coord->safe_psql('postgres', q{SELECT automl_deploy('income', 2)});
	is($coord->safe_psql('postgres', $served), $sum{2}, "round $round: after the deploy, version 2 serves");
	$coord->safe_psql('postgres', q{SELECT automl_rollback('income')});
	is($coord->safe_psql('postgres', $served), $sum{1}, "round $round: after the rollback, version 1 serves");
}
$bench->finish;
is($?, 0, 'pgbench scoring during the deployments ended well')
  or diag($bench_err);
like($bench_out, qr/number of transactions actually processed: [1-9]/, 'pgbench scored')
  or diag($bench_out);
unlike($bench_out . $bench_err, qr/ERROR|abort/i, 'no client error while deploying and rolling back');

# ---------------------------------------------------------------------------
# Monitoring: predictions scored on the workers are spooled and written there, then
# collected into the coordinator's automl.predictions, exactly once, also across a
# worker's crash (docs/scale-out.md).

$coord->safe_psql('postgres', q{SELECT automl_monitor('income', key => 'id')});
my $logged = sub {
	my ($times) = @_;
	return $coord->safe_psql('postgres', qq{
SELECT count(*) || ' keys, ' || count(*) FILTER (WHERE n <> $times) || ' not logged $times times'
FROM (SELECT key, count(*) AS n FROM automl.predictions WHERE model = 'income' GROUP BY key) k});
};
is($coord->safe_psql('postgres', $served), $sum{1}, 'scored on the workers with logging on');
$coord->safe_psql('postgres', q{SELECT automl_flush_predictions()});
is($logged->(1), '4000 keys, 0 not logged 1 times', 'every row scored on the workers is logged once, on the coordinator');

# scored again, then a worker crashes before the coordinator collects
is($coord->safe_psql('postgres', $served), $sum{1}, 'scored a second time');
$w1->stop('immediate');
($rc, $out, $err) = $coord->psql('postgres', q{SELECT count(*) FROM adult});
isnt($rc, 0, 'while a worker is down, a statement needing it fails (Citus reports it)');
($rc, $out, $err) = $coord->psql('postgres', q{SELECT automl_flush_predictions()});
like($err, qr/could not collect logged predictions from the worker at 127\.0\.0\.1:\d+/,
	'collecting while a worker is down warns, and goes on');
$w1->start;
is($coord->safe_psql('postgres', $served), $sum{1}, 'after the restart the worker scores again, the same');
$coord->safe_psql('postgres', q{SELECT automl_flush_predictions()});
is($logged->(3), '4000 keys, 0 not logged 3 times', 'after the crash and restart, three scorings are logged three times each');

$coord->safe_psql('postgres', q{SELECT automl_deploy('income', 2)});
is($coord->safe_psql('postgres', $served), $sum{2}, 'the restarted worker sees the next deployment');
$coord->safe_psql('postgres', q{SELECT automl_flush_predictions()});
is($logged->(4), '4000 keys, 0 not logged 4 times', 'and logs it');
is( $coord->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE version = 2) FROM automl.predictions WHERE model = 'income'}),
	'4000', 'under version 2');
is( $coord->safe_psql('postgres',
		q{SELECT rows FROM automl_drift('income') WHERE kind = 'dataset'}),
	'4000', 'the drift view on the coordinator reads the workers\' predictions of the deployed version');
is($coord->safe_psql('postgres', q{SELECT automl_collect_predictions()}), '0', 'nothing is collected twice');

# ---------------------------------------------------------------------------
# Evaluation and retraining read the distributed table through the coordinator.

is( $coord->safe_psql('postgres',
		q{SELECT count(*) > 0 FROM automl_evaluate('income', 'adult')}),
	't', 'automl_evaluate on a distributed table');
is($coord->safe_psql('postgres', q{SELECT version FROM automl_retrain('income')}),
	'3', 'automl_retrain on a distributed table trains version 3');
is( $coord->safe_psql('postgres',
		q{SELECT count(*) FROM automl.replica WHERE name = 'income'}),
	'3', 'version 3 is replicated');

# rows beyond automl.train_memory come as a seeded sample, said in a NOTICE and recorded
$coord->safe_psql(
	'postgres', q{
CREATE TABLE wide AS SELECT i AS id, sin(i) AS x1, cos(i) AS x2, sin(i * 0.3) AS x3,
       cos(i * 0.7) AS x4, (i % 5)::text AS c, sin(i) + cos(i) > 0 AS y,
       3 * sin(i) - 2 * cos(i) + 0.5 * (i % 5) + 0.1 * sin(i * 7.7) AS yr
FROM generate_series(1, 200000) AS i;
CREATE TABLE wide_one_node AS SELECT * FROM wide;
SELECT create_distributed_table('wide', 'id');
});
($rc, $out, $err) = $coord->psql('postgres',
	q{SET automl.train_memory = 16; SELECT version FROM automl_train('sampled', 'wide', 'y',
	      exclude => ARRAY['id', 'yr'], algorithms => ARRAY['logistic'], max_trials => 1)});
like($err, qr/training on a sample of \d+ of 200000 rows/, 'a distributed table larger than automl.train_memory is sampled, and it says so');
is( $coord->safe_psql('postgres',
		q{SELECT n_rows < 200000, options->>'rows_in_relation', options->>'rows_used' = n_rows::text
		  FROM automl.models WHERE name = 'sampled'}),
	't|200000|t', 'the version records the rows it was trained on, of how many');

# a ridge model trained on the sample is refitted on every row from the workers' sums:
# the same model as one node trained on all the rows
($rc, $out, $err) = $coord->psql('postgres',
	q{SET automl.train_memory = 16; SELECT version FROM automl_train('ridge_sampled', 'wide', 'yr',
	      exclude => ARRAY['id', 'y'], algorithms => ARRAY['linear'], hyperparams => '{"alpha": 0.001}')});
like($err, qr/the linear model was refitted on all 200000 rows of public\.wide, summed on the Citus workers/,
	'a ridge model trained on a sample of a distributed table is refitted on the workers\' sums, and it says so');
is( $coord->safe_psql('postgres',
		q{SELECT n_rows < 200000, options->>'refit_rows_on_workers' FROM automl.models WHERE name = 'ridge_sampled'}),
	't|200000', 'the version records the refit on every row');
like($coord->safe_psql('postgres', q{EXPLAIN (VERBOSE, COSTS OFF)
		SELECT automl.linear_statistics(automl.linear_inputs(m.model_bytes, 'yr', w))
		FROM wide w, (SELECT model_bytes FROM automl.models WHERE name = 'ridge_sampled') m}),
	qr/Query: SELECT worker_partial_agg\('automl\.linear_statistics/, 'the sums are computed on the workers');
$coord->safe_psql('postgres',
	q{SELECT version FROM automl_train('ridge_all', 'wide_one_node', 'yr', exclude => ARRAY['id', 'y'],
	      algorithms => ARRAY['linear'], hyperparams => '{"alpha": 0.001}')});
is( $coord->safe_psql('postgres', q{
SELECT max(abs(automl_predict('ridge_sampled', w) - automl_predict('ridge_all', w))) < 1e-9 * max(abs(automl_predict('ridge_all', w)))
FROM wide_one_node w}),
	't', 'it predicts what the same model trained on every row on one node predicts (to 1e-9)');

# a deleted name leaves the replica, on every node
$coord->safe_psql('postgres', q{SELECT automl_delete('sampled')});
is($w2->safe_psql('postgres',
		q{SELECT count(*) FROM automl.replica WHERE name = 'sampled'}),
	'0', 'automl_delete removes the name from the replica');

# ---------------------------------------------------------------------------
# The examples of docs/scale-out.md marked "docs test: citus", as written, on the data the
# README's steps create (test/data/load.sql), after a new CREATE EXTENSION.

my $root = abs_path(dirname(__FILE__) . '/../..');
my $examples = `perl $root/test/docs/blocks.pl citus $root/docs/scale-out.md`;
is($?, 0, 'the Citus examples of docs/scale-out.md were read');
like($examples, qr/automl_citus_setup/, 'they include the set-up');
$coord->safe_psql('postgres', 'DROP EXTENSION automl CASCADE');
chdir $root or die "cannot chdir to $root: $!";    # load.sql's \copy paths
($rc, $out, $err) = $coord->psql('postgres', "\\set ON_ERROR_STOP on\n\\i test/data/load.sql\n" . $examples);
is($rc, 0, 'the Citus examples of docs/scale-out.md run as written') or diag($err);
like($out, qr/Query: SELECT .*automl_predict\('census'::text/, 'and their EXPLAIN shows the pushdown');

$_->stop for @nodes;
done_testing();
