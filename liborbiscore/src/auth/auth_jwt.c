/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth_int.h"


#define ORBIS_JWT_SIG_LEN  32

/* b64url('{"alg":"HS256","typ":"JWT"}'): the only header we write */
#define ORBIS_JWT_HEADER   "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


static orbis_rc_t orbis_jwt_mac(const uint8_t *secret, size_t secretlen,
    const char *data, size_t len, uint8_t mac[ORBIS_JWT_SIG_LEN]);
static orbis_rc_t orbis_jwt_check_header(const char *seg, size_t len,
    orbis_err_t *err);
static orbis_rc_t orbis_jwt_read_claims(const char *seg, size_t len,
    orbis_jwt_claims_t *out, orbis_err_t *err);
static orbis_rc_t orbis_jwt_claim_str(json_t *payload, const char *name,
    char *dst, size_t size, orbis_err_t *err);
static orbis_rc_t orbis_jwt_claim_int(json_t *payload, const char *name,
    int64_t *v, orbis_err_t *err);
static orbis_rc_t orbis_jwt_claim_jti(json_t *payload, char *dst,
    orbis_err_t *err);
static int orbis_jwt_str_ok(const char *s, size_t size);
static int orbis_jwt_jti_ok(const char *s, size_t len);


orbis_rc_t
orbis_jwt_sign(const orbis_jwt_claims_t *c, const uint8_t *secret,
    size_t secretlen, char *out, size_t outsz, orbis_err_t *err)
{
    char          json[1024];
    size_t        n, pos, enc;
    json_t       *payload;
    json_error_t  jerr;
    uint8_t       mac[ORBIS_JWT_SIG_LEN];
    orbis_rc_t    rc;

    if (secret == NULL || secretlen < ORBIS_JWT_MIN_SECRET) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "jwt secret must be at least %d bytes",
                             ORBIS_JWT_MIN_SECRET);
    }

    if (!orbis_jwt_str_ok(c->sub, sizeof(c->sub))
        || !orbis_jwt_str_ok(c->tid, sizeof(c->tid))
        || !orbis_jwt_str_ok(c->role, sizeof(c->role)))
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: sub, tid and role must be set");
    }

    if (c->exp <= c->iat) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: exp must be after iat");
    }

    n = strnlen(c->jti, sizeof(c->jti));

    if (n != 0 && !orbis_jwt_jti_ok(c->jti, n)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: jti must be 1 to %d base64url "
                             "characters", ORBIS_JWT_JTI_MAX);
    }

    /*
     * json_pack refuses strings that are not UTF-8.  Not "s*" for the jti:
     * it also omits a value whose allocation failed, which would sign a
     * token that cannot be revoked.
     */
    payload = n != 0
              ? json_pack_ex(&jerr, 0, "{s:s, s:s, s:s, s:I, s:I, s:s}",
                             "sub", c->sub, "tid", c->tid, "role", c->role,
                             "iat", (json_int_t) c->iat,
                             "exp", (json_int_t) c->exp, "jti", c->jti)
              : json_pack_ex(&jerr, 0, "{s:s, s:s, s:s, s:I, s:I}",
                             "sub", c->sub, "tid", c->tid, "role", c->role,
                             "iat", (json_int_t) c->iat,
                             "exp", (json_int_t) c->exp);
    if (payload == NULL) {
        /* the strings are checked: anything else is an allocation */
        if (json_error_code(&jerr) != json_error_invalid_utf8) {
            return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        }

        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: claims are not valid UTF-8");
    }

    n = json_dumpb(payload, json, sizeof(json), JSON_COMPACT);
    json_decref(payload);

    /* claims never dump to nothing: 0 is jansson out of memory */
    if (n == 0) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    if (n > sizeof(json)) {
        return orbis_err_set(err, ORBIS_ERR_RANGE, "token: claims too long");
    }

    pos = sizeof(ORBIS_JWT_HEADER) - 1;

    if (outsz < pos + 1) {
        goto too_small;
    }

    memcpy(out, ORBIS_JWT_HEADER, pos);
    out[pos++] = '.';

    if (orbis_base64url_encode((const uint8_t *) json, n, out + pos,
                               outsz - pos, &enc)
        != ORBIS_OK)
    {
        goto too_small;
    }

    pos += enc;

    rc = orbis_jwt_mac(secret, secretlen, out, pos, mac);
    if (rc != ORBIS_OK) {
        return orbis_err_set(err, rc, "hmac failed");
    }

    if (outsz < pos + 1) {
        goto too_small;
    }

    out[pos++] = '.';

    if (orbis_base64url_encode(mac, sizeof(mac), out + pos, outsz - pos, &enc)
        != ORBIS_OK)
    {
        goto too_small;
    }

    return ORBIS_OK;

