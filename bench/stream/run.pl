#!/usr/bin/perl
# Voice-stream benchmark: many real-time sessions (a 20 ms frame every
# 20 ms, both ways) through `location /stream { orbis_stream; }` to a fast
# fake Gemini Live server, and in the same run the same load through
# nginx's own proxy_pass WebSocket relay to the same fake; each also
# straight against the fake (no nginx) as the latency baseline.
#
#   perl bench/stream/run.pl [--ladder 100,150,200,250,300,400,500,1000,2000]
#        [--duration 8] [--warmup 2] [--ramp 500] [--threads 2]
#        [--fake-procs 1] [--paths direct,relay,orbis] [--json FILE]
#        [--idle-sessions 2000] [--max-added-p99 5] [--workers 2]
#        [--repeat 1]
#
# --repeat K runs every measurement K times and keeps the one with the
# lowest p99 (the machine is shared: other work only ever adds latency).
#
# The ladder stops climbing once both paths lose sessions or frames (the
# machine is saturated); then --idle-sessions calls are opened on each
# path with no audio, for worker memory per open call at that count.
#
# The harness (t/lib: Orbis::Test, TestCA), the module and the migrations
# come from ORBIS_ROOT (default: the tree this file is in), so the same
# script measures a work tree where /stream is being built:
#   ORBIS_ROOT=/path/to/tree perl bench/stream/run.pl
# The module and liborbiscore are copied before nginx starts, so a rebuild
# during the run does not change what is measured.
#
# Whether the module has /stream is detected (the directive names in the
# .so, then nginx accepting the configuration); without it only the
# reference relay is measured, and the table says so.
#
# Every step restarts nginx, so worker memory and CPU are that step's.
# Needs `npm ci --prefix bench/stream` first (bench/stream/run.sh does
# it) and a raised open-files limit (run.sh: ulimit -n).
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Copy qw(copy);
use File::Temp ();
use FindBin;
use Getopt::Long;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my ($BENCH, $ROOT);

