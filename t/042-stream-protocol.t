# RFC 6455 on /stream with a client that sends whatever bytes it is told:
# each malformed frame is answered with the right close code and the call
# is recorded as a protocol end, while another call on the same worker
# carries on undisturbed.  Also: fragmentation, ping/pong, repeated bad
# messages (1008).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json);
use Orbis::Test;
use Orbis::Stream qw(tone settle);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, server => q{
    location /stream { orbis_stream; orbis_stream_max_message 64k; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

# the bystander: a call that streams audio through the whole test
my $by = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
my $by_id = $by->wait_type('ready')->{sessionId};
my $sent = 0;
my $pump = Mojo::IOLoop->recurring(0.02 => sub {
    $by->send_binary(tone(ms => 20));
    $sent += 640;
});

sub raw {
    my $raw = Orbis::Stream::Raw->connect($t, $acc, @_);
    my $frames = $raw->read_until_close(0.5);
    my ($ready) = grep { $_->[0] == 1 && $_->[1] =~ /"ready"/ } @$frames;
    $raw->{id} = decode_json($ready->[1])->{sessionId};
    return $raw;
}

sub reason_of {
    my ($id) = @_;
    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code FROM conversations
                           WHERE id = :'p1'}, $id);
        $row;
    });
    return $row // [];
}

sub refused_with {
    my ($name, $code, @frames) = @_;
    my $raw = raw();
    $raw->send(@frames);
    my $got = $raw->read_until_close(5);
    is Orbis::Stream::Raw::close_code($got), $code, "$name: close $code";
    ok $raw->eof_within(5), "$name: then the server closes TCP";
    is_deeply reason_of($raw->{id}), [ 'client_protocol', $code ],
        "$name: recorded as client_protocol with $code";
    settle(0.1);
}

my $F = \&Orbis::Stream::Raw::frame;

refused_with('an unmasked frame', 1002,
             $F->(opcode => 2, payload => tone(ms => 20), masked => 0));
refused_with('a reserved bit', 1002,
             $F->(opcode => 1, payload => '{"type":"end"}', rsv => 4));
refused_with('an unknown opcode', 1002, $F->(opcode => 3, payload => 'x'));
refused_with('text that is not UTF-8', 1007,
             $F->(opcode => 1, payload => "{\"type\":\"text\",\"text\":\"\xff\xfe\"}"));
refused_with('a message over orbis_stream_max_message', 1009,
             $F->(opcode => 2, payload => "\0" x (70 * 1024)));
refused_with('a message over the limit in fragments', 1009,
             $F->(opcode => 2, fin => 0, payload => "\0" x (40 * 1024)),
             $F->(opcode => 0, fin => 1, payload => "\0" x (40 * 1024)));
refused_with('close code 1005 (never sent)', 1002,
             $F->(opcode => 8, payload => pack('n', 1005)));
refused_with('close code 999', 1002, $F->(opcode => 8, payload => pack('n', 999)));
refused_with('a close reason that is not UTF-8', 1007,
             $F->(opcode => 8, payload => pack('n', 1000) . "\xc3\x28"));
refused_with('a fragmented ping', 1002,
             $F->(opcode => 9, fin => 0, payload => 'p'));
refused_with('a continuation with nothing to continue', 1002,
             $F->(opcode => 0, payload => 'x'));

# ---- what is allowed
my $raw = raw();
$raw->send($F->(opcode => 9, payload => 'are you there'));
my $got = $raw->read_until_close(1);
ok grep({ $_->[0] == 10 && $_->[1] eq 'are you there' } @$got),
    'a ping is answered with a pong carrying its payload';

$raw->send($F->(opcode => 1, fin => 0, payload => '{"type":"text",'),
           $F->(opcode => 9, payload => 'mid'),
           $F->(opcode => 0, fin => 0, payload => '"text":"in '),
           $F->(opcode => 0, fin => 1, payload => 'pieces"}'));
$got = $raw->read_until_close(1);
ok grep({ $_->[0] == 1 && $_->[1] =~ /"text":"in pieces"/ } @$got),
    'a fragmented message (with a ping between) is put together';

$raw->send($F->(opcode => 8, payload => pack('n', 1000) . 'bye'));
$got = $raw->read_until_close(3);
is Orbis::Stream::Raw::close_code($got), 1000, 'a good close is echoed';
is_deeply reason_of($raw->{id}), [ 'client_closed', 1000 ],
    'and recorded as client_closed';

# ---- messages that are well-framed but not our protocol
$raw = raw();
$raw->send($F->(opcode => 1, payload => 'not json')) for 1 .. 4;
$got = $raw->read_until_close(1);
is scalar(grep { $_->[0] == 1 && $_->[1] =~ /"bad_message"/ } @$got), 4,
    'each bad message gets an error event';
$raw->send($F->(opcode => 2, payload => "\0\0\0"));
$got = $raw->read_until_close(3);
is Orbis::Stream::Raw::close_code($got), 1008,
    'the fifth (odd-length audio) closes with 1008';
is_deeply reason_of($raw->{id}), [ 'client_protocol', 1008 ],
    'recorded as client_protocol';

# ---- the bystander never noticed
Mojo::IOLoop->remove($pump);
my $want = int($sent * 1.5);
$by->wait_bytes($want - 960);
ok !$by->closed, 'the other call is still open';
ok !grep({ ($_->{type} // '') eq 'error' } @{ $by->msgs }),
    'and saw no error';
ok abs($by->bytes - $want) <= 960,
    "and got all its audio back ($by->{bytes} of $want bytes)";
$by->close(1000);
is_deeply reason_of($by_id), [ 'client_closed', 1000 ],
    'and ended normally';

$t->done;
done_testing;
