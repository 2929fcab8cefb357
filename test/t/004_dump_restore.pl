
# 004_dump_restore.pl: pg_dump keeps automl.models, automl.deployments and the
# monitoring tables (the prediction log, outcomes, monitors: extension configuration
# tables); a restored database serves the same predictions and continues the version
# and deployment numbering.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION automl');
$node->safe_psql(
	'src', q{
CREATE TABLE t AS
SELECT i AS id, sin(i) AS x1, cos(i * 1.3) AS x2, (i % 5)::int AS x3,
       3 * sin(i) - 2 * cos(i * 1.3) + 0.5 * (i % 5) + 0.1 * sin(i * 7.7) AS y,
       CASE WHEN sin(i) > 0.4 THEN 'high' WHEN sin(i) > -0.4 THEN 'middle' ELSE 'low' END AS grade
FROM generate_series(1, 1000) AS i;
SELECT version FROM automl_train('m', 't', 'y', exclude => ARRAY['id', 'grade'], max_trials => 1);
SELECT version FROM automl_train('m', 't', 'y', exclude => ARRAY['id', 'grade'],
                                 hyperparams => '{"alpha": 1000}');
SELECT version FROM automl_train('g', 't', 'grade', exclude => ARRAY['id', 'y'], max_trials => 1);
INSERT INTO automl.deployments (name, version, reason) VALUES ('m', 2, 'try 2');
INSERT INTO automl.deployments (name, version, reason) VALUES ('m', 1, 'back to 1');
INSERT INTO automl.deployments (name, version, reason) VALUES ('m', 2, 'it''s "2" again');
});
# A monitored model with logged predictions and outcomes (a model of its own, so
# that the queries below, which score m and g, do not log more rows meanwhile).
$node->safe_psql(
	'src', q{
SELECT version FROM automl_train('h', 't', 'y', exclude => ARRAY['id', 'grade'], max_trials => 1);
SELECT name FROM automl_monitor('h', key => 'id', exclude => ARRAY['x3']);
SELECT count(automl_predict('h', t)) FROM t t WHERE id <= 50;
SELECT automl_observe('h', 'SELECT id, y FROM t WHERE id <= 10');
SELECT automl_flush_predictions() >= 0;
});

my $models_q = q{
SELECT name, version, task, algorithm, hyperparams, metrics, metric, score, features,
       feature_kinds, classes, summary, source_relation, target, options, n_rows,
       train_seconds, created_by, created_at, format_version, md5(model_bytes)
FROM automl.models ORDER BY name, version};
my $deployments_q =
  q{SELECT id, name, version, deployed_at, deployed_by, reason FROM automl.deployments ORDER BY id};
my $deployed_q = q{SELECT name, version, reason FROM automl.deployed ORDER BY name};
my $events_q = q{SELECT id, at, who, event, name, version, reason, detail FROM automl.events ORDER BY id};
my $registry_q = q{SELECT name, owner, auto_deploy, min_gain, created_at FROM automl.registry ORDER BY name};
my $trials_q = q{SELECT name, version, trial, algorithm, hyperparams, score, rank, selected FROM automl.trials ORDER BY 1, 2, 3};
my $predict_q = q{
SET extra_float_digits = 3;
SELECT sum(automl_predict('m', t)), sum(abs(automl_predict('m@1', t))),
       string_agg(automl_predict_label('g', t), ',' ORDER BY id),
       sum((automl_predict_proba('g', t))[2])
FROM t t};
my $row_q = q{SET extra_float_digits = 3; SELECT automl_predict('m', t) FROM t t WHERE id = 17};
my $log_q = q{
SELECT (SELECT string_agg(concat_ws('|', id, model, version, predicted_at, key, features, prediction), E'\n' ORDER BY id)
        FROM automl.predictions),
       (SELECT string_agg(concat_ws('|', model, key, actual, observed_at), E'\n' ORDER BY key) FROM automl.observations),
       (SELECT string_agg(concat_ws('|', name, enabled, sample_rate, key_column, exclude), E'\n') FROM automl.monitors)};

