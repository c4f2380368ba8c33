
/*
 * Copyright (C) Orbis
 *
 * A call on /stream, whatever its transport and its model: the session
 * (liborbiscore session.h) decides, this file carries out its actions
 * through the call's transport (ngx_http_orbis_call_transport_t: the
 * browser WebSocket, ngx_http_orbis_call_browser.c) and peer
 * (ngx_http_orbis_call_peer_t: Gemini Live, ngx_http_orbis_call_gemini.c,
 * or echo, ngx_http_orbis_call_echo.c), and keeps its timers, its live
 * state in Redis and its end (the outbox).  Tools run from
 * ngx_http_orbis_call_tools.c.
 *
 * Re-entrancy: the session is never called from inside the execution of
 * its own actions.  Work that an action starts and that finishes at once
 * (a tool, a failed connect) is picked up by ngx_http_orbis_call_after()
 * or a posted event.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "ngx_http_orbis_call.h"


static void ngx_http_orbis_call_finalize(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_arm(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_backpressure(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_free(ngx_http_orbis_call_t *st);

static void ngx_http_orbis_call_tick_handler(ngx_event_t *ev);
static void ngx_http_orbis_call_beat_handler(ngx_event_t *ev);
static void ngx_http_orbis_call_posted_handler(ngx_event_t *ev);


/* the call's events and timers, before its transport takes over */

void
ngx_http_orbis_call_init(ngx_http_orbis_call_t *st)
{
    ngx_queue_init(&st->tools);
    orbis_session_actions_init(&st->actions);

    st->tick.handler = ngx_http_orbis_call_tick_handler;
    st->tick.data = st;
    st->tick.log = ngx_cycle->log;

    st->beat.handler = ngx_http_orbis_call_beat_handler;
    st->beat.data = st;
    st->beat.log = ngx_cycle->log;
    st->beat.cancelable = 1;

    st->posted.handler = ngx_http_orbis_call_posted_handler;
    st->posted.data = st;
    st->posted.log = ngx_cycle->log;

    ngx_queue_insert_tail(&ngx_http_orbis_call_worker->streams, &st->queue);
    ngx_http_orbis_call_worker->nstreams++;
}


ngx_int_t
ngx_http_orbis_call_start(ngx_http_orbis_call_t *st,
    ngx_http_orbis_call_hs_t *hs)
{
    json_t                *agent, *v;
    int64_t                now;
    orbis_rc_t             rc;
    const char            *s;
    orbis_err_t            err;
    orbis_session_conf_t   sc;

    ngx_memcpy(st->id, hs->adm.call_id, sizeof(st->id));

    agent = json_object_get(hs->info, "agent");

    s = json_string_value(json_object_get(hs->info, "tenantId"));
    ngx_cpystrn((u_char *) st->tenant_id, (u_char *) (s ? s : ""),
                sizeof(st->tenant_id));

    s = json_string_value(json_object_get(agent, "id"));
    ngx_cpystrn((u_char *) st->agent_id, (u_char *) (s ? s : ""),
                sizeof(st->agent_id));

    s = json_string_value(json_object_get(hs->info, "keyId"));
    ngx_cpystrn((u_char *) st->key_id, (u_char *) (s ? s : ""),
                sizeof(st->key_id));

    /* no model configured: the echo stand-in answers */
    st->echo = (st->smcf->gemini.key.len == 0);
    st->peer = st->echo ? &ngx_http_orbis_call_echo_peer
                        : &ngx_http_orbis_call_gemini_peer;

    ngx_memzero(&sc, sizeof(orbis_session_conf_t));

    sc.session_id = st->id;
    sc.tenant_id = st->tenant_id;
    sc.agent_id = st->agent_id;
    sc.input_rate = ORBIS_CLIENT_INPUT_RATE;
    sc.output_rate = ORBIS_CLIENT_OUTPUT_RATE;

    if (st->peer->init(st, agent, &sc) != NGX_OK) {
        return NGX_ERROR;
    }

    /* spoken by the model, or shown as it is in echo mode */
    s = json_string_value(json_object_get(agent, "greeting"));
    sc.greeting = (s != NULL && s[0] != '\0') ? s : NULL;

    v = json_object_get(agent, "idleTimeoutSec");

    sc.idle_timeout_ms = json_is_integer(v) && json_integer_value(v) > 0
                         ? (uint32_t) json_integer_value(v) * 1000
                         : (uint32_t) st->slcf->idle_timeout;
    sc.max_duration_ms = (uint32_t) st->slcf->max_duration;
    sc.setup_timeout_ms = (uint32_t) st->smcf->setup_timeout;
    sc.tool_timeout_ms = (uint32_t) st->smcf->tool_timeout;
    sc.max_resumptions = (uint32_t) st->smcf->max_resumptions;

    st->session = orbis_session_create(&sc, &err);

    if (st->session == NULL) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "orbis stream: cannot start a session: %s", err.msg);
        return NGX_ERROR;
    }

    /* the session's events, rendered for this transport and this peer */
    orbis_session_actions_codecs(&st->actions, st->transport->codec, NULL,
                                 st->peer->codec, st->peer_ctx);

    ngx_log_error(NGX_LOG_INFO, st->log, 0,
                  "orbis stream %s: %s call over %s, tenant %s, agent %s",
                  st->id, st->peer->name, st->transport->name, st->tenant_id,
                  st->agent_id);

    now = ngx_http_orbis_call_now();

    rc = orbis_session_start(st->session, now, &st->actions);
    ngx_http_orbis_call_carry_out(st, rc);

    st->peer->started(st);

    ngx_http_orbis_call_store_live(st, 1);
    st->stored = 1;

    ngx_add_timer(&st->beat, st->smcf->heartbeat);

    return NGX_OK;
}


