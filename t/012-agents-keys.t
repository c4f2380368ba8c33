# Agents and API keys: create, read, update, delete, validation against the
# voice list and the tool registry, keyset pagination, and a revoked key
# refused at once on every worker.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test qw(is_error);

my $t = Orbis::Test->new(workers => 2);
my $s = $t->signup;
my %h = %{ $s->{auth} };

# ---- catalog and plans are public
my $cat = $t->get('/api/catalog')->json;
is scalar @{ $cat->{voices} }, 30, '30 Gemini voices';
ok((grep { $_->{name} eq 'score_lead' } @{ $cat->{tools} }), 'score_lead');
ok((grep { $_->{name} eq 'generate_tone' } @{ $cat->{tools} }),
   'generate_tone');
my $plans = $t->get('/api/plans')->json->{items};
is_deeply [ map { $_->{id} } @$plans ], [qw(free starter pro enterprise)],
    'plans in order';

# ---- create
my $res = $t->post('/api/agents', headers => \%h, json => {
    name => 'Front desk', systemPrompt => 'You book dental appointments.',
    voice => 'Kore', greeting => 'Hello!', language => 'en-GB',
    tools => ['score_lead', 'generate_tone'] });
is $res->code, 201, 'agent created';
my $a = $res->json;
like $a->{id}, qr/^[0-9a-f-]{36}$/, 'with an id';
is $a->{voice}, 'Kore', 'voice kept';
is_deeply $a->{tools}, ['score_lead', 'generate_tone'], 'tools kept';

for my $bad (
    [ { name => 'x', systemPrompt => 'p', voice => 'Bob' }, qr/voice/ ],
    [ { name => 'x', systemPrompt => 'p', voice => 'kore' }, qr/voice/ ],
    [ { name => 'x', systemPrompt => 'p', voice => 'Kore',
        tools => ['send_spam'] }, qr/tools/ ],
    [ { name => 'x', systemPrompt => 'p', voice => 'Kore',
        tools => ['score_lead', 'score_lead'] }, qr/tools/ ],
    [ { systemPrompt => 'p', voice => 'Kore' }, qr/name/ ],
    [ { name => 'x', systemPrompt => 'p', voice => 'Kore',
        language => 'english please' }, qr/language/ ],
    [ { name => 'x' x 101, systemPrompt => 'p', voice => 'Kore' }, qr/name/ ],
    [ { name => 'x', systemPrompt => 'p', voice => 'Kore', extra => 1 },
      qr/extra/ ],
) {
    my $r = $t->post('/api/agents', headers => \%h, json => $bad->[0]);
    is_error($r, 400, 'invalid_request', 'invalid agent refused');
    like $r->json->{error}{message}, $bad->[1], 'message names the field';
}
is $t->sql_value('SELECT count(*) FROM agents'), 1, 'only the valid one';

# ---- read, update, delete
$res = $t->get("/api/agents/$a->{id}", headers => \%h);
is $res->code, 200, 'get agent';
is $res->json->{name}, 'Front desk', 'same agent';

$res = $t->put("/api/agents/$a->{id}", headers => \%h,
               json => { voice => 'Puck', greeting => '' });
is $res->code, 200, 'update';
is $res->json->{voice}, 'Puck', 'voice changed';
is $res->json->{greeting}, '', 'greeting cleared';
is $res->json->{name}, 'Front desk', 'other fields kept';
is_error($t->put("/api/agents/$a->{id}", headers => \%h, json => {}), 400, 'invalid_request',
    'an empty update is refused');

is_error($t->get('/api/agents/not-a-uuid', headers => \%h), 404, 'not_found',
    'a malformed id is not found');
is_error($t->get('/api/agents/00000000-0000-4000-8000-000000000000',
           headers => \%h), 404, 'not_found', 'an unknown id is not found');

# ---- pagination: 25 agents, pages of 10
for my $i (1 .. 24) {
    $t->post('/api/agents', headers => \%h, json => {
        name => "Agent $i", systemPrompt => 'p', voice => 'Zephyr' });
}
my (@seen, $cursor, $pages);
do {
    my $q = '/api/agents?limit=10' . ($cursor ? "&cursor=$cursor" : '');
    my $page = $t->get($q, headers => \%h)->json;
    push @seen, map { $_->{id} } @{ $page->{items} };
    $cursor = $page->{nextCursor};
    $pages++;
} while ($cursor && $pages < 10);
is $pages, 3, 'three pages of at most 10';
is scalar @seen, 25, 'every agent once';
my %u = map { $_ => 1 } @seen;
is scalar keys %u, 25, 'no duplicates across pages';
is_error($t->get('/api/agents?cursor=bogus', headers => \%h), 400, 'invalid_request',
    'a bad cursor is 400');
is $t->get('/api/agents?limit=1000', headers => \%h)->code, 400,
    'a limit over 100 is 400';

is $t->del("/api/agents/$a->{id}", headers => \%h)->code, 204, 'delete';
is_error($t->get("/api/agents/$a->{id}", headers => \%h), 404, 'not_found', 'gone');
is $t->del("/api/agents/$a->{id}", headers => \%h)->code, 404,
    'deleting twice is 404';

# ---- API keys
my $agent2 = $t->post('/api/agents', headers => \%h, json => {
    name => 'Sales', systemPrompt => 'p', voice => 'Charon' })->json;
$res = $t->post('/api/api-keys', headers => \%h, json => {
    name => 'site', kind => 'publishable',
    allowedOrigins => ['https://Shop.Example/'], agentIds => [$agent2->{id}] });
is $res->code, 201, 'publishable key with origins and agents';
is_deeply $res->json->{allowedOrigins}, ['https://shop.example'],
    'origin normalised';
is_deeply $res->json->{agentIds}, [$agent2->{id}], 'agent kept';

$res = $t->post('/api/api-keys', headers => \%h, json => {
    name => 'x', kind => 'publishable',
    agentIds => ['00000000-0000-4000-8000-000000000000'] });
is_error($res, 400, 'invalid_request', 'an unknown agent id is refused');
$res = $t->post('/api/api-keys', headers => \%h, json => {
    name => 'x', kind => 'public' });
is_error($res, 400, 'invalid_request', 'an unknown kind is refused');
$res = $t->post('/api/api-keys', headers => \%h, json => {
    name => 'x', kind => 'publishable', allowedOrigins => ['ftp://a'] });
is_error($res, 400, 'invalid_request', 'a bad origin is refused');

my $key = $t->post('/api/api-keys', headers => \%h,
                   json => { name => 'ops', kind => 'secret' })->json;
$res = $t->put("/api/api-keys/$key->{id}", headers => \%h,
               json => { name => 'ops 2' });
is $res->json->{name}, 'ops 2', 'key renamed';
is_error($t->put("/api/api-keys/$key->{id}", headers => \%h,
           json => { kind => 'publishable' }), 400, 'invalid_request',
    'the kind of a key cannot change');

my %sk = (Authorization => "Bearer $key->{key}");
ok !(grep { $t->get('/api/agents', headers => \%sk)->code != 200 } 1 .. 4),
    'the secret key works on every worker';
is $t->del("/api/api-keys/$key->{id}", headers => \%h)->code, 204,
    'revoked';
ok !(grep { $t->get('/api/agents', headers => \%sk)->code != 401 } 1 .. 6),
    'and refused at once on every worker';
my @ids = map { $_->{id} } @{ $t->get('/api/api-keys', headers => \%h)
                                   ->json->{items} };
ok !(grep { $_ eq $key->{id} } @ids), 'no longer listed';

$t->done;
done_testing;
