/*
 * Copyright (C) Orbis
 *
 * Call scenarios driven with canned Gemini messages and explicit time.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/base64.h>
#include <orbiscore/client.h>
#include <orbiscore/gemini.h>
#include <orbiscore/session.h>


#define MODEL  "gemini-2.5-flash-native-audio-preview-12-2025"


typedef struct {
    orbis_session_t          *s;
    orbis_session_actions_t   a;
    json_t                   *fd;
    orbis_gemini_peer_t      *peer;
} fx_t;


/* the Gemini side of the next fx_new(): its adapter renders the setup */
static orbis_gemini_setup_t  tsetup;


static const char  setup_complete[] = "{\n  \"setupComplete\": {}\n}\n";


/* fixtures */

static orbis_session_conf_t
base_conf(json_t *fd)
{
    orbis_session_conf_t  c;

    memset(&c, 0, sizeof(c));
    c.session_id = "sess-1";
    c.tenant_id = "tenant-9";
    c.agent_id = "agent-3";
    c.model = MODEL;

    memset(&tsetup, 0, sizeof(tsetup));
    tsetup.model = MODEL;
    tsetup.system_prompt = "You are a concierge.";
    tsetup.voice = "Kore";
    tsetup.language = "en-US";
    tsetup.function_declarations = fd;
    tsetup.input_transcription = 1;
    tsetup.output_transcription = 1;
    c.greeting = "Greet the caller.";

    return c;
}


static fx_t *
fx_new(const orbis_session_conf_t *c)
{
    fx_t         *f;
    orbis_err_t   err;

    f = calloc(1, sizeof(fx_t));
    assert_non_null(f);

    f->s = orbis_session_create(c, &err);
    if (f->s == NULL) {
        fail_msg("create: %s", err.msg);
    }

    orbis_session_actions_init(&f->a);

    /* the browser's and Gemini's adapters render the events */
    if (!c->echo) {
        f->peer = orbis_gemini_peer_new(&tsetup, &err);
        if (f->peer == NULL) {
            fail_msg("peer: %s", err.msg);
        }
    }

    orbis_session_actions_codecs(&f->a, &orbis_client_codec, NULL,
                                 &orbis_gemini_codec, f->peer);

    return f;
}


static fx_t *
fx_default(void)
{
    fx_t                  *f;
    json_t                *fd;
    orbis_session_conf_t   c;

    fd = json_pack("[{s:s,s:s}]", "name", "open_gate", "description",
                   "Open the gate");
    c = base_conf(fd);
    f = fx_new(&c);

    /* the session keeps its own copy */
    json_decref(fd);

    return f;
}


static void
fx_free(fx_t *f)
{
    orbis_session_free(f->s);
    orbis_session_actions_free(&f->a);
    orbis_gemini_peer_free(f->peer);
    free(f);
}


/* action inspection */

static size_t
count(const orbis_session_actions_t *a, orbis_session_act_type_t type)
{
    size_t  i, n;

    for (i = 0, n = 0; i < a->n; i++) {
        n += (a->items[i].type == type);
    }

    return n;
}


static const orbis_session_action_t *
nth(const orbis_session_actions_t *a, orbis_session_act_type_t type,
    size_t k)
{
    size_t  i;

    for (i = 0; i < a->n; i++) {
        if (a->items[i].type == type && k-- == 0) {
            return &a->items[i];
        }
    }

    fail_msg("no action %d #%zu", (int) type, k);

    return NULL;
}


static json_t *
parse_action(const orbis_session_action_t *act)
{
    json_t        *j;
    json_error_t   e;

    assert_int_equal(act->data[act->len], '\0');

    j = json_loadb(act->data, act->len, 0, &e);
    if (j == NULL) {
        fail_msg("action data is not JSON: %s", e.text);
    }

    return j;
}


/* the k-th client event whose "type" is type, as JSON (caller decrefs) */
static json_t *
client_event(const orbis_session_actions_t *a, const char *type, size_t k)
{
    size_t   i;
    json_t  *j;

    for (i = 0; i < a->n; i++) {
        if (a->items[i].type != ORBIS_SESSION_ACT_CALLER_EVENT) {
            continue;
        }

        j = parse_action(&a->items[i]);

        if (strcmp(json_string_value(json_object_get(j, "type")), type) == 0
            && k-- == 0)
        {
            return j;
        }

        json_decref(j);
    }

    return NULL;
}


static size_t
count_events(const orbis_session_actions_t *a, const char *type)
{
    size_t   n;
    json_t  *j;

    for (n = 0; (j = client_event(a, type, n)) != NULL; n++) {
        json_decref(j);
    }

    return n;
}


/* kind of an upstream message: its single top-level key */
static int
upstream_is(const orbis_session_action_t *act, const char *key)
{
    int      yes;
    json_t  *j;

    j = parse_action(act);
    yes = (json_object_get(j, key) != NULL);
    json_decref(j);

    return yes;
}


/* decoded PCM of every realtimeInput audio message, concatenated */
static size_t
upstream_audio(const orbis_session_actions_t *a, uint8_t *out, size_t max)
{
    size_t        i, n, len;
    json_t       *j;
    const char   *d;

    n = 0;

    for (i = 0; i < a->n; i++) {
        if (a->items[i].type != ORBIS_SESSION_ACT_PEER_SEND) {
            continue;
        }

        j = parse_action(&a->items[i]);
        d = json_string_value(json_object_get(json_object_get(
                json_object_get(j, "realtimeInput"), "audio"), "data"));

        if (d != NULL) {
            assert_true(n + orbis_base64_decoded_max(strlen(d)) <= max);
            assert_int_equal(orbis_base64_decode(out + n, &len, d, strlen(d),
                                                 0, NULL), ORBIS_OK);
            n += len;
        }

        json_decref(j);
    }

    return n;
}


static void
up(fx_t *f, const char *msg, int64_t now)
{
    orbis_rc_t  rc;

    rc = orbis_gemini_on_message(f->s, msg, strlen(msg), now,
                                           &f->a);
    if (rc != ORBIS_OK) {
        fail_msg("upstream message refused (%s): %s", orbis_rc_name(rc),
                 msg);
    }
}


static void
client_audio(fx_t *f, const uint8_t *pcm, size_t len, int64_t now)
{
    assert_int_equal(orbis_client_on_audio(f->s, pcm, len, now,
                                                   &f->a), ORBIS_OK);
}


static void
go_live(fx_t *f, int64_t now)
{
    assert_int_equal(orbis_session_start(f->s, now, &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_on_peer_open(f->s, now, &f->a),
                     ORBIS_OK);
    up(f, setup_complete, now);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_LIVE);
    assert_false(orbis_session_is_over(f->s));
}


static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t) (seed + i * 3);
    }
}


static json_t *
record_turn(json_t *rec, size_t i)
{
    return json_array_get(json_object_get(rec, "turns"), i);
}


/* scenarios */

