#!/usr/bin/env bash
# sql_reference_coverage.sh: every function of the SQL reference has at least one bad
# input pinned in pg_regress. Fails, naming each function, when a function documented in
# docs/sql-reference.md appears in no statement of sql/*.sql that is announced as an
# error (`-- error:` / `-- errors:`, the convention of test/README.md, which
# check_expected_errors.sh checks against expected/*.out: an announced statement does fail).
#
# The documented functions are the names written as a call in docs/sql-reference.md
# (`automl_xxx(`: the signatures, the tables of each section). A function appears in a
# statement when the statement calls it by name (automl_xxx followed by an opening
# parenthesis, outside comments), whatever the schema qualification.
#
# A function with no input at all cannot be given a bad one: those are listed below with
# the reason, and printed; a listed function that is no longer documented, or that a file
# does pin an error of, fails the check (the list must not outlive its reason).
#
# Prints, for each function, how many announced error statements call it, and in which
# files (-v), and the functions that have none. Needs perl, no server.
# Usage: test/scripts/sql_reference_coverage.sh [-v]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
VERBOSE=0
if [[ ${1:-} == -v ]]; then
	VERBOSE=1
fi

exec perl -I"$ROOT/test/scripts/lib" - "$VERBOSE" docs/sql-reference.md sql/*.sql <<'PERL'
use strict;
use warnings;
use SqlScript;

my ($verbose, $reference, @files) = @ARGV;

# Functions without arguments and without a failure of their own: nothing to pin.
my %no_input = (
	automl_training_progress => 'takes no argument and only reads shared memory (sql/search.sql and test/t/005_search.pl show what it returns)',
	automl_collect_predictions => 'takes no argument; returns 0 on one node (sql/registry.sql) and warns about a worker it cannot reach (test/t/011_citus.pl)',
);

open my $rf, "<", $reference or die "sql_reference_coverage.sh: cannot read $reference: $!\n";
my %documented;
while (my $line = <$rf>)
{
	$documented{$1} = 1 while $line =~ /\b(automl_[a-z0-9_]+)\s*\(/g;
}
close $rf;
die "sql_reference_coverage.sh: no function found in $reference: has its layout changed?\n"
  unless %documented;

my %cases;    # function => { file => number of announced error statements calling it }
for my $f (@files)
{
	open my $sf, "<", $f or die "sql_reference_coverage.sh: cannot read $f: $!\n";
	my @sql = map { chomp; $_ } <$sf>;
	close $sf;
	for my $s (statements(\@sql))
	{
		next unless announced(\@sql, $s->[0]);
		my %called;
		$called{$1} = 1 while $s->[2] =~ /\b(automl_[a-z0-9_]+)\s*\(/g;
		for my $fn (keys %called)
		{
			$cases{$fn}{$f}++ if $documented{$fn};
		}
	}
}

my @missing;
my $problems = 0;
for my $fn (sort keys %no_input)
{
	if (!$documented{$fn})
	{
		print "$fn is listed as taking no input, but $reference does not document it: remove it from the list\n";
		$problems++;
	}
	elsif ($cases{$fn})
	{
		print "$fn is listed as taking no input, but sql/*.sql pins an error of it: remove it from the list\n";
		$problems++;
	}
	else
	{
		print "$fn: not checked: $no_input{$fn}\n";
	}
}
for my $fn (sort keys %documented)
{
	next if $no_input{$fn};
	if (!$cases{$fn})
	{
		push @missing, $fn;
		next;
	}
	if ($verbose)
	{
		my $total = 0;
		$total += $_ for values %{ $cases{$fn} };
		printf "%-28s %3d  %s\n", $fn, $total,
		  join(", ", map { "$_ ($cases{$fn}{$_})" } sort keys %{ $cases{$fn} });
	}
}
exit 1 if $problems && !@missing;
if (@missing)
{
	print "$reference documents $_(), but no announced error case of sql/*.sql calls it\n" for @missing;
	print "sql_reference_coverage.sh: " . scalar(@missing) . " of " . scalar(keys %documented)
	  . " documented functions have no bad input pinned; add one (-- error: / -- errors:, test/README.md)\n";
	exit 1;
}
print "sql_reference_coverage.sh: each of the " . (scalar(keys %documented) - scalar(keys %no_input))
  . " functions of $reference that take input has a bad input pinned in sql/*.sql\n";
PERL
