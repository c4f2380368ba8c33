/*
 * Copyright (C) Orbis
 *
 * The per-call context: what a handler may know about the call, the
 * audio it leaves for the caller, and the reference count that lets a
 * late completion arrive after the caller gave up on the call.
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "tools_int.h"


orbis_tool_ctx_t *
orbis_tool_ctx_new(const orbis_tool_ctx_conf_t *conf, orbis_err_t *err)
{
    orbis_tool_ctx_t  *ctx;

    if (conf == NULL || conf->call_id == NULL) {
        orbis_err_set(err, ORBIS_ERR_INVALID, "tool call without an id");
        return NULL;
    }

    ctx = orbis_calloc(1, sizeof(orbis_tool_ctx_t));
    if (ctx == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return NULL;
    }

    ctx->refs = 1;
    ctx->status = ORBIS_TOOL_STATUS_IDLE;
    ctx->output_rate = conf->output_rate ? conf->output_rate
                                         : ORBIS_TOOL_DEFAULT_RATE;
    ctx->on_done = conf->on_done;
    ctx->userdata = conf->userdata;
    ctx->io = conf->io;

    ctx->call_id = orbis_strdup(conf->call_id);

    if (conf->tenant_id != NULL) {
        ctx->tenant_id = orbis_strdup(conf->tenant_id);
    }

    if (ctx->call_id == NULL
        || (conf->tenant_id != NULL && ctx->tenant_id == NULL))
    {
        orbis_tool_ctx_release(ctx);
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return NULL;
    }

    ctx->audit.call_id = ctx->call_id;
    ctx->audit.tenant_id = ctx->tenant_id;
    ctx->audit.name = "";
    ctx->audit.args = "";
    ctx->audit.status = ORBIS_TOOL_STATUS_IDLE;

    return ctx;
}


void
orbis_tool_ctx_hold(orbis_tool_ctx_t *ctx)
{
    ctx->refs++;
}


void
orbis_tool_ctx_release(orbis_tool_ctx_t *ctx)
{
    if (ctx == NULL || --ctx->refs > 0) {
        return;
    }

    json_decref(ctx->early);
    orbis_free(ctx->call_id);
    orbis_free(ctx->tenant_id);
    orbis_free(ctx->name);
    orbis_free(ctx->args);
    orbis_free(ctx->result);
    orbis_free(ctx->error);
    orbis_free(ctx->audio);
    orbis_free(ctx);
}


orbis_tool_status_t
orbis_tool_ctx_status(const orbis_tool_ctx_t *ctx)
{
    return ctx->status;
}


const char *
orbis_tool_ctx_call_id(const orbis_tool_ctx_t *ctx)
{
    return ctx->call_id;
}


const char *
orbis_tool_ctx_tenant_id(const orbis_tool_ctx_t *ctx)
{
    return ctx->tenant_id;
}


uint32_t
orbis_tool_ctx_output_rate(const orbis_tool_ctx_t *ctx)
{
    return ctx->output_rate;
}


void *
orbis_tool_ctx_io(const orbis_tool_ctx_t *ctx)
{
    return ctx->io;
}


uint32_t
orbis_tool_ctx_timeout_ms(const orbis_tool_ctx_t *ctx)
{
    return ctx->timeout_ms;
}


void
orbis_tool_ctx_set_audio(orbis_tool_ctx_t *ctx, int16_t *samples, size_t n,
    uint32_t rate)
{
    orbis_free(ctx->audio);

    ctx->audio = samples;
    ctx->audio_n = samples != NULL ? n : 0;
    ctx->audio_rate = rate;
}


int
orbis_tool_ctx_take_audio(orbis_tool_ctx_t *ctx, int16_t **samples,
    size_t *n, uint32_t *rate)
{
    if (ctx->audio == NULL) {
        *samples = NULL;
        *n = 0;
        *rate = 0;
        return 0;
    }

    *samples = ctx->audio;
    *n = ctx->audio_n;
    *rate = ctx->audio_rate;

    ctx->audio = NULL;
    ctx->audio_n = 0;

    return 1;
}
