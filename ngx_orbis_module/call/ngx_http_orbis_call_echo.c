
/*
 * Copyright (C) Orbis
 *
 * The echo peer: no model is configured on this server, so the session's
 * echo stand-in (liborbiscore session_echo.c) answers, and nothing leaves
 * the worker.  The caller's own audio comes back through the transport,
 * which resamples it to its output rate.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"


#define NGX_HTTP_ORBIS_CALL_ECHO_NOTICE                                    \
    "Echo mode: no model is configured on this server, so what you say "   \
    "is played back to you."


static ngx_int_t ngx_http_orbis_call_echo_init(ngx_http_orbis_call_t *st,
    json_t *agent, orbis_session_conf_t *sc);
static void ngx_http_orbis_call_echo_open(ngx_http_orbis_call_t *st,
    const char *handle);
static void ngx_http_orbis_call_echo_send(ngx_http_orbis_call_t *st,
    const u_char *msg, size_t len);
static void ngx_http_orbis_call_echo_nothing(ngx_http_orbis_call_t *st);
static ngx_uint_t ngx_http_orbis_call_echo_active(ngx_http_orbis_call_t *st);
static size_t ngx_http_orbis_call_echo_backlog(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_echo_pause(ngx_http_orbis_call_t *st,
    ngx_uint_t on);
static void ngx_http_orbis_call_echo_started(ngx_http_orbis_call_t *st);


const ngx_http_orbis_call_peer_t  ngx_http_orbis_call_echo_peer = {
    "echo",
    NULL,
    ngx_http_orbis_call_echo_init,
    ngx_http_orbis_call_echo_open,
    ngx_http_orbis_call_echo_send,
    ngx_http_orbis_call_echo_nothing,
    ngx_http_orbis_call_echo_active,
    ngx_http_orbis_call_echo_backlog,
    ngx_http_orbis_call_echo_pause,
    ngx_http_orbis_call_echo_started,
    ngx_http_orbis_call_echo_nothing
};


static ngx_int_t
ngx_http_orbis_call_echo_init(ngx_http_orbis_call_t *st, json_t *agent,
    orbis_session_conf_t *sc)
{
    (void) st;
    (void) agent;

    sc->echo = 1;

    return NGX_OK;
}


/* the session never asks an echo call for a connection */

static void
ngx_http_orbis_call_echo_open(ngx_http_orbis_call_t *st, const char *handle)
{
    (void) handle;

    ngx_log_error(NGX_LOG_ALERT, st->log, 0,
                  "orbis stream %s: echo peer asked to connect", st->id);
}


static void
ngx_http_orbis_call_echo_send(ngx_http_orbis_call_t *st, const u_char *msg,
    size_t len)
{
    (void) st;
    (void) msg;
    (void) len;
}


static void
ngx_http_orbis_call_echo_nothing(ngx_http_orbis_call_t *st)
{
    (void) st;
}


static ngx_uint_t
ngx_http_orbis_call_echo_active(ngx_http_orbis_call_t *st)
{
    (void) st;

    return 0;
}


static size_t
ngx_http_orbis_call_echo_backlog(ngx_http_orbis_call_t *st)
{
    (void) st;

    return 0;
}


static void
ngx_http_orbis_call_echo_pause(ngx_http_orbis_call_t *st, ngx_uint_t on)
{
    (void) st;
    (void) on;
}


/* the caller hears why: an agent transcript, not kept in the record */

static void
ngx_http_orbis_call_echo_started(ngx_http_orbis_call_t *st)
{
    orbis_strbuf_t      b;
    orbis_caller_out_t  ev;

    if (st->transport->codec == NULL) {
        return;
    }

    ngx_memzero(&ev, sizeof(orbis_caller_out_t));
    ev.type = ORBIS_CALLER_OUT_TRANSCRIPT;
    ev.role = ORBIS_CLIENT_ROLE_AGENT;
    ev.text = NGX_HTTP_ORBIS_CALL_ECHO_NOTICE;
    ev.text_len = sizeof(NGX_HTTP_ORBIS_CALL_ECHO_NOTICE) - 1;
    ev.final = 1;

    orbis_strbuf_init(&b);

    if (st->transport->codec->render(NULL, &b, &ev, NULL) == ORBIS_OK) {
        st->transport->send_event(st, (u_char *) b.data, b.len);
    }

    orbis_strbuf_free(&b);
}
