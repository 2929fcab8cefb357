#!/usr/bin/perl
# test/docs/blocks.pl: reads Markdown files and writes what test/scripts/docs.sh runs.
#
#   blocks.pl script FILE...   a psql script: every ```sql block of the files, in the order
#                              given, each announced on stderr (\warn) as
#                              "@@docs-block FILE:LINE EPOCH" before it runs
#   blocks.pl conf FILE...     the ``` blocks marked <!-- docs test: postgresql.conf -->
#   blocks.pl markers FILE...  one line per marker: FILE:LINE, the marker and its text
#   blocks.pl citus FILE...    a psql script of the ```sql blocks marked
#                              <!-- docs test: citus -->, which test/t/011_citus.pl runs on a
#                              Citus coordinator (test/scripts/docs.sh, on one node, skips them)
#
# A marker is an HTML comment alone on the line just before a block's opening fence:
#   <!-- not run: REASON -->            the block is not run (REASON is required)
#   <!-- expect error: TEXT -->         the block must fail with an error whose message
#                                       contains TEXT; the blocks after it then run as usual
#   <!-- docs test: postgresql.conf --> (before a plain ``` block) settings the test adds
#                                       to its cluster's postgresql.conf before it starts
#   <!-- docs test: citus -->           (before a ```sql block) runs on a Citus cluster, in
#                                       test/t/011_citus.pl, not on docs.sh's single node
# Anything else that starts with "<!-- not run", "<!-- expect" or "<!-- docs test", or a
# marker that is not followed by a block, is an error, so a typo cannot hide a block.
# A block must end with a complete statement (a semicolon, or a psql meta-command such as
# \gset), so that it never runs glued to the next one.
use strict;
use warnings;

my $mode = shift @ARGV // '';
die "usage: blocks.pl script|conf|markers|citus FILE...\n"
	unless $mode =~ /^(script|conf|markers|citus)$/ && @ARGV;

my @blocks;    # { file, line (of the opening fence), lang, text, marker, arg }

for my $file (@ARGV) {
	open my $fh, '<', $file or die "blocks.pl: cannot read $file: $!\n";
	my @lines = <$fh>;
	close $fh;
	chomp @lines;
	my ($pending, $pending_arg, $pending_line);
	for (my $i = 0; $i < @lines; $i++) {
		my $l = $lines[$i];
		if ($l =~ /^\s*<!--\s*(not run|expect error|docs test)\s*:\s*(.*?)\s*-->\s*$/) {
			my ($m, $arg) = ($1, $2);
			die "$file:" . ($i + 1) . ": marker \"$m\" needs a text after the colon\n" if $arg eq '';
			die "$file:" . ($i + 1) . ": unknown docs test marker \"$arg\"\n"
				if $m eq 'docs test' && $arg ne 'postgresql.conf' && $arg ne 'citus';
			($pending, $pending_arg, $pending_line) = ($m, $arg, $i + 1);
			next;
		}
		die "$file:" . ($i + 1) . ": malformed marker (expected <!-- not run: reason -->,"
			. " <!-- expect error: text --> or <!-- docs test: postgresql.conf -->)\n"
			if $l =~ /<!--\s*(not[\s-]*run|expect|docs[\s-]*test)/i;
		if ($l =~ /^(\s*)```+\s*([\w+-]*)/) {
			my ($indent, $lang) = ($1, $2);
			my $start = $i + 1;
			my @text;
			for ($i++; $i < @lines && $lines[$i] !~ /^\s*```+\s*$/; $i++) {
				(my $t = $lines[$i]) =~ s/^\Q$indent\E//;
				push @text, $t;
			}
			die "$file:$start: the block is not closed\n" if $i >= @lines;
			if (defined $pending) {
				die "$file:$pending_line: marker \"$pending\" is not on the line just before a block\n"
					if $pending_line != $start - 1;
				die "$file:$pending_line: \"$pending\" applies to ```sql blocks\n"
					if $pending ne 'docs test' && $lang ne 'sql';
				die "$file:$pending_line: \"docs test: postgresql.conf\" applies to a plain ``` block\n"
					if $pending eq 'docs test' && $pending_arg eq 'postgresql.conf' && $lang ne '';
				die "$file:$pending_line: \"docs test: citus\" applies to ```sql blocks\n"
					if $pending eq 'docs test' && $pending_arg eq 'citus' && $lang ne 'sql';
			}
			push @blocks, { file => $file, line => $start, lang => $lang, text => [@text],
							marker => $pending, arg => $pending_arg }
				if $lang eq 'sql' || defined $pending;
			undef $pending;
			next;
		}
		if (defined $pending) {
			die "$file:$pending_line: marker \"$pending\" is not on the line just before a block\n";
		}
	}
	die "$file:$pending_line: marker \"$pending\" is not followed by a block\n" if defined $pending;
}

