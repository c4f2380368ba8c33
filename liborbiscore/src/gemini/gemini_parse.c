/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/base64.h>
#include "gemini/gemini_int.h"


static json_t *orbis_gemini_get(const json_t *o, const char *camel,
    const char *snake);
static orbis_rc_t orbis_gemini_get_object(const json_t *o,
    const char *camel, const char *snake, json_t **v, orbis_err_t *err);
static orbis_rc_t orbis_gemini_get_array(const json_t *o, const char *camel,
    const char *snake, json_t **v, orbis_err_t *err);
static orbis_rc_t orbis_gemini_get_string(const json_t *o,
    const char *camel, const char *snake, const char **v, orbis_err_t *err);
static orbis_rc_t orbis_gemini_get_bool(const json_t *o, const char *camel,
    const char *snake, int *v, orbis_err_t *err);
static orbis_rc_t orbis_gemini_get_int64(const json_t *o, const char *camel,
    const char *snake, int64_t *v, orbis_err_t *err);
static orbis_rc_t orbis_gemini_server_content(const json_t *sc,
    orbis_gemini_msg_t *m, orbis_err_t *err);
static orbis_rc_t orbis_gemini_model_turn(const json_t *parts,
    orbis_gemini_msg_t *m, orbis_err_t *err);
static orbis_rc_t orbis_gemini_transcription(const json_t *sc,
    const char *camel, const char *snake, const char **text, int *finished,
    orbis_err_t *err);
static orbis_rc_t orbis_gemini_tool_call(const json_t *tc,
    orbis_gemini_msg_t *m, orbis_err_t *err);
static orbis_rc_t orbis_gemini_cancellation(const json_t *c,
    orbis_gemini_msg_t *m, orbis_err_t *err);
static orbis_rc_t orbis_gemini_go_away(const json_t *ga,
    orbis_gemini_msg_t *m, orbis_err_t *err);
static orbis_rc_t orbis_gemini_resumption(const json_t *r,
    orbis_gemini_msg_t *m, orbis_err_t *err);
static orbis_rc_t orbis_gemini_usage(const json_t *u, orbis_gemini_msg_t *m,
    orbis_err_t *err);
static orbis_rc_t orbis_gemini_bad(orbis_err_t *err, const char *camel,
    const char *what);


orbis_rc_t
orbis_gemini_parse(const char *msg, size_t len, orbis_gemini_msg_t *out,
    orbis_err_t *err)
{
    if (orbis_gemini_parse_audio(msg, len, out)) {
        return ORBIS_OK;
    }

    return orbis_gemini_parse_json(msg, len, out, err);
}


