/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/base64.h>
#include <orbiscore/utf8.h>
#include "gemini/gemini_int.h"


#define ORBIS_GEMINI_MODEL_PREFIX  "models/"


static orbis_rc_t orbis_gemini_check_setup(const orbis_gemini_setup_t *s,
    orbis_err_t *err);
static json_t *orbis_gemini_setup_json(const orbis_gemini_setup_t *s);
static orbis_rc_t orbis_gemini_append_json_new(orbis_strbuf_t *out,
    json_t *j, orbis_err_t *err);
static orbis_rc_t orbis_gemini_append_str(orbis_strbuf_t *out,
    const char *s, orbis_err_t *err);
static int orbis_gemini_unreserved(int c);


orbis_rc_t
orbis_gemini_append_setup(orbis_strbuf_t *out, const orbis_gemini_setup_t *s,
    orbis_err_t *err)
{
    orbis_rc_t  rc;

    rc = orbis_gemini_check_setup(s, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_gemini_append_json_new(out, orbis_gemini_setup_json(s), err);
}


char *
orbis_gemini_build_setup(const orbis_gemini_setup_t *s, size_t *len,
    orbis_err_t *err)
{
    orbis_strbuf_t  b;

    orbis_strbuf_init(&b);

    if (orbis_gemini_append_setup(&b, s, err) != ORBIS_OK) {
        orbis_strbuf_free(&b);
        return NULL;
    }

    if (len != NULL) {
        *len = b.len;
    }

    return b.data;
}


void
orbis_gemini_free(void *p)
{
    orbis_free(p);
}


orbis_rc_t
orbis_gemini_build_audio(orbis_strbuf_t *out, const uint8_t *pcm, size_t len,
    uint32_t rate, orbis_err_t *err)
{
    int         n;
    char        head[96];
    size_t      enc;
    orbis_rc_t  rc;

    static const char  tail[] = "\"}}}";

    if (len == 0 || len % 2 != 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "PCM16 audio length %zu is not a positive "
                             "even number", len);
    }

    if (rate < 8000 || rate > 48000) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "unsupported sample rate %u", (unsigned) rate);
    }

    enc = orbis_base64_encoded_len(len);
    if (enc == 0 || enc > SIZE_MAX - sizeof(head) - sizeof(tail)) {
        return orbis_err_set(err, ORBIS_ERR_RANGE, "audio chunk too large");
    }

    n = snprintf(head, sizeof(head),
                 "{\"realtimeInput\":{\"audio\":{\"mimeType\":"
                 "\"audio/pcm;rate=%u\",\"data\":\"", (unsigned) rate);

    rc = orbis_strbuf_reserve(out, (size_t) n + enc + sizeof(tail) - 1);
    if (rc != ORBIS_OK) {
        return orbis_err_set(err, rc, "out of memory building audio");
    }

    /* room is reserved: write in place, no intermediate copy */

    memcpy(out->data + out->len, head, (size_t) n);
    out->len += n;
    out->len += orbis_base64_encode(out->data + out->len, pcm, len);
    memcpy(out->data + out->len, tail, sizeof(tail));
    out->len += sizeof(tail) - 1;

    return ORBIS_OK;
}


orbis_rc_t
orbis_gemini_build_text(orbis_strbuf_t *out, const char *text, size_t len,
    orbis_err_t *err)
{
    if (text == NULL || len == 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "empty text turn");
    }

    if (!orbis_utf8_valid(text, len, ORBIS_UTF8_NO_NUL)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "text turn is not valid UTF-8");
    }

    return orbis_gemini_append_json_new(out,
               json_pack("{s:{s:[{s:s,s:[{s:s%}]}],s:b}}",
                         "clientContent", "turns", "role", "user",
                         "parts", "text", text, len, "turnComplete", 1),
               err);
}


orbis_rc_t
orbis_gemini_build_audio_end(orbis_strbuf_t *out, orbis_err_t *err)
{
    return orbis_gemini_append_str(out,
                                   "{\"realtimeInput\":"
                                   "{\"audioStreamEnd\":true}}", err);
}


