# The module checks the schema version: while the database is behind the
# code every API call answers 503 with a clear message, and it recovers on
# its own once the migrations are applied.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Orbis::Test;

my $t = Orbis::Test->new(no_nginx => 1);

my ($latest, $name) = @{ ($t->sql('SELECT version, name FROM schema_migrations
                                   ORDER BY version DESC LIMIT 1'))[0] };
ok $latest >= 1, 'migrations were applied';
$t->sql('DELETE FROM schema_migrations WHERE version = ' . int $latest);

$t->start_nginx;

my $res = $t->get('/api/_test/pg-sleep?seconds=0');
is $res->code, 503, 'API answers 503 while the schema is behind';
is $res->json->{error}{code}, 'schema_behind', 'error code says why';
like $res->json->{error}{message}, qr/version \d+ but this server needs/,
    'message names both versions';

$res = $t->get('/api/health');
is $res->code, 503, 'health is 503 too';
ok !$res->json->{schema}{ok}, 'health reports the schema behind';
is $res->json->{postgres}{status}, 'ok', 'while postgres itself is fine';

like $t->error_log_text, qr/schema is at version \d+, this build needs/,
    'the error log says what to do';
$t->expect_error_log(qr/orbis: database schema is at version \d+, this build needs \d+: apply sql\/ migrations/);
$t->expect_error_log(qr/orbis: 503 schema_behind: the database schema is at version \d+ but this server needs version \d+/);

$t->sql("INSERT INTO schema_migrations (version, name)
         VALUES ($latest, '$name')");

ok $t->wait_for(5, sub {
    !grep { $t->get('/api/_test/pg-sleep?seconds=0')->code != 200 } 1 .. 4
}), 'API serves again once the migration is recorded';

$t->done;
done_testing;
