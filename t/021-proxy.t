# Behind a TLS-terminating proxy or load balancer.  X-Forwarded-Proto is
# believed only from orbis_trusted_proxies addresses: then the session
# cookie gets Secure and the CSRF check knows the page's origin was https.
# The client's address comes from nginx's realip module (set_real_ip_from,
# real_ip_header X-Forwarded-For), so the per-address login limit counts
# the real client, not the balancer.  From anyone else the headers are
# ignored.  Here 127.0.0.1 is the proxy; 127.0.0.2 is a client that
# reaches nginx directly and forges the same headers.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::UserAgent;
use Orbis::Test;

my $t = Orbis::Test->new(workers => 1, http => <<'EOF2');
    orbis_trusted_proxies 127.0.0.1 10.0.0.0/8;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;
    orbis_auth_rate_limit 3;
EOF2

my $s = $t->signup;
my $host = '127.0.0.1:' . $t->http_port;

# the direct client, from another loopback address
my $direct = Mojo::UserAgent->new(
    socket_options => { LocalAddr => '127.0.0.2' }, request_timeout => 10);

sub send_from {
    my ($who, $method, $path, $headers, @body) = @_;
    return $t->request($method, $path, headers => $headers, @body)
        if $who eq 'proxy';
    my $tx = $direct->build_tx($method => $t->url($path), $headers, @body);
    my $res = $direct->start($tx)->result;
    $direct->cookie_jar->empty;
    return $res;
}

sub login {
    my ($who, %h) = @_;
    return send_from($who, POST => '/api/auth/login', \%h,
                     json => { email => $s->{email},
                               password => $s->{password} });
}

# ---- the cookie's Secure flag
my $res = login('proxy', 'X-Forwarded-Proto' => 'https',
                'X-Forwarded-For' => '198.51.100.1');
is $res->code, 200, 'login through the proxy';
like $res->headers->header('Set-Cookie'), qr/; Secure(;|$)/,
    'the proxy says https: the cookie is Secure';
is $res->headers->header('Strict-Transport-Security'),
    'max-age=31536000; includeSubDomains',
    'the proxy says https: HSTS as over TLS';
my ($cookie) = $res->headers->header('Set-Cookie') =~ /^(orbis_session=[^;]+)/;

$res = login('proxy', 'X-Forwarded-For' => '198.51.100.1');
unlike $res->headers->header('Set-Cookie'), qr/Secure/,
    'the proxy says nothing: plain http, no Secure';
is $res->headers->header('Strict-Transport-Security'), undef,
    'the proxy says nothing: no HSTS';
$res = login('proxy', 'X-Forwarded-Proto' => 'http',
             'X-Forwarded-For' => '198.51.100.1');
unlike $res->headers->header('Set-Cookie'), qr/Secure/,
    'the proxy says http: no Secure';

$res = login('direct', 'X-Forwarded-Proto' => 'https');
is $res->code, 200, 'login from the direct client';
unlike $res->headers->header('Set-Cookie'), qr/Secure/,
    'a forged X-Forwarded-Proto from an untrusted address is ignored';
is $res->headers->header('Strict-Transport-Security'), undef,
    'and gets no HSTS';

# ---- the CSRF check's idea of our own origin
my $n = 0;
sub create_agent {
    my ($who, %h) = @_;
    $n++;
    return send_from($who, POST => '/api/agents',
                     { Cookie => $cookie, %h },
                     json => { name => "A$n", systemPrompt => 'p',
                               voice => 'Kore' });
}

my $agents = sub { $t->sql_value('SELECT count(*) FROM agents') };

$res = create_agent('proxy', 'X-Forwarded-Proto' => 'https',
                    Origin => "https://$host");
is $res->code, 201, 'through the proxy, an https page of ours may write';
$res = create_agent('proxy', 'X-Forwarded-Proto' => 'https',
                    Referer => "https://$host/agents.html");
is $res->code, 201, 'and so may one known by its Referer';
my $count = $agents->();
$res = create_agent('proxy', 'X-Forwarded-Proto' => 'https',
                    Origin => "http://$host");
is $res->code, 403, 'through the proxy over https, an http origin is not ours';
is $res->json->{error}{code}, 'csrf_refused', 'csrf_refused';
$res = create_agent('proxy', Origin => "https://$host");
is $res->code, 403, 'without X-Forwarded-Proto the scheme is http';

$res = create_agent('direct', 'X-Forwarded-Proto' => 'https',
                    Origin => "https://$host");
is $res->code, 403, 'a forged X-Forwarded-Proto does not make a foreign '
    . 'https origin ours';
is $res->json->{error}{code}, 'csrf_refused', 'csrf_refused';
is $agents->(), $count, 'nothing was created by the refused writes';
$res = create_agent('direct', 'X-Forwarded-Proto' => 'https',
                    Origin => "http://$host");
is $res->code, 201, 'the direct client is judged by its real scheme';

# ---- the per-address login limit: 3 a minute per real client
sub bad_login {
    my ($who, %h) = @_;
    return send_from($who, POST => '/api/auth/login', \%h,
                     json => { email => 'nobody@example.com',
                               password => 'Wrong-password-1' })->code;
}

is_deeply [ map { bad_login('proxy', 'X-Forwarded-For' => '203.0.113.7') }
            1 .. 4 ], [ 401, 401, 401, 429 ],
    'through the proxy, one client gets its 3 tries, then 429';
is bad_login('proxy', 'X-Forwarded-For' => '203.0.113.8'), 401,
    'another client behind the same proxy is not limited by it';
is bad_login('proxy', 'X-Forwarded-For' => '203.0.113.8, 203.0.113.7'), 429,
    'the address the proxy saw counts, not one the client prepended';
is $t->redis('EXISTS', 'rl:ip:203.0.113.7:auth'), 1,
    'the bucket is the real client\'s';

# the direct client cannot spread its tries over made-up addresses; it
# already spent one budget unit on its login above
is_deeply [ map { bad_login('direct', 'X-Forwarded-For' => "192.0.2.$_") }
            1 .. 3 ], [ 401, 401, 429 ],
    'a forged X-Forwarded-For from an untrusted address is ignored';
is $t->redis('EXISTS', 'rl:ip:192.0.2.1:auth'), 0,
    'no bucket for the forged address';

# ---- nginx -t refuses a malformed proxy address
my $conf = $t->nginx_conf(http => 'orbis_trusted_proxies 10.0.0.0/33;');
open my $fh, '>', $t->dir . '/bad.conf' or die $!;
print $fh $conf;
close $fh;
my $out = `nginx -t -p @{[ $t->dir ]} -c @{[ $t->dir ]}/bad.conf 2>&1`;
isnt $?, 0, 'nginx -t fails on a bad orbis_trusted_proxies address';
like $out, qr/invalid address "10\.0\.0\.0\/33"/, 'and names it';

$t->done;
done_testing;
