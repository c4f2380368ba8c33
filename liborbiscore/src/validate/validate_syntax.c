/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate_int.h"


#define ORBIS_LANGUAGE_MAX  16


static int orbis_language_canon(const char *s, size_t len,
    char out[ORBIS_LANGUAGE_MAX]);
static int orbis_email_local_char(int c);
static int orbis_alpha(int c);
static int orbis_digit(int c);
static int orbis_hex(int c);
static int orbis_lower(int c);


int
orbis_uuid_valid(const char *s, size_t len)
{
    size_t  i;

    if (s == NULL || len != ORBIS_UUID_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (!orbis_hex((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}


int
orbis_email_valid(const char *s, size_t len)
{
    int          c;
    size_t       i, at, label, labels, digits;
    const char  *at_p;

    if (s == NULL || len == 0 || len > ORBIS_EMAIL_MAX) {
        return 0;
    }

    at_p = memchr(s, '@', len);
    if (at_p == NULL) {
        return 0;
    }

    at = (size_t) (at_p - s);

    /* the local part: dot-atom characters, no empty atoms */
    if (at == 0 || at > 64 || s[0] == '.' || s[at - 1] == '.') {
        return 0;
    }

    for (i = 0; i < at; i++) {
        c = (unsigned char) s[i];

        if (!orbis_email_local_char(c) || (c == '.' && s[i + 1] == '.')) {
            return 0;
        }
    }

    /* the domain: at least two labels, the last not all digits */
    label = 0;
    labels = 0;
    digits = 0;

    for (i = at + 1; i <= len; i++) {
        c = i < len ? (unsigned char) s[i] : '.';

        if (c == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-') {
                return 0;
            }

            labels++;

            if (i == len && digits == label) {
                return 0;
            }

            label = 0;
            digits = 0;
            continue;
        }

        if (c == '-') {
            if (label == 0) {
                return 0;
            }

        } else if (orbis_digit(c)) {
            digits++;

        } else if (!orbis_alpha(c)) {
            return 0;
        }

        label++;
    }

    return labels >= 2;
}


int
orbis_language_valid(const char *s, size_t len)
{
    char  buf[ORBIS_LANGUAGE_MAX];

    return s != NULL && orbis_language_canon(s, len, buf);
}


orbis_rc_t
orbis_vemail(const char *field, const char *s, size_t len, const void *ctx,
    char **out, orbis_err_t *err)
{
    size_t  i;

    (void) ctx;

    orbis_vtrim(&s, &len);

    if (len > ORBIS_EMAIL_MAX) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "%s: must be at most %d characters", field,
                             ORBIS_EMAIL_MAX);
    }

    if (!orbis_email_valid(s, len)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: must be a valid email address", field);
    }

    *out = orbis_vstrdup(s, len);
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    for (i = 0; i < len; i++) {
        (*out)[i] = (char) orbis_lower((unsigned char) (*out)[i]);
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_vlanguage(const char *field, const char *s, size_t len,
    const void *ctx, char **out, orbis_err_t *err)
{
    char  buf[ORBIS_LANGUAGE_MAX];

    (void) ctx;

    if (!orbis_language_canon(s, len, buf)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: must be a language tag such as en-US",
                             field);
    }

    *out = orbis_vstrdup(buf, strlen(buf));
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_vorigin(const char *field, const char *s, size_t len, const void *ctx,
    char **out, orbis_err_t *err)
{
    char  buf[ORBIS_ORIGIN_MAX_LEN + 1];

    (void) ctx;

    if (orbis_origin_normalize(s, len, buf, sizeof(buf)) != ORBIS_OK) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "%s: must be an origin such as "
                             "https://example.com, without a path", field);
    }

    *out = orbis_vstrdup(buf, strlen(buf));
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_vuuid(const char *field, const char *s, size_t len, const void *ctx,
    char **out, orbis_err_t *err)
{
    size_t  i;

    (void) ctx;

    if (!orbis_uuid_valid(s, len)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "%s: must be a UUID",
                             field);
    }

    *out = orbis_vstrdup(s, len);
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    for (i = 0; i < len; i++) {
        (*out)[i] = (char) orbis_lower((unsigned char) (*out)[i]);
    }

    return ORBIS_OK;
}


/*
 * language[-Script][-REGION]: the subset of BCP 47 that speech services
 * take, written in its usual case ("zh-Hant-TW").
 */
static int
orbis_language_canon(const char *s, size_t len, char out[ORBIS_LANGUAGE_MAX])
{
    size_t  i, n, part, start;

    if (len == 0 || len >= ORBIS_LANGUAGE_MAX) {
        return 0;
    }

    part = 0;

    for (start = 0; start <= len; start = i + 1) {
        for (i = start; i < len && s[i] != '-'; i++) {
            /* void */
        }

        n = i - start;

        if (part == 0) {
            if (n < 2 || n > 3) {
                return 0;
            }

            part = 1;

        } else if (part == 1 && n == 4) {
            part = 2;

        } else if (part <= 2 && (n == 2 || n == 3)) {
            part = 3;

        } else {
            return 0;
        }

        for (n = start; n < i; n++) {
            out[n] = (char) orbis_lower((unsigned char) s[n]);

            /* only a region may be digits: "es-419" */
            if (part == 3 && i - start == 3) {
                if (!orbis_digit((unsigned char) s[n])) {
                    return 0;
                }

                continue;
            }

            if (!orbis_alpha((unsigned char) s[n])) {
                return 0;
            }

            if ((part == 3 || (part == 2 && n == start))) {
                out[n] = (char) (out[n] - 'a' + 'A');
            }
        }

        out[i] = '-';
    }

    out[len] = '\0';

    return 1;
}


static int
orbis_email_local_char(int c)
{
    return orbis_alpha(c) || orbis_digit(c)
           || (c != '\0' && strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL);
}


static int
orbis_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static int
orbis_digit(int c)
{
    return c >= '0' && c <= '9';
}


static int
orbis_hex(int c)
{
    return orbis_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}


static int
orbis_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}
