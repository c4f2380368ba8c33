/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "validate_int.h"


#define ORBIS_VQUOTE_MAX  40


static int orbis_vspace(int c);


char *
orbis_vstrdup(const char *s, size_t len)
{
    char  *p;

    p = orbis_malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


void
orbis_vtrim(const char **s, size_t *len)
{
    while (*len > 0 && orbis_vspace((unsigned char) (*s)[0])) {
        (*s)++;
        (*len)--;
    }

    while (*len > 0 && orbis_vspace((unsigned char) (*s)[*len - 1])) {
        (*len)--;
    }
}


const char *
orbis_vquote(const char *s, size_t len, char *buf, size_t size)
{
    size_t  i;

    buf[0] = '\0';

    if (len > ORBIS_VQUOTE_MAX || len + 4 > size) {
        return buf;
    }

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\') {
            return buf;
        }
    }

    snprintf(buf, size, " \"%.*s\"", (int) len, s);

    return buf;
}


orbis_rc_t
orbis_vtext_check(const char *field, const char *s, size_t len, size_t min,
    size_t max, unsigned flags, orbis_err_t *err)
{
    size_t    i, n, chars, count;
    uint32_t  cp;

    chars = 0;

    for (i = 0; i < len; i += n) {
        n = orbis_utf8_next((const uint8_t *) s + i, len - i, &cp);
        if (n == 0) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: must be valid UTF-8", field);
        }

        chars++;

        if ((cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
            && !((flags & ORBIS_VTEXT_MULTILINE)
                 && (cp == '\t' || cp == '\n' || cp == '\r')))
        {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: must not contain control characters",
                                 field);
        }
    }

    count = (flags & ORBIS_VTEXT_BYTES) ? len : chars;

    if (count < min) {
        if (min == 1) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "%s: must not be empty", field);
        }

        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: must be at least %zu characters",
                             field, min);
    }

    if (count > max) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "%s: must be at most %zu %s", field, max,
                             (flags & ORBIS_VTEXT_BYTES) ? "bytes"
                                                         : "characters");
    }

    return ORBIS_OK;
}


static int
orbis_vspace(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
