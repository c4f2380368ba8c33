# No request desync: an answer given before the body was read (or instead
# of reading it) discards the body or closes the connection.  For every
# early answer, one kept-alive TCP connection carries a request whose body
# is a complete second request (or a JSON secret), framed by
# Content-Length and again chunked, followed by a real request: exactly
# one answer comes back for the first, then either the real request's own
# answer or the end of the connection; the smuggled request is never
# answered, and neither the error log nor the access log shows any of the
# body.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);
use Orbis::Test;

my $t = Orbis::Test->new(workers => 1, http => q{
    orbis_cors_origins https://app.example.com;
    orbis_rate_limit 30;
    orbis_rate_limit_fallback refuse;
}, server => q{
    location /stream { orbis_stream; }
});

my $marker = 'SMUGGLED' . int(rand 1e9);
my $n = 0;

# the bodies: a whole request, and a secret that must not reach the log
my %bodies = (
    request => "GET /api/health?m=$marker HTTP/1.1\r\nHost: x\r\n\r\n",
    secret  => qq({"apiKey":"sk_live_$marker"}),
);

sub session {
    my $s = $t->signup;
    return { Authorization => "Bearer $s->{token}" };
}

sub cookie {
    my $s = $t->signup;
    my ($c) = $t->post('/api/auth/login', json => {
        email => $s->{email}, password => $s->{password} })
        ->headers->header('Set-Cookie') =~ /^(orbis_session=[^;]+)/;
    return { Cookie => $c, Origin => 'https://evil.example' };
}

sub exhausted {
    my $h = session();
    for (1 .. 40) {
        last if $t->get('/api/auth/me', headers => $h)->code == 429;
    }
    return $h;
}

my $json = { 'Content-Type' => 'application/json' };

# name, method, path, headers (a hash, or a sub made once per case),
# status, error code (undef: no body), then: 'next' (the connection
# serves the next request) or 'close', and the body's size (the smuggled
# request padded up to it)
my @cases = (
    [ 'unknown route', PUT => '/api/nope', {}, 404, 'not_found', 'next' ],
    [ 'wrong method', POST => '/api/health', {}, 405,
      'method_not_allowed', 'next' ],
    [ 'CORS preflight', OPTIONS => '/api/agents', {
          Origin => 'https://app.example.com',
          'Access-Control-Request-Method' => 'POST' }, 204, undef, 'next' ],
    [ 'no credentials', POST => '/api/agents', $json, 401, 'unauthorized',
      'next' ],
    [ 'cookie from another origin', POST => '/api/agents',
      sub { +{ %$json, %{ cookie() } } }, 403, 'csrf_refused', 'next' ],
    [ 'wrong content type', POST => '/api/agents',
      sub { +{ %{ session() }, 'Content-Type' => 'text/plain' } }, 415,
      'unsupported_media_type', 'next' ],
    [ 'too large', POST => '/api/agents', sub { +{ %{ session() }, %$json } },
      413, 'too_large', 'close', 70_000 ],
    [ 'rate limited', POST => '/api/agents',
      sub { +{ %{ exhausted() }, %$json } }, 429, 'rate_limited', 'next' ],
    [ 'stream: wrong method', POST => '/stream', {}, 405,
      'method_not_allowed', 'next' ],
    [ 'stream: a body', GET => '/stream?key=pk_x&agent=x', {
          Upgrade => 'websocket', Connection => 'Upgrade',
          'Sec-WebSocket-Version' => 13,
          'Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ==' }, 400,
      'invalid_request', 'next' ],
);

# one connection: the case's request with the body, then a real request
# that closes it; the answers, in order.  A "slow" framing sends half the
# body, waits for the answer, then the rest: the body is discarded as it
# arrives, after the answer.
sub exchange {
    my ($method, $path, $hdr, $body, $framing) = @_;
    my $after = '/api/after-' . ++$n;

    my $req = "$method $path HTTP/1.1\r\nHost: x\r\n";
    $req .= "$_: $hdr->{$_}\r\n" for sort keys %$hdr;
    if ($framing =~ /^chunked/) {
        $req .= "Transfer-Encoding: chunked\r\n\r\n"
              . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body);
    } else {
        $req .= 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    }
    $req .= "GET $after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $t->http_port)
        or die "connect: $!";
    my ($buf, $sel, $until) = ('', IO::Select->new($sock), time + 10);

    if ($framing =~ /slow$/) {
        my $half = index($req, $body) + int(length($body) / 2);
        $sock->syswrite(substr $req, 0, $half, '') // die "write: $!";
        while (time < $until && $buf !~ /\r\n\r\n/
               && $sel->can_read($until - time)) {
            $sock->sysread(my $chunk, 65536) or last;
            $buf .= $chunk;
        }
        Time::HiRes::sleep(0.2);
    }
    $sock->syswrite($req) // die "write: $!";

    while (time < $until && $sel->can_read($until - time)) {
        my $got = $sock->sysread(my $chunk, 65536);
        last unless $got;
        $buf .= $chunk;
    }
    close $sock;

    my @res;
    while ($buf =~ s{\AHTTP/1\.1 (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n}{}s) {
        my ($code, $head) = ($1, $2);
        my $len = $head =~ /^content-length:\s*(\d+)/mi ? $1 : 0;
        push @res, { code => $code, body => substr($buf, 0, $len, '') };
    }
    return (\@res, $after, $buf);
}

