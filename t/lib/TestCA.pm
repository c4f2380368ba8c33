package TestCA;

# Throwaway certificate authority for the integration tests.
#
# The nginx module verifies the upstream (fake Gemini) certificate against a
# CA file, exactly as it would verify Google's, so the tests need a real
# chain: a self-signed CA plus a server certificate whose subjectAltName
# covers every name or address a test may connect to.  Built with the
# openssl command line so no extra Perl modules are needed.
#
#   my $paths = TestCA::make($dir);                 # localhost + 127.0.0.1
#   my $paths = TestCA::make($dir, names => [...]); # other SANs
#   $paths->{ca}, $paths->{cert}, $paths->{key}     # absolute paths

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use File::Spec;

my @DEFAULT_NAMES = ('localhost', '127.0.0.1');
my $DAYS          = 30;


sub make {
    my ($dir, %opt) = @_;

    croak 'TestCA::make needs a directory' unless defined $dir;
    make_path($dir) unless -d $dir;
    $dir = File::Spec->rel2abs($dir);

    my $names = $opt{names} || \@DEFAULT_NAMES;
    my %paths = (
        ca     => "$dir/ca.pem",
        ca_key => "$dir/ca.key",
        cert   => "$dir/cert.pem",
        key    => "$dir/key.pem",
        dir    => $dir,
    );

    # Several fakes (or test files) may share one directory; regenerating
    # would invalidate a CA file nginx has already been configured with.
    return \%paths if !$opt{force} && _complete(\%paths);

    _make_ca(\%paths);
    _make_server_cert(\%paths, $names);

    return \%paths;
}


sub _complete {
    my ($paths) = @_;

    for my $k (qw(ca cert key)) {
        return 0 unless -s $paths->{$k};
    }

    return 1;
}


sub _make_ca {
    my ($p) = @_;

    # P-256 keys: generation is instant, unlike RSA, and every TLS stack in
    # play (OpenSSL in nginx, IO::Socket::SSL) accepts them.
    _openssl('req', '-x509', '-new', '-nodes',
             '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
             '-keyout', $p->{ca_key}, '-out', $p->{ca},
             '-days', $DAYS, '-subj', '/O=Orbis tests/CN=Orbis Test CA',
             '-addext', 'basicConstraints=critical,CA:TRUE',
             '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
             '-addext', 'subjectKeyIdentifier=hash');
}


sub _make_server_cert {
    my ($p, $names) = @_;

    my $csr = "$p->{dir}/server.csr";
    my $ext = "$p->{dir}/server.ext";

    _openssl('req', '-new', '-nodes',
             '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
             '-keyout', $p->{key}, '-out', $csr,
             '-subj', "/O=Orbis tests/CN=$names->[0]");

    _write($ext, join("\n",
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid,issuer',
        'subjectAltName=' . _san($names),
        ''));

    # A random serial avoids the .srl side file and clashes between runs.
    my $serial = '0x' . join '', map { sprintf '%02x', int rand 256 } 1 .. 12;
    $serial =~ s/^0x0/0x1/;

    _openssl('x509', '-req', '-in', $csr,
             '-CA', $p->{ca}, '-CAkey', $p->{ca_key},
             '-set_serial', $serial, '-days', $DAYS,
             '-extfile', $ext, '-out', $p->{cert});

    unlink $csr, $ext;
    chmod 0600, $p->{key}, $p->{ca_key};
}


sub _san {
    my ($names) = @_;

    # IP literals must be iPAddress entries: hostname verification of an
    # IP never looks at DNS entries.
    return join ',', map {
        /^[0-9.]+$/ || /:/ ? "IP:$_" : "DNS:$_"
    } @$names;
}


sub _openssl {
    my (@args) = @_;

    my $out = '';
    my $pid = open(my $fh, '-|') // croak "fork: $!";

    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT or die "dup: $!";
        exec 'openssl', @args or die "exec openssl: $!";
    }

    local $/;
    $out = <$fh> // '';
    close $fh;

    croak "openssl @args[0,1] failed (status $?):\n$out" if $?;
}


sub _write {
    my ($path, $text) = @_;

    open my $fh, '>', $path or croak "$path: $!";
    print {$fh} $text;
    close $fh or croak "$path: $!";
}


1;
