/*
 * Copyright (C) Orbis
 *
 * A finished call's record, assembled and normalised for the
 * conversations table (orbiscore/record.h).
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/client.h>
#include <orbiscore/record.h>


#define ORBIS_RECORD_UUID_LEN  36


typedef struct {
    json_t   *turns;
    size_t    bytes;
    int       truncated;
} orbis_record_turns_t;


static int orbis_record_uuid(const json_t *v);
static int orbis_record_uuid_text(const char *s, size_t len);
static int64_t orbis_record_ms(const json_t *v, int64_t dflt);
static int64_t orbis_record_count(const json_t *v);
static double orbis_record_seconds(const json_t *v);
static const char *orbis_record_reason(const json_t *v);
static json_t *orbis_record_close_code(const json_t *v);
static orbis_rc_t orbis_record_turn(orbis_record_turns_t *t,
    const json_t *turn, int64_t started);
static json_t *orbis_record_turns(const json_t *list, int64_t started,
    int *truncated);
static json_t *orbis_record_tools(const json_t *list, int64_t started);
static json_t *orbis_record_tool_json(json_t *v);
static const char *orbis_record_tool_status(const json_t *v);
static orbis_rc_t orbis_record_ttfa(json_t *r, const json_t *list);
static int orbis_record_cmp_ms(const void *a, const void *b);
static int orbis_record_has_nul(const char *text, size_t size);
static int64_t orbis_record_floor_div(int64_t a, int64_t b);


/* the reasons the conversations table accepts (sql/0003) */

static const char  *orbis_record_reasons[] = {
    "client_closed", "client_vanished", "upstream_failed", "idle_timeout",
    "max_duration", "shutdown", "usage_limit", "error", "client_protocol",
    NULL
};


