# 008_upgrade.pl: ALTER EXTENSION automl UPDATE from release 0.1.0 keeps everything.
# An installation of 0.1.0 (CREATE EXTENSION automl VERSION '0.1.0', the kept script of
# tag v0.1.0) is filled: a linear regression with three versions, deployed and rolled
# back; a gbdt classifier that is monitored, with logged predictions, outcomes, alert
# state, an evaluation and an intended use; an ensemble from a small search; a forecast
# model; a pg_cron schedule. Then it is updated, and:
#   - every model, pinned and deployed, predicts bit for bit what it predicted before
#     (float8 compared as their 8 bytes);
#   - every catalog row is kept (models, versions, trials, deployments, audit trail,
#     registry, monitors, outcomes, alert state, evaluations, descriptions), every
#     logged prediction is kept, and predictions logged by 0.1.0 but not yet in the
#     table when the update ran arrive afterwards, exactly once;
#   - the pg_cron job is still there, its command still runs, and pg_cron runs it;
#   - the updated catalog equals a fresh install's (test/upgrade/catalog.sql: every
#     definition, label, privilege and comment), and every object has a comment.
# pg_cron is required (the README's command installs postgresql-15-cron): without it
# the test fails. No timing is asserted: every wait is a bounded poll.
use strict;
use warnings;

use Cwd qw(abs_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $t_start = time;
my $root = abs_path($ENV{AUTOML_ROOT} // '.');
my $node = PostgreSQL::Test::Cluster->new('upgrade');
my $pg_cron = $node->config_data('--pkglibdir') . '/pg_cron.so';
BAIL_OUT("pg_cron is not installed ($pg_cron is missing): install postgresql-15-cron, as the README's command does")
  unless -f $pg_cron;
-f "$root/test/data/diabetes.csv"
  or BAIL_OUT("cannot find test/data under $root: run from the repository root or set AUTOML_ROOT");

$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

# ---------------------------------------------------------------------------
# 0.1.0

sql(q{CREATE EXTENSION pg_cron; CREATE EXTENSION automl VERSION '0.1.0'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'automl'}), '0.1.0', 'automl 0.1.0 installed');
# 0.1.0's labels, to be sure its own script ran (0.2.0 changed this one)
is(sql(q{SELECT proparallel FROM pg_proc WHERE proname = 'automl_drift'}),
	'r', "0.1.0's script: automl_drift is PARALLEL RESTRICTED");

# Committed real data (test/data/SOURCES.md), with a row number for fixed rows.
my $bc_columns = do
{
	open my $fh, '<', "$root/test/data/breast_cancer.csv" or die "breast_cancer.csv: $!";
	my $header = <$fh>;
	chomp $header;
	$header;
};
my $bc_types = join ', ', map { $_ eq 'diagnosis' ? "$_ text" : "$_ float8" } split /,/, $bc_columns;
sql(qq{
CREATE TABLE diabetes (id int GENERATED ALWAYS AS IDENTITY, age float8, sex float8, bmi float8, bp float8,
                       s1 float8, s2 float8, s3 float8, s4 float8, s5 float8, s6 float8, progression float8);
\\copy diabetes (age, sex, bmi, bp, s1, s2, s3, s4, s5, s6, progression) FROM '$root/test/data/diabetes.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE breast_cancer (id int GENERATED ALWAYS AS IDENTITY, $bc_types);
\\copy breast_cancer ($bc_columns) FROM '$root/test/data/breast_cancer.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE iris (id int GENERATED ALWAYS AS IDENTITY, sepal_length float8, sepal_width float8,
                   petal_length float8, petal_width float8, species text);
\\copy iris (sepal_length, sepal_width, petal_length, petal_width, species) FROM '$root/test/data/iris.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE air (period date, value float8);
\\copy air FROM '$root/test/forecast/data/air_passengers.csv' WITH (FORMAT csv, HEADER true)
});
is(sql(q{SELECT (SELECT count(*) FROM diabetes) || ' ' || (SELECT count(*) FROM breast_cancer) || ' '
             || (SELECT count(*) FROM iris) || ' ' || (SELECT count(*) FROM air)}),
	'442 569 150 144', 'data loaded: diabetes, breast cancer, iris, air passengers');

sub train
{
	my ($call) = @_;
	return sql(qq{SELECT version || ' ' || algorithm || ' ' || deployed FROM $call});
}

# lin: three versions of a linear regression (version 2 drops a column, version 3 a
# stronger ridge penalty); 2 is deployed, then rolled back to 1.
is( train(q{automl_train('lin', 'diabetes', 'progression', algorithms => ARRAY['linear'],
                         exclude => ARRAY['id'], seed => 1, max_trials => 1)}),
	'1 ridge true', 'lin: version 1, ridge regression');
