# Signup (with referral codes), login, logout, me; the session cookie; JWT
# checks; secret keys; CSRF for cookie-authenticated writes; password
# hashing off the event loop.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::Promise;
use Mojo::JSON qw(encode_json decode_json);
use MIME::Base64 qw(encode_base64url decode_base64url);
use Digest::SHA qw(hmac_sha256);
use Orbis::Test qw(is_error);

my $t = Orbis::Test->new(workers => 1);
my $snap;

# ---- signup
my $res = $t->post('/api/auth/signup', json => {
    email => 'Owner@Example.com', password => 'Correct-horse-42',
    tenantName => 'Acme Dental', name => 'Olive' });
is $res->code, 201, 'signup 201';
my $s = $res->json;
like $s->{token}, qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}\z/, 'a token (a JWT)';
is $s->{user}{email}, 'owner@example.com', 'email normalised';
is $s->{user}{role}, 'owner', 'the first user owns the tenant';
is $s->{tenant}{name}, 'Acme Dental', 'tenant created';
my $cookie = $res->headers->header('Set-Cookie');
like $cookie, qr/^orbis_session=[^;]+/, 'session cookie set';
like $cookie, qr/HttpOnly/, 'cookie is HttpOnly';
like $cookie, qr/SameSite=Lax/, 'cookie is SameSite=Lax';
unlike $cookie, qr/Secure/, 'no Secure flag over plain HTTP';
is $t->sql_value("SELECT count(*) FROM users WHERE email = 'owner\@example.com'"),
    1, 'user row exists';
like $t->sql_value('SELECT password_hash FROM users LIMIT 1'),
    qr/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$/, 'password stored as scrypt hash';

$snap = $t->db_snapshot;
$res = $t->post('/api/auth/signup', json => {
    email => 'owner@example.com', password => 'Another-pass-99',
    tenantName => 'Dup' });
is $res->code, 409, 'duplicate email 409';
is $res->json->{error}{code}, 'email_taken', 'says so';
is $t->db_snapshot, $snap, 'and no tenant was left behind';

$res = $t->post('/api/auth/signup', json => {
    email => 'weak@example.com', password => 'short', tenantName => 'W' });
is_error($res, 400, 'invalid_request', 'weak password 400');
like $res->json->{error}{message}, qr/password/, 'message names password';
is $t->db_snapshot, $snap, 'nothing created';

# ---- login
$res = $t->post('/api/auth/login', json => {
    email => 'owner@example.com', password => 'Correct-horse-42' });
is $res->code, 200, 'login 200';
like $res->json->{token}, qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}\z/, 'login gives a token (a JWT)';
is $res->json->{tenant}{id}, $s->{tenant}{id}, 'same tenant';

my $wrong = $t->post('/api/auth/login', json => {
    email => 'owner@example.com', password => 'Wrong-horse-42' });
my $nobody = $t->post('/api/auth/login', json => {
    email => 'nobody@example.com', password => 'Wrong-horse-42' });
is_error($wrong, 401, 'invalid_credentials', 'wrong password 401');
is $nobody->code, 401, 'unknown email 401';
is $wrong->body, $nobody->body,
    'the answers do not reveal whether the email exists';

# ---- referral codes: a known one records the referrer, an unknown one
# is refused and creates nothing
my $code = $s->{tenant}{referralCode};
like $code, qr/^[A-Za-z0-9_-]{12}$/, 'the tenant has a referral code';
$res = $t->post('/api/auth/signup', json => {
    email => 'referred@example.com', password => 'Correct-horse-42',
    tenantName => 'Referred', referralCode => $code });
is $res->code, 201, 'signup with a known referral code';
is $t->sql_value('SELECT referred_by FROM tenants WHERE id = :\'p1\'',
                 $res->json->{tenant}{id}),
    $s->{tenant}{id}, 'the referrer is recorded';

# codes are base64url: "_" is as good as "-"
$t->sql('UPDATE tenants SET referral_code = \'ab_cd-EF_12\' WHERE id = :\'p1\'',
        $s->{tenant}{id});
$res = $t->post('/api/auth/signup', json => {
    email => 'underscore@example.com', password => 'Correct-horse-42',
    tenantName => 'Underscore', referralCode => 'ab_cd-EF_12' });
is $res->code, 201, 'a code with "_" is accepted';
is $t->sql_value('SELECT referred_by FROM tenants WHERE id = :\'p1\'',
                 $res->json->{tenant}{id}),
    $s->{tenant}{id}, 'and records the referrer';
is $t->sql_value('SELECT coalesce(referred_by::text, \'none\') FROM tenants'
                 . ' WHERE id = :\'p1\'', $s->{tenant}{id}),
    'none', 'a signup without a code has no referrer';

$snap = $t->db_snapshot;
$res = $t->post('/api/auth/signup', json => {
    email => 'unreferred@example.com', password => 'Correct-horse-42',
    tenantName => 'Nobody sent me', referralCode => 'no-such-code' });