orbis_rc_t
orbis_gemini_parse_json(const char *msg, size_t len, orbis_gemini_msg_t *out,
    orbis_err_t *err)
{
    json_t        *root, *v;
    orbis_rc_t     rc;
    json_error_t   jerr;

    memset(out, 0, sizeof(*out));
    out->go_away_ms = -1;

    root = json_loadb(msg, len, 0, &jerr);
    if (root == NULL) {
        return orbis_err_set(err, ORBIS_ERR_PROTOCOL,
                             "server message is not JSON: %s", jerr.text);
    }

    out->root = root;

    if (!json_is_object(root)) {
        rc = orbis_err_set(err, ORBIS_ERR_PROTOCOL,
                           "server message is not a JSON object");
        goto failed;
    }

    rc = orbis_gemini_get_object(root, "setupComplete", "setup_complete", &v,
                                 err);
    if (rc != ORBIS_OK) {
        goto failed;
    }

    out->setup_complete = (v != NULL);

    rc = orbis_gemini_get_object(root, "serverContent", "server_content", &v,
                                 err);
    if (rc != ORBIS_OK) {
        goto failed;
    }

    if (v != NULL) {
        out->server_content = 1;

        rc = orbis_gemini_server_content(v, out, err);
        if (rc != ORBIS_OK) {
            goto failed;
        }
    }

    rc = orbis_gemini_get_object(root, "toolCall", "tool_call", &v, err);
    if (rc != ORBIS_OK || (v != NULL
                           && (rc = orbis_gemini_tool_call(v, out, err))
                              != ORBIS_OK))
    {
        goto failed;
    }

    rc = orbis_gemini_get_object(root, "toolCallCancellation",
                                 "tool_call_cancellation", &v, err);
    if (rc != ORBIS_OK || (v != NULL
                           && (rc = orbis_gemini_cancellation(v, out, err))
                              != ORBIS_OK))
    {
        goto failed;
    }

    rc = orbis_gemini_get_object(root, "goAway", "go_away", &v, err);
    if (rc != ORBIS_OK || (v != NULL
                           && (rc = orbis_gemini_go_away(v, out, err))
                              != ORBIS_OK))
    {
        goto failed;
    }

    rc = orbis_gemini_get_object(root, "sessionResumptionUpdate",
                                 "session_resumption_update", &v, err);
    if (rc != ORBIS_OK || (v != NULL
                           && (rc = orbis_gemini_resumption(v, out, err))
                              != ORBIS_OK))
    {
        goto failed;
    }

    rc = orbis_gemini_get_object(root, "usageMetadata", "usage_metadata", &v,
                                 err);
    if (rc != ORBIS_OK || (v != NULL
                           && (rc = orbis_gemini_usage(v, out, err))
                              != ORBIS_OK))
    {
        goto failed;
    }

    if (!out->setup_complete && !out->server_content && !out->go_away
        && out->tool_calls == NULL && out->cancelled_ids == NULL
        && !out->resumption_update && !out->usage)
    {
        rc = orbis_err_set(err, ORBIS_ERR_PROTOCOL,
                           "server message has no known field");
        goto failed;
    }

    return ORBIS_OK;

failed:

    orbis_gemini_msg_free(out);

    return rc;
}


void
orbis_gemini_msg_free(orbis_gemini_msg_t *m)
{
    orbis_free(m->audio);
    orbis_free(m->text);
    orbis_free(m->tool_calls);
    orbis_free(m->cancelled_ids);
    json_decref(m->root);

    memset(m, 0, sizeof(*m));
    m->go_away_ms = -1;
}


