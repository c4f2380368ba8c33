
/*
 * Copyright (C) Orbis
 *
 * /stream: the voice WebSocket.  Once the handshake
 * (ngx_http_orbis_call_handshake.c) has admitted it, the connection is
 * taken over inside the worker, as ngx_http_upstream_upgrade() does for
 * proxied WebSockets, and
 * driven by liborbiscore: ws.h frames the bytes, session.h decides what
 * happens and this file carries out the actions it returns.
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

#include <orbiscore/auth.h>
#include <orbiscore/validate.h>

#include "ngx_http_orbis_call.h"


#define NGX_HTTP_ORBIS_CALL_READ_SIZE   16384
#define NGX_HTTP_ORBIS_CALL_MAX_FRAME   ORBIS_SESSION_MAX_AUDIO_FRAME


#define NGX_HTTP_ORBIS_CALL_ECHO_NOTICE                                    \
    "Echo mode: no model is configured on this server, so what you say "   \
    "is played back to you."


static ngx_int_t ngx_http_orbis_call_start(ngx_http_orbis_call_t *st,
    ngx_http_orbis_call_hs_t *hs);
static json_t *ngx_http_orbis_call_declarations(
    ngx_http_orbis_call_t *st, json_t *names);
static void ngx_http_orbis_call_uuid(char *out);
static int64_t ngx_http_orbis_call_now(void);

static void ngx_http_orbis_call_read_handler(ngx_event_t *rev);
static void ngx_http_orbis_call_write_handler(ngx_event_t *wev);
static void ngx_http_orbis_call_read(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_feed(ngx_http_orbis_call_t *st,
    u_char *data, size_t len);
static ngx_int_t ngx_http_orbis_call_flush(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_client_lost(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_shutdown(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_close_client(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_request_cleanup(void *data);

static void ngx_http_orbis_call_on_message(void *userdata,
    orbis_ws_opcode_t opcode, const uint8_t *data, size_t len);
static void ngx_http_orbis_call_on_close(void *userdata, uint16_t code,
    const char *reason, size_t len);

static void ngx_http_orbis_call_checked(ngx_http_orbis_call_t *st,
    orbis_rc_t rc);
static void ngx_http_orbis_call_act(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_after(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_client_send(ngx_http_orbis_call_t *st,
    orbis_ws_opcode_t opcode, const u_char *data, size_t len);
static void ngx_http_orbis_call_echo_audio(ngx_http_orbis_call_t *st,
    const u_char *pcm, size_t len);
static void ngx_http_orbis_call_send_pcm(ngx_http_orbis_call_t *st,
    int16_t *samples, size_t n, uint32_t rate);
static void ngx_http_orbis_call_connect(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_run_tool(ngx_http_orbis_call_t *st,
    orbis_session_action_t *a);
static void ngx_http_orbis_call_tool_done(orbis_tool_ctx_t *ctx,
    json_t *result, void *userdata);
static void ngx_http_orbis_call_cancel_tool(ngx_http_orbis_call_t *st,
    const char *id);
static ngx_uint_t ngx_http_orbis_call_deliver_tools(
    ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_tool_free(
    ngx_http_orbis_call_tool_t *t);
static void ngx_http_orbis_call_finalize(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_arm(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_backpressure(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_free(ngx_http_orbis_call_t *st);

static void ngx_http_orbis_call_tick_handler(ngx_event_t *ev);
static void ngx_http_orbis_call_beat_handler(ngx_event_t *ev);
static void ngx_http_orbis_call_closing_handler(ngx_event_t *ev);
static void ngx_http_orbis_call_posted_handler(ngx_event_t *ev);

static void ngx_http_orbis_call_up_open(void *data);
static void ngx_http_orbis_call_up_message(void *data, u_char *msg,
    size_t len);
static void ngx_http_orbis_call_up_close(void *data, ngx_uint_t code,
    u_char *reason, size_t len);
static void ngx_http_orbis_call_up_drain(void *data);


static u_char   ngx_http_orbis_call_buf[NGX_HTTP_ORBIS_CALL_READ_SIZE];

/* echo mode scratch: one frame at a time, 16 kHz in, 24 kHz out */
static int16_t  ngx_http_orbis_call_in[NGX_HTTP_ORBIS_CALL_MAX_FRAME / 2];
static int16_t  ngx_http_orbis_call_out[NGX_HTTP_ORBIS_CALL_MAX_FRAME
                                         + 64];
static u_char   ngx_http_orbis_call_pcm[(NGX_HTTP_ORBIS_CALL_MAX_FRAME
                                          + 64) * 2];


static ngx_http_orbis_gemini_handlers_t  ngx_http_orbis_call_up_handlers = {
    ngx_http_orbis_call_up_open,
    ngx_http_orbis_call_up_message,
    ngx_http_orbis_call_up_close,
    ngx_http_orbis_call_up_drain
};


/*
 * RFC 6455 section 4.2.1, on HTTP/1.1 only.  NGX_DECLINED lets the
 * handshake go on; anything else is the answer already sent.
 */


/*
 * The order of the checks is the order of the documented refusals: key,
 * agent, the key's agents, the plan's allowance, the rate limit, and the
 * origin last, so that a client without a browser still learns about the
 * limits before the origin rule (which it can never pass) refuses it.
 */


/* GCRA in Redis, the script of ngx_http_orbis_ratelimit.c, per key */