is $res->code, 400, 'an unknown referral code is 400';
is $res->json->{error}{code}, 'unknown_referral_code', 'with its own code';
like $res->json->{error}{message}, qr/^referralCode: /, 'naming the field';
ok !$res->headers->header('Set-Cookie'), 'no session is started';
is $t->db_snapshot, $snap, 'no tenant and no user were created';
is_error($t->post('/api/auth/login', json => { email => 'unreferred@example.com',
    password => 'Correct-horse-42' }), 401, 'invalid_credentials', 'the account does not exist');
$res = $t->post('/api/auth/signup', json => {
    email => 'unreferred@example.com', password => 'Correct-horse-42',
    tenantName => 'Nobody sent me', referralCode => '' });
is $res->code, 201, 'an empty code is no code: the same signup then works';

# ---- me, by bearer and by cookie
my %bearer = (Authorization => "Bearer $s->{token}");
$res = $t->get('/api/auth/me', headers => \%bearer);
is $res->code, 200, 'me with bearer';
is $res->json->{user}{id}, $s->{user}{id}, 'me is the owner';

my ($cv) = $cookie =~ /^orbis_session=([^;]+)/;
$res = $t->get('/api/auth/me', headers => { Cookie => "orbis_session=$cv" });
is $res->code, 200, 'me with the cookie';

is_error($t->get('/api/auth/me'), 401, 'unauthorized', 'me without credentials 401');
is $t->get('/api/auth/me')->headers->header('WWW-Authenticate'),
    'Bearer realm="orbis"', 'WWW-Authenticate says Bearer';

