# The Postgres pool: a query that runs past orbis_postgres_query_timeout is
# answered 503 and its connection freed; a full pool and a full wait queue
# answer 503 at once instead of hanging; the pool works normally afterwards.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::Promise;
use Time::HiRes qw(time);
use Orbis::Test qw(is_error);

my $t = Orbis::Test->new(workers => 1, http => q{
    orbis_postgres_max_connections 1;
    orbis_postgres_queue 1;
    orbis_postgres_queue_timeout 700ms;
    orbis_postgres_query_timeout 1500ms;
});

# ---- query timeout
$t->expect_error_log(qr/orbis postgres: query timed out after \d+ ms/);
$t->expect_error_log(qr/orbis: 503 database_timeout: database query timed out, try again shortly/);
my $res = $t->get('/api/_test/pg-sleep?seconds=10');
is $res->code, 503, 'a query past the timeout is answered 503';
is $res->json->{error}{code}, 'database_timeout', 'and says it timed out';

ok $t->wait_for(5, sub {
    !$t->sql_value("SELECT count(*) FROM pg_stat_activity
                    WHERE query LIKE 'SELECT pg_sleep%'");
}), 'the timed-out statement no longer runs on the server';

is $t->get('/api/health')->code, 200, 'the pool serves the next request';

# ---- pool exhaustion: 1 connection, 1 waiting slot
$t->expect_error_log(qr/orbis: 503 database_busy: database busy, try again shortly/);
my (%done, @order);
my $start = time;
my @p = map {
    my $n = $_;
    $t->ua->get_p($t->url('/api/_test/pg-sleep?seconds=1.2'))->then(sub {
        my $tx = shift;
        $done{$n} = [ $tx->result->code, time - $start,
                      $tx->result->json->{error}{code} ];
        push @order, $n;
    });
} 1 .. 3;
Mojo::Promise->all(@p)->wait;

is $done{1}[0], 200, 'the first query gets the connection and completes';
my @busy = grep { $done{$_}[0] == 503 } 2, 3;
is scalar @busy, 2, 'the other two are refused with 503';
is $done{$_}[2], 'database_busy', "request $_ says the database is busy"
    for @busy;
ok $done{$_}[1] < $done{1}[1], "request $_ was refused before the first "
    . "query finished (no hanging)" for @busy;

is $t->get('/api/health')->code, 200, 'healthy after the burst';
is $t->get('/api/_test/pg-sleep?seconds=0.1')->code, 200,
    'queries run normally again';

# ---- bad input to the test endpoint is a 400, not a query
is_error($t->get('/api/_test/pg-sleep?seconds=abc'), 400, 'invalid_request', 'bad number 400');

$t->done;
done_testing;
