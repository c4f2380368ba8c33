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

#include <orbiscore/tenants.h>


/* orbis_apikey_hash() of the keys that test_auth.c generates */
#define HASH1  "9fb362c685e18c56744fbb4b6a6e038a" \
               "bd7f17cf9eb0eb1ca446fa00f96e46df"
#define HASH2  "0987b1094a3787c4a17f65d3d6c5f98e" \
               "34611fe3dacab56607f6c18ad58f7c05"


static orbis_rc_t parse(const char *text, orbis_tenants_t **t,
    unsigned *line, orbis_err_t *err);
static void expect_error(const char *text, unsigned line, const char *msg);


static const char *const  known_tools[] = {
    "score_lead", "generate_tone", "end_call"
};


static const char  good[] =
    "# Orbis tenants\n"                                             /*  1 */
    "tenant acme-dental {\n"                                        /*  2 */
    "    name \"Acme Dental\";\n"                                   /*  3 */
    "    plan pro;                       # paid\n"                  /*  4 */
    "    billing_email Ops@Acme.Example;\n"                         /*  5 */
    "    allowed_origins https://acme.example\n"                    /*  6 */
    "                    HTTPS://WWW.Acme.Example/;\n"              /*  7 */
    "    api_key widget {\n"                                        /*  8 */
    "        kind publishable;\n"                                   /*  9 */
    "        hash " HASH1 ";\n"                                     /* 10 */
    "        prefix pk_AAEC;  last4 FRYX;\n"                        /* 11 */
    "        agents receptionist after-hours;\n"                    /* 12 */
    "        allowed_origins https://acme.example;\n"               /* 13 */
    "    }\n"                                                       /* 14 */
    "    agent receptionist {\n"                                    /* 15 */
    "        name \"Front desk\";\n"                                /* 16 */
    "        voice Kore;\n"                                         /* 17 */
    "        language en-us;\n"                                     /* 18 */
    "        greeting \"Hello, Acme Dental.\";\n"                   /* 19 */
    "        prompt \"You are the \\\"front desk\\\".\n"            /* 20 */
    "Use \\\\ rarely.\";\n"                                         /* 21 */
    "        tools score_lead generate_tone;\n"                     /* 22 */
    "        idle_timeout 300;\n"                                   /* 23 */
    "    }\n"                                                       /* 24 */
    "    agent after-hours{name Night;voice Puck;prompt_file\n"     /* 25 */
    "        \"prompts/acme night.txt\";}\n"                        /* 26 */
    "}\n"                                                           /* 27 */
    "\n"                                                            /* 28 */
    "tenant \"solo\" {\n"                                           /* 29 */
    "    name Solo;\n"                                              /* 30 */
    "    api_key server { kind secret; hash "                       /* 31 */
    "0987B1094A3787C4A17F65D3D6C5F98E34611FE3DACAB56607F6C18AD58F7C05; }\n"
    "}\n";                                                          /* 32 */


