/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/strbuf.h>
#include <orbiscore/utf8.h>

#include "base/base_int.h"


#define ORBIS_STRBUF_MIN  256


typedef struct {
    orbis_strbuf_t  *buf;
    orbis_rc_t       rc;
} orbis_strbuf_dump_t;


static int orbis_strbuf_dump_cb(const char *buffer, size_t size, void *data);
static int orbis_strbuf_json_encodable(const json_t *j, unsigned depth);


void
orbis_strbuf_init(orbis_strbuf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}


void
orbis_strbuf_reset(orbis_strbuf_t *b)
{
    b->len = 0;

    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}


void
orbis_strbuf_free(orbis_strbuf_t *b)
{
    orbis_free(b->data);
    orbis_strbuf_init(b);
}


orbis_rc_t
orbis_strbuf_reserve(orbis_strbuf_t *b, size_t n)
{
    char    *p;
    size_t   need, cap;

    if (n > SIZE_MAX - 1 - b->len) {
        return ORBIS_ERR_RANGE;
    }

    need = b->len + n + 1;

    if (need <= b->cap) {
        return ORBIS_OK;
    }

    cap = (b->cap < ORBIS_STRBUF_MIN) ? ORBIS_STRBUF_MIN : b->cap;

    while (cap < need) {
        cap = (cap > SIZE_MAX / 2) ? need : cap * 2;
    }

    p = orbis_realloc(b->data, cap);
    if (p == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    b->data = p;
    b->cap = cap;

    return ORBIS_OK;
}


orbis_rc_t
orbis_strbuf_append(orbis_strbuf_t *b, const void *p, size_t n)
{
    orbis_rc_t  rc;

    rc = orbis_strbuf_reserve(b, n);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (n != 0) {
        memcpy(b->data + b->len, p, n);
    }

    b->len += n;
    b->data[b->len] = '\0';

    return ORBIS_OK;
}


orbis_rc_t
orbis_strbuf_append_json(orbis_strbuf_t *b, const json_t *j, orbis_err_t *err)
{
    size_t               mark;
    orbis_strbuf_dump_t  d;

    mark = b->len;
    d.buf = b;
    d.rc = ORBIS_OK;

    if (json_dump_callback(j, orbis_strbuf_dump_cb, &d,
                           JSON_COMPACT | JSON_ENCODE_ANY) != 0)
    {
        b->len = mark;

        if (b->data != NULL) {
            b->data[mark] = '\0';
        }

        if (d.rc == ORBIS_OK) {
            /*
             * jansson failed inside: on a value it refuses (a string or
             * key that is not UTF-8, made with a _nocheck constructor;
             * it cannot make a NaN real and our values have no cycles),
             * else on one of its own allocations
             */
            if (orbis_strbuf_json_encodable(j, 0)) {
                return orbis_err_set(err, ORBIS_ERR_NOMEM,
                                     "out of memory encoding JSON");
            }

            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "value cannot be encoded as JSON");
        }

        return orbis_err_set(err, d.rc, "out of memory encoding JSON");
    }

    /* make a buffer that received nothing ("") valid to read */
    return orbis_strbuf_append(b, "", 0);
}


static int
orbis_strbuf_dump_cb(const char *buffer, size_t size, void *data)
{
    orbis_strbuf_dump_t  *d;

    d = data;

    d->rc = orbis_strbuf_append(d->buf, buffer, size);

    return (d->rc == ORBIS_OK) ? 0 : -1;
}


/* every string and key is UTF-8 (and not deeper than Jansson would go) */

static int
orbis_strbuf_json_encodable(const json_t *j, unsigned depth)
{
    size_t       i;
    const char  *key;
    json_t      *v;

    if (depth > 2048) {
        return 0;
    }

    switch (json_typeof(j)) {

    case JSON_STRING:
        return orbis_utf8_valid(json_string_value(j), json_string_length(j),
                                0);

    case JSON_ARRAY:
        for (i = 0; i < json_array_size(j); i++) {
            if (!orbis_strbuf_json_encodable(json_array_get(j, i),
                                             depth + 1))
            {
                return 0;
            }
        }

        return 1;

    case JSON_OBJECT:
        json_object_foreach((json_t *) j, key, v) {
            if (!orbis_utf8_valid(key, strlen(key), 0)
                || !orbis_strbuf_json_encodable(v, depth + 1))
            {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}