static void
test_happy_path(void **state)
{
    fx_t                          *f;
    json_t                        *j, *rec, *t;
    size_t                         n;
    uint8_t                        pcm[640], got[1024];
    const orbis_session_action_t  *act;

    (void) state;

    f = fx_default();

    /* start: ready + connect */
    assert_int_equal(orbis_session_start(f->s, 1000, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 2);
    assert_int_equal(f->a.items[0].type, ORBIS_SESSION_ACT_CALLER_EVENT);
    assert_int_equal(f->a.items[1].type, ORBIS_SESSION_ACT_PEER_OPEN);
    assert_null(f->a.items[1].data);

    j = client_event(&f->a, "ready", 0);
    assert_string_equal(json_string_value(json_object_get(j, "sessionId")),
                        "sess-1");
    assert_string_equal(json_string_value(json_object_get(j, "mode")),
                        "live");
    assert_int_equal(json_integer_value(json_object_get(j, "inputRate")),
                     16000);
    assert_int_equal(json_integer_value(json_object_get(j, "outputRate")),
                     24000);
    json_decref(j);
    assert_int_equal(orbis_session_state(f->s),
                     ORBIS_SESSION_UPSTREAM_CONNECTING);

    /* open: the setup goes out */
    assert_int_equal(orbis_session_on_peer_open(f->s, 1100, &f->a),
                     ORBIS_OK);
    assert_int_equal(f->a.n, 1);
    act = nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0);
    j = parse_action(act);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "setup"), "model")),
                        "models/" MODEL);
    assert_non_null(json_object_get(json_object_get(j, "setup"), "tools"));
    assert_int_equal(json_object_size(json_object_get(
                         json_object_get(j, "setup"), "sessionResumption")),
                     0);
    json_decref(j);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_SETUP_SENT);

    /* setupComplete: live, and the greeting makes the agent speak first */
    up(f, setup_complete, 1400);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_LIVE);
    assert_int_equal(f->a.n, 1);
    j = parse_action(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0));
    assert_string_equal(json_string_value(json_object_get(json_array_get(
        json_object_get(json_array_get(json_object_get(json_object_get(j,
        "clientContent"), "turns"), 0), "parts"), 0), "text")),
        "Greet the caller.");
    json_decref(j);

    /* user audio goes straight up */
    fill(pcm, sizeof(pcm), 7);
    client_audio(f, pcm, sizeof(pcm), 2000);
    assert_int_equal(f->a.n, 1);
    n = upstream_audio(&f->a, got, sizeof(got));
    assert_int_equal(n, sizeof(pcm));
    assert_memory_equal(got, pcm, n);

    /* the user's words arrive in pieces */
    up(f, "{\"serverContent\":{\"inputTranscription\":"
          "{\"text\":\"Is the gate\"}}}", 2500);
    up(f, "{\"serverContent\":{\"inputTranscription\":"
          "{\"text\":\" open?\"}}}", 2600);
    j = client_event(&f->a, "transcript", 0);
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        " open?");
    assert_true(json_is_false(json_object_get(j, "final")));
    assert_string_equal(json_string_value(json_object_get(j, "role")),
                        "user");
    json_decref(j);

    /* the answer: audio and its transcription in one message */
    up(f, "{\n  \"serverContent\": {\n    \"modelTurn\": {\"parts\": ["
          "{\"inlineData\": {\"mimeType\": \"audio/pcm;rate=24000\","
          " \"data\": \"AAECAwQF\"}}]},\n"
          "    \"outputTranscription\": {\"text\": \"It is open.\"}\n"
          "  }\n}\n", 3000);

    act = nth(&f->a, ORBIS_SESSION_ACT_CALLER_AUDIO, 0);
    assert_int_equal(act->len, 6);
    assert_memory_equal(act->data, "\x00\x01\x02\x03\x04\x05", 6);

    /* the role changed: the user's turn is final, in full */
    j = client_event(&f->a, "transcript", 0);
    assert_string_equal(json_string_value(json_object_get(j, "role")),
                        "user");
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "Is the gate open?");
    assert_true(json_is_true(json_object_get(j, "final")));
    json_decref(j);

    j = client_event(&f->a, "transcript", 1);
    assert_string_equal(json_string_value(json_object_get(j, "role")),
                        "agent");
    assert_true(json_is_false(json_object_get(j, "final")));
    json_decref(j);

    up(f, "{\"serverContent\":{\"generationComplete\":true}}", 3100);
    assert_int_equal(f->a.n, 0);

    up(f, "{\"serverContent\":{\"outputTranscription\":{\"text\":\" Go.\"},"
          "\"turnComplete\":true},\"usageMetadata\":{\"promptTokenCount\":"
          "515,\"responseTokenCount\":31,\"totalTokenCount\":\"546\"}}",
       3200);

    j = client_event(&f->a, "transcript", 1);
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "It is open. Go.");
    assert_true(json_is_true(json_object_get(j, "final")));
    json_decref(j);
    assert_int_equal(count_events(&f->a, "turn_complete"), 1);

    /* the heartbeat sees a live call */
    j = orbis_session_heartbeat_json(f->s, 4000);
    assert_string_equal(json_string_value(json_object_get(j, "state")),
                        "live");
    assert_int_equal(json_integer_value(json_object_get(j, "durationMs")),
                     3000);
    assert_int_equal(json_integer_value(json_object_get(j,
                                                        "lastActivityMs")),
                     2000);
    assert_int_equal(json_integer_value(json_object_get(j, "turns")), 2);
    json_decref(j);

    /* the user says goodbye */
    assert_int_equal(orbis_client_on_text(f->s, "{\"type\":\"end\"}",
                                                  14, 5000, &f->a),
                     ORBIS_OK);
    assert_int_equal(f->a.n, 3);
    assert_int_equal(f->a.items[0].type, ORBIS_SESSION_ACT_PEER_CLOSE);
    assert_int_equal(f->a.items[1].type, ORBIS_SESSION_ACT_CALLER_CLOSE);
    assert_int_equal(f->a.items[1].code, 1000);
    assert_string_equal(f->a.items[1].data, "normal end");
    assert_int_equal(f->a.items[2].type, ORBIS_SESSION_ACT_FINALIZE);
    assert_int_equal(f->a.items[2].end_reason,
                     ORBIS_SESSION_END_CLIENT_CLOSED);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_ENDING);
    assert_true(orbis_session_is_over(f->s));
    assert_int_equal(orbis_session_next_deadline(f->s), -1);

    assert_int_equal(orbis_session_on_caller_close(f->s, 1000, 5050, &f->a),
                     ORBIS_OK);
    assert_int_equal(f->a.n, 0);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_ENDED);
    assert_true(orbis_session_is_over(f->s));

    /* the record */
    rec = orbis_session_record_json(f->s);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "sessionId")),
                        "sess-1");
    assert_string_equal(json_string_value(json_object_get(rec, "tenantId")),
                        "tenant-9");
    assert_string_equal(json_string_value(json_object_get(rec, "agentId")),
                        "agent-3");
    assert_string_equal(json_string_value(json_object_get(rec, "model")),
                        MODEL);
    assert_int_equal(json_integer_value(json_object_get(rec, "startedMs")),
                     1000);
    assert_int_equal(json_integer_value(json_object_get(rec, "endedMs")),
                     5000);
    assert_int_equal(json_integer_value(json_object_get(rec, "durationMs")),
                     4000);
    assert_string_equal(json_string_value(json_object_get(rec, "endReason")),
                        "client_closed");
    assert_int_equal(json_integer_value(json_object_get(rec, "closeCode")),
                     1000);
    assert_true(json_real_value(json_object_get(rec, "audioSecondsIn"))
                == 0.02);
    /* 6 bytes at 24 kHz: below a millisecond */
    assert_true(json_real_value(json_object_get(rec, "audioSecondsOut"))
                == 0.0);
    assert_int_equal(json_integer_value(json_object_get(rec, "resumptions")),
                     0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(rec, "usage"), "totalTokens")), 546);
    assert_int_equal(json_array_size(json_object_get(rec, "turns")), 2);

    t = record_turn(rec, 0);
    assert_string_equal(json_string_value(json_object_get(t, "role")),
                        "user");
    assert_string_equal(json_string_value(json_object_get(t, "text")),
                        "Is the gate open?");
    assert_int_equal(json_integer_value(json_object_get(t, "startedMs")),
                     2500);
    assert_true(json_is_true(json_object_get(t, "final")));
    assert_true(json_is_false(json_object_get(t, "typed")));

    t = record_turn(rec, 1);
    assert_string_equal(json_string_value(json_object_get(t, "role")),
                        "agent");
    assert_string_equal(json_string_value(json_object_get(t, "text")),
                        "It is open. Go.");
    assert_int_equal(json_integer_value(json_object_get(t, "startedMs")),
                     3000);
    assert_true(json_is_false(json_object_get(t, "interrupted")));
    assert_int_equal(json_array_size(json_object_get(rec, "toolCalls")), 0);

    json_decref(rec);
    fx_free(f);
}


static void
test_audio_buffered_until_setup_complete(void **state)
{
    fx_t     *f;
    size_t    n;
    uint8_t   a1[640], a2[640], a3[640], all[1920], got[4096];

    (void) state;

    f = fx_default();

    fill(a1, sizeof(a1), 1);
    fill(a2, sizeof(a2), 2);
    fill(a3, sizeof(a3), 3);
    memcpy(all, a1, 640);
    memcpy(all + 640, a2, 640);
    memcpy(all + 1280, a3, 640);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    /* before the socket is open */
    client_audio(f, a1, sizeof(a1), 20);
    assert_int_equal(f->a.n, 0);
    client_audio(f, a2, sizeof(a2), 40);
    assert_int_equal(f->a.n, 0);

    /* a typed message waits as well */
    assert_int_equal(orbis_client_on_text(f->s,
                         "{\"type\":\"text\",\"text\":\"hello?\"}", 31, 50,
                         &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 0);

    assert_int_equal(orbis_session_on_peer_open(f->s, 60, &f->a),
                     ORBIS_OK);

    /* after the setup, before setupComplete */
    client_audio(f, a3, sizeof(a3), 80);
    assert_int_equal(f->a.n, 0);

    /* content before setupComplete is a protocol error and is dropped */
    assert_int_equal(orbis_gemini_on_message(f->s,
                         "{\"serverContent\":{\"turnComplete\":true}}", 39,
                         90, &f->a), ORBIS_ERR_PROTOCOL);
    assert_int_equal(f->a.n, 0);

    up(f, setup_complete, 100);

    /* greeting, then the audio in order, then the typed text */
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_SEND), 3);
    assert_true(upstream_is(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0),
                            "clientContent"));
    assert_true(upstream_is(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 1),
                            "realtimeInput"));
    assert_true(upstream_is(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 2),
                            "clientContent"));
    assert_non_null(strstr(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND,
                               2)->data, "hello?"));

    n = upstream_audio(&f->a, got, sizeof(got));
    assert_int_equal(n, sizeof(all));
    assert_memory_equal(got, all, n);

    /* nothing is left behind: the next frame goes alone */
    client_audio(f, a1, sizeof(a1), 120);
    n = upstream_audio(&f->a, got, sizeof(got));
    assert_int_equal(n, 640);
    assert_memory_equal(got, a1, 640);

    fx_free(f);
}


