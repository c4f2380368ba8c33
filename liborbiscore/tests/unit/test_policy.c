/*
 * Copyright (C) Orbis
 *
 * The access decisions, without a server: every refusal of the /stream
 * handshake in its documented order, the limits a call is checked
 * against, the bucket an API request is counted in, and plan quotas.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/client.h>
#include <orbiscore/policy.h>
#include <orbiscore/validate.h>


#define KEY_ID     "0f8fad5b-d9cb-469f-a165-70867728950e"
#define TENANT_ID  "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define AGENT_ID   "16fd2706-8baf-433b-82eb-8c7fada847da"
#define SITE       "https://shop.example"
#define OTHER_ID   "9b2d6e3a-5c1f-4e8a-b7d0-1a2b3c4d5e6f"
#define AGENT      "{\"id\":\"" AGENT_ID "\",\"name\":\"A\"}"


static char row_text[2048];


/*
 * A row as the handshake's statement renders it, with overrides: agents
 * is the key's agent list, origins the key's and the tenant's are
 * SITE unless key_origins is given.
 */
static const char *
row_json(const char *kind, const char *revoked, const char *agents,
    const char *key_origins, int used, int monthly, int max_live,
    const char *agent)
{
    snprintf(row_text, sizeof(row_text),
             "{\"keyId\":\"" KEY_ID "\",\"tenantId\":\"" TENANT_ID "\","
             "\"kind\":\"%s\",\"revoked\":%s,\"keyAgents\":%s,"
             "\"keyOrigins\":%s,\"tenantOrigins\":[\"" SITE "\"],"
             "\"rateLimit\":3,\"tenantRateLimit\":10,"
             "\"monthlyLimit\":%d,\"maxConcurrentCalls\":%d,\"used\":%d,"
             "\"agent\":%s}",
             kind, revoked, agents, key_origins, monthly, max_live, used,
             agent);

    return row_text;
}


static void
parse_ok(const char *text, orbis_admission_row_t *row)
{
    orbis_err_t  err;

    assert_int_equal(orbis_admission_row_parse(text, strlen(text), row,
                                               &err), ORBIS_OK);
}


static const char *
good_row(void)
{
    return row_json("publishable", "false", "[]", "[]", 10, 50, 3, AGENT);
}


static void
expect_refusal(const orbis_verdict_t *v, unsigned status, const char *code,
    uint16_t close_code)
{
    assert_false(v->admit);
    assert_int_equal(v->status, status);
    assert_string_equal(v->code, code);
    assert_int_equal(v->close_code, close_code);
    assert_true(strlen(v->message) > 0);
}


