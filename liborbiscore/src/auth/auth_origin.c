/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <orbiscore/auth.h>


#define ORBIS_ORIGIN_BUF  (ORBIS_ORIGIN_MAX_LEN + 1)


static orbis_rc_t orbis_origin_norm(const char *s, size_t len, int http_only,
    char *out, size_t outsz);
static size_t orbis_origin_host(const char *s, size_t len);
static int orbis_origin_lower(int c);


int
orbis_origin_allowed(const char *origin, size_t len,
    const char *const *allowed, size_t n)
{
    char    req[ORBIS_ORIGIN_BUF], cfg[ORBIS_ORIGIN_BUF];
    size_t  i;

    /* "null" (sandboxed frames, file: pages) fails to parse as well */
    if (origin == NULL
        || orbis_origin_norm(origin, len, 0, req, sizeof(req)) != ORBIS_OK)
    {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (allowed[i] == NULL) {
            continue;
        }

        if (strcmp(allowed[i], "*") == 0) {
            return 1;
        }

        if (orbis_origin_norm(allowed[i], strlen(allowed[i]), 1, cfg,
                              sizeof(cfg))
            == ORBIS_OK
            && strcmp(req, cfg) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
orbis_origin_valid(const char *origin, size_t len)
{
    char  buf[ORBIS_ORIGIN_BUF];

    return orbis_origin_normalize(origin, len, buf, sizeof(buf)) == ORBIS_OK;
}


orbis_rc_t
orbis_origin_normalize(const char *origin, size_t len, char *out,
    size_t outsz)
{
    if (origin == NULL) {
        return ORBIS_ERR_INVALID;
    }

    if (len == 1 && origin[0] == '*') {
        if (outsz < 2) {
            return ORBIS_ERR_RANGE;
        }

        out[0] = '*';
        out[1] = '\0';

        return ORBIS_OK;
    }

    return orbis_origin_norm(origin, len, 1, out, outsz);
}


/*
 * The serialisation browsers use: lower-case scheme and host, no default
 * port, no trailing slash.  Anything after the authority is refused.
 */
static orbis_rc_t
orbis_origin_norm(const char *s, size_t len, int http_only, char *out,
    size_t outsz)
{
    size_t    i, scheme, host, o, need;
    unsigned  port;

    if (len == 0 || len > ORBIS_ORIGIN_MAX_LEN) {
        return ORBIS_ERR_INVALID;
    }

    if (s[len - 1] == '/') {
        len--;
    }

    if (len == 0 || orbis_origin_lower((unsigned char) s[0]) < 'a'
        || orbis_origin_lower((unsigned char) s[0]) > 'z')
    {
        return ORBIS_ERR_INVALID;
    }

    for (i = 1; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        {
            break;
        }
    }

    scheme = i;

    if (len - scheme < 3 || memcmp(s + scheme, "://", 3) != 0) {
        return ORBIS_ERR_INVALID;
    }

    if (http_only
        && !(scheme == 4 && strncasecmp(s, "http", 4) == 0)
        && !(scheme == 5 && strncasecmp(s, "https", 5) == 0))
    {
        return ORBIS_ERR_INVALID;
    }

    i = scheme + 3;

    host = orbis_origin_host(s + i, len - i);
    if (host == 0) {
        return ORBIS_ERR_INVALID;
    }

    port = 0;

    if (i + host < len) {
        o = i + host;

        /* ':' and 1..5 digits without a leading zero, then the end */
        if (s[o] != ':' || len - o < 2 || len - o > 6 || s[o + 1] == '0') {
            return ORBIS_ERR_INVALID;
        }

        for (o++; o < len; o++) {
            if (s[o] < '0' || s[o] > '9') {
                return ORBIS_ERR_INVALID;
            }

            port = port * 10 + (unsigned) (s[o] - '0');
        }

        if (port > 65535) {
            return ORBIS_ERR_INVALID;
        }

        if ((scheme == 4 && port == 80) || (scheme == 5 && port == 443)) {
            if (strncasecmp(s, scheme == 4 ? "http" : "https", scheme) == 0) {
                port = 0;
            }
        }
    }

    need = i + host + (port ? 6 : 0) + 1;

    if (outsz < need) {
        return ORBIS_ERR_RANGE;
    }

    for (o = 0; o < i + host; o++) {
        out[o] = (char) orbis_origin_lower((unsigned char) s[o]);
    }

    if (port) {
        o += (size_t) snprintf(out + o, outsz - o, ":%u", port);
    }

    out[o] = '\0';

    return ORBIS_OK;
}


/*
 * The length of a host at s: an IPv6 literal in brackets or dot-separated
 * labels of letters, digits and hyphens.  0 if there is none.
 */
static size_t
orbis_origin_host(const char *s, size_t len)
{
    int     c;
    size_t  i, label;

    if (len > 0 && s[0] == '[') {
        for (i = 1; i < len && s[i] != ']'; i++) {
            c = orbis_origin_lower((unsigned char) s[i]);

            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                  || c == ':' || c == '.'))
            {
                return 0;
            }
        }

        return (i < len && i > 2) ? i + 1 : 0;
    }

    label = 0;

    for (i = 0; i < len && i <= 253; i++) {
        c = orbis_origin_lower((unsigned char) s[i]);

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return 0;
            }

            label = 0;
            continue;
        }

        if (c == '-') {
            if (label == 0) {
                return 0;
            }

        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            break;
        }

        if (++label > 63) {
            return 0;
        }
    }

    if (i > 253 || label == 0 || s[i - 1] == '-') {
        return 0;
    }

    return i;
}


static int
orbis_origin_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}