/* a version 4 UUID: the session id, also the conversation's */

void
ngx_http_orbis_call_uuid(char *out)
{
    u_char      b[16];
    ngx_uint_t  i;

    if (RAND_bytes(b, sizeof(b)) != 1) {
        /* not expected: OpenSSL's generator does not fail once seeded */
        for (i = 0; i < sizeof(b); i++) {
            b[i] = (u_char) ngx_random();
        }
    }

    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;

    ngx_sprintf((u_char *) out,
                "%02xd%02xd%02xd%02xd-%02xd%02xd-%02xd%02xd-%02xd%02xd-"
                "%02xd%02xd%02xd%02xd%02xd%02xd",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
                b[10], b[11], b[12], b[13], b[14], b[15]);

    out[NGX_HTTP_ORBIS_CALL_ID_LEN] = '\0';
}


/* the session keeps wall-clock time: its record goes to the database */

int64_t
ngx_http_orbis_call_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/*
 * After ORBIS_ERR_NOMEM the session cannot be trusted: end it (its
 * actions close both sides with 1011 and save what is known).  Other
 * errors only say what went wrong with one input.
 */

void
ngx_http_orbis_call_checked(ngx_http_orbis_call_t *st, orbis_rc_t rc)
{
    if (rc == ORBIS_OK) {
        return;
    }

    if (rc != ORBIS_ERR_NOMEM) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, st->log, 0,
                       "orbis stream %s: %s", st->id, orbis_rc_name(rc));
        return;
    }

    ngx_log_error(NGX_LOG_ERR, st->log, 0,
                  "orbis stream %s: out of memory, ending the call", st->id);

    ngx_http_orbis_call_act(st);

    (void) orbis_session_end(st->session, ORBIS_SESSION_END_ERROR,
                             ngx_http_orbis_call_now(), &st->actions);
}


/* ---- carrying out the session's actions ---- */

/* the session's answer to one input: its rc checked, its actions done */

void
ngx_http_orbis_call_carry_out(ngx_http_orbis_call_t *st, orbis_rc_t rc)
{
    ngx_http_orbis_call_checked(st, rc);
    ngx_http_orbis_call_act(st);
}