static void
test_row_parse(void **state)
{
    orbis_err_t            err;
    orbis_admission_row_t  row;

    (void) state;

    parse_ok(good_row(), &row);

    assert_string_equal(row.key_id, KEY_ID);
    assert_string_equal(row.tenant_id, TENANT_ID);
    assert_int_equal(row.kind, ORBIS_KEY_PUBLISHABLE);
    assert_false(row.revoked);
    assert_true(row.agent_found);
    assert_string_equal(row.agent_id, AGENT_ID);
    assert_int_equal(row.n_key_agents, 0);
    assert_int_equal(row.n_key_origins, 0);
    assert_int_equal(row.n_tenant_origins, 1);
    assert_string_equal(row.tenant_origins[0], SITE);
    assert_int_equal(row.key_rate, 3);
    assert_int_equal(row.tenant_rate, 10);
    assert_int_equal(row.monthly_limit, 50);
    assert_int_equal(row.used, 10);
    assert_int_equal(row.max_concurrent, 3);
    assert_non_null(json_object_get(row.doc, "agent"));

    orbis_admission_row_free(&row);
    assert_null(row.doc);

    /* no agent */
    parse_ok(row_json("publishable", "false", "[]", "[]", 0, 50, 3,
                      "null"), &row);
    assert_false(row.agent_found);
    assert_string_equal(row.agent_id, "");
    orbis_admission_row_free(&row);

    /* the wrong types are refused, and freeing after a failure is fine */
    assert_int_equal(orbis_admission_row_parse("[]", 2, &row, &err),
                     ORBIS_ERR_INVALID);
    orbis_admission_row_free(&row);

    assert_int_equal(orbis_admission_row_parse("{", 1, &row, &err),
                     ORBIS_ERR_INVALID);
    orbis_admission_row_free(&row);

    (void) row_json("publishable", "1", "[]", "[]", 0, 50, 3, "null");
    assert_int_equal(orbis_admission_row_parse(row_text, strlen(row_text),
                                               &row, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "admission row: revoked: not a boolean");
    orbis_admission_row_free(&row);

    (void) row_json("publishable", "false", "[]", "[]", -1, 50, 3,
                    "null");
    assert_int_equal(orbis_admission_row_parse(row_text, strlen(row_text),
                                               &row, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "admission row: used: not a count");
    orbis_admission_row_free(&row);

    (void) row_json("weird", "false", "[]", "[]", 0, 50, 3, "null");
    assert_int_equal(orbis_admission_row_parse(row_text, strlen(row_text),
                                               &row, &err),
                     ORBIS_ERR_INVALID);
    orbis_admission_row_free(&row);

    (void) row_json("publishable", "false", "[]", "[1]", 0, 50, 3,
                    "null");
    assert_int_equal(orbis_admission_row_parse(row_text, strlen(row_text),
                                               &row, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "admission row: keyOrigins[0]: not a "
                                "string");
    orbis_admission_row_free(&row);
}


static void
test_precheck(void **state)
{
    orbis_verdict_t  v;

    (void) state;

    orbis_admission_precheck(NULL, 0, AGENT_ID, 36, &v);
    expect_refusal(&v, 401, "unauthorized", ORBIS_CLOSE_REFUSED);

    orbis_admission_precheck("pk_short", 8, AGENT_ID, 36, &v);
    expect_refusal(&v, 401, "unauthorized", ORBIS_CLOSE_REFUSED);

    orbis_admission_precheck("sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 35,
                             AGENT_ID, 36, &v);
    expect_refusal(&v, 403, "forbidden", ORBIS_CLOSE_REFUSED);

    orbis_admission_precheck("pk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 35,
                             NULL, 0, &v);
    expect_refusal(&v, 404, "not_found", ORBIS_CLOSE_UNKNOWN_AGENT);

    orbis_admission_precheck("pk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 35,
                             "abc", 3, &v);
    expect_refusal(&v, 404, "not_found", ORBIS_CLOSE_UNKNOWN_AGENT);

    orbis_admission_precheck("pk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 35,
                             AGENT_ID, 36, &v);
    assert_true(v.admit);
}


static void
test_decide_order(void **state)
{
    size_t                 n;
    orbis_verdict_t        v;
    const char *const     *o;
    orbis_admission_row_t  row;

    (void) state;

    /* no row: an unknown key */
    orbis_admission_decide(NULL, SITE, strlen(SITE), &v);
    expect_refusal(&v, 401, "unauthorized", ORBIS_CLOSE_REFUSED);
    assert_string_equal(v.message, "unknown key");

    /* revoked before everything else, even with no agent */
    parse_ok(row_json("publishable", "true", "[\"" OTHER_ID "\"]", "[]", 50,
                      50, 3, "null"), &row);
    orbis_admission_decide(&row, "https://evil.example", 20, &v);
    expect_refusal(&v, 401, "unauthorized", ORBIS_CLOSE_REFUSED);
    assert_string_equal(v.message, "this key is revoked");
    orbis_admission_row_free(&row);

    /* a secret key in the row (the hash of one): as revoked */
    parse_ok(row_json("secret", "false", "[]", "[]", 0, 50, 3, AGENT), &row);
    orbis_admission_decide(&row, SITE, strlen(SITE), &v);
    expect_refusal(&v, 401, "unauthorized", ORBIS_CLOSE_REFUSED);
    orbis_admission_row_free(&row);

    /* the agent, then the key's agents */
    parse_ok(row_json("publishable", "false", "[\"" OTHER_ID "\"]", "[]", 50,
                      50, 3, "null"), &row);
    orbis_admission_decide(&row, "https://evil.example", 20, &v);
    expect_refusal(&v, 404, "not_found", ORBIS_CLOSE_UNKNOWN_AGENT);
    orbis_admission_row_free(&row);

    parse_ok(row_json("publishable", "false", "[\"" OTHER_ID "\"]", "[]", 50,
                      50, 3, AGENT), &row);
    assert_false(orbis_admission_agent_allowed(&row));
    orbis_admission_decide(&row, "https://evil.example", 20, &v);
    expect_refusal(&v, 403, "forbidden", ORBIS_CLOSE_REFUSED);
    assert_string_equal(v.message, "this key may not be used for this "
                                   "agent");
    orbis_admission_row_free(&row);

    /* a key listing this agent (any case), or none, may open it */
    parse_ok(row_json("publishable", "false",
                      "[\"" OTHER_ID "\",\"16FD2706-8BAF-433B-82EB-"
                      "8C7FADA847DA\"]", "[]", 0, 50, 3, AGENT), &row);
    assert_true(orbis_admission_agent_allowed(&row));
    orbis_admission_row_free(&row);

    /*
     * The origins: the tenant's when the key lists none; a foreign one is
     * refused before the allowance is looked at
     */
    parse_ok(row_json("publishable", "false", "[]", "[]", 50, 50, 3, AGENT),
             &row);
    orbis_admission_origins(&row, &o, &n);
    assert_int_equal(n, 1);
    assert_string_equal(o[0], SITE);
    orbis_admission_decide(&row, "https://evil.example", 20, &v);
    expect_refusal(&v, 403, "forbidden", ORBIS_CLOSE_REFUSED);
    assert_string_equal(v.message, "this origin may not use this key");

    /* "null" never matches */
    orbis_admission_decide(&row, "null", 4, &v);
    expect_refusal(&v, 403, "forbidden", ORBIS_CLOSE_REFUSED);

    /* the allowance: for the right site, and for a client without Origin */
    orbis_admission_decide(&row, SITE ":443", strlen(SITE ":443"), &v);
    expect_refusal(&v, 429, "usage_limit", ORBIS_CLOSE_USAGE_LIMIT);
    orbis_admission_decide(&row, NULL, 0, &v);
    expect_refusal(&v, 429, "usage_limit", ORBIS_CLOSE_USAGE_LIMIT);
    orbis_admission_row_free(&row);

    /* the key's own origins replace the tenant's */
    parse_ok(row_json("publishable", "false", "[]",
                      "[\"https://widget.example\"]", 0, 50, 3, AGENT),
             &row);
    orbis_admission_origins(&row, &o, &n);
    assert_int_equal(n, 1);
    assert_string_equal(o[0], "https://widget.example");
    orbis_admission_decide(&row, SITE, strlen(SITE), &v);
    expect_refusal(&v, 403, "forbidden", ORBIS_CLOSE_REFUSED);
    orbis_admission_decide(&row, "https://widget.example", 22, &v);
    assert_true(v.admit);
    orbis_admission_row_free(&row);

    /* one left: on to the limits, with or without Origin */
    parse_ok(row_json("publishable", "false", "[]", "[]", 49, 50, 3, AGENT),
             &row);
    orbis_admission_decide(&row, SITE, strlen(SITE), &v);
    assert_true(v.admit);
    orbis_admission_decide(&row, NULL, 0, &v);
    assert_true(v.admit);
    orbis_admission_row_free(&row);
}


static void
test_call_limits(void **state)
{
    orbis_call_limits_t    l;
    orbis_admission_row_t  row;

    (void) state;

    parse_ok(good_row(), &row);

    orbis_call_limits(&row, 1, &l);

    assert_int_equal(l.n_buckets, 2);
    assert_string_equal(l.buckets[0].key, "rl:stream:{" TENANT_ID "}:"
                                          KEY_ID);
    assert_int_equal(l.buckets[0].limit, 3);
    assert_int_equal(l.buckets[0].burst, 3);
    assert_string_equal(l.buckets[1].key, "rl:stream:{" TENANT_ID "}");
    assert_int_equal(l.buckets[1].limit, 10);
    assert_string_equal(l.live_key, "calls:live:{" TENANT_ID "}");
    assert_int_equal(l.max_live, 3);
    assert_int_equal(l.allowance_left, 40);     /* 50 - 10 saved */
    assert_true(l.commit);

    /* a client without Origin only looks: it will be refused anyway */
    orbis_call_limits(&row, 0, &l);
    assert_false(l.commit);

    orbis_admission_row_free(&row);
}


static void
test_finish(void **state)
{
    orbis_verdict_t         v;
    orbis_call_limits_t     l;
    orbis_admission_row_t   row;
    orbis_limits_outcome_t  o;

    (void) state;

    parse_ok(good_row(), &row);
    orbis_call_limits(&row, 1, &l);

    memset(&o, 0, sizeof(o));

    /* every limit kept */
    orbis_admission_finish(&row, &l, &o, 1, &v);
    assert_true(v.admit);

    /* not a browser: refused only now, after it learned about the limits */
    orbis_admission_finish(&row, &l, &o, 0, &v);
    expect_refusal(&v, 403, "forbidden", ORBIS_CLOSE_REFUSED);

    /* Redis could not be asked: calls go on */
    orbis_admission_finish(&row, &l, NULL, 1, &v);
    assert_true(v.admit);

    o.hit = ORBIS_LIMIT_BUCKET;
    o.bucket = 0;
    o.retry_after_ms = 1500;
    orbis_admission_finish(&row, &l, &o, 0, &v);
    expect_refusal(&v, 429, "rate_limited", ORBIS_CLOSE_RATE_LIMITED);
    assert_string_equal(v.message, "too many calls with this key: 3 a "
                                   "minute are allowed; retry in 2 s");
    assert_int_equal(v.retry_after, 2);

    o.bucket = 1;
    orbis_admission_finish(&row, &l, &o, 1, &v);
    expect_refusal(&v, 429, "rate_limited", ORBIS_CLOSE_RATE_LIMITED);
    assert_string_equal(v.message, "too many calls for this account: 10 a "
                                   "minute are allowed; retry in 2 s");

    o.hit = ORBIS_LIMIT_ALLOWANCE;
    o.live = 40;
    orbis_admission_finish(&row, &l, &o, 1, &v);
    expect_refusal(&v, 429, "usage_limit", ORBIS_CLOSE_USAGE_LIMIT);
    assert_string_equal(v.message, "the plan's conversations for this "
                                   "month are used up (10 saved, 40 in "
                                   "progress)");

    o.hit = ORBIS_LIMIT_CONCURRENCY;
    o.live = 3;
    orbis_admission_finish(&row, &l, &o, 1, &v);
    expect_refusal(&v, 429, "concurrency_limit",
                   ORBIS_CLOSE_CONCURRENCY_LIMIT);
    assert_int_equal(v.retry_after, 0);
    assert_string_equal(v.message, "the plan allows 3 calls at once; try "
                                   "again when one ends");
    assert_int_equal(ORBIS_CLOSE_CONCURRENCY_LIMIT, 4005);

    orbis_admission_row_free(&row);
}


static void
test_api_bucket(void **state)
{
    orbis_bucket_t      b;
    orbis_api_caller_t  c;

    (void) state;

    memset(&c, 0, sizeof(c));
    c.address = "192.0.2.7";
    c.session_rate = 100;
    c.address_rate = 10;

    /* anonymous, public route: nothing to count */
    assert_int_equal(orbis_api_bucket(&c, &b), 0);

    /* signup and login: the address's budget, whoever is signed in */
    c.per_address = 1;
    c.kind = ORBIS_CALLER_SESSION;
    c.user_id = "u1";
    assert_int_equal(orbis_api_bucket(&c, &b), 1);
    assert_string_equal(b.key, "rl:ip:192.0.2.7:auth");
    assert_int_equal(b.limit, 10);
    assert_int_equal(b.burst, 10);

    /* a session: its user's bucket, with the revoke key's hash tag */
    c.per_address = 0;
    assert_int_equal(orbis_api_bucket(&c, &b), 1);
    assert_string_equal(b.key, "rl:user:{u1}");
    assert_int_equal(b.limit, 100);

    /* a secret key: its plan's rate, or the default when unknown */
    c.kind = ORBIS_CALLER_SECRET_KEY;
    c.key_id = "k1";
    c.key_rate = 600;
    assert_int_equal(orbis_api_bucket(&c, &b), 1);
    assert_string_equal(b.key, "rl:key:k1");
    assert_int_equal(b.limit, 600);

    c.key_rate = 0;
    assert_int_equal(orbis_api_bucket(&c, &b), 1);
    assert_int_equal(b.limit, ORBIS_DEFAULT_KEY_RATE);

    /* the burst never exceeds what GCRA accepts */
    orbis_bucket_set(&b, 4000000, "x:%d", 1);
    assert_string_equal(b.key, "x:1");
    assert_int_equal(b.burst, 1000000);
}


static void
test_quota(void **state)
{
    orbis_verdict_t  v;

    (void) state;

    orbis_quota_decide(ORBIS_QUOTA_AGENTS, 2, 3, &v);
    assert_true(v.admit);

    orbis_quota_decide(ORBIS_QUOTA_AGENTS, 3, 3, &v);
    expect_refusal(&v, 403, "plan_limit", 0);
    assert_string_equal(v.message, "the plan allows 3 agents; delete one "
                                   "or change plans");

    orbis_quota_decide(ORBIS_QUOTA_API_KEYS, 12, 10, &v);
    expect_refusal(&v, 403, "plan_limit", 0);
    assert_string_equal(v.message, "the plan allows 10 API keys; delete "
                                   "one or change plans");

    assert_string_equal(orbis_quota_name(ORBIS_QUOTA_AGENTS), "agents");
    assert_string_equal(orbis_quota_name(ORBIS_QUOTA_API_KEYS), "api_keys");
}


static void
test_language_catalog(void **state)
{
    size_t              i, n;
    const char *const  *l;

    (void) state;

    l = orbis_languages(&n);

    assert_true(n > 20);
    assert_string_equal(l[0], ORBIS_LANGUAGE_DEFAULT);
    assert_string_equal(ORBIS_LANGUAGE_DEFAULT, "en-US");

    for (i = 0; i < n; i++) {
        assert_true(orbis_language_valid(l[i], strlen(l[i])));
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_row_parse),
        cmocka_unit_test(test_precheck),
        cmocka_unit_test(test_decide_order),
        cmocka_unit_test(test_call_limits),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_api_bucket),
        cmocka_unit_test(test_quota),
        cmocka_unit_test(test_language_catalog),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
