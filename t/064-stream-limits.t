# What a tenant, or a stranger holding its publishable key, can spend:
# a foreign Origin is refused before the key's rate budget is touched;
# the tenant's own calls-a-minute limit beside the key's; the plan's
# concurrent calls, fleet-wide (two nodes on one Postgres and Redis) and
# given back after a worker is killed; the month's allowance reserved by
# live calls; and the plan's agents and API keys, checked atomically.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::IOLoop;
use Mojo::Promise;
use Orbis::Test;
use Orbis::Stream;

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 2, http => q{
    orbis_stream_heartbeat 500ms;
    orbis_stream_heartbeat_timeout 2s;
    orbis_stream_sweep_interval 500ms;
}, server => q{
    location /stream { orbis_stream; }
});

# name, key calls/min, tenant calls/min, at once, a month, agents, keys
$t->sql(q{INSERT INTO plans (id, name, price_monthly_cents,
                             conversations_per_month, rate_limit_per_minute,
                             tenant_calls_per_minute, max_concurrent_calls,
                             max_agents, max_api_keys)
          VALUES ('tiny3', 'Three a minute', 0, 1000, 3, 100, 10, 25, 10),
                 ('tenant2', 'Two a minute', 0, 1000, 100, 2, 10, 25, 10),
                 ('two', 'Two at once', 0, 1000, 100, 1000, 2, 2, 2),
                 ('one', 'One at once', 0, 1000, 100, 1000, 1, 25, 10),
                 ('month3', 'Three a month', 0, 3, 100, 1000, 10, 25, 10)});

sub browser {
    my ($node, $acc, %o) = @_;
    return Orbis::Stream::Client->connect($node, $acc, origin => $ORIGIN,
                                          %o);
}

