/*
 * Copyright (C) Orbis
 *
 * Request bodies of the REST API, parsed and checked.  Each parser takes
 * the raw body and fills a struct of malloc'd NUL-terminated strings that
 * the matching orbis_req_*_free() releases (also after a failed parse, so
 * the caller can always call it; it leaves the struct zeroed).
 *
 * On failure the parsers return ORBIS_ERR_INVALID, or ORBIS_ERR_RANGE for
 * values that are too long or out of range, and err->msg names the field:
 *   "email: must be a valid email address"
 *   "body: not valid JSON at line 1 column 5"
 *   "tools[2]: unknown tool \"foo\""
 * Bodies must be one JSON object without duplicate or unknown members.
 * JSON null is accepted only where a struct below has a "cleared" member:
 * for an optional member it means "back to the default"; for a member
 * that must have a value it is refused with a message saying so.
 */

#ifndef ORBISCORE_VALIDATE_H
#define ORBISCORE_VALIDATE_H

#include <orbiscore/orbiscore.h>
#include <orbiscore/auth.h>


#define ORBIS_BODY_MAX           65536

#define ORBIS_EMAIL_MAX          254
#define ORBIS_NAME_MAX           100    /* characters */
#define ORBIS_PROMPT_MAX         20000  /* bytes */
#define ORBIS_GREETING_MAX       500    /* characters */
#define ORBIS_ORIGINS_MAX        50
#define ORBIS_TOOLS_MAX          32
#define ORBIS_AGENT_IDS_MAX      100
#define ORBIS_IDLE_TIMEOUT_MIN   30     /* seconds */
#define ORBIS_IDLE_TIMEOUT_MAX   7200
#define ORBIS_LANGUAGE_DEFAULT   "en-US"
#define ORBIS_UUID_LEN           36

#define ORBIS_LIMIT_DEFAULT      20
#define ORBIS_LIMIT_MAX          100
#define ORBIS_CURSOR_MAX         128    /* encoded, with the NUL */


/* value rules, shared with the tenants file */

/* 1 for "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in hex of either case */
int orbis_uuid_valid(const char *s, size_t len);

/*
 * 1 for a plain address: local@domain, at most ORBIS_EMAIL_MAX bytes, ASCII
 * only, a dotted domain of letters, digits and hyphens with a non-numeric
 * last label.  Case is not significant.
 */
int orbis_email_valid(const char *s, size_t len);

/* 1 for "de", "en-US", "pt-BR", "es-419", "zh-Hant-TW" (any case) */
int orbis_language_valid(const char *s, size_t len);

/* the Gemini Live prebuilt voices, static storage; names are case-sensitive */
const char *const *orbis_voices(size_t *n);
int orbis_voice_valid(const char *s, size_t len);

/* the catalog's languages (static storage), ORBIS_LANGUAGE_DEFAULT first */
const char *const *orbis_languages(size_t *n);


/* POST /signup */

typedef struct {
    char  *email;               /* trimmed, lower-cased */
    char  *password;            /* passed orbis_password_check_rules() */
    char  *tenant_name;         /* trimmed, 1..ORBIS_NAME_MAX */
    char  *name;                /* trimmed; NULL when absent */
    char  *referral_code;       /* NULL when absent or ""; else 4 to 32
                                   of [A-Za-z0-9_-] */
} orbis_req_signup_t;

orbis_rc_t orbis_req_signup_parse(const char *body, size_t len,
    orbis_req_signup_t *out, orbis_err_t *err);
/* wipes the password before freeing it */
void orbis_req_signup_free(orbis_req_signup_t *s);


/* POST /login: no password rules, only presence and length */

typedef struct {
    char  *email;               /* trimmed, lower-cased */
    char  *password;
} orbis_req_login_t;

orbis_rc_t orbis_req_login_parse(const char *body, size_t len,
    orbis_req_login_t *out, orbis_err_t *err);
void orbis_req_login_free(orbis_req_login_t *l);


/*
 * PUT /tenants/me: at least one member.  null clears billingEmail (in
 * cleared only: there is no value to store) and allowedOrigins (in both:
 * the value is the empty list); null for name is refused.
 */

#define ORBIS_TENANT_UPD_NAME           0x01
#define ORBIS_TENANT_UPD_BILLING_EMAIL  0x02
#define ORBIS_TENANT_UPD_ORIGINS        0x04

