/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/base64.h>
#include <orbiscore/gemini.h>
#include "gemini/gemini_int.h"


static json_t *
load(const char *text, size_t len)
{
    json_t        *j;
    json_error_t   e;

    j = json_loadb(text, len, 0, &e);
    assert_non_null(j);

    return j;
}


static const char *
str_at(json_t *root, const char *path)
{
    char         key[64];
    json_t      *j;
    const char  *p, *dot;

    /* "a.b.c" walk; a numeric segment indexes an array */
    j = root;

    for (p = path; j != NULL && *p != '\0'; p = (*dot != '\0') ? dot + 1
                                                               : dot)
    {
        dot = strchr(p, '.');
        if (dot == NULL) {
            dot = p + strlen(p);
        }

        memcpy(key, p, (size_t) (dot - p));
        key[dot - p] = '\0';

        j = (key[0] >= '0' && key[0] <= '9')
            ? json_array_get(j, (size_t) atoi(key))
            : json_object_get(j, key);
    }

    return json_string_value(j);
}


static json_t *
at(json_t *root, const char *a, const char *b, const char *c)
{
    json_t  *j;

    j = json_object_get(root, a);

    if (b != NULL) {
        j = json_object_get(j, b);
    }

    if (c != NULL) {
        j = json_object_get(j, c);
    }

    return j;
}


/* setup */

static void
test_setup_full(void **state)
{
    char                  *text;
    size_t                 len;
    json_t                *fd, *root, *setup;
    orbis_err_t            err;
    orbis_gemini_setup_t   s;

    (void) state;

    fd = json_pack("[{s:s,s:s,s:{s:s}}]", "name", "open_gate",
                   "description", "Open the gate", "parameters",
                   "type", "OBJECT");

    memset(&s, 0, sizeof(s));
    s.model = "gemini-2.5-flash-native-audio-preview-12-2025";
    s.system_prompt = "You are a \"terse\" concierge.";
    s.voice = "Kore";
    s.language = "en-US";
    s.function_declarations = fd;
    s.input_transcription = 1;
    s.output_transcription = 1;

    text = orbis_gemini_build_setup(&s, &len, &err);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));

    root = load(text, len);
    setup = json_object_get(root, "setup");

    assert_int_equal(json_object_size(root), 1);
    assert_string_equal(str_at(setup, "model"),
                        "models/gemini-2.5-flash-native-audio-preview-12-2025");
    assert_string_equal(str_at(setup,
                               "generationConfig.responseModalities.0"),
                        "AUDIO");
    assert_int_equal(json_array_size(at(setup, "generationConfig",
                                        "responseModalities", NULL)), 1);
    assert_string_equal(str_at(setup, "generationConfig.speechConfig."
                                      "voiceConfig.prebuiltVoiceConfig."
                                      "voiceName"), "Kore");
    assert_string_equal(str_at(setup,
                               "generationConfig.speechConfig.languageCode"),
                        "en-US");
    assert_string_equal(str_at(setup, "systemInstruction.parts.0.text"),
                        "You are a \"terse\" concierge.");
    assert_string_equal(str_at(setup,
                               "tools.0.functionDeclarations.0.name"),
                        "open_gate");
    assert_true(json_equal(at(setup, "tools", NULL, NULL) != NULL
                           ? json_object_get(json_array_get(
                                 json_object_get(setup, "tools"), 0),
                                 "functionDeclarations")
                           : NULL, fd));
    assert_true(json_is_object(at(setup, "inputAudioTranscription", NULL,
                                  NULL)));
    assert_true(json_is_object(at(setup, "outputAudioTranscription", NULL,
                                  NULL)));
    assert_int_equal(json_object_size(at(setup, "sessionResumption", NULL,
                                         NULL)), 0);
    assert_true(json_is_object(at(setup, "contextWindowCompression",
                                  "slidingWindow", NULL)));

    /* the caller's array is borrowed, not taken */
    assert_int_equal(fd->refcount, 1);

    json_decref(root);
    orbis_gemini_free(text);
    json_decref(fd);
}


static void
test_setup_minimal_and_resume(void **state)
{
    char                  *text;
    size_t                 len;
    json_t                *root, *setup, *empty;
    orbis_gemini_setup_t   s;

    (void) state;

    empty = json_array();

    memset(&s, 0, sizeof(s));
    s.model = "models/gemini-live-2.5-flash-preview";
    s.function_declarations = empty;
    s.resume_handle = "HANDLE-7";
    s.language = "de-DE";

    text = orbis_gemini_build_setup(&s, &len, NULL);
    assert_non_null(text);

    root = load(text, len);
    setup = json_object_get(root, "setup");

    /* no double prefix */
    assert_string_equal(str_at(setup, "model"),
                        "models/gemini-live-2.5-flash-preview");
    assert_null(json_object_get(setup, "tools"));
    assert_null(json_object_get(setup, "systemInstruction"));
    assert_null(json_object_get(setup, "inputAudioTranscription"));
    assert_null(json_object_get(setup, "outputAudioTranscription"));
    assert_null(at(setup, "generationConfig", "speechConfig",
                   "voiceConfig"));
    assert_string_equal(str_at(setup,
                               "generationConfig.speechConfig.languageCode"),
                        "de-DE");
    assert_string_equal(str_at(setup, "sessionResumption.handle"),
                        "HANDLE-7");

    json_decref(root);
    free(text);

    /* neither voice nor language: no speechConfig at all */
    s.language = NULL;
    s.resume_handle = "";
    text = orbis_gemini_build_setup(&s, &len, NULL);
    root = load(text, len);
    setup = json_object_get(root, "setup");
    assert_null(at(setup, "generationConfig", "speechConfig", NULL));
    assert_int_equal(json_object_size(at(setup, "sessionResumption", NULL,
                                         NULL)), 0);

    json_decref(root);
    free(text);
    json_decref(empty);
}


