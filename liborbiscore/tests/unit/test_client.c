/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/client.h>


static void
test_build_events(void **state)
{
    orbis_err_t     err;
    orbis_strbuf_t  b;

    (void) state;

    orbis_strbuf_init(&b);

    assert_int_equal(orbis_client_build_ready(&b, "s-123", 0, 16000, 24000,
                                              &err), ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"type\":\"ready\",\"sessionId\":\"s-123\","
                        "\"mode\":\"live\",\"inputRate\":16000,"
                        "\"outputRate\":24000}");

    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_client_build_ready(&b, "e", 1, 16000, 16000, NULL),
                     ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"type\":\"ready\",\"sessionId\":\"e\","
                        "\"mode\":\"echo\",\"inputRate\":16000,"
                        "\"outputRate\":16000}");

    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_client_build_transcript(&b, ORBIS_CLIENT_ROLE_USER,
                                                   "say \"hi\"\n", 9, 0,
                                                   NULL), ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"type\":\"transcript\",\"role\":\"user\","
                        "\"text\":\"say \\\"hi\\\"\\n\",\"final\":false}");

    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_client_build_transcript(&b,
                                                   ORBIS_CLIENT_ROLE_AGENT,
                                                   "gr\xc3\xbc\xc3\x9f", 6,
                                                   1, NULL), ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"type\":\"transcript\",\"role\":\"agent\","
                        "\"text\":\"gr\xc3\xbc\xc3\x9f\",\"final\":true}");

    /* appends: one buffer can hold several events */
    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_client_build_interrupted(&b, NULL), ORBIS_OK);
    assert_int_equal(orbis_client_build_turn_complete(&b, NULL), ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"type\":\"interrupted\"}"
                        "{\"type\":\"turn_complete\"}");

    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_client_build_tool(&b, "open_gate",
                                             ORBIS_CLIENT_TOOL_TIMEOUT, NULL),
                     ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"type\":\"tool\",\"name\":\"open_gate\","
                        "\"status\":\"timeout\"}");

    orbis_strbuf_reset(&b);
    assert_int_equal(orbis_client_build_error(&b, "bad_message",
                                              "unknown message type \"x\"",
                                              NULL), ORBIS_OK);
    assert_string_equal(b.data,
                        "{\"type\":\"error\",\"code\":\"bad_message\","
                        "\"message\":\"unknown message type \\\"x\\\"\"}");

    orbis_strbuf_free(&b);
}


