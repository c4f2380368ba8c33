
/*
 * Copyright (C) Orbis
 *
 * The browser transport of /stream.  Once the handshake
 * (ngx_http_orbis_call_handshake.c) has admitted it, the connection is
 * taken over inside the worker, as ngx_http_upstream_upgrade() does for
 * proxied WebSockets: liborbiscore's ws.h frames the bytes, its browser
 * adapter (client.h) maps the frames to the session's events and renders
 * the session's events as the client protocol's JSON, and the call
 * (ngx_http_orbis_call.c) does the rest.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"


#define NGX_HTTP_ORBIS_CALL_READ_SIZE   16384
#define NGX_HTTP_ORBIS_CALL_MAX_FRAME   ORBIS_SESSION_MAX_AUDIO_FRAME


static void ngx_http_orbis_call_event_handler(ngx_event_t *ev);
static void ngx_http_orbis_call_read(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_feed(ngx_http_orbis_call_t *st,
    u_char *data, size_t len);
static void ngx_http_orbis_call_shutdown(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_caller_closed(ngx_http_orbis_call_t *st,
    uint16_t code);
static void ngx_http_orbis_call_close_client(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_request_cleanup(void *data);
static void ngx_http_orbis_call_closing_handler(ngx_event_t *ev);

static void ngx_http_orbis_call_on_message(void *userdata,
    orbis_ws_opcode_t opcode, const uint8_t *data, size_t len);
static void ngx_http_orbis_call_on_close(void *userdata, uint16_t code,
    const char *reason, size_t len);

static void ngx_http_orbis_call_client_send(ngx_http_orbis_call_t *st,
    orbis_ws_opcode_t opcode, const u_char *data, size_t len);
static void ngx_http_orbis_call_send_pcm(ngx_http_orbis_call_t *st,
    int16_t *samples, size_t n);

static void ngx_http_orbis_call_browser_send_event(ngx_http_orbis_call_t *st,
    const u_char *msg, size_t len);
static void ngx_http_orbis_call_browser_send_audio(ngx_http_orbis_call_t *st,
    const u_char *pcm, size_t len, uint32_t rate);
static void ngx_http_orbis_call_browser_close(ngx_http_orbis_call_t *st,
    uint16_t code, const u_char *reason, size_t len);
static ngx_int_t ngx_http_orbis_call_browser_flush(
    ngx_http_orbis_call_t *st);
static size_t ngx_http_orbis_call_browser_backlog(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_browser_resume(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_browser_settle(ngx_http_orbis_call_t *st);
static uint16_t ngx_http_orbis_call_browser_sent_code(
    ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_browser_free(ngx_http_orbis_call_t *st);


const ngx_http_orbis_call_transport_t  ngx_http_orbis_call_browser = {
    "browser",
    &orbis_client_codec,
    ngx_http_orbis_call_browser_send_event,
    ngx_http_orbis_call_browser_send_audio,
    ngx_http_orbis_call_browser_close,
    ngx_http_orbis_call_browser_flush,
    ngx_http_orbis_call_browser_backlog,
    ngx_http_orbis_call_browser_resume,
    ngx_http_orbis_call_browser_settle,
    ngx_http_orbis_call_browser_sent_code,
    ngx_http_orbis_call_browser_free
};


static u_char   ngx_http_orbis_call_buf[NGX_HTTP_ORBIS_CALL_READ_SIZE];

/* resampling scratch: one frame at a time, to 24 kHz */
static int16_t  ngx_http_orbis_call_in[NGX_HTTP_ORBIS_CALL_MAX_FRAME / 2];
static int16_t  ngx_http_orbis_call_out[NGX_HTTP_ORBIS_CALL_MAX_FRAME
                                         + 64];
static u_char   ngx_http_orbis_call_pcm[(NGX_HTTP_ORBIS_CALL_MAX_FRAME
                                          + 64) * 2];


/*
 * The takeover.  Returns NGX_DONE with the request held (count++) and the
 * connection's events ours; nothing that could end the request runs
 * before the caller has returned: the first read is a posted event.
 */

