# worker_shutdown_timeout during a live call (Gemini bridge, fake server):
# when the timeout fires it reaches the browser's and the upstream's
# connection alike; the call must still end as shutdown with 1001 (not as
# an upstream failure, and without a resumption attempt), be saved once
# with its transcript, and Gemini must get a close frame.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);
use Orbis::Test;
use Orbis::Stream qw(tone settle);
use FakeGemini;

my $ORIGIN = 'http://app.example';
my $MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025';

my $fake = FakeGemini->new(quiet_violations => 1);
my $tmp = tempdir('orbis-gquit-XXXXXX', TMPDIR => 1, CLEANUP => 1);

open my $kf, '>', "$tmp/gemini.key" or die $!;
print $kf $fake->api_key, "\n";
close $kf;

my $url = 'wss://127.0.0.1:' . $fake->ws_port . $fake->ws_path;

my $t = Orbis::Test->new(workers => 1,
    main => 'worker_shutdown_timeout 1s;',
    http => qq{
        orbis_gemini_url $url;
        orbis_gemini_key_file $tmp/gemini.key;
        orbis_gemini_ca_file ${\ $fake->ca_file };
        orbis_gemini_model $MODEL;
    },
    server => q{
        location /stream { orbis_stream; }
    });

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

sub speak {
    my ($ws, $ms) = @_;
    $ws->send_binary(tone(ms => 20)) for 1 .. int($ms / 20);
}

sub saved {
    my ($id) = @_;
    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code, mode, resumptions,
                                  turn_count, swept
                           FROM conversations WHERE id = :'p1'}, $id);
        $row;
    });
    return $row // [];
}

# one call per way in: reload (the new worker goes on) and quit
for my $how (qw(reload quit)) {
    $fake->reset;
    my %seen = map { $_->{id} => 1 } @{ $fake->connections };

    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    my $ready = $ws->wait_type('ready');
    is $ready->{mode}, 'live', "$how: a live call";
    my $id = $ready->{sessionId};
    my $conn = $fake->wait_for_connection(sub {
        !$seen{ $_[0]{id} } && $_[0]{setup_complete_sent} });

    speak($ws, 500);
    $ws->wait_type('turn_complete');

    my $t0 = time;
    if ($how eq 'reload') {
        $t->reload_nginx;
    } else {
        $t->signal_nginx('QUIT');
    }

    my $c = $ws->wait_closed(10);
    my $after = time - $t0;
    is $c->{code}, 1001, "$how: the caller gets 1001";
    ok $after >= 0.9 && $after < 5,
        sprintf("$how: when worker_shutdown_timeout fired (%.2f s)", $after);

    my $row = saved($id);
    is $row->[0], 'shutdown', "$how: saved as shutdown, not upstream_failed";
    is $row->[1], 1001, "$how: with 1001";
    is $row->[2], 'live', "$how: mode live";
    is $row->[3], 0, "$how: no resumption was tried";
    is $row->[4], 2, "$how: with the transcript (user and agent turns)";
    is $row->[5], 'f', "$how: saved by its worker";

    $conn = $fake->wait_for_connection(sub {
        $_[0]{id} == $conn->{id} && $_[0]{state} eq 'closed' });
    like $conn->{close_received} && $conn->{close_received}{code},
        qr/^\d{4}\z/, "$how: Gemini got a close frame, with a code"
        or diag explain $conn->{notes};
    is scalar(grep { !$seen{ $_->{id} } && $_->{id} != $conn->{id} }
              @{ $fake->connections }), 0,
        "$how: no new connection to Gemini from the stopping worker";
    is_deeply $conn->{violations}, [], "$how: no protocol violation";

    if ($how eq 'reload') {
        my $ws2 = Orbis::Stream::Client->connect($t, $acc,
                                                 origin => $ORIGIN);
        my $id2 = $ws2->wait_type('ready')->{sessionId};
        $ws2->close(1000);
        is saved($id2)->[0], 'client_closed',
            'reload: the new worker takes the next call';
    } else {
        ok $t->wait_nginx_exit(10), 'quit: nginx exits';
    }
}

is $t->sql_value(q{SELECT conversations FROM tenant_usage
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 3,
    'three calls counted once each';

$fake->reset;

$t->done;
done_testing;
