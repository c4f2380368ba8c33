/*
 * Copyright (C) Orbis
 *
 * Checking a tool's parameter schema when it is registered.
 *
 * The schema goes to Gemini verbatim in the setup message, and Gemini
 * answers a schema it does not like by closing the session (1007), long
 * after the tool was configured.  So only the subset of its Schema type
 * that we can also enforce on arguments is accepted, and mistakes are
 * reported at registration with the place they are in.
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tools_int.h"


#define ORBIS_TOOLS_SCHEMA_DEPTH  8
#define ORBIS_TOOLS_PATH_LEN      160


static orbis_rc_t orbis_tools_schema_node(json_t *node, const char *path,
    int depth, orbis_err_t *err);
static orbis_rc_t orbis_tools_schema_type(json_t *node, const char *path,
    const char **type, orbis_err_t *err);
static orbis_rc_t orbis_tools_schema_keys(json_t *node, const char *path,
    const char *type, orbis_err_t *err);
static orbis_rc_t orbis_tools_schema_object(json_t *node, const char *path,
    int depth, orbis_err_t *err);
static int orbis_tools_key_allowed(const char *key, const char *type);


static const char  *orbis_tools_types[] = {
    "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"
};


orbis_rc_t
orbis_tools_schema_check(json_t *schema, orbis_err_t *err)
{
    json_t      *type;
    orbis_rc_t   rc;

    rc = orbis_tools_schema_node(schema, "parameters", 0, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    type = json_object_get(schema, "type");

    if (strcmp(json_string_value(type), "OBJECT") != 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "parameters: the top level must be an OBJECT");
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_tools_schema_node(json_t *node, const char *path, int depth,
    orbis_err_t *err)
{
    char         sub[ORBIS_TOOLS_PATH_LEN];
    json_t      *v;
    orbis_rc_t   rc;
    const char  *type;

    type = "";

    if (depth > ORBIS_TOOLS_SCHEMA_DEPTH) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: nested too deeply", path);
    }

    if (!json_is_object(node)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: a schema must be an object", path);
    }

    rc = orbis_tools_schema_type(node, path, &type, err);
    if (rc == ORBIS_OK) {
        rc = orbis_tools_schema_keys(node, path, type, err);
    }

    if (rc != ORBIS_OK) {
        return rc;
    }

    if (strcmp(type, "OBJECT") == 0) {
        return orbis_tools_schema_object(node, path, depth, err);
    }

    if (strcmp(type, "ARRAY") == 0) {
        v = json_object_get(node, "items");

        if (v == NULL) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: an ARRAY needs items", path);
        }

        snprintf(sub, sizeof(sub), "%s.items", path);

        return orbis_tools_schema_node(v, sub, depth + 1, err);
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_tools_schema_type(json_t *node, const char *path, const char **type,
    orbis_err_t *err)
{
    size_t       i;
    json_t      *v;
    const char  *s;

    v = json_object_get(node, "type");

    if (!json_is_string(v)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: \"type\" must be a string", path);
    }

    s = json_string_value(v);

    for (i = 0; i < sizeof(orbis_tools_types) / sizeof(char *); i++) {
        if (strcasecmp(s, orbis_tools_types[i]) == 0) {
            /* Gemini's enum is upper case; "string" from a person is fine */
            if (strcmp(s, orbis_tools_types[i]) != 0
                && json_string_set(v, orbis_tools_types[i]) != 0)
            {
                return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
            }

            *type = orbis_tools_types[i];
            return ORBIS_OK;
        }
    }

    return orbis_err_set(err, ORBIS_ERR_INVALID,
                         "%s: unknown type \"%.32s\"", path, s);
}


static orbis_rc_t
orbis_tools_schema_keys(json_t *node, const char *path, const char *type,
    orbis_err_t *err)
{
    int          numeric;
    size_t       i;
    json_t      *v, *e, *lo, *hi;
    const char  *key;

    numeric = strcmp(type, "NUMBER") == 0 || strcmp(type, "INTEGER") == 0;

    json_object_foreach(node, key, v) {
        if (!orbis_tools_key_allowed(key, type)) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: \"%.32s\" is not allowed for %s", path,
                                 key, type);
        }

        if ((strcmp(key, "description") == 0 || strcmp(key, "format") == 0)
            && !json_is_string(v))
        {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: \"%s\" must be a string", path, key);
        }

        if (strcmp(key, "nullable") == 0 && !json_is_boolean(v)) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: \"nullable\" must be true or false",
                                 path);
        }

        if ((strcmp(key, "minimum") == 0 || strcmp(key, "maximum") == 0)
            && !json_is_number(v))
        {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: \"%s\" must be a number", path, key);
        }

        if ((strcmp(key, "minItems") == 0 || strcmp(key, "maxItems") == 0)
            && (!json_is_integer(v) || json_integer_value(v) < 0))
        {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: \"%s\" must be a count", path, key);
        }

        if (strcmp(key, "enum") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0) {
                return orbis_err_set(err, ORBIS_ERR_INVALID,
                                     "%s: \"enum\" must be a list of strings",
                                     path);
            }

            json_array_foreach(v, i, e) {
                if (!json_is_string(e)) {
                    return orbis_err_set(err, ORBIS_ERR_INVALID,
                                         "%s: \"enum\" must be a list of "
                                         "strings", path);
                }
            }
        }
    }

    lo = json_object_get(node, numeric ? "minimum" : "minItems");
    hi = json_object_get(node, numeric ? "maximum" : "maxItems");

    if (lo != NULL && hi != NULL
        && json_number_value(lo) > json_number_value(hi))
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: the lower bound is above the upper", path);
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_tools_schema_object(json_t *node, const char *path, int depth,
    orbis_err_t *err)
{
    char         sub[ORBIS_TOOLS_PATH_LEN];
    size_t       i;
    json_t      *props, *req, *v;
    orbis_rc_t   rc;
    const char  *key;

    props = json_object_get(node, "properties");

    if (props != NULL && !json_is_object(props)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: \"properties\" must be an object", path);
    }

    json_object_foreach(props, key, v) {
        snprintf(sub, sizeof(sub), "%s.%s", path, key);

        rc = orbis_tools_schema_node(v, sub, depth + 1, err);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    req = json_object_get(node, "required");

    if (req == NULL) {
        return ORBIS_OK;
    }

    if (!json_is_array(req)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: \"required\" must be a list", path);
    }

    json_array_foreach(req, i, v) {
        if (!json_is_string(v)
            || json_object_get(props, json_string_value(v)) == NULL)
        {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: \"required\" names a property that "
                                 "is not declared", path);
        }
    }

    return ORBIS_OK;
}


static int
orbis_tools_key_allowed(const char *key, const char *type)
{
    if (strcmp(key, "type") == 0 || strcmp(key, "description") == 0
        || strcmp(key, "nullable") == 0 || strcmp(key, "format") == 0)
    {
        return 1;
    }

    if (strcmp(key, "enum") == 0) {
        return strcmp(type, "STRING") == 0;
    }

    if (strcmp(key, "properties") == 0 || strcmp(key, "required") == 0) {
        return strcmp(type, "OBJECT") == 0;
    }

    if (strcmp(key, "items") == 0 || strcmp(key, "minItems") == 0
        || strcmp(key, "maxItems") == 0)
    {
        return strcmp(type, "ARRAY") == 0;
    }

    if (strcmp(key, "minimum") == 0 || strcmp(key, "maximum") == 0) {
        return strcmp(type, "NUMBER") == 0 || strcmp(type, "INTEGER") == 0;
    }

    return 0;
}
