# Tenancy: for every route and verb that takes an id, tenant A gets 404 for
# tenant B's ids, sees none of B's rows in lists, and changes nothing of B.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $t = Orbis::Test->new;
my $a = $t->signup(tenant => 'Alpha');
my $b = $t->signup(tenant => 'Beta');

my $b_agent = $t->post('/api/agents', headers => $b->{auth}, json => {
    name => 'Beta agent', systemPrompt => 'secret prompt', voice => 'Kore' })
    ->json;
my $b_key = $t->post('/api/api-keys', headers => $b->{auth}, json => {
    name => 'beta key', kind => 'secret' })->json;
my $a_key = $t->post('/api/api-keys', headers => $a->{auth}, json => {
    name => 'alpha key', kind => 'secret' })->json;

my $before = $t->db_snapshot;

# A as a session and A as a secret key
for my $who ([ session => $a->{auth} ],
             [ key => { Authorization => "Bearer $a_key->{key}" } ]) {
    my ($as, $h) = @$who;

    my @calls = (
        [ GET    => "/api/agents/$b_agent->{id}" ],
        [ PUT    => "/api/agents/$b_agent->{id}", { name => 'pwned' } ],
        [ DELETE => "/api/agents/$b_agent->{id}" ],
        [ PUT    => "/api/api-keys/$b_key->{id}", { name => 'pwned' } ],
        [ DELETE => "/api/api-keys/$b_key->{id}" ],
    );
    for my $c (@calls) {
        my ($m, $path, $json) = @$c;
        my $res = $t->request($m, $path, headers => $h,
                              $json ? (json => $json) : ());
        is $res->code, 404, "$as: $m $path is 404 for another tenant";
        is $res->json->{error}{code}, 'not_found', "$as: $m $path: not_found";
    }

    my $agents = $t->get('/api/agents', headers => $h)->json->{items};
    ok !(grep { $_->{id} eq $b_agent->{id} } @$agents),
        "$as: the agent list has none of B's";
    my $keys = $t->get('/api/api-keys', headers => $h)->json->{items};
    ok !(grep { $_->{id} eq $b_key->{id} } @$keys),
        "$as: the key list has none of B's";
    is $t->get('/api/tenants/me', headers => $h)->json->{id},
        $a->{tenant}{id}, "$as: tenants/me is A";

    # a key listing agents of another tenant is refused
    my $res = $t->post('/api/api-keys', headers => $h, json => {
        name => 'x', kind => 'publishable', agentIds => [$b_agent->{id}] });
    is $res->code, 400, "$as: cannot bind a key to B's agent";
    is $res->json->{error}{code}, 'invalid_request',
        "$as: binding B's agent: invalid_request";
}

is $t->db_snapshot, $before, "nothing of B's (or anyone's) changed";

# B still sees its own
is $t->get("/api/agents/$b_agent->{id}", headers => $b->{auth})->json->{name},
    'Beta agent', 'B still has its agent';

$t->done;
done_testing;