static void
test_buffer_drops_oldest(void **state)
{
    fx_t                  *f;
    json_t                *rec;
    size_t                 n;
    uint8_t                a[3][640], all[1920], got[4096];
    orbis_session_conf_t   c;

    (void) state;

    c = base_conf(NULL);
    c.greeting = NULL;
    c.audio_buffer_bytes = 1001;    /* rounded down to whole samples */
    f = fx_new(&c);

    for (n = 0; n < 3; n++) {
        fill(a[n], 640, (uint8_t) (n * 50));
        memcpy(all + n * 640, a[n], 640);
    }

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    client_audio(f, a[0], 640, 20);
    client_audio(f, a[1], 640, 40);
    client_audio(f, a[2], 640, 60);

    assert_int_equal(orbis_session_on_peer_open(f->s, 70, &f->a),
                     ORBIS_OK);
    up(f, setup_complete, 80);

    /* the newest 1000 bytes survive, in order, across the ring's wrap */
    n = upstream_audio(&f->a, got, sizeof(got));
    assert_int_equal(n, 1000);
    assert_memory_equal(got, all + 920, 1000);

    rec = orbis_session_record_json(f->s);
    /* 920 bytes dropped = 28.75 ms, kept to the millisecond */
    assert_true(json_real_value(json_object_get(rec, "audioSecondsDropped"))
                == 0.028);
    assert_true(json_real_value(json_object_get(rec, "audioSecondsIn"))
                == 0.06);
    json_decref(rec);

    fx_free(f);
}


static void
test_large_buffer_flush_is_chunked(void **state)
{
    fx_t      *f;
    size_t     i, n;
    uint8_t   *all, *got;

    (void) state;

    f = fx_default();

    /* 5 s of audio (the default limit) arrives before Gemini is ready */
    all = malloc(160000);
    got = malloc(170000);
    fill(all, 160000, 9);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_on_peer_open(f->s, 1, &f->a),
                     ORBIS_OK);

    for (i = 0; i < 250; i++) {
        client_audio(f, all + i * 640, 640, 2 + i);
    }

    up(f, setup_complete, 300);

    /* greeting + five 1 s messages; every pointer still valid */
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_SEND), 6);
    n = upstream_audio(&f->a, got, 170000);
    assert_int_equal(n, 160000);
    assert_memory_equal(got, all, n);

    free(all);
    free(got);
    fx_free(f);
}


static void
test_tool_call_and_response(void **state)
{
    fx_t                          *f;
    json_t                        *j, *res, *rec, *tc;
    const orbis_session_action_t  *act;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"toolCall\":{\"functionCalls\":[{\"id\":\"function-call-17\","
          "\"name\":\"open_gate\",\"args\":{\"gate\":\"north\"}}]}}", 1000);

    act = nth(&f->a, ORBIS_SESSION_ACT_RUN_TOOL, 0);
    assert_string_equal(act->tool_id, "function-call-17");
    assert_string_equal(act->tool_name, "open_gate");
    assert_string_equal(json_string_value(json_object_get(act->tool_args,
                                                          "gate")), "north");

    j = client_event(&f->a, "tool", 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "started");
    assert_string_equal(json_string_value(json_object_get(j, "name")),
                        "open_gate");
    json_decref(j);

    assert_int_equal(orbis_session_next_deadline(f->s), 1000 + 20000);

    /* the module answers */
    res = json_pack("{s:s}", "result", "opened");
    assert_int_equal(orbis_session_on_tool_result(f->s, "function-call-17",
                                                  1, res, 1500, &f->a),
                     ORBIS_OK);
    json_decref(res);

    j = parse_action(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0));
    tc = json_array_get(json_object_get(json_object_get(j, "toolResponse"),
                                        "functionResponses"), 0);
    assert_string_equal(json_string_value(json_object_get(tc, "id")),
                        "function-call-17");
    assert_string_equal(json_string_value(json_object_get(tc, "name")),
                        "open_gate");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(tc, "response"), "result")),
                        "opened");
    json_decref(j);

    j = client_event(&f->a, "tool", 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "ok");
    json_decref(j);

    /* a second answer for the same call is dropped; unknown ids refused */
    assert_int_equal(orbis_session_on_tool_result(f->s, "function-call-17",
                                                  1, NULL, 1600, &f->a),
                     ORBIS_OK);
    assert_int_equal(f->a.n, 0);
    assert_int_equal(orbis_session_on_tool_result(f->s, "function-call-99",
                                                  1, NULL, 1600, &f->a),
                     ORBIS_ERR_NOT_FOUND);

    /* failures and non-object results, and a call without an id */
    up(f, "{\"toolCall\":{\"functionCalls\":[{\"id\":\"fc-2\",\"name\":"
          "\"lookup\"},{\"name\":\"count\",\"args\":{}}]}}", 2000);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_RUN_TOOL), 2);
    act = nth(&f->a, ORBIS_SESSION_ACT_RUN_TOOL, 0);
    assert_int_equal(json_object_size(act->tool_args), 0);
    act = nth(&f->a, ORBIS_SESSION_ACT_RUN_TOOL, 1);
    assert_string_equal(act->tool_id, "orbis-call-3");

    res = json_string("backend down");
    assert_int_equal(orbis_session_on_tool_result(f->s, "fc-2", 0, res, 2100,
                                                  &f->a), ORBIS_OK);
    json_decref(res);
    j = parse_action(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0));
    tc = json_array_get(json_object_get(json_object_get(j, "toolResponse"),
                                        "functionResponses"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(tc, "response"), "error")),
                        "backend down");
    json_decref(j);
    j = client_event(&f->a, "tool", 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "error");
    json_decref(j);

    res = json_integer(42);
    assert_int_equal(orbis_session_on_tool_result(f->s, "orbis-call-3", 1,
                                                  res, 2200, &f->a),
                     ORBIS_OK);
    json_decref(res);
    j = parse_action(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0));
    tc = json_array_get(json_object_get(json_object_get(j, "toolResponse"),
                                        "functionResponses"), 0);
    /* Gemini sent no id, so none goes back */
    assert_null(json_object_get(tc, "id"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(tc, "response"), "result")), 42);
    json_decref(j);

    rec = orbis_session_record_json(f->s);
    tc = json_array_get(json_object_get(rec, "toolCalls"), 0);
    assert_string_equal(json_string_value(json_object_get(tc, "id")),
                        "function-call-17");
    assert_string_equal(json_string_value(json_object_get(tc, "status")),
                        "ok");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(tc, "args"), "gate")), "north");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(tc, "result"), "result")),
                        "opened");
    assert_int_equal(json_integer_value(json_object_get(tc, "startedMs")),
                     1000);
    assert_int_equal(json_integer_value(json_object_get(tc, "finishedMs")),
                     1500);
    tc = json_array_get(json_object_get(rec, "toolCalls"), 1);
    assert_string_equal(json_string_value(json_object_get(tc, "status")),
                        "error");
    assert_int_equal(json_array_size(json_object_get(rec, "toolCalls")), 3);
    json_decref(rec);

    fx_free(f);
}


static void
test_tool_call_cancellation(void **state)
{
    fx_t                          *f;
    json_t                        *j, *rec;
    const orbis_session_action_t  *act;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"toolCall\":{\"functionCalls\":[{\"id\":\"function-call-5\","
          "\"name\":\"open_gate\",\"args\":{\"gate\":\"south\"}}]}}", 100);

    /* the user barged in: Gemini withdraws the call */
    up(f, "{\"serverContent\":{\"interrupted\":true}}", 200);
    up(f, "{\"toolCallCancellation\":{\"ids\":[\"function-call-5\","
          "\"function-call-unknown\"]}}", 210);

    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_CANCEL_TOOL), 1);
    act = nth(&f->a, ORBIS_SESSION_ACT_CANCEL_TOOL, 0);
    assert_string_equal(act->tool_id, "function-call-5");
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_SEND), 0);

    j = client_event(&f->a, "tool", 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "cancelled");
    json_decref(j);

    /* the late result goes nowhere */
    assert_int_equal(orbis_session_on_tool_result(f->s, "function-call-5",
                                                  1, NULL, 300, &f->a),
                     ORBIS_OK);
    assert_int_equal(f->a.n, 0);

    rec = orbis_session_record_json(f->s);
    j = json_array_get(json_object_get(rec, "toolCalls"), 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "cancelled");
    assert_true(json_is_null(json_object_get(j, "result")));
    assert_int_equal(json_integer_value(json_object_get(j, "finishedMs")),
                     210);
    json_decref(rec);

    fx_free(f);
}


