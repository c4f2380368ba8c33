/*
 * Copyright (C) Orbis
 *
 * Allocation-failure ("chaos") test, in the manner of jansson's
 * test/suites/api/test_chaos.c and hiredis's allocator tests.
 *
 * Every scenario below runs one representative operation of an area again
 * and again: in run N the N-th allocation made through liborbiscore's
 * allocator (orbis_set_allocators(), which Jansson uses too) fails, until
 * a run completes without reaching its N-th allocation.  Each run must:
 *
 *  - not crash (the test is built with -fsanitize=address,undefined);
 *  - end in success or in one of the scenario's accepted error codes
 *    (ORBIS_ERR_NOMEM unless the table says otherwise), with a message;
 *  - free everything it allocated: live allocations are counted through
 *    the hooks and must be zero after each run, and LeakSanitizer checks
 *    the whole process (libraries that allocate with libc too, such as
 *    OpenSSL, wslay and speexdsp) after each scenario.
 *
 * One known exception: Jansson 2.14's parser ignores a failed growth of its
 * token buffer (akheron/jansson issue 362: lex_save() drops the error of
 * strbuffer_append_byte()) and then reads past the buffer.  That cannot be
 * fixed here, so allocations that Jansson itself makes of a power-of-two
 * size of 32 bytes or more (its string buffers grow that way) are not
 * failed; every other allocation is.
 *
 * Adding an area: write a function "static int chaos_<area>(void)" that
 * sets up what the operation needs with chaos_arm(0) (no failures), arms
 * failures with chaos_arm(1) around the operation, frees everything and
 * returns ORBIS_OK or the operation's error code; then add one line to the
 * scenarios[] table at the end of the file.
 */


#define _GNU_SOURCE             /* dladdr() */

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/alloc.h>
#include <orbiscore/audio.h>
#include <orbiscore/auth.h>
#include <orbiscore/client.h>
#include <orbiscore/gemini.h>
#include <orbiscore/ratelimit.h>
#include <orbiscore/session.h>
#include <orbiscore/tenants.h>
#include <orbiscore/tools.h>
#include <orbiscore/validate.h>
#include <orbiscore/ws.h>

#if defined(__has_include)
#if __has_include(<sanitizer/lsan_interface.h>)
#include <sanitizer/lsan_interface.h>
#define CHAOS_LSAN  1
#endif
#endif


#define CHAOS_MAX_RUNS  200000

/* accepted error codes, as a bit mask of (1 << orbis_rc_t) */
#define CHAOS_NOMEM     (1u << ORBIS_ERR_NOMEM)
#define CHAOS_INVALID   (1u << ORBIS_ERR_INVALID)
#define CHAOS_INTERNAL  (1u << ORBIS_ERR_INTERNAL)
#define CHAOS_AUTH      (1u << ORBIS_ERR_AUTH)
#define CHAOS_PROTOCOL  (1u << ORBIS_ERR_PROTOCOL)

/*
 * Jansson's parser reports most failed allocations as syntax errors
 * ("string or '}' expected"), so what parses JSON may also answer with
 * its documented refusal: ORBIS_ERR_INVALID (a request body, a tool
 * schema), ORBIS_ERR_AUTH for a token, ORBIS_ERR_PROTOCOL for a model's
 * message.  All fail closed.
 */
#define CHAOS_PARSE     (CHAOS_NOMEM | CHAOS_INVALID | CHAOS_AUTH)

/* a browser message refused so is answered with "bad_message" */


typedef struct {
    const char  *name;
    int        (*run)(void);
    unsigned     accept;        /* error codes a failed run may return */
} chaos_scenario_t;


/* the allocator hooks */

static int       chaos_armed;
static unsigned  chaos_count;       /* armed allocations in this run */
static unsigned  chaos_fail_at;     /* 0: none fails */
static unsigned  chaos_failed;      /* failures injected in this run */
static unsigned  chaos_exempted;    /* Jansson buffers not failed */
static long      chaos_live;        /* allocations not yet freed */
static char      chaos_msg[ORBIS_ERR_MSG_LEN];  /* the last error's */


static const void  *chaos_jansson;    /* where libjansson is loaded */


/* see the top of the file: Jansson's own string buffers */
static int
chaos_exempt(const void *caller, size_t size)
{
    Dl_info  info;

    if (size < 32 || (size & (size - 1)) != 0) {
        return 0;
    }

    if (chaos_jansson == NULL) {
        if (dladdr((const void *) json_loadb, &info) == 0) {
            return 0;
        }

        chaos_jansson = info.dli_fbase;
    }

    return dladdr(caller, &info) != 0 && info.dli_fbase == chaos_jansson;
}


static int
chaos_fail_now(const void *caller, size_t size)
{
    if (!chaos_armed) {
        return 0;
    }

    if (chaos_exempt(caller, size)) {
        chaos_exempted++;
        return 0;
    }

    if (++chaos_count == chaos_fail_at) {
        chaos_failed++;
        return 1;
    }

    return 0;
}


static void *
chaos_malloc(size_t size)
{
    void  *p;

    if (chaos_fail_now(__builtin_return_address(0), size)) {
        return NULL;
    }

    p = malloc(size);
    chaos_live += (p != NULL);

    return p;
}


static void *
chaos_calloc(size_t n, size_t size)
{
    void  *p;

    if (chaos_fail_now(NULL, 0)) {
        return NULL;
    }

    p = calloc(n, size);
    chaos_live += (p != NULL);

    return p;
}


