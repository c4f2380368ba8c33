# A graceful stop with worker_shutdown_timeout: the old worker keeps a
# call only until the timeout fires, then closes it with 1001 and saves it
# once, as shutdown.  Both ways in: nginx -s reload (the new worker takes
# new calls) and nginx -s quit (the master exits).  Its live state should
# leave Redis with it; after a restart the sweeper finds whatever was left
# and saving it again changes nothing: one row, counted once.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time);
use Mojo::IOLoop;
use Orbis::Test;
use Orbis::Stream qw(tone settle);

my $ORIGIN = 'http://app.example';

# a long heartbeat timeout first, so no sweeper tidies up after the
# stopping worker while the test looks at what that worker left in Redis
my $t = Orbis::Test->new(workers => 1,
    main => 'worker_shutdown_timeout 1s;',
    http => q{
        orbis_stream_heartbeat 500ms;
        orbis_stream_heartbeat_timeout 60s;
        orbis_stream_sweep_interval 500ms;
    },
    server => q{
        location /stream { orbis_stream; }
    });

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

sub call {
    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
    my $id = $ws->wait_type('ready')->{sessionId};
    return ($ws, $id);
}

# a call that talks: audio both ways and one typed turn
sub busy_call {
    my ($ws, $id) = call();
    my $pump = Mojo::IOLoop->recurring(0.02 => sub {
        $ws->send_binary(tone(ms => 20));
    });
    $ws->send_json({ type => 'text', text => "before the stop $id" });
    $ws->wait_msg(sub { ($_[0]{text} // '') eq "before the stop $id" },
                  'the echo');
    $ws->wait_bytes(24000);
    return ($ws, $id, $pump);
}

sub saved {
    my ($id) = @_;
    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code, swept, turn_count,
                                  audio_seconds_in
                           FROM conversations WHERE id = :'p1'}, $id);
        $row;
    });
    return $row // [];
}

sub rows_of { $t->sql_value(q{SELECT count(*) FROM conversations
                              WHERE id = :'p1'}, $_[0]) }

sub usage { $t->sql_value(q{SELECT conversations FROM tenant_usage
                            WHERE tenant_id = :'p1'}, $acc->{tenant}) // 0 }

sub live_state_gone {
    my ($id, $secs) = @_;
    return $t->wait_for($secs // 5, sub {
        $t->redis('ZSCORE', 'sessions:live', $id) eq ''
            && $t->redis('EXISTS', "session:$id") eq '0'
    });
}

sub check_shutdown_row {
    my ($id, $what) = @_;
    my $row = saved($id);
    is $row->[0], 'shutdown', "$what: saved as shutdown";
    is $row->[1], 1001, "$what: with 1001";
    is $row->[2], 'f', "$what: by its worker, not the sweeper";
    is $row->[3], 1, "$what: with its transcript turn";
    ok(($row->[4] // 0) > 0, "$what: and its audio ("
       . ($row->[4] // 'none') . ' s)');
    is $t->sql_value(q{SELECT text FROM conversation_turns
                       WHERE conversation_id = :'p1' AND role = 'user'},
                     $id), "before the stop $id", "$what: the turn text";

    ok live_state_gone($id, 3), "$what: its live state left Redis with it";
}

# ---- nginx -s reload
my ($ws, $id, $pump) = busy_call();
my ($old) = $t->worker_pids;
like $old, qr/^\d+\z/, "the call is on worker $old";

my $t0 = time;
$t->reload_nginx;

my $c = $ws->wait_closed(10);
my $after = time - $t0;
Mojo::IOLoop->remove($pump);
is $c->{code}, 1001, 'reload: the call is closed with 1001';
like $c->{reason}, qr/going away/i, 'going away';
ok $after >= 0.9, sprintf('when worker_shutdown_timeout fired, not at '
                          . 'once (%.2f s)', $after);
ok $after < 5, sprintf('and not much later (%.2f s)', $after);
check_shutdown_row($id, 'reload');
my @ids = ($id);

ok $t->wait_for(10, sub { !kill(0, $old) }), 'the old worker exits';

my ($ws2, $id2) = call();
my ($new) = $t->worker_pids;
like $new, qr/^\d+\z/, "a new call is on a worker ($new)";
isnt $new, $old, 'the new worker';
$ws2->close(1000);
is saved($id2)->[0], 'client_closed', 'and ends normally';
ok live_state_gone($id2, 3),
    'its live state leaves Redis at once (a worker that is not exiting)';
is usage(), 2, 'two calls counted';

# ---- nginx -s quit
($ws, $id, $pump) = busy_call();
$t0 = time;
$t->signal_nginx('QUIT');

$c = $ws->wait_closed(10);
$after = time - $t0;
Mojo::IOLoop->remove($pump);
is $c->{code}, 1001, 'quit: the call is closed with 1001';
ok $after >= 0.9 && $after < 5,
    sprintf('when worker_shutdown_timeout fired (%.2f s)', $after);
ok $t->wait_nginx_exit(10), 'nginx exits';
check_shutdown_row($id, 'quit');
push @ids, $id;
is usage(), 3, 'three calls counted';

# ---- exactly once: a restarted nginx's sweeper takes whatever live state
# the stopped workers left, and saving it again changes nothing
$t->start_nginx(main => '', http => q{
    orbis_stream_heartbeat 500ms;
    orbis_stream_heartbeat_timeout 2s;
    orbis_stream_sweep_interval 500ms;
});
ok live_state_gone($_, 10), "the sweeper is done with $_" for @ids;
settle(1);
for my $sid (@ids) {
    is rows_of($sid), 1, "one row for $sid";
    my $row = saved($sid);
    is_deeply [ @$row[0 .. 2] ], [ 'shutdown', 1001, 'f' ],
        'still the shutdown row its worker wrote, not a swept one';
}
is usage(), 3, 'no call counted twice';
is $t->sql_value(q{SELECT count(*) FROM conversations
                   WHERE tenant_id = :'p1'}, $acc->{tenant}), 3,
    'three calls, three rows';

# ---- the same without worker_shutdown_timeout: the call outlives the
# reload and ends normally, in a worker that is exiting
my ($ws3, $id3) = call();
$t->reload_nginx;
settle(1);
ok !$ws3->closed, 'no worker_shutdown_timeout: the reload cuts nothing';
is $ws3->close(1000)->{code}, 1000, 'the caller hangs up';
is saved($id3)->[0], 'client_closed', 'saved as client_closed';
ok live_state_gone($id3, 1), 'its live state left Redis with it';
settle(1);
is rows_of($id3), 1, 'one row';
is usage(), 4, 'counted once';

$t->done;
done_testing;
