/*
 * Copyright (C) Orbis
 *
 * Running a call: argument checks, the handler, and the four ways a call
 * ends (done, failed, timed out, cancelled), of which only the first to
 * happen counts.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "tools_int.h"


#define ORBIS_TOOLS_ERROR_MAX  512


static orbis_tool_rc_t orbis_tools_call_error(orbis_tool_ctx_t *ctx,
    orbis_rc_t code, const char *message, uint64_t now_ms,
    json_t **result);
static json_t *orbis_tools_wrap(json_t *result);
static void orbis_tools_deliver(orbis_tool_ctx_t *ctx, json_t *result);


orbis_tool_rc_t
orbis_tools_call(const orbis_tools_t *tools, orbis_tool_ctx_t *ctx,
    const char *name, const json_t *args, uint64_t now_ms, json_t **result)
{
    int                  cut;
    char                 msg[ORBIS_ERR_MSG_LEN + 32];
    json_t              *res, *empty;
    orbis_err_t          err;
    orbis_tool_rc_t      rc;
    const orbis_tool_t  *tool;

    *result = NULL;

    if (ctx->status != ORBIS_TOOL_STATUS_IDLE) {
        *result = orbis_tools_error_result("tool call context already used");
        return ORBIS_TOOL_ERROR;
    }

    ctx->status = ORBIS_TOOL_STATUS_RUNNING;
    ctx->audit.status = ORBIS_TOOL_STATUS_RUNNING;
    ctx->audit.started_ms = now_ms;

    ctx->name = orbis_strdup(name != NULL ? name : "");
    ctx->audit.name = ctx->name != NULL ? ctx->name : "";

    empty = json_object();
    if (empty == NULL) {
        return orbis_tools_call_error(ctx, ORBIS_ERR_NOMEM, "out of memory",
                                      now_ms, result);
    }

    ctx->args = orbis_tools_audit_text(args != NULL ? args : empty, &cut);
    ctx->audit.args = ctx->args != NULL ? ctx->args : "";
    ctx->audit.args_truncated = cut;

    tool = orbis_tools_find(tools, name);

    if (tool == NULL) {
        json_decref(empty);
        orbis_err_set(&err, ORBIS_ERR_NOT_FOUND, "unknown tool '%.64s'",
                      ctx->audit.name);
        return orbis_tools_call_error(ctx, err.code, err.msg, now_ms, result);
    }

    ctx->timeout_ms = tool->timeout_ms;

    if (orbis_tool_validate_args(tool, args, &err) != ORBIS_OK) {
        json_decref(empty);
        snprintf(msg, sizeof(msg), "invalid arguments: %s", err.msg);
        return orbis_tools_call_error(ctx, ORBIS_ERR_INVALID, msg, now_ms,
                                      result);
    }

    err.code = ORBIS_OK;
    err.msg[0] = '\0';
    res = NULL;

    ctx->in_run = 1;
    rc = (orbis_tool_rc_t) tool->run(tool, args != NULL ? args : empty,
                                     ctx, &res, &err);
    ctx->in_run = 0;

    json_decref(empty);

    if (ctx->status != ORBIS_TOOL_STATUS_RUNNING) {
        /* the handler completed (or failed) before it returned */
        json_decref(res);

        *result = ctx->early;
        ctx->early = NULL;

        if (*result == NULL) {
            *result = orbis_tools_error_result("tool call ended");
        }

        return ctx->status == ORBIS_TOOL_STATUS_OK ? ORBIS_TOOL_DONE
                                                   : ORBIS_TOOL_ERROR;
    }

    switch (rc) {

    case ORBIS_TOOL_DONE:
        if (res == NULL) {
            return orbis_tools_call_error(ctx, ORBIS_ERR_INTERNAL,
                                          "tool returned no result", now_ms,
                                          result);
        }

        res = orbis_tools_wrap(res);
        if (res == NULL) {
            return orbis_tools_call_error(ctx, ORBIS_ERR_NOMEM,
                                          "out of memory", now_ms, result);
        }

        orbis_tools_finish(ctx, ORBIS_TOOL_STATUS_OK, res, NULL, now_ms);
        *result = res;

        return ORBIS_TOOL_DONE;

    case ORBIS_TOOL_PENDING:
        json_decref(res);
        return ORBIS_TOOL_PENDING;

    default:
        json_decref(res);

        return orbis_tools_call_error(ctx,
                                      err.code != ORBIS_OK
                                      ? err.code : ORBIS_ERR_INTERNAL,
                                      err.msg[0] ? err.msg : "tool failed",
                                      now_ms, result);
    }
}