static void
test_parse_good_file(void **state)
{
    unsigned                     line;
    orbis_err_t                  err;
    orbis_tenants_t             *t;
    orbis_tenant_key_t          *k;
    orbis_tenant_conf_t         *c;
    orbis_tenant_agent_t        *a;

    (void) state;

    line = 99;

    assert_int_equal(parse(good, &t, &line, &err), ORBIS_OK);
    assert_int_equal(line, 0);
    assert_int_equal(t->n_tenants, 2);

    c = &t->tenants[0];
    assert_string_equal(c->slug, "acme-dental");
    assert_string_equal(c->name, "Acme Dental");
    assert_int_equal(c->plan, ORBIS_TENANT_PLAN_PRO);
    assert_string_equal(orbis_tenant_plan_name(c->plan), "pro");
    assert_string_equal(c->billing_email, "ops@acme.example");
    assert_int_equal(c->n_allowed_origins, 2);
    assert_string_equal(c->allowed_origins[0], "https://acme.example");
    assert_string_equal(c->allowed_origins[1], "https://www.acme.example");
    assert_int_equal(c->line, 2);

    assert_int_equal(c->n_keys, 1);
    k = &c->keys[0];
    assert_string_equal(k->slug, "widget");
    assert_int_equal(k->kind, ORBIS_KEY_PUBLISHABLE);
    assert_string_equal(k->hash, HASH1);
    assert_string_equal(k->prefix, "pk_AAEC");
    assert_string_equal(k->last4, "FRYX");
    assert_int_equal(k->n_agents, 2);
    assert_string_equal(k->agents[0], "receptionist");
    assert_string_equal(k->agents[1], "after-hours");
    assert_int_equal(k->n_allowed_origins, 1);
    assert_int_equal(k->line, 8);

    assert_int_equal(c->n_agents, 2);
    a = &c->agents[0];
    assert_string_equal(a->slug, "receptionist");
    assert_string_equal(a->name, "Front desk");
    assert_string_equal(a->voice, "Kore");
    assert_string_equal(a->language, "en-US");
    assert_string_equal(a->greeting, "Hello, Acme Dental.");
    assert_string_equal(a->prompt,
                        "You are the \"front desk\".\nUse \\ rarely.");
    assert_null(a->prompt_file);
    assert_int_equal(a->n_tools, 2);
    assert_string_equal(a->tools[1], "generate_tone");
    assert_int_equal(a->idle_timeout_sec, 300);
    assert_int_equal(a->line, 15);

    a = &c->agents[1];
    assert_string_equal(a->slug, "after-hours");
    assert_string_equal(a->name, "Night");
    assert_string_equal(a->voice, "Puck");
    assert_string_equal(a->language, "en-US");
    assert_null(a->prompt);
    assert_null(a->greeting);
    assert_string_equal(a->prompt_file, "prompts/acme night.txt");
    assert_int_equal(a->n_tools, 0);
    assert_int_equal(a->idle_timeout_sec, 0);
    assert_int_equal(a->line, 25);

    c = &t->tenants[1];
    assert_string_equal(c->slug, "solo");
    assert_int_equal(c->plan, ORBIS_TENANT_PLAN_FREE);
    assert_null(c->billing_email);
    assert_int_equal(c->n_agents, 0);
    assert_int_equal(c->keys[0].kind, ORBIS_KEY_SECRET);
    assert_string_equal(c->keys[0].hash, HASH2);
    assert_string_equal(c->keys[0].prefix, "");
    assert_int_equal(c->line, 29);

    orbis_tenants_free(t);
}


static void
test_lookups(void **state)
{
    char                        hex[ORBIS_APIKEY_HASH_LEN + 1];
    orbis_err_t                 err;
    orbis_tenants_t            *t;
    const orbis_tenant_key_t   *k;
    const orbis_tenant_conf_t  *owner;

    (void) state;

    assert_int_equal(parse(good, &t, NULL, &err), ORBIS_OK);

    assert_int_equal(orbis_apikey_hash("sk___79_Pv6-fj39vX08_Lx8O_u7ezr6uno",
                                       35, hex),
                     ORBIS_OK);
    owner = NULL;
    k = orbis_tenants_find_key(t, hex, &owner);
    assert_non_null(k);
    assert_string_equal(k->slug, "server");
    assert_string_equal(owner->slug, "solo");

    k = orbis_tenants_find_key(t, HASH1, &owner);
    assert_string_equal(k->slug, "widget");
    assert_string_equal(owner->slug, "acme-dental");

    assert_null(orbis_tenants_find_key(t, "00", &owner));
    assert_string_equal(orbis_tenants_find(t, "solo")->name, "Solo");
    assert_null(orbis_tenants_find(t, "nobody"));

    orbis_tenants_free(t);
}


