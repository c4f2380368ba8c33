# The Gemini Live bridge against the fake server (t/lib/FakeGemini.pm,
# TLS with a CA made for the test, so the certificate and host checks
# really run): setup, audio both ways, transcripts, a tool call round
# trip, barge-in, goAway with resumption that the caller does not
# notice, and an upstream that refuses (4004, the call still saved).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Mojo::IOLoop;
use Orbis::Test;
use Orbis::Stream qw(tone settle wait_until);
use FakeGemini;

my $ORIGIN = 'http://app.example';
my $MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025';

my $fake = FakeGemini->new(quiet_violations => 1);
my $tmp = tempdir('orbis-gemini-XXXXXX', TMPDIR => 1, CLEANUP => 1);

open my $kf, '>', "$tmp/gemini.key" or die $!;
print $kf $fake->api_key, "\n";
close $kf;

my $url = 'wss://127.0.0.1:' . $fake->ws_port . $fake->ws_path;

my $t = Orbis::Test->new(workers => 1, http => qq{
    orbis_gemini_url $url;
    orbis_gemini_key_file $tmp/gemini.key;
    orbis_gemini_ca_file ${\ $fake->ca_file };
    orbis_gemini_model $MODEL;
}, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN], agent => {
    prompt => 'You qualify leads for Acme.', voice => 'Puck',
    tools => ['score_lead'] });

sub call {
    return Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN, @_);
}

sub saved {
    my ($id) = @_;
    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code, mode, model,
                                  resumptions, audio_seconds_out, turn_count
                           FROM conversations WHERE id = :'p1'}, $id);
        $row;
    });
    return $row // [];
}

sub turns_of {
    my ($id) = @_;
    return [ map { [ $_->[0], $_->[1], $_->[2] ] } $t->sql(
        q{SELECT role, text, interrupted FROM conversation_turns
          WHERE conversation_id = :'p1' ORDER BY seq}, $id) ];
}

sub speak {
    my ($ws, $ms) = @_;
    $ws->send_binary(tone(ms => 20)) for 1 .. int($ms / 20);
}

# ---- the happy path
my $ws = call();
my $ready = $ws->wait_type('ready');
is $ready->{mode}, 'live', 'with a key: live mode';
is $ready->{outputRate}, 24000, 'output at 24 kHz';
my $id = $ready->{sessionId};

my $conn = $fake->wait_for_connection(sub { $_[0]{setup_complete_sent} });
my $setup = $conn->{setup};
is $setup->{model}, "models/$MODEL", 'setup names the configured model';
is $setup->{systemInstruction}{parts}[0]{text}, 'You qualify leads for Acme.',
    "the agent's prompt";
is $setup->{generationConfig}{speechConfig}{voiceConfig}
          {prebuiltVoiceConfig}{voiceName}, 'Puck', "the agent's voice";
is_deeply $setup->{generationConfig}{responseModalities}, ['AUDIO'],
    'audio answers';
ok exists $setup->{inputAudioTranscription}
   && exists $setup->{outputAudioTranscription}, 'both transcriptions on';
ok exists $setup->{sessionResumption}, 'session resumption on';
is $setup->{tools}[0]{functionDeclarations}[0]{name}, 'score_lead',
    "the agent's tool is declared";
is_deeply $conn->{auth}{methods}, ['key-header'],
    'the key goes in x-goog-api-key, not the URL';

speak($ws, 500);
my $user = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'transcript'
                               && $_[0]{role} eq 'user' && $_[0]{final} },
                         'the user transcript');
is $user->{text}, 'hello from the caller', "the caller's words, final";
my $agent = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'transcript'
                                && $_[0]{role} eq 'agent' && $_[0]{final} },
                          'the agent transcript');
is $agent->{text}, 'Hello, this is the fake Gemini speaking.',
    "the agent's words, final";
$ws->wait_type('turn_complete');
ok $ws->bytes >= 480 * 48, 'the answer audio arrived (' . $ws->bytes
   . ' bytes, 480 ms at 24 kHz)';

$ws->send_json({ type => 'end' });
is $ws->wait_closed->{code}, 1000, 'the caller hangs up: 1000';

