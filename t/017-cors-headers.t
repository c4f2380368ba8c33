# CORS for configured origins with preflight, and the security headers on
# API answers.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $t = Orbis::Test->new(http => q{
    orbis_cors_origins https://app.example.com;
});
my $s = $t->signup;

my $res = $t->request(OPTIONS => '/api/agents', headers => {
    Origin => 'https://app.example.com',
    'Access-Control-Request-Method' => 'POST',
    'Access-Control-Request-Headers' => 'content-type' });
is $res->code, 204, 'preflight 204';
is $res->headers->header('Access-Control-Allow-Origin'),
    'https://app.example.com', 'the origin is allowed by name';
like $res->headers->header('Access-Control-Allow-Methods'), qr/POST/,
    'methods listed';
like $res->headers->header('Access-Control-Allow-Headers'),
    qr/Authorization/, 'headers listed';
is $res->headers->header('Access-Control-Allow-Credentials'), 'true',
    'credentials allowed';

$res = $t->request(OPTIONS => '/api/agents', headers => {
    Origin => 'https://evil.example',
    'Access-Control-Request-Method' => 'POST' });
ok !$res->headers->header('Access-Control-Allow-Origin'),
    'another origin gets no CORS headers';

$res = $t->get('/api/agents', headers => { %{ $s->{auth} },
    Origin => 'https://app.example.com' });
is $res->headers->header('Access-Control-Allow-Origin'),
    'https://app.example.com', 'a real answer carries the CORS headers';
like $res->headers->header('Access-Control-Expose-Headers'), qr/RateLimit/,
    'and exposes the rate-limit headers';
like $res->headers->header('Vary') // '', qr/Origin/, 'Vary: Origin';

# cookie writes from a configured origin pass the CSRF check
my ($cookie) = $t->post('/api/auth/login', json => {
    email => $s->{email}, password => $s->{password} })
    ->headers->header('Set-Cookie') =~ /^(orbis_session=[^;]+)/;
$res = $t->post('/api/agents', headers => { Cookie => $cookie,
    Origin => 'https://app.example.com' },
    json => { name => 'x', systemPrompt => 'p', voice => 'Kore' });
is $res->code, 201, 'a cookie write from a configured origin is allowed';

# security headers on every API answer, errors included
for my $r ($t->get('/api/health'), $t->get('/api/nope'),
           $t->get('/api/agents')) {
    is $r->headers->header('X-Content-Type-Options'), 'nosniff',
        'nosniff on ' . $r->code;
    ok $r->headers->header('Referrer-Policy'), 'Referrer-Policy on '
        . $r->code;
    ok !$r->headers->header('Strict-Transport-Security'),
        'no HSTS over plain HTTP';
}

$t->done;
done_testing;