/*
 * A browser's WebSocket API shows nothing of an HTTP refusal, so browsers
 * get the upgrade and at once a close frame whose code says why; other
 * clients get the HTTP status and the JSON error.
 */


/*
 * The takeover.  Returns NGX_DONE with the request held (count++) and the
 * connection's events ours; nothing that could end the request runs
 * before the caller has returned: the first read is a posted event.
 */

ngx_int_t
ngx_http_orbis_call_upgrade(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, uint16_t refuse, const char *reason)
{
    ngx_int_t                        rc;
    orbis_err_t                      err;
    ngx_connection_t                *c;
    orbis_ws_config_t                cfg;
    ngx_pool_cleanup_t              *cln;
    ngx_http_orbis_call_t         *st;
    ngx_http_orbis_call_worker_t  *w;

    c = r->connection;
    w = ngx_http_orbis_call_worker;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    ngx_http_clear_content_length(r);
    r->keepalive = 0;

    if (ngx_http_orbis_header_out(r, "Upgrade", "websocket") != NGX_OK
        || ngx_http_orbis_header_out(r, "Sec-WebSocket-Accept", hs->accept)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st = ngx_calloc(sizeof(ngx_http_orbis_call_t), c->log);
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&cfg, sizeof(orbis_ws_config_t));

    st->slcf = ngx_http_get_module_loc_conf(r, ngx_http_orbis_call_module);
    st->smcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_call_module);
    st->clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    cfg.max_message_size = st->slcf->max_message;
    cfg.on_message = ngx_http_orbis_call_on_message;
    cfg.on_close = ngx_http_orbis_call_on_close;
    cfg.userdata = st;

    st->ws = orbis_ws_new(ORBIS_WS_SERVER, &cfg, &err);
    if (st->ws == NULL) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "orbis stream: %s", err.msg);
        ngx_free(st);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        orbis_ws_free(st->ws);
        ngx_free(st);
        return rc;
    }

    if (ngx_http_send_special(r, NGX_HTTP_FLUSH) == NGX_ERROR) {
        orbis_ws_free(st->ws);
        ngx_free(st);
        return NGX_ERROR;
    }

    st->request = r;
    st->connection = c;
    st->log = c->log;
    c->log->action = "streaming";

    ngx_queue_init(&st->tools);
    orbis_session_actions_init(&st->actions);

    st->tick.handler = ngx_http_orbis_call_tick_handler;
    st->tick.data = st;
    st->tick.log = ngx_cycle->log;

    st->beat.handler = ngx_http_orbis_call_beat_handler;
    st->beat.data = st;
    st->beat.log = ngx_cycle->log;
    st->beat.cancelable = 1;

    st->closing.handler = ngx_http_orbis_call_closing_handler;
    st->closing.data = st;
    st->closing.log = ngx_cycle->log;

    st->posted.handler = ngx_http_orbis_call_posted_handler;
    st->posted.data = st;
    st->posted.log = ngx_cycle->log;

    ngx_queue_insert_tail(&w->streams, &st->queue);
    w->nstreams++;

    /* from here the connection is ours, as in ngx_http_upstream_upgrade */

    cln->handler = ngx_http_orbis_call_request_cleanup;
    cln->data = st;
    st->cln = cln;

    ngx_http_set_ctx(r, st, ngx_http_orbis_call_module);

    st->saved_read = c->read->handler;
    st->saved_write = c->write->handler;
    c->read->handler = ngx_http_orbis_call_read_handler;
    c->write->handler = ngx_http_orbis_call_write_handler;

    r->main->count++;

    if (st->clcf->tcp_nodelay) {
        (void) ngx_tcp_nodelay(c);
    }