orbis_rc_t
orbis_gemini_parse_duration_ms(const char *s, int64_t *ms)
{
    int          neg, digits;
    int64_t      sec, frac;
    const char  *p;

    p = s;
    neg = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }

    if (*p < '0' || *p > '9') {
        return ORBIS_ERR_INVALID;
    }

    for (sec = 0; *p >= '0' && *p <= '9'; p++) {
        if (sec > (INT64_MAX / 1000 - 9) / 10) {
            return ORBIS_ERR_RANGE;
        }

        sec = sec * 10 + (*p - '0');
    }

    frac = 0;
    digits = 0;

    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (++digits > 9) {
                return ORBIS_ERR_INVALID;
            }

            /* below a millisecond only the format matters */
            if (digits <= 3) {
                frac = frac * 10 + (*p - '0');
            }
        }

        if (digits == 0) {
            return ORBIS_ERR_INVALID;
        }

        for ( /* void */ ; digits < 3; digits++) {
            frac *= 10;
        }
    }

    if (p[0] != 's' || p[1] != '\0') {
        return ORBIS_ERR_INVALID;
    }

    *ms = sec * 1000 + frac;

    if (neg) {
        *ms = -*ms;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_server_content(const json_t *sc, orbis_gemini_msg_t *m,
    orbis_err_t *err)
{
    json_t      *turn, *parts;
    orbis_rc_t   rc;

    rc = orbis_gemini_get_object(sc, "modelTurn", "model_turn", &turn, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (turn != NULL) {
        rc = orbis_gemini_get_array(turn, "parts", NULL, &parts, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (parts != NULL) {
            rc = orbis_gemini_model_turn(parts, m, err);
            if (rc != ORBIS_OK) {
                return rc;
            }
        }
    }

    rc = orbis_gemini_transcription(sc, "inputTranscription",
                                    "input_transcription",
                                    &m->input_transcription,
                                    &m->input_transcription_finished, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_gemini_transcription(sc, "outputTranscription",
                                    "output_transcription",
                                    &m->output_transcription,
                                    &m->output_transcription_finished, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_gemini_get_bool(sc, "interrupted", NULL, &m->interrupted, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_gemini_get_bool(sc, "generationComplete",
                               "generation_complete",
                               &m->generation_complete, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_gemini_get_bool(sc, "turnComplete", "turn_complete",
                                 &m->turn_complete, err);
}


/*
 * Two passes over the parts: the first checks them and sizes the audio and
 * text buffers, the second fills them, so each is allocated once.
 */

static orbis_rc_t
orbis_gemini_model_turn(const json_t *parts, orbis_gemini_msg_t *m,
    orbis_err_t *err)
{
    int           pass, thought;
    size_t        i, n, audio_max, text_len, dec;
    json_t       *part, *inl;
    uint8_t      *dst;
    orbis_rc_t    rc;
    const char   *mime, *data, *text;

    audio_max = 0;
    text_len = 0;

    for (pass = 0; pass < 2; pass++) {

        if (pass == 1) {
            if (audio_max != 0) {
                m->audio = orbis_malloc(audio_max);
                if (m->audio == NULL) {
                    return orbis_err_set(err, ORBIS_ERR_NOMEM,
                                         "out of memory for audio");
                }
            }

            if (text_len != 0) {
                m->text = orbis_malloc(text_len + 1);
                if (m->text == NULL) {
                    return orbis_err_set(err, ORBIS_ERR_NOMEM,
                                         "out of memory for text");
                }
            }
        }

        for (i = 0; i < json_array_size(parts); i++) {
            part = json_array_get(parts, i);

            if (!json_is_object(part)) {
                return orbis_gemini_bad(err, "parts", "objects");
            }

            rc = orbis_gemini_get_object(part, "inlineData", "inline_data",
                                         &inl, err);
            if (rc != ORBIS_OK) {
                return rc;
            }

            if (inl != NULL) {
                rc = orbis_gemini_get_string(inl, "mimeType", "mime_type",
                                             &mime, err);
                if (rc != ORBIS_OK) {
                    return rc;
                }

                rc = orbis_gemini_get_string(inl, "data", NULL, &data, err);
                if (rc != ORBIS_OK) {
                    return rc;
                }

                if (data != NULL
                    && (mime == NULL || strncmp(mime, "audio/", 6) == 0))
                {
                    n = strlen(data);

                    if (pass == 0) {
                        audio_max += orbis_base64_decoded_max(n);

                        if (mime != NULL && m->audio_rate == 0) {
                            m->audio_rate =
                                orbis_gemini_mime_rate(mime, strlen(mime));
                        }

                    } else {
                        /*
                         * no buffer when no part can decode to anything
                         * ("" or one character), and NULL + 0 is undefined
                         */
                        dst = (m->audio != NULL) ? m->audio + m->audio_len
                                                 : NULL;

                        rc = orbis_base64_decode(dst, &dec, data, n,
                                                 ORBIS_BASE64_NOPAD_OK, err);
                        if (rc != ORBIS_OK) {
                            return orbis_err_set(err, ORBIS_ERR_PROTOCOL,
                                                 "bad audio data in part %zu",
                                                 i);
                        }

                        m->audio_len += dec;
                        m->audio_parts++;
                    }
                }
            }

            rc = orbis_gemini_get_string(part, "text", NULL, &text, err);
            if (rc != ORBIS_OK) {
                return rc;
            }

            rc = orbis_gemini_get_bool(part, "thought", NULL, &thought, err);
            if (rc != ORBIS_OK) {
                return rc;
            }

            if (text == NULL || thought) {
                continue;
            }

            n = strlen(text);

            if (pass == 0) {
                text_len += n;

            } else if (n != 0) {
                memcpy(m->text + m->text_len, text, n);
                m->text_len += n;
                m->text[m->text_len] = '\0';
            }
        }
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_transcription(const json_t *sc, const char *camel,
    const char *snake, const char **text, int *finished, orbis_err_t *err)
{
    json_t      *t;
    orbis_rc_t   rc;

    rc = orbis_gemini_get_object(sc, camel, snake, &t, err);
    if (rc != ORBIS_OK || t == NULL) {
        return rc;
    }

    rc = orbis_gemini_get_string(t, "text", NULL, text, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_gemini_get_bool(t, "finished", NULL, finished, err);
}


static orbis_rc_t
orbis_gemini_tool_call(const json_t *tc, orbis_gemini_msg_t *m,
    orbis_err_t *err)
{
    size_t                     i, n;
    json_t                    *calls, *fc;
    orbis_rc_t                 rc;
    orbis_gemini_tool_call_t  *t;

    rc = orbis_gemini_get_array(tc, "functionCalls", "function_calls", &calls,
                                err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    n = json_array_size(calls);
    if (n == 0) {
        return orbis_err_set(err, ORBIS_ERR_PROTOCOL,
                             "toolCall without functionCalls");
    }

    m->tool_calls = orbis_calloc(n, sizeof(orbis_gemini_tool_call_t));
    if (m->tool_calls == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    for (i = 0; i < n; i++) {
        fc = json_array_get(calls, i);
        t = &m->tool_calls[i];

        if (!json_is_object(fc)) {
            return orbis_gemini_bad(err, "functionCalls", "objects");
        }

        rc = orbis_gemini_get_string(fc, "id", NULL, &t->id, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        rc = orbis_gemini_get_string(fc, "name", NULL, &t->name, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (t->name == NULL || t->name[0] == '\0') {
            return orbis_err_set(err, ORBIS_ERR_PROTOCOL,
                                 "function call %zu has no name", i);
        }

        rc = orbis_gemini_get_object(fc, "args", NULL, &t->args, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        m->n_tool_calls++;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_cancellation(const json_t *c, orbis_gemini_msg_t *m,
    orbis_err_t *err)
{
    size_t       i, n;
    json_t      *ids, *id;
    orbis_rc_t   rc;

    rc = orbis_gemini_get_array(c, "ids", NULL, &ids, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    n = json_array_size(ids);

    /* an empty list still counts as a toolCallCancellation message */
    m->cancelled_ids = orbis_calloc(n + 1, sizeof(const char *));
    if (m->cancelled_ids == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    for (i = 0; i < n; i++) {
        id = json_array_get(ids, i);

        if (!json_is_string(id)) {
            return orbis_gemini_bad(err, "ids", "strings");
        }

        m->cancelled_ids[i] = json_string_value(id);
        m->n_cancelled_ids++;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_go_away(const json_t *ga, orbis_gemini_msg_t *m,
    orbis_err_t *err)
{
    int64_t      ms;
    orbis_rc_t   rc;
    const char  *left;

    m->go_away = 1;

    rc = orbis_gemini_get_string(ga, "timeLeft", "time_left", &left, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    /* a goAway with an unreadable timeLeft is still a goAway */

    if (left != NULL && orbis_gemini_parse_duration_ms(left, &ms) == ORBIS_OK)
    {
        m->go_away_ms = (ms < 0) ? 0 : ms;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_resumption(const json_t *r, orbis_gemini_msg_t *m,
    orbis_err_t *err)
{
    orbis_rc_t  rc;

    m->resumption_update = 1;

    rc = orbis_gemini_get_string(r, "newHandle", "new_handle", &m->new_handle,
                                 err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_gemini_get_bool(r, "resumable", NULL, &m->resumable, err);
}


static orbis_rc_t
orbis_gemini_usage(const json_t *u, orbis_gemini_msg_t *m, orbis_err_t *err)
{
    orbis_rc_t  rc;

    m->usage = 1;

    rc = orbis_gemini_get_int64(u, "promptTokenCount", "prompt_token_count",
                                &m->prompt_tokens, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_gemini_get_int64(u, "responseTokenCount",
                                "response_token_count", &m->response_tokens,
                                err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_gemini_get_int64(u, "totalTokenCount", "total_token_count",
                                  &m->total_tokens, err);
}


/* proto3 JSON: the json_name or the proto field name; null is absent */

static json_t *
orbis_gemini_get(const json_t *o, const char *camel, const char *snake)
{
    json_t  *v;

    v = json_object_get(o, camel);

    if ((v == NULL || json_is_null(v)) && snake != NULL) {
        v = json_object_get(o, snake);
    }

    return json_is_null(v) ? NULL : v;
}


static orbis_rc_t
orbis_gemini_get_object(const json_t *o, const char *camel, const char *snake,
    json_t **v, orbis_err_t *err)
{
    *v = orbis_gemini_get(o, camel, snake);

    if (*v != NULL && !json_is_object(*v)) {
        *v = NULL;
        return orbis_gemini_bad(err, camel, "an object");
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_get_array(const json_t *o, const char *camel, const char *snake,
    json_t **v, orbis_err_t *err)
{
    *v = orbis_gemini_get(o, camel, snake);

    if (*v != NULL && !json_is_array(*v)) {
        *v = NULL;
        return orbis_gemini_bad(err, camel, "an array");
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_get_string(const json_t *o, const char *camel,
    const char *snake, const char **v, orbis_err_t *err)
{
    json_t  *j;

    *v = NULL;
    j = orbis_gemini_get(o, camel, snake);

    if (j == NULL) {
        return ORBIS_OK;
    }

    if (!json_is_string(j)) {
        return orbis_gemini_bad(err, camel, "a string");
    }

    *v = json_string_value(j);

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_get_bool(const json_t *o, const char *camel, const char *snake,
    int *v, orbis_err_t *err)
{
    json_t  *j;

    *v = 0;
    j = orbis_gemini_get(o, camel, snake);

    if (j == NULL) {
        return ORBIS_OK;
    }

    if (!json_is_boolean(j)) {
        return orbis_gemini_bad(err, camel, "a boolean");
    }

    *v = json_is_true(j);

    return ORBIS_OK;
}


/* proto3 JSON writes int64 as a string; numbers are accepted as well */

static orbis_rc_t
orbis_gemini_get_int64(const json_t *o, const char *camel, const char *snake,
    int64_t *v, orbis_err_t *err)
{
    int          neg;
    double       d;
    json_t      *j;
    uint64_t     u;
    const char  *p;

    *v = 0;
    j = orbis_gemini_get(o, camel, snake);

    if (j == NULL) {
        return ORBIS_OK;
    }

    if (json_is_integer(j)) {
        *v = json_integer_value(j);
        return ORBIS_OK;
    }

    if (json_is_real(j)) {
        d = json_real_value(j);

        if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double) (int64_t) d) {
            return orbis_gemini_bad(err, camel, "an integer");
        }

        *v = (int64_t) d;
        return ORBIS_OK;
    }

    if (!json_is_string(j)) {
        return orbis_gemini_bad(err, camel, "an integer");
    }

    p = json_string_value(j);
    neg = (*p == '-');
    p += neg;

    if (*p == '\0') {
        return orbis_gemini_bad(err, camel, "an integer");
    }

    for (u = 0; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || u > (UINT64_MAX - 9) / 10) {
            return orbis_gemini_bad(err, camel, "an integer");
        }

        u = u * 10 + (uint64_t) (*p - '0');
    }

    if (u > (uint64_t) INT64_MAX) {
        return orbis_gemini_bad(err, camel, "an integer");
    }

    *v = neg ? -(int64_t) u : (int64_t) u;

    return ORBIS_OK;
}


static orbis_rc_t
orbis_gemini_bad(orbis_err_t *err, const char *camel, const char *what)
{
    return orbis_err_set(err, ORBIS_ERR_PROTOCOL, "\"%s\" must be %s", camel,
                         what);
}
