# GET /api/health: Postgres and Redis status with round trips, 503 while
# either is down, and back to 200 when it returns.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $t = Orbis::Test->new;

my $res = $t->get('/api/health');
is $res->code, 200, 'health is 200 with everything up';
my $h = $res->json;
is $h->{status}, 'ok', 'status ok';
is $h->{postgres}{status}, 'ok', 'postgres ok';
is $h->{redis}{status}, 'ok', 'redis ok';
like $h->{postgres}{rttMs}, qr/^\d+(?:\.\d+)?\z/,
    'postgres round trip reported, in ms';
like $h->{redis}{rttMs}, qr/^\d+(?:\.\d+)?\z/,
    'redis round trip reported, in ms';
is_deeply $h->{schema}{ok}, Mojo::JSON::true(), 'schema is current';
like $res->headers->content_type, qr{^application/json}, 'JSON answer';

# ---- Redis goes away and comes back
$t->stop_redis;
$t->expect_error_log($Orbis::Test::REDIS_DOWN);
$res = $t->wait_for(5, sub {
    my $r = $t->get('/api/health');
    $r->code == 503 ? $r : undef;
});
is $res && $res->code, 503, 'health turns 503 once redis is stopped';
is $res->json->{redis}{status}, 'down', 'redis reported down';
is $res->json->{postgres}{status}, 'ok', 'postgres still ok';
is $res->json->{redis}{error}, 'redis unavailable', 'the reason is given';

$t->start_redis;
ok $t->wait_for(10, sub { $t->get('/api/health')->code == 200 }),
    'health is 200 again after redis returns';

# ---- Postgres goes away and comes back (every worker must reconnect)
$t->stop_postgres('fast');
# a worker sees its idle connection go, or its next connect refused
$t->expect_error_log($Orbis::Test::POSTGRES_DOWN);
$res = $t->wait_for(5, sub {
    my $r = $t->get('/api/health');
    $r->code == 503 ? $r : undef;
});
is $res && $res->code, 503, 'health turns 503 once postgres is stopped';
is $res->json->{postgres}{status}, 'down', 'postgres reported down';
is $res->json->{redis}{status}, 'ok', 'redis still ok';

$t->start_postgres;
ok $t->wait_for(10, sub {
    # several in a row, so that both workers have reconnected
    !grep { $t->get('/api/health')->code != 200 } 1 .. 6;
}), 'health is 200 again on every worker after postgres restarts';

# ---- the error schema for everything the module answers
$res = $t->get('/api/no/such/thing');
is $res->code, 404, 'unknown route 404';
is $res->json->{error}{code}, 'not_found', 'error schema: code';
like $res->json->{error}{message}, qr{no such endpoint}, 'error schema: msg';

$res = $t->post('/api/health', json => {});
is $res->code, 405, 'wrong method 405';
is $res->headers->header('Allow'), 'GET', 'Allow lists the method';
is $res->json->{error}{code}, 'method_not_allowed', 'error schema';

$t->done;
done_testing;