#if (NGX_SSL)
    if (c->ssl) {
        /* the codec's output queue moves when it grows */
        SSL_set_mode(c->ssl->connection,
                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
#endif

    if (refuse) {
        (void) orbis_ws_send_close(st->ws, refuse, reason,
                                   ngx_strlen(reason));

    } else if (ngx_http_orbis_call_start(st, hs) != NGX_OK) {
        (void) orbis_ws_send_close(st->ws, ORBIS_CLOSE_INTERNAL,
                                   "internal error", 14);
    }

    /* the bytes that came with the request are read there first */
    ngx_post_event(c->read, &ngx_posted_events);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_orbis_call_start(ngx_http_orbis_call_t *st,
    ngx_http_orbis_call_hs_t *hs)
{
    json_t                *agent, *decl, *v;
    int64_t                now;
    orbis_rc_t             rc;
    const char            *s;
    orbis_err_t            err;
    orbis_strbuf_t         b;
    orbis_session_conf_t   sc;
    orbis_gemini_setup_t   gs;

    ngx_http_orbis_call_uuid(st->id);

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

    st->echo = (st->smcf->gemini.key.len == 0);

    ngx_memzero(&sc, sizeof(orbis_session_conf_t));
    ngx_memzero(&gs, sizeof(orbis_gemini_setup_t));

    sc.session_id = st->id;
    sc.tenant_id = st->tenant_id;
    sc.agent_id = st->agent_id;
    sc.echo = st->echo;

    decl = NULL;

    if (!st->echo) {
        gs.model = (const char *) st->smcf->gemini.model.data;

        s = json_string_value(json_object_get(agent, "systemPrompt"));
        gs.system_prompt = (s != NULL && s[0] != '\0') ? s : NULL;

        s = json_string_value(json_object_get(agent, "voice"));
        gs.voice = (s != NULL && s[0] != '\0') ? s : NULL;

        s = json_string_value(json_object_get(agent, "language"));
        gs.language = (s != NULL && s[0] != '\0') ? s : NULL;

        decl = ngx_http_orbis_call_declarations(st,
                                           json_object_get(agent, "tools"));
        gs.function_declarations = decl;
        gs.input_transcription = 1;
        gs.output_transcription = 1;

        sc.model = gs.model;

        st->peer = orbis_gemini_peer_new(&gs, &err);

        if (st->peer == NULL) {
            json_decref(decl);
            ngx_log_error(NGX_LOG_ERR, st->log, 0,
                          "orbis stream: cannot start a session: %s",
                          err.msg);
            return NGX_ERROR;
        }
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

    orbis_session_actions_codecs(&st->actions, &orbis_client_codec, NULL,
                                 &orbis_gemini_codec, st->peer);

    json_decref(decl);

    if (st->session == NULL) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "orbis stream: cannot start a session: %s", err.msg);
        return NGX_ERROR;
    }

    if (st->echo) {
        st->resampler = orbis_resampler_new(ORBIS_CLIENT_INPUT_RATE,
                                            ORBIS_CLIENT_OUTPUT_RATE,
                                            ORBIS_RESAMPLER_QUALITY_VOIP,
                                            &err);
        if (st->resampler == NULL) {
            ngx_log_error(NGX_LOG_ERR, st->log, 0,
                          "orbis stream: %s", err.msg);
            return NGX_ERROR;
        }
    }

    ngx_log_error(NGX_LOG_INFO, st->log, 0,
                  "orbis stream %s: %s call, tenant %s, agent %s", st->id,
                  st->echo ? "echo" : "live", st->tenant_id, st->agent_id);

    now = ngx_http_orbis_call_now();

    rc = orbis_session_start(st->session, now, &st->actions);
    ngx_http_orbis_call_checked(st, rc);
    ngx_http_orbis_call_act(st);

    if (st->echo) {
        orbis_strbuf_init(&b);

        if (orbis_client_build_transcript(&b, ORBIS_CLIENT_ROLE_AGENT,
                                  NGX_HTTP_ORBIS_CALL_ECHO_NOTICE,
                                  sizeof(NGX_HTTP_ORBIS_CALL_ECHO_NOTICE)
                                  - 1, 1, NULL)
            == ORBIS_OK)
        {
            ngx_http_orbis_call_client_send(st, ORBIS_WS_TEXT,
                                              (u_char *) b.data, b.len);
        }

        orbis_strbuf_free(&b);
    }

    ngx_http_orbis_call_store_live(st, 1);
    st->stored = 1;

    ngx_add_timer(&st->beat, st->smcf->heartbeat);

    return NGX_OK;
}


/* the agent's tools that the registry knows, as Gemini declarations */

static json_t *
ngx_http_orbis_call_declarations(ngx_http_orbis_call_t *st,
    json_t *names)
{
    size_t                       i, n;
    json_t                      *decl;
    const char                  *list[64], *name;
    orbis_err_t                  err;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_orbis_module);
    n = 0;

    for (i = 0; i < json_array_size(names) && n < 64; i++) {
        name = json_string_value(json_array_get(names, i));

        if (name == NULL || orbis_tools_find(omcf->tools, name) == NULL) {
            ngx_log_error(NGX_LOG_WARN, st->log, 0,
                          "orbis stream: agent tool \"%s\" is unknown here",
                          name ? name : "?");
            continue;
        }

        list[n++] = name;
    }

    if (n == 0) {
        return NULL;
    }

    decl = orbis_tools_declarations(omcf->tools, list, n, &err);
    if (decl == NULL) {
        ngx_log_error(NGX_LOG_WARN, st->log, 0,
                      "orbis stream: tools left out: %s", err.msg);
    }

    return decl;
}


/* a version 4 UUID: the session id, also the conversation's */

static void
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

static int64_t
ngx_http_orbis_call_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/* ---- the browser's connection ---- */

static void
ngx_http_orbis_call_read_handler(ngx_event_t *rev)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_orbis_call_t  *st;

    c = rev->data;
    r = c->data;
    st = ngx_http_get_module_ctx(r, ngx_http_orbis_call_module);

    if (c->close) {
        /* worker_shutdown_timeout ran out */
        ngx_http_orbis_call_shutdown(st);
        return;
    }

    ngx_http_orbis_call_read(st);
    ngx_http_orbis_call_after(st);
}


static void
ngx_http_orbis_call_write_handler(ngx_event_t *wev)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_orbis_call_t  *st;

    c = wev->data;
    r = c->data;
    st = ngx_http_get_module_ctx(r, ngx_http_orbis_call_module);

    if (c->close) {
        ngx_http_orbis_call_shutdown(st);
        return;
    }

    ngx_http_orbis_call_after(st);
}


