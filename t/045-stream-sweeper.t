# A worker killed with SIGKILL mid-call: its heartbeats stop, and the
# sweeper (in the surviving or respawned workers, one round at a time
# under a Redis lock) writes the call from the state Redis kept: the
# transcript so far, ended as an error at the last heartbeat.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;
use Orbis::Stream qw(tone);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 2, http => q{
    orbis_stream_heartbeat 500ms;
    orbis_stream_heartbeat_timeout 2s;
    orbis_stream_sweep_interval 500ms;
}, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
my $id = $ws->wait_type('ready')->{sessionId};
$ws->send_binary(tone(ms => 20)) for 1 .. 25;
$ws->send_json({ type => 'text', text => 'remember me' });
$ws->wait_msg(sub { ($_[0]{text} // '') eq 'remember me' }, 'the echo');

ok $t->wait_for(5, sub {
    ($t->redis('HGET', "session:$id", 'record') // '') =~ /remember me/
}), 'the transcript reaches Redis within a second';

my $pid = $t->redis('HGET', "session:$id", 'worker');
ok((grep { $_ == $pid } $t->worker_pids), "the call is on worker $pid");

kill 'KILL', $pid;

my $c = $ws->wait_closed(10);
is $c->{code}, 1006, 'the browser sees the connection drop';

my $row;
ok $t->wait_for(15, sub {
    ($row) = $t->sql(q{SELECT end_reason, close_code, swept, turn_count,
                              audio_seconds_in, duration_ms
                       FROM conversations WHERE id = :'p1'}, $id);
    $row;
}), 'the sweeper saved the call';
is $row->[0], 'error', 'ended as an error (the worker died)';
is $row->[1], 1006, 'with 1006';
is $row->[2], 't', 'marked as swept';
is $row->[3], 1, 'with its transcript';
ok $row->[4] > 0, "and the audio it had ($row->[4] s)";
ok $row->[5] > 0, "ending at the last heartbeat ($row->[5] ms)";
is $t->sql_value(q{SELECT text FROM conversation_turns
                   WHERE conversation_id = :'p1'}, $id), 'remember me',
    'the turn is there';
is $t->sql_value(q{SELECT conversations FROM tenant_usage
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 1,
    'and counted once';

ok $t->wait_for(5, sub {
    $t->redis('ZSCORE', 'sessions:live', $id) eq ''
        && $t->redis('EXISTS', "session:$id") eq '0'
}), 'its live state is gone';

# calls go on with the respawned worker
$ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
my $id2 = $ws->wait_type('ready')->{sessionId};
$ws->close(1000);
ok $t->wait_for(10, sub {
    $t->sql_value(q{SELECT count(*) FROM conversations
                    WHERE id = :'p1'}, $id2) == 1
}), 'a new call works and is saved';
is $t->sql_value(q{SELECT count(*) FROM conversations
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 2,
    'two calls, two rows: none saved twice';

# the master notes the killed worker ([alert]), which the test provoked
$t->expect_error_log(qr/worker process $pid exited on signal 9/);

$t->done;
done_testing;
