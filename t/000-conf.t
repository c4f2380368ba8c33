# The shipped configuration passes nginx -t with the stock Debian binary,
# and a mistake in it is reported with the file and line.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Orbis::Test;

my $root = $Orbis::Test::ROOT;
my $prefix = tempdir('orbis-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
symlink "$root/$_", "$prefix/$_" for qw(build html widget docs);
mkdir "$prefix/$_" for qw(var conf);
mkdir "$prefix/var/$_" for qw(log run tmp);
system("cp $root/conf/*.conf $prefix/conf/") == 0 or die;
system("openssl rand -hex 32 > $prefix/var/jwt.secret") == 0 or die;

my $out = `nginx -p $prefix -c conf/nginx.conf -t 2>&1`;
is $?, 0, 'nginx -t passes on conf/' or diag $out;
like $out, qr/syntax is ok/, 'syntax ok';

open my $fh, '>>', "$prefix/conf/orbis.conf" or die;
print $fh "orbis_postgres_max_connections none;\n";
close $fh;
$out = `nginx -p $prefix -c conf/nginx.conf -t 2>&1`;
is $? >> 8, 1, 'a bad directive value fails nginx -t (exit 1)';
like $out, qr{orbis\.conf:\d+}, 'the error names the file and line';

done_testing;