sub check_case {
    my ($c, $kind, $framing) = @_;
    my ($name, $method, $path, $hdr, $status, $code, $then, $size) = @$c;
    $hdr = $hdr->() if ref $hdr eq 'CODE';
    my $body = $bodies{$kind};
    $body .= ' ' x ($size - length $body) if $size;
    my $what = "$name ($kind body, $framing)";

    my ($res, $after, $rest) = exchange($method, $path, $hdr, $body,
                                        $framing);
    my @want = ($status, $then eq 'next' ? 404 : ());
    is_deeply [ map { $_->{code} } @$res ], \@want,
        "$what: $status" . ($then eq 'next' ? ', then the next request'
                                            : ', then the connection closes')
        or diag explain $res;
    is $rest, '', "$what: nothing else on the connection";

    if (defined $code) {
        my $err = eval { Mojo::JSON::decode_json($res->[0]{body}) } // {};
        is $err->{error}{code}, $code, "$what: error code $code";
    }
    if ($then eq 'next' && @$res == 2) {
        like $res->[1]{body}, qr/no such endpoint: GET \Q$after\E"/,
            "$what: the next answer is the next request's";
    }
}

for my $c (@cases) {
    for my $kind (qw(request secret)) {
        check_case($c, $kind, $_) for qw(length chunked);
    }
}

# the answers given before the body is read, with the body still coming
my %early = map { ($_ => 1) } 'unknown route', 'wrong method',
    'CORS preflight', 'stream: wrong method', 'stream: a body';
my @early = grep { $early{ $_->[0] } } @cases;
is scalar @early, 5, 'five early answers are tried with a slow body';
for my $c (@early) {
    for my $kind (qw(request secret)) {
        check_case($c, $kind, $_) for qw(length-slow chunked-slow);
    }
}

# ---- 503s: the schema behind the code (a worker learns it as it
# starts), then the rate limiter down

my ($latest, $mname) = @{ ($t->sql('SELECT version, name FROM
    schema_migrations ORDER BY version DESC LIMIT 1'))[0] };
my $h = session();
$t->stop_nginx;
$t->sql('DELETE FROM schema_migrations WHERE version = ' . int $latest);
$t->start_nginx;
is $t->get('/api/_test/pg-sleep?seconds=0')->json->{error}{code},
    'schema_behind', 'the worker sees the schema behind';
for my $kind (qw(request secret)) {
    check_case([ 'schema behind', POST => '/api/agents', { %$h, %$json },
                 503, 'schema_behind', 'next' ], $kind, $_)
        for qw(length chunked);
}
$t->sql("INSERT INTO schema_migrations (version, name)
         VALUES ($latest, '$mname')");
ok $t->wait_for(5, sub { $t->get('/api/_test/pg-sleep?seconds=0')->code
                         == 200 }), 'and serves again once it is not';
$t->expect_error_log(qr/orbis: database schema is at version \d+, this build needs \d+/);
$t->expect_error_log(qr/orbis: 503 schema_behind: the database schema is at version/);

$t->stop_redis;
for my $kind (qw(request secret)) {
    check_case([ 'rate limiter down', POST => '/api/agents',
                 { %$h, %$json }, 503, 'rate_limiter_unavailable', 'next' ],
               $kind, $_) for qw(length chunked);
}
$t->expect_error_log(qr/orbis: 503 rate_limiter_unavailable/);
$t->expect_error_log($Orbis::Test::REDIS_DOWN);

# ---- nginx's own 413 logs the size, never the body
$t->expect_error_log(qr/client intended to send too large (?:chunked )?body/);

$t->no_error_log(qr/client sent invalid method/,
                 'no body was parsed as a request');
$t->no_error_log(qr/\Q$marker\E/, 'no part of any body in the error log');

open my $al, '<', $t->dir . '/logs/access.log' or die $!;
my @smuggled = grep { /\Q$marker\E/ } <$al>;
is scalar @smuggled, 0, 'the access log has no smuggled request'
    or diag @smuggled;

$t->done;
done_testing;
