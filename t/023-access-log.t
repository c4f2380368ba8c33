# A publishable key travels in the query of /stream?key=...; the shipped
# access log format (log_format orbis_json in conf/nginx.conf) logs
# $orbis_request_uri_masked, which keeps only a key's display prefix
# (pk_ and 4 characters), so the access log never holds a whole key.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::JSON qw(decode_json);
use Orbis::Test;

# the shipped log format, as it stands in conf/nginx.conf
open my $fh, '<', "$Orbis::Test::ROOT/conf/nginx.conf" or die $!;
my $nginx_conf = do { local $/; <$fh> };
close $fh;
my ($format) = $nginx_conf =~ /(log_format\s+orbis_json\b.*?;)\n/s;
ok $format, 'conf/nginx.conf has log_format orbis_json';
like $format, qr/\$orbis_request_uri_masked/, 'it logs the masked URI';
unlike $format, qr/\$request_uri\b|\$request\b|\$args\b|\$query_string\b/,
    'and nothing that carries the query unmasked';

my $t = Orbis::Test->new(workers => 1, shipped_conf => 1, http => $format,
    server => 'access_log logs/orbis.json orbis_json;');

my $pk = 'pk_' . 'Q' x 28 . 'wxyz';
my $sk = 'sk_' . 'S' x 28 . 'abcd';

my @paths = (
    "/stream?agent=00000000-0000-0000-0000-000000000000&key=$pk",
    "/stream?key=$pk&agent=x",
    "/api/health?KEY=$sk",
    "/api/health?monkey=1&key=$pk&key=$sk",
    '/api/health?key=pk_ab',
    '/api/health?keys=abcdefghijkl&akey=abcdefghijkl',
);
$t->get($_) for @paths;

my @lines;
ok $t->wait_for(5, sub {
    open my $log, '<', $t->dir . '/logs/orbis.json' or return 0;
    @lines = map { decode_json($_) } <$log>;
    close $log;
    @lines >= @paths;
}), 'every request was logged';

my $all = join "\n", map { $_->{uri} } @lines;
unlike $all, qr/\Q$pk\E/, 'the publishable key is not in the log';
unlike $all, qr/\Q$sk\E/, 'nor a secret key';
unlike $all, qr/QQQQQ|SSSSS/, 'nor any part past the prefix';

is_deeply [ map { $_->{uri} } @lines[0 .. $#paths] ], [
    '/stream?agent=00000000-0000-0000-0000-000000000000&key=pk_QQQQ...',
    '/stream?key=pk_QQQQ...&agent=x',
    '/api/health?KEY=sk_SSSS...',
    '/api/health?monkey=1&key=pk_QQQQ...&key=sk_SSSS...',
    '/api/health?key=pk_ab',
    '/api/health?keys=abcdefghijkl&akey=abcdefghijkl',
], 'each key is cut to its prefix; other parameters are left alone';

$t->done;
done_testing;
