/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/client.h>
#include <orbiscore/utf8.h>
#include "gemini/gemini_int.h"


static orbis_rc_t orbis_client_append_new(orbis_strbuf_t *out, json_t *j,
    orbis_err_t *err);
static orbis_rc_t orbis_client_append_str(orbis_strbuf_t *out,
    const char *s, orbis_err_t *err);


orbis_rc_t
orbis_client_build_ready(orbis_strbuf_t *out, const char *session_id,
    int echo, uint32_t input_rate, uint32_t output_rate, orbis_err_t *err)
{
    if (session_id == NULL || !orbis_utf8_valid_str(session_id)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "ready needs a UTF-8 session id");
    }

    return orbis_client_append_new(out,
               json_pack("{s:s,s:s,s:s,s:I,s:I}", "type", "ready",
                         "sessionId", session_id,
                         "mode", echo ? "echo" : "live",
                         "inputRate", (json_int_t) input_rate,
                         "outputRate", (json_int_t) output_rate),
               err);
}


orbis_rc_t
orbis_client_build_transcript(orbis_strbuf_t *out, orbis_client_role_t role,
    const char *text, size_t len, int final, orbis_err_t *err)
{
    if (role != ORBIS_CLIENT_ROLE_USER && role != ORBIS_CLIENT_ROLE_AGENT) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "bad transcript role");
    }

    if (text == NULL || !orbis_utf8_valid(text, len, ORBIS_UTF8_NO_NUL)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "transcript is not valid UTF-8");
    }

    return orbis_client_append_new(out,
               json_pack("{s:s,s:s,s:s%,s:b}", "type", "transcript",
                         "role", orbis_client_role_name(role),
                         "text", text, len, "final", final != 0),
               err);
}


orbis_rc_t
orbis_client_build_interrupted(orbis_strbuf_t *out, orbis_err_t *err)
{
    return orbis_client_append_str(out, "{\"type\":\"interrupted\"}", err);
}


orbis_rc_t
orbis_client_build_turn_complete(orbis_strbuf_t *out, orbis_err_t *err)
{
    return orbis_client_append_str(out, "{\"type\":\"turn_complete\"}", err);
}


orbis_rc_t
orbis_client_build_tool(orbis_strbuf_t *out, const char *name,
    orbis_client_tool_status_t status, orbis_err_t *err)
{
    if (status < ORBIS_CLIENT_TOOL_STARTED
        || status > ORBIS_CLIENT_TOOL_TIMEOUT)
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "bad tool status");
    }

    if (name == NULL || !orbis_utf8_valid_str(name)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "tool name is not valid UTF-8");
    }

    return orbis_client_append_new(out,
               json_pack("{s:s,s:s,s:s}", "type", "tool", "name", name,
                         "status", orbis_client_tool_status_name(status)),
               err);
}


orbis_rc_t
orbis_client_build_error(orbis_strbuf_t *out, const char *code,
    const char *message, orbis_err_t *err)
{
    if (code == NULL || message == NULL || !orbis_utf8_valid_str(code)
        || !orbis_utf8_valid_str(message))
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "error event needs a UTF-8 code and message");
    }

    return orbis_client_append_new(out,
               json_pack("{s:s,s:s,s:s}", "type", "error", "code", code,
                         "message", message),
               err);
}


orbis_rc_t
orbis_client_parse(const char *msg, size_t len, orbis_client_msg_t *out,
    orbis_err_t *err)
{
    size_t         n;
    json_t        *root, *type, *text;
    orbis_rc_t     rc;
    const char    *t;
    json_error_t   jerr;

    memset(out, 0, sizeof(*out));

    /* no JSON_ALLOW_NUL: a "\u0000" in the text is refused here */
    root = json_loadb(msg, len, 0, &jerr);
    if (root == NULL) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "message is not JSON: %s", jerr.text);
    }

    type = json_object_get(root, "type");

    if (!json_is_object(root) || !json_is_string(type)) {
        rc = orbis_err_set(err, ORBIS_ERR_INVALID,
                           "message must be an object with a \"type\"");
        goto done;
    }

    t = json_string_value(type);

    if (strcmp(t, "end") == 0) {
        out->type = ORBIS_CLIENT_MSG_END;
        rc = ORBIS_OK;
        goto done;
    }

    if (strcmp(t, "text") != 0) {
        rc = orbis_err_set(err, ORBIS_ERR_INVALID,
                           "unknown message type \"%.32s\"", t);
        goto done;
    }

    text = json_object_get(root, "text");

    if (!json_is_string(text)) {
        rc = orbis_err_set(err, ORBIS_ERR_INVALID,
                           "text message needs a \"text\" string");
        goto done;
    }

    n = json_string_length(text);

    if (n == 0 || n > ORBIS_CLIENT_TEXT_MAX) {
        rc = orbis_err_set(err, ORBIS_ERR_INVALID,
                           "text must be 1 to %d bytes, not %zu",
                           ORBIS_CLIENT_TEXT_MAX, n);
        goto done;
    }

    out->text = orbis_malloc(n + 1);
    if (out->text == NULL) {
        rc = orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        goto done;
    }

    memcpy(out->text, json_string_value(text), n + 1);
    out->text_len = n;
    out->type = ORBIS_CLIENT_MSG_TEXT;
    rc = ORBIS_OK;

done:

    json_decref(root);

    return rc;
}


void
orbis_client_msg_free(orbis_client_msg_t *m)
{
    orbis_free(m->text);
    memset(m, 0, sizeof(*m));
}


static orbis_rc_t
orbis_client_append_new(orbis_strbuf_t *out, json_t *j, orbis_err_t *err)
{
    orbis_rc_t  rc;

    if (j == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM,
                             "out of memory building an event");
    }

    rc = orbis_strbuf_append_json(out, j, err);
    json_decref(j);

    return rc;
}


static orbis_rc_t
orbis_client_append_str(orbis_strbuf_t *out, const char *s, orbis_err_t *err)
{
    if (orbis_strbuf_append(out, s, strlen(s)) != ORBIS_OK) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM,
                             "out of memory building an event");
    }

    return ORBIS_OK;
}
