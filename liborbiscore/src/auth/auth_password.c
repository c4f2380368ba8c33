/*
 * Copyright (C) Orbis
 */


#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <orbiscore/auth.h>

#include "auth_int.h"


#define ORBIS_SCRYPT_PREFIX    "$scrypt$"
#define ORBIS_SCRYPT_DK_LEN    32
#define ORBIS_SCRYPT_SALT_MIN  8
#define ORBIS_SCRYPT_MAX_LEN   64   /* decoded salt or hash */

/* bound on N * r * p: 8 times the default work */
#define ORBIS_SCRYPT_MAX_WORK  (1u << 21)


static orbis_rc_t orbis_password_params_ok(const orbis_password_params_t *p);
static orbis_rc_t orbis_password_parse(const char *s,
    orbis_password_params_t *p, uint8_t *salt, size_t *saltlen,
    uint8_t *hash, size_t *hashlen);
static const char *orbis_password_uint(const char *s, const char *name,
    unsigned max, unsigned *v);


/*
 * Computed once with default parameters from 32 random bytes that were
 * thrown away, so that no password is known to match.
 */
static const char  orbis_password_dummy[] =
    "$scrypt$ln=15,r=8,p=1$UBAob5Kiw5hAwFxbhTxHmw"
    "$hnT3SKl25CV-P9YD7v9E-9-Omij_rymjrRL7fznGE-I";


orbis_rc_t
orbis_password_hash(const char *pw, size_t pwlen,
    const uint8_t salt[ORBIS_PASSWORD_SALT_LEN], char *out, size_t outsz,
    orbis_err_t *err)
{
    orbis_password_params_t  p;

    p.log2_n = ORBIS_PASSWORD_LOG2_N;
    p.r = ORBIS_PASSWORD_R;
    p.p = ORBIS_PASSWORD_P;

    return orbis_password_hash_params(pw, pwlen, salt, &p, out, outsz, err);
}


orbis_rc_t
orbis_password_hash_params(const char *pw, size_t pwlen,
    const uint8_t salt[ORBIS_PASSWORD_SALT_LEN],
    const orbis_password_params_t *params, char *out, size_t outsz,
    orbis_err_t *err)
{
    int         n;
    char        salt64[ORBIS_BASE64URL_ENCODED_LEN(ORBIS_PASSWORD_SALT_LEN)
                       + 1];
    char        dk64[ORBIS_BASE64URL_ENCODED_LEN(ORBIS_SCRYPT_DK_LEN) + 1];
    uint8_t     dk[ORBIS_SCRYPT_DK_LEN];
    orbis_rc_t  rc;

    if (pwlen > ORBIS_PASSWORD_MAX_BYTES) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "password must be at most %d bytes",
                             ORBIS_PASSWORD_MAX_BYTES);
    }

    if (orbis_password_params_ok(params) != ORBIS_OK) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "scrypt parameters out of range");
    }

    rc = orbis_scrypt_derive(pw, pwlen, salt, ORBIS_PASSWORD_SALT_LEN,
                             params, dk, sizeof(dk));
    if (rc != ORBIS_OK) {
        return orbis_err_set(err, rc, "scrypt failed");
    }

    orbis_base64url_encode(salt, ORBIS_PASSWORD_SALT_LEN, salt64,
                           sizeof(salt64), NULL);
    orbis_base64url_encode(dk, sizeof(dk), dk64, sizeof(dk64), NULL);
    OPENSSL_cleanse(dk, sizeof(dk));

    n = snprintf(out, outsz, ORBIS_SCRYPT_PREFIX "ln=%u,r=%u,p=%u$%s$%s",
                 params->log2_n, params->r, params->p, salt64, dk64);

    if (n < 0 || (size_t) n >= outsz) {
        if (outsz > 0) {
            out[0] = '\0';
        }

        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "password hash buffer too small");
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_password_verify(const char *pw, size_t pwlen, const char *stored,
    orbis_err_t *err)
{
    int                      eq;
    size_t                   saltlen, hashlen;
    uint8_t                  salt[ORBIS_SCRYPT_MAX_LEN];
    uint8_t                  hash[ORBIS_SCRYPT_MAX_LEN];
    uint8_t                  dk[ORBIS_SCRYPT_MAX_LEN];
    orbis_rc_t               rc;
    orbis_password_params_t  p;

    if (stored == NULL
        || orbis_password_parse(stored, &p, salt, &saltlen, hash, &hashlen)
           != ORBIS_OK)
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "stored password hash is malformed");
    }

    if (orbis_password_params_ok(&p) != ORBIS_OK) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "stored password hash has absurd parameters");
    }

    /* no password that long was ever hashed, so it cannot match */
    if (pwlen > ORBIS_PASSWORD_MAX_BYTES) {
        return orbis_err_set(err, ORBIS_ERR_AUTH, "wrong password");
    }

    rc = orbis_scrypt_derive(pw, pwlen, salt, saltlen, &p, dk, hashlen);
    if (rc != ORBIS_OK) {
        return orbis_err_set(err, rc, "scrypt failed");
    }

    eq = orbis_ct_equal(dk, hash, hashlen);
    OPENSSL_cleanse(dk, sizeof(dk));

    if (!eq) {
        return orbis_err_set(err, ORBIS_ERR_AUTH, "wrong password");
    }

    return ORBIS_OK;
}


