# The dashboard and the widget in a real browser (Debian's Chromium driven
# by playwright-core): t/browser/e2e.mjs runs the whole product as a person
# would against this nginx, and its TAP is passed through.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $root = $Orbis::Test::ROOT;

my $t = Orbis::Test->new(server => qq{
    location / { root $root/html; index index.html; }
    location = /widget.js { alias $root/widget/widget.js; }
    location /stream { orbis_stream; }
});

my $artifacts = $ENV{ORBIS_ARTIFACTS} // "$root/t/artifacts/browser";
system('rm', '-rf', $artifacts);   # only this run's screenshots
system('mkdir', '-p', $artifacts);
local $ENV{ORBIS_URL} = $t->url('');
local $ENV{ORBIS_ARTIFACTS} = $artifacts;
local $ENV{ORBIS_E2E_MODE} = $ENV{ORBIS_E2E_MODE} // 'full';

diag "browser mode: $ENV{ORBIS_E2E_MODE}; screenshots in $artifacts";

open my $run, '-|', 'node', "$root/t/browser/e2e.mjs" or die "node: $!";
my ($pass, $fail) = (0, 0);
while (my $line = <$run>) {
    chomp $line;
    if ($line =~ /^(not )?ok\b\s*\d*\s*-?\s*(.*)$/) {
        ok !$1, "browser: $2";
    } elsif ($line =~ /^#/) {
        diag $line;
    }
}
close $run;
my $rc = $? >> 8;
is $rc, 0, 'the browser run finished cleanly';

$t->done;
done_testing;
