# What a heartbeat writes does not grow with the transcript (issue 10,
# item 2).  A long call's settled turns go to Redis a few at a time, in a
# list (session:<id>:turns), and each beat rewrites only the record's
# small tail; the sweeper puts the pieces back together.  Measured on what
# Redis receives (MONITOR), not on timing.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX ();
use JSON::PP qw(decode_json);
use Orbis::Test;
use Orbis::Stream qw(tone);
use Orbis::Expect qw(expect_log done_with_log);

my $ORIGIN = 'http://app.example';
my $TURNS = 80;
my $SIZE = 600;

my $t = Orbis::Test->new(workers => 1, http => q{
    orbis_stream_heartbeat 500ms;
    orbis_stream_heartbeat_timeout 2s;
    orbis_stream_sweep_interval 500ms;
}, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

# everything Redis receives, from here on
my $mon = "$t->{dir}/logs/monitor.log";
my $mpid = fork // die "fork: $!";
if ($mpid == 0) {
    open STDOUT, '>', $mon or POSIX::_exit(1);
    { exec 'redis-cli', '-p', $t->redis_port, 'monitor' }
    POSIX::_exit(127);
}
Orbis::Stream::settle(0.5);

my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
my $id = $ws->wait_type('ready')->{sessionId};
$ws->send_binary(tone(ms => 20)) for 1 .. 5;

# 80 turns of 600 bytes (48 KB of transcript), about seven a second: under
# the call's message budget (5 a second, a burst of 30) for the whole run
for my $i (1 .. $TURNS) {
    my $text = sprintf('%03d ', $i) . ('y' x ($SIZE - 4));
    $ws->send_json({ type => 'text', text => $text });
    $ws->wait_msg(sub { ($_[0]{text} // '') eq $text }, "echo $i");
    Orbis::Stream::settle(0.15);
}

my ($listed, $rec);
ok $t->wait_for(5, sub {
    $rec = eval { decode_json($t->redis('HGET', "session:$id", 'record')) };
    $listed = $t->redis('LLEN', "session:$id:turns");
    $rec && $rec->{turnsFrom} + @{ $rec->{turns} } == $TURNS
}), 'every turn reaches Redis';
is $listed, $rec->{turnsFrom}, "the list holds the settled ones ($listed)";
ok $listed >= $TURNS - 8, 'all but a few';

my $field = length($t->redis('HGET', "session:$id", 'record') // '');
ok $field < 16 * 1024, "the record field stays small ($field bytes)";

kill 'TERM', $mpid;
waitpid $mpid, 0;

# the beats of this call: the heartbeat script, with this call's keys
my @beats;
open my $fh, '<', $mon or die "$mon: $!";
while (my $line = <$fh>) {
    next unless $line =~ /"EVAL"/ && $line =~ /local base/
        && $line =~ /"session:\Q$id\E"/;
    push @beats, length $line;
}
close $fh;

my $max = 0;
$max < $_ and $max = $_ for @beats;
my $total = $TURNS * $SIZE;
ok @beats >= 8, scalar(@beats) . ' beats seen';
ok $max < 16 * 1024,
    "no beat writes more than 16 KB ($max bytes; transcript $total bytes)";
my @late = @beats[-4 .. -1];
my $late = 0;
$late < $_ and $late = $_ for @late;
ok $late < 16 * 1024, "the last beats are as small as the first ($late)";

# the worker dies: the sweeper reassembles the whole transcript
my $pid = $t->redis('HGET', "session:$id", 'worker');
expect_log($t, qr/worker process $pid exited on signal 9/);
kill 'KILL', $pid;
$ws->wait_closed(10);

my $row;
ok $t->wait_for(15, sub {
    ($row) = $t->sql(q{SELECT turn_count, transcript_truncated, swept
                       FROM conversations WHERE id = :'p1'}, $id);
    $row
}), 'the sweeper saves the call';
is $row->[0], $TURNS, 'with every turn';
is $row->[1], 'f', 'nothing lost';
is $row->[2], 't', 'swept';
is $t->sql_value(q{SELECT string_agg(left(text, 3), ',' ORDER BY seq)
                   FROM conversation_turns WHERE conversation_id = :'p1'},
                 $id),
    join(',', map { sprintf '%03d', $_ } 1 .. $TURNS), 'in order';
ok $t->wait_for(5, sub {
    $t->redis('EXISTS', "session:$id:turns") eq '0'
}), 'the list is gone with the rest of its state';

done_with_log($t);
done_testing;
