# The agent's idleTimeoutSec overrides orbis_stream_idle_timeout, both
# ways: a silent call to an agent with 30 s is closed with 4008 after 30 s
# while a call to an agent without one, on the same nginx and under a
# longer directive, stays open; and under a 2 s directive the agent's
# 30 s still wins.  The saved rows say idle_timeout.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time);
use Orbis::Test;
use Orbis::Stream qw(settle wait_until);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, server => q{
    location /stream { orbis_stream; orbis_stream_idle_timeout 90s; }
    location /short { orbis_stream; orbis_stream_idle_timeout 2s; }
});

# the account's own agent has no override
my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

my $res = Orbis::Stream::api($t, $acc, POST => '/api/agents', json => {
    name => 'Patient', systemPrompt => 'Wait for the caller.',
    voice => 'Kore', idleTimeoutSec => 30 });
is $res->code, 201, 'an agent with idleTimeoutSec 30 is created'
    or diag $res->body;
is $res->json->{idleTimeoutSec}, 30, 'the API shows the override';
my $patient = $res->json->{id};
is $t->sql_value(q{SELECT idle_timeout_sec FROM agents WHERE id = :'p1'},
                 $patient), 30, 'and stores it';

sub call {
    my ($agent, $location) = @_;
    my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN,
        agent => $agent, location => $location);
    my $id = $ws->wait_type('ready')->{sessionId};
    return ($ws, $id);
}

sub saved {
    my ($id) = @_;
    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code, duration_ms,
                                  agent_id
                           FROM conversations WHERE id = :'p1'}, $id);
        $row;
    });
    return $row // [];
}

my $t0 = time;
my ($plain_short, $plain_short_id) = call($acc->{agent}, '/short');
my ($patient_short, $patient_short_id) = call($patient, '/short');
my ($patient_long, $patient_long_id) = call($patient, '/stream');
my ($plain_long, $plain_long_id) = call($acc->{agent}, '/stream');

# ---- under a 2 s directive
my $c = $plain_short->wait_closed(10);
is $c->{code}, 4008, 'no override, 2 s directive: closed with 4008';
settle(3);
ok !$patient_short->closed,
    "the agent's 30 s wins over a shorter directive (open after "
    . sprintf('%.1f', time - $t0) . ' s)';

# ---- under a 90 s directive
wait_until(sub { $patient_long->closed }, "the agent's idle timeout", 45);
my $at = time - $t0;
$c = $patient_long->closed;
is $c->{code}, 4008, "the agent's 30 s: closed with 4008";
like $c->{reason}, qr/idle|inactiv/i, 'the reason says why';
ok $at >= 29 && $at < 40, sprintf('after about 30 s (%.1f s)', $at);
ok !$plain_long->closed,
    'the call to the agent without override, same nginx, is still open';

$c = $patient_short->wait_closed(10);
is $c->{code}, 4008, 'and the 30 s agent under the 2 s directive: 4008 too';

my $row = saved($patient_long_id);
is $row->[0], 'idle_timeout', 'saved as idle_timeout';
is $row->[1], 4008, 'with 4008';
ok $row->[2] >= 30000 && $row->[2] < 40000,
    "lasting the agent's timeout ($row->[2] ms)";
is $row->[3], $patient, 'for the agent with the override';

$row = saved($patient_short_id);
is $row->[0], 'idle_timeout', 'the other 30 s call: idle_timeout';
ok $row->[2] >= 30000, "after 30 s, not 2 s ($row->[2] ms)";

$row = saved($plain_short_id);
is $row->[0], 'idle_timeout', 'the 2 s call: idle_timeout';
ok $row->[2] >= 2000 && $row->[2] < 10000,
    "after the directive's 2 s ($row->[2] ms)";

# ---- the call without override hangs up itself
is $plain_long->close(1000)->{code}, 1000, 'the other call ends normally';
$row = saved($plain_long_id);
is $row->[0], 'client_closed', 'saved as client_closed';
ok $row->[2] >= 30000, "having outlived the agent's timeout ($row->[2] ms)";

$t->done;
done_testing;
