# test/scripts/lib/SqlScript.pm: how the test scripts read sql/*.sql, as psql and
# test/README.md's convention do: statements() splits a psql script into statements and
# announced() says whether a statement is announced as failing (`-- error:` right above
# it, or a `-- errors:` paragraph). check_expected_errors.sh and
# sql_reference_coverage.sh share it.
package SqlScript;
use strict;
use warnings;
use Exporter 'import';
our @EXPORT = qw(statements announced);

# The statements of a psql script (an array of its lines), as [first line, last line
# (1-based), text without comments], split as psql does: a semicolon ends a statement
# outside quotes, comments, dollar quotes and parentheses; a line starting with a
# backslash (outside a statement) is one command.
sub statements
{
	my ($lines) = @_;
	my @stmts;
	my ($start, $depth, $dollar, $block, $quote) = (undef, 0, undef, 0, undef);
	my $text = '';
	for my $i (0 .. $#$lines)
	{
		my $line = $lines->[$i];
		my $n = $i + 1;
		if (!defined $start && !$block && $line =~ /^\s*\\/)
		{
			push @stmts, [ $n, $n, $line ];
			next;
		}
		my $pos = 0;
		my $len = length $line;
		while ($pos < $len)
		{
			my $rest = substr($line, $pos);
			my $c = substr($rest, 0, 1);
			if ($block)
			{
				if ($rest =~ /^\*\//) { $block--; $pos += 2; next; }
				if ($rest =~ /^\/\*/) { $block++; $pos += 2; next; }
				$pos++;
				next;
			}
			if (defined $dollar)
			{
				if (substr($rest, 0, length $dollar) eq $dollar) { $text .= $dollar; $pos += length $dollar; $dollar = undef; next; }
				$text .= $c;
				$pos++;
				next;
			}
			if (defined $quote)
			{
				# a doubled quote is the quote character itself
				if (substr($rest, 0, 2) eq $quote x 2) { $text .= $quote x 2; $pos += 2; next; }
				$quote = undef if $c eq $quote;
				$text .= $c;
				$pos++;
				next;
			}
			last if $rest =~ /^--/;
			if ($rest =~ /^\s/) { $text .= ' '; $pos++; next; }
			$start //= $n;
			if ($rest =~ /^\/\*/) { $block = 1; $pos += 2; next; }
			if ($rest =~ /^(\$(?:[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$)/)
			{
				$dollar = $1;
				$text .= $1;
				$pos += length $1;
				next;
			}
			if ($c eq "'" || $c eq "\"") { $quote = $c; }
			elsif ($c eq "(") { $depth++; }
			elsif ($c eq ")") { $depth-- if $depth > 0; }
			$text .= $c;
			if ($c eq ";" && $depth == 0)
			{
				push @stmts, [ $start, $n, $text ];
				$start = undef;
				$text = '';
			}
			$pos++;
		}
		$text .= "\n" if defined $start;
	}
	push @stmts, [ $start, scalar @$lines, $text ] if defined $start;
	return @stmts;
}

# Is the statement starting at line $first announced as failing?
sub announced
{
	my ($lines, $first) = @_;
	for (my $i = $first - 2; $i >= 0; $i--)
	{
		my $l = $lines->[$i];
		last unless $l =~ /^\s*--/;
		return 1 if $l =~ /^\s*--\s*error:\s*\S/;
	}
	for (my $i = $first - 2; $i >= 0; $i--)
	{
		my $l = $lines->[$i];
		last if $l =~ /^\s*$/;
		return 1 if $l =~ /^\s*--\s*errors:\s*\S/;
	}
	return 0;
}

1;