BEGIN {
    $BENCH = $FindBin::Bin;
    $ROOT = abs_path($ENV{ORBIS_ROOT} // "$FindBin::Bin/../..");
}

use lib "$ROOT/t/lib";
use Orbis::Test;
use TestCA;

my %o = (
    ladder => '100,150,200,250,300,400,500,1000,2000', duration => 8,
    warmup => 2, 'idle-sessions' => 2000,
    ramp => 500, threads => 2, 'fake-procs' => 1,
    paths => 'direct,relay,orbis', json => '', 'max-added-p99' => 5,
    workers => 2, repeat => 1,
);
GetOptions(\%o, 'ladder=s', 'duration=i', 'warmup=i', 'ramp=i',
           'threads=i', 'fake-procs=i', 'paths=s', 'json=s',
           'max-added-p99=f', 'workers=i', 'idle-sessions=i', 'repeat=i')
    or die "usage: see the top of $0\n";

my @LADDER = split /,/, $o{ladder};
my %PATH = map { $_ => 1 } split /,/, $o{paths};
my $ORIGIN = 'http://bench.example';
my $MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025';
my $LIVE_PATH = '/ws/google.ai.generativelanguage.v1beta.GenerativeService'
              . '.BidiGenerateContent';
my $TCK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
my $JSON = JSON::PP->new->canonical;

$| = 1;

sub note { print STDERR "bench: @_\n" }

# ------------------------------------------------------------------ setup

-f "$BENCH/node_modules/ws/package.json"
    or die "run `npm ci --prefix bench/stream` first\n";

my $tmp = File::Temp::tempdir('orbis-stream-bench-XXXXXX', TMPDIR => 1,
                              CLEANUP => !$ENV{ORBIS_KEEP_TMP});
chmod 0755, $tmp;

# a snapshot of the module, so that a rebuild in the tree cannot swap it
# under a running nginx
my $so = "$ROOT/build/nginx/objs/ngx_http_orbis_module.so";
-f $so or die "$so is not built (make build in $ROOT)\n";
mkdir "$tmp/mod";
copy($so, "$tmp/mod/ngx_http_orbis_module.so") or die "copy: $!";
for my $lib (glob "$ROOT/liborbiscore/build/liborbiscore.so*") {
    copy($lib, "$tmp/mod/" . (split m{/}, $lib)[-1]) or die "copy: $!";
}
$ENV{LD_LIBRARY_PATH} = "$tmp/mod";

my $has_stream = do {
    open my $fh, '<:raw', $so or die "$so: $!";
    local $/;
    my $bin = <$fh>;
    index($bin, "orbis_gemini_url\0") >= 0
        && index($bin, "orbis_stream\0") >= 0;
};
my $stream_note = $has_stream ? ''
    : "the module in $ROOT has no orbis_stream directive";
note("module: $so (" . ($has_stream ? 'has' : 'no') . ' /stream)');

my $ca = TestCA::make("$tmp/ca");

# ---------------------------------------------------------------- the fake

my ($fake_pid, $fake_port);
{
    my $gemini_key = join '', map { ('a' .. 'z')[rand 26] } 1 .. 39;
    open my $kf, '>', "$tmp/gemini.key" or die $!;
    print $kf "$gemini_key\n";
    close $kf;

    pipe(my $r, my $w) or die "pipe: $!";
    $fake_pid = fork // die "fork: $!";
    if ($fake_pid == 0) {
        close $r;
        open STDOUT, '>&', $w or die;
        open STDERR, '>>', "$tmp/fake.log" or die;
        exec 'node', "$BENCH/fake-model.mjs", '--tls-dir', $ca->{dir},
             '--procs', $o{'fake-procs'}, '--key', $gemini_key;
        exit 127;
    }
    close $w;
    my $line = <$r>;
    die "the fake model did not start:\n" . `cat $tmp/fake.log` unless $line;
    $fake_port = $JSON->decode($line)->{port};
    note("fake model: pid $fake_pid, port $fake_port");
}

END {
    if ($fake_pid) {
        kill 'TERM', $fake_pid;
        waitpid $fake_pid, 0;
    }
}

# ------------------------------------------------------------------ nginx

package StreamBench::Test {
    our @ISA = ('Orbis::Test');

    # Thousands of sockets: two per session in nginx (caller and model).
    sub nginx_conf {
        my $self = shift;
        my $c = $self->SUPER::nginx_conf(@_);
        # as high as this process may go (run.sh raises it); a worker
        # cannot pass the hard limit without CAP_SYS_RESOURCE
        my $hard = `sh -c 'ulimit -Hn'`;
        $hard = $hard =~ /^(\d+)/ ? ($1 > 65536 ? 65536 : $1) : 65536;
        my $conns = $hard - 200;
        $c =~ s/events \{[^}]*\}/events { worker_connections $conns; }/
            or die "no events block to widen\n";
        $c =~ s/^(worker_processes)/worker_rlimit_nofile $hard;\n$1/m;
        $c =~ s{^load_module \S+;}
               {load_module $self->{opt}{bench_module};}m;
        return $c;
    }
}

my $relay = <<"EOF";
    location /relay {
        proxy_pass https://127.0.0.1:$fake_port/raw;
        proxy_http_version 1.1;
        proxy_set_header Upgrade \$http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_ssl_trusted_certificate $ca->{ca};
        proxy_ssl_verify on;
        proxy_ssl_name localhost;
        proxy_read_timeout 1h;
    }
EOF

sub http_conf {
    my ($stream) = @_;
    my $c = "    access_log off;\n    orbis_rate_limit 1000000;\n";
    $c .= <<"EOF" if $stream;
    orbis_gemini_url wss://127.0.0.1:$fake_port$LIVE_PATH;
    orbis_gemini_key_file $tmp/gemini.key;
    orbis_gemini_ca_file $ca->{ca};
    orbis_gemini_model $MODEL;
EOF
    return $c;
}