static void
test_empty_and_comment_only(void **state)
{
    orbis_err_t       err;
    orbis_tenants_t  *t;

    (void) state;

    assert_int_equal(parse("", &t, NULL, &err), ORBIS_OK);
    assert_int_equal(t->n_tenants, 0);
    orbis_tenants_free(t);

    assert_int_equal(parse("# nothing yet\n\n   # really\n", &t, NULL, &err),
                     ORBIS_OK);
    assert_int_equal(t->n_tenants, 0);
    orbis_tenants_free(t);

    orbis_tenants_free(NULL);
}


static void
test_syntax_errors(void **state)
{
    (void) state;

    expect_error("\n\nfoo bar;\n", 3,
                 "line 3: unknown directive \"foo\", expecting \"tenant\"");
    expect_error("}\n", 1, "line 1: unexpected \"}\"");
    expect_error("tenant a {\n  name \"A\"\n}\n", 3,
                 "line 3: unexpected \"}\", expecting \";\"");
    expect_error("tenant a {\n  name A;\n", 3,
                 "line 3: unexpected end of file, expecting \"}\" of "
                 "tenant \"a\"");
    expect_error("tenant a {\n  name A", 2,
                 "line 2: unexpected end of file, expecting \";\"");
    expect_error("tenant a {\n  ;\n}\n", 2, "line 2: unexpected \";\"");
    expect_error("tenant a {\n  name \"Acme\n\nDental;\n}\n", 2,
                 "line 2: unterminated string");
    expect_error("tenant a {\n\n  name \"A\\tB\";\n}\n", 3,
                 "line 3: unknown escape in string, only \\\" and \\\\ are "
                 "allowed");
    expect_error("tenant a {\n  name \"A\"B;\n}\n", 2,
                 "line 2: expecting a space or \";\" after a string");
    expect_error("tenant a {\n  name A\"B\";\n}\n", 2,
                 "line 2: unexpected quote inside a word");
    expect_error("tenant a {\n  name \"A\x01\";\n}\n", 2,
                 "line 2: control character");
    expect_error("tenant a {\n\n  name \"A\xff\";\n}\n", 3,
                 "line 3: not valid UTF-8");
    expect_error("tenant a;\n", 1, "line 1: expecting \"tenant <slug> {\"");
    expect_error("tenant a b {\n}\n", 1,
                 "line 1: expecting \"tenant <slug> {\"");
    expect_error("tenant a {\n  name A {\n}\n", 2,
                 "line 2: \"name\" takes no block");
    expect_error("tenant a {\n  \"name\" A;\n}\n", 2,
                 "line 2: unknown directive \"name\" in tenant");
}


static void
test_structure_errors(void **state)
{
    (void) state;

    expect_error("tenant a { name A; }\n\ntenant a { name B; }\n", 3,
                 "line 3: duplicate tenant \"a\"");
    expect_error("tenant Acme { name A; }\n", 1,
                 "line 1: tenant: a slug is 1 to 64 of a-z, 0-9 and -");
    expect_error("tenant a {\n  name A;\n  colour blue;\n}\n", 3,
                 "line 3: unknown directive \"colour\" in tenant");
    expect_error("tenant a {\n  name A;\n  name B;\n}\n", 3,
                 "line 3: duplicate \"name\"");
    expect_error("tenant a {\n  name Acme Dental;\n}\n", 2,
                 "line 2: \"name\" takes one value (quote values with "
                 "spaces)");
    expect_error("tenant a {\n  plan gold;\n}\n", 2,
                 "line 2: plan: must be free, starter, pro or enterprise");
    expect_error("\ntenant a {\n  plan free;\n}\n", 2,
                 "line 2: tenant \"a\": missing name");
    expect_error("tenant a {\n  name \"\";\n}\n", 2,
                 "line 2: name: must not be empty");
    expect_error("tenant a {\n  billing_email ops@;\n}\n", 2,
                 "line 2: billing_email: must be a valid email address");
    expect_error("tenant a {\n  allowed_origins https://a.example\n"
                 "    https://b.example/path;\n}\n", 3,
                 "line 3: allowed_origins: must be an origin such as "
                 "https://example.com, without a path");
    expect_error("tenant a {\n  allowed_origins https://a.example\n"
                 "    HTTPS://A.example;\n}\n", 3,
                 "line 3: allowed_origins: \"HTTPS://A.example\" is listed "
                 "twice");
    expect_error("tenant a {\n  allowed_origins;\n}\n", 2,
                 "line 2: \"allowed_origins\" takes 1 to 50 values");
}