my $row = saved($id);
is $row->[0], 'client_closed', 'saved: client_closed';
is $row->[2], 'live', 'mode live';
is $row->[3], $MODEL, 'the model';
is $row->[4], 0, 'no resumptions';
ok abs($row->[5] - 0.48) < 0.05, "audio out recorded ($row->[5] s)";
is_deeply turns_of($id),
    [ [ 'user', 'hello from the caller', 'f' ],
      [ 'agent', 'Hello, this is the fake Gemini speaking.', 'f' ] ],
    'the transcript is saved';

$conn = $fake->wait_for_connection(sub {
    $_[0]{id} == $conn->{id} && $_[0]{state} eq 'closed' });
is_deeply $conn->{violations}, [], 'the fake saw no protocol violation';

# ---- a tool call round trip
$fake->reset;
$fake->script({ toolCall => { name => 'score_lead', args => {
    name => 'Ada', email => 'ada@example.com', budget => 50000,
    timeline => 'this month', decisionMaker => JSON::PP::true() } } });

$ws = call();
$id = $ws->wait_type('ready')->{sessionId};
$fake->wait_for_connection(sub { $_[0]{setup_complete_sent} });
speak($ws, 500);

my $started = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'tool' },
                            'the tool event');
is $started->{name}, 'score_lead', 'the client hears of the tool';
is $started->{status}, 'started', 'started';
my $done = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'tool' }, 'its end');
is $done->{status}, 'ok', 'then ok';
$ws->wait_type('turn_complete');

$conn = $fake->wait_for_connection(sub { @{ $_[0]{tool_responses} } });
my $call = $conn->{tool_calls}[0];
my $resp = $conn->{tool_responses}[0];
is $resp->{id}, $call->{id}, 'the toolResponse carries the call id';
is_deeply $resp->{matched}, JSON::PP::true(), 'and matches the open call';
is $resp->{response}{score}, 68, "with the tool's score (email 8, name 2, "
   . "budget 25, this month 18, decision maker 15)";

$ws->close(1000);
saved($id);
my ($tc) = $t->sql(q{SELECT name, status, call_id, result->>'score'
                     FROM conversation_tool_calls
                     WHERE conversation_id = :'p1'}, $id);
is_deeply [ @$tc[0 .. 2] ], [ 'score_lead', 'ok', $call->{id} ],
    'the tool call is saved with its id';
is $tc->[3], $resp->{response}{score}, 'and its result';

# ---- a tool that makes audio: DTMF digits at the call's 24 kHz
$fake->reset;
my $dialer = Orbis::Stream::account($t, origins => [$ORIGIN], agent => {
    tools => ['generate_tone'] });
$fake->script({ toolCall => { name => 'generate_tone',
                              args => { digits => '123' } } });

