/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/tools.h>


typedef struct {
    int                   calls;
    json_t               *result;
    orbis_tool_ctx_t     *ctx;
    orbis_tool_status_t   status;
} done_t;


typedef struct {
    orbis_tool_ctx_t  *pending;     /* held by the "tool" */
    int                mode;
} slow_t;


enum {
    SLOW_PENDING = 0,
    SLOW_COMPLETE_INSIDE,
    SLOW_NUMBER,
    SLOW_NO_RESULT,
    SLOW_ERROR,
    SLOW_BAD_UTF8
};


static void on_done(orbis_tool_ctx_t *ctx, json_t *result, void *ud);
static int slow_run(const orbis_tool_t *tool, const json_t *args,
    orbis_tool_ctx_t *ctx, json_t **result, orbis_err_t *err);
static int echo_run(const orbis_tool_t *tool, const json_t *args,
    orbis_tool_ctx_t *ctx, json_t **result, orbis_err_t *err);
static orbis_tools_t *builtin(void);
static orbis_tool_ctx_t *new_ctx(const char *id, uint32_t rate, done_t *d);
static json_t *call(orbis_tools_t *tools, const char *name, const char *args,
    orbis_tool_rc_t expect, orbis_tool_ctx_t **ctx_out);
static void expect_error(orbis_tools_t *tools, const char *name,
    const char *args, const char *message);
static json_t *lead(orbis_tools_t *tools, const char *args, int score,
    const char *grade);
static int has_reason(const json_t *res, const char *reason);
static orbis_rc_t reg(orbis_tools_t *tools, const char *name,
    const char *params, orbis_err_t *err);
static const char *nested(int levels);


static const char  *echo_schema =
    "{\"type\": \"object\", \"properties\": {"
    "\"count\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10},"
    "\"mode\": {\"type\": \"STRING\", \"enum\": [\"fast\", \"slow\"]},"
    "\"tags\": {\"type\": \"ARRAY\", \"items\": {\"type\": \"STRING\"},"
    " \"minItems\": 1, \"maxItems\": 2},"
    "\"address\": {\"type\": \"OBJECT\", \"properties\": {"
    "  \"zip\": {\"type\": \"STRING\"}}, \"required\": [\"zip\"]},"
    "\"note\": {\"type\": \"STRING\", \"nullable\": true}},"
    " \"required\": [\"count\", \"note\"]}";


static void
on_done(orbis_tool_ctx_t *ctx, json_t *result, void *ud)
{
    done_t  *d = ud;

    d->calls++;
    json_decref(d->result);
    d->result = result;
    d->ctx = ctx;
    d->status = orbis_tool_ctx_status(ctx);
}


static int
slow_run(const orbis_tool_t *tool, const json_t *args, orbis_tool_ctx_t *ctx,
    json_t **result, orbis_err_t *err)
{
    slow_t  *s = tool->data;

    switch (s->mode) {

    case SLOW_COMPLETE_INSIDE:
        assert_int_equal(orbis_tool_complete(ctx,
                                             json_pack("{s:s}", "at", "once"),
                                             5),
                         ORBIS_OK);
        return ORBIS_TOOL_PENDING;

    case SLOW_NUMBER:
        *result = json_integer(42);
        return ORBIS_TOOL_DONE;

    case SLOW_NO_RESULT:
        return ORBIS_TOOL_DONE;

    case SLOW_ERROR:
        orbis_err_set(err, ORBIS_ERR_NOT_FOUND, "no such order %s",
                      json_string_value(json_object_get(args, "order")));
        return ORBIS_TOOL_ERROR;

    case SLOW_BAD_UTF8:
        orbis_err_set(err, ORBIS_ERR_INTERNAL, "upstream said \xc3(oops");
        return ORBIS_TOOL_ERROR;

    default:
        orbis_tool_ctx_hold(ctx);
        s->pending = ctx;
        return ORBIS_TOOL_PENDING;
    }
}


static int
echo_run(const orbis_tool_t *tool, const json_t *args, orbis_tool_ctx_t *ctx,
    json_t **result, orbis_err_t *err)
{
    *result = json_deep_copy(args);

    return ORBIS_TOOL_DONE;
}


static orbis_tools_t *
builtin(void)
{
    orbis_tools_t  *tools;
    orbis_err_t     err;

    tools = orbis_tools_new();
    assert_non_null(tools);
    assert_int_equal(orbis_tools_register_builtin(tools, &err), ORBIS_OK);

    return tools;
}


static orbis_tool_ctx_t *
new_ctx(const char *id, uint32_t rate, done_t *d)
{
    orbis_err_t            err;
    orbis_tool_ctx_t      *ctx;
    orbis_tool_ctx_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.call_id = id;
    conf.tenant_id = "tenant-7";
    conf.output_rate = rate;
    conf.on_done = on_done;
    conf.userdata = d;
    conf.io = d;

    ctx = orbis_tool_ctx_new(&conf, &err);
    assert_non_null(ctx);

    return ctx;
}