static void
ngx_http_orbis_call_read(ngx_http_orbis_call_t *st)
{
    u_char              *p;
    size_t               len;
    ssize_t              n;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = st->request;
    c = st->connection;

    if (st->client_gone || st->client_eof) {
        return;
    }

    if (r->header_in->pos < r->header_in->last) {
        /* frames the client sent right behind its request */
        p = r->header_in->pos;
        len = r->header_in->last - p;
        r->header_in->pos = r->header_in->last;

        ngx_http_orbis_call_feed(st, p, len);
    }

    for ( ;; ) {
        if (st->read_paused || st->client_eof
            || orbis_ws_state(st->ws) == ORBIS_WS_FAILED
            || orbis_ws_state(st->ws) == ORBIS_WS_CLOSED
            || !c->read->ready)
        {
            break;
        }

        n = c->recv(c, ngx_http_orbis_call_buf,
                    NGX_HTTP_ORBIS_CALL_READ_SIZE);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_orbis_call_client_lost(st);
            return;
        }

        ngx_http_orbis_call_feed(st, ngx_http_orbis_call_buf, n);
    }

    if (!st->client_eof && ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_orbis_call_client_lost(st);
    }
}


static void
ngx_http_orbis_call_feed(ngx_http_orbis_call_t *st, u_char *data,
    size_t len)
{
    orbis_rc_t  rc;

    st->feeding = 1;
    rc = orbis_ws_feed(st->ws, data, len);
    st->feeding = 0;

    if (rc == ORBIS_OK || st->session == NULL) {
        return;
    }

    /* the codec has queued the close frame with the RFC's code */

    ngx_log_error(NGX_LOG_INFO, st->log, 0,
                  "orbis stream %s: client broke the WebSocket protocol, "
                  "closing with %d", st->id, (int) orbis_ws_close_code(st->ws));

    rc = orbis_session_end(st->session,
                           rc == ORBIS_ERR_NOMEM
                           ? ORBIS_SESSION_END_ERROR
                           : ORBIS_SESSION_END_CLIENT_PROTOCOL,
                           ngx_http_orbis_call_now(), &st->actions);
    ngx_http_orbis_call_checked(st, rc);
    ngx_http_orbis_call_act(st);
}


/* writes what the codec queued; NGX_ERROR when the client is gone */

static ngx_int_t
ngx_http_orbis_call_flush(ngx_http_orbis_call_t *st)
{
    ngx_connection_t  *c;

    c = st->connection;

    if (c->buffered & NGX_HTTP_WRITE_BUFFERED) {
        /* the rest of the 101 */
        if (ngx_http_write_filter(st->request, NULL) == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (c->buffered & NGX_HTTP_WRITE_BUFFERED) {
            return NGX_AGAIN;
        }
    }

    return ngx_http_orbis_ws_flush(c, st->ws);
}


/* TCP ended (reset, FIN without a close frame, a write error) */

static void
ngx_http_orbis_call_client_lost(ngx_http_orbis_call_t *st)
{
    orbis_rc_t  rc;

    if (st->client_eof) {
        return;
    }

    st->client_eof = 1;

    if (st->session == NULL) {
        return;
    }

    rc = orbis_session_on_caller_close(st->session, ORBIS_CLOSE_ABNORMAL,
                                       ngx_http_orbis_call_now(),
                                       &st->actions);
    ngx_http_orbis_call_checked(st, rc);
    ngx_http_orbis_call_act(st);
}


/* the worker must go now: 1001, the call is saved, TCP is cut */

static void
ngx_http_orbis_call_shutdown(ngx_http_orbis_call_t *st)
{
    orbis_rc_t  rc;

    if (st->session != NULL) {
        rc = orbis_session_end(st->session, ORBIS_SESSION_END_SHUTDOWN,
                               ngx_http_orbis_call_now(), &st->actions);
        ngx_http_orbis_call_checked(st, rc);
        ngx_http_orbis_call_act(st);

    } else if (orbis_ws_state(st->ws) == ORBIS_WS_OPEN) {
        (void) orbis_ws_send_close(st->ws, ORBIS_CLOSE_GOING_AWAY,
                                   "server going away", 17);
    }

    (void) ngx_http_orbis_call_flush(st);

    ngx_http_orbis_call_client_lost(st);
    ngx_http_orbis_call_after(st);
}


/* gives the connection back to nginx, which closes it */

static void
ngx_http_orbis_call_close_client(ngx_http_orbis_call_t *st)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = st->request;
    c = st->connection;

    st->request = NULL;
    st->connection = NULL;
    st->client_gone = 1;
    st->log = ngx_cycle->log;

    if (st->closing.timer_set) {
        ngx_del_timer(&st->closing);
    }

    ngx_http_set_ctx(r, NULL, ngx_http_orbis_call_module);

    /* the request may outlive the stream in a lingering close */
    st->cln->handler = NULL;

    c->read->handler = st->saved_read;
    c->write->handler = st->saved_write;

    ngx_http_finalize_request(r, NGX_DONE);
}


/* the request went away under us: only the bookkeeping is left */

static void
ngx_http_orbis_call_request_cleanup(void *data)
{
    ngx_http_orbis_call_t  *st = data;

    if (st->request == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, st->log, 0,
                  "orbis stream %s: connection closed by nginx", st->id);

    st->request = NULL;
    st->connection = NULL;
    st->client_gone = 1;
    st->log = ngx_cycle->log;

    if (st->closing.timer_set) {
        ngx_del_timer(&st->closing);
    }

    if (st->session != NULL && !st->finalized) {
        st->client_eof = 1;
        (void) orbis_session_on_caller_close(st->session,
                                             ORBIS_CLOSE_ABNORMAL,
                                             ngx_http_orbis_call_now(),
                                             &st->actions);
        ngx_http_orbis_call_act(st);
    }

    ngx_post_event(&st->posted, &ngx_posted_events);
}


