/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/audio.h>
#include <orbiscore/utf8.h>

#include "base/base_int.h"
#include "session/session_int.h"


static orbis_rc_t orbis_session_push_close_upstream(orbis_session_t *s,
    orbis_session_actions_t *a);

static orbis_rc_t orbis_session_do_start(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_caller(orbis_session_t *s,
    const orbis_caller_in_t *ev, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_caller_audio(orbis_session_t *s,
    const uint8_t *pcm, size_t len, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_caller_text(orbis_session_t *s,
    const char *text, size_t len, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_peer_open(orbis_session_t *s,
    orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_peer(orbis_session_t *s,
    const orbis_peer_in_t *ev, int64_t now, orbis_session_actions_t *a);
static orbis_rc_t orbis_session_do_peer_close(orbis_session_t *s,
    int retryable, int64_t now, orbis_session_actions_t *a);
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
    const orbis_peer_in_t *m, int64_t now, orbis_session_actions_t *a);
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

static int orbis_session_budget(int64_t *tat_ns, int64_t now,
    uint32_t rate, uint32_t burst, uint32_t cost);
static orbis_rc_t orbis_session_flood(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a);

static orbis_rc_t orbis_session_ring_push(orbis_session_t *s,
    const uint8_t *pcm, size_t len);
static void orbis_session_drop_buffers(orbis_session_t *s);

static void orbis_session_add_tokens(int64_t *sum, int64_t n);
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
    "client_protocol",
    "client_protocol"   /* a flood is a protocol abuse; 4029 tells */
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
    ORBIS_CLOSE_POLICY,
    ORBIS_CLOSE_MESSAGE_RATE
};


/* life cycle */

orbis_session_t *
orbis_session_create(const orbis_session_conf_t *conf, orbis_err_t *err)
{
    int               failed;
    orbis_session_t  *s;

    if (conf == NULL || conf->session_id == NULL
        || conf->session_id[0] == '\0')
    {
        orbis_err_set(err, ORBIS_ERR_INVALID, "session needs an id");
        return NULL;
    }

    if (!orbis_session_utf8_or_null(conf->session_id)
        || !orbis_session_utf8_or_null(conf->tenant_id)
        || !orbis_session_utf8_or_null(conf->agent_id)
        || !orbis_session_utf8_or_null(conf->greeting)
        || !orbis_session_utf8_or_null(conf->model))
    {
        orbis_err_set(err, ORBIS_ERR_INVALID,
                      "session ids and greeting must be UTF-8");
        return NULL;
    }

    s = orbis_calloc(1, sizeof(orbis_session_t));
    if (s == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return NULL;
    }

    failed = 0;

    s->echo = (conf->echo != 0);
    s->session_id = orbis_strdup_or_flag(conf->session_id, &failed);
    s->tenant_id = orbis_strdup_or_flag(conf->tenant_id, &failed);
    s->agent_id = orbis_strdup_or_flag(conf->agent_id, &failed);
    s->greeting = orbis_strdup_or_flag(conf->greeting, &failed);

    if (conf->greeting != NULL && conf->greeting[0] == '\0') {
        orbis_free(s->greeting);
        s->greeting = NULL;
    }

    s->model = s->echo ? NULL : orbis_strdup_or_flag(conf->model, &failed);

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

    s->in_rate = orbis_session_or(conf->input_rate,
                                  ORBIS_SESSION_INPUT_RATE);
    s->out_rate = orbis_session_or(conf->output_rate,
                                   ORBIS_SESSION_OUTPUT_RATE);

    s->state = ORBIS_SESSION_NEW;
    s->ended_ms = -1;
    s->connect_started_ms = -1;
    s->reconnect_at_ms = -1;
    s->go_away_deadline_ms = -1;
    s->open_turn = -1;
    s->client_open = 1;
    s->caller_mark_ms = -1;

    return s;
}


void
orbis_session_free(orbis_session_t *s)
{
    if (s == NULL) {
        return;
    }

    orbis_free(s->session_id);
    orbis_free(s->tenant_id);
    orbis_free(s->agent_id);
    orbis_free(s->greeting);
    orbis_free(s->model);
    orbis_free(s->resume_handle);

    orbis_session_drop_buffers(s);
    orbis_session_free_turns(s);
    orbis_free(s->pcm);
    orbis_session_free_tools(s);

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
orbis_session_on_caller(orbis_session_t *s, const orbis_caller_in_t *ev,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_caller(s, ev, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_caller_close(orbis_session_t *s, uint16_t code,
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
orbis_session_on_peer_open(orbis_session_t *s, int64_t now_ms,
    orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    (void) now_ms;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_peer_open(s, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_peer(orbis_session_t *s, const orbis_peer_in_t *ev,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_peer(s, ev, now_ms, a);
    orbis_session_actions_fix(a);

    return rc;
}


orbis_rc_t
orbis_session_on_peer_close(orbis_session_t *s, int retryable,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    orbis_session_actions_reset(a);
    rc = orbis_session_do_peer_close(s, retryable, now_ms, a);
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
        || reason > ORBIS_SESSION_END_CLIENT_FLOOD)
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


int
orbis_session_is_over(const orbis_session_t *s)
{
    return s->state == ORBIS_SESSION_ENDING || s->state == ORBIS_SESSION_ENDED;
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

    return orbis_session_push(a, ORBIS_SESSION_ACT_PEER_CLOSE, &act);
}


/* inputs */

static orbis_rc_t
orbis_session_do_start(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a)
{
    orbis_rc_t          rc;
    orbis_caller_out_t  ev;

    if (s->state != ORBIS_SESSION_NEW) {
        return ORBIS_ERR_INVALID;
    }

    s->started_ms = now;
    s->last_activity_ms = now;

    memset(&ev, 0, sizeof(orbis_caller_out_t));
    ev.type = ORBIS_CALLER_OUT_READY;
    ev.session_id = s->session_id;
    ev.echo = s->echo;
    ev.input_rate = s->in_rate;
    ev.output_rate = s->out_rate;

    rc = orbis_session_push_caller(a, &ev);
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
orbis_session_do_caller(orbis_session_t *s, const orbis_caller_in_t *ev,
    int64_t now, orbis_session_actions_t *a)
{
    int  ok;

    switch (s->state) {

    case ORBIS_SESSION_NEW:
        return ORBIS_ERR_INVALID;

    case ORBIS_SESSION_ENDING:
    case ORBIS_SESSION_ENDED:
        return ORBIS_OK;

    default:
        break;
    }

    /* every message counts in the call's budgets, before anything else */

    if (ev->type == ORBIS_CALLER_WIRE) {
        ok = orbis_session_budget(&s->wire_tat_ns, now,
                                  ORBIS_SESSION_WIRE_RATE,
                                  ORBIS_SESSION_WIRE_BURST,
                                  (uint32_t) ev->audio_len);

    } else if (ev->type == ORBIS_CALLER_AUDIO) {
        ok = orbis_session_budget(&s->frame_tat_ns, now,
                                  ORBIS_SESSION_FRAME_RATE,
                                  ORBIS_SESSION_FRAME_BURST, 1)
             && orbis_session_budget(&s->audio_tat_ns, now,
                                     ORBIS_SESSION_AUDIO_RATE,
                                     ORBIS_SESSION_AUDIO_BURST,
                                     (uint32_t) ev->audio_len);
    } else {
        ok = orbis_session_budget(&s->msg_tat_ns, now,
                                  ORBIS_SESSION_MSG_RATE,
                                  ORBIS_SESSION_MSG_BURST, 1);
    }

    if (!ok) {
        return orbis_session_flood(s, now, a);
    }

    switch (ev->type) {

    case ORBIS_CALLER_AUDIO:
        if (ev->rate != s->in_rate
            || (ev->codec != ORBIS_AUDIO_PCM16LE
                && ev->codec != ORBIS_AUDIO_MULAW))
        {
            return orbis_session_bad_message(s, "audio must be PCM16LE or "
                                             "mu-law at the call's input "
                                             "rate", now, a);
        }

        if (ev->codec == ORBIS_AUDIO_PCM16LE) {
            return orbis_session_do_caller_audio(s, ev->audio,
                                                 ev->audio_len, now, a);
        }

        /* mu-law: one byte a sample, PCM16LE from here on */

        if (ev->audio_len > ORBIS_SESSION_MAX_AUDIO_FRAME / 2) {
            return orbis_session_bad_message(s, "audio frames must be at "
                                             "most 32 KiB of mu-law", now,
                                             a);
        }

        if (s->pcm == NULL) {
            s->pcm = orbis_malloc(ORBIS_SESSION_MAX_AUDIO_FRAME);
            if (s->pcm == NULL) {
                return ORBIS_ERR_NOMEM;
            }
        }

        orbis_mulaw_decode(ev->audio, ev->audio_len, s->pcm);

        return orbis_session_do_caller_audio(s, s->pcm, ev->audio_len * 2,
                                             now, a);

    case ORBIS_CALLER_TEXT:
        return orbis_session_do_caller_text(s, ev->text, ev->text_len, now,
                                            a);

    case ORBIS_CALLER_HANGUP:
        return orbis_session_finish(s, ORBIS_SESSION_END_CLIENT_CLOSED, now,
                                    a);

    case ORBIS_CALLER_BAD:
        return orbis_session_bad_message(s, ev->text != NULL ? ev->text
                                         : "message refused", now, a);

    case ORBIS_CALLER_WIRE:
        return ORBIS_OK;

    default:
        return ORBIS_ERR_INVALID;
    }
}


static orbis_rc_t
orbis_session_do_caller_audio(orbis_session_t *s, const uint8_t *pcm,
    size_t len, int64_t now, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

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

    if (orbis_pcm_rms(pcm, len) >= ORBIS_SESSION_VOICE_RMS) {
        orbis_session_caller_input(s, now);
    }

    switch (s->state) {

    case ORBIS_SESSION_ECHO:
        rc = orbis_session_agent_audio(s, now);
        if (rc != ORBIS_OK) {
            return rc;
        }

        rc = orbis_session_push_audio(a, pcm, len, s->in_rate);
        if (rc != ORBIS_OK) {
            return rc;
        }

        /* what the caller hears once the transport resampled it */
        s->bytes_out += (uint64_t) len / 2 * s->out_rate / s->in_rate * 2;

        return orbis_session_echo_listen(s, pcm, len, now, a);

    case ORBIS_SESSION_LIVE:
        return orbis_session_peer_audio(a, pcm, len, s->in_rate);

    default:
        return orbis_session_ring_push(s, pcm, len);
    }
}


static orbis_rc_t
orbis_session_do_caller_text(orbis_session_t *s, const char *text,
    size_t len, int64_t now, orbis_session_actions_t *a)
{
    int          idx;
    char        *copy;
    orbis_rc_t   rc;

    if (text == NULL || len == 0 || len > ORBIS_SESSION_MAX_TEXT) {
        return orbis_session_bad_message(s, "text must be 1 to 4000 bytes",
                                         now, a);
    }

    s->last_activity_ms = now;

    if (orbis_session_blank(text, len)) {
        /* nothing to say: no turn, nothing for the model */
        return ORBIS_OK;
    }

    orbis_session_caller_input(s, now);

    copy = NULL;

    switch (s->state) {

    case ORBIS_SESSION_ECHO:
    case ORBIS_SESSION_LIVE:
        break;

    default:
        if (s->n_pending == ORBIS_SESSION_MAX_PENDING_TEXTS) {
            rc = orbis_session_caller_error(a, "busy",
                                            "too many messages before the "
                                            "agent is ready");
            return (rc == ORBIS_OK) ? ORBIS_ERR_RANGE : rc;
        }

        /* queued until the model is ready */
        copy = orbis_malloc(len + 1);
        if (copy == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        memcpy(copy, text, len);
        copy[len] = '\0';
        break;
    }

    rc = orbis_session_close_turn(s, 1, a);

    if (rc == ORBIS_OK) {
        rc = orbis_session_new_turn(s, ORBIS_CLIENT_ROLE_USER, now, text, len,
                                    &idx);
    }

    if (rc != ORBIS_OK) {
        orbis_free(copy);
        return rc;
    }

    if (idx >= 0) {
        s->turns[idx].typed = 1;
        s->turns[idx].final = 1;
        s->open_turn = -1;
    }

    if (copy != NULL) {
        s->pending[s->n_pending] = copy;
        s->pending_len[s->n_pending] = len;
        s->n_pending++;

        return ORBIS_OK;
    }

    if (s->state == ORBIS_SESSION_ECHO) {
        return orbis_session_caller_transcript(a, ORBIS_CLIENT_ROLE_AGENT,
                                               text, len, 1);
    }

    return orbis_session_peer_text(a, text, len);
}


static orbis_rc_t
orbis_session_do_peer_open(orbis_session_t *s, orbis_session_actions_t *a)
{
    orbis_rc_t        rc;
    orbis_peer_out_t  ev;

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
    memset(&ev, 0, sizeof(orbis_peer_out_t));
    ev.type = ORBIS_PEER_OUT_SETUP;
    ev.resume_handle = (s->state == ORBIS_SESSION_RESUMING)
                       ? s->resume_handle : NULL;

    rc = orbis_session_push_peer(a, &ev);
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
orbis_session_do_peer(orbis_session_t *s, const orbis_peer_in_t *ev,
    int64_t now, orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

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

    if (s->state != ORBIS_SESSION_LIVE) {

        if (!ev->ready) {
            return ORBIS_ERR_PROTOCOL;
        }

        rc = orbis_session_go_live(s, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    return orbis_session_content(s, ev, now, a);
}


static orbis_rc_t
orbis_session_do_peer_close(orbis_session_t *s, int retryable, int64_t now,
    orbis_session_actions_t *a)
{
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

    /* a close that follows a going-away is always retryable */
    retryable = retryable || s->go_away_seen;

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

    if (orbis_session_is_over(s)) {
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
    orbis_rc_t   rc;
    const char  *h;

    h = (s->state == ORBIS_SESSION_RESUMING) ? s->resume_handle : NULL;

    rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_PEER_OPEN, h,
                                 (h != NULL) ? strlen(h) : 0, NULL);

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
            rc = orbis_session_peer_text(a, s->greeting,
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

        rc = orbis_session_peer_audio(a, s->ring + s->ring_head, n,
                                      s->in_rate);
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->ring_head = (s->ring_head + n) % s->ring_cap;
        s->ring_len -= n;
    }

    s->ring_head = 0;

    for (i = 0; i < s->n_pending; i++) {
        rc = orbis_session_peer_text(a, s->pending[i], s->pending_len[i]);
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
orbis_session_content(orbis_session_t *s, const orbis_peer_in_t *m,
    int64_t now, orbis_session_actions_t *a)
{
    char        *h;
    size_t       i;
    int64_t      left;
    orbis_rc_t   rc;

    if (m->audio_len > 0) {
        rc = orbis_session_push_audio(a, m->audio, m->audio_len,
                                      m->audio_rate ? m->audio_rate
                                                    : s->out_rate);
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->bytes_out += (m->audio_rate == 0 || m->audio_rate == s->out_rate)
                        ? m->audio_len
                        : (uint64_t) m->audio_len / 2 * s->out_rate
                          / m->audio_rate * 2;
        s->model_turn_active = 1;

        rc = orbis_session_agent_audio(s, now);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (m->text) {
        s->model_turn_active = 1;
    }

    if (m->input_transcript != NULL) {
        rc = orbis_session_fragment(s, ORBIS_CLIENT_ROLE_USER,
                                    m->input_transcript, now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (m->output_transcript != NULL) {
        rc = orbis_session_fragment(s, ORBIS_CLIENT_ROLE_AGENT,
                                    m->output_transcript, now, a);
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

        rc = orbis_session_caller_simple(a, ORBIS_CALLER_OUT_INTERRUPTED);
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->model_turn_active = 0;
        s->agent_speaking = 0;
    }

    if (m->turn_complete) {
        rc = orbis_session_close_turn(s, 1, a);
        if (rc != ORBIS_OK) {
            return rc;
        }

        rc = orbis_session_caller_simple(a, ORBIS_CALLER_OUT_TURN_COMPLETE);
        if (rc != ORBIS_OK) {
            return rc;
        }

        s->model_turn_active = 0;
        s->agent_speaking = 0;
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

    if (m->resume_handle != NULL && m->resume_handle[0] != '\0') {
        h = orbis_strdup(m->resume_handle);
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

    if (m->going_away) {
        s->go_away_seen = 1;

        left = (m->going_away_ms >= 0) ? m->going_away_ms
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
    s->agent_speaking = 0;
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
    orbis_rc_t               rc;
    const char              *text;
    orbis_session_action_t  *act;

    if (orbis_session_is_over(s)) {
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
        rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_CALLER_CLOSE, text,
                                     strlen(text), &act);
        if (rc == ORBIS_OK) {
            act->code = s->close_code;
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

    if (s->bad_messages >= ORBIS_SESSION_MAX_BAD_MESSAGES) {
        rc = orbis_session_finish(s, ORBIS_SESSION_END_CLIENT_PROTOCOL, now,
                                  a);

    } else {
        rc = orbis_session_caller_error(a, "bad_message", why);
    }

    return (rc == ORBIS_OK) ? ORBIS_ERR_INVALID : rc;
}


/*
 * A GCRA token bucket: rate units a second, burst units at once, on the
 * caller's clock.  1 when cost units may pass (and are taken), 0 when not.
 */

static int
orbis_session_budget(int64_t *tat_ns, int64_t now, uint32_t rate,
    uint32_t burst, uint32_t cost)
{
    int64_t  t, e, tau, next;

    t = now * 1000000;
    e = 1000000000 / (int64_t) rate;
    tau = e * (int64_t) burst;

    next = ((*tat_ns > t) ? *tat_ns : t) + e * (int64_t) cost;

    if (next - t > tau) {
        return 0;
    }

    *tat_ns = next;

    return 1;
}


static orbis_rc_t
orbis_session_flood(orbis_session_t *s, int64_t now,
    orbis_session_actions_t *a)
{
    orbis_rc_t  rc;

    rc = orbis_session_finish(s, ORBIS_SESSION_END_CLIENT_FLOOD, now, a);

    return (rc == ORBIS_OK) ? ORBIS_ERR_RANGE : rc;
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


static uint32_t
orbis_session_or(uint32_t v, uint32_t dflt)
{
    return (v != 0) ? v : dflt;
}


static int
orbis_session_utf8_or_null(const char *p)
{
    return p == NULL || orbis_utf8_valid_str(p);
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
