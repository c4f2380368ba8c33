/*
 * Copyright (C) Orbis
 *
 * Accounts and authentication rules: password hashing (scrypt), session
 * tokens (JWT HS256), API keys and browser origins; their base64url is
 * orbiscore/base64.h's.  Nothing here allocates memory the caller has to
 * release: every function writes into a buffer the caller passes in.
 */

#ifndef ORBISCORE_AUTH_H
#define ORBISCORE_AUTH_H

#include <orbiscore/orbiscore.h>
#include <orbiscore/base64.h>


/* passwords */

#define ORBIS_PASSWORD_SALT_LEN   16
#define ORBIS_PASSWORD_MIN_CHARS  10
#define ORBIS_PASSWORD_MAX_BYTES  256

/* enough for any string orbis_password_hash() writes */
#define ORBIS_PASSWORD_HASH_SIZE  128

/* scrypt cost: N = 2^log2_n, memory is about 128 * r * N bytes */
#define ORBIS_PASSWORD_LOG2_N     15
#define ORBIS_PASSWORD_R          8
#define ORBIS_PASSWORD_P          1

/* stored strings asking for more than this are refused, not computed */
#define ORBIS_PASSWORD_MAX_MEM    (64 * 1024 * 1024)

typedef struct {
    unsigned  log2_n;
    unsigned  r;
    unsigned  p;
} orbis_password_params_t;

/*
 * Hashes pw with the default parameters and the caller's random salt into
 * out as "$scrypt$ln=15,r=8,p=1$<salt>$<hash>", salt and the 32-byte hash
 * in base64url.  ORBIS_ERR_RANGE if out is smaller than needed
 * (ORBIS_PASSWORD_HASH_SIZE always suffices) or pw is over
 * ORBIS_PASSWORD_MAX_BYTES.
 */
orbis_rc_t orbis_password_hash(const char *pw, size_t pwlen,
    const uint8_t salt[ORBIS_PASSWORD_SALT_LEN], char *out, size_t outsz,
    orbis_err_t *err);

/* the same with explicit parameters (tests use a small N) */
orbis_rc_t orbis_password_hash_params(const char *pw, size_t pwlen,
    const uint8_t salt[ORBIS_PASSWORD_SALT_LEN],
    const orbis_password_params_t *params, char *out, size_t outsz,
    orbis_err_t *err);

/*
 * ORBIS_OK if pw matches the NUL-terminated stored string, ORBIS_ERR_AUTH if
 * not, ORBIS_ERR_INVALID if stored is malformed or asks for absurd costs.
 * The parameters come from the stored string, so old hashes keep working
 * after the defaults change.
 */
orbis_rc_t orbis_password_verify(const char *pw, size_t pwlen,
    const char *stored, orbis_err_t *err);

/*
 * A valid stored string (default parameters) no password matches: verify
 * against it when the account does not exist, so that a login for an
 * unknown email costs as much time as one for a known email.
 */
const char *orbis_password_dummy_hash(void);

/*
 * The rules for a new password, with messages fit to show to the user:
 * at least ORBIS_PASSWORD_MIN_CHARS characters (code points), at most
 * ORBIS_PASSWORD_MAX_BYTES bytes, valid UTF-8 without control characters,
 * a letter and a non-letter, at least 4 different characters and not on
 * the list of the most common passwords.  Non-ASCII characters count as
 * letters.  ORBIS_ERR_INVALID or ORBIS_ERR_RANGE (too long).
 */
orbis_rc_t orbis_password_check_rules(const char *pw, size_t len,
    orbis_err_t *err);


/* session tokens: JWT signed with HMAC-SHA256 */

#define ORBIS_JWT_MAX_LEN         4096
#define ORBIS_JWT_MIN_SECRET      32
#define ORBIS_JWT_MAX_SKEW        60

/* a token id: base64url of ORBIS_JWT_JTI_RANDOM_LEN random bytes */
#define ORBIS_JWT_JTI_RANDOM_LEN  16
#define ORBIS_JWT_JTI_LEN         22
#define ORBIS_JWT_JTI_MAX         47    /* accepted from a token */

typedef struct {
    char     sub[64];           /* user id */
    char     tid[64];           /* tenant id */
    char     role[16];
    char     jti[ORBIS_JWT_JTI_MAX + 1];  /* token id, "" when absent */
    int64_t  iat;               /* seconds since the epoch */
    int64_t  exp;
} orbis_jwt_claims_t;

/*
 * Writes header.payload.signature and a NUL into out.  sub, tid and role
 * must be non-empty and NUL-terminated inside their arrays, exp > iat, and
 * the secret at least ORBIS_JWT_MIN_SECRET bytes.  jti is optional here
 * (written only when not ""), but when set it must be 1 to
 * ORBIS_JWT_JTI_MAX base64url characters.  An issuer that revokes tokens
 * sets it on every token (orbis_jwt_jti()) and refuses tokens without
 * one.  ORBIS_ERR_RANGE if out is too small (ORBIS_JWT_MAX_LEN + 1 always
 * suffices).
 */