ngx_int_t
ngx_http_orbis_call_upgrade(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, uint16_t refuse, const char *reason)
{
    ngx_int_t                 rc;
    orbis_err_t               err;
    ngx_connection_t         *c;
    orbis_ws_config_t         cfg;
    ngx_pool_cleanup_t       *cln;
    ngx_http_orbis_call_t    *st;

    c = r->connection;

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

    st->transport = &ngx_http_orbis_call_browser;

    ngx_http_orbis_call_init(st);

    st->closing.handler = ngx_http_orbis_call_closing_handler;
    st->closing.data = st;
    st->closing.log = ngx_cycle->log;

    /* from here the connection is ours, as in ngx_http_upstream_upgrade */

    cln->handler = ngx_http_orbis_call_request_cleanup;
    cln->data = st;
    st->cln = cln;

    ngx_http_set_ctx(r, st, ngx_http_orbis_call_module);

    st->saved_read = c->read->handler;
    st->saved_write = c->write->handler;
    c->read->handler = ngx_http_orbis_call_event_handler;
    c->write->handler = ngx_http_orbis_call_event_handler;

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


/* the browser's connection: what it sent is read, then what is due sent */

static void
ngx_http_orbis_call_event_handler(ngx_event_t *ev)
{
    ngx_connection_t       *c;
    ngx_http_request_t     *r;
    ngx_http_orbis_call_t  *st;

    c = ev->data;
    r = c->data;
    st = ngx_http_get_module_ctx(r, ngx_http_orbis_call_module);

    if (c->close) {
        /* worker_shutdown_timeout ran out */
        ngx_http_orbis_call_shutdown(st);
        return;
    }

    if (!ev->write) {
        ngx_http_orbis_call_read(st);
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

    if (st->session != NULL && !st->finalized) {
        /* every byte counts, whatever it carries (pings, fragments...) */
        rc = orbis_client_on_bytes(st->session, len,
                                   ngx_http_orbis_call_now(), &st->actions);
        ngx_http_orbis_call_carry_out(st, rc);
    }

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
    ngx_http_orbis_call_carry_out(st, rc);
}


/* writes what the codec queued; NGX_ERROR when the client is gone */

static ngx_int_t
ngx_http_orbis_call_browser_flush(ngx_http_orbis_call_t *st)
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

void
ngx_http_orbis_call_client_lost(ngx_http_orbis_call_t *st)
{
    if (st->client_eof) {
        return;
    }

    st->client_eof = 1;

    ngx_http_orbis_call_caller_closed(st, ORBIS_CLOSE_ABNORMAL);
}


/* the browser's side is closed (with code): the session is told */

static void
ngx_http_orbis_call_caller_closed(ngx_http_orbis_call_t *st, uint16_t code)
{
    orbis_rc_t  rc;

    if (st->session == NULL) {
        return;
    }

    rc = orbis_session_on_caller_close(st->session, code,
                                       ngx_http_orbis_call_now(),
                                       &st->actions);
    ngx_http_orbis_call_carry_out(st, rc);
}


/* the worker must go now: 1001, the call is saved, TCP is cut */

static void
ngx_http_orbis_call_shutdown(ngx_http_orbis_call_t *st)
{
    orbis_rc_t  rc;

    if (st->session != NULL) {
        rc = orbis_session_end(st->session, ORBIS_SESSION_END_SHUTDOWN,
                               ngx_http_orbis_call_now(), &st->actions);
        ngx_http_orbis_call_carry_out(st, rc);

    } else if (orbis_ws_state(st->ws) == ORBIS_WS_OPEN) {
        (void) orbis_ws_send_close(st->ws, ORBIS_CLOSE_GOING_AWAY,
                                   "server going away", 17);
    }

    (void) ngx_http_orbis_call_browser_flush(st);

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

    ngx_http_orbis_call_carry_out(st, rc);
}


static void
ngx_http_orbis_call_on_close(void *userdata, uint16_t code,
    const char *reason, size_t len)
{
    ngx_http_orbis_call_t  *st = userdata;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, st->log, 0,
                   "orbis stream: client closed with %d \"%*s\"",
                   (int) code, len, reason);

    ngx_http_orbis_call_caller_closed(st, code);
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


/*
 * The browser hears 24 kHz ("ready" says so): other rates (the caller's
 * own 16 kHz in echo mode, a tool's audio) are resampled on the way.
 */

static void
ngx_http_orbis_call_browser_send_audio(ngx_http_orbis_call_t *st,
    const u_char *pcm, size_t len, uint32_t rate)
{
    size_t       n, cap, out;
    orbis_err_t  err;

    if (rate == ORBIS_CLIENT_OUTPUT_RATE) {
        ngx_http_orbis_call_client_send(st, ORBIS_WS_BINARY, pcm, len);
        return;
    }

    n = len / 2;

    if (n == 0 || n > NGX_HTTP_ORBIS_CALL_MAX_FRAME / 2) {
        return;
    }

    if (st->resampler == NULL || st->resampler_rate != rate) {
        orbis_resampler_free(st->resampler);

        st->resampler = orbis_resampler_new(rate, ORBIS_CLIENT_OUTPUT_RATE,
                                            ORBIS_RESAMPLER_QUALITY_VOIP,
                                            &err);
        st->resampler_rate = rate;

        if (st->resampler == NULL) {
            ngx_log_error(NGX_LOG_ERR, st->log, 0,
                          "orbis stream %s: audio at %uD Hz dropped: %s",
                          st->id, rate, err.msg);
            return;
        }
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

    ngx_http_orbis_call_send_pcm(st, ngx_http_orbis_call_out, out);
}


static void
ngx_http_orbis_call_send_pcm(ngx_http_orbis_call_t *st, int16_t *samples,
    size_t n)
{
    size_t  chunk;

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
ngx_http_orbis_call_closing_handler(ngx_event_t *ev)
{
    ngx_http_orbis_call_t  *st = ev->data;

    ngx_log_error(NGX_LOG_INFO, st->log, 0,
                  "orbis stream %s: no close frame from the client in time",
                  st->id);

    ngx_http_orbis_call_client_lost(st);
    ngx_http_orbis_call_after(st);
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


/* ---- the transport's functions ---- */

static void
ngx_http_orbis_call_browser_send_event(ngx_http_orbis_call_t *st,
    const u_char *msg, size_t len)
{
    ngx_http_orbis_call_client_send(st, ORBIS_WS_TEXT, msg, len);
}


static void
ngx_http_orbis_call_browser_close(ngx_http_orbis_call_t *st, uint16_t code,
    const u_char *reason, size_t len)
{
    if (!st->client_gone && orbis_ws_state(st->ws) == ORBIS_WS_OPEN) {
        (void) orbis_ws_send_close(st->ws, code, (const char *) reason, len);
    }
}


static size_t
ngx_http_orbis_call_browser_backlog(ngx_http_orbis_call_t *st)
{
    return st->client_gone ? 0 : orbis_ws_output_size(st->ws);
}


static void
ngx_http_orbis_call_browser_resume(ngx_http_orbis_call_t *st)
{
    ngx_post_event(st->connection->read, &ngx_posted_events);
}


/* lets the connection go when it is done, or bounds its closing */

static void
ngx_http_orbis_call_browser_settle(ngx_http_orbis_call_t *st)
{
    orbis_ws_state_t  state;

    if (st->client_gone) {
        return;
    }

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


/* a protocol failure: the code the codec sent, not the session's */

static uint16_t
ngx_http_orbis_call_browser_sent_code(ngx_http_orbis_call_t *st)
{
    return (orbis_ws_state(st->ws) == ORBIS_WS_FAILED)
           ? orbis_ws_close_code(st->ws) : 0;
}


static void
ngx_http_orbis_call_browser_free(ngx_http_orbis_call_t *st)
{
    if (st->closing.timer_set) {
        ngx_del_timer(&st->closing);
    }

    orbis_resampler_free(st->resampler);
    orbis_ws_free(st->ws);
}
