/*
 * Copyright (C) Orbis
 *
 * A finished call's record: assembled from its pieces in Redis and
 * normalised for orbis_save_conversation().
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/alloc.h>
#include <orbiscore/record.h>
#include <orbiscore/session.h>


#define SID  "11111111-2222-3333-4444-555555555555"
#define TID  "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define AID  "99999999-8888-7777-6666-555555555555"
#define KID  "12345678-1234-1234-1234-123456789012"

/* 2026-12-31T23:59:59.999Z and the next millisecond */
#define DEC_LAST  1798761599999LL
#define JAN_FIRST 1798761600000LL


static json_t *
load(const char *text)
{
    json_t        *j;
    json_error_t   err;

    j = json_loads(text, JSON_ALLOW_NUL, &err);
    assert_non_null(j);

    return j;
}


static json_t *
finished(const char *turns, const char *tools)
{
    char  buf[4096];

    snprintf(buf, sizeof(buf),
             "{\"sessionId\":\"" SID "\",\"tenantId\":\"" TID "\","
             "\"agentId\":\"" AID "\",\"mode\":\"echo\",\"model\":null,"
             "\"startedMs\":1000,\"endedMs\":5000,\"durationMs\":4000,"
             "\"endReason\":\"client_closed\",\"closeCode\":1000,"
             "\"audioSecondsIn\":1.5,\"audioSecondsOut\":0.5,"
             "\"resumptions\":2,\"usage\":{\"promptTokens\":7,"
             "\"responseTokens\":-3,\"totalTokens\":7},"
             "\"transcriptTruncated\":false,\"turns\":%s,"
             "\"toolCalls\":%s}", turns, tools);

    return load(buf);
}


static json_t *
normalize(json_t *in, orbis_record_source_t source, int64_t hb)
{
    json_t               *out;
    orbis_err_t           err;
    orbis_record_opts_t   o;

    o.key_id = KID;
    o.heartbeat_ms = hb;
    o.source = source;
    o.attempts = 1;

    assert_int_equal(orbis_record_normalize(in, &o, &out, &err), ORBIS_OK);
    assert_non_null(out);

    return out;
}


static const char *
str(const json_t *o, const char *k)
{
    const char  *s;

    s = json_string_value(json_object_get(o, k));
    assert_non_null(s);

    return s;
}


static json_int_t
num(const json_t *o, const char *k)
{
    assert_true(json_is_integer(json_object_get(o, k)));
    return json_integer_value(json_object_get(o, k));
}


