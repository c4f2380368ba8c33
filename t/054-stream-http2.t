# The stream is a WebSocket over HTTP/1.1 only: nginx does not speak
# RFC 8441 (WebSocket over HTTP/2), so a request that arrives over HTTP/2
# (over TLS with ALPN, as a browser gets it, and h2c with prior
# knowledge, as a proxy or a client library would send it) is refused
# with 400 and the API's JSON error, before any key or database work, and
# no call starts.  Likewise HTTP/1.0, and a plain HTTP/1.1 GET (426,
# telling the client to upgrade).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Mojo::JSON qw(decode_json);
use Orbis::Test;
use Orbis::Stream;
use TestCA;

my $ORIGIN = 'http://app.example';

# scripts/deps.sh installs Debian's curl, which speaks HTTP/2: without it
# this file fails rather than passing by skipping its checks
die "curl with HTTP/2 is needed (scripts/deps.sh installs it)\n"
    unless (`curl --version 2>/dev/null` // '') =~ /^Features:.*\bHTTP2\b/m;

my $h2 = Orbis::Test::free_port();
my $h2s = Orbis::Test::free_port();
my $tls = TestCA::make(tempdir('orbis-h2-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1));

my $t = Orbis::Test->new(workers => 1, http => qq{
    server {
        listen 127.0.0.1:$h2 http2;
        location /stream { orbis_stream; }
    }
    server {
        listen 127.0.0.1:$h2s ssl http2;
        ssl_certificate $tls->{cert};
        ssl_certificate_key $tls->{key};
        location /stream { orbis_stream; }
    }
}, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);
my $path = Orbis::Stream::stream_path($acc);
my $ws_key = 'dGhlIHNhbXBsZSBub25jZQ==';

# one request with curl; returns {version, status, headers (lower-case
# names), body}
sub curl {
    my ($url, @args) = @_;
    my $fmt = q{'\n%{http_version}'};
    my $out = `curl -s -S -i --max-time 10 @args -w $fmt '$url' 2>&1`;
    my ($head, $rest) = split /\r\n\r\n/, $out, 2;
    $rest //= '';
    my ($body, $version) = $rest =~ /\A(.*)\n([^\n]*)\z/s;
    my ($status) = ($head // '') =~ m{^HTTP/\S+ (\d{3})};
    my %h;
    for my $line (split /\r\n/, $head // '') {
        $h{ lc $1 } = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }
    return { version => $version // '', status => $status // 0,
             headers => \%h, body => $body // '', raw => $out };
}

sub error_of {
    my ($res) = @_;
    my $j = eval { decode_json($res->{body}) };
    return ref $j eq 'HASH' && ref $j->{error} eq 'HASH' ? $j->{error} : {};
}

sub refused_as_json {
    my ($res, $status, $code, $what) = @_;
    is $res->{status}, $status, "$what: $status" or diag $res->{raw};
    like $res->{headers}{'content-type'} // '', qr{^application/json},
        "$what: a JSON body";
    my $e = error_of($res);
    is $e->{code}, $code, "$what: error code $code";
    like $e->{message}, qr/^\S+(?: \S+){2,}/,
        "$what: and a message of words ($e->{message})";
    return $e;
}

# ---- HTTP/2, a WebSocket handshake as a client would try it
my $h2url = "http://127.0.0.1:$h2$path";
my @ws_headers = ('-H', "'Sec-WebSocket-Key: $ws_key'",
                  '-H', "'Sec-WebSocket-Version: 13'",
                  '-H', "'Upgrade: websocket'", '-H', "'Connection: Upgrade'");

my $res = curl($h2url, '--http2-prior-knowledge', @ws_headers,
               '-H', "'Origin: $ORIGIN'");
is $res->{version}, '2', 'the request really went over HTTP/2';
my $e = refused_as_json($res, 400, 'invalid_request', 'HTTP/2 from a browser');
like $e->{message}, qr{HTTP/1\.1}, 'the message says HTTP/1.1 is needed';
ok !exists $res->{headers}{'sec-websocket-accept'}, 'no upgrade happened';

$res = curl($h2url, '--http2-prior-knowledge', @ws_headers);
is $res->{version}, '2', 'over HTTP/2 again';
refused_as_json($res, 400, 'invalid_request', 'HTTP/2 without Origin');

$res = curl($h2url, '--http2-prior-knowledge');
refused_as_json($res, 400, 'invalid_request',
                'HTTP/2 with no upgrade headers at all');

# ---- HTTP/2 over TLS, chosen by ALPN: what a browser would get
$res = curl("https://127.0.0.1:$h2s$path", '--http2', '--cacert',
            $tls->{ca}, @ws_headers, '-H', "'Origin: $ORIGIN'");
is $res->{version}, '2', 'TLS: ALPN chose HTTP/2';
refused_as_json($res, 400, 'invalid_request', 'HTTP/2 over TLS');

# refused before the key is looked at: a bad key changes nothing
$res = curl("http://127.0.0.1:$h2/stream?agent=$acc->{agent}&key=nope",
            '--http2-prior-knowledge', @ws_headers);
refused_as_json($res, 400, 'invalid_request', 'HTTP/2 with a bad key');

# ---- HTTP/1.0 on the ordinary listener
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => $t->http_port, Timeout => 5)
    or die "connect: $!";
print $s "GET $path HTTP/1.0\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    . "Connection: Upgrade\r\nSec-WebSocket-Key: $ws_key\r\n"
    . "Sec-WebSocket-Version: 13\r\nOrigin: $ORIGIN\r\n\r\n";
my $raw = do { local $/; <$s> } // '';
close $s;
my ($head, $body) = split /\r\n\r\n/, $raw, 2;
my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})};
is $status, 400, 'HTTP/1.0: 400';
is((eval { decode_json($body // '') } // {})->{error}{code},
   'invalid_request', 'HTTP/1.0: the JSON error');

# ---- a plain HTTP/1.1 GET: told to upgrade (t/040 checks the header)
$res = curl($t->url($path), '--http1.1', '-H', "'Origin: $ORIGIN'");
is $res->{version}, '1.1', 'over HTTP/1.1';
refused_as_json($res, 426, 'invalid_request', 'a plain GET');
is $res->{headers}{upgrade}, 'websocket', 'with Upgrade: websocket';

# ---- nothing of it is a call
is $t->sql_value(q{SELECT count(*) FROM conversations
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 0,
    'no conversation row';
is $t->redis('ZCARD', 'sessions:live'), 0, 'no live session in Redis';

# the HTTP/1.1 listener still makes calls: the refusals were not luck
my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
ok $ws->wait_type('ready')->{sessionId}, 'a real WebSocket call works';
$ws->close(1000);
ok $t->wait_for(10, sub {
    $t->sql_value(q{SELECT count(*) FROM conversations
                    WHERE tenant_id = :'p1'}, $acc->{tenant}) == 1
}), 'and is the only call recorded';

$t->done;
done_testing;