static void
test_tool_timeout(void **state)
{
    fx_t                  *f;
    json_t                *j, *fr;
    orbis_session_conf_t   c;

    (void) state;

    c = base_conf(NULL);
    c.tool_timeout_ms = 3000;
    c.idle_timeout_ms = 100000;
    f = fx_new(&c);
    go_live(f, 0);

    up(f, "{\"toolCall\":{\"functionCalls\":[{\"id\":\"slow-1\","
          "\"name\":\"lookup\"}]}}", 1000);
    assert_int_equal(orbis_session_next_deadline(f->s), 4000);

    assert_int_equal(orbis_session_tick(f->s, 3999, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 0);

    assert_int_equal(orbis_session_tick(f->s, 4000, &f->a), ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_CANCEL_TOOL), 1);

    /* the model must not wait forever: it gets an error answer */
    j = parse_action(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0));
    fr = json_array_get(json_object_get(json_object_get(j, "toolResponse"),
                                        "functionResponses"), 0);
    assert_string_equal(json_string_value(json_object_get(fr, "id")),
                        "slow-1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(fr, "response"), "error")),
                        "tool timed out");
    json_decref(j);

    j = client_event(&f->a, "tool", 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "timeout");
    json_decref(j);

    assert_int_equal(orbis_session_next_deadline(f->s), 100000);

    fx_free(f);
}


static void
test_interrupted(void **state)
{
    fx_t    *f;
    json_t  *j, *rec;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"
          "{\"data\":\"AAAA\"}}]},\"outputTranscription\":{\"text\":"
          "\"Let me tell you about\"}}}", 100);
    up(f, "{\"serverContent\":{\"interrupted\":true}}", 200);

    assert_int_equal(f->a.n, 1);
    assert_int_equal(count_events(&f->a, "interrupted"), 1);

    up(f, "{\"serverContent\":{\"turnComplete\":true}}", 210);
    j = client_event(&f->a, "transcript", 0);
    assert_true(json_is_true(json_object_get(j, "final")));
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "Let me tell you about");
    json_decref(j);

    rec = orbis_session_record_json(f->s);
    assert_true(json_is_true(json_object_get(record_turn(rec, 0),
                                             "interrupted")));
    json_decref(rec);

    fx_free(f);
}


static void
test_go_away_resumes_with_latest_handle(void **state)
{
    fx_t                          *f;
    json_t                        *j, *rec;
    size_t                         n;
    uint8_t                        pcm[640], got[1024];
    const orbis_session_action_t  *act;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"sessionResumptionUpdate\":{\"newHandle\":\"h-1\","
          "\"resumable\":true}}", 1000);
    up(f, "{\"sessionResumptionUpdate\":{\"newHandle\":\"h-2\","
          "\"resumable\":true}}", 2000);

    /* while generating: not resumable, the handle is kept */
    up(f, "{\"sessionResumptionUpdate\":{\"newHandle\":\"\","
          "\"resumable\":false}}", 2500);
    up(f, "{\"sessionResumptionUpdate\":{\"newHandle\":\"h-x\"}}", 2600);
    assert_string_equal(orbis_session_resume_handle(f->s), "h-2");

    /* idle at goAway: move at once */
    up(f, "{\"goAway\":{\"timeLeft\":\"50s\"}}", 3000);

    assert_int_equal(f->a.n, 2);
    assert_int_equal(f->a.items[0].type, ORBIS_SESSION_ACT_PEER_CLOSE);
    act = &f->a.items[1];
    assert_int_equal(act->type, ORBIS_SESSION_ACT_PEER_OPEN);
    assert_string_equal(act->data, "h-2");
    assert_int_equal(orbis_session_resumptions(f->s), 1);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_RESUMING);

    /* audio during the switch is kept */
    fill(pcm, sizeof(pcm), 77);
    client_audio(f, pcm, sizeof(pcm), 3010);
    assert_int_equal(f->a.n, 0);

    assert_int_equal(orbis_session_on_peer_open(f->s, 3050, &f->a),
                     ORBIS_OK);
    j = parse_action(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0));
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                            json_object_get(j, "setup"),
                            "sessionResumption"), "handle")), "h-2");
    json_decref(j);

    up(f, setup_complete, 3100);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_LIVE);

    /* no second greeting, only the kept audio */
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_SEND), 1);
    n = upstream_audio(&f->a, got, sizeof(got));
    assert_int_equal(n, sizeof(pcm));
    assert_memory_equal(got, pcm, n);

    rec = orbis_session_record_json(f->s);
    assert_int_equal(json_integer_value(json_object_get(rec, "resumptions")),
                     1);
    json_decref(rec);

    fx_free(f);
}


static void
test_go_away_waits_for_the_turn(void **state)
{
    fx_t  *f;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"sessionResumptionUpdate\":{\"newHandle\":\"h-1\","
          "\"resumable\":true}}", 500);

    /* the agent is speaking */
    up(f, "{\"serverContent\":{\"outputTranscription\":{\"text\":\"Sure,\"}}}",
       1000);
    up(f, "{\"goAway\":{\"timeLeft\":\"10s\"}}", 1100);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 0);
    assert_int_equal(orbis_session_next_deadline(f->s), 1100 + 10000 - 2000);

    up(f, "{\"serverContent\":{\"turnComplete\":true}}", 1500);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 0);

    /* the handle that covers the finished turn: now is the time */
    up(f, "{\"sessionResumptionUpdate\":{\"newHandle\":\"h-2\","
          "\"resumable\":true}}", 1600);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 1);
    assert_string_equal(nth(&f->a, ORBIS_SESSION_ACT_PEER_OPEN,
                            0)->data, "h-2");
    assert_int_equal(orbis_session_resumptions(f->s), 1);

    fx_free(f);
}


static void
test_go_away_deadline(void **state)
{
    fx_t  *f;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"sessionResumptionUpdate\":{\"newHandle\":\"h-1\","
          "\"resumable\":true}}", 500);
    up(f, "{\"toolCall\":{\"functionCalls\":[{\"id\":\"t1\",\"name\":"
          "\"open_gate\"}]}}", 1000);

    /* a running tool also holds the move back, until the deadline */
    up(f, "{\"goAway\":{\"timeLeft\":\"5s\"}}", 1100);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 0);
    assert_int_equal(orbis_session_next_deadline(f->s), 4100);

    assert_int_equal(orbis_session_tick(f->s, 4100, &f->a), ORBIS_OK);
    assert_int_equal(f->a.items[0].type, ORBIS_SESSION_ACT_PEER_CLOSE);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_CANCEL_TOOL), 1);
    assert_string_equal(nth(&f->a, ORBIS_SESSION_ACT_PEER_OPEN,
                            0)->data, "h-1");

    fx_free(f);
}


static void
test_upstream_1011_reconnects(void **state)
{
    fx_t  *f;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"sessionResumptionUpdate\":{\"newHandle\":\"h-9\","
          "\"resumable\":true}}", 500);
    up(f, "{\"serverContent\":{\"outputTranscription\":{\"text\":\"Hel\"}}}",
       600);

    assert_int_equal(orbis_gemini_on_close(f->s, 1011,
                         "Internal error encountered.", 1000, &f->a),
                     ORBIS_OK);

    /* already closed: no CLOSE_UPSTREAM; the open turn is finalised */
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_CLOSE), 0);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 1);
    assert_string_equal(nth(&f->a, ORBIS_SESSION_ACT_PEER_OPEN,
                            0)->data, "h-9");
    assert_int_equal(count_events(&f->a, "transcript"), 1);
    assert_int_equal(orbis_session_resumptions(f->s), 1);

    /* the new connection fails before it is open: back off 250 ms */
    assert_int_equal(orbis_gemini_on_close(f->s, 1006, NULL, 1100,
                                                     &f->a), ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 0);
    assert_int_equal(orbis_session_next_deadline(f->s), 1350);

    assert_int_equal(orbis_session_tick(f->s, 1349, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 0);
    assert_int_equal(orbis_session_tick(f->s, 1350, &f->a), ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 1);
    assert_int_equal(orbis_session_resumptions(f->s), 2);

    /* this one works */
    assert_int_equal(orbis_session_on_peer_open(f->s, 1400, &f->a),
                     ORBIS_OK);
    up(f, setup_complete, 1500);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_LIVE);

    fx_free(f);
}


static void
test_upstream_1008_ends_with_4004(void **state)
{
    fx_t    *f;
    json_t  *rec;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    assert_int_equal(orbis_gemini_on_close(f->s, 1008,
                         "models/x is not found for API version v1beta",
                         1000, &f->a), ORBIS_OK);

    assert_int_equal(f->a.n, 2);
    assert_int_equal(f->a.items[0].type, ORBIS_SESSION_ACT_CALLER_CLOSE);
    assert_int_equal(f->a.items[0].code, 4004);
    assert_string_equal(f->a.items[0].data, "model unavailable");
    assert_int_equal(f->a.items[1].type, ORBIS_SESSION_ACT_FINALIZE);
    assert_int_equal(f->a.items[1].end_reason,
                     ORBIS_SESSION_END_UPSTREAM_FAILED);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_ENDING);

    rec = orbis_session_record_json(f->s);
    assert_string_equal(json_string_value(json_object_get(rec, "endReason")),
                        "upstream_failed");
    assert_int_equal(json_integer_value(json_object_get(rec, "closeCode")),
                     4004);
    json_decref(rec);

    /* late upstream news changes nothing */
    assert_int_equal(orbis_gemini_on_message(f->s, setup_complete,
                         strlen(setup_complete), 1100, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 0);

    fx_free(f);
}


