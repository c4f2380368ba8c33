# Roles.  A tenant's users are owners, admins or members; reading is open
# to all, changing agents needs an admin, API keys and the tenant's
# settings need the owner (liborbiscore's orbis_role_check).  The role is
# read from the database on every write, not taken from the 12-hour JWT,
# so a promotion or demotion counts at the next request.  A refused write
# is 403 forbidden and changes nothing.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $t = Orbis::Test->new(workers => 1);
my $owner = $t->signup;
my %owner = %{ $owner->{auth} };

# there is no team API yet: colleagues are added with SQL, with the
# owner's password
sub add_user {
    my ($email, $role) = @_;
    $t->sql(q{INSERT INTO users (tenant_id, email, name, password_hash, role)
              SELECT tenant_id, :'p1', 'Colleague', password_hash, :'p2'
                FROM users WHERE email = :'p3'},
            $email, $role, $owner->{email});
    my $res = $t->post('/api/auth/login', json => {
        email => $email, password => $owner->{password} });
    is $res->code, 200, "the $role signs in";
    is $res->json->{user}{role}, $role, "as $role";
    return ($res->json->{token}, $res->headers->header('Set-Cookie'));
}

my ($mtoken, $mcookie) = add_user('member@example.com', 'member');
my %member = (Authorization => "Bearer $mtoken");
my ($atoken) = add_user('admin@example.com', 'admin');
my %admin = (Authorization => "Bearer $atoken");

# something for the member to try to change
my $agent = $t->post('/api/agents', headers => \%owner, json => {
    name => 'Desk', systemPrompt => 'Be brief.', voice => 'Kore' })->json;
my $key = $t->post('/api/api-keys', headers => \%owner,
                   json => { name => 'site', kind => 'publishable' })->json;
ok $agent->{id} && $key->{id}, 'the owner made an agent and a key';

# ---- the member reads everything
for my $path ('/api/agents', "/api/agents/$agent->{id}", '/api/api-keys',
              '/api/tenants/me', '/api/conversations', '/api/auth/me') {
    is $t->get($path, headers => \%member)->code, 200, "member: GET $path";
}

# ---- and changes nothing
my %needs = (
    'POST /api/api-keys' => ['owner', 'managing API keys',
        sub { $t->post('/api/api-keys', headers => $_[0],
                       json => { name => 'mine', kind => 'secret' }) }],
    'PUT /api/api-keys/{id}' => ['owner', 'managing API keys',
        sub { $t->put("/api/api-keys/$key->{id}", headers => $_[0],
                      json => { name => 'renamed' }) }],
    'DELETE /api/api-keys/{id}' => ['owner', 'managing API keys',
        sub { $t->del("/api/api-keys/$key->{id}", headers => $_[0]) }],
    'PUT /api/tenants/me' => ['owner', "changing the tenant's settings",
        sub { $t->put('/api/tenants/me', headers => $_[0],
                      json => { name => 'Taken over' }) }],
    'POST /api/agents' => ['admin', 'changing agents',
        sub { $t->post('/api/agents', headers => $_[0], json => {
                  name => 'Mine', systemPrompt => 'p', voice => 'Puck' }) }],
    'PUT /api/agents/{id}' => ['admin', 'changing agents',
        sub { $t->put("/api/agents/$agent->{id}", headers => $_[0],
                      json => { name => 'Renamed' }) }],
    'DELETE /api/agents/{id}' => ['admin', 'changing agents',
        sub { $t->del("/api/agents/$agent->{id}", headers => $_[0]) }],
);

my $before = $t->db_snapshot;
for my $route (sort keys %needs) {
    my ($role, $what, $call) = @{ $needs{$route} };
    my $res = $call->(\%member);
    is $res->code, 403, "member: $route is 403";
    is $res->json->{error}{code}, 'forbidden', "member: $route forbidden";
    is $res->json->{error}{message},
        "$what needs the $role role; this account is a member",
        "member: $route says which role it needs";
}
is $t->db_snapshot, $before, 'nothing changed in the database';

# the session cookie, from the dashboard's own origin, is no different
my ($mcv) = $mcookie =~ /orbis_session=([^;]+)/;
my $res = $t->post('/api/api-keys', headers => {
    Cookie => "orbis_session=$mcv",
    Origin => 'http://127.0.0.1:' . $t->http_port },
    json => { name => 'mine', kind => 'secret' });
is $res->code, 403, 'member with the cookie: POST /api/api-keys is 403';
is $res->json->{error}{code}, 'forbidden', 'forbidden';

# ---- the admin changes agents, not keys or the tenant
for my $route (sort keys %needs) {
    my ($role, $what, $call) = @{ $needs{$route} };
    next if $route =~ /DELETE/;
    my $res = $call->(\%admin);
    if ($role eq 'admin') {
        ok $res->code == 200 || $res->code == 201, "admin: $route works"
            or diag $res->body;
    } else {
        is $res->code, 403, "admin: $route is 403";
        is $res->json->{error}{message},
            "$what needs the $role role; this account is an admin",
            "admin: $route says so";
    }
}

# ---- the owner can do all of it
$res = $needs{'POST /api/api-keys'}[2]->(\%owner);
is $res->code, 201, 'owner: POST /api/api-keys works';
is $needs{'PUT /api/tenants/me'}[2]->(\%owner)->code, 200,
    'owner: PUT /api/tenants/me works';

# ---- a role change counts at once, with the same token
$t->sql(q{UPDATE users SET role = 'owner' WHERE email = 'member@example.com'});
$res = $t->post('/api/api-keys', headers => \%member,
                json => { name => 'promoted', kind => 'secret' });
is $res->code, 201, 'promoted to owner: the same token mints a key';

$t->sql(q{UPDATE users SET role = 'member' WHERE email = :'p1'},
        $owner->{email});
$before = $t->db_snapshot;
$res = $t->post('/api/api-keys', headers => \%owner,
                json => { name => 'demoted', kind => 'secret' });
is $res->code, 403, 'demoted to member: the old owner token is refused '
    . 'at once, not when it expires';
is $res->json->{error}{message},
    'managing API keys needs the owner role; this account is a member',
    'and told why';
is $t->put('/api/tenants/me', headers => \%owner,
           json => { name => 'x' })->code, 403, 'tenant settings too';
is $t->db_snapshot, $before, 'nothing changed';
is $t->get('/api/agents', headers => \%owner)->code, 200,
    'reading still works';

# ---- a user who was removed cannot write with a token still in date
$t->sql(q{DELETE FROM users WHERE email = 'admin@example.com'});
$res = $t->post('/api/agents', headers => \%admin, json => {
    name => 'Ghost', systemPrompt => 'p', voice => 'Puck' });
is $res->code, 401, 'a removed user: 401';
is $res->json->{error}{message}, 'this account no longer exists', 'says so';

# ---- secret keys act as the owner
my $sk = $t->post('/api/api-keys', headers => \%member,
                  json => { name => 'server', kind => 'secret' })->json->{key};
is $t->post('/api/api-keys', headers => { Authorization => "Bearer $sk" },
            json => { name => 'by key', kind => 'publishable' })->code, 201,
    'a secret key may manage keys';

$t->done;
done_testing;
