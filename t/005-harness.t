# The harness's error-log check itself, without a server: an [error] or
# worse that no expectation names fails the file, an expected entry that
# never came fails it too, and info or warn entries never do.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my @log = (
    '2026/12/08 01:00:00 [info] 1#1: *1 client sent invalid method',
    '2026/12/08 01:00:00 [warn] 1#1: a warning',
    '2026/12/08 01:00:01 [error] 1#1: orbis redis: connection to '
        . '127.0.0.1:1 lost: Server closed the connection',
    "2026/12/08 01:00:02 [error] 1#1: orbis postgres: idle connection lost:"
        . " server closed the connection unexpectedly\n"
        . "\tThis probably means the server terminated abnormally",
    '2026/12/08 01:00:03 [crit] 1#1: *2 something broke',
    '2026/12/08 01:00:04 [alert] 1#1: worker process 9 exited on signal 9',
);

sub verdict {
    my ($bad, $missing) = Orbis::Test::error_log_verdict(\@log,
        [ map { ref $_ eq 'HASH' ? $_ : { re => $_ } } @_ ]);
    return [ map { /\[(\w+)\]/ ? $1 : $_ } @$bad ], scalar @$missing;
}

my ($bad, $missing) = verdict();
is_deeply $bad, [qw(error error crit alert)],
    'nothing expected: every [error], [crit] and [alert] is bad';
is $missing, 0, 'and nothing is missing';

($bad, $missing) = verdict($Orbis::Test::REDIS_DOWN,
                           $Orbis::Test::POSTGRES_DOWN,
                           qr/worker process \d+ exited on signal 9/);
is_deeply $bad, ['crit'], 'named entries pass, the one not named fails';
is $missing, 0, 'every expected entry is there';

($bad, $missing) = verdict(qr/something broke/, $Orbis::Test::REDIS_DOWN,
    $Orbis::Test::POSTGRES_DOWN, qr/exited on signal 9/,
    qr/orbis: 503 database_busy/);
is_deeply $bad, [], 'all named';
is $missing, 1, 'an expected entry that never came is missing';

($bad, $missing) = verdict(qr/something broke/, $Orbis::Test::REDIS_DOWN,
    $Orbis::Test::POSTGRES_DOWN, qr/exited on signal 9/,
    { re => qr/orbis: 503 database_busy/, maybe => 1 });
is $missing, 0, 'one that a race may not produce may be missing';

# entries: continuation lines belong to the entry they continue
my $t = Orbis::Test->new(no_postgres => 1, no_redis => 1, no_nginx => 1);
open my $fh, '>', $t->error_log or die $!;
print $fh map { "$_\n" } @log;
close $fh;
my @entries = $t->error_log_entries;
is scalar @entries, 6, 'six entries in seven lines';
like $entries[3], qr/idle connection lost.*\n\tThis probably means/,
    'a Postgres message keeps its second line';
is scalar $t->error_log_entries(qr/invalid method/), 1,
    'error_log_entries matches at any level';
$t->teardown;

done_testing;