static void
ngx_http_orbis_call_on_message(void *userdata, orbis_ws_opcode_t opcode,
    const uint8_t *data, size_t len)
{
    ngx_http_orbis_call_t  *st = userdata;

    orbis_rc_t  rc;
    int64_t     now;

    if (st->session == NULL) {
        /* a refusal is on its way; nothing the client says matters */
        return;
    }

    now = ngx_http_orbis_call_now();

    if (opcode == ORBIS_WS_BINARY) {
        rc = orbis_client_on_audio(st->session, data, len, now,
                                   &st->actions);

    } else {
        rc = orbis_client_on_text(st->session, (const char *) data, len,
                                  now, &st->actions);
    }

    ngx_http_orbis_call_checked(st, rc);
    ngx_http_orbis_call_act(st);
}


static void
ngx_http_orbis_call_on_close(void *userdata, uint16_t code,
    const char *reason, size_t len)
{
    ngx_http_orbis_call_t  *st = userdata;

    orbis_rc_t  rc;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, st->log, 0,
                   "orbis stream: client closed with %d \"%*s\"",
                   (int) code, len, reason);

    if (st->session == NULL) {
        return;
    }

    rc = orbis_session_on_caller_close(st->session, code,
                                       ngx_http_orbis_call_now(),
                                       &st->actions);
    ngx_http_orbis_call_checked(st, rc);
    ngx_http_orbis_call_act(st);
}


/*
 * After ORBIS_ERR_NOMEM the session cannot be trusted: end it (its
 * actions close both sides with 1011 and save what is known).  Other
 * errors only say what went wrong with one input.
 */

static void
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

static void
ngx_http_orbis_call_act(ngx_http_orbis_call_t *st)
{
    size_t                   i;
    orbis_session_action_t  *a;

    st->in_action = 1;

    for (i = 0; i < st->actions.n; i++) {
        a = &st->actions.items[i];

        switch (a->type) {

        case ORBIS_SESSION_ACT_PEER_SEND:
            if (st->upstream != NULL) {
                (void) ngx_http_orbis_gemini_send(st->upstream,
                                                  (u_char *) a->data,
                                                  a->len);
            }

            break;

        case ORBIS_SESSION_ACT_CALLER_EVENT:
            ngx_http_orbis_call_client_send(st, ORBIS_WS_TEXT,
                                              (u_char *) a->data, a->len);
            st->dirty = 1;
            break;

        case ORBIS_SESSION_ACT_CALLER_AUDIO:
            if (a->rate != ORBIS_CLIENT_OUTPUT_RATE) {
                ngx_http_orbis_call_echo_audio(st, (u_char *) a->data,
                                                 a->len);

            } else {
                ngx_http_orbis_call_client_send(st, ORBIS_WS_BINARY,
                                                  (u_char *) a->data,
                                                  a->len);
            }

            break;

        case ORBIS_SESSION_ACT_PEER_OPEN:
            ngx_http_orbis_call_connect(st);
            break;

        case ORBIS_SESSION_ACT_PEER_CLOSE:
            if (st->upstream != NULL) {
                ngx_http_orbis_gemini_close(st->upstream);
                st->upstream = NULL;
            }

            break;

        case ORBIS_SESSION_ACT_RUN_TOOL:
            ngx_http_orbis_call_run_tool(st, a);
            st->dirty = 1;
            break;

        case ORBIS_SESSION_ACT_CANCEL_TOOL:
            ngx_http_orbis_call_cancel_tool(st, a->tool_id);
            break;

        case ORBIS_SESSION_ACT_CALLER_CLOSE:
            if (!st->client_gone
                && orbis_ws_state(st->ws) == ORBIS_WS_OPEN)
            {
                (void) orbis_ws_send_close(st->ws, a->code, a->data, a->len);
            }

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

static void
ngx_http_orbis_call_after(ngx_http_orbis_call_t *st)
{
    ngx_int_t         rc;
    orbis_rc_t        orc;
    orbis_ws_state_t  state;

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
                orc = orbis_gemini_on_close(st->session,
                                            ORBIS_CLOSE_ABNORMAL,
                                            "cannot connect",
                                            ngx_http_orbis_call_now(),
                                            &st->actions);
                ngx_http_orbis_call_checked(st, orc);
                ngx_http_orbis_call_act(st);
            }

            continue;
        }

        if (!st->client_gone && !st->client_eof) {
            rc = ngx_http_orbis_call_flush(st);

            if (rc == NGX_ERROR) {
                ngx_http_orbis_call_client_lost(st);
                continue;
            }
        }

        break;
    }

    ngx_http_orbis_call_arm(st);
    ngx_http_orbis_call_backpressure(st);

    if (!st->client_gone) {
        state = orbis_ws_state(st->ws);

        if (st->client_eof
            || ((state == ORBIS_WS_CLOSED || state == ORBIS_WS_FAILED)
                && orbis_ws_output_size(st->ws) == 0))
        {
            ngx_http_orbis_call_close_client(st);

        } else if (state != ORBIS_WS_OPEN && !st->closing.timer_set) {
            ngx_add_timer(&st->closing, NGX_HTTP_ORBIS_CALL_CLOSE_WAIT);
        }
    }

    st->in_after = 0;

    if (st->client_gone && st->upstream == NULL
        && (st->session == NULL || st->finalized))
    {
        ngx_http_orbis_call_free(st);
    }
}