orbis_rc_t orbis_jwt_sign(const orbis_jwt_claims_t *c, const uint8_t *secret,
    size_t secretlen, char *out, size_t outsz, orbis_err_t *err);

/*
 * Checks a token and fills *out with its claims.  now is in seconds.
 * The header must be {"alg":"HS256"} with an optional "typ":"JWT" and
 * nothing else; the signature is checked before the payload is parsed.
 * Returns ORBIS_OK, ORBIS_ERR_EXPIRED (exp <= now), ORBIS_ERR_AUTH (bad
 * signature, other algorithm, iat more than ORBIS_JWT_MAX_SKEW seconds in
 * the future) or ORBIS_ERR_INVALID (malformed, too long, claims missing or
 * too long, a jti that is not 1 to ORBIS_JWT_JTI_MAX base64url
 * characters).  A token without jti passes with out->jti "": whether that
 * is acceptable is the caller's policy.  Anything but ORBIS_OK means the
 * request is unauthenticated.
 */
orbis_rc_t orbis_jwt_verify(const char *token, size_t len,
    const uint8_t *secret, size_t secretlen, int64_t now,
    orbis_jwt_claims_t *out, orbis_err_t *err);

/*
 * Sets c->jti to the base64url encoding of the caller's random bytes
 * (ORBIS_JWT_JTI_LEN characters): 128 bits, so that two tokens never
 * share an id and a revoked id names exactly one token.
 */
void orbis_jwt_jti(orbis_jwt_claims_t *c,
    const uint8_t random[ORBIS_JWT_JTI_RANDOM_LEN]);

/*
 * How many seconds a revocation of the token must be remembered at now:
 * until exp plus ORBIS_JWT_MAX_SKEW, since a node whose clock is behind
 * still accepts the token that long.  0 when no node can accept it any
 * more, so nothing needs remembering.
 */
int64_t orbis_jwt_revocation_ttl(const orbis_jwt_claims_t *c, int64_t now);


/* API keys: "pk_" or "sk_" followed by 32 base64url characters */

#define ORBIS_APIKEY_RANDOM_LEN   24
#define ORBIS_APIKEY_LEN          35
#define ORBIS_APIKEY_HASH_LEN     64

typedef enum {
    ORBIS_KEY_PUBLISHABLE = 0,  /* embedded in web pages, origin-bound */
    ORBIS_KEY_SECRET            /* server to server only */
} orbis_apikey_kind_t;

/* "publishable" or "secret" */
const char *orbis_apikey_kind_name(orbis_apikey_kind_t kind);

/* writes the key and a NUL: ORBIS_ERR_RANGE when outsz < 36 */
orbis_rc_t orbis_apikey_generate(orbis_apikey_kind_t kind,
    const uint8_t random[ORBIS_APIKEY_RANDOM_LEN], char *out, size_t outsz);

/* ORBIS_OK and *kind when key has the exact format, else ORBIS_ERR_INVALID */
orbis_rc_t orbis_apikey_parse(const char *key, size_t len,
    orbis_apikey_kind_t *kind, orbis_err_t *err);

/* lower-case hex SHA-256 of the whole key and a NUL: what is stored */
orbis_rc_t orbis_apikey_hash(const char *key, size_t len,
    char out_hex[ORBIS_APIKEY_HASH_LEN + 1]);

/*
 * What may be shown of a key once it is created: prefix = "pk_" or "sk_"
 * and the next 4 characters ("pk_AbCd"), last4 = the last 4 characters.
 * ORBIS_ERR_INVALID unless orbis_apikey_parse() accepts key.
 */
orbis_rc_t orbis_apikey_display(const char *key, size_t len, char prefix[16],
    char last4[5]);


/* browser origins: scheme://host[:port] */

#define ORBIS_ORIGIN_MAX_LEN      300

/*
 * 1 if the request's Origin header value matches one of the allowed
 * entries, else 0.  Both sides are compared after lower-casing scheme and
 * host, dropping one trailing "/" and a default port (:80 for http, :443
 * for https).  An allowed entry "*" matches every well-formed origin.  An
 * absent, empty or "null" Origin, or one with a path, never matches.
 */
int orbis_origin_allowed(const char *origin, size_t len,
    const char *const *allowed, size_t n);

/*
 * 1 if origin may be configured as an allowed origin: "*" or an http/https
 * origin without userinfo, path, query or fragment (one trailing "/" is
 * tolerated), else 0.
 */
int orbis_origin_valid(const char *origin, size_t len);

/* writes the normalised form of a valid origin and a NUL into out */
orbis_rc_t orbis_origin_normalize(const char *origin, size_t len, char *out,
    size_t outsz);


#endif /* ORBISCORE_AUTH_H */