/* runs one call; args is JSON text or NULL; returns the result */
static json_t *
call(orbis_tools_t *tools, const char *name, const char *args,
    orbis_tool_rc_t expect, orbis_tool_ctx_t **ctx_out)
{
    done_t             d;
    json_t            *a, *res;
    orbis_tool_rc_t    rc;
    orbis_tool_ctx_t  *ctx;

    memset(&d, 0, sizeof(d));
    ctx = new_ctx("function-call-1", 0, &d);

    a = NULL;

    if (args != NULL) {
        a = json_loads(args, JSON_DECODE_ANY, NULL);
        assert_non_null(a);
    }

    rc = orbis_tools_call(tools, ctx, name, a, 1000, &res);
    json_decref(a);

    assert_int_equal(rc, expect);
    assert_non_null(res);
    assert_true(json_is_object(res));
    assert_int_equal(d.calls, 0);

    if (ctx_out != NULL) {
        *ctx_out = ctx;

    } else {
        orbis_tool_ctx_release(ctx);
    }

    return res;
}


static void
expect_error(orbis_tools_t *tools, const char *name, const char *args,
    const char *message)
{
    json_t  *res;

    res = call(tools, name, args, ORBIS_TOOL_ERROR, NULL);

    assert_int_equal(json_object_size(res), 1);
    assert_string_equal(json_string_value(json_object_get(res, "error")),
                        message);
    json_decref(res);
}


static json_t *
lead(orbis_tools_t *tools, const char *args, int score, const char *grade)
{
    json_t  *res;

    res = call(tools, "score_lead", args, ORBIS_TOOL_DONE, NULL);

    assert_int_equal(json_integer_value(json_object_get(res, "score")),
                     score);
    assert_string_equal(json_string_value(json_object_get(res, "grade")),
                        grade);

    return res;
}


static int
has_reason(const json_t *res, const char *reason)
{
    size_t   i;
    json_t  *r;

    json_array_foreach(json_object_get(res, "reasons"), i, r) {
        if (strcmp(json_string_value(r), reason) == 0) {
            return 1;
        }
    }

    return 0;
}


static orbis_rc_t
reg(orbis_tools_t *tools, const char *name, const char *params,
    orbis_err_t *err)
{
    orbis_tool_t  def;

    memset(&def, 0, sizeof(def));
    def.name = name;
    def.description = "test tool";
    def.parameters = params;
    def.run = echo_run;

    return orbis_tools_register(tools, &def, err);
}


/* a schema with levels OBJECTs nested under the top one */
static const char *
nested(int levels)
{
    int          i;
    static char  buf[1024];

    strcpy(buf, "{\"type\": \"OBJECT\", \"properties\": {\"a\": ");

    for (i = 0; i < levels; i++) {
        strcat(buf, "{\"type\": \"OBJECT\", \"properties\": {\"a\": ");
    }

    strcat(buf, "{\"type\": \"STRING\"}");

    for (i = 0; i <= levels; i++) {
        strcat(buf, "}}");
    }

    return buf;
}