static void
ngx_http_orbis_call_client_send(ngx_http_orbis_call_t *st,
    orbis_ws_opcode_t opcode, const u_char *data, size_t len)
{
    if (st->client_gone || st->client_eof) {
        return;
    }

    if (orbis_ws_send(st->ws, opcode, data, len) != ORBIS_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, st->log, 0,
                       "orbis stream %s: frame dropped", st->id);
    }
}


/* echo mode: the caller's 16 kHz comes back at the 24 kHz of a model */

static void
ngx_http_orbis_call_echo_audio(ngx_http_orbis_call_t *st,
    const u_char *pcm, size_t len)
{
    size_t  n, cap, out;

    n = len / 2;

    if (n == 0 || n > NGX_HTTP_ORBIS_CALL_MAX_FRAME / 2) {
        return;
    }

    cap = orbis_resampler_max_output(st->resampler, n);

    if (cap > NGX_HTTP_ORBIS_CALL_MAX_FRAME + 64) {
        cap = NGX_HTTP_ORBIS_CALL_MAX_FRAME + 64;
    }

    orbis_pcm_decode(pcm, n, ngx_http_orbis_call_in);

    if (orbis_resampler_process(st->resampler, ngx_http_orbis_call_in, n,
                                ngx_http_orbis_call_out, cap, &out)
        != ORBIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "orbis stream %s: resampling failed", st->id);
        return;
    }

    ngx_http_orbis_call_send_pcm(st, ngx_http_orbis_call_out, out,
                                   ORBIS_CLIENT_OUTPUT_RATE);
}


static void
ngx_http_orbis_call_send_pcm(ngx_http_orbis_call_t *st,
    int16_t *samples, size_t n, uint32_t rate)
{
    size_t  chunk;

    if (rate != ORBIS_CLIENT_OUTPUT_RATE) {
        /* tools are asked for the output rate; anything else is a bug */
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "orbis stream %s: audio at %uD Hz dropped", st->id,
                      rate);
        return;
    }

    while (n > 0) {
        chunk = ngx_min(n, NGX_HTTP_ORBIS_CALL_MAX_FRAME + 64);

        orbis_pcm_encode(samples, chunk, ngx_http_orbis_call_pcm);
        ngx_http_orbis_call_client_send(st, ORBIS_WS_BINARY,
                                          ngx_http_orbis_call_pcm,
                                          chunk * 2);
        samples += chunk;
        n -= chunk;
    }
}


static void
ngx_http_orbis_call_connect(ngx_http_orbis_call_t *st)
{
    if (st->upstream != NULL) {
        ngx_http_orbis_gemini_close(st->upstream);
        st->upstream = NULL;
    }

    st->upstream = ngx_http_orbis_gemini_connect(&st->smcf->gemini,
                       st->clcf->resolver, st->clcf->resolver_timeout,
                       st->log, &ngx_http_orbis_call_up_handlers, st);
    if (st->upstream == NULL) {
        st->upstream_failed = 1;
        ngx_post_event(&st->posted, &ngx_posted_events);
    }
}


/* ---- tools ---- */

static void
ngx_http_orbis_call_run_tool(ngx_http_orbis_call_t *st,
    orbis_session_action_t *a)
{
    size_t                         n;
    json_t                        *result;
    int16_t                       *pcm;
    uint32_t                       rate;
    orbis_err_t                    err;
    orbis_tool_rc_t                rc;
    orbis_tool_ctx_t              *ctx;
    orbis_tool_ctx_conf_t          conf;
    ngx_http_orbis_main_conf_t    *omcf;
    ngx_http_orbis_call_tool_t  *t;

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_orbis_module);

    t = ngx_calloc(sizeof(ngx_http_orbis_call_tool_t), st->log);
    if (t == NULL) {
        return;
    }

    t->stream = st;
    t->id = strdup(a->tool_id);

    if (t->id == NULL) {
        ngx_free(t);
        return;
    }

    ngx_queue_insert_tail(&st->tools, &t->queue);

    ngx_memzero(&conf, sizeof(orbis_tool_ctx_conf_t));

    conf.call_id = a->tool_id;
    conf.tenant_id = st->tenant_id;
    conf.output_rate = ORBIS_CLIENT_OUTPUT_RATE;
    conf.on_done = ngx_http_orbis_call_tool_done;
    conf.userdata = t;

    ctx = orbis_tool_ctx_new(&conf, &err);

    if (ctx == NULL) {
        t->done = 1;
        t->ok = 0;
        t->result = json_string("the tool could not be started");
        return;
    }

    result = NULL;
    rc = orbis_tools_call(omcf->tools, ctx, a->tool_name, a->tool_args,
                          (uint64_t) ngx_http_orbis_call_now(), &result);

    ngx_log_error(NGX_LOG_INFO, st->log, 0,
                  "orbis stream %s: tool %s (%s): %s", st->id, a->tool_name,
                  a->tool_id, rc == ORBIS_TOOL_DONE ? "done"
                              : rc == ORBIS_TOOL_PENDING ? "pending"
                              : "failed");

    if (rc == ORBIS_TOOL_PENDING) {
        t->ctx = ctx;
        return;
    }

    if (orbis_tool_ctx_take_audio(ctx, &pcm, &n, &rate)) {
        ngx_http_orbis_call_send_pcm(st, pcm, n, rate);
        free(pcm);
    }

    orbis_tool_ctx_release(ctx);

    t->done = 1;

    if (rc == ORBIS_TOOL_DONE) {
        t->ok = 1;
        t->result = result;

    } else {
        t->ok = 0;
        t->result = json_incref(json_object_get(result, "error"));
        json_decref(result);
    }
}


