# 007_retrain_cron.pl: scheduled retraining run by the real pg_cron. Three
# jobs run in the same minute: 'up' gets 2000 clean rows and its retrained
# version is deployed while another session keeps scoring it; 'down' is cut
# to 160 rows and its retrained version is stored but refused; 'calm' (if
# needed, nothing drifted) is skipped. Unscheduling removes the jobs; in a
# database without pg_cron scheduling fails with how to install it, and
# automl works there all the same. No timing is asserted: every wait is a
# bounded poll.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $t_start = time;
my $node = PostgreSQL::Test::Cluster->new('retrain_cron');
# The README's install command brings pg_cron (postgresql-15-cron): without it this
# test fails, it does not skip.
my $pg_cron = $node->config_data('--pkglibdir') . '/pg_cron.so';
if (!ok(-f $pg_cron, "pg_cron is installed ($pg_cron)"))
{
	diag 'install postgresql-15-cron (the README\'s apt-get command does)';
	done_testing();
	exit 1;
}

$node->init;
# Background workers: jobs run without a libpq connection (no password set-up).
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
cron.max_running_jobs = 8
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron; CREATE EXTENSION automl;');

# The 60 noisy rows of sql/retrain.sql, and the 2000 clean ones that follow.
sub noisy_rows
{
	my ($table) = @_;
	return qq{
CREATE TABLE $table AS
SELECT i AS id, (i % 100)::float8 AS x1, ((i * 37) % 100)::float8 AS x2,
       (50 * sin((i % 100) / 15.0) + ((i * 37) % 100) ^ 2 / 100 + 40 * sin(i * 7.1))::float8 AS y
FROM generate_series(1, 60) AS i;};
}

sub clean_rows
{
	my ($table) = @_;
	return qq{
INSERT INTO $table
SELECT i, (i % 100)::float8, ((i * 37) % 100)::float8,
       (50 * sin((i % 100) / 15.0) + ((i * 37) % 100) ^ 2 / 100 + sin(i))::float8
FROM generate_series(61, 2060) AS i;};
}

sub train
{
	my ($db, $model, $table) = @_;
	return $node->safe_psql($db,
		qq{SELECT version FROM automl_train('$model', '$table', 'y', exclude => ARRAY['id'], algorithms => ARRAY['gbdt'], max_trials => 2)}
	);
}

# The predictions of a model (or model@version) for rows 1..5, as one line.
sub predictions
{
	my ($db, $model, $table) = @_;
	return $node->safe_psql($db,
		qq{SELECT string_agg(automl_predict('$model', t)::text, ',' ORDER BY id) FROM $table t WHERE id <= 5}
	);
}

# The newest audit event of a kind for a model, as a hash (detail decoded).
sub last_event
{
	my ($model, $event) = @_;
	my $row = $node->safe_psql(
		'postgres', qq{
SELECT jsonb_build_object('version', version, 'reason', reason, 'who', who, 'detail', detail)
FROM automl.audit WHERE model = '$model' AND event = '$event' ORDER BY id DESC LIMIT 1});
	return $row eq '' ? undef : decode_json($row);
}

# ---------------------------------------------------------------------------
# Three models, version 1 each from 60 noisy rows. 'down' gets a deployed
# version 2 from the clean rows first (as in sql/retrain.sql), then loses all
# but 160 rows; 'up' gets the clean rows and a min_gain to clear.

$node->safe_psql('postgres', noisy_rows($_)) for qw(up_data down_data calm_data);
is(train('postgres', 'up', 'up_data'), '1', 'trained up, version 1');
is(train('postgres', 'down', 'down_data'), '1', 'trained down, version 1');
is(train('postgres', 'calm', 'calm_data'), '1', 'trained calm, version 1');
$node->safe_psql('postgres', clean_rows('down_data'));
is( $node->safe_psql('postgres',
		q{SELECT version || ' ' || deployed FROM automl_retrain('down', 'more data')}),
	'2 true', 'down: version 2, retrained by hand on the clean rows, is deployed');