# The last line of a block without its -- comment, outside quotes (simple, enough for docs).
sub strip_comment {
	my ($line, $state) = @_;    # $state: undef, "'" or a dollar-quote tag
	my $out = '';
	while (length $line) {
		if (defined $$state) {
			my $end = index($line, $$state);
			if ($end < 0) { $out .= $line; $line = ''; last }
			$out .= substr($line, 0, $end + length $$state);
			$line = substr($line, $end + length $$state);
			undef $$state;
			next;
		}
		if ($line =~ /^(.*?)(--|'|"|\$[A-Za-z_]*\$)/s) {
			my ($before, $tok) = ($1, $2);
			$out .= $before;
			$line = substr($line, length($before) + length($tok));
			last if $tok eq '--';
			$out .= $tok;
			if ($tok eq '"') {
				my $end = index($line, '"');
				if ($end >= 0) { $out .= substr($line, 0, $end + 1); $line = substr($line, $end + 1) }
				next;
			}
			$$state = $tok;
			next;
		}
		$out .= $line;
		last;
	}
	return $out;
}

sub complete {
	my ($text) = @_;
	my $state;
	my $last = '';
	for my $l (@$text) {
		my $s = strip_comment($l, \$state);
		$last = $s if $s =~ /\S/;
	}
	return 0 if defined $state;
	return $last =~ /;\s*$/ || $last =~ /^\s*\\/ || $last =~ /\\g\w*(\s.*)?$/;
}

sub psql_quote {    # a psql meta-command argument in single quotes
	my ($s) = @_;
	$s =~ s/\\/\\\\/g;
	$s =~ s/'/''/g;
	return "'$s'";
}

if ($mode eq 'markers') {
	for my $b (grep { defined $_->{marker} } @blocks) {
		print "$b->{file}:$b->{line}\t$b->{marker}: $b->{arg}\n";
	}
	exit 0;
}

if ($mode eq 'conf') {
	for my $b (grep { defined $_->{marker} && $_->{marker} eq 'docs test' && $_->{arg} eq 'postgresql.conf' } @blocks) {
		print "# from $b->{file}:$b->{line}\n", map({ "$_\n" } @{ $b->{text} });
	}
	exit 0;
}

if ($mode eq 'citus') {
	print "\\set ON_ERROR_STOP on\n\\set VERBOSITY default\n";
	for my $b (grep { ($_->{marker} // '') eq 'docs test' && $_->{arg} eq 'citus' } @blocks) {
		die "$b->{file}:$b->{line}: the block does not end with a complete statement\n" unless complete($b->{text});
		print "\\warn ", psql_quote("\@\@docs-block $b->{file}:$b->{line}"), "\n";
		print map({ "$_\n" } @{ $b->{text} });
	}
	exit 0;
}

# script
print "\\set ON_ERROR_STOP on\n\\set VERBOSITY default\n";
for my $b (grep { $_->{lang} eq 'sql' } @blocks) {
	my $where = "$b->{file}:$b->{line}";
	my $m = $b->{marker} // '';
	if ($m eq 'docs test' && $b->{arg} eq 'citus') {
		print "\\warn ", psql_quote("\@\@docs-skip $where runs on a Citus coordinator, in test/t/011_citus.pl"), "\n";
		next;
	}
	next if $m eq 'docs test';
	if ($m eq 'not run') {
		print "\\warn ", psql_quote("\@\@docs-skip $where $b->{arg}"), "\n";
		next;
	}
	die "$where: the block does not end with a complete statement (a semicolon or a psql"
		. " meta-command): it would run glued to the next one\n" unless complete($b->{text});
	print "SELECT pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) AS automl_docs_t \\gset\n";
	print "\\warn ", psql_quote("\@\@docs-block $where"), " :automl_docs_t\n";
	if ($m eq 'expect error') {
		print "\\set automl_docs_expect ", psql_quote($b->{arg}), "\n";
		print "\\set LAST_ERROR_MESSAGE ''\n\\set ON_ERROR_STOP off\n";
		print map({ "$_\n" } @{ $b->{text} });
		print "\\set ON_ERROR_STOP on\n";
		print "SELECT pg_catalog.strpos(:'LAST_ERROR_MESSAGE', :'automl_docs_expect') > 0 AS automl_docs_ok,"
			. " :'LAST_ERROR_MESSAGE' = '' AS automl_docs_none \\gset\n";
		print "\\if :automl_docs_ok\n";
		print "\\warn ", psql_quote("\@\@docs-expected $where"), " :'LAST_ERROR_MESSAGE'\n";
		print "\\else\n";
		print "\\if :automl_docs_none\n";
		print "\\warn ", psql_quote("\@\@docs-fail $where: the block ran without the error it expects:"), " :'automl_docs_expect'\n";
		print "\\else\n";
		print "\\warn ", psql_quote("\@\@docs-fail $where: expected an error containing"), " :'automl_docs_expect'",
			" ', got:' :'LAST_ERROR_MESSAGE'\n";
		print "\\endif\n";
		print "SELECT automl_docs_test_failed();\n";    # does not exist: psql stops here
		print "\\endif\n";
		next;
	}
	print map({ "$_\n" } @{ $b->{text} });
}
print "SELECT pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) AS automl_docs_t \\gset\n";
print "\\warn '\@\@docs-end' :automl_docs_t\n";