like( train(q{automl_train('lin', 'diabetes', 'progression', algorithms => ARRAY['linear'],
                           exclude => ARRAY['id', 's3'], seed => 1, max_trials => 1)}),
	qr/^2 ridge (?:true|false)$/, 'lin: version 2');
like( train(q{automl_train('lin', 'diabetes', 'progression', algorithms => ARRAY['linear'],
                           exclude => ARRAY['id'], hyperparams => '{"alpha": 100}')}),
	qr/^3 ridge (?:true|false)$/, 'lin: version 3');
sql(q{SELECT automl_deploy('lin', 2, 'upgrade test: deploy 2')});
sql(q{SELECT automl_deploy('lin', 3, 'upgrade test: deploy 3')});
is(sql(q{SELECT version || ' ' || previous_version FROM automl_rollback('lin', 'upgrade test: back')}),
	'2 3', 'lin: rolled back from version 3 to 2');

# gb: a gbdt classifier, monitored (key id), with outcomes, an evaluation, alert state
# and an intended use.
is( train(q{automl_train('gb', 'breast_cancer', 'diagnosis', algorithms => ARRAY['gbdt'],
                         exclude => ARRAY['id'], seed => 1, max_trials => 1)}),
	'1 gbdt true', 'gb: version 1, gbdt classifier');
sql(q{
SELECT 1 FROM automl_monitor('gb', key => 'id', exclude => ARRAY['mean_area']);
SELECT automl_observe('gb', 'SELECT id, diagnosis FROM breast_cancer WHERE id <= 400');
SELECT automl_observe('gb', 401, 'benign');
SELECT count(*) FROM automl_evaluate('gb', 'breast_cancer');
SELECT 1 FROM automl_set_intended_use('gb', 'upgrade test');
SELECT count(*) FROM automl_check_alerts();
});

# ens: a small search on iris that ends in an ensemble (multiclass). Whether a given
# seed's search ends in one depends on the learners' details, so the first seed whose
# does is kept (the earlier attempts are deleted): what matters here is an ensemble.
my $ens = '';
for my $seed (1 .. 10)
{
	$ens = train(qq{automl_train('ens', 'iris', 'species', exclude => ARRAY['id'], seed => $seed, max_trials => 12)});
	last if $ens eq '1 ensemble true';
	sql(q{SELECT automl_delete('ens')});
}
is($ens, '1 ensemble true', 'ens: version 1, an ensemble of a search on iris');

# air: a forecast model.
like(train(q{automl_train('air', 'air', 'value', task => 'forecast', time_column => 'period', horizon => 12)}),
	qr/^1 \w+ true$/, 'air: version 1, a forecast model');

# A pg_cron schedule of 0.1.0 (retrain gb at 3 am if needed).
my $job = sql(q{SELECT automl_schedule_retrain('gb', '0 3 * * *')});
like($job, qr/^\d+$/, "pg_cron job $job scheduled by automl_schedule_retrain");
my $job_q = qq{SELECT jobname || ' | ' || schedule || ' | ' || command || ' | ' || database || ' | ' || username
                       || ' | ' || active FROM cron.job WHERE jobid = $job};
my $job_before = sql($job_q);
is($job_before,
	q{automl-retrain-gb | 0 3 * * * | SELECT * FROM public.automl_retrain_if_needed('gb') | postgres | postgres | true},
	'cron.job: the job of gb');

# ---------------------------------------------------------------------------
# What every model answers, as the bytes of each float8 (hex), on fixed rows.

sub hex8 { return "encode(float8send($_[0]), 'hex')"; }

sub hex8_array
{
	return "(SELECT string_agg(encode(float8send(v), 'hex'), ':' ORDER BY i) FROM unnest($_[0]) WITH ORDINALITY AS u(v, i))";
}

my %answer_q;
for my $ref (qw(lin lin@1 lin@2 lin@3))
{
	$answer_q{$ref} = 'SELECT string_agg(' . hex8("automl_predict('$ref', d)") . q{, ',' ORDER BY id)}
	  . ' FROM diabetes d WHERE id <= 50';
}
$answer_q{gb} =
	'SELECT string_agg(' . hex8(q{automl_predict('gb', b)}) . q{ || ' ' || automl_predict_label('gb', b) || ' ' || }
  . hex8_array(q{automl_predict_proba('gb', b)})
  . q{, ',' ORDER BY id) FROM breast_cancer b WHERE id <= 50};
