/*
 * Copyright (C) Orbis
 *
 * Action lists: what the state machine asks the module to do, as
 * normalised events (callevent.h) and, when codecs are set, their wire
 * messages.  Everything an action points to lives in the list's arena
 * (which may move while actions are added: pointers are set last, by
 * orbis_session_actions_fix()), in the session, or in the list's held
 * references.
 */


#include <string.h>

#include <orbiscore/alloc.h>

#include "base/base_int.h"
#include "session/session_int.h"


#define ORBIS_SESSION_NO_DATA  SIZE_MAX


static orbis_rc_t orbis_session_arena_add(orbis_session_actions_t *a,
    const void *p, size_t len, size_t *off);
static orbis_rc_t orbis_session_hold(orbis_session_actions_t *a,
    const json_t *j);


/* names of the shared vocabulary (callevent.h) */

const char *
orbis_close_reason_text(uint16_t code)
{
    switch (code) {

    case ORBIS_CLOSE_NORMAL:
        return "normal end";

    case ORBIS_CLOSE_GOING_AWAY:
        return "server going away";

    case ORBIS_CLOSE_ABNORMAL:
        return "connection lost";

    case ORBIS_CLOSE_INVALID_PAYLOAD:
        return "invalid message";

    case ORBIS_CLOSE_POLICY:
        return "too many invalid messages";

    case ORBIS_CLOSE_INTERNAL:
        return "internal error";

    case ORBIS_CLOSE_TRY_AGAIN_LATER:
        return "busy, try again shortly";

    case ORBIS_CLOSE_UNKNOWN_AGENT:
        return "unknown agent";

    case ORBIS_CLOSE_RATE_LIMITED:
        return "rate limited";

    case ORBIS_CLOSE_USAGE_LIMIT:
        return "usage limit reached";

    case ORBIS_CLOSE_REFUSED:
        return "key or origin refused";

    case ORBIS_CLOSE_MODEL_UNAVAILABLE:
        return "model unavailable";

    case ORBIS_CLOSE_IDLE_TIMEOUT:
        return "idle timeout";

    case ORBIS_CLOSE_MESSAGE_RATE:
        return "too many messages";

    default:
        return "";
    }
}


const char *
orbis_client_role_name(orbis_client_role_t role)
{
    switch (role) {

    case ORBIS_CLIENT_ROLE_USER:
        return "user";

    case ORBIS_CLIENT_ROLE_AGENT:
        return "agent";

    default:
        return "unknown";
    }
}


const char *
orbis_client_tool_status_name(orbis_client_tool_status_t st)
{
    switch (st) {

    case ORBIS_CLIENT_TOOL_STARTED:
        return "started";

    case ORBIS_CLIENT_TOOL_OK:
        return "ok";

    case ORBIS_CLIENT_TOOL_ERROR:
        return "error";

    case ORBIS_CLIENT_TOOL_CANCELLED:
        return "cancelled";

    case ORBIS_CLIENT_TOOL_TIMEOUT:
        return "timeout";

    default:
        return "unknown";
    }
}


/* action lists */

void
orbis_session_actions_init(orbis_session_actions_t *a)
{
    memset(a, 0, sizeof(orbis_session_actions_t));
    orbis_strbuf_init(&a->arena);
    orbis_strbuf_init(&a->scratch);
}


void
orbis_session_actions_free(orbis_session_actions_t *a)
{
    orbis_session_actions_reset(a);
    orbis_free(a->items);
    orbis_free(a->held);
    orbis_strbuf_free(&a->arena);
    orbis_strbuf_free(&a->scratch);
    orbis_session_actions_init(a);
}


void
orbis_session_actions_codecs(orbis_session_actions_t *a,
    const orbis_caller_codec_t *caller, void *caller_ctx,
    const orbis_peer_codec_t *peer, void *peer_ctx)
{
    a->caller_codec = caller;
    a->caller_ctx = caller_ctx;
    a->peer_codec = peer;
    a->peer_ctx = peer_ctx;
}