orbis_rc_t
orbis_record_assemble(json_t *head, const orbis_slice_t *settled, size_t n,
    orbis_err_t *err)
{
    int           truncated;
    size_t        i, k, want;
    json_t       *from, *tail, *all, *turn;
    json_error_t  jerr;

    if (!json_is_object(head)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "the record is not a JSON object");
    }

    from = json_object_get(head, "turnsFrom");

    if (from == NULL) {
        /* a whole record: what a finished call parks */
        return ORBIS_OK;
    }

    if (!json_is_integer(from) || json_integer_value(from) < 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "the record's turnsFrom is not a count");
    }

    want = (size_t) json_integer_value(from);
    truncated = (n < want);

    all = json_array();
    if (all == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    k = (n < want) ? n : want;

    for (i = 0; i < k; i++) {
        turn = NULL;

        if (settled[i].len <= ORBIS_RECORD_MAX_TEXT) {
            turn = json_loadb((const char *) settled[i].data, settled[i].len,
                              JSON_ALLOW_NUL, &jerr);
        }

        if (!json_is_object(turn)) {
            json_decref(turn);
            truncated = 1;
            continue;
        }

        if (json_array_append_new(all, turn) != 0) {
            json_decref(all);
            return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        }
    }

    tail = json_object_get(head, "turns");

    if (json_is_array(tail) && json_array_extend(all, tail) != 0) {
        json_decref(all);
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    if (json_object_set_new(head, "turns", all) != 0
        || json_object_del(head, "turnsFrom") != 0)
    {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    if (truncated
        && json_object_set_new(head, "transcriptTruncated", json_true())
           != 0)
    {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_record_normalize(const json_t *record, const orbis_record_opts_t *opts,
    json_t **out, orbis_err_t *err)
{
    int            ended, truncated, swept, bad;
    char           month[11];
    json_t        *r, *turns, *tools, *usage, *key;
    int64_t        started, end;
    const char    *reason, *mode;
    const json_t  *v;

    *out = NULL;

    if (!json_is_object(record)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "the record is not a JSON object");
    }

    if (!orbis_record_uuid(json_object_get(record, "sessionId"))) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "the record has no session id");
    }

    if (!orbis_record_uuid(json_object_get(record, "tenantId"))
        || !orbis_record_uuid(json_object_get(record, "agentId")))
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "the record has no tenant or agent");
    }

    v = json_object_get(record, "startedMs");
    started = orbis_record_ms(v, -1);

    if (started < 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "the record has no start time");
    }

    ended = json_is_string(json_object_get(record, "endReason"));

    if (ended) {
        end = orbis_record_ms(json_object_get(record, "endedMs"), started);
        reason = orbis_record_reason(json_object_get(record, "endReason"));
        swept = json_is_true(json_object_get(record, "swept"));

    } else {
        /* the worker died: the call ended, as far as anyone knows, at its
         * last heartbeat */
        end = (opts->heartbeat_ms >= 0) ? opts->heartbeat_ms : started;
        reason = "error";
        swept = 1;
    }

    if (end < started) {
        end = started;
    }

    mode = json_string_value(json_object_get(record, "mode"));
    if (mode == NULL || (strcmp(mode, "live") != 0
                         && strcmp(mode, "echo") != 0))
    {
        mode = "live";
    }

    truncated = json_is_true(json_object_get(record, "transcriptTruncated"));

    turns = orbis_record_turns(json_object_get(record, "turns"), started,
                               &truncated);
    tools = orbis_record_tools(json_object_get(record, "toolCalls"),
                               started);

    key = (opts->key_id != NULL
           && orbis_record_uuid_text(opts->key_id, strlen(opts->key_id)))
          ? json_string(opts->key_id) : json_null();

    orbis_record_usage_month(started, month);

    usage = json_object_get(record, "usage");

    r = json_pack("{s:O,s:O,s:O,s:o,s:s,s:O?,s:I,s:I,s:I,s:s}",
                  "id", json_object_get(record, "sessionId"),
                  "tenantId", json_object_get(record, "tenantId"),
                  "agentId", json_object_get(record, "agentId"),
                  "keyId", key,
                  "mode", mode,
                  "model", json_is_string(json_object_get(record, "model"))
                           ? json_object_get(record, "model") : NULL,
                  "startedMs", (json_int_t) started,
                  "endedMs", (json_int_t) end,
                  "durationMs", (json_int_t) (end - started),
                  "endReason", reason);

    if (r == NULL || turns == NULL || tools == NULL) {
        json_decref(r);
        json_decref(turns);
        json_decref(tools);
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    bad = json_object_set_new(r, "closeCode",
              ended ? orbis_record_close_code(json_object_get(record,
                                                              "closeCode"))
                    : json_integer(ORBIS_CLOSE_ABNORMAL));
    bad |= json_object_set_new(r, "audioSecondsIn",
               json_real(orbis_record_seconds(
                   json_object_get(record, "audioSecondsIn"))));
    bad |= json_object_set_new(r, "audioSecondsOut",
               json_real(orbis_record_seconds(
                   json_object_get(record, "audioSecondsOut"))));
    bad |= json_object_set_new(r, "resumptions",
               json_integer(orbis_record_count(
                   json_object_get(record, "resumptions"))));
    bad |= json_object_set_new(r, "promptTokens",
               json_integer(orbis_record_count(
                   json_object_get(usage, "promptTokens"))));
    bad |= json_object_set_new(r, "responseTokens",
               json_integer(orbis_record_count(
                   json_object_get(usage, "responseTokens"))));
    bad |= json_object_set_new(r, "totalTokens",
               json_integer(orbis_record_count(
                   json_object_get(usage, "totalTokens"))));
    bad |= json_object_set_new(r, "turnCount",
               json_integer((json_int_t) json_array_size(turns)));
    bad |= json_object_set_new(r, "transcriptTruncated",
                               json_boolean(truncated));
    bad |= json_object_set_new(r, "swept", json_boolean(swept));
    bad |= json_object_set_new(r, "source",
               json_string(orbis_record_source_name(opts->source)));
    bad |= json_object_set_new(r, "attempts",
               json_integer(opts->attempts > 0 ? opts->attempts : 1));
    bad |= json_object_set_new(r, "usageMonth", json_string(month));
    bad |= json_object_set_new(r, "turns", turns);
    bad |= json_object_set_new(r, "toolCalls", tools);

    if (bad || orbis_record_ttfa(r, json_object_get(record, "ttfaMs"))
               != ORBIS_OK)
    {
        json_decref(r);
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    *out = r;

    return ORBIS_OK;
}


/* days to a civil date (H. Hinnant's algorithm), proleptic Gregorian */

void
orbis_record_usage_month(int64_t ms, char *buf)
{
    int64_t  z, era, doe, yoe, y, doy, mp, m;

    z = orbis_record_floor_div(ms, 86400000) + 719468;
    era = orbis_record_floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    m = (mp < 10) ? mp + 3 : mp - 9;

    if (m <= 2) {
        y++;
    }

    if (y < 0 || y > 9999) {
        y = (y < 0) ? 0 : 9999;
    }

    buf[0] = (char) ('0' + y / 1000);
    buf[1] = (char) ('0' + y / 100 % 10);
    buf[2] = (char) ('0' + y / 10 % 10);
    buf[3] = (char) ('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char) ('0' + m / 10);
    buf[6] = (char) ('0' + m % 10);
    memcpy(&buf[7], "-01", 4);
}


int64_t
orbis_record_percentile(int64_t *v, size_t n, unsigned pct)
{
    if (n == 0 || pct == 0 || pct > 100) {
        return -1;
    }

    qsort(v, n, sizeof(int64_t), orbis_record_cmp_ms);

    return v[(n * pct + 99) / 100 - 1];
}


const char *
orbis_record_source_name(orbis_record_source_t s)
{
    return (s == ORBIS_RECORD_BY_SWEEPER) ? "sweeper" : "worker";
}


static int
orbis_record_uuid(const json_t *v)
{
    const char  *s;

    s = json_string_value(v);

    return s != NULL && orbis_record_uuid_text(s, json_string_length(v));
}


static int
orbis_record_uuid_text(const char *s, size_t len)
{
    size_t  i;

    if (len != ORBIS_RECORD_UUID_LEN) {
        return 0;
    }

    for (i = 0; i < ORBIS_RECORD_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (!((s[i] >= '0' && s[i] <= '9')
                     || (s[i] >= 'a' && s[i] <= 'f')
                     || (s[i] >= 'A' && s[i] <= 'F')))
        {
            return 0;
        }
    }

    return 1;
}


/* a time in ms: a non-negative number below year 10000, else dflt */

static int64_t
orbis_record_ms(const json_t *v, int64_t dflt)
{
    double  d;

    if (json_is_integer(v)) {
        return (json_integer_value(v) >= 0
                && json_integer_value(v) < 253402300800000LL)
               ? (int64_t) json_integer_value(v) : dflt;
    }

    if (json_is_real(v)) {
        d = json_real_value(v);
        return (d >= 0 && d < 253402300800000.0) ? (int64_t) d : dflt;
    }

    return dflt;
}


static int64_t
orbis_record_count(const json_t *v)
{
    return (json_is_integer(v) && json_integer_value(v) > 0)
           ? (int64_t) json_integer_value(v) : 0;
}


static double
orbis_record_seconds(const json_t *v)
{
    double  d;

    d = json_is_number(v) ? json_number_value(v) : 0.0;

    /* NaN fails the comparison too */
    return (d > 0.0 && d < 1e12) ? d : 0.0;
}


static const char *
orbis_record_reason(const json_t *v)
{
    size_t       i;
    const char  *s;

    s = json_string_value(v);

    for (i = 0; s != NULL && orbis_record_reasons[i] != NULL; i++) {
        if (strcmp(s, orbis_record_reasons[i]) == 0) {
            return orbis_record_reasons[i];
        }
    }

    return "error";
}


static json_t *
orbis_record_close_code(const json_t *v)
{
    if (json_is_integer(v) && json_integer_value(v) >= 1000
        && json_integer_value(v) <= 4999)
    {
        return json_integer(json_integer_value(v));
    }

    return json_null();
}


static json_t *
orbis_record_turns(const json_t *list, int64_t started, int *truncated)
{
    size_t                 i;
    orbis_record_turns_t   t;

    t.turns = json_array();
    t.bytes = 0;
    t.truncated = 0;

    if (t.turns == NULL) {
        return NULL;
    }

    for (i = 0; i < json_array_size(list); i++) {
        if (orbis_record_turn(&t, json_array_get(list, i), started)
            != ORBIS_OK)
        {
            json_decref(t.turns);
            return NULL;
        }

        if (t.truncated) {
            break;
        }
    }

    if (t.truncated) {
        *truncated = 1;
    }

    return t.turns;
}


/* whole turns only; text stops at a NUL, which Postgres cannot store */

static orbis_rc_t
orbis_record_turn(orbis_record_turns_t *t, const json_t *turn,
    int64_t started)
{
    size_t       len;
    json_t      *o;
    const char  *role, *text;

    role = json_string_value(json_object_get(turn, "role"));
    text = json_string_value(json_object_get(turn, "text"));

    if (role == NULL || text == NULL
        || (strcmp(role, "user") != 0 && strcmp(role, "agent") != 0))
    {
        return ORBIS_OK;
    }

    len = strlen(text);

    if (len == 0) {
        return ORBIS_OK;
    }

    if (json_array_size(t->turns) == ORBIS_RECORD_MAX_TURNS
        || t->bytes + len > ORBIS_RECORD_MAX_TRANSCRIPT)
    {
        t->truncated = 1;
        return ORBIS_OK;
    }

    o = json_pack("{s:s,s:s%,s:I,s:b,s:b}",
                  "role", role,
                  "text", text, len,
                  "atMs", (json_int_t) orbis_record_ms(
                              json_object_get(turn, "startedMs"), started),
                  "typed", json_is_true(json_object_get(turn, "typed")),
                  "interrupted",
                  json_is_true(json_object_get(turn, "interrupted")));

    if (o == NULL || json_array_append_new(t->turns, o) != 0) {
        return ORBIS_ERR_NOMEM;
    }

    t->bytes += len;

    return ORBIS_OK;
}


static json_t *
orbis_record_tools(const json_t *list, int64_t started)
{
    size_t        i;
    json_t       *tools, *o, *fin;
    const char   *id, *name;
    const json_t  *tc;

    tools = json_array();
    if (tools == NULL) {
        return NULL;
    }

    for (i = 0; i < json_array_size(list)
                && i < ORBIS_RECORD_MAX_TOOL_CALLS; i++)
    {
        tc = json_array_get(list, i);

        if (!json_is_object(tc)) {
            continue;
        }

        id = json_string_value(json_object_get(tc, "id"));
        name = json_string_value(json_object_get(tc, "name"));
        fin = json_object_get(tc, "finishedMs");

        o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:I,s:o}",
                      "callId", id != NULL ? id : "",
                      "name", name != NULL ? name : "",
                      "status", orbis_record_tool_status(
                                    json_object_get(tc, "status")),
                      "args", orbis_record_tool_json(
                                  json_object_get(tc, "args")),
                      "result", orbis_record_tool_json(
                                    json_object_get(tc, "result")),
                      "startedMs", (json_int_t) orbis_record_ms(
                                      json_object_get(tc, "startedMs"),
                                      started),
                      "finishedMs", orbis_record_ms(fin, -1) >= 0
                                    ? json_integer(orbis_record_ms(fin, 0))
                                    : json_null());

        if (o == NULL || json_array_append_new(tools, o) != 0) {
            json_decref(tools);
            return NULL;
        }
    }

    return tools;
}


