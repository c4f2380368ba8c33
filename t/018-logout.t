# Logout ends the session everywhere: the token's jti is stored as revoked
# in Redis until the token would expire, the rate limiter's script (the
# one Redis round trip a request makes anyway) sees it, and the token gets
# 401 token_revoked on every worker of every node.  Other sessions of the
# same user and secret keys are unaffected; logging out a token that no
# longer works answers as before; without Redis the logout says it could
# not revoke.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::JSON qw(decode_json);
use MIME::Base64 qw(decode_base64url encode_base64url);
use Digest::SHA qw(hmac_sha256);
use Mojo::JSON qw(encode_json);
use Orbis::Test qw(is_error);

# reuseport spreads fresh connections over the workers; X-Worker says
# which one answered
my %opt = (workers => 2, listen => 'reuseport',
           server => 'add_header X-Worker $pid always;');
my $t = Orbis::Test->new(%opt);
my $node2 = $t->another_node(%opt);

# every worker of one node answers a request with Connection: close until
# each has been seen: worker pid => [status codes]
sub by_worker {
    my ($node, $path, $headers) = @_;
    my @pids = $node->worker_pids;
    my %seen;
    for (1 .. 200) {
        my $res = $node->get($path, headers => { %$headers,
                                                 Connection => 'close' });
        push @{ $seen{ $res->headers->header('X-Worker') // '?' } },
            $res->code;
        last if @pids == grep { $seen{$_} } @pids;
    }
    return \%seen;
}

# 1 when every worker of both nodes was reached and only answered $code
sub everywhere {
    my ($code, $headers) = @_;
    my $ok = 1;
    for my $node ($t, $node2) {
        my $seen = by_worker($node, '/api/auth/me', $headers);
        my @pids = $node->worker_pids;
        $ok = 0 unless @pids == 2 && (grep { $seen->{$_} } @pids) == 2;
        $ok = 0 if grep { $_ != $code } map { @$_ } values %$seen;
        diag explain $seen unless $ok;
    }
    return $ok;
}

sub claims {
    my ($token) = @_;
    return decode_json(decode_base64url((split /\./, $token)[1]));
}

sub logout {
    my (%headers) = @_;
    return $t->post('/api/auth/logout', headers => \%headers);
}

my $s = $t->signup;
my $uid = $s->{user}{id};
my %bearer = (Authorization => "Bearer $s->{token}");

# a second session of the same user, and a secret key
my $login = $t->post('/api/auth/login', json => {
    email => $s->{email}, password => $s->{password} });
my $other = $login->json->{token};
like $other, qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}\z/,
    'a second session of the same user (a JWT)';
isnt $other, $s->{token}, 'not the first one';
like claims($other)->{jti}, qr/^[A-Za-z0-9_-]{22}\z/, 'with a jti';
isnt claims($other)->{jti}, claims($s->{token})->{jti}, 'its own';
my $sk = $t->post('/api/api-keys', headers => \%bearer,
                  json => { name => 'server', kind => 'secret' })->json->{key};

ok everywhere(200, \%bearer),
    'before logout the token works on every worker of both nodes';

# ---- logout revokes the token in Redis, for as long as it could live
my $res = logout(%bearer);
is $res->code, 204, 'logout 204';
like $res->headers->header('Set-Cookie'), qr/^orbis_session=;.*Max-Age=0/,
    'the cookie is cleared as before';

my $jti = claims($s->{token})->{jti};
my $key = "revoked:{$uid}:$jti";
is $t->redis('EXISTS', $key), 1, "Redis holds $key";
my $ttl = $t->redis('TTL', $key);
my $left = claims($s->{token})->{exp} - time;
ok $ttl > $left && $ttl <= $left + 61,
    "kept until the token expires, plus the clock skew ($ttl s)";

ok everywhere(401, \%bearer),
    'after logout the token is refused on every worker of both nodes';
$res = $node2->get('/api/agents', headers => \%bearer);
is $res->code, 401, 'on any route';
is $res->json->{error}{code}, 'token_revoked', 'as token_revoked';
like $res->json->{error}{message}, qr/logged out/, 'saying why';
is $res->headers->header('WWW-Authenticate'), 'Bearer realm="orbis"',
    'with WWW-Authenticate';
ok !$res->headers->header('RateLimit-Remaining'),
    'and without counting against the rate limit';

ok everywhere(200, { Authorization => "Bearer $other" }),
    'another session of the same user still works everywhere';
is $node2->get('/api/agents', headers => { Authorization => "Bearer $sk" })
    ->code, 200, 'a secret key is unaffected';

# ---- logging out what no longer works answers as before
for my $case (
    [ 'the revoked token again', \%bearer ],
    [ 'no credentials', {} ],
    [ 'a garbage token', { Authorization => 'Bearer not-a-token' } ],
    [ 'an expired token', { Authorization => 'Bearer ' . do {
          my $h = encode_base64url(encode_json({ alg => 'HS256' }));
          my $p = encode_base64url(encode_json({ sub => $uid,
              tid => $s->{tenant}{id}, role => 'owner', jti => 'old-one',
              iat => time - 100, exp => time - 10 }));
          "$h.$p." . encode_base64url(hmac_sha256("$h.$p", $t->jwt_secret));
      } } ],
    [ 'a secret key', { Authorization => "Bearer $sk" } ],
    [ 'a Basic header', { Authorization => 'Basic eDp5' } ],
) {
    my ($name, $h) = @$case;
    my $r = logout(%$h);
    is $r->code, 204, "logout with $name: 204";
    like $r->headers->header('Set-Cookie') // '', qr/^orbis_session=;/,
        "logout with $name: cookie cleared";
}
is $t->redis('EXISTS', 'revoked:{' . $uid . '}:old-one'), 0,
    'an expired token is not stored';
is $t->get('/api/agents', headers => { Authorization => "Bearer $sk" })
    ->code, 200, 'logging out with a secret key does not revoke it';

# ---- the cookie session: logout with the cookie revokes the cookie's token
my ($cookie) = $t->post('/api/auth/login', json => {
    email => $s->{email}, password => $s->{password} })
    ->headers->header('Set-Cookie') =~ /^(orbis_session=[^;]+)/;
is $t->get('/api/auth/me', headers => { Cookie => $cookie })->code, 200,
    'the cookie session works';

# a cookie logout is a write like any other: another site's page cannot
# end the session (CSRF), nor can one that sends no origin at all
for my $case ([ 'a foreign Origin', Origin => 'https://evil.example' ],
              [ 'a null Origin', Origin => 'null' ],
              [ 'a foreign Referer', Referer => 'https://evil.example/x' ],
              [ 'no Origin or Referer' ]) {
    my ($name, @h) = @$case;
    my $r = logout(Cookie => $cookie, @h);
    is $r->code, 403, "cookie logout with $name: 403";
    is $r->json->{error}{code}, 'csrf_refused', "cookie logout with $name: "
        . 'csrf_refused';
    ok !defined $r->headers->header('Set-Cookie'),
        "cookie logout with $name: the cookie is not cleared";
}
is $node2->get('/api/auth/me', headers => { Cookie => $cookie })->code, 200,
    'the cookie token still works on every node after refused logouts';

my $self_origin = 'http://127.0.0.1:' . $t->http_port;
is logout(Cookie => $cookie, Origin => $self_origin)->code, 204,
    'logout with the cookie from our own origin';
$res = $node2->get('/api/auth/me', headers => { Cookie => $cookie });
is $res->code, 401, 'the cookie token is refused on the other node';
is $res->json->{error}{code}, 'token_revoked', 'as token_revoked';

# bearer and cookie of two sessions in one logout: both end
my ($c1) = $t->post('/api/auth/login', json => {
    email => $s->{email}, password => $s->{password} })
    ->headers->header('Set-Cookie') =~ /^orbis_session=([^;]+)/;
my $b1 = $t->post('/api/auth/login', json => {
    email => $s->{email}, password => $s->{password} })->json->{token};
is logout(Authorization => "Bearer $b1", Cookie => "orbis_session=$c1")
    ->code, 204, 'logout with a bearer token and a cookie';
is_error($t->get('/api/auth/me', headers => { Authorization => "Bearer $b1" }),
    401, 'token_revoked', 'the bearer token ended');
is $t->get('/api/auth/me', headers => { Cookie => "orbis_session=$c1" })
    ->code, 401, 'the cookie token ended';
is $t->get('/api/auth/me', headers => { Authorization => "Bearer $other" })
    ->code, 200, 'the session not named still works';

# ---- without Redis a logout cannot revoke, and says so
my $live = $t->post('/api/auth/login', json => {
    email => $s->{email}, password => $s->{password} })->json->{token};
$t->stop_redis;
$t->expect_error_log($Orbis::Test::REDIS_DOWN);
$node2->expect_error_log($Orbis::Test::REDIS_DOWN);
$res = logout(Authorization => "Bearer $live");
is $res->code, 503, 'logout while Redis is down: 503';
is $res->json->{error}{code}, 'revocation_unavailable', 'says why';
$t->expect_error_log(qr/orbis: 503 revocation_unavailable: the session store cannot be reached/);
like $res->headers->header('Set-Cookie'), qr/^orbis_session=;.*Max-Age=0/,
    'the cookie is still cleared';
is logout()->code, 204, 'a logout with nothing to revoke needs no Redis';
$t->start_redis;
ok $t->wait_for(10, sub {
    logout(Authorization => "Bearer $live")->code == 204 }),
    'once Redis is back the logout goes through';
is_error($t->get('/api/auth/me', headers => { Authorization => "Bearer $live" }),
    401, 'token_revoked', 'and the token is refused');

$node2->done;
$t->done;
done_testing;