static void
test_close_after_go_away_is_retryable(void **state)
{
    fx_t  *f;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"serverContent\":{\"outputTranscription\":{\"text\":\"So\"}}}",
       100);
    up(f, "{\"goAway\":{\"timeLeft\":\"50s\"}}", 200);

    /* even a code that is fatal on its own follows the goAway */
    assert_int_equal(orbis_gemini_on_close(f->s, 1008, "bye", 300,
                                                     &f->a), ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 1);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_RESUMING);

    fx_free(f);
}


static void
test_too_many_resumptions(void **state)
{
    int                    i;
    fx_t                  *f;
    orbis_session_conf_t   c;

    (void) state;

    c = base_conf(NULL);
    c.max_resumptions = 2;
    f = fx_new(&c);
    go_live(f, 0);

    for (i = 0; i < 2; i++) {
        assert_int_equal(orbis_gemini_on_close(f->s, 1011, NULL,
                                                         100 * i + 100,
                                                         &f->a), ORBIS_OK);
        assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 1);
        assert_int_equal(orbis_session_on_peer_open(f->s, 100 * i + 110,
                                                        &f->a), ORBIS_OK);
        up(f, setup_complete, 100 * i + 120);
    }

    assert_int_equal(orbis_gemini_on_close(f->s, 1011, NULL, 500,
                                                     &f->a), ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 0);
    assert_int_equal(nth(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0)->code,
                     4004);
    assert_int_equal(orbis_session_end_reason(f->s),
                     ORBIS_SESSION_END_UPSTREAM_FAILED);

    fx_free(f);
}


static void
test_setup_timeout_and_start_failures(void **state)
{
    fx_t                  *f;
    orbis_session_conf_t   c;

    (void) state;

    c = base_conf(NULL);
    c.setup_timeout_ms = 3000;
    f = fx_new(&c);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_on_peer_open(f->s, 100, &f->a),
                     ORBIS_OK);
    assert_int_equal(orbis_session_next_deadline(f->s), 3000);

    /* no setupComplete: drop it, try again after 250 ms */
    assert_int_equal(orbis_session_tick(f->s, 3000, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 1);
    assert_int_equal(f->a.items[0].type, ORBIS_SESSION_ACT_PEER_CLOSE);
    assert_int_equal(orbis_session_state(f->s),
                     ORBIS_SESSION_UPSTREAM_CONNECTING);
    assert_int_equal(orbis_session_tick(f->s, 3250, &f->a), ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 1);
    assert_null(f->a.items[0].data);

    /* second failure: a retryable close, back off 500 ms */
    assert_int_equal(orbis_gemini_on_close(f->s, 1011, NULL, 3300,
                                                     &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 0);
    assert_int_equal(orbis_session_next_deadline(f->s), 3800);
    assert_int_equal(orbis_session_tick(f->s, 3800, &f->a), ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 1);

    /* out of retries: the call ends, model unavailable */
    assert_int_equal(orbis_gemini_on_close(f->s, 1011, NULL, 3900,
                                                     &f->a), ORBIS_OK);
    assert_int_equal(nth(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0)->code,
                     4004);
    assert_int_equal(orbis_session_resumptions(f->s), 0);
    fx_free(f);

    /* a fatal close at setup ends it at once */
    f = fx_new(&c);
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_on_peer_open(f->s, 100, &f->a),
                     ORBIS_OK);
    assert_int_equal(orbis_gemini_on_close(f->s, 1007,
                         "Request contains an invalid argument.", 200,
                         &f->a), ORBIS_OK);
    assert_int_equal(nth(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0)->code,
                     4004);
    fx_free(f);
}


static void
test_greeting_survives_a_failed_first_connect(void **state)
{
    fx_t  *f;

    (void) state;

    f = fx_default();

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(orbis_gemini_on_close(f->s, 1006, NULL, 50,
                                                     &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_tick(f->s, 300, &f->a), ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_OPEN), 1);
    assert_int_equal(orbis_session_on_peer_open(f->s, 310, &f->a),
                     ORBIS_OK);
    up(f, setup_complete, 320);

    /* first time live: greeted, and it is no resumption */
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_SEND), 1);
    assert_true(upstream_is(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0),
                            "clientContent"));
    assert_int_equal(orbis_session_resumptions(f->s), 0);

    fx_free(f);
}


static void
test_idle_timeout(void **state)
{
    fx_t                  *f;
    uint8_t                pcm[320];
    orbis_session_conf_t   c;

    (void) state;

    c = base_conf(NULL);
    c.idle_timeout_ms = 5000;
    f = fx_new(&c);
    go_live(f, 0);

    memset(pcm, 0, sizeof(pcm));
    client_audio(f, pcm, sizeof(pcm), 1000);

    /* agent output is not user activity */
    up(f, "{\"serverContent\":{\"outputTranscription\":{\"text\":\"Hi\"}}}",
       3000);

    assert_int_equal(orbis_session_next_deadline(f->s), 6000);
    assert_int_equal(orbis_session_tick(f->s, 5999, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 0);

    assert_int_equal(orbis_session_tick(f->s, 6000, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 3);
    assert_int_equal(f->a.items[0].type, ORBIS_SESSION_ACT_PEER_CLOSE);
    assert_int_equal(f->a.items[1].type, ORBIS_SESSION_ACT_CALLER_CLOSE);
    assert_int_equal(f->a.items[1].code, 4008);
    assert_string_equal(f->a.items[1].data, "idle timeout");
    assert_int_equal(f->a.items[2].type, ORBIS_SESSION_ACT_FINALIZE);
    assert_int_equal(f->a.items[2].end_reason,
                     ORBIS_SESSION_END_IDLE_TIMEOUT);

    /* ticking again is harmless */
    assert_int_equal(orbis_session_tick(f->s, 7000, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 0);

    fx_free(f);
}


static void
test_max_duration_and_shutdown(void **state)
{
    fx_t                  *f;
    uint8_t                pcm[320];
    orbis_session_conf_t   c;

    (void) state;

    c = base_conf(NULL);
    c.max_duration_ms = 10000;
    c.idle_timeout_ms = 8000;
    f = fx_new(&c);
    go_live(f, 1000);

    memset(pcm, 0, sizeof(pcm));
    client_audio(f, pcm, sizeof(pcm), 7000);
    assert_int_equal(orbis_session_next_deadline(f->s), 11000);
    assert_int_equal(orbis_session_tick(f->s, 11000, &f->a), ORBIS_OK);
    assert_int_equal(nth(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0)->code,
                     1000);
    assert_int_equal(nth(&f->a, ORBIS_SESSION_ACT_FINALIZE, 0)->end_reason,
                     ORBIS_SESSION_END_MAX_DURATION);
    fx_free(f);

    f = fx_new(&c);
    go_live(f, 0);
    assert_int_equal(orbis_session_end(f->s, ORBIS_SESSION_END_SHUTDOWN, 50,
                                       &f->a), ORBIS_OK);
    assert_int_equal(nth(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0)->code,
                     1001);
    assert_string_equal(nth(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0)->data,
                        "server going away");

    /* once only */
    assert_int_equal(orbis_session_end(f->s, ORBIS_SESSION_END_USAGE_LIMIT,
                                       60, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 0);
    assert_int_equal(orbis_session_end_reason(f->s),
                     ORBIS_SESSION_END_SHUTDOWN);
    assert_int_equal(orbis_session_end(f->s, ORBIS_SESSION_END_NONE, 60,
                                       &f->a), ORBIS_ERR_INVALID);
    fx_free(f);
}


static void
test_client_vanished(void **state)
{
    fx_t    *f;
    json_t  *rec;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"toolCall\":{\"functionCalls\":[{\"id\":\"t1\",\"name\":"
          "\"open_gate\"}]}}", 100);

    assert_int_equal(orbis_session_on_caller_close(f->s, 1006, 200, &f->a),
                     ORBIS_OK);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_CLOSE), 1);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_CANCEL_TOOL), 1);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE), 0);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT), 0);
    assert_int_equal(nth(&f->a, ORBIS_SESSION_ACT_FINALIZE, 0)->end_reason,
                     ORBIS_SESSION_END_CLIENT_VANISHED);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_ENDED);

    rec = orbis_session_record_json(f->s);
    assert_string_equal(json_string_value(json_object_get(rec, "endReason")),
                        "client_vanished");
    assert_int_equal(json_integer_value(json_object_get(rec, "closeCode")),
                     1006);
    json_decref(rec);

    fx_free(f);
}