typedef struct {
    unsigned   present;         /* ORBIS_TENANT_UPD_* bits with a value */
    unsigned   cleared;         /* ORBIS_TENANT_UPD_* bits sent as null */
    char      *name;
    char      *billing_email;
    char     **allowed_origins; /* normalised, distinct; may be empty */
    size_t     n_allowed_origins;
} orbis_req_tenant_update_t;

orbis_rc_t orbis_req_tenant_update_parse(const char *body, size_t len,
    orbis_req_tenant_update_t *out, orbis_err_t *err);
void orbis_req_tenant_update_free(orbis_req_tenant_update_t *t);


/*
 * POST /agents (partial = 0: name, systemPrompt and voice required,
 * language defaults to ORBIS_LANGUAGE_DEFAULT) and PUT /agents/{id}
 * (partial = 1: every member optional, at least one present).  Tools must
 * be among the n_known names in known_tools.
 *
 * null for name, systemPrompt or voice is refused.  null for an optional
 * member sets its bit in cleared and puts back the default: greeting ""
 * and language ORBIS_LANGUAGE_DEFAULT and no tools (these also set their
 * present bit and hold that value, so a caller stores them as if sent),
 * and no idle timeout override (cleared only: the caller stores "none").
 */

#define ORBIS_AGENT_NAME          0x01
#define ORBIS_AGENT_SYSTEM_PROMPT 0x02
#define ORBIS_AGENT_VOICE         0x04
#define ORBIS_AGENT_GREETING      0x08
#define ORBIS_AGENT_LANGUAGE      0x10
#define ORBIS_AGENT_TOOLS         0x20
#define ORBIS_AGENT_IDLE_TIMEOUT  0x40

typedef struct {
    unsigned   present;         /* ORBIS_AGENT_* bits with a value */
    unsigned   cleared;         /* ORBIS_AGENT_* bits sent as null */
    char      *name;
    char      *system_prompt;
    char      *voice;
    char      *greeting;        /* may be "" to clear it */
    char      *language;        /* canonical case */
    char     **tools;
    size_t     n_tools;
    uint32_t   idle_timeout_sec;    /* 0 when absent */
} orbis_req_agent_t;

orbis_rc_t orbis_req_agent_parse(const char *body, size_t len, int partial,
    const char *const *known_tools, size_t n_known, orbis_req_agent_t *out,
    orbis_err_t *err);
void orbis_req_agent_free(orbis_req_agent_t *a);


/*
 * POST /api-keys {name, kind, allowedOrigins?, agentIds?} and
 * PUT /api-keys/{id} (update: name, allowedOrigins and agentIds each
 * optional, at least one present; kind cannot change and is refused).
 */

#define ORBIS_APIKEY_REQ_ORIGINS    0x01
#define ORBIS_APIKEY_REQ_AGENT_IDS  0x02
#define ORBIS_APIKEY_REQ_NAME       0x04

typedef struct {
    unsigned              present;  /* ORBIS_APIKEY_REQ_* bits */
    char                 *name;     /* NULL when absent (update only) */
    orbis_apikey_kind_t   kind;     /* publishable on update */
    char                **allowed_origins;  /* normalised, distinct */
    size_t                n_allowed_origins;
    char                **agent_ids;        /* lower-case UUIDs, distinct */
    size_t                n_agent_ids;
} orbis_req_apikey_t;

orbis_rc_t orbis_req_apikey_parse(const char *body, size_t len,
    orbis_req_apikey_t *out, orbis_err_t *err);
orbis_rc_t orbis_req_apikey_update_parse(const char *body, size_t len,
    orbis_req_apikey_t *out, orbis_err_t *err);
void orbis_req_apikey_free(orbis_req_apikey_t *k);


/*
 * Keyset pagination: a cursor is base64url("<created_us>:<uuid>"), the
 * sort key of the last row of a page.  Decoding is strict: anything that
 * encode would not have written is ORBIS_ERR_INVALID.
 */
orbis_rc_t orbis_cursor_encode(int64_t created_us, const char *uuid,
    char *out, size_t sz);
orbis_rc_t orbis_cursor_decode(const char *cursor, size_t len,
    int64_t *created_us, char uuid[ORBIS_UUID_LEN + 1], orbis_err_t *err);

/*
 * The ?limit= query value: s == NULL (no parameter) gives
 * ORBIS_LIMIT_DEFAULT, else 1..ORBIS_LIMIT_MAX in plain decimal.
 */
orbis_rc_t orbis_limit_parse(const char *s, size_t len, uint32_t *limit,
    orbis_err_t *err);


#endif /* ORBISCORE_VALIDATE_H */
