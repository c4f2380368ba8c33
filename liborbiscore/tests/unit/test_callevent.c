/*
 * Copyright (C) Orbis
 *
 * The session's normalised events (callevent.h) with no wire protocol at
 * all, and the two adapters that map wire messages to and from them: the
 * browser's (client.h) and Gemini's (gemini.h).  Also: any codec can be
 * plugged in, as a telephony transport's will be.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/client.h>
#include <orbiscore/gemini.h>
#include <orbiscore/session.h>


typedef struct {
    orbis_session_t          *s;
    orbis_session_actions_t   a;
} fx_t;


static fx_t *
fx_new(int echo)
{
    fx_t                  *f;
    orbis_err_t            err;
    orbis_session_conf_t   c;

    memset(&c, 0, sizeof(c));
    c.session_id = "ev-1";
    c.echo = echo;
    c.model = "some-model";
    c.greeting = echo ? NULL : "Hello";

    f = calloc(1, sizeof(fx_t));
    assert_non_null(f);
    f->s = orbis_session_create(&c, &err);
    assert_non_null(f->s);
    orbis_session_actions_init(&f->a);

    return f;
}


static void
fx_free(fx_t *f)
{
    orbis_session_free(f->s);
    orbis_session_actions_free(&f->a);
    free(f);
}


static const orbis_session_action_t *
find(const orbis_session_actions_t *a, orbis_session_act_type_t type,
    size_t k)
{
    size_t  i;

    for (i = 0; i < a->n; i++) {
        if (a->items[i].type == type && k-- == 0) {
            return &a->items[i];
        }
    }

    return NULL;
}


static orbis_rc_t
caller(fx_t *f, orbis_caller_in_type_t type, const void *p, size_t len,
    uint32_t rate, int64_t now)
{
    orbis_caller_in_t  ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;

    if (type == ORBIS_CALLER_AUDIO) {
        ev.audio = p;
        ev.audio_len = len;
        ev.rate = rate;
        ev.codec = ORBIS_AUDIO_PCM16LE;

    } else {
        ev.text = p;
        ev.text_len = len;
    }

    return orbis_session_on_caller(f->s, &ev, now, &f->a);
}


static void
go_live(fx_t *f)
{
    orbis_peer_in_t  ev;

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_on_peer_open(f->s, 1, &f->a), ORBIS_OK);

    memset(&ev, 0, sizeof(ev));
    ev.ready = 1;
    assert_int_equal(orbis_session_on_peer(f->s, &ev, 2, &f->a), ORBIS_OK);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_LIVE);
}


/* the state machine alone: events in, events out, no JSON anywhere */