static void
test_registry(void **state)
{
    size_t               n;
    orbis_err_t          err;
    orbis_tool_t         def;
    orbis_tools_t       *tools;
    const char *const   *names;
    const orbis_tool_t  *t;

    (void) state;

    tools = builtin();

    names = orbis_tools_names(tools, &n);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "score_lead");
    assert_string_equal(names[1], "generate_tone");

    t = orbis_tools_find(tools, "generate_tone");
    assert_non_null(t);
    assert_string_equal(t->name, "generate_tone");
    assert_int_equal(t->timeout_ms, 1000);
    assert_null(orbis_tools_find(tools, "generate"));
    assert_null(orbis_tools_find(tools, NULL));

    /* again: duplicates */
    assert_int_equal(orbis_tools_register_builtin(tools, &err),
                     ORBIS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "already registered"));

    /* names follow Gemini's rule */
    assert_int_equal(reg(tools, "", NULL, &err), ORBIS_ERR_INVALID);
    assert_int_equal(reg(tools, "1abc", NULL, &err), ORBIS_ERR_INVALID);
    assert_int_equal(reg(tools, "a b", NULL, &err), ORBIS_ERR_INVALID);
    assert_int_equal(reg(tools, "a/b", NULL, &err), ORBIS_ERR_INVALID);
    assert_int_equal(reg(tools, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "aaaaaaaaaaaaaaaaaaaaa", NULL, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(reg(tools, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "aaaaaaaaaaaaaaaaaaaa", NULL, &err),
                     ORBIS_OK);
    assert_int_equal(reg(tools, "_crm.lookup:v2-beta", NULL, &err), ORBIS_OK);

    memset(&def, 0, sizeof(def));
    def.name = "no_desc";
    def.run = echo_run;
    assert_int_equal(orbis_tools_register(tools, &def, &err),
                     ORBIS_ERR_INVALID);
    def.description = "x";
    def.run = NULL;
    assert_int_equal(orbis_tools_register(tools, &def, &err),
                     ORBIS_ERR_INVALID);
    def.run = echo_run;
    def.timeout_ms = ORBIS_TOOL_MAX_TIMEOUT_MS + 1;
    assert_int_equal(orbis_tools_register(tools, &def, &err),
                     ORBIS_ERR_INVALID);
    def.timeout_ms = 0;
    assert_int_equal(orbis_tools_register(tools, &def, &err), ORBIS_OK);
    assert_int_equal(orbis_tools_find(tools, "no_desc")->timeout_ms,
                     ORBIS_TOOL_DEFAULT_TIMEOUT_MS);
    assert_null(orbis_tool_schema(orbis_tools_find(tools, "no_desc")));

    names = orbis_tools_names(tools, &n);
    assert_int_equal(n, 5);
    assert_string_equal(names[4], "no_desc");

    orbis_tools_free(tools);
    orbis_tools_free(NULL);
}


static void
test_schema_checks(void **state)
{
    size_t          i;
    orbis_err_t     err;
    orbis_tools_t  *tools;
    const json_t   *s;

    static const struct {
        const char  *schema;
        const char  *msg;
    } bad[] = {
        { "{\"type\": \"OBJECT\"", "parameters:" },
        { "[]", "must be an object" },
        { "{\"type\": \"STRING\"}", "top level must be an OBJECT" },
        { "{\"properties\": {}}", "\"type\" must be a string" },
        { "{\"type\": \"OBJECT\", \"properties\": {\"a\": {\"type\": "
          "\"DATE\"}}}", "parameters.a: unknown type" },
        { "{\"type\": \"OBJECT\", \"additionalProperties\": false}",
          "\"additionalProperties\" is not allowed" },
        { "{\"type\": \"OBJECT\", \"properties\": {\"a\": {\"type\": "
          "\"NUMBER\", \"enum\": [\"1\"]}}}", "\"enum\" is not allowed" },
        { "{\"type\": \"OBJECT\", \"properties\": {\"a\": {\"type\": "
          "\"STRING\", \"enum\": [1]}}}", "list of strings" },
        { "{\"type\": \"OBJECT\", \"properties\": {}, \"required\": [\"a\"]}",
          "not declared" },
        { "{\"type\": \"OBJECT\", \"properties\": {\"a\": {\"type\": "
          "\"ARRAY\"}}}", "parameters.a: an ARRAY needs items" },
        { "{\"type\": \"OBJECT\", \"properties\": {\"a\": {\"type\": "
          "\"NUMBER\", \"minimum\": 5, \"maximum\": 1}}}", "lower bound" },
        { "{\"type\": \"OBJECT\", \"properties\": {\"a\": {\"type\": "
          "\"ARRAY\", \"items\": {\"type\": \"STRING\"}, \"minItems\": -1}}}",
          "must be a count" },
        { "{\"type\": \"OBJECT\", \"properties\": {\"a\": {\"type\": "
          "\"STRING\", \"nullable\": 1}}}", "true or false" },
        { "{\"type\": \"OBJECT\", \"properties\": {\"a\": {\"type\": "
          "\"STRING\"}, \"a\": {\"type\": \"STRING\"}}}", "duplicate" },
    };

    (void) state;

    tools = orbis_tools_new();

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        assert_int_equal(reg(tools, "t", bad[i].schema, &err),
                         ORBIS_ERR_INVALID);

        if (strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("schema %zu: \"%s\" lacks \"%s\"", i, err.msg,
                     bad[i].msg);
        }
    }

    /* nesting: 7 objects below the top one are fine, 8 are not */
    assert_int_equal(reg(tools, "deep", nested(7), &err), ORBIS_OK);
    assert_int_equal(reg(tools, "deeper", nested(8), &err),
                     ORBIS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "nested too deeply"));

    /* lower-case types are accepted and sent upper-case */
    assert_int_equal(reg(tools, "t", echo_schema, &err), ORBIS_OK);
    s = orbis_tool_schema(orbis_tools_find(tools, "t"));
    assert_string_equal(json_string_value(json_object_get(s, "type")),
                        "OBJECT");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(s, "properties"),
                                            "count"), "type")),
                        "INTEGER");

    orbis_tools_free(tools);
}


static void
test_declarations(void **state)
{
    json_t         *decl, *d;
    orbis_err_t     err;
    orbis_tool_t    def;
    orbis_tools_t  *tools;
    const char     *one[] = { "generate_tone" };
    const char     *unknown[] = { "score_lead", "open_gate" };
    const char     *twice[] = { "score_lead", "score_lead" };
    const char     *nb[] = { "notify" };

    (void) state;

    tools = builtin();

    decl = orbis_tools_declarations(tools, one, 1, &err);
    assert_non_null(decl);
    assert_int_equal(json_array_size(decl), 1);
    d = json_array_get(decl, 0);
    assert_string_equal(json_string_value(json_object_get(d, "name")),
                        "generate_tone");
    assert_non_null(json_string_value(json_object_get(d, "description")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(d, "parameters"), "type")),
                        "OBJECT");
    assert_string_equal(json_string_value(json_array_get(json_object_get(
                            json_object_get(d, "parameters"), "required"),
                            0)),
                        "digits");
    assert_null(json_object_get(d, "behavior"));

    /* the declaration is a copy: editing it leaves the registry alone */
    json_object_set_new(json_object_get(d, "parameters"), "type",
                        json_string("X"));
    json_decref(decl);
    assert_string_equal(json_string_value(json_object_get(orbis_tool_schema(
                            orbis_tools_find(tools, "generate_tone")),
                            "type")),
                        "OBJECT");

    assert_null(orbis_tools_declarations(tools, unknown, 2, &err));
    assert_int_equal(err.code, ORBIS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "open_gate"));
    assert_null(orbis_tools_declarations(tools, twice, 2, &err));
    assert_int_equal(err.code, ORBIS_ERR_INVALID);

    decl = orbis_tools_declarations(tools, NULL, 0, &err);
    assert_int_equal(json_array_size(decl), 2);
    json_decref(decl);

    decl = orbis_tools_declarations(tools, one, 0, &err);
    assert_int_equal(json_array_size(decl), 0);
    json_decref(decl);

    memset(&def, 0, sizeof(def));
    def.name = "notify";
    def.description = "Tell the team";
    def.behavior = ORBIS_TOOL_NON_BLOCKING;
    def.run = echo_run;
    assert_int_equal(orbis_tools_register(tools, &def, &err), ORBIS_OK);

    decl = orbis_tools_declarations(tools, nb, 1, &err);
    d = json_array_get(decl, 0);
    assert_string_equal(json_string_value(json_object_get(d, "behavior")),
                        "NON_BLOCKING");
    assert_null(json_object_get(d, "parameters"));
    json_decref(decl);

    orbis_tools_free(tools);
}


