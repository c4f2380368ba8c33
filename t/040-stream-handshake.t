# The /stream handshake: every refusal in both forms (HTTP status and JSON
# error for clients without Origin; upgrade then an immediate close code
# for browsers), the checks that are not about the account (method,
# upgrade headers, version), and a good handshake ending in "ready".
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test qw(is_error);
use Orbis::Stream;

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);
my $other = Orbis::Stream::account($t, origins => [$ORIGIN]);

sub http {
    my (%o) = @_;
    return Orbis::Stream::Client->connect($t, $acc, %o);
}

sub browser {
    my (%o) = @_;
    return Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN, %o);
}

# what each refusal says, over HTTP (the message) and to a browser (the
# close reason) alike
my %WHY = (
    'no key'                    => 'a publishable key is required (?key=pk_...)',
    'malformed key'             => 'a publishable key is required (?key=pk_...)',
    'unknown key'               => 'unknown key',
    'secret key'                => 'secret keys must never reach a browser: '
                                   . 'use a publishable key',
    'revoked key'               => 'this key is revoked',
    'no agent'                  => 'no such agent',
    'agent not a UUID'          => 'no such agent',
    'unknown agent'             => 'no such agent',
    "another tenant's agent"    => 'no such agent',
    'deleted agent'             => 'no such agent',
    'no Origin (not a browser)' => 'this origin may not use this key',
    'an origin not listed'      => 'this origin may not use this key',
);

sub refused_http {
    my ($name, $status, $code, %o) = @_;
    my $ws = http(%o);
    is $ws->failed, $status, "$name: HTTP $status without Origin";
    is $ws->json_error->{error}{code}, $code, "$name: error code $code";
    is $ws->json_error->{error}{message}, $WHY{$name},
        "$name: a message for people";
    return $ws;
}

