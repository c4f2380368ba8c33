# A client cannot freeze a worker (issue 10): a non-browser client holding
# a publishable key floods one call with one-letter text messages, on a
# single worker, while three other echo calls on that worker keep their
# audio round trip within their normal latency (measured first, in this
# test).  The flooder is closed with 4029 and its saved record is
# bounded; blank text messages store no turn.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use List::Util qw(max);
use Time::HiRes ();
use Orbis::Test;
use Orbis::Stream qw(tone settle wait_until);

my $ORIGIN = 'http://app.example';

my $t = Orbis::Test->new(workers => 1, server => q{
    location /stream { orbis_stream; }
});

my $acc = Orbis::Stream::account($t, origins => [$ORIGIN]);

sub saved {
    my ($id) = @_;
    my $row;
    $t->wait_for(15, sub {
        ($row) = $t->sql(q{SELECT end_reason, close_code, turn_count
                           FROM conversations WHERE id = :'p1'}, $id);
        $row;
    });
    return $row // [];
}

# ---- three echo calls and their audio round trip

my @calls = map {
    Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN)
} 1 .. 3;
$_->wait_type('ready') for @calls;

my $frame = tone(ms => 20);

# one 20 ms frame on each call, then the time until its echo is back
sub round_trips {
    my ($rounds) = @_;
    my @rtt;
    for (1 .. $rounds) {
        for my $c (@calls) {
            my $before = $c->bytes;
            my $t0 = Time::HiRes::time();
            $c->send_binary($frame);
            wait_until(sub { $c->bytes > $before }, 'the echo', 20);
            push @rtt, (Time::HiRes::time() - $t0) * 1000;
        }
        settle(0.02);
    }
    @rtt = sort { $a <=> $b } @rtt;
    return { p50 => $rtt[int(@rtt / 2)], max => $rtt[-1], n => scalar @rtt };
}

my $base = round_trips(20);
diag sprintf 'baseline round trip: p50 %.1f ms, max %.1f ms (%d)',
    $base->{p50}, $base->{max}, $base->{n};

# ---- the flood, from another process, while the calls go on

# a script, not a browser: it sends the Origin the key allows
my $raw = Orbis::Stream::Raw->connect($t, $acc, origin => $ORIGIN);
my $F = \&Orbis::Stream::Raw::frame;
my $msg = $F->(opcode => 1, payload => '{"type":"text","text":"a"}');
my $chunk = $msg x 10000;
my $flood_id;

# the ready event names the call
{
    my $frames = $raw->read_until_close(1);
    my ($ready) = grep { $_->[0] == 1 && $_->[1] =~ /"ready"/ } @$frames;
    ($flood_id) = ($ready->[1] // '') =~ /"sessionId":"([^"]+)"/;
}
ok $flood_id, 'the flooder has a call';

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    # up to two million messages (64 MB) or 8 s, until the server cuts it
    local $SIG{PIPE} = 'IGNORE';
    my $sock = $raw->{sock};
    my $until = Time::HiRes::time() + 8;
    for (1 .. 200) {
        last if Time::HiRes::time() > $until;
        my $off = 0;
        while ($off < length $chunk) {
            my $n = syswrite $sock, $chunk, length($chunk) - $off, $off;
            POSIX::_exit(0) unless defined $n && $n > 0;
            $off += $n;
        }
    }
    POSIX::_exit(0);
}

settle(0.2);
my $flooded = round_trips(20);
diag sprintf 'flooded round trip: p50 %.1f ms, max %.1f ms (%d)',
    $flooded->{p50}, $flooded->{max}, $flooded->{n};

my $p50_limit = max(5 * $base->{p50}, $base->{p50} + 200);
my $max_limit = max(5 * $base->{max}, $base->{max} + 200);
ok $flooded->{p50} <= $p50_limit,
    "the other calls' median round trip stays normal "
    . "($flooded->{p50} <= $p50_limit ms)";
ok $flooded->{max} <= $max_limit,
    "and their slowest too ($flooded->{max} <= $max_limit ms)";
ok !$_->closed, 'a bystander call is still up' for @calls;

my $frames = $raw->read_until_close(10);
is Orbis::Stream::Raw::close_code($frames), 4029,
    'the flooder is closed with 4029';
my ($close) = grep { $_->[0] == 8 } @$frames;
is substr($close->[1] // '', 2), 'too many messages', 'reason for people';

waitpid $pid, 0;

my ($reason, $code, $turns) = @{ saved($flood_id) };
is $reason, 'client_protocol', 'recorded as client_protocol';
is $code, 4029, 'with 4029';
ok defined $turns && $turns <= 30,
    "its saved record is bounded (" . ($turns // 'none') . " turns)";

my ($bytes) = $t->sql(q{SELECT coalesce(sum(octet_length(text)), 0)
                        FROM conversation_turns
                        WHERE conversation_id = :'p1'}, $flood_id);
ok $bytes->[0] <= 30, "and its transcript ($bytes->[0] bytes)";

# the worker still serves audio, and new calls
my $after = round_trips(5);
ok $after->{max} <= $max_limit, 'round trips after the flood are normal';

my $new = Orbis::Stream::Client->connect($t, $acc, origin => $ORIGIN);
ok $new->wait_type('ready'), 'a new call starts on the same worker';

# ---- blank and empty texts store no turn

$new->send_json({ type => 'text', text => '' });
is $new->wait_type('error')->{code}, 'bad_message', 'an empty text is refused';
$new->send_json({ type => 'text', text => "  \t\n " });
$new->send_json({ type => 'text', text => 'hello' });
$new->wait_msg(sub { ($_[0]{text} // '') eq 'hello' }, 'the echo of hello');
my @agent = grep { ($_->{type} // '') eq 'transcript'
                   && ($_->{text} // '') =~ /^\s+$/ } @{ $new->msgs };
is scalar @agent, 0, 'a blank text gets no echo';
my $new_id = $new->msgs->[0]{sessionId};
$new->send_json({ type => 'end' });
is $new->wait_closed->{code}, 1000, 'closed with 1000';
my ($r2, undef, $turns2) = @{ saved($new_id) };
is $r2, 'client_closed', 'the call is saved';
is $turns2, 1, 'one turn: neither the empty nor the blank text is stored';

$_->close(1000) for @calls;

done_testing;
