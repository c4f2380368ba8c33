# Calls that end while Postgres or Redis is down are not lost.  A finished
# call waits in its worker's outbox until Postgres takes it, or Redis does
# (confirmed) for the sweeper; while the outbox holds orbis_stream_save_
# backlog calls, new calls are refused (503 busy, or close 1013 for
# browsers) instead of piling up more of what could be lost.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;
use Orbis::Stream qw(tone);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, http => q{
    orbis_stream_heartbeat 500ms;
    orbis_stream_heartbeat_timeout 2s;
    orbis_stream_sweep_interval 500ms;
    orbis_stream_save_backlog 1;
}, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

sub call_with_turn {
    my ($text) = @_;
    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    my $id = $ws->wait_type('ready')->{sessionId};
    $ws->send_binary(tone(ms => 20)) for 1 .. 10;
    $ws->send_json({ type => 'text', text => $text });
    $ws->wait_msg(sub { ($_[0]{text} // '') eq $text }, "the echo of $text");
    return ($ws, $id);
}

sub saved {
    my ($id) = @_;
    return $t->sql(q{SELECT end_reason, turn_count, swept FROM conversations
                     WHERE id = :'p1'}, $id);
}

# ---- both down when the call ends
my ($ws, $id) = call_with_turn('keep me');

$t->stop_postgres;
$t->stop_redis;

# what the worker says while they are down, each on purpose here
$t->expect_error_log($Orbis::Test::POSTGRES_DOWN);
$t->expect_error_log($Orbis::Test::REDIS_DOWN);
$t->expect_error_log(qr/orbis stream: saving a call failed: database (?:busy|unavailable|query timed out)/);
$t->expect_error_log(qr/orbis stream [0-9a-f-]{36}: neither Postgres nor Redis took the finished call \(attempt \d+\); \d+ calls wait, next try in \d+ ms/);
$t->expect_error_log(qr/orbis: 503 busy: calls cannot be saved right now, try again shortly/);

$ws->close(1000);
is $ws->wait_closed(10)->{code}, 1000, 'the caller hangs up normally';

ok $t->wait_for(10, sub {
    $t->error_log_text =~ /\Q$id\E: neither Postgres nor Redis took/
}), 'the worker says the call waits, and why';

my $busy = Orbis::Stream::Client->connect($t, $acc);
is $busy->failed, 503, 'a new call without Origin gets 503';
is $busy->json_error->{error}{code}, 'busy', 'error code busy';
is $busy->res->headers->header('Retry-After'), '5', 'with Retry-After';

$busy = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
ok !$busy->failed, 'a browser gets the upgrade';
my $c = $busy->wait_closed(10);
is $c->{code}, 1013, 'then close 1013 (try again later)';
ok !grep({ ($_->{type} // '') eq 'ready' } @{ $busy->msgs }),
    'no call starts';

$t->start_redis;

ok $t->wait_for(20, sub {
    ($t->redis('HGET', "session:$id", 'record') // '') =~ /"endReason"/
}), 'once Redis is back, the finished call is parked there';
is $t->redis('ZSCORE', 'sessions:live', $id), '0',
    'due at once for the sweeper';

$t->start_postgres;

my $row;
ok $t->wait_for(20, sub { ($row) = saved($id); $row }),
    'once Postgres is back, the sweeper writes it';
is $row->[0], 'client_closed', 'as the caller ended it';
is $row->[1], 1, 'with its transcript';
is $t->sql_value(q{SELECT text FROM conversation_turns
                   WHERE conversation_id = :'p1'}, $id), 'keep me',
    'the turn is there';

ok $t->wait_for(5, sub {
    $t->redis('EXISTS', "session:$id") eq '0'
}), 'and its live state is gone';

# ---- Postgres alone down: the worker writes it itself when it returns
my ($ws2, $id2) = call_with_turn('and me');

$t->stop_postgres;
$ws2->close(1000);
$ws2->wait_closed(10);

ok $t->wait_for(10, sub {
    ($t->redis('HGET', "session:$id2", 'record') // '') =~ /"endReason"/
}), 'with Postgres down, the call is parked in Redis at once';

$t->start_postgres;

ok $t->wait_for(20, sub { ($row) = saved($id2); $row }),
    'and written when Postgres returns';
is $row->[0], 'client_closed', 'as the caller ended it';

# ---- afterwards calls are taken again, and nothing was written twice
my ($ws3, $id3) = call_with_turn('all well');
$ws3->close(1000);
ok $t->wait_for(10, sub { saved($id3) }), 'a new call is taken and saved';

is $t->sql_value(q{SELECT count(*) FROM conversations
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 3,
    'three calls, three rows';
is $t->sql_value(q{SELECT conversations FROM tenant_usage
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 3,
    'each counted once';

$t->done;
done_testing;
