/*
 * Copyright (C) Orbis
 *
 * Streaming UTF-8 validation for text messages and close reasons.
 *
 * wslay 1.1.1 has a validator of its own, but only inside its event layer,
 * which we do not use (see ws_recv.c), so the check lives here.  The
 * state survives between calls, so a character split across fragments or
 * across orbis_ws_feed() calls is judged as a whole.
 */


#include "ws_int.h"


void
orbis_ws_utf8_init(orbis_ws_utf8_t *u)
{
    u->need = 0;
    u->lo = 0x80;
    u->hi = 0xbf;
    u->bad = 0;
}


int
orbis_ws_utf8_feed(orbis_ws_utf8_t *u, const uint8_t *p, size_t len)
{
    size_t   i;
    uint8_t  c;

    if (u->bad) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (u->need > 0) {
            if (c < u->lo || c > u->hi) {
                u->bad = 1;
                return 0;
            }

            u->need--;
            u->lo = 0x80;
            u->hi = 0xbf;
            continue;
        }

        if (c < 0x80) {
            continue;
        }

        /*
         * The narrowed ranges for the first continuation byte are what
         * rule out overlong forms (E0, F0), UTF-16 surrogates (ED) and
         * code points above U+10FFFF (F4).
         */

        if (c >= 0xc2 && c <= 0xdf) {
            u->need = 1;

        } else if (c == 0xe0) {
            u->need = 2;
            u->lo = 0xa0;

        } else if (c == 0xed) {
            u->need = 2;
            u->hi = 0x9f;

        } else if (c >= 0xe1 && c <= 0xef) {
            u->need = 2;

        } else if (c == 0xf0) {
            u->need = 3;
            u->lo = 0x90;

        } else if (c >= 0xf1 && c <= 0xf3) {
            u->need = 3;

        } else if (c == 0xf4) {
            u->need = 3;
            u->hi = 0x8f;

        } else {
            u->bad = 1;
            return 0;
        }
    }

    return 1;
}


int
orbis_ws_utf8_complete(const orbis_ws_utf8_t *u)
{
    return !u->bad && u->need == 0;
}


int
orbis_ws_utf8_valid(const uint8_t *p, size_t len)
{
    orbis_ws_utf8_t  u;

    orbis_ws_utf8_init(&u);

    return orbis_ws_utf8_feed(&u, p, len) && orbis_ws_utf8_complete(&u);
}


size_t
orbis_ws_utf8_cut(const uint8_t *p, size_t len, size_t max)
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