static void
test_agent_errors(void **state)
{
    (void) state;

    expect_error("tenant a {\n name A;\n agent x { name X; voice Kore;"
                 " prompt P; }\n agent x { name Y; voice Kore; prompt P; }\n"
                 "}\n", 4, "line 4: duplicate agent \"x\"");
    expect_error("tenant a {\n name A;\n agent x;\n}\n", 3,
                 "line 3: expecting \"agent <slug> {\"");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n"
                 "  voice Bob;\n }\n}\n", 5, NULL);
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n"
                 "  prompt P;\n }\n}\n", 3,
                 "line 3: agent \"x\": missing voice");
    expect_error("tenant a {\n name A;\n agent x {\n  voice Kore;\n"
                 "  prompt P;\n }\n}\n", 3,
                 "line 3: agent \"x\": missing name");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n"
                 "  voice Kore;\n }\n}\n", 3,
                 "line 3: agent \"x\": missing prompt or prompt_file");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt P;\n  prompt_file p.txt;\n }\n}\n", 7,
                 "line 7: use one prompt or one prompt_file per agent");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt \" \n \";\n }\n}\n", 6,
                 "line 6: prompt: must not be empty");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt P;\n  tools score_lead\n  launch_rocket;\n }\n}\n",
                 8, "line 8: tools: unknown tool \"launch_rocket\"");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt P;\n  tools end_call end_call;\n }\n}\n", 7,
                 "line 7: tools: \"end_call\" is listed twice");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt P;\n  language english;\n }\n}\n", 7,
                 "line 7: language: must be a language tag such as en-US");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt P;\n  idle_timeout 10;\n }\n}\n", 7,
                 "line 7: idle_timeout: must be 30 to 7200 seconds");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt P;\n  idle_timeout 3e2;\n }\n}\n", 7,
                 "line 7: idle_timeout: must be 30 to 7200 seconds");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt P;\n  model flash;\n }\n}\n", 7,
                 "line 7: unknown directive \"model\" in agent");
    expect_error("tenant a {\n name A;\n agent x {\n  name X;\n  voice Kore;\n"
                 "  prompt P;\n", 7,
                 "line 7: unexpected end of file, expecting \"}\" of agent "
                 "\"x\"");
}


