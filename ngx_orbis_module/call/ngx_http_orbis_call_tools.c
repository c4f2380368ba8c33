
/*
 * Copyright (C) Orbis
 *
 * A call's tools: the agent's tools as the model's declarations, run when
 * the session asks (RUN_TOOL), cancelled (CANCEL_TOOL), and their results
 * handed back to the session from ngx_http_orbis_call_after().  Audio a
 * tool makes (a tone, DTMF) goes to the caller through the transport.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"


/* a tool's audio goes out in frames of at most this many samples */
#define NGX_HTTP_ORBIS_CALL_TOOL_FRAME  4800


static void ngx_http_orbis_call_tool_done(orbis_tool_ctx_t *ctx,
    json_t *result, void *userdata);
static void ngx_http_orbis_call_tool_audio(ngx_http_orbis_call_t *st,
    int16_t *samples, size_t n, uint32_t rate);
static void ngx_http_orbis_call_tool_free(ngx_http_orbis_call_tool_t *t);


static u_char  ngx_http_orbis_call_tool_pcm[NGX_HTTP_ORBIS_CALL_TOOL_FRAME
                                            * 2];


/* the agent's tools that the registry knows, as Gemini declarations */

json_t *
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


/* ---- tools ---- */

void
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
        ngx_http_orbis_call_tool_audio(st, pcm, n, rate);
        orbis_free(pcm);
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
        ngx_http_orbis_call_tool_audio(st, pcm, n, rate);
        orbis_free(pcm);
    }

    t->done = 1;
    t->ok = (orbis_tool_ctx_status(ctx) == ORBIS_TOOL_STATUS_OK);
    t->result = result;

    ngx_post_event(&st->posted, &ngx_posted_events);
}


void
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

ngx_uint_t
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


static void
ngx_http_orbis_call_tool_audio(ngx_http_orbis_call_t *st, int16_t *samples,
    size_t n, uint32_t rate)
{
    size_t  chunk;

    while (n > 0) {
        chunk = ngx_min(n, NGX_HTTP_ORBIS_CALL_TOOL_FRAME);

        orbis_pcm_encode(samples, chunk, ngx_http_orbis_call_tool_pcm);
        st->transport->send_audio(st, ngx_http_orbis_call_tool_pcm,
                                  chunk * 2, rate);
        samples += chunk;
        n -= chunk;
    }
}


/* the call is over: running tools are cancelled, the rest dropped */

void
ngx_http_orbis_call_tools_free(ngx_http_orbis_call_t *st)
{
    ngx_queue_t                 *q;
    ngx_http_orbis_call_tool_t  *t;

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
}