static void
test_finished_record(void **state)
{
    json_t  *in, *r, *t;

    (void) state;

    in = finished("[{\"role\":\"user\",\"text\":\"hi\",\"startedMs\":1200,"
                  "\"final\":true,\"typed\":true},"
                  "{\"role\":\"agent\",\"text\":\"\",\"startedMs\":1300},"
                  "{\"role\":\"agent\",\"text\":\"hello\","
                  "\"startedMs\":1400,\"interrupted\":true},"
                  "{\"role\":\"system\",\"text\":\"x\",\"startedMs\":1}]",
                  "[{\"id\":\"c1\",\"name\":\"t\",\"args\":{\"a\":1},"
                  "\"result\":null,\"status\":\"started\","
                  "\"startedMs\":1500,\"finishedMs\":null},"
                  "{\"id\":\"c2\",\"name\":\"t\",\"args\":{},"
                  "\"result\":{\"ok\":true},\"status\":\"ok\","
                  "\"startedMs\":1600,\"finishedMs\":1700}]");

    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);

    assert_string_equal(str(r, "id"), SID);
    assert_string_equal(str(r, "keyId"), KID);
    assert_string_equal(str(r, "mode"), "echo");
    assert_true(json_is_null(json_object_get(r, "model")));
    assert_int_equal(num(r, "durationMs"), 4000);
    assert_string_equal(str(r, "endReason"), "client_closed");
    assert_int_equal(num(r, "closeCode"), 1000);
    assert_int_equal(num(r, "responseTokens"), 0);
    assert_int_equal(num(r, "promptTokens"), 7);
    assert_false(json_is_true(json_object_get(r, "swept")));
    assert_string_equal(str(r, "source"), "worker");
    assert_string_equal(str(r, "usageMonth"), "1970-01-01");

    /* the empty turn and the unknown role are gone */
    assert_int_equal(num(r, "turnCount"), 2);
    t = json_object_get(r, "turns");
    assert_int_equal(json_array_size(t), 2);
    assert_string_equal(str(json_array_get(t, 0), "text"), "hi");
    assert_true(json_is_true(json_object_get(json_array_get(t, 0),
                                             "typed")));
    assert_int_equal(num(json_array_get(t, 1), "atMs"), 1400);
    assert_true(json_is_true(json_object_get(json_array_get(t, 1),
                                             "interrupted")));

    /* a tool still running when the call ended was cancelled */
    t = json_object_get(r, "toolCalls");
    assert_int_equal(json_array_size(t), 2);
    assert_string_equal(str(json_array_get(t, 0), "status"), "cancelled");
    assert_true(json_is_null(json_object_get(json_array_get(t, 0),
                                             "finishedMs")));
    assert_string_equal(str(json_array_get(t, 1), "status"), "ok");
    assert_string_equal(str(json_array_get(t, 1), "callId"), "c2");

    json_decref(in);
    json_decref(r);
}


static void
test_unfinished_ends_at_heartbeat(void **state)
{
    json_t  *in, *r;

    (void) state;

    in = finished("[]", "[]");
    json_object_set_new(in, "endReason", json_null());
    json_object_set_new(in, "endedMs", json_null());

    r = normalize(in, ORBIS_RECORD_BY_SWEEPER, 9000);

    assert_string_equal(str(r, "endReason"), "error");
    assert_int_equal(num(r, "closeCode"), 1006);
    assert_int_equal(num(r, "endedMs"), 9000);
    assert_int_equal(num(r, "durationMs"), 8000);
    assert_true(json_is_true(json_object_get(r, "swept")));
    assert_string_equal(str(r, "source"), "sweeper");
    json_decref(r);

    /* a heartbeat before the start (two clocks) never gives a negative
     * duration */
    r = normalize(in, ORBIS_RECORD_BY_SWEEPER, 500);
    assert_int_equal(num(r, "durationMs"), 0);
    json_decref(r);

    r = normalize(in, ORBIS_RECORD_BY_SWEEPER, -1);
    assert_int_equal(num(r, "endedMs"), 1000);
    json_decref(r);

    json_decref(in);
}


static void
test_bad_values_normalised(void **state)
{
    json_t  *in, *r;

    (void) state;

    in = finished("[]", "[]");
    json_object_set_new(in, "endReason", json_string("martians"));
    json_object_set_new(in, "closeCode", json_integer(70000));
    json_object_set_new(in, "endedMs", json_integer(10));
    json_object_set_new(in, "mode", json_string("video"));
    json_object_set_new(in, "audioSecondsIn", json_real(-4.0));
    json_object_set_new(in, "resumptions", json_string("many"));

    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);

    assert_string_equal(str(r, "endReason"), "error");
    assert_true(json_is_null(json_object_get(r, "closeCode")));
    assert_int_equal(num(r, "endedMs"), 1000);
    assert_int_equal(num(r, "durationMs"), 0);
    assert_string_equal(str(r, "mode"), "live");
    assert_true(json_real_value(json_object_get(r, "audioSecondsIn"))
                == 0.0);
    assert_int_equal(num(r, "resumptions"), 0);

    json_decref(in);
    json_decref(r);
}