sub ready {
    my ($ws, $name) = @_;
    my $r = eval { $ws->wait_type('ready') };
    ok(($r->{type} // '') eq 'ready', "$name: the call starts")
        or diag explain [$ws->closed, $ws->failed, $ws->body];
    return $ws;
}

sub closed_with {
    my ($ws, $code, $name) = @_;
    my $c = $ws->wait_closed;
    is $c->{code}, $code, "$name: close $code ($c->{reason})";
    ok !grep({ ($_->{type} // '') eq 'ready' } @{ $ws->msgs }),
        "$name: no call starts";
    return $c;
}

sub live {
    my ($acc) = @_;
    return $t->redis('ZCARD', "calls:live:{$acc->{tenant}}");
}

sub saved {
    my ($acc, $n) = @_;
    return $t->wait_for(10, sub {
        $t->sql_value(q{SELECT count(*) FROM conversations
                        WHERE tenant_id = :'p1'}, $acc->{tenant}) == $n });
}

# ---- the script's "multi" form itself, as liborbiscore ships it
my $lua = do {
    open my $fh, '<', "$Orbis::Test::ROOT/liborbiscore/src/ratelimit/"
                      . 'ratelimit_lua.c' or die $!;
    local $/;
    my $c = <$fh>;
    my ($body) = $c =~ /orbis_ratelimit_script\[\] =\s*(.*?);\n/s;
    join '', map { s/\\n/\n/gr } $body =~ /"((?:[^"\\]|\\.)*)"/g;
};
sub multi {
    my ($flags, $member) = @_;
    return [ split /\n/, $t->redis('EVAL', $lua, 3, 'm:key', 'm:tenant',
                                   'm:live', 'multi', 2, $flags,
                                   5, 60000, 5, 1, 60000, 1,
                                   0, 10, 60000, $member) ];
}
is_deeply multi('l', 'p1'), [1, 4, 12000, 0, 0, 0, 0],
    'multi, only looking: allowed';
is $t->redis('EXISTS', 'm:key') + $t->redis('EXISTS', 'm:live'), 0,
    'and nothing written';
is_deeply [ @{ multi('lc', 'c1') }[0, 5, 6] ], [1, 0, 0],
    'multi, committing: allowed';
my $tat = $t->redis('GET', 'm:key');
is $t->redis('ZCARD', 'm:live'), 1, 'the call holds a place';
is_deeply [ @{ multi('lc', 'c2') }[0, 5, 6] ], [0, 2, 1],
    "the tenant's bucket is empty: refused by bucket 2";
is $t->redis('GET', 'm:key'), $tat, "and the key's bucket is untouched";
is $t->redis('ZCARD', 'm:live'), 1, 'and no place taken';

# ---- a foreign page spends nothing of the key's budget
my $tiny = Orbis::Stream::account($t, plan => 'tiny3',
                                  origins => [$ORIGIN]);
for my $i (1 .. 8) {
    my $ws = Orbis::Stream::Client->connect($t, $tiny,
                                            origin => 'https://evil.example');
    is $ws->wait_closed->{code}, 4003, "foreign origin, try $i: 4003";
}
for my $i (1 .. 4) {
    my $ws = Orbis::Stream::Client->connect($t, $tiny);
    is $ws->failed, 403, "no Origin, try $i: 403";
    is $ws->json_error->{error}{code}, 'forbidden', 'code forbidden';
}
is $t->redis('EXISTS', "rl:stream:{$tiny->{tenant}}:$tiny->{key_id}"), '0',
    "the key's bucket was never touched";
is $t->redis('EXISTS', "rl:stream:{$tiny->{tenant}}"), '0',
    "nor the tenant's";
for my $i (1 .. 3) {
    ready(browser($t, $tiny), "the real site, call $i of 3")->close;
}
my $ws = browser($t, $tiny);
closed_with($ws, 4001, 'the fourth in the minute');
$ws = Orbis::Stream::Client->connect($t, $tiny);
is $ws->failed, 429, 'a client without Origin learns the limit: 429';
is $ws->json_error->{error}{code}, 'rate_limited', 'code rate_limited';
ok $ws->res->headers->header('Retry-After') > 0, 'with Retry-After';

# ---- the tenant's calls a minute, whatever the key
my $ten = Orbis::Stream::account($t, plan => 'tenant2',
                                 origins => [$ORIGIN]);
my $pk2 = Orbis::Stream::new_key('pk');
$t->sql(q{INSERT INTO api_keys (tenant_id, name, kind, key_hash, prefix,
                                last4)
          VALUES (:'p1', 'second', 'publishable', encode(sha256(:'p2'),
                  'hex'), 'pk_x', 'xxxx')}, $ten->{tenant}, $pk2);
my $ten2 = { %$ten, key => $pk2 };
ready(browser($t, $ten), 'tenant, first key')->close;
ready(browser($t, $ten2), 'tenant, second key')->close;
my $c = closed_with(browser($t, $ten), 4001, "the tenant's third");
like $c->{reason}, qr/for this account: 2 a minute/,
    'the reason names the account limit';
$ws = Orbis::Stream::Client->connect($t, $ten2);
is $ws->failed, 429, 'without Origin: 429';
is $ws->json_error->{error}{code}, 'rate_limited', 'code rate_limited';

# ---- concurrent calls, fleet-wide: two nodes
my $n2 = $t->another_node;
my $two = Orbis::Stream::account($t, plan => 'two', origins => [$ORIGIN]);
my $a1 = ready(browser($t, $two), 'node 1, first call');
my $a2 = ready(browser($n2, $two), 'node 2, second call');
is live($two), 2, 'two places taken in Redis';
closed_with(browser($t, $two), 4005, 'a third on node 1');
$ws = Orbis::Stream::Client->connect($n2, $two);
is $ws->failed, 429, 'a third on node 2 without Origin: 429';
is $ws->json_error->{error}{code}, 'concurrency_limit',
    'code concurrency_limit';
like $ws->json_error->{error}{message}, qr/2 calls at once/,
    'the message says how many';
is live($two), 2, 'refusals take no place';

$a1->close(1000);
ok $t->wait_for(10, sub { live($two) == 1 }),
    'a call that ended gives its place back once saved';
my $a3 = ready(browser($n2, $two), 'then a new call');
$a2->close(1000);
$a3->close(1000);
ok saved($two, 3), 'three calls saved';
ok $t->wait_for(10, sub { live($two) == 0 }), 'and every place back';

# ---- a killed worker's place comes back after its lease
my $one = Orbis::Stream::account($t, plan => 'one', origins => [$ORIGIN]);
$ws = ready(browser($t, $one), 'one at once');
my $id = $ws->msgs->[0]{sessionId};
ok $t->wait_for(5, sub { $t->redis('HGET', "session:$id", 'worker') }),
    'the call is live in Redis';
my $pid = $t->redis('HGET', "session:$id", 'worker');
kill 'KILL', $pid;
is $ws->wait_closed(10)->{code}, 1006, 'the worker is gone';
my $t0 = time;
closed_with(browser($t, $one), 4005, 'at once after the kill: still taken');
my $back;
ok $t->wait_for(15, sub {
    my $w = browser($t, $one);
    my $r = eval { $w->wait_type('ready', 5) };
    $back = $w if ($r->{type} // '') eq 'ready';
    $back;
}), sprintf('the place comes back after the lease (%d s)', time - $t0);
$back->close(1000) if $back;
ok saved($one, 2), 'the killed call is saved by the sweeper, the new one '
                   . 'by its worker';
ok $t->wait_for(10, sub { live($one) == 0 }), 'no place left taken';
$t->expect_error_log(qr/worker process $pid exited on signal 9/);

# ---- live calls reserve the month's allowance
my $month = Orbis::Stream::account($t, plan => 'month3',
                                   origins => [$ORIGIN]);
$t->sql(q{INSERT INTO tenant_usage (tenant_id, month, conversations)
          VALUES (:'p1', date_trunc('month', now() AT TIME ZONE 'UTC'), 1)},
        $month->{tenant});
my $m1 = ready(browser($t, $month), 'one saved, first live');
my $m2 = ready(browser($t, $month), 'one saved, second live');
closed_with(browser($t, $month), 4002, 'one saved and two live of three');
$ws = Orbis::Stream::Client->connect($t, $month);
is $ws->failed, 429, 'without Origin: 429';
is $ws->json_error->{error}{code}, 'usage_limit', 'code usage_limit';
like $ws->json_error->{error}{message}, qr/1 saved, 2 in progress/,
    'the message counts both';
$m1->close(1000);
ok saved($month, 1), 'the first is saved';
closed_with(browser($t, $month), 4002, 'two saved and one live of three');
$m2->close(1000);
ok saved($month, 2), 'the second is saved';
closed_with(browser($t, $month), 4002, 'three saved of three');

# ---- the plan's agents and keys
my %free = map { $_->{id} => $_ } @{ $t->get('/api/plans')->json->{items} };
is_deeply [ @{ $free{free} }{qw(maxConcurrentCalls tenantCallsPerMinute
                                maxAgents maxApiKeys)} ], [5, 100, 25, 10],
    "GET /plans shows the free plan's limits";
is_deeply [ @{ $free{pro} }{qw(maxConcurrentCalls tenantCallsPerMinute)} ],
    [100, 1200], "and the pro plan's";
my $s = $t->signup;
my %h = %{ $s->{auth} };
$t->sql(q{UPDATE tenants SET plan = 'two' WHERE id = :'p1'},
        $s->{tenant}{id});
my @agents = map {
    $t->post('/api/agents', headers => \%h,
             json => { name => "A$_", systemPrompt => 'p', voice => 'Kore' })
} 1 .. 3;
is_deeply [ map { $_->code } @agents ], [201, 201, 403],
    'agents: two are allowed, the third is refused';
is $agents[2]->json->{error}{code}, 'plan_limit', 'code plan_limit';
is $agents[2]->json->{error}{message},
    'the plan allows 2 agents; delete one or change plans', 'and why';
is $agents[0]->json->{language}, 'en-US', "the core's default language";
my $cat = $t->get('/api/catalog')->json;
is $cat->{defaultLanguage}, 'en-US', 'the catalog names the default';
is $cat->{languages}[0], 'en-US', 'and lists it first';
is $t->del('/api/agents/' . $agents[0]->json->{id}, headers => \%h)->code,
    204, 'one deleted';

# the last place, asked for eight times at once: one gets it
my @p = map {
    $t->ua->post_p($t->url('/api/agents') => \%h => json => {
        name => "R$_", systemPrompt => 'p', voice => 'Kore' })
} 1 .. 8;
my @codes;
Mojo::Promise->all(@p)->then(sub { @codes = sort map { $_->[0]->res->code }
                                                    @_ })->wait;
is_deeply \@codes, [201, (403) x 7], 'eight at once for one place: one 201';
is $t->sql_value(q{SELECT count(*) FROM agents WHERE tenant_id = :'p1'
                   AND deleted_at IS NULL}, $s->{tenant}{id}), 2,
    'and two agents live';

my @keys = map {
    $t->post('/api/api-keys', headers => \%h,
             json => { name => "k$_", kind => 'publishable' })
} 1 .. 3;
is_deeply [ map { $_->code } @keys ], [201, 201, 403],
    'keys: two are allowed, the third is refused';
is $keys[2]->json->{error}{code}, 'plan_limit', 'code plan_limit';
is $keys[2]->json->{error}{message},
    'the plan allows 2 API keys; delete one or change plans', 'and why';
is $t->del('/api/api-keys/' . $keys[0]->json->{id}, headers => \%h)->code,
    204, 'one revoked';
is $t->post('/api/api-keys', headers => \%h,
            json => { name => 'k4', kind => 'secret' })->code, 201,
    'a revoked key frees its place';

$n2->done;
$t->done;
done_testing;
