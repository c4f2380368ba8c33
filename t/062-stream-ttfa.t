# Time to first audio, measured in the call's core for every transport:
# from the end of the caller's speech to the first byte of the agent's
# audio sent back.  Against the fake Gemini, the value in the call's live
# record (Redis) matches what the caller itself sees, and its p50 and p95
# are there for the analytics.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Mojo::JSON qw(decode_json);
use Time::HiRes ();
use Orbis::Test;
use Orbis::Stream qw(tone silence wait_until);
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

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
my $id = $ws->wait_type('ready')->{sessionId};
$fake->wait_for_connection(sub { $_[0]{setup_complete_sent} });

# 500 ms of speech, the last frame's time noted, then quiet
$ws->send_binary(tone(ms => 20)) for 1 .. 24;
my $before = $ws->bytes;
$ws->send_binary(tone(ms => 20));
my $spoke = Time::HiRes::time();
$ws->send_binary(silence(ms => 20)) for 1 .. 5;

wait_until(sub { $ws->bytes > $before }, "the agent's audio", 20);
my $seen = (Time::HiRes::time() - $spoke) * 1000;
$ws->wait_type('turn_complete');

my $rec;
wait_until(sub {
    my $j = $t->redis('HGET', "session:$id", 'record');
    $rec = $j ? decode_json($j) : undef;
    $rec && @{ $rec->{ttfaMs} // [] };
}, 'the live record with a time to first audio', 10);

is scalar @{ $rec->{ttfaMs} }, 1, 'one agent turn, one value';
my $ttfa = $rec->{ttfaMs}[0];
diag sprintf 'time to first audio: %d ms in the core, %.1f ms at the caller',
    $ttfa, $seen;
ok $ttfa >= 0, "a time ($ttfa ms)";
ok abs($ttfa - $seen) < 100,
    "what the caller sees, give or take the hops ($ttfa vs $seen ms)";
is $rec->{ttfaP50Ms}, $ttfa, 'p50 of one value';
is $rec->{ttfaP95Ms}, $ttfa, 'p95 of one value';

$ws->send_json({ type => 'end' });
is $ws->wait_closed->{code}, 1000, 'closed with 1000';

done_testing;
