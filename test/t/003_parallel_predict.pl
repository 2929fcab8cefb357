
# 003_parallel_predict.pl: automl_predict, automl_predict_label and
# automl_predict_proba are PARALLEL SAFE: they run in parallel workers and give
# the same results there as in a serial plan.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('parallel');
$node->init;
$node->append_conf('postgresql.conf', "max_worker_processes = 8\nmax_parallel_workers = 8\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION automl');

$node->safe_psql(
	'postgres', q{
CREATE TABLE t AS
SELECT i AS id, sin(i) AS x1, cos(i * 1.3) AS x2, sin(i * 0.7) AS x3, (i % 7)::int AS x4
FROM generate_series(1, 200000) AS i;
ALTER TABLE t ADD COLUMN y float8, ADD COLUMN grade text, ADD COLUMN positive boolean;
UPDATE t SET
    y = 3 * x1 - 2 * x2 + 0.5 * x3 + 0.1 * x4 + 0.1 * sin(id * 7.7),
    grade = CASE WHEN x1 + 0.2 * sin(id * 3.1) > 0.4 THEN 'high'
                 WHEN x1 + 0.2 * sin(id * 3.1) > -0.4 THEN 'middle' ELSE 'low' END,
    positive = (x1 + x2 + 0.3 * sin(id * 3.1) > 0);
VACUUM ANALYZE t;
});

is( $node->safe_psql(
		'postgres',
		q{SELECT algorithm FROM automl_train('m', 't', 'y', algorithms => ARRAY['ridge'],
                                       exclude => ARRAY['id', 'grade', 'positive'], max_trials => 1)}),
	'ridge', 'trained a linear regression model');
is( $node->safe_psql(
		'postgres',
		q{SELECT task FROM automl_train('g', 't', 'grade', exclude => ARRAY['id', 'y', 'positive'], max_trials => 1)}),
	'classification', 'trained a multiclass model');
is( $node->safe_psql(
		'postgres',
		q{SELECT task FROM automl_train('p', 't', 'positive', exclude => ARRAY['id', 'y', 'grade'], max_trials => 1)}),
	'classification', 'trained a binary model');

my $parallel = q{
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET extra_float_digits = 3;
};
my $serial = q{
SET max_parallel_workers_per_gather = 0;
SET extra_float_digits = 3;
};

# ---------------------------------------------------------------------------
# A parallel aggregate over automl_predict.

my $sum_query = q{SELECT sum(automl_predict('m', t)) FROM t t};
my $plan = $node->safe_psql('postgres', $parallel . "EXPLAIN (COSTS OFF) $sum_query");
note "plan:\n$plan";
like($plan, qr/Gather/, 'the plan has a Gather');
like($plan, qr/Partial Aggregate/, 'the plan has a Partial Aggregate (automl_predict below the Gather)');
like($plan, qr/Parallel Seq Scan/, 'the plan has a Parallel Seq Scan');

my $analyze = $node->safe_psql('postgres',
	$parallel . "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $sum_query");
note "EXPLAIN ANALYZE:\n$analyze";
my ($launched) = $analyze =~ /Workers Launched: (\d+)/;
ok(defined $launched && $launched >= 1, 'parallel workers were launched (' . ($launched // 'none') . ')');

sub close_enough
{
	my ($x, $y, $what) = @_;
	my $rel = abs($x - $y) / (abs($y) > 1e-300 ? abs($y) : 1);
	ok($rel <= 1e-6, "$what: $x vs $y (relative difference $rel)");
}

my $sum_parallel = $node->safe_psql('postgres', $parallel . $sum_query);
my $sum_serial = $node->safe_psql('postgres', $serial . $sum_query);
note "parallel sum $sum_parallel, serial sum $sum_serial";
close_enough($sum_parallel, $sum_serial, 'parallel sum equals the serial sum');

# The same for the probability of the binary model, and a count per label.
my $p_query = q{SELECT sum(automl_predict('p', t)) FROM t t};
close_enough(
	$node->safe_psql('postgres', $parallel . $p_query),
	$node->safe_psql('postgres', $serial . $p_query),
	'binary: parallel sum of probabilities equals the serial sum');

my $label_agg = q{SELECT automl_predict_label('g', t) AS label, count(*),
       round(sum((automl_predict_proba('g', t))[1])::numeric, 4) AS p1
FROM t t GROUP BY 1 ORDER BY 1};
$plan = $node->safe_psql('postgres', $parallel . "EXPLAIN (COSTS OFF) $label_agg");
like($plan, qr/Gather/, 'label/proba aggregate: the plan has a Gather');
is( $node->safe_psql('postgres', $parallel . $label_agg),
	$node->safe_psql('postgres', $serial . $label_agg),
	'label/proba aggregate: parallel result equals serial');

# ---------------------------------------------------------------------------
# force_parallel_mode = regress: everything runs in a worker.

my $rows_query = q{
SELECT id, automl_predict('m', t), automl_predict_label('g', t), automl_predict_proba('g', t),
       automl_predict_label('p', t), automl_predict_proba('p', t)
FROM t t WHERE id % 997 = 0 ORDER BY id};
my $forced = $node->safe_psql('postgres',
	"SET force_parallel_mode = regress; SET extra_float_digits = 3; $rows_query");
my $plain = $node->safe_psql('postgres',
	"SET force_parallel_mode = off; SET max_parallel_workers_per_gather = 0; SET extra_float_digits = 3; $rows_query"
);
my $n_lines = () = $plain =~ /\n/g;
ok($n_lines > 100, 'force_parallel_mode: the query returns rows (' . ($n_lines + 1) . ')');
is($forced, $plain, 'force_parallel_mode = regress: label and proba results equal the serial ones');

$plan = $node->safe_psql('postgres',
	"SET force_parallel_mode = on; EXPLAIN (COSTS OFF) $rows_query");
like($plan, qr/Gather/, 'force_parallel_mode = on puts the query under a Gather');

# Errors raised in a worker come back to the leader.
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET force_parallel_mode = regress; SELECT automl_predict('nope', t) FROM t t LIMIT 1");
like($stderr, qr/model "nope" does not exist/, 'an error in a worker reaches the client');
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET force_parallel_mode = regress; SELECT automl_predict_label('m', t) FROM t t LIMIT 1");
isnt($ret, 0, 'automl_predict_label of a regression model fails in a worker too');

# ---------------------------------------------------------------------------
# A new deployment is seen by the workers of a session that has the old one cached.

is( $node->safe_psql(
		'postgres',
		q{SELECT version FROM automl_train('m', 't', 'y', algorithms => ARRAY['ridge'],
                                     hyperparams => '{"alpha": 100000}',
                                     exclude => ARRAY['id', 'grade', 'positive'])}),
	'2', 'trained version 2 of m');
# (The plain sum of a ridge model's predictions is the same for any alpha: the
# intercept is not penalised. The sum of absolute values tells versions apart.)
my $abs_query = q{SELECT sum(abs(automl_predict('m', t))) FROM t t};
my $v1_abs = $node->safe_psql('postgres',
	$serial . q{SELECT sum(abs(automl_predict('m@1', t))) FROM t t});
my $v2_abs = $node->safe_psql('postgres',
	$serial . q{SELECT sum(abs(automl_predict('m@2', t))) FROM t t});
note "sum of |prediction|: version 1 $v1_abs, version 2 $v2_abs";
ok(abs($v1_abs - $v2_abs) > 1e-3 * abs($v1_abs), 'versions 1 and 2 predict differently');

my $s = $node->background_psql('postgres');
$s->query_safe($_) foreach grep { /\S/ } split /;\n/, $parallel;
like($s->query_safe("EXPLAIN (COSTS OFF) $abs_query"), qr/Partial Aggregate/, 'session: the plan is parallel');
close_enough($s->query_safe($abs_query), $v1_abs, 'session: parallel sum of version 1');
$node->safe_psql('postgres',
	q{INSERT INTO automl.deployments (name, version, reason) VALUES ('m', 2, 'test')});
close_enough($s->query_safe($abs_query), $v2_abs, 'session: parallel sum of version 2 after the deployment');
$s->query_safe('SET force_parallel_mode = regress');
is($s->query_safe(q{SELECT automl_predict('m', t) FROM t t WHERE id = 12345}),
	$node->safe_psql('postgres', $serial . q{SELECT automl_predict('m@2', t) FROM t t WHERE id = 12345}),
	'session, forced parallel: one row scores as version 2');
$s->quit;

$node->stop;
done_testing();
