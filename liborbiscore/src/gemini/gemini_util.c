/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include "gemini/gemini_int.h"


static int orbis_lower(int c);


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