static void
test_setup_refused(void **state)
{
    json_t                *fd;
    orbis_err_t            err;
    orbis_strbuf_t         b;
    orbis_gemini_setup_t   s;

    (void) state;

    memset(&s, 0, sizeof(s));
    assert_null(orbis_gemini_build_setup(&s, NULL, &err));
    assert_int_equal(err.code, ORBIS_ERR_INVALID);

    s.model = "";
    assert_null(orbis_gemini_build_setup(&s, NULL, &err));

    s.model = "gemini-x";
    s.system_prompt = "bad \xc3\x28 utf8";
    assert_null(orbis_gemini_build_setup(&s, NULL, &err));
    assert_string_equal(err.msg, "setup system prompt is not valid UTF-8");

    s.system_prompt = NULL;
    fd = json_object();
    s.function_declarations = fd;
    assert_null(orbis_gemini_build_setup(&s, NULL, &err));
    assert_non_null(strstr(err.msg, "array"));
    json_decref(fd);

    fd = json_pack("[{s:s},{s:s}]", "name", "ok", "description", "no name");
    s.function_declarations = fd;
    assert_null(orbis_gemini_build_setup(&s, NULL, &err));
    assert_string_equal(err.msg, "function declaration 1 has no name");

    /* a refused setup leaves the buffer as it was */
    orbis_strbuf_init(&b);
    orbis_strbuf_append(&b, "keep", 4);
    assert_int_equal(orbis_gemini_append_setup(&b, &s, NULL),
                     ORBIS_ERR_INVALID);
    s.function_declarations = NULL;
    s.model = NULL;
    assert_int_equal(orbis_gemini_append_setup(&b, &s, NULL),
                     ORBIS_ERR_INVALID);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    orbis_strbuf_free(&b);
    json_decref(fd);
}


/* realtime input and text */

