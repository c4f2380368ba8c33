/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include <openssl/evp.h>

#include <orbiscore/auth.h>

#include "auth_int.h"


#define ORBIS_APIKEY_PREFIX_LEN  3
#define ORBIS_APIKEY_BODY_LEN    32


static int orbis_apikey_prefix(const char *key, size_t len,
    orbis_apikey_kind_t *kind);


const char *
orbis_apikey_kind_name(orbis_apikey_kind_t kind)
{
    return kind == ORBIS_KEY_SECRET ? "secret" : "publishable";
}


orbis_rc_t
orbis_apikey_generate(orbis_apikey_kind_t kind,
    const uint8_t random[ORBIS_APIKEY_RANDOM_LEN], char *out, size_t outsz)
{
    if (outsz < ORBIS_APIKEY_LEN + 1) {
        return ORBIS_ERR_RANGE;
    }

    if (kind != ORBIS_KEY_PUBLISHABLE && kind != ORBIS_KEY_SECRET) {
        return ORBIS_ERR_INVALID;
    }

    memcpy(out, kind == ORBIS_KEY_SECRET ? "sk_" : "pk_",
           ORBIS_APIKEY_PREFIX_LEN);

    return orbis_base64url_encode(random, ORBIS_APIKEY_RANDOM_LEN,
                                  out + ORBIS_APIKEY_PREFIX_LEN,
                                  outsz - ORBIS_APIKEY_PREFIX_LEN, NULL);
}


orbis_rc_t
orbis_apikey_parse(const char *key, size_t len, orbis_apikey_kind_t *kind,
    orbis_err_t *err)
{
    orbis_apikey_kind_t  k;

    if (key == NULL || len != ORBIS_APIKEY_LEN
        || !orbis_apikey_prefix(key, len, &k))
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "malformed API key");
    }

    /* 24 random bytes fill exactly 32 characters: no partial last group */
    if (orbis_base64_span(key + ORBIS_APIKEY_PREFIX_LEN,
                          len - ORBIS_APIKEY_PREFIX_LEN, ORBIS_BASE64_URL)
        != len - ORBIS_APIKEY_PREFIX_LEN)
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "malformed API key");
    }

    if (kind != NULL) {
        *kind = k;
    }

    return ORBIS_OK;
}


/*
 * A plain SHA-256, not a password hash: keys carry 192 random bits, so
 * there is nothing to gain by guessing and a slow hash would only cost
 * time on every request that presents a key.  The hash is what the
 * database stores and looks keys up by.
 */
orbis_rc_t
orbis_apikey_hash(const char *key, size_t len,
    char out_hex[ORBIS_APIKEY_HASH_LEN + 1])
{
    size_t         i;
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    if (EVP_Digest(key, len, md, &n, EVP_sha256(), NULL) != 1
        || n * 2 != ORBIS_APIKEY_HASH_LEN)
    {
        out_hex[0] = '\0';
        return ORBIS_ERR_INTERNAL;
    }

    for (i = 0; i < n; i++) {
        out_hex[2 * i] = hex[md[i] >> 4];
        out_hex[2 * i + 1] = hex[md[i] & 0xf];
    }

    out_hex[2 * n] = '\0';

    return ORBIS_OK;
}


orbis_rc_t
orbis_apikey_display(const char *key, size_t len, char prefix[16],
    char last4[5])
{
    orbis_apikey_kind_t  k;

    prefix[0] = '\0';
    last4[0] = '\0';

    if (orbis_apikey_parse(key, len, &k, NULL) != ORBIS_OK) {
        return ORBIS_ERR_INVALID;
    }

    memcpy(prefix, key, ORBIS_APIKEY_PREFIX_LEN + 4);
    prefix[ORBIS_APIKEY_PREFIX_LEN + 4] = '\0';

    memcpy(last4, key + len - 4, 4);
    last4[4] = '\0';

    return ORBIS_OK;
}


static int
orbis_apikey_prefix(const char *key, size_t len, orbis_apikey_kind_t *kind)
{
    if (len < ORBIS_APIKEY_PREFIX_LEN) {
        return 0;
    }

    if (memcmp(key, "pk_", ORBIS_APIKEY_PREFIX_LEN) == 0) {
        *kind = ORBIS_KEY_PUBLISHABLE;
        return 1;
    }

    if (memcmp(key, "sk_", ORBIS_APIKEY_PREFIX_LEN) == 0) {
        *kind = ORBIS_KEY_SECRET;
        return 1;
    }

    return 0;
}
