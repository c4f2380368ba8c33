# Barge-in in a real browser: the widget on a second origin talks through
# /stream to the fake Gemini Live model (TLS, test CA); the fake is
# scripted to interrupt a long answer, and the widget's playback queue must
# empty at once (t/browser/interrupt.mjs).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;
use FakeGemini;
use File::Temp ();
use JSON::PP ();

my $root = $Orbis::Test::ROOT;

# answers 8 s long, streamed at 4x real time; interrupted 60 chunks in
my $fake = FakeGemini->new(answer_after_ms => 300, reply_ms => 8000,
                           answer_audio => 'any', quiet_violations => 1);
$fake->script({ interrupted => JSON::PP::true(), afterChunks => 60 });

my $site_port = Orbis::Test::free_port();
my $dir = File::Temp::tempdir('orbis-int-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $kf, '>', "$dir/gemini.key" or die $!;
print $kf $fake->api_key;
close $kf;

my $t = Orbis::Test->new(http => qq{
    orbis_gemini_url wss://127.0.0.1:@{[ $fake->ws_port ]}@{[ $fake->ws_path ]};
    orbis_gemini_key_file $dir/gemini.key;
    orbis_gemini_ca_file @{[ $fake->ca_file ]};
    server {
        listen 127.0.0.1:$site_port;
        root $root/t/browser/site;
        # the browser asks the embedding site for a favicon it has none of
        log_not_found off;
    }
}, server => qq{
    location /stream { orbis_stream; }
    location = /widget.js { alias $root/widget/widget.js; }
});

my $site = "http://127.0.0.1:$site_port";
my $s = $t->signup;
my $agent = $t->post('/api/agents', headers => $s->{auth}, json => {
    name => 'Barge-in', systemPrompt => 'Talk for a long time.',
    voice => 'Kore' })->json;
my $key = $t->post('/api/api-keys', headers => $s->{auth}, json => {
    name => 'site', kind => 'publishable', allowedOrigins => [$site] })->json;
like $agent->{id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/, 'an agent for the site';
like $key->{key}, qr/^pk_[A-Za-z0-9_-]{32}\z/, 'and a publishable key';

my $art = $ENV{ORBIS_ARTIFACTS} // "$root/t/artifacts/browser";
system('mkdir', '-p', $art);
my $wav = "$dir/mic.wav";
system("espeak-ng -w $dir/raw.wav 'Hello, tell me everything about your"
       . " opening hours please.' && sox $dir/raw.wav -r 48000 -c 1 -b 16"
       . " $wav pad 0.2 0.5") == 0 or BAIL_OUT('cannot make the fake mic');

local $ENV{ORBIS_URL} = $t->url('');
local $ENV{ORBIS_SITE_URL} = $site;
local $ENV{ORBIS_AGENT} = $agent->{id};
local $ENV{ORBIS_KEY} = $key->{key};
local $ENV{ORBIS_FAKE_WAV} = $wav;
local $ENV{ORBIS_ARTIFACTS} = $art;

open my $run, '-|', 'node', "$root/t/browser/interrupt.mjs" or die $!;
while (my $line = <$run>) {
    chomp $line;
    if ($line =~ /^(not )?ok\b\s*\d*\s*-?\s*(.*)$/) {
        ok !$1, "browser: $2";
    } elsif ($line =~ /^#/) {
        diag $line;
    }
}
close $run;
is $? >> 8, 0, 'the browser run finished cleanly';

my $conn = $fake->last_connection;
ok $conn && (grep { $_->{interrupted} } @{ $conn->{turns} || [] }),
    'the fake model did interrupt a turn'
    or diag explain $conn->{turns};
is_deeply $fake->violations, [], 'the model saw no protocol violation';

$t->done;
done_testing;