$answer_q{ens} =
	q{SELECT string_agg(automl_predict_label('ens', i) || ' ' || }
  . hex8_array(q{automl_predict_proba('ens', i)})
  . q{, ',' ORDER BY id) FROM iris i WHERE id % 3 = 0};
$answer_q{air} =
	q{SELECT string_agg(period || ' ' || } . hex8('forecast') . q{ || ' ' || } . hex8('lower') . q{ || ' ' || }
  . hex8('upper') . q{, ',' ORDER BY period) FROM automl_forecast('air')};
$answer_q{'air@1 h24'} =
	q{SELECT string_agg(period || ' ' || } . hex8('forecast') . q{, ',' ORDER BY period) FROM automl_forecast('air@1', 24, level => 0.8)};

my %answer_before = map { $_ => sql($answer_q{$_}) } keys %answer_q;
for my $ref (sort keys %answer_before)
{
	ok(length($answer_before{$ref}) > 100, "0.1.0: $ref answers") or diag "$ref: '$answer_before{$ref}'";
}
isnt($answer_before{'lin@1'}, $answer_before{'lin@2'}, 'lin@1 and lin@2 answer differently');
is($answer_before{lin}, $answer_before{'lin@2'}, 'lin (deployed) answers as lin@2');

# Log every row of breast_cancer once more, and move the log into the table.
sql(q{SELECT sum(automl_predict('gb', b)) FROM breast_cancer b});
sql(q{SELECT automl_flush_predictions()});

# The rows of every table of the catalog, as text.
my %table_q = (
	registry => 'SELECT string_agg(r::text, E\'\n\' ORDER BY name) FROM automl.registry r',
	models => 'SELECT string_agg(m::text, E\'\n\' ORDER BY name, version) FROM automl.models m',
	trials => 'SELECT string_agg(t::text, E\'\n\' ORDER BY name, version, trial) FROM automl.trials t',
	deployments => 'SELECT string_agg(d::text, E\'\n\' ORDER BY id) FROM automl.deployments d',
	events => 'SELECT string_agg(e::text, E\'\n\' ORDER BY id) FROM automl.events e',
	monitors => 'SELECT string_agg(o::text, E\'\n\' ORDER BY name) FROM automl.monitors o',
	observations => 'SELECT string_agg(o::text, E\'\n\' ORDER BY model, key) FROM automl.observations o',
	alert_state => 'SELECT string_agg(a::text, E\'\n\' ORDER BY model, kind) FROM automl.alert_state a',
	evaluations => 'SELECT string_agg(e::text, E\'\n\' ORDER BY id) FROM automl.evaluations e',
	descriptions => 'SELECT string_agg(d::text, E\'\n\' ORDER BY name) FROM automl.descriptions d',
	log_state => 'SELECT string_agg(s::text, E\'\n\') FROM automl.log_state s',
	deployed => 'SELECT string_agg(d::text, E\'\n\' ORDER BY name) FROM automl.deployed d');
my %table_before = map { $_ => sql($table_q{$_}) } keys %table_q;
ok($table_before{$_} ne '', "0.1.0: automl.$_ has rows") for sort keys %table_q;

my ($logged_before, $last_id, $log_before) = split /\|/, sql(
	q{SELECT count(*), max(id), md5(string_agg(p::text, E'\n' ORDER BY id)) FROM automl.predictions p});
# 50 rows x 3 functions for the answers, then 569 rows
is($logged_before, 50 * 3 + 569, "0.1.0: $logged_before predictions of gb in the log");

# 100 more, logged by 0.1.0 and perhaps not in the table yet when the update runs.
sql(q{SELECT sum(automl_predict('gb', b)) FROM breast_cancer b WHERE id <= 100});

# ---------------------------------------------------------------------------
# The update

sql(q{ALTER EXTENSION automl UPDATE});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'automl'}), '0.2.0', 'updated to 0.2.0');

for my $table (sort keys %table_q)
{
	is(sql($table_q{$table}), $table_before{$table}, "automl.$table: every row kept as it was");
}
sql(q{SELECT automl_flush_predictions()});
is( sql(qq{SELECT count(*) || '|' || md5(string_agg(p::text, E'\\n' ORDER BY id)) FROM automl.predictions p
           WHERE id <= $last_id}),
	"$logged_before|$log_before", 'automl.predictions: every row logged before the update kept as it was');
is(sql(qq{SELECT count(*) FROM automl.predictions WHERE id > $last_id}),
	'100', 'the 100 predictions logged by 0.1.0 just before the update are in the table, once');

