# Reaching Gemini as Google's would be reached: a host name resolved by
# nginx's resolver (a fake DNS server here), TLS with SNI and the name
# checked in the certificate.  A chain that orbis_gemini_ca_file does not
# trust, or a certificate for another name, ends the call with 4004 (the
# connection is never used) and the call is still saved.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Orbis::Test;
use Orbis::Stream qw(tone);
use FakeGemini;
use TestCA;

my $ORIGIN = 'http://app.example';
my $tmp = tempdir('orbis-tls-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub run_case {
    my ($name, $fake, $ca_file, $log_re) = @_;

    open my $kf, '>', "$tmp/gemini.key" or die $!;
    print $kf $fake->api_key;
    close $kf;

    my $url = 'wss://127.0.0.1:' . $fake->ws_port . $fake->ws_path;
    my $t = Orbis::Test->new(workers => 1, http => qq{
        orbis_gemini_url $url;
        orbis_gemini_key_file $tmp/gemini.key;
        orbis_gemini_ca_file $ca_file;
    }, server => q{ location /stream { orbis_stream; } });

    my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);
    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    my $id = $ws->wait_type('ready')->{sessionId};
    $ws->send_binary(tone(ms => 20)) for 1 .. 5;

    is $ws->wait_closed(20)->{code}, 4004, "$name: 4004";

    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code FROM conversations
                           WHERE id = :'p1'}, $id);
        $row;
    });
    is_deeply $row, [ 'upstream_failed', 4004 ], "$name: saved";
    like $t->error_log_text, $log_re, "$name: the log says why";
    $t->expect_error_log($log_re);
    ok !grep({ $_->{setup} } @{ $fake->connections }),
        "$name: no setup (and no key) was ever sent";

    $t->done;
}

# ---- a host name: nginx's resolver, SNI and the name in the certificate

# the smallest DNS server that will do: every A question is 127.0.0.1
sub fake_dns {
    my ($log) = @_;
    my $sock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1',
                                     LocalPort => 0) or die "udp: $!";
    my $port = $sock->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        while (1) {
            my $peer = $sock->recv(my $q, 512) // next;
            next if length $q < 17;
            my ($id) = unpack 'n', $q;
            my $i = 12;
            my @labels;
            while (my $n = ord substr $q, $i, 1) {
                push @labels, substr $q, $i + 1, $n;
                $i += $n + 1;
            }
            my $question = substr $q, 12, $i + 5 - 12;
            my $type = unpack 'n', substr $q, $i + 1, 2;
            if (open my $fh, '>>', $log) {
                print $fh join('.', @labels), " $type\n";
            }
            my $a = $type == 1;
            my $r = pack('nnnnnn', $id, 0x8180, 1, $a ? 1 : 0, 0, 0)
                    . $question;
            $r .= pack('nnnNn', 0xc00c, 1, 1, 60, 4) . pack('C4', 127, 0, 0, 1)
                if $a;
            $sock->send($r, 0, $peer);
        }
    }
    return ($pid, $port);
}

{
    my $fake = FakeGemini->new(ca_dir => "$tmp/byname");
    my ($dns, $port) = fake_dns("$tmp/dns.log");

    open my $kf, '>', "$tmp/gemini.key" or die $!;
    print $kf $fake->api_key;
    close $kf;

    my $url = 'wss://localhost:' . $fake->ws_port . $fake->ws_path;
    my $t = Orbis::Test->new(workers => 1, http => qq{
        orbis_gemini_url $url;
        orbis_gemini_key_file $tmp/gemini.key;
        orbis_gemini_ca_file ${\ $fake->ca_file };
        resolver 127.0.0.1:$port ipv6=off;
        resolver_timeout 5s;
    }, server => q{ location /stream { orbis_stream; } });

    my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);
    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    my $id = $ws->wait_type('ready')->{sessionId};
    $ws->send_binary(tone(ms => 20)) for 1 .. 25;
    $ws->wait_type('turn_complete');
    pass 'a model reached by name answers';
    $ws->close(1000);

    open my $fh, '<', "$tmp/dns.log" or die $!;
    my @asked = <$fh>;
    ok grep({ /^localhost 1$/ } @asked), 'nginx\'s resolver was asked';
    my ($conn) = @{ $fake->connections };
    is $conn->{request_headers}{host}, 'localhost:' . $fake->ws_port,
        'Host names the server as the URL does';

    kill 'KILL', $dns;
    waitpid $dns, 0;
    $t->done;
}

# ---- a server whose chain we do not trust
my $trusted = TestCA::make("$tmp/trusted");
my $stranger = FakeGemini->new(ca_dir => "$tmp/stranger");
run_case('an untrusted chain', $stranger, $trusted->{ca},
         qr/orbis gemini: the certificate of 127\.0\.0\.1:\d+ is not trusted: \(21: unable to verify the first certificate\)/);

# a trusted chain, but for another name
my $other = TestCA::make("$tmp/other", names => ['other.example']);
my $wrong = FakeGemini->new(ca_dir => "$tmp/other");
run_case('a certificate for another name', $wrong, $other->{ca},
         qr/orbis gemini: the certificate of 127\.0\.0\.1:\d+ does not match "127\.0\.0\.1"/);

done_testing;
