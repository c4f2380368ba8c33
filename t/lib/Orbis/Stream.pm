package Orbis::Stream;

# Helpers for the /stream tests: accounts made straight in SQL, a small
# blocking WebSocket client on Mojo's event loop, hand-built frames for
# the protocol tests, and audio.
#
#   my $acc = Orbis::Stream::account($t, origins => ['http://app.example']);
#   my $ws  = Orbis::Stream::Client->connect($t, $acc,
#                                            origin => 'http://app.example');
#   my $ready = $ws->wait_msg(sub { $_[0]{type} eq 'ready' }, 'ready');
#   $ws->send_binary(Orbis::Stream::tone(ms => 100));
#   $ws->close(1000);

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(sha1_base64 sha256_hex);
use Exporter qw(import);
use IO::Select;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64 encode_base64url);
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json encode_json);
use Mojo::UserAgent;
use Time::HiRes ();

our @EXPORT_OK = qw(wait_until settle tone silence pcm_rms);

my $UA = Mojo::UserAgent->new(inactivity_timeout => 60,
                              connect_timeout => 10);
$UA->max_response_size(0);

my $SEQ = 0;


# ------------------------------------------------------------ accounts

sub new_key {
    my ($kind) = @_;
    my $rnd = join '', map { chr int rand 256 } 1 .. 24;
    return ($kind // 'pk') . '_' . encode_base64url($rnd);
}

sub pg_array {
    my ($list) = @_;
    return '{' . join(',', map { qq{"$_"} } @$list) . '}';
}

# A tenant with one agent, one publishable key and one secret key (for
# the REST API).  Options: plan, origins (the tenant's), key_origins,
# key_agents (ids; default all), agent => {name, voice, tools, greeting,
# prompt, idle}.
sub account {
    my ($t, %o) = @_;

    my $n = ++$SEQ . int rand 1e6;
    my $plan = $o{plan} // 'free';
    my %a = (name => 'Concierge', voice => 'Kore', greeting => '',
             prompt => 'You are a terse concierge.', tools => [],
             %{ $o{agent} // {} });

    my $tid = $t->sql_value(
        q{INSERT INTO tenants (name, plan, allowed_origins)
          VALUES (:'p1', :'p2', :'p3'::text[]) RETURNING id},
        "Tenant $n", $plan,
        pg_array($o{origins} // ['http://app.example']));

    my $aid = add_agent($t, $tid, %a);

    my $pk = new_key('pk');
    my $kid = $t->sql_value(
        q{INSERT INTO api_keys (tenant_id, name, kind, key_hash, prefix,
                                last4, allowed_origins, agent_ids)
          VALUES (:'p1', 'widget', 'publishable', :'p2', 'pk_x', 'xxxx',
                  :'p3'::text[], :'p4'::uuid[]) RETURNING id},
        $tid, sha256_hex($pk), pg_array($o{key_origins} // []),
        pg_array($o{key_agents} // []));

    my $sk = new_key('sk');
    $t->sql(q{INSERT INTO api_keys (tenant_id, name, kind, key_hash, prefix,
                                    last4)
              VALUES (:'p1', 'server', 'secret', :'p2', 'sk_x', 'xxxx')},
            $tid, sha256_hex($sk));

    return { tenant => $tid, agent => $aid, key => $pk, key_id => $kid,
             secret => $sk };
}

sub add_agent {
    my ($t, $tid, %a) = @_;

    return $t->sql_value(
        q{INSERT INTO agents (tenant_id, name, system_prompt, voice,
                              greeting, tools, idle_timeout_sec)
          VALUES (:'p1', :'p2', :'p3', :'p4', :'p5', :'p6'::text[],
                  nullif(:'p7', '')::integer) RETURNING id},
        $tid, $a{name} // 'Agent', $a{prompt} // 'Be terse.',
        $a{voice} // 'Kore', $a{greeting} // '',
        pg_array($a{tools} // []), $a{idle} // '');
}

sub stream_path {
    my ($acc, %o) = @_;
    my @q;
    push @q, 'agent=' . ($o{agent} // $acc->{agent})
        unless exists $o{agent} && !defined $o{agent};
    push @q, 'key=' . ($o{key} // $acc->{key})
        unless exists $o{key} && !defined $o{key};
    return ($o{location} // '/stream') . (@q ? '?' . join('&', @q) : '');
}

# the REST API as the account's server (secret key)
sub api {
    my ($t, $acc, $method, $path, %o) = @_;
    return $t->request($method, $path, %o,
        headers => { Authorization => "Bearer $acc->{secret}",
                     %{ $o{headers} // {} } });
}


# ---------------------------------------------------------------- loop

sub wait_until {
    my ($cond, $what, $timeout) = @_;

    my $deadline = Time::HiRes::time() + ($timeout // 15);
    my $tick = Mojo::IOLoop->recurring(0.02 => sub { });

    until ($cond->()) {
        if (Time::HiRes::time() > $deadline) {
            Mojo::IOLoop->remove($tick);
            croak "timed out waiting for $what";
        }
        Mojo::IOLoop->one_tick;
    }

    Mojo::IOLoop->remove($tick);
    return 1;
}

sub settle {
    my ($seconds) = @_;
    my $until = Time::HiRes::time() + $seconds;
    wait_until(sub { Time::HiRes::time() >= $until }, 'settle',
               $seconds + 2);
}


# --------------------------------------------------------------- audio

# PCM16LE mono: a sine at $hz, or silence
sub tone {
    my (%o) = @_;
    my $rate = $o{rate} // 16000;
    my $n = int($rate * ($o{ms} // 20) / 1000);
    my $hz = $o{hz} // 440;
    my $amp = $o{amp} // 8000;
    return pack 's<*', map {
        int($amp * sin(2 * 3.141592653589793 * $hz * $_ / $rate))
    } 0 .. $n - 1;
}

sub silence {
    my (%o) = @_;
    my $n = int(($o{rate} // 16000) * ($o{ms} // 20) / 1000);
    return "\0\0" x $n;
}

sub pcm_rms {
    my ($pcm) = @_;
    my @s = unpack 's<*', $pcm;
    return 0 unless @s;
    my $sum = 0;
    $sum += $_ * $_ for @s;
    return sqrt($sum / @s);
}


# ------------------------------------------------------- WebSocket client

package Orbis::Stream::Client;

use Carp qw(croak);
use Mojo::JSON qw(decode_json encode_json);

sub connect {
    my ($class, $t, $acc, %o) = @_;

    my $self = bless { msgs => [], binary => [], bytes => 0, cursor => 0,
                       events => [] }, $class;
    my %h = %{ $o{headers} // {} };
    $h{Origin} = $o{origin} if defined $o{origin};

    my $url = 'ws://127.0.0.1:' . $t->http_port
              . ($o{path} // Orbis::Stream::stream_path($acc, %o));

    $UA->websocket($url => \%h => sub {
        my (undef, $tx) = @_;

        $self->{handshake} = $tx;

        unless ($tx->is_websocket) {
            $self->{failed} = $tx->res->code // 0;
            $self->{body} = $tx->res->body;
            $self->{res} = $tx->res;
            return;
        }

        $self->{tx} = $tx;
        $tx->max_websocket_size(16 * 1024 * 1024);
        $tx->on(binary => sub {
            push @{ $self->{binary} }, $_[1];
            $self->{bytes} += length $_[1];
            push @{ $self->{events} }, 'binary';
        });
        $tx->on(text => sub {
            my $m = eval { decode_json($_[1]) } // { raw => $_[1] };
            # the audio that came before this event, to check the order
            $m->{_bytes_before} = $self->{bytes};
            push @{ $self->{msgs} }, $m;
            push @{ $self->{events} }, $m->{type} // 'text';
        });
        $tx->on(finish => sub {
            $self->{closed} = { code => $_[1], reason => $_[2] // '' };
        });
    });

    Orbis::Stream::wait_until(sub { $self->{tx} || defined $self->{failed} },
                              'the WebSocket handshake');

    return $self;
}

sub failed  { $_[0]{failed} }
sub body    { $_[0]{body} }
sub res     { $_[0]{res} }
sub msgs    { $_[0]{msgs} }
sub binary  { $_[0]{binary} }
sub bytes   { $_[0]{bytes} }
sub closed  { $_[0]{closed} }
sub events  { $_[0]{events} }
sub tx      { $_[0]{tx} }

sub json_error {
    my ($self) = @_;
    return eval { decode_json($self->{body}) } // {};
}

sub send_json {
    my ($self, $data) = @_;
    $self->{tx}->send({ text => encode_json($data) }) unless $self->{closed};
}

sub send_text {
    my ($self, $text) = @_;
    $self->{tx}->send({ text => $text }) unless $self->{closed};
}

sub send_binary {
    my ($self, $bytes) = @_;
    $self->{tx}->send({ binary => $bytes }) unless $self->{closed};
}

# the next message (after the last one taken) that $pred accepts
sub wait_msg {
    my ($self, $pred, $what, $timeout) = @_;
    my $found;

    Orbis::Stream::wait_until(sub {
        my $m = $self->{msgs};
        for my $i ($self->{cursor} .. $#$m) {
            next unless $pred->($m->[$i]);
            $found = $m->[$i];
            $self->{cursor} = $i + 1;
            return 1;
        }
        croak "closed ($self->{closed}{code}) while waiting for $what"
            if $self->{closed};
        return 0;
    }, $what, $timeout);

    return $found;
}

sub wait_type {
    my ($self, $type, $timeout) = @_;
    return $self->wait_msg(sub { ($_[0]{type} // '') eq $type }, $type,
                           $timeout);
}

sub wait_bytes {
    my ($self, $n, $timeout) = @_;
    Orbis::Stream::wait_until(sub { $self->{bytes} >= $n },
                              "$n bytes of audio", $timeout);
    return $self->{bytes};
}

sub wait_closed {
    my ($self, $timeout) = @_;
    Orbis::Stream::wait_until(sub { $self->{closed} }, 'the close',
                              $timeout);
    return $self->{closed};
}

sub close {
    my ($self, $code) = @_;
    $self->{tx}->finish($code // 1000) if $self->{tx} && !$self->{closed};
    return $self->wait_closed;
}


# ------------------------------------------------------------ raw frames

package Orbis::Stream::Raw;

# A WebSocket client that sends whatever bytes it is told to: for frames
# no library would build (unmasked, reserved bits, bad close codes).

use Carp qw(croak);
use Digest::SHA qw(sha1_base64);
use IO::Select;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);

sub connect {
    my ($class, $t, $acc, %o) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $t->http_port,
                                     Timeout => 5)
        or croak "connect: $!";
    $sock->autoflush(1);

    my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $path = Orbis::Stream::stream_path($acc, %o);
    my $origin = $o{origin} // 'http://app.example';

    print $sock "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n"
        . "Origin: $origin\r\n\r\n" . ($o{early} // '');

    my $self = bless { sock => $sock, buf => '' }, $class;

    my $head = '';
    until ($head =~ /\r\n\r\n/) {
        $self->_read(5) or croak 'no upgrade response';
        $head = $self->{buf};
    }

    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    croak "upgrade refused: $head" unless $status == 101;

    my $expect = sha1_base64($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
                 . '=';
    croak 'bad Sec-WebSocket-Accept'
        unless $head =~ /^Sec-WebSocket-Accept: \Q$expect\E\r$/mi;

    $self->{buf} =~ s/^.*?\r\n\r\n//s;

    return $self;
}

sub _read {
    my ($self, $timeout) = @_;
    my $sel = IO::Select->new($self->{sock});
    return 0 unless $sel->can_read($timeout);
    my $n = sysread $self->{sock}, my $chunk, 65536;
    return 0 unless $n;
    $self->{buf} .= $chunk;
    return 1;
}

sub frame {
    my (%o) = @_;
    my $payload = $o{payload} // '';
    my $len = length $payload;
    my $b0 = (($o{fin} // 1) ? 0x80 : 0) | (($o{rsv} // 0) << 4)
             | ($o{opcode} // 1);
    my $mask = $o{masked} // 1;
    my $h = chr $b0;

    if ($len < 126) {
        $h .= chr(($mask ? 0x80 : 0) | $len);
    } elsif ($len < 65536) {
        $h .= chr(($mask ? 0x80 : 0) | 126) . pack('n', $len);
    } else {
        $h .= chr(($mask ? 0x80 : 0) | 127) . pack('Q>', $len);
    }

    return $h . $payload unless $mask;

    my $key = join '', map { chr int rand 256 } 1 .. 4;
    my $masked = $payload ^ substr($key x (int($len / 4) + 1), 0, $len);
    return $h . $key . $masked;
}

sub send {
    my ($self, @frames) = @_;
    print { $self->{sock} } join '', @frames;
}

sub send_frame {
    my ($self, %o) = @_;
    $self->send(frame(%o));
}

# the server's frames until a close frame or EOF: [[opcode, payload] ...]
sub read_until_close {
    my ($self, $timeout) = @_;
    my @frames;
    my $deadline = Time::HiRes::time() + ($timeout // 10);

    while (1) {
        while (length $self->{buf} >= 2) {
            my ($b0, $b1) = unpack 'CC', $self->{buf};
            my $len = $b1 & 0x7f;
            my $off = 2;
            if ($len == 126) {
                last if length $self->{buf} < 4;
                $len = unpack 'n', substr $self->{buf}, 2, 2;
                $off = 4;
            } elsif ($len == 127) {
                last if length $self->{buf} < 10;
                $len = unpack 'Q>', substr $self->{buf}, 2, 8;
                $off = 10;
            }
            last if length $self->{buf} < $off + $len;
            my $payload = substr $self->{buf}, $off, $len;
            substr($self->{buf}, 0, $off + $len) = '';
            push @frames, [ $b0 & 0x0f, $payload ];
            return \@frames if ($b0 & 0x0f) == 8;
        }
        my $left = $deadline - Time::HiRes::time();
        return \@frames if $left <= 0;
        $self->{eof} = 1, return \@frames unless $self->_read($left);
    }
}

sub close_code {
    my ($frames) = @_;
    my ($close) = grep { $_->[0] == 8 } @$frames;
    return undef unless $close;
    return length $close->[1] >= 2 ? unpack('n', $close->[1]) : 1005;
}

# 1 once the server has closed the TCP connection
sub eof_within {
    my ($self, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while (Time::HiRes::time() < $deadline) {
        my $sel = IO::Select->new($self->{sock});
        next unless $sel->can_read(0.1);
        my $n = sysread $self->{sock}, my $chunk, 65536;
        return 1 if !$n;
    }
    return 0;
}

sub reset {
    my ($self) = @_;
    # SO_LINGER 0: close() sends RST
    setsockopt($self->{sock}, Socket::SOL_SOCKET(), Socket::SO_LINGER(),
               pack('ii', 1, 0));
    close $self->{sock};
}

1;
