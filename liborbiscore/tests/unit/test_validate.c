/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/base64.h>
#include <orbiscore/validate.h>

#include "validate/validate_int.h"


#define UUID  "0f8fad5b-d9cb-469f-a165-70867728950e"


static orbis_rc_t signup(const char *json, orbis_req_signup_t *s,
    orbis_err_t *err);
static orbis_rc_t agent(const char *json, int partial, orbis_req_agent_t *a,
    orbis_err_t *err);
static void expect_signup_error(const char *json, orbis_rc_t rc,
    const char *msg);
static void expect_agent_error(const char *json, int partial, orbis_rc_t rc,
    const char *msg);
static char *repeat(const char *prefix, const char *unit, size_t n,
    const char *suffix);


static const char *const  known_tools[] = {
    "score_lead", "generate_tone", "end_call"
};


/* field rules */


static void
test_email_rules(void **state)
{
    size_t  i;
    char   *long_email;

    static const char  *good[] = {
        "a@b.co", "Alice.Smith+tag@Example.COM", "x_y-z@mail.acme-dental.io",
        "o'brien@ie.example", "1@2.example", "a@xn--bcher-kva.example",
        NULL
    };
    static const char  *bad[] = {
        "", "a", "a@", "@b.co", "a@b", "a@@b.co", "a@b@c.co", "a b@c.co",
        ".a@b.co", "a.@b.co", "a..b@c.co", "a@-b.co", "a@b-.co", "a@b..co",
        "a@.b.co", "a@b.co.", "a@b.123", "a@b_c.co", "\xc3\xbc@b.co",
        "a@b\xc3\xbc.co", "a\"b@c.co", "a@[127.0.0.1]", NULL
    };

    (void) state;

    for (i = 0; good[i] != NULL; i++) {
        assert_true(orbis_email_valid(good[i], strlen(good[i])));
    }

    for (i = 0; bad[i] != NULL; i++) {
        assert_false(orbis_email_valid(bad[i], strlen(bad[i])));
    }

    /* 64 characters of local part, not 65; 254 in all, not 255 */
    long_email = repeat("", "a", 64, "@b.co");
    assert_true(orbis_email_valid(long_email, strlen(long_email)));
    free(long_email);
    long_email = repeat("", "a", 65, "@b.co");
    assert_false(orbis_email_valid(long_email, strlen(long_email)));
    free(long_email);

    long_email = repeat("a@", "abcdefghi.", 25, "exam");
    assert_int_equal(strlen(long_email), 256);
    assert_false(orbis_email_valid(long_email, 256));
    long_email[248] = '\0';
    strcat(long_email, "co");
    assert_int_equal(strlen(long_email), 250);
    assert_true(orbis_email_valid(long_email, 250));
    free(long_email);
}


