# Echo mode end to end: the caller's 16 kHz audio comes back resampled to
# 24 kHz, typed text comes back as an agent transcript, bad messages get
# an error event, and every way a call can end writes it to Postgres
# exactly once (with its transcript and the month's usage) and clears
# its live state in Redis.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;
use Orbis::Stream qw(tone pcm_rms settle);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 2, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

sub call {
    return Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN, @_);
}

sub saved {
    my ($id) = @_;
    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, mode, close_code,
                                  audio_seconds_in, audio_seconds_out,
                                  turn_count, duration_ms, key_id,
                                  agent_name, swept
                           FROM conversations WHERE id = :'p1'}, $id);
        $row;
    });
    return $row;
}

# zero crossings per second of PCM16LE at $rate
sub pitch {
    my ($pcm, $rate) = @_;
    my @s = unpack 's<*', $pcm;
    @s = @s[int(@s / 10) .. int(@s * 9 / 10)];    # away from the edges
    my $x = 0;
    for my $i (1 .. $#s) {
        $x++ if ($s[$i - 1] < 0) != ($s[$i] < 0);
    }
    return $x / 2 / (@s / $rate);
}

# ---- audio and text, then "end"
my $ws = call();
my $ready = $ws->wait_type('ready');
my $id = $ready->{sessionId};
is $ready->{mode}, 'echo', 'echo mode';

my $notice = $ws->wait_type('transcript');
is $notice->{role}, 'agent', 'a transcript from the agent first';
like $notice->{text}, qr/echo mode/i, 'it says this is echo mode';
is_deeply $notice->{final}, Mojo::JSON::true(), 'a final one';

ok $t->wait_for(5, sub { $t->redis('ZSCORE', 'sessions:live', $id) ne '' }),
    'the call is live in Redis';
is $t->redis('HGET', "session:$id", 'tenant'), $acc->{tenant},
    'its hash names the tenant';
is $t->redis('HGET', "session:$id", 'agent'), $acc->{agent},
    'and the agent';
ok $t->redis('TTL', "session:$id") > 0, 'with a TTL';
my $started = $t->redis('HGET', "session:$id", 'started');
ok $started > 1.7e12, "the start time ($started ms)";
ok $t->redis('HGET', "session:$id", 'last') >= $started,
    'the last activity';
like $t->redis('HGET', "session:$id", 'state'), qr/"state":"echo"/,
    'and the live state as JSON';

my $frame = tone(ms => 20, hz => 440);
is length $frame, 640, '20 ms at 16 kHz is 640 bytes';
$ws->send_binary($frame) for 1 .. 50;              # one second

my $got = $ws->wait_bytes(48000 - 480);            # one second at 24 kHz
my $pcm = join '', @{ $ws->binary };
ok abs(length($pcm) - 48000) <= 480,
    'one second in, one second out at 24 kHz (' . length($pcm) . ' bytes)';
ok pcm_rms($pcm) > 3000, 'the tone came back, not silence';
my $hz = pitch($pcm, 24000);
ok abs($hz - 440) < 15, "played at 24 kHz it is still 440 Hz ($hz)";

my $interim = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'transcript'
                                  && $_[0]{role} eq 'user' },
                            'an interim user transcript');
ok !$interim->{final}, 'while the caller speaks: interim user transcripts';
like $interim->{text}, qr/speaking/, 'saying so';

$ws->send_binary(Orbis::Stream::silence(ms => 20)) for 1 .. 30;
my $utt = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'transcript'
                              && $_[0]{role} eq 'user' && $_[0]{final} },
                        'the end of the utterance');
is $utt->{text}, '(echo mode) utterance 1, 1.0 s of speech',
    'half a second of silence ends the utterance: a final user turn';
my $answer = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'transcript'
                                 && $_[0]{role} eq 'agent' },
                           "the echo agent's answer");
is $answer->{text}, 'I heard 1.0 seconds of audio.', 'and an agent answer';
$ws->wait_type('turn_complete');

$ws->send_json({ type => 'text', text => 'hello echo' });
my $tr = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'transcript'
                             && $_[0]{text} eq 'hello echo' }, 'the echo');
is $tr->{role}, 'agent', 'typed text comes back as the agent';
is_deeply $tr->{final}, Mojo::JSON::true(), 'final';

$ws->send_json({ type => 'dance' });
my $err = $ws->wait_type('error');
is $err->{code}, 'bad_message', 'an unknown message: error bad_message';
ok !$ws->closed, 'the call goes on';

