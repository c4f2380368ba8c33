/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/strbuf.h>


#define ORBIS_STRBUF_MIN  256


typedef struct {
    orbis_strbuf_t  *buf;
    orbis_rc_t       rc;
} orbis_strbuf_dump_t;


static int orbis_strbuf_dump_cb(const char *buffer, size_t size, void *data);


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
             * jansson failed inside: its own allocations (it cannot make
             * a NaN real, and our values have no cycles)
             */
            return orbis_err_set(err, ORBIS_ERR_NOMEM,
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
