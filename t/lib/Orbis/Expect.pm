package Orbis::Expect;

# The error-log entries a test provokes on purpose, named in a way both
# harnesses understand: with the strict one (Orbis::Test's
# expect_error_log: every [error] and above must be named, and what is
# named must appear), this is expect_error_log itself; with an older one,
# which fails only on [alert] and [emerg], the named entries are dropped
# from the log before done() checks it.
#
#   use Orbis::Expect qw(expect_log done_with_log);
#   expect_log($t, qr/worker process \d+ exited on signal 9/);
#   expect_log($t, qr/.../, maybe => 1);
#   done_with_log($t);      # instead of $t->done

use strict;
use warnings;
use Carp;
use Exporter 'import';

our @EXPORT_OK = qw(expect_log done_with_log);

sub expect_log {
    my ($t, $re, %o) = @_;
    croak 'expect_log takes a qr//' unless ref $re eq 'Regexp';
    return $t->expect_error_log($re, %o) if $t->can('expect_error_log');
    push @{ $t->{orbis_expect} }, $re;
    return $t;
}

sub done_with_log {
    my ($t) = @_;
    my $expect = $t->{orbis_expect};
    if (!$t->can('expect_error_log') && $expect) {
        my @keep = grep { my $l = $_; !grep { $l =~ $_ } @$expect }
                   split /\n/, $t->error_log_text;
        open my $fh, '>', $t->error_log or croak $t->error_log . ": $!";
        print $fh map { "$_\n" } @keep;
        close $fh;
    }
    $t->done;
}

1;