static void
test_argument_validation(void **state)
{
    json_t         *res;
    orbis_err_t     err;
    orbis_tools_t  *tools;

    (void) state;

    tools = builtin();
    assert_int_equal(reg(tools, "echo", echo_schema, &err), ORBIS_OK);

    expect_error(tools, "generate_tone", NULL,
                 "invalid arguments: missing required argument 'digits'");
    expect_error(tools, "generate_tone", "{}",
                 "invalid arguments: missing required argument 'digits'");
    expect_error(tools, "generate_tone", "{\"digits\": null}",
                 "invalid arguments: missing required argument 'digits'");
    expect_error(tools, "generate_tone", "{\"digits\": 123}",
                 "invalid arguments: argument 'digits' must be a STRING");
    expect_error(tools, "generate_tone", "{\"digits\": \"1\", "
                 "\"toneMs\": 30}",
                 "invalid arguments: argument 'toneMs' must be at least 40");
    expect_error(tools, "generate_tone", "{\"digits\": \"1\", "
                 "\"gapMs\": 1000.5}",
                 "invalid arguments: argument 'gapMs' must be at most 1000");
    expect_error(tools, "generate_tone", "{\"digits\": \"1\", "
                 "\"toneMs\": \"100\"}",
                 "invalid arguments: argument 'toneMs' must be a NUMBER");
    expect_error(tools, "generate_tone", "[\"1\"]",
                 "invalid arguments: arguments must be an object");
    expect_error(tools, "score_lead", "{\"budget\": -1}",
                 "invalid arguments: argument 'budget' must be at least 0");
    expect_error(tools, "score_lead", "{\"decisionMaker\": \"yes\"}",
                 "invalid arguments: argument 'decisionMaker' must be "
                 "a BOOLEAN");

    expect_error(tools, "echo", "{\"count\": 1}",
                 "invalid arguments: missing required argument 'note'");
    expect_error(tools, "echo", "{\"count\": 1.5, \"note\": null}",
                 "invalid arguments: argument 'count' must be an INTEGER");
    expect_error(tools, "echo", "{\"count\": 11, \"note\": null}",
                 "invalid arguments: argument 'count' must be at most 10");
    expect_error(tools, "echo", "{\"count\": 1, \"note\": 5}",
                 "invalid arguments: argument 'note' must be a STRING");
    expect_error(tools, "echo", "{\"count\": 1, \"note\": \"\", "
                 "\"mode\": \"medium\"}",
                 "invalid arguments: argument 'mode' must be one of the "
                 "listed values");
    expect_error(tools, "echo", "{\"count\": 1, \"note\": \"\", "
                 "\"tags\": []}",
                 "invalid arguments: argument 'tags' needs at least 1 items");
    expect_error(tools, "echo", "{\"count\": 1, \"note\": \"\", "
                 "\"tags\": [\"a\", \"b\", \"c\"]}",
                 "invalid arguments: argument 'tags' takes at most 2 items");
    expect_error(tools, "echo", "{\"count\": 1, \"note\": \"\", "
                 "\"tags\": [\"a\", 2]}",
                 "invalid arguments: argument 'tags[1]' must be a STRING");
    expect_error(tools, "echo", "{\"count\": 1, \"note\": \"\", "
                 "\"address\": {}}",
                 "invalid arguments: missing required argument "
                 "'address.zip'");
    expect_error(tools, "echo", "{\"count\": 1, \"note\": \"\", "
                 "\"address\": {\"zip\": 75001}}",
                 "invalid arguments: argument 'address.zip' must be a "
                 "STRING");

    /* nullable required, integral real, unknown keys, optional null */
    res = call(tools, "echo", "{\"count\": 3.0, \"note\": null, "
               "\"mode\": \"slow\", \"tags\": [\"x\"], \"extra\": true, "
               "\"address\": {\"zip\": \"75001\", \"city\": 1}}",
               ORBIS_TOOL_DONE, NULL);
    assert_true(json_is_true(json_object_get(res, "extra")));
    json_decref(res);

    res = call(tools, "echo", "{\"count\": 1, \"note\": \"n\", "
               "\"mode\": null, \"tags\": null}", ORBIS_TOOL_DONE, NULL);
    json_decref(res);

    expect_error(tools, "nope", "{}", "unknown tool 'nope'");
    expect_error(tools, NULL, NULL, "unknown tool ''");

    orbis_tools_free(tools);
}


