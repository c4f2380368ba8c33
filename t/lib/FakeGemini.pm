package FakeGemini;

# Protocol-faithful fake of the Gemini Live API (BidiGenerateContent over a
# TLS WebSocket) for the Orbis integration tests.  The wire behaviour
# follows /work/shared/reference/gemini-live.md; section numbers in the
# comments below (§n) point there.
#
# This file holds three things:
#   FakeGemini          - the handle a test uses: starts the fake as a
#                         separate process (t/lib/fake-gemini), talks to
#                         its control port, always kills it again.
#   FakeGemini::Server  - the server process: TLS WebSocket port for the
#                         module under test, plain HTTP control port for
#                         the test.
#   FakeGemini::Session - one WebSocket connection: validation, turns,
#                         scripted actions, the per-connection log.
#
# Running the server in its own process keeps the test process free to
# block (prove, nginx start-up, blocking HTTP clients) without stalling
# the fake's event loop.

use strict;
use warnings;

use Carp qw(croak);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

our $VERSION = '1.00';

my $LIB_DIR = dirname(File::Spec->rel2abs(__FILE__));

# Children still running (pid => pid of the process that started it), so
# END can kill them even when an object leaked or the test died before
# DESTROY ran.
my %RUNNING;

# Options that are about the process, not the fake's behaviour.
my %PROCESS_OPTS = map { $_ => 1 } qw(dir ca_dir start_timeout verbose
                                       quiet_violations);


sub new {
    my ($class, %opt) = @_;

    my %config = %{ delete $opt{config} || {} };

    for my $k (keys %opt) {
        $config{$k} = delete $opt{$k} unless $PROCESS_OPTS{$k};
    }

    my $tmp = $opt{dir}
        // tempdir('fake-gemini-XXXXXX', TMPDIR => 1, CLEANUP => 1);

    my $self = bless {
        owner  => $$,
        tmp    => $tmp,
        ca_dir => $opt{ca_dir} // "$tmp/ca",
        config => \%config,
        opt    => \%opt,
        json   => JSON::PP->new->utf8->canonical,
        http   => HTTP::Tiny->new(timeout => 15),
    }, $class;

    $self->_spawn;
    $self->_await_ready($opt{start_timeout} // 20);

    return $self;
}


sub _spawn {
    my ($self) = @_;

    my $port_file = "$self->{tmp}/fake-gemini-ports.json";
    unlink $port_file;

    my @cmd = ($^X, "-I$LIB_DIR", "$LIB_DIR/fake-gemini",
               '--port-file', $port_file, '--ca-dir', $self->{ca_dir},
               '--parent-pid', $$, '--quiet');
    push @cmd, '--verbose' if $self->{opt}{verbose};
    push @cmd, '--quiet-violations' if $self->{opt}{quiet_violations};
    push @cmd, '--config', $self->{json}->encode($self->{config})
        if %{ $self->{config} };

    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        exec { $cmd[0] } @cmd;
        warn "fake-gemini: exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    $self->{pid}       = $pid;
    $self->{port_file} = $port_file;
    $RUNNING{$pid}     = $$;
}


sub _await_ready {
    my ($self, $timeout) = @_;

    my $deadline = Time::HiRes::time() + $timeout;

    until (-s $self->{port_file}) {
        if (waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid}) {
            delete $RUNNING{ $self->{pid} };
            croak "fake-gemini exited during start-up (status $?)";
        }

        if (Time::HiRes::time() > $deadline) {
            $self->stop;
            croak "fake-gemini did not start within ${timeout}s";
        }

        Time::HiRes::sleep(0.05);
    }

    open my $fh, '<', $self->{port_file} or croak "$self->{port_file}: $!";
    my $info = $self->{json}->decode(do { local $/; <$fh> });
    close $fh;

    $self->{info} = $info;
    $self->_request(GET => '/control/health');
}


# --- accessors -----------------------------------------------------------

sub pid          { $_[0]{pid} }
sub host         { '127.0.0.1' }
sub ws_port      { $_[0]{info}{ws_port} }
sub control_port { $_[0]{info}{control_port} }
sub ca_file      { $_[0]{info}{ca} }
sub cert_file    { $_[0]{info}{cert} }
sub key_file     { $_[0]{info}{key} }
sub ca_dir       { $_[0]{ca_dir} }
sub api_key      { $_[0]{info}{api_keys}[0] }
sub access_token { $_[0]{info}{access_tokens}[0] }
sub control_url  { 'http://127.0.0.1:' . $_[0]->control_port }


# Path of the Live endpoint, §1.
sub ws_path {
    my ($self, %a) = @_;

    my $version = $a{version} // 'v1beta';
    my $method  = $a{constrained} ? 'BidiGenerateContentConstrained'
                                  : 'BidiGenerateContent';

    return "/ws/google.ai.generativelanguage.$version"
           . ".GenerativeService.$method";
}


# wss:// URL for a test client.  key => undef leaves the key out (for the
# header variant or the missing-key test); constrained => 1 switches to the
# ephemeral-token method and adds access_token unless given as undef.
sub ws_url {
    my ($self, %a) = @_;

    my $host = $a{host} // 'localhost';
    my $url  = "wss://$host:" . $self->ws_port . $self->ws_path(%a);
    my @q;

    if ($a{constrained}) {
        my $tok = exists $a{access_token} ? $a{access_token}
                                          : $self->access_token;
        push @q, 'access_token=' . _uri_escape($tok) if defined $tok;

    } else {
        my $key = exists $a{key} ? $a{key} : $self->api_key;
        push @q, 'key=' . _uri_escape($key) if defined $key;
    }

    return @q ? "$url?" . join('&', @q) : $url;
}


sub _uri_escape {
    my ($s) = @_;

    $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}


# --- control channel -----------------------------------------------------

# Queue scripted actions (see POST /control/script).  Returns the server's
# answer: {queued => [...], executed => [...]}.
sub script {
    my ($self, @actions) = @_;

    return $self->_request(POST => '/control/script', \@actions);
}


sub config {
    my ($self, %kv) = @_;

    return $self->_request(POST => '/control/config', \%kv);
}


sub reset {
    my ($self) = @_;

    return $self->_request(POST => '/control/reset', {});
}


sub log {
    my ($self) = @_;

    return $self->_request(GET => '/control/log');
}


sub connections     { $_[0]->log->{connections} }
sub violations      { $_[0]->log->{violations} }
sub last_connection { $_[0]->connections->[-1] }


sub connection {
    my ($self, $id) = @_;

    return $self->_request(GET => "/control/log/$id");
}


# Poll the log until $cond->($log) returns a true value; return that value.
# Dies with $what on timeout so a hanging test says what it waited for.
sub wait_for {
    my ($self, $cond, %o) = @_;

    my $timeout  = $o{timeout} // 10;
    my $deadline = Time::HiRes::time() + $timeout;

    while (1) {
        my $log = $self->log;
        my $res = $cond->($log);
        return $res if $res;

        croak 'fake-gemini: timed out after ' . $timeout . 's waiting for '
              . ($o{what} // 'condition')
            if Time::HiRes::time() > $deadline;

        Time::HiRes::sleep($o{interval} // 0.05);
    }
}


# Wait until some connection's log satisfies $pred; return that log.
# Newest connections are tried first.
sub wait_for_connection {
    my ($self, $pred, %o) = @_;

    return $self->wait_for(sub {
        my ($hit) = grep { $pred->($_) } reverse @{ $_[0]{connections} };
        return $hit;
    }, what => 'a matching connection', %o);
}


sub _request {
    my ($self, $method, $path, $body) = @_;

    my %args;

    if (defined $body) {
        $args{content} = $self->{json}->encode($body);
        $args{headers} = { 'Content-Type' => 'application/json' };
    }

    my $res = $self->{http}->request($method, $self->control_url . $path,
                                     \%args);

    croak "fake-gemini control $method $path: $res->{status} "
          . "$res->{reason}: $res->{content}"
        unless $res->{success};

    return $self->{json}->decode($res->{content});
}


# --- teardown --------------------------------------------------------------

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid};

    # A forked child of the test (say, a helper that execs nginx) inherits
    # this object; only the process that started the fake may stop it.
    return unless $pid && $self->{owner} == $$;

    _kill_and_reap($pid);
}


sub _kill_and_reap {
    my ($pid) = @_;

    delete $RUNNING{$pid};
    kill 'TERM', $pid;

    for (1 .. 100) {
        return if waitpid($pid, POSIX::WNOHANG()) != 0;
        Time::HiRes::sleep(0.05);
    }

    kill 'KILL', $pid;
    waitpid($pid, 0);
}


sub DESTROY {
    my ($self) = @_;

    local ($?, $!, $@);
    $self->stop;
}


END {
    local ($?, $!, $@);

    # A forked child of the test exiting must not take the fake down.
    _kill_and_reap($_) for grep { $RUNNING{$_} == $$ } keys %RUNNING;
}


# ===========================================================================

package FakeGemini::JSON;

# The real service pretty-prints its JSON with a 2-space indent and a
# trailing newline, fields in proto order (§2).  JSON::PP cannot order
# keys other than alphabetically, so this small printer does the layout
# and JSON::PP only encodes the scalars.

use strict;
use warnings;

use JSON::PP ();

my $SCALAR = JSON::PP->new->allow_nonref;