my %before = (
	models => $node->safe_psql('src', $models_q),
	deployments => $node->safe_psql('src', $deployments_q),
	deployed => $node->safe_psql('src', $deployed_q),
	events => $node->safe_psql('src', $events_q),
	registry => $node->safe_psql('src', $registry_q),
	trials => $node->safe_psql('src', $trials_q),
	predict => $node->safe_psql('src', $predict_q),
	row => $node->safe_psql('src', $row_q),
	log => $node->safe_psql('src', $log_q));
is($node->safe_psql('src', 'SELECT count(*) FROM automl.models'), '4', 'source: 4 model versions');
is($node->safe_psql('src', 'SELECT count(*) FROM automl.deployments'), '6', 'source: 6 deployments');
is($node->safe_psql('src', 'SELECT count(*) FROM automl.events'), '9', 'source: 9 audit events');
is($node->safe_psql('src', 'SELECT count(*) FROM automl.trials'), '4', 'source: 4 trials');
is($node->safe_psql('src', q{SELECT count(*), count(key) FROM automl.predictions WHERE model = 'h'}),
	'50|50', 'source: 50 logged predictions');
is($before{deployed}, "g|1|first version of the model\nh|1|first version of the model\nm|2|it's \"2\" again",
	'source: deployed versions');

my $tempdir = PostgreSQL::Test::Utils::tempdir;

sub check_restored
{
	my ($db, $how) = @_;

	is($node->safe_psql($db, q{SELECT extname FROM pg_extension WHERE extname = 'automl'}),
		'automl', "$how: the extension is there");
	is($node->safe_psql($db, $models_q), $before{models}, "$how: automl.models rows came across");
	is($node->safe_psql($db, $deployments_q),
		$before{deployments}, "$how: automl.deployments rows came across");
	is($node->safe_psql($db, $deployed_q), $before{deployed}, "$how: automl.deployed is the same");
	is($node->safe_psql($db, $events_q), $before{events}, "$how: automl.events (the audit trail) came across");
	is($node->safe_psql($db, $registry_q), $before{registry}, "$how: automl.registry came across");
	is($node->safe_psql($db, $trials_q), $before{trials}, "$how: automl.trials (the leaderboard) came across");
	is($node->safe_psql($db, $row_q), $before{row}, "$how: automl_predict gives the same value");
	is($node->safe_psql($db, $predict_q),
		$before{predict}, "$how: predict, label and proba agree on every row");
	is($node->safe_psql($db, $log_q), $before{log},
		"$how: the prediction log, the outcomes and the monitor came across");

	# The history continues: deployment ids and model versions go on.
	is( $node->safe_psql(
			$db, q{INSERT INTO automl.deployments (name, version, reason) VALUES ('m', 1, 'after restore') RETURNING id}
		),
		'7',
		"$how: a new deployment gets the next id");
	is($node->safe_psql($db, $row_q),
		$node->safe_psql($db, q{SET extra_float_digits = 3; SELECT automl_predict('m@1', t) FROM t t WHERE id = 17}),
		"$how: and is served");
	is( $node->safe_psql(
			$db, q{SELECT version || ' ' || deployed FROM automl_train('m', 't', 'y', exclude => ARRAY['id', 'grade'], max_trials => 1)}
		),
		'3 false',
		"$how: training continues with version 3");
	my ($ret, $stdout, $stderr) = $node->psql($db, q{DELETE FROM automl.deployments});
	like($stderr, qr/append-only/, "$how: the append-only trigger is there");
}

# ---------------------------------------------------------------------------
# Plain SQL dump, restored with psql.

my $plain = "$tempdir/src.sql";
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', $plain ], 'pg_dump (plain)');
{
	my $sql = slurp_file($plain);
	like($sql, qr/COPY automl\.models /, 'the dump has the data of automl.models');
	like($sql, qr/COPY automl\.deployments /, 'the dump has the data of automl.deployments');
}
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'), '-f', $plain ],
	'psql restores the plain dump');
check_restored('restored', 'plain dump');

# ---------------------------------------------------------------------------
# Custom-format dump, restored with pg_restore.

my $custom = "$tempdir/src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $custom ],
	'pg_dump (custom format)');
$node->safe_psql('postgres', 'CREATE DATABASE restored_c');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored_c'), $custom ],
	'pg_restore restores the custom dump');
check_restored('restored_c', 'custom dump');

# The source database is unchanged by all this.
is($node->safe_psql('src', $deployments_q), $before{deployments}, 'source deployments unchanged');

$node->stop;
done_testing();