orbis_rc_t
orbis_gemini_build_tool_response(orbis_strbuf_t *out,
    const orbis_gemini_fn_response_t *r, size_t n, orbis_err_t *err)
{
    size_t   i;
    json_t  *root, *list, *fr, *resp;

    if (r == NULL || n == 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "tool response without functions");
    }

    for (i = 0; i < n; i++) {
        if (r[i].name == NULL || r[i].name[0] == '\0'
            || !orbis_utf8_valid_str(r[i].name)
            || (r[i].id != NULL && !orbis_utf8_valid_str(r[i].id)))
        {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "function response %zu needs a UTF-8 name"
                                 " and id", i);
        }
    }

    list = json_array();
    root = json_pack("{s:{s:o}}", "toolResponse", "functionResponses", list);

    if (root == NULL) {
        goto nomem;
    }

    for (i = 0; i < n; i++) {

        if (r[i].response == NULL) {
            resp = json_object();

        } else if (json_is_object(r[i].response)) {
            resp = json_incref(r[i].response);

        } else {
            resp = json_pack("{s:O}", "result", r[i].response);
        }

        if (r[i].id != NULL) {
            fr = json_pack("{s:s,s:s,s:o}", "id", r[i].id, "name", r[i].name,
                           "response", resp);

        } else {
            fr = json_pack("{s:s,s:o}", "name", r[i].name, "response", resp);
        }

        if (json_array_append_new(list, fr) != 0) {
            json_decref(root);
            goto nomem;
        }
    }

    return orbis_gemini_append_json_new(out, root, err);

nomem:

    return orbis_err_set(err, ORBIS_ERR_NOMEM,
                         "out of memory building tool response");
}


orbis_rc_t
orbis_gemini_path(const char *version, int constrained,
    const char *api_key_or_token, char *out, size_t sz)
{
    int          n;
    size_t       len;
    const char  *v, *p;

    static const char  hex[] = "0123456789ABCDEF";

    v = version;
    if (v == NULL) {
        v = constrained ? "v1alpha" : "v1beta";
    }

    if (*v == '\0') {
        return ORBIS_ERR_INVALID;
    }

    for (p = v; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
            return ORBIS_ERR_INVALID;
        }
    }

    if (out == NULL || sz == 0) {
        return ORBIS_ERR_RANGE;
    }

    n = snprintf(out, sz,
                 "/ws/google.ai.generativelanguage.%s.GenerativeService."
                 "BidiGenerateContent%s", v, constrained ? "Constrained" : "");

    if (n < 0 || (size_t) n >= sz) {
        return ORBIS_ERR_RANGE;
    }

    len = (size_t) n;

    if (api_key_or_token == NULL || api_key_or_token[0] == '\0') {
        return ORBIS_OK;
    }

    p = constrained ? "?access_token=" : "?key=";
    n = strlen(p);

    if (sz - len <= (size_t) n) {
        return ORBIS_ERR_RANGE;
    }

    memcpy(out + len, p, n);
    len += n;

    for (p = api_key_or_token; *p != '\0'; p++) {

        if (orbis_gemini_unreserved((unsigned char) *p)) {
            if (sz - len <= 1) {
                return ORBIS_ERR_RANGE;
            }

            out[len++] = *p;
            continue;
        }

        if (sz - len <= 3) {
            return ORBIS_ERR_RANGE;
        }

        out[len++] = '%';
        out[len++] = hex[(unsigned char) *p >> 4];
        out[len++] = hex[(unsigned char) *p & 0x0f];
    }

    out[len] = '\0';

    return ORBIS_OK;
}


orbis_gemini_close_t
orbis_gemini_close_class(uint16_t code, const char *reason)
{
    switch (code) {

    case 1000:  /* Vertex: "The operation was cancelled." mid-call */
    case 1001:
    case 1005:
    case 1006:  /* no close frame: the link dropped */
    case 1011:  /* "Internal error", "Deadline expired" after goAway */
    case 1012:
    case 1013:
    case 1014:
        return ORBIS_GEMINI_CLOSE_RETRYABLE;

    case 1008:
        /* seen to come and go around tool calls; a new link fixes it */
        if (reason != NULL
            && (orbis_gemini_contains_nocase(reason, "operation was aborted")
                || orbis_gemini_contains_nocase(reason,
                                         "operation is not implemented")))
        {
            return ORBIS_GEMINI_CLOSE_RETRYABLE;
        }

        return ORBIS_GEMINI_CLOSE_FATAL;

    default:
        return ORBIS_GEMINI_CLOSE_FATAL;
    }
}