orbis_rc_t
orbis_tool_complete(orbis_tool_ctx_t *ctx, json_t *result, uint64_t now_ms)
{
    if (ctx->status != ORBIS_TOOL_STATUS_RUNNING) {
        json_decref(result);
        return ORBIS_ERR_EXPIRED;
    }

    if (result == NULL) {
        return orbis_tool_fail(ctx, ORBIS_ERR_INTERNAL,
                               "tool returned no result", now_ms);
    }

    result = orbis_tools_wrap(result);
    if (result == NULL) {
        return orbis_tool_fail(ctx, ORBIS_ERR_NOMEM, "out of memory",
                               now_ms);
    }

    orbis_tools_finish(ctx, ORBIS_TOOL_STATUS_OK, result, NULL, now_ms);
    orbis_tools_deliver(ctx, result);

    return ORBIS_OK;
}


orbis_rc_t
orbis_tool_fail(orbis_tool_ctx_t *ctx, orbis_rc_t code, const char *message,
    uint64_t now_ms)
{
    json_t  *res;

    if (ctx->status != ORBIS_TOOL_STATUS_RUNNING) {
        return ORBIS_ERR_EXPIRED;
    }

    res = orbis_tools_error_result(message != NULL ? message
                                                   : "tool failed");

    orbis_tools_finish(ctx, ORBIS_TOOL_STATUS_ERROR, NULL,
                       res != NULL
                       ? json_string_value(json_object_get(res, "error"))
                       : "tool failed",
                       now_ms);
    ctx->audit.error_code = (code != ORBIS_OK) ? code : ORBIS_ERR_INTERNAL;

    if (res == NULL) {
        /* nothing to hand over; the caller's timer will answer the model */
        return ORBIS_ERR_NOMEM;
    }

    orbis_tools_deliver(ctx, res);

    return ORBIS_OK;
}


json_t *
orbis_tool_timeout(orbis_tool_ctx_t *ctx, uint64_t now_ms)
{
    char  msg[ORBIS_ERR_MSG_LEN + 64];

    if (ctx->status != ORBIS_TOOL_STATUS_RUNNING) {
        return NULL;
    }

    snprintf(msg, sizeof(msg), "tool '%.64s' timed out after %u ms",
             ctx->audit.name, ctx->timeout_ms);

    orbis_tools_finish(ctx, ORBIS_TOOL_STATUS_TIMEOUT, NULL, msg, now_ms);
    ctx->audit.error_code = ORBIS_ERR_EXPIRED;

    return orbis_tools_error_result(msg);
}


orbis_rc_t
orbis_tool_cancel(orbis_tool_ctx_t *ctx, uint64_t now_ms)
{
    if (ctx->status != ORBIS_TOOL_STATUS_RUNNING) {
        return ORBIS_ERR_EXPIRED;
    }

    orbis_tools_finish(ctx, ORBIS_TOOL_STATUS_CANCELLED, NULL,
                       "cancelled by the model", now_ms);

    return ORBIS_OK;
}


json_t *
orbis_tools_error_result(const char *message)
{
    size_t   len;
    json_t  *s;

    len = strlen(message);

    if (len > ORBIS_TOOLS_ERROR_MAX) {
        len = ORBIS_TOOLS_ERROR_MAX;
    }

    /*
     * Messages get cut by snprintf and may hold what a model or a remote
     * service sent; jansson refuses invalid UTF-8, so back off to the
     * longest prefix it takes.
     */
    while ((s = json_stringn(message, len)) == NULL && len > 0) {
        len--;
    }

    if (s == NULL) {
        return NULL;
    }

    return json_pack("{s:o}", "error", s);
}


static orbis_tool_rc_t
orbis_tools_call_error(orbis_tool_ctx_t *ctx, orbis_rc_t code,
    const char *message, uint64_t now_ms, json_t **result)
{
    *result = orbis_tools_error_result(message);

    orbis_tools_finish(ctx, ORBIS_TOOL_STATUS_ERROR, NULL,
                       *result != NULL
                       ? json_string_value(json_object_get(*result, "error"))
                       : message,
                       now_ms);
    ctx->audit.error_code = code;

    return ORBIS_TOOL_ERROR;
}


static json_t *
orbis_tools_wrap(json_t *result)
{
    /* FunctionResponse.response is a Struct: it must be an object */
    if (json_is_object(result)) {
        return result;
    }

    return json_pack("{s:o}", "result", result);
}


static void
orbis_tools_deliver(orbis_tool_ctx_t *ctx, json_t *result)
{
    if (ctx->in_run) {
        json_decref(ctx->early);
        ctx->early = result;
        return;
    }

    /* the callback may drop the last reference: ctx is off limits after */
    if (ctx->on_done != NULL) {
        ctx->on_done(ctx, result, ctx->userdata);

    } else {
        json_decref(result);
    }
}
