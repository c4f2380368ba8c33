package Orbis::Test;

# The integration-test harness: a throwaway Postgres, Redis and nginx (with
# the module) on free ports in a temp dir, torn down whatever happens.
#
#   my $t = Orbis::Test->new;            # starts all three
#   my $res = $t->get('/api/health');    # Mojo::Message::Response
#   $t->stop_redis; ... $t->start_redis;
#   Orbis::Test->new(main => 'worker_shutdown_timeout 1s;')  # main context
#   Orbis::Test->new(tls => 1)           # also HTTPS on tls_port (TestCA)
#   $t->get('/api/health', tls => 1);    # ... and a request over it
#   Orbis::Test->new(listen => 'reuseport')  # extra listen parameters
#   Orbis::Test->new(shipped_conf => 1)  # conf/orbis-server.conf's
#                                        # locations instead of the harness's
#   my $n2 = $t->another_node;           # a second nginx on the same
#   $n2->done; $t->done;                 # Postgres, Redis and JWT secret
#   $t->expect_error_log(qr/exact msg/); # an [error] the test provokes
#   $t->done;                            # checks the error log (strict:
#                                        # see "checks"), stops all

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Mojo::UserAgent;
use Mojo::JSON qw(decode_json encode_json);
use Test::More;
use Exporter qw(import);

our @EXPORT_OK = qw(is_error);
our $ROOT = abs_path(dirname(__FILE__) . '/../../..');
our @LIVE;

my $PGBIN = do {
    my $b = `pg_config --bindir 2>/dev/null`;
    chomp $b;
    (-x "$b/initdb") ? $b : (sort glob('/usr/lib/postgresql/*/bin'))[-1];
};

sub new {
    my ($class, %opt) = @_;

    my $self = bless {
        opt     => \%opt,
        dir     => tempdir('orbis-test-XXXXXX', TMPDIR => 1, CLEANUP => 0),
        pids    => {},
        workers => $opt{workers} // 2,
    }, $class;

    push @LIVE, $self;

    chmod 0755, $self->{dir};
    make_path(map { "$self->{dir}/$_" } qw(logs tmp pg));
    $self->_svc_own("$self->{dir}/pg");

    $self->start_postgres unless $opt{no_postgres};
    $self->start_redis unless $opt{no_redis};
    $self->start_nginx unless $opt{no_nginx};

    return $self;
}

sub dir { $_[0]{dir} }

