#!/usr/bin/perl

# Self-test of the fake Gemini Live server (t/lib/FakeGemini.pm): drives it
# as a WebSocket client over TLS, verifying its certificate against the
# test CA, the way the nginx module will.
#
#   prove -I t/lib t/fake-gemini-selftest.t

use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;

use FakeGemini;
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use Mojo::IOLoop;
use Mojo::UserAgent;
use Time::HiRes ();

my $MODEL = 'models/gemini-2.5-flash-native-audio-preview-12-2025';
my $JSON  = JSON::PP->new->utf8->canonical;

# The test provokes violations on purpose and checks each in the log, so
# the fake need not also print them.
my $fake = FakeGemini->new(quiet_violations => 1);
my $UA   = Mojo::UserAgent->new(ca => $fake->ca_file,
                                inactivity_timeout => 20);


# --- a small blocking WebSocket client on top of Mojo::UserAgent ------------

{
    package Client;

    use Mojo::IOLoop;
    use Time::HiRes ();

    sub connect {
        my ($class, $url, %o) = @_;

        my $self = bless { msgs => [], frames => [], cursor => 0 }, $class;
        my $ua   = $o{ua} || $UA;

        $ua->websocket($url => ($o{headers} || {}) => sub {
            my (undef, $tx) = @_;

            $self->{handshake} = $tx;

            unless ($tx->is_websocket) {
                $self->{failed} = $tx->res->code // 0;
                $self->{error}  = $tx->error;
                return;
            }

            $self->{tx} = $tx;
            $tx->on(binary => sub { $self->_got('binary', $_[1]) });
            $tx->on(text   => sub { $self->_got('text',   $_[1]) });
            $tx->on(finish => sub {
                $self->{closed} = { code => $_[1], reason => $_[2] // '' };
            });
        });

        main::wait_until(sub { $self->{tx} || defined $self->{failed} },
                         'WebSocket handshake');

        return $self;
    }

    sub _got {
        my ($self, $kind, $bytes) = @_;

        push @{ $self->{frames} }, { kind => $kind, bytes => $bytes };
        push @{ $self->{msgs} },   $JSON->decode($bytes);
    }

    sub send_json {
        my ($self, $data) = @_;

        $self->{tx}->send({ text => $JSON->encode($data) });
    }

    sub send_raw {
        my ($self, $text) = @_;

        $self->{tx}->send({ text => $text });
    }

    # Next message (after the last one taken) for which $pred is true;
    # the skipped ones stay readable through msgs().
    sub wait_msg {
        my ($self, $pred, $what, $timeout) = @_;

        my $found;

        main::wait_until(sub {
            my $m = $self->{msgs};
            for my $i ($self->{cursor} .. $#$m) {
                next unless $pred->($m->[$i]);
                $found = $m->[$i];
                $self->{cursor} = $i + 1;
                return 1;
            }
            return 0;
        }, $what, $timeout);

        return $found;
    }

    sub wait_closed {
        my ($self, $what) = @_;

        main::wait_until(sub { $self->{closed} }, $what // 'close');

        return $self->{closed};
    }

    sub msgs   { $_[0]{msgs} }
    sub frames { $_[0]{frames} }
    sub closed { $_[0]{closed} }
    sub failed { $_[0]{failed} }

    sub close {
        my ($self, $code) = @_;

        $self->{tx}->finish($code // 1000) if $self->{tx} && !$self->{closed};
        $self->wait_closed;
    }
}


sub wait_until {
    my ($cond, $what, $timeout) = @_;

    my $deadline = Time::HiRes::time() + ($timeout // 10);

    # The timer makes one_tick return even when nothing arrives.
    my $tick = Mojo::IOLoop->recurring(0.02 => sub { });

    until ($cond->()) {
        if (Time::HiRes::time() > $deadline) {
            Mojo::IOLoop->remove($tick);
            die "timed out waiting for $what\n";
        }
        Mojo::IOLoop->one_tick;
    }

    Mojo::IOLoop->remove($tick);

    return 1;
}


# Let the loop run for a while (to show that something does NOT happen).
sub settle {
    my ($seconds) = @_;

    my $until = Time::HiRes::time() + $seconds;
    wait_until(sub { Time::HiRes::time() >= $until }, 'settle', $seconds + 1);
}


# --- message builders -------------------------------------------------------

sub setup_msg {
    my (%o) = @_;

    my %setup = (
        model            => $MODEL,
        generationConfig => {
            responseModalities => ['AUDIO'],
            speechConfig       => {
                voiceConfig  => {
                    prebuiltVoiceConfig => { voiceName => 'Kore' } },
                languageCode => 'en-US',
            },
        },
        systemInstruction        => { parts => [{ text => 'Be terse.' }] },
        inputAudioTranscription  => {},
        outputAudioTranscription => {},
        sessionResumption        => {},
        %{ $o{setup} || {} },
    );

    delete @setup{ @{ $o{without} || [] } };

    return { setup => \%setup };
}


# 16 kHz s16le mono; a 300 Hz tone or digital silence.
sub audio_msg {
    my (%o) = @_;

    my $ms      = $o{ms} // 20;
    my $samples = 16 * $ms;
    my $pcm     = $o{silent}
        ? "\0\0" x $samples
        : pack 's<*', map { int(6000 * sin(2 * 3.14159 * 300 * $_ / 16000)) }
                      0 .. $samples - 1;

    return { realtimeInput => { audio => {
        mimeType => $o{mime} // 'audio/pcm;rate=16000',
        data     => $o{data} // encode_base64($pcm, ''),
    } } };
}


sub send_audio {
    my ($client, $ms, %o) = @_;

    $client->send_json(audio_msg(%o)) for 1 .. $ms / 20;
}


sub text_msg {
    my ($text) = @_;

    return { clientContent => {
        turns        => [{ role => 'user', parts => [{ text => $text }] }],
        turnComplete => JSON::PP::true,
    } };
}


sub open_session {
    my (%o) = @_;

    my $c = Client->connect($o{url} // $fake->ws_url, headers => $o{headers});

    $c->send_json(setup_msg(%o));
    $c->wait_msg(sub { exists $_[0]{setupComplete} }, 'setupComplete');

    return $c;
}


sub sc_has {
    my ($field) = @_;

    return sub { exists(($_[0]{serverContent} // {})->{$field}) };
}


sub conn_log {
    return $fake->last_connection;
}


sub expect_close {
    my ($c, $code, $reason, $name) = @_;

    my $cl = $c->wait_closed("close $code");

    is $cl->{code}, $code, "$name: close code $code";
    if (ref $reason) {
        like $cl->{reason}, $reason, "$name: close reason";
    } elsif (defined $reason) {
        is $cl->{reason}, $reason, "$name: close reason";
    }

    return $cl;
}


# --- tests ------------------------------------------------------------------

subtest 'TLS: the certificate only verifies against the test CA' => sub {
    my $plain = Mojo::UserAgent->new(inactivity_timeout => 5);
    my $c     = Client->connect($fake->ws_url, ua => $plain);

    ok !$c->{tx}, 'no WebSocket without the CA';
    like $c->{error}{message} // '', qr/certificate|SSL|verify/i,
        'handshake failed on certificate verification';

    my $ip = Client->connect($fake->ws_url(host => '127.0.0.1'));
    is $ip->{tx} && $ip->{tx}->res->code, 101, 'IP SAN 127.0.0.1 verifies';
    $ip->close;
};


subtest 'happy path: setup, audio in, audio + transcriptions out' => sub {
    $fake->reset;

    my $c = Client->connect($fake->ws_url);
    is $c->{tx} && $c->{tx}->res->code, 101, 'upgraded';

    $c->send_json(setup_msg());
    $c->wait_msg(sub { exists $_[0]{setupComplete} }, 'setupComplete');

    is $c->frames->[0]{kind}, 'binary', 'setupComplete came in a binary frame';
    is $c->frames->[0]{bytes}, qq({\n  "setupComplete": {}\n}\n),
        'setupComplete is pretty-printed like the real service';

    send_audio($c, 500);

    my $done = $c->wait_msg(sc_has('turnComplete'), 'turnComplete');
    my $upd  = $c->wait_msg(sub { $_[0]{sessionResumptionUpdate} },
                            'sessionResumptionUpdate');

    ok $done->{usageMetadata}{totalTokenCount} > 0,
        'turnComplete carries usageMetadata';
    is $upd->{sessionResumptionUpdate}{newHandle}, 'handle-1', 'handle';
    is_deeply $upd->{sessionResumptionUpdate}{resumable}, JSON::PP::true(), 'resumable';

    my @m   = @{ $c->msgs };
    my @sc  = map { $_->{serverContent} // {} } @m;
    my @idx = sub { my $f = shift; grep { exists $sc[$_]{$f} } 0 .. $#sc };
    my ($gen)  = $idx[0]->('generationComplete');
    my ($tc)   = $idx[0]->('turnComplete');
    my @otx    = $idx[0]->('outputTranscription');
    my @audio  = grep { $_->{modelTurn} } @sc;
    my ($itx)  = grep { $_->{inputTranscription} } @sc;

    is $itx->{inputTranscription}{text}, 'hello from the caller',
        'inputTranscription';
    is join('', map { $sc[$_]{outputTranscription}{text} } @otx),
        'Hello, this is the fake Gemini speaking.', 'outputTranscription';
    ok defined $gen && $gen < $tc, 'generationComplete before turnComplete';
    ok $otx[-1] < $gen, 'last outputTranscription before generationComplete';
    is scalar(@audio), 12, '480 ms of audio in 40 ms chunks';

    my $part = $audio[0]{modelTurn}{parts}[0]{inlineData};
    my $pcm  = decode_base64($part->{data});
    is $part->{mimeType}, 'audio/pcm;rate=24000', 'output mime type';
    is length($pcm), 1920, '40 ms of 24 kHz s16le';
    ok((grep { abs($_) > 1000 } unpack 's<*', $pcm), 'audio is a tone');

    is_deeply [grep { $_->{kind} ne 'binary' } @{ $c->frames }], [],
        'every frame is binary';
    is_deeply [grep { $_->{bytes} !~ /\A\{\n  "[^\n]*\n(?:  .*\n)*\}\n\z/ }
               @{ $c->frames }], [], 'every frame is pretty-printed';

    $c->close(1000);

    my $log = $fake->wait_for(sub {
        my $l = $_[0]{connections}[-1];
        $l->{state} eq 'closed' ? $l : undef;
    }, what => 'closed connection');

    is_deeply $log->{violations}, [], 'no violations';
    is $log->{auth}{methods}[0], 'key-query', 'key given in the query';
    is $log->{auth}{value}, $fake->api_key, 'key recorded';
    is $log->{model}, 'gemini-2.5-flash-native-audio-preview-12-2025', 'model';
    is $log->{setup}{systemInstruction}{parts}[0]{text}, 'Be terse.',
        'setup recorded';
    is $log->{audio}{frames}, 25, '25 audio frames';
    is $log->{audio}{bytes}, 16000, '500 ms of 16 kHz audio';
    ok !$log->{audio}{all_silent}, 'audio was not silence';
    is $log->{turns}[0]{trigger}, 'audio', 'turn triggered by audio';
    ok $log->{turns}[0]{completed}, 'turn completed';
    is_deeply $log->{handles_issued}, ['handle-1'], 'handle issued';
    is $log->{close_received}{code}, 1000, 'client close recorded';
};


subtest 'resumption: known handle, no greeting; unknown handle refused' => sub {
    $fake->reset;
    $fake->config(greeting => 1);

    my $c = open_session();
    $c->wait_msg(sc_has('turnComplete'), 'greeting turn');
    my $upd = $c->wait_msg(sub { $_[0]{sessionResumptionUpdate} }, 'handle');
    my $h   = $upd->{sessionResumptionUpdate}{newHandle};
    ok $fake->last_connection->{greeted}, 'fresh session was greeted';
    $c->close;

    # Header key, v1alpha, IP address: the other accepted variants.
    my $url = $fake->ws_url(version => 'v1alpha', key => undef,
                            host => '127.0.0.1');
    my $r = open_session(url => $url,
                         headers => { 'x-goog-api-key' => $fake->api_key },
                         setup => { sessionResumption => { handle => $h } });
    settle(0.4);
    is scalar(grep { $_->{serverContent} } @{ $r->msgs }), 0,
        'resumed session does not greet again';

    my $log = conn_log();
    is $log->{resume_handle}, $h, 'resume handle recorded';
    is $log->{resumed_from_conn}, $fake->connections->[0]{id}, 'issuer';
    is $log->{api_version}, 'v1alpha', 'v1alpha path';
    is_deeply $log->{auth}{methods}, ['key-header'], 'key in the header';
    $r->close;

    my $other = open_session(setup => {
        model             => 'models/gemini-3.1-flash-live-preview',
        sessionResumption => { handle => $h } });
    ok !$other->closed, 'resuming with another model is not refused';
    like conn_log()->{violations}[0], qr/with model gemini-3\.1/,
        'but flagged';
    $other->close;

    my $bad = Client->connect($fake->ws_url);
    $bad->send_json(setup_msg(
        setup => { sessionResumption => { handle => 'forged' } }));
    expect_close($bad, 1007, 'Request contains an invalid argument.',
                 'unknown handle');
    like $fake->last_connection->{violations}[0], qr/never issued/,
        'violation recorded';

    $fake->config(greeting => 0);
};


subtest 'text turn and silent audio' => sub {
    $fake->reset;

    my $c = open_session();
    send_audio($c, 100, silent => 1);
    $c->send_json(text_msg('What time is it?'));
    $c->wait_msg(sc_has('turnComplete'), 'turnComplete');

    ok !(grep { ($_->{serverContent} // {})->{inputTranscription} }
         @{ $c->msgs }), 'typed text is not "transcribed"';
    $c->close;

    my $log = conn_log();
    is $log->{texts}[0]{text}, 'What time is it?', 'text recorded';
    is $log->{turns}[0]{trigger}, 'text', 'text turn';
    ok $log->{audio}{all_silent}, 'silence detected';
    is $log->{audio}{frames}, 5, 'silent frames counted';
    is_deeply $log->{violations}, [], 'no violations';
};


subtest 'client variants: binary frames, snake_case, mediaChunks' => sub {
    $fake->reset;

    my $c = Client->connect($fake->ws_url);
    $c->{tx}->send({ binary => $JSON->encode(setup_msg()) });
    $c->wait_msg(sub { exists $_[0]{setupComplete} }, 'setupComplete');
    $c->close;
    like conn_log()->{violations}[0], qr/binary frame/,
        'binary client frame is flagged';

    $c = Client->connect($fake->ws_url);
    $c->send_raw('{"setup": {"model": "' . $MODEL . '", "generation_config":'
                 . ' {"response_modalities": ["AUDIO"]},'
                 . ' "session_resumption": {}}}');
    $c->wait_msg(sub { exists $_[0]{setupComplete} }, 'setupComplete');
    $c->send_raw('{"realtime_input": {"media_chunks": [{"mime_type":'
                 . ' "audio/pcm;rate=16000", "data": "'
                 . encode_base64("\0\1" x 6400, '') . '"}]}}');
    $c->wait_msg(sc_has('turnComplete'), 'answer to mediaChunks audio');
    $c->close;

    my $log = conn_log();
    is_deeply $log->{violations}, [], 'proto3 JSON spellings are legal';
    like $log->{setup_json}, qr/"generation_config"/, 'raw setup kept';
    ok exists $log->{setup}{generationConfig}, 'setup normalised';
    is_deeply [sort @{ $log->{notes} }],
        ['client used deprecated realtimeInput.mediaChunks',
         'client used snake_case field names'], 'but noted';
    is $log->{audio}{media_chunks_frames}, 1, 'mediaChunks frame counted';
};


subtest 'turn taking: clientContent interrupts, barge-in, manual VAD' => sub {
    $fake->reset;
    $fake->config(reply_ms => 2000, chunk_interval_ms => 20);

    my $c = open_session();
    $c->send_json(text_msg('first'));
    $c->wait_msg(sc_has('modelTurn'), 'first answer starts');
    $c->send_json(text_msg('second'));
    $c->wait_msg(sc_has('interrupted'), 'interrupted by clientContent');
    $c->close;

    my $log = conn_log();
    is $log->{turns}[0]{interrupted_by}, 'clientContent', 'why';
    is $log->{turns}[1]{input_text}, 'second', 'second turn started';

    $fake->config(barge_in_ms => 100);
    $c = open_session();
    send_audio($c, 400);
    $c->wait_msg(sc_has('modelTurn'), 'answer starts');
    send_audio($c, 100, silent => 1);
    settle(0.2);
    ok !(grep { ($_->{serverContent} // {})->{interrupted} } @{ $c->msgs }),
        'silence does not barge in';
    send_audio($c, 100);
    $c->wait_msg(sc_has('interrupted'), 'voiced audio barges in');
    $c->close;

    $fake->config(reply_ms => 80, barge_in_ms => 0, answer_audio => 'voiced');
    $c = open_session();
    send_audio($c, 600, silent => 1);
    settle(0.3);
    ok !(grep { $_->{serverContent} } @{ $c->msgs }),
        'answer_audio=voiced: silence gets no answer';
    $c->send_json({ clientContent => { turns => [
        { role => 'user', parts => [{ text => 'no turnComplete' }] }] } });
    settle(0.2);
    ok !(grep { $_->{serverContent} } @{ $c->msgs }),
        'clientContent without turnComplete gets no answer';
    $c->close;
    like conn_log()->{notes}[0], qr/without turnComplete/, 'noted';

    my $manual = { realtimeInputConfig => {
        automaticActivityDetection => { disabled => JSON::PP::true } } };

    $c = open_session(setup => $manual);
    $c->send_json({ realtimeInput => { activityStart => {} } });
    send_audio($c, 600);
    settle(0.2);
    ok !(grep { $_->{serverContent} } @{ $c->msgs }),
        'manual VAD: no answer before activityEnd';
    $c->send_json({ realtimeInput => { activityEnd => {} } });
    $c->wait_msg(sc_has('turnComplete'), 'answer after activityEnd');
    send_audio($c, 20);
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'manual VAD: audio outside activity');

    $c = open_session();
    $c->send_json({ realtimeInput => { activityStart => {} } });
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'activityStart with automatic VAD');

    $fake->reset;
};


subtest 'half-cascade model answering in TEXT' => sub {
    $fake->reset;

    my $c = open_session(setup => {
        model            => 'models/gemini-2.0-flash-live-001',
        generationConfig => { responseModalities => ['TEXT'] } });
    $c->send_json(text_msg('hi'));
    $c->wait_msg(sc_has('turnComplete'), 'turnComplete');
    $c->close;

    my $text = join '', map { $_->{serverContent}{modelTurn}{parts}[0]{text} }
                        grep { ($_->{serverContent} // {})->{modelTurn} }
                        @{ $c->msgs };
    is $text, 'Hello, this is the fake Gemini speaking.', 'text parts';
};


subtest 'bad first message and malformed input close 1007' => sub {
    $fake->reset;

    my $c = Client->connect($fake->ws_url);
    $c->send_json(audio_msg());
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'realtimeInput first');
    like conn_log()->{violations}[0], qr/first message must be setup/,
        'violation says why';

    $c = Client->connect($fake->ws_url);
    $c->send_raw('{"setup": {"model": ');
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'malformed JSON');

    $c = open_session();
    $c->send_json({ %{ text_msg('x') }, %{ audio_msg() } });
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'two oneof fields');

    $c = open_session();
    $c->send_json({ bogus => {} });
    expect_close($c, 1007,
                 qr/^Invalid JSON payload received\. Unknown name "bogus"/,
                 'unknown top-level field');

    $c = Client->connect($fake->ws_url);
    $c->send_json(setup_msg());
    $c->send_json(audio_msg());
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'audio before setupComplete');
    like conn_log()->{violations}[0], qr/before setupComplete/, 'why';
};


subtest 'setup checks: unknown model 1008, native audio needs AUDIO' => sub {
    $fake->reset;

    my $c = Client->connect($fake->ws_url);
    $c->send_json(setup_msg(setup => { model => 'models/gemini-nope' }));
    my $cl = expect_close($c, 1008, undef, 'unknown model');
    is length($cl->{reason}), 123, 'reason cut to 123 bytes';
    my $want = 'models/gemini-nope is not found for API version v1beta,'
               . ' or is not supported for bidiGenerateContent. Call'
               . ' ListModels to see the list of available models';
    is $cl->{reason}, substr($want, 0, 123), 'not-found text';

    $c = Client->connect($fake->ws_url);
    $c->send_json(setup_msg(setup => { generationConfig => {
        responseModalities => ['TEXT'] } }));
    expect_close($c, 1007, 'Cannot extract voices from a non-audio request.',
                 'native model with TEXT');

    $c = Client->connect($fake->ws_url);
    $c->send_json(setup_msg(setup => { generationConfig => {
        responseModalities => ['AUDIO'],
        speechConfig => { voiceConfig => {
            prebuiltVoiceConfig => { voiceName => 'kore' } } } } }));
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'voice names are case-sensitive');

    $c = Client->connect($fake->ws_url);
    $c->send_json(setup_msg(setup => { systemInstruction => 'Be terse.' }));
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'systemInstruction must be Content');
};


subtest 'audio format checks' => sub {
    $fake->reset;

    my $format = qr/in valid format: 16khz s16le pcm, mono channel\.$/;

    my $c = open_session();
    $c->send_json(audio_msg(mime => 'audio/pcm;rate=8000'));
    expect_close($c, 1007, $format, 'wrong rate');

    $c = open_session();
    $c->send_json(audio_msg(data => encode_base64("\1\2\3", '')));
    expect_close($c, 1007, $format, 'odd byte count');

    $c = open_session();
    $c->send_json(audio_msg(data => 'not base64!'));
    expect_close($c, 1007, $format, 'not base64');
};


subtest 'authentication' => sub {
    $fake->reset;

    my $c = Client->connect($fake->ws_url(key => 'wrong-key'));
    is $c->{tx} && $c->{tx}->res->code, 101, 'a wrong key still gets the upgrade';
    expect_close($c, 1008, 'API key not valid. Please pass a valid API key.',
                 'wrong key');

    $c = Client->connect($fake->ws_url(key => undef));
    expect_close($c, 1008, qr/^Method doesn't allow unregistered callers/,
                 'no key');

    my $t = open_session(url => $fake->ws_url(constrained => 1,
                                              version => 'v1alpha'));
    is $t->{tx} && $t->{tx}->res->code, 101, 'ephemeral token on BidiGenerateContentConstrained';
    is_deeply conn_log()->{auth}{methods}, ['access-token-query'], 'token';
    $t->close;

    $t = open_session(
        url => $fake->ws_url(constrained => 1, access_token => undef),
        headers => { Authorization => 'Token ' . $fake->access_token });
    is $t->{tx} && $t->{tx}->res->code, 101, 'token in the Authorization header';
    $t->close;

    $c = Client->connect($fake->ws_url(constrained => 1,
                                       access_token => 'auth_tokens/nope'));
    expect_close($c, 1008, qr/invalid authentication credentials/,
                 'bad token');
};


subtest 'scripted toolCall waits for the matching toolResponse' => sub {
    $fake->reset;

    $fake->script({ toolCall => { name => 'score_lead',
                                  args => { score => 7, tier => 'warm' } } });

    my $c = open_session();
    send_audio($c, 400);

    my $call = $c->wait_msg(sub { $_[0]{toolCall} }, 'toolCall');
    my $fc   = $call->{toolCall}{functionCalls}[0];

    like $fc->{id}, qr/^function-call-\d+$/, 'id looks like the real ones';
    is $fc->{name}, 'score_lead', 'name';
    is_deeply $fc->{args}, { score => 7, tier => 'warm' }, 'args';

    settle(0.3);
    ok !(grep { ($_->{serverContent} // {})->{modelTurn} } @{ $c->msgs }),
        'the model waits for the toolResponse';

    $c->send_json({ toolResponse => { functionResponses => [{
        id => $fc->{id}, name => 'score_lead',
        response => { result => 'saved' } }] } });

    $c->wait_msg(sc_has('modelTurn'), 'audio after the toolResponse');
    $c->wait_msg(sc_has('turnComplete'), 'turnComplete');

    my $log = conn_log();
    is $log->{tool_responses}[0]{id}, $fc->{id}, 'toolResponse recorded';
    ok $log->{tool_responses}[0]{matched}, 'matched';
    is_deeply $log->{tool_responses}[0]{response}, { result => 'saved' },
        'response payload recorded';
    is $log->{tool_calls}[0]{state}, 'answered', 'call answered';
    is_deeply $log->{violations}, [], 'no violations';

    $c->send_json({ toolResponse => { functionResponses => [{
        id => 'function-call-1', name => 'score_lead', response => {} }] } });
    expect_close($c, 1007, 'Request contains an invalid argument.',
                 'unknown toolResponse id');
};


subtest 'scripted interruption, with cancellation of an open call' => sub {
    $fake->reset;

    $fake->script({ interrupted => JSON::PP::true, afterChunks => 2 });

    my $c = open_session();
    send_audio($c, 400);
    $c->wait_msg(sc_has('interrupted'), 'interrupted');
    $c->wait_msg(sc_has('turnComplete'), 'turnComplete');

    my @sc = map { $_->{serverContent} // {} } @{ $c->msgs };
    is scalar(grep { $_->{modelTurn} } @sc), 2, 'two chunks before it';
    ok !(grep { exists $_->{generationComplete} } @sc),
        'no generationComplete on barge-in';
    ok conn_log()->{turns}[0]{interrupted}, 'logged as interrupted';
    $c->close;

    $fake->script({ toolCall => { name => 'open_gate' } },
                  { interrupted => JSON::PP::true, afterMs => 150 });

    $c = open_session();
    send_audio($c, 400);
    my $call = $c->wait_msg(sub { $_[0]{toolCall} }, 'toolCall');
    my $can  = $c->wait_msg(sub { $_[0]{toolCallCancellation} },
                            'toolCallCancellation');

    is_deeply $can->{toolCallCancellation}{ids},
        [$call->{toolCall}{functionCalls}[0]{id}], 'open call cancelled';

    # Racing the cancellation with a response is fine.
    $c->send_json({ toolResponse => { functionResponses => [{
        id => $call->{toolCall}{functionCalls}[0]{id}, response => {} }] } });
    settle(0.2);
    ok !$c->closed, 'late toolResponse tolerated';
    ok conn_log()->{tool_responses}[0]{late}, 'marked late';
    $c->close;
};


subtest 'scripted goAway, close, dropTcp, refuse' => sub {
    $fake->reset;

    my $c = open_session();
    my $r = $fake->script({ goAway => '5s' });
    is scalar(@{ $r->{executed} }), 1, 'goAway ran on the open session';

    my $ga = $c->wait_msg(sub { $_[0]{goAway} }, 'goAway');
    is $ga->{goAway}{timeLeft}, '5s', 'timeLeft';
    expect_close($c, 1011, 'Deadline expired before operation could complete.',
                 'after goAway');
    ok conn_log()->{close_sent}{scripted}, 'scripted close recorded';

    $c = open_session();
    $fake->script({ close => 1011 });
    expect_close($c, 1011, 'Internal error encountered.', 'scripted close');

    $c = open_session();
    $fake->script({ dropTcp => JSON::PP::true });
    expect_close($c, 1006, undef, 'dropped TCP');

    $fake->script({ refuse => 1 });
    $c = Client->connect($fake->ws_url);
    is $c->failed, 503, 'upgrade refused with 503';
    $c = open_session();
    is $c->{tx} && $c->{tx}->res->code, 101, 'next connection accepted again';
    $c->close;

    # Queued for the next session, run right after its setupComplete.
    $fake->script({ close => 1008, when => 'setup' });
    $c = open_session();
    expect_close($c, 1008, qr/not implemented/, 'close at setup');

    my $log = $fake->log;
    is scalar(@{ $log->{refused} }), 1, 'refusal logged';
    is_deeply $log->{violations}, [], 'scripted failures are not violations';
};


subtest 'control endpoint rejects bad scripts; unknown paths are violations'
    => sub {
    $fake->reset;

    ok !eval { $fake->script({ explode => 1 }); 1 }, 'unknown action';
    like $@, qr/400/, 'HTTP 400';
    ok !eval { $fake->script({ goAway => 'soon' }); 1 }, 'bad duration';
    ok !eval { $fake->config(nonsense => 1); 1 }, 'unknown config key';

    my $c = Client->connect('wss://localhost:' . $fake->ws_port
                            . '/ws/google.ai.generativelanguage.v1beta.'
                            . 'GenerativeService.BidiGenerateContentX?key=k');
    is $c->failed, 404, 'unknown method is 404';
    like $fake->violations->[0]{msg}, qr/unknown endpoint/, 'violation';
};


subtest 'stop kills the process' => sub {
    my $other = FakeGemini->new(ca_dir => $fake->ca_dir);
    my $pid   = $other->pid;

    ok kill(0, $pid), 'second fake running';
    is $other->ca_file, $fake->ca_file, 'CA shared through ca_dir';
    undef $other;
    ok !kill(0, $pid), 'gone after DESTROY';
};

done_testing;