too_small:

    if (outsz > 0) {
        out[0] = '\0';
    }

    return orbis_err_set(err, ORBIS_ERR_RANGE, "token buffer too small");
}


orbis_rc_t
orbis_jwt_verify(const char *token, size_t len, const uint8_t *secret,
    size_t secretlen, int64_t now, orbis_jwt_claims_t *out, orbis_err_t *err)
{
    size_t              i, dots[2], ndots, siglen;
    uint8_t             mac[ORBIS_JWT_SIG_LEN], sig[ORBIS_JWT_SIG_LEN + 2];
    orbis_rc_t          rc;
    orbis_jwt_claims_t  c;

    if (secret == NULL || secretlen < ORBIS_JWT_MIN_SECRET) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "jwt secret must be at least %d bytes",
                             ORBIS_JWT_MIN_SECRET);
    }

    if (token == NULL || len == 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "token: missing");
    }

    if (len > ORBIS_JWT_MAX_LEN) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "token: too long");
    }

    ndots = 0;

    for (i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (ndots == 2) {
                return orbis_err_set(err, ORBIS_ERR_INVALID,
                                     "token: must have three parts");
            }

            dots[ndots++] = i;
        }
    }

    if (ndots != 2 || dots[0] == 0 || dots[1] == dots[0] + 1) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: must have three parts");
    }

    /* the algorithm comes first: "none" must not reach the signature */
    rc = orbis_jwt_check_header(token, dots[0], err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (orbis_base64url_decode(token + dots[1] + 1, len - dots[1] - 1, sig,
                               sizeof(sig), &siglen)
        != ORBIS_OK
        || siglen != ORBIS_JWT_SIG_LEN)
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: malformed signature");
    }

    rc = orbis_jwt_mac(secret, secretlen, token, dots[1], mac);
    if (rc != ORBIS_OK) {
        return orbis_err_set(err, rc, "hmac failed");
    }

    if (!orbis_ct_equal(mac, sig, ORBIS_JWT_SIG_LEN)) {
        return orbis_err_set(err, ORBIS_ERR_AUTH, "token: bad signature");
    }

    rc = orbis_jwt_read_claims(token + dots[0] + 1, dots[1] - dots[0] - 1,
                               &c, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (c.exp <= now) {
        return orbis_err_set(err, ORBIS_ERR_EXPIRED, "token: expired");
    }

    if (c.iat > now && c.iat - now > ORBIS_JWT_MAX_SKEW) {
        return orbis_err_set(err, ORBIS_ERR_AUTH,
                             "token: issued in the future");
    }

    *out = c;

    return ORBIS_OK;
}


void
orbis_jwt_jti(orbis_jwt_claims_t *c,
    const uint8_t random[ORBIS_JWT_JTI_RANDOM_LEN])
{
    (void) orbis_base64url_encode(random, ORBIS_JWT_JTI_RANDOM_LEN, c->jti,
                                  sizeof(c->jti), NULL);
}


int64_t
orbis_jwt_revocation_ttl(const orbis_jwt_claims_t *c, int64_t now)
{
    int64_t  until;

    until = c->exp > INT64_MAX - ORBIS_JWT_MAX_SKEW
            ? INT64_MAX : c->exp + ORBIS_JWT_MAX_SKEW;

    if (until <= now) {
        return 0;
    }

    if (now < 0 && until > INT64_MAX + now) {
        return INT64_MAX;
    }

    return until - now;
}


