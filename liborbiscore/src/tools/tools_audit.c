/*
 * Copyright (C) Orbis
 *
 * The audit record of a call: filled in as the call starts and ends, and
 * turned into JSON for the caller to store.  Arguments and results are
 * kept as text cut to ORBIS_TOOL_AUDIT_MAX, since a tool's answer may be
 * large and the log must not be.
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "tools_int.h"


static const char  *orbis_tools_status_names[] = {
    "idle", "running", "ok", "error", "timeout", "cancelled"
};


char *
orbis_tools_audit_text(const json_t *v, int *truncated)
{
    char  *s;

    *truncated = 0;

    /* ASCII only: cutting anywhere cannot leave broken UTF-8 behind */
    s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    if (s == NULL) {
        return NULL;
    }

    if (strlen(s) > ORBIS_TOOL_AUDIT_MAX) {
        s[ORBIS_TOOL_AUDIT_MAX] = '\0';
        *truncated = 1;
    }

    return s;
}


void
orbis_tools_finish(orbis_tool_ctx_t *ctx, orbis_tool_status_t status,
    const json_t *result, const char *error, uint64_t now_ms)
{
    int  cut;

    ctx->status = status;
    ctx->audit.status = status;
    ctx->audit.finished_ms = now_ms;

    if (result != NULL) {
        ctx->result = orbis_tools_audit_text(result, &cut);
        ctx->audit.result = ctx->result;
        ctx->audit.result_truncated = cut;
    }

    if (error != NULL) {
        ctx->error = orbis_strdup(error);
        ctx->audit.error = ctx->error;
    }
}


const orbis_tool_audit_t *
orbis_tool_ctx_audit(const orbis_tool_ctx_t *ctx)
{
    return &ctx->audit;
}


const char *
orbis_tool_status_name(orbis_tool_status_t status)
{
    if ((size_t) status >= sizeof(orbis_tools_status_names) / sizeof(char *))
    {
        return "unknown";
    }

    return orbis_tools_status_names[status];
}


json_t *
orbis_tool_audit_json(const orbis_tool_audit_t *a)
{
    json_t    *o;
    uint64_t   duration;

    duration = (a->finished_ms > a->started_ms)
               ? a->finished_ms - a->started_ms : 0;

    o = json_pack("{s:s, s:s?, s:s, s:s, s:b, s:s, s:I}",
                  "callId", a->call_id,
                  "tenantId", a->tenant_id,
                  "name", a->name,
                  "args", a->args,
                  "argsTruncated", (int) a->args_truncated,
                  "status", orbis_tool_status_name(a->status),
                  "startedMs", (json_int_t) a->started_ms);
    if (o == NULL) {
        return NULL;
    }

    /* both left out while the call runs */
    if (a->finished_ms != 0
        && (json_object_set_new(o, "finishedMs",
                                json_integer((json_int_t) a->finished_ms))
            != 0
            || json_object_set_new(o, "durationMs",
                                   json_integer((json_int_t) duration))
               != 0))
    {
        json_decref(o);
        return NULL;
    }

    if (a->result != NULL
        && (json_object_set_new(o, "result", json_string(a->result)) != 0
            || json_object_set_new(o, "resultTruncated",
                                   json_boolean(a->result_truncated)) != 0))
    {
        json_decref(o);
        return NULL;
    }

    if (a->error != NULL
        && (json_object_set_new(o, "error", json_string(a->error)) != 0
            || json_object_set_new(o, "errorCode",
                                   json_string(orbis_rc_name(a->error_code)))
               != 0))
    {
        json_decref(o);
        return NULL;
    }

    return o;
}