my $t;
for my $try ($has_stream ? (1, 0) : (0)) {
    my %cfg = (workers => $o{workers},
               bench_module => "$tmp/mod/ngx_http_orbis_module.so",
               http => http_conf($try),
               server => $relay
                   . ($try ? "    location /stream { orbis_stream; }\n" : ''));
    $t = eval { StreamBench::Test->new(%cfg) };
    last if $t;
    my $err = $@;
    # the failed attempt's Postgres and Redis are still up
    $Orbis::Test::LIVE[-1]->teardown if @Orbis::Test::LIVE;
    note("nginx did not start with /stream: $err");
    $stream_note = 'nginx refused the /stream configuration: '
                 . (($err =~ /(\[emerg\][^\n]*)/)[0] // 'see the log');
    $has_stream = 0;
}
$t or die "nginx did not start\n";

# an account the way a customer gets one: signup, agent, publishable key;
# then a plan without limits, so thousands of calls per step are neither
# rate limited nor over the month's allowance
my ($agent_id, $pk);
{
    my $su = $t->post('/api/auth/signup', json => {
        email => "bench.$$\@example.com", password => 'Correct-horse-42',
        tenantName => 'Bench' });
    $su->code == 201 or die 'signup: ' . $su->code . ' ' . $su->body;
    my $s = $su->json;
    $s->{auth} = { Authorization => "Bearer $s->{token}" };
    my $a = $t->post('/api/agents', headers => $s->{auth}, json => {
        name => 'Bench', systemPrompt => 'You answer the phone.',
        voice => 'Kore' });
    $a->code == 201 or die 'agent: ' . $a->code . ' ' . $a->body;
    $agent_id = $a->json->{id};
    my $k = $t->post('/api/api-keys', headers => $s->{auth}, json => {
        name => 'bench', kind => 'publishable',
        allowedOrigins => [$ORIGIN], agentIds => [$agent_id] });
    $k->code == 201 or die 'key: ' . $k->code . ' ' . $k->body;
    $pk = $k->json->{key};
    $t->sql(q{INSERT INTO plans (id, name, price_monthly_cents,
                                 conversations_per_month,
                                 rate_limit_per_minute, sort)
              VALUES ('bench', 'Bench', 0, 1000000000, 1000000, 99)
              ON CONFLICT (id) DO NOTHING});
    $t->sql(q{UPDATE tenants SET plan = 'bench' WHERE id = :'p1'},
            $s->{tenant}{id});
}

# ----------------------------------------------------------- measurements

sub proc_cpu {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $line = <$fh>;
    $line =~ s/^.*\)\s+//;
    my @f = split ' ', $line;
    # fields 14 and 15 of stat (utime, stime), counted after the name
    return ($f[11] + $f[12]) / $TCK;
}

sub machine_cpu {
    open my $fh, '<', '/proc/stat' or return (0, 0);
    my ($cpu) = grep { /^cpu / } <$fh>;
    my @f = (split ' ', $cpu)[1 .. 8];
    my $total = 0;
    $total += $_ for @f;
    return ($total - $f[3] - $f[4], $total);
}

sub children {
    my ($pid) = @_;
    return split ' ', `pgrep -P $pid`;
}

sub cpu_sample {
    my ($loader) = @_;
    my @workers = $t->worker_pids;
    my %s = (time => time, workers => 0, fake => 0, loader => 0);
    $s{workers} += proc_cpu($_) for @workers;
    $s{fake} += proc_cpu($_) for $fake_pid, children($fake_pid);
    $s{loader} = proc_cpu($loader) if $loader;
    @s{qw(busy total)} = machine_cpu();
    return \%s;
}

sub mem_sample {
    my %m = (rss => 0, pss => 0, workers => 0);
    for my $pid ($t->worker_pids) {
        open my $fh, '<', "/proc/$pid/smaps_rollup" or next;
        $m{workers}++;
        while (<$fh>) {
            $m{rss} += $1 if /^Rss:\s+(\d+) kB/;
            $m{pss} += $1 if /^Pss:\s+(\d+) kB/;
        }
    }
    return \%m;
}