static void
test_bad_client_messages(void **state)
{
    int      i;
    fx_t    *f;
    json_t  *j;
    uint8_t  pcm[3];

    (void) state;

    f = fx_default();
    go_live(f, 0);

    for (i = 0; i < 3; i++) {
        assert_int_equal(orbis_client_on_text(f->s,
                             "{\"type\":\"dance\"}", 16, 100 + i, &f->a),
                         ORBIS_ERR_INVALID);
        j = client_event(&f->a, "error", 0);
        assert_string_equal(json_string_value(json_object_get(j, "code")),
                            "bad_message");
        assert_string_equal(json_string_value(json_object_get(j, "message")),
                            "unknown message type \"dance\"");
        json_decref(j);
        assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_LIVE);
    }

    /* half a sample is bad too */
    memset(pcm, 0, sizeof(pcm));
    assert_int_equal(orbis_client_on_audio(f->s, pcm, 3, 200, &f->a),
                     ORBIS_ERR_INVALID);
    assert_int_equal(count_events(&f->a, "error"), 1);
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_PEER_SEND), 0);

    /* the fifth: policy close */
    assert_int_equal(orbis_client_on_text(f->s, "nope", 4, 300,
                                                  &f->a), ORBIS_ERR_INVALID);
    assert_int_equal(nth(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0)->code,
                     1008);
    assert_int_equal(orbis_session_end_reason(f->s),
                     ORBIS_SESSION_END_CLIENT_PROTOCOL);

    fx_free(f);
}


static void
test_typed_text_live(void **state)
{
    fx_t    *f;
    json_t  *j, *rec, *t;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    up(f, "{\"serverContent\":{\"outputTranscription\":{\"text\":\"Hi\"}}}",
       100);
    assert_int_equal(orbis_client_on_text(f->s,
                         "{\"type\":\"text\",\"text\":\"Open the gate\"}",
                         38, 200, &f->a), ORBIS_OK);

    /* the agent's open turn is closed first, then the text goes up */
    j = client_event(&f->a, "transcript", 0);
    assert_true(json_is_true(json_object_get(j, "final")));
    json_decref(j);
    j = parse_action(nth(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0));
    assert_true(json_is_true(json_object_get(json_object_get(j,
                                                             "clientContent"),
                                             "turnComplete")));
    json_decref(j);

    rec = orbis_session_record_json(f->s);
    t = record_turn(rec, 1);
    assert_string_equal(json_string_value(json_object_get(t, "text")),
                        "Open the gate");
    assert_true(json_is_true(json_object_get(t, "typed")));
    assert_true(json_is_true(json_object_get(t, "final")));
    json_decref(rec);

    fx_free(f);
}


static void
test_echo_mode(void **state)
{
    fx_t                  *f;
    json_t                *j;
    uint8_t                pcm[640];
    orbis_session_conf_t   c;

    (void) state;

    memset(&c, 0, sizeof(c));
    c.session_id = "echo-1";
    c.echo = 1;
    f = fx_new(&c);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 1);
    j = client_event(&f->a, "ready", 0);
    assert_string_equal(json_string_value(json_object_get(j, "mode")),
                        "echo");
    assert_int_equal(json_integer_value(json_object_get(j, "outputRate")),
                     24000);
    json_decref(j);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_ECHO);

    fill(pcm, sizeof(pcm), 5);
    client_audio(f, pcm, sizeof(pcm), 100);
    assert_int_equal(f->a.n, 1);
    assert_int_equal(f->a.items[0].type, ORBIS_SESSION_ACT_CALLER_AUDIO);
    assert_int_equal(f->a.items[0].len, sizeof(pcm));
    assert_memory_equal(f->a.items[0].data, pcm, sizeof(pcm));

    assert_int_equal(orbis_client_on_text(f->s,
                         "{\"type\":\"text\",\"text\":\"ping\"}", 29, 200,
                         &f->a), ORBIS_OK);
    j = client_event(&f->a, "transcript", 0);
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "ping");
    assert_string_equal(json_string_value(json_object_get(j, "role")),
                        "agent");
    json_decref(j);

    assert_int_equal(orbis_gemini_on_message(f->s, setup_complete,
                         strlen(setup_complete), 300, &f->a),
                     ORBIS_ERR_INVALID);

    j = orbis_session_record_json(f->s);
    assert_string_equal(json_string_value(json_object_get(j, "mode")),
                        "echo");
    assert_true(json_is_null(json_object_get(j, "model")));
    assert_true(json_real_value(json_object_get(j, "audioSecondsOut"))
                == 0.02);
    assert_true(json_is_null(json_object_get(j, "endedMs")));
    json_decref(j);

    fx_free(f);
}


/* 20 ms of 16 kHz PCM16LE: a square wave of amplitude amp (0: silence) */
static void
echo_frame(fx_t *f, int16_t amp, int64_t now)
{
    size_t   i;
    uint8_t  pcm[640];

    for (i = 0; i < sizeof(pcm); i += 2) {
        pcm[i] = (uint8_t) (((i / 2) % 32 < 16 ? amp : -amp) & 0xff);
        pcm[i + 1] = (uint8_t) ((((i / 2) % 32 < 16 ? amp : -amp) >> 8)
                                & 0xff);
    }

    client_audio(f, pcm, sizeof(pcm), now);
}


static void
test_echo_utterances(void **state)
{
    int                    i;
    fx_t                  *f;
    json_t                *j, *rec;
    size_t                 interim, finals;
    int64_t                now;
    orbis_session_conf_t   c;

    (void) state;

    memset(&c, 0, sizeof(c));
    c.session_id = "echo-2";
    c.echo = 1;
    f = fx_new(&c);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(f->a.n, 1);    /* ready only: no greeting */

    /* silence alone is nobody speaking */
    for (i = 0, now = 0; i < 100; i++, now += 20) {
        echo_frame(f, 0, now);
        assert_int_equal(count_events(&f->a, "transcript"), 0);
    }

    /* a whisper under the threshold is not speech either */
    for (i = 0; i < 50; i++, now += 20) {
        echo_frame(f, 200, now);
        assert_int_equal(count_events(&f->a, "transcript"), 0);
    }

    /* 1.0 s of speech: an interim user transcript every 0.4 s */
    interim = 0;

    for (i = 0; i < 50; i++, now += 20) {
        echo_frame(f, 4000, now);
        assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_CALLER_AUDIO),
                         1);

        j = client_event(&f->a, "transcript", 0);
        if (j != NULL) {
            interim++;
            assert_string_equal(json_string_value(json_object_get(j,
                                                                  "role")),
                                "user");
            assert_true(json_is_false(json_object_get(j, "final")));
            json_decref(j);
        }
    }

    assert_int_equal(interim, 2);

    /* a pause shorter than half a second does not end the utterance */
    for (i = 0; i < 20; i++, now += 20) {
        echo_frame(f, 0, now);
        assert_int_equal(count_events(&f->a, "transcript"), 0);
    }

    for (i = 0; i < 10; i++, now += 20) {
        echo_frame(f, 4000, now);
    }

    /* half a second of silence ends it: user turn, agent turn, done */
    finals = 0;

    for (i = 0; i < 25; i++, now += 20) {
        echo_frame(f, 0, now);

        if (count_events(&f->a, "turn_complete") == 0) {
            assert_int_equal(count_events(&f->a, "transcript"), 0);
            continue;
        }

        finals++;
        assert_int_equal(count_events(&f->a, "transcript"), 2);

        j = client_event(&f->a, "transcript", 0);
        assert_string_equal(json_string_value(json_object_get(j, "role")),
                            "user");
        assert_true(json_is_true(json_object_get(j, "final")));
        assert_string_equal(json_string_value(json_object_get(j, "text")),
                            "(echo mode) utterance 1, 1.2 s of speech");
        json_decref(j);

        j = client_event(&f->a, "transcript", 1);
        assert_string_equal(json_string_value(json_object_get(j, "role")),
                            "agent");
        assert_string_equal(json_string_value(json_object_get(j, "text")),
                            "I heard 1.2 seconds of audio.");
        json_decref(j);
    }

    assert_int_equal(finals, 1);

    /* the next utterance is counted anew */
    for (i = 0; i < 10; i++, now += 20) {
        echo_frame(f, 4000, now);
    }

    for (i = 0; i < 25; i++, now += 20) {
        echo_frame(f, 0, now);
    }

    rec = orbis_session_record_json(f->s);
    assert_int_equal(json_array_size(json_object_get(rec, "turns")), 4);
    assert_string_equal(json_string_value(json_object_get(
                            record_turn(rec, 2), "text")),
                        "(echo mode) utterance 2, 0.2 s of speech");
    assert_true(json_is_false(json_object_get(record_turn(rec, 2),
                                              "typed")));
    assert_string_equal(json_string_value(json_object_get(
                            record_turn(rec, 3), "role")), "agent");
    json_decref(rec);

    fx_free(f);
}


static void
test_echo_greeting(void **state)
{
    fx_t                  *f;
    json_t                *j, *rec;
    orbis_session_conf_t   c;

    (void) state;

    memset(&c, 0, sizeof(c));
    c.session_id = "echo-3";
    c.echo = 1;
    c.greeting = "Welcome to Acme.";
    f = fx_new(&c);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(count_events(&f->a, "ready"), 1);

    j = client_event(&f->a, "transcript", 0);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "role")),
                        "agent");
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "Welcome to Acme.");
    assert_true(json_is_true(json_object_get(j, "final")));
    json_decref(j);

    rec = orbis_session_record_json(f->s);
    assert_int_equal(json_array_size(json_object_get(rec, "turns")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            record_turn(rec, 0), "text")),
                        "Welcome to Acme.");
    json_decref(rec);

    fx_free(f);
}


