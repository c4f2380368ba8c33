/*
 * Copyright (C) Orbis
 */


#include <orbiscore/base64.h>


#define ORBIS_B64_BAD      0x80

#define ORBIS_B64_BAD4     0x80, 0x80, 0x80, 0x80
#define ORBIS_B64_BAD16    ORBIS_B64_BAD4, ORBIS_B64_BAD4, ORBIS_B64_BAD4,    \
                           ORBIS_B64_BAD4
#define ORBIS_B64_BAD64    ORBIS_B64_BAD16, ORBIS_B64_BAD16, ORBIS_B64_BAD16, \
                           ORBIS_B64_BAD16

/*
 * character -> 6-bit value, ORBIS_B64_BAD outside the alphabet ('=' too);
 * the two alphabets differ in the characters for 62 and 63 only
 */
#define ORBIS_B64_TABLE(plus, slash, minus, under)                            \
{                                                                             \
    ORBIS_B64_BAD16, ORBIS_B64_BAD16,                                         \
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                           \
    0x80, 0x80, 0x80, plus, 0x80, minus, 0x80, slash,                         \
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b,                           \
    0x3c, 0x3d, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                           \
    0x80, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,                           \
    0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,                           \
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,                           \
    0x17, 0x18, 0x19, 0x80, 0x80, 0x80, 0x80, under,                          \
    0x80, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,                           \
    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,                           \
    0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30,                           \
    0x31, 0x32, 0x33, 0x80, 0x80, 0x80, 0x80, 0x80,                           \
    ORBIS_B64_BAD64, ORBIS_B64_BAD64                                          \
}


static size_t orbis_base64_encode_with(char *dst, const uint8_t *src,
    size_t n, const char *alphabet, int pad);
static size_t orbis_base64_span_in(const uint8_t *s, size_t n,
    const uint8_t *value);
static orbis_rc_t orbis_base64_bad_char(const uint8_t *s, size_t from,
    size_t n, const uint8_t *value, orbis_err_t *err);


static const char  orbis_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char  orbis_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const uint8_t  orbis_b64_std_value[256] =
    ORBIS_B64_TABLE(62, 63, ORBIS_B64_BAD, ORBIS_B64_BAD);

static const uint8_t  orbis_b64_url_value[256] =
    ORBIS_B64_TABLE(ORBIS_B64_BAD, ORBIS_B64_BAD, 62, 63);


size_t
orbis_base64_encoded_len(size_t n)
{
    if (n > (SIZE_MAX - 2) / 4 * 3) {
        return 0;
    }

    return (n + 2) / 3 * 4;
}


size_t
orbis_base64_decoded_max(size_t n)
{
    /* a partial quantum of 2 or 3 characters carries 1 or 2 bytes */
    return n / 4 * 3 + (n % 4) * 3 / 4;
}


size_t
orbis_base64_encode(char *dst, const uint8_t *src, size_t n)
{
    return orbis_base64_encode_with(dst, src, n, orbis_b64_std, 1);
}


orbis_rc_t
orbis_base64url_encode(const uint8_t *in, size_t len, char *out,
    size_t outsz, size_t *outlen)
{
    size_t  n;

    if (len > (SIZE_MAX - 2) / 4
        || outsz < ORBIS_BASE64URL_ENCODED_LEN(len) + 1)
    {
        return ORBIS_ERR_RANGE;
    }

    n = orbis_base64_encode_with(out, in, len, orbis_b64_url, 0);
    out[n] = '\0';

    if (outlen != NULL) {
        *outlen = n;
    }

    return ORBIS_OK;
}


static size_t
orbis_base64_encode_with(char *dst, const uint8_t *src, size_t n,
    const char *alphabet, int pad)
{
    char      *d;
    size_t     i;
    uint32_t   v;

    d = dst;

    for (i = 0; i + 3 <= n; i += 3) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];

        *d++ = alphabet[v >> 18];
        *d++ = alphabet[(v >> 12) & 0x3f];
        *d++ = alphabet[(v >> 6) & 0x3f];
        *d++ = alphabet[v & 0x3f];
    }

    if (n - i == 0) {
        return (size_t) (d - dst);
    }

    /* one or two bytes left: two or three characters, then the padding */

    v = (uint32_t) src[i] << 16;

    if (n - i == 2) {
        v |= (uint32_t) src[i + 1] << 8;
    }

    *d++ = alphabet[v >> 18];
    *d++ = alphabet[(v >> 12) & 0x3f];

    if (n - i == 2) {
        *d++ = alphabet[(v >> 6) & 0x3f];

    } else if (pad) {
        *d++ = '=';
    }

    if (pad) {
        *d++ = '=';
    }

    return (size_t) (d - dst);
}


