# Time to first audio, measured in the call's core for every transport:
# from the end of the caller's speech to the first byte of the agent's
# audio sent back.  Against the fake Gemini, the value in the call's live
# record (Redis) matches what the caller itself sees, and its p50 and p95
# are there for the analytics; once the call ends they are saved with the
# conversation and the API shows them.  The fake answers once it has
# 600 ms of audio: 500 ms of speech, then a known pause, then 100 ms of
# silence, so the answer comes the pause after the speech ended.
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

my $fake = FakeGemini->new(quiet_violations => 1, answer_after_ms => 600);
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

# 500 ms of speech, the last frame's time noted, a pause of $pause ms,
# then 100 ms of quiet: the fake answers with the last of it
sub one_turn {
    my ($pause) = @_;

    $ws->send_binary(tone(ms => 20)) for 1 .. 24;
    my $before = $ws->bytes;
    my $turns = grep { ($_->{type} // '') eq 'turn_complete' } @{ $ws->msgs };
    $ws->send_binary(tone(ms => 20));
    my $spoke = Time::HiRes::time();
    Orbis::Stream::settle($pause / 1000);
    is $ws->bytes, $before, "no answer during the pause of $pause ms";
    $ws->send_binary(silence(ms => 20)) for 1 .. 5;

    wait_until(sub { $ws->bytes > $before }, "the agent's audio", 20);
    my $seen = (Time::HiRes::time() - $spoke) * 1000;
    wait_until(sub {
        $turns < grep { ($_->{type} // '') eq 'turn_complete' } @{ $ws->msgs }
    }, 'turn_complete', 20);

    return $seen;
}

my @pause = (300, 600);
my @seen = map { one_turn($_) } @pause;

my $rec;
wait_until(sub {
    my $j = $t->redis('HGET', "session:$id", 'record');
    $rec = $j ? decode_json($j) : undef;
    $rec && @{ $rec->{ttfaMs} // [] } == 2;
}, 'the live record with two times to first audio', 10);

is scalar @{ $rec->{ttfaMs} }, 2, 'two agent turns, two values';
for my $i (0, 1) {
    my $ttfa = $rec->{ttfaMs}[$i];
    diag sprintf 'turn %d: time to first audio %d ms in the core, '
                 . '%.1f ms at the caller, after a pause of %d ms',
        $i + 1, $ttfa, $seen[$i], $pause[$i];
    ok $ttfa >= $pause[$i] - 50 && $ttfa < $pause[$i] + 200,
        "turn @{[ $i + 1 ]}: about the pause ($ttfa vs $pause[$i] ms)";
    ok abs($ttfa - $seen[$i]) < 100,
        "turn @{[ $i + 1 ]}: what the caller sees, give or take the hops "
        . "($ttfa vs $seen[$i] ms)";
}
is $rec->{ttfaP50Ms}, $rec->{ttfaMs}[0], 'p50 of two: the shorter';
is $rec->{ttfaP95Ms}, $rec->{ttfaMs}[1], 'p95 of two: the longer';

$ws->send_json({ type => 'end' });
is $ws->wait_closed->{code}, 1000, 'closed with 1000';

# ---- saved with the conversation, shown by the API
ok $t->wait_for(10, sub {
    $t->sql_value(q{SELECT count(*) FROM conversations WHERE id = :'p1'},
                  $id) == 1
}), 'the call is saved';

my $res = Orbis::Stream::api($t, $acc, GET => "/api/conversations/$id");
is $res->code, 200, 'detail: 200';
my $conv = $res->json;
is_deeply $conv->{ttfaMs}, $rec->{ttfaMs}, 'detail: the per-turn times';
for ([ ttfaP50Ms => 0 ], [ ttfaP95Ms => 1 ]) {
    my ($k, $i) = @$_;
    my $v = $conv->{$k};
    ok defined $v, "detail: $k is there";
    is $v, $rec->{ttfaMs}[$i], "detail: $k as the core measured it";
    ok defined $v && $v >= $pause[$i] - 50 && $v < $pause[$i] + 200
       && abs($v - $seen[$i]) < 100,
        sprintf 'detail: %s %s ms is what the caller saw (%.1f ms) after '
                . 'a pause of %d ms', $k, $v // 'null', $seen[$i],
                $pause[$i];
}

$res = Orbis::Stream::api($t, $acc, GET => '/api/conversations');
is $res->code, 200, 'list: 200';
my ($item) = grep { $_->{id} eq $id } @{ $res->json->{items} };
ok $item, 'the call is listed';
is $item->{ttfaP50Ms}, $conv->{ttfaP50Ms}, 'list: ttfaP50Ms';
is $item->{ttfaP95Ms}, $conv->{ttfaP95Ms}, 'list: ttfaP95Ms';
ok !exists $item->{ttfaMs}, 'list: not the per-turn times';

is $t->sql_value(q{SELECT array_to_string(ttfa_ms, ',') || '/'
                          || ttfa_p50_ms || '/' || ttfa_p95_ms
                     FROM conversations WHERE id = :'p1'}, $id),
   join(',', @{ $rec->{ttfaMs} }) . "/$rec->{ttfaMs}[0]/$rec->{ttfaMs}[1]",
   'the columns';

# ---- a final record replacing a swept one brings its times along
my $other = '0a0a0a0a-0000-4000-8000-000000000001';
sub save {
    my (%o) = @_;
    my $r = { id => $other, tenantId => $acc->{tenant},
              agentId => $acc->{agent}, keyId => undef, mode => 'live',
              model => $MODEL, startedMs => 1_765_000_000_000,
              endedMs => 1_765_000_060_000, durationMs => 60_000,
              endReason => 'error', closeCode => 1006,
              audioSecondsIn => 1, audioSecondsOut => 1, resumptions => 0,
              promptTokens => 0, responseTokens => 0, totalTokens => 0,
              turnCount => 0, transcriptTruncated => Mojo::JSON::false,
              source => 'worker', attempts => 1, usageMonth => '2025-12-01',
              turns => [], toolCalls => [], %o };
    return $t->sql_value(q{SELECT orbis_save_conversation(:'p1'::jsonb)},
                         Mojo::JSON::encode_json($r));
}
is save(swept => Mojo::JSON::true, source => 'sweeper',
        ttfaMs => undef, ttfaP50Ms => undef, ttfaP95Ms => undef),
   'inserted', 'a swept record without times: inserted';
is $t->sql_value(q{SELECT count(*) FROM conversations WHERE id = :'p1'
                   AND ttfa_ms IS NULL AND ttfa_p50_ms IS NULL
                   AND ttfa_p95_ms IS NULL}, $other), 1, 'with NULLs';
is save(swept => Mojo::JSON::false, endReason => 'client_closed',
        closeCode => 1000, ttfaMs => [250, 120, 900],
        ttfaP50Ms => 250, ttfaP95Ms => 900),
   'replaced', 'the final record: replaced';
is $t->sql_value(q{SELECT array_to_string(ttfa_ms, ',') || '/'
                          || ttfa_p50_ms || '/' || ttfa_p95_ms
                     FROM conversations WHERE id = :'p1'}, $other),
   '250,120,900/250/900', 'now with its times, in order';
is save(swept => Mojo::JSON::true, source => 'sweeper',
        ttfaMs => undef, ttfaP50Ms => undef, ttfaP95Ms => undef),
   'kept', 'a late swept copy changes nothing';
is $t->sql_value(q{SELECT ttfa_p95_ms FROM conversations
                   WHERE id = :'p1'}, $other), 900, 'the times stay';

$t->done;
done_testing;
