/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include <orbiscore/utf8.h>


static int orbis_utf8_step(orbis_utf8_t *u, uint8_t c);


void
orbis_utf8_init(orbis_utf8_t *u)
{
    u->cp = 0;
    u->need = 0;
    u->lo = 0x80;
    u->hi = 0xbf;
    u->bad = 0;
}


int
orbis_utf8_feed(orbis_utf8_t *u, const uint8_t *p, size_t len)
{
    size_t  i;

    if (u->bad) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (u->need == 0 && p[i] < 0x80) {
            continue;
        }

        if (!orbis_utf8_step(u, p[i])) {
            return 0;
        }
    }

    return 1;
}


int
orbis_utf8_complete(const orbis_utf8_t *u)
{
    return !u->bad && u->need == 0;
}


int
orbis_utf8_valid(const void *p, size_t len, unsigned flags)
{
    orbis_utf8_t  u;

    if ((flags & ORBIS_UTF8_NO_NUL) && len != 0
        && memchr(p, '\0', len) != NULL)
    {
        return 0;
    }

    orbis_utf8_init(&u);

    return orbis_utf8_feed(&u, p, len) && orbis_utf8_complete(&u);
}


int
orbis_utf8_valid_str(const char *s)
{
    return orbis_utf8_valid(s, strlen(s), 0);
}


size_t
orbis_utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
    size_t        i;
    orbis_utf8_t  u;

    orbis_utf8_init(&u);

    for (i = 0; i < len; i++) {
        if (!orbis_utf8_step(&u, s[i])) {
            return 0;
        }

        if (u.need == 0) {
            *cp = u.cp;
            return i + 1;
        }
    }

    /* empty, or cut short */
    return 0;
}


size_t
orbis_utf8_cut(const uint8_t *p, size_t len, size_t max)
{
    size_t  n;

    if (len <= max) {
        return len;
    }

    /* p[max] is the first byte dropped: back off while it continues */
    n = max;

    while (n > 0 && (p[n] & 0xc0) == 0x80) {
        n--;
    }

    return n;
}


/* one byte more; 0 (and sticky) when it makes the text invalid */

static int
orbis_utf8_step(orbis_utf8_t *u, uint8_t c)
{
    if (u->need > 0) {
        if (c < u->lo || c > u->hi) {
            u->bad = 1;
            return 0;
        }

        u->cp = u->cp << 6 | (c & 0x3f);
        u->need--;
        u->lo = 0x80;
        u->hi = 0xbf;

        return 1;
    }

    if (c < 0x80) {
        u->cp = c;
        return 1;
    }

    /*
     * The narrowed ranges for the first continuation byte are what rule
     * out overlong forms (E0, F0), UTF-16 surrogates (ED) and code points
     * above U+10FFFF (F4); C0, C1 and F5..FF never start a valid sequence.
     */

    if (c >= 0xc2 && c <= 0xdf) {
        u->need = 1;
        u->cp = c & 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        u->need = 2;
        u->cp = c & 0x0f;
        u->lo = (c == 0xe0) ? 0xa0 : 0x80;
        u->hi = (c == 0xed) ? 0x9f : 0xbf;

    } else if (c >= 0xf0 && c <= 0xf4) {
        u->need = 3;
        u->cp = c & 0x07;
        u->lo = (c == 0xf0) ? 0x90 : 0x80;
        u->hi = (c == 0xf4) ? 0x8f : 0xbf;

    } else {
        u->bad = 1;
        return 0;
    }

    return 1;
}