static void
test_score_lead_rubric(void **state)
{
    json_t         *res;
    orbis_tools_t  *tools;

    (void) state;

    tools = builtin();

    /* everything: 20 + 25 + 25 + 15 + 15 */
    res = lead(tools, "{\"name\": \"Ada\", \"email\": \"ada@example.com\", "
               "\"phone\": \"+44 (20) 7946-0958\", \"company\": \"Acme\", "
               "\"budget\": 80000, \"timeline\": \"ASAP, this week\", "
               "\"need\": \"a voice agent for our support line\", "
               "\"decisionMaker\": true}", 100, "hot");
    assert_int_equal(json_array_size(json_object_get(res, "reasons")), 8);
    assert_string_equal(json_string_value(json_array_get(json_object_get(
                            res, "reasons"), 0)), "email given (+8)");
    assert_true(has_reason(res, "budget 80000, 50000 or more (+25)"));
    assert_true(has_reason(res, "buying now (+25)"));
    assert_true(has_reason(res, "decision maker (+15)"));
    assert_true(has_reason(res, "clear need (+15)"));
    json_decref(res);

    /* nothing known */
    res = lead(tools, "{}", 0, "cold");
    assert_true(has_reason(res, "budget unknown (+0)"));
    assert_true(has_reason(res, "timeline unknown (+0)"));
    assert_true(has_reason(res, "authority unknown (+0)"));
    assert_true(has_reason(res, "need unknown (+0)"));
    json_decref(res);

    /* 8 + 18 + 18 + 0 + 8 = 52 */
    res = lead(tools, "{\"email\": \"bo@shop.io\", \"budget\": 10000, "
               "\"timeline\": \"This month\", \"need\": \"a bot\", "
               "\"decisionMaker\": false}", 52, "warm");
    assert_true(has_reason(res, "not the decision maker (+0)"));
    assert_true(has_reason(res, "vague need (+8)"));
    json_decref(res);

    /* the grade edges: 8 + 8 + 25 + 18 + 15 = 74 hot, 40 warm, 37 cold */
    json_decref(lead(tools, "{\"email\": \"a@b.co\", \"phone\": \"5550100\","
                     " \"budget\": 50000, \"timeline\": \"next week\","
                     " \"decisionMaker\": true}", 74, "hot"));
    json_decref(lead(tools, "{\"budget\": 50000, \"decisionMaker\": true}",
                     40, "warm"));
    json_decref(lead(tools, "{\"budget\": 49999.99, \"decisionMaker\": true,"
                     " \"company\": \"x\", \"name\": \"y\", \"phone\": "
                     "\"12\"}", 37, "cold"));

    /* budget bands */
    json_decref(lead(tools, "{\"budget\": 1000}", 10, "cold"));
    json_decref(lead(tools, "{\"budget\": 999}", 4, "cold"));
    json_decref(lead(tools, "{\"budget\": 0}", 0, "cold"));

    /* timelines: whole words, "no plans" first, unknown text is unclear */
    json_decref(lead(tools, "{\"timeline\": \"not now\"}", 0, "cold"));
    json_decref(lead(tools, "{\"timeline\": \"Right now!\"}", 25, "cold"));
    json_decref(lead(tools, "{\"timeline\": \"I know, by spring\"}", 4,
                     "cold"));
    json_decref(lead(tools, "{\"timeline\": \"next month\"}", 10, "cold"));
    json_decref(lead(tools, "{\"timeline\": \"in 3 months\"}", 10, "cold"));
    json_decref(lead(tools, "{\"timeline\": \"maybe in 6 months\"}", 4,
                     "cold"));
    json_decref(lead(tools, "{\"timeline\": \"just looking\"}", 0, "cold"));
    json_decref(lead(tools, "{\"timeline\": \"   \"}", 0, "cold"));

    /* contact details that do not look real earn nothing */
    json_decref(lead(tools, "{\"email\": \"ada@localhost\", "
                     "\"phone\": \"call me\"}", 0, "cold"));
    json_decref(lead(tools, "{\"email\": \"a b@c.de\", "
                     "\"phone\": \"12345678901234567\"}", 0, "cold"));
    json_decref(lead(tools, "{\"email\": \"@c.de\", "
                     "\"phone\": \"555-0100 x+1\"}", 0, "cold"));

    orbis_tools_free(tools);
}


