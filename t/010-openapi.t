# GET /api/openapi.json is a valid OpenAPI 3 document, and every routed
# endpoint is in it.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $t = Orbis::Test->new;

my $res = $t->get('/api/openapi.json');
is $res->code, 200, 'openapi.json is served';
my $doc = $res->json;
like $doc->{openapi}, qr/^3\./, 'an OpenAPI 3 document';
is $doc->{servers}[0]{url}, '/api', 'paths are relative to /api';

my $routes = $t->get('/api/_test/routes')->json->{items};
# every entry of the table in the source but the _test/ ones
my $table = do {
    open my $fh, '<', "$Orbis::Test::ROOT/ngx_orbis_module/api/"
                      . 'ngx_http_orbis_routes.h' or die $!;
    local $/;
    <$fh>;
};
my @declared = grep { !m{^_test/} } $table =~ /\{ NGX_HTTP_\w+, ngx_string\("([^"]+)"\)/g;
ok @declared >= 19, 'the route table is read from the source';
is scalar @$routes, scalar @declared, 'the route table is listed, all of it';

for my $r (@$routes) {
    my $op = $doc->{paths}{"/$r->{path}"}{ lc $r->{method} };
    ok $op && $op->{responses}, "$r->{method} /$r->{path} is documented";
}

# and nothing documented that is not routed
my %routed = map { (lc($_->{method}) . " /$_->{path}") => 1 } @$routes;
for my $path (sort keys %{ $doc->{paths} }) {
    for my $m (grep { /^(get|post|put|delete|patch)$/ }
               keys %{ $doc->{paths}{$path} }) {
        ok $routed{"$m $path"}, "documented $m $path is routed";
    }
}

$t->done;
done_testing;