static void
test_unusable_records_refused(void **state)
{
    json_t               *in, *out;
    orbis_err_t           err;
    orbis_record_opts_t   o;

    (void) state;

    memset(&o, 0, sizeof(o));
    o.heartbeat_ms = -1;

    in = load("[1]");
    assert_int_equal(orbis_record_normalize(in, &o, &out, &err),
                     ORBIS_ERR_INVALID);
    assert_null(out);
    json_decref(in);

    in = finished("[]", "[]");
    json_object_set_new(in, "sessionId", json_string("not-a-uuid"));
    assert_int_equal(orbis_record_normalize(in, &o, &out, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "the record has no session id");
    json_decref(in);

    in = finished("[]", "[]");
    json_object_del(in, "tenantId");
    assert_int_equal(orbis_record_normalize(in, &o, &out, &err),
                     ORBIS_ERR_INVALID);
    json_decref(in);

    in = finished("[]", "[]");
    json_object_set_new(in, "startedMs", json_integer(-5));
    assert_int_equal(orbis_record_normalize(in, &o, &out, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "the record has no start time");
    json_decref(in);

    /* a key id that is not a UUID: null, not a failed save */
    in = finished("[]", "[]");
    o.key_id = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz";
    assert_int_equal(orbis_record_normalize(in, &o, &out, &err), ORBIS_OK);
    assert_true(json_is_null(json_object_get(out, "keyId")));
    json_decref(out);
    json_decref(in);
    o.key_id = NULL;

    /* no key: null, not an error */
    in = finished("[]", "[]");
    assert_int_equal(orbis_record_normalize(in, &o, &out, &err), ORBIS_OK);
    assert_true(json_is_null(json_object_get(out, "keyId")));
    assert_int_equal(num(out, "attempts"), 1);
    json_decref(out);
    json_decref(in);
}


static void
test_usage_month_utc(void **state)
{
    char  m[11];

    (void) state;

    orbis_record_usage_month(DEC_LAST, m);
    assert_string_equal(m, "2026-12-01");
    orbis_record_usage_month(JAN_FIRST, m);
    assert_string_equal(m, "2027-01-01");
    orbis_record_usage_month(0, m);
    assert_string_equal(m, "1970-01-01");
    orbis_record_usage_month(-1, m);
    assert_string_equal(m, "1969-12-01");
    /* 2024-02-29T12:00:00Z, a leap day */
    orbis_record_usage_month(1709208000000LL, m);
    assert_string_equal(m, "2024-02-01");
    /* 2000-03-01T00:00:00Z */
    orbis_record_usage_month(951868800000LL, m);
    assert_string_equal(m, "2000-03-01");
}


static void
test_turns_bounded(void **state)
{
    size_t   i;
    json_t  *in, *turns, *r;
    char    *big;

    (void) state;

    in = finished("[]", "[]");
    turns = json_object_get(in, "turns");

    for (i = 0; i < ORBIS_RECORD_MAX_TURNS + 5; i++) {
        json_array_append_new(turns,
            json_pack("{s:s,s:s,s:I}", "role", "user", "text", "a",
                      "startedMs", (json_int_t) 2000));
    }

    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_int_equal(num(r, "turnCount"), ORBIS_RECORD_MAX_TURNS);
    assert_true(json_is_true(json_object_get(r, "transcriptTruncated")));
    json_decref(r);
    json_decref(in);

    /* whole turns within the byte cap */
    big = malloc(ORBIS_RECORD_MAX_TRANSCRIPT / 2 + 1);
    assert_non_null(big);
    memset(big, 'b', ORBIS_RECORD_MAX_TRANSCRIPT / 2);
    big[ORBIS_RECORD_MAX_TRANSCRIPT / 2] = '\0';

    in = finished("[]", "[]");
    turns = json_object_get(in, "turns");

    for (i = 0; i < 3; i++) {
        json_array_append_new(turns,
            json_pack("{s:s,s:s}", "role", "agent", "text", big));
    }

    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_int_equal(num(r, "turnCount"), 2);
    assert_true(json_is_true(json_object_get(r, "transcriptTruncated")));
    json_decref(r);
    json_decref(in);
    free(big);
}


static void
test_tool_payloads_bounded(void **state)
{
    json_t  *in, *r, *tc;
    char    *big;

    (void) state;

    big = malloc(ORBIS_RECORD_MAX_TOOL_JSON + 1);
    assert_non_null(big);
    memset(big, 'x', ORBIS_RECORD_MAX_TOOL_JSON);
    big[ORBIS_RECORD_MAX_TOOL_JSON] = '\0';

    in = finished("[]", "[{\"id\":\"c\",\"name\":\"n\",\"args\":{},"
                  "\"result\":null,\"status\":\"timeout\","
                  "\"startedMs\":1,\"finishedMs\":2}]");
    tc = json_array_get(json_object_get(in, "toolCalls"), 0);
    json_object_set_new(tc, "args", json_pack("{s:s}", "q", big));
    json_object_set_new(tc, "result", json_stringn("a\0b", 3));

    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    tc = json_array_get(json_object_get(r, "toolCalls"), 0);
    assert_string_equal(str(tc, "status"), "timeout");
    assert_true(json_is_true(json_object_get(json_object_get(tc, "args"),
                                             "truncated")));
    assert_true(json_is_true(json_object_get(json_object_get(tc, "result"),
                                             "truncated")));

    json_decref(r);
    json_decref(in);
    free(big);
}


static void
test_nul_cuts_turn_text(void **state)
{
    json_t  *in, *r;

    (void) state;

    in = finished("[{\"role\":\"user\",\"text\":\"ab\\u0000cd\"},"
                  "{\"role\":\"user\",\"text\":\"\\u0000x\"}]", "[]");
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);

    assert_int_equal(num(r, "turnCount"), 1);
    assert_string_equal(str(json_array_get(json_object_get(r, "turns"), 0),
                            "text"), "ab");

    json_decref(r);
    json_decref(in);
}


static void
test_assemble(void **state)
{
    json_t        *head, *turns;
    orbis_err_t    err;
    orbis_slice_t  items[3];

    (void) state;

    items[0].data = (const uint8_t *) "{\"role\":\"user\",\"text\":\"one\"}";
    items[0].len = strlen((const char *) items[0].data);
    items[1].data = (const uint8_t *) "{\"role\":\"agent\",\"text\":\"two\"}";
    items[1].len = strlen((const char *) items[1].data);
    items[2].data = (const uint8_t *) "{\"role\":\"user\",\"text\":\"dup\"}";
    items[2].len = strlen((const char *) items[2].data);

    head = load("{\"turnsFrom\":2,\"transcriptTruncated\":false,"
                "\"turns\":[{\"role\":\"user\",\"text\":\"three\"}]}");

    /* the third item is not accounted for: ignored */
    assert_int_equal(orbis_record_assemble(head, items, 3, &err), ORBIS_OK);
    turns = json_object_get(head, "turns");
    assert_int_equal(json_array_size(turns), 3);
    assert_string_equal(str(json_array_get(turns, 0), "text"), "one");
    assert_string_equal(str(json_array_get(turns, 2), "text"), "three");
    assert_null(json_object_get(head, "turnsFrom"));
    assert_false(json_is_true(json_object_get(head, "transcriptTruncated")));
    json_decref(head);

    /* a list shorter than the head says: what is there, truncated */
    head = load("{\"turnsFrom\":2,\"turns\":[]}");
    assert_int_equal(orbis_record_assemble(head, items, 1, &err), ORBIS_OK);
    assert_int_equal(json_array_size(json_object_get(head, "turns")), 1);
    assert_true(json_is_true(json_object_get(head, "transcriptTruncated")));
    json_decref(head);

    /* an unreadable item */
    items[1].data = (const uint8_t *) "{nope";
    items[1].len = 5;
    head = load("{\"turnsFrom\":2,\"turns\":[]}");
    assert_int_equal(orbis_record_assemble(head, items, 2, &err), ORBIS_OK);
    assert_int_equal(json_array_size(json_object_get(head, "turns")), 1);
    assert_true(json_is_true(json_object_get(head, "transcriptTruncated")));
    json_decref(head);

    /* a whole record (parked when it ended): the list is not used */
    head = load("{\"turns\":[{\"role\":\"user\",\"text\":\"all\"}]}");
    assert_int_equal(orbis_record_assemble(head, items, 2, &err), ORBIS_OK);
    assert_int_equal(json_array_size(json_object_get(head, "turns")), 1);
    json_decref(head);

    head = load("{\"turnsFrom\":-1}");
    assert_int_equal(orbis_record_assemble(head, items, 2, &err),
                     ORBIS_ERR_INVALID);
    json_decref(head);

    head = load("[]");
    assert_int_equal(orbis_record_assemble(head, NULL, 0, &err),
                     ORBIS_ERR_INVALID);
    json_decref(head);
}


/*
 * The heartbeat's pieces make the whole: the settled turns as list items
 * and the record's tail assemble to the record the session would give.
 */

static json_t *
with_ttfa(const char *list, json_t *p50, json_t *p95)
{
    json_t  *in;

    in = finished("[]", "[]");

    if (list != NULL) {
        json_object_set_new(in, "ttfaMs", load(list));
    }

    json_object_set_new(in, "ttfaP50Ms", p50);
    json_object_set_new(in, "ttfaP95Ms", p95);

    return in;
}


static void
assert_no_ttfa(const json_t *r)
{
    assert_non_null(json_object_get(r, "ttfaMs"));
    assert_true(json_is_null(json_object_get(r, "ttfaMs")));
    assert_true(json_is_null(json_object_get(r, "ttfaP50Ms")));
    assert_true(json_is_null(json_object_get(r, "ttfaP95Ms")));
}


static void
test_ttfa_kept_and_recomputed(void **state)
{
    json_t  *in, *r, *want;

    (void) state;

    /* what is not a time in ms is dropped, the order kept; the
     * percentiles the record claims are ignored */
    in = with_ttfa("[300, -5, \"x\", 1.5, null, 100, 200, 86400001, 900,"
                   " 86400000]",
                   json_integer(1), json_integer(99999));
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);

    want = load("[300, 100, 200, 900, 86400000]");
    assert_true(json_equal(json_object_get(r, "ttfaMs"), want));
    /* nearest rank of five: p50 the 3rd (300), p95 the 5th */
    assert_int_equal(num(r, "ttfaP50Ms"), 300);
    assert_int_equal(num(r, "ttfaP95Ms"), 86400000);
    json_decref(want);
    json_decref(in);
    json_decref(r);

    /* one value: both percentiles are it */
    in = with_ttfa("[412]", json_null(), json_null());
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_int_equal(num(r, "ttfaP50Ms"), 412);
    assert_int_equal(num(r, "ttfaP95Ms"), 412);
    json_decref(in);
    json_decref(r);

    /* two: p50 the smaller, p95 the larger */
    in = with_ttfa("[650, 320]", json_null(), json_null());
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_int_equal(num(r, "ttfaP50Ms"), 320);
    assert_int_equal(num(r, "ttfaP95Ms"), 650);
    assert_int_equal(json_integer_value(
                         json_array_get(json_object_get(r, "ttfaMs"), 0)),
                     650);
    json_decref(in);
    json_decref(r);

    /* twenty, 1..20 backwards: p50 is 10, p95 is 19 */
    in = with_ttfa("[20,19,18,17,16,15,14,13,12,11,10,9,8,7,6,5,4,3,2,1]",
                   json_null(), json_null());
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_int_equal(num(r, "ttfaP50Ms"), 10);
    assert_int_equal(num(r, "ttfaP95Ms"), 19);
    json_decref(in);
    json_decref(r);

    /* zero is a time (an answer already on its way) */
    in = with_ttfa("[0]", json_null(), json_null());
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_int_equal(num(r, "ttfaP50Ms"), 0);
    json_decref(in);
    json_decref(r);
}


