# No call record is lost or replaced by a stale copy (issue 10, item 4).
#
# 1. The outbox-sweeper race: a call ends while its node's Postgres pool
#    is held (a slow database), so its final record waits in the outbox
#    longer than the heartbeat timeout.  The outbox keeps the call's
#    heartbeat fresh (on Redis's clock), so the other node's sweeper does
#    not save the stale copy Redis kept, and the worker's own record is
#    the one stored, counted once.
# 2. A worker's final record replaces a swept one: a worker stalled
#    (SIGSTOP) past the heartbeat timeout has its call saved by the
#    sweeper as swept; when it resumes and the call ends, its final record
#    replaces the swept one, and the month's usage is not counted twice.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::UserAgent;
use Orbis::Test;
use Orbis::Stream qw(tone);
use Orbis::Expect qw(expect_log done_with_log);

my $ORIGIN = 'http://app.example';

my $HTTP = q{
    orbis_stream_heartbeat 500ms;
    orbis_stream_heartbeat_timeout 2s;
    orbis_stream_sweep_interval 500ms;
    orbis_postgres_max_connections 1;
    orbis_postgres_queue_timeout 20s;
    orbis_postgres_query_timeout 20s;
};

sub row {
    my ($t, $id) = @_;
    my ($r) = $t->sql(q{SELECT end_reason, swept, saved_by, turn_count,
                               close_code
                        FROM conversations WHERE id = :'p1'}, $id);
    return $r;
}

sub turns {
    my ($t, $id) = @_;
    return join '|', map { $_->[0] } $t->sql(q{SELECT text
        FROM conversation_turns WHERE conversation_id = :'p1'
        ORDER BY seq}, $id);
}

sub redis_now_ms {
    my ($t) = @_;
    my ($s, $us) = split /\n/, $t->redis('TIME');
    return $s * 1000 + int($us / 1000);
}

sub say_text {
    my ($ws, $text) = @_;
    $ws->send_json({ type => 'text', text => $text });
    $ws->wait_msg(sub { ($_[0]{text} // '') eq $text }, "the echo of $text");
}

# ---- 1. the outbox-sweeper race, across two nodes
{
    my $t = Orbis::Test->new(workers => 1, http => $HTTP, server => q{
        location /stream { orbis_stream; }
    });
    my $b = $t->another_node;

    my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    my $id = $ws->wait_type('ready')->{sessionId};
    $ws->send_binary(tone(ms => 20)) for 1 .. 10;
    say_text($ws, 'first words');

    ok $t->wait_for(5, sub {
        ($t->redis('HGET', "session:$id", 'record') // '') =~ /first words/
    }), 'the transcript reaches Redis';

    # the node's one Postgres connection is busy for 6 s: a slow database
    my $ua = Mojo::UserAgent->new(request_timeout => 30);
    my $slept;
    $ua->get($t->url('/api/_test/pg-sleep?seconds=6') => sub {
        $slept = $_[1]->res->code;
    });
    Orbis::Stream::settle(0.5);

    say_text($ws, 'last words');
    $ws->close(1000);
    is $ws->wait_closed(10)->{code}, 1000, 'the caller hangs up';

    # longer than the heartbeat timeout plus a few sweeper rounds
    Orbis::Stream::settle(4);

    ok !row($t, $id), 'the record still waits in the outbox';
    my $score = $t->redis('ZSCORE', 'sessions:live', $id);
    ok $score ne '' && $score > redis_now_ms($t) - 2000,
        'its heartbeat is kept fresh on Redis\'s clock meanwhile';

    Orbis::Stream::wait_until(sub { defined $slept }, 'the sleep', 10);
    is $slept, 200, 'the slow statement ended';

    my $r;
    ok $t->wait_for(15, sub { $r = row($t, $id) }), 'the call is saved';
    is $r->[0], 'client_closed', 'as the caller ended it, not as an error';
    is $r->[1], 'f', 'not swept: the worker\'s own record';
    is $r->[2], 'worker', 'saved by the worker';
    is $r->[3], 2, 'with both turns';
    is turns($t, $id), 'first words|last words',
        'including the one said after the last heartbeat';
    is $t->sql_value(q{SELECT conversations FROM tenant_usage
                       WHERE tenant_id = :'p1'}, $acc->{tenant}), 1,
        'counted once';
    unlike $t->error_log_text . $b->error_log_text,
        qr/sweeper: saving session \Q$id\E/,
        'no sweeper took the stale copy';

    ok $t->wait_for(5, sub {
        $t->redis('ZSCORE', 'sessions:live', $id) eq ''
            && $t->redis('EXISTS', "session:$id") eq '0'
            && $t->redis('EXISTS', "session:$id:turns") eq '0'
    }), 'its live state is gone';

    done_with_log($b);
    done_with_log($t);
}

# ---- 2. the worker's final record replaces a swept one
{
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
    $ws->send_binary(tone(ms => 20)) for 1 .. 10;
    say_text($ws, 'before the stall');

    ok $t->wait_for(5, sub {
        ($t->redis('HGET', "session:$id", 'record') // '')
            =~ /before the stall/
    }), 'the transcript reaches Redis';

    my $pid = $t->redis('HGET', "session:$id", 'worker');
    ok $pid, "the call is on worker $pid";

    # a stalled worker may find its Redis commands timed out on waking
    expect_log($t, qr/orbis redis: command to \S+ timed out after \d+ ms/,
               maybe => 1);
    expect_log($t, qr/orbis redis: connection to \S+ lost: /, maybe => 1);

    kill 'STOP', $pid;

    my $r;
    ok $t->wait_for(15, sub { $r = row($t, $id); $r && $r->[1] eq 't' }),
        'the stalled worker\'s call is swept by the other worker';
    is $r->[0], 'error', 'as an error';
    is $r->[2], 'sweeper', 'saved by the sweeper';
    is $t->sql_value(q{SELECT conversations FROM tenant_usage
                       WHERE tenant_id = :'p1'}, $acc->{tenant}), 1,
        'and counted';

    kill 'CONT', $pid;

    say_text($ws, 'after the stall');
    $ws->close(1000);
    is $ws->wait_closed(10)->{code}, 1000, 'the caller hangs up';

    ok $t->wait_for(15, sub { $r = row($t, $id); $r && $r->[1] eq 'f' }),
        'the worker\'s final record replaced the swept one';
    is $r->[0], 'client_closed', 'as the caller ended it';
    is $r->[2], 'worker', 'saved by the worker';
    is $r->[4], 1000, 'with the close code it had';
    is turns($t, $id), 'before the stall|after the stall',
        'and the whole transcript';
    is $t->sql_value(q{SELECT count(*) FROM conversations
                       WHERE tenant_id = :'p1'}, $acc->{tenant}), 1,
        'one row';
    is $t->sql_value(q{SELECT conversations FROM tenant_usage
                       WHERE tenant_id = :'p1'}, $acc->{tenant}), 1,
        'counted once';
    like $t->error_log_text,
        qr/stream \Q$id\E: the final record replaced the one the sweeper/,
        'the log says so';

    ok $t->wait_for(5, sub {
        $t->redis('EXISTS', "session:$id") eq '0'
            && $t->redis('EXISTS', "session:$id:turns") eq '0'
    }), 'its live state is gone';

    done_with_log($t);
}

done_testing;