# ---- JWT checks
my $secret = $t->jwt_secret;
sub jwt {
    my ($header, $claims, $key) = @_;
    my $h = encode_base64url(encode_json($header));
    my $p = encode_base64url(encode_json($claims));
    my $sig = encode_base64url(hmac_sha256("$h.$p", $key // $secret));
    return "$h.$p.$sig";
}
my %claims = (sub => $s->{user}{id}, tid => $s->{tenant}{id},
              role => 'owner', iat => time, exp => time + 600,
              jti => 'hand-made_token-1');

my $good = jwt({ alg => 'HS256', typ => 'JWT' }, \%claims);
is $t->get('/api/auth/me', headers => { Authorization => "Bearer $good" })
    ->code, 200, 'a token signed with the secret is accepted';

my %bad = (
    'alg none' => do {
        my $h = encode_base64url(encode_json({ alg => 'none' }));
        my $p = encode_base64url(encode_json(\%claims));
        "$h.$p.";
    },
    'alg HS512' => jwt({ alg => 'HS512' }, \%claims),
    'alg RS256' => jwt({ alg => 'RS256' }, \%claims),
    'expired' => jwt({ alg => 'HS256' }, { %claims, exp => time - 5 }),
    'wrong key' => jwt({ alg => 'HS256' }, \%claims, 'x' x 40),
    'tampered payload' => do {
        my ($h, undef, $sig) = split /\./, $good;
        my $p = encode_base64url(encode_json({ %claims, role => 'admin' }));
        "$h.$p.$sig";
    },
    'two segments' => join('.', (split /\./, $good)[0, 1]),
    'no jti' => do {
        my %c = %claims;
        delete $c{jti};
        jwt({ alg => 'HS256' }, \%c);
    },
    'jti not url-safe' => jwt({ alg => 'HS256' }, { %claims, jti => 'a:b' }),
    'garbage' => 'not-a-token',
    'bad base64' => '!!!.###.$$$',
);
for my $name (sort keys %bad) {
    my $r = $t->get('/api/auth/me',
                    headers => { Authorization => "Bearer $bad{$name}" });
    is_error($r, 401, 'unauthorized', "JWT refused: $name");
}
like $t->get('/api/auth/me', headers => {
        Authorization => "Bearer $bad{expired}" })->json->{error}{message},
    qr/expired/, 'an expired session says so';
like $t->get('/api/auth/me', headers => {
        Authorization => "Bearer $bad{'no jti'}" })->json->{error}{message},
    qr/jti/, 'a token logout could not revoke says why it is refused';
my ($payload) = (split /\./, $s->{token})[1];
like decode_json(decode_base64url($payload))->{jti}, qr/^[A-Za-z0-9_-]{22}$/,
    'issued tokens carry a 128-bit jti';
is_error($t->get('/api/auth/me', headers => { Authorization => "Basic eDp5" }),
    401, 'unauthorized', 'non-Bearer authorization 401');

# ---- CSRF: cookie-authenticated writes need our own origin
my $origin = 'http://127.0.0.1:' . $t->http_port;
my %cookie = (Cookie => "orbis_session=$cv", 'Content-Type' => 'application/json');
$res = $t->post('/api/agents', headers => { %cookie },
                body => '{"name":"A","systemPrompt":"p","voice":"Kore"}');
is $res->code, 403, 'cookie POST without Origin is refused';
is $res->json->{error}{code}, 'csrf_refused', 'as CSRF';
$res = $t->post('/api/agents', headers => { %cookie,
                Origin => 'https://evil.example' },
                body => '{"name":"A","systemPrompt":"p","voice":"Kore"}');
is_error($res, 403, 'csrf_refused', 'cookie POST from another origin is refused');
is $t->sql_value('SELECT count(*) FROM agents'), 0, 'nothing was created';
$res = $t->post('/api/agents', headers => { %cookie, Origin => $origin },
                body => '{"name":"A","systemPrompt":"p","voice":"Kore"}');
is $res->code, 201, 'cookie POST from our own origin works';

# without an Origin the Referer's scheme://host[:port] stands in for it;
# an Origin of "null" (sandboxed frame, data: URL, cross-site redirect) is
# nobody's, whatever the Referer says
my $agents_before = $t->sql_value('SELECT count(*) FROM agents');
for my $case (
    [ 'a foreign Referer', Referer => 'https://evil.example/page' ],
    [ 'a Referer on a look-alike host',
      Referer => "$origin.evil.example/page" ],
    [ 'a Referer without a scheme', Referer => '127.0.0.1/page' ],
    [ 'a null Origin', Origin => 'null' ],
    [ 'a null Origin and our own Referer', Origin => 'null',
      Referer => "$origin/agents.html" ],
    [ 'a foreign Origin and our own Referer',
      Origin => 'https://evil.example', Referer => "$origin/agents.html" ],
) {
    my ($name, @h) = @$case;
    $res = $t->post('/api/agents', headers => { %cookie, @h },
                    body => '{"name":"R","systemPrompt":"p","voice":"Kore"}');
    is $res->code, 403, "cookie POST with $name is refused";
    is $res->json->{error}{code}, 'csrf_refused', "$name: csrf_refused";
}
is $t->sql_value('SELECT count(*) FROM agents'), $agents_before,
    'none of them created anything';
$res = $t->post('/api/agents', headers => { %cookie,
                Referer => "$origin/agents.html?x=1" },
                body => '{"name":"R","systemPrompt":"p","voice":"Kore"}');
is $res->code, 201, 'cookie POST with only our own Referer works';
$res = $t->post('/api/agents', headers => { %cookie, Origin => $origin,
                Referer => 'https://evil.example/page' },
                body => '{"name":"R2","systemPrompt":"p","voice":"Kore"}');
is $res->code, 201, 'our own Origin decides over a foreign Referer';
$t->sql(q{DELETE FROM agents WHERE name IN ('R', 'R2')});

$res = $t->post('/api/agents', headers => { %bearer, 'Content-Type' =>
                'application/json', Origin => 'https://evil.example' },
                body => '{"name":"B","systemPrompt":"p","voice":"Kore"}');
is $res->code, 201, 'bearer tokens are not subject to the cookie check';

# ---- secret keys
$res = $t->post('/api/api-keys', headers => \%bearer,
                json => { name => 'server', kind => 'secret' });
is $res->code, 201, 'secret key created';
my $sk = $res->json->{key};
like $sk, qr/^sk_[A-Za-z0-9_-]{32}$/, 'key format';
is $res->json->{last4}, substr($sk, -4), 'last4 shown';
is $t->sql_value("SELECT count(*) FROM api_keys WHERE key_hash LIKE '%"
                 . substr($sk, 3, 10) . "%'"), 0, 'the key is not stored';
my $list = $t->get('/api/api-keys', headers => \%bearer);
unlike $list->body, qr/\Q$sk\E/, 'listing never shows the key';

$res = $t->get('/api/agents', headers => { Authorization => "Bearer $sk" });
is $res->code, 200, 'a secret key acts for its tenant';
is scalar @{ $res->json->{items} }, 2, 'and sees its agents';

$res = $t->post('/api/api-keys', headers => \%bearer,
                json => { name => 'widget', kind => 'publishable' });
my $pk = $res->json->{key};
like $pk, qr/^pk_[A-Za-z0-9_-]{32}\z/, 'publishable key';
is_error($t->get('/api/agents', headers => { Authorization => "Bearer $pk" }),
    401, 'unauthorized', 'a publishable key does not open the API');

# ---- logout clears the cookie
$res = $t->post('/api/auth/logout', headers => \%bearer);
is $res->code, 204, 'logout 204';
like $res->headers->header('Set-Cookie'), qr/orbis_session=;.*Max-Age=0/,
    'the cookie is cleared';

# ---- scrypt runs on the thread pool: the worker keeps serving
my @order;
my @p = map {
    my $n = $_;
    $t->ua->post_p($t->url('/api/auth/login') => json => {
        email => 'owner@example.com', password => 'Correct-horse-42' })
      ->then(sub { push @order, "login$n" });
} 1 .. 6;
push @p, Mojo::Promise->timer(0.02)->then(sub {
    $t->ua->get_p($t->url('/api/health'))->then(sub { push @order, 'health' });
});
Mojo::Promise->all(@p)->wait;
isnt $order[-1], 'health',
    'a health check sent during six logins is not held behind them';

$t->done;
done_testing;
