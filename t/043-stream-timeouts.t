# The call's clocks: orbis_stream_idle_timeout closes a silent call with
# 4008, orbis_stream_max_duration ends a busy one with 1000; both are
# recorded with their reasons.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::IOLoop;
use Orbis::Test;
use Orbis::Stream qw(tone);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, server => q{
    location /stream { orbis_stream; orbis_stream_idle_timeout 2s; }
    location /short {
        orbis_stream;
        orbis_stream_idle_timeout 2s;
        orbis_stream_max_duration 3s;
    }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

sub ended {
    my ($id) = @_;
    my $row;
    $t->wait_for(10, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code, duration_ms
                           FROM conversations WHERE id = :'p1'}, $id);
        $row;
    });
    return $row // [];
}

# ---- silence
my $ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
my $id = $ws->wait_type('ready')->{sessionId};
my $c = $ws->wait_closed(10);
is $c->{code}, 4008, 'a silent call is closed with 4008';
like $c->{reason}, qr/idle|inactiv/i, 'the reason says why';
my $row = ended($id);
is $row->[0], 'idle_timeout', 'recorded as idle_timeout';
is $row->[1], 4008, 'with 4008';
ok $row->[2] >= 2000, "after the idle timeout ($row->[2] ms)";

# ---- a call that talks on and on
$ws = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN,
                                     location => '/short');
$id = $ws->wait_type('ready')->{sessionId};
my $pump = Mojo::IOLoop->recurring(0.25 => sub {
    $ws->send_binary(tone(ms => 20));
});
$c = $ws->wait_closed(10);
Mojo::IOLoop->remove($pump);
is $c->{code}, 1000, 'past orbis_stream_max_duration: closed with 1000';
$row = ended($id);
is $row->[0], 'max_duration', 'recorded as max_duration';
ok $row->[2] >= 3000 && $row->[2] < 6000,
    "after the maximum duration ($row->[2] ms), not the idle timeout";

$t->done;
done_testing;