orbis_rc_t
orbis_base64_decode(uint8_t *dst, size_t *dst_len, const char *src, size_t n,
    unsigned flags, orbis_err_t *err)
{
    size_t          i, full, tail;
    uint8_t        *d;
    uint32_t        a, b, c, e;
    unsigned        url;
    const uint8_t  *s, *value;

    s = (const uint8_t *) src;
    d = dst;
    *dst_len = 0;

    url = flags & ORBIS_BASE64_URL;
    value = url ? orbis_b64_url_value : orbis_b64_std_value;

    if (n == 0) {
        return ORBIS_OK;
    }

    /* tail: significant characters in a final, partial quantum */

    tail = n % 4;

    if (tail != 0) {
        if (!url && !(flags & ORBIS_BASE64_NOPAD_OK)) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "base64 length %zu is not a multiple of 4",
                                 n);
        }

        if (tail == 1) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "base64 input is truncated");
        }

        full = n - tail;

    } else if (!url && s[n - 1] == '=') {
        full = n - 4;
        tail = (s[n - 2] == '=') ? 2 : 3;

    } else {
        full = n;
    }

    for (i = 0; i < full; i += 4) {
        a = value[s[i]];
        b = value[s[i + 1]];
        c = value[s[i + 2]];
        e = value[s[i + 3]];

        if ((a | b | c | e) & ORBIS_B64_BAD) {
            return orbis_base64_bad_char(s, i, n, value, err);
        }

        a = a << 18 | b << 12 | c << 6 | e;

        *d++ = (uint8_t) (a >> 16);
        *d++ = (uint8_t) (a >> 8);
        *d++ = (uint8_t) a;
    }

    if (tail != 0) {
        a = value[s[full]];
        b = value[s[full + 1]];
        c = (tail == 3) ? value[s[full + 2]] : 0;

        if ((a | b | c) & ORBIS_B64_BAD) {
            return orbis_base64_bad_char(s, full, n, value, err);
        }

        /*
         * the bits below the last whole byte must be zero, or two different
         * strings would decode to the same bytes
         */

        if ((tail == 2 && (b & 0x0f) != 0) || (tail == 3 && (c & 0x03) != 0)) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "base64 input is not canonical "
                                 "(non-zero trailing bits)");
        }

        *d++ = (uint8_t) (a << 2 | b >> 4);

        if (tail == 3) {
            *d++ = (uint8_t) (b << 4 | c >> 2);
        }
    }

    *dst_len = (size_t) (d - dst);

    return ORBIS_OK;
}


orbis_rc_t
orbis_base64url_decode(const char *in, size_t len, uint8_t *out,
    size_t outsz, size_t *outlen)
{
    size_t      n;
    orbis_rc_t  rc;

    /* one character carries 6 bits, less than a byte */
    if (len % 4 == 1) {
        return ORBIS_ERR_INVALID;
    }

    if (orbis_base64_decoded_max(len) > outsz) {
        return ORBIS_ERR_RANGE;
    }

    rc = orbis_base64_decode(out, &n, in, len, ORBIS_BASE64_URL, NULL);

    if (rc == ORBIS_OK && outlen != NULL) {
        *outlen = n;
    }

    return rc;
}


size_t
orbis_base64_span(const char *s, size_t n, unsigned flags)
{
    return orbis_base64_span_in((const uint8_t *) s, n,
                                (flags & ORBIS_BASE64_URL)
                                ? orbis_b64_url_value : orbis_b64_std_value);
}


static size_t
orbis_base64_span_in(const uint8_t *s, size_t n, const uint8_t *value)
{
    size_t  i;

    for (i = 0; i < n && !(value[s[i]] & ORBIS_B64_BAD); i++) {
        /* void */
    }

    return i;
}


static orbis_rc_t
orbis_base64_bad_char(const uint8_t *s, size_t from, size_t n,
    const uint8_t *value, orbis_err_t *err)
{
    size_t  i;

    i = from + orbis_base64_span_in(s + from, n - from, value);

    if (i < n && s[i] == '=') {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "misplaced base64 padding at offset %zu", i);
    }

    return orbis_err_set(err, ORBIS_ERR_INVALID,
                         "invalid base64 character at offset %zu", i);
}