static void
test_ttfa_none_is_null(void **state)
{
    json_t  *in, *r;

    (void) state;

    /* no agent audio: nulls, whatever percentiles the record claims */
    in = with_ttfa("[]", json_integer(5), json_integer(7));
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_no_ttfa(r);
    json_decref(in);
    json_decref(r);

    in = with_ttfa(NULL, json_integer(5), json_integer(7));
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_no_ttfa(r);
    json_decref(in);
    json_decref(r);

    in = with_ttfa("[-1, \"100\", 1e3, 86400001, true, {}]",
                   json_integer(5), json_integer(7));
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_no_ttfa(r);
    json_decref(in);
    json_decref(r);

    /* not a list */
    in = finished("[]", "[]");
    json_object_set_new(in, "ttfaMs", json_integer(300));
    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_no_ttfa(r);
    json_decref(in);
    json_decref(r);
}


static void
test_ttfa_bounded(void **state)
{
    size_t   i;
    json_t  *in, *list, *r;

    (void) state;

    in = finished("[]", "[]");
    list = json_array();

    /* the first ORBIS_RECORD_MAX_TTFA are 1000 each, the rest 1 */
    for (i = 0; i < ORBIS_RECORD_MAX_TTFA + 500; i++) {
        json_array_append_new(list,
                              json_integer(i < ORBIS_RECORD_MAX_TTFA
                                           ? 1000 : 1));
    }

    json_object_set_new(in, "ttfaMs", list);

    r = normalize(in, ORBIS_RECORD_BY_WORKER, -1);
    assert_int_equal(json_array_size(json_object_get(r, "ttfaMs")),
                     ORBIS_RECORD_MAX_TTFA);
    assert_int_equal(num(r, "ttfaP50Ms"), 1000);
    assert_int_equal(num(r, "ttfaP95Ms"), 1000);

    json_decref(in);
    json_decref(r);
}