static orbis_rc_t
orbis_jwt_mac(const uint8_t *secret, size_t secretlen, const char *data,
    size_t len, uint8_t mac[ORBIS_JWT_SIG_LEN])
{
    unsigned int  maclen;

    maclen = ORBIS_JWT_SIG_LEN;

    if (HMAC(EVP_sha256(), secret, (int) secretlen, (const uint8_t *) data,
             len, mac, &maclen)
        == NULL
        || maclen != ORBIS_JWT_SIG_LEN)
    {
        return ORBIS_ERR_INTERNAL;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_jwt_check_header(const char *seg, size_t len, orbis_err_t *err)
{
    size_t       n;
    json_t      *hdr, *alg, *typ;
    uint8_t      buf[ORBIS_BASE64URL_DECODED_MAX(ORBIS_JWT_MAX_LEN)];
    orbis_rc_t   rc;

    if (orbis_base64url_decode(seg, len, buf, sizeof(buf), &n) != ORBIS_OK) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: malformed header");
    }

    hdr = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, NULL);
    if (hdr == NULL || !json_is_object(hdr)) {
        json_decref(hdr);
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: malformed header");
    }

    alg = json_object_get(hdr, "alg");
    typ = json_object_get(hdr, "typ");

    rc = ORBIS_OK;

    /*
     * only our own header shape: an "alg" we did not choose, or members
     * such as "kid", "jku" or "crit" that would ask us to trust something
     * else, are refused
     */
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0
        || json_string_length(alg) != 5)
    {
        rc = orbis_err_set(err, ORBIS_ERR_AUTH,
                           "token: algorithm not allowed");

    } else if (typ != NULL
               && (!json_is_string(typ)
                   || strcmp(json_string_value(typ), "JWT") != 0
                   || json_string_length(typ) != 3))
    {
        rc = orbis_err_set(err, ORBIS_ERR_INVALID, "token: bad typ");

    } else if (json_object_size(hdr) != (typ != NULL ? 2u : 1u)) {
        rc = orbis_err_set(err, ORBIS_ERR_INVALID,
                           "token: unexpected header member");
    }

    json_decref(hdr);

    return rc;
}


static orbis_rc_t
orbis_jwt_read_claims(const char *seg, size_t len, orbis_jwt_claims_t *out,
    orbis_err_t *err)
{
    size_t       n;
    json_t      *payload;
    uint8_t      buf[ORBIS_BASE64URL_DECODED_MAX(ORBIS_JWT_MAX_LEN)];
    orbis_rc_t   rc;

    if (orbis_base64url_decode(seg, len, buf, sizeof(buf), &n) != ORBIS_OK) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: malformed payload");
    }

    payload = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES,
                         NULL);
    if (payload == NULL || !json_is_object(payload)) {
        json_decref(payload);
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: payload is not a JSON object");
    }

    memset(out, 0, sizeof(*out));

    rc = orbis_jwt_claim_str(payload, "sub", out->sub, sizeof(out->sub), err);

    if (rc == ORBIS_OK) {
        rc = orbis_jwt_claim_str(payload, "tid", out->tid, sizeof(out->tid),
                                 err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_jwt_claim_str(payload, "role", out->role,
                                 sizeof(out->role), err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_jwt_claim_int(payload, "iat", &out->iat, err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_jwt_claim_int(payload, "exp", &out->exp, err);
    }

    if (rc == ORBIS_OK) {
        rc = orbis_jwt_claim_jti(payload, out->jti, err);
    }

    json_decref(payload);

    return rc;
}


static orbis_rc_t
orbis_jwt_claim_str(json_t *payload, const char *name, char *dst,
    size_t size, orbis_err_t *err)
{
    size_t   n;
    json_t  *v;

    v = json_object_get(payload, name);

    if (!json_is_string(v)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: claim %s missing", name);
    }

    n = json_string_length(v);

    if (n == 0 || n >= size) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: claim %s empty or too long", name);
    }

    memcpy(dst, json_string_value(v), n + 1);

    return ORBIS_OK;
}


static orbis_rc_t
orbis_jwt_claim_int(json_t *payload, const char *name, int64_t *v,
    orbis_err_t *err)
{
    json_t  *j;

    j = json_object_get(payload, name);

    if (!json_is_integer(j)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: claim %s missing", name);
    }

    *v = (int64_t) json_integer_value(j);

    return ORBIS_OK;
}


/* optional; when present, what orbis_jwt_jti() could have written */
static orbis_rc_t
orbis_jwt_claim_jti(json_t *payload, char *dst, orbis_err_t *err)
{
    size_t   n;
    json_t  *v;

    v = json_object_get(payload, "jti");

    if (v == NULL) {
        dst[0] = '\0';
        return ORBIS_OK;
    }

    n = json_is_string(v) ? json_string_length(v) : 0;

    if (n == 0 || n > ORBIS_JWT_JTI_MAX
        || !orbis_jwt_jti_ok(json_string_value(v), n))
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "token: claim jti malformed");
    }

    memcpy(dst, json_string_value(v), n + 1);

    return ORBIS_OK;
}


/* non-empty and NUL-terminated within size */
static int
orbis_jwt_str_ok(const char *s, size_t size)
{
    return s[0] != '\0' && memchr(s, '\0', size) != NULL;
}


/* the jti becomes part of a storage key: only url-safe characters */
static int
orbis_jwt_jti_ok(const char *s, size_t len)
{
    return len <= ORBIS_JWT_JTI_MAX
           && orbis_base64_span(s, len, ORBIS_BASE64_URL) == len;
}
