/*
 * Copyright (C) Orbis
 *
 * The operator's tenants file: tenants, their API keys and agents, in
 * nginx-like blocks.  The caller reads the file; this parses its text.
 *
 *     # comment
 *     tenant acme-dental {
 *         name "Acme Dental";
 *         plan pro;                   # free | starter | pro | enterprise
 *         billing_email ops@acme.example;
 *         allowed_origins https://acme.example https://www.acme.example;
 *         api_key widget {
 *             kind publishable;       # publishable | secret
 *             hash <64 hex digits>;   # orbis_apikey_hash() of the key
 *             prefix pk_AbCd;         # optional, for display
 *             last4 wxyz;             # optional, for display
 *             agents receptionist;    # agent slugs of this tenant
 *             allowed_origins https://acme.example;
 *         }
 *         agent receptionist {
 *             name "Front desk";
 *             voice Kore;
 *             language en-US;         # default en-US
 *             greeting "Hello, Acme Dental.";
 *             prompt "You are ...";   # or: prompt_file prompts/acme.txt;
 *             tools score_lead generate_tone;
 *             idle_timeout 300;       # seconds, optional
 *         }
 *     }
 *
 * Values are bare words or double-quoted strings (escapes \" and \\; they
 * may span lines).  Slugs are [a-z0-9-]{1,64}.  Required: a tenant's name,
 * a key's kind and hash, an agent's name, voice and prompt or prompt_file.
 * Each directive may appear once per block.  Values follow the rules of
 * validate.h (names, voices, languages, origins, tools).  A key's hash
 * must be unique in the whole file.
 */

#ifndef ORBISCORE_TENANTS_H
#define ORBISCORE_TENANTS_H

#include <orbiscore/orbiscore.h>
#include <orbiscore/auth.h>


#define ORBIS_SLUG_MAX  64

typedef enum {
    ORBIS_TENANT_PLAN_FREE = 0,
    ORBIS_TENANT_PLAN_STARTER,
    ORBIS_TENANT_PLAN_PRO,
    ORBIS_TENANT_PLAN_ENTERPRISE
} orbis_tenant_plan_t;

typedef struct {
    char                 *slug;
    orbis_apikey_kind_t   kind;
    char                  hash[ORBIS_APIKEY_HASH_LEN + 1];  /* lower case */
    char                  prefix[16];       /* "" when not given */
    char                  last4[5];         /* "" when not given */
    char                **agents;           /* slugs, distinct */
    size_t                n_agents;
    char                **allowed_origins;  /* normalised, distinct */
    size_t                n_allowed_origins;
    unsigned              line;             /* of the api_key directive */
} orbis_tenant_key_t;

typedef struct {
    char      *slug;
    char      *name;
    char      *voice;
    char      *language;        /* canonical case, default "en-US" */
    char      *greeting;        /* NULL when not given */
    char      *prompt;          /* exactly one of prompt and prompt_file */
    char      *prompt_file;     /* a path as written, not read */
    char     **tools;
    size_t     n_tools;
    uint32_t   idle_timeout_sec;    /* 0 when not given */
    unsigned   line;
} orbis_tenant_agent_t;

typedef struct {
    char                  *slug;
    char                  *name;
    orbis_tenant_plan_t    plan;            /* default free */
    char                  *billing_email;   /* lower case; NULL if not given */
    char                 **allowed_origins;
    size_t                 n_allowed_origins;
    orbis_tenant_key_t    *keys;
    size_t                 n_keys;
    orbis_tenant_agent_t  *agents;
    size_t                 n_agents;
    unsigned               line;
} orbis_tenant_conf_t;

typedef struct {
    orbis_tenant_conf_t  *tenants;
    size_t                n_tenants;
} orbis_tenants_t;


/*
 * Parses text[0..len) into a new tree in *out, released with
 * orbis_tenants_free().  Tools must be among the n_known names in
 * known_tools.  On failure *out is NULL, the result is ORBIS_ERR_INVALID
 * (or ORBIS_ERR_NOMEM), err->msg reads "line N: <problem>" for the caller
 * to prefix with the file name, and *line (when not NULL) is N.
 */
orbis_rc_t orbis_tenants_parse(const char *text, size_t len,
    const char *const *known_tools, size_t n_known, orbis_tenants_t **out,
    unsigned *line, orbis_err_t *err);

void orbis_tenants_free(orbis_tenants_t *t);

/* "free", "starter", "pro" or "enterprise" */
const char *orbis_tenant_plan_name(orbis_tenant_plan_t plan);

/* lookups in a parsed tree: NULL when there is no match */
const orbis_tenant_conf_t *orbis_tenants_find(const orbis_tenants_t *t,
    const char *slug);

/* by orbis_apikey_hash() of a presented key; *tenant gets its owner */
const orbis_tenant_key_t *orbis_tenants_find_key(const orbis_tenants_t *t,
    const char *hash_hex, const orbis_tenant_conf_t **tenant);


#endif /* ORBISCORE_TENANTS_H */
