/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include "gemini/gemini_int.h"


static int orbis_lower(int c);


int
orbis_gemini_utf8_valid(const char *s, size_t n)
{
    size_t          i, k, need;
    uint32_t        cp, min;
    const uint8_t  *p;

    p = (const uint8_t *) s;
    i = 0;

    while (i < n) {

        if (p[i] == 0) {
            return 0;
        }

        if (p[i] < 0x80) {
            i++;
            continue;
        }

        if ((p[i] & 0xe0) == 0xc0) {
            need = 1;
            cp = p[i] & 0x1f;
            min = 0x80;

        } else if ((p[i] & 0xf0) == 0xe0) {
            need = 2;
            cp = p[i] & 0x0f;
            min = 0x800;

        } else if ((p[i] & 0xf8) == 0xf0) {
            need = 3;
            cp = p[i] & 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if (n - i - 1 < need) {
            return 0;
        }

        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = cp << 6 | (p[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }

        i += need + 1;
    }

    return 1;
}


int
orbis_gemini_utf8_valid_str(const char *s)
{
    return orbis_gemini_utf8_valid(s, strlen(s));
}


int
orbis_gemini_contains_nocase(const char *hay, const char *needle)
{
    size_t  i, n;

    n = strlen(needle);

    for ( /* void */ ; *hay != '\0'; hay++) {

        for (i = 0; i < n; i++) {
            if (hay[i] == '\0'
                || orbis_lower((unsigned char) hay[i])
                   != orbis_lower((unsigned char) needle[i]))
            {
                break;
            }
        }

        if (i == n) {
            return 1;
        }
    }

    return n == 0;
}


uint32_t
orbis_gemini_mime_rate(const char *mime, size_t len)
{
    uint32_t     rate;
    const char  *p, *end;

    end = mime + len;

    for (p = mime; end - p >= 5; p++) {
        if (memcmp(p, "rate=", 5) == 0) {
            break;
        }
    }

    if (end - p < 5) {
        return 0;
    }

    for (p += 5, rate = 0; p < end && *p >= '0' && *p <= '9'; p++) {
        if (rate > 1000000) {
            return 0;
        }

        rate = rate * 10 + (uint32_t) (*p - '0');
    }

    return rate;
}


static int
orbis_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}
