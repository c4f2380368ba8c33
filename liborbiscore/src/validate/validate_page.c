/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <string.h>

#include <orbiscore/base64.h>

#include "validate_int.h"


/* "<created_us>:<uuid>": 19 digits at most for a non-negative int64_t */
#define ORBIS_CURSOR_TEXT_MAX  (19 + 1 + ORBIS_UUID_LEN)


orbis_rc_t
orbis_cursor_encode(int64_t created_us, const char *uuid, char *out,
    size_t sz)
{
    int     n;
    char    text[ORBIS_CURSOR_TEXT_MAX + 1];
    size_t  i;

    if (created_us < 0 || uuid == NULL
        || !orbis_uuid_valid(uuid, strlen(uuid)))
    {
        return ORBIS_ERR_INVALID;
    }

    n = snprintf(text, sizeof(text), "%lld:%s", (long long) created_us,
                 uuid);
    if (n < 0 || (size_t) n >= sizeof(text)) {
        return ORBIS_ERR_INTERNAL;
    }

    for (i = (size_t) n - ORBIS_UUID_LEN; i < (size_t) n; i++) {
        if (text[i] >= 'A' && text[i] <= 'F') {
            text[i] = (char) (text[i] - 'A' + 'a');
        }
    }

    return orbis_base64url_encode((const uint8_t *) text, (size_t) n, out, sz,
                                  NULL);
}


orbis_rc_t
orbis_cursor_decode(const char *cursor, size_t len, int64_t *created_us,
    char uuid[ORBIS_UUID_LEN + 1], orbis_err_t *err)
{
    char      text[ORBIS_CURSOR_TEXT_MAX];
    size_t    i, n, digits;
    uint64_t  v;

    if (cursor == NULL || len == 0
        || len > ORBIS_BASE64URL_ENCODED_LEN(ORBIS_CURSOR_TEXT_MAX)
        || orbis_base64url_decode(cursor, len, (uint8_t *) text, sizeof(text),
                                  &n)
           != ORBIS_OK
        || n < 2 + ORBIS_UUID_LEN)
    {
        goto invalid;
    }

    digits = n - 1 - ORBIS_UUID_LEN;

    /* plain decimal as "%lld" writes it: no sign, no leading zeros */
    if (text[digits] != ':' || (text[0] == '0' && digits > 1)) {
        goto invalid;
    }

    v = 0;

    for (i = 0; i < digits; i++) {
        if (text[i] < '0' || text[i] > '9') {
            goto invalid;
        }

        v = v * 10 + (uint64_t) (text[i] - '0');

        if (v > INT64_MAX) {
            goto invalid;
        }
    }

    if (!orbis_uuid_valid(text + digits + 1, ORBIS_UUID_LEN)) {
        goto invalid;
    }

    for (i = digits + 1; i < n; i++) {
        if (text[i] >= 'A' && text[i] <= 'F') {
            goto invalid;
        }
    }

    *created_us = (int64_t) v;
    memcpy(uuid, text + digits + 1, ORBIS_UUID_LEN);
    uuid[ORBIS_UUID_LEN] = '\0';

    return ORBIS_OK;

invalid:

    return orbis_err_set(err, ORBIS_ERR_INVALID, "cursor: invalid");
}


orbis_rc_t
orbis_limit_parse(const char *s, size_t len, uint32_t *limit,
    orbis_err_t *err)
{
    size_t    i;
    uint32_t  v;

    if (s == NULL) {
        *limit = ORBIS_LIMIT_DEFAULT;
        return ORBIS_OK;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || (i == 0 && s[i] == '0' && len > 1)) {
            break;
        }

        if (v <= ORBIS_LIMIT_MAX) {
            v = v * 10 + (uint32_t) (s[i] - '0');
        }
    }

    if (len == 0 || i < len) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "limit: must be an integer between 1 and %d",
                             ORBIS_LIMIT_MAX);
    }

    if (v < 1 || v > ORBIS_LIMIT_MAX) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "limit: must be an integer between 1 and %d",
                             ORBIS_LIMIT_MAX);
    }

    *limit = v;

    return ORBIS_OK;
}
