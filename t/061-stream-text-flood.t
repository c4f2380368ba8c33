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
use POSIX ();
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

# ---- floods, from another process, while the calls go on

my $F = \&Orbis::Stream::Raw::frame;

# a raw client (a script, not a browser: it sends the Origin the key
# allows) that writes $first, then $chunk up to $times times, from a child
# process, for at most 8 s or until the server cuts it
sub flood {
    my ($chunk, $times, $first) = @_;
    my $raw = Orbis::Stream::Raw->connect($t, $acc, origin => $ORIGIN);
    my $frames = $raw->read_until_close(1);
    my ($ready) = grep { $_->[0] == 1 && $_->[1] =~ /"ready"/ } @$frames;
    my ($id) = ($ready->[1] // '') =~ /"sessionId":"([^"]+)"/;

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        local $SIG{PIPE} = 'IGNORE';
        my $sock = $raw->{sock};
        my $until = Time::HiRes::time() + 8;
        syswrite $sock, $first if defined $first;
        for (1 .. $times) {
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

    return { raw => $raw, id => $id, pid => $pid };
}

sub flood_closed {
    my ($f, $name) = @_;
    my $frames = $f->{raw}->read_until_close(10);
    waitpid $f->{pid}, 0;
    is Orbis::Stream::Raw::close_code($frames), 4029,
        "$name: the flooder is closed with 4029";
    my ($close) = grep { $_->[0] == 8 } @$frames;
    is substr($close->[1] // '', 2), 'too many messages',
        "$name: reason for people";
    my ($reason, $code, $turns) = @{ saved($f->{id}) };
    is $reason, 'client_protocol', "$name: recorded as client_protocol";
    is $code, 4029, "$name: with 4029";
    return $turns;
}

# the worker's CPU time (user + system, seconds), from /proc
my ($worker) = $t->worker_pids;
sub cpu {
    open my $fh, '<', "/proc/$worker/stat" or return 0;
    my @f = split / /, (<$fh> =~ s/^.*\) //r);
    return ($f[11] + $f[12]) / 100;
}
my $cpu0 = cpu();

# two million one-letter texts (64 MB), the issue's flood
my $text = flood($F->(opcode => 1, payload => '{"type":"text","text":"a"}')
                 x 10000, 200);
ok $text->{id}, 'the text flooder has a call';

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

my $turns = flood_closed($text, 'text flood');
my $cpu = cpu() - $cpu0;
diag sprintf 'the worker spent %.2f s of CPU on the text flood', $cpu;
ok $cpu < 5, "the flood cost the worker little CPU ($cpu s)";
ok defined $turns && $turns <= 30,
    "its saved record is bounded (" . ($turns // 'none') . " turns)";

my ($bytes) = $t->sql(q{SELECT coalesce(sum(octet_length(text)), 0)
                        FROM conversation_turns
                        WHERE conversation_id = :'p1'}, $text->{id});
ok $bytes->[0] <= 30, "and its transcript ($bytes->[0] bytes)";

# a message that never ends: empty continuation frames (6 bytes each)
# complete no message; every byte read counts all the same
my $frag = flood($F->(opcode => 0, fin => 0, payload => '') x 100000, 20,
                 $F->(opcode => 1, fin => 0, payload => '{'));
settle(0.2);
my $during = round_trips(10);
ok $during->{max} <= $max_limit,
    "a fragment flood leaves the others alone ($during->{max} ms)";
is flood_closed($frag, 'fragment flood'), 0, 'no turn from it';

# the worker still serves audio, and new calls
my $after = round_trips(5);
ok $after->{max} <= $max_limit, 'round trips after the floods are normal';

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
