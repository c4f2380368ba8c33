# toolCallCancellation that names nothing to cancel, against the fake
# Gemini: (a) an id whose call was already answered, (b) an id that was
# never called.  Both are ignored: no second toolResponse reaches Gemini,
# the caller sees no error, no extra tool event, and the call goes on; the
# saved tool call keeps its status.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Orbis::Test;
use Orbis::Stream qw(tone settle);
use FakeGemini;

my $ORIGIN = 'http://app.example';
my $MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025';

my $fake = FakeGemini->new(quiet_violations => 1);
my $tmp = tempdir('orbis-cancel-XXXXXX', TMPDIR => 1, CLEANUP => 1);

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
    tools => ['score_lead'] });

sub speak {
    my ($ws, $ms) = @_;
    $ws->send_binary(tone(ms => 20)) for 1 .. int($ms / 20);
}

sub saved {
    my ($id) = @_;
    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code
                           FROM conversations WHERE id = :'p1'}, $id);
        $row;
    });
    return $row // [];
}

sub events_of {
    my ($ws, $type) = @_;
    return grep { ($_->{type} // '') eq $type } @{ $ws->msgs };
}

# a call whose fake connection is set up; returns the client, its session
# id and the fake's connection id
sub call {
    my %seen = map { $_->{id} => 1 } @{ $fake->connections };
    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    my $id = $ws->wait_type('ready')->{sessionId};
    my $conn = $fake->wait_for_connection(sub {
        !$seen{ $_[0]{id} } && $_[0]{setup_complete_sent} });
    return ($ws, $id, $conn->{id});
}

# sends the cancellation on that connection and waits until it is out
sub cancel {
    my ($conn, @ids) = @_;
    my $r = $fake->script({ toolCallCancellation => { ids => \@ids },
                            conn => $conn });
    is scalar @{ $r->{executed} }, 1, 'the fake sent toolCallCancellation '
       . "for @ids at once";
    return $fake->wait_for_connection(sub {
        $_[0]{id} == $conn && grep { "@$_" eq "@ids" }
                                   @{ $_[0]{cancellations_sent} } });
}

# the fake's scripting refuses a malformed cancellation
ok !eval { $fake->script({ toolCallCancellation => 'function-call-1' }); 1 },
    'the fake wants a list of ids';
like $@, qr/400/, 'with a 400';

# ---- (a) an id that was already answered
$fake->script({ toolCall => { name => 'score_lead', args => {
    name => 'Ada', email => 'ada@example.com', budget => 50000,
    timeline => 'this month', decisionMaker => JSON::PP::true() } } });

my ($ws, $id, $cid) = call();
speak($ws, 500);
is $ws->wait_msg(sub { ($_[0]{type} // '') eq 'tool' }, 'the tool')
      ->{status}, 'started', 'the tool starts';
is $ws->wait_msg(sub { ($_[0]{type} // '') eq 'tool' }, 'its end')
      ->{status}, 'ok', 'and ends ok';
$ws->wait_type('turn_complete');

my $conn = $fake->wait_for_connection(sub {
    $_[0]{id} == $cid && @{ $_[0]{tool_responses} } });
my $call_id = $conn->{tool_calls}[0]{id};
like $call_id, qr/^\S{4,}\z/, "the call id ($call_id)";
is_deeply $conn->{tool_responses}[0]{matched}, JSON::PP::true(), 'answered once';

$conn = cancel($cid, $call_id);
is $conn->{sent}{toolCallCancellation}, 1, 'one cancellation on the wire';

# the next turn comes after the cancellation on the same connection, so
# by its end the module has read and handled it
speak($ws, 500);
$ws->wait_type('turn_complete');

ok !$ws->closed, 'the call goes on';
is scalar(events_of($ws, 'error')), 0, 'no error event';
is_deeply [ map { $_->{status} } events_of($ws, 'tool') ], [ 'started', 'ok' ],
    'no tool event for the cancellation';

$conn = $fake->connection($cid);
is scalar(grep { $_->{id} eq $call_id } @{ $conn->{tool_responses} }), 1,
    'exactly one toolResponse for that id reached Gemini';
is scalar @{ $conn->{tool_responses} }, 1, 'and no other';
is $conn->{tool_calls}[0]{state}, 'answered', 'the fake holds it answered';
is_deeply $conn->{violations}, [], 'the fake saw no protocol violation';
is $conn->{state}, 'open', 'the upstream connection is still open';

$ws->send_json({ type => 'end' });
is $ws->wait_closed->{code}, 1000, 'the caller hangs up: 1000';
is saved($id)->[0], 'client_closed', 'saved as client_closed';
my @tc = $t->sql(q{SELECT call_id, status FROM conversation_tool_calls
                   WHERE conversation_id = :'p1' ORDER BY seq}, $id);
is_deeply \@tc, [ [ $call_id, 'ok' ] ],
    'one tool call saved, still ok, not cancelled';

# ---- (b) an id that was never called
$fake->reset;

($ws, $id, $cid) = call();
my $ghost = 'function-call-1234567890123456789';
$conn = cancel($cid, $ghost);

speak($ws, 500);
$ws->wait_type('turn_complete');
my ($agent) = grep { $_->{role} eq 'agent' && $_->{final} }
              events_of($ws, 'transcript');
is $agent && $agent->{text}, 'Hello, this is the fake Gemini speaking.',
    'the agent answers as usual';

ok !$ws->closed, 'the call goes on';
is scalar(events_of($ws, 'error')), 0, 'no error event';
is scalar(events_of($ws, 'tool')), 0, 'no tool event';

$conn = $fake->connection($cid);
is_deeply $conn->{tool_responses}, [], 'no toolResponse reached Gemini';
is_deeply $conn->{violations}, [], 'the fake saw no protocol violation';
is $conn->{state}, 'open', 'the upstream connection is still open';

$ws->close(1000);
is saved($id)->[0], 'client_closed', 'saved as client_closed';
is $t->sql_value(q{SELECT count(*) FROM conversation_tool_calls
                   WHERE conversation_id = :'p1'}, $id), 0,
    'no tool call saved';

is_deeply $fake->violations, [], 'no violation at all';
$fake->reset;

$t->done;
done_testing;
