/*
 * Copyright (C) Orbis
 */


#include <orbiscore/base64.h>


/*
 * A character's entry in orbis_b64_value: its 6-bit value in either
 * alphabet, and which alphabet it is not part of.  '=' and everything
 * outside both alphabets are in neither.
 */
#define ORBIS_B64_NOT_STD  0x100     /* '-' '_' */
#define ORBIS_B64_NOT_URL  0x200     /* '+' '/' */
#define ORBIS_B64_VALUE    0x3f


static size_t orbis_base64_encode_with(char *dst, const uint8_t *src,
    size_t n, const char *alphabet, int pad);
static orbis_rc_t orbis_base64_bad_char(const uint8_t *s, size_t from,
    size_t n, unsigned reject, orbis_err_t *err);


static const char  orbis_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char  orbis_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const uint16_t  orbis_b64_value[256] = {
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x23e, 0x300, 0x13e, 0x300, 0x23f,
    0x034, 0x035, 0x036, 0x037, 0x038, 0x039, 0x03a, 0x03b,
    0x03c, 0x03d, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x000, 0x001, 0x002, 0x003, 0x004, 0x005, 0x006,
    0x007, 0x008, 0x009, 0x00a, 0x00b, 0x00c, 0x00d, 0x00e,
    0x00f, 0x010, 0x011, 0x012, 0x013, 0x014, 0x015, 0x016,
    0x017, 0x018, 0x019, 0x300, 0x300, 0x300, 0x300, 0x13f,
    0x300, 0x01a, 0x01b, 0x01c, 0x01d, 0x01e, 0x01f, 0x020,
    0x021, 0x022, 0x023, 0x024, 0x025, 0x026, 0x027, 0x028,
    0x029, 0x02a, 0x02b, 0x02c, 0x02d, 0x02e, 0x02f, 0x030,
    0x031, 0x032, 0x033, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
    0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300, 0x300,
};


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
    unsigned        reject, url;
    const uint8_t  *s;

    s = (const uint8_t *) src;
    d = dst;
    *dst_len = 0;

    url = flags & ORBIS_BASE64_URL;
    reject = url ? ORBIS_B64_NOT_URL : ORBIS_B64_NOT_STD;

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
        a = orbis_b64_value[s[i]];
        b = orbis_b64_value[s[i + 1]];
        c = orbis_b64_value[s[i + 2]];
        e = orbis_b64_value[s[i + 3]];

        if ((a | b | c | e) & reject) {
            return orbis_base64_bad_char(s, i, n, reject, err);
        }

        a = (a & ORBIS_B64_VALUE) << 18 | (b & ORBIS_B64_VALUE) << 12
            | (c & ORBIS_B64_VALUE) << 6 | (e & ORBIS_B64_VALUE);

        *d++ = (uint8_t) (a >> 16);
        *d++ = (uint8_t) (a >> 8);
        *d++ = (uint8_t) a;
    }

    if (tail != 0) {
        a = orbis_b64_value[s[full]];
        b = orbis_b64_value[s[full + 1]];
        c = (tail == 3) ? orbis_b64_value[s[full + 2]] : 0;

        if ((a | b | c) & reject) {
            return orbis_base64_bad_char(s, full, n, reject, err);
        }

        a &= ORBIS_B64_VALUE;
        b &= ORBIS_B64_VALUE;
        c &= ORBIS_B64_VALUE;

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


int
orbis_base64_char(int c, unsigned flags)
{
    unsigned  reject;

    reject = (flags & ORBIS_BASE64_URL) ? ORBIS_B64_NOT_URL
                                        : ORBIS_B64_NOT_STD;

    return c >= 0 && c < 256 && !(orbis_b64_value[c] & reject);
}


static orbis_rc_t
orbis_base64_bad_char(const uint8_t *s, size_t from, size_t n,
    unsigned reject, orbis_err_t *err)
{
    size_t  i;

    for (i = from; i < n; i++) {
        if (orbis_b64_value[s[i]] & reject) {
            break;
        }
    }

    if (i < n && s[i] == '=') {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "misplaced base64 padding at offset %zu", i);
    }

    return orbis_err_set(err, ORBIS_ERR_INVALID,
                         "invalid base64 character at offset %zu", i);
}