static void
test_uuid_language_voice(void **state)
{
    size_t              i, n;
    const char *const  *voices;

    static const char  *lang_good[] = {
        "en-US", "de", "pt-BR", "pt-br", "es-419", "zh-Hant-TW", "zh-hant-tw",
        "yue-HK", "fil", NULL
    };
    static const char  *lang_bad[] = {
        "", "e", "english", "en_US", "en-", "-US", "en-USA", "en-U1",
        "en-US-x", "zh-Hant-TW-x", "en--US", "1n-US", "en-4199", NULL
    };

    (void) state;

    assert_true(orbis_uuid_valid(UUID, 36));
    assert_true(orbis_uuid_valid("0F8FAD5B-D9CB-469F-A165-70867728950E", 36));
    assert_false(orbis_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950", 35));
    assert_false(orbis_uuid_valid("0f8fad5bd9cb-469f-a165-70867728950ee", 36));
    assert_false(orbis_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950g", 36));
    assert_false(orbis_uuid_valid("{f8fad5b-d9cb-469f-a165-70867728950e", 36));
    assert_false(orbis_uuid_valid(NULL, 0));

    for (i = 0; lang_good[i] != NULL; i++) {
        assert_true(orbis_language_valid(lang_good[i], strlen(lang_good[i])));
    }

    for (i = 0; lang_bad[i] != NULL; i++) {
        assert_false(orbis_language_valid(lang_bad[i], strlen(lang_bad[i])));
    }

    voices = orbis_voices(&n);
    assert_int_equal(n, 30);
    assert_string_equal(voices[0], "Achernar");
    assert_string_equal(voices[15], "Kore");
    assert_string_equal(voices[29], "Zubenelgenubi");

    for (i = 0; i < n; i++) {
        assert_true(orbis_voice_valid(voices[i], strlen(voices[i])));
    }

    assert_true(orbis_voice_valid("Puck", 4));
    assert_false(orbis_voice_valid("puck", 4));
    assert_false(orbis_voice_valid("Puc", 3));
    assert_false(orbis_voice_valid("Puck ", 5));
    assert_false(orbis_voice_valid("", 0));
}


/* signup and login */


static void
test_signup_good(void **state)
{
    orbis_err_t         err;
    orbis_req_signup_t  s;

    (void) state;

    assert_int_equal(signup("{\"email\": \"  Alice@Example.COM \","
                            " \"password\": \"correct horse 7\","
                            " \"tenantName\": \"  Acme Dental\\t\","
                            " \"name\": \"Alice \\u00c4\","
                            " \"referralCode\": \"FRIEND-2024\"}", &s, &err),
                     ORBIS_OK);
    assert_string_equal(s.email, "alice@example.com");
    assert_string_equal(s.password, "correct horse 7");
    assert_string_equal(s.tenant_name, "Acme Dental");
    assert_string_equal(s.name, "Alice \xc3\x84");
    assert_string_equal(s.referral_code, "FRIEND-2024");
    orbis_req_signup_free(&s);
    assert_null(s.email);

    /* optional members absent or blank */
    assert_int_equal(signup("{\"email\":\"a@b.co\",\"password\":"
                            "\"correct horse 7\",\"tenantName\":\"A\","
                            "\"name\":\" \",\"referralCode\":\"\"}", &s,
                            &err),
                     ORBIS_OK);
    assert_null(s.name);
    assert_null(s.referral_code);
    orbis_req_signup_free(&s);

    assert_int_equal(signup("{\"tenantName\":\"A\",\"email\":\"a@b.co\","
                            "\"password\":\"correct horse 7\"}", &s, &err),
                     ORBIS_OK);
    assert_null(s.name);
    orbis_req_signup_free(&s);
}


static void
test_signup_body_errors(void **state)
{
    char                *big;
    orbis_err_t          err;
    orbis_req_signup_t   s;

    (void) state;

    expect_signup_error("{\"email\": }", ORBIS_ERR_INVALID,
                        "body: not valid JSON at line 1 column 11");
    expect_signup_error("{\n  \"email\": \"a@b.co\",\n  oops\n}",
                        ORBIS_ERR_INVALID,
                        "body: not valid JSON at line 3 column 6");
    expect_signup_error("[1, 2]", ORBIS_ERR_INVALID,
                        "body: must be a JSON object");
    expect_signup_error("\"text\"", ORBIS_ERR_INVALID,
                        "body: must be a JSON object");
    expect_signup_error("", ORBIS_ERR_INVALID,
                        "body: must be a JSON object");
    expect_signup_error("{\"email\":\"a@b.co\",\"email\":\"c@d.co\"}",
                        ORBIS_ERR_INVALID,
                        "body: duplicate member at line 1 column 25");
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":\"correct horse "
                        "7\",\"tenantName\":\"A\",\"isAdmin\":true}",
                        ORBIS_ERR_INVALID, "body: unknown field \"isAdmin\"");
    expect_signup_error("{\"x\\u0001\":1}", ORBIS_ERR_INVALID,
                        "body: unknown field");

    big = repeat("{\"name\":\"", "x", ORBIS_BODY_MAX, "\"}");
    assert_int_equal(signup(big, &s, &err), ORBIS_ERR_RANGE);
    assert_string_equal(err.msg, "body: must be at most 65536 bytes");
    free(big);
}


static void
test_signup_field_errors(void **state)
{
    char  *json;

    (void) state;

    expect_signup_error("{\"password\":\"correct horse 7\","
                        "\"tenantName\":\"A\"}",
                        ORBIS_ERR_INVALID, "email: is required");
    expect_signup_error("{\"email\":42}", ORBIS_ERR_INVALID,
                        "email: must be a string");
    expect_signup_error("{\"email\":null}", ORBIS_ERR_INVALID,
                        "email: must be a string");
    expect_signup_error("{\"email\":\"alice@\"}", ORBIS_ERR_INVALID,
                        "email: must be a valid email address");

    json = repeat("{\"email\":\"", "a", 250, "@b.co\"}");
    expect_signup_error(json, ORBIS_ERR_RANGE,
                        "email: must be at most 254 characters");
    free(json);

    expect_signup_error("{\"email\":\"a@b.co\",\"password\":\"short1\"}",
                        ORBIS_ERR_INVALID,
                        "password must be at least 10 characters");
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":\"password123\"}",
                        ORBIS_ERR_INVALID,
                        "password is too common, choose another one");
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":"
                        "\"correct horse 7\"}",
                        ORBIS_ERR_INVALID, "tenantName: is required");
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":"
                        "\"correct horse 7\",\"tenantName\":\"  \"}",
                        ORBIS_ERR_INVALID, "tenantName: must not be empty");
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":"
                        "\"correct horse 7\",\"tenantName\":\"A\\u0007B\"}",
                        ORBIS_ERR_INVALID,
                        "tenantName: must not contain control characters");

    /* 100 characters in 200 bytes fit, 101 do not */
    json = repeat("{\"email\":\"a@b.co\",\"password\":\"correct horse 7\","
                  "\"tenantName\":\"", "\xc3\xa4", 100, "\"}");
    assert_int_equal(signup(json, &(orbis_req_signup_t) { 0 }, NULL),
                     ORBIS_OK);
    free(json);
    json = repeat("{\"email\":\"a@b.co\",\"password\":\"correct horse 7\","
                  "\"tenantName\":\"", "x", 101, "\"}");
    expect_signup_error(json, ORBIS_ERR_RANGE,
                        "tenantName: must be at most 100 characters");
    free(json);

    expect_signup_error("{\"email\":\"a@b.co\",\"password\":"
                        "\"correct horse 7\",\"tenantName\":\"A\","
                        "\"referralCode\":\"ab\"}", ORBIS_ERR_INVALID,
                        "referralCode: must be 4 to 32 letters, digits, "
                        "hyphens or underscores");
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":"
                        "\"correct horse 7\",\"tenantName\":\"A\","
                        "\"referralCode\":\"abc d\"}", ORBIS_ERR_INVALID,
                        "referralCode: must be 4 to 32 letters, digits, "
                        "hyphens or underscores");
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":"
                        "\"correct horse 7\",\"tenantName\":\"A\","
                        "\"referralCode\":7}", ORBIS_ERR_INVALID,
                        "referralCode: must be a string");
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":"
                        "\"correct horse 7\",\"tenantName\":\"A\","
                        "\"referralCode\":\"ab+cd\"}", ORBIS_ERR_INVALID,
                        "referralCode: must be 4 to 32 letters, digits, "
                        "hyphens or underscores");
}