static void *
chaos_realloc(void *old, size_t size)
{
    void  *p;

    if (chaos_fail_now(NULL, 0)) {
        return NULL;
    }

    p = realloc(old, size);
    chaos_live += (old == NULL && p != NULL);

    return p;
}


static void
chaos_free(void *p)
{
    chaos_live -= (p != NULL);
    free(p);
}


static const orbis_allocators_t  chaos_allocators = {
    chaos_malloc, chaos_calloc, chaos_realloc, chaos_free
};


static void
chaos_arm(int on)
{
    chaos_armed = on;
}


/* the driver */

static int
chaos_setup(void **state)
{
    (void) state;

    (void) orbis_set_allocators(&chaos_allocators);

    return 0;
}


static int
chaos_teardown(void **state)
{
    (void) state;

    (void) orbis_set_allocators(NULL);

    return 0;
}


static void
chaos_drive(void **state)
{
    int                      rc;
    unsigned                 n, exempt;
    const chaos_scenario_t  *sc = *state;

    /* the run without failures first: it must succeed */
    chaos_fail_at = 0;
    chaos_count = 0;
    chaos_failed = 0;
    chaos_exempted = 0;
    chaos_live = 0;
    chaos_msg[0] = '\0';

    rc = sc->run();
    chaos_arm(0);
    exempt = chaos_exempted;

    if (rc != ORBIS_OK) {
        fail_msg("%s: fails without injected failures (rc %d: %s)",
                 sc->name, rc, chaos_msg);
    }

    if (chaos_live != 0) {
        fail_msg("%s: %ld allocations not freed", sc->name, chaos_live);
    }

    for (n = 1; n < CHAOS_MAX_RUNS; n++) {
        chaos_fail_at = n;
        chaos_count = 0;
        chaos_failed = 0;
        chaos_live = 0;

        rc = sc->run();
        chaos_arm(0);

        if (chaos_live != 0) {
            fail_msg("%s: allocation %u failing: %ld allocations not freed",
                     sc->name, n, chaos_live);
        }

        if (chaos_failed == 0) {
            if (rc != ORBIS_OK) {
                fail_msg("%s: run %u without a failure gives rc %d",
                         sc->name, n, rc);
            }

            break;
        }

        if (rc != ORBIS_OK && (rc < 0 || rc > 30
                               || !((1u << rc) & sc->accept)))
        {
            fail_msg("%s: allocation %u failing gives rc %d (%s), not an "
                     "accepted error", sc->name, n, rc, chaos_msg);
        }
    }

    /* pure areas (API keys, rate limits) allocate nothing at all */
    print_message("%s: %u allocations, each failed once (%u of Jansson's "
                  "string buffers not failed)\n", sc->name, n - 1, exempt);

#if defined(CHAOS_LSAN)
    if (__lsan_do_recoverable_leak_check() != 0) {
        fail_msg("%s: LeakSanitizer found leaks", sc->name);
    }
#endif
}


/* an operation's error must come with its code and a message */
static int
chaos_rc(orbis_rc_t rc, const orbis_err_t *err)
{
    if (rc != ORBIS_OK && (err->code != rc || err->msg[0] == '\0')) {
        fail_msg("rc %d with err {%d, \"%s\"}", rc, err->code, err->msg);
    }

    if (rc != ORBIS_OK) {
        memcpy(chaos_msg, err->msg, sizeof(chaos_msg));
    }

    return rc;
}


/* auth */

static const uint8_t  jwt_secret[] = "chaos-secret-0123456789abcdefghijklm";


static int
chaos_jwt(void)
{
    char                token[ORBIS_JWT_MAX_LEN];
    orbis_rc_t          rc;
    orbis_err_t         err;
    orbis_jwt_claims_t  c, v;

    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "0123abcd-0000-4000-8000-00000000abcd");
    strcpy(c.tid, "0123abcd-0000-4000-8000-00000000dcba");
    strcpy(c.role, "owner");
    strcpy(c.jti, "abcdefghijklmnopqrstuv");
    c.iat = 1700000000;
    c.exp = c.iat + 3600;

    chaos_arm(1);

    rc = orbis_jwt_sign(&c, jwt_secret, sizeof(jwt_secret) - 1, token,
                        sizeof(token), &err);
    if (rc != ORBIS_OK) {
        return chaos_rc(rc, &err);
    }

    rc = orbis_jwt_verify(token, strlen(token), jwt_secret,
                          sizeof(jwt_secret) - 1, c.iat + 10, &v, &err);
    if (rc != ORBIS_OK) {
        return chaos_rc(rc, &err);
    }

    assert_string_equal(v.sub, c.sub);
    assert_string_equal(v.jti, c.jti);

    return ORBIS_OK;
}