for my $ref (sort keys %answer_q)
{
	is(sql($answer_q{$ref}), $answer_before{$ref}, "$ref predicts bit for bit as before the update");
}
sql(q{SELECT automl_flush_predictions()});
is(sql(qq{SELECT count(*) FROM automl.predictions WHERE id > $last_id}),
	100 + 50 * 3, 'scoring after the update is logged');
# Logged rows with an outcome (keys 1 to 401): the answers before and after the update
# (rows 1 to 50, three functions each), 401 of the 569 rows, the 100 rows.
my $labelled = 3 * 50 + 401 + 100 + 3 * 50;
is( sql(q{SELECT string_agg(metric || ' ' || labelled, ', ' ORDER BY metric) FROM automl_performance('gb')}),
	"accuracy $labelled, f1 $labelled, roc_auc $labelled",
	"automl_performance: the outcomes recorded by 0.1.0 join the log before and after the update");
ok(sql(q{SELECT count(*) FROM automl.drift WHERE model = 'gb'}) > 0, 'automl.drift has rows for gb');

# A new version after the update records the new extension version, the old rows theirs.
is( train(q{automl_train('lin', 'diabetes', 'progression', algorithms => ARRAY['linear'],
                         exclude => ARRAY['id', 'sex'], seed => 1, max_trials => 1)}) =~ s/ .*//r,
	'4', 'lin: version 4 trained after the update');
is( sql(q{SELECT string_agg(version || ' ' || extension_version, ', ' ORDER BY version) FROM automl.models WHERE name = 'lin'}),
	'1 0.1.0, 2 0.1.0, 3 0.1.0, 4 0.2.0', 'automl.models.extension_version: 0.1.0 for the old versions, 0.2.0 for the new');

# ---------------------------------------------------------------------------
# The pg_cron job: still there, its command runs, and pg_cron runs it.

is(sql($job_q), $job_before, 'cron.job: the job of gb is unchanged');
my $command = sql(qq{SELECT command FROM cron.job WHERE jobid = $job});
my ($ret, $out, $err) = $node->psql('postgres', $command);
is($ret, 0, "the job's command runs after the update: $command") or diag $err;
like( sql(q{SELECT event FROM automl.audit WHERE model = 'gb' ORDER BY id DESC LIMIT 1}),
	qr/^retrain(?:_skipped)?$/, "the command recorded its decision in the audit trail");

my $events_before_cron = sql(q{SELECT max(id) FROM automl.events});
sql(qq{SELECT cron.alter_job($job, schedule => '* * * * *')});
my $deadline = time + 150;
my $run = '';
while (time < $deadline)
{
	$run = sql(qq{SELECT status || '|' || coalesce(return_message, '') FROM cron.job_run_details
                  WHERE jobid = $job AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1});
	last if $run ne '';
	sleep 0.5;
}
sql(qq{SELECT cron.alter_job($job, active => false)});
like($run, qr/^succeeded\|/, 'pg_cron ran the job after the update, and it succeeded') or diag "run: '$run'";
ok( sql(qq{SELECT count(*) FROM automl.audit
            WHERE model = 'gb' AND id > $events_before_cron AND event IN ('retrain', 'retrain_skipped')}) >= 1,
	"pg_cron's run recorded its decision for gb (retrain or retrain_skipped)");

# ---------------------------------------------------------------------------
# The updated catalog is a fresh install's.

sql('CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION automl');
my $catalog_sql = slurp_file("$root/test/upgrade/catalog.sql");
my $updated_catalog = sql($catalog_sql);
my $fresh_catalog = $node->safe_psql('fresh', $catalog_sql);
ok($fresh_catalog =~ tr/\n// > 500, 'test/upgrade/catalog.sql lists the catalog of a fresh install')
  or diag $fresh_catalog;
my %fresh_lines = map { $_ => 1 } split /\n/, $fresh_catalog;
my %updated_lines = map { $_ => 1 } split /\n/, $updated_catalog;
my @only_updated = grep { !$fresh_lines{$_} } split /\n/, $updated_catalog;
my @only_fresh = grep { !$updated_lines{$_} } split /\n/, $fresh_catalog;
ok($updated_catalog eq $fresh_catalog, 'the updated catalog equals a fresh install of 0.2.0')
  or diag join "\n", (map { "only updated: $_" } @only_updated), (map { "only fresh:   $_" } @only_fresh);
is( sql(q{
SELECT string_agg(pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'automl' AND d.deptype = 'e'
  AND NOT EXISTS (SELECT 1 FROM pg_description x
                  WHERE x.classoid = d.classid AND x.objoid = d.objid AND x.objsubid = d.objsubid)}),
	'', 'every object of the updated extension has a comment');

note sprintf('008_upgrade took %.0f s', time - $t_start);
$node->stop;
done_testing();