static orbis_rc_t
orbis_gemini_check_setup(const orbis_gemini_setup_t *s, orbis_err_t *err)
{
    size_t       i;
    json_t      *fd, *name;
    const char  *field;

    if (s == NULL || s->model == NULL || s->model[0] == '\0') {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "setup needs a model");
    }

    field = NULL;

    if (!orbis_utf8_valid_str(s->model)) {
        field = "model";

    } else if (s->system_prompt != NULL
               && !orbis_utf8_valid_str(s->system_prompt))
    {
        field = "system prompt";

    } else if (s->voice != NULL && !orbis_utf8_valid_str(s->voice)) {
        field = "voice";

    } else if (s->language != NULL
               && !orbis_utf8_valid_str(s->language))
    {
        field = "language";

    } else if (s->resume_handle != NULL
               && !orbis_utf8_valid_str(s->resume_handle))
    {
        field = "resume handle";
    }

    if (field != NULL) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "setup %s is not valid UTF-8", field);
    }

    fd = s->function_declarations;

    if (fd == NULL) {
        return ORBIS_OK;
    }

    if (!json_is_array(fd)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "function declarations must be an array");
    }

    for (i = 0; i < json_array_size(fd); i++) {
        name = json_object_get(json_array_get(fd, i), "name");

        if (!json_is_string(name) || json_string_length(name) == 0) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "function declaration %zu has no name", i);
        }
    }

    return ORBIS_OK;
}


static json_t *
orbis_gemini_setup_json(const orbis_gemini_setup_t *s)
{
    int      bad;
    json_t  *root, *setup, *gen, *speech, *fd;

    setup = json_object();
    root = json_pack("{s:o}", "setup", setup);

    if (root == NULL) {
        return NULL;
    }

    /*
     * json_*_set_new() releases the value when it fails, so each step is
     * guarded by "bad" before a child is touched again
     */

    if (strncmp(s->model, ORBIS_GEMINI_MODEL_PREFIX,
                sizeof(ORBIS_GEMINI_MODEL_PREFIX) - 1) == 0)
    {
        bad = json_object_set_new(setup, "model", json_string(s->model));

    } else {
        bad = json_object_set_new(setup, "model",
                                  json_sprintf(ORBIS_GEMINI_MODEL_PREFIX
                                               "%s", s->model));
    }

    gen = NULL;

    if (!bad) {
        gen = json_pack("{s:[s]}", "responseModalities", "AUDIO");
        bad = json_object_set_new(setup, "generationConfig", gen);
    }

    if (!bad && (s->voice != NULL || s->language != NULL)) {
        speech = json_object();
        bad = json_object_set_new(gen, "speechConfig", speech);

        if (!bad && s->voice != NULL) {
            bad = json_object_set_new(speech, "voiceConfig",
                                      json_pack("{s:{s:s}}",
                                                "prebuiltVoiceConfig",
                                                "voiceName", s->voice));
        }

        if (!bad && s->language != NULL) {
            bad = json_object_set_new(speech, "languageCode",
                                      json_string(s->language));
        }
    }

    if (!bad && s->system_prompt != NULL) {
        bad = json_object_set_new(setup, "systemInstruction",
                                  json_pack("{s:[{s:s}]}", "parts", "text",
                                            s->system_prompt));
    }

    fd = s->function_declarations;

    if (!bad && fd != NULL && json_array_size(fd) > 0) {
        bad = json_object_set_new(setup, "tools",
                                  json_pack("[{s:O}]",
                                            "functionDeclarations", fd));
    }

    if (!bad && s->input_transcription) {
        bad = json_object_set_new(setup, "inputAudioTranscription",
                                  json_object());
    }

    if (!bad && s->output_transcription) {
        bad = json_object_set_new(setup, "outputAudioTranscription",
                                  json_object());
    }

    if (!bad) {
        bad = json_object_set_new(setup, "sessionResumption",
                                  (s->resume_handle != NULL
                                   && s->resume_handle[0] != '\0')
                                  ? json_pack("{s:s}", "handle",
                                              s->resume_handle)
                                  : json_object());
    }

    if (!bad) {
        bad = json_object_set_new(setup, "contextWindowCompression",
                                  json_pack("{s:{}}", "slidingWindow"));
    }

    if (bad) {
        json_decref(root);
        return NULL;
    }

    return root;
}


/* appends and releases j; a NULL j means building it ran out of memory */

static orbis_rc_t
orbis_gemini_append_json_new(orbis_strbuf_t *out, json_t *j,
    orbis_err_t *err)
{
    orbis_rc_t  rc;

    if (j == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM,
                             "out of memory building JSON");
    }

    rc = orbis_strbuf_append_json(out, j, err);
    json_decref(j);

    return rc;
}


static orbis_rc_t
orbis_gemini_append_str(orbis_strbuf_t *out, const char *s, orbis_err_t *err)
{
    if (orbis_strbuf_append(out, s, strlen(s)) != ORBIS_OK) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM,
                             "out of memory building message");
    }

    return ORBIS_OK;
}


static int
orbis_gemini_unreserved(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}