static void
test_key_errors(void **state)
{
    (void) state;

    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n }\n}\n",
                 3, "line 3: api_key \"k\": missing hash");
    expect_error("tenant a {\n name A;\n api_key k {\n  hash " HASH1 ";\n"
                 " }\n}\n", 3, "line 3: api_key \"k\": missing kind");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind private;\n }\n}\n",
                 4, "line 4: kind: must be publishable or secret");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash 9fb362c685e18c56744fbb4b6a6e038abd7f17cf9eb0eb1ca446fa"
                 "00f96e46d;\n }\n}\n", 5,
                 "line 5: hash: must be 64 hex digits (the SHA-256 of the "
                 "key)");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash 9fb362c685e18c56744fbb4b6a6e038abd7f17cf9eb0eb1ca446fa"
                 "00f96e46dg;\n }\n}\n", 5,
                 "line 5: hash: must be 64 hex digits (the SHA-256 of the "
                 "key)");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash " HASH1 ";\n  prefix pk_AAEC;\n }\n}\n", 6,
                 "line 6: prefix: does not match kind secret");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash " HASH1 ";\n  prefix sk_AAE;\n }\n}\n", 6,
                 "line 6: prefix: must be pk_ or sk_ and the next 4 "
                 "characters of the key");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash " HASH1 ";\n  last4 ab+d;\n }\n}\n", 6,
                 "line 6: last4: must be the last 4 characters of the key");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash " HASH1 ";\n  agents ghost;\n }\n"
                 " agent real { name R; voice Kore; prompt P; }\n}\n", 6,
                 "line 6: agents: tenant \"a\" has no agent \"ghost\"");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash " HASH1 ";\n  agents Bad_Slug;\n }\n}\n", 6,
                 "line 6: agents: a slug is 1 to 64 of a-z, 0-9 and -");
    expect_error("tenant a {\n name A;\n api_key k { kind secret; hash "
                 HASH1 "; }\n api_key k { kind secret; hash " HASH2 "; }\n"
                 "}\n", 4, "line 4: duplicate api_key \"k\"");
    expect_error("tenant a {\n name A;\n api_key k { kind secret; hash "
                 HASH1 "; }\n}\ntenant b {\n name B;\n api_key k {\n"
                 "  kind publishable;\n  hash " HASH1 ";\n }\n}\n", 9,
                 "line 9: hash: another api_key has the same hash");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash " HASH1 ";\n  allowed_origins ftp://a.example;\n"
                 " }\n}\n", 6,
                 "line 6: allowed_origins: must be an origin such as "
                 "https://example.com, without a path");
}


static void
test_error_line_in_voice_message(void **state)
{
    unsigned          line;
    orbis_err_t       err;
    orbis_tenants_t  *t;

    (void) state;

    t = (orbis_tenants_t *) 1;

    assert_int_equal(parse("tenant a {\n name A;\n agent x {\n  name X;\n"
                           "  voice Bob;\n }\n}\n", &t, &line, &err),
                     ORBIS_ERR_INVALID);
    assert_null(t);
    assert_int_equal(line, 5);
    assert_int_equal(strncmp(err.msg, "line 5: voice: unknown voice \"Bob\"; "
                             "one of Achernar, ", 50), 0);
}


static orbis_rc_t
parse(const char *text, orbis_tenants_t **t, unsigned *line,
    orbis_err_t *err)
{
    return orbis_tenants_parse(text, strlen(text), known_tools, 3, t, line,
                               err);
}


/* found by fuzz_tenants: extra hex digits were written past the hash */
static void
test_key_hash_too_long(void **state)
{
    char    text[4096];
    size_t  n;

    (void) state;

    n = (size_t) snprintf(text, sizeof(text),
                          "tenant a {\n name A;\n api_key k {\n"
                          "  kind secret;\n  hash ");
    memset(text + n, 'c', 3000);
    n += 3000;
    snprintf(text + n, sizeof(text) - n, ";\n }\n}\n");

    expect_error(text, 5, "line 5: hash: must be 64 hex digits (the SHA-256 "
                 "of the key)");
    expect_error("tenant a {\n name A;\n api_key k {\n  kind secret;\n"
                 "  hash " HASH1 "0;\n }\n}\n", 5,
                 "line 5: hash: must be 64 hex digits (the SHA-256 of the "
                 "key)");
}


static void
expect_error(const char *text, unsigned line, const char *msg)
{
    char              prefix[32];
    unsigned          got;
    orbis_err_t       err;
    orbis_tenants_t  *t;

    got = 0;

    assert_int_equal(parse(text, &t, &got, &err), ORBIS_ERR_INVALID);
    assert_null(t);
    assert_int_equal(got, line);

    snprintf(prefix, sizeof(prefix), "line %u: ", line);
    assert_int_equal(strncmp(err.msg, prefix, strlen(prefix)), 0);

    if (msg != NULL) {
        assert_string_equal(err.msg, msg);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_parse_good_file),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_empty_and_comment_only),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_agent_errors),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_key_hash_too_long),
        cmocka_unit_test(test_error_line_in_voice_message),
    };

    return cmocka_run_group_tests_name("tenants", tests, NULL, NULL);
}