sub restart_nginx {
    my @old = $t->worker_pids;
    $t->stop_nginx;
    # workers outlive a master that had to be killed: wait for them
    for (1 .. 100) {
        last unless grep { kill 0, $_ } @old;
        sleep 0.1;
    }
    eval { $t->start_nginx; 1 } or do {
        my $err = $@;
        die "nginx did not restart: [$err]\n" . `tail -5 ${\ $t->error_log}`;
    };
    sleep 1.5;        # workers connect to Postgres and Redis, then idle
}

# best of --repeat runs: the lowest p99
sub run_load {
    my (%a) = @_;
    my @runs;
    for my $i (1 .. ($a{idle} ? 1 : $o{repeat})) {
        restart_nginx() if $a{nginx} && $i > 1;
        push @runs, run_load_once(%a);
        sleep 2 if $a{mode} eq 'orbis';
    }
    my @ok = sort { $a->{rttMs}{p99} <=> $b->{rttMs}{p99} }
             grep { !$_->{error} && defined $_->{rttMs}{p99} } @runs;
    my $best = $ok[0] // $runs[0];
    $best->{repeats} = [ map { $_->{error} ? undef : $_->{rttMs}{p99} }
                         @runs ];
    return $best;
}

# runs load.mjs once; samples CPU at the window's edges and worker memory
# with every session open
sub run_load_once {
    my (%a) = @_;

    my @cmd = ('node', "$BENCH/load.mjs", '--mode', $a{mode},
               '--url', $a{url}, '--sessions', $a{n},
               '--duration', $o{duration}, '--warmup', $o{warmup},
               '--ramp', $o{ramp}, '--threads', $o{threads},
               '--origin', $ORIGIN, '--model', $MODEL,
               '--send', $a{idle} ? 0 : 1);
    push @cmd, '--ca', $ca->{ca} if $a{url} =~ /^wss:/;

    my $idle = $a{nginx} ? mem_sample() : undef;
    my $loadavg = `cat /proc/loadavg`;
    chomp $loadavg;

    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>>', "$tmp/load.log" or die;
        exec @cmd;
        exit 127;
    }

    my ($c0, $c1, $mem, $res, $ready);
    my $limit = $a{n} / $o{ramp} + $o{warmup} + $o{duration} + 90;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $limit;
        while (my $line = <$fh>) {
            if ($line =~ /^READY (\d+) (\d+)/) {
                $ready = $1;
            } elsif ($line =~ /^MEASURE_START/) {
                $c0 = cpu_sample($pid);
                $mem = mem_sample() if $a{nginx};
            } elsif ($line =~ /^MEASURE_END/) {
                $c1 = cpu_sample($pid);
            } elsif ($line =~ /^RESULT (.*)/) {
                $res = $JSON->decode($1);
            }
        }
        alarm 0;
    };
    if ($@) {
        note("load.mjs timed out after $limit s: killing $pid");
        kill 'KILL', $pid;
    }
    close $fh;

    return { error => 'no result (see load.log)' } unless $res && $c0 && $c1;

    my $secs = $c1->{time} - $c0->{time};
    my $relayed = $res->{framesSent} + $res->{framesAnswered};
    my $tot = $c1->{total} - $c0->{total} || 1;
    $res->{loadavg} = $loadavg;
    $res->{cpu} = {
        windowS => $secs,
        workersS => $c1->{workers} - $c0->{workers},
        fakeS => $c1->{fake} - $c0->{fake},
        loaderS => $c1->{loader} - $c0->{loader},
        machineBusy => ($c1->{busy} - $c0->{busy}) / $tot,
        machineBusyS => ($c1->{busy} - $c0->{busy}) / $TCK,
    };
    # softirq work for loopback TCP, our Postgres and Redis, and whatever
    # else runs on the machine
    $res->{cpu}{otherS} = $res->{cpu}{machineBusyS} - $res->{cpu}{workersS}
        - $res->{cpu}{fakeS} - $res->{cpu}{loaderS};
    $res->{cpu}{workerUsPerRelayedFrame} = $relayed
        ? $res->{cpu}{workersS} * 1e6 / $relayed : undef;
    $res->{cpu}{fakeUsPerFrame} = $res->{framesAnswered}
        ? $res->{cpu}{fakeS} * 1e6 / $res->{framesAnswered} : undef;
    if ($a{nginx} && $mem && $res->{ready}) {
        $res->{mem} = {
            idleRssKB => $idle->{rss}, idlePssKB => $idle->{pss},
            rssKB => $mem->{rss}, pssKB => $mem->{pss},
            rssPerSessionKB => ($mem->{rss} - $idle->{rss}) / $res->{ready},
            pssPerSessionKB => ($mem->{pss} - $idle->{pss}) / $res->{ready},
        };
    }
    return $res;
}

