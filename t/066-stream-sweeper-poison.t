# One record that can never be saved must not stop the sweeper for the
# whole fleet (issue 10, item 4).  Two poison records wait first in the
# sweeper's queue (parked, heartbeat 0): one too large to read (9 MB in
# Redis), one whose save always times out (a trigger holds its insert).
# Calls from a killed worker are saved in the same rounds all the same;
# each poison record has its attempts counted, is moved back in the queue
# and, from the third attempt on (at once for the one too large), the
# error log says so at the alert level.  Once the cause is gone, the
# record that timed out is saved when its turn comes again.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;
use Orbis::Stream qw(tone);
use Orbis::Expect qw(expect_log done_with_log);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, http => q{
    orbis_stream_heartbeat 500ms;
    orbis_stream_heartbeat_timeout 2s;
    orbis_stream_sweep_interval 500ms;
    orbis_postgres_query_timeout 1s;
}, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

my $SLOW = '00000000-0000-4000-8000-00000000510e';
my $HUGE = '00000000-0000-4000-8000-0000000b16b1';

# the slow one: a valid, finished record whose insert never finishes in time
$t->sql(qq{
    CREATE FUNCTION test_slow_save() RETURNS trigger LANGUAGE plpgsql AS \$\$
    BEGIN
        IF NEW.id = '$SLOW' THEN PERFORM pg_sleep(30); END IF;
        RETURN NEW;
    END \$\$;
    CREATE TRIGGER test_slow_save BEFORE INSERT ON conversations
        FOR EACH ROW EXECUTE FUNCTION test_slow_save();
});

my $now = time * 1000;
$t->redis('HSET', "session:$SLOW", 'key', $acc->{key_id}, 'record',
    qq({"sessionId":"$SLOW","tenantId":"$acc->{tenant}",)
  . qq("agentId":"$acc->{agent}","mode":"echo","startedMs":$now,)
  . qq("endedMs":$now,"endReason":"client_closed","closeCode":1000,)
  . q("turns":[{"role":"user","text":"slow","startedMs":1}],"toolCalls":[]}));

# the huge one: 9 MB, written by Redis itself (too long for a command line)
$t->redis('EVAL', "redis.call('HSET', KEYS[1], 'record',"
                . " string.rep('x', 9 * 1024 * 1024)) return 1",
          1, "session:$HUGE");
is $t->redis('HSTRLEN', "session:$HUGE", 'record'), 9 * 1024 * 1024,
    'a 9 MB record is planted';

# and two that can never be read: a malformed record, and a key that is
# not even a hash
my $BAD = '00000000-0000-4000-8000-000000000bad';
my $ODD = '00000000-0000-4000-8000-000000000dd0';
$t->redis('HSET', "session:$BAD", 'record', '{"sessionId": nope');
$t->redis('SET', "session:$ODD", 'a string');

# a flooded call: more settled turns than a record keeps; saved truncated
my $FLOOD = '00000000-0000-4000-8000-0000000f100d';
$t->redis('EVAL', q{
    for i = 1, 10005 do
        redis.call('RPUSH', KEYS[2],
                   '{"role":"user","text":"f' .. i .. '","startedMs":1}')
    end
    redis.call('HSET', KEYS[1], 'heartbeat', ARGV[2], 'record',
        '{"sessionId":"' .. ARGV[1] .. '","tenantId":"' .. ARGV[3] ..
        '","agentId":"' .. ARGV[4] .. '","mode":"echo","startedMs":' ..
        ARGV[2] .. ',"endReason":null,"turnsFrom":10005,"turns":[],' ..
        '"toolCalls":[]}')
    return 1
}, 2, "session:$FLOOD", "session:$FLOOD:turns", $FLOOD, $now,
   $acc->{tenant}, $acc->{agent});

$t->redis('ZADD', 'sessions:live', 0, $SLOW, 0, $HUGE, 0, $BAD, 0, $ODD,
          1, $FLOOD);