/*
 * A tool's arguments or result as stored: a copy, null for none, and a
 * marker instead of what is too large or holds a NUL (jsonb refuses
 * \u0000).
 */

static json_t *
orbis_record_tool_json(json_t *v)
{
    char    *text;
    size_t   size;
    json_t  *copy;

    if (v == NULL || json_is_null(v)) {
        return json_null();
    }

    size = json_dumpb(v, NULL, 0, JSON_COMPACT);

    if (size == 0 || size > ORBIS_RECORD_MAX_TOOL_JSON) {
        return json_pack("{s:b}", "truncated", 1);
    }

    text = orbis_malloc(size);
    if (text == NULL) {
        return NULL;
    }

    if (json_dumpb(v, text, size, JSON_COMPACT) != size
        || orbis_record_has_nul(text, size))
    {
        orbis_free(text);
        return json_pack("{s:b}", "truncated", 1);
    }

    orbis_free(text);

    copy = json_deep_copy(v);

    return copy;
}


static const char *
orbis_record_tool_status(const json_t *v)
{
    const char  *s;

    s = json_string_value(v);

    if (s != NULL && (strcmp(s, "ok") == 0 || strcmp(s, "error") == 0
                      || strcmp(s, "timeout") == 0))
    {
        return s;
    }

    return "cancelled";
}