void
orbis_session_actions_reset(orbis_session_actions_t *a)
{
    size_t  i;

    for (i = 0; i < a->n_held; i++) {
        json_decref(a->held[i]);
    }

    a->n_held = 0;
    a->n = 0;
    orbis_strbuf_reset(&a->arena);
}


/* the arena may have moved while actions were added: pointers last */

void
orbis_session_actions_fix(orbis_session_actions_t *a)
{
    size_t                   i;
    const char              *p;
    orbis_session_action_t  *act;

    for (i = 0; i < a->n; i++) {
        act = &a->items[i];

        act->data = (act->data_off == ORBIS_SESSION_NO_DATA)
                    ? NULL : a->arena.data + act->data_off;

        p = (act->payload_off == ORBIS_SESSION_NO_DATA)
            ? NULL : a->arena.data + act->payload_off;

        if (act->type == ORBIS_SESSION_ACT_CALLER_EVENT) {
            act->caller.text = p;

        } else if (act->type == ORBIS_SESSION_ACT_PEER_SEND) {

            switch (act->peer.type) {

            case ORBIS_PEER_OUT_SETUP:
                act->peer.resume_handle = p;
                break;

            case ORBIS_PEER_OUT_AUDIO:
                act->peer.audio = (const uint8_t *) p;
                break;

            case ORBIS_PEER_OUT_TEXT:
                act->peer.text = p;
                break;

            default:
                break;
            }
        }
    }
}


