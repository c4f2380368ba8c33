/*
 * Copyright (C) Orbis
 *
 * libFuzzer target for session tokens and the other auth string parsers.
 * The first input byte picks the mode:
 *
 *   0  the rest is a token, verified as it is (what a cookie or a Bearer
 *      header can hold);
 *   1  the rest is "header|payload" JSON: the harness encodes and signs
 *      them with the test secret, so the claim readers are reached; a
 *      token that verifies must sign again to a token with the same claims;
 *   2  the rest fills the claims (sub|tid|role|jti and two 8-byte times):
 *      a token that signs must verify at its iat to the same claims;
 *   3  API key, origin, base64url and password-rule parsers.
 *
 *   make fuzz && build/fuzz/fuzz_jwt -runs=1000000 tests/fuzz/corpus/jwt
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <orbiscore/auth.h>
#include <orbiscore/base64.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_verify(const char *token, size_t len);
static void fuzz_signed(const uint8_t *data, size_t size);
static void fuzz_sign(const uint8_t *data, size_t size);
static void fuzz_strings(const uint8_t *data, size_t size);
static size_t fuzz_field(char *dst, size_t dstsz, const uint8_t **data,
    size_t *size);
static void fuzz_same_claims(const orbis_jwt_claims_t *a,
    const orbis_jwt_claims_t *b);
static void fuzz_claims_sane(const orbis_jwt_claims_t *c);


static const uint8_t  secret[] = "fuzz-secret-0123456789abcdefghijklmnop";

#define FUZZ_NOW  1700000000


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }

    switch (data[0] & 3) {
    case 0:
        fuzz_verify((const char *) data + 1, size - 1);
        break;
    case 1:
        fuzz_signed(data + 1, size - 1);
        break;
    case 2:
        fuzz_sign(data + 1, size - 1);
        break;
    default:
        fuzz_strings(data + 1, size - 1);
        break;
    }

    return 0;
}


static void
fuzz_verify(const char *token, size_t len)
{
    char                again[ORBIS_JWT_MAX_LEN + 1];
    orbis_err_t         err;
    orbis_jwt_claims_t  c, c2;

    if (orbis_jwt_verify(token, len, secret, sizeof(secret) - 1, FUZZ_NOW,
                         &c, &err)
        != ORBIS_OK)
    {
        if (err.code == ORBIS_OK || err.msg[0] == '\0') {
            abort();
        }

        return;
    }

    fuzz_claims_sane(&c);

    /* what verified signs again, to the same claims */
    if (orbis_jwt_sign(&c, secret, sizeof(secret) - 1, again, sizeof(again),
                       &err)
        != ORBIS_OK)
    {
        return;
    }

    if (orbis_jwt_verify(again, strlen(again), secret, sizeof(secret) - 1,
                         FUZZ_NOW, &c2, &err)
        != ORBIS_OK)
    {
        abort();
    }

    fuzz_same_claims(&c, &c2);

    /* and a wrong secret never verifies it */
    if (orbis_jwt_verify(again, strlen(again),
                         (const uint8_t *) "another-secret-0123456789abcdef!!",
                         32, FUZZ_NOW, &c2, &err)
        == ORBIS_OK)
    {
        abort();
    }
}