static void
test_ttfa_survives_assembly(void **state)
{
    json_t       *head, *r, *want;
    orbis_err_t   err;

    (void) state;

    /* a live call's head in Redis (the sweeper's view): the whole list of
     * times is in the head, whatever the turns list holds */
    head = with_ttfa("[700, 250]", json_integer(250), json_integer(700));
    json_object_set_new(head, "turnsFrom", json_integer(0));
    json_object_set_new(head, "endReason", json_null());

    assert_int_equal(orbis_record_assemble(head, NULL, 0, &err), ORBIS_OK);

    r = normalize(head, ORBIS_RECORD_BY_SWEEPER, 9000);
    want = load("[700, 250]");
    assert_true(json_equal(json_object_get(r, "ttfaMs"), want));
    assert_int_equal(num(r, "ttfaP50Ms"), 250);
    assert_int_equal(num(r, "ttfaP95Ms"), 700);
    assert_true(json_is_true(json_object_get(r, "swept")));

    json_decref(want);
    json_decref(head);
    json_decref(r);
}


static void
test_percentile(void **state)
{
    int64_t  v[4] = { 40, 10, 30, 20 };

    (void) state;

    assert_int_equal(orbis_record_percentile(v, 0, 50), -1);
    assert_int_equal(orbis_record_percentile(v, 4, 0), -1);
    assert_int_equal(orbis_record_percentile(v, 4, 101), -1);
    assert_int_equal(orbis_record_percentile(v, 4, 50), 20);
    assert_int_equal(orbis_record_percentile(v, 4, 75), 30);
    assert_int_equal(orbis_record_percentile(v, 4, 76), 40);
    assert_int_equal(orbis_record_percentile(v, 4, 100), 40);
    assert_int_equal(orbis_record_percentile(v, 4, 1), 10);
}