orbis_rc_t
orbis_session_push(orbis_session_actions_t *a, orbis_session_act_type_t type,
    orbis_session_action_t **act)
{
    orbis_session_action_t  *items;

    items = orbis_array_room(a->items, a->n, &a->cap, 16,
                             sizeof(orbis_session_action_t));
    if (items == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    a->items = items;

    *act = &a->items[a->n++];
    memset(*act, 0, sizeof(orbis_session_action_t));
    (*act)->type = type;
    (*act)->data_off = ORBIS_SESSION_NO_DATA;
    (*act)->payload_off = ORBIS_SESSION_NO_DATA;

    return ORBIS_OK;
}


/* an action whose data is p[0..len), NUL-terminated (p NULL: no data) */

orbis_rc_t
orbis_session_push_data(orbis_session_actions_t *a,
    orbis_session_act_type_t type, const void *p, size_t len,
    orbis_session_action_t **act)
{
    size_t                   off;
    orbis_rc_t               rc;
    orbis_session_action_t  *x;

    off = ORBIS_SESSION_NO_DATA;

    if (p != NULL) {
        rc = orbis_session_arena_add(a, p, len, &off);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    rc = orbis_session_push(a, type, &x);
    if (rc != ORBIS_OK) {
        return rc;
    }

    x->data_off = off;
    x->len = (p != NULL) ? len : 0;

    if (act != NULL) {
        *act = x;
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_session_push_caller(orbis_session_actions_t *a,
    const orbis_caller_out_t *ev)
{
    size_t                   payload, data, len;
    orbis_rc_t               rc;
    orbis_caller_out_t       tmp;
    orbis_session_action_t  *act;

    payload = ORBIS_SESSION_NO_DATA;
    data = ORBIS_SESSION_NO_DATA;
    len = 0;

    if (ev->text != NULL) {
        rc = orbis_session_arena_add(a, ev->text, ev->text_len, &payload);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (a->caller_codec != NULL) {
        tmp = *ev;
        tmp.text = (payload != ORBIS_SESSION_NO_DATA)
                   ? a->arena.data + payload : NULL;

        orbis_strbuf_reset(&a->scratch);

        rc = a->caller_codec->render(a->caller_ctx, &a->scratch, &tmp, NULL);

        if (rc == ORBIS_OK) {
            len = a->scratch.len;
            rc = orbis_session_arena_add(a, a->scratch.data, len, &data);
        }

        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    rc = orbis_session_push(a, ORBIS_SESSION_ACT_CALLER_EVENT, &act);
    if (rc != ORBIS_OK) {
        return rc;
    }

    act->caller = *ev;
    act->caller.text = NULL;
    act->payload_off = payload;
    act->data_off = data;
    act->len = len;

    return ORBIS_OK;
}


orbis_rc_t
orbis_session_push_peer(orbis_session_actions_t *a,
    const orbis_peer_out_t *ev)
{
    size_t                   payload, data, len, plen;
    orbis_rc_t               rc;
    const void              *p;
    orbis_peer_out_t         tmp;
    orbis_session_action_t  *act;

    payload = ORBIS_SESSION_NO_DATA;
    data = ORBIS_SESSION_NO_DATA;
    len = 0;

    switch (ev->type) {

    case ORBIS_PEER_OUT_SETUP:
        p = ev->resume_handle;
        plen = (p != NULL) ? strlen(ev->resume_handle) : 0;
        break;

    case ORBIS_PEER_OUT_AUDIO:
        p = ev->audio;
        plen = ev->audio_len;
        break;

    case ORBIS_PEER_OUT_TEXT:
        p = ev->text;
        plen = ev->text_len;
        break;

    default:
        p = NULL;
        plen = 0;
        break;
    }

    if (p != NULL) {
        rc = orbis_session_arena_add(a, p, plen, &payload);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (ev->response != NULL) {
        rc = orbis_session_hold(a, ev->response);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    tmp = *ev;
    p = (payload != ORBIS_SESSION_NO_DATA) ? a->arena.data + payload : NULL;

    switch (ev->type) {

    case ORBIS_PEER_OUT_SETUP:
        tmp.resume_handle = p;
        break;

    case ORBIS_PEER_OUT_AUDIO:
        tmp.audio = p;
        break;

    case ORBIS_PEER_OUT_TEXT:
        tmp.text = p;
        break;

    default:
        break;
    }

    if (a->peer_codec != NULL) {
        orbis_strbuf_reset(&a->scratch);

        rc = a->peer_codec->render(a->peer_ctx, &a->scratch, &tmp, NULL);

        if (rc == ORBIS_OK) {
            len = a->scratch.len;
            rc = orbis_session_arena_add(a, a->scratch.data, len, &data);
        }

        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    rc = orbis_session_push(a, ORBIS_SESSION_ACT_PEER_SEND, &act);
    if (rc != ORBIS_OK) {
        return rc;
    }

    act->peer = tmp;
    act->payload_off = payload;
    act->data_off = data;
    act->len = len;

    if (ev->type == ORBIS_PEER_OUT_AUDIO) {
        act->rate = ev->rate;
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_session_push_audio(orbis_session_actions_t *a, const uint8_t *pcm,
    size_t len, uint32_t rate)
{
    orbis_rc_t               rc;
    orbis_session_action_t  *act;

    rc = orbis_session_push_data(a, ORBIS_SESSION_ACT_CALLER_AUDIO, pcm, len,
                                 &act);
    if (rc == ORBIS_OK) {
        act->rate = rate;
    }

    return rc;
}


orbis_rc_t
orbis_session_push_tool(orbis_session_actions_t *a,
    orbis_session_act_type_t type, const orbis_session_tool_t *t)
{
    orbis_rc_t               rc;
    orbis_session_action_t  *act;

    rc = orbis_session_push(a, type, &act);
    if (rc != ORBIS_OK) {
        return rc;
    }

    act->tool_id = t->id;
    act->tool_name = t->name;
    act->tool_args = t->args;

    return ORBIS_OK;
}


/* shorthands for the caller's events */

orbis_rc_t
orbis_session_caller_transcript(orbis_session_actions_t *a,
    orbis_client_role_t role, const char *text, size_t len, int final)
{
    orbis_caller_out_t  ev;

    memset(&ev, 0, sizeof(orbis_caller_out_t));
    ev.type = ORBIS_CALLER_OUT_TRANSCRIPT;
    ev.role = role;
    ev.text = text;
    ev.text_len = len;
    ev.final = final;

    return orbis_session_push_caller(a, &ev);
}


orbis_rc_t
orbis_session_caller_simple(orbis_session_actions_t *a,
    orbis_caller_out_type_t type)
{
    orbis_caller_out_t  ev;

    memset(&ev, 0, sizeof(orbis_caller_out_t));
    ev.type = type;

    return orbis_session_push_caller(a, &ev);
}


orbis_rc_t
orbis_session_caller_error(orbis_session_actions_t *a, const char *code,
    const char *message)
{
    orbis_caller_out_t  ev;

    memset(&ev, 0, sizeof(orbis_caller_out_t));
    ev.type = ORBIS_CALLER_OUT_ERROR;
    ev.name = code;
    ev.text = message;
    ev.text_len = strlen(message);

    return orbis_session_push_caller(a, &ev);
}


orbis_rc_t
orbis_session_caller_tool(orbis_session_actions_t *a,
    const orbis_session_tool_t *t)
{
    orbis_caller_out_t  ev;

    memset(&ev, 0, sizeof(orbis_caller_out_t));
    ev.type = ORBIS_CALLER_OUT_TOOL;
    ev.name = t->name;
    ev.tool_status = t->status;

    return orbis_session_push_caller(a, &ev);
}


/* shorthands for the model's */

orbis_rc_t
orbis_session_peer_audio(orbis_session_actions_t *a, const uint8_t *pcm,
    size_t len, uint32_t rate)
{
    orbis_peer_out_t  ev;

    memset(&ev, 0, sizeof(orbis_peer_out_t));
    ev.type = ORBIS_PEER_OUT_AUDIO;
    ev.audio = pcm;
    ev.audio_len = len;
    ev.rate = rate;

    return orbis_session_push_peer(a, &ev);
}


orbis_rc_t
orbis_session_peer_text(orbis_session_actions_t *a, const char *text,
    size_t len)
{
    orbis_peer_out_t  ev;

    memset(&ev, 0, sizeof(orbis_peer_out_t));
    ev.type = ORBIS_PEER_OUT_TEXT;
    ev.text = text;
    ev.text_len = len;

    return orbis_session_push_peer(a, &ev);
}


orbis_rc_t
orbis_session_peer_tool_result(orbis_session_actions_t *a, const char *id,
    const char *name, const json_t *response)
{
    orbis_peer_out_t  ev;

    memset(&ev, 0, sizeof(orbis_peer_out_t));
    ev.type = ORBIS_PEER_OUT_TOOL_RESULT;
    ev.tool_id = id;
    ev.tool_name = name;
    ev.response = response;

    return orbis_session_push_peer(a, &ev);
}


/* copies p[0..len) and a NUL into the arena */

static orbis_rc_t
orbis_session_arena_add(orbis_session_actions_t *a, const void *p,
    size_t len, size_t *off)
{
    size_t  mark;

    mark = a->arena.len;

    if (orbis_strbuf_reserve(&a->arena, len + 1) != ORBIS_OK) {
        return ORBIS_ERR_NOMEM;
    }

    if (len > 0) {
        memcpy(a->arena.data + mark, p, len);
    }

    a->arena.data[mark + len] = '\0';
    a->arena.len = mark + len + 1;
    a->arena.data[a->arena.len] = '\0';
    *off = mark;

    return ORBIS_OK;
}


static orbis_rc_t
orbis_session_hold(orbis_session_actions_t *a, const json_t *j)
{
    json_t  **held;

    held = orbis_array_room(a->held, a->n_held, &a->cap_held, 8,
                            sizeof(json_t *));
    if (held == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    a->held = held;

    a->held[a->n_held++] = json_incref((json_t *) j);

    return ORBIS_OK;
}