static void
test_normalised_live_call(void **state)
{
    fx_t                          *f;
    json_t                        *args, *res;
    uint8_t                        pcm[640], model[960];
    orbis_peer_in_t                ev;
    orbis_peer_tool_call_t         call;
    const orbis_session_action_t  *act;

    (void) state;

    f = fx_new(0);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT, 0);
    assert_non_null(act);
    assert_int_equal(act->caller.type, ORBIS_CALLER_OUT_READY);
    assert_string_equal(act->caller.session_id, "ev-1");
    assert_int_equal(act->caller.input_rate, 16000);
    assert_int_equal(act->caller.output_rate, 24000);
    assert_null(act->data);      /* no codec: nothing rendered */
    assert_non_null(find(&f->a, ORBIS_SESSION_ACT_PEER_OPEN, 0));

    assert_int_equal(orbis_session_on_peer_open(f->s, 1, &f->a), ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0);
    assert_int_equal(act->peer.type, ORBIS_PEER_OUT_SETUP);
    assert_null(act->peer.resume_handle);

    /* ready: the greeting goes to the model as a text turn */
    memset(&ev, 0, sizeof(ev));
    ev.ready = 1;
    assert_int_equal(orbis_session_on_peer(f->s, &ev, 2, &f->a), ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0);
    assert_int_equal(act->peer.type, ORBIS_PEER_OUT_TEXT);
    assert_int_equal(act->peer.text_len, 5);
    assert_memory_equal(act->peer.text, "Hello", 5);

    /* caller audio goes to the model with its rate */
    memset(pcm, 1, sizeof(pcm));
    assert_int_equal(caller(f, ORBIS_CALLER_AUDIO, pcm, sizeof(pcm), 16000,
                            10), ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0);
    assert_int_equal(act->peer.type, ORBIS_PEER_OUT_AUDIO);
    assert_int_equal(act->peer.rate, 16000);
    assert_int_equal(act->peer.audio_len, sizeof(pcm));
    assert_memory_equal(act->peer.audio, pcm, sizeof(pcm));

    /* another rate is refused: the transport converts */
    assert_int_equal(caller(f, ORBIS_CALLER_AUDIO, pcm, sizeof(pcm), 8000,
                            20), ORBIS_ERR_INVALID);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT, 0);
    assert_int_equal(act->caller.type, ORBIS_CALLER_OUT_ERROR);
    assert_string_equal(act->caller.name, "bad_message");

    /* the model speaks: audio and a transcript for the caller */
    memset(model, 2, sizeof(model));
    memset(&ev, 0, sizeof(ev));
    ev.audio = model;
    ev.audio_len = sizeof(model);
    ev.audio_rate = 24000;
    ev.output_transcript = "Hi there";
    assert_int_equal(orbis_session_on_peer(f->s, &ev, 30, &f->a), ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_AUDIO, 0);
    assert_int_equal(act->rate, 24000);
    assert_int_equal(act->len, sizeof(model));
    assert_memory_equal(act->data, model, sizeof(model));
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT, 0);
    assert_int_equal(act->caller.type, ORBIS_CALLER_OUT_TRANSCRIPT);
    assert_int_equal(act->caller.role, ORBIS_CLIENT_ROLE_AGENT);
    assert_int_equal(act->caller.final, 0);
    assert_memory_equal(act->caller.text, "Hi there", 8);

    /* a tool call, its result back to the model */
    args = json_pack("{s:i}", "n", 3);
    call.id = "t-1";
    call.name = "open_gate";
    call.args = args;
    memset(&ev, 0, sizeof(ev));
    ev.tool_calls = &call;
    ev.n_tool_calls = 1;
    ev.turn_complete = 1;
    assert_int_equal(orbis_session_on_peer(f->s, &ev, 40, &f->a), ORBIS_OK);
    json_decref(args);
    act = find(&f->a, ORBIS_SESSION_ACT_RUN_TOOL, 0);
    assert_string_equal(act->tool_id, "t-1");
    assert_int_equal(json_integer_value(json_object_get(act->tool_args, "n")),
                     3);
    assert_non_null(find(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT, 2));

    res = json_pack("{s:b}", "open", 1);
    assert_int_equal(orbis_session_on_tool_result(f->s, "t-1", 1, res, 50,
                                                  &f->a), ORBIS_OK);
    json_decref(res);
    act = find(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0);
    assert_int_equal(act->peer.type, ORBIS_PEER_OUT_TOOL_RESULT);
    assert_string_equal(act->peer.tool_id, "t-1");
    assert_true(json_is_true(json_object_get(act->peer.response, "open")));

    /* a fatal close of the model's side ends the call with 4004 */
    assert_int_equal(orbis_session_on_peer_close(f->s, 0, 60, &f->a),
                     ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0);
    assert_int_equal(act->code, 4004);
    assert_string_equal(act->data, "model unavailable");
    assert_non_null(find(&f->a, ORBIS_SESSION_ACT_FINALIZE, 0));

    fx_free(f);
}


static void
test_normalised_caller_events(void **state)
{
    fx_t                          *f;
    const orbis_session_action_t  *act;

    (void) state;

    f = fx_new(1);
    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);

    /* a typed turn comes back in echo mode */
    assert_int_equal(caller(f, ORBIS_CALLER_TEXT, "hey", 3, 0, 10),
                     ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT, 0);
    assert_int_equal(act->caller.type, ORBIS_CALLER_OUT_TRANSCRIPT);
    assert_memory_equal(act->caller.text, "hey", 3);

    /* a message the transport refused: the reason reaches the caller */
    assert_int_equal(caller(f, ORBIS_CALLER_BAD, "nope", 4, 0, 20),
                     ORBIS_ERR_INVALID);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT, 0);
    assert_int_equal(act->caller.type, ORBIS_CALLER_OUT_ERROR);
    assert_string_equal(act->caller.text, "nope");

    /* too long a text, whatever the transport */
    {
        static char  big[ORBIS_SESSION_MAX_TEXT + 1];

        memset(big, 'x', sizeof(big));
        assert_int_equal(caller(f, ORBIS_CALLER_TEXT, big, sizeof(big), 0,
                                30), ORBIS_ERR_INVALID);
    }

    /* hang-up */
    assert_int_equal(caller(f, ORBIS_CALLER_HANGUP, NULL, 0, 0, 40),
                     ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0);
    assert_int_equal(act->code, 1000);
    assert_int_equal(orbis_session_end_reason(f->s),
                     ORBIS_SESSION_END_CLIENT_CLOSED);

    fx_free(f);
}


