/*
 * Copyright (C) Orbis
 *
 * Tool calls of a call: started by the model, run by the module, answered
 * to the model, and kept (within a byte budget) for the record.
 */


#include <stdio.h>
#include <string.h>

#include <orbiscore/alloc.h>

#include "base/base_int.h"
#include "session/session_int.h"



/* tools */

orbis_rc_t
orbis_session_start_tool(orbis_session_t *s,
    const orbis_peer_tool_call_t *call, int64_t now,
    orbis_session_actions_t *a)
{
    int                          failed;
    char                         id[32];
    size_t                       cost;
    json_t                      *resp;
    orbis_rc_t                   rc;
    orbis_session_tool_t        *tools, *t;

    if (call->id != NULL) {
        t = orbis_session_find_tool(s, call->id);

        if (t != NULL && t->status == ORBIS_CLIENT_TOOL_STARTED) {
            /* the same call again: it is already running */
            return ORBIS_OK;
        }
    }

    if (s->n_tools == ORBIS_SESSION_MAX_TOOL_CALLS) {
        resp = json_pack("{s:s}", "error", "too many tool calls in this call");
        if (resp == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        /* the action list holds its own reference */
        rc = orbis_session_peer_tool_result(a, call->id, call->name, resp);
        json_decref(resp);

        return rc;
    }

    tools = orbis_array_room(s->tools, s->n_tools, &s->cap_tools, 8,
                             sizeof(orbis_session_tool_t));
    if (tools == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    s->tools = tools;

    t = &s->tools[s->n_tools];
    memset(t, 0, sizeof(orbis_session_tool_t));

    failed = 0;

    if (call->id != NULL) {
        t->id = orbis_strdup_or_flag(call->id, &failed);
        t->id_given = 1;

    } else {
        /* the module needs a key to answer with */
        snprintf(id, sizeof(id), "orbis-call-%zu", s->n_tools + 1);
        t->id = orbis_strdup_or_flag(id, &failed);
    }

    t->name = orbis_strdup_or_flag(call->name, &failed);
    t->args = (call->args != NULL) ? json_deep_copy(call->args)
                                   : json_object();

    if (failed || t->args == NULL) {
        orbis_free(t->id);
        orbis_free(t->name);
        json_decref(t->args);
        return ORBIS_ERR_NOMEM;
    }

    /* the tool gets its args; the record keeps them within the budget */
    cost = json_dumpb(t->args, NULL, 0, JSON_COMPACT) + strlen(t->id)
           + (t->name != NULL ? strlen(t->name) : 0);

    if (s->tool_bytes + cost > ORBIS_SESSION_MAX_TOOL_BYTES) {
        t->args_dropped = 1;

    } else {
        s->tool_bytes += cost;
    }

    t->status = ORBIS_CLIENT_TOOL_STARTED;
    t->started_ms = now;
    t->finished_ms = -1;
    s->n_tools++;

    rc = orbis_session_push_tool(a, ORBIS_SESSION_ACT_RUN_TOOL, t);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_session_caller_tool(a, t);
}


/*
 * Ends a running tool; takes response (may be NULL).  Answers Gemini
 * unless the call was cancelled, stops the module's work unless the
 * module itself reported the result.
 */

orbis_rc_t
orbis_session_finish_tool(orbis_session_t *s, orbis_session_tool_t *t,
    orbis_client_tool_status_t status, json_t *response, int notify,
    int64_t now, orbis_session_actions_t *a)
{
    size_t                      cost;
    orbis_rc_t                  rc;

    if (t == NULL || t->status != ORBIS_CLIENT_TOOL_STARTED) {
        json_decref(response);
        return ORBIS_OK;
    }

    t->status = status;
    t->finished_ms = now;
    t->result = response;

    if (response != NULL) {
        cost = json_dumpb(response, NULL, 0, JSON_COMPACT);

        if (s->tool_bytes + cost > ORBIS_SESSION_MAX_TOOL_BYTES) {
            /* the model still gets it whole, below */
            t->result_dropped = 1;

        } else {
            s->tool_bytes += cost;
        }
    }

    rc = ORBIS_OK;

    if (status != ORBIS_CLIENT_TOOL_CANCELLED
        && s->state == ORBIS_SESSION_LIVE && s->upstream_open)
    {
        rc = orbis_session_peer_tool_result(a, t->id_given ? t->id : NULL,
                                            t->name, response);
    }

    if (rc == ORBIS_OK
        && (status == ORBIS_CLIENT_TOOL_CANCELLED
            || status == ORBIS_CLIENT_TOOL_TIMEOUT))
    {
        rc = orbis_session_push_tool(a, ORBIS_SESSION_ACT_CANCEL_TOOL, t);
    }

    if (rc == ORBIS_OK && notify && s->client_open) {
        rc = orbis_session_caller_tool(a, t);
    }

    return rc;
}


orbis_rc_t
orbis_session_cancel_tools(orbis_session_t *s, int notify, int64_t now,
    orbis_session_actions_t *a)
{
    size_t      i;
    orbis_rc_t  rc;

    for (i = 0; i < s->n_tools; i++) {
        rc = orbis_session_finish_tool(s, &s->tools[i],
                                       ORBIS_CLIENT_TOOL_CANCELLED, NULL,
                                       notify, now, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    return ORBIS_OK;
}


/* the latest record with that id: Gemini ids are unique per connection */

orbis_session_tool_t *
orbis_session_find_tool(orbis_session_t *s, const char *id)
{
    size_t  i;

    for (i = s->n_tools; i > 0; i--) {
        if (strcmp(s->tools[i - 1].id, id) == 0) {
            return &s->tools[i - 1];
        }
    }

    return NULL;
}


void
orbis_session_free_tools(orbis_session_t *s)
{
    size_t  i;

    for (i = 0; i < s->n_tools; i++) {
        orbis_free(s->tools[i].id);
        orbis_free(s->tools[i].name);
        json_decref(s->tools[i].args);
        json_decref(s->tools[i].result);
    }

    orbis_free(s->tools);

    s->tools = NULL;
    s->n_tools = 0;
}
