# Config-file tenants: declared in a file named by orbis_tenants_file,
# reconciled into Postgres on start and on reload (declared fields win,
# nothing undeclared is deleted), and nginx -t names the file and line of
# a mistake.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use Orbis::Test;

my $t = Orbis::Test->new(no_nginx => 1);
my $dir = $t->dir;

my $sk = 'sk_' . ('A' x 28) . 'wxyz';
my $pk = 'pk_' . ('B' x 28) . 'abcd';

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

write_file("$dir/prompt.txt", "You are the front desk of Acme Dental.\n");

sub tenants {
    my ($agent_name) = @_;
    return <<"EOF2";
# operator's tenants
tenant acme-dental {
    name "Acme Dental";
    plan pro;
    billing_email ops\@acme.example;
    allowed_origins https://acme.example;
    api_key server {
        kind secret;
        hash @{[ sha256_hex($sk) ]};
    }
    api_key widget {
        kind publishable;
        hash @{[ sha256_hex($pk) ]};
        agents receptionist;
        allowed_origins https://acme.example;
    }
    agent receptionist {
        name "$agent_name";
        voice Kore;
        language en-US;
        greeting "Hello, Acme Dental.";
        prompt_file prompt.txt;
        tools score_lead;
    }
}
EOF2
}

write_file("$dir/tenants.conf", tenants('Front desk'));
$t->start_nginx(http => "orbis_tenants_file $dir/tenants.conf;");

my %sk = (Authorization => "Bearer $sk");
ok $t->wait_for(10, sub { $t->get('/api/agents', headers => \%sk)->code
                          == 200 }), 'the declared secret key works';
my $agents = $t->get('/api/agents', headers => \%sk)->json->{items};
is scalar @$agents, 1, 'one declared agent';
is $agents->[0]{name}, 'Front desk', 'its name';
is $agents->[0]{systemPrompt}, "You are the front desk of Acme Dental.\n",
    'its prompt, read from the prompt file';
my $tenant = $t->get('/api/tenants/me', headers => \%sk)->json;
is $tenant->{plan}, 'pro', 'the declared plan';
is_deeply $tenant->{allowedOrigins}, ['https://acme.example'], 'origins';
is $t->sql_value("SELECT count(*) FROM api_keys WHERE slug = 'widget'
                  AND cardinality(agent_ids) = 1"), 1,
    'the widget key is bound to the agent';

# something made through the API is not the file's business
my $extra = $t->post('/api/agents', headers => \%sk, json => {
    name => 'Made by API', systemPrompt => 'p', voice => 'Puck' });
is $extra->code, 201, 'an agent made through the API';

# change the file and reload: declared fields win, nothing is deleted
write_file("$dir/tenants.conf", tenants('Reception'));
$t->reload_nginx;
ok $t->wait_for(10, sub {
    grep { $_->{name} eq 'Reception' }
        @{ $t->get('/api/agents', headers => \%sk)->json->{items} }
}), 'after reload the declared name wins';
my @names = sort map { $_->{name} }
    @{ $t->get('/api/agents', headers => \%sk)->json->{items} };
is_deeply \@names, ['Made by API', 'Reception'],
    'the undeclared agent is still there';
is $t->sql_value('SELECT count(*) FROM tenants'), 1,
    'reconciling twice made no second tenant';

# ---- nginx -t names the file and line of a mistake
write_file("$dir/bad.conf", <<'EOF2');
tenant broken {
    plan gold;
}
EOF2
my $conf = $t->nginx_conf(http => "orbis_tenants_file $dir/bad.conf;");
write_file("$dir/test.conf", $conf);
my $out = `nginx -t -p $dir -c $dir/test.conf 2>&1`;
is $? >> 8, 1, 'nginx -t fails on a bad tenants file (exit 1)';
like $out, qr{\Q$dir\E/bad\.conf:2}, 'and names the file and line';
like $out, qr/plan/, 'and the problem';

$t->done;
done_testing;