static void
ngx_http_orbis_call_tool_done(orbis_tool_ctx_t *ctx, json_t *result,
    void *userdata)
{
    ngx_http_orbis_call_tool_t  *t = userdata;

    size_t                    n;
    int16_t                  *pcm;
    uint32_t                  rate;
    ngx_http_orbis_call_t  *st;

    st = t->stream;

    if (orbis_tool_ctx_take_audio(ctx, &pcm, &n, &rate)) {
        ngx_http_orbis_call_send_pcm(st, pcm, n, rate);
        free(pcm);
    }

    t->done = 1;
    t->ok = (orbis_tool_ctx_status(ctx) == ORBIS_TOOL_STATUS_OK);
    t->result = result;

    ngx_post_event(&st->posted, &ngx_posted_events);
}


static void
ngx_http_orbis_call_cancel_tool(ngx_http_orbis_call_t *st,
    const char *id)
{
    ngx_queue_t                   *q;
    ngx_http_orbis_call_tool_t  *t;

    for (q = ngx_queue_head(&st->tools);
         q != ngx_queue_sentinel(&st->tools);
         q = ngx_queue_next(q))
    {
        t = ngx_queue_data(q, ngx_http_orbis_call_tool_t, queue);

        if (ngx_strcmp(t->id, id) == 0) {
            if (t->ctx != NULL && !t->done) {
                (void) orbis_tool_cancel(t->ctx,
                                    (uint64_t) ngx_http_orbis_call_now());
            }

            ngx_queue_remove(q);
            ngx_http_orbis_call_tool_free(t);
            return;
        }
    }
}


/* hands finished tools to the session; 1 if one was delivered */

static ngx_uint_t
ngx_http_orbis_call_deliver_tools(ngx_http_orbis_call_t *st)
{
    json_t                        *result;
    orbis_rc_t                     rc;
    ngx_queue_t                   *q;
    ngx_http_orbis_call_tool_t  *t;

    for (q = ngx_queue_head(&st->tools);
         q != ngx_queue_sentinel(&st->tools);
         q = ngx_queue_next(q))
    {
        t = ngx_queue_data(q, ngx_http_orbis_call_tool_t, queue);

        if (!t->done) {
            continue;
        }

        ngx_queue_remove(q);

        result = t->result;
        t->result = NULL;

        if (st->session != NULL) {
            rc = orbis_session_on_tool_result(st->session, t->id, t->ok,
                                              result,
                                              ngx_http_orbis_call_now(),
                                              &st->actions);
            ngx_http_orbis_call_checked(st, rc);
        }

        json_decref(result);
        ngx_http_orbis_call_tool_free(t);

        ngx_http_orbis_call_act(st);

        return 1;
    }

    return 0;
}


static void
ngx_http_orbis_call_tool_free(ngx_http_orbis_call_tool_t *t)
{
    if (t->ctx != NULL) {
        orbis_tool_ctx_release(t->ctx);
    }

    json_decref(t->result);
    free(t->id);
    ngx_free(t);
}


/* ---- the end of a call ---- */