static void
test_build_refusals(void **state)
{
    orbis_err_t     err;
    orbis_strbuf_t  b;

    (void) state;

    orbis_strbuf_init(&b);
    orbis_strbuf_append(&b, "x", 1);

    assert_int_equal(orbis_client_build_ready(&b, NULL, 0, 1, 1, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_client_build_transcript(&b, 7, "a", 1, 0, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_client_build_transcript(&b, ORBIS_CLIENT_ROLE_USER,
                                                   "\xc3", 1, 0, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_client_build_transcript(&b, ORBIS_CLIENT_ROLE_USER,
                                                   "a\0b", 3, 0, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_client_build_tool(&b, "t", 0, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_client_build_tool(&b, "t", 6, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_client_build_error(&b, "c", NULL, &err),
                     ORBIS_ERR_INVALID);

    assert_int_equal(b.len, 1);
    assert_string_equal(b.data, "x");

    orbis_strbuf_free(&b);
}


static void
test_names(void **state)
{
    (void) state;

    assert_string_equal(orbis_client_role_name(ORBIS_CLIENT_ROLE_USER),
                        "user");
    assert_string_equal(orbis_client_role_name(ORBIS_CLIENT_ROLE_AGENT),
                        "agent");
    assert_string_equal(orbis_client_role_name(0), "unknown");

    assert_string_equal(orbis_client_tool_status_name(
                            ORBIS_CLIENT_TOOL_STARTED), "started");
    assert_string_equal(orbis_client_tool_status_name(ORBIS_CLIENT_TOOL_OK),
                        "ok");
    assert_string_equal(orbis_client_tool_status_name(
                            ORBIS_CLIENT_TOOL_ERROR), "error");
    assert_string_equal(orbis_client_tool_status_name(
                            ORBIS_CLIENT_TOOL_CANCELLED), "cancelled");
    assert_string_equal(orbis_client_tool_status_name(
                            ORBIS_CLIENT_TOOL_TIMEOUT), "timeout");
    assert_string_equal(orbis_client_tool_status_name(99), "unknown");
}


static void
test_close_reasons(void **state)
{
    size_t  i;

    static const struct {
        uint16_t     code;
        const char  *text;
    } want[] = {
        { 1000, "normal end" },
        { 1001, "server going away" },
        { 1008, "too many invalid messages" },
        { 1011, "internal error" },
        { 1013, "busy, try again shortly" },
        { 4000, "unknown agent" },
        { 4001, "rate limited" },
        { 4002, "usage limit reached" },
        { 4003, "key or origin refused" },
        { 4004, "model unavailable" },
        { 4008, "idle timeout" },
        { 4005, "" },
        { 0, "" },
    };

    (void) state;

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_string_equal(orbis_close_reason_text(want[i].code),
                            want[i].text);

        /* a close frame's reason must fit in 123 bytes */
        assert_true(strlen(orbis_close_reason_text(want[i].code)) <= 123);
    }

    assert_int_equal(ORBIS_CLOSE_MODEL_UNAVAILABLE, 4004);
    assert_int_equal(ORBIS_CLOSE_IDLE_TIMEOUT, 4008);
}


static void
test_parse_messages(void **state)
{
    orbis_err_t         err;
    orbis_client_msg_t  m;

    static const char  text[] =
        "{ \"type\": \"text\", \"text\": \"Is the gate open?\", \"x\": [1] }";
    static const char  end[] = "{\"type\":\"end\",\"reason\":\"bye\"}";

    (void) state;

    assert_int_equal(orbis_client_parse(text, sizeof(text) - 1, &m, &err),
                     ORBIS_OK);
    assert_int_equal(m.type, ORBIS_CLIENT_MSG_TEXT);
    assert_string_equal(m.text, "Is the gate open?");
    assert_int_equal(m.text_len, 17);
    orbis_client_msg_free(&m);
    assert_null(m.text);

    assert_int_equal(orbis_client_parse(end, sizeof(end) - 1, &m, &err),
                     ORBIS_OK);
    assert_int_equal(m.type, ORBIS_CLIENT_MSG_END);
    assert_null(m.text);
    orbis_client_msg_free(&m);
}


static void
test_parse_text_limits(void **state)
{
    char                buf[ORBIS_CLIENT_TEXT_MAX * 4 + 64];
    char                text[ORBIS_CLIENT_TEXT_MAX + 2];
    size_t              i;
    orbis_err_t         err;
    orbis_client_msg_t  m;

    (void) state;

    /* exactly 4000 ASCII bytes */
    memset(text, 'a', ORBIS_CLIENT_TEXT_MAX);
    text[ORBIS_CLIENT_TEXT_MAX] = '\0';
    snprintf(buf, sizeof(buf), "{\"type\":\"text\",\"text\":\"%s\"}", text);
    assert_int_equal(orbis_client_parse(buf, strlen(buf), &m, &err),
                     ORBIS_OK);
    assert_int_equal(m.text_len, ORBIS_CLIENT_TEXT_MAX);
    orbis_client_msg_free(&m);

    /* 4001 bytes */
    text[ORBIS_CLIENT_TEXT_MAX] = 'a';
    text[ORBIS_CLIENT_TEXT_MAX + 1] = '\0';
    snprintf(buf, sizeof(buf), "{\"type\":\"text\",\"text\":\"%s\"}", text);
    assert_int_equal(orbis_client_parse(buf, strlen(buf), &m, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "text must be 1 to 4000 bytes, not 4001");
    orbis_client_msg_free(&m);

    /* the limit is in bytes: 2000 two-byte characters fit, 2001 do not */
    for (i = 0; i < 2000; i++) {
        memcpy(text + 2 * i, "\xc3\xa9", 2);
    }

    text[4000] = '\0';
    snprintf(buf, sizeof(buf), "{\"type\":\"text\",\"text\":\"%s\"}", text);
    assert_int_equal(orbis_client_parse(buf, strlen(buf), &m, &err),
                     ORBIS_OK);
    orbis_client_msg_free(&m);

    /* the same bytes escaped as \u00e9 still count as 2 bytes each */
    memcpy(buf, "{\"type\":\"text\",\"text\":\"", 23);

    for (i = 0; i < 2001; i++) {
        memcpy(buf + 23 + 6 * i, "\\u00e9", 6);
    }

    memcpy(buf + 23 + 6 * 2001, "\"}", 3);
    assert_int_equal(orbis_client_parse(buf, strlen(buf), &m, &err),
                     ORBIS_ERR_INVALID);
    orbis_client_msg_free(&m);
}


static void
test_parse_refusals(void **state)
{
    size_t              i;
    orbis_err_t         err;
    orbis_client_msg_t  m;

    static const char  *bad[] = {
        "",
        "text",
        "[]",
        "\"end\"",
        "{}",
        "{\"type\":1}",
        "{\"type\":\"TEXT\",\"text\":\"x\"}",
        "{\"type\":\"audio\"}",
        "{\"type\":\"text\"}",
        "{\"type\":\"text\",\"text\":\"\"}",
        "{\"type\":\"text\",\"text\":7}",
        "{\"type\":\"text\",\"text\":null}",
        "{\"type\":\"text\",\"text\":\"a\\u0000b\"}",
        "{\"type\":\"end\"",
        "{\"type\":\"end\"} trailing",
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));

        if (orbis_client_parse(bad[i], strlen(bad[i]), &m, &err)
            != ORBIS_ERR_INVALID)
        {
            fail_msg("accepted: %s", bad[i]);
        }

        assert_true(err.msg[0] != '\0');
        assert_null(m.text);
        orbis_client_msg_free(&m);
    }

    assert_int_equal(orbis_client_parse("{\"type\":\"dance\"}", 16, &m, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "unknown message type \"dance\"");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_build_events),
        cmocka_unit_test(test_build_refusals),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_close_reasons),
        cmocka_unit_test(test_parse_messages),
        cmocka_unit_test(test_parse_text_limits),
        cmocka_unit_test(test_parse_refusals),
    };

    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