static void
test_bad_upstream_message_is_dropped(void **state)
{
    fx_t  *f;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    assert_int_equal(orbis_gemini_on_message(f->s, "{oops", 5, 10,
                                                       &f->a),
                     ORBIS_ERR_PROTOCOL);
    assert_int_equal(f->a.n, 0);
    assert_int_equal(orbis_gemini_on_message(f->s, "{}", 2, 10,
                                                       &f->a),
                     ORBIS_ERR_PROTOCOL);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_LIVE);

    /* the call goes on */
    up(f, "{\"serverContent\":{\"turnComplete\":true}}", 20);
    assert_int_equal(count_events(&f->a, "turn_complete"), 1);

    fx_free(f);
}


static void
test_create_refusals(void **state)
{
    fx_t                  *f;
    orbis_err_t            err;
    orbis_session_conf_t   c;

    (void) state;

    c = base_conf(NULL);
    c.session_id = NULL;
    assert_null(orbis_session_create(&c, &err));
    assert_int_equal(err.code, ORBIS_ERR_INVALID);

    /* a setup Gemini would refuse fails before the call, in its adapter */
    c = base_conf(NULL);
    tsetup.model = NULL;
    assert_null(orbis_gemini_peer_new(&tsetup, &err));
    assert_int_equal(err.code, ORBIS_ERR_INVALID);

    c = base_conf(NULL);
    c.agent_id = "\xff";
    assert_null(orbis_session_create(&c, &err));

    /* order of operations is enforced */
    c = base_conf(NULL);
    f = fx_new(&c);
    assert_int_equal(orbis_client_on_audio(f->s,
                         (const uint8_t *) "ab", 2, 0, &f->a),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_session_on_peer_open(f->s, 0, &f->a),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_ERR_INVALID);
    assert_string_equal(orbis_session_state_name(orbis_session_state(f->s)),
                        "upstream_connecting");
    fx_free(f);

    assert_string_equal(orbis_session_end_reason_name(
                            ORBIS_SESSION_END_IDLE_TIMEOUT), "idle_timeout");
    assert_int_equal(orbis_session_end_close_code(
                         ORBIS_SESSION_END_USAGE_LIMIT), 4002);
    assert_int_equal(orbis_session_end_close_code(
                         ORBIS_SESSION_END_ERROR), 1011);
}


/* caps, budgets and time to first audio (issue 10 item 2, issue 9) */

static fx_t *
fx_echo(void)
{
    orbis_session_conf_t  c;

    memset(&c, 0, sizeof(c));
    c.session_id = "echo-cap";
    c.echo = 1;

    return fx_new(&c);
}


static orbis_rc_t
say(fx_t *f, const char *text, int64_t now)
{
    char     msg[9000];
    json_t  *j;
    size_t   n;

    j = json_pack("{s:s,s:s}", "type", "text", "text", text);
    n = json_dumpb(j, msg, sizeof(msg), JSON_COMPACT);
    json_decref(j);
    assert_true(n < sizeof(msg));

    return orbis_client_on_text(f->s, msg, n, now, &f->a);
}


static size_t
record_size(fx_t *f)
{
    size_t   n;
    json_t  *rec;

    rec = orbis_session_record_json(f->s);
    assert_non_null(rec);
    n = json_dumpb(rec, NULL, 0, JSON_COMPACT);
    json_decref(rec);

    return n;
}


static void
assert_flood_close(fx_t *f)
{
    const orbis_session_action_t  *act;

    act = nth(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0);
    assert_int_equal(act->code, 4029);
    assert_string_equal(act->data, "too many messages");
    assert_int_equal(count(&f->a, ORBIS_SESSION_ACT_FINALIZE), 1);
    assert_int_equal(orbis_session_end_reason(f->s),
                     ORBIS_SESSION_END_CLIENT_FLOOD);
    assert_string_equal(orbis_session_end_reason_name(
                            ORBIS_SESSION_END_CLIENT_FLOOD),
                        "client_protocol");
}


static void
test_message_rate_limit(void **state)
{
    int      i;
    fx_t    *f;
    json_t  *rec;

    (void) state;

    /* a burst of 30 passes; the 31st at the same instant is a flood */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 1000, &f->a), ORBIS_OK);

    for (i = 0; i < ORBIS_SESSION_MSG_BURST; i++) {
        assert_int_equal(say(f, "a", 1000), ORBIS_OK);
    }

    assert_int_equal(say(f, "a", 1000), ORBIS_ERR_RANGE);
    assert_flood_close(f);

    /* nothing more is taken, and the record says why */
    assert_int_equal(say(f, "b", 1001), ORBIS_OK);
    assert_int_equal(f->a.n, 0);
    rec = orbis_session_record_json(f->s);
    assert_string_equal(json_string_value(json_object_get(rec, "endReason")),
                        "client_protocol");
    assert_int_equal(json_integer_value(json_object_get(rec, "closeCode")),
                     4029);
    assert_int_equal(json_array_size(json_object_get(rec, "turns")),
                     ORBIS_SESSION_MSG_BURST);
    json_decref(rec);
    fx_free(f);

    /* "end" and refused messages count too */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    for (i = 0; i < ORBIS_SESSION_MSG_BURST - 1; i++) {
        assert_int_equal(say(f, "a", 0), ORBIS_OK);
    }

    assert_int_equal(orbis_client_on_text(f->s, "{\"type\":\"end\"}",
                                                  14, 0, &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_end_reason(f->s),
                     ORBIS_SESSION_END_CLIENT_CLOSED);
    fx_free(f);

    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    for (i = 0; i < ORBIS_SESSION_MSG_BURST; i++) {
        assert_int_equal(say(f, "a", 0), ORBIS_OK);
    }

    assert_int_equal(orbis_client_on_text(f->s, "{\"type\":\"end\"}",
                                                  14, 0, &f->a),
                     ORBIS_ERR_RANGE);
    assert_flood_close(f);
    fx_free(f);

    /* at the sustained rate it never trips */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    for (i = 0; i < 2000; i++) {
        assert_int_equal(say(f, "steady", (int64_t) i * 200), ORBIS_OK);
    }

    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_ECHO);
    fx_free(f);
}


static void
test_audio_frame_rate_limit(void **state)
{
    int       i;
    fx_t     *f;
    uint8_t   pcm[640];

    (void) state;

    memset(pcm, 0, sizeof(pcm));

    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    for (i = 0; i < ORBIS_SESSION_FRAME_BURST; i++) {
        client_audio(f, pcm, sizeof(pcm), 0);
    }

    assert_int_equal(orbis_client_on_audio(f->s, pcm, sizeof(pcm), 0,
                                                   &f->a), ORBIS_ERR_RANGE);
    assert_flood_close(f);
    fx_free(f);

    /* real time (a frame every 20 ms) for ten minutes is fine */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    for (i = 0; i < 30000; i++) {
        client_audio(f, pcm, sizeof(pcm), (int64_t) i * 20);
    }

    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_ECHO);
    fx_free(f);

    /* big frames run out of the byte budget first */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    {
        static uint8_t  big[ORBIS_SESSION_MAX_AUDIO_FRAME];
        orbis_rc_t      rc;

        for (i = 0; i < 100; i++) {
            rc = orbis_client_on_audio(f->s, big, sizeof(big), 0,
                                               &f->a);
            if (rc != ORBIS_OK) {
                break;
            }
        }

        assert_int_equal(rc, ORBIS_ERR_RANGE);
        assert_int_equal(i, ORBIS_SESSION_AUDIO_BURST / sizeof(big));
        assert_flood_close(f);
    }

    fx_free(f);
}


static void
test_wire_budget(void **state)
{
    int                 i;
    fx_t               *f;
    orbis_rc_t          rc;

    (void) state;

    /* 4 MiB at once, in 16 KiB reads: the next read is a flood */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    for (i = 0; i < ORBIS_SESSION_WIRE_BURST / 16384; i++) {
        assert_int_equal(orbis_client_on_bytes(f->s, 16384, 0, &f->a),
                         ORBIS_OK);
        assert_int_equal(f->a.n, 0);
    }

    assert_int_equal(orbis_client_on_bytes(f->s, 16384, 0, &f->a),
                     ORBIS_ERR_RANGE);
    assert_flood_close(f);
    fx_free(f);

    /* real-time audio with its framing, for an hour: never */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    for (i = 0; i < 180000; i++) {
        rc = orbis_client_on_bytes(f->s, 640 + 14, (int64_t) i * 20, &f->a);
        if (rc != ORBIS_OK) {
            fail_msg("read %d refused", i);
        }
    }

    /* the bytes alone keep nothing alive: no activity */
    assert_int_equal(orbis_session_next_deadline(f->s), 60000);
    fx_free(f);
}