$ws = Orbis::Stream::Client->connect($t, $dialer, origin => $ORIGIN);
$id = $ws->wait_type('ready')->{sessionId};
$fake->wait_for_connection(sub { $_[0]{setup_complete_sent} });
speak($ws, 500);
$started = $ws->wait_msg(sub { ($_[0]{type} // '') eq 'tool' }, 'the tool');
is $started->{name}, 'generate_tone', 'generate_tone runs';
is $started->{_bytes_before}, (3 * 100 + 2 * 60) * 48,
    'its tones reach the caller first: 3 x 100 ms and 2 gaps at 24 kHz';
ok Orbis::Stream::pcm_rms(join '', @{ $ws->binary }) > 1000,
    'and they are not silence';
is $ws->wait_msg(sub { ($_[0]{type} // '') eq 'tool' }, 'its end')->{status},
    'ok', 'the tool ends ok';
$conn = $fake->wait_for_connection(sub { @{ $_[0]{tool_responses} } });
ok $conn->{tool_responses}[0]{matched}, 'and Gemini got its answer';
$ws->close(1000);
saved($id);

# ---- barge-in
$fake->reset;
$fake->script({ interrupted => JSON::PP::true(), afterChunks => 2 });

$ws = call();
$id = $ws->wait_type('ready')->{sessionId};
$fake->wait_for_connection(sub { $_[0]{setup_complete_sent} });
speak($ws, 500);
$ws->wait_type('interrupted');
pass 'interrupted is forwarded, so the client can drop its queued audio';
$ws->wait_type('turn_complete');
$ws->close(1000);
saved($id);
my ($last) = grep { $_->[0] eq 'agent' } @{ turns_of($id) };
is $last->[2], 't', 'the cut agent turn is marked interrupted';

# ---- goAway: a new connection resumed with the latest handle
$fake->reset;

$ws = call();
$id = $ws->wait_type('ready')->{sessionId};
my $first = $fake->wait_for_connection(sub { $_[0]{setup_complete_sent} });
speak($ws, 500);
$ws->wait_type('turn_complete');

$fake->wait_for_connection(sub { $_[0]{id} == $first->{id}
                                 && @{ $_[0]{handles_issued} } });
$fake->script({ goAway => '5s', closeAfterMs => 2000, closeCode => 1011,
                conn => $first->{id} });

my $second = $fake->wait_for_connection(sub {
    $_[0]{id} != $first->{id} && $_[0]{setup_complete_sent} });
$first = $fake->connection($first->{id});
is $second->{resume_handle}, $first->{handles_issued}[-1],
    'the new connection resumes with the latest handle';
is $second->{resumed_from_conn}, $first->{id}, 'of the first connection';
ok !$second->{greeted}, 'and gets no new greeting';

my $bytes = $ws->bytes;
speak($ws, 500);
$ws->wait_type('turn_complete');
ok $ws->bytes > $bytes, 'the call goes on over the new connection';
ok !$ws->closed, 'the caller saw no break';
ok !grep({ ($_->{type} // '') =~ /^(error|ready)$/ }
         @{ $ws->msgs }[1 .. $#{ $ws->msgs }]),
    'no error and no second ready';

$ws->close(1000);
$row = saved($id);
is $row->[4], 1, 'one resumption is recorded';
is $row->[0], 'client_closed', 'and the call ended normally';

# ---- the upstream connection drops (no close frame): resumed too
$fake->reset;

$ws = call();
$id = $ws->wait_type('ready')->{sessionId};
$first = $fake->wait_for_connection(sub { $_[0]{setup_complete_sent} });
speak($ws, 500);
$ws->wait_type('turn_complete');
$fake->wait_for_connection(sub { $_[0]{id} == $first->{id}
                                 && @{ $_[0]{handles_issued} } });
$fake->script({ dropTcp => JSON::PP::true(), conn => $first->{id} });
$second = $fake->wait_for_connection(sub {
    $_[0]{id} != $first->{id} && $_[0]{setup_complete_sent} });
my ($issued) = grep { $_->{id} == $first->{id} } @{ $fake->connections };
ok((grep { $_ eq ($second->{resume_handle} // '') }
         @{ $issued->{handles_issued} }),
   'a dropped connection is resumed as well, with a handle it was issued');
$bytes = $ws->bytes;
speak($ws, 500);
$ws->wait_type('turn_complete');
ok $ws->bytes > $bytes && !$ws->closed, 'and the call goes on';
$ws->close(1000);
is saved($id)->[4], 1, 'one resumption is recorded';

# ---- the model refuses: 4004, the call is still saved
$fake->reset;
$fake->script({ refuse => 10, status => 503 });
$t->expect_error_log(qr/orbis gemini: 127\.0\.0\.1:\d+ refused the WebSocket upgrade with HTTP 503/);

$ws = call();
$id = $ws->wait_type('ready')->{sessionId};
speak($ws, 100);
my $c = $ws->wait_closed(30);
is $c->{code}, 4004, 'an upstream that keeps refusing: 4004';
$row = saved($id);
is $row->[0], 'upstream_failed', 'saved as upstream_failed';
is $row->[1], 4004, 'with 4004';

# ---- a fatal close (bad key): no retry, 4004 at once
$fake->reset;
$fake->config(api_key => 'some-other-key');
$ws = call();
$id = $ws->wait_type('ready')->{sessionId};
$c = $ws->wait_closed(15);
is $c->{code}, 4004, 'a refused key: 4004';
is saved($id)->[0], 'upstream_failed', 'saved as upstream_failed';
is scalar(grep { $_->{auth} && !$_->{auth}{ok} } @{ $fake->connections }),
    1, 'a 1008 close is not retried';

$fake->reset;

$t->done;
done_testing;