# ------------------------------------------------------------------- runs

my $fake_live = "wss://127.0.0.1:$fake_port$LIVE_PATH?key="
              . do { open my $f, '<', "$tmp/gemini.key"; my $k = <$f>;
                     chomp $k; $k };
my %R;
my @DONE;

sub broken {
    my ($r) = @_;
    return 1 if !$r || $r->{error};
    return $r->{failed} || $r->{closedUnexpected}
        || $r->{lost} > 0.01 * ($r->{framesSent} || 1);
}

for my $n (@LADDER) {
    my @live = grep { $PATH{$_} } qw(relay orbis);
    @live = grep { $_ ne 'orbis' } @live unless $has_stream;
    if (@DONE && @live && !grep { !broken($R{$DONE[-1]}{$_}) } @live) {
        note("stopping the ladder at $n: every path was saturated at "
             . "$DONE[-1] sessions");
        last;
    }
    push @DONE, $n;
    if ($PATH{direct}) {
        note("$n sessions: direct raw (no nginx)");
        $R{$n}{direct_raw} = run_load(mode => 'raw', n => $n,
            url => "wss://127.0.0.1:$fake_port/raw");
    }
    if ($PATH{relay}) {
        note("$n sessions: nginx proxy_pass relay");
        restart_nginx();
        $R{$n}{relay} = run_load(mode => 'raw', n => $n, nginx => 1,
            url => $t->url('/relay') =~ s/^http/ws/r);
    }
    if ($PATH{orbis} && $has_stream) {
        if ($PATH{direct}) {
            note("$n sessions: direct Gemini protocol (no nginx)");
            $R{$n}{direct_gemini} = run_load(mode => 'gemini', n => $n,
                url => $fake_live);
        }
        note("$n sessions: orbis /stream");
        restart_nginx();
        $R{$n}{orbis} = run_load(mode => 'orbis', n => $n, nginx => 1,
            url => $t->url("/stream?agent=$agent_id&key=$pk")
                   =~ s/^http/ws/r);
    }
}

# worker memory per open call at a count the audio load cannot reach here
my %IDLE;
if ($o{'idle-sessions'}) {
    my $n = $o{'idle-sessions'};
    for my $p (qw(relay orbis)) {
        next unless $PATH{$p} && ($p eq 'relay' || $has_stream);
        note("$n sessions open, no audio: $p");
        restart_nginx();
        $IDLE{$p} = run_load(mode => $p eq 'relay' ? 'raw' : 'orbis',
            n => $n, nginx => 1, idle => 1,
            url => $t->url($p eq 'relay' ? '/relay'
                           : "/stream?agent=$agent_id&key=$pk")
                   =~ s/^http/ws/r);
    }
}

# ---------------------------------------------------------------- report

