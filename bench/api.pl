#!/usr/bin/perl
# Benchmark: an authenticated GET /api/agents (JWT check, rate limit in
# Redis, Postgres read) against nginx's own `return 200`, same nginx, same
# run.  Usage: perl bench/api.pl [seconds] [connections]
# Prints a markdown table; bench/RESULTS.md keeps the figures.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Orbis::Test;

my $secs = shift // 10;
my $conns = shift // 64;

my $pg_conns = $ENV{PG_CONNS} // 4;

# UNIX=1: nginx reaches Postgres and Redis over Unix sockets (co-located)
my $unix = $ENV{UNIX} // 0;

my $t = Orbis::Test->new(workers => 2, unix_sockets => $unix, http => qq{
    orbis_rate_limit 100000000;
    orbis_postgres_max_connections $pg_conns;
    access_log off;
}, server => q{
    location = /ref { return 200 "ok\n"; }
});

my $s = $t->signup;
for my $i (1 .. 20) {
    $t->post('/api/agents', headers => $s->{auth}, json => {
        name => "Agent $i", systemPrompt => 'You answer the phone.' x 10,
        voice => 'Kore' });
}

# CPU seconds used so far by each part of the stack: nginx workers,
# Postgres (postmaster and backends), Redis; wrk's come from times()
my $TCK = 100;    # USER_HZ on Linux

sub children_of {
    my ($ppid) = @_;
    return grep { ((split ' ', (slurp("/proc/$_/stat") // ''))[3] // 0)
                  == $ppid } map { m{/(\d+)$} } glob '/proc/[0-9]*';
}

sub slurp {
    open my $fh, '<', $_[0] or return undef;
    local $/;
    return scalar <$fh>;
}

sub cpu_of {
    my $sum = 0;
    for my $pid (@_) {
        my $st = slurp("/proc/$pid/stat") // next;
        $st =~ s/^.*\)\s+//s;    # past "pid (comm)"
        my @f = split ' ', $st;
        $sum += ($f[11] + $f[12]) / $TCK;    # utime, stime
    }
    return $sum;
}

sub stack_cpu {
    my $pm = (split /\n/, slurp($t->dir . '/pg/data/postmaster.pid'))[0];
    return {
        nginx    => cpu_of($t->worker_pids),
        postgres => cpu_of($pm, children_of($pm)),
        redis    => cpu_of($t->{pids}{redis}),
        wrk      => (times)[2] + (times)[3],
    };
}

sub wrk {
    my ($path, @hdr) = @_;
    my @h = map { ('-H', $_) } @hdr;
    # warm up, then measure
    system('wrk', '-t2', "-c$conns", '-d2s', @h, $t->url($path)) == 0
        or die 'wrk failed';
    my $before = stack_cpu();
    my $out = qx{wrk -t2 -c$conns -d${secs}s --latency @{[
        join ' ', map { "'$_'" } @h ]} '@{[ $t->url($path) ]}' 2>&1};
    my $after = stack_cpu();
    my %cpu = map { $_ => $after->{$_} - $before->{$_} } keys %$after;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $unit) = $out =~ /\s99%\s+([\d.]+)(us|ms|s)/;
    $p99 /= 1000 if $unit eq 'us';
    $p99 *= 1000 if $unit eq 's';
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    my ($total) = $out =~ /(\d+) requests in/;
    my %us = map { $_ => $total ? $cpu{$_} * 1e6 / $total : 0 } keys %cpu;
    return { rps => $rps, p99 => $p99, errors => $non2xx // 0, raw => $out,
             us => \%us };
}

my $ref = wrk('/ref');
my $api = wrk('/api/agents?limit=20', "Authorization: Bearer $s->{token}");
my $again = wrk('/ref');

my $refrps = ($ref->{rps} + $again->{rps}) / 2;
printf "| endpoint | requests/s | p99 (ms) | non-2xx |\n";
printf "|---|---|---|---|\n";
printf "| nginx `return 200` (before/after) | %.0f / %.0f | %.2f / %.2f | %d |\n",
    $ref->{rps}, $again->{rps}, $ref->{p99}, $again->{p99},
    $ref->{errors} + $again->{errors};
printf "| GET /api/agents (JWT + Redis GCRA + Postgres, 20 rows) "
     . "| %.0f | %.2f | %d |\n", $api->{rps}, $api->{p99}, $api->{errors};
printf "\nratio GET /api/agents / return 200: %.3f\n", $api->{rps} / $refrps;
printf "\nCPU per request (us), from the processes' own counters:\n";
printf "| run | nginx workers | Postgres | Redis | wrk | all |\n";
printf "|---|---|---|---|---|---|\n";
for my $r (['return 200', $ref], ['GET /api/agents', $api]) {
    my $u = $r->[1]{us};
    my $all = 0;
    $all += $_ for values %$u;
    printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f |\n", $r->[0],
        @$u{qw(nginx postgres redis wrk)}, $all;
}
printf "wrk: %d connections, 2 threads, %ds per run; nginx: 2 workers, "
     . "%d Postgres connections each; Postgres and Redis over %s; %s\n",
    $conns, $secs, $pg_conns, $unix ? 'Unix sockets' : 'loopback TCP',
    scalar localtime;

$t->teardown;