$node->safe_psql('postgres', 'DELETE FROM down_data WHERE id > 160');
$node->safe_psql('postgres', clean_rows('up_data'));
is($node->safe_psql('postgres', q{SELECT min_gain FROM automl_set_policy('up', min_gain => 1)}),
	'1', 'up: min_gain 1');

my $p_up1 = predictions('postgres', 'up@1', 'up_data');
my $p_down2 = predictions('postgres', 'down@2', 'down_data');

# ---------------------------------------------------------------------------
# A database without pg_cron: automl trains, predicts and retrains there;
# scheduling fails and says how to install pg_cron.

$node->safe_psql('postgres', 'CREATE DATABASE nocron');
$node->safe_psql('nocron', 'CREATE EXTENSION automl; ' . noisy_rows('n_data'));
is(train('nocron', 'n', 'n_data'), '1', 'nocron: trained n');
like(predictions('nocron', 'n', 'n_data'), qr/^[^,]+(?:,[^,]+){4}$/, 'nocron: n predicts');
is($node->safe_psql('nocron', q{SELECT version || ' ' || previous_version FROM automl_retrain('n')}),
	'2 1', 'nocron: automl_retrain works without pg_cron');
my ($ret, $stdout, $stderr) =
  $node->psql('nocron', q{SELECT automl_schedule_retrain('n', '0 3 * * *')});
isnt($ret, 0, 'nocron: automl_schedule_retrain fails');
# pg_cron can only be installed in cron.database_name: the error says so and
# gives the pg_cron call to run there
like(
	$stderr,
	qr/ERROR:  pg_cron keeps its jobs in database "postgres", not in this one/,
	'nocron: the error names the database pg_cron works in');
like(
	$stderr,
	qr/HINT:  Connect to database "postgres" and run: SELECT cron\.schedule_in_database\('automl-retrain-n', '0 3 \* \* \*', 'SELECT \* FROM public\.automl_retrain_if_needed\(''n''\)', 'nocron'\);/,
	'nocron: the hint gives the call to run there');
note "nocron: $stderr";
($ret, $stdout, $stderr) = $node->psql('nocron', q{SELECT automl_unschedule_retrain('n')});
like($stderr, qr/HINT:  Connect to database "postgres" and run: SELECT cron\.unschedule\('automl-retrain-n'\);/,
	'nocron: so does automl_unschedule_retrain');
is($node->safe_psql('nocron', q{SELECT count(*) FROM automl.audit WHERE event = 'schedule'}),
	'0', 'nocron: no schedule event recorded');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job}), '0', 'nocron: no pg_cron job was created');

# ---------------------------------------------------------------------------
# Scheduling: one pg_cron job per model, named after it; scheduling a model
# again replaces its job instead of adding one.

# Returns the job id, or undef (and a failed test) when scheduling fails.
sub schedule
{
	my ($model, $args) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', "SELECT automl_schedule_retrain('$model', $args)");
	is($ret, 0, "automl_schedule_retrain('$model', $args)") or diag $err;
	return $ret == 0 ? $out : undef;
}

# "if needed" on a model nothing watches (no monitor, no max_age) would never retrain:
# refused, and nothing scheduled. Monitored, calm may be scheduled so.
my ($never_ret, $never_out, $never_err) =
  $node->psql('postgres', q{SELECT automl_schedule_retrain('calm', '* * * * *')});
isnt($never_ret, 0, 'calm: if needed without a monitor or max_age is refused');
like($never_err, qr/ERROR:  retraining model "calm" if needed would never retrain it/,
	'calm: the refusal says why');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job}), '0', 'calm: no job was scheduled');
$node->safe_psql('postgres', q{SELECT automl_monitor('calm')});