/*
 * "ttfaMs", "ttfaP50Ms" and "ttfaP95Ms" into r: the values that are
 * times, in the record's order, and their percentiles computed here;
 * nulls when there is none.
 */

static orbis_rc_t
orbis_record_ttfa(json_t *r, const json_t *list)
{
    int            bad;
    size_t         i, n;
    json_t        *kept;
    int64_t       *v;
    json_int_t     ms;
    const json_t  *e;

    n = 0;
    v = NULL;
    kept = NULL;

    for (i = 0; i < json_array_size(list) && n < ORBIS_RECORD_MAX_TTFA;
         i++)
    {
        e = json_array_get(list, i);

        if (!json_is_integer(e)) {
            continue;
        }

        ms = json_integer_value(e);

        if (ms < 0 || ms > ORBIS_RECORD_MAX_TTFA_MS) {
            continue;
        }

        if (kept == NULL) {
            kept = json_array();
            v = orbis_malloc(ORBIS_RECORD_MAX_TTFA * sizeof(int64_t));

            if (kept == NULL || v == NULL) {
                json_decref(kept);
                orbis_free(v);
                return ORBIS_ERR_NOMEM;
            }
        }

        if (json_array_append_new(kept, json_integer(ms)) != 0) {
            json_decref(kept);
            orbis_free(v);
            return ORBIS_ERR_NOMEM;
        }

        v[n++] = (int64_t) ms;
    }

    if (n == 0) {
        bad = json_object_set_new(r, "ttfaMs", json_null());
        bad |= json_object_set_new(r, "ttfaP50Ms", json_null());
        bad |= json_object_set_new(r, "ttfaP95Ms", json_null());

        return bad ? ORBIS_ERR_NOMEM : ORBIS_OK;
    }

    bad = json_object_set_new(r, "ttfaMs", kept);
    bad |= json_object_set_new(r, "ttfaP50Ms",
               json_integer(orbis_record_percentile(v, n, 50)));
    bad |= json_object_set_new(r, "ttfaP95Ms",
               json_integer(orbis_record_percentile(v, n, 95)));

    orbis_free(v);

    return bad ? ORBIS_ERR_NOMEM : ORBIS_OK;
}


static int
orbis_record_cmp_ms(const void *a, const void *b)
{
    int64_t  x, y;

    x = *(const int64_t *) a;
    y = *(const int64_t *) b;

    return (x > y) - (x < y);
}


/* an escaped NUL in dumped JSON */

static int
orbis_record_has_nul(const char *text, size_t size)
{
    size_t  i;

    for (i = 0; i + 6 <= size; i++) {
        if (text[i] == '\\' && memcmp(&text[i + 1], "u0000", 5) == 0) {
            return 1;
        }
    }

    return 0;
}


static int64_t
orbis_record_floor_div(int64_t a, int64_t b)
{
    int64_t  q;

    q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }

    return q;
}