static void
test_generate_tone(void **state)
{
    size_t             n, i;
    done_t             d;
    json_t            *res, *args;
    int16_t           *pcm;
    uint32_t           rate;
    orbis_tools_t     *tools;
    orbis_tool_ctx_t  *ctx;

    (void) state;

    tools = builtin();

    /* the default rate, 24 kHz: 3 * 2400 + 2 * 1440 samples */
    res = call(tools, "generate_tone", "{\"digits\": \"12#\"}",
               ORBIS_TOOL_DONE, &ctx);
    assert_string_equal(json_string_value(json_object_get(res, "digits")),
                        "12#");
    assert_int_equal(json_integer_value(json_object_get(res, "samples")),
                     10080);
    assert_int_equal(json_integer_value(json_object_get(res, "durationMs")),
                     420);
    json_decref(res);

    assert_int_equal(orbis_tool_ctx_take_audio(ctx, &pcm, &n, &rate), 1);
    assert_int_equal(n, 10080);
    assert_int_equal(rate, 24000);

    for (i = 2400; i < 2400 + 1440; i++) {
        assert_int_equal(pcm[i], 0);
    }

    assert_true(pcm[1200] != 0);
    free(pcm);

    /* taken once */
    assert_int_equal(orbis_tool_ctx_take_audio(ctx, &pcm, &n, &rate), 0);
    assert_null(pcm);
    orbis_tool_ctx_release(ctx);

    /* the caller's rate and lengths */
    memset(&d, 0, sizeof(d));
    ctx = new_ctx("function-call-2", 8000, &d);
    args = json_pack("{s:s, s:f, s:i}", "digits", "0", "toneMs", 200.7,
                     "gapMs", 0);
    assert_int_equal(orbis_tools_call(tools, ctx, "generate_tone", args, 5,
                                      &res),
                     ORBIS_TOOL_DONE);
    assert_int_equal(json_integer_value(json_object_get(res, "samples")),
                     1600);
    assert_int_equal(orbis_tool_ctx_take_audio(ctx, &pcm, &n, &rate), 1);
    assert_int_equal(rate, 8000);
    assert_int_equal(n, 1600);
    free(pcm);
    json_decref(res);
    json_decref(args);
    orbis_tool_ctx_release(ctx);

    /* a bad digit: an error for the model and no audio */
    res = call(tools, "generate_tone", "{\"digits\": \"12E\"}",
               ORBIS_TOOL_ERROR, &ctx);
    assert_non_null(strstr(json_string_value(json_object_get(res, "error")),
                           "'E' at 2"));
    assert_int_equal(orbis_tool_ctx_take_audio(ctx, &pcm, &n, &rate), 0);
    assert_int_equal(orbis_tool_ctx_audit(ctx)->error_code,
                     ORBIS_ERR_INVALID);
    json_decref(res);
    orbis_tool_ctx_release(ctx);

    expect_error(tools, "generate_tone", "{\"digits\": \"\"}",
                 "digits must hold 1 to 32 characters");
    expect_error(tools, "generate_tone",
                 "{\"digits\": \"123456789012345678901234567890123\"}",
                 "digits must hold 1 to 32 characters");

    /* audio left behind is freed with the context */
    res = call(tools, "generate_tone", "{\"digits\": \"D\"}",
               ORBIS_TOOL_DONE, NULL);
    json_decref(res);

    orbis_tools_free(tools);
}


static void
test_pending_completion(void **state)
{
    done_t                     d;
    json_t                    *res;
    slow_t                     slow;
    orbis_err_t                err;
    orbis_tool_t               def;
    orbis_tools_t             *tools;
    orbis_tool_ctx_t          *ctx;
    const orbis_tool_audit_t  *a;

    (void) state;

    tools = orbis_tools_new();
    memset(&slow, 0, sizeof(slow));
    memset(&def, 0, sizeof(def));
    def.name = "lookup_order";
    def.description = "Find an order";
    def.parameters = "{\"type\": \"OBJECT\", \"properties\": "
                     "{\"order\": {\"type\": \"STRING\"}}}";
    def.timeout_ms = 5000;
    def.run = slow_run;
    def.data = &slow;
    assert_int_equal(orbis_tools_register(tools, &def, &err), ORBIS_OK);

    memset(&d, 0, sizeof(d));
    ctx = new_ctx("function-call-9", 0, &d);

    assert_string_equal(orbis_tool_ctx_call_id(ctx), "function-call-9");
    assert_string_equal(orbis_tool_ctx_tenant_id(ctx), "tenant-7");
    assert_int_equal(orbis_tool_ctx_output_rate(ctx), 24000);
    assert_ptr_equal(orbis_tool_ctx_io(ctx), &d);
    assert_int_equal(orbis_tool_ctx_status(ctx), ORBIS_TOOL_STATUS_IDLE);

    assert_int_equal(orbis_tools_call(tools, ctx, "lookup_order", NULL, 100,
                                      &res),
                     ORBIS_TOOL_PENDING);
    assert_null(res);
    assert_ptr_equal(slow.pending, ctx);
    assert_int_equal(orbis_tool_ctx_status(ctx), ORBIS_TOOL_STATUS_RUNNING);
    assert_int_equal(orbis_tool_ctx_timeout_ms(ctx), 5000);
    assert_int_equal(orbis_tool_ctx_audit(ctx)->finished_ms, 0);

    /* the registry may go away while the call is out */
    orbis_tools_free(tools);

    assert_int_equal(orbis_tool_complete(ctx, json_pack("{s:s}", "state",
                                                        "shipped"), 350),
                     ORBIS_OK);
    assert_int_equal(d.calls, 1);
    assert_ptr_equal(d.ctx, ctx);
    assert_int_equal(d.status, ORBIS_TOOL_STATUS_OK);
    assert_string_equal(json_string_value(json_object_get(d.result,
                                                          "state")),
                        "shipped");

    a = orbis_tool_ctx_audit(ctx);
    assert_int_equal(a->status, ORBIS_TOOL_STATUS_OK);
    assert_int_equal(a->started_ms, 100);
    assert_int_equal(a->finished_ms, 350);
    assert_string_equal(a->name, "lookup_order");
    assert_string_equal(a->args, "{}");
    assert_string_equal(a->result, "{\"state\":\"shipped\"}");
    assert_null(a->error);

    /* a second completion, a failure, a timeout: all too late */
    assert_int_equal(orbis_tool_complete(ctx, json_object(), 400),
                     ORBIS_ERR_EXPIRED);
    assert_int_equal(orbis_tool_fail(ctx, ORBIS_ERR_INTERNAL, "x", 400),
                     ORBIS_ERR_EXPIRED);
    assert_null(orbis_tool_timeout(ctx, 400));
    assert_int_equal(orbis_tool_cancel(ctx, 400), ORBIS_ERR_EXPIRED);
    assert_int_equal(d.calls, 1);
    assert_int_equal(a->finished_ms, 350);

    /* a context serves one call */
    assert_int_equal(orbis_tools_call(NULL, ctx, "lookup_order", NULL, 500,
                                      &res),
                     ORBIS_TOOL_ERROR);
    assert_string_equal(json_string_value(json_object_get(res, "error")),
                        "tool call context already used");
    json_decref(res);

    orbis_tool_ctx_release(ctx);       /* the tool's reference */
    orbis_tool_ctx_release(ctx);       /* the caller's */
    json_decref(d.result);
}