static void
test_audio_message(void **state)
{
    int              i;
    char            *first;
    size_t           cap;
    uint8_t          pcm[640];
    orbis_err_t      err;
    orbis_strbuf_t   b;

    static const uint8_t  four[] = { 0x00, 0x01, 0x02, 0x03 };

    (void) state;

    orbis_strbuf_init(&b);

    assert_int_equal(orbis_gemini_build_audio(&b, four, 4, 16000, &err),
                     ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"realtimeInput\":{\"audio\":{\"mimeType\":"
                        "\"audio/pcm;rate=16000\",\"data\":\"AAECAw==\"}}}");
    assert_int_equal(b.len, strlen(b.data));

    /* a reused buffer does not reallocate for same-sized chunks */
    memset(pcm, 0x5a, sizeof(pcm));
    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_gemini_build_audio(&b, pcm, sizeof(pcm), 16000,
                                              NULL), ORBIS_OK);
    first = b.data;
    cap = b.cap;

    for (i = 0; i < 100; i++) {
        orbis_strbuf_reset(&b);
        assert_int_equal(orbis_gemini_build_audio(&b, pcm, sizeof(pcm),
                                                  16000, NULL), ORBIS_OK);
    }

    assert_ptr_equal(b.data, first);
    assert_int_equal(b.cap, cap);
    /* 69 bytes of head, 856 of base64, 4 of tail */
    assert_int_equal(b.len, 69 + 856 + 4);

    /* refusals leave the buffer untouched */
    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_gemini_build_audio(&b, four, 3, 16000, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_build_audio(&b, four, 0, 16000, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_build_audio(&b, four, 4, 0, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_build_audio(&b, four, 4, 96000, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(b.len, 0);

    orbis_strbuf_free(&b);
}


static void
test_text_and_audio_end(void **state)
{
    orbis_err_t     err;
    orbis_strbuf_t  b;

    (void) state;

    orbis_strbuf_init(&b);

    assert_int_equal(orbis_gemini_build_text(&b, "Is the \"north\" gate open?",
                                             25, &err), ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"clientContent\":{\"turns\":[{\"role\":\"user\","
                        "\"parts\":[{\"text\":\"Is the \\\"north\\\" gate "
                        "open?\"}]}],\"turnComplete\":true}}");

    /* length-delimited: only the first 5 bytes */
    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_gemini_build_text(&b, "Hello there", 5, NULL),
                     ORBIS_OK);
    assert_non_null(strstr(b.data, "\"text\":\"Hello\""));

    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_gemini_build_text(&b, "", 0, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_build_text(&b, "\xff", 1, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_build_text(&b, "a\0b", 3, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(b.len, 0);

    assert_int_equal(orbis_gemini_build_audio_end(&b, NULL), ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"realtimeInput\":{\"audioStreamEnd\":true}}");

    orbis_strbuf_free(&b);
}


static void
test_tool_response(void **state)
{
    json_t                      *ok, *num;
    orbis_err_t                  err;
    orbis_strbuf_t               b;
    orbis_gemini_fn_response_t   r[3];

    (void) state;

    ok = json_pack("{s:s}", "result", "opened");
    num = json_integer(42);

    r[0].id = "function-call-5831923424298605773";
    r[0].name = "open_gate";
    r[0].response = ok;
    r[1].id = NULL;
    r[1].name = "count";
    r[1].response = num;
    r[2].id = "function-call-9";
    r[2].name = "noop";
    r[2].response = NULL;

    orbis_strbuf_init(&b);

    assert_int_equal(orbis_gemini_build_tool_response(&b, r, 3, &err),
                     ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"toolResponse\":{\"functionResponses\":["
                        "{\"id\":\"function-call-5831923424298605773\","
                        "\"name\":\"open_gate\","
                        "\"response\":{\"result\":\"opened\"}},"
                        "{\"name\":\"count\",\"response\":{\"result\":42}},"
                        "{\"id\":\"function-call-9\",\"name\":\"noop\","
                        "\"response\":{}}]}}");

    /* borrowed values keep their reference counts */
    assert_int_equal(ok->refcount, 1);
    assert_int_equal(num->refcount, 1);

    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_gemini_build_tool_response(&b, r, 0, &err),
                     ORBIS_ERR_INVALID);
    r[1].name = NULL;
    assert_int_equal(orbis_gemini_build_tool_response(&b, r, 2, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(b.len, 0);

    orbis_strbuf_free(&b);
    json_decref(ok);
    json_decref(num);
}


/* parser */

static void
test_parse_setup_complete_pretty(void **state)
{
    orbis_err_t         err;
    orbis_gemini_msg_t  m;

    static const char  msg[] = "{\n  \"setupComplete\": {}\n}\n";

    (void) state;

    assert_int_equal(orbis_gemini_parse(msg, sizeof(msg) - 1, &m, &err),
                     ORBIS_OK);
    assert_true(m.setup_complete);
    assert_false(m.server_content);
    assert_false(m.turn_complete);
    assert_int_equal(m.audio_len, 0);
    assert_int_equal(m.go_away_ms, -1);
    orbis_gemini_msg_free(&m);
}


static void
test_parse_everything_at_once(void **state)
{
    orbis_err_t         err;
    orbis_gemini_msg_t  m;

    /* audio in two parts + both transcriptions + turnComplete + usage */
    static const char  msg[] =
        "{\n"
        "  \"serverContent\": {\n"
        "    \"modelTurn\": {\n"
        "      \"parts\": [\n"
        "        {\"inlineData\": {\"mimeType\": \"audio/pcm;rate=24000\",\n"
        "                         \"data\": \"AAECAw==\"}},\n"
        "        {\"inlineData\": {\"mimeType\": \"audio/pcm;rate=24000\",\n"
        "                         \"data\": \"BAU=\"}},\n"
        "        {\"text\": \"thinking...\", \"thought\": true},\n"
        "        {\"text\": \"The north \"},\n"
        "        {\"inlineData\": {\"mimeType\": \"image/jpeg\",\n"
        "                         \"data\": \"not even base64\"}},\n"
        "        {\"text\": \"gate is open.\"}\n"
        "      ]\n"
        "    },\n"
        "    \"inputTranscription\": {\"text\": \" is the gate open\"},\n"
        "    \"outputTranscription\": {\"text\": \"It is open.\",\n"
        "                              \"finished\": true},\n"
        "    \"generationComplete\": true,\n"
        "    \"turnComplete\": true,\n"
        "    \"groundingMetadata\": {\"whatever\": [1, 2]}\n"
        "  },\n"
        "  \"usageMetadata\": {\n"
        "    \"promptTokenCount\": 515,\n"
        "    \"responseTokenCount\": \"31\",\n"
        "    \"totalTokenCount\": \"546\",\n"
        "    \"promptTokensDetails\": [{\"modality\": \"TEXT\","
        " \"tokenCount\": 515}]\n"
        "  }\n"
        "}\n";

    static const uint8_t  pcm[] = { 0, 1, 2, 3, 4, 5 };

    (void) state;

    assert_int_equal(orbis_gemini_parse(msg, sizeof(msg) - 1, &m, &err),
                     ORBIS_OK);

    assert_true(m.server_content);
    assert_int_equal(m.audio_parts, 2);
    assert_int_equal(m.audio_len, 6);
    assert_memory_equal(m.audio, pcm, 6);
    assert_int_equal(m.audio_rate, 24000);
    assert_string_equal(m.text, "The north gate is open.");
    assert_int_equal(m.text_len, strlen("The north gate is open."));
    assert_string_equal(m.input_transcription, " is the gate open");
    assert_false(m.input_transcription_finished);
    assert_string_equal(m.output_transcription, "It is open.");
    assert_true(m.output_transcription_finished);
    assert_true(m.generation_complete);
    assert_true(m.turn_complete);
    assert_false(m.interrupted);
    assert_true(m.usage);
    assert_int_equal(m.prompt_tokens, 515);
    assert_int_equal(m.response_tokens, 31);
    assert_int_equal(m.total_tokens, 546);
    assert_false(m.setup_complete);
    assert_int_equal(m.n_tool_calls, 0);

    orbis_gemini_msg_free(&m);

    /* freeing twice is harmless: free leaves an empty message */
    orbis_gemini_msg_free(&m);
    assert_null(m.root);
}


static void
test_parse_snake_case(void **state)
{
    orbis_gemini_msg_t  m;

    static const char  msg[] =
        "{\"server_content\":{\"model_turn\":{\"parts\":[{\"inline_data\":"
        "{\"mime_type\":\"audio/pcm\",\"data\":\"AAE\"}}]},"
        "\"output_transcription\":{\"text\":\"hi\"},"
        "\"turn_complete\":true,\"generation_complete\":true},"
        "\"usage_metadata\":{\"total_token_count\":\"9007199254740993\"},"
        "\"session_resumption_update\":{\"new_handle\":\"h1\","
        "\"resumable\":true}}";

    (void) state;

    assert_int_equal(orbis_gemini_parse(msg, sizeof(msg) - 1, &m, NULL),
                     ORBIS_OK);

    /* unpadded base64 is accepted from the server, as proto3 JSON does */
    assert_int_equal(m.audio_len, 2);
    assert_int_equal(m.audio[0], 0);
    assert_int_equal(m.audio[1], 1);
    assert_int_equal(m.audio_rate, 0);
    assert_string_equal(m.output_transcription, "hi");
    assert_true(m.turn_complete);
    assert_true(m.generation_complete);
    assert_int_equal(m.total_tokens, 9007199254740993LL);
    assert_true(m.resumption_update);
    assert_string_equal(m.new_handle, "h1");
    assert_true(m.resumable);

    orbis_gemini_msg_free(&m);
}


static void
test_parse_tools(void **state)
{
    orbis_err_t         err;
    orbis_gemini_msg_t  m;

    static const char  calls[] =
        "{\"toolCall\":{\"functionCalls\":["
        "{\"id\":\"function-call-17\",\"name\":\"open_gate\","
        "\"args\":{\"gate\":\"north\"}},"
        "{\"name\":\"ping\"}]}}";

    static const char  cancel[] =
        "{\"toolCallCancellation\":{\"ids\":[\"function-call-17\","
        "\"function-call-18\"]}}";

    static const char  no_name[] =
        "{\"toolCall\":{\"functionCalls\":[{\"id\":\"x\"}]}}";

    static const char  bad_args[] =
        "{\"toolCall\":{\"functionCalls\":[{\"name\":\"x\",\"args\":[1]}]}}";

    (void) state;

    assert_int_equal(orbis_gemini_parse(calls, sizeof(calls) - 1, &m, &err),
                     ORBIS_OK);
    assert_int_equal(m.n_tool_calls, 2);
    assert_string_equal(m.tool_calls[0].id, "function-call-17");
    assert_string_equal(m.tool_calls[0].name, "open_gate");
    assert_string_equal(json_string_value(
                            json_object_get(m.tool_calls[0].args, "gate")),
                        "north");
    assert_null(m.tool_calls[1].id);
    assert_string_equal(m.tool_calls[1].name, "ping");
    assert_null(m.tool_calls[1].args);
    orbis_gemini_msg_free(&m);

    assert_int_equal(orbis_gemini_parse(cancel, sizeof(cancel) - 1, &m, &err),
                     ORBIS_OK);
    assert_int_equal(m.n_cancelled_ids, 2);
    assert_string_equal(m.cancelled_ids[0], "function-call-17");
    assert_string_equal(m.cancelled_ids[1], "function-call-18");
    orbis_gemini_msg_free(&m);

    assert_int_equal(orbis_gemini_parse(no_name, sizeof(no_name) - 1, &m,
                                        &err), ORBIS_ERR_PROTOCOL);
    assert_string_equal(err.msg, "function call 0 has no name");
    assert_null(m.root);
    assert_null(m.tool_calls);

    assert_int_equal(orbis_gemini_parse(bad_args, sizeof(bad_args) - 1, &m,
                                        &err), ORBIS_ERR_PROTOCOL);
    assert_string_equal(err.msg, "\"args\" must be an object");
    orbis_gemini_msg_free(&m);
}


static void
test_parse_go_away_and_resumption(void **state)
{
    orbis_gemini_msg_t  m;

    static const char  ga[] = "{\"goAway\": {\"timeLeft\": \"50s\"}}";
    static const char  ga2[] = "{\"go_away\": {\"time_left\": \"1.5s\"}}";
    static const char  ga3[] = "{\"goAway\": {\"timeLeft\": \"soon\"}}";
    static const char  ga4[] = "{\"goAway\": {}}";
    static const char  sr[] =
        "{\"sessionResumptionUpdate\": {\"newHandle\": \"\"}}";

    (void) state;

    assert_int_equal(orbis_gemini_parse(ga, sizeof(ga) - 1, &m, NULL),
                     ORBIS_OK);
    assert_true(m.go_away);
    assert_int_equal(m.go_away_ms, 50000);
    orbis_gemini_msg_free(&m);

    assert_int_equal(orbis_gemini_parse(ga2, sizeof(ga2) - 1, &m, NULL),
                     ORBIS_OK);
    assert_int_equal(m.go_away_ms, 1500);
    orbis_gemini_msg_free(&m);

    /* still a goAway, the time is just unknown */
    assert_int_equal(orbis_gemini_parse(ga3, sizeof(ga3) - 1, &m, NULL),
                     ORBIS_OK);
    assert_true(m.go_away);
    assert_int_equal(m.go_away_ms, -1);
    orbis_gemini_msg_free(&m);

    assert_int_equal(orbis_gemini_parse(ga4, sizeof(ga4) - 1, &m, NULL),
                     ORBIS_OK);
    assert_true(m.go_away);
    assert_int_equal(m.go_away_ms, -1);
    orbis_gemini_msg_free(&m);

    /* while generating: empty handle, not resumable */
    assert_int_equal(orbis_gemini_parse(sr, sizeof(sr) - 1, &m, NULL),
                     ORBIS_OK);
    assert_true(m.resumption_update);
    assert_false(m.resumable);
    assert_string_equal(m.new_handle, "");
    orbis_gemini_msg_free(&m);
}


static void
test_parse_interrupted(void **state)
{
    orbis_gemini_msg_t  m;

    static const char  msg[] =
        "{\"serverContent\":{\"interrupted\":true,\"turnComplete\":true}}";

    (void) state;

    assert_int_equal(orbis_gemini_parse(msg, sizeof(msg) - 1, &m, NULL),
                     ORBIS_OK);
    assert_true(m.interrupted);
    assert_true(m.turn_complete);
    assert_false(m.generation_complete);
    orbis_gemini_msg_free(&m);
}


static void
test_parse_refusals(void **state)
{
    size_t              i;
    orbis_err_t         err;
    orbis_gemini_msg_t  m;

    static const char  *bad[] = {
        "",
        "not json",
        "[1,2]",
        "\"setupComplete\"",
        "{}",
        "{\"foo\":{}}",
        "{\"setupComplete\":null}",
        "{\"serverContent\":\"yes\"}",
        "{\"serverContent\":{\"turnComplete\":\"true\"}}",
        "{\"serverContent\":{\"modelTurn\":{\"parts\":{}}}}",
        "{\"serverContent\":{\"modelTurn\":{\"parts\":[1]}}}",
        "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"
            "{\"data\":\"AA=A\"}}]}}}",
        "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"
            "{\"data\":\"AA\\nAA\"}}]}}}",
        "{\"serverContent\":{\"inputTranscription\":{\"text\":5}}}",
        "{\"toolCall\":{}}",
        "{\"toolCall\":{\"functionCalls\":[\"x\"]}}",
        "{\"toolCallCancellation\":{\"ids\":[1]}}",
        "{\"goAway\":{\"timeLeft\":50}}",
        "{\"usageMetadata\":{\"totalTokenCount\":\"12x\"}}",
        "{\"usageMetadata\":{\"totalTokenCount\":1.5}}",
        "{\"usageMetadata\":{\"totalTokenCount\":\"99999999999999999999\"}}",
        "{\"sessionResumptionUpdate\":{\"resumable\":\"true\"}}",
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));

        if (orbis_gemini_parse(bad[i], strlen(bad[i]), &m, &err)
            != ORBIS_ERR_PROTOCOL)
        {
            fail_msg("accepted: %s", bad[i]);
        }

        assert_int_equal(err.code, ORBIS_ERR_PROTOCOL);
        assert_true(err.msg[0] != '\0');
        assert_null(m.root);
        assert_null(m.audio);
        orbis_gemini_msg_free(&m);
    }

    /* unknown fields next to a known one are fine; so is usage alone */
    assert_int_equal(orbis_gemini_parse("{\"usageMetadata\":{},\"x\":1}", 26,
                                        &m, &err), ORBIS_OK);
    assert_true(m.usage);
    orbis_gemini_msg_free(&m);

    assert_int_equal(orbis_gemini_parse("{\"usageMetadata\":"
                                        "{\"totalTokenCount\":12.0}}", 42,
                                        &m, &err), ORBIS_OK);
    assert_int_equal(m.total_tokens, 12);
    orbis_gemini_msg_free(&m);
}


/* the audio scanner against jansson */

#define HOT_HEAD                                                             \
    "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"
#define HOT_TAIL  "}]}}}"
#define HOT_MIME  "\"mimeType\":\"audio/pcm;rate=24000\""
#define HOT_DATA  "\"data\":\"AAECAw==\""


static int
same_str(const char *a, const char *b)
{
    return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}


static void
assert_msg_equal(const orbis_gemini_msg_t *a, const orbis_gemini_msg_t *b)
{
    size_t                           i;
    const orbis_gemini_tool_call_t  *ta, *tb;

    assert_int_equal(a->setup_complete, b->setup_complete);
    assert_int_equal(a->server_content, b->server_content);
    assert_int_equal(a->audio == NULL, b->audio == NULL);
    assert_int_equal(a->audio_len, b->audio_len);

    if (a->audio_len != 0) {
        assert_memory_equal(a->audio, b->audio, a->audio_len);
    }

    assert_int_equal(a->audio_parts, b->audio_parts);
    assert_int_equal(a->audio_rate, b->audio_rate);
    assert_int_equal(a->text_len, b->text_len);
    assert_true(same_str(a->text, b->text));
    assert_true(same_str(a->input_transcription, b->input_transcription));
    assert_int_equal(a->input_transcription_finished,
                     b->input_transcription_finished);
    assert_true(same_str(a->output_transcription, b->output_transcription));
    assert_int_equal(a->output_transcription_finished,
                     b->output_transcription_finished);
    assert_int_equal(a->interrupted, b->interrupted);
    assert_int_equal(a->generation_complete, b->generation_complete);
    assert_int_equal(a->turn_complete, b->turn_complete);

    assert_int_equal(a->n_tool_calls, b->n_tool_calls);

    for (i = 0; i < a->n_tool_calls; i++) {
        ta = &a->tool_calls[i];
        tb = &b->tool_calls[i];

        assert_true(same_str(ta->id, tb->id));
        assert_true(same_str(ta->name, tb->name));
        assert_true(ta->args == NULL ? tb->args == NULL
                                     : json_equal(ta->args, tb->args));
    }

    assert_int_equal(a->n_cancelled_ids, b->n_cancelled_ids);

    for (i = 0; i < a->n_cancelled_ids; i++) {
        assert_string_equal(a->cancelled_ids[i], b->cancelled_ids[i]);
    }

    assert_int_equal(a->go_away, b->go_away);
    assert_int_equal(a->go_away_ms, b->go_away_ms);
    assert_int_equal(a->resumption_update, b->resumption_update);
    assert_true(same_str(a->new_handle, b->new_handle));
    assert_int_equal(a->resumable, b->resumable);
    assert_int_equal(a->usage, b->usage);
    assert_int_equal(a->prompt_tokens, b->prompt_tokens);
    assert_int_equal(a->response_tokens, b->response_tokens);
    assert_int_equal(a->total_tokens, b->total_tokens);
}


/*
 * Parses msg three ways: orbis_gemini_parse(), the scanner alone and
 * jansson alone.  Checks that the public result (rc, error, every field) is
 * jansson's and, when the scanner took the message, that it got jansson's
 * result too.  Returns 1 when the scanner took it.
 */

static int
parse_three(const char *msg, size_t len, orbis_rc_t *rc)
{
    int                 fast;
    orbis_rc_t          rc_json;
    orbis_err_t         err, err_json;
    orbis_gemini_msg_t  m, f, j;

    memset(&err, 0, sizeof(err));
    memset(&err_json, 0, sizeof(err_json));

    fast = orbis_gemini_parse_audio(msg, len, &f);
    rc_json = orbis_gemini_parse_json(msg, len, &j, &err_json);
    *rc = orbis_gemini_parse(msg, len, &m, &err);

    assert_int_equal(*rc, rc_json);
    assert_int_equal(err.code, err_json.code);
    assert_string_equal(err.msg, err_json.msg);

    if (fast) {
        assert_int_equal(rc_json, ORBIS_OK);
        assert_null(f.root);
        assert_null(m.root);
        assert_msg_equal(&f, &j);

    } else {
        /* declined: nothing half-filled */
        assert_false(f.server_content);
        assert_null(f.audio);
        assert_null(f.root);
        assert_int_equal(f.go_away_ms, -1);
    }

    if (rc_json == ORBIS_OK) {
        assert_msg_equal(&m, &j);

    } else {
        assert_null(m.root);
        assert_null(m.audio);
    }

    orbis_gemini_msg_free(&f);
    orbis_gemini_msg_free(&j);
    orbis_gemini_msg_free(&m);

    /* what the scanner returned is freed like the rest, also twice */
    assert_null(f.audio);
    orbis_gemini_msg_free(&f);

    return fast;
}


static void
put(orbis_strbuf_t *b, const char *s)
{
    assert_int_equal(orbis_strbuf_append(b, s, strlen(s)), ORBIS_OK);
}


static void
put_member(orbis_strbuf_t *b, const char *ws, const char *key,
    const char *value)
{
    put(b, "\"");
    put(b, key);
    put(b, "\"");
    put(b, ws);
    put(b, ":");
    put(b, ws);
    put(b, "\"");
    put(b, value);
    put(b, "\"");
    put(b, ws);
}


/* the audio message with ws before, between and after all tokens */

static void
hot_msg(orbis_strbuf_t *b, const char *ws, int data_first, const char *mime,
    const char *b64)
{
    size_t  i;

    static const char  *head[] = {
        "{", "\"serverContent\"", ":", "{", "\"modelTurn\"", ":", "{",
        "\"parts\"", ":", "[", "{", "\"inlineData\"", ":", "{"
    };

    static const char  *tail[] = { "}", "}", "]", "}", "}", "}" };

    orbis_strbuf_reset(b);
    put(b, ws);

    for (i = 0; i < sizeof(head) / sizeof(head[0]); i++) {
        put(b, head[i]);
        put(b, ws);
    }

    if (mime != NULL && !data_first) {
        put_member(b, ws, "mimeType", mime);
        put(b, ",");
        put(b, ws);
    }

    put_member(b, ws, "data", b64);

    if (mime != NULL && data_first) {
        put(b, ",");
        put(b, ws);
        put_member(b, ws, "mimeType", mime);
    }

    for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
        put(b, tail[i]);
        put(b, ws);
    }
}


static void
test_fast_path_shapes(void **state)
{
    char                b64[6404];
    size_t              i, k, n, z, o, w, unpadded;
    uint8_t             pcm[4800];
    orbis_rc_t          rc;
    orbis_strbuf_t      b;
    orbis_gemini_msg_t  m;

    static const size_t  sizes[] = { 0, 1, 2, 3, 4, 5, 960, 4800 };

    static const char  *spaces[] = { "", " ", "\n  ", "\t", "\r\n", " \t " };

    static const struct {
        const char  *mime;
        uint32_t     rate;
    } mimes[] = {
        { "audio/pcm;rate=24000", 24000 },
        { "audio/pcm;rate=16000", 16000 },
        { "audio/pcm", 0 },
        { "audio/L16;codec=pcm;rate=48000", 48000 },
        { "audio/pcm;rate=8000;channels=1", 8000 },
        { "audio/pcm;rate=", 0 },
        { "audio/pcm;rate=99999999999", 0 },
        { "audio/", 0 },
        { NULL, 0 },
    };

    (void) state;

    for (i = 0; i < sizeof(pcm); i++) {
        pcm[i] = (uint8_t) (i * 37 + 11);
    }

    orbis_strbuf_init(&b);

    for (z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        n = orbis_base64_encode(b64, pcm, sizes[z]);
        b64[n] = '\0';

        for (unpadded = 0; unpadded < 2; unpadded++) {

            if (unpadded) {
                if (n == 0 || b64[n - 1] != '=') {
                    continue;
                }

                while (b64[n - 1] == '=') {
                    b64[--n] = '\0';
                }
            }

            for (w = 0; w < sizeof(spaces) / sizeof(spaces[0]); w++) {
                for (k = 0; k < sizeof(mimes) / sizeof(mimes[0]); k++) {
                    for (o = 0; o < 2; o++) {
                        hot_msg(&b, spaces[w], (int) o, mimes[k].mime, b64);

                        if (!orbis_gemini_parse_audio(b.data, b.len, &m)) {
                            fail_msg("declined: %s", b.data);
                        }

                        assert_true(m.server_content);
                        assert_int_equal(m.audio_parts, 1);
                        assert_int_equal(m.audio_len, sizes[z]);
                        assert_int_equal(m.audio == NULL, sizes[z] == 0);

                        if (sizes[z] != 0) {
                            assert_memory_equal(m.audio, pcm, sizes[z]);
                        }

                        assert_int_equal(m.audio_rate, mimes[k].rate);
                        assert_null(m.root);
                        assert_null(m.text);
                        assert_false(m.turn_complete);
                        assert_int_equal(m.go_away_ms, -1);
                        orbis_gemini_msg_free(&m);

                        assert_true(parse_three(b.data, b.len, &rc));
                        assert_int_equal(rc, ORBIS_OK);
                    }
                }
            }
        }
    }

    orbis_strbuf_free(&b);
}


static void
test_fast_path_literals(void **state)
{
    size_t              i;
    orbis_rc_t          rc;
    orbis_gemini_msg_t  m;

    static const uint8_t  pcm[] = { 0, 1, 2, 3 };

    static const char  *hot[] = {
        HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL,
        HOT_HEAD "{" HOT_DATA "," HOT_MIME "}" HOT_TAIL,

        /* as in the API reference */
        "{\"serverContent\": {\"modelTurn\": {\"parts\": [{\"inlineData\": "
        "{\"mimeType\": \"audio/pcm;rate=24000\", \"data\": \"AAECAw==\"}}]}}}",

        "{\n  \"serverContent\": {\n    \"modelTurn\": {\n      \"parts\": [\n"
        "        {\n          \"inlineData\": {\n            \"data\": "
        "\"AAECAw==\",\n            \"mimeType\": \"audio/pcm;rate=24000\"\n"
        "          }\n        }\n      ]\n    }\n  }\n}\n",

        " \r\n\t" HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL " \r\n\t",
    };

    (void) state;

    for (i = 0; i < sizeof(hot) / sizeof(hot[0]); i++) {
        assert_int_equal(orbis_gemini_parse(hot[i], strlen(hot[i]), &m, NULL),
                         ORBIS_OK);
        assert_null(m.root);
        assert_true(m.server_content);
        assert_int_equal(m.audio_parts, 1);
        assert_int_equal(m.audio_len, 4);
        assert_memory_equal(m.audio, pcm, 4);
        assert_int_equal(m.audio_rate, 24000);
        orbis_gemini_msg_free(&m);
        orbis_gemini_msg_free(&m);
        assert_null(m.audio);

        if (!parse_three(hot[i], strlen(hot[i]), &rc)) {
            fail_msg("declined: %s", hot[i]);
        }
    }
}


static void
test_fast_path_declines(void **state)
{
    char                buf[256];
    size_t              i, n;
    orbis_rc_t          rc;
    orbis_err_t         err;
    orbis_gemini_msg_t  m;

    static const uint8_t  slash[] = { 0x00, 0x01, 0x3f };

    static const struct {
        const char  *msg;
        orbis_rc_t   rc;
    } cases[] = {

        /* jansson reads these fine, the scanner does not try */
        { HOT_HEAD "{" HOT_MIME ",\"data\":\"AAE\\/\"}" HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{\"mimeType\":\"audio\\/pcm;rate=24000\"," HOT_DATA "}"
          HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME ",\"d\\u0061ta\":\"AAECAw==\"}" HOT_TAIL,
          ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}},{\"inlineData\":{" HOT_MIME
          ",\"data\":\"BAU=\"" "}" HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA ",\"x\":1}" HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA ",\"x\":{\"y\":[1,{\"z\":null}]}}"
          HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}},{\"text\":\"hi\"}]}}}",
          ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "},\"thought\":true" HOT_TAIL,
          ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}}]},\"generationComplete\":true"
          "}}", ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}}]},\"outputTranscription\":"
          "{\"text\":\"It\"}}}", ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}}]}},\"usageMetadata\":"
          "{\"totalTokenCount\":5}}", ORBIS_OK },
        { "{\"serverContent\":{\"modelTurn\":{\"role\":\"model\",\"parts\":"
          "[{\"inlineData\":{" HOT_MIME "," HOT_DATA "}" HOT_TAIL, ORBIS_OK },
        { "{\"server_content\":{\"model_turn\":{\"parts\":[{\"inline_data\":"
          "{\"mime_type\":\"audio/pcm;rate=24000\"," HOT_DATA "}" HOT_TAIL,
          ORBIS_OK },
        { HOT_HEAD "{\"mime_type\":\"audio/pcm;rate=24000\"," HOT_DATA "}"
          HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME ",\"data\":\"AAAA\"," HOT_DATA "}" HOT_TAIL,
          ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "," HOT_MIME "," HOT_DATA "}" HOT_TAIL,
          ORBIS_OK },
        { HOT_HEAD "{\"mimeType\":\"image/png\"," HOT_DATA "}" HOT_TAIL,
          ORBIS_OK },
        { HOT_HEAD "{\"mimeType\":\"audio\"," HOT_DATA "}" HOT_TAIL,
          ORBIS_OK },
        { HOT_HEAD "{\"mimeType\":\"Audio/pcm\"," HOT_DATA "}" HOT_TAIL,
          ORBIS_OK },
        { HOT_HEAD "{\"mimeType\":null," HOT_DATA "}" HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME ",\"data\":null}" HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{" HOT_MIME "}" HOT_TAIL, ORBIS_OK },
        { HOT_HEAD "{}" HOT_TAIL, ORBIS_OK },
        { "{\"serverContent\":{\"modelTurn\":{\"parts\":[]}}}", ORBIS_OK },
        { HOT_HEAD "{\"mimeType\":\"audio/pcm;rate=24000;x=\xc3\xa9\","
          HOT_DATA "}" HOT_TAIL, ORBIS_OK },

        /* and these it refuses, with its own words */
        { HOT_HEAD "{" HOT_MIME ",\"data\":5}" HOT_TAIL, ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME ",\"data\":\"AAEC\tAw==\"}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{\"mimeType\":\"audio/pcm\x01\"," HOT_DATA "}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{\"mimeType\":\"audio/pcm\xff\"," HOT_DATA "}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME " " HOT_DATA "}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME ",," HOT_DATA "}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA ",}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{\"mimeType\"\"audio/pcm\"," HOT_DATA "}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME ",\"data\":'AAECAw=='}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME ",\"data\":\"AAECAw==}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { "{\f\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":{"
          HOT_MIME "," HOT_DATA "}" HOT_TAIL, ORBIS_ERR_PROTOCOL },
        { "\xef\xbb\xbf" HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL,
          ORBIS_ERR_PROTOCOL },
        { "[" HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL "]",
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL "x",
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL "}",
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL ",",
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL " {}",
          ORBIS_ERR_PROTOCOL },
        { HOT_HEAD "{" HOT_MIME "," HOT_DATA "}}]}}",
          ORBIS_ERR_PROTOCOL },
    };

    /* valid JSON, bad base64: jansson's error, word for word */
    static const char  *bad_b64[] = {
        "A", "AA=A", "AAA!", "AB==", "AAAA====", "AAAAA", "AA AA", "=",
        "AAE-", "AAE_", "AAECAw==AAAA",
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (parse_three(cases[i].msg, strlen(cases[i].msg), &rc)) {
            fail_msg("not declined: %s", cases[i].msg);
        }

        if (rc != cases[i].rc) {
            fail_msg("rc %d: %s", (int) rc, cases[i].msg);
        }
    }

    /* the escaped slash still arrives, by the slow way */
    assert_int_equal(orbis_gemini_parse(cases[0].msg, strlen(cases[0].msg),
                                        &m, NULL), ORBIS_OK);
    assert_non_null(m.root);
    assert_int_equal(m.audio_len, 3);
    assert_memory_equal(m.audio, slash, 3);
    assert_int_equal(m.audio_rate, 24000);
    orbis_gemini_msg_free(&m);

    for (i = 0; i < sizeof(bad_b64) / sizeof(bad_b64[0]); i++) {
        n = (size_t) snprintf(buf, sizeof(buf),
                              HOT_HEAD "{" HOT_MIME ",\"data\":\"%s\"}"
                              HOT_TAIL, bad_b64[i]);

        assert_false(parse_three(buf, n, &rc));
        assert_int_equal(rc, ORBIS_ERR_PROTOCOL);

        assert_int_equal(orbis_gemini_parse(buf, n, &m, &err),
                         ORBIS_ERR_PROTOCOL);
        assert_string_equal(err.msg, "bad audio data in part 0");
        assert_null(m.audio);
        orbis_gemini_msg_free(&m);
    }
}