const char *
orbis_password_dummy_hash(void)
{
    return orbis_password_dummy;
}


orbis_rc_t
orbis_scrypt_derive(const char *pw, size_t pwlen, const uint8_t *salt,
    size_t saltlen, const orbis_password_params_t *p, uint8_t *out,
    size_t outlen)
{
    /* OpenSSL treats a NULL password as empty, but say so explicitly */
    if (pw == NULL) {
        pw = "";
        pwlen = 0;
    }

    if (EVP_PBE_scrypt(pw, pwlen, salt, saltlen, (uint64_t) 1 << p->log2_n,
                       p->r, p->p, ORBIS_PASSWORD_MAX_MEM, out, outlen)
        != 1)
    {
        return ORBIS_ERR_INTERNAL;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_password_params_ok(const orbis_password_params_t *p)
{
    uint64_t  n, mem;

    if (p == NULL
        || p->log2_n < 1 || p->log2_n > 20
        || p->r < 1 || p->r > 32
        || p->p < 1 || p->p > 16)
    {
        return ORBIS_ERR_INVALID;
    }

    n = (uint64_t) 1 << p->log2_n;

    /* what OpenSSL allocates: B (p blocks) and V (N + 2 blocks) */
    mem = 128 * (uint64_t) p->r * p->p + 128 * (uint64_t) p->r * (n + 2);

    if (mem > ORBIS_PASSWORD_MAX_MEM
        || n * p->r * p->p > ORBIS_SCRYPT_MAX_WORK)
    {
        return ORBIS_ERR_INVALID;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_password_parse(const char *s, orbis_password_params_t *p,
    uint8_t *salt, size_t *saltlen, uint8_t *hash, size_t *hashlen)
{
    const char  *dollar;

    if (strncmp(s, ORBIS_SCRYPT_PREFIX, sizeof(ORBIS_SCRYPT_PREFIX) - 1)
        != 0)
    {
        return ORBIS_ERR_INVALID;
    }

    s += sizeof(ORBIS_SCRYPT_PREFIX) - 1;

    s = orbis_password_uint(s, "ln=", 99, &p->log2_n);
    if (s == NULL || *s++ != ',') {
        return ORBIS_ERR_INVALID;
    }

    s = orbis_password_uint(s, "r=", 999, &p->r);
    if (s == NULL || *s++ != ',') {
        return ORBIS_ERR_INVALID;
    }

    s = orbis_password_uint(s, "p=", 999, &p->p);
    if (s == NULL || *s++ != '$') {
        return ORBIS_ERR_INVALID;
    }

    dollar = strchr(s, '$');
    if (dollar == NULL) {
        return ORBIS_ERR_INVALID;
    }

    if (orbis_base64url_decode(s, (size_t) (dollar - s), salt,
                               ORBIS_SCRYPT_MAX_LEN, saltlen)
        != ORBIS_OK
        || *saltlen < ORBIS_SCRYPT_SALT_MIN)
    {
        return ORBIS_ERR_INVALID;
    }

    s = dollar + 1;

    if (orbis_base64url_decode(s, strlen(s), hash, ORBIS_SCRYPT_MAX_LEN,
                               hashlen)
        != ORBIS_OK
        || *hashlen < 16)
    {
        return ORBIS_ERR_INVALID;
    }

    return ORBIS_OK;
}


/* "name" followed by a decimal without sign or leading zeros, up to max */
static const char *
orbis_password_uint(const char *s, const char *name, unsigned max,
    unsigned *v)
{
    size_t  n;

    n = strlen(name);

    if (strncmp(s, name, n) != 0) {
        return NULL;
    }

    s += n;

    if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9')) {
        return NULL;
    }

    *v = 0;

    while (*s >= '0' && *s <= '9') {
        *v = *v * 10 + (unsigned) (*s - '0');

        if (*v > max) {
            return NULL;
        }

        s++;
    }

    return s;
}