# three ordinary calls on the worker, which is then killed
my (@ws, @ids);
for my $i (1 .. 3) {
    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    push @ids, $ws->wait_type('ready')->{sessionId};
    $ws->send_binary(tone(ms => 20)) for 1 .. 5;
    $ws->send_json({ type => 'text', text => "call $i" });
    $ws->wait_msg(sub { ($_[0]{text} // '') eq "call $i" }, "echo $i");
    push @ws, $ws;
}

ok $t->wait_for(5, sub {
    !grep { ($t->redis('HGET', "session:$ids[$_]", 'record') // '')
                !~ /call @{[$_ + 1]}/ } 0 .. 2
}), 'the three calls are in Redis';

my $pid = $t->redis('HGET', "session:$ids[0]", 'worker');
kill 'KILL', $pid;
$_->wait_closed(10) for @ws;

my $saved;
ok $t->wait_for(20, sub {
    $saved = $t->sql_value(q{SELECT count(*) FROM conversations
                             WHERE tenant_id = :'p1' AND swept
                               AND id <> :'p2'}, $acc->{tenant}, $FLOOD);
    $saved == 3
}), "the killed worker's three calls are saved past the poison ($saved)";
is $t->sql_value(q{SELECT string_agg(t.text, '|' ORDER BY t.text)
                   FROM conversation_turns t
                   JOIN conversations c ON c.id = t.conversation_id
                   WHERE c.tenant_id = :'p1' AND c.swept
                     AND c.id <> :'p2'}, $acc->{tenant}, $FLOOD),
    'call 1|call 2|call 3', 'with their transcripts';

ok $t->wait_for(20, sub {
    $t->error_log_text =~ /\[alert\].*sweeper: session \Q$SLOW\E could not be saved \(its save timed out\), attempt 3/
}), 'the record that always times out is alerted on its third attempt';
like $t->error_log_text,
    qr/\[alert\].*sweeper: session \Q$HUGE\E cannot be saved: its record \(9437184 bytes\) is over the limit/,
    'the one too large is alerted at once, and not read';

my $flood;
ok $t->wait_for(10, sub {
    ($flood) = $t->sql(q{SELECT turn_count, transcript_truncated, swept
                         FROM conversations WHERE id = :'p1'}, $FLOOD);
    $flood
}), 'the flooded call is saved';
is_deeply $flood, [10000, 't', 't'],
    'with the first 10000 turns, marked truncated';

ok $t->wait_for(5, sub {
    $t->redis('ZSCORE', 'sessions:live', $BAD) eq ''
        && $t->redis('EXISTS', "session:$BAD") eq '0'
        && $t->redis('ZSCORE', 'sessions:live', $ODD) eq ''
        && $t->redis('EXISTS', "session:$ODD") eq '0'
}), 'the unreadable ones are dropped';

ok $t->redis('HGET', "session:$SLOW", 'sweep_attempts') >= 3,
    'its attempts are counted';
ok $t->redis('HGET', "session:$HUGE", 'sweep_attempts') >= 1,
    'the huge one\'s too';
ok $t->redis('ZSCORE', 'sessions:live', $HUGE) > 0,
    'and it is moved back in the queue';
is $t->sql_value(q{SELECT count(*) FROM conversations
                   WHERE id IN (:'p1', :'p2')}, $SLOW, $HUGE), 0,
    'neither poison record is in the table';

# the cause goes: the slow record is saved when its turn comes again
$t->sql('DROP TRIGGER test_slow_save ON conversations');

my $row;
ok $t->wait_for(30, sub {
    ($row) = $t->sql(q{SELECT end_reason, swept, saved_by, save_attempts
                       FROM conversations WHERE id = :'p1'}, $SLOW);
    $row
}), 'once the database takes it, the record is saved';
is $row->[0], 'client_closed', 'as it ended';
is $row->[1], 'f', 'not swept: it was a finished call';
is $row->[2], 'sweeper', 'saved by the sweeper';
ok $row->[3] >= 4, "after $row->[3] attempts";
ok $t->wait_for(5, sub { $t->redis('EXISTS', "session:$SLOW") eq '0' }),
    'its state is gone';

is $t->sql_value(q{SELECT conversations FROM tenant_usage
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 5,
    'five calls counted';

# the entries this test provokes
expect_log($t, qr/worker process $pid exited on signal 9/);
expect_log($t, qr/orbis stream: saving a call failed: database query timed out \(session \Q$SLOW\E\)/);
expect_log($t, qr/orbis postgres: query timed out after \d+ ms/);
expect_log($t, qr/orbis sweeper: session \Q$SLOW\E could not be saved \(its save timed out\), attempt \d+; skipped, next in \d+ s/);
expect_log($t, qr/orbis sweeper: session \Q$HUGE\E cannot be saved: its record \(9437184 bytes\) is over the limit; skipped after \d+ attempts, next in \d+ s/);
expect_log($t, qr/orbis sweeper: session \Q$BAD\E has a bad record, dropped/);

done_with_log($t);
done_testing;