/*
 * The tool-call cap: the model is answered at once, with a response the
 * action list itself keeps alive; the record holds the args within its
 * byte budget.
 */

static void
test_tool_caps(void **state)
{
    int                            i;
    char                           id[32], blob[2048];
    fx_t                          *f;
    json_t                        *args, *rec, *tools, *first, *last;
    orbis_peer_in_t                ev;
    orbis_peer_tool_call_t         call;
    const orbis_session_action_t  *act;

    (void) state;

    f = fx_new(0);
    go_live(f);

    /* 2 KiB of args a call: the record keeps the first hundred or so */
    memset(blob, 'x', sizeof(blob) - 1);
    blob[sizeof(blob) - 1] = '\0';
    args = json_pack("{s:s}", "blob", blob);

    for (i = 0; i < ORBIS_SESSION_MAX_TOOL_CALLS + 1; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        call.id = id;
        call.name = "f";
        call.args = args;
        memset(&ev, 0, sizeof(ev));
        ev.tool_calls = &call;
        ev.n_tool_calls = 1;
        assert_int_equal(orbis_session_on_peer(f->s, &ev, 10 + i, &f->a),
                         ORBIS_OK);
    }

    json_decref(args);

    /* the last one was over the cap: answered, not run */
    assert_null(find(&f->a, ORBIS_SESSION_ACT_RUN_TOOL, 0));
    act = find(&f->a, ORBIS_SESSION_ACT_PEER_SEND, 0);
    assert_non_null(act);
    assert_int_equal(act->peer.type, ORBIS_PEER_OUT_TOOL_RESULT);
    assert_string_equal(act->peer.tool_id, "c256");
    assert_string_equal(json_string_value(json_object_get(act->peer.response,
                                                          "error")),
                        "too many tool calls in this call");

    rec = orbis_session_record_json(f->s);
    tools = json_object_get(rec, "toolCalls");
    assert_int_equal(json_array_size(tools), ORBIS_SESSION_MAX_TOOL_CALLS);
    first = json_object_get(json_array_get(tools, 0), "args");
    last = json_object_get(json_array_get(tools,
                                          ORBIS_SESSION_MAX_TOOL_CALLS - 1),
                           "args");
    assert_int_equal(json_string_length(json_object_get(first, "blob")),
                     sizeof(blob) - 1);
    assert_true(json_is_true(json_object_get(last, "truncated")));
    assert_true(json_dumpb(rec, NULL, 0, JSON_COMPACT)
                <= ORBIS_SESSION_MAX_RECORD);
    json_decref(rec);

    fx_free(f);
}


/* a telephony caller: mu-law at 8 kHz, decoded by the session */

static void
test_mulaw_caller(void **state)
{
    fx_t                          *f;
    uint8_t                        ulaw[160];
    orbis_err_t                    err;
    orbis_caller_in_t              ev;
    orbis_session_conf_t           c;
    const orbis_session_action_t  *act;

    (void) state;

    memset(&c, 0, sizeof(c));
    c.session_id = "tel-1";
    c.echo = 1;
    c.input_rate = 8000;
    c.output_rate = 8000;

    f = calloc(1, sizeof(fx_t));
    assert_non_null(f);
    f->s = orbis_session_create(&c, &err);
    assert_non_null(f->s);
    orbis_session_actions_init(&f->a);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT, 0);
    assert_int_equal(act->caller.input_rate, 8000);

    memset(ulaw, 0x80, sizeof(ulaw));   /* +32124, loud */
    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_CALLER_AUDIO;
    ev.audio = ulaw;
    ev.audio_len = sizeof(ulaw);
    ev.rate = 8000;
    ev.codec = ORBIS_AUDIO_MULAW;
    assert_int_equal(orbis_session_on_caller(f->s, &ev, 20, &f->a),
                     ORBIS_OK);

    /* 20 ms of 8 kHz mu-law echoes back as 20 ms of PCM16LE */
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_AUDIO, 0);
    assert_int_equal(act->rate, 8000);
    assert_int_equal(act->len, 2 * sizeof(ulaw));
    assert_int_equal((int16_t) ((uint8_t) act->data[0]
                                | (uint8_t) act->data[1] << 8), 32124);

    /* at another rate than the call's: refused */
    ev.rate = 16000;
    assert_int_equal(orbis_session_on_caller(f->s, &ev, 40, &f->a),
                     ORBIS_ERR_INVALID);

    fx_free(f);
}