my $first = schedule('up', q{'0 3 * * *', if_needed => false});
my %job = (
	up => schedule('up', q{'* * * * *', if_needed => false}),
	down => schedule('down', q{'* * * * *', if_needed => false}),
	calm => schedule('calm', q{'* * * * *'}));
# Nothing to wait for without the jobs.
if (grep { !defined } $first, values %job)
{
	$node->stop;
	done_testing();
	exit 0;
}
my $scheduled_at = time;
is($job{up}, $first, 'scheduling up again kept its job id');
is( $node->safe_psql(
		'postgres', q{
SELECT jobname || ' | ' || schedule || ' | ' || command || ' | ' || database FROM cron.job ORDER BY jobid}),
	"automl-retrain-up | * * * * * | SELECT * FROM public.automl_retrain('up', 'scheduled') | postgres\n"
	  . "automl-retrain-down | * * * * * | SELECT * FROM public.automl_retrain('down', 'scheduled') | postgres\n"
	  . "automl-retrain-calm | * * * * * | SELECT * FROM public.automl_retrain_if_needed('calm') | postgres",
	'cron.job: one job per model with its schedule and command (if_needed by default)');
my $sched = last_event('up', 'schedule');
is($sched->{detail}{job}, $job{up}, 'audit: the schedule event of up names its job');
is($sched->{reason}, q{retrain always on '* * * * *'}, 'audit: the schedule event says what and when');

# ---------------------------------------------------------------------------
# While pg_cron runs the jobs, another session keeps scoring up: one psql
# process, a query every 0.2 s, each its own transaction, until told to stop.

$node->safe_psql('postgres', 'CREATE TABLE predictor_stop (at timestamptz DEFAULT now())');
my $script = PostgreSQL::Test::Utils::tempdir() . '/predictor.sql';
open my $fh, '>', $script or die "could not write $script: $!";
print $fh <<'EOF' for 1 .. 1500;
SELECT count(*) = 0 AS go FROM predictor_stop \gset
\if :go
SELECT v FROM (SELECT string_agg(COALESCE(automl_predict('up', t)::text, 'NULL'), ',' ORDER BY id) AS v
               FROM up_data t WHERE id <= 5) s, pg_sleep(0.2);
