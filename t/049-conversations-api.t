# GET /api/conversations and /api/conversations/{id}: the calls /stream
# saved, in the shapes of docs/openapi.json, newest first with cursor
# pagination, filtered by agent and date range, and never another
# tenant's.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test qw(is_error);
use Orbis::Stream qw(tone);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);
my $other = Orbis::Stream::account($t, origins => [$ORIGIN]);
my $second = Orbis::Stream::add_agent($t, $acc->{tenant}, name => 'Second');

sub one_call {
    my ($a, %o) = @_;
    my $ws = Orbis::Stream::Client->connect($t, $a, origin => $ORIGIN, %o);
    my $id = $ws->wait_type('ready')->{sessionId};
    $ws->send_binary(tone(ms => 20)) for 1 .. 10;
    $ws->send_json({ type => 'text', text => $o{say} // 'hi' });
    $ws->wait_msg(sub { ($_[0]{text} // '') eq ($o{say} // 'hi') }, 'echo');
    $ws->send_json({ type => 'end' });
    $ws->wait_closed;
    $t->wait_for(10, sub {
        $t->sql_value(q{SELECT count(*) FROM conversations
                        WHERE id = :'p1'}, $id) == 1
    }) or die "call $id not saved";
    return $id;
}

my @ids = map { one_call($acc, say => "call $_") } 1 .. 3;
my $on_second = one_call($acc, agent => $second, say => 'second agent');
my $foreign = one_call($other, say => 'not yours');

sub api { Orbis::Stream::api($t, $acc, GET => @_) }

# ---- the list
my $res = api('/api/conversations');
is $res->code, 200, 'list: 200';
my $items = $res->json->{items};
is scalar @$items, 4, "the tenant's four calls";
is_deeply [ map { $_->{id} } @$items ], [ $on_second, reverse @ids ],
    'newest first';
ok !grep({ $_->{id} eq $foreign } @$items), "no other tenant's call";
is $res->json->{nextCursor}, undef, 'one page: no cursor';

my $c = $items->[1];
is_deeply [ sort keys %$c ],
    [ sort qw(id agentId agentName startedAt endedAt durationSec endReason
              audioSecondsIn audioSecondsOut resumptions turnCount
              ttfaP50Ms ttfaP95Ms) ],
    'the Conversation shape of the OpenAPI document';
is $c->{agentId}, $acc->{agent}, 'agentId';
is $c->{agentName}, 'Concierge', 'agentName';
is $c->{endReason}, 'client_closed', 'endReason';
is $c->{turnCount}, 1, 'turnCount';
is $c->{resumptions}, 0, 'resumptions';
ok abs($c->{audioSecondsIn} - 0.2) < 0.01, 'audioSecondsIn';
ok abs($c->{audioSecondsOut} - 0.2) < 0.01, 'audioSecondsOut';
ok $c->{durationSec} > 0, 'durationSec';
like $c->{startedAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'startedAt';
# in echo the echo starts with the speech: one agent turn, answered at once
is $c->{ttfaP50Ms}, 0, 'ttfaP50Ms: the echo answers at once';
is $c->{ttfaP95Ms}, 0, 'ttfaP95Ms';

# ---- pages
$res = api('/api/conversations?limit=3');
is scalar @{ $res->json->{items} }, 3, 'limit=3: three';
my $cursor = $res->json->{nextCursor};
like $cursor, qr/^[A-Za-z0-9_-]{8,}\z/, 'and a cursor';
$res = api("/api/conversations?limit=3&cursor=$cursor");
is_deeply [ map { $_->{id} } @{ $res->json->{items} } ], [ $ids[0] ],
    'the next page has the rest';
is $res->json->{nextCursor}, undef, 'and no cursor';
is_error(api('/api/conversations?limit=0'), 400, 'invalid_request', 'limit=0: 400');
is api('/api/conversations?cursor=zzz')->code, 400, 'a bad cursor: 400';

# ---- filters
$res = api("/api/conversations?agent=$second");
is_deeply [ map { $_->{id} } @{ $res->json->{items} } ], [$on_second],
    'agent= filters';
$res = api("/api/conversations?agent=$other->{agent}");
is_deeply $res->json->{items}, [], "another tenant's agent: nothing";
is_error(api('/api/conversations?agent=nope'), 400, 'invalid_request', 'agent=nope: 400');

my ($y, $m, $d) = (gmtime)[5, 4, 3];
my $today = sprintf '%04d-%02d-%02d', $y + 1900, $m + 1, $d;
is scalar @{ api("/api/conversations?from=$today")->json->{items} }, 4,
    'from=today (a date): all of them';
is scalar @{ api("/api/conversations?to=$today")->json->{items} }, 0,
    'to=today: none started before today';
is scalar @{ api('/api/conversations?from=2000-01-01T00:00:00Z'
                 . '&to=2000-01-02T00:00:00%2B02:00')->json->{items} }, 0,
    'a range in the past: none';
is scalar @{ api('/api/conversations?from=2000-01-01T00:00:00.5Z')
                 ->json->{items} }, 4, 'fractional seconds are fine';
for my $bad ('yesterday', '2025-02-30', '2025-13-01', '2025-01-01T25:00:00Z',
             '2025-01-01T10:00:00') {
    $res = api("/api/conversations?from=$bad");
    is_error($res, 400, 'invalid_request', "from=$bad: 400");
    like $res->json->{error}{message}, qr/^from:/, 'naming the parameter';
}

# ---- one conversation
$res = api("/api/conversations/$ids[1]");
is $res->code, 200, 'detail: 200';
my $conv = $res->json;
is $conv->{id}, $ids[1], 'the id';
is $conv->{endReason}, 'client_closed', 'with the list fields';
is_deeply [ map { [ $_->{role}, $_->{text} ] } @{ $conv->{turns} } ],
    [ [ 'user', 'call 2' ] ], 'and its transcript';
like $conv->{turns}[0]{at}, qr/^\d{4}-/, 'turns have a time';
is_deeply $conv->{toolCalls}, [], 'and its tool calls (none)';
is_deeply $conv->{ttfaMs}, [0], 'and its time to first audio per turn';
is_deeply [ sort keys %$conv ],
    [ sort qw(id agentId agentName startedAt endedAt durationSec endReason
              audioSecondsIn audioSecondsOut resumptions turnCount
              ttfaP50Ms ttfaP95Ms ttfaMs turns toolCalls) ],
    'the ConversationDetail shape of the OpenAPI document';

is_error(api("/api/conversations/$foreign"), 404, 'not_found',
    "another tenant's conversation: 404");
is Orbis::Stream::api($t, $other, GET => "/api/conversations/$foreign")
       ->code, 200, 'which its own tenant sees';
is api('/api/conversations/00000000-0000-4000-8000-000000000000')->code,
    404, 'an unknown id: 404';
is_error(api('/api/conversations/nope'), 404, 'not_found', 'not an id: 404');
is $t->get('/api/conversations')->code, 401, 'without credentials: 401';

# ---- a call without agent audio (typed only, echo answers in text)
{
    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    my $id = $ws->wait_type('ready')->{sessionId};
    $ws->send_json({ type => 'text', text => 'typed only' });
    $ws->wait_msg(sub { ($_[0]{text} // '') eq 'typed only' }, 'echo');
    $ws->send_json({ type => 'end' });
    is $ws->wait_closed->{code}, 1000, 'typed-only call: closed with 1000';
    ok $t->wait_for(10, sub {
        $t->sql_value(q{SELECT count(*) FROM conversations
                        WHERE id = :'p1'}, $id) == 1
    }), 'typed-only call saved';
    is $ws->bytes, 0, 'no agent audio reached the caller';

    is $t->sql_value(q{SELECT count(*) FROM conversations
                       WHERE id = :'p1' AND ttfa_ms IS NULL
                         AND ttfa_p50_ms IS NULL AND ttfa_p95_ms IS NULL},
                     $id), 1, 'stored: NULL times to first audio';
    is $t->sql_value(q{SELECT count(*) FROM conversations
                       WHERE id = :'p1' AND ttfa_p50_ms = 0
                         AND ttfa_p95_ms = 0 AND ttfa_ms = '{0}'},
                     $ids[1]), 1, 'while a call with audio has them';

    my $d = api("/api/conversations/$id")->json;
    ok exists $d->{ttfaP50Ms} && !defined $d->{ttfaP50Ms},
        'detail: ttfaP50Ms null';
    ok exists $d->{ttfaP95Ms} && !defined $d->{ttfaP95Ms},
        'detail: ttfaP95Ms null';
    is_deeply $d->{ttfaMs}, [], 'detail: no per-turn times';
    is_deeply [ map { [ $_->{role}, $_->{text} ] } @{ $d->{turns} } ],
        [ [ 'user', 'typed only' ] ], 'and the transcript all the same';

    my ($l) = grep { $_->{id} eq $id }
                   @{ api('/api/conversations')->json->{items} };
    ok $l && exists $l->{ttfaP50Ms} && !defined $l->{ttfaP50Ms}
          && exists $l->{ttfaP95Ms} && !defined $l->{ttfaP95Ms},
        'list: ttfaP50Ms and ttfaP95Ms null';
}
is_error($t->get('/api/conversations', headers => {
       Authorization => "Bearer $acc->{key}" }), 401, 'unauthorized',
    'with a publishable key: 401');

$t->done;
done_testing;