/* the browser's adapter */

static void
test_client_adapter_in(void **state)
{
    orbis_err_t          err;
    orbis_caller_in_t    ev;
    orbis_client_msg_t   m;

    static const char  hi[] = "{\"type\":\"text\",\"text\":\"hi\",\"x\":1}";

    (void) state;

    assert_int_equal(orbis_client_to_event(hi, sizeof(hi) - 1, &m, &ev,
                                           &err), ORBIS_OK);
    assert_int_equal(ev.type, ORBIS_CALLER_TEXT);
    assert_int_equal(ev.text_len, 2);
    assert_memory_equal(ev.text, "hi", 2);
    orbis_client_msg_free(&m);

    assert_int_equal(orbis_client_to_event("{\"type\":\"end\"}", 14, &m, &ev,
                                           &err), ORBIS_OK);
    assert_int_equal(ev.type, ORBIS_CALLER_HANGUP);
    orbis_client_msg_free(&m);

    assert_int_equal(orbis_client_to_event("{\"type\":\"dance\"}", 16, &m,
                                           &ev, &err), ORBIS_OK);
    assert_int_equal(ev.type, ORBIS_CALLER_BAD);
    assert_string_equal(ev.text, "unknown message type \"dance\"");
    orbis_client_msg_free(&m);

    assert_int_equal(orbis_client_to_event("{\"type\":\"text\",\"text\":\"\"}",
                                           24, &m, &ev, &err), ORBIS_OK);
    assert_int_equal(ev.type, ORBIS_CALLER_BAD);
    orbis_client_msg_free(&m);

    assert_int_equal(orbis_client_to_event("nope", 4, &m, &ev, &err),
                     ORBIS_OK);
    assert_int_equal(ev.type, ORBIS_CALLER_BAD);
    orbis_client_msg_free(&m);
}


static json_t *
render_caller(const orbis_caller_out_t *ev)
{
    json_t          *j;
    orbis_strbuf_t   b;

    orbis_strbuf_init(&b);
    assert_int_equal(orbis_client_render(NULL, &b, ev, NULL), ORBIS_OK);
    j = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(j);
    orbis_strbuf_free(&b);

    return j;
}


static void
test_client_adapter_out(void **state)
{
    json_t              *j;
    orbis_strbuf_t       b;
    orbis_caller_out_t   ev;

    (void) state;

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_CALLER_OUT_READY;
    ev.session_id = "s";
    ev.input_rate = 16000;
    ev.output_rate = 24000;
    j = render_caller(&ev);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "ready");
    assert_string_equal(json_string_value(json_object_get(j, "mode")),
                        "live");
    json_decref(j);

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_CALLER_OUT_TRANSCRIPT;
    ev.role = ORBIS_CLIENT_ROLE_USER;
    ev.text = "abc";
    ev.text_len = 2;
    ev.final = 1;
    j = render_caller(&ev);
    assert_string_equal(json_string_value(json_object_get(j, "text")), "ab");
    assert_string_equal(json_string_value(json_object_get(j, "role")),
                        "user");
    assert_true(json_is_true(json_object_get(j, "final")));
    json_decref(j);

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_CALLER_OUT_TOOL;
    ev.name = "open_gate";
    ev.tool_status = ORBIS_CLIENT_TOOL_TIMEOUT;
    j = render_caller(&ev);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "timeout");
    json_decref(j);

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_CALLER_OUT_ERROR;
    ev.name = "busy";
    ev.text = "wait";
    ev.text_len = 4;
    j = render_caller(&ev);
    assert_string_equal(json_string_value(json_object_get(j, "code")),
                        "busy");
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "wait");
    json_decref(j);

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_CALLER_OUT_INTERRUPTED;
    j = render_caller(&ev);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "interrupted");
    json_decref(j);

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_CALLER_OUT_TURN_COMPLETE;
    j = render_caller(&ev);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "turn_complete");
    json_decref(j);

    /* not UTF-8: refused, the buffer untouched */
    orbis_strbuf_init(&b);
    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_CALLER_OUT_TRANSCRIPT;
    ev.role = ORBIS_CLIENT_ROLE_AGENT;
    ev.text = "\xff";
    ev.text_len = 1;
    assert_int_equal(orbis_client_render(NULL, &b, &ev, NULL),
                     ORBIS_ERR_INVALID);
    assert_int_equal(b.len, 0);
    orbis_strbuf_free(&b);
}