\else
\q
\endif
EOF
close $fh;
my ($pred_out, $pred_err) = ('', '');
my $predictor = IPC::Run::start(
	[ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres'), '-f', $script ],
	'<', \undef, '>', \$pred_out, '2>', \$pred_err);

sub predictor_calls
{
	$predictor->pump_nb if $predictor->pumpable;
	return scalar(() = $pred_out =~ /\n/g);
}

# Each job's first finished run, then its model is unscheduled at once (so
# that it does not run again every minute).
my %check = (up => 'retrain', down => 'retrain', calm => 'retrain_skipped');
my (%status, %unscheduled);
my $deadline = $scheduled_at + 130;
while (keys %status < 3 && time < $deadline)
{
	predictor_calls();
	for my $model (sort grep { !exists $status{$_} } keys %job)
	{
		my $run = $node->safe_psql(
			'postgres', qq{
SELECT r.status || '|' || coalesce(r.return_message, '')
FROM cron.job_run_details r
WHERE r.jobid = $job{$model} AND r.status IN ('succeeded', 'failed')
  AND (r.status = 'failed' OR EXISTS (SELECT FROM automl.audit a WHERE a.model = '$model' AND a.event = '$check{$model}'))
ORDER BY r.runid LIMIT 1});
		next if $run eq '';
		$status{$model} = $run;
		$unscheduled{$model} =
		  $node->safe_psql('postgres', "SELECT automl_unschedule_retrain('$model')");
		note sprintf('%s: pg_cron run finished %.0f s after scheduling: %s',
			$model, time - $scheduled_at, $run);
	}
	sleep 0.5;
}

# A few more calls once up is redeployed, then the predictor stops.
my $calls_at_end = predictor_calls();
my $more = time + 10;
sleep 0.2 while predictor_calls() < $calls_at_end + 3 && time < $more;
$node->safe_psql('postgres', 'INSERT INTO predictor_stop DEFAULT VALUES');
my $stop = time + 30;
while ($predictor->pumpable && time < $stop)
{
	$predictor->pump_nb;
	sleep 0.1;
}
$predictor->kill_kill if $predictor->pumpable;
$predictor->finish;

like($status{$_} // 'no run', qr/^succeeded\|/, "$_: pg_cron ran the job and it succeeded")
  for qw(up down calm);

# ---------------------------------------------------------------------------
# up: the scheduled retrain beat version 1 by more than min_gain and serves.

my $up = last_event('up', 'retrain');
my $v = $up->{detail}{version} // 0;
ok($v >= 2, "up: the scheduled retrain stored version $v");
is($up->{reason}, 'scheduled', 'up: the retrain event says it was scheduled');
is( join(' ', map { $up->{detail}{$_} // 'NULL' } qw(previous_version deployed trigger)),
	'1 1 scheduled', 'up: retrain detail: previous version 1, deployed, trigger scheduled');
like(
	$up->{detail}{decision} // '',
	qr/^rmse [0-9.e+-]+ against [0-9.e+-]+ of version 1 on the same $up->{detail}{gate_rows} validation rows: gain [0-9.e+-]+ > min_gain 1$/,
	'up: the decision says why: rmse against version 1 on the gate rows, gain > min_gain');
note "up: who $up->{who}, decision: $up->{detail}{decision}";
is( $node->safe_psql(
		'postgres', qq{
SELECT parent_version, comparison->>'champion_version', comparison->>'deployed',
       comparison->>'validation_rows' = options->>'gate_rows',
       (comparison->>'challenger_score')::float8 + 1 < (comparison->>'champion_score')::float8
FROM automl.models WHERE name = 'up' AND version = $v}),
	'1|1|true|t|t',
	'up: automl.models.comparison: against version 1 on the gate rows, better by more than 1, deployed');
is($node->safe_psql('postgres', q{SELECT version FROM automl.deployed WHERE name = 'up'}),
	$v, "up: automl.deployed shows version $v");
is( $node->safe_psql(
		'postgres', qq{
SELECT string_agg(event, ',' ORDER BY id) FROM automl.audit
WHERE model = 'up' AND version = $v AND event IN ('train', 'auto_deploy', 'auto_deploy_refused')}),
	'train,auto_deploy', 'up: audit: train and auto_deploy of the new version');

# The other session: every call answered, with version 1's predictions until
# the switch and the new version's after it.
my $p_up2 = predictions('postgres', "up\@$v", 'up_data');
isnt($p_up2, $p_up1, 'up: the new version predicts differently from version 1');
my @answers = split /\n/, $pred_out;
my @bad = grep { !/^[^,]+(?:,[^,]+){4}$/ || /NULL/ } @answers;
my @errors = $pred_err =~ /^.*ERROR:.*$/mg;
my %seen;
$seen{ $_ eq $p_up1 ? 'v1' : $_ eq $p_up2 ? "v$v" : 'other' }++ for @answers;
note sprintf('predictor: %d calls (%s), %d bad answers, %d errors',
	scalar @answers, join(', ', map { "$_: $seen{$_}" } sort keys %seen), scalar @bad, scalar @errors);
ok(@answers > 0, 'the predicting session made calls during the wait (' . scalar(@answers) . ')');
is(scalar(@bad) + scalar(@errors), 0, 'every call answered, without error or NULL')
  or diag "bad answers: @bad[0 .. ($#bad < 4 ? $#bad : 4)]\nstderr: $pred_err";
is($seen{other} // 0, 0, 'every answer is that of version 1 or of the new version');
my ($switch) = grep { $answers[$_] eq $p_up2 } 0 .. $#answers;
is(scalar(grep { $_ ne $p_up2 } @answers[ ($switch // $#answers + 1) .. $#answers ]),
	0, 'once it got the new version, it never got version 1 again');
is($answers[-1] // '', $p_up2, 'its last calls got the new version');

# ---------------------------------------------------------------------------
# down: the scheduled retrain lost against version 2 and is only stored.

my $down = last_event('down', 'retrain');
my $d = $down->{detail}{version} // 0;
is($d, 3, 'down: the scheduled retrain stored version 3');
is( join(' ', map { $down->{detail}{$_} // 'NULL' } qw(previous_version deployed trigger)),
	'2 0 scheduled', 'down: retrain detail: previous version 2, not deployed, trigger scheduled');
like(
	$down->{detail}{decision} // '',
	qr/^rmse [0-9.e+-]+ against [0-9.e+-]+ of version 2 on the same $down->{detail}{gate_rows} validation rows: gain [0-9.e+-]+ <= min_gain 0$/,
	'down: the decision says why: no gain over version 2 on the gate rows');
note "down: decision: $down->{detail}{decision}";
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(event, ',' ORDER BY id) FROM automl.audit
WHERE model = 'down' AND version = 3 AND event IN ('train', 'auto_deploy', 'auto_deploy_refused')}),
	'train,auto_deploy_refused', 'down: audit: train and auto_deploy_refused of version 3');
is( $node->safe_psql(
		'postgres', q{
SELECT comparison->>'deployed', retired_at IS NULL FROM automl.models WHERE name = 'down' AND version = 3}),
	'false|t', 'down: version 3 is stored, its comparison says not deployed');
is($node->safe_psql('postgres', q{SELECT version FROM automl.deployed WHERE name = 'down'}),
	'2', 'down: automl.deployed still shows version 2');
is(predictions('postgres', 'down', 'down_data'), $p_down2, 'down: version 2 still answers');

# ---------------------------------------------------------------------------
# calm: if needed, and nothing drifted: skipped and recorded, no new version.

my $calm = last_event('calm', 'retrain_skipped');
is($calm->{reason} // '', 'no prediction logged in the last 1 day, no max_age',
	'calm: audit retrain_skipped says why');
ok(defined $calm && !defined $calm->{detail}{drift} && !defined $calm->{detail}{performance},
	'calm: the skipped check found no drift and no degraded performance');
is( $node->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) FROM automl.models WHERE name = 'calm'),
       (SELECT count(*) FROM automl.audit WHERE model = 'calm' AND event = 'retrain')}),
	'1|0', 'calm: no new version, no retrain event');

# ---------------------------------------------------------------------------
# Unscheduling: true once, then false; the jobs are gone; every finished run
# is one retrain (or skip) in the audit.

is(join(' ', map { $unscheduled{$_} // 'NULL' } qw(up down calm)),
	't t t', 'automl_unschedule_retrain returned true for each model');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE jobname LIKE 'automl-retrain-%'}),
	'0', 'cron.job has no automl job left');
is($node->safe_psql('postgres', q{SELECT automl_unschedule_retrain('up')}),
	'f', 'a second automl_unschedule_retrain returns false');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM automl.audit WHERE event = 'schedule' AND reason = 'retraining unscheduled'}),
	'3', 'audit: each unscheduling is recorded once');
for my $model (sort keys %job)
{
	is( $node->safe_psql(
			'postgres', qq{
SELECT (SELECT count(*) FROM cron.job_run_details WHERE jobid = $job{$model} AND status = 'succeeded')
     = (SELECT count(*) FROM automl.audit WHERE model = '$model' AND event = '$check{$model}'
          AND reason IN ('scheduled', 'no prediction logged in the last 1 day, no max_age'))}),
		't', "$model: one audit event per succeeded run");
}

note sprintf('007_retrain_cron took %.0f s', time - $t_start);
$node->stop;
done_testing();