sub refused_browser {
    my ($name, $close, %o) = @_;
    my $ws = browser(%o);
    ok !$ws->failed, "$name: a browser gets the upgrade";
    my $c = $ws->wait_closed;
    is $c->{code}, $close, "$name: then close $close";
    is $c->{reason}, $WHY{$name}, "$name: with the reason";
    ok !grep({ ($_->{type} // '') eq 'ready' } @{ $ws->msgs }),
        "$name: no call starts";
    return $ws;
}

# ---- a good handshake
my $ws = browser();
ok !$ws->failed, 'the upgrade succeeds';
is $ws->tx->res->code, 101, '101 Switching Protocols';
my $ready = $ws->wait_type('ready');
like $ready->{sessionId},
    qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'ready carries a UUID session id';
is $ready->{mode}, 'echo', 'no Gemini key: echo mode';
is $ready->{inputRate}, 16000, 'input at 16 kHz';
is $ready->{outputRate}, 24000, 'output at 24 kHz';
$ws->close(1000);

# ---- the key
refused_http('no key', 401, 'unauthorized', key => undef);
refused_browser('no key', 4003, key => undef);
refused_http('malformed key', 401, 'unauthorized', key => 'pk_short');
refused_http('unknown key', 401, 'unauthorized',
             key => Orbis::Stream::new_key('pk'));
refused_browser('unknown key', 4003, key => Orbis::Stream::new_key('pk'));
refused_http('secret key', 403, 'forbidden', key => $acc->{secret});
refused_browser('secret key', 4003, key => $acc->{secret});

my $revoked = Orbis::Stream::account($t, origins => [$ORIGIN]);
$t->sql(q{UPDATE api_keys SET revoked_at = now() WHERE id = :'p1'},
        $revoked->{key_id});
refused_http('revoked key', 401, 'unauthorized', key => $revoked->{key});
refused_browser('revoked key', 4003, key => $revoked->{key});

# ---- the agent
refused_http('no agent', 404, 'not_found', agent => undef);
refused_browser('no agent', 4000, agent => undef);
refused_http('agent not a UUID', 404, 'not_found', agent => 'abc');
refused_http('unknown agent', 404, 'not_found',
             agent => '00000000-0000-4000-8000-000000000000');
refused_browser('unknown agent', 4000,
                agent => '00000000-0000-4000-8000-000000000000');
refused_http("another tenant's agent", 404, 'not_found',
             agent => $other->{agent});
refused_browser("another tenant's agent", 4000, agent => $other->{agent});

my $gone = Orbis::Stream::add_agent($t, $acc->{tenant}, name => 'Gone');
$t->sql(q{UPDATE agents SET deleted_at = now() WHERE id = :'p1'}, $gone);
refused_browser('deleted agent', 4000, agent => $gone);

# ---- a key bound to other agents
my $second = Orbis::Stream::add_agent($t, $acc->{tenant}, name => 'Second');
my $bound = Orbis::Stream::account($t, origins => [$ORIGIN]);
my $bound_other = Orbis::Stream::add_agent($t, $bound->{tenant});
$t->sql(q{UPDATE api_keys SET agent_ids = ARRAY[:'p1'::uuid]
          WHERE id = :'p2'}, $bound->{agent}, $bound->{key_id});
$ws = Orbis::Stream::Client->connect($t, $bound, agent => $bound_other);
is $ws->failed, 403, 'a key for other agents: 403';
$ws = Orbis::Stream::Client->connect($t, $bound, agent => $bound_other,
                                     origin => $ORIGIN);
is $ws->wait_closed->{code}, 4003, 'a key for other agents: 4003';
$ws = Orbis::Stream::Client->connect($t, $bound, origin => $ORIGIN);
is $ws->wait_type('ready')->{type}, 'ready', 'its own agent is fine';
$ws->close;

# an empty agent list means every agent of the tenant
$ws = browser(agent => $second);
ok $ws->wait_type('ready'), 'a key without agent ids opens any agent';
$ws->close;

# ---- the origin
refused_http('no Origin (not a browser)', 403, 'forbidden');
refused_browser('an origin not listed', 4003,
                origin => 'http://evil.example');

my $keyo = Orbis::Stream::account($t, origins => [$ORIGIN],
                                  key_origins => ['https://shop.example']);
$ws = Orbis::Stream::Client->connect($t, $keyo, origin => $ORIGIN);
is $ws->wait_closed->{code}, 4003,
    "the key's own origins replace the tenant's";
$ws = Orbis::Stream::Client->connect($t, $keyo,
                                     origin => 'https://shop.example:443');
ok $ws->wait_type('ready'), "the key's origin (default port) is accepted";
$ws->close;

# ---- the plan's monthly allowance
my $used = Orbis::Stream::account($t, origins => [$ORIGIN]);
$t->sql(q{INSERT INTO tenant_usage (tenant_id, month, conversations)
          VALUES (:'p1', date_trunc('month', now() AT TIME ZONE 'UTC'),
                  50)}, $used->{tenant});
$ws = Orbis::Stream::Client->connect($t, $used);
is $ws->failed, 429, 'allowance used up: 429';
is $ws->json_error->{error}{code}, 'usage_limit', 'code usage_limit';
$ws = Orbis::Stream::Client->connect($t, $used, origin => $ORIGIN);
is $ws->wait_closed->{code}, 4002, 'allowance used up: 4002';
$t->sql(q{UPDATE tenant_usage SET conversations = 49
          WHERE tenant_id = :'p1'}, $used->{tenant});
$ws = Orbis::Stream::Client->connect($t, $used, origin => $ORIGIN);
ok $ws->wait_type('ready'), 'one call left: it starts';
$ws->close;

# ---- the key's rate limit (the plan's calls per minute)
$t->sql(q{INSERT INTO plans (id, name, price_monthly_cents,
                             conversations_per_month, rate_limit_per_minute)
          VALUES ('tiny', 'Tiny', 0, 100, 3)});
my $tiny = Orbis::Stream::account($t, plan => 'tiny', origins => [$ORIGIN]);
for my $i (1 .. 3) {
    $ws = Orbis::Stream::Client->connect($t, $tiny, origin => $ORIGIN);
    ok $ws->wait_type('ready'), "call $i of 3 within the minute";
    $ws->close;
}
$ws = Orbis::Stream::Client->connect($t, $tiny, origin => $ORIGIN);
is $ws->wait_closed->{code}, 4001, 'the fourth: 4001';
$ws = Orbis::Stream::Client->connect($t, $tiny);
is $ws->failed, 429, 'without Origin: 429';
is $ws->json_error->{error}{code}, 'rate_limited', 'code rate_limited';
ok $ws->res->headers->header('Retry-After') > 0, 'with Retry-After';

# ---- not a WebSocket handshake
my $res = $t->get(Orbis::Stream::stream_path($acc));
is_error($res, 426, 'invalid_request', 'a plain GET: 426');
is $res->headers->header('Upgrade'), 'websocket', 'Upgrade: websocket';

$res = $t->get(Orbis::Stream::stream_path($acc), headers => {
    Upgrade => 'websocket', Connection => 'Upgrade',
    'Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version' => '8' });
is_error($res, 426, 'invalid_request', 'version 8: 426');
is $res->headers->header('Sec-WebSocket-Version'), '13', 'asks for 13';

$res = $t->get(Orbis::Stream::stream_path($acc), headers => {
    Upgrade => 'websocket', Connection => 'Upgrade',
    'Sec-WebSocket-Key' => 'short', 'Sec-WebSocket-Version' => '13' });
is_error($res, 400, 'invalid_request', 'a bad Sec-WebSocket-Key: 400');

$res = $t->post(Orbis::Stream::stream_path($acc), json => {});
is_error($res, 405, 'method_not_allowed', 'POST: 405');
is $res->headers->header('Allow'), 'GET', 'Allow: GET';

# ---- a refusal is not a conversation
ok $t->wait_for(10, sub {
    $t->sql_value(q{SELECT count(*) FROM conversations
                    WHERE tenant_id = :'p1'}, $tiny->{tenant}) == 3
}), 'only the calls that started are recorded';

$t->done;
done_testing;
