# A batch of malformed bodies and headers against every write endpoint:
# each gets a 4xx with the error schema, and the database is unchanged.
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

my @endpoints = (
    [ POST => '/api/auth/signup', 0 ],
    [ POST => '/api/auth/login', 0 ],
    [ PUT  => '/api/tenants/me', 1 ],
    [ POST => '/api/agents', 1 ],
    [ PUT  => "/api/agents/$agent->{id}", 1 ],
    [ POST => '/api/api-keys', 1 ],
    [ PUT  => "/api/api-keys/$key->{id}", 1 ],
);

my $json = { 'Content-Type' => 'application/json' };
my @bodies = (
    [ 'malformed JSON',    $json, '{"name": "x",' ],
    [ 'trailing garbage',  $json, '{"name": "x"} junk' ],
    [ 'an array',          $json, '[1, 2, 3]' ],
    [ 'a string',          $json, '"hello"' ],
    [ 'null',              $json, 'null' ],
    [ 'empty object',      $json, '{}' ],
    [ 'wrong types',       $json, '{"name": 5, "email": [], "password": {},'
                                  . ' "voice": true, "kind": 1,'
                                  . ' "tenantName": null}' ],
    [ 'unknown fields',    $json, '{"hack": 1}' ],
    [ 'bad UTF-8',         $json, qq({"name": "\xff\xfe"}) ],
    [ 'NUL in a string',   $json, '{"name": "a\u0000b"}' ],
    [ 'deep nesting',      $json, ('[' x 5000) . (']' x 5000) ],
    [ 'empty body',        $json, '' ],
);

my $before = $t->db_snapshot;

for my $e (@endpoints) {
    my ($m, $path, $auth) = @$e;
    my %base = $auth ? %h : ();

    for my $b (@bodies) {
        my ($name, $hdr, $body) = @$b;
        my $res = $t->request($m, $path, headers => { %base, %$hdr },
                              body => $body);
        ok $res->code >= 400 && $res->code < 500, "$m $path: $name is 4xx"
            or diag $res->code . ' ' . $res->body;
        ok $res->json && $res->json->{error}{code}, "$m $path: $name: schema";
    }

    my $res = $t->request($m, $path, headers => { %base,
        'Content-Type' => 'text/plain' }, body => '{"name":"x"}');
    is $res->code, 415, "$m $path: wrong content type is 415";

    $res = $t->request($m, $path, headers => { %base, %$json },
                       body => '{"name":"' . ('x' x 100_000) . '"}');
    is $res->code, 413, "$m $path: an oversize body is 413";
}

# the API rejects routes and methods it does not know
is $t->get('/api/nope', headers => \%h)->code, 404, 'unknown route 404';
my $res = $t->request(PATCH => '/api/agents', headers => \%h);
is $res->code, 405, 'wrong method 405';
is $res->headers->header('Allow'), 'GET, POST', 'Allow lists GET, POST';

is $t->db_snapshot, $before, 'the database is unchanged by all of it';

$t->done;
done_testing;