/* every prefix, every byte turned into a NUL */

static void
test_fast_path_cut_and_nul(void **state)
{
    char        buf[128];
    size_t      i, n;
    orbis_rc_t  rc;

    static const char  msg[] =
        HOT_HEAD "{" HOT_MIME "," HOT_DATA "}" HOT_TAIL;

    (void) state;

    n = sizeof(msg) - 1;
    assert_true(n <= sizeof(buf));

    assert_true(parse_three(msg, n, &rc));

    for (i = 0; i < n; i++) {
        if (parse_three(msg, i, &rc) || rc != ORBIS_ERR_PROTOCOL) {
            fail_msg("prefix of %zu bytes", i);
        }

        memcpy(buf, msg, n);
        buf[i] = '\0';

        if (parse_three(buf, n, &rc) || rc != ORBIS_ERR_PROTOCOL) {
            fail_msg("NUL at %zu", i);
        }
    }

    /* a NUL after the message is trailing garbage, not an end */
    memcpy(buf, msg, n);
    buf[n] = '\0';
    assert_false(parse_three(buf, n + 1, &rc));
    assert_int_equal(rc, ORBIS_ERR_PROTOCOL);
}


/*
 * Every single-byte change, deletion and insertion of two messages: both
 * paths must agree whatever happens, and both outcomes must occur.
 */