static void
fuzz_signed(const uint8_t *data, size_t size)
{
    char           token[3 * ORBIS_JWT_MAX_LEN];
    size_t         hlen, plen, n, pos;
    uint8_t        mac[32];
    unsigned int   maclen;
    const uint8_t  *bar;

    bar = memchr(data, '|', size);
    if (bar == NULL) {
        hlen = 0;
        plen = size;

    } else {
        hlen = (size_t) (bar - data);
        plen = size - hlen - 1;
    }

    if (hlen > ORBIS_JWT_MAX_LEN || plen > ORBIS_JWT_MAX_LEN) {
        return;
    }

    pos = 0;

    if (bar == NULL) {
        /* our own header, so that the payload is what varies */
        memcpy(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", 36);
        pos = 36;

    } else if (orbis_base64url_encode(data, hlen, token, sizeof(token), &n)
               == ORBIS_OK)
    {
        pos = n;

    } else {
        return;
    }

    token[pos++] = '.';

    if (orbis_base64url_encode(bar != NULL ? bar + 1 : data, plen, token + pos,
                            sizeof(token) - pos, &n)
        != ORBIS_OK)
    {
        return;
    }

    pos += n;

    maclen = sizeof(mac);

    if (HMAC(EVP_sha256(), secret, sizeof(secret) - 1,
             (const uint8_t *) token, pos, mac, &maclen)
        == NULL)
    {
        abort();
    }

    token[pos++] = '.';

    if (orbis_base64url_encode(mac, sizeof(mac), token + pos,
                            sizeof(token) - pos, &n)
        != ORBIS_OK)
    {
        abort();
    }

    pos += n;

    fuzz_verify(token, pos);
}


static void
fuzz_sign(const uint8_t *data, size_t size)
{
    char                token[ORBIS_JWT_MAX_LEN + 1];
    int64_t             t[2];
    orbis_err_t         err;
    orbis_jwt_claims_t  c, c2;

    memset(&c, 0, sizeof(c));
    memset(t, 0, sizeof(t));

    if (size >= sizeof(t)) {
        memcpy(t, data, sizeof(t));
        data += sizeof(t);
        size -= sizeof(t);
    }

    c.iat = t[0];
    c.exp = t[1];

    (void) fuzz_field(c.sub, sizeof(c.sub), &data, &size);
    (void) fuzz_field(c.tid, sizeof(c.tid), &data, &size);
    (void) fuzz_field(c.role, sizeof(c.role), &data, &size);
    (void) fuzz_field(c.jti, sizeof(c.jti), &data, &size);

    /* the whole output buffer, and one byte too small */
    if (orbis_jwt_sign(&c, secret, sizeof(secret) - 1, token, sizeof(token),
                       &err)
        != ORBIS_OK)
    {
        if (err.code == ORBIS_OK || err.msg[0] == '\0') {
            abort();
        }

        return;
    }

    if (strlen(token) > ORBIS_JWT_MAX_LEN) {
        abort();
    }

    (void) orbis_jwt_sign(&c, secret, sizeof(secret) - 1, token + 1,
                          strlen(token), &err);

    if (orbis_jwt_sign(&c, secret, sizeof(secret) - 1, token, sizeof(token),
                       &err)
        != ORBIS_OK)
    {
        abort();
    }

    if (orbis_jwt_verify(token, strlen(token), secret, sizeof(secret) - 1,
                         c.iat, &c2, &err)
        != ORBIS_OK)
    {
        abort();
    }

    fuzz_same_claims(&c, &c2);
    (void) orbis_jwt_revocation_ttl(&c, t[0] ^ t[1]);
}


static void
fuzz_strings(const uint8_t *data, size_t size)
{
    char                 out[ORBIS_ORIGIN_MAX_LEN * 4 + 8], hash[65];
    char                 prefix[16], last4[5];
    size_t               n, m;
    uint8_t             *dec;
    orbis_err_t          err;
    orbis_apikey_kind_t  kind;
    const char          *s = (const char *) data;

    static const char *const  allowed[] = {
        "https://acme.example", "http://localhost:8080"
    };

    if (orbis_apikey_parse(s, size, &kind, &err) == ORBIS_OK) {
        if (size != ORBIS_APIKEY_LEN
            || orbis_apikey_display(s, size, prefix, last4) != ORBIS_OK)
        {
            abort();
        }
    }

    (void) orbis_apikey_hash(s, size, hash);

    if (orbis_origin_valid(s, size)) {
        if (orbis_origin_normalize(s, size, out, sizeof(out)) != ORBIS_OK
            || !orbis_origin_valid(out, strlen(out)))
        {
            abort();
        }
    }

    (void) orbis_origin_allowed(s, size, allowed, 2);
    (void) orbis_password_check_rules(s, size, &err);

    dec = malloc(size + 1);
    if (dec == NULL) {
        return;
    }

    if (orbis_base64url_decode(s, size, dec, size + 1, &n) == ORBIS_OK) {
        if (n > ORBIS_BASE64URL_DECODED_MAX(size)) {
            abort();
        }

        if (size <= sizeof(out) / 2
            && (orbis_base64url_encode(dec, n, out, sizeof(out), &m) != ORBIS_OK
                || m != ORBIS_BASE64URL_ENCODED_LEN(n)))
        {
            abort();
        }
    }

    free(dec);
}


/* the next '|'-separated field, NUL-terminated and cut to dstsz - 1 */
static size_t
fuzz_field(char *dst, size_t dstsz, const uint8_t **data, size_t *size)
{
    size_t          n;
    const uint8_t  *bar;

    bar = memchr(*data, '|', *size);
    n = bar != NULL ? (size_t) (bar - *data) : *size;

    memcpy(dst, *data, n < dstsz - 1 ? n : dstsz - 1);
    dst[n < dstsz - 1 ? n : dstsz - 1] = '\0';

    *data += n;
    *size -= n;

    if (bar != NULL) {
        (*data)++;
        (*size)--;
    }

    return n;
}


static void
fuzz_same_claims(const orbis_jwt_claims_t *a, const orbis_jwt_claims_t *b)
{
    if (strcmp(a->sub, b->sub) != 0 || strcmp(a->tid, b->tid) != 0
        || strcmp(a->role, b->role) != 0 || strcmp(a->jti, b->jti) != 0
        || a->iat != b->iat || a->exp != b->exp)
    {
        abort();
    }
}


static void
fuzz_claims_sane(const orbis_jwt_claims_t *c)
{
    if (memchr(c->sub, '\0', sizeof(c->sub)) == NULL
        || memchr(c->tid, '\0', sizeof(c->tid)) == NULL
        || memchr(c->role, '\0', sizeof(c->role)) == NULL
        || memchr(c->jti, '\0', sizeof(c->jti)) == NULL
        || c->exp <= FUZZ_NOW || c->iat > FUZZ_NOW + ORBIS_JWT_MAX_SKEW)
    {
        abort();
    }
}
