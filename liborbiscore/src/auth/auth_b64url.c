/*
 * Copyright (C) Orbis
 */


#include <orbiscore/auth.h>

#include "auth_int.h"


static int orbis_b64url_value(int c);


static const char  orbis_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


orbis_rc_t
orbis_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outsz,
    size_t *outlen)
{
    char      *p;
    size_t     i, need;
    uint32_t   v;

    need = ORBIS_B64URL_ENCODED_LEN(len);

    if (outsz < need + 1 || need < len) {
        return ORBIS_ERR_RANGE;
    }

    p = out;

    for (i = 0; i + 3 <= len; i += 3) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
        *p++ = orbis_b64url_alphabet[v >> 18];
        *p++ = orbis_b64url_alphabet[(v >> 12) & 0x3f];
        *p++ = orbis_b64url_alphabet[(v >> 6) & 0x3f];
        *p++ = orbis_b64url_alphabet[v & 0x3f];
    }

    if (len - i == 1) {
        v = (uint32_t) in[i] << 16;
        *p++ = orbis_b64url_alphabet[v >> 18];
        *p++ = orbis_b64url_alphabet[(v >> 12) & 0x3f];

    } else if (len - i == 2) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
        *p++ = orbis_b64url_alphabet[v >> 18];
        *p++ = orbis_b64url_alphabet[(v >> 12) & 0x3f];
        *p++ = orbis_b64url_alphabet[(v >> 6) & 0x3f];
    }

    *p = '\0';

    if (outlen != NULL) {
        *outlen = (size_t) (p - out);
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen)
{
    int       c[4];
    size_t    i, k, n, rest;
    uint32_t  v;

    rest = len % 4;

    /* one character carries 6 bits, less than a byte */
    if (rest == 1) {
        return ORBIS_ERR_INVALID;
    }

    if (ORBIS_B64URL_DECODED_MAX(len) > outsz) {
        return ORBIS_ERR_RANGE;
    }

    n = 0;

    for (i = 0; i < len; i += 4) {
        v = 0;

        for (k = 0; k < 4 && i + k < len; k++) {
            c[k] = orbis_b64url_value((unsigned char) in[i + k]);
            if (c[k] < 0) {
                return ORBIS_ERR_INVALID;
            }

            v |= (uint32_t) c[k] << (18 - 6 * k);
        }

        if (k == 4) {
            out[n++] = (uint8_t) (v >> 16);
            out[n++] = (uint8_t) (v >> 8);
            out[n++] = (uint8_t) v;
            continue;
        }

        /*
         * a short last group: the bits past the last whole byte must be
         * zero, or two encodings would decode to the same bytes
         */
        if (k == 2) {
            if (v & 0xffff) {
                return ORBIS_ERR_INVALID;
            }

            out[n++] = (uint8_t) (v >> 16);

        } else {
            if (v & 0xff) {
                return ORBIS_ERR_INVALID;
            }

            out[n++] = (uint8_t) (v >> 16);
            out[n++] = (uint8_t) (v >> 8);
        }
    }

    if (outlen != NULL) {
        *outlen = n;
    }

    return ORBIS_OK;
}


int
orbis_b64url_char(int c)
{
    return orbis_b64url_value(c) >= 0;
}


static int
orbis_b64url_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}
