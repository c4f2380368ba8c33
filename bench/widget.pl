#!/usr/bin/perl
# The widget's time to a clickable button on a local page (cold cache),
# with the page's own load time as the reference.  perl bench/widget.pl
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Orbis::Test;

my $root = $Orbis::Test::ROOT;
my $site = Orbis::Test::free_port();
my $t = Orbis::Test->new(http => qq{
    server { listen 127.0.0.1:$site; root $root/t/browser/site; }
}, server => qq{
    location = /widget.js { alias $root/widget/widget.js; gzip on;
                            gzip_types application/javascript; }
});
my $s = $t->signup;
my $agent = $t->post('/api/agents', headers => $s->{auth}, json => {
    name => 'Bench', systemPrompt => 'p', voice => 'Kore' })->json;
my $key = $t->post('/api/api-keys', headers => $s->{auth}, json => {
    name => 'site', kind => 'publishable',
    allowedOrigins => ["http://127.0.0.1:$site"] })->json;
local $ENV{SITE_URL} = "http://127.0.0.1:$site/index.html?agentId="
    . "$agent->{id}&apiKey=$key->{key}&server=" . $t->url('');
print `node $root/bench/widget-ready.mjs`;
$t->teardown;
