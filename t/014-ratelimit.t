# Rate limits: per user/key in Redis (shared by every worker), per address
# on login and signup, with 429, Retry-After and RateLimit-* headers; when
# Redis is down, a per-node limit in shared memory (or 503 if refuse).  The
# Lua script itself, with one key and with the revoke key logout sets.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $t = Orbis::Test->new(workers => 2, http => q{
    orbis_rate_limit 5;
    orbis_auth_rate_limit 3;
});
my $s = $t->signup;
my %h = %{ $s->{auth} };

# ---- the script itself, as liborbiscore ships it, run in this Redis
my $lua = do {
    open my $fh, '<', "$Orbis::Test::ROOT/liborbiscore/src/ratelimit/"
                      . 'ratelimit_lua.c' or die $!;
    local $/;
    my $c = <$fh>;
    my ($body) = $c =~ /orbis_ratelimit_script\[\] =\s*(.*?);\n/s;
    join '', map { s/\\n/\n/gr } $body =~ /"((?:[^"\\]|\\.)*)"/g;
};
like $lua, qr/redis\.call\('TIME'\)/, 'the script is read from the source';
my @one = split /\n/, $t->redis('EVAL', $lua, 1, 'lua:a', 5, 60000, 0);
is scalar @one, 4, 'one key: the four numbers of old';
is_deeply [ @one[0, 1] ], [1, 4], 'allowed, 4 remaining';
my @two = split /\n/, $t->redis('EVAL', $lua, 2, 'lua:a', 'lua:gone', 5,
                                60000, 0);
is scalar @two, 5, 'two keys: a fifth number';
is_deeply [ @two[0, 1, 4] ], [1, 3, 0], 'allowed, 3 remaining, not revoked';
$t->redis('SET', 'lua:gone', 1);
my $tat = $t->redis('GET', 'lua:a');
@two = split /\n/, $t->redis('EVAL', $lua, 2, 'lua:a', 'lua:gone', 5,
                             60000, 0);
is_deeply \@two, [0, 0, 0, 0, 1], 'a revoke key that exists: revoked';
is $t->redis('GET', 'lua:a'), $tat, 'and the bucket was not touched';

my @codes = map { $t->get('/api/agents', headers => \%h)->code } 1 .. 5;
is_deeply \@codes, [ (200) x 5 ], 'five requests a minute are allowed';

my $res = $t->get('/api/agents', headers => \%h);
is $res->code, 429, 'the sixth is refused across both workers';
is $res->json->{error}{code}, 'rate_limited', 'with the error schema';
like $res->headers->header('Retry-After'), qr/^[1-9]\d*\z/, 'Retry-After is set, in whole seconds';
is $res->headers->header('RateLimit-Limit'), 5, 'RateLimit-Limit';
is $res->headers->header('RateLimit-Remaining'), 0, 'RateLimit-Remaining 0';
like $res->headers->header('RateLimit-Reset'), qr/^[1-9]\d*\z/, 'RateLimit-Reset, in whole seconds';
ok $t->redis('KEYS', 'rl:user:*') =~ /rl:user:/, 'the bucket lives in Redis';

# another user is not affected
my $other = $t->signup;
is $t->get('/api/agents', headers => $other->{auth})->code, 200,
    'another user has its own bucket';

# signup and login share one budget per address (signups above used 2)
my @logins = map {
    $t->post('/api/auth/login', json => {
        email => $s->{email}, password => 'wrong-password-1' })->code
} 1 .. 2;
is_deeply \@logins, [401, 429], 'the address is limited on login too';

# ---- Redis goes away: the per-node limiter takes over
$t->stop_redis;
$t->expect_error_log($Orbis::Test::REDIS_DOWN);
# the other user's bucket in shared memory starts empty
@codes = map { $t->get('/api/agents', headers => $other->{auth})->code }
         1 .. 12;
ok((grep { $_ == 200 } @codes), 'requests still pass without Redis');
ok((grep { $_ == 429 } @codes), 'and are still limited (per node)');

$t->start_redis;
$t->done;

# ---- with refuse, no Redis means 503
my $r = Orbis::Test->new(workers => 1, http => q{
    orbis_rate_limit_fallback refuse;
});
my $u = $r->signup;
$r->stop_redis;
$r->expect_error_log($Orbis::Test::REDIS_DOWN);
$r->expect_error_log(qr/orbis: 503 rate_limiter_unavailable: the rate limiter cannot be reached/);
$res = $r->get('/api/agents', headers => $u->{auth});
is $res->code, 503, 'refuse: no Redis, no service';
is $res->json->{error}{code}, 'rate_limiter_unavailable', 'says why';
$r->start_redis;
ok $r->wait_for(10, sub {
    $r->get('/api/agents', headers => $u->{auth})->code == 200 }),
    'and serves again when Redis is back';
$r->done;

done_testing;