static void
test_turn_caps(void **state)
{
    int       i;
    fx_t     *f;
    char      big[4001];
    json_t   *rec;
    size_t    n;

    (void) state;

    /* one-letter messages: the turn count is capped, the rest is shown */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    for (i = 0; i < ORBIS_SESSION_MAX_TURNS + 500; i++) {
        assert_int_equal(say(f, "a", (int64_t) i * 250), ORBIS_OK);
    }

    /* past the cap the echo still answers, and nothing is stored */
    assert_int_equal(count_events(&f->a, "transcript"), 1);
    assert_int_equal(orbis_session_turn_count(f->s), ORBIS_SESSION_MAX_TURNS);

    rec = orbis_session_record_json(f->s);
    assert_true(json_is_true(json_object_get(rec, "transcriptTruncated")));
    assert_int_equal(json_array_size(json_object_get(rec, "turns")),
                     ORBIS_SESSION_MAX_TURNS);
    json_decref(rec);
    assert_true(record_size(f) <= ORBIS_SESSION_MAX_RECORD);
    fx_free(f);

    /* long texts full of quotes: the cap counts them as escaped JSON */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    memset(big, '"', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    for (i = 0; i < 400; i++) {
        assert_int_equal(say(f, big, (int64_t) i * 250), ORBIS_OK);
    }

    n = orbis_session_turn_count(f->s);
    assert_true(n > 100 && n < 400);
    assert_true(record_size(f) <= ORBIS_SESSION_MAX_RECORD);
    fx_free(f);

    /* blank and empty texts store no turn */
    f = fx_echo();
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(say(f, "   \t\n ", 10), ORBIS_OK);
    assert_int_equal(f->a.n, 0);
    assert_int_equal(say(f, "", 20), ORBIS_ERR_INVALID);
    assert_int_equal(count_events(&f->a, "error"), 1);
    assert_int_equal(orbis_session_turn_count(f->s), 0);
    assert_int_equal(say(f, "real", 30), ORBIS_OK);
    assert_int_equal(orbis_session_turn_count(f->s), 1);
    fx_free(f);
}


static void
test_turns_final_for_publishers(void **state)
{
    fx_t    *f;
    json_t  *j;

    (void) state;

    f = fx_default();
    go_live(f, 0);

    assert_int_equal(orbis_session_turns_final(f->s), 0);
    up(f, "{\"serverContent\":{\"outputTranscription\":{\"text\":\"Hel\"}}}",
       10);
    /* open and growing: not final yet */
    assert_int_equal(orbis_session_turn_count(f->s), 1);
    assert_int_equal(orbis_session_turns_final(f->s), 0);
    up(f, "{\"serverContent\":{\"turnComplete\":true}}", 20);
    assert_int_equal(orbis_session_turns_final(f->s), 1);

    assert_int_equal(orbis_client_on_text(f->s,
                         "{\"type\":\"text\",\"text\":\"hi\"}", 27, 30,
                         &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_turns_final(f->s), 2);

    j = orbis_session_turns_json(f->s, 1, 2);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(j, 0), "text")), "hi");
    json_decref(j);
    assert_null(orbis_session_turns_json(f->s, 2, 1));
    assert_null(orbis_session_turns_json(f->s, 0, 3));

    j = orbis_session_heartbeat_json(f->s, 40);
    assert_int_equal(json_integer_value(json_object_get(j, "turnsFinal")), 2);
    json_decref(j);

    fx_free(f);
}


static void
voiced(fx_t *f, int64_t now)
{
    size_t   i;
    uint8_t  pcm[640];

    /* a square wave of amplitude 3000: RMS far above the voice level */
    for (i = 0; i < sizeof(pcm); i += 2) {
        pcm[i] = (uint8_t) ((i / 2) % 20 < 10 ? 0xb8 : 0x48);
        pcm[i + 1] = (uint8_t) ((i / 2) % 20 < 10 ? 0x0b : 0xf4);
    }

    client_audio(f, pcm, sizeof(pcm), now);
}


static void
quiet(fx_t *f, int64_t now)
{
    uint8_t  pcm[640];

    memset(pcm, 0, sizeof(pcm));
    client_audio(f, pcm, sizeof(pcm), now);
}


#define MODEL_AUDIO                                                          \
    "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"         \
    "{\"mimeType\":\"audio/pcm;rate=24000\",\"data\":\"AAAA\"}}]}}}"

static void
test_time_to_first_audio(void **state)
{
    fx_t    *f;
    json_t  *rec, *v;

    (void) state;

    f = fx_default();
    go_live(f, 1000);

    /* the greeting's answer: no caller input before it, no sample */
    up(f, MODEL_AUDIO, 1200);
    up(f, "{\"serverContent\":{\"turnComplete\":true}}", 1300);
    assert_int_equal(orbis_session_ttfa_count(f->s), 0);
    assert_int_equal(orbis_session_ttfa_percentile(f->s, 50), -1);

    /* speech ends at 2100 (silence after it does not move the mark) */
    voiced(f, 2000);
    voiced(f, 2100);
    quiet(f, 2120);
    quiet(f, 2600);
    up(f, MODEL_AUDIO, 3000);
    assert_int_equal(orbis_session_ttfa_count(f->s), 1);
    assert_int_equal(orbis_session_ttfa_ms(f->s, 0), 900);

    /* more audio of the same turn, even after a cough: one sample a turn */
    voiced(f, 3100);
    up(f, MODEL_AUDIO, 3200);
    assert_int_equal(orbis_session_ttfa_count(f->s), 1);
    up(f, "{\"serverContent\":{\"turnComplete\":true}}", 3300);

    /* typed text: from the message to the first audio */
    assert_int_equal(orbis_client_on_text(f->s,
                         "{\"type\":\"text\",\"text\":\"hi\"}", 27, 5000,
                         &f->a), ORBIS_OK);
    up(f, MODEL_AUDIO, 5400);
    assert_int_equal(orbis_session_ttfa_ms(f->s, 1), 400);

    /* barge-in: the interrupted turn ends, the next one is measured */
    voiced(f, 5600);
    up(f, "{\"serverContent\":{\"interrupted\":true}}", 5700);
    up(f, MODEL_AUDIO, 6300);
    assert_int_equal(orbis_session_ttfa_count(f->s), 3);
    assert_int_equal(orbis_session_ttfa_ms(f->s, 2), 700);

    /* nearest rank over 900, 400, 700 */
    assert_int_equal(orbis_session_ttfa_percentile(f->s, 50), 700);
    assert_int_equal(orbis_session_ttfa_percentile(f->s, 95), 900);
    assert_int_equal(orbis_session_ttfa_percentile(f->s, 1), 400);

    rec = orbis_session_record_json(f->s);
    v = json_object_get(rec, "ttfaMs");
    assert_int_equal(json_array_size(v), 3);
    assert_int_equal(json_integer_value(json_array_get(v, 0)), 900);
    assert_int_equal(json_integer_value(json_array_get(v, 1)), 400);
    assert_int_equal(json_integer_value(json_array_get(v, 2)), 700);
    assert_int_equal(json_integer_value(json_object_get(rec, "ttfaP50Ms")),
                     700);
    assert_int_equal(json_integer_value(json_object_get(rec, "ttfaP95Ms")),
                     900);
    json_decref(rec);

    fx_free(f);

    /* no sample: null percentiles in the record */
    f = fx_default();
    go_live(f, 0);
    rec = orbis_session_record_json(f->s);
    assert_true(json_is_null(json_object_get(rec, "ttfaP50Ms")));
    assert_true(json_is_null(json_object_get(rec, "ttfaP95Ms")));
    assert_int_equal(json_array_size(json_object_get(rec, "ttfaMs")), 0);
    json_decref(rec);
    fx_free(f);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_happy_path),
        cmocka_unit_test(test_audio_buffered_until_setup_complete),
        cmocka_unit_test(test_buffer_drops_oldest),
        cmocka_unit_test(test_large_buffer_flush_is_chunked),
        cmocka_unit_test(test_tool_call_and_response),
        cmocka_unit_test(test_tool_call_cancellation),
        cmocka_unit_test(test_tool_timeout),
        cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_go_away_resumes_with_latest_handle),
        cmocka_unit_test(test_go_away_waits_for_the_turn),
        cmocka_unit_test(test_go_away_deadline),
        cmocka_unit_test(test_upstream_1011_reconnects),
        cmocka_unit_test(test_upstream_1008_ends_with_4004),
        cmocka_unit_test(test_close_after_go_away_is_retryable),
        cmocka_unit_test(test_too_many_resumptions),
        cmocka_unit_test(test_setup_timeout_and_start_failures),
        cmocka_unit_test(test_greeting_survives_a_failed_first_connect),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_max_duration_and_shutdown),
        cmocka_unit_test(test_client_vanished),
        cmocka_unit_test(test_bad_client_messages),
        cmocka_unit_test(test_typed_text_live),
        cmocka_unit_test(test_echo_mode),
        cmocka_unit_test(test_echo_utterances),
        cmocka_unit_test(test_echo_greeting),
        cmocka_unit_test(test_bad_upstream_message_is_dropped),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_message_rate_limit),
        cmocka_unit_test(test_audio_frame_rate_limit),
        cmocka_unit_test(test_wire_budget),
        cmocka_unit_test(test_turn_caps),
        cmocka_unit_test(test_turns_final_for_publishers),
        cmocka_unit_test(test_time_to_first_audio),
    };

    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
