# A batch of malformed bodies and headers against every write endpoint:
# each gets the exact status, error code and reason (a broken
# authentication answering 401, or a 500, would fail here), and the
# database is unchanged.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $t = Orbis::Test->new(workers => 1);
my $s = $t->signup;
my %h = %{ $s->{auth} };
my $agent = $t->post('/api/agents', headers => \%h, json => {
    name => 'A', systemPrompt => 'p', voice => 'Kore' })->json;
my $key = $t->post('/api/api-keys', headers => \%h, json => {
    name => 'k', kind => 'publishable' })->json;
like $agent->{id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/,
    'the agent to update has a UUID';
like $key->{id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/,
    'the key to update has a UUID';

# method, path, authenticated, then what the endpoint says of an empty
# object, and a body of its own members with the wrong types and what it
# says of that
my @endpoints = (
    [ POST => '/api/auth/signup', 0, qr/^email: is required\z/,
      '{"email": 5, "password": "Correct-horse-42", "tenantName": "T"}',
      qr/^email: must be a string\z/ ],
    [ POST => '/api/auth/login', 0, qr/^email: is required\z/,
      '{"email": "a@example.com", "password": {}}',
      qr/^password: must be a string\z/ ],
    [ PUT  => '/api/tenants/me', 1,
      qr/^body: nothing to update; send name, billingEmail or allowedOrigins\z/,
      '{"allowedOrigins": "https://a.example"}',
      qr/^allowedOrigins: must be an array/ ],
    [ POST => '/api/agents', 1, qr/^name: is required\z/,
      '{"name": "A", "systemPrompt": "p", "voice": true}',
      qr/^voice: must be a string\z/ ],
    [ PUT  => "/api/agents/$agent->{id}", 1,
      qr/^body: nothing to update\z/, '{"name": 5}',
      qr/^name: must be a string\z/ ],
    [ POST => '/api/api-keys', 1, qr/^name: is required\z/,
      '{"name": "k", "kind": 1}', qr/^kind: must be a string\z/ ],
    [ PUT  => "/api/api-keys/$key->{id}", 1,
      qr/^body: nothing to update; send name, allowedOrigins or agentIds\z/,
      '{"agentIds": {}}', qr/^agentIds: must be an array/ ],
);

# name, body, the reason (undef: the endpoint's own, from the table above)
my @bodies = (
    [ 'malformed JSON',   '{"name": "x",',
      qr/^body: not valid JSON at line 1 column 13\z/ ],
    [ 'trailing garbage', '{"name": "x"} junk',
      qr/^body: not valid JSON at line 1 column 18\z/ ],
    [ 'an array',         '[1, 2, 3]', qr/^body: must be a JSON object\z/ ],
    [ 'a string',         '"hello"', qr/^body: must be a JSON object\z/ ],
    [ 'null',             'null', qr/^body: must be a JSON object\z/ ],
    [ 'empty object',     '{}', undef ],
    [ 'members of other endpoints',
      '{"name": 5, "email": [], "password": {}, "voice": true, "kind": 1,'
      . ' "tenantName": null}', qr/^body: unknown field "\w+"\z/ ],
    [ 'unknown fields',   '{"hack": 1}', qr/^body: unknown field "hack"\z/ ],
    [ 'bad UTF-8',        qq({"name": "\xff\xfe"}),
      qr/^body: not valid JSON at line 1 column 10\z/ ],
    [ 'NUL in a string',  '{"name": "a\u0000b"}',
      qr/^body: not valid JSON at line 1 column 19\z/ ],
    [ 'deep nesting',     ('[' x 5000) . (']' x 5000),
      qr/^body: not valid JSON at line 1 column 2049\z/ ],
    [ 'empty body',       '', qr/^body: a JSON object is required\z/ ],
);

my $json = { 'Content-Type' => 'application/json' };
my $before = $t->db_snapshot;

sub refused {
    my ($res, $status, $code, $why, $name) = @_;
    is $res->code, $status, "$name: $status" or diag $res->body;
    is $res->json && $res->json->{error}{code}, $code, "$name: $code";
    like $res->json && $res->json->{error}{message}, $why, "$name: why"
        if $why;
}

for my $e (@endpoints) {
    my ($m, $path, $auth, $empty, $typed, $typed_why) = @$e;
    my %base = $auth ? %h : ();

    for my $b (@bodies, [ 'wrong types', $typed, $typed_why ]) {
        my ($name, $body, $why) = @$b;
        my $res = $t->request($m, $path, headers => { %base, %$json },
                              body => $body);
        refused($res, 400, 'invalid_request', $why // $empty,
                "$m $path: $name");
    }

    refused($t->request($m, $path, headers => { %base,
                'Content-Type' => 'text/plain' }, body => '{"name":"x"}'),
            415, 'unsupported_media_type',
            qr/^send the body as Content-Type: application\/json\z/,
            "$m $path: wrong content type");

    refused($t->request($m, $path, headers => { %base, %$json },
                        body => '{"name":"' . ('x' x 100_000) . '"}'),
            413, 'too_large', undef, "$m $path: an oversize body");
}

# nginx refuses the oversize bodies itself, and says so
$t->expect_error_log(qr/client intended to send too large body: 100011 bytes/);

# the API rejects routes and methods it does not know
refused($t->get('/api/nope', headers => \%h), 404, 'not_found',
        qr{^no such endpoint: GET /api/nope\z}, 'unknown route');
my $res = $t->request(PATCH => '/api/agents', headers => \%h);
refused($res, 405, 'method_not_allowed',
        qr/^PATCH is not allowed here; use GET, POST\z/, 'wrong method');
is $res->headers->header('Allow'), 'GET, POST', 'Allow lists GET, POST';

is $t->db_snapshot, $before, 'the database is unchanged by all of it';

$t->done;
done_testing;