static void
ngx_http_orbis_call_finalize(ngx_http_orbis_call_t *st)
{
    json_t  *record;

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

    if (!st->client_gone && orbis_ws_state(st->ws) == ORBIS_WS_FAILED) {
        /* the code the codec sent, not the session's idea of it */
        (void) json_object_set_new(record, "closeCode",
                              json_integer(orbis_ws_close_code(st->ws)));
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

    client = st->client_gone ? 0 : orbis_ws_output_size(st->ws);
    up = (st->upstream != NULL)
         ? ngx_http_orbis_gemini_backlog(st->upstream) : 0;

    if (st->upstream != NULL) {
        ngx_http_orbis_gemini_pause(st->upstream,
                                    client > NGX_HTTP_ORBIS_CALL_OUT_MAX);
    }

    if (st->client_gone || st->client_eof) {
        return;
    }

    pause = (client > NGX_HTTP_ORBIS_CALL_OUT_MAX
             || up > NGX_HTTP_ORBIS_CALL_OUT_MAX);

    if (st->read_paused && !pause) {
        st->read_paused = 0;
        ngx_post_event(st->connection->read, &ngx_posted_events);

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
        ngx_http_orbis_call_checked(st, rc);
        ngx_http_orbis_call_act(st);
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
ngx_http_orbis_call_closing_handler(ngx_event_t *ev)
{
    ngx_http_orbis_call_t  *st = ev->data;

    ngx_log_error(NGX_LOG_INFO, st->log, 0,
                  "orbis stream %s: no close frame from the client in time",
                  st->id);

    ngx_http_orbis_call_client_lost(st);
    ngx_http_orbis_call_after(st);
}


static void
ngx_http_orbis_call_posted_handler(ngx_event_t *ev)
{
    ngx_http_orbis_call_t  *st = ev->data;

    ngx_http_orbis_call_after(st);
}


/* ---- Gemini ---- */

static void
ngx_http_orbis_call_up_open(void *data)
{
    ngx_http_orbis_call_t  *st = data;

    orbis_rc_t  rc;

    rc = orbis_session_on_peer_open(st->session,
                                        ngx_http_orbis_call_now(),
                                        &st->actions);
    ngx_http_orbis_call_checked(st, rc);
    ngx_http_orbis_call_act(st);

    ngx_post_event(&st->posted, &ngx_posted_events);
}


static void
ngx_http_orbis_call_up_message(void *data, u_char *msg, size_t len)
{
    ngx_http_orbis_call_t  *st = data;

    orbis_rc_t  rc;

    rc = orbis_gemini_on_message(st->session, (const char *) msg, len,
                                 ngx_http_orbis_call_now(), &st->actions);
    if (rc == ORBIS_ERR_PROTOCOL) {
        /* its text could be the caller's words: not logged */
        ngx_log_error(NGX_LOG_WARN, st->log, 0,
                      "orbis stream %s: a Gemini message of %uz bytes was "
                      "not understood and dropped", st->id, len);
    }

    ngx_http_orbis_call_checked(st, rc);
    ngx_http_orbis_call_act(st);

    if (!st->posted.posted) {
        ngx_post_event(&st->posted, &ngx_posted_events);
    }
}


static void
ngx_http_orbis_call_up_close(void *data, ngx_uint_t code, u_char *reason,
    size_t len)
{
    ngx_http_orbis_call_t  *st = data;

    u_char      text[ORBIS_WS_MAX_CLOSE_REASON + 1];
    ngx_uint_t  level;
    orbis_rc_t  rc;

    st->upstream = NULL;

    len = ngx_min(len, ORBIS_WS_MAX_CLOSE_REASON);
    ngx_memcpy(text, reason, len);
    text[len] = '\0';

    /* a fatal close ends the call: the operator should hear of it */
    level = (orbis_gemini_close_class((uint16_t) code, (const char *) text)
             == ORBIS_GEMINI_CLOSE_FATAL) ? NGX_LOG_WARN : NGX_LOG_INFO;

    ngx_log_error(level, st->log, 0,
                  "orbis stream %s: Gemini connection ended: %ui \"%s\"",
                  st->id, code, text);

    if (st->session != NULL) {
        rc = orbis_gemini_on_close(st->session, (uint16_t) code,
                                   (const char *) text,
                                   ngx_http_orbis_call_now(), &st->actions);
        ngx_http_orbis_call_checked(st, rc);
        ngx_http_orbis_call_act(st);
    }

    ngx_http_orbis_call_after(st);
}


static void
ngx_http_orbis_call_up_drain(void *data)
{
    ngx_http_orbis_call_t  *st = data;

    if (st->read_paused) {
        ngx_http_orbis_call_after(st);
    }
}


/* ---- the end of a stream ---- */

static void
ngx_http_orbis_call_free(ngx_http_orbis_call_t *st)
{
    ngx_queue_t                   *q;
    ngx_http_orbis_call_tool_t  *t;

    ngx_queue_remove(&st->queue);
    ngx_http_orbis_call_worker->nstreams--;

    if (st->tick.timer_set) {
        ngx_del_timer(&st->tick);
    }

    if (st->beat.timer_set) {
        ngx_del_timer(&st->beat);
    }

    if (st->closing.timer_set) {
        ngx_del_timer(&st->closing);
    }

    if (st->posted.posted) {
        ngx_delete_posted_event(&st->posted);
    }

    while (!ngx_queue_empty(&st->tools)) {
        q = ngx_queue_head(&st->tools);
        ngx_queue_remove(q);

        t = ngx_queue_data(q, ngx_http_orbis_call_tool_t, queue);

        if (t->ctx != NULL && !t->done) {
            (void) orbis_tool_cancel(t->ctx,
                                     (uint64_t) ngx_http_orbis_call_now());
        }

        ngx_http_orbis_call_tool_free(t);
    }

    orbis_session_free(st->session);
    orbis_session_actions_free(&st->actions);
    orbis_gemini_peer_free(st->peer);
    orbis_resampler_free(st->resampler);
    orbis_ws_free(st->ws);

    ngx_free(st);
}


/*
 * nginx -s stop: the process ends now.  Each browser gets a 1001 if its
 * socket takes it; the calls are left in Redis for the sweeper.
 */

void
ngx_http_orbis_call_terminate_all(void)
{
    size_t                           len;
    const uint8_t                   *p;
    ngx_queue_t                     *q;
    ngx_connection_t                *c;
    ngx_http_orbis_call_t         *st;
    ngx_http_orbis_call_worker_t  *w;

    w = ngx_http_orbis_call_worker;

    for (q = ngx_queue_head(&w->streams);
         q != ngx_queue_sentinel(&w->streams);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_http_orbis_call_t, queue);
        c = st->connection;

        if (st->client_gone || st->client_eof || c == NULL) {
            continue;
        }

        if (orbis_ws_state(st->ws) == ORBIS_WS_OPEN) {
            (void) orbis_ws_send_close(st->ws, ORBIS_CLOSE_GOING_AWAY,
                                       "server going away", 17);
        }

        orbis_ws_pending_output(st->ws, &p, &len);

        if (len && !(c->buffered & NGX_HTTP_WRITE_BUFFERED)) {
            (void) c->send(c, (u_char *) p, len);
        }
    }
}
