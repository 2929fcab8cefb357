#!/usr/bin/env bash
# check_expected_errors.sh: an expected output pins an ERROR only where the test says
# that the error is the point. Fails, naming file and line, when expected/*.out holds an
# error that sql/*.sql does not announce, or when an announced statement does not fail.
#
# The convention, for the statements of sql/*.sql (also in test/README.md):
#
#   -- error: <what is wrong>     among the comment lines right above one statement (no
#                                 blank line between): that statement fails.
#   -- errors: <what is wrong>    a comment line that opens a run of failures: every
#                                 statement after it, up to the next blank line, fails.
#
# A statement fails when its output in expected/<name>.out has a line starting with
# ERROR:, FATAL:, PANIC: or psql: (a client-side error), or says that the connection was
# lost. Both ways are checked: an error after an unannounced statement, and an announced
# statement without an error. The statements of a file run by \i count as the \i line.
#
# It also checks that every file ends with \i test/fixtures/clean_up.sql and that its
# expected output ends with the clean-up's empty list of what is left: no file leaves a
# model, table, role or schema to the next one.
#
# Needs perl, no server. Usage: test/scripts/check_expected_errors.sh [NAME...]
# (default: every sql/*.sql; NAME is a file's name without sql/ and .sql)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
if [[ $# -eq 0 ]]; then
	set -- sql/*.sql
fi
files=()
for a in "$@"; do
	a=${a#sql/}
	a=${a%.sql}
	files+=("$a")
done

exec perl -I"$ROOT/test/scripts/lib" - "${files[@]}" <<'PERL'
use strict;
use warnings;
use SqlScript;

my $problems = 0;
my $errors_seen = 0;
my $announced_seen = 0;

sub problem
{
	my ($msg) = @_;
	print "$msg\n";
	$problems++;
}

sub trimmed { my ($s) = @_; $s =~ s/\s+$//; return $s; }

# What fails a statement in psql's output: a server error, a client-side error
# (psql: ...), a lost connection.
my $error_line = qr/^(?:ERROR|FATAL|PANIC):|^psql:|server closed the connection|connection to server was lost/;

FILE: for my $name (@ARGV)
{
	my ($sqlf, $outf) = ("sql/$name.sql", "expected/$name.out");
	open my $sf, "<", $sqlf or do { problem("$sqlf: cannot read: $!"); next; };
	my @sql = map { chomp; $_ } <$sf>;
	close $sf;
	open my $of, "<", $outf or do { problem("$outf: cannot read: $!"); next; };
	my @out = map { chomp; $_ } <$of>;
	close $of;

	my @stmts = statements(\@sql);
	my %stmt_ending_at;
	$stmt_ending_at{ $_->[1] } = $_ for @stmts;

	# Walk the expected output, which echoes every non-empty line of the script
	# (psql -a) with each statement's output after its last line. An error line
	# belongs to the last statement that ended before it.
	my $j = 0;
	my $current;                # the statement whose output we are in
	my %failed;                 # first line of a statement => it failed
	my $errors_in = sub {
		my ($from, $to) = @_;
		for my $e ($from .. $to)
		{
			next unless $out[$e] =~ $error_line;
			$errors_seen++;
			my $at = "$outf:" . ($e + 1) . ": $out[$e]";
			if (!defined $current)
			{
				problem("$at: before any statement of $sqlf");
				next;
			}
			$failed{ $current->[0] } = 1;
			problem("$at: the statement at $sqlf:$current->[0] fails, and no comment announces it")
			  unless announced(\@sql, $current->[0]);
		}
	};
	for my $i (0 .. $#sql)
	{
		my $want = trimmed($sql[$i]);
		next if $want eq '';    # psql -a does not echo empty lines
		my $k = $j;
		$k++ while $k <= $#out && trimmed($out[$k]) ne $want;
		if ($k > $#out)
		{
			problem("$outf: does not echo line " . ($i + 1) . " of $sqlf: not the output of this script");
			next FILE;
		}
		$errors_in->($j, $k - 1);
		$j = $k + 1;
		$current = $stmt_ending_at{ $i + 1 } if exists $stmt_ending_at{ $i + 1 };
	}
	$errors_in->($j, $#out);
	# The file ends with the clean-up, and the clean-up found nothing left.
	my @code = grep { /\S/ } @sql;
	problem("$sqlf: does not end with \\i test/fixtures/clean_up.sql")
	  unless @code && trimmed($code[-1]) eq '\i test/fixtures/clean_up.sql';
	my @tail = (grep { /\S/ } @out)[ -3 .. -1 ];
	problem("$outf: the clean-up does not end with an empty list of what is left")
	  unless @tail == 3 && $tail[0] =~ /^\s*left_over\s*\|\s*name\s*$/ && $tail[2] eq '(0 rows)';

	for my $s (@stmts)
	{
		next unless announced(\@sql, $s->[0]);
		$announced_seen++;
		problem("$sqlf:$s->[0]: announced as an error, but $outf shows no error after it")
		  unless $failed{ $s->[0] };
	}
}
if ($problems)
{
	print "check_expected_errors.sh: $problems problem(s); see test/README.md for the convention\n";
	exit 1;
}
print "check_expected_errors.sh: " . scalar(@ARGV) . " files, $errors_seen pinned errors, each announced ($announced_seen announced statements)\n";
PERL