static void
test_session_pieces_make_the_whole(void **state)
{
    int                       i;
    char                      msg[64], *item[8];
    size_t                    settled, k;
    json_t                   *whole, *tail, *a, *b;
    orbis_err_t               err;
    orbis_slice_t             items[8];
    orbis_session_t          *s;
    orbis_record_opts_t       o;
    orbis_session_conf_t      c;
    orbis_caller_in_t         ev;
    orbis_session_actions_t   acts;

    (void) state;

    memset(&c, 0, sizeof(c));
    c.session_id = SID;
    c.tenant_id = TID;
    c.agent_id = AID;
    c.echo = 1;

    s = orbis_session_create(&c, &err);
    assert_non_null(s);
    orbis_session_actions_init(&acts);

    assert_int_equal(orbis_session_start(s, 1000, &acts), ORBIS_OK);

    for (i = 0; i < 5; i++) {
        snprintf(msg, sizeof(msg), "t%d", i);
        memset(&ev, 0, sizeof(ev));
        ev.type = ORBIS_CALLER_TEXT;
        ev.text = msg;
        ev.text_len = strlen(msg);
        assert_int_equal(orbis_session_on_caller(s, &ev, 2000 + i, &acts),
                         ORBIS_OK);
    }

    settled = orbis_session_turns_final(s);
    assert_int_equal(settled, 5);

    /* three turns went to the list; the tail holds the other two */
    tail = orbis_session_record_tail_json(s, 3);
    assert_non_null(tail);
    assert_int_equal(num(tail, "turnsFrom"), 3);
    assert_int_equal(json_array_size(json_object_get(tail, "turns")), 2);

    whole = orbis_session_record_json(s);
    assert_non_null(whole);
    assert_null(json_object_get(whole, "turnsFrom"));

    for (k = 0; k < 3; k++) {
        item[k] = json_dumps(json_array_get(json_object_get(whole, "turns"),
                                            k), JSON_COMPACT);
        items[k].data = (const uint8_t *) item[k];
        items[k].len = strlen(item[k]);
    }

    assert_int_equal(orbis_record_assemble(tail, items, 3, &err), ORBIS_OK);

    o.key_id = NULL;
    o.heartbeat_ms = 3000;
    o.source = ORBIS_RECORD_BY_SWEEPER;
    o.attempts = 1;

    assert_int_equal(orbis_record_normalize(whole, &o, &a, &err), ORBIS_OK);
    assert_int_equal(orbis_record_normalize(tail, &o, &b, &err), ORBIS_OK);
    assert_true(json_equal(a, b));
    assert_int_equal(num(a, "turnCount"), 5);
    assert_true(json_is_true(json_object_get(a, "swept")));

    /* typed turns only, in echo: no agent audio, no time to first audio */
    assert_int_equal(orbis_session_ttfa_count(s), 0);
    assert_no_ttfa(a);

    for (k = 0; k < 3; k++) {
        free(item[k]);
    }

    json_decref(a);
    json_decref(b);
    json_decref(whole);
    json_decref(tail);
    orbis_session_actions_free(&acts);
    orbis_session_free(s);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finished_record),
        cmocka_unit_test(test_unfinished_ends_at_heartbeat),
        cmocka_unit_test(test_bad_values_normalised),
        cmocka_unit_test(test_unusable_records_refused),
        cmocka_unit_test(test_usage_month_utc),
        cmocka_unit_test(test_turns_bounded),
        cmocka_unit_test(test_tool_payloads_bounded),
        cmocka_unit_test(test_nul_cuts_turn_text),
        cmocka_unit_test(test_assemble),
        cmocka_unit_test(test_ttfa_kept_and_recomputed),
        cmocka_unit_test(test_ttfa_none_is_null),
        cmocka_unit_test(test_ttfa_bounded),
        cmocka_unit_test(test_ttfa_survives_assembly),
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_session_pieces_make_the_whole),
    };

    return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
