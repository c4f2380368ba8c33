# nginx -s reload re-applies the tenants file, but it is not an undo of
# what a tenant did through the API: a config-file key revoked through
# the API stays revoked until the file declares a different hash for it,
# and a config-file agent deleted through the API stays deleted until the
# file declares it differently.  Both come back when the file changes.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use Orbis::Test;

my $t = Orbis::Test->new(no_nginx => 1, workers => 1);
my $dir = $t->dir;

my $sk = 'sk_' . ('A' x 28) . 'wxyz';      # the operator's server key
my $pk = 'pk_' . ('B' x 28) . 'abcd';      # the widget key
my $pk2 = 'pk_' . ('C' x 28) . 'efgh';     # the widget key, rotated

sub write_tenants {
    my (%o) = @_;
    open my $fh, '>', "$dir/tenants.conf" or die $!;
    print $fh <<"EOF2";
tenant acme {
    name "Acme";
    plan pro;
    api_key server {
        kind secret;
        hash @{[ sha256_hex($sk) ]};
    }
    api_key widget {
        kind publishable;
        hash @{[ sha256_hex($o{pk} // $pk) ]};
        agents desk;
        allowed_origins https://acme.example;
    }
    agent desk {
        name "$o{desk_name}";
        voice Kore;
        prompt "You are the front desk.";
    }
    agent sales {
        name "Sales";
        voice Puck;
        prompt "You sell.";
    }
}
EOF2
    close $fh;
}

my %sk = (Authorization => "Bearer $sk");

sub agent_names {
    return join ',', sort map { $_->{name} }
        @{ $t->get('/api/agents', headers => \%sk)->json->{items} };
}

sub widget_live {
    return $t->sql_value(q{SELECT count(*) FROM api_keys
                            WHERE slug = 'widget' AND revoked_at IS NULL});
}

# a reload, and the moment its reconcile has run (the ticker is bumped
# by the tenants file's own tenant row)
sub reload_and_settle {
    my $mark = $t->sql_value(q{SELECT updated_at FROM tenants
                                WHERE slug = 'acme'});
    $t->reload_nginx;
    return $t->wait_for(15, sub {
        my $now = $t->sql_value(q{SELECT updated_at FROM tenants
                                   WHERE slug = 'acme'});
        $now ne $mark;
    });
}

write_tenants(desk_name => 'Front desk');
$t->start_nginx(http => "orbis_tenants_file $dir/tenants.conf;");

ok $t->wait_for(15, sub { $t->get('/api/agents', headers => \%sk)->code
                          == 200 }), 'the declared secret key works';
is agent_names(), 'Front desk,Sales', 'both declared agents';
is widget_live(), 1, 'the widget key is live';

# ---- the tenant revokes the widget key and deletes an agent
my ($widget) = grep { $_->{name} eq 'widget' }
    @{ $t->get('/api/api-keys', headers => \%sk)->json->{items} };
is $t->del("/api/api-keys/$widget->{id}", headers => \%sk)->code, 204,
    'the widget key is revoked through the API';
my ($sales) = grep { $_->{name} eq 'Sales' }
    @{ $t->get('/api/agents', headers => \%sk)->json->{items} };
is $t->del("/api/agents/$sales->{id}", headers => \%sk)->code, 204,
    'the sales agent is deleted through the API';

# ---- a reload with the same file revives neither
ok reload_and_settle(), 'the reload reconciled the file';
is widget_live(), 0, 'the revoked key stays revoked';
is agent_names(), 'Front desk', 'the deleted agent stays deleted';
is $t->sql_value(q{SELECT count(*) FROM api_keys WHERE slug = 'server'
                    AND revoked_at IS NULL}), 1,
    'the key nobody revoked is untouched';

# and again: still nothing comes back
ok reload_and_settle(), 'a second reload';
is widget_live(), 0, 'the key is still revoked';
is agent_names(), 'Front desk', 'the agent is still deleted';

# ---- a change elsewhere in the file (the desk agent) revives nothing
write_tenants(desk_name => 'Reception');
ok reload_and_settle(), 'reload with the desk agent renamed';
is agent_names(), 'Reception',
    'the declared change applies; the deleted agent stays deleted';
is widget_live(), 0, 'the revoked key stays revoked';

# ---- a new hash for the key: the operator rotated it, it is live again
write_tenants(desk_name => 'Reception', pk => $pk2);
ok reload_and_settle(), 'reload with a new hash for the widget key';
is widget_live(), 1, 'the key with the new hash is live';
is $t->sql_value(q{SELECT key_hash FROM api_keys WHERE slug = 'widget'}),
    sha256_hex($pk2), 'with the new hash';

# ---- a changed declaration of the deleted agent brings it back
$t->sql(q{UPDATE agents SET deleted_at = now() WHERE slug = 'desk'});
ok reload_and_settle(), 'reload after the desk agent was deleted too';
is agent_names(), '', 'both deleted agents stay deleted';
write_tenants(desk_name => 'Front desk', pk => $pk2);
ok reload_and_settle(), 'reload with the desk agent declared differently';
is agent_names(), 'Front desk', 'the changed declaration brings it back';
is $t->sql_value(q{SELECT count(*) FROM agents WHERE slug = 'sales'
                    AND deleted_at IS NOT NULL}), 1,
    'the unchanged one stays deleted';
is $t->sql_value(q{SELECT cardinality(agent_ids) FROM api_keys
                    WHERE slug = 'widget'}), 1,
    'the widget key is bound to the live desk agent';

$t->done;
done_testing;
