# CORS for configured origins with preflight, and the security headers on
# API answers; over TLS (a test CA) with the shipped server configuration:
# HSTS under TLS only, the dashboard's CSP with frame-ancestors, and the
# Secure cookie.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test qw(is_error);

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
    is $r->headers->header('Referrer-Policy'),
        'strict-origin-when-cross-origin', 'Referrer-Policy on ' . $r->code;
    ok !$r->headers->header('Strict-Transport-Security'),
        'no HSTS over plain HTTP';
}

$t->done;

# ---- TLS and the shipped conf/orbis-server.conf
my $hsts = 'max-age=31536000; includeSubDomains';
my $d = Orbis::Test->new(workers => 1, tls => 1, shipped_conf => 1);

for my $path ('/api/health', '/api/nope', '/api/agents') {
    my $plain = $d->get($path);
    my $tls = $d->get($path, tls => 1);
    is $tls->code, $plain->code, "$path answers the same over TLS ("
        . $tls->code . ')';
    is $tls->headers->header('Strict-Transport-Security'), $hsts,
        "HSTS on $path under TLS";
    ok !$plain->headers->header('Strict-Transport-Security'),
        "no HSTS on $path over plain HTTP";
    is $tls->headers->header('X-Content-Type-Options'), 'nosniff',
        "nosniff on $path under TLS";
}

# the dashboard: static pages with a CSP that forbids framing; a page that
# is not there is the visitor's 404, not an error in the server's log
for my $page ('/', '/index.html', '/login.html', '/signup.html', '/app.html',
              '/no-such-page.html') {
    for my $tls (0, 1) {
        my $via = $tls ? 'TLS' : 'HTTP';
        my $r = $d->get($page, tls => $tls);
        is $r->code, $page =~ /no-such/ ? 404 : 200, "$page over $via";
        my $csp = $r->headers->header('Content-Security-Policy') // '';
        like $csp, qr/(?:^|;\s*)frame-ancestors 'none'(?:;|$)/,
            "$page over $via: CSP frame-ancestors 'none'";
        like $csp, qr/(?:^|;\s*)default-src 'self'(?:;|$)/,
            "$page over $via: CSP default-src 'self'";
        is $r->headers->header('X-Frame-Options'), 'DENY',
            "$page over $via: X-Frame-Options for older browsers";
        is $r->headers->header('X-Content-Type-Options'), 'nosniff',
            "$page over $via: nosniff";
        if ($tls) {
            is $r->headers->header('Strict-Transport-Security'), $hsts,
                "$page over TLS: HSTS";
        } else {
            ok !$r->headers->header('Strict-Transport-Security'),
                "$page over HTTP: no HSTS";
        }
    }
}
like $d->get('/', tls => 1)->body, qr/<html/i, 'the dashboard is served';
$d->no_error_log(qr{no-such-page}, 'a missing page is not an error in the log');

# scripts and the widget: HSTS under TLS as well
for my $asset ('/js/api.js', '/widget.js') {
    my $r = $d->get($asset, tls => 1);
    is $r->code, 200, "$asset over TLS";
    is $r->headers->header('Strict-Transport-Security'), $hsts,
        "$asset: HSTS under TLS";
    ok !$d->get($asset)->headers->header('Strict-Transport-Security'),
        "$asset: no HSTS over HTTP";
}

# the session cookie is Secure when it was set over TLS
my $u = $d->signup;
my $login = $d->post('/api/auth/login', tls => 1, json => {
    email => $u->{email}, password => $u->{password} });
is $login->code, 200, 'login over TLS';
like $login->headers->header('Set-Cookie'), qr/;\s*Secure(?:;|$)/,
    'the cookie is Secure under TLS';
my ($sc) = $login->headers->header('Set-Cookie') =~ /^(orbis_session=[^;]+)/;

# and the dashboard's own https origin passes the CSRF check
my $res2 = $d->post('/api/agents', tls => 1, headers => { Cookie => $sc,
    Origin => 'https://127.0.0.1:' . $d->tls_port },
    json => { name => 'x', systemPrompt => 'p', voice => 'Kore' });
is $res2->code, 201, 'a cookie write from the https origin is allowed';
$res2 = $d->post('/api/agents', tls => 1, headers => { Cookie => $sc,
    Origin => 'http://127.0.0.1:' . $d->tls_port },
    json => { name => 'x', systemPrompt => 'p', voice => 'Kore' });
is_error($res2, 403, 'csrf_refused', 'the same host over http is another origin');


# ---- "*" would answer every site with credentials: nginx -t refuses it
for my $case ([ 'alone', '*' ],
              [ 'among origins', 'https://app.example.com *' ]) {
    my ($name, $value) = @$case;
    my $conf = $d->nginx_conf(http => "orbis_cors_origins $value;");
    my $file = $d->dir . '/star.conf';
    open my $fh, '>', $file or die "$file: $!";
    print $fh $conf;
    close $fh;
    my $out = `nginx -t -p @{[ $d->dir ]} -c $file 2>&1`;
    isnt $?, 0, "nginx -t fails on orbis_cors_origins * ($name)";
    like $out, qr/"\*" is not allowed: these origins are answered with cre/,
        "and says why ($name)";
    like $out, qr{star\.conf:\d+}, "and names the file and line ($name)";
}

$d->done;
done_testing;