$ws->send_text('{"type":"text","text":"second"}');
$ws->wait_msg(sub { ($_[0]{text} // '') eq 'second' }, 'second echo');

$ws->send_json({ type => 'end' });
my $c = $ws->wait_closed;
is $c->{code}, 1000, '"end": closed with 1000';

my $row = saved($id);
is ref $row && scalar @$row, 10, 'the conversation is in Postgres';
my ($reason, $mode, $code, $in, $out, $turns, $dur, $kid, $name, $swept)
    = @$row;
is $reason, 'client_closed', 'end reason client_closed';
is $mode, 'echo', 'mode echo';
is $code, 1000, 'close code 1000';
ok abs($in - 1.6) < 0.01, "1.6 s of audio in, silence included ($in)";
ok abs($out - 1.6) < 0.01, "and as much out ($out)";
is $turns, 4, 'four turns (the utterance, its answer, the typed ones)';
ok $dur > 0, 'a duration';
is $kid, $acc->{key_id}, 'the key is recorded';
is $name, 'Concierge', "the agent's name is kept";
is $swept, 'f', 'written by the worker, not the sweeper';

my @turns = $t->sql(q{SELECT seq, role, text, typed FROM conversation_turns
                      WHERE conversation_id = :'p1' ORDER BY seq}, $id);
is_deeply [ map { [ @$_[1 .. 3] ] } @turns ],
    [ [ 'user', '(echo mode) utterance 1, 1.0 s of speech', 'f' ],
      [ 'agent', 'I heard 1.0 seconds of audio.', 'f' ],
      [ 'user', 'hello echo', 't' ], [ 'user', 'second', 't' ] ],
    'the transcript turns, in order';

is $t->sql_value(q{SELECT conversations FROM tenant_usage
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 1,
    "the month's usage went up by one";

ok $t->wait_for(5, sub {
    $t->redis('ZSCORE', 'sessions:live', $id) eq ''
        && $t->redis('EXISTS', "session:$id") eq '0'
}), 'the live state is gone from Redis';

# ---- an agent with a greeting: shown as its first turn
my $greeter = Orbis::Stream::account($t, origins => [$ORIGIN],
                                     agent => { greeting => 'Welcome!' });
$ws = Orbis::Stream::Client->connect($t, $greeter, origin => $ORIGIN);
$id = $ws->wait_type('ready')->{sessionId};
my $g = $ws->wait_type('transcript');
is_deeply [ @$g{qw(role text)} ], [ 'agent', 'Welcome!' ],
    'the greeting comes first, as the agent';
$ws->close(1000);
saved($id);
is $t->sql_value(q{SELECT text FROM conversation_turns
                   WHERE conversation_id = :'p1' AND seq = 0}, $id),
    'Welcome!', 'and is saved as the first turn';

# ---- a close frame from the client
$ws = call();
$id = $ws->wait_type('ready')->{sessionId};
$ws->send_binary(tone(ms => 100));
$ws->wait_bytes(4800 - 100);
$ws->close(1000);
$row = saved($id);
is $row->[0], 'client_closed', 'a close frame: client_closed';

# ---- the client vanishes: TCP reset, no close frame
my $raw = Orbis::Stream::Raw->connect($t, $acc);
my $frames = $raw->read_until_close(1);
my ($first) = grep { $_->[0] == 1 } @$frames;
my $rid = Mojo::JSON::decode_json($first->[1])->{sessionId};
like $rid, qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/, 'a raw client gets ready too';
$raw->send_frame(opcode => 2, payload => tone(ms => 40));
settle(0.3);
$raw->reset;
$row = saved($rid);
is $row->[0], 'client_vanished', 'a TCP reset: client_vanished';
is $row->[2], 1006, 'recorded as 1006';

# ---- the client's FIN without a close frame
$raw = Orbis::Stream::Raw->connect($t, $acc);
$frames = $raw->read_until_close(1);
($first) = grep { $_->[0] == 1 } @$frames;
$rid = Mojo::JSON::decode_json($first->[1])->{sessionId};
shutdown $raw->{sock}, 1;
$row = saved($rid);
is $row->[0], 'client_vanished', 'a FIN without close: client_vanished';

# ---- frames that came in the same packet as the upgrade request
$raw = Orbis::Stream::Raw->connect($t, $acc, early =>
    Orbis::Stream::Raw::frame(opcode => 1,
        payload => '{"type":"text","text":"early bird"}'));
$frames = $raw->read_until_close(3);
ok grep({ $_->[0] == 1 && $_->[1] =~ /early bird/ } @$frames),
    'bytes sent right behind the request are not lost';
$raw->send_frame(opcode => 8, payload => pack('n', 1000));
$frames = $raw->read_until_close(3);
is Orbis::Stream::Raw::close_code($frames), 1000, 'the close is echoed';
ok $raw->eof_within(3), 'and the server closes TCP';

# ---- exactly once
ok $t->wait_for(5, sub {
    $t->sql_value(q{SELECT count(*) FROM conversations
                    WHERE tenant_id = :'p1'}, $acc->{tenant}) == 5
}), 'five calls, five conversations';
is $t->sql_value(q{SELECT conversations FROM tenant_usage
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 5,
    'and five in the usage';
is $t->redis('ZCARD', 'sessions:live'), 0, 'nothing left live';

$t->done;
done_testing;