static void
test_fast_path_mutations(void **state)
{
    int         c;
    char        buf[160];
    size_t      i, k, n, taken, declined;
    orbis_rc_t  rc;

    static const char  *msgs[] = {
        HOT_HEAD "{" HOT_MIME ",\"data\":\"AAECAwQ\"}" HOT_TAIL,
        "{ \"serverContent\" : { \"modelTurn\" : { \"parts\" : [ {"
        " \"inlineData\" : { \"data\" : \"AAEC\" , \"mimeType\" :"
        " \"audio/pcm;rate=16000\" } } ] } } }",
    };

    static const char  ins[] = " \t\r\n\f\v\"\\,:{}[]0aA=/+-_";

    (void) state;

    taken = 0;
    declined = 0;

    for (k = 0; k < sizeof(msgs) / sizeof(msgs[0]); k++) {
        n = strlen(msgs[k]);
        assert_true(n + 1 <= sizeof(buf));

        for (i = 0; i < n; i++) {

            for (c = 0; c < 256; c++) {
                memcpy(buf, msgs[k], n);
                buf[i] = (char) c;

                if (parse_three(buf, n, &rc)) {
                    taken++;

                } else {
                    declined++;
                }
            }

            memcpy(buf, msgs[k], i);
            memcpy(buf + i, msgs[k] + i + 1, n - i - 1);
            (void) parse_three(buf, n - 1, &rc);

            for (c = 0; ins[c] != '\0'; c++) {
                memcpy(buf, msgs[k], i);
                buf[i] = ins[c];
                memcpy(buf + i + 1, msgs[k] + i, n - i);

                if (parse_three(buf, n + 1, &rc)) {
                    taken++;

                } else {
                    declined++;
                }
            }
        }
    }

    /* base64 letters for base64 letters, whitespace for whitespace */
    assert_true(taken > 1000);
    assert_true(declined > 1000);
}


