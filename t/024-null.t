# JSON null in PUT bodies: for an optional member it clears the stored
# value (back to the default), for a member that must have a value it is a
# 400 that names the member and changes nothing.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test qw(is_error);

my $t = Orbis::Test->new(workers => 1);
my $s = $t->signup;
my %h = %{ $s->{auth} };
my $tid = $s->{tenant}{id};

sub tenant_row {
    return join '|', map { $_ // '' } @{ ($t->sql(q{
        SELECT coalesce(billing_email::text, 'NULL'), name,
               array_to_string(allowed_origins, ',')
          FROM tenants WHERE id = :'p1'}, $tid))[0] };
}

# ---- tenants/me: billingEmail null clears it
is $t->sql_value(q{SELECT billing_email FROM tenants WHERE id = :'p1'}, $tid),
    $s->{email}, 'signup set the billing email';

my $res = $t->put('/api/tenants/me', headers => \%h,
                  json => { billingEmail => undef });
is $res->code, 200, 'billingEmail: null is accepted';
ok exists $res->json->{billingEmail} && !defined $res->json->{billingEmail},
    'the answer shows it as null';
is $t->sql_value(q{SELECT count(*) FROM tenants
                    WHERE id = :'p1' AND billing_email IS NULL}, $tid), 1,
    'the column is NULL in the database';
is $t->get('/api/tenants/me', headers => \%h)->json->{billingEmail}, undef,
    'and stays cleared';

$res = $t->put('/api/tenants/me', headers => \%h,
               json => { billingEmail => 'Billing@Example.com',
                         allowedOrigins => ['https://a.example'] });
is $res->json->{billingEmail}, 'billing@example.com', 'set again';

# absent is not null: other members leave it alone
$res = $t->put('/api/tenants/me', headers => \%h, json => { name => 'Renamed' });
is $res->json->{billingEmail}, 'billing@example.com',
    'an update without billingEmail keeps it';

# null for the origins is the empty list
$res = $t->put('/api/tenants/me', headers => \%h,
               json => { allowedOrigins => undef });
is $res->code, 200, 'allowedOrigins: null is accepted';
is_deeply $res->json->{allowedOrigins}, [], 'and empties the list';
is $res->json->{billingEmail}, 'billing@example.com', 'nothing else changed';

# a tenant always has a name
$t->put('/api/tenants/me', headers => \%h,
        json => { allowedOrigins => ['https://a.example'] });
my $before = tenant_row();
$res = $t->put('/api/tenants/me', headers => \%h,
               json => { name => undef, billingEmail => undef });
is $res->code, 400, 'name: null is 400';
is $res->json->{error}{code}, 'invalid_request', 'invalid_request';
is $res->json->{error}{message},
    'name: cannot be null; leave it out to keep the current value',
    'the message names the member and says what to do';
is tenant_row(), $before, 'nothing changed, billingEmail included';

# ---- agents: null clears greeting, language, tools and the idle timeout
my $a = $t->post('/api/agents', headers => \%h, json => {
    name => 'Desk', systemPrompt => 'Be brief.', voice => 'Kore',
    greeting => 'Hello!', language => 'de-DE', tools => ['score_lead'],
    idleTimeoutSec => 120 })->json;
my $id = $a->{id};

sub agent_row {
    return join '|', map { $_ // 'NULL' } @{ ($t->sql(q{
        SELECT name, system_prompt, voice, greeting, language,
               array_to_string(tools, ','),
               coalesce(idle_timeout_sec::text, 'NULL')
          FROM agents WHERE id = :'p1'}, $id))[0] };
}

is agent_row(), 'Desk|Be brief.|Kore|Hello!|de-DE|score_lead|120',
    'the agent as created';

$res = $t->put("/api/agents/$id", headers => \%h,
               json => { idleTimeoutSec => undef });
is $res->code, 200, 'idleTimeoutSec: null is accepted';
ok exists $res->json->{idleTimeoutSec} && !defined $res->json->{idleTimeoutSec},
    'the answer shows no override';
is agent_row(), 'Desk|Be brief.|Kore|Hello!|de-DE|score_lead|NULL',
    'the override is NULL in the database, the rest kept';

$res = $t->put("/api/agents/$id", headers => \%h, json => {
    greeting => undef, language => undef, tools => undef });
is $res->code, 200, 'greeting, language and tools: null is accepted';
is $res->json->{greeting}, '', 'greeting back to ""';
is $res->json->{language}, 'en-US', 'language back to the default';
is_deeply $res->json->{tools}, [], 'no tools';
is agent_row(), 'Desk|Be brief.|Kore||en-US||NULL',
    'the database holds the defaults';
is_deeply $t->get("/api/agents/$id", headers => \%h)->json, $res->json,
    'GET answers the same';

# the members every agent has
$t->put("/api/agents/$id", headers => \%h, json => {
    greeting => 'Hi', idleTimeoutSec => 300 });
$before = agent_row();
for my $field (qw(name systemPrompt voice)) {
    $res = $t->put("/api/agents/$id", headers => \%h, json => {
        $field => undef, greeting => undef, idleTimeoutSec => undef });
    is_error($res, 400, 'invalid_request', "$field: null is 400");
    is $res->json->{error}{message},
        "$field: cannot be null; leave it out to keep the current value",
        "$field: the message says so";
    is agent_row(), $before, "$field: nothing changed, the other nulls "
        . 'included';
}

# create: null for an optional member is the default; for a required one
# it is refused
my $n = $t->sql_value('SELECT count(*) FROM agents');
$res = $t->post('/api/agents', headers => \%h, json => {
    name => undef, systemPrompt => 'p', voice => 'Kore' });
is_error($res, 400, 'invalid_request', 'create with name: null is 400');
is $res->json->{error}{message}, 'name: is required and cannot be null',
    'with its own message';
is $t->sql_value('SELECT count(*) FROM agents'), $n, 'nothing created';

$res = $t->post('/api/agents', headers => \%h, json => {
    name => 'N', systemPrompt => 'p', voice => 'Kore', greeting => undef,
    language => undef, tools => undef, idleTimeoutSec => undef });
is $res->code, 201, 'create with the optional members null';
is $res->json->{greeting}, '', 'greeting ""';
is $res->json->{language}, 'en-US', 'language en-US';
is $res->json->{idleTimeoutSec}, undef, 'no idle timeout override';

# ---- elsewhere null is still refused
my $key = $t->post('/api/api-keys', headers => \%h, json => {
    name => 'k', kind => 'publishable' })->json;
$res = $t->put("/api/api-keys/$key->{id}", headers => \%h,
               json => { allowedOrigins => undef });
is_error($res, 400, 'invalid_request', 'API keys do not take null');

$t->done;
done_testing;