/* the codes signup hands out are base64url: "_" and "-" included */
static void
test_signup_referral_alphabet(void **state)
{
    char                *json;
    orbis_err_t          err;
    orbis_req_signup_t   s;

    (void) state;

    assert_int_equal(signup("{\"email\":\"a@b.co\",\"password\":"
                            "\"correct horse 7\",\"tenantName\":\"A\","
                            "\"referralCode\":\"q3_k1v-dXcA_\"}", &s, &err),
                     ORBIS_OK);
    assert_string_equal(s.referral_code, "q3_k1v-dXcA_");
    orbis_req_signup_free(&s);

    /* 4 and 32 characters are the bounds */
    assert_int_equal(signup("{\"email\":\"a@b.co\",\"password\":"
                            "\"correct horse 7\",\"tenantName\":\"A\","
                            "\"referralCode\":\"____\"}", &s, &err),
                     ORBIS_OK);
    orbis_req_signup_free(&s);

    json = repeat("{\"email\":\"a@b.co\",\"password\":\"correct horse 7\","
                  "\"tenantName\":\"A\",\"referralCode\":\"", "x", 32,
                  "\"}");
    assert_int_equal(signup(json, &s, &err), ORBIS_OK);
    orbis_req_signup_free(&s);
    free(json);

    json = repeat("{\"email\":\"a@b.co\",\"password\":\"correct horse 7\","
                  "\"tenantName\":\"A\",\"referralCode\":\"", "x", 33,
                  "\"}");
    expect_signup_error(json, ORBIS_ERR_INVALID,
                        "referralCode: must be 4 to 32 letters, digits, "
                        "hyphens or underscores");
    free(json);

    /* null is not "no code": it is refused like any other non-string */
    expect_signup_error("{\"email\":\"a@b.co\",\"password\":"
                        "\"correct horse 7\",\"tenantName\":\"A\","
                        "\"referralCode\":null}", ORBIS_ERR_INVALID,
                        "referralCode: must be a string");
}


