/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "validate_int.h"


#define ORBIS_VFIELD_MAX  64


static orbis_rc_t orbis_vjson_fields(json_t *obj, const char *const *known,
    orbis_err_t *err);


orbis_rc_t
orbis_vjson_load(const char *body, size_t len, const char *const *known,
    json_t **root, orbis_err_t *err)
{
    json_t        *j;
    orbis_rc_t     rc;
    json_error_t   jerr;

    *root = NULL;

    if (len > ORBIS_BODY_MAX) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "body: must be at most %d bytes",
                             ORBIS_BODY_MAX);
    }

    if (body == NULL || len == 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "body: must be a JSON object");
    }

    j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                   &jerr);

    if (j == NULL) {
        /*
         * a 503 for the server's trouble, not a 400 for the client's; a
         * parser that could not even start (no text, no position) ran out
         * of memory too
         */
        if (json_error_code(&jerr) == json_error_out_of_memory
            || (jerr.text[0] == '\0' && jerr.line == -1))
        {
            return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        }

        if (json_error_code(&jerr) == json_error_duplicate_key) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "body: duplicate member at line %d "
                                 "column %d", jerr.line, jerr.column);
        }

        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "body: not valid JSON at line %d column %d",
                             jerr.line, jerr.column);
    }

    if (!json_is_object(j)) {
        json_decref(j);
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "body: must be a JSON object");
    }

    rc = orbis_vjson_fields(j, known, err);
    if (rc != ORBIS_OK) {
        json_decref(j);
        return rc;
    }

    *root = j;

    return ORBIS_OK;
}


/* refuses members whose name is not in the NULL-terminated list known */

static orbis_rc_t
orbis_vjson_fields(json_t *obj, const char *const *known, orbis_err_t *err)
{
    char         quoted[64];
    size_t       i;
    json_t      *value;
    const char  *key;

    json_object_foreach(obj, key, value) {
        for (i = 0; known[i] != NULL; i++) {
            if (strcmp(known[i], key) == 0) {
                break;
            }
        }

        if (known[i] == NULL) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "body: unknown field%s",
                                 orbis_vquote(key, strlen(key), quoted,
                                              sizeof(quoted)));
        }
    }

    return ORBIS_OK;
}


int
orbis_vjson_null(json_t *obj, const char *field)
{
    return json_is_null(json_object_get(obj, field));
}


orbis_rc_t
orbis_vjson_not_null(json_t *obj, const char *field, int partial,
    orbis_err_t *err)
{
    if (!orbis_vjson_null(obj, field)) {
        return ORBIS_OK;
    }

    if (partial) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: cannot be null; leave it out to keep the "
                             "current value", field);
    }

    return orbis_err_set(err, ORBIS_ERR_INVALID,
                         "%s: is required and cannot be null", field);
}


orbis_rc_t
orbis_vjson_str(json_t *obj, const char *field, int required,
    const char **s, size_t *len, orbis_err_t *err)
{
    json_t  *v;

    *s = NULL;
    *len = 0;

    v = json_object_get(obj, field);

    if (v == NULL) {
        if (required) {
            return orbis_err_set(err, ORBIS_ERR_INVALID, "%s: is required",
                                 field);
        }

        return ORBIS_OK;
    }

    if (!json_is_string(v)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "%s: must be a string",
                             field);
    }

    *s = json_string_value(v);
    *len = json_string_length(v);

    return ORBIS_OK;
}


orbis_rc_t
orbis_vjson_int(json_t *obj, const char *field, int64_t min, int64_t max,
    int *present, int64_t *v, orbis_err_t *err)
{
    json_t      *j;
    json_int_t   n;

    *present = 0;

    j = json_object_get(obj, field);
    if (j == NULL) {
        return ORBIS_OK;
    }

    if (!json_is_integer(j)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: must be an integer", field);
    }

    n = json_integer_value(j);

    if (n < min || n > max) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "%s: must be between %lld and %lld", field,
                             (long long) min, (long long) max);
    }

    *present = 1;
    *v = (int64_t) n;

    return ORBIS_OK;
}


orbis_rc_t
orbis_vjson_list(json_t *obj, const char *field, size_t max,
    orbis_vcheck_pt check, const void *ctx, int *present, char ***items,
    size_t *n, orbis_err_t *err)
{
    char        name[ORBIS_VFIELD_MAX], *canon;
    size_t      i;
    json_t     *arr, *v;
    orbis_rc_t  rc;

    *present = 0;

    arr = json_object_get(obj, field);
    if (arr == NULL) {
        return ORBIS_OK;
    }

    if (!json_is_array(arr)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "%s: must be an array",
                             field);
    }

    if (json_array_size(arr) > max) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "%s: must have at most %zu items", field, max);
    }

    json_array_foreach(arr, i, v) {
        snprintf(name, sizeof(name), "%s[%zu]", field, i);

        if (!json_is_string(v)) {
            rc = orbis_err_set(err, ORBIS_ERR_INVALID,
                               "%s: must be a string", name);
            goto failed;
        }

        rc = check(name, json_string_value(v), json_string_length(v), ctx,
                   &canon, err);
        if (rc != ORBIS_OK) {
            goto failed;
        }

        if (orbis_vlist_has(*items, *n, canon)) {
            orbis_free(canon);
            rc = orbis_err_set(err, ORBIS_ERR_INVALID,
                               "%s: duplicate of an earlier item", name);
            goto failed;
        }

        rc = orbis_vlist_add(items, n, canon);
        if (rc != ORBIS_OK) {
            orbis_err_set(err, rc, "out of memory");
            goto failed;
        }
    }

    *present = 1;

    return ORBIS_OK;

failed:

    orbis_vlist_free(*items, *n);
    *items = NULL;
    *n = 0;

    return rc;
}


orbis_rc_t
orbis_vjson_name(json_t *obj, const char *field, int required,
    int allow_empty, char **out, orbis_err_t *err)
{
    size_t       n;
    orbis_rc_t   rc;
    const char  *s;

    *out = NULL;

    rc = orbis_vjson_str(obj, field, required, &s, &n, err);
    if (rc != ORBIS_OK || s == NULL) {
        return rc;
    }

    orbis_vtrim(&s, &n);

    if (n == 0 && allow_empty) {
        return ORBIS_OK;
    }

    rc = orbis_vtext_check(field, s, n, 1, ORBIS_NAME_MAX, 0, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    *out = orbis_vstrdup(s, n);
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    return ORBIS_OK;
}