static void
test_timeout_and_cancel(void **state)
{
    done_t             d;
    json_t            *res;
    slow_t             slow;
    orbis_err_t        err;
    orbis_tool_t       def;
    orbis_tools_t     *tools;
    orbis_tool_ctx_t  *ctx;

    (void) state;

    tools = orbis_tools_new();
    memset(&slow, 0, sizeof(slow));
    memset(&def, 0, sizeof(def));
    def.name = "slow";
    def.description = "Takes its time";
    def.timeout_ms = 5000;
    def.run = slow_run;
    def.data = &slow;
    assert_int_equal(orbis_tools_register(tools, &def, &err), ORBIS_OK);

    /* timeout: the caller answers the model, the late result is dropped */
    memset(&d, 0, sizeof(d));
    ctx = new_ctx("c1", 0, &d);
    assert_int_equal(orbis_tools_call(tools, ctx, "slow", NULL, 1000, &res),
                     ORBIS_TOOL_PENDING);

    res = orbis_tool_timeout(ctx, 6000);
    assert_non_null(res);
    assert_string_equal(json_string_value(json_object_get(res, "error")),
                        "tool 'slow' timed out after 5000 ms");
    json_decref(res);
    assert_int_equal(orbis_tool_ctx_status(ctx), ORBIS_TOOL_STATUS_TIMEOUT);
    assert_null(orbis_tool_timeout(ctx, 6001));

    /* the caller lets go first; the tool still holds the context */
    orbis_tool_ctx_release(ctx);
    assert_int_equal(orbis_tool_complete(slow.pending, json_object(), 9000),
                     ORBIS_ERR_EXPIRED);
    assert_int_equal(d.calls, 0);

    res = orbis_tool_audit_json(orbis_tool_ctx_audit(slow.pending));
    assert_string_equal(json_string_value(json_object_get(res, "status")),
                        "timeout");
    assert_int_equal(json_integer_value(json_object_get(res, "durationMs")),
                     5000);
    assert_string_equal(json_string_value(json_object_get(res, "errorCode")),
                        "expired");
    json_decref(res);
    orbis_tool_ctx_release(slow.pending);

    /* cancellation by the model */
    memset(&d, 0, sizeof(d));
    ctx = new_ctx("c2", 0, &d);
    assert_int_equal(orbis_tools_call(tools, ctx, "slow", NULL, 1000, &res),
                     ORBIS_TOOL_PENDING);
    assert_int_equal(orbis_tool_cancel(ctx, 1200), ORBIS_OK);
    assert_int_equal(orbis_tool_ctx_status(ctx), ORBIS_TOOL_STATUS_CANCELLED);
    assert_int_equal(orbis_tool_fail(slow.pending, ORBIS_ERR_INTERNAL,
                                     "boom", 1300),
                     ORBIS_ERR_EXPIRED);
    assert_null(orbis_tool_timeout(ctx, 9000));
    assert_int_equal(d.calls, 0);
    assert_string_equal(orbis_tool_ctx_audit(ctx)->error,
                        "cancelled by the model");
    orbis_tool_ctx_release(slow.pending);
    orbis_tool_ctx_release(ctx);

    /* a failure that arrives in time reaches on_done */
    memset(&d, 0, sizeof(d));
    ctx = new_ctx("c3", 0, &d);
    assert_int_equal(orbis_tools_call(tools, ctx, "slow", NULL, 1000, &res),
                     ORBIS_TOOL_PENDING);
    assert_int_equal(orbis_tool_fail(ctx, ORBIS_ERR_AUTH, "CRM refused us",
                                     1100),
                     ORBIS_OK);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, ORBIS_TOOL_STATUS_ERROR);
    assert_string_equal(json_string_value(json_object_get(d.result, "error")),
                        "CRM refused us");
    assert_int_equal(orbis_tool_ctx_audit(ctx)->error_code, ORBIS_ERR_AUTH);
    json_decref(d.result);
    orbis_tool_ctx_release(slow.pending);
    orbis_tool_ctx_release(ctx);

    orbis_tools_free(tools);
}


