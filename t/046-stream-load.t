# 50 calls at once for 10 seconds, each sending 20 ms of audio every
# 20 ms and getting it back (echo mode): no errors, no call cut, every
# call's audio back in full, 50 conversations saved.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Mojo::IOLoop;
use Orbis::Test;
use Orbis::Stream qw(tone wait_until);

my $ORIGIN = 'http://app.example';
my $CALLS = 50;
my $SECONDS = 10;

my $t = Orbis::Test->new(workers => 2, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, plan => 'pro', origins => [$ORIGIN]);

my @calls = map {
    Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN)
} 1 .. $CALLS;

my @ids = map { $_->wait_type('ready')->{sessionId} } @calls;
is scalar(grep { defined } @ids), $CALLS, "$CALLS calls are ready";

my $frame = tone(ms => 20, hz => 300);
my $frames = $SECONDS * 50;
my $n = 0;
my $pump = Mojo::IOLoop->recurring(0.02 => sub {
    return if $n >= $frames;
    $n++;
    $_->send_binary($frame) for @calls;
});

wait_until(sub { $n >= $frames }, 'the audio to be sent', $SECONDS + 30);
Mojo::IOLoop->remove($pump);

my $want = $frames * 960;           # 20 ms at 24 kHz per frame sent
wait_until(sub { !grep { $_->bytes < $want - 960 } @calls },
           'the audio to come back', 30);

is scalar(grep { $_->closed } @calls), 0, 'no call was cut';
is scalar(grep { my $c = $_; grep { ($_->{type} // '') eq 'error' }
                                  @{ $c->msgs } } @calls), 0,
    'no call got an error';
is scalar(grep { abs($_->bytes - $want) > 960 } @calls), 0,
    "every call got its $SECONDS s of audio back at 24 kHz";

$_->tx->finish(1000) for @calls;
wait_until(sub { !grep { !$_->closed } @calls }, 'the closes', 20);
is scalar(grep { $_->closed->{code} != 1000 } @calls), 0,
    'all ended with 1000';

ok $t->wait_for(20, sub {
    $t->sql_value(q{SELECT count(*) FROM conversations
                    WHERE tenant_id = :'p1'}, $acc->{tenant}) == $CALLS
}), "$CALLS conversations saved";
is $t->sql_value(q{SELECT count(*) FROM conversations
                   WHERE tenant_id = :'p1' AND end_reason = 'client_closed'
                   AND audio_seconds_in > :'p2' - 0.5},
                 $acc->{tenant}, $SECONDS), $CALLS,
    'each with its audio and a normal end';

$t->done;
done_testing;