sub f {
    my ($v, $fmt) = @_;
    return defined $v ? sprintf($fmt // '%.2f', $v) : '-';
}

sub max0 { $_[0] > 0 ? $_[0] : 0 }

sub held {
    my ($r, $base) = @_;
    return 'no result' if !$r || $r->{error};
    my @why;
    push @why, "$r->{failed} failed" if $r->{failed};
    push @why, "$r->{closedUnexpected} cut" if $r->{closedUnexpected};
    push @why, "$r->{lost} lost" if $r->{lost} > 0.001 * $r->{framesSent};
    push @why, 'error events' if $r->{errorEvents};
    return join(', ', @why) if @why;
    return 'no baseline' if !$base || $base->{error};
    return 'baseline saturated'
        if ($base->{rttMs}{p99} // 1e9) > 4 * $o{'max-added-p99'};
    my $added = $r->{rttMs}{p99} - $base->{rttMs}{p99};
    return $added < $o{'max-added-p99'} ? 'yes' : 'p99 +' . f($added);
}

my @rows;
my %best = (relay => 0, orbis => 0);
for my $n (@DONE) {
    for my $p (qw(relay orbis)) {
        my $r = $R{$n}{$p} or next;
        my $b = $R{$n}{$p eq 'relay' ? 'direct_raw' : 'direct_gemini'};
        my $h = held($r, $b);
        $best{$p} = $n if $h eq 'yes' && $n > $best{$p};
        my $ok = !$r->{error};
        push @rows, sprintf '| %d | %s | %s | %s | %s / %s / %s | %s | %s | '
            . '%s | %s | %s | %s | %s |',
            $n, $p eq 'relay' ? 'nginx proxy_pass' : 'orbis /stream',
            $ok ? "$r->{ready}" : '-',
            $ok ? f($r->{framesPerS}, '%.0f') : '-',
            map({ $ok ? f($r->{rttMs}{$_}) : '-' } qw(p50 p99 max)),
            $b && !$b->{error} ? f($b->{rttMs}{p99}) : '-',
            $ok && $b && !$b->{error}
                ? f($r->{rttMs}{p99} - $b->{rttMs}{p99}) : '-',
            $ok ? f($r->{cpu}{workerUsPerRelayedFrame}) : '-',
            $ok && $r->{mem} ? f($r->{mem}{pssPerSessionKB}, '%.1f') . ' / '
                               . f($r->{mem}{rssPerSessionKB}, '%.1f') : '-',
            # "other" is a difference of two tick counts: +-0.1 core
            $ok ? join(' / ', map { f(max0($r->{cpu}{$_})
                                      / $r->{cpu}{windowS})
                                  } qw(workersS fakeS loaderS otherS))
                  . ' (' . f(100 * $r->{cpu}{machineBusy}, '%.0f') . '%)'
                : '-',
            $ok ? join(' ', map { "$_:$r->{closeCodes}{$_}" }
                                sort keys %{ $r->{closeCodes} })
                  . join(' ', map { "$_:$r->{errors}{$_}" }
                                  sort keys %{ $r->{errors} })
                : $r->{error},
            $h;
    }
}

print "\n| sessions | path | ready | frames/s back | RTT p50 / p99 / max "
    . "(ms) | direct p99 (ms) | added p99 (ms) | worker CPU us per relayed "
    . "frame | worker PSS / RSS per session (KB) | CPU cores nginx / fake "
    . "/ generator / other (machine busy) | closes, errors | held |\n";
print '|' . ('---|' x 12) . "\n";
print "$_\n" for @rows;

print "\nbaselines (load.mjs straight to the fake, TLS, no nginx):\n";
print "| sessions | protocol | RTT p50 / p99 / max (ms) | send late p99 "
    . "(ms) | generator CPU us/frame | fake CPU us/frame |\n";
print '|' . ('---|' x 6) . "\n";
for my $n (@DONE) {
    for my $p (qw(direct_raw direct_gemini)) {
        my $r = $R{$n}{$p} or next;
        next if $r->{error};
        printf "| %d | %s | %s / %s / %s | %s | %s | %s |\n", $n,
            $p eq 'direct_raw' ? 'raw' : 'Gemini JSON',
            map({ f($r->{rttMs}{$_}) } qw(p50 p99 max)),
            f($r->{sendLateMs}{p99}),
            f($r->{generator}{cpuUsPerFrame}, '%.1f'),
            f($r->{cpu}{fakeUsPerFrame}, '%.1f');
    }
}

print "\nCPU per relayed frame, orbis / relay:\n";
for my $n (@DONE) {
    my ($a, $b) = map { $R{$n}{$_} } qw(orbis relay);
    next unless $a && $b && !$a->{error} && !$b->{error};
    printf "  %d sessions: %.2f us / %.2f us = %.2fx\n", $n,
        $a->{cpu}{workerUsPerRelayedFrame},
        $b->{cpu}{workerUsPerRelayedFrame},
        $a->{cpu}{workerUsPerRelayedFrame}
        / ($b->{cpu}{workerUsPerRelayedFrame} || 1e-9);
}

if (%IDLE) {
    print "\nworker memory with $o{'idle-sessions'} calls open, no audio:\n";
    for my $p (qw(relay orbis)) {
        my $r = $IDLE{$p} or next;
        if ($r->{error} || !$r->{mem}) {
            print "  $p: no result\n";
            next;
        }
        printf "  %s: %d of %d open (%s failed); PSS %.1f KB, RSS %.1f KB "
            . "per call (workers: idle PSS %d KB, with the calls %d KB)\n",
            $p eq 'relay' ? 'nginx proxy_pass' : 'orbis /stream',
            $r->{ready}, $r->{sessions}, $r->{failed},
            $r->{mem}{pssPerSessionKB}, $r->{mem}{rssPerSessionKB},
            $r->{mem}{idlePssKB}, $r->{mem}{pssKB};
    }
}

printf "\nmost sessions held (p99 added < %s ms, nothing lost): relay %s, "
    . "orbis %s\n", $o{'max-added-p99'}, $best{relay} || 'none',
    $has_stream ? ($best{orbis} || 'none') : 'n/a';
print "orbis /stream not measured: $stream_note\n" unless $has_stream;
printf "load.mjs: %d threads, %d s window after %d s warm-up, ramp %d "
    . "sessions/s; nginx %d workers; fake %d process(es); %s; %s\n",
    $o{threads}, $o{duration}, $o{warmup}, $o{ramp}, $o{workers},
    $o{'fake-procs'}, scalar(localtime), "module from $ROOT";

{
    # what went wrong, once per kind (ids and numbers folded)
    my (%lv, %kind);
    for my $line (split /\n/, $t->error_log_text) {
        next unless $line =~ /\[(emerg|alert|crit|error|warn)\]/;
        my $level = $1;
        $lv{$level}++;
        (my $k = $line) =~ s/^.*?\] \d+#\d+: (?:\*\d+ )?//;
        $k =~ s/[0-9a-f]{8}-[0-9a-f-]{27}/ID/g;
        $k =~ s/, client: .*//;
        $kind{"[$level] $k"}++;
    }
    printf "nginx error log: %s\n", %lv ? join(', ', map { "$lv{$_} [$_]" }
                                                 sort keys %lv) : 'clean';
    my @top = sort { $kind{$b} <=> $kind{$a} } keys %kind;
    splice @top, 8 if @top > 8;
    printf "  %6d x %s\n", $kind{$_}, substr($_, 0, 110) for @top;
}

if ($o{json}) {
    open my $jf, '>', $o{json} or die "$o{json}: $!";
    print $jf $JSON->pretty->encode({ options => \%o, root => $ROOT,
        stream => $has_stream ? JSON::PP::true : JSON::PP::false,
        stream_note => $stream_note, results => \%R, idle => \%IDLE });
    close $jf;
    note("all figures: $o{json}");
}

$t->teardown;
