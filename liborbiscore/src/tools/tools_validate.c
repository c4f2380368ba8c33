/*
 * Copyright (C) Orbis
 *
 * Checking a call's arguments against the tool's schema before the handler
 * sees them.  Models do send wrong types, drop required fields and invent
 * values outside an enum; the message says which argument is wrong so the
 * model can correct itself on the next turn.
 */


#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tools_int.h"


#define ORBIS_TOOLS_PATH_LEN  160


static orbis_rc_t orbis_tools_check(const json_t *schema, const json_t *v,
    const char *path, orbis_err_t *err);
static orbis_rc_t orbis_tools_check_object(const json_t *schema,
    const json_t *v, const char *path, orbis_err_t *err);
static orbis_rc_t orbis_tools_check_array(const json_t *schema,
    const json_t *v, const char *path, orbis_err_t *err);
static int orbis_tools_type_ok(const char *type, const json_t *v);
static int orbis_tools_nullable(const json_t *schema);
static void orbis_tools_path(char *buf, size_t size, const char *path,
    const char *key);


orbis_rc_t
orbis_tool_validate_args(const orbis_tool_t *tool, const json_t *args,
    orbis_err_t *err)
{
    const json_t  *schema;

    schema = orbis_tool_schema(tool);

    if (args != NULL && !json_is_object(args)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "arguments must be an object");
    }

    if (schema == NULL) {
        return ORBIS_OK;
    }

    if (args == NULL) {
        /* no arguments is fine unless something is required */
        return orbis_tools_check_object(schema, NULL, "", err);
    }

    return orbis_tools_check(schema, args, "", err);
}


static orbis_rc_t
orbis_tools_check(const json_t *schema, const json_t *v, const char *path,
    orbis_err_t *err)
{
    size_t         i;
    double         d;
    const char    *type, *s;
    const json_t  *bound, *e, *list;

    type = json_string_value(json_object_get(schema, "type"));

    if (json_is_null(v) && orbis_tools_nullable(schema)) {
        return ORBIS_OK;
    }

    if (!orbis_tools_type_ok(type, v)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "argument '%s' must be %s %s",
                             path[0] ? path : "(top)",
                             (type[0] == 'A' || type[0] == 'I'
                              || type[0] == 'O') ? "an" : "a", type);
    }

    if (strcmp(type, "OBJECT") == 0) {
        return orbis_tools_check_object(schema, v, path, err);
    }

    if (strcmp(type, "ARRAY") == 0) {
        return orbis_tools_check_array(schema, v, path, err);
    }

    if (strcmp(type, "STRING") == 0) {
        list = json_object_get(schema, "enum");

        if (list == NULL) {
            return ORBIS_OK;
        }

        s = json_string_value(v);

        json_array_foreach(list, i, e) {
            if (strcmp(json_string_value(e), s) == 0) {
                return ORBIS_OK;
            }
        }

        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "argument '%s' must be one of the listed values",
                             path);
    }

    if (strcmp(type, "NUMBER") == 0 || strcmp(type, "INTEGER") == 0) {
        d = json_number_value(v);

        bound = json_object_get(schema, "minimum");
        if (bound != NULL && d < json_number_value(bound)) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "argument '%s' must be at least %g", path,
                                 json_number_value(bound));
        }

        bound = json_object_get(schema, "maximum");
        if (bound != NULL && d > json_number_value(bound)) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "argument '%s' must be at most %g", path,
                                 json_number_value(bound));
        }
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_tools_check_object(const json_t *schema, const json_t *v,
    const char *path, orbis_err_t *err)
{
    char           sub[ORBIS_TOOLS_PATH_LEN];
    size_t         i;
    const char    *key;
    const json_t  *props, *req, *e, *p, *a;

    props = json_object_get(schema, "properties");
    req = json_object_get(schema, "required");

    json_array_foreach(req, i, e) {
        key = json_string_value(e);
        a = json_object_get(v, key);
        p = json_object_get(props, key);

        if (a == NULL || (json_is_null(a) && !orbis_tools_nullable(p))) {
            orbis_tools_path(sub, sizeof(sub), path, key);
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "missing required argument '%s'", sub);
        }
    }

    if (v == NULL) {
        return ORBIS_OK;
    }

    /* unknown keys are ignored: handlers read only what they declared */
    json_object_foreach((json_t *) props, key, p) {
        a = json_object_get(v, key);

        /* an optional argument sent as null counts as left out */
        if (a == NULL || json_is_null(a)) {
            continue;
        }

        orbis_tools_path(sub, sizeof(sub), path, key);

        if (orbis_tools_check(p, a, sub, err) != ORBIS_OK) {
            return ORBIS_ERR_INVALID;
        }
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_tools_check_array(const json_t *schema, const json_t *v,
    const char *path, orbis_err_t *err)
{
    char           sub[ORBIS_TOOLS_PATH_LEN];
    size_t         i, n;
    const json_t  *items, *e, *bound;

    n = json_array_size(v);

    bound = json_object_get(schema, "minItems");
    if (bound != NULL && (json_int_t) n < json_integer_value(bound)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "argument '%s' needs at least %lld items", path,
                             (long long) json_integer_value(bound));
    }

    bound = json_object_get(schema, "maxItems");
    if (bound != NULL && (json_int_t) n > json_integer_value(bound)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "argument '%s' takes at most %lld items", path,
                             (long long) json_integer_value(bound));
    }

    items = json_object_get(schema, "items");

    json_array_foreach(v, i, e) {
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);

        if (orbis_tools_check(items, e, sub, err) != ORBIS_OK) {
            return ORBIS_ERR_INVALID;
        }
    }

    return ORBIS_OK;
}


static int
orbis_tools_type_ok(const char *type, const json_t *v)
{
    double  d;

    switch (type[0]) {

    case 'S':
        return json_is_string(v);

    case 'N':
        return json_is_number(v);

    case 'I':
        if (json_is_integer(v)) {
            return 1;
        }

        /* 5.0 from a model that writes every number as a real */
        if (json_is_real(v)) {
            d = json_real_value(v);
            return isfinite(d) && d == floor(d) && fabs(d) < 9.0e15;
        }

        return 0;

    case 'B':
        return json_is_boolean(v);

    case 'A':
        return json_is_array(v);

    default:
        return json_is_object(v);
    }
}


static int
orbis_tools_nullable(const json_t *schema)
{
    return json_is_true(json_object_get(schema, "nullable"));
}


static void
orbis_tools_path(char *buf, size_t size, const char *path, const char *key)
{
    if (path[0] == '\0') {
        snprintf(buf, size, "%s", key);

    } else {
        snprintf(buf, size, "%s.%s", path, key);
    }
}