sub free_port {
    my $s = IO::Socket::INET->new(
        Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1
    ) or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Postgres refuses to run as root; services that need it run as orbis
sub _as_svc {
    my ($self, @cmd) = @_;
    return ($> == 0) ? ('runuser', '-u', 'orbis', '--', @cmd) : @cmd;
}

sub _svc_own {
    my ($self, $path) = @_;
    return unless $> == 0;
    my ($uid, $gid) = (getpwnam('orbis'))[2, 3];
    croak "user orbis is missing: run scripts/deps.sh" unless defined $uid;
    chown $uid, $gid, $path;
}

sub _run {
    my ($self, @cmd) = @_;
    my $out = "$self->{dir}/logs/cmd.log";
    system("@{[map { _q($_) } @cmd]} >>$out 2>&1") == 0
        or croak "failed: @cmd (see $out):\n" . _tail($out);
}

sub _q {
    my $s = shift;
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

sub _tail {
    my $f = shift;
    open my $fh, '<', $f or return '';
    my @l = <$fh>;
    return join '', @l[ ($#l > 20 ? $#l - 20 : 0) .. $#l ];
}

# ---------------------------------------------------------------- Postgres

sub pg_port { $_[0]{pg_port} }

sub start_postgres {
    my $self = shift;
    my $data = "$self->{dir}/pg/data";

    $self->{pg_port} //= free_port();

    unless (-f "$data/PG_VERSION") {
        $self->_run($self->_as_svc("$PGBIN/initdb", '-D', $data, '-U',
                    'orbis', '-A', 'trust', '-E', 'UTF8', '--no-sync'));
    }

    $self->_run($self->_as_svc("$PGBIN/pg_ctl", '-D', $data, '-w',
        '-l', "$self->{dir}/pg/postgres.log", '-o',
        "-p $self->{pg_port} -c listen_addresses=127.0.0.1"
        . " -k $self->{dir}/pg -c fsync=off -c full_page_writes=off",
        'start'));

    unless ($self->{pg_ready}++) {
        $self->_run('psql', $self->_pg_args('postgres'), '-q', '-c',
                    'CREATE DATABASE orbis');
        local $ENV{PGHOST} = '127.0.0.1';
        local $ENV{PGPORT} = $self->{pg_port};
        local $ENV{PGUSER} = 'orbis';
        local $ENV{PGDATABASE} = 'orbis';
        $self->_run("$ROOT/scripts/migrate.sh");
    }
}

sub stop_postgres {
    my ($self, $mode) = @_;
    $self->_run($self->_as_svc("$PGBIN/pg_ctl", '-D',
                "$self->{dir}/pg/data", '-m', $mode // 'fast', '-w',
                'stop'));
}

sub _pg_args {
    my ($self, $db) = @_;
    return ('-X', '-h', '127.0.0.1', '-p', $self->{pg_port}, '-U', 'orbis',
            '-d', $db // 'orbis');
}

# runs SQL through psql and returns rows as arrays of strings
sub sql {
    my ($self, $sql, @bind) = @_;
    # binds go in as psql variables, referenced as :'p1', :'p2' ...
    my @vars = map { ('-v', "p" . ($_ + 1) . "=$bind[$_]") } 0 .. $#bind;
    my $file = "$self->{dir}/tmp/query.sql";
    open my $q, '>', $file or croak "$file: $!";
    print $q $sql;
    close $q;
    open my $fh, '-|', 'psql', $self->_pg_args, '-At', '-F', "\t",
        '-v', 'ON_ERROR_STOP=1', @vars, '-f', $file
        or croak "psql: $!";
    my @rows = map { chomp; [ split /\t/, $_, -1 ] } <$fh>;
    close $fh or croak "psql failed on: $sql";
    return @rows;
}

sub sql_value {
    my ($self, $sql, @bind) = @_;
    my @rows = $self->sql($sql, @bind);
    return @rows ? $rows[0][0] : undef;
}

# ------------------------------------------------------------------- Redis

sub redis_port { $_[0]{redis_port} }

sub start_redis {
    my $self = shift;

    $self->{redis_port} //= free_port();

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$self->{dir}/logs/redis.log";
        open STDERR, '>&', \*STDOUT;
        # unix_sockets => 1: nginx talks to Redis and Postgres over Unix
        # sockets (bench/api.pl compares both); tests keep TCP
        my @unix = $self->{opt}{unix_sockets}
            ? ('--unixsocket', "$self->{dir}/redis.sock",
               '--unixsocketperm', '777') : ();
        exec 'redis-server', '--port', $self->{redis_port}, @unix,
             '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
             '--dir', $self->{dir};
        exit 127;
    }

    $self->{pids}{redis} = $pid;
    $self->_wait_port($self->{redis_port}, 'redis');
}

sub stop_redis {
    my $self = shift;
    $self->_stop_pid('redis', 'TERM');
}

sub redis {
    my ($self, @cmd) = @_;
    my $out = `redis-cli -p $self->{redis_port} @{[map { _q($_) } @cmd]}`;
    chomp $out;
    return $out;
}

# ------------------------------------------------------------------- nginx

sub http_port { $_[0]{http_port} }
sub tls_port { $_[0]{tls_port} }
sub error_log { "$_[0]{dir}/logs/error.log" }

# the test CA and the server certificate of the TLS listener
sub tls_paths {
    my $self = shift;
    require TestCA;
    $self->{tls_paths} //= TestCA::make("$self->{dir}/tls");
    return $self->{tls_paths};
}

sub nginx_conf {
    my $self = shift;
    my %o = (%{ $self->{opt} }, @_);

    my $http = $o{http} // '';
    my $main = $o{main} // '';
    my $server = $o{server} // '';
    my $module = "$ROOT/build/nginx/objs/ngx_http_orbis_module.so";
    my $user = $> == 0 ? 'user root;' : '';
    my $unix = $self->{opt}{unix_sockets};
    my $pg = ($unix ? "host=$self->{dir}/pg" : 'host=127.0.0.1')
             . " port=$self->{pg_port} dbname=orbis user=orbis";
    my $redis = $unix ? "unix:$self->{dir}/redis.sock"
                      : "127.0.0.1:$self->{redis_port}";
    my $listen = $o{listen} ? " $o{listen}" : '';

    my $tls = '';
    if ($o{tls}) {
        my $p = $self->tls_paths;
        $tls = "listen 127.0.0.1:$self->{tls_port} ssl$listen;\n"
             . "        ssl_certificate $p->{cert};\n"
             . "        ssl_certificate_key $p->{key};";
    }

    # the operator's file, as shipped (its root and alias are relative to
    # the prefix, where start_nginx links html/ and widget/)
    my $locations = $o{shipped_conf}
        ? "include $ROOT/conf/orbis-server.conf;"
        : <<"LOC";
location /api/ {
            orbis_api;
            error_page 413 = \@orbis_too_large;
        }
        location \@orbis_too_large {
            default_type application/json;
            return 413 '{"error":{"code":"too_large","message":"too large"}}';
        }
LOC

    return <<"EOF";
load_module $module;
$user
worker_processes $self->{workers};
daemon off;
master_process on;
pid $self->{dir}/nginx.pid;
error_log $self->{dir}/logs/error.log info;
events { worker_connections 1024; }
$main
http {
    include /etc/nginx/mime.types;
    client_body_temp_path $self->{dir}/tmp/body;
    proxy_temp_path $self->{dir}/tmp/proxy;
    fastcgi_temp_path $self->{dir}/tmp/fastcgi;
    uwsgi_temp_path $self->{dir}/tmp/uwsgi;
    scgi_temp_path $self->{dir}/tmp/scgi;
    access_log $self->{dir}/logs/access.log;
    client_max_body_size 64k;
    client_body_buffer_size 64k;

    orbis_postgres "$pg";
    orbis_redis $redis;
    orbis_test_endpoints on;
    orbis_jwt_secret_file $self->{dir}/jwt.secret;
    @{[ $http =~ /orbis_auth_rate_limit/ ? '' : 'orbis_auth_rate_limit 10000;' ]}
    orbis_openapi_file $ROOT/docs/openapi.json;
    $http

    server {
        listen 127.0.0.1:$self->{http_port}$listen;
        $tls
        $locations
        $server
    }
}
EOF
}

sub start_nginx {
    my ($self, %o) = @_;
    my %all = (%{ $self->{opt} }, %o);

    $self->{http_port} //= free_port();
    $self->{tls_port} //= free_port() if $all{tls};

    if ($all{shipped_conf}) {
        for my $d (qw(html widget)) {
            symlink "$ROOT/$d", "$self->{dir}/$d" unless -e "$self->{dir}/$d";
        }
    }

    unless (-f "$self->{dir}/jwt.secret") {
        open my $sf, '>', "$self->{dir}/jwt.secret" or croak $!;
        print $sf join '', map { ('a' .. 'z')[rand 26] } 1 .. 48;
        close $sf;
    }

    my $conf = "$self->{dir}/nginx.conf";
    open my $fh, '>', $conf or croak "$conf: $!";
    print $fh $self->nginx_conf(%o);
    close $fh;

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$self->{dir}/logs/nginx.out";
        open STDERR, '>&', \*STDOUT;
        exec 'nginx', '-p', $self->{dir}, '-c', $conf;
        exit 127;
    }

    $self->{pids}{nginx} = $pid;
    $self->_wait_port($self->{http_port}, 'nginx');
}

# old workers close their idle keep-alive connections: a request sent on
# one of those as it closes would fail, so the next request opens afresh
sub reload_nginx {
    my $self = shift;
    kill 'HUP', $self->{pids}{nginx};
    delete $self->{ua};
}

sub stop_nginx {
    my $self = shift;
    $self->_stop_pid('nginx', 'QUIT');
}

# a signal to the master without waiting (QUIT: nginx -s quit)
sub signal_nginx {
    my ($self, $sig) = @_;
    my $pid = $self->{pids}{nginx} or croak 'nginx is not running';
    return kill $sig, $pid;
}

# true once the master has exited (reaped), within $secs
sub wait_nginx_exit {
    my ($self, $secs) = @_;
    my $pid = $self->{pids}{nginx} or return 1;
    my $gone = $self->wait_for($secs, sub {
        waitpid($pid, WNOHANG) == $pid });
    delete $self->{pids}{nginx} if $gone;
    return $gone;
}

sub worker_pids {
    my $self = shift;
    my $master = $self->{pids}{nginx} or return ();
    my @pids = split ' ', `pgrep -P $master`;
    return @pids;
}

# ----------------------------------------------------------------- clients

sub url {
    my ($self, $path, $tls) = @_;
    return "https://127.0.0.1:$self->{tls_port}$path" if $tls;
    return "http://127.0.0.1:$self->{http_port}$path";
}

sub ua {
    my $self = shift;
    $self->{ua} //= Mojo::UserAgent->new(
        request_timeout => 20, inactivity_timeout => 20);
    $self->{ua}->ca($self->tls_paths->{ca}) if $self->{tls_port};
    return $self->{ua};
}

# tls => 1 sends the request over the TLS listener
sub request {
    my ($self, $method, $path, %o) = @_;
    my @args = ($self->url($path, $o{tls}), $o{headers} // {});
    push @args, json => $o{json} if exists $o{json};
    push @args, $o{body} if exists $o{body};
    my $tx = $self->ua->build_tx($method => @args);
    my $res = eval { $self->ua->start($tx)->result };
    if (!$res && $method eq 'GET' && $@ =~ /Premature connection close/) {
        # a worker leaving after a reload closed its idle keep-alive
        # connection as we sent on it; browsers retry a GET then, so do we
        delete $self->{ua};
        $tx = $self->ua->build_tx($method => @args);
        $res = $self->ua->start($tx)->result;
    }
    die $@ unless $res;
    # no cookie jar: a test sends the cookie itself when it means to
    $self->ua->cookie_jar->empty;
    return $res;
}

sub get { my ($self, $p, %o) = @_; $self->request(GET => $p, %o) }
sub post { my ($self, $p, %o) = @_; $self->request(POST => $p, %o) }
sub put { my ($self, $p, %o) = @_; $self->request(PUT => $p, %o) }
sub del { my ($self, $p, %o) = @_; $self->request(DELETE => $p, %o) }

# a fresh account: {token, user, tenant, email, password, auth => headers}
sub signup {
    my ($self, %o) = @_;
    my $n = ++$self->{nsignup};
    my $email = $o{email} // "owner$n.$$\@example.com";
    my $password = $o{password} // 'Correct-horse-42';
    my $res = $self->post('/api/auth/signup', json => {
        email => $email, password => $password,
        tenantName => $o{tenant} // "Tenant $n" });
    croak 'signup failed: ' . $res->code . ' ' . $res->body
        unless $res->code == 201;
    my $s = $res->json;
    $s->{email} = $email;
    $s->{password} = $password;
    $s->{auth} = { Authorization => "Bearer $s->{token}" };
    return $s;
}

# Another node of the fleet: its own nginx (and temp dir) on this
# Postgres and Redis with the same JWT secret.  Its done() stops only its
# nginx; call it before this one's.
sub another_node {
    my ($self, %opt) = @_;

    my $node = (ref $self)->new(%{ $self->{opt} }, %opt, no_postgres => 1,
                                no_redis => 1, no_nginx => 1);
    $node->{pg_port} = $self->{pg_port};
    $node->{redis_port} = $self->{redis_port};

    open my $sf, '>', "$node->{dir}/jwt.secret" or croak $!;
    print $sf $self->jwt_secret;
    close $sf;

    $node->start_nginx;

    return $node;
}

sub jwt_secret {
    my $self = shift;
    open my $fh, '<', "$self->{dir}/jwt.secret" or croak $!;
    local $/;
    return scalar <$fh>;
}

# every row of every table a tenant owns, to prove nothing changed
sub db_snapshot {
    my $self = shift;
    return join "\n", map { join '|', @$_ } $self->sql(q{
        SELECT 'tenant', t::text FROM tenants t
        UNION ALL SELECT 'user', u::text FROM users u
        UNION ALL SELECT 'agent', a::text FROM agents a
        UNION ALL SELECT 'key', k::text FROM api_keys k
        ORDER BY 1, 2});
}

# polls until the code returns true or the time is up
sub wait_for {
    my ($self, $secs, $code) = @_;
    my $until = time + $secs;
    while (time < $until) {
        my $v = $code->();
        return $v if $v;
        sleep 0.1;
    }
    return $code->();
}

# ------------------------------------------------------------------ checks

sub error_log_text {
    my $self = shift;
    open my $fh, '<', $self->error_log or return '';
    local $/;
    return <$fh>;
}

# The error log is strict.  When a test is done, every entry at [error],
# [crit], [alert] or [emerg] fails the file unless the test named it in
# advance, in the manner of Test::Nginx's --- error_log and
# --- no_error_log [error]:
#
#   $t->expect_error_log(qr/orbis: 503 database_unavailable/);
#       the test provokes this entry on purpose (Postgres down, a killed
#       worker, a refused TLS peer): it must appear in the log, at any
#       level, by done(); entries it matches do not fail the file.  Name
#       the exact message, not a level or a word: an unexpected [error]
#       still fails.
#   $t->expect_error_log(qr/.../, maybe => 1);
#       the same, for an entry that a race may or may not produce (the
#       test cannot tell which): it is allowed, not required.
#   $t->no_error_log(qr/client sent invalid method/, 'name');
#       a check, now: no entry at any level (info included) matches.
#   $t->error_log_entries(qr/.../)
#       the entries that match, at any level.
#
# An entry is a line with nginx's timestamp and the lines that continue
# it (a Postgres message can span lines).  Another node has its own log
# and its own expectations.

# what the drivers log when a test stops Redis or Postgres under them
# (the connection lost, then refused while the worker retries):
#   $t->stop_redis; $t->expect_error_log($Orbis::Test::REDIS_DOWN);
our $REDIS_DOWN = qr/orbis redis: (?:connection to \S+ lost: Server closed the connection|connect to \S+ failed: Connection refused)/;
our $POSTGRES_DOWN = qr/orbis postgres: (?:idle connection lost: server closed the connection unexpectedly|connect failed: Connection refused)/;

sub expect_error_log {
    my ($self, $re, %o) = @_;
    croak 'expect_error_log takes a qr//' unless ref $re eq 'Regexp';
    push @{ $self->{expect_log} }, { re => $re, maybe => $o{maybe} };
    return $self;
}

sub error_log_entries {
    my ($self, $re) = @_;
    my @entries;
    for my $line (split /\n/, $self->error_log_text) {
        if (!@entries || $line =~ m{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[}) {
            push @entries, $line;
        } else {
            $entries[-1] .= "\n$line";
        }
    }
    return defined $re ? grep { /$re/ } @entries : @entries;
}

sub no_error_log {
    my ($self, $re, $name) = @_;
    my @hits = $self->error_log_entries($re);
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok(!@hits, $name // "no error log entry matches $re")
        or diag join "\n", @hits[0 .. ($#hits > 4 ? 4 : $#hits)];
}

# the verdict on a log: the entries at [error] and above that no
# expectation names, and the required expectations that matched nothing
sub error_log_verdict {
    my ($entries, $expect) = @_;
    my @bad = grep {
        my $e = $_;
        /^\S+ \S+ \[(?:error|crit|alert|emerg)\]/
            && !grep { $e =~ $_->{re} } @$expect
    } @$entries;
    my @missing = grep {
        my $x = $_;
        !$x->{maybe} && !grep { $_ =~ $x->{re} } @$entries
    } @$expect;
    return (\@bad, \@missing);
}

sub check_error_log {
    my ($self, $name) = @_;
    my @expect = @{ $self->{expect_log} // [] };
    my ($bad, $missing) = error_log_verdict([ $self->error_log_entries ],
                                            \@expect);
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    ok(!@$bad, $name // 'no unexpected [error], [crit], [alert] or [emerg]'
                        . ' in the error log')
        or diag join "\n", @$bad[0 .. ($#$bad > 9 ? 9 : $#$bad)],
                 ($#$bad > 9 ? ('... and ' . ($#$bad - 9) . ' more') : ());

    my %missing = map { ($_ => 1) } @$missing;
    for my $x (grep { !$_->{maybe} } @expect) {
        ok(!$missing{$x}, "the error log has the expected $x->{re}");
    }
}

# an error answer: exactly this status and this error code
#   use Orbis::Test qw(is_error);
#   is_error($t->get('/api/nope'), 404, 'not_found', 'unknown route');
sub is_error {
    my ($res, $status, $code, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $json = eval { $res->json };
    is $res->code, $status, "$name: $status" or diag $res->body;
    is ref $json eq 'HASH' && ref $json->{error} eq 'HASH'
       ? $json->{error}{code} : undef, $code, "$name: $code";
}

sub done {
    my $self = shift;
    $self->check_error_log;
    $self->teardown;
}

# -------------------------------------------------------------- lifecycle

sub _wait_port {
    my ($self, $port, $what) = @_;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Timeout => 1);
        if ($s) { close $s; return; }
        my $pid = $self->{pids}{$what};
        if ($pid && waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pids}{$what};
            croak "$what exited at start:\n"
                . _tail("$self->{dir}/logs/"
                        . ($what eq 'nginx' ? 'nginx.out' : "$what.log"))
                . _tail($self->error_log);
        }
        sleep 0.05;
    }
    croak "$what did not listen on $port";
}

sub _stop_pid {
    my ($self, $what, $sig) = @_;
    my $pid = delete $self->{pids}{$what} or return;
    kill $sig, $pid;
    for (1 .. 100) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub teardown {
    my $self = shift;
    return if $self->{down}++;
    $self->_stop_pid('nginx', 'TERM');
    $self->_stop_pid('redis', 'TERM');
    if ($self->{pg_ready} && -f "$self->{dir}/pg/data/postmaster.pid") {
        eval { $self->stop_postgres('immediate') };
    }
    system('rm', '-rf', $self->{dir}) unless $ENV{ORBIS_KEEP_TMP};
}

END {
    my $rc = $?;
    $_->teardown for @LIVE;
    $? = $rc;
}

1;