/* Gemini's adapter */

static void
test_gemini_adapter_in(void **state)
{
    orbis_peer_in_t          ev;
    orbis_gemini_msg_t       m;
    orbis_peer_tool_call_t   calls[2];

    static const char  msg[] =
        "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"
        "{\"mimeType\":\"audio/pcm;rate=24000\",\"data\":\"AAAA\"}}]},"
        "\"outputTranscription\":{\"text\":\"Hi\"},\"interrupted\":true,"
        "\"turnComplete\":true},"
        "\"toolCall\":{\"functionCalls\":[{\"id\":\"c1\",\"name\":\"f\","
        "\"args\":{\"a\":1}}]},"
        "\"goAway\":{\"timeLeft\":\"5s\"},"
        "\"sessionResumptionUpdate\":{\"newHandle\":\"h1\","
        "\"resumable\":false},"
        "\"usageMetadata\":{\"promptTokenCount\":3,"
        "\"responseTokenCount\":4,\"totalTokenCount\":7}}";

    static const char  ready[] =
        "{\"setupComplete\":{},\"sessionResumptionUpdate\":"
        "{\"newHandle\":\"h2\",\"resumable\":true}}";

    (void) state;

    assert_int_equal(orbis_gemini_parse(msg, sizeof(msg) - 1, &m, NULL),
                     ORBIS_OK);
    orbis_gemini_to_event(&m, calls, &ev);

    assert_false(ev.ready);
    assert_int_equal(ev.audio_len, 3);
    assert_int_equal(ev.audio_rate, 24000);
    assert_string_equal(ev.output_transcript, "Hi");
    assert_null(ev.input_transcript);
    assert_true(ev.interrupted);
    assert_true(ev.turn_complete);
    assert_int_equal(ev.n_tool_calls, 1);
    assert_string_equal(ev.tool_calls[0].id, "c1");
    assert_int_equal(json_integer_value(json_object_get(ev.tool_calls[0].args,
                                                        "a")), 1);
    assert_true(ev.going_away);
    assert_int_equal(ev.going_away_ms, 5000);
    /* not resumable: no handle for the session */
    assert_null(ev.resume_handle);
    assert_true(ev.usage);
    assert_int_equal(ev.total_tokens, 7);

    orbis_gemini_msg_free(&m);

    assert_int_equal(orbis_gemini_parse(ready, sizeof(ready) - 1, &m, NULL),
                     ORBIS_OK);
    orbis_gemini_to_event(&m, calls, &ev);
    assert_true(ev.ready);
    assert_string_equal(ev.resume_handle, "h2");
    orbis_gemini_msg_free(&m);
}


static json_t *
render_peer(orbis_gemini_peer_t *p, const orbis_peer_out_t *ev)
{
    json_t          *j;
    orbis_strbuf_t   b;

    orbis_strbuf_init(&b);
    assert_int_equal(orbis_gemini_render(p, &b, ev, NULL), ORBIS_OK);
    j = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(j);
    orbis_strbuf_free(&b);

    return j;
}


