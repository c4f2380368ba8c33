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

my $t = Orbis::Test->new(workers => 2, http => qq{
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

sub wrk {
    my ($path, @hdr) = @_;
    my @h = map { ('-H', $_) } @hdr;
    # warm up, then measure
    system('wrk', '-t2', "-c$conns", '-d2s', @h, $t->url($path)) == 0
        or die 'wrk failed';
    my $out = qx{wrk -t2 -c$conns -d${secs}s --latency @{[
        join ' ', map { "'$_'" } @h ]} '@{[ $t->url($path) ]}' 2>&1};
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $unit) = $out =~ /\s99%\s+([\d.]+)(us|ms|s)/;
    $p99 /= 1000 if $unit eq 'us';
    $p99 *= 1000 if $unit eq 's';
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    return { rps => $rps, p99 => $p99, errors => $non2xx // 0, raw => $out };
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
printf "wrk: %d connections, 2 threads, %ds per run; nginx: 2 workers, "
     . "%d Postgres connections each; %s\n", $conns, $secs, $pg_conns,
    scalar localtime;

$t->teardown;
