
/*
 * Copyright (C) Orbis
 *
 * The Gemini Live peer of a call: a TLS WebSocket per connection
 * (drivers/ngx_http_orbis_gemini.c), its messages mapped to and from the
 * session's events by liborbiscore's Gemini adapter (gemini.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"


static ngx_int_t ngx_http_orbis_call_gemini_init(ngx_http_orbis_call_t *st,
    json_t *agent, orbis_session_conf_t *sc);
static void ngx_http_orbis_call_gemini_open(ngx_http_orbis_call_t *st,
    const char *handle);
static void ngx_http_orbis_call_gemini_send(ngx_http_orbis_call_t *st,
    const u_char *msg, size_t len);
static void ngx_http_orbis_call_gemini_close(ngx_http_orbis_call_t *st);
static ngx_uint_t ngx_http_orbis_call_gemini_active(
    ngx_http_orbis_call_t *st);
static size_t ngx_http_orbis_call_gemini_backlog(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_gemini_pause(ngx_http_orbis_call_t *st,
    ngx_uint_t on);
static void ngx_http_orbis_call_gemini_started(ngx_http_orbis_call_t *st);
static void ngx_http_orbis_call_gemini_free(ngx_http_orbis_call_t *st);

static void ngx_http_orbis_call_up_open(void *data);
static void ngx_http_orbis_call_up_message(void *data, u_char *msg,
    size_t len);
static void ngx_http_orbis_call_up_close(void *data, ngx_uint_t code,
    u_char *reason, size_t len);
static void ngx_http_orbis_call_up_drain(void *data);


const ngx_http_orbis_call_peer_t  ngx_http_orbis_call_gemini_peer = {
    "gemini",
    &orbis_gemini_codec,
    ngx_http_orbis_call_gemini_init,
    ngx_http_orbis_call_gemini_open,
    ngx_http_orbis_call_gemini_send,
    ngx_http_orbis_call_gemini_close,
    ngx_http_orbis_call_gemini_active,
    ngx_http_orbis_call_gemini_backlog,
    ngx_http_orbis_call_gemini_pause,
    ngx_http_orbis_call_gemini_started,
    ngx_http_orbis_call_gemini_free
};


static ngx_http_orbis_gemini_handlers_t  ngx_http_orbis_call_up_handlers = {
    ngx_http_orbis_call_up_open,
    ngx_http_orbis_call_up_message,
    ngx_http_orbis_call_up_close,
    ngx_http_orbis_call_up_drain
};


/* the agent's setup for Gemini, checked before the call starts */

static ngx_int_t
ngx_http_orbis_call_gemini_init(ngx_http_orbis_call_t *st, json_t *agent,
    orbis_session_conf_t *sc)
{
    json_t                *decl;
    const char            *s;
    orbis_err_t            err;
    orbis_gemini_setup_t   gs;

    ngx_memzero(&gs, sizeof(orbis_gemini_setup_t));

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

    /* a copy: decl and the agent's strings may go */
    st->gemini = orbis_gemini_peer_new(&gs, &err);

    json_decref(decl);

    if (st->gemini == NULL) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "orbis stream: cannot start a session: %s", err.msg);
        return NGX_ERROR;
    }

    sc->model = orbis_gemini_peer_model(st->gemini);
    st->peer_ctx = st->gemini;

    return NGX_OK;
}


static void
ngx_http_orbis_call_gemini_open(ngx_http_orbis_call_t *st,
    const char *handle)
{
    /* the handle goes into the setup, which the session sends on open */
    (void) handle;

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


static void
ngx_http_orbis_call_up_open(void *data)
{
    ngx_http_orbis_call_t  *st = data;

    orbis_rc_t  rc;

    rc = orbis_session_on_peer_open(st->session,
                                        ngx_http_orbis_call_now(),
                                        &st->actions);
    ngx_http_orbis_call_carry_out(st, rc);

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

    ngx_http_orbis_call_carry_out(st, rc);

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
        ngx_http_orbis_call_carry_out(st, rc);
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


static void
ngx_http_orbis_call_gemini_send(ngx_http_orbis_call_t *st, const u_char *msg,
    size_t len)
{
    if (st->upstream != NULL) {
        (void) ngx_http_orbis_gemini_send(st->upstream, (u_char *) msg, len);
    }
}


static void
ngx_http_orbis_call_gemini_close(ngx_http_orbis_call_t *st)
{
    if (st->upstream != NULL) {
        ngx_http_orbis_gemini_close(st->upstream);
        st->upstream = NULL;
    }
}


static ngx_uint_t
ngx_http_orbis_call_gemini_active(ngx_http_orbis_call_t *st)
{
    return st->upstream != NULL;
}


static size_t
ngx_http_orbis_call_gemini_backlog(ngx_http_orbis_call_t *st)
{
    return (st->upstream != NULL)
           ? ngx_http_orbis_gemini_backlog(st->upstream) : 0;
}


static void
ngx_http_orbis_call_gemini_pause(ngx_http_orbis_call_t *st, ngx_uint_t on)
{
    if (st->upstream != NULL) {
        ngx_http_orbis_gemini_pause(st->upstream, on);
    }
}


static void
ngx_http_orbis_call_gemini_started(ngx_http_orbis_call_t *st)
{
    (void) st;
}


static void
ngx_http_orbis_call_gemini_free(ngx_http_orbis_call_t *st)
{
    ngx_http_orbis_call_gemini_close(st);
    orbis_gemini_peer_free(st->gemini);
    st->gemini = NULL;
}