void
ngx_http_orbis_call_act(ngx_http_orbis_call_t *st)
{
    size_t                   i;
    orbis_session_action_t  *a;

    st->in_action = 1;

    for (i = 0; i < st->actions.n; i++) {
        a = &st->actions.items[i];

        switch (a->type) {

        case ORBIS_SESSION_ACT_PEER_SEND:
            if (a->data != NULL) {
                st->peer->send(st, (u_char *) a->data, a->len);
            }

            break;

        case ORBIS_SESSION_ACT_CALLER_EVENT:
            if (a->data != NULL) {
                st->transport->send_event(st, (u_char *) a->data, a->len);
            }

            st->dirty = 1;
            break;

        case ORBIS_SESSION_ACT_CALLER_AUDIO:
            st->transport->send_audio(st, (u_char *) a->data, a->len,
                                      a->rate);
            break;

        case ORBIS_SESSION_ACT_PEER_OPEN:
            st->peer->open(st, a->data);
            break;

        case ORBIS_SESSION_ACT_PEER_CLOSE:
            st->peer->close(st);
            break;

        case ORBIS_SESSION_ACT_RUN_TOOL:
            ngx_http_orbis_call_run_tool(st, a);
            st->dirty = 1;
            break;

        case ORBIS_SESSION_ACT_CANCEL_TOOL:
            ngx_http_orbis_call_cancel_tool(st, a->tool_id);
            break;

        case ORBIS_SESSION_ACT_CALLER_CLOSE:
            st->transport->close(st, a->code, (u_char *) a->data, a->len);
            break;

        case ORBIS_SESSION_ACT_FINALIZE:
            ngx_http_orbis_call_finalize(st);
            break;
        }
    }

    st->actions.n = 0;
    st->in_action = 0;
}


/*
 * Runs after every event: picks up deferred work, writes to the browser,
 * re-arms the timers, applies backpressure, and lets the connection and
 * then the whole stream go when they are done.
 */

void
ngx_http_orbis_call_after(ngx_http_orbis_call_t *st)
{
    orbis_rc_t  orc;

    if (st->in_after) {
        return;
    }

    st->in_after = 1;

    for ( ;; ) {
        if (ngx_http_orbis_call_deliver_tools(st)) {
            continue;
        }

        if (st->upstream_failed) {
            st->upstream_failed = 0;

            if (st->session != NULL) {
                /* could not even start: as a dropped connection */
                orc = orbis_session_on_peer_close(st->session, 1,
                                                  ngx_http_orbis_call_now(),
                                                  &st->actions);
                ngx_http_orbis_call_carry_out(st, orc);
            }

            continue;
        }

        if (!st->client_gone && !st->client_eof
            && st->transport->flush(st) == NGX_ERROR)
        {
            ngx_http_orbis_call_client_lost(st);
            continue;
        }

        break;
    }

    ngx_http_orbis_call_arm(st);
    ngx_http_orbis_call_backpressure(st);

    st->transport->settle(st);

    st->in_after = 0;

    if (st->client_gone && (st->peer == NULL || !st->peer->active(st))
        && (st->session == NULL || st->finalized))
    {
        ngx_http_orbis_call_free(st);
    }
}


/* ---- the end of a call ---- */

static void
ngx_http_orbis_call_finalize(ngx_http_orbis_call_t *st)
{
    json_t    *record;
    uint16_t   code;

    if (st->finalized) {
        return;
    }

    st->finalized = 1;

    if (st->beat.timer_set) {
        ngx_del_timer(&st->beat);
    }

    record = orbis_session_record_json(st->session);

    if (record == NULL) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "orbis stream %s: out of memory, the call is left to "
                      "the sweeper", st->id);
        return;
    }

    code = st->client_gone ? 0 : st->transport->sent_code(st);

    if (code != 0) {
        /* the code the transport sent, not the session's idea of it */
        (void) json_object_set_new(record, "closeCode", json_integer(code));
    }

    ngx_log_error(NGX_LOG_INFO, st->log, 0,
                  "orbis stream %s: call ended: %s", st->id,
                  orbis_session_end_reason_name(
                      orbis_session_end_reason(st->session)));

    if (ngx_http_orbis_outbox_add(st->id, st->key_id, record) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "orbis stream %s: out of memory, the call is left to "
                      "the sweeper", st->id);
    }

    json_decref(record);
}


