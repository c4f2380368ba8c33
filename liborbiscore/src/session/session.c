/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/audio.h>

#include "gemini/gemini_int.h"
#include "session/session_int.h"


#define ORBIS_SESSION_NO_DATA  SIZE_MAX


static void orbis_session_actions_reset(orbis_session_actions_t *a);
static void orbis_session_actions_fix(orbis_session_actions_t *a);
static orbis_rc_t orbis_session_push(orbis_session_actions_t *a,
    orbis_session_act_type_t type, orbis_session_action_t **act);
static orbis_rc_t orbis_session_push_data(orbis_session_actions_t *a,
    orbis_session_act_type_t type, size_t mark, orbis_rc_t rc);
static orbis_rc_t orbis_session_push_tool(orbis_session_actions_t *a,
    orbis_session_act_type_t type, const orbis_session_tool_t *t);
static orbis_rc_t orbis_session_push_close_upstream(orbis_session_t *s,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_client_error(orbis_session_actions_t *a,
    const char *code, const char *message);
static orbis_rc_t orbis_session_client_tool(orbis_session_actions_t *a,
    const orbis_session_tool_t *t);
static orbis_rc_t orbis_session_upstream_audio(orbis_session_actions_t *a,
    const uint8_t *pcm, size_t len);
static orbis_rc_t orbis_session_upstream_text(orbis_session_actions_t *a,
    const char *text, size_t len);

static orbis_rc_t orbis_session_do_start(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_client_audio(orbis_session_t *s,
    const uint8_t *pcm, size_t len, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_client_text(orbis_session_t *s,
    const char *msg, size_t len, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_upstream_open(orbis_session_t *s,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_upstream_message(orbis_session_t *s,
    const char *msg, size_t len, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_upstream_close(orbis_session_t *s,
    uint16_t code, const char *reason, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_tool_result(orbis_session_t *s,
    const char *id, int ok, const json_t *result, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_tick(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a);

static orbis_rc_t orbis_session_connect(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_go_live(orbis_session_t *s,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_content(orbis_session_t *s,
    const orbis_gemini_msg_t *m, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_resume(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_upstream_lost(orbis_session_t *s,
    int retryable, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_finish(orbis_session_t *s,
    orbis_session_end_t reason, int64_t now, orbis_session_actions_t *a);
static int orbis_session_busy(const orbis_session_t *s);
static int64_t orbis_session_backoff(uint32_t failures);
static orbis_rc_t orbis_session_bad_message(orbis_session_t *s,
    const char *why, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_echo_listen(orbis_session_t *s,
    const uint8_t *pcm, size_t len, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_echo_turn(orbis_session_t *s,
    orbis_client_role_t role, const char *text, int64_t now,
    orbis_session_actions_t *a);

static orbis_rc_t orbis_session_ring_push(orbis_session_t *s,
    const uint8_t *pcm, size_t len);
static void orbis_session_drop_buffers(orbis_session_t *s);

static orbis_rc_t orbis_session_new_turn(orbis_session_t *s,
    orbis_client_role_t role, int64_t now, size_t *idx);
static orbis_rc_t orbis_session_turn_append(orbis_session_t *s,
    orbis_session_turn_t *t, const char *text, size_t len);
static orbis_rc_t orbis_session_fragment(orbis_session_t *s,
    orbis_client_role_t role, const char *text, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_close_turn(orbis_session_t *s,
    int notify, orbis_session_actions_t *a);

static orbis_rc_t orbis_session_start_tool(orbis_session_t *s,
    const orbis_gemini_tool_call_t *call, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_finish_tool(orbis_session_t *s,
    orbis_session_tool_t *t, orbis_client_tool_status_t status,
    json_t *response, int notify, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_cancel_tools(orbis_session_t *s,
    int notify, int64_t now, orbis_session_actions_t *a);
static void orbis_session_add_tokens(int64_t *sum, int64_t n);
static orbis_session_tool_t *orbis_session_find_tool(orbis_session_t *s,
    const char *id);

static char *orbis_session_strdup(const char *p, int *failed);
static uint32_t orbis_session_or(uint32_t v, uint32_t dflt);
static int orbis_session_utf8_or_null(const char *p);


static const char  *orbis_session_state_names[] = {
    "new",
    "upstream_connecting",
    "setup_sent",
    "live",
    "resuming",
    "echo",
    "ending",
    "ended"
};


static const char  *orbis_session_end_names[] = {
    "none",
    "client_closed",
    "client_vanished",
    "upstream_failed",
    "idle_timeout",
    "max_duration",
    "shutdown",
    "usage_limit",
    "error",
    "client_protocol"
};


static const uint16_t  orbis_session_end_codes[] = {
    0,
    ORBIS_CLOSE_NORMAL,
    ORBIS_CLOSE_ABNORMAL,
    ORBIS_CLOSE_MODEL_UNAVAILABLE,
    ORBIS_CLOSE_IDLE_TIMEOUT,
    ORBIS_CLOSE_NORMAL,
    ORBIS_CLOSE_GOING_AWAY,
    ORBIS_CLOSE_USAGE_LIMIT,
    ORBIS_CLOSE_INTERNAL,
    ORBIS_CLOSE_POLICY
};


/* action lists */

void
orbis_session_actions_init(orbis_session_actions_t *a)
{
    a->items = NULL;
    a->n = 0;
    a->cap = 0;
    orbis_strbuf_init(&a->arena);
}


void
orbis_session_actions_free(orbis_session_actions_t *a)
{
    orbis_free(a->items);
    orbis_strbuf_free(&a->arena);
    orbis_session_actions_init(a);
}


static void
orbis_session_actions_reset(orbis_session_actions_t *a)
{
    a->n = 0;
    orbis_strbuf_reset(&a->arena);
}


/* the arena may move while actions are added: pointers are set last */

static void
orbis_session_actions_fix(orbis_session_actions_t *a)
{
    size_t  i;

    for (i = 0; i < a->n; i++) {
        a->items[i].data = (a->items[i].data_off == ORBIS_SESSION_NO_DATA)
                           ? NULL : a->arena.data + a->items[i].data_off;
    }
}


static orbis_rc_t
orbis_session_push(orbis_session_actions_t *a, orbis_session_act_type_t type,
    orbis_session_action_t **act)
{
    size_t                   cap;
    orbis_session_action_t  *items;

    if (a->n == a->cap) {
        cap = (a->cap == 0) ? 16 : a->cap * 2;

        items = orbis_realloc(a->items, cap * sizeof(orbis_session_action_t));
        if (items == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        a->items = items;
        a->cap = cap;
    }

    *act = &a->items[a->n++];
    memset(*act, 0, sizeof(orbis_session_action_t));
    (*act)->type = type;
    (*act)->data_off = ORBIS_SESSION_NO_DATA;

    return ORBIS_OK;
}


/*
 * Turns what a builder appended to the arena since mark into an action
 * (rc is the builder's result), NUL-terminated for the module's sake.
 */

static orbis_rc_t
orbis_session_push_data(orbis_session_actions_t *a,
    orbis_session_act_type_t type, size_t mark, orbis_rc_t rc)
{
    size_t                   len;
    orbis_session_action_t  *act;

    len = a->arena.len - mark;

    if (rc == ORBIS_OK) {
        rc = orbis_strbuf_append(&a->arena, "", 1);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_session_push(a, type, &act);
    }

    if (rc != ORBIS_OK) {
        a->arena.len = mark;
        return rc;
    }

    act->data_off = mark;
    act->len = len;

    return ORBIS_OK;
}


static orbis_rc_t
orbis_session_push_tool(orbis_session_actions_t *a,
    orbis_session_act_type_t type, const orbis_session_tool_t *t)
{
    orbis_rc_t               rc;
    orbis_session_action_t  *act;

    rc = orbis_session_push(a, type, &act);
    if (rc != ORBIS_OK) {
        return rc;
    }

    act->tool_id = t->id;
    act->tool_name = t->name;
    act->tool_args = t->args;

    return ORBIS_OK;
}


static orbis_rc_t
orbis_session_push_close_upstream(orbis_session_t *s,
    orbis_session_actions_t *a)
{
    orbis_session_action_t  *act;

    if (!s->upstream_active) {
        return ORBIS_OK;
    }

    s->upstream_active = 0;
    s->upstream_open = 0;
    s->connect_started_ms = -1;

    return orbis_session_push(a, ORBIS_SESSION_ACT_CLOSE_UPSTREAM, &act);
}


static orbis_rc_t
orbis_session_client_error(orbis_session_actions_t *a, const char *code,
    const char *message)
{
    size_t  mark;

    mark = a->arena.len;

    return orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
               mark, orbis_client_build_error(&a->arena, code, message,
                                              NULL));
}


static orbis_rc_t
orbis_session_client_tool(orbis_session_actions_t *a,
    const orbis_session_tool_t *t)
{
    size_t  mark;

    mark = a->arena.len;

    return orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
               mark, orbis_client_build_tool(&a->arena, t->name, t->status,
                                             NULL));
}


static orbis_rc_t
orbis_session_upstream_audio(orbis_session_actions_t *a, const uint8_t *pcm,
    size_t len)
{
    size_t  mark;

    mark = a->arena.len;

    return orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_UPSTREAM, mark,
               orbis_gemini_build_audio(&a->arena, pcm, len,
                                        ORBIS_CLIENT_INPUT_RATE, NULL));
}


static orbis_rc_t
orbis_session_upstream_text(orbis_session_actions_t *a, const char *text,
    size_t len)
{
    size_t  mark;

    mark = a->arena.len;

    return orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_UPSTREAM, mark,
               orbis_gemini_build_text(&a->arena, text, len, NULL));
}


/* life cycle */

orbis_session_t *
orbis_session_create(const orbis_session_conf_t *conf, orbis_err_t *err)
{
    int               failed;
    orbis_rc_t        rc;
    orbis_strbuf_t    b;
    orbis_session_t  *s;

    if (conf == NULL || conf->session_id == NULL
        || conf->session_id[0] == '\0')
    {
        orbis_err_set(err, ORBIS_ERR_INVALID, "session needs an id");
        return NULL;
    }

    if (!orbis_gemini_utf8_valid_str(conf->session_id)
        || !orbis_session_utf8_or_null(conf->tenant_id)
        || !orbis_session_utf8_or_null(conf->agent_id)
        || !orbis_session_utf8_or_null(conf->greeting))
    {
        orbis_err_set(err, ORBIS_ERR_INVALID,
                      "session ids and greeting must be UTF-8");
        return NULL;
    }

    if (!conf->echo) {
        /* refuse a setup Gemini would never get, before the call starts */
        orbis_strbuf_init(&b);
        rc = orbis_gemini_append_setup(&b, &conf->setup, err);
        orbis_strbuf_free(&b);

        if (rc != ORBIS_OK) {
            return NULL;
        }
    }

    s = orbis_calloc(1, sizeof(orbis_session_t));
    if (s == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return NULL;
    }

    failed = 0;

    s->echo = (conf->echo != 0);
    s->session_id = orbis_session_strdup(conf->session_id, &failed);
    s->tenant_id = orbis_session_strdup(conf->tenant_id, &failed);
    s->agent_id = orbis_session_strdup(conf->agent_id, &failed);
    s->greeting = orbis_session_strdup(conf->greeting, &failed);

    if (conf->greeting != NULL && conf->greeting[0] == '\0') {
        orbis_free(s->greeting);
        s->greeting = NULL;
    }

    if (!s->echo) {
        s->setup.model = orbis_session_strdup(conf->setup.model, &failed);
        s->setup.system_prompt = orbis_session_strdup(conf->setup.system_prompt,
                                                      &failed);
        s->setup.voice = orbis_session_strdup(conf->setup.voice, &failed);
        s->setup.language = orbis_session_strdup(conf->setup.language,
                                                 &failed);
        s->setup.input_transcription = conf->setup.input_transcription;
        s->setup.output_transcription = conf->setup.output_transcription;

        if (conf->setup.function_declarations != NULL) {
            s->setup.function_declarations =
                json_deep_copy(conf->setup.function_declarations);

            if (s->setup.function_declarations == NULL) {
                failed = 1;
            }
        }
    }

    if (failed) {
        orbis_session_free(s);
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return NULL;
    }

    s->idle_timeout_ms = orbis_session_or(conf->idle_timeout_ms,
                                          ORBIS_SESSION_IDLE_TIMEOUT);
    s->max_duration_ms = orbis_session_or(conf->max_duration_ms,
                                          ORBIS_SESSION_MAX_DURATION);
    s->setup_timeout_ms = orbis_session_or(conf->setup_timeout_ms,
                                           ORBIS_SESSION_SETUP_TIMEOUT);
    s->tool_timeout_ms = orbis_session_or(conf->tool_timeout_ms,
                                          ORBIS_SESSION_TOOL_TIMEOUT);
    s->max_resumptions = orbis_session_or(conf->max_resumptions,
                                          ORBIS_SESSION_RESUMPTIONS);
    s->max_connect_retries = orbis_session_or(conf->max_connect_retries,
                                              ORBIS_SESSION_CONNECT_RETRIES);

    /* whole samples only, so that dropping the oldest keeps alignment */
    s->ring_cap = (conf->audio_buffer_bytes != 0) ? conf->audio_buffer_bytes
                                                  : ORBIS_SESSION_AUDIO_BUFFER;
    s->ring_cap &= ~(size_t) 1;

    /* one rate for the browser in both modes: echo is resampled up */
    s->out_rate = ORBIS_CLIENT_OUTPUT_RATE;

    s->state = ORBIS_SESSION_NEW;
    s->ended_ms = -1;
    s->connect_started_ms = -1;
    s->reconnect_at_ms = -1;
    s->go_away_deadline_ms = -1;
    s->open_turn = -1;
    s->client_open = 1;

    return s;
}


void
orbis_session_free(orbis_session_t *s)
{
    size_t  i;

    if (s == NULL) {
        return;
    }

    orbis_free(s->session_id);
    orbis_free(s->tenant_id);
    orbis_free(s->agent_id);
    orbis_free(s->greeting);
    orbis_free((char *) s->setup.model);
    orbis_free((char *) s->setup.system_prompt);
    orbis_free((char *) s->setup.voice);
    orbis_free((char *) s->setup.language);
    json_decref(s->setup.function_declarations);
    orbis_free(s->resume_handle);

    orbis_session_drop_buffers(s);

    for (i = 0; i < s->n_turns; i++) {
        orbis_strbuf_free(&s->turns[i].text);
    }

    orbis_free(s->turns);

    for (i = 0; i < s->n_tools; i++) {
        orbis_free(s->tools[i].id);
        orbis_free(s->tools[i].name);
        json_decref(s->tools[i].args);
        json_decref(s->tools[i].result);
    }

    orbis_free(s->tools);
    orbis_free(s);
}


/* public entry points: each empties the list, works, then fixes pointers */

orbis_rc_t
orbis_session_start(orbis_session_t *s, int64_t now_ms,
    orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_start(s, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_client_audio(orbis_session_t *s, const uint8_t *pcm,
    size_t len, int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_client_audio(s, pcm, len, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_client_text(orbis_session_t *s, const char *msg, size_t len,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_client_text(s, msg, len, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_client_close(orbis_session_t *s, uint16_t code,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);

    s->client_open = 0;

    switch (s->state) {

    case ORBIS_SESSION_ENDING:
        s->state = ORBIS_SESSION_ENDED;
        rc = ORBIS_OK;
        break;

    case ORBIS_SESSION_ENDED:
        rc = ORBIS_OK;
        break;

    default:
        rc = orbis_session_finish(s, (code == 1006 || code == 0)
                                     ? ORBIS_SESSION_END_CLIENT_VANISHED
                                     : ORBIS_SESSION_END_CLIENT_CLOSED,
                                  now_ms, a);
        break;
    }

    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_upstream_open(orbis_session_t *s, int64_t now_ms,
    orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    (void) now_ms;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_upstream_open(s, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_upstream_message(orbis_session_t *s, const char *msg,
    size_t len, int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_upstream_message(s, msg, len, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_upstream_close(orbis_session_t *s, uint16_t code,
    const char *reason, int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_upstream_close(s, code, reason, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_tool_result(orbis_session_t *s, const char *id, int ok,
    const json_t *result, int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_tool_result(s, id, ok, result, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_tick(orbis_session_t *s, int64_t now_ms,
    orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_tick(s, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_end(orbis_session_t *s, orbis_session_end_t reason,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);

    if (reason <= ORBIS_SESSION_END_NONE
        || reason > ORBIS_SESSION_END_CLIENT_PROTOCOL)
    {
        return ORBIS_ERR_INVALID;
    }

    rc = orbis_session_finish(s, reason, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


int64_t
orbis_session_next_deadline(const orbis_session_t *s)
{
    size_t   i;
    int64_t  d, t;

    switch (s->state) {

    case ORBIS_SESSION_NEW:
    case ORBIS_SESSION_ENDING:
    case ORBIS_SESSION_ENDED:
        return -1;

    default:
        break;
    }

    d = s->started_ms + s->max_duration_ms;

    t = s->last_activity_ms + s->idle_timeout_ms;
    d = (t < d) ? t : d;

    if (s->connect_started_ms >= 0) {
        t = s->connect_started_ms + s->setup_timeout_ms;
        d = (t < d) ? t : d;
    }

    if (s->reconnect_at_ms >= 0 && s->reconnect_at_ms < d) {
        d = s->reconnect_at_ms;
    }

    if (s->go_away_deadline_ms >= 0 && s->go_away_deadline_ms < d) {
        d = s->go_away_deadline_ms;
    }

    for (i = 0; i < s->n_tools; i++) {
        if (s->tools[i].status == ORBIS_CLIENT_TOOL_STARTED) {
            t = s->tools[i].started_ms + s->tool_timeout_ms;
            d = (t < d) ? t : d;
        }
    }

    return d;
}


orbis_session_state_t
orbis_session_state(const orbis_session_t *s)
{
    return s->state;
}


orbis_session_end_t
orbis_session_end_reason(const orbis_session_t *s)
{
    return s->end_reason;
}


unsigned
orbis_session_resumptions(const orbis_session_t *s)
{
    return s->resumptions;
}


const char *
orbis_session_resume_handle(const orbis_session_t *s)
{
    return s->resume_handle;
}


const char *
orbis_session_state_name(orbis_session_state_t st)
{
    if ((size_t) st >= sizeof(orbis_session_state_names)
                       / sizeof(orbis_session_state_names[0]))
    {
        return "unknown";
    }

    return orbis_session_state_names[st];
}


const char *
orbis_session_end_reason_name(orbis_session_end_t r)
{
    if ((size_t) r >= sizeof(orbis_session_end_names)
                      / sizeof(orbis_session_end_names[0]))
    {
        return "unknown";
    }

    return orbis_session_end_names[r];
}


uint16_t
orbis_session_end_close_code(orbis_session_end_t r)
{
    if ((size_t) r >= sizeof(orbis_session_end_codes)
                      / sizeof(orbis_session_end_codes[0]))
    {
        return ORBIS_CLOSE_INTERNAL;
    }

    return orbis_session_end_codes[r];
}


/* inputs */

static orbis_rc_t
orbis_session_do_start(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a)
{
    size_t      mark;
    orbis_rc_t  rc;

    if (s->state != ORBIS_SESSION_NEW) {
        return ORBIS_ERR_INVALID;
    }

    s->started_ms = now;
    s->last_activity_ms = now;

    mark = a->arena.len;
    rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT, mark,
             orbis_client_build_ready(&a->arena, s->session_id, s->echo,
                                      ORBIS_CLIENT_INPUT_RATE, s->out_rate,
                                      NULL));
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (s->echo) {
        s->state = ORBIS_SESSION_ECHO;

        if (s->greeting == NULL) {
            return ORBIS_OK;
        }

        /* no model to speak it: the greeting is shown as it is */
        s->greeted = 1;

        return orbis_session_echo_turn(s, ORBIS_CLIENT_ROLE_AGENT,
                                       s->greeting, now, a);
    }

    s->state = ORBIS_SESSION_UPSTREAM_CONNECTING;

    return orbis_session_connect(s, now, a);
}


static orbis_rc_t
orbis_session_do_client_audio(orbis_session_t *s, const uint8_t *pcm,
    size_t len, int64_t now, orbis_session_actions_t *a)
{
    size_t      mark;
    orbis_rc_t  rc;

    switch (s->state) {

    case ORBIS_SESSION_NEW:
        return ORBIS_ERR_INVALID;

    case ORBIS_SESSION_ENDING:
    case ORBIS_SESSION_ENDED:
        return ORBIS_OK;

    default:
        break;
    }

    if (len == 0) {
        return ORBIS_OK;
    }

    if (len % 2 != 0 || len > ORBIS_SESSION_MAX_AUDIO_FRAME) {
        return orbis_session_bad_message(s,
                                         "audio frames must be PCM16LE, "
                                         "at most 64 KiB", now, a);
    }

    s->bytes_in += len;
    s->last_activity_ms = now;

    switch (s->state) {

    case ORBIS_SESSION_ECHO:
        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_BINARY,
                                     mark, orbis_strbuf_append(&a->arena, pcm,
                                                               len));
        if (rc != ORBIS_OK) {
            return rc;
        }

        /* what the module plays back after resampling to 24 kHz */
        s->bytes_out += len / 2 * (ORBIS_CLIENT_OUTPUT_RATE * 2
                                   / ORBIS_CLIENT_INPUT_RATE);

        return orbis_session_echo_listen(s, pcm, len, now, a);

    case ORBIS_SESSION_LIVE:
        return orbis_session_upstream_audio(a, pcm, len);

    default:
        return orbis_session_ring_push(s, pcm, len);
    }
}


static orbis_rc_t
orbis_session_do_client_text(orbis_session_t *s, const char *msg, size_t len,
    int64_t now, orbis_session_actions_t *a)
{
    char                *copy;
    size_t               idx, mark;
    orbis_rc_t           rc;
    orbis_err_t          err;
    orbis_client_msg_t   m;

    switch (s->state) {

    case ORBIS_SESSION_NEW:
        return ORBIS_ERR_INVALID;

    case ORBIS_SESSION_ENDING:
    case ORBIS_SESSION_ENDED:
        return ORBIS_OK;

    default:
        break;
    }

    rc = orbis_client_parse(msg, len, &m, &err);

    if (rc == ORBIS_ERR_NOMEM) {
        return rc;
    }

    if (rc != ORBIS_OK) {
        return orbis_session_bad_message(s, err.msg, now, a);
    }

    if (m.type == ORBIS_CLIENT_MSG_END) {
        orbis_client_msg_free(&m);
        return orbis_session_finish(s, ORBIS_SESSION_END_CLIENT_CLOSED, now,
                                    a);
    }

    s->last_activity_ms = now;

    copy = NULL;

    switch (s->state) {

    case ORBIS_SESSION_ECHO:
    case ORBIS_SESSION_LIVE:
        break;

    default:
        if (s->n_pending == ORBIS_SESSION_MAX_PENDING_TEXTS) {
            orbis_client_msg_free(&m);
            rc = orbis_session_client_error(a, "busy",
                                            "too many messages before the "
                                            "agent is ready");
            return (rc == ORBIS_OK) ? ORBIS_ERR_RANGE : rc;
        }

        /* the queue takes over the parsed text */
        copy = m.text;
        m.text = NULL;
        break;
    }

    rc = orbis_session_close_turn(s, 1, a);

    if (rc == ORBIS_OK) {
        rc = orbis_session_new_turn(s, ORBIS_CLIENT_ROLE_USER, now, &idx);
    }

    if (rc == ORBIS_OK) {
        s->turns[idx].typed = 1;
        s->turns[idx].final = 1;
        s->open_turn = -1;

        rc = orbis_session_turn_append(s, &s->turns[idx],
                                       copy != NULL ? copy : m.text,
                                       m.text_len);
    }

    if (rc != ORBIS_OK) {
        orbis_free(copy);
        orbis_client_msg_free(&m);
        return rc;
    }

    if (copy != NULL) {
        s->pending[s->n_pending] = copy;
        s->pending_len[s->n_pending] = m.text_len;
        s->n_pending++;

    } else if (s->state == ORBIS_SESSION_ECHO) {
        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
                 mark, orbis_client_build_transcript(&a->arena,
                                                     ORBIS_CLIENT_ROLE_AGENT,
                                                     m.text, m.text_len, 1,
                                                     NULL));
    } else {
        rc = orbis_session_upstream_text(a, m.text, m.text_len);
    }

    orbis_client_msg_free(&m);

    return rc;
}


static orbis_rc_t
orbis_session_do_upstream_open(orbis_session_t *s,
    orbis_session_actions_t *a)
{
    size_t      mark;
    orbis_rc_t  rc;

    switch (s->state) {

    case ORBIS_SESSION_ENDING:
    case ORBIS_SESSION_ENDED:
        return ORBIS_OK;

    case ORBIS_SESSION_UPSTREAM_CONNECTING:
    case ORBIS_SESSION_RESUMING:
        if (s->upstream_active && !s->upstream_open) {
            break;
        }

        /* fall through */

    default:
        return ORBIS_ERR_INVALID;
    }

    /* the handle goes into this one setup only */
    s->setup.resume_handle = (s->state == ORBIS_SESSION_RESUMING)
                             ? s->resume_handle : NULL;

    mark = a->arena.len;
    rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_UPSTREAM, mark,
             orbis_gemini_append_setup(&a->arena, &s->setup, NULL));

    s->setup.resume_handle = NULL;

    if (rc != ORBIS_OK) {
        return rc;
    }

    s->upstream_open = 1;

    if (s->state == ORBIS_SESSION_UPSTREAM_CONNECTING) {
        s->state = ORBIS_SESSION_SETUP_SENT;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_session_do_upstream_message(orbis_session_t *s, const char *msg,
    size_t len, int64_t now, orbis_session_actions_t *a)
{
    orbis_rc_t          rc;
    orbis_gemini_msg_t  m;

    switch (s->state) {

    case ORBIS_SESSION_ENDING:
    case ORBIS_SESSION_ENDED:
        return ORBIS_OK;

    case ORBIS_SESSION_NEW:
    case ORBIS_SESSION_ECHO:
        return ORBIS_ERR_INVALID;

    default:
        break;
    }

    if (!s->upstream_open) {
        return ORBIS_ERR_PROTOCOL;
    }

    rc = orbis_gemini_parse(msg, len, &m, NULL);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (s->state != ORBIS_SESSION_LIVE) {

        if (!m.setup_complete) {
            orbis_gemini_msg_free(&m);
            return ORBIS_ERR_PROTOCOL;
        }

        rc = orbis_session_go_live(s, a);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_session_content(s, &m, now, a);
    }

    orbis_gemini_msg_free(&m);

    return rc;
}


static orbis_rc_t
orbis_session_do_upstream_close(orbis_session_t *s, uint16_t code,
    const char *reason, int64_t now, orbis_session_actions_t *a)
{
    int  retryable;

    switch (s->state) {

    case ORBIS_SESSION_UPSTREAM_CONNECTING:
    case ORBIS_SESSION_SETUP_SENT:
    case ORBIS_SESSION_LIVE:
    case ORBIS_SESSION_RESUMING:
        break;

    default:
        return ORBIS_OK;
    }

    if (!s->upstream_active) {
        /* a connection we already dropped */
        return ORBIS_OK;
    }

    retryable = s->go_away_seen
                || orbis_gemini_close_class(code, reason)
                   == ORBIS_GEMINI_CLOSE_RETRYABLE;

    s->upstream_active = 0;
    s->upstream_open = 0;
    s->connect_started_ms = -1;

    return orbis_session_upstream_lost(s, retryable, now, a);
}


static orbis_rc_t
orbis_session_do_tool_result(orbis_session_t *s, const char *id, int ok,
    const json_t *result, int64_t now, orbis_session_actions_t *a)
{
    json_t                *resp, *v;
    orbis_session_tool_t  *t;

    if (s->state == ORBIS_SESSION_ENDING || s->state == ORBIS_SESSION_ENDED)
    {
        return ORBIS_OK;
    }

    t = (id != NULL) ? orbis_session_find_tool(s, id) : NULL;
    if (t == NULL) {
        return ORBIS_ERR_NOT_FOUND;
    }

    if (t->status != ORBIS_CLIENT_TOOL_STARTED) {
        return ORBIS_OK;
    }

    if (ok) {
        if (result == NULL) {
            resp = json_object();

        } else if (json_is_object(result)) {
            resp = json_deep_copy(result);

        } else {
            /* the API takes a Struct: wrap anything else */
            resp = json_pack("{s:o}", "result", json_deep_copy(result));
        }

    } else {
        v = (result != NULL) ? json_deep_copy(result)
                             : json_string("tool failed");
        resp = json_pack("{s:o}", "error", v);
    }

    if (resp == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    return orbis_session_finish_tool(s, t, ok ? ORBIS_CLIENT_TOOL_OK
                                              : ORBIS_CLIENT_TOOL_ERROR,
                                     resp, 1, now, a);
}


static orbis_rc_t
orbis_session_do_tick(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a)
{
    size_t      i;
    json_t     *resp;
    orbis_rc_t  rc;

    switch (s->state) {

    case ORBIS_SESSION_NEW:
    case ORBIS_SESSION_ENDING:
    case ORBIS_SESSION_ENDED:
        return ORBIS_OK;

    default:
        break;
    }

    if (now - s->started_ms >= (int64_t) s->max_duration_ms) {
        return orbis_session_finish(s, ORBIS_SESSION_END_MAX_DURATION, now,
                                    a);
    }

    if (now - s->last_activity_ms >= (int64_t) s->idle_timeout_ms) {
        return orbis_session_finish(s, ORBIS_SESSION_END_IDLE_TIMEOUT, now,
                                    a);
    }

    if (s->connect_started_ms >= 0
        && now - s->connect_started_ms >= (int64_t) s->setup_timeout_ms)
    {
        /* no setupComplete in time: treated like a dropped connection */
        rc = orbis_session_upstream_lost(s, 1, now, a);
        if (rc != ORBIS_OK || s->state == ORBIS_SESSION_ENDING
            || s->state == ORBIS_SESSION_ENDED)
        {
            return rc;
        }
    }

    if (s->reconnect_at_ms >= 0 && now >= s->reconnect_at_ms) {
        rc = orbis_session_connect(s, now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (s->go_away_deadline_ms >= 0 && now >= s->go_away_deadline_ms) {
        rc = orbis_session_resume(s, now, a);
        if (rc != ORBIS_OK || s->state == ORBIS_SESSION_ENDING
            || s->state == ORBIS_SESSION_ENDED)
        {
            return rc;
        }
    }

    for (i = 0; i < s->n_tools; i++) {
        if (s->tools[i].status != ORBIS_CLIENT_TOOL_STARTED
            || now - s->tools[i].started_ms < (int64_t) s->tool_timeout_ms)
        {
            continue;
        }

        /* answer so that the model does not wait for it forever */
        resp = json_pack("{s:s}", "error", "tool timed out");
        if (resp == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        rc = orbis_session_finish_tool(s, &s->tools[i],
                                       ORBIS_CLIENT_TOOL_TIMEOUT, resp, 1,
                                       now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    return ORBIS_OK;
}


/* upstream life */

static orbis_rc_t
orbis_session_connect(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a)
{
    size_t                   mark;
    orbis_rc_t               rc;
    orbis_session_action_t  *act;

    if (s->state == ORBIS_SESSION_RESUMING && s->resume_handle != NULL) {
        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_CONNECT_UPSTREAM,
                 mark, orbis_strbuf_append(&a->arena, s->resume_handle,
                                           strlen(s->resume_handle)));

    } else {
        rc = orbis_session_push(a, ORBIS_SESSION_ACT_CONNECT_UPSTREAM, &act);
    }

    if (rc != ORBIS_OK) {
        return rc;
    }

    s->upstream_active = 1;
    s->upstream_open = 0;
    s->go_away_seen = 0;
    s->connect_started_ms = now;
    s->reconnect_at_ms = -1;
    s->go_away_deadline_ms = -1;

    return ORBIS_OK;
}


static orbis_rc_t
orbis_session_go_live(orbis_session_t *s, orbis_session_actions_t *a)
{
    size_t      i, n;
    orbis_rc_t  rc;

    s->state = ORBIS_SESSION_LIVE;
    s->connect_started_ms = -1;
    s->failures = 0;

    if (!s->greeted) {
        s->greeted = 1;

        if (s->greeting != NULL) {
            rc = orbis_session_upstream_text(a, s->greeting,
                                             strlen(s->greeting));
            if (rc != ORBIS_OK) {
                return rc;
            }
        }
    }

    /* the ring never wraps inside a message: at most two pieces */

    while (s->ring_len > 0) {
        n = s->ring_cap - s->ring_head;
        n = (n < s->ring_len) ? n : s->ring_len;
        n = (n < ORBIS_SESSION_FLUSH_CHUNK) ? n : ORBIS_SESSION_FLUSH_CHUNK;

        rc = orbis_session_upstream_audio(a, s->ring + s->ring_head, n);
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->ring_head = (s->ring_head + n) % s->ring_cap;
        s->ring_len -= n;
    }

    s->ring_head = 0;

    for (i = 0; i < s->n_pending; i++) {
        rc = orbis_session_upstream_text(a, s->pending[i], s->pending_len[i]);
        if (rc != ORBIS_OK) {
            return rc;
        }

        orbis_free(s->pending[i]);
        s->pending[i] = NULL;
    }

    s->n_pending = 0;

    return ORBIS_OK;
}


/* one server message may carry several of these: no else-if */

static orbis_rc_t
orbis_session_content(orbis_session_t *s, const orbis_gemini_msg_t *m,
    int64_t now, orbis_session_actions_t *a)
{
    char        *h;
    size_t       i, mark;
    int64_t      left;
    orbis_rc_t   rc;

    if (m->audio_len > 0) {
        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_BINARY,
                                     mark, orbis_strbuf_append(&a->arena,
                                                               m->audio,
                                                               m->audio_len));
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->bytes_out += m->audio_len;
        s->model_turn_active = 1;
    }

    if (m->text_len > 0) {
        s->model_turn_active = 1;
    }

    if (m->input_transcription != NULL) {
        rc = orbis_session_fragment(s, ORBIS_CLIENT_ROLE_USER,
                                    m->input_transcription, now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (m->output_transcription != NULL) {
        rc = orbis_session_fragment(s, ORBIS_CLIENT_ROLE_AGENT,
                                    m->output_transcription, now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->model_turn_active = 1;
    }

    if (m->interrupted) {
        if (s->open_turn >= 0
            && s->turns[s->open_turn].role == ORBIS_CLIENT_ROLE_AGENT)
        {
            s->turns[s->open_turn].interrupted = 1;
        }

        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
                 mark, orbis_client_build_interrupted(&a->arena, NULL));
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->model_turn_active = 0;
    }

    if (m->turn_complete) {
        rc = orbis_session_close_turn(s, 1, a);
        if (rc != ORBIS_OK) {
            return rc;
        }

        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
                 mark, orbis_client_build_turn_complete(&a->arena, NULL));
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->model_turn_active = 0;
    }

    for (i = 0; i < m->n_tool_calls; i++) {
        rc = orbis_session_start_tool(s, &m->tool_calls[i], now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    for (i = 0; i < m->n_cancelled_ids; i++) {
        rc = orbis_session_finish_tool(s,
                 orbis_session_find_tool(s, m->cancelled_ids[i]),
                 ORBIS_CLIENT_TOOL_CANCELLED, NULL, 1, now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (m->usage) {
        orbis_session_add_tokens(&s->prompt_tokens, m->prompt_tokens);
        orbis_session_add_tokens(&s->response_tokens, m->response_tokens);
        orbis_session_add_tokens(&s->total_tokens, m->total_tokens);
    }

    if (m->resumption_update && m->resumable && m->new_handle != NULL
        && m->new_handle[0] != '\0')
    {
        h = orbis_strdup(m->new_handle);
        if (h == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        orbis_free(s->resume_handle);
        s->resume_handle = h;

        /* a goAway is pending and this is a safe point to move */
        if (s->go_away_deadline_ms >= 0 && !orbis_session_busy(s)) {
            return orbis_session_resume(s, now, a);
        }
    }

    if (m->go_away) {
        s->go_away_seen = 1;

        left = (m->go_away_ms >= 0) ? m->go_away_ms
                                    : ORBIS_SESSION_GOAWAY_DEFAULT;
        left -= ORBIS_SESSION_GOAWAY_MARGIN;
        s->go_away_deadline_ms = now + (left > 0 ? left : 0);

        if (!orbis_session_busy(s)) {
            return orbis_session_resume(s, now, a);
        }
    }

    return ORBIS_OK;
}


/* moves the call to a new connection resumed with the latest handle */

static orbis_rc_t
orbis_session_resume(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a)
{
    int64_t     delay;
    orbis_rc_t  rc;

    if (s->resumptions >= s->max_resumptions) {
        return orbis_session_finish(s, ORBIS_SESSION_END_UPSTREAM_FAILED, now,
                                    a);
    }

    s->resumptions++;

    rc = orbis_session_push_close_upstream(s, a);

    if (rc == ORBIS_OK) {
        rc = orbis_session_cancel_tools(s, 1, now, a);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_session_close_turn(s, 1, a);
    }

    if (rc != ORBIS_OK) {
        return rc;
    }

    s->state = ORBIS_SESSION_RESUMING;
    s->model_turn_active = 0;
    s->go_away_seen = 0;
    s->go_away_deadline_ms = -1;

    delay = orbis_session_backoff(s->failures);

    if (delay == 0) {
        return orbis_session_connect(s, now, a);
    }

    s->reconnect_at_ms = now + delay;

    return ORBIS_OK;
}


static orbis_rc_t
orbis_session_upstream_lost(orbis_session_t *s, int retryable, int64_t now,
    orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    switch (s->state) {

    case ORBIS_SESSION_UPSTREAM_CONNECTING:
    case ORBIS_SESSION_SETUP_SENT:
        if (!retryable || s->connect_retries >= s->max_connect_retries) {
            return orbis_session_finish(s, ORBIS_SESSION_END_UPSTREAM_FAILED,
                                        now, a);
        }

        s->connect_retries++;
        s->failures++;

        rc = orbis_session_push_close_upstream(s, a);
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->state = ORBIS_SESSION_UPSTREAM_CONNECTING;
        s->reconnect_at_ms = now + orbis_session_backoff(s->failures);

        return ORBIS_OK;

    case ORBIS_SESSION_RESUMING:
        /* this attempt never went live: back off before the next one */
        s->failures++;

        /* fall through */

    case ORBIS_SESSION_LIVE:
        if (!retryable) {
            return orbis_session_finish(s, ORBIS_SESSION_END_UPSTREAM_FAILED,
                                        now, a);
        }

        return orbis_session_resume(s, now, a);

    default:
        return ORBIS_OK;
    }
}


static orbis_rc_t
orbis_session_finish(orbis_session_t *s, orbis_session_end_t reason,
    int64_t now, orbis_session_actions_t *a)
{
    size_t                   mark;
    orbis_rc_t               rc;
    const char              *text;
    orbis_session_action_t  *act;

    if (s->state == ORBIS_SESSION_ENDING || s->state == ORBIS_SESSION_ENDED) {
        return ORBIS_OK;
    }

    if (s->state == ORBIS_SESSION_NEW) {
        s->started_ms = now;
        s->last_activity_ms = now;
    }

    s->end_reason = reason;
    s->close_code = orbis_session_end_close_code(reason);
    s->ended_ms = now;
    s->reconnect_at_ms = -1;
    s->go_away_deadline_ms = -1;
    s->state = s->client_open ? ORBIS_SESSION_ENDING : ORBIS_SESSION_ENDED;

    orbis_session_drop_buffers(s);

    rc = orbis_session_push_close_upstream(s, a);

    if (rc == ORBIS_OK) {
        rc = orbis_session_cancel_tools(s, 0, now, a);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_session_close_turn(s, 0, a);
    }

    if (rc == ORBIS_OK && s->client_open) {
        text = orbis_close_reason_text(s->close_code);
        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_CLOSE_CLIENT, mark,
                                     orbis_strbuf_append(&a->arena, text,
                                                         strlen(text)));
        if (rc == ORBIS_OK) {
            a->items[a->n - 1].code = s->close_code;
        }
    }

    if (rc == ORBIS_OK) {
        rc = orbis_session_push(a, ORBIS_SESSION_ACT_FINALIZE, &act);
    }

    if (rc == ORBIS_OK) {
        act->end_reason = reason;
        act->code = s->close_code;
    }

    return rc;
}


/* the agent is speaking or waits for a tool: not a point to reconnect */

static int
orbis_session_busy(const orbis_session_t *s)
{
    size_t  i;

    if (s->model_turn_active) {
        return 1;
    }

    for (i = 0; i < s->n_tools; i++) {
        if (s->tools[i].status == ORBIS_CLIENT_TOOL_STARTED) {
            return 1;
        }
    }

    return 0;
}


static int64_t
orbis_session_backoff(uint32_t failures)
{
    int64_t  d;

    if (failures == 0) {
        return 0;
    }

    d = ORBIS_SESSION_BACKOFF_BASE;

    while (--failures > 0 && d < ORBIS_SESSION_BACKOFF_MAX) {
        d *= 2;
    }

    return (d < ORBIS_SESSION_BACKOFF_MAX) ? d : ORBIS_SESSION_BACKOFF_MAX;
}


static orbis_rc_t
orbis_session_bad_message(orbis_session_t *s, const char *why, int64_t now,
    orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    s->bad_messages++;

    if (s->bad_messages >= ORBIS_CLIENT_MAX_BAD_MESSAGES) {
        rc = orbis_session_finish(s, ORBIS_SESSION_END_CLIENT_PROTOCOL, now,
                                  a);

    } else {
        rc = orbis_session_client_error(a, "bad_message", why);
    }

    return (rc == ORBIS_OK) ? ORBIS_ERR_INVALID : rc;
}


/*
 * Echo mode has no model to transcribe the caller, so a crude voice
 * detector stands in for one: each utterance (speech, then half a second
 * of quieter audio) becomes a user turn and a short agent answer, with
 * interim transcripts while it lasts, so that transcripts, turns and the
 * saved conversation all work with no network.
 */

static orbis_rc_t
orbis_session_echo_listen(orbis_session_t *s, const uint8_t *pcm,
    size_t len, int64_t now, orbis_session_actions_t *a)
{
    char        text[96];
    size_t      mark;
    uint32_t    ms, heard;
    orbis_rc_t  rc;

    ms = (uint32_t) orbis_pcm_duration_ms(len, ORBIS_CLIENT_INPUT_RATE);

    if (orbis_pcm_rms(pcm, len) >= ORBIS_SESSION_ECHO_VOICE_RMS) {
        s->echo_voiced_ms += ms;
        s->echo_silent_ms = 0;

        if (s->echo_voiced_ms - s->echo_interim_ms
            < ORBIS_SESSION_ECHO_INTERIM_MS)
        {
            return ORBIS_OK;
        }

        s->echo_interim_ms = s->echo_voiced_ms;

        snprintf(text, sizeof(text), "(speaking... %u.%u s)",
                 (unsigned) (s->echo_voiced_ms / 1000),
                 (unsigned) (s->echo_voiced_ms % 1000 / 100));

        mark = a->arena.len;

        return orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
                   mark, orbis_client_build_transcript(&a->arena,
                                                       ORBIS_CLIENT_ROLE_USER,
                                                       text, strlen(text), 0,
                                                       NULL));
    }

    if (s->echo_voiced_ms == 0) {
        return ORBIS_OK;
    }

    s->echo_silent_ms += ms;

    if (s->echo_silent_ms < ORBIS_SESSION_ECHO_SILENCE_MS) {
        return ORBIS_OK;
    }

    heard = s->echo_voiced_ms;

    s->echo_voiced_ms = 0;
    s->echo_silent_ms = 0;
    s->echo_interim_ms = 0;
    s->echo_utterances++;

    snprintf(text, sizeof(text),
             "(echo mode) utterance %u, %u.%u s of speech",
             (unsigned) s->echo_utterances, (unsigned) (heard / 1000),
             (unsigned) (heard % 1000 / 100));

    rc = orbis_session_echo_turn(s, ORBIS_CLIENT_ROLE_USER, text, now, a);
    if (rc != ORBIS_OK) {
        return rc;
    }

    snprintf(text, sizeof(text), "I heard %u.%u seconds of audio.",
             (unsigned) (heard / 1000), (unsigned) (heard % 1000 / 100));

    rc = orbis_session_echo_turn(s, ORBIS_CLIENT_ROLE_AGENT, text, now, a);
    if (rc != ORBIS_OK) {
        return rc;
    }

    mark = a->arena.len;

    return orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
               mark, orbis_client_build_turn_complete(&a->arena, NULL));
}


/* a whole turn at once: recorded, and its final transcript sent */

static orbis_rc_t
orbis_session_echo_turn(orbis_session_t *s, orbis_client_role_t role,
    const char *text, int64_t now, orbis_session_actions_t *a)
{
    size_t      idx;
    orbis_rc_t  rc;

    rc = orbis_session_close_turn(s, 1, a);

    if (rc == ORBIS_OK) {
        rc = orbis_session_new_turn(s, role, now, &idx);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_session_turn_append(s, &s->turns[idx], text,
                                       strlen(text));
    }

    if (rc != ORBIS_OK) {
        return rc;
    }

    /* closing it sends the final transcript with the whole text */
    return orbis_session_close_turn(s, 1, a);
}


/* audio kept while Gemini is not ready: the oldest bytes make room */

static orbis_rc_t
orbis_session_ring_push(orbis_session_t *s, const uint8_t *pcm, size_t len)
{
    size_t  over, tail, first;

    if (s->ring_cap == 0) {
        s->bytes_dropped += len;
        return ORBIS_OK;
    }

    if (s->ring == NULL) {
        s->ring = orbis_malloc(s->ring_cap);
        if (s->ring == NULL) {
            return ORBIS_ERR_NOMEM;
        }
    }

    if (len >= s->ring_cap) {
        s->bytes_dropped += s->ring_len + (len - s->ring_cap);
        memcpy(s->ring, pcm + (len - s->ring_cap), s->ring_cap);
        s->ring_head = 0;
        s->ring_len = s->ring_cap;

        return ORBIS_OK;
    }

    if (s->ring_len + len > s->ring_cap) {
        over = s->ring_len + len - s->ring_cap;
        s->ring_head = (s->ring_head + over) % s->ring_cap;
        s->ring_len -= over;
        s->bytes_dropped += over;
    }

    tail = (s->ring_head + s->ring_len) % s->ring_cap;
    first = s->ring_cap - tail;
    first = (first < len) ? first : len;

    memcpy(s->ring + tail, pcm, first);
    memcpy(s->ring, pcm + first, len - first);
    s->ring_len += len;

    return ORBIS_OK;
}


static void
orbis_session_drop_buffers(orbis_session_t *s)
{
    size_t  i;

    s->bytes_dropped += s->ring_len;
    orbis_free(s->ring);
    s->ring = NULL;
    s->ring_head = 0;
    s->ring_len = 0;

    for (i = 0; i < s->n_pending; i++) {
        orbis_free(s->pending[i]);
        s->pending[i] = NULL;
    }

    s->n_pending = 0;
}


/* transcript */

static orbis_rc_t
orbis_session_new_turn(orbis_session_t *s, orbis_client_role_t role,
    int64_t now, size_t *idx)
{
    size_t                 cap;
    orbis_session_turn_t  *turns, *t;

    if (s->n_turns == s->cap_turns) {
        cap = (s->cap_turns == 0) ? 16 : s->cap_turns * 2;

        turns = orbis_realloc(s->turns, cap * sizeof(orbis_session_turn_t));
        if (turns == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        s->turns = turns;
        s->cap_turns = cap;
    }

    t = &s->turns[s->n_turns];
    memset(t, 0, sizeof(orbis_session_turn_t));
    orbis_strbuf_init(&t->text);
    t->role = role;
    t->started_ms = now;

    *idx = s->n_turns++;
    s->open_turn = (int) *idx;

    return ORBIS_OK;
}


/* whole fragments only, so a cut never splits a UTF-8 sequence */

static orbis_rc_t
orbis_session_turn_append(orbis_session_t *s, orbis_session_turn_t *t,
    const char *text, size_t len)
{
    orbis_rc_t  rc;

    if (s->transcript_bytes + len > ORBIS_SESSION_MAX_TRANSCRIPT) {
        s->transcript_truncated = 1;
        return ORBIS_OK;
    }

    rc = orbis_strbuf_append(&t->text, text, len);
    if (rc == ORBIS_OK) {
        s->transcript_bytes += len;
    }

    return rc;
}


static orbis_rc_t
orbis_session_fragment(orbis_session_t *s, orbis_client_role_t role,
    const char *text, int64_t now, orbis_session_actions_t *a)
{
    size_t      len, idx, mark;
    orbis_rc_t  rc;

    len = strlen(text);
    if (len == 0) {
        return ORBIS_OK;
    }

    if (s->open_turn >= 0 && s->turns[s->open_turn].role != role) {
        rc = orbis_session_close_turn(s, 1, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (s->open_turn < 0) {
        rc = orbis_session_new_turn(s, role, now, &idx);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    rc = orbis_session_turn_append(s, &s->turns[s->open_turn], text, len);
    if (rc != ORBIS_OK) {
        return rc;
    }

    mark = a->arena.len;

    return orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
               mark, orbis_client_build_transcript(&a->arena, role, text, len,
                                                   0, NULL));
}


static orbis_rc_t
orbis_session_close_turn(orbis_session_t *s, int notify,
    orbis_session_actions_t *a)
{
    size_t                 mark;
    orbis_session_turn_t  *t;

    if (s->open_turn < 0) {
        return ORBIS_OK;
    }

    t = &s->turns[s->open_turn];
    t->final = 1;
    s->open_turn = -1;

    if (!notify || t->text.len == 0) {
        return ORBIS_OK;
    }

    mark = a->arena.len;

    return orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_CLIENT_TEXT,
               mark, orbis_client_build_transcript(&a->arena, t->role,
                                                   t->text.data, t->text.len,
                                                   1, NULL));
}


/* tools */

static orbis_rc_t
orbis_session_start_tool(orbis_session_t *s,
    const orbis_gemini_tool_call_t *call, int64_t now,
    orbis_session_actions_t *a)
{
    int                          failed;
    char                         id[32];
    size_t                       cap, mark;
    json_t                      *resp;
    orbis_rc_t                   rc;
    orbis_session_tool_t        *tools, *t;
    orbis_gemini_fn_response_t   fr;

    if (call->id != NULL) {
        t = orbis_session_find_tool(s, call->id);

        if (t != NULL && t->status == ORBIS_CLIENT_TOOL_STARTED) {
            /* the same call again: it is already running */
            return ORBIS_OK;
        }
    }

    if (s->n_tools == ORBIS_SESSION_MAX_TOOL_CALLS) {
        resp = json_pack("{s:s}", "error", "too many tool calls in this call");
        if (resp == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        fr.id = call->id;
        fr.name = call->name;
        fr.response = resp;

        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_UPSTREAM, mark,
                 orbis_gemini_build_tool_response(&a->arena, &fr, 1, NULL));
        json_decref(resp);

        return rc;
    }

    if (s->n_tools == s->cap_tools) {
        cap = (s->cap_tools == 0) ? 8 : s->cap_tools * 2;

        tools = orbis_realloc(s->tools, cap * sizeof(orbis_session_tool_t));
        if (tools == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        s->tools = tools;
        s->cap_tools = cap;
    }

    t = &s->tools[s->n_tools];
    memset(t, 0, sizeof(orbis_session_tool_t));

    failed = 0;

    if (call->id != NULL) {
        t->id = orbis_session_strdup(call->id, &failed);
        t->id_given = 1;

    } else {
        /* the module needs a key to answer with */
        snprintf(id, sizeof(id), "orbis-call-%zu", s->n_tools + 1);
        t->id = orbis_session_strdup(id, &failed);
    }

    t->name = orbis_session_strdup(call->name, &failed);
    t->args = (call->args != NULL) ? json_deep_copy(call->args)
                                   : json_object();

    if (failed || t->args == NULL) {
        orbis_free(t->id);
        orbis_free(t->name);
        json_decref(t->args);
        return ORBIS_ERR_NOMEM;
    }

    t->status = ORBIS_CLIENT_TOOL_STARTED;
    t->started_ms = now;
    t->finished_ms = -1;
    s->n_tools++;

    rc = orbis_session_push_tool(a, ORBIS_SESSION_ACT_RUN_TOOL, t);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_session_client_tool(a, t);
}


/*
 * Ends a running tool; takes response (may be NULL).  Answers Gemini
 * unless the call was cancelled, stops the module's work unless the
 * module itself reported the result.
 */

static orbis_rc_t
orbis_session_finish_tool(orbis_session_t *s, orbis_session_tool_t *t,
    orbis_client_tool_status_t status, json_t *response, int notify,
    int64_t now, orbis_session_actions_t *a)
{
    size_t                      mark;
    orbis_rc_t                  rc;
    orbis_gemini_fn_response_t  fr;

    if (t == NULL || t->status != ORBIS_CLIENT_TOOL_STARTED) {
        json_decref(response);
        return ORBIS_OK;
    }

    t->status = status;
    t->finished_ms = now;
    t->result = response;

    rc = ORBIS_OK;

    if (status != ORBIS_CLIENT_TOOL_CANCELLED
        && s->state == ORBIS_SESSION_LIVE && s->upstream_open)
    {
        fr.id = t->id_given ? t->id : NULL;
        fr.name = t->name;
        fr.response = response;

        mark = a->arena.len;
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_SEND_UPSTREAM, mark,
                 orbis_gemini_build_tool_response(&a->arena, &fr, 1, NULL));
    }

    if (rc == ORBIS_OK
        && (status == ORBIS_CLIENT_TOOL_CANCELLED
            || status == ORBIS_CLIENT_TOOL_TIMEOUT))
    {
        rc = orbis_session_push_tool(a, ORBIS_SESSION_ACT_CANCEL_TOOL, t);
    }

    if (rc == ORBIS_OK && notify && s->client_open) {
        rc = orbis_session_client_tool(a, t);
    }

    return rc;
}


static orbis_rc_t
orbis_session_cancel_tools(orbis_session_t *s, int notify, int64_t now,
    orbis_session_actions_t *a)
{
    size_t      i;
    orbis_rc_t  rc;

    for (i = 0; i < s->n_tools; i++) {
        rc = orbis_session_finish_tool(s, &s->tools[i],
                                       ORBIS_CLIENT_TOOL_CANCELLED, NULL,
                                       notify, now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    return ORBIS_OK;
}


/* the latest record with that id: Gemini ids are unique per connection */

static orbis_session_tool_t *
orbis_session_find_tool(orbis_session_t *s, const char *id)
{
    size_t  i;

    for (i = s->n_tools; i > 0; i--) {
        if (strcmp(s->tools[i - 1].id, id) == 0) {
            return &s->tools[i - 1];
        }
    }

    return NULL;
}


static char *
orbis_session_strdup(const char *p, int *failed)
{
    char  *d;

    if (p == NULL) {
        return NULL;
    }

    d = orbis_strdup(p);
    if (d == NULL) {
        *failed = 1;
    }

    return d;
}


static uint32_t
orbis_session_or(uint32_t v, uint32_t dflt)
{
    return (v != 0) ? v : dflt;
}


static int
orbis_session_utf8_or_null(const char *p)
{
    return p == NULL || orbis_gemini_utf8_valid_str(p);
}


/*
 * Token counts from the model: negative ones are ignored and the sums
 * saturate (found by fuzz_gemini: two huge counts overflowed int64_t)
 */
static void
orbis_session_add_tokens(int64_t *sum, int64_t n)
{
    if (n <= 0) {
        return;
    }

    *sum = (*sum > INT64_MAX - n) ? INT64_MAX : *sum + n;
}