static void
test_gemini_adapter_out(void **state)
{
    json_t                *j, *resp, *fd;
    orbis_err_t            err;
    orbis_peer_out_t       ev;
    orbis_gemini_setup_t   setup;
    orbis_gemini_peer_t   *p;

    (void) state;

    fd = json_pack("[{s:s}]", "name", "f");
    memset(&setup, 0, sizeof(setup));
    setup.model = "gemini-x";
    setup.voice = "Kore";
    setup.function_declarations = fd;
    p = orbis_gemini_peer_new(&setup, &err);
    json_decref(fd);
    assert_non_null(p);
    assert_string_equal(orbis_gemini_peer_model(p), "gemini-x");

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_PEER_OUT_SETUP;
    ev.resume_handle = "h9";
    j = render_peer(p, &ev);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "setup"), "model")),
                        "models/gemini-x");
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                            json_object_get(j, "setup"), "sessionResumption"),
                            "handle")), "h9");
    assert_non_null(json_object_get(json_object_get(j, "setup"), "tools"));
    json_decref(j);

    /* the handle went into that one setup only */
    ev.resume_handle = NULL;
    j = render_peer(p, &ev);
    assert_null(json_object_get(json_object_get(json_object_get(j, "setup"),
                                                "sessionResumption"),
                                "handle"));
    json_decref(j);

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_PEER_OUT_AUDIO;
    ev.audio = (const uint8_t *) "\1\2\3\4";
    ev.audio_len = 4;
    ev.rate = 16000;
    j = render_peer(p, &ev);
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                            json_object_get(j, "realtimeInput"), "audio"),
                            "mimeType")), "audio/pcm;rate=16000");
    json_decref(j);

    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_PEER_OUT_TEXT;
    ev.text = "yo";
    ev.text_len = 2;
    j = render_peer(p, &ev);
    assert_non_null(json_object_get(j, "clientContent"));
    json_decref(j);

    resp = json_pack("{s:i}", "v", 1);
    memset(&ev, 0, sizeof(ev));
    ev.type = ORBIS_PEER_OUT_TOOL_RESULT;
    ev.tool_id = "c1";
    ev.tool_name = "f";
    ev.response = resp;
    j = render_peer(p, &ev);
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(json_object_get(j,
                                "toolResponse"), "functionResponses"), 0),
                            "id")), "c1");
    json_decref(j);
    json_decref(resp);

    orbis_gemini_peer_free(p);

    /* a setup Gemini would refuse fails here, before any call */
    setup.model = NULL;
    assert_null(orbis_gemini_peer_new(&setup, &err));
    assert_int_equal(err.code, ORBIS_ERR_INVALID);
}


/* a close of the Gemini socket, classified by the adapter */

static void
test_gemini_adapter_close(void **state)
{
    fx_t  *f;

    (void) state;

    f = fx_new(0);
    go_live(f);

    /* 1011 is retryable: a resumption, not an end */
    assert_int_equal(orbis_gemini_on_close(f->s, 1011, "", 10, &f->a),
                     ORBIS_OK);
    assert_int_equal(orbis_session_state(f->s), ORBIS_SESSION_RESUMING);
    assert_non_null(find(&f->a, ORBIS_SESSION_ACT_PEER_OPEN, 0));
    fx_free(f);

    /* 1008 "model not found" is fatal */
    f = fx_new(0);
    go_live(f);
    assert_int_equal(orbis_gemini_on_close(f->s, 1008, "model not found", 10,
                                           &f->a), ORBIS_OK);
    assert_int_equal(find(&f->a, ORBIS_SESSION_ACT_CALLER_CLOSE, 0)->code,
                     4004);
    fx_free(f);
}


/* any transport: a codec of its own renders the same events */

static orbis_rc_t
tag_render(void *ctx, orbis_strbuf_t *out, const orbis_caller_out_t *ev,
    orbis_err_t *err)
{
    char  head[32];
    int   n;

    (void) err;

    (*(int *) ctx)++;
    n = snprintf(head, sizeof(head), "ev%d:", (int) ev->type);

    if (orbis_strbuf_append(out, head, (size_t) n) != ORBIS_OK
        || (ev->text != NULL
            && orbis_strbuf_append(out, ev->text, ev->text_len) != ORBIS_OK))
    {
        return ORBIS_ERR_NOMEM;
    }

    return ORBIS_OK;
}


static void
test_any_caller_codec(void **state)
{
    int                            calls;
    fx_t                          *f;
    const orbis_session_action_t  *act;
    const orbis_caller_codec_t     tag = { "tag", tag_render };

    (void) state;

    calls = 0;
    f = fx_new(1);
    orbis_session_actions_codecs(&f->a, &tag, &calls, NULL, NULL);

    assert_int_equal(orbis_session_start(f->s, 0, &f->a), ORBIS_OK);
    assert_int_equal(caller(f, ORBIS_CALLER_TEXT, "hello", 5, 0, 10),
                     ORBIS_OK);
    act = find(&f->a, ORBIS_SESSION_ACT_CALLER_EVENT, 0);
    assert_string_equal(act->data, "ev2:hello");
    assert_int_equal(act->len, 9);
    assert_int_equal(calls, 2);

    fx_free(f);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalised_live_call),
        cmocka_unit_test(test_normalised_caller_events),
        cmocka_unit_test(test_tool_caps),
        cmocka_unit_test(test_mulaw_caller),
        cmocka_unit_test(test_client_adapter_in),
        cmocka_unit_test(test_client_adapter_out),
        cmocka_unit_test(test_gemini_adapter_in),
        cmocka_unit_test(test_gemini_adapter_out),
        cmocka_unit_test(test_gemini_adapter_close),
        cmocka_unit_test(test_any_caller_codec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
