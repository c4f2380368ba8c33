/*
 * Copyright (C) Orbis
 *
 * The byte queue behind the endpoint's output and message reassembly:
 * appended at the end, consumed from the start, compacted lazily so that
 * a caller draining a slow socket does not cause a memmove per write.
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "ws_int.h"


orbis_rc_t
orbis_ws_buf_reserve(orbis_ws_buf_t *b, size_t len)
{
    size_t    used, cap;
    uint8_t  *p;

    if (b->cap - b->end >= len) {
        return ORBIS_OK;
    }

    used = b->end - b->start;

    if (len > SIZE_MAX / 2 - used) {
        return ORBIS_ERR_NOMEM;
    }

    if (b->start > 0 && b->cap - used >= len) {
        memmove(b->data, b->data + b->start, used);
        b->start = 0;
        b->end = used;
        return ORBIS_OK;
    }

    cap = b->cap ? b->cap : 256;

    while (cap - used < len) {
        cap *= 2;
    }

    p = orbis_malloc(cap);
    if (p == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    if (used > 0) {
        memcpy(p, b->data + b->start, used);
    }

    orbis_free(b->data);

    b->data = p;
    b->start = 0;
    b->end = used;
    b->cap = cap;

    return ORBIS_OK;
}


orbis_rc_t
orbis_ws_buf_append(orbis_ws_buf_t *b, const uint8_t *p, size_t len)
{
    if (len == 0) {
        return ORBIS_OK;
    }

    if (orbis_ws_buf_reserve(b, len) != ORBIS_OK) {
        return ORBIS_ERR_NOMEM;
    }

    memcpy(b->data + b->end, p, len);
    b->end += len;

    return ORBIS_OK;
}


void
orbis_ws_buf_consume(orbis_ws_buf_t *b, size_t n)
{
    if (n > b->end - b->start) {
        n = b->end - b->start;
    }

    b->start += n;

    if (b->start == b->end) {
        orbis_ws_buf_reset(b);
    }
}


void
orbis_ws_buf_reset(orbis_ws_buf_t *b)
{
    /*
     * One large message should not pin its buffer for the rest of a long
     * session: thousands of idle sessions would each keep a megabyte.
     */
    if (b->cap > ORBIS_WS_BUF_KEEP) {
        orbis_ws_buf_free(b);
        return;
    }

    b->start = 0;
    b->end = 0;
}


void
orbis_ws_buf_free(orbis_ws_buf_t *b)
{
    orbis_free(b->data);

    b->data = NULL;
    b->start = 0;
    b->end = 0;
    b->cap = 0;
}