# Proto field order of the server messages; unknown keys sort after these.
my @ORDER = qw(
    setupComplete serverContent toolCall toolCallCancellation goAway
    sessionResumptionUpdate usageMetadata
    modelTurn turnComplete interrupted generationComplete
    inputTranscription outputTranscription
    role parts text inlineData mimeType data
    functionCalls id name args ids timeLeft newHandle resumable
    promptTokenCount cachedContentTokenCount responseTokenCount
    toolUsePromptTokenCount thoughtsTokenCount totalTokenCount
    promptTokensDetails cacheTokensDetails responseTokensDetails
    toolUsePromptTokensDetails modality tokenCount
);
my %RANK;
@RANK{@ORDER} = (0 .. $#ORDER);


# Returns UTF-8 bytes ready for a binary frame.
sub pretty {
    my ($data) = @_;

    my $text = _value($data, 0) . "\n";
    utf8::encode($text);

    return $text;
}


sub _value {
    my ($v, $depth) = @_;

    my $pad = '  ' x ($depth + 1);
    my $end = '  ' x $depth;

    if (ref $v eq 'HASH') {
        return '{}' unless %$v;
        return "{\n"
            . join(",\n", map {
                  $pad . $SCALAR->encode("$_") . ': '
                  . _value($v->{$_}, $depth + 1)
              } _keys($v))
            . "\n$end}";
    }

    if (ref $v eq 'ARRAY') {
        return '[]' unless @$v;
        return "[\n"
            . join(",\n", map { $pad . _value($_, $depth + 1) } @$v)
            . "\n$end]";
    }

    return $SCALAR->encode($v);
}


sub _keys {
    my ($h) = @_;

    return sort {
        ($RANK{$a} // 1e6) <=> ($RANK{$b} // 1e6) || $a cmp $b
    } keys %$h;
}


# ===========================================================================

package FakeGemini::Check;

# Validation of client messages against the proto (§2, §4).  Each checker
# returns nothing when the input is acceptable, or a list
# (close code, close reason, violation text).

use strict;
use warnings;

use JSON::PP ();

our $INVALID   = 'Request contains an invalid argument.';
our $NO_VOICES = 'Cannot extract voices from a non-audio request.';
our $BAD_AUDIO = 'Request contains an invalid argument. Please check if the'
                 . ' inputaudio is in valid format: 16khz s16le pcm, mono'
                 . ' channel.';

# §8, Gemini API ids.  native = answers only in AUDIO.
our %MODELS = (
    'gemini-2.0-flash-live-001'                     => 'cascade',
    'gemini-live-2.5-flash-preview'                 => 'cascade',
    'gemini-2.5-flash-preview-native-audio-dialog'  => 'native',
    'gemini-2.5-flash-native-audio-preview-09-2025' => 'native',
    'gemini-2.5-flash-native-audio-preview-12-2025' => 'native',
    'gemini-2.5-flash-native-audio-latest'          => 'native',
    'gemini-3.1-flash-live-preview'                 => 'native',
    'gemini-3.8-live'                               => 'native',
);

# §9, case-sensitive.
our %VOICES = map { $_ => 1 } qw(
    Achernar Achird Algenib Algieba Alnilam Aoede Autonoe Callirrhoe Charon
    Despina Enceladus Erinome Fenrir Gacrux Iapetus Kore Laomedeia Leda Orus
    Pulcherrima Puck Rasalgethi Sadachbia Sadaltager Schedar Sulafat Umbriel
    Vindemiatrix Zephyr Zubenelgenubi
);

my %SETUP_KEYS = map { $_ => 1 } qw(
    model generationConfig systemInstruction tools realtimeInputConfig
    sessionResumption contextWindowCompression inputAudioTranscription
    outputAudioTranscription proactivity historyConfig safetySettings
);

my %GEN_KEYS = map { $_ => 1 } qw(
    candidateCount maxOutputTokens temperature topP topK presencePenalty
    frequencyPenalty responseModalities speechConfig mediaResolution seed
    thinkingConfig enableAffectiveDialog
);

# In GenerationConfig but refused by the Live API (§4).
my %GEN_UNSUPPORTED = map { $_ => 1 } qw(
    responseMimeType responseSchema responseJsonSchema responseLogprobs
    logprobs stopSequences
);

my %TOOL_KEYS = map { $_ => 1 } qw(
    functionDeclarations googleSearch googleSearchRetrieval codeExecution
    urlContext
);

my %FUNC_DECL_KEYS = map { $_ => 1 } qw(
    name description parameters parametersJsonSchema response
    responseJsonSchema behavior
);

my %ENUMS = (
    startOfSpeechSensitivity => [qw(START_SENSITIVITY_UNSPECIFIED
                                    START_SENSITIVITY_HIGH
                                    START_SENSITIVITY_LOW)],
    endOfSpeechSensitivity   => [qw(END_SENSITIVITY_UNSPECIFIED
                                    END_SENSITIVITY_HIGH
                                    END_SENSITIVITY_LOW)],
    activityHandling         => [qw(ACTIVITY_HANDLING_UNSPECIFIED
                                    START_OF_ACTIVITY_INTERRUPTS
                                    NO_INTERRUPTION)],
    turnCoverage             => [qw(TURN_COVERAGE_UNSPECIFIED
                                    TURN_INCLUDES_ONLY_ACTIVITY
                                    TURN_INCLUDES_ALL_INPUT
                                    TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO
                                   )],
);


sub is_hash  { ref $_[0] eq 'HASH' }
sub is_array { ref $_[0] eq 'ARRAY' }
sub is_bool  { JSON::PP::is_bool($_[0]) }
sub is_str   { defined $_[0] && !ref $_[0] }
sub is_int   { defined $_[0] && !ref $_[0] && $_[0] =~ /^-?\d+$/ }


sub snake {
    my ($name) = @_;

    $name =~ s/([A-Z])/_\l$1/g;
    return $name;
}


# Google's wording for proto3 JSON fields it does not know.
sub unknown_field {
    my ($key, $path) = @_;

    my $at = join '.', map { snake($_) } @$path;

    return (1007,
            qq{Invalid JSON payload received. Unknown name "$key"}
            . (length $at ? " at '$at'" : '') . ': Cannot find field.',
            qq{unknown field "$key"} . (length $at ? " in $at" : ''));
}


sub unknown_keys {
    my ($h, $allowed, $path) = @_;

    for my $k (sort keys %$h) {
        return unknown_field($k, $path) unless $allowed->{$k};
    }

    return;
}


sub invalid {
    my ($why) = @_;

    return (1007, $INVALID, $why);
}


sub model_not_found {
    my ($model, $version) = @_;

    return (1008,
            "$model is not found for API version $version, or is not"
            . ' supported for bidiGenerateContent. Call ListModels to see'
            . ' the list of available models and their supported methods.',
            "unknown model \"$model\"");
}


# §4 setup.  $models maps model id to 'native' or 'cascade'.
sub setup {
    my ($s, $version, $models) = @_;

    my @err;

    return invalid('setup is not an object') unless is_hash($s);
    return @err if @err = unknown_keys($s, \%SETUP_KEYS, ['setup']);

    return invalid('setup.model missing or not a string')
        unless is_str($s->{model}) && length $s->{model};

    my ($id) = $s->{model} =~ m{^models/(.+)$};
    return model_not_found($s->{model}, $version)
        unless defined $id && $models->{$id};

    return @err if @err = generation_config($s->{generationConfig},
                                            $models->{$id});
    return @err if @err = system_instruction($s->{systemInstruction});
    return @err if @err = tools($s->{tools});
    return @err if @err = realtime_input_config($s->{realtimeInputConfig});
    return @err if @err = session_resumption($s->{sessionResumption});

    for my $k (qw(contextWindowCompression inputAudioTranscription
                  outputAudioTranscription proactivity historyConfig))
    {
        next unless exists $s->{$k};
        return invalid("setup.$k is not an object") unless is_hash($s->{$k});
    }

    return;
}


sub generation_config {
    my ($g, $kind) = @_;

    my @err;

    if (!defined $g) {
        return $kind eq 'native'
            ? (1007, $NO_VOICES, 'native audio model without generationConfig'
                                 . ' responseModalities ["AUDIO"]')
            : ();
    }

    return invalid('generationConfig is not an object') unless is_hash($g);

    for my $k (sort keys %$g) {
        return invalid("generationConfig.$k is not supported by the Live API")
            if $GEN_UNSUPPORTED{$k};
    }

    return @err if @err = unknown_keys($g, \%GEN_KEYS,
                                       ['setup', 'generationConfig']);

    my $mods = $g->{responseModalities};

    if (defined $mods) {
        return invalid('responseModalities is not an array of strings')
            unless is_array($mods) && !grep { !is_str($_) } @$mods;
        return invalid('responseModalities must hold exactly one modality')
            unless @$mods == 1;
        return invalid("unknown response modality \"$mods->[0]\"")
            unless $mods->[0] =~ /^(?:AUDIO|TEXT)$/;
    }

    return (1007, $NO_VOICES,
            'native audio model needs responseModalities ["AUDIO"]')
        if $kind eq 'native' && !($mods && $mods->[0] eq 'AUDIO');

    return speech_config($g->{speechConfig});
}


sub speech_config {
    my ($sc) = @_;

    return unless defined $sc;
    return invalid('speechConfig is not an object') unless is_hash($sc);

    my @err;
    my $path = ['setup', 'generationConfig', 'speechConfig'];

    return @err if @err = unknown_keys($sc, { voiceConfig => 1,
                                              languageCode => 1 }, $path);

    if (exists $sc->{languageCode}) {
        return invalid('speechConfig.languageCode is not a BCP-47 code')
            unless is_str($sc->{languageCode})
                   && $sc->{languageCode}
                      =~ /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/;
    }

    my $vc = $sc->{voiceConfig} // return;
    return invalid('voiceConfig is not an object') unless is_hash($vc);
    return @err if @err = unknown_keys($vc, { prebuiltVoiceConfig => 1 },
                                       [@$path, 'voiceConfig']);

    my $pv = $vc->{prebuiltVoiceConfig} // return;
    return invalid('prebuiltVoiceConfig is not an object') unless is_hash($pv);
    return @err if @err = unknown_keys($pv, { voiceName => 1 },
                              [@$path, 'voiceConfig', 'prebuiltVoiceConfig']);

    my $name = $pv->{voiceName};
    return invalid('voiceName "' . ($name // '') . '" is not a prebuilt voice')
        unless is_str($name) && $VOICES{$name};

    return;
}


sub system_instruction {
    my ($si) = @_;

    return unless defined $si;
    return invalid('systemInstruction is not a Content object')
        unless is_hash($si);

    my @err;
    return @err if @err = unknown_keys($si, { role => 1, parts => 1 },
                                       ['setup', 'systemInstruction']);
    return invalid('systemInstruction.parts is not a non-empty array')
        unless is_array($si->{parts}) && @{ $si->{parts} };

    for my $p (@{ $si->{parts} }) {
        return invalid('systemInstruction part without a text string')
            unless is_hash($p) && is_str($p->{text});
    }

    return;
}


sub tools {
    my ($tools) = @_;

    return unless defined $tools;
    return invalid('tools is not an array') unless is_array($tools);

    my @err;

    for my $t (@$tools) {
        return invalid('tool is not an object') unless is_hash($t);
        return @err if @err = unknown_keys($t, \%TOOL_KEYS, ['setup', 'tools']);

        my $decls = $t->{functionDeclarations} // next;
        return invalid('functionDeclarations is not an array')
            unless is_array($decls);

        for my $d (@$decls) {
            return invalid('function declaration is not an object')
                unless is_hash($d);
            return @err if @err = unknown_keys($d, \%FUNC_DECL_KEYS,
                              ['setup', 'tools', 'functionDeclarations']);
            return invalid('function name "' . ($d->{name} // '')
                           . '" is not valid')
                unless is_str($d->{name})
                       && $d->{name} =~ /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
        }
    }

    return;
}


sub realtime_input_config {
    my ($rc) = @_;

    return unless defined $rc;
    return invalid('realtimeInputConfig is not an object') unless is_hash($rc);

    my @err;
    my $path = ['setup', 'realtimeInputConfig'];

    return @err if @err = unknown_keys($rc, { automaticActivityDetection => 1,
                                              activityHandling => 1,
                                              turnCoverage => 1 }, $path);
    return @err if @err = enums($rc);

    my $aad = $rc->{automaticActivityDetection} // return;
    return invalid('automaticActivityDetection is not an object')
        unless is_hash($aad);
    return @err if @err = unknown_keys($aad, {
                       map { $_ => 1 } qw(disabled startOfSpeechSensitivity
                                          endOfSpeechSensitivity
                                          prefixPaddingMs silenceDurationMs) },
                       [@$path, 'automaticActivityDetection']);
    return invalid('automaticActivityDetection.disabled is not a boolean')
        if exists $aad->{disabled} && !is_bool($aad->{disabled});

    for my $k (qw(prefixPaddingMs silenceDurationMs)) {
        return invalid("$k is not an integer")
            if exists $aad->{$k} && !is_int($aad->{$k});
    }

    return enums($aad);
}


sub enums {
    my ($h) = @_;

    for my $k (sort keys %ENUMS) {
        next unless exists $h->{$k};
        return invalid("$k has an invalid value")
            unless is_str($h->{$k}) && grep { $_ eq $h->{$k} } @{ $ENUMS{$k} };
    }

    return;
}


sub session_resumption {
    my ($sr) = @_;

    return unless defined $sr;
    return invalid('sessionResumption is not an object') unless is_hash($sr);

    # "transparent" is Vertex-only (§4), so the Gemini API does not know it.
    my @err;
    return @err if @err = unknown_keys($sr, { handle => 1 },
                                       ['setup', 'sessionResumption']);
    return invalid('sessionResumption.handle is not a string')
        if exists $sr->{handle} && !is_str($sr->{handle});

    return;
}


# §4 clientContent.
sub client_content {
    my ($cc) = @_;

    return invalid('clientContent is not an object') unless is_hash($cc);

    my @err;
    return @err if @err = unknown_keys($cc, { turns => 1, turnComplete => 1 },
                                       ['client_content']);
    return invalid('clientContent.turnComplete is not a boolean')
        if exists $cc->{turnComplete} && !is_bool($cc->{turnComplete});

    return unless exists $cc->{turns};
    return invalid('clientContent.turns is not an array')
        unless is_array($cc->{turns});

    for my $t (@{ $cc->{turns} }) {
        return invalid('turn is not a Content object') unless is_hash($t);
        return @err if @err = unknown_keys($t, { role => 1, parts => 1 },
                                           ['client_content', 'turns']);
        return invalid('turn role must be "user" or "model"')
            if exists $t->{role}
               && !(is_str($t->{role}) && $t->{role} =~ /^(?:user|model)$/);
        return invalid('turn.parts is not an array')
            unless is_array($t->{parts});

        for my $p (@{ $t->{parts} }) {
            return invalid('part is not an object') unless is_hash($p);
            return @err if @err = unknown_keys($p, { text => 1,
                                                     inlineData => 1 },
                                      ['client_content', 'turns', 'parts']);
            return invalid('part needs exactly one of text|inlineData')
                unless keys %$p == 1;
            return invalid('part.text is not a string')
                if exists $p->{text} && !is_str($p->{text});
        }
    }

    return;
}


# §4 realtimeInput.  Field-level checks of the audio live in the session.
sub realtime_input {
    my ($ri) = @_;

    return invalid('realtimeInput is not an object') unless is_hash($ri);

    my @err;
    return @err if @err = unknown_keys($ri, {
                       map { $_ => 1 } qw(mediaChunks audio video text
                                          activityStart activityEnd
                                          audioStreamEnd) },
                       ['realtime_input']);

    for my $k (qw(audio video)) {
        return invalid("realtimeInput.$k is not a Blob")
            if exists $ri->{$k} && !is_blob($ri->{$k});
    }

    if (exists $ri->{mediaChunks}) {
        return invalid('realtimeInput.mediaChunks is not a non-empty array')
            unless is_array($ri->{mediaChunks}) && @{ $ri->{mediaChunks} };
        return invalid('realtimeInput.mediaChunks element is not a Blob')
            if grep { !is_blob($_) } @{ $ri->{mediaChunks} };
    }

    for my $k (qw(activityStart activityEnd)) {
        return invalid("realtimeInput.$k is not an object")
            if exists $ri->{$k} && !is_hash($ri->{$k});
    }

    return invalid('realtimeInput.audioStreamEnd is not a boolean')
        if exists $ri->{audioStreamEnd} && !is_bool($ri->{audioStreamEnd});
    return invalid('realtimeInput.text is not a string')
        if exists $ri->{text} && !is_str($ri->{text});

    return;
}


sub is_blob {
    my ($b) = @_;

    return is_hash($b) && is_str($b->{mimeType}) && is_str($b->{data})
           && !grep { !/^(?:mimeType|data)$/ } keys %$b;
}


# §4 toolResponse: one FunctionResponse per call, id mandatory.
sub tool_response {
    my ($tr) = @_;

    return invalid('toolResponse is not an object') unless is_hash($tr);

    my @err;
    return @err if @err = unknown_keys($tr, { functionResponses => 1 },
                                       ['tool_response']);
    return invalid('toolResponse.functionResponses is not a non-empty array')
        unless is_array($tr->{functionResponses})
               && @{ $tr->{functionResponses} };

    for my $fr (@{ $tr->{functionResponses} }) {
        return invalid('functionResponse is not an object') unless is_hash($fr);
        return @err if @err = unknown_keys($fr, {
                           map { $_ => 1 } qw(id name response willContinue
                                              scheduling parts) },
                           ['tool_response', 'function_responses']);
        return invalid('functionResponse without an id')
            unless is_str($fr->{id}) && length $fr->{id};
        return invalid('functionResponse.response is not an object')
            if exists $fr->{response} && !is_hash($fr->{response});
    }

    return;
}


# Decode proto3-JSON bytes: standard or URL-safe alphabet, padding optional.
# Returns undef when the text is not base64 at all.
sub decode_base64 {
    my ($s) = @_;

    return undef unless $s =~ m{^[A-Za-z0-9+/_-]*={0,2}$};

    (my $b = $s) =~ tr{-_}{+/};
    $b =~ s/=+$//;
    return undef if length($b) % 4 == 1;
    $b .= '=' x ((4 - length($b) % 4) % 4);

    require MIME::Base64;
    return MIME::Base64::decode_base64($b);
}


# ===========================================================================

package FakeGemini::Server;

use strict;
use warnings;

use Getopt::Long qw(GetOptionsFromArray);
use JSON::PP ();
use Mojo::IOLoop;
use Mojo::JSON qw(true false);
use Mojo::Log;
use Mojo::Server::Daemon;
use Mojo::URL;
use Mojolicious;
use TestCA;
use Time::HiRes ();

our %DEFAULT_CONFIG = (
    api_key               => 'test-api-key',
    access_token          => 'auth_tokens/test-ephemeral-token',
    answer_after_ms       => 400,    # audio needed before the fake answers
    answer_audio          => 'any',  # 'voiced': silence does not count
    silence_rms           => 64,     # RMS below this is silence
    reply_ms              => 480,    # length of the spoken answer
    chunk_ms              => 40,     # audio per serverContent message
    chunk_interval_ms     => 10,     # faster than real time, like §5
    tone_hz               => 440,
    setup_delay_ms        => 100,    # lets "sent before setupComplete" show
    input_text            => 'hello from the caller',
    output_text           => 'Hello, this is the fake Gemini speaking.',
    greeting              => 0,      # speak first on fresh sessions
    barge_in_ms           => 0,      # voiced audio mid-answer interrupts
    transcribe_text_turns => 0,      # inputTranscription for text turns
    goaway_close_ms       => 300,
    idle_timeout_s        => 600,
    models                => undef,  # {id => 'native'|'cascade'} override
);

my @ACTION_TYPES = qw(toolCall interrupted goAway close dropTcp refuse reply
                      toolCallCancellation);

my %ACTION_EXTRA = (
    toolCall    => [],
    interrupted => [],
    reply       => [],
    goAway      => [qw(closeAfterMs closeCode closeReason)],
    close       => [qw(reason)],
    dropTcp     => [],
    refuse      => [qw(status count)],
    toolCallCancellation => [],
);

my %TURN_ACTION = map { $_ => 1 } qw(toolCall interrupted reply);

my %CLOSE_REASON = (
    1000 => '',
    1001 => '',
    1007 => $FakeGemini::Check::INVALID,
    1008 => 'Operation is not implemented, or supported, or enabled.',
    1011 => 'Internal error encountered.',
);

our $DEADLINE     = 'Deadline expired before operation could complete.';
our $BAD_KEY      = 'API key not valid. Please pass a valid API key.';
our $BAD_TOKEN    = 'Request had invalid authentication credentials.'
                    . ' Expected OAuth 2 access token, login cookie or other'
                    . ' valid authentication credential.';
our $UNREGISTERED = q{Method doesn't allow unregistered callers (callers}
                    . ' without established identity). Please use API Key or'
                    . ' other form of API consumer identity to call this API.';


sub run_from_argv {
    my ($class, @argv) = @_;

    my %o = (ws_port => 0, control_port => 0, quiet => 0, verbose => 0);

    GetOptionsFromArray(\@argv,
        'port-file=s'    => \$o{port_file},
        'ca-dir=s'       => \$o{ca_dir},
        'ws-port=i'      => \$o{ws_port},
        'control-port=i' => \$o{control_port},
        'api-key=s'      => \$o{api_key},
        'access-token=s' => \$o{access_token},
        'config=s'       => \$o{config},
        'parent-pid=i'   => \$o{parent_pid},
        'quiet!'         => \$o{quiet},
        'verbose!'       => \$o{verbose},
        'quiet-violations!' => \$o{quiet_violations},
    ) or die _usage();

    die _usage() unless defined $o{ca_dir};

    my $self = $class->new(%o);
    $self->start;
    Mojo::IOLoop->start;

    return 0;
}


sub _usage {
    return "usage: fake-gemini --ca-dir DIR [--port-file FILE]"
           . " [--ws-port N] [--control-port N] [--api-key K]"
           . " [--access-token T] [--config JSON] [--parent-pid PID]"
           . " [--quiet] [--verbose] [--quiet-violations]\n";
}


sub new {
    my ($class, %o) = @_;

    my %config = %DEFAULT_CONFIG;
    my $extra  = defined $o{config} ? JSON::PP->new->utf8->decode($o{config})
                                    : {};

    %config = (%config, %$extra);
    $config{api_key}      = $o{api_key}      if defined $o{api_key};
    $config{access_token} = $o{access_token} if defined $o{access_token};

    my $self = bless {
        opt        => \%o,
        config     => \%config,
        sessions   => {},
        next_id    => 1,
        handle_seq => 0,
    }, $class;

    my $err = $self->_check_config(\%config);
    die "fake-gemini: $err\n" if $err;

    $self->{initial_config} = { %config };
    $self->_clear_state;

    return $self;
}


sub _clear_state {
    my ($self) = @_;

    $self->{pending}    = [];
    $self->{refusals}   = [];
    $self->{refused}    = [];
    $self->{violations} = [];
    $self->{handles}    = {};
    $self->{call_ids}   = {};
}


sub _check_config {
    my ($self, $c) = @_;

    for my $k (sort keys %$c) {
        return "unknown config key \"$k\"" unless exists $DEFAULT_CONFIG{$k};
    }

    for my $k (qw(answer_after_ms reply_ms chunk_ms chunk_interval_ms
                  setup_delay_ms silence_rms barge_in_ms goaway_close_ms
                  idle_timeout_s tone_hz))
    {
        return "config $k must be a non-negative integer"
            unless defined $c->{$k} && $c->{$k} =~ /^\d+$/;
    }

    return 'config chunk_ms must be positive' unless $c->{chunk_ms} > 0;
    return 'config answer_audio must be "any" or "voiced"'
        unless $c->{answer_audio} =~ /^(?:any|voiced)$/;
    return 'config models must be an object'
        if defined $c->{models} && ref $c->{models} ne 'HASH';

    return;
}


sub config { $_[0]{config} }


sub models {
    my ($self) = @_;

    return $self->{config}{models} || \%FakeGemini::Check::MODELS;
}


# A key or token setting may hold one value or a list (several tenants).
sub accepted {
    my ($self, $what) = @_;

    my $v = $self->{config}{$what};
    return ref $v eq 'ARRAY' ? $v : [$v];
}


sub start {
    my ($self) = @_;

    my $o     = $self->{opt};
    my $paths = TestCA::make($o->{ca_dir});

    my $tls = Mojo::URL->new("https://127.0.0.1:$o->{ws_port}");
    $tls->query(cert => $paths->{cert}, key => $paths->{key},
                verify => '0x00');

    $self->{ws_daemon} = Mojo::Server::Daemon->new(
        app => $self->_ws_app, listen => ["$tls"], silent => 1)->start;
    $self->{ctl_daemon} = Mojo::Server::Daemon->new(
        app    => $self->_control_app,
        listen => ["http://127.0.0.1:$o->{control_port}"],
        silent => 1)->start;

    $self->{ports} = {
        ws_port       => 0 + $self->{ws_daemon}->ports->[0],
        control_port  => 0 + $self->{ctl_daemon}->ports->[0],
        ca            => $paths->{ca},
        cert          => $paths->{cert},
        key           => $paths->{key},
        pid           => $$,
        api_keys      => $self->accepted('api_key'),
        access_tokens => $self->accepted('access_token'),
    };

    $self->_write_port_file($o->{port_file}) if defined $o->{port_file};

    unless ($o->{quiet}) {
        local $| = 1;
        print "fake-gemini ws_port=$self->{ports}{ws_port}"
              . " control_port=$self->{ports}{control_port}"
              . " ca=$paths->{ca} pid=$$\n";
    }

    $self->_watch_parent($o->{parent_pid}) if $o->{parent_pid};
}


# Written to a temporary name and renamed, so a reader polling for the
# file never sees half of it.
sub _write_port_file {
    my ($self, $file) = @_;

    my $tmp = "$file.tmp.$$";

    open my $fh, '>', $tmp or die "fake-gemini: $tmp: $!\n";
    print {$fh} JSON::PP->new->canonical->encode($self->{ports}), "\n";
    close $fh or die "fake-gemini: $tmp: $!\n";
    rename $tmp, $file or die "fake-gemini: rename $tmp: $!\n";
}


# If the test process dies without running END (SIGKILL, a crash), the
# fake must not linger holding ports.
sub _watch_parent {
    my ($self, $ppid) = @_;

    # When the watched process is our parent, re-parenting is the first
    # sign of its death (a killed parent can linger as a zombie, which
    # still answers kill 0).
    my $is_parent = getppid() == $ppid;

    Mojo::IOLoop->recurring(0.2 => sub {
        exit 0 if $is_parent && getppid() != $ppid;
        exit 0 unless kill 0, $ppid;
    });
}


sub _new_app {
    my $app = Mojolicious->new;

    # Errors to stderr whatever the working directory holds (Mojolicious
    # would log to ./log/ if it existed), nothing chattier.
    $app->log(Mojo::Log->new(level => 'error'));
    $app->secrets(['fake-gemini']);
    $app->max_request_size(64 * 1024 * 1024);

    return $app;
}


# --- WebSocket side --------------------------------------------------------

sub _ws_app {
    my ($self) = @_;

    my $app = _new_app();
    my $r   = $app->routes;

    $r->websocket('/ws/*rpc' => sub { $self->_ws_handshake(shift) });
    $r->any('/*any' => { any => '' } => sub { $self->_not_found(shift) });

    return $app;
}


sub _not_found {
    my ($self, $c) = @_;

    my $what = $c->req->method . ' ' . $c->req->url->path;

    $what .= $c->tx->is_websocket ? ' (WebSocket upgrade)'
                                  : ' (not a WebSocket upgrade)';
    $self->violation(undef, "request for unknown endpoint: $what");

    $c->render(status => 404, text => "Not Found\n");
}


sub _ws_handshake {
    my ($self, $c) = @_;

    my ($version, $method) = $c->stash('rpc') =~ m{
        ^google\.ai\.generativelanguage\.(v1beta|v1alpha)
        \.GenerativeService\.(BidiGenerateContent(?:Constrained)?)$
    }x;

    return $self->_not_found($c) unless $method;
    return if $self->_maybe_refuse($c);

    my $id   = $self->{next_id}++;
    my $sess = FakeGemini::Session->new(
        server => $self, c => $c, id => $id,
        version => $version, method => $method);

    $self->{sessions}{$id} = $sess;
    $sess->attach;
}


# Scripted refusal: answer the upgrade with an HTTP error instead of 101.
sub _maybe_refuse {
    my ($self, $c) = @_;

    my $r = $self->{refusals}[0] or return 0;

    shift @{ $self->{refusals} } if --$r->{count} <= 0;

    push @{ $self->{refused} }, {
        path   => $c->req->url->path->to_string,
        status => $r->{status},
        at     => Time::HiRes::time(),
    };
    $self->info("refused upgrade with HTTP $r->{status}");

    $c->render(status => $r->{status}, json => { error => {
        code    => $r->{status},
        message => 'The service is currently unavailable.',
        status  => 'UNAVAILABLE',
    } });

    return 1;
}


# --- state shared by sessions -----------------------------------------------

sub violation {
    my ($self, $sess, $msg) = @_;

    my $id = $sess ? $sess->id : undef;

    push @{ $self->{violations} }, {
        conn => $id,
        msg  => $msg,
        at   => Time::HiRes::time(),
    };

    # Loud on purpose: a test that forgets to look at the log still shows
    # the problem in prove's output.  Only a test that provokes violations
    # on purpose turns this off.
    print STDERR 'fake-gemini: ' . (defined $id ? "conn $id: " : '')
                 . "VIOLATION: $msg\n"
        unless $self->{opt}{quiet_violations};
}


sub info {
    my ($self, $msg) = @_;

    print STDERR "fake-gemini: $msg\n" if $self->{opt}{verbose};
}


sub issue_handle {
    my ($self, $sess) = @_;

    my $h = 'handle-' . ++$self->{handle_seq};
    $self->{handles}{$h} = $sess->id;

    return $h;
}


sub handle_owner {
    my ($self, $h) = @_;

    return $self->{handles}{$h};
}


# Ids look like the real ones (§4): "function-call-" and a long number.
sub new_call_id {
    my ($self) = @_;

    my $id;

    do {
        $id = 'function-call-' . (1 + int rand 9)
              . join '', map { int rand 10 } 1 .. 18;
    } while $self->{call_ids}{$id}++;

    return $id;
}


sub session_model {
    my ($self, $id) = @_;

    my $sess = $self->{sessions}{$id} or return undef;

    return $sess->log->{model};
}


sub session_closed {
    my ($self, $sess) = @_;

    $self->info('conn ' . $sess->id . ' closed');
}


# The session "now" actions go to: the newest one that finished setup
# and is still open.
sub current_session {
    my ($self, $id) = @_;

    my @ready = grep { $_->is_ready } values %{ $self->{sessions} };

    if (defined $id) {
        @ready = grep { $_->id == $id } @ready;
    }

    my ($newest) = sort { $b->id <=> $a->id } @ready;

    return $newest;
}


# Remove and return the queued actions due at $when for this session.
sub claim_actions {
    my ($self, $when, $sess) = @_;

    my (@mine, @rest);

    for my $a (@{ $self->{pending} }) {
        if ($a->{when} eq $when
            && (!defined $a->{conn} || $a->{conn} == $sess->id))
        {
            push @mine, $a;
        } else {
            push @rest, $a;
        }
    }

    $self->{pending} = \@rest;

    return @mine;
}


sub queue_action {
    my ($self, $a) = @_;

    push @{ $self->{pending} }, $a;
}


sub on_session_ready {
    my ($self, $sess) = @_;

    $sess->run_action($_) for $self->claim_actions('setup', $sess);
}


# --- control side -----------------------------------------------------------

sub _control_app {
    my ($self) = @_;

    my $app = _new_app();
    my $r   = $app->routes;

    $r->get('/control/health' => sub {
        shift->render(json => { ok => true, %{ $self->{ports} } });
    });
    $r->get('/control/log' => sub {
        shift->render(json => $self->snapshot);
    });
    $r->get('/control/log/:id' => [id => qr/\d+/] => sub {
        $self->_control_conn_log(shift);
    });
    $r->post('/control/script' => sub { $self->_control_script(shift) });
    $r->post('/control/config' => sub { $self->_control_config(shift) });
    $r->post('/control/reset'  => sub { $self->_control_reset(shift) });

    return $app;
}


sub snapshot {
    my ($self) = @_;

    my @conns = map  { $_->log }
                sort { $a->id <=> $b->id } values %{ $self->{sessions} };

    return {
        connections => \@conns,
        violations  => $self->{violations},
        refused     => $self->{refused},
        pending     => $self->{pending},
        refusals    => $self->{refusals},
        handles     => $self->{handles},
        config      => $self->{config},
    };
}


sub _control_conn_log {
    my ($self, $c) = @_;

    my $sess = $self->{sessions}{ $c->stash('id') };

    return $c->render(status => 404, json => { error => 'no such connection' })
        unless $sess;

    $c->render(json => $sess->log);
}


sub _control_error {
    my ($c, $status, $msg) = @_;

    $c->render(status => $status, json => { error => $msg });
}


sub _control_script {
    my ($self, $c) = @_;

    my $body    = $c->req->json;
    my $actions = ref $body eq 'HASH' ? $body->{actions} : $body;

    return _control_error($c, 400, 'body must be a JSON list of actions'
                                   . ' or {"actions": [...]}')
        unless ref $actions eq 'ARRAY';

    my @norm;

    for my $a (@$actions) {
        my ($n, $err) = $self->_normalize_action($a);
        return _control_error($c, 400, $err) if $err;
        push @norm, $n;
    }

    my (@queued, @executed);

    for my $a (@norm) {
        if ($self->_dispatch_action($a)) {
            push @executed, $a;
        } else {
            push @queued, $a;
        }
    }

    $c->render(json => { queued => \@queued, executed => \@executed });
}


# Returns true when the action ran at once, false when it was queued.
sub _dispatch_action {
    my ($self, $a) = @_;

    if ($a->{type} eq 'refuse') {
        push @{ $self->{refusals} }, { count => $a->{count},
                                       status => $a->{status} };
        return 0;
    }

    if ($a->{when} eq 'now') {
        my $sess = $self->current_session($a->{conn});

        if ($sess) {
            $sess->run_action($a);
            return 1;
        }

        # No live session yet: run it as soon as the next one is set up.
        $a->{when} = 'setup';
    }

    $self->queue_action($a);

    return 0;
}


sub _normalize_action {
    my ($self, $in) = @_;

    return (undef, 'action must be an object') unless ref $in eq 'HASH';

    my @types = grep { exists $in->{$_} } @ACTION_TYPES;

    return (undef, 'action needs exactly one of ' . join('|', @ACTION_TYPES))
        unless @types == 1;

    my $type = $types[0];
    my %ok   = map { $_ => 1 } ($type, qw(when conn afterMs afterChunks),
                                @{ $ACTION_EXTRA{$type} });

    for my $k (sort keys %$in) {
        return (undef, "unknown key \"$k\" in $type action") unless $ok{$k};
    }

    my %a = (%$in, type => $type);

    $a{when} //= $TURN_ACTION{$type} ? 'turn' : 'now';

    return (undef, "\"when\" must be now|setup|turn")
        unless $a{when} =~ /^(?:now|setup|turn)$/;

    for my $k (qw(conn afterMs afterChunks closeAfterMs)) {
        return (undef, "\"$k\" must be a non-negative integer")
            if defined $a{$k} && $a{$k} !~ /^\d+$/;
    }

    my $check = $self->can("_normalize_$type");
    my $err   = $check->($self, \%a);

    return $err ? (undef, $err) : (\%a, undef);
}


sub _normalize_toolCall {
    my ($self, $a) = @_;

    my $calls = ref $a->{toolCall} eq 'ARRAY' ? $a->{toolCall}
                                               : [$a->{toolCall}];

    return 'toolCall needs at least one call' unless @$calls;

    for my $call (@$calls) {
        return 'toolCall must be {"name": ..., "args": {...}} or a list'
            unless ref $call eq 'HASH' && defined $call->{name}
                   && !ref $call->{name};
        return 'toolCall args must be an object'
            if exists $call->{args} && ref $call->{args} ne 'HASH';
        $call->{args} //= {};
    }

    $a->{toolCall} = $calls;

    return;
}


sub _normalize_interrupted {
    my ($self, $a) = @_;

    $a->{afterChunks} //= 2 unless defined $a->{afterMs};

    return;
}


sub _normalize_reply {
    my ($self, $a) = @_;

    return 'reply must be {"text": ..., "ms": ...}'
        unless ref $a->{reply} eq 'HASH';
    return 'reply.ms must be a non-negative integer'
        if defined $a->{reply}{ms} && $a->{reply}{ms} !~ /^\d+$/;

    return;
}


sub _normalize_goAway {
    my ($self, $a) = @_;

    my $t = $a->{goAway};

    $t = "${t}s" if defined $t && !ref $t && $t =~ /^\d+(?:\.\d+)?$/;

    return 'goAway must be a duration like "5s"'
        unless defined $t && !ref $t && $t =~ /^\d+(?:\.\d+)?s$/;

    $a->{goAway}        = $t;
    $a->{closeAfterMs} //= $self->{config}{goaway_close_ms};
    $a->{closeCode}    //= 1011;
    $a->{closeReason}  //= $DEADLINE;

    return;
}


sub _normalize_close {
    my ($self, $a) = @_;

    return 'close must be a close code 1000..4999'
        unless $a->{close} =~ /^\d+$/ && $a->{close} >= 1000
               && $a->{close} <= 4999;

    $a->{reason} //= $CLOSE_REASON{ $a->{close} } // '';

    return;
}


sub _normalize_dropTcp {
    return;
}


# {"toolCallCancellation": {"ids": [...]}} or a bare list of ids.  The
# ids need not name an open call: tests use it to send cancellations the
# client must ignore (unknown, already answered).
sub _normalize_toolCallCancellation {
    my ($self, $a) = @_;

    my $c   = $a->{toolCallCancellation};
    my $ids = ref $c eq 'HASH' ? $c->{ids} : $c;

    return 'toolCallCancellation must be {"ids": [...]} or a list of ids'
        unless ref $ids eq 'ARRAY'
               && !grep { !defined $_ || ref $_ } @$ids;

    $a->{toolCallCancellation} = { ids => [ map { "$_" } @$ids ] };

    return;
}


sub _normalize_refuse {
    my ($self, $a) = @_;

    my $n = $a->{refuse};

    $a->{count} //= FakeGemini::Check::is_bool($n) || !defined $n ? 1 : $n;
    $a->{status} //= 503;

    return 'refuse count must be a positive integer'
        unless $a->{count} =~ /^\d+$/ && $a->{count} > 0;
    return 'refuse status must be an HTTP status 400..599'
        unless $a->{status} =~ /^\d+$/ && $a->{status} >= 400
               && $a->{status} <= 599;

    return;
}


sub _control_config {
    my ($self, $c) = @_;

    my $body = $c->req->json;

    return _control_error($c, 400, 'body must be a JSON object')
        unless ref $body eq 'HASH';

    my %new = (%{ $self->{config} }, %$body);
    my $err = $self->_check_config(\%new);

    return _control_error($c, 400, $err) if $err;

    $self->{config} = \%new;
    $c->render(json => \%new);
}


# Forget closed connections, queued actions, violations and handles, and
# go back to the start-up configuration.  Open connections keep running
# (and stay in the log): killing them would hide bugs in the next test.
sub _control_reset {
    my ($self, $c) = @_;

    for my $id (keys %{ $self->{sessions} }) {
        delete $self->{sessions}{$id} unless $self->{sessions}{$id}->is_open;
    }

    $self->_clear_state;
    $self->{config} = { %{ $self->{initial_config} } };

    $c->render(json => { ok => true });
}


# ===========================================================================

package FakeGemini::Session;

use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Mojo::IOLoop;
use Mojo::JSON qw(true false);
use Scalar::Util qw(weaken);
use Time::HiRes ();

my %ONEOF = map { $_ => 1 } qw(setup clientContent realtimeInput toolResponse);

# Keys whose values are user data, not proto fields: never renamed.
my %OPAQUE = map { $_ => 1 } qw(args response parameters parametersJsonSchema
                                responseJsonSchema);

my $PCM_IN_MIME  = 'audio/pcm;rate=16000';
my $PCM_OUT_MIME = 'audio/pcm;rate=24000';


sub new {
    my ($class, %a) = @_;

    my $c    = $a{c};
    my $self = bless {
        srv          => $a{server},
        c            => $c,
        id           => $a{id},
        version      => $a{version},
        method       => $a{method},
        state        => 'await_setup',
        timers       => {},
        turn         => undef,
        turn_seq     => 0,
        pending_ms   => 0,
        pending_text => [],
        barge_ms     => 0,
        in_activity  => 0,
        calls        => {},
    }, $class;

    weaken $self->{srv};

    my $h = $c->req->headers;

    $self->{log} = {
        id                  => $a{id},
        path                => $c->req->url->path->to_string,
        api_version         => $a{version},
        method              => $a{method},
        opened_at           => Time::HiRes::time(),
        closed_at           => undef,
        state               => 'open',
        request_headers     => {
            host       => $h->host,
            user_agent => $h->user_agent,
            origin     => $h->origin,
            protocol   => $h->sec_websocket_protocol,
            extensions => $h->sec_websocket_extensions,
        },
        auth                => undef,
        setup               => undef,
        setup_json          => undef,
        model               => undef,
        setup_complete_sent => false,
        resume_handle       => undef,
        resumed_from_conn   => undef,
        greeted             => false,
        messages            => { total => 0, text_frames => 0,
                                 binary_frames => 0, setup => 0,
                                 clientContent => 0, realtimeInput => 0,
                                 toolResponse => 0 },
        audio               => { frames => 0, bytes => 0, ms => 0,
                                 silent_frames => 0, voiced_frames => 0,
                                 all_silent => undef, rms_max => 0,
                                 media_chunks_frames => 0 },
        realtime            => { activityStart => 0, activityEnd => 0,
                                 audioStreamEnd => 0, video => 0, text => 0 },
        texts               => [],
        tool_calls          => [],
        tool_responses      => [],
        cancellations_sent  => [],
        turns               => [],
        actions             => [],
        handles_issued      => [],
        sent                => {},
        close_sent          => undef,
        close_received      => undef,
        close_code          => undef,
        close_reason        => undef,
        dropped_tcp         => false,
        violations          => [],
        notes               => [],
    };

    return $self;
}


sub id       { $_[0]{id} }
sub log      { $_[0]{log} }
sub cfg      { $_[0]{srv}->config }
sub is_open  { $_[0]{state} ne 'closed' }
sub is_ready { $_[0]{state} eq 'ready' && !$_[0]{closing} }


sub attach {
    my ($self) = @_;

    my $c = $self->{c};

    $c->inactivity_timeout($self->cfg->{idle_timeout_s});
    $c->tx->max_websocket_size(64 * 1024 * 1024);

    # Subscribing makes Mojolicious answer the upgrade with 101.
    $c->on(frame  => $self->_guard(frame => sub { $self->_on_frame($_[1]) }));
    $c->on(text   => $self->_guard(text => sub {
        $self->_on_message($_[1], 'text') }));
    $c->on(binary => $self->_guard(binary => sub {
        $self->_on_message($_[1], 'binary') }));
    $c->on(finish => $self->_guard(finish => sub {
        $self->_on_finish($_[1], $_[2]) }));

    my ($code, $reason, $why) = $self->_authenticate;

    # The reference cannot say whether a bad key fails the upgrade or
    # closes after it (§7); the brief settles on a close after the 101.
    $self->_timer(auth => 0, sub { $self->close_with($code, $reason, $why) })
        if $code;
}


sub _authenticate {
    my ($self) = @_;

    my $req   = $self->{c}->req;
    my $q     = $req->url->query;
    my ($token) = ($req->headers->authorization // '')
                  =~ /^Token\s+(\S+)\s*$/;
    my %given = (
        'key-query'          => scalar $q->param('key'),
        'key-header'         => scalar $req->headers->header('x-goog-api-key'),
        'access-token-query' => scalar $q->param('access_token'),
        'token-header'       => $token,
    );
    my @wanted = $self->{method} =~ /Constrained$/
                 ? ('access-token-query', 'token-header', 'access_token')
                 : ('key-query', 'key-header', 'api_key');
    my $setting = pop @wanted;
    my @used    = grep { defined $given{$_} } @wanted;
    my %ok      = map { $_ => 1 } @{ $self->{srv}->accepted($setting) };

    $self->{log}{auth} = {
        methods => [grep { defined $given{$_} } sort keys %given],
        value   => @used ? $given{ $used[0] } : undef,
        ok      => false,
    };

    return (1008, $FakeGemini::Server::UNREGISTERED,
            "no credentials for $self->{method}") unless @used;

    for my $m (@used) {
        next if $ok{ $given{$m} };
        return $setting eq 'api_key'
            ? (1008, $FakeGemini::Server::BAD_KEY, "API key not valid ($m)")
            : (1008, $FakeGemini::Server::BAD_TOKEN,
               "access token not valid ($m)");
    }

    $self->{log}{auth}{ok} = true;

    return;
}


# --- bookkeeping ------------------------------------------------------------

sub violation {
    my ($self, $msg) = @_;

    push @{ $self->{log}{violations} }, $msg;
    $self->{srv}->violation($self, $msg);
}


# A bug in the fake must fail the test, not vanish into the event loop:
# it becomes a violation and the connection closes 1011.
sub _guard {
    my ($self, $what, $cb) = @_;

    weaken(my $weak = $self);

    return sub {
        my @args = @_;

        return if eval { $cb->(@args); 1 };

        my $err = $@ =~ s/\s+\z//r;

        return unless $weak;
        $weak->violation("fake-gemini internal error in $what: $err");
        $weak->close_with(1011, 'Internal error encountered.');
    };
}


sub note {
    my ($self, $msg) = @_;

    my $notes = $self->{log}{notes};

    push @$notes, $msg unless grep { $_ eq $msg } @$notes;
}


sub _timer {
    my ($self, $name, $delay_ms, $cb) = @_;

    $self->_cancel($name);

    weaken(my $weak = $self);

    my $run = $self->_guard("timer $name" => $cb);

    $self->{timers}{$name} = Mojo::IOLoop->timer($delay_ms / 1000 => sub {
        return unless $weak;
        delete $weak->{timers}{$name};
        $run->();
    });
}


sub _cancel {
    my ($self, $name) = @_;

    my $id = delete $self->{timers}{$name};
    Mojo::IOLoop->remove($id) if defined $id;
}


sub _cancel_matching {
    my ($self, $re) = @_;

    $self->_cancel($_) for grep { /$re/ } keys %{ $self->{timers} };
}


sub send_json {
    my ($self, $data) = @_;

    return if $self->{closing} || !$self->{c};

    for my $k (keys %$data) {
        next if $k eq 'usageMetadata';
        $self->{log}{sent}{$k}++;
    }

    # §2: server JSON arrives pretty-printed in binary frames.
    $self->{c}->send({ binary => FakeGemini::JSON::pretty($data) });
}


# Close with a code and reason; a violation text makes it an error close.
sub close_with {
    my ($self, $code, $reason, $violation, %o) = @_;

    return if $self->{closing} || !$self->{c};

    $self->violation($violation) if defined $violation;

    # §7: reasons are cut at the 123-byte limit of a close frame.
    my $bytes = $reason // '';
    utf8::encode($bytes);
    $bytes = substr($bytes, 0, 123);
    utf8::decode($bytes) or $bytes =~ s/[^\x00-\x7f]+$//;

    $self->{log}{close_sent} = {
        code     => $code,
        reason   => $bytes,
        scripted => $o{scripted} ? true : false,
        at       => Time::HiRes::time(),
    };

    $self->_stop_turn;
    $self->{closing} = 1;
    $self->{c}->finish($code, $bytes);

    # Mojolicious closes the TCP connection once the close frame is out;
    # this is only a backstop for a peer that stops reading.
    $self->_timer(force_close => 3000, sub { $self->_drop_stream });
}


sub drop_tcp {
    my ($self) = @_;

    return if $self->{closing} || !$self->{c};

    $self->{log}{dropped_tcp} = true;
    $self->_stop_turn;
    $self->{closing} = 1;
    $self->_drop_stream;
}


sub _drop_stream {
    my ($self) = @_;

    my $c = $self->{c} or return;
    my $stream = Mojo::IOLoop->stream($c->tx->connection // return) or return;

    # shutdown() sends the FIN at once, with no TLS close_notify and no
    # WebSocket close frame: what a dying upstream looks like.
    shutdown($stream->handle, 2) if $stream->handle;
    $stream->close;
}


sub _on_frame {
    my ($self, $frame) = @_;

    return unless $frame->[4] == 8;

    my $payload = $frame->[5];
    my ($code, $reason) = (1005, '');

    if (length $payload >= 2) {
        $code   = unpack 'n', substr($payload, 0, 2);
        $reason = substr($payload, 2);
        utf8::decode($reason);
    }

    $self->{log}{close_received} = {
        code   => $code,
        reason => $reason,
        at     => Time::HiRes::time(),
    };
}


sub _on_finish {
    my ($self, $code, $reason) = @_;

    my $log = $self->{log};

    $log->{state}        = 'closed';
    $log->{closed_at}    = Time::HiRes::time();
    $log->{close_code}   = $code;
    $log->{close_reason} = $reason;

    if (!$log->{close_sent} && !$log->{close_received}
        && !$log->{dropped_tcp})
    {
        $self->note('client dropped the connection without a close frame');
    }

    $self->{state}   = 'closed';
    $self->{closing} = 1;
    $self->_stop_turn;
    $self->_cancel($_) for keys %{ $self->{timers} };

    # Breaks the controller <-> session cycle so both can be freed.
    delete $self->{c};
    $self->{srv}->session_closed($self) if $self->{srv};
}


# --- incoming messages ------------------------------------------------------

sub _on_message {
    my ($self, $bytes, $kind) = @_;

    return if $self->{closing};

    my $m = $self->{log}{messages};

    $m->{total}++;
    $m->{"${kind}_frames"}++;

    # §2: every SDK sends its JSON as text frames; the real server's view
    # of binary input is unknown, so flag it but keep going.
    $self->violation('client sent a binary frame; clients send JSON as text')
        if $kind eq 'binary' && $m->{binary_frames} == 1;

    my $msg = $self->_parse($bytes) // return;
    my ($type, @err) = $self->_message_type($msg);

    # Keep the setup exactly as sent, for tests about field spelling.
    if (defined $type && $type eq 'setup'
        && !defined $self->{log}{setup_json})
    {
        $self->{log}{setup_json} = $bytes;
        utf8::decode($self->{log}{setup_json});
    }

    return $self->close_with(@err) if @err;

    $m->{$type}++;

    if ($self->{state} eq 'await_setup') {
        return $self->close_with(FakeGemini::Check::invalid(
                   "first message must be setup, got $type"))
            unless $type eq 'setup';
        return $self->_handle_setup($msg->{setup});
    }

    if ($self->{state} eq 'setup_pending') {
        return $self->close_with(FakeGemini::Check::invalid(
                   "$type sent before setupComplete"));
    }

    return $self->close_with(FakeGemini::Check::invalid(
               'setup sent twice on one connection'))
        if $type eq 'setup';

    my $handler = "_handle_$type";

    $self->$handler($msg->{$type});
}


sub _parse {
    my ($self, $bytes) = @_;

    my $msg = eval { Mojo::JSON::decode_json($bytes) };

    unless (ref $msg eq 'HASH') {
        my $why = $@ ? "malformed JSON: " . ($@ =~ s/\s+at \S+ line.*//sr)
                     : 'message is not a JSON object';
        $self->close_with(FakeGemini::Check::invalid($why));
        return undef;
    }

    my $renamed = 0;
    $msg = _camelize($msg, \$renamed);

    # proto3 JSON accepts snake_case too (§2), so this is legal, but it
    # is worth knowing that the client does not send what the SDKs send.
    $self->note('client used snake_case field names') if $renamed;

    return $msg;
}


sub _camelize {
    my ($v, $renamed) = @_;

    if (ref $v eq 'HASH') {
        my %out;

        for my $k (keys %$v) {
            (my $ck = $k) =~ s/_([a-z0-9])/\u$1/g;
            $$renamed = 1 if $ck ne $k;
            $out{$ck} = $OPAQUE{$ck} ? $v->{$k} : _camelize($v->{$k}, $renamed);
        }

        return \%out;
    }

    return [map { _camelize($_, $renamed) } @$v] if ref $v eq 'ARRAY';

    return $v;
}


# §2: exactly one of the oneof fields, nothing else.
sub _message_type {
    my ($self, $msg) = @_;

    for my $k (sort keys %$msg) {
        return (undef, FakeGemini::Check::unknown_field($k, []))
            unless $ONEOF{$k};
    }

    my @set = sort keys %$msg;

    return (undef, FakeGemini::Check::invalid(
               'message must carry exactly one of setup|clientContent|'
               . 'realtimeInput|toolResponse, got '
               . (@set ? join(',', @set) : 'none')))
        unless @set == 1;

    return ($set[0]);
}


sub _handle_setup {
    my ($self, $setup) = @_;

    my $log    = $self->{log};
    my $models = $self->{srv}->models;

    $log->{setup} = $setup;

    my @err = FakeGemini::Check::setup($setup, $self->{version}, $models);
    return $self->close_with(@err) if @err;

    my ($model) = $setup->{model} =~ m{^models/(.+)$};
    my $handle  = ($setup->{sessionResumption} // {})->{handle};

    $log->{model} = $model;

    if (defined $handle && length $handle) {
        my $owner = $self->{srv}->handle_owner($handle);

        return $self->close_with(FakeGemini::Check::invalid(
                   "sessionResumption.handle \"$handle\" was never issued"))
            unless defined $owner;

        $log->{resume_handle}     = $handle;
        $log->{resumed_from_conn} = $owner;

        # §3: resumption may change the config but not the model.  What the
        # service does about it is unknown, so flag without closing.
        my $prev = $self->{srv}->session_model($owner);
        $self->violation("resumed a $prev session with model $model")
            if defined $prev && $prev ne $model;
    }

    $self->_remember_features($setup, $models->{$model});

    $self->{state} = 'setup_pending';
    $self->_timer(setup => $self->cfg->{setup_delay_ms},
                  sub { $self->_setup_complete });
}


sub _remember_features {
    my ($self, $s, $kind) = @_;

    my $gen  = $s->{generationConfig} // {};
    my $rc   = $s->{realtimeInputConfig} // {};
    my $aad  = $rc->{automaticActivityDetection} // {};
    my $mods = $gen->{responseModalities} // ['AUDIO'];

    $self->{f} = {
        input_tx    => exists $s->{inputAudioTranscription},
        output_tx   => exists $s->{outputAudioTranscription},
        resumption  => exists $s->{sessionResumption},
        manual_vad  => $aad->{disabled} ? 1 : 0,
        no_barge_in => ($rc->{activityHandling} // '') eq 'NO_INTERRUPTION',
        text_out    => $mods->[0] eq 'TEXT',
        combined    => $s->{model} =~ m{^models/gemini-3} ? 1 : 0,
        kind        => $kind,
    };
}


sub _setup_complete {
    my ($self) = @_;

    return if $self->{closing};

    # §5: setupComplete is an empty object on v1beta.
    $self->send_json({ setupComplete => {} });
    $self->{state} = 'ready';
    $self->{log}{setup_complete_sent} = true;

    $self->{srv}->on_session_ready($self);

    # A resumed session continues a conversation: no new greeting.
    if ($self->cfg->{greeting} && !defined $self->{log}{resume_handle}
        && !$self->{turn} && !$self->{closing})
    {
        $self->{log}{greeted} = true;
        $self->start_turn('greeting');
    }
}


sub _handle_clientContent {
    my ($self, $cc) = @_;

    my @err = FakeGemini::Check::client_content($cc);
    return $self->close_with(@err) if @err;

    for my $t (@{ $cc->{turns} || [] }) {
        for my $p (@{ $t->{parts} }) {
            next unless defined $p->{text};

            my $role = $t->{role} // 'user';

            push @{ $self->{log}{texts} }, {
                source       => 'clientContent',
                role         => $role,
                text         => $p->{text},
                turnComplete => $cc->{turnComplete} ? true : false,
            };
            push @{ $self->{pending_text} }, $p->{text} if $role eq 'user';
        }
    }

    # §4: clientContent interrupts the current generation.
    $self->interrupt('clientContent') if $self->{turn};

    unless ($cc->{turnComplete}) {
        # Legal (§4), but the model keeps waiting; often a client bug.
        $self->note('clientContent without turnComplete: no answer');
        return;
    }

    my $text = join ' ', @{ $self->{pending_text} };
    $self->start_turn('text', input => $text);
}


sub _handle_realtimeInput {
    my ($self, $ri) = @_;

    my @err = FakeGemini::Check::realtime_input($ri);
    return $self->close_with(@err) if @err;

    my $rt = $self->{log}{realtime};

    if (exists $ri->{activityStart}) {
        return unless $self->_activity_signal('activityStart');
        $rt->{activityStart}++;
        $self->{in_activity} = 1;
        $self->interrupt('activityStart')
            if $self->{turn} && !$self->{f}{no_barge_in};
    }

    if (my $chunks = $ri->{mediaChunks}) {
        $self->note('client used deprecated realtimeInput.mediaChunks');
        $self->{log}{audio}{media_chunks_frames}++;

        # §4: only the first element of mediaChunks is used.
        my $blob = $chunks->[0];

        if ($blob->{mimeType} =~ m{^image/}) {
            $rt->{video}++;
        } else {
            return unless $self->_handle_audio($blob);
        }
    }

    if ($ri->{audio}) {
        return unless $self->_handle_audio($ri->{audio});
    }

    $rt->{video}++ if $ri->{video};

    if (defined $ri->{text}) {
        $rt->{text}++;
        push @{ $self->{log}{texts} }, {
            source => 'realtimeInput', role => 'user', text => $ri->{text},
        };
        $self->interrupt('realtimeInput.text') if $self->{turn};
        $self->start_turn('text', input => $ri->{text});
    }

    if (exists $ri->{activityEnd}) {
        return unless $self->_activity_signal('activityEnd');
        $rt->{activityEnd}++;
        $self->{in_activity} = 0;
        $self->start_turn('audio', input => $self->cfg->{input_text})
            if $self->{pending_ms} > 0 && !$self->{turn};
    }

    if ($ri->{audioStreamEnd}) {
        $rt->{audioStreamEnd}++;
        $self->violation('audioStreamEnd with automatic activity detection'
                         . ' disabled')
            if $self->{f}{manual_vad};
        $self->start_turn('audio', input => $self->cfg->{input_text})
            if $self->{pending_ms} > 0 && !$self->{turn}
               && !$self->{f}{manual_vad};
    }
}


# §4: activityStart/End are only for manual VAD.
sub _activity_signal {
    my ($self, $what) = @_;

    return 1 if $self->{f}{manual_vad};

    $self->close_with(FakeGemini::Check::invalid(
        "$what while automatic activity detection is on"));

    return 0;
}


# §6.  Returns false when the connection was closed.
sub _handle_audio {
    my ($self, $blob) = @_;

    my $a = $self->{log}{audio};

    if ($blob->{mimeType} ne $PCM_IN_MIME) {
        $self->close_with(1007, $FakeGemini::Check::BAD_AUDIO,
                          "audio mimeType \"$blob->{mimeType}\","
                          . " expected \"$PCM_IN_MIME\"");
        return 0;
    }

    my $pcm = FakeGemini::Check::decode_base64($blob->{data});

    unless (defined $pcm && length($pcm) % 2 == 0) {
        $self->close_with(1007, $FakeGemini::Check::BAD_AUDIO,
                          defined $pcm ? 'audio data has an odd byte count'
                                       : 'audio data is not base64');
        return 0;
    }

    $self->note('audio data not in padded standard base64')
        if $blob->{data} =~ /[-_]/ || length($blob->{data}) % 4;

    # §10: with manual VAD, audio outside activityStart/End is refused.
    if ($self->{f}{manual_vad} && !$self->{in_activity}) {
        $self->close_with(FakeGemini::Check::invalid(
            'audio outside activityStart/activityEnd with manual VAD'));
        return 0;
    }

    my $ms     = length($pcm) / 32;
    my $rms    = _rms($pcm);
    my $voiced = $rms >= $self->cfg->{silence_rms};

    $a->{frames}++;
    $a->{bytes} += length $pcm;
    $a->{ms}    += $ms;
    $a->{rms_max} = $rms if $rms > $a->{rms_max};
    $a->{$voiced ? 'voiced_frames' : 'silent_frames'}++;
    $a->{all_silent} = $a->{voiced_frames} ? false : true;

    $self->_audio_turn_logic($ms, $voiced);

    return 1;
}


sub _audio_turn_logic {
    my ($self, $ms, $voiced) = @_;

    my $cfg    = $self->cfg;
    my $counts = $voiced || $cfg->{answer_audio} eq 'any';

    if ($self->{turn}) {
        return unless $cfg->{barge_in_ms} && $voiced
                      && !$self->{f}{no_barge_in};

        $self->{barge_ms} += $ms;
        $self->interrupt('voiced audio')
            if $self->{barge_ms} >= $cfg->{barge_in_ms};
        return;
    }

    $self->{pending_ms} += $ms if $counts;

    # With manual VAD the turn ends at activityEnd, not after N ms.
    return if $self->{f}{manual_vad};

    $self->start_turn('audio', input => $cfg->{input_text})
        if $self->{pending_ms} >= $cfg->{answer_after_ms}
           && $self->{pending_ms} > 0;
}


sub _rms {
    my ($pcm) = @_;

    my @s = unpack 's<*', $pcm;

    return 0 unless @s;

    my $sum = 0;
    $sum += $_ * $_ for @s;

    return int(sqrt($sum / @s) + 0.5);
}


sub _handle_toolResponse {
    my ($self, $tr) = @_;

    my @err = FakeGemini::Check::tool_response($tr);
    return $self->close_with(@err) if @err;

    for my $fr (@{ $tr->{functionResponses} }) {
        return unless $self->_match_tool_response($fr);
    }

    my $t = $self->{turn};

    $self->_timer('turn:resume' => 20, sub { $self->_advance_turn })
        if $t && $t->{phase} eq 'tool' && !%{ $t->{open} };
}


# Returns false when the connection was closed.
sub _match_tool_response {
    my ($self, $fr) = @_;

    my $id   = $fr->{id};
    my $call = $self->{calls}{$id};
    my $t    = $self->{turn};
    my $rec  = {
        id       => $id,
        name     => $fr->{name},
        response => $fr->{response},
        matched  => false,
        late     => false,
        at       => Time::HiRes::time(),
    };

    push @{ $self->{log}{tool_responses} }, $rec;

    if (!$call || $call->{state} eq 'answered') {
        $self->close_with(FakeGemini::Check::invalid(
            $call ? "second toolResponse for $id"
                  : "toolResponse for unknown id \"$id\""));
        return 0;
    }

    if ($call->{state} eq 'cancelled') {
        # Racing a toolCallCancellation is normal client behaviour.
        $rec->{late} = true;
        $self->note("toolResponse for cancelled call $id");
        return 1;
    }

    $self->violation("toolResponse $id names \"" . ($fr->{name} // '')
                     . "\", the call was \"$call->{name}\"")
        if defined $fr->{name} && $fr->{name} ne $call->{name};

    $call->{state}    = 'answered';
    $call->{log}{state} = 'answered';
    $rec->{matched}   = true;
    delete $t->{open}{$id} if $t;

    return 1;
}


# --- scripted actions -------------------------------------------------------

sub run_action {
    my ($self, $a) = @_;

    return if $self->{closing};

    if ($a->{afterMs}) {
        my %later = (%$a, afterMs => 0);
        $self->_timer("action:" . Time::HiRes::time() . rand(),
                      $a->{afterMs}, sub { $self->run_action(\%later) });
        return;
    }

    push @{ $self->{log}{actions} }, {
        type => $a->{type}, at => Time::HiRes::time() };

    my $type = $a->{type};

    if ($type eq 'goAway') {
        $self->send_json({ goAway => { timeLeft => $a->{goAway} } });
        $self->_timer(goaway_close => $a->{closeAfterMs}, sub {
            $self->close_with($a->{closeCode}, $a->{closeReason}, undef,
                              scripted => 1);
        });

    } elsif ($type eq 'close') {
        $self->close_with($a->{close}, $a->{reason}, undef, scripted => 1);

    } elsif ($type eq 'dropTcp') {
        $self->drop_tcp;

    } elsif ($type eq 'toolCallCancellation') {
        $self->cancel_calls($a->{toolCallCancellation}{ids});

    } elsif ($type eq 'interrupted' && $self->{turn}) {
        $self->interrupt('script');

    } elsif ($self->{turn}) {
        # A tool call or reply cannot join a turn that is already
        # speaking; it opens the next one.
        $self->{srv}->queue_action({ %$a, when => 'turn', conn => $self->id });

    } else {
        $self->start_turn('script', actions => [$a]);
    }
}


# --- turns ------------------------------------------------------------------

sub start_turn {
    my ($self, $trigger, %o) = @_;

    return if $self->{closing} || $self->{state} ne 'ready';

    my $cfg     = $self->cfg;
    my @actions = (@{ $o{actions} || [] },
                   $self->{srv}->claim_actions('turn', $self));
    my $n       = ++$self->{turn_seq};
    my $tlog    = {
        n              => $n,
        trigger        => $trigger,
        input_text     => $o{input},
        started_at     => Time::HiRes::time(),
        ended_at       => undef,
        audio_chunks   => 0,
        completed      => false,
        interrupted    => false,
        interrupted_by => undef,
        tool_call_ids  => [],
        actions        => [map { $_->{type} } @actions],
    };

    my $t = $self->{turn} = {
        n        => $n,
        log      => $tlog,
        steps    => [],
        hooks    => [],
        open     => {},
        phase    => 'start',
        sent     => 0,
        reply_ms => $cfg->{reply_ms},
        text     => $cfg->{output_text},
        input_ms => $self->{pending_ms},
    };

    push @{ $self->{log}{turns} }, $tlog;

    $self->{pending_ms}   = 0;
    $self->{pending_text} = [];
    $self->{barge_ms}     = 0;

    $self->_plan_turn($t, \@actions);
    $self->_send_input_transcription($trigger, $o{input});
    $self->_advance_turn;
}


sub _plan_turn {
    my ($self, $t, $actions) = @_;

    for my $a (@$actions) {
        my $type = $a->{type};

        if ($type eq 'toolCall') {
            push @{ $t->{steps} }, { tool => $a->{toolCall} };

        } elsif ($type eq 'reply') {
            $t->{reply_ms} = $a->{reply}{ms}   if defined $a->{reply}{ms};
            $t->{text}     = $a->{reply}{text} if defined $a->{reply}{text};

        } elsif (defined $a->{afterMs} && $a->{afterMs} > 0) {
            # Timed from the start of the turn, so it can also land while
            # a tool call is still open.
            my %now = (%$a, afterMs => 0);
            $self->_timer("turn:after:$t->{n}:" . scalar(@{ $t->{hooks} }),
                          $a->{afterMs}, sub { $self->_turn_hook(\%now) });

        } else {
            my $after = $a->{afterChunks} // ($type eq 'interrupted' ? 2 : 1);
            push @{ $t->{hooks} }, { after => $after, action => $a };
        }
    }

    push @{ $t->{steps} }, { speak => 1 };
}


sub _turn_hook {
    my ($self, $a) = @_;

    return unless $self->{turn};

    if ($a->{type} eq 'interrupted') {
        $self->interrupt('script');
    } else {
        $self->run_action($a);
    }
}


sub _send_input_transcription {
    my ($self, $trigger, $text) = @_;

    return unless $self->{f}{input_tx} && defined $text && length $text;

    # The service transcribes audio; typed text has nothing to transcribe.
    return unless $trigger eq 'audio' || $self->cfg->{transcribe_text_turns};

    $self->send_json({ serverContent => {
        inputTranscription => { text => $text } } });
}


sub _advance_turn {
    my ($self) = @_;

    my $t = $self->{turn} or return;
    my $step = shift @{ $t->{steps} };

    return $self->_end_turn unless $step;
    return $self->_send_tool_call($t, $step->{tool}) if $step->{tool};

    $self->_start_speaking($t);
}


sub _send_tool_call {
    my ($self, $t, $calls) = @_;

    my @fc;

    for my $c (@$calls) {
        my $id  = $c->{id} // $self->{srv}->new_call_id;
        my $rec = { id => $id, name => $c->{name}, args => $c->{args},
                    turn => $t->{n}, state => 'open' };

        push @{ $self->{log}{tool_calls} }, $rec;
        push @{ $t->{log}{tool_call_ids} }, $id;

        $self->{calls}{$id} = { name => $c->{name}, state => 'open',
                                log => $rec };
        $t->{open}{$id} = 1;

        push @fc, { id => $id, name => $c->{name}, args => $c->{args} };
    }

    $t->{phase} = 'tool';
    $self->send_json({ toolCall => { functionCalls => \@fc } });

    # §5: while a tool runs the session is not resumable; the update then
    # carries no handle (default values vanish in proto3 JSON).
    $self->send_json({ sessionResumptionUpdate => {} })
        if $self->{f}{resumption};
}


sub _start_speaking {
    my ($self, $t) = @_;

    my $cfg = $self->cfg;

    $t->{phase} = 'speak';

    if ($self->{f}{text_out}) {
        $t->{chunks} = [ map { { text => $_ } } _split_text($t->{text}, 3) ];

    } else {
        my $pcm   = _tone($t->{reply_ms}, $cfg->{tone_hz});
        my $size  = 48 * $cfg->{chunk_ms};
        my @parts = map { substr($pcm, $_ * $size, $size) }
                    0 .. int((length($pcm) - 1) / $size);

        @parts = () unless length $pcm;
        $t->{chunks} = [ map { { audio => $_ } } @parts ];
    }

    # Transcription in two pieces: one early, the last right before
    # generationComplete (§5 ordering).
    $t->{tx} = $self->{f}{output_tx} && !$self->{f}{text_out}
               ? [ _split_text($t->{text}, 2) ] : [];

    $self->_speak_next;
}


sub _speak_next {
    my ($self) = @_;

    my $t = $self->{turn} or return;

    return unless $self->_run_due_hooks($t);

    my $chunk = shift @{ $t->{chunks} };

    unless ($chunk) {
        $self->_send_output_transcription(splice @{ $t->{tx} });
        $self->send_json({ serverContent => { generationComplete => true } });
        return $self->_advance_turn;
    }

    my $sc = { modelTurn => { parts => [_part($chunk)] } };

    $t->{sent}++;
    $t->{log}{audio_chunks}++ if $chunk->{audio};

    # 3.x models put transcription and audio in one message (§5, §10).
    if ($t->{sent} == 1 && @{ $t->{tx} } > 1) {
        my $piece = shift @{ $t->{tx} };

        if ($self->{f}{combined}) {
            $sc->{outputTranscription} = { text => $piece };
            $self->send_json({ serverContent => $sc });
        } else {
            $self->send_json({ serverContent => $sc });
            $self->_send_output_transcription($piece);
        }

    } else {
        $self->send_json({ serverContent => $sc });
    }

    $self->_timer('turn:chunk' => $self->cfg->{chunk_interval_ms},
                  sub { $self->_speak_next });
}


sub _part {
    my ($chunk) = @_;

    return { text => $chunk->{text} } if defined $chunk->{text};

    return { inlineData => { mimeType => $PCM_OUT_MIME,
                             data     => encode_base64($chunk->{audio}, '') } };
}


sub _send_output_transcription {
    my ($self, @pieces) = @_;

    my $text = join '', @pieces;

    return unless length $text;

    $self->send_json({ serverContent => {
        outputTranscription => { text => $text } } });
}


# Runs the actions due after the chunks sent so far.  Returns false when
# one of them ended the turn or the connection.
sub _run_due_hooks {
    my ($self, $t) = @_;

    my $last = !@{ $t->{chunks} };
    my @due  = grep { $_->{after} <= $t->{sent} || $last } @{ $t->{hooks} };

    $t->{hooks} = [ grep { !($_->{after} <= $t->{sent} || $last) }
                    @{ $t->{hooks} } ];

    for my $h (@due) {
        $self->_turn_hook($h->{action});
        return 0 if !$self->{turn} || $self->{turn} != $t || $self->{closing};
    }

    return 1;
}


sub _end_turn {
    my ($self) = @_;

    my $t = delete $self->{turn} or return;

    $self->send_json({ serverContent => { turnComplete => true },
                       usageMetadata => $self->_usage($t) });

    $t->{log}{completed} = true;
    $t->{log}{ended_at}  = Time::HiRes::time();

    $self->_resumption_update;
}


# §5: on barge-in there is no generationComplete; open calls are
# cancelled.
sub interrupt {
    my ($self, $why) = @_;

    my $t = delete $self->{turn} or return;

    $self->_cancel_matching(qr/^turn:/);

    $self->send_json({ serverContent => { interrupted => true } });

    my @open = sort keys %{ $t->{open} };

    if (@open) {
        for my $id (@open) {
            $self->{calls}{$id}{state}        = 'cancelled';
            $self->{calls}{$id}{log}{state}   = 'cancelled';
        }
        $self->send_json({ toolCallCancellation => { ids => \@open } });
    }

    $self->send_json({ serverContent => { turnComplete => true },
                       usageMetadata => $self->_usage($t) });

    $t->{log}{interrupted}    = true;
    $t->{log}{interrupted_by} = $why;
    $t->{log}{ended_at}       = Time::HiRes::time();

    $self->_resumption_update;
}


# A scripted toolCallCancellation: sent as given.  Ids of open calls are
# cancelled the way the real service would (their toolResponse is then
# late, not a violation); others (answered, unknown) change nothing here,
# so the test can check that the client ignores them.
sub cancel_calls {
    my ($self, $ids) = @_;

    my $t = $self->{turn};

    for my $id (@$ids) {
        my $call = $self->{calls}{$id};

        next unless $call && $call->{state} eq 'open';

        $call->{state}        = 'cancelled';
        $call->{log}{state}   = 'cancelled';
        delete $t->{open}{$id} if $t;
    }

    push @{ $self->{log}{cancellations_sent} }, [@$ids];
    $self->send_json({ toolCallCancellation => { ids => [@$ids] } });

    $self->_timer('turn:resume' => 20, sub { $self->_advance_turn })
        if $t && $t->{phase} eq 'tool' && !%{ $t->{open} };
}


# Stop a turn without telling the client (the connection is going away).
sub _stop_turn {
    my ($self) = @_;

    $self->_cancel_matching(qr/^turn:/);

    my $t = delete $self->{turn} or return;

    $t->{log}{ended_at} = Time::HiRes::time();
}


sub _resumption_update {
    my ($self) = @_;

    return unless $self->{f}{resumption} && !$self->{closing};

    my $h = $self->{srv}->issue_handle($self);

    push @{ $self->{log}{handles_issued} }, $h;
    $self->send_json({ sessionResumptionUpdate => {
        newHandle => $h, resumable => true } });
}


# Plausible token counts (~25 tokens per second of audio).
sub _usage {
    my ($self, $t) = @_;

    my $prompt_audio = int(($t->{input_ms} // 0) / 40);
    my $prompt_text  = 120;
    my $response     = int($t->{reply_ms} / 40) || 1;
    my $modality     = $self->{f}{text_out} ? 'TEXT' : 'AUDIO';

    return {
        promptTokenCount      => $prompt_text + $prompt_audio,
        responseTokenCount    => $response,
        totalTokenCount       => $prompt_text + $prompt_audio + $response,
        promptTokensDetails   => [
            { modality => 'TEXT',  tokenCount => $prompt_text },
            ($prompt_audio ? { modality => 'AUDIO',
                               tokenCount => $prompt_audio } : ()),
        ],
        responseTokensDetails => [
            { modality => $modality, tokenCount => $response },
        ],
    };
}


# 24 kHz mono s16le sine (§6 output format).
sub _tone {
    my ($ms, $hz) = @_;

    my $n   = int(24 * $ms);
    my $amp = 8000;
    my $w   = 2 * 3.14159265358979 * $hz / 24000;

    return pack 's<*', map { int($amp * sin($w * $_)) } 0 .. $n - 1;
}


sub _split_text {
    my ($text, $pieces) = @_;

    my @words = split /(?<=\s)/, $text // '';

    return () unless @words;

    my $per = int((@words + $pieces - 1) / $pieces) || 1;
    my @out;

    push @out, join '', splice @words, 0, $per while @words;

    return @out;
}


1;

__END__

=head1 NAME

FakeGemini - fake Gemini Live (BidiGenerateContent) server for the tests

=head1 SYNOPSIS

    use lib 't/lib';
    use FakeGemini;

    my $fake = FakeGemini->new(answer_after_ms => 300);   # config knobs
    # nginx: proxy to https://127.0.0.1:<ws_port>, server name localhost,
    # trust $fake->ca_file, key $fake->api_key.
    printf "%d %s %s\n", $fake->ws_port, $fake->ca_file, $fake->api_key;

    $fake->script({ toolCall => { name => 'score_lead', args => { n => 1 } } });
    # ... drive a call through nginx ...
    my $conn = $fake->wait_for_connection(sub { $_[0]{state} eq 'closed' });
    is_deeply $conn->{violations}, [];
    $fake->reset;          # between tests
    # the process is killed by DESTROY / END (or $fake->stop)

=head1 CONSTRUCTOR

C<< FakeGemini->new(%opt) >> starts C<t/lib/fake-gemini> in a child process
and returns once both ports answer.  Process options: C<dir> (scratch
directory, default a temporary one), C<ca_dir> (where L<TestCA> makes or
reuses C<ca.pem>, C<cert.pem>, C<key.pem>; share it between fakes),
C<start_timeout>, C<verbose>, C<quiet_violations>.  Every other key, or
the hash in C<config>, is a behaviour knob (see CONFIG).

=head1 ACCESSORS

C<ws_port>, C<control_port>, C<host> (127.0.0.1), C<ca_file>, C<cert_file>,
C<key_file>, C<ca_dir>, C<api_key>, C<access_token>, C<pid>,
C<control_url>, C<< ws_path(version => 'v1beta'|'v1alpha', constrained => 0|1) >>,
C<< ws_url(host => 'localhost', key => ..., access_token => ..., %path) >>
(C<< key => undef >> leaves the key out).

=head1 CONTROL METHODS

C<script(@actions)>, C<config(%knobs)>, C<reset>, C<log>, C<connections>,
C<connection($id)>, C<last_connection>, C<violations>,
C<< wait_for(sub { my $log = shift; ... }, timeout => 10, what => '...') >>,
C<< wait_for_connection(sub { my $conn = shift; ... }, %o) >>, C<stop>.
They map onto the HTTP control port:

    GET  /control/health     ports, pid, CA paths, accepted keys/tokens
    GET  /control/log        {connections, violations, refused, pending,
                              refusals, handles, config}
    GET  /control/log/ID     one connection
    POST /control/script     [action, ...] or {"actions": [...]}
                             -> {queued: [...], executed: [...]}; 400 on error
    POST /control/config     {knob: value, ...} -> new config; 400 on error
    POST /control/reset      drop closed connections, queued actions,
                             violations, handles; back to start-up config

=head1 ACTIONS

Exactly one type key per action, plus optional C<when> (now|setup|turn),
C<conn> (connection id), C<afterMs>, C<afterChunks>.

    {"toolCall": {"name": N, "args": {...}}}   or a list = parallel calls
        default when=turn: at the next answer, send toolCall
        (id "function-call-<19 digits>", or "id" to force one), wait
        for the toolResponse(s), then speak.
    {"interrupted": true, "afterChunks": 2}    or "afterMs": N (from turn
        start; can land while a call is open -> toolCallCancellation)
    {"reply": {"text": "...", "ms": 1200}}     next answer's text/length
    {"goAway": "5s", "closeAfterMs": 300, "closeCode": 1011,
     "closeReason": "..."}                     default when=now
    {"close": 1011, "reason": "..."}           default reasons per code
    {"dropTcp": true}                          FIN, no close frame
    {"refuse": N | true, "status": 503}        next N upgrades get HTTP
    {"toolCallCancellation": {"ids": [...]}}   default when=now: send it
        as given (any ids, known or not); open calls named are cancelled,
        the rest are left alone; logged in cancellations_sent

when=now runs on the newest set-up open session (or C<conn>), or at the
next setupComplete if there is none.  when=setup waits for the next
setupComplete.  when=turn waits for the next answer of any session (or
C<conn>); session-level actions with when=turn fire after C<afterChunks>
(default 1) audio chunks of that answer.

=head1 CONFIG

api_key, access_token (string or list), answer_after_ms (400),
answer_audio (any|voiced), silence_rms (64), reply_ms (480), chunk_ms (40),
chunk_interval_ms (10), tone_hz (440), setup_delay_ms (100), input_text,
output_text, greeting (0), barge_in_ms (0 = off), transcribe_text_turns (0),
goaway_close_ms (300), idle_timeout_s (600), models ({id => native|cascade}).

=cut