/* ---- timers ---- */

static void
ngx_http_orbis_call_arm(ngx_http_orbis_call_t *st)
{
    int64_t     d, now;
    ngx_msec_t  beat;

    if (st->session == NULL || st->finalized) {
        if (st->tick.timer_set) {
            ngx_del_timer(&st->tick);
        }

        return;
    }

    now = ngx_http_orbis_call_now();
    d = orbis_session_next_deadline(st->session);

    if (d < 0) {
        if (st->tick.timer_set) {
            ngx_del_timer(&st->tick);
        }

    } else {
        /* not cancelable: a quitting worker waits for the call */
        ngx_add_timer(&st->tick, (ngx_msec_t) ngx_max(d - now, 1));
    }

    /* transcript changes reach Redis within a second */

    if (st->dirty && st->beat.timer_set) {
        beat = ngx_min(st->smcf->heartbeat, 1000);

        if ((ngx_msec_int_t) (st->beat.timer.key - ngx_current_msec)
            > (ngx_msec_int_t) beat)
        {
            ngx_add_timer(&st->beat, beat);
        }
    }
}


static void
ngx_http_orbis_call_backpressure(ngx_http_orbis_call_t *st)
{
    size_t      client, up;
    ngx_uint_t  pause;

    client = st->client_gone ? 0 : st->transport->backlog(st);
    up = 0;

    if (st->peer != NULL) {
        up = st->peer->backlog(st);
        st->peer->pause(st, client > NGX_HTTP_ORBIS_CALL_OUT_MAX);
    }

    if (st->client_gone || st->client_eof) {
        return;
    }

    pause = (client > NGX_HTTP_ORBIS_CALL_OUT_MAX
             || up > NGX_HTTP_ORBIS_CALL_OUT_MAX);

    if (st->read_paused && !pause) {
        st->read_paused = 0;
        st->transport->resume(st);

    } else if (pause) {
        st->read_paused = 1;
    }
}


static void
ngx_http_orbis_call_tick_handler(ngx_event_t *ev)
{
    ngx_http_orbis_call_t  *st = ev->data;

    orbis_rc_t  rc;

    if (st->session != NULL && !st->finalized) {
        rc = orbis_session_tick(st->session, ngx_http_orbis_call_now(),
                                &st->actions);
        ngx_http_orbis_call_carry_out(st, rc);
    }

    ngx_http_orbis_call_after(st);
}


static void
ngx_http_orbis_call_beat_handler(ngx_event_t *ev)
{
    ngx_http_orbis_call_t  *st = ev->data;

    if (st->session == NULL || st->finalized) {
        return;
    }

    ngx_http_orbis_call_store_live(st, st->dirty);
    st->dirty = 0;

    ngx_add_timer(&st->beat, st->smcf->heartbeat);
}


static void
ngx_http_orbis_call_posted_handler(ngx_event_t *ev)
{
    ngx_http_orbis_call_t  *st = ev->data;

    ngx_http_orbis_call_after(st);
}


/* ---- the end of a stream ---- */

static void
ngx_http_orbis_call_free(ngx_http_orbis_call_t *st)
{
    ngx_queue_remove(&st->queue);
    ngx_http_orbis_call_worker->nstreams--;

    ngx_http_orbis_call_store_stop(st);
    if (!st->finalized) {
        /* no record goes to the outbox: the call's place goes back now */
        ngx_http_orbis_admission_release(st->tenant_id, st->id);
    }

    if (st->tick.timer_set) {
        ngx_del_timer(&st->tick);
    }

    if (st->beat.timer_set) {
        ngx_del_timer(&st->beat);
    }

    if (st->posted.posted) {
        ngx_delete_posted_event(&st->posted);
    }

    ngx_http_orbis_call_tools_free(st);

    if (st->peer != NULL) {
        st->peer->free(st);
    }

    orbis_session_free(st->session);
    orbis_session_actions_free(&st->actions);

    st->transport->free(st);

    ngx_free(st);
}