static void
test_login(void **state)
{
    char               *json;
    orbis_err_t         err;
    orbis_req_login_t   l;

#define LPARSE(j)  orbis_req_login_parse(j, strlen(j), &l, &err)

    (void) state;

    assert_int_equal(LPARSE("{\"email\":\"Bob@B.co\",\"password\":\"x\"}"),
                     ORBIS_OK);
    assert_string_equal(l.email, "bob@b.co");
    assert_string_equal(l.password, "x");
    orbis_req_login_free(&l);

    assert_int_equal(LPARSE("{\"email\":\"b@b.co\"}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password: is required");
    assert_null(l.email);

    assert_int_equal(LPARSE("{\"email\":\"b@b.co\",\"password\":\"\"}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password: must not be empty");

    json = repeat("{\"email\":\"b@b.co\",\"password\":\"", "p", 257, "\"}");
    assert_int_equal(LPARSE(json),
                     ORBIS_ERR_RANGE);
    assert_string_equal(err.msg, "password: must be at most 256 bytes");
    free(json);

    assert_int_equal(LPARSE("{\"email\":\"b@b.co\",\"password\":\"x\","
                            "\"remember\":true}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "body: unknown field \"remember\"");

#undef LPARSE
}


/* tenant update */


static void
test_tenant_update(void **state)
{
    char                       *json;
    size_t                      i;
    orbis_err_t                 err;
    orbis_req_tenant_update_t   t;

#define TPARSE(j)  orbis_req_tenant_update_parse(j, strlen(j), &t, &err)

    (void) state;

    assert_int_equal(TPARSE("{\"name\":\" New Name \","
                            "\"billingEmail\":\"Ops@Acme.Example\","
                            "\"allowedOrigins\":[\"HTTPS://Acme.Example/\","
                            "\"http://localhost:3000\"]}"),
                     ORBIS_OK);
    assert_int_equal(t.present, ORBIS_TENANT_UPD_NAME
                                | ORBIS_TENANT_UPD_BILLING_EMAIL
                                | ORBIS_TENANT_UPD_ORIGINS);
    assert_string_equal(t.name, "New Name");
    assert_string_equal(t.billing_email, "ops@acme.example");
    assert_int_equal(t.n_allowed_origins, 2);
    assert_string_equal(t.allowed_origins[0], "https://acme.example");
    assert_string_equal(t.allowed_origins[1], "http://localhost:3000");
    orbis_req_tenant_update_free(&t);

    /* an empty list is a change too: no origin may embed the widget */
    assert_int_equal(TPARSE("{\"allowedOrigins\":[]}"), ORBIS_OK);
    assert_int_equal(t.present, ORBIS_TENANT_UPD_ORIGINS);
    assert_int_equal(t.n_allowed_origins, 0);
    orbis_req_tenant_update_free(&t);

    assert_int_equal(TPARSE("{\"name\":\"Only\"}"), ORBIS_OK);
    assert_int_equal(t.present, ORBIS_TENANT_UPD_NAME);
    assert_null(t.billing_email);
    orbis_req_tenant_update_free(&t);

    assert_int_equal(TPARSE("{}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "body: nothing to update; send name, "
                        "billingEmail or allowedOrigins");

    assert_int_equal(TPARSE("{\"name\":\"\"}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "name: must not be empty");

    assert_int_equal(TPARSE("{\"billingEmail\":\"nope\"}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "billingEmail: must be a valid email "
                        "address");

    assert_int_equal(TPARSE("{\"allowedOrigins\":\"https://a.example\"}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "allowedOrigins: must be an array");

    assert_int_equal(TPARSE("{\"allowedOrigins\":[\"https://a.example\","
                            "\"https://a.example/x\"]}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "allowedOrigins[1]: must be an origin such "
                        "as https://example.com, without a path");
    assert_null(t.allowed_origins);

    assert_int_equal(TPARSE("{\"allowedOrigins\":[\"https://a.example\","
                            "\"HTTPS://A.EXAMPLE:443\"]}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "allowedOrigins[1]: duplicate of an earlier "
                        "item");

    assert_int_equal(TPARSE("{\"allowedOrigins\":[1]}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "allowedOrigins[0]: must be a string");

    /* null clears billingEmail; there is no value, only the bit */
    assert_int_equal(TPARSE("{\"billingEmail\":null}"), ORBIS_OK);
    assert_int_equal(t.present, 0);
    assert_int_equal(t.cleared, ORBIS_TENANT_UPD_BILLING_EMAIL);
    assert_null(t.billing_email);
    orbis_req_tenant_update_free(&t);
    assert_int_equal(t.cleared, 0);

    /* null for the origins is the empty list */
    assert_int_equal(TPARSE("{\"allowedOrigins\":null,\"name\":\"N\"}"),
                     ORBIS_OK);
    assert_int_equal(t.present, ORBIS_TENANT_UPD_ORIGINS
                                | ORBIS_TENANT_UPD_NAME);
    assert_int_equal(t.cleared, ORBIS_TENANT_UPD_ORIGINS);
    assert_int_equal(t.n_allowed_origins, 0);
    assert_null(t.allowed_origins);
    orbis_req_tenant_update_free(&t);

    /* a tenant always has a name */
    assert_int_equal(TPARSE("{\"name\":null,\"billingEmail\":null}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "name: cannot be null; leave it out to "
                        "keep the current value");
    assert_int_equal(t.cleared, 0);

    /* a value beside null is still checked */
    assert_int_equal(TPARSE("{\"billingEmail\":null,\"allowedOrigins\":"
                            "[\"ftp://x\"]}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "allowedOrigins[0]: must be an origin such "
                        "as https://example.com, without a path");
    assert_int_equal(t.cleared, 0);

    json = repeat("{\"allowedOrigins\":[", "\"https://a.example\",",
                  ORBIS_ORIGINS_MAX, "\"https://b.example\"]}");
    assert_int_equal(TPARSE(json), ORBIS_ERR_RANGE);
    assert_string_equal(err.msg, "allowedOrigins: must have at most 50 items");
    free(json);

    /* 50 distinct origins are fine */
    json = malloc(4096);
    strcpy(json, "{\"allowedOrigins\":[");
    for (i = 0; i < ORBIS_ORIGINS_MAX; i++) {
        sprintf(json + strlen(json), "%s\"https://s%zu.example\"",
                i ? "," : "", i);
    }
    strcat(json, "]}");
    assert_int_equal(TPARSE(json), ORBIS_OK);
    assert_int_equal(t.n_allowed_origins, ORBIS_ORIGINS_MAX);
    assert_string_equal(t.allowed_origins[49], "https://s49.example");
    orbis_req_tenant_update_free(&t);
    free(json);

#undef TPARSE
}


/* agents */


static void
test_agent_create(void **state)
{
    orbis_err_t        err;
    orbis_req_agent_t  a;

    (void) state;

    assert_int_equal(agent("{\"name\":\" Front desk \","
                           "\"systemPrompt\":\"You are a receptionist.\\n"
                           "\\tBe brief.\",\"voice\":\"Kore\","
                           "\"greeting\":\"Hello!\",\"language\":\"pt-br\","
                           "\"tools\":[\"score_lead\",\"end_call\"],"
                           "\"idleTimeoutSec\":300}", 0, &a, &err),
                     ORBIS_OK);
    assert_string_equal(a.name, "Front desk");
    assert_string_equal(a.system_prompt,
                        "You are a receptionist.\n\tBe brief.");
    assert_string_equal(a.voice, "Kore");
    assert_string_equal(a.greeting, "Hello!");
    assert_string_equal(a.language, "pt-BR");
    assert_int_equal(a.n_tools, 2);
    assert_string_equal(a.tools[0], "score_lead");
    assert_string_equal(a.tools[1], "end_call");
    assert_int_equal(a.idle_timeout_sec, 300);
    assert_int_equal(a.present, ORBIS_AGENT_NAME | ORBIS_AGENT_SYSTEM_PROMPT
                                | ORBIS_AGENT_VOICE | ORBIS_AGENT_GREETING
                                | ORBIS_AGENT_LANGUAGE | ORBIS_AGENT_TOOLS
                                | ORBIS_AGENT_IDLE_TIMEOUT);
    orbis_req_agent_free(&a);
    assert_null(a.tools);

    /* the language defaults, without claiming it was sent */
    assert_int_equal(agent("{\"name\":\"A\",\"systemPrompt\":\"P\","
                           "\"voice\":\"Zephyr\"}", 0, &a, &err),
                     ORBIS_OK);
    assert_string_equal(a.language, "en-US");
    assert_int_equal(a.present, ORBIS_AGENT_NAME | ORBIS_AGENT_SYSTEM_PROMPT
                                | ORBIS_AGENT_VOICE);
    assert_null(a.greeting);
    assert_null(a.tools);
    assert_int_equal(a.idle_timeout_sec, 0);
    orbis_req_agent_free(&a);

    expect_agent_error("{\"systemPrompt\":\"P\",\"voice\":\"Kore\"}", 0,
                       ORBIS_ERR_INVALID, "name: is required");
    expect_agent_error("{\"name\":\"A\",\"voice\":\"Kore\"}", 0,
                       ORBIS_ERR_INVALID, "systemPrompt: is required");
    expect_agent_error("{\"name\":\"A\",\"systemPrompt\":\"P\"}", 0,
                       ORBIS_ERR_INVALID, "voice: is required");
    expect_agent_error("{\"name\":\"A\",\"systemPrompt\":\" \\n \","
                       "\"voice\":\"Kore\"}", 0,
                       ORBIS_ERR_INVALID, "systemPrompt: must not be empty");
    expect_agent_error("{\"name\":\"A\",\"systemPrompt\":\"P\","
                       "\"voice\":\"Kore\",\"model\":\"x\"}", 0,
                       ORBIS_ERR_INVALID, "body: unknown field \"model\"");
}


static void
test_agent_voice_message(void **state)
{
    size_t             n;
    orbis_err_t        err;
    orbis_req_agent_t  a;

    (void) state;

    assert_int_equal(agent("{\"name\":\"A\",\"systemPrompt\":\"P\","
                           "\"voice\":\"Bob\"}", 0, &a, &err),
                     ORBIS_ERR_INVALID);

    n = strlen(err.msg);
    assert_true(n < sizeof(err.msg));
    assert_int_equal(strncmp(err.msg, "voice: unknown voice \"Bob\"; one of "
                             "Achernar, Achird, Algenib, ", 61), 0);
    assert_string_equal(err.msg + n - 5, ", ...");

    /* names are case-sensitive; odd input is not echoed */
    expect_agent_error("{\"name\":\"A\",\"systemPrompt\":\"P\","
                       "\"voice\":\"kore\"}", 0, ORBIS_ERR_INVALID, NULL);
    assert_int_equal(agent("{\"voice\":\"Ko\\\"re\"}", 1, &a, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(strncmp(err.msg, "voice: unknown voice; one of ", 29),
                     0);
}


static void
test_agent_field_limits(void **state)
{
    char               *json;
    orbis_err_t         err;
    orbis_req_agent_t   a;

    (void) state;

    json = repeat("{\"systemPrompt\":\"", "p", ORBIS_PROMPT_MAX, "\"}");
    assert_int_equal(agent(json, 1, &a, &err), ORBIS_OK);
    assert_int_equal(strlen(a.system_prompt), ORBIS_PROMPT_MAX);
    orbis_req_agent_free(&a);
    free(json);

    json = repeat("{\"systemPrompt\":\"", "p", ORBIS_PROMPT_MAX + 1, "\"}");
    expect_agent_error(json, 1, ORBIS_ERR_RANGE,
                       "systemPrompt: must be at most 20000 bytes");
    free(json);

    json = repeat("{\"greeting\":\"", "g", ORBIS_GREETING_MAX + 1, "\"}");
    expect_agent_error(json, 1, ORBIS_ERR_RANGE,
                       "greeting: must be at most 500 characters");
    free(json);

    /* a greeting may be cleared */
    assert_int_equal(agent("{\"greeting\":\"\"}", 1, &a, &err), ORBIS_OK);
    assert_int_equal(a.present, ORBIS_AGENT_GREETING);
    assert_string_equal(a.greeting, "");
    orbis_req_agent_free(&a);

    expect_agent_error("{\"language\":\"english\"}", 1, ORBIS_ERR_INVALID,
                       "language: must be a language tag such as en-US");
    expect_agent_error("{\"idleTimeoutSec\":29}", 1, ORBIS_ERR_RANGE,
                       "idleTimeoutSec: must be between 30 and 7200");
    expect_agent_error("{\"idleTimeoutSec\":7201}", 1, ORBIS_ERR_RANGE,
                       "idleTimeoutSec: must be between 30 and 7200");
    expect_agent_error("{\"idleTimeoutSec\":60.0}", 1, ORBIS_ERR_INVALID,
                       "idleTimeoutSec: must be an integer");
    expect_agent_error("{\"idleTimeoutSec\":\"60\"}", 1, ORBIS_ERR_INVALID,
                       "idleTimeoutSec: must be an integer");

    assert_int_equal(agent("{\"idleTimeoutSec\":7200}", 1, &a, &err),
                     ORBIS_OK);
    assert_int_equal(a.idle_timeout_sec, 7200);
    orbis_req_agent_free(&a);
}


static void
test_agent_tools(void **state)
{
    char               *json;
    orbis_err_t         err;
    orbis_req_agent_t   a;

    (void) state;

    expect_agent_error("{\"tools\":[\"score_lead\",\"launch_rocket\"]}", 1,
                       ORBIS_ERR_INVALID,
                       "tools[1]: unknown tool \"launch_rocket\"");
    expect_agent_error("{\"tools\":[\"end_call\",\"end_call\"]}", 1,
                       ORBIS_ERR_INVALID,
                       "tools[1]: duplicate of an earlier item");
    expect_agent_error("{\"tools\":[\"End_Call\"]}", 1, ORBIS_ERR_INVALID,
                       "tools[0]: unknown tool \"End_Call\"");
    expect_agent_error("{\"tools\":{}}", 1, ORBIS_ERR_INVALID,
                       "tools: must be an array");

    json = repeat("{\"tools\":[", "\"end_call\",", ORBIS_TOOLS_MAX,
                  "\"end_call\"]}");
    expect_agent_error(json, 1, ORBIS_ERR_RANGE,
                       "tools: must have at most 32 items");
    free(json);

    /* an empty list clears the tools */
    assert_int_equal(agent("{\"tools\":[]}", 1, &a, &err), ORBIS_OK);
    assert_int_equal(a.present, ORBIS_AGENT_TOOLS);
    assert_int_equal(a.n_tools, 0);
    orbis_req_agent_free(&a);

    /* no known tools: every tool is unknown */
    assert_int_equal(orbis_req_agent_parse("{\"tools\":[\"end_call\"]}", 22,
                                           1, NULL, 3, &a, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "tools[0]: unknown tool \"end_call\"");
}


static void
test_agent_partial(void **state)
{
    orbis_err_t        err;
    orbis_req_agent_t  a;

    (void) state;

    expect_agent_error("{}", 1, ORBIS_ERR_INVALID, "body: nothing to update");

    assert_int_equal(agent("{\"voice\":\"Puck\"}", 1, &a, &err), ORBIS_OK);
    assert_int_equal(a.present, ORBIS_AGENT_VOICE);
    assert_string_equal(a.voice, "Puck");
    assert_null(a.language);
    assert_null(a.name);
    orbis_req_agent_free(&a);

    assert_int_equal(agent("{\"language\":\"ZH-hant-tw\"}", 1, &a, &err),
                     ORBIS_OK);
    assert_int_equal(a.present, ORBIS_AGENT_LANGUAGE);
    assert_string_equal(a.language, "zh-Hant-TW");
    orbis_req_agent_free(&a);

    expect_agent_error("{\"name\":\"\"}", 1, ORBIS_ERR_INVALID,
                       "name: must not be empty");
    expect_agent_error("{\"systemPrompt\":\"\"}", 1, ORBIS_ERR_INVALID,
                       "systemPrompt: must not be empty");
}


static void
test_agent_null(void **state)
{
    orbis_err_t        err;
    orbis_req_agent_t  a;

    (void) state;

    /* update: each optional member back to its default */
    assert_int_equal(agent("{\"greeting\":null}", 1, &a, &err), ORBIS_OK);
    assert_int_equal(a.present, ORBIS_AGENT_GREETING);
    assert_int_equal(a.cleared, ORBIS_AGENT_GREETING);
    assert_string_equal(a.greeting, "");
    orbis_req_agent_free(&a);

    assert_int_equal(agent("{\"language\":null}", 1, &a, &err), ORBIS_OK);
    assert_int_equal(a.present, ORBIS_AGENT_LANGUAGE);
    assert_int_equal(a.cleared, ORBIS_AGENT_LANGUAGE);
    assert_string_equal(a.language, ORBIS_LANGUAGE_DEFAULT);
    orbis_req_agent_free(&a);

    assert_int_equal(agent("{\"tools\":null}", 1, &a, &err), ORBIS_OK);
    assert_int_equal(a.present, ORBIS_AGENT_TOOLS);
    assert_int_equal(a.cleared, ORBIS_AGENT_TOOLS);
    assert_int_equal(a.n_tools, 0);
    orbis_req_agent_free(&a);

    /* no value to hold: only the bit says it */
    assert_int_equal(agent("{\"idleTimeoutSec\":null}", 1, &a, &err),
                     ORBIS_OK);
    assert_int_equal(a.present, 0);
    assert_int_equal(a.cleared, ORBIS_AGENT_IDLE_TIMEOUT);
    assert_int_equal(a.idle_timeout_sec, 0);
    orbis_req_agent_free(&a);
    assert_int_equal(a.cleared, 0);

    assert_int_equal(agent("{\"greeting\":null,\"language\":null,"
                           "\"tools\":null,\"idleTimeoutSec\":null,"
                           "\"voice\":\"Puck\"}", 1, &a, &err),
                     ORBIS_OK);
    assert_int_equal(a.cleared, ORBIS_AGENT_GREETING | ORBIS_AGENT_LANGUAGE
                                | ORBIS_AGENT_TOOLS
                                | ORBIS_AGENT_IDLE_TIMEOUT);
    assert_int_equal(a.present, ORBIS_AGENT_GREETING | ORBIS_AGENT_LANGUAGE
                                | ORBIS_AGENT_TOOLS | ORBIS_AGENT_VOICE);
    orbis_req_agent_free(&a);

    /* the members every agent has: refused, and the message says why */
    expect_agent_error("{\"name\":null}", 1, ORBIS_ERR_INVALID,
                       "name: cannot be null; leave it out to keep the "
                       "current value");
    expect_agent_error("{\"systemPrompt\":null}", 1, ORBIS_ERR_INVALID,
                       "systemPrompt: cannot be null; leave it out to keep "
                       "the current value");
    expect_agent_error("{\"voice\":null,\"greeting\":null}", 1,
                       ORBIS_ERR_INVALID,
                       "voice: cannot be null; leave it out to keep the "
                       "current value");
    expect_agent_error("{\"name\":null,\"systemPrompt\":\"P\","
                       "\"voice\":\"Kore\"}", 0, ORBIS_ERR_INVALID,
                       "name: is required and cannot be null");
    expect_agent_error("{\"name\":\"A\",\"systemPrompt\":\"P\","
                       "\"voice\":null}", 0, ORBIS_ERR_INVALID,
                       "voice: is required and cannot be null");

    /* create: null for an optional member is the default, as if absent */
    assert_int_equal(agent("{\"name\":\"A\",\"systemPrompt\":\"P\","
                           "\"voice\":\"Kore\",\"greeting\":null,"
                           "\"language\":null,\"tools\":null,"
                           "\"idleTimeoutSec\":null}", 0, &a, &err),
                     ORBIS_OK);
    assert_string_equal(a.greeting, "");
    assert_string_equal(a.language, "en-US");
    assert_int_equal(a.n_tools, 0);
    assert_false(a.present & ORBIS_AGENT_IDLE_TIMEOUT);
    orbis_req_agent_free(&a);

    /* a bad value beside a null still fails, leaving nothing behind */
    expect_agent_error("{\"greeting\":null,\"language\":\"english\"}", 1,
                       ORBIS_ERR_INVALID,
                       "language: must be a language tag such as en-US");
}


/* API keys */


static void
test_apikey_create(void **state)
{
    char                *json;
    orbis_err_t          err;
    orbis_req_apikey_t   k;

#define KPARSE(j)  orbis_req_apikey_parse(j, strlen(j), &k, &err)

    (void) state;

    assert_int_equal(KPARSE("{\"name\":\"Widget\",\"kind\":\"publishable\","
                            "\"allowedOrigins\":[\"https://acme.example\"],"
                            "\"agentIds\":[\"0F8FAD5B-D9CB-469F-A165-"
                            "70867728950E\"]}"),
                     ORBIS_OK);
    assert_string_equal(k.name, "Widget");
    assert_int_equal(k.kind, ORBIS_KEY_PUBLISHABLE);
    assert_int_equal(k.present, ORBIS_APIKEY_REQ_NAME
                                | ORBIS_APIKEY_REQ_ORIGINS
                                | ORBIS_APIKEY_REQ_AGENT_IDS);
    assert_string_equal(k.allowed_origins[0], "https://acme.example");
    assert_string_equal(k.agent_ids[0], UUID);
    orbis_req_apikey_free(&k);

    assert_int_equal(KPARSE("{\"name\":\"Server\",\"kind\":\"secret\"}"),
                     ORBIS_OK);
    assert_int_equal(k.kind, ORBIS_KEY_SECRET);
    assert_int_equal(k.present, ORBIS_APIKEY_REQ_NAME);
    assert_null(k.agent_ids);
    orbis_req_apikey_free(&k);

    assert_int_equal(KPARSE("{\"name\":\"S\",\"kind\":\"Secret\"}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "kind: must be \"publishable\" or "
                        "\"secret\"");
    assert_int_equal(KPARSE("{\"name\":\"S\"}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "kind: is required");
    assert_int_equal(KPARSE("{\"kind\":\"secret\"}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "name: is required");

    assert_int_equal(KPARSE("{\"name\":\"S\",\"kind\":\"secret\","
                            "\"agentIds\":[\"" UUID "\",\"not-a-uuid\"]}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "agentIds[1]: must be a UUID");

    assert_int_equal(KPARSE("{\"name\":\"S\",\"kind\":\"secret\","
                            "\"agentIds\":[\"" UUID "\",\""
                            "0F8FAD5B-D9CB-469F-A165-70867728950E\"]}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "agentIds[1]: duplicate of an earlier item");

    json = repeat("{\"name\":\"S\",\"kind\":\"secret\",\"agentIds\":[",
                  "\"" UUID "\",", ORBIS_AGENT_IDS_MAX, "\"" UUID "\"]}");
    assert_int_equal(KPARSE(json), ORBIS_ERR_RANGE);
    assert_string_equal(err.msg, "agentIds: must have at most 100 items");
    free(json);

#undef KPARSE
}


static void
test_apikey_update(void **state)
{
    orbis_err_t         err;
    orbis_req_apikey_t  k;

#define UPARSE(j)  orbis_req_apikey_update_parse(j, strlen(j), &k, &err)

    (void) state;

    assert_int_equal(UPARSE("{\"agentIds\":[]}"), ORBIS_OK);
    assert_int_equal(k.present, ORBIS_APIKEY_REQ_AGENT_IDS);
    assert_null(k.name);
    assert_int_equal(k.n_agent_ids, 0);
    orbis_req_apikey_free(&k);

    assert_int_equal(UPARSE("{\"name\":\" Renamed \",\"allowedOrigins\":"
                            "[\"https://B.example\"]}"), ORBIS_OK);
    assert_int_equal(k.present, ORBIS_APIKEY_REQ_NAME
                                | ORBIS_APIKEY_REQ_ORIGINS);
    assert_string_equal(k.name, "Renamed");
    assert_string_equal(k.allowed_origins[0], "https://b.example");
    orbis_req_apikey_free(&k);

    assert_int_equal(UPARSE("{}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "body: nothing to update; send name, "
                        "allowedOrigins or agentIds");

    assert_int_equal(UPARSE("{\"kind\":\"secret\"}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "kind: cannot be changed; create a new key "
                        "instead");
    assert_null(k.name);

    assert_int_equal(UPARSE("{\"name\":\"\"}"), ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "name: must not be empty");

    assert_int_equal(UPARSE("{\"name\":\"N\",\"agentIds\":[\"x\"]}"),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "agentIds[0]: must be a UUID");
    assert_null(k.name);

#undef UPARSE
}


/* pagination */


static void
test_cursor(void **state)
{
    char         out[ORBIS_CURSOR_MAX], uuid[ORBIS_UUID_LEN + 1];
    char         enc[ORBIS_CURSOR_MAX];
    size_t       i;
    int64_t      us;
    orbis_err_t  err;

    static const char  want[] =
        "MTcwMDAwMDAwMDEyMzQ1NjowZjhmYWQ1Yi1kOWNi"
        "LTQ2OWYtYTE2NS03MDg2NzcyODk1MGU";

    static const char  *bad[] = {
        "17:" UUID ":x", "17" UUID, "017:" UUID, "-1:" UUID, "+1:" UUID,
        ":" UUID, "1 :" UUID, "1:0F8FAD5B-d9cb-469f-a165-70867728950e",
        "1:0f8fad5b-d9cb-469f-a165-70867728950", "1:" UUID "\n",
        "9223372036854775808:" UUID, "abc:" UUID, NULL
    };

    (void) state;

    assert_int_equal(orbis_cursor_encode(1700000000123456LL, UUID, out,
                                         sizeof(out)),
                     ORBIS_OK);
    assert_string_equal(out, want);

    /* the same cursor whatever the case of the id */
    assert_int_equal(orbis_cursor_encode(1700000000123456LL,
                                         "0F8FAD5B-D9CB-469F-A165-"
                                         "70867728950E", out, sizeof(out)),
                     ORBIS_OK);
    assert_string_equal(out, want);

    assert_int_equal(orbis_cursor_decode(want, strlen(want), &us, uuid,
                                         &err),
                     ORBIS_OK);
    assert_int_equal(us, 1700000000123456LL);
    assert_string_equal(uuid, UUID);

    assert_int_equal(orbis_cursor_encode(-1, UUID, out, sizeof(out)),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_cursor_encode(1, "nope", out, sizeof(out)),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_cursor_encode(1, UUID, out, 20),
                     ORBIS_ERR_RANGE);

    /* the extremes */
    assert_int_equal(orbis_cursor_encode(INT64_MAX, UUID, out, sizeof(out)),
                     ORBIS_OK);
    assert_int_equal(orbis_cursor_decode(out, strlen(out), &us, uuid, &err),
                     ORBIS_OK);
    assert_int_equal(us, INT64_MAX);
    assert_int_equal(orbis_cursor_encode(0, UUID, out, sizeof(out)),
                     ORBIS_OK);
    assert_int_equal(orbis_cursor_decode(out, strlen(out), &us, uuid, &err),
                     ORBIS_OK);
    assert_int_equal(us, 0);

    for (i = 0; bad[i] != NULL; i++) {
        assert_int_equal(orbis_base64url_encode((const uint8_t *) bad[i],
                                                strlen(bad[i]), enc,
                                                sizeof(enc), NULL),
                         ORBIS_OK);
        assert_int_equal(orbis_cursor_decode(enc, strlen(enc), &us, uuid,
                                             &err),
                         ORBIS_ERR_INVALID);
        assert_string_equal(err.msg, "cursor: invalid");
    }

    assert_int_equal(orbis_cursor_decode("", 0, &us, uuid, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_cursor_decode("!!!!", 4, &us, uuid, &err),
                     ORBIS_ERR_INVALID);
    /* padding is not part of the format */
    assert_int_equal(orbis_cursor_decode("MTcwMDAwMDAwMDEyMzQ1NjowZjhmYWQ1Yi1"
                                         "kOWNiLTQ2OWYtYTE2NS03MDg2NzcyODk1M"
                                         "GU=", 75, &us, uuid, &err),
                     ORBIS_ERR_INVALID);
}


static void
test_limit(void **state)
{
    size_t       i;
    uint32_t     limit;
    orbis_err_t  err;

    static const char  *invalid[] = {
        "", "abc", "-1", "+5", "01", "1.5", " 5", "5 ", "0x10", NULL
    };
    static const char  *range[] = { "0", "101", "1000", "99999999999", NULL };

    (void) state;

    assert_int_equal(orbis_limit_parse(NULL, 0, &limit, &err), ORBIS_OK);
    assert_int_equal(limit, 20);
    assert_int_equal(orbis_limit_parse("1", 1, &limit, &err), ORBIS_OK);
    assert_int_equal(limit, 1);
    assert_int_equal(orbis_limit_parse("100", 3, &limit, &err), ORBIS_OK);
    assert_int_equal(limit, 100);
    assert_int_equal(orbis_limit_parse("50&x=1", 2, &limit, &err), ORBIS_OK);
    assert_int_equal(limit, 50);

    for (i = 0; invalid[i] != NULL; i++) {
        assert_int_equal(orbis_limit_parse(invalid[i], strlen(invalid[i]),
                                           &limit, &err),
                         ORBIS_ERR_INVALID);
        assert_string_equal(err.msg,
                            "limit: must be an integer between 1 and 100");
    }

    for (i = 0; range[i] != NULL; i++) {
        assert_int_equal(orbis_limit_parse(range[i], strlen(range[i]),
                                           &limit, &err),
                         ORBIS_ERR_RANGE);
    }
}


static orbis_rc_t
signup(const char *json, orbis_req_signup_t *s, orbis_err_t *err)
{
    orbis_rc_t  rc;

    rc = orbis_req_signup_parse(json, strlen(json), s, err);

    if (rc != ORBIS_OK) {
        /* a failed parse leaves nothing behind */
        assert_null(s->email);
        assert_null(s->password);
        assert_null(s->tenant_name);

    } else if (err == NULL) {
        orbis_req_signup_free(s);
    }

    return rc;
}


static orbis_rc_t
agent(const char *json, int partial, orbis_req_agent_t *a, orbis_err_t *err)
{
    return orbis_req_agent_parse(json, strlen(json), partial, known_tools, 3,
                                 a, err);
}


static void
expect_signup_error(const char *json, orbis_rc_t rc, const char *msg)
{
    orbis_err_t         err;
    orbis_req_signup_t  s;

    assert_int_equal(signup(json, &s, &err), rc);
    assert_string_equal(err.msg, msg);
}


static void
expect_agent_error(const char *json, int partial, orbis_rc_t rc,
    const char *msg)
{
    orbis_err_t        err;
    orbis_req_agent_t  a;

    assert_int_equal(agent(json, partial, &a, &err), rc);
    assert_null(a.name);
    assert_null(a.voice);
    assert_null(a.tools);

    if (msg != NULL) {
        assert_string_equal(err.msg, msg);
    }
}


static char *
repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    char    *s, *p;
    size_t   i, ul;

    ul = strlen(unit);
    s = malloc(strlen(prefix) + ul * n + strlen(suffix) + 1);
    assert_non_null(s);

    p = s;
    memcpy(p, prefix, strlen(prefix));
    p += strlen(prefix);

    for (i = 0; i < n; i++) {
        memcpy(p, unit, ul);
        p += ul;
    }

    strcpy(p, suffix);

    return s;
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_email_rules),
        cmocka_unit_test(test_uuid_language_voice),
        cmocka_unit_test(test_signup_good),
        cmocka_unit_test(test_signup_body_errors),
        cmocka_unit_test(test_signup_field_errors),
        cmocka_unit_test(test_signup_referral_alphabet),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_tenant_update),
        cmocka_unit_test(test_agent_create),
        cmocka_unit_test(test_agent_voice_message),
        cmocka_unit_test(test_agent_field_limits),
        cmocka_unit_test(test_agent_tools),
        cmocka_unit_test(test_agent_partial),
        cmocka_unit_test(test_agent_null),
        cmocka_unit_test(test_apikey_create),
        cmocka_unit_test(test_apikey_update),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_limit),
    };

    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