static void
test_handler_outcomes(void **state)
{
    json_t         *res;
    slow_t          slow;
    orbis_err_t     err;
    orbis_tool_t    def;
    orbis_tools_t  *tools;

    (void) state;

    tools = orbis_tools_new();
    memset(&slow, 0, sizeof(slow));
    memset(&def, 0, sizeof(def));
    def.name = "h";
    def.description = "handler outcomes";
    def.parameters = "{\"type\": \"OBJECT\", \"properties\": "
                     "{\"order\": {\"type\": \"STRING\"}}}";
    def.run = slow_run;
    def.data = &slow;
    assert_int_equal(orbis_tools_register(tools, &def, &err), ORBIS_OK);

    /* completed before returning PENDING: the answer comes back at once */
    slow.mode = SLOW_COMPLETE_INSIDE;
    res = call(tools, "h", NULL, ORBIS_TOOL_DONE, NULL);
    assert_string_equal(json_string_value(json_object_get(res, "at")),
                        "once");
    json_decref(res);

    /* a bare value is wrapped into an object */
    slow.mode = SLOW_NUMBER;
    res = call(tools, "h", NULL, ORBIS_TOOL_DONE, NULL);
    assert_int_equal(json_integer_value(json_object_get(res, "result")), 42);
    json_decref(res);

    slow.mode = SLOW_NO_RESULT;
    expect_error(tools, "h", NULL, "tool returned no result");

    slow.mode = SLOW_ERROR;
    expect_error(tools, "h", "{\"order\": \"A-17\"}", "no such order A-17");

    /* invalid UTF-8 in a message is cut, not passed on or crashed on */
    slow.mode = SLOW_BAD_UTF8;
    expect_error(tools, "h", NULL, "upstream said ");

    orbis_tools_free(tools);
}


static void
test_audit_record(void **state)
{
    char                      *big;
    done_t                     d;
    json_t                    *res, *args, *j;
    orbis_err_t                err;
    orbis_tools_t             *tools;
    orbis_tool_ctx_t          *ctx;
    const orbis_tool_audit_t  *a;

    (void) state;

    tools = orbis_tools_new();
    assert_int_equal(reg(tools, "echo", NULL, &err), ORBIS_OK);

    big = malloc(10001);
    assert_non_null(big);
    memset(big, 'x', 10000);
    big[10000] = '\0';

    memset(&d, 0, sizeof(d));
    ctx = new_ctx("function-call-3", 0, &d);
    args = json_pack("{s:s, s:s}", "city", "Z\xc3\xbcrich", "blob", big);

    assert_int_equal(orbis_tools_call(tools, ctx, "echo", args, 10, &res),
                     ORBIS_TOOL_DONE);

    a = orbis_tool_ctx_audit(ctx);
    assert_int_equal(strlen(a->args), ORBIS_TOOL_AUDIT_MAX);
    assert_true(a->args_truncated);
    assert_int_equal(strncmp(a->args, "{\"city\":\"Z\\u00FCrich\",\"blob\":"
                             "\"xxx", 32), 0);
    assert_int_equal(strlen(a->result), ORBIS_TOOL_AUDIT_MAX);
    assert_true(a->result_truncated);

    j = orbis_tool_audit_json(a);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "callId")),
                        "function-call-3");
    assert_string_equal(json_string_value(json_object_get(j, "tenantId")),
                        "tenant-7");
    assert_string_equal(json_string_value(json_object_get(j, "name")),
                        "echo");
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "ok");
    assert_true(json_is_true(json_object_get(j, "argsTruncated")));
    assert_true(json_is_true(json_object_get(j, "resultTruncated")));
    assert_int_equal(json_integer_value(json_object_get(j, "startedMs")), 10);
    assert_int_equal(json_integer_value(json_object_get(j, "finishedMs")),
                     10);
    assert_int_equal(json_integer_value(json_object_get(j, "durationMs")), 0);
    assert_null(json_object_get(j, "error"));
    json_decref(j);

    json_decref(res);
    json_decref(args);
    orbis_tool_ctx_release(ctx);
    free(big);

    /* a call still running has no end yet */
    memset(&d, 0, sizeof(d));
    ctx = new_ctx("function-call-4", 0, &d);
    j = orbis_tool_audit_json(orbis_tool_ctx_audit(ctx));
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "idle");
    assert_null(json_object_get(j, "finishedMs"));
    assert_null(json_object_get(j, "result"));
    json_decref(j);
    orbis_tool_ctx_release(ctx);

    assert_string_equal(orbis_tool_status_name(ORBIS_TOOL_STATUS_CANCELLED),
                        "cancelled");
    assert_string_equal(orbis_tool_status_name((orbis_tool_status_t) 99),
                        "unknown");

    assert_null(orbis_tool_ctx_new(NULL, &err));
    {
        orbis_tool_ctx_conf_t  conf;

        memset(&conf, 0, sizeof(conf));
        assert_null(orbis_tool_ctx_new(&conf, &err));
        assert_int_equal(err.code, ORBIS_ERR_INVALID);
    }

    orbis_tools_free(tools);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_schema_checks),
        cmocka_unit_test(test_declarations),
        cmocka_unit_test(test_argument_validation),
        cmocka_unit_test(test_score_lead_rubric),
        cmocka_unit_test(test_generate_tone),
        cmocka_unit_test(test_pending_completion),
        cmocka_unit_test(test_timeout_and_cancel),
        cmocka_unit_test(test_handler_outcomes),
        cmocka_unit_test(test_audit_record),
    };

    return cmocka_run_group_tests_name("tools", tests, NULL, NULL);
}