static int
chaos_password(void)
{
    char                      hash[ORBIS_PASSWORD_HASH_SIZE];
    uint8_t                   salt[ORBIS_PASSWORD_SALT_LEN];
    orbis_rc_t                rc;
    orbis_err_t               err;
    orbis_password_params_t   p = { 4, 1, 1 };

    memset(salt, 7, sizeof(salt));

    chaos_arm(1);

    rc = orbis_password_check_rules("correct horse battery", 21, &err);
    if (rc == ORBIS_OK) {
        rc = orbis_password_hash_params("correct horse battery", 21, salt, &p,
                                        hash, sizeof(hash), &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_password_verify("correct horse battery", 21, hash, &err);
    }

    return rc == ORBIS_OK ? ORBIS_OK : chaos_rc(rc, &err);
}


static int
chaos_apikey(void)
{
    char                 key[ORBIS_APIKEY_LEN + 1];
    char                 hash[ORBIS_APIKEY_HASH_LEN + 1];
    char                 prefix[16], last4[5];
    uint8_t              rnd[ORBIS_APIKEY_RANDOM_LEN];
    orbis_rc_t           rc;
    orbis_err_t          err;
    orbis_apikey_kind_t  kind;

    memset(rnd, 3, sizeof(rnd));

    chaos_arm(1);

    rc = orbis_apikey_generate(ORBIS_KEY_PUBLISHABLE, rnd, key, sizeof(key));
    if (rc == ORBIS_OK) {
        rc = orbis_apikey_parse(key, strlen(key), &kind, &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_apikey_hash(key, strlen(key), hash);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_apikey_display(key, strlen(key), prefix, last4);
    }

    return rc;
}


/* ratelimit */

static int
chaos_ratelimit(void)
{
    int64_t               tat;
    orbis_gcra_result_t   res;

    tat = 0;

    chaos_arm(1);

    if (orbis_gcra_check(&tat, 1000, 10, 1000, 5, &res) != ORBIS_OK) {
        return ORBIS_ERR_INTERNAL;
    }

    assert_non_null(orbis_ratelimit_lua());

    return ORBIS_OK;
}


/* validate: every request body parser */

static const char *const  known_tools[] = {
    "score_lead", "generate_tone", "end_call"
};


static int
chaos_validate(void)
{
    orbis_rc_t                  rc;
    orbis_err_t                 err;
    orbis_req_agent_t           ag;
    orbis_req_login_t           lg;
    orbis_req_apikey_t          ak;
    orbis_req_signup_t          su;
    orbis_req_tenant_update_t   tu;

    static const char  signup[] =
        "{\"email\":\" Ann@Example.com \",\"password\":\"correct horse "
        "battery\",\"tenantName\":\"Acme\",\"name\":\"Ann\","
        "\"referralCode\":\"abcd\"}";
    static const char  login[] =
        "{\"email\":\"ann@example.com\",\"password\":\"x\"}";
    static const char  tenant[] =
        "{\"name\":\"Acme\",\"billingEmail\":\"B@acme.example\","
        "\"allowedOrigins\":[\"https://a.example\",\"https://b.example/\"]}";
    static const char  agent[] =
        "{\"name\":\"Front\",\"systemPrompt\":\"You are nice\","
        "\"voice\":\"Kore\",\"greeting\":\"Hi\",\"language\":\"en-us\","
        "\"tools\":[\"score_lead\",\"end_call\"],\"idleTimeoutSec\":300}";
    static const char  agent_upd[] = "{\"greeting\":null,\"tools\":[]}";
    static const char  key[] =
        "{\"name\":\"widget\",\"kind\":\"publishable\","
        "\"allowedOrigins\":[\"https://a.example\"],"
        "\"agentIds\":[\"0123abcd-0000-4000-8000-00000000abcd\"]}";
    static const char  key_upd[] =
        "{\"allowedOrigins\":[\"https://c.example\"],\"agentIds\":[]}";

    chaos_arm(1);

    rc = orbis_req_signup_parse(signup, sizeof(signup) - 1, &su, &err);
    orbis_req_signup_free(&su);

    if (rc == ORBIS_OK) {
        rc = orbis_req_login_parse(login, sizeof(login) - 1, &lg, &err);
        orbis_req_login_free(&lg);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_req_tenant_update_parse(tenant, sizeof(tenant) - 1, &tu,
                                           &err);
        orbis_req_tenant_update_free(&tu);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_req_agent_parse(agent, sizeof(agent) - 1, 0, known_tools,
                                   3, &ag, &err);
        orbis_req_agent_free(&ag);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_req_agent_parse(agent_upd, sizeof(agent_upd) - 1, 1,
                                   known_tools, 3, &ag, &err);
        orbis_req_agent_free(&ag);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_req_apikey_parse(key, sizeof(key) - 1, &ak, &err);
        orbis_req_apikey_free(&ak);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_req_apikey_update_parse(key_upd, sizeof(key_upd) - 1, &ak,
                                           &err);
        orbis_req_apikey_free(&ak);
    }

    return rc == ORBIS_OK ? ORBIS_OK : chaos_rc(rc, &err);
}


/* tenants file */

static int
chaos_tenants(void)
{
    unsigned          line;
    orbis_rc_t        rc;
    orbis_err_t       err;
    orbis_tenants_t  *t;

    static const char  file[] =
        "tenant acme-dental {\n"
        "    name \"Acme Dental\";\n"
        "    plan pro;\n"
        "    billing_email Ops@Acme.Example;\n"
        "    allowed_origins https://acme.example HTTPS://WWW.Acme.Example/;\n"
        "    api_key widget {\n"
        "        kind publishable;\n"
        "        hash 0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef;\n"
        "        prefix pk_AAEC;  last4 FRYX;\n"
        "        agents receptionist after-hours;\n"
        "        allowed_origins https://acme.example;\n"
        "    }\n"
        "    agent receptionist {\n"
        "        name \"Front desk\"; voice Kore; language en-us;\n"
        "        greeting \"Hello.\"; prompt \"You are \\\"nice\\\".\";\n"
        "        tools score_lead generate_tone; idle_timeout 300;\n"
        "    }\n"
        "    agent after-hours { name Night; voice Puck;\n"
        "        prompt_file \"prompts/night.txt\"; }\n"
        "}\n"
        "tenant solo { name Solo; }\n";

    t = NULL;

    chaos_arm(1);

    rc = orbis_tenants_parse(file, sizeof(file) - 1, known_tools, 3, &t,
                             &line, &err);
    if (rc != ORBIS_OK) {
        assert_null(t);
        return chaos_rc(rc, &err);
    }

    assert_int_equal(t->n_tenants, 2);
    assert_non_null(orbis_tenants_find(t, "solo"));
    orbis_tenants_free(t);

    return ORBIS_OK;
}


/*
 * Refusals late in the input, after much was allocated: the expected
 * refusal counts as success, so that failures are injected all along the
 * path that frees a half-built result.
 */
static int
chaos_refusals(void)
{
    unsigned                    line;
    orbis_rc_t                  rc;
    orbis_err_t                 err;
    orbis_tenants_t            *t;
    orbis_req_agent_t           ag;
    orbis_req_apikey_t          ak;
    orbis_req_tenant_update_t   tu;

    static const char  file[] =
        "tenant a { name A; agent x { name X; voice Kore; prompt \"p\";\n"
        "  tools score_lead; } api_key k { kind secret; hash "
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef; "
        "agents x; } }\n"
        "tenant b { name B; agent y { name Y; voice Puck; prompt \"q\";\n"
        "  tools launch_rocket; } }\n";
    static const char  agent[] =
        "{\"name\":\"Front\",\"systemPrompt\":\"You are nice\","
        "\"voice\":\"Kore\",\"tools\":[\"score_lead\",\"end_call\","
        "\"launch_rocket\"]}";
    static const char  key[] =
        "{\"name\":\"widget\",\"kind\":\"publishable\","
        "\"allowedOrigins\":[\"https://a.example\",\"https://b.example\","
        "\"ftp://c.example\"]}";
    static const char  tenant[] =
        "{\"name\":\"Acme\",\"allowedOrigins\":[\"https://a.example\","
        "\"https://a.example\"],\"billingEmail\":\"nope\"}";

    t = NULL;

    chaos_arm(1);

    rc = orbis_tenants_parse(file, sizeof(file) - 1, known_tools, 3, &t,
                             &line, &err);
    assert_null(t);

    if (rc == ORBIS_ERR_INVALID) {
        /* (a failed allocation may also have been refused as bad input) */
        if (chaos_failed == 0
            && (line != 4 || strstr(err.msg, "launch_rocket") == NULL))
        {
            fail_msg("tenants: line %u: %s", line, err.msg);
        }

        rc = orbis_req_agent_parse(agent, sizeof(agent) - 1, 0,
                                   known_tools, 3, &ag, &err);
        orbis_req_agent_free(&ag);
    }

    if (rc == ORBIS_ERR_INVALID) {
        if (chaos_failed == 0 && strstr(err.msg, "launch_rocket") == NULL) {
            fail_msg("agent: %s", err.msg);
        }

        rc = orbis_req_apikey_parse(key, sizeof(key) - 1, &ak, &err);
        orbis_req_apikey_free(&ak);
    }

    if (rc == ORBIS_ERR_INVALID) {
        rc = orbis_req_tenant_update_parse(tenant, sizeof(tenant) - 1, &tu,
                                           &err);
        orbis_req_tenant_update_free(&tu);
    }

    if (rc == ORBIS_ERR_INVALID) {
        return ORBIS_OK;
    }

    return rc == ORBIS_OK ? ORBIS_ERR_INTERNAL : chaos_rc(rc, &err);
}


/* tools: the registry, declarations, and calls of the built-in tools */

static int
chaos_tool_lookup(const orbis_tool_t *tool, const json_t *args,
    orbis_tool_ctx_t *ctx, json_t **result, orbis_err_t *err)
{
    *result = json_pack("{s:s, s:O}", "status", "shipped", "order",
                        json_object_get(args, "order"));
    if (*result == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return ORBIS_TOOL_ERROR;
    }

    return ORBIS_TOOL_DONE;
}


static int
chaos_tool_slow(const orbis_tool_t *tool, const json_t *args,
    orbis_tool_ctx_t *ctx, json_t **result, orbis_err_t *err)
{
    return ORBIS_TOOL_PENDING;
}


/* a pending call finished by complete (0), fail (1), timeout or cancel */
static int
chaos_tool_pending(orbis_tools_t *tools, orbis_tool_ctx_conf_t *conf,
    int how)
{
    json_t            *res;
    orbis_rc_t         rc;
    orbis_err_t        err;
    orbis_tool_ctx_t  *ctx;

    ctx = orbis_tool_ctx_new(conf, &err);
    if (ctx == NULL) {
        return chaos_rc(err.code, &err);
    }

    res = NULL;
    rc = ORBIS_OK;

    if (orbis_tools_call(tools, ctx, "slow", NULL, 5, &res)
        != ORBIS_TOOL_PENDING)
    {
        rc = orbis_tool_ctx_audit(ctx)->error_code;
        if (rc == ORBIS_OK) {
            rc = ORBIS_ERR_INTERNAL;
        }

        json_decref(res);
        orbis_tool_ctx_release(ctx);
        return rc;
    }

    switch (how) {
    case 0:
        rc = orbis_tool_complete(ctx, json_pack("{s:s}", "ok", "yes"), 10);
        break;
    case 1:
        rc = orbis_tool_fail(ctx, ORBIS_ERR_INTERNAL, "backend down", 10);
        break;
    case 2:
        res = orbis_tool_timeout(ctx, 10);
        rc = res != NULL ? ORBIS_OK : ORBIS_ERR_NOMEM;
        json_decref(res);
        break;
    default:
        rc = orbis_tool_cancel(ctx, 10);
        break;
    }

    json_decref(orbis_tool_audit_json(orbis_tool_ctx_audit(ctx)));
    orbis_tool_ctx_release(ctx);

    return rc;
}


static int
chaos_tool_call(orbis_tools_t *tools, orbis_tool_ctx_conf_t *conf,
    const char *name, const json_t *args)
{
    size_t             n;
    json_t            *res;
    int16_t           *pcm;
    uint32_t           rate;
    orbis_rc_t         rc;
    orbis_err_t        err;
    orbis_tool_rc_t    trc;
    orbis_tool_ctx_t  *ctx;

    ctx = orbis_tool_ctx_new(conf, &err);
    if (ctx == NULL) {
        return chaos_rc(err.code, &err);
    }

    res = NULL;
    trc = orbis_tools_call(tools, ctx, name, args, 5, &res);

    rc = ORBIS_OK;

    /* a failed allocation is an error result for the model */
    if (trc == ORBIS_TOOL_ERROR) {
        rc = orbis_tool_ctx_audit(ctx)->error_code;
        if (rc == ORBIS_OK) {
            rc = ORBIS_ERR_INTERNAL;
        }

        snprintf(chaos_msg, sizeof(chaos_msg), "%s",
                 json_string_value(json_object_get(res, "error")) != NULL
                 ? json_string_value(json_object_get(res, "error"))
                 : "(no error text)");

    } else if (trc != ORBIS_TOOL_DONE || res == NULL) {
        rc = ORBIS_ERR_INTERNAL;
    }

    json_decref(res);

    if (orbis_tool_ctx_take_audio(ctx, &pcm, &n, &rate)) {
        orbis_free(pcm);
    }

    json_decref(orbis_tool_audit_json(orbis_tool_ctx_audit(ctx)));
    orbis_tool_ctx_release(ctx);

    return rc;
}

static int
chaos_tools(void)
{
    int             i;
    json_t         *tone, *lead, *order, *decl;
    orbis_rc_t      rc;
    orbis_err_t     err;
    orbis_tool_t    def;
    orbis_tools_t  *tools;

    orbis_tool_ctx_conf_t  conf = { "function-call-1", "tenant-1", 8000,
                                    NULL, NULL, NULL };
    const char            *names[] = { "score_lead", "generate_tone",
                                       "lookup" };

    chaos_arm(0);
    tone = json_pack("{s:s, s:i}", "digits", "12#", "toneMs", 40);
    lead = json_pack("{s:s, s:i, s:s, s:b}", "name", "Ann", "budget", 5000,
                     "need", "a demo", "decisionMaker", 1);
    order = json_pack("{s:s}", "order", "A-17");
    assert_non_null(tone);
    assert_non_null(lead);
    assert_non_null(order);

    chaos_arm(1);

    decl = NULL;

    tools = orbis_tools_new();
    rc = tools != NULL ? ORBIS_OK : ORBIS_ERR_NOMEM;

    if (rc == ORBIS_OK) {
        rc = chaos_rc(orbis_tools_register_builtin(tools, &err), &err);
    }

    if (rc == ORBIS_OK) {
        memset(&def, 0, sizeof(def));
        def.name = "lookup";
        def.description = "Look an order up";
        def.parameters = "{\"type\":\"object\",\"properties\":{\"order\":"
                         "{\"type\":\"string\"}},\"required\":[\"order\"]}";
        def.timeout_ms = 5000;
        def.run = chaos_tool_lookup;
        rc = chaos_rc(orbis_tools_register(tools, &def, &err), &err);
    }

    if (rc == ORBIS_OK) {
        decl = orbis_tools_declarations(tools, names, 3, &err);
        rc = decl != NULL ? ORBIS_OK : chaos_rc(err.code, &err);
    }

    if (rc == ORBIS_OK) {
        rc = chaos_tool_call(tools, &conf, "generate_tone", tone);
    }

    if (rc == ORBIS_OK) {
        rc = chaos_tool_call(tools, &conf, "score_lead", lead);
    }

    if (rc == ORBIS_OK) {
        rc = chaos_tool_call(tools, &conf, "lookup", order);
    }

    if (rc == ORBIS_OK) {
        memset(&def, 0, sizeof(def));
        def.name = "slow";
        def.description = "Answers later";
        def.run = chaos_tool_slow;
        rc = chaos_rc(orbis_tools_register(tools, &def, &err), &err);
    }

    for (i = 0; rc == ORBIS_OK && i < 4; i++) {
        rc = chaos_tool_pending(tools, &conf, i);
    }

    chaos_arm(0);

    json_decref(decl);
    json_decref(tone);
    json_decref(lead);
    json_decref(order);
    orbis_tools_free(tools);

    return rc;
}


/* WebSocket codec: a server endpoint echoes a message, fragmented */

static void
chaos_ws_echo(void *ud, orbis_ws_opcode_t opcode, const uint8_t *data,
    size_t len)
{
    orbis_ws_t  **ws = ud;

    (void) orbis_ws_send(*ws, opcode, data, len);
}


static int
chaos_ws(void)
{
    size_t              out;
    orbis_rc_t          rc;
    orbis_ws_t         *ws;
    const uint8_t      *p;
    orbis_ws_config_t   cfg = { 0 };

    /* "hel" (not final), a ping, "lo" (final), masked */
    static const uint8_t  in[] = {
        0x01, 0x83, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3,
        0x89, 0x81, 9, 9, 9, 9, 'p' ^ 9,
        0x80, 0x82, 5, 6, 7, 8, 'l' ^ 5, 'o' ^ 6,
        0x82, 0x84, 0, 0, 0, 0, 1, 2, 3, 4
    };

    cfg.on_message = chaos_ws_echo;
    cfg.userdata = &ws;

    chaos_arm(1);

    ws = orbis_ws_new(ORBIS_WS_SERVER, &cfg, NULL);
    if (ws == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    rc = orbis_ws_feed(ws, in, 9);

    if (rc == ORBIS_OK) {
        rc = orbis_ws_feed(ws, in + 9, sizeof(in) - 9);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_ws_send_ping(ws, (const uint8_t *) "x", 1);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_ws_send(ws, ORBIS_WS_TEXT, (const uint8_t *) "bye", 3);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_ws_send_close(ws, 1000, "done", 4);
    }

    orbis_ws_pending_output(ws, &p, &out);
    orbis_ws_consume_output(ws, out);

    orbis_ws_free(ws);

    return rc;
}


static int
chaos_ws_random(void *ud, uint8_t *buf, size_t len)
{
    memset(buf, 0x5a, len);

    return 0;
}


/* the client role (to Gemini): masked sends, unmasked frames received */
static int
chaos_ws_client(void)
{
    size_t              out;
    orbis_rc_t          rc;
    orbis_ws_t         *ws;
    const uint8_t      *p;
    orbis_ws_config_t   cfg = { 0 };

    static const uint8_t  in[] = {
        0x01, 0x02, '{', '"', 0x80, 0x01, '}',
        0x88, 0x02, 0x03, 0xe8
    };

    cfg.random = chaos_ws_random;

    chaos_arm(1);

    ws = orbis_ws_new(ORBIS_WS_CLIENT, &cfg, NULL);
    if (ws == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    rc = orbis_ws_send(ws, ORBIS_WS_TEXT, (const uint8_t *) "{\"setup\":{}}",
                       12);

    if (rc == ORBIS_OK) {
        rc = orbis_ws_send(ws, ORBIS_WS_BINARY, in, sizeof(in));
    }

    if (rc == ORBIS_OK) {
        rc = orbis_ws_feed(ws, in, sizeof(in));
    }

    orbis_ws_pending_output(ws, &p, &out);
    orbis_ws_consume_output(ws, out);

    orbis_ws_free(ws);

    return rc;
}


/* Gemini: build every message, parse every kind */


/* the concierge's one tool: its declarations and a result to answer with */
static void
chaos_concierge_tool(json_t **declarations, json_t **result)
{
    *declarations = json_pack("[{s:s,s:s}]", "name", "open_gate",
                              "description", "Gate");
    *result = json_pack("{s:s}", "result", "opened");
    assert_non_null(*declarations);
    assert_non_null(*result);
}


/* the agent both Gemini scenarios set up: a concierge with one tool */
static void
chaos_gemini_setup(orbis_gemini_setup_t *g, json_t *declarations)
{
    memset(g, 0, sizeof(*g));
    g->model = "gemini-2.5-flash";
    g->system_prompt = "You are a concierge.";
    g->voice = "Kore";
    g->language = "en-US";
    g->function_declarations = declarations;
    g->input_transcription = 1;
    g->output_transcription = 1;
}

static int
chaos_gemini(void)
{
    char                         *setup;
    size_t                        len, i;
    json_t                       *fd, *resp;
    uint8_t                       pcm[640];
    orbis_rc_t                    rc;
    orbis_err_t                   err;
    orbis_strbuf_t                b;
    orbis_gemini_msg_t            m;
    orbis_gemini_setup_t          s;
    orbis_gemini_fn_response_t    r;

    static const char *const  msgs[] = {
        "{\"setupComplete\":{}}",
        "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"
        "{\"mimeType\":\"audio/pcm;rate=24000\",\"data\":\"AAEAAQABAAE=\"}}]}"
        "}}",
        "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"
        "{\"mimeType\":\"audio/pcm\",\"data\":\"AAEAAQ==\"}},{\"text\":\"hi\"}"
        ",{\"inlineData\":{\"mimeType\":\"audio/pcm\",\"data\":\"AAEAAQ==\"}}"
        "]},\"turnComplete\":true}}",
        "{\"serverContent\":{\"inputTranscription\":{\"text\":\"hi\","
        "\"finished\":true},\"outputTranscription\":{\"text\":\"yo\"}}}",
        "{\"toolCall\":{\"functionCalls\":[{\"id\":\"c1\",\"name\":"
        "\"score_lead\",\"args\":{\"score\":5}},{\"id\":\"c2\",\"name\":"
        "\"end_call\"}]}}",
        "{\"toolCallCancellation\":{\"ids\":[\"c1\",\"c2\"]}}",
        "{\"goAway\":{\"timeLeft\":\"12.5s\"}}",
        "{\"sessionResumptionUpdate\":{\"newHandle\":\"h1\","
        "\"resumable\":true}}",
        "{\"usageMetadata\":{\"promptTokenCount\":10,"
        "\"responseTokenCount\":20,\"totalTokenCount\":30}}"
    };

    memset(pcm, 1, sizeof(pcm));

    chaos_arm(0);
    chaos_concierge_tool(&fd, &resp);

    chaos_gemini_setup(&s, fd);
    s.resume_handle = "h0";

    r.id = "c1";
    r.name = "open_gate";
    r.response = resp;

    orbis_strbuf_init(&b);

    chaos_arm(1);

    rc = ORBIS_OK;
    setup = orbis_gemini_build_setup(&s, &len, &err);
    if (setup == NULL) {
        rc = chaos_rc(err.code, &err);
    }

    orbis_gemini_free(setup);

    if (rc == ORBIS_OK) {
        rc = orbis_gemini_append_setup(&b, &s, &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_gemini_build_audio(&b, pcm, sizeof(pcm), 16000, &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_gemini_build_text(&b, "hello", 5, &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_gemini_build_audio_end(&b, &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_gemini_build_tool_response(&b, &r, 1, &err);
    }

    for (i = 0; rc == ORBIS_OK && i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        rc = orbis_gemini_parse(msgs[i], strlen(msgs[i]), &m, &err);
        orbis_gemini_msg_free(&m);
    }

    chaos_arm(0);

    orbis_strbuf_free(&b);
    json_decref(fd);
    json_decref(resp);

    return rc == ORBIS_OK ? ORBIS_OK : chaos_rc(rc, &err);
}


/* client events built and client messages parsed */

static int
chaos_client(void)
{
    orbis_rc_t          rc;
    orbis_err_t         err;
    orbis_strbuf_t      b;
    orbis_client_msg_t  m;

    static const char  text[] = "{\"type\":\"text\",\"text\":\"h\\u00e9llo\"}";

    orbis_strbuf_init(&b);

    chaos_arm(1);

    rc = orbis_client_build_ready(&b, "sess-1", 0, 16000, 24000, &err);

    if (rc == ORBIS_OK) {
        rc = orbis_client_build_transcript(&b, ORBIS_CLIENT_ROLE_AGENT,
                                           "Hello there", 11, 1, &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_client_build_interrupted(&b, &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_client_build_turn_complete(&b, &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_client_build_tool(&b, "score_lead", ORBIS_CLIENT_TOOL_OK,
                                     &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_client_build_error(&b, "bad_message", "nope", &err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_client_parse(text, sizeof(text) - 1, &m, &err);
        orbis_client_msg_free(&m);
    }

    chaos_arm(0);

    orbis_strbuf_free(&b);

    return rc == ORBIS_OK ? ORBIS_OK : chaos_rc(rc, &err);
}


/* the session state machine through a whole call */

static void
chaos_first(orbis_rc_t *rc, orbis_rc_t step)
{
    /* the first failed step is the run's result */
    if (*rc == ORBIS_OK) {
        *rc = step;
    }
}


static int
chaos_session(void)
{
    int                       i;
    json_t                   *fd, *res, *rec, *hb;
    uint8_t                   pcm[640];
    orbis_rc_t                rc;
    orbis_err_t               err;
    orbis_session_t          *s;
    orbis_session_conf_t      c;
    orbis_gemini_setup_t      g;
    orbis_gemini_peer_t      *peer;
    orbis_session_actions_t   a;

    static const char *const  up[] = {
        "{\"setupComplete\":{}}",
        "{\"serverContent\":{\"inputTranscription\":{\"text\":\"Hi\"}}}",
        "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"inlineData\":"
        "{\"mimeType\":\"audio/pcm;rate=24000\",\"data\":\"AAEAAQABAAE=\"}}]}"
        ",\"outputTranscription\":{\"text\":\"Hello\"}}}",
        "{\"toolCall\":{\"functionCalls\":[{\"id\":\"fc-1\",\"name\":"
        "\"open_gate\",\"args\":{\"gate\":\"north\"}}]}}",
        "{\"serverContent\":{\"interrupted\":true}}",
        "{\"sessionResumptionUpdate\":{\"newHandle\":\"h1\","
        "\"resumable\":true}}",
        "{\"serverContent\":{\"outputTranscription\":{\"text\":\"Bye\"},"
        "\"turnComplete\":true}}",
        "{\"usageMetadata\":{\"promptTokenCount\":10,"
        "\"responseTokenCount\":20,\"totalTokenCount\":30}}"
    };

    memset(pcm, 2, sizeof(pcm));

    chaos_arm(0);
    chaos_concierge_tool(&fd, &res);

    memset(&c, 0, sizeof(c));
    c.session_id = "sess-1";
    c.tenant_id = "tenant-9";
    c.agent_id = "agent-3";
    c.model = "gemini-2.5-flash";
    c.greeting = "Greet the caller.";

    /* the model's side is the Gemini peer, as the module sets it up */
    chaos_gemini_setup(&g, fd);

    orbis_session_actions_init(&a);

    chaos_arm(1);

    peer = orbis_gemini_peer_new(&g, &err);
    if (peer == NULL) {
        chaos_arm(0);
        json_decref(fd);
        json_decref(res);
        return chaos_rc(err.code, &err);
    }

    s = orbis_session_create(&c, &err);
    if (s == NULL) {
        chaos_arm(0);
        orbis_gemini_peer_free(peer);
        json_decref(fd);
        json_decref(res);
        return chaos_rc(err.code, &err);
    }

    a.caller_codec = &orbis_client_codec;
    a.peer_codec = &orbis_gemini_codec;
    a.peer_ctx = peer;

    /* the session keeps its own copy */
    /*
     * the call goes on after a failed step, as the module drives it: the
     * session must stay consistent whatever step lost an allocation
     */
    rc = orbis_session_start(s, 0, &a);
    chaos_first(&rc, orbis_session_on_peer_open(s, 10, &a));

    for (i = 0; i < 8; i++) {
        chaos_first(&rc, orbis_gemini_on_message(s, up[i],
                             strlen(up[i]), 100 + i * 100, &a));

        if (i == 1) {
            chaos_first(&rc, orbis_client_on_audio(s, pcm,
                                 sizeof(pcm), 150, &a));
        }

        if (i == 2) {
            chaos_first(&rc, orbis_client_on_text(s,
                     "{\"type\":\"text\",\"text\":\"Open the gate\"}", 38,
                     250, &a));
        }

        if (i == 3) {
            chaos_first(&rc, orbis_session_on_tool_result(s, "fc-1", 1, res,
                                                          350, &a));
        }

        if (i == 5) {
            chaos_first(&rc, orbis_session_tick(s, 560, &a));
        }
    }

    /* goAway while idle: resume with the handle, audio kept meanwhile */
    chaos_first(&rc, orbis_gemini_on_message(s,
                         "{\"goAway\":{\"timeLeft\":\"50s\"}}", 29, 900,
                         &a));
    chaos_first(&rc, orbis_client_on_audio(s, pcm, sizeof(pcm), 910,
                                                   &a));
    chaos_first(&rc, orbis_session_on_peer_open(s, 920, &a));
    chaos_first(&rc, orbis_gemini_on_message(s, up[0],
                         strlen(up[0]), 930, &a));

    chaos_first(&rc, orbis_client_on_text(s, "{\"type\":\"end\"}",
                                                  14, 1000, &a));
    chaos_first(&rc, orbis_gemini_on_close(s, 1000, NULL, 1100,
                                                     &a));
    chaos_first(&rc, orbis_session_on_caller_close(s, 1000, 1200, &a));
    chaos_first(&rc, orbis_session_tick(s, 5000, &a));

    rec = orbis_session_record_json(s);
    hb = orbis_session_heartbeat_json(s, 5000);

    /* without failures the call went through every step */
    if (chaos_failed == 0) {
        assert_int_equal(rc, ORBIS_OK);
        assert_int_equal(orbis_session_resumptions(s), 1);
        assert_int_equal(orbis_session_state(s), ORBIS_SESSION_ENDED);
        assert_int_equal(json_array_size(json_object_get(rec, "toolCalls")),
                         1);
    }

    if (rc == ORBIS_OK && (rec == NULL || hb == NULL)) {
        rc = ORBIS_ERR_NOMEM;
    }

    chaos_arm(0);

    json_decref(rec);
    json_decref(hb);
    orbis_session_actions_free(&a);
    orbis_session_free(s);
    orbis_gemini_peer_free(peer);
    json_decref(fd);
    json_decref(res);

    return rc;
}


/* audio: the resampler both ways, and DTMF */

static int
chaos_audio(void)
{
    size_t              n, got;
    int16_t             in[480], *out;
    orbis_rc_t          rc;
    orbis_err_t         err;
    orbis_resampler_t  *r;

    for (n = 0; n < 480; n++) {
        in[n] = (int16_t) (n * 37);
    }

    chaos_arm(1);

    r = orbis_resampler_new(16000, 24000, 3, &err);
    if (r == NULL) {
        return chaos_rc(err.code, &err);
    }

    n = orbis_resampler_max_output(r, 480);
    out = orbis_malloc(n * sizeof(int16_t));

    if (out == NULL) {
        rc = ORBIS_ERR_NOMEM;

    } else {
        rc = orbis_resampler_process(r, in, 480, out, n, &got);
        orbis_resampler_reset(r);
        orbis_free(out);
    }

    orbis_resampler_free(r);

    return rc;
}


static const chaos_scenario_t  scenarios[] = {
    { "auth: JWT sign and verify",       chaos_jwt,       CHAOS_PARSE },
    { "auth: password hash and verify",  chaos_password,  CHAOS_NOMEM },
    { "auth: API keys",                  chaos_apikey,    CHAOS_NOMEM },
    { "ratelimit",                       chaos_ratelimit, CHAOS_NOMEM },
    { "validate: every request body",    chaos_validate,  CHAOS_PARSE },
    { "tenants file",                    chaos_tenants,   CHAOS_NOMEM },
    { "tenants and bodies refused late", chaos_refusals,  CHAOS_NOMEM },
    { "tools: registry and calls",       chaos_tools,     CHAOS_PARSE },
    { "ws: codec send and receive",      chaos_ws,        CHAOS_NOMEM },
    { "ws: client role",                 chaos_ws_client, CHAOS_NOMEM },
    { "gemini: build and parse",         chaos_gemini,
      CHAOS_NOMEM | CHAOS_PROTOCOL },
    { "client: events and messages",     chaos_client,    CHAOS_PARSE },
    { "session: a whole call",           chaos_session,
      CHAOS_PARSE | CHAOS_PROTOCOL },
    { "audio: resampler",                chaos_audio,     CHAOS_NOMEM },
};


int
main(void)
{
    size_t                   i, n;
    const char              *only;
    struct CMUnitTest        tests[sizeof(scenarios) / sizeof(scenarios[0])];

    /* CHAOS_ONLY=word runs the scenarios whose name holds word */
    only = getenv("CHAOS_ONLY");

    for (i = 0, n = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        if (only != NULL && strstr(scenarios[i].name, only) == NULL) {
            continue;
        }

        tests[n++] = (struct CMUnitTest) {
            scenarios[i].name, chaos_drive, chaos_setup, chaos_teardown,
            (void *) &scenarios[i]
        };
    }

    return _cmocka_run_group_tests("chaos", tests, n, NULL, NULL);
}
