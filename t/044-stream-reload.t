# nginx -s reload during a call: the old worker keeps serving the call
# (audio still flows both ways, nothing is closed) while new calls go to
# the new worker; when the call ends it is saved, and only then does the
# old worker exit.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::IOLoop;
use Orbis::Test;
use Orbis::Stream qw(tone settle);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
my $id = $ws->wait_type('ready')->{sessionId};
my ($old) = $t->worker_pids;
like $old, qr/^\d+\z/, "one worker ($old)";
is $t->redis('HGET', "session:$id", 'worker'), $old,
    'Redis says which worker has the call';

my $pump = Mojo::IOLoop->recurring(0.02 => sub {
    $ws->send_binary(tone(ms => 20));
});
$ws->wait_bytes(24000);

$t->reload_nginx;

ok $t->wait_for(10, sub { grep { $_ != $old } $t->worker_pids }),
    'a new worker is started';
ok kill(0, $old), 'the old worker is still there';

my $before = $ws->bytes;
settle(2);
ok !$ws->closed, 'the call was not cut';
ok $ws->bytes - $before > 48000,
    'audio kept coming back after the reload (' . ($ws->bytes - $before)
    . ' bytes in 2 s)';
ok kill(0, $old), 'the old worker still serves it';

my $ws2 = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
my $id2 = $ws2->wait_type('ready')->{sessionId};
my $new = $t->redis('HGET', "session:$id2", 'worker');
like $new, qr/^\d+\z/, "a new call is on a worker ($new)";
isnt $new, $old, 'the new worker';
$ws2->close(1000);

Mojo::IOLoop->remove($pump);
$ws->send_json({ type => 'text', text => 'still here' });
$ws->wait_msg(sub { ($_[0]{text} // '') eq 'still here' }, 'the echo');
is $ws->close(1000)->{code}, 1000, 'the call ends normally';

my $row;
ok $t->wait_for(10, sub {
    ($row) = $t->sql(q{SELECT end_reason FROM conversations
                       WHERE id = :'p1'}, $id);
    $row;
}), 'the call is saved';
is $row->[0], 'client_closed', 'as client_closed';

ok $t->wait_for(10, sub { !kill(0, $old) }),
    'then the old worker exits';

$t->done;
done_testing;