static void
test_duration(void **state)
{
    int64_t  ms;

    (void) state;

    assert_int_equal(orbis_gemini_parse_duration_ms("50s", &ms), ORBIS_OK);
    assert_int_equal(ms, 50000);
    assert_int_equal(orbis_gemini_parse_duration_ms("1.5s", &ms), ORBIS_OK);
    assert_int_equal(ms, 1500);
    assert_int_equal(orbis_gemini_parse_duration_ms("0s", &ms), ORBIS_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(orbis_gemini_parse_duration_ms("0.001s", &ms),
                     ORBIS_OK);
    assert_int_equal(ms, 1);
    assert_int_equal(orbis_gemini_parse_duration_ms("0.0009s", &ms),
                     ORBIS_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(orbis_gemini_parse_duration_ms("1.123456789s", &ms),
                     ORBIS_OK);
    assert_int_equal(ms, 1123);
    assert_int_equal(orbis_gemini_parse_duration_ms("-2.25s", &ms),
                     ORBIS_OK);
    assert_int_equal(ms, -2250);
    assert_int_equal(orbis_gemini_parse_duration_ms("600s", &ms), ORBIS_OK);
    assert_int_equal(ms, 600000);

    assert_int_equal(orbis_gemini_parse_duration_ms("1.1234567891s", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms("", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms("s", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms("10", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms("1.s", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms(".5s", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms("5ss", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms("5 s", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms("5m", &ms),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_parse_duration_ms("99999999999999999999s",
                                                    &ms), ORBIS_ERR_RANGE);
}


static void
test_close_class(void **state)
{
    (void) state;

    assert_int_equal(orbis_gemini_close_class(1011,
                         "Deadline expired before operation could complete."),
                     ORBIS_GEMINI_CLOSE_RETRYABLE);
    assert_int_equal(orbis_gemini_close_class(1011, NULL),
                     ORBIS_GEMINI_CLOSE_RETRYABLE);
    assert_int_equal(orbis_gemini_close_class(1001, ""),
                     ORBIS_GEMINI_CLOSE_RETRYABLE);
    assert_int_equal(orbis_gemini_close_class(1006, NULL),
                     ORBIS_GEMINI_CLOSE_RETRYABLE);
    assert_int_equal(orbis_gemini_close_class(1000,
                         "The operation was cancelled."),
                     ORBIS_GEMINI_CLOSE_RETRYABLE);
    assert_int_equal(orbis_gemini_close_class(1013, NULL),
                     ORBIS_GEMINI_CLOSE_RETRYABLE);

    assert_int_equal(orbis_gemini_close_class(1007,
                         "Request contains an invalid argument."),
                     ORBIS_GEMINI_CLOSE_FATAL);
    assert_int_equal(orbis_gemini_close_class(1008,
                         "models/gemini-x is not found for API version "
                         "v1beta, or is not supported for "
                         "bidiGenerateContent. Call ListMo"),
                     ORBIS_GEMINI_CLOSE_FATAL);
    assert_int_equal(orbis_gemini_close_class(1008, NULL),
                     ORBIS_GEMINI_CLOSE_FATAL);
    assert_int_equal(orbis_gemini_close_class(1008,
                         "Operation is not implemented, or supported, or "
                         "enabled."),
                     ORBIS_GEMINI_CLOSE_RETRYABLE);
    assert_int_equal(orbis_gemini_close_class(1008,
                         "The operation was ABORTED."),
                     ORBIS_GEMINI_CLOSE_RETRYABLE);
    assert_int_equal(orbis_gemini_close_class(1003, NULL),
                     ORBIS_GEMINI_CLOSE_FATAL);
    assert_int_equal(orbis_gemini_close_class(1009, NULL),
                     ORBIS_GEMINI_CLOSE_FATAL);
    assert_int_equal(orbis_gemini_close_class(4000, NULL),
                     ORBIS_GEMINI_CLOSE_FATAL);
}


static void
test_path(void **state)
{
    char    out[256];
    size_t  n;

    (void) state;

    assert_int_equal(orbis_gemini_path("v1beta", 0, "AIza-Sy_x.y~z", out,
                                       sizeof(out)), ORBIS_OK);
    assert_string_equal(out,
                        "/ws/google.ai.generativelanguage.v1beta."
                        "GenerativeService.BidiGenerateContent"
                        "?key=AIza-Sy_x.y~z");

    assert_int_equal(orbis_gemini_path(NULL, 0, "a b+c/d=&e%", out,
                                       sizeof(out)), ORBIS_OK);
    assert_string_equal(out,
                        "/ws/google.ai.generativelanguage.v1beta."
                        "GenerativeService.BidiGenerateContent"
                        "?key=a%20b%2Bc%2Fd%3D%26e%25");

    assert_int_equal(orbis_gemini_path(NULL, 1, "auth_tokens/abc", out,
                                       sizeof(out)), ORBIS_OK);
    assert_string_equal(out,
                        "/ws/google.ai.generativelanguage.v1alpha."
                        "GenerativeService.BidiGenerateContentConstrained"
                        "?access_token=auth_tokens%2Fabc");

    /* key in a header instead */
    assert_int_equal(orbis_gemini_path("v1alpha", 0, NULL, out, sizeof(out)),
                     ORBIS_OK);
    assert_string_equal(out,
                        "/ws/google.ai.generativelanguage.v1alpha."
                        "GenerativeService.BidiGenerateContent");

    /* exact fit, then one byte short, including a split escape */
    assert_int_equal(orbis_gemini_path(NULL, 0, "k/", out, sizeof(out)),
                     ORBIS_OK);
    n = strlen(out) + 1;
    assert_int_equal(orbis_gemini_path(NULL, 0, "k/", out, n), ORBIS_OK);
    assert_int_equal(orbis_gemini_path(NULL, 0, "k/", out, n - 1),
                     ORBIS_ERR_RANGE);
    assert_int_equal(orbis_gemini_path(NULL, 0, "k/", out, n - 3),
                     ORBIS_ERR_RANGE);
    assert_int_equal(orbis_gemini_path(NULL, 0, "k", out, 10),
                     ORBIS_ERR_RANGE);

    assert_int_equal(orbis_gemini_path("v1beta/../x", 0, "k", out,
                                       sizeof(out)), ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gemini_path("", 0, "k", out, sizeof(out)),
                     ORBIS_ERR_INVALID);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_setup_full),
        cmocka_unit_test(test_setup_minimal_and_resume),
        cmocka_unit_test(test_setup_refused),
        cmocka_unit_test(test_audio_message),
        cmocka_unit_test(test_text_and_audio_end),
        cmocka_unit_test(test_tool_response),
        cmocka_unit_test(test_parse_setup_complete_pretty),
        cmocka_unit_test(test_parse_everything_at_once),
        cmocka_unit_test(test_parse_snake_case),
        cmocka_unit_test(test_parse_tools),
        cmocka_unit_test(test_parse_go_away_and_resumption),
        cmocka_unit_test(test_parse_interrupted),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_fast_path_shapes),
        cmocka_unit_test(test_fast_path_literals),
        cmocka_unit_test(test_fast_path_declines),
        cmocka_unit_test(test_fast_path_cut_and_nul),
        cmocka_unit_test(test_fast_path_mutations),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_close_class),
        cmocka_unit_test(test_path),
    };

    return cmocka_run_group_tests_name("gemini", tests, NULL, NULL);
}
