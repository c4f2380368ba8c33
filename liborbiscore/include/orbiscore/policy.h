/*
 * Copyright (C) Orbis
 *
 * Who may do what, and how much: every access decision of the platform
 * as a pure function over typed inputs.  The module gathers the facts
 * (a database row, a Redis answer, a header) and acts on the verdict;
 * the rules are here, in one place, tested without a server.
 *
 * Sections (add new ones at the end, each under its own banner):
 *   verdicts          what every decision returns
 *   defaults          the limits' defaults (an agent's are in validate.h
 *                     beside the catalogs: ORBIS_LANGUAGE_DEFAULT)
 *   rate limits       which bucket and which limit a request is counted in
 *   call admission    may this key open a call to this agent, now
 *   plan quotas       may a tenant create one more agent or key
 */

#ifndef ORBISCORE_POLICY_H
#define ORBISCORE_POLICY_H

#include <jansson.h>

#include <orbiscore/orbiscore.h>
#include <orbiscore/auth.h>


/* ---------------------------------------------------------- verdicts */

/*
 * A refusal carries everything either kind of client is told: programs
 * get status and the JSON error {code, message}; browsers on /stream,
 * which cannot read a refused handshake, get the upgrade and at once a
 * close frame with close_code and the message as its reason.
 */
typedef struct {
    int          admit;          /* 1: go on; the rest is unset */
    unsigned     status;         /* HTTP status */
    const char  *code;           /* error code (static storage) */
    uint16_t     close_code;     /* WebSocket close code, 0 if none */
    int64_t      retry_after;    /* seconds for Retry-After, 0: none */
    char         message[ORBIS_ERR_MSG_LEN];
} orbis_verdict_t;


/* ---------------------------------------------------------- defaults */

/* requests a minute of a secret key whose plan says nothing usable */
#define ORBIS_DEFAULT_KEY_RATE         100

/* requests a minute of a user's session (orbis_rate_limit) */
#define ORBIS_DEFAULT_SESSION_RATE     100

/* signups and logins a minute per client address (orbis_auth_rate_limit) */
#define ORBIS_DEFAULT_ADDRESS_RATE     10

/* the window every rate limit is expressed in */
#define ORBIS_RATE_PERIOD_MS           60000


/* ------------------------------------------------------- rate limits */

#define ORBIS_BUCKET_KEY_MAX           160

/* a GCRA bucket in Redis (or the node's fallback): its key and its rate */
typedef struct {
    char      key[ORBIS_BUCKET_KEY_MAX];
    uint32_t  limit;             /* requests per ORBIS_RATE_PERIOD_MS */
    uint32_t  burst;             /* at once: min(limit, GCRA maximum) */
} orbis_bucket_t;

typedef enum {
    ORBIS_CALLER_ANONYMOUS = 0,
    ORBIS_CALLER_SESSION,        /* a user's JWT (Bearer or cookie) */
    ORBIS_CALLER_SECRET_KEY      /* Bearer sk_... */
} orbis_caller_kind_t;

/* an API request as the rate limiter sees it */
typedef struct {
    int                  per_address;   /* signup and login routes */
    orbis_caller_kind_t  kind;
    const char          *user_id;       /* a session's */
    const char          *key_id;        /* a secret key's */
    const char          *address;       /* the client's */
    uint32_t             session_rate;  /* orbis_rate_limit */
    uint32_t             key_rate;      /* the key's plan; 0: unknown */
    uint32_t             address_rate;  /* orbis_auth_rate_limit */
} orbis_api_caller_t;

/*
 * The bucket an API request is counted in: signup and login share one
 * budget per client address (guesses are guesses, whoever is signed in);
 * a session its user's bucket ("rl:user:{<user>}", the hash tag of the
 * session's revoke key); a secret key its own at its plan's rate.  1 when
 * a bucket applies, 0 for an anonymous request to a public route.
 */
int orbis_api_bucket(const orbis_api_caller_t *c, orbis_bucket_t *b);

/* the bucket of a rate and key: burst is the rate, at most GCRA's max */
void orbis_bucket_set(orbis_bucket_t *b, uint32_t limit, const char *fmt,
    ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;


/* --------------------------------------------------- call admission */

/* calls at once beyond the tenant's plan (HTTP 429) */
#define ORBIS_CLOSE_CONCURRENCY_LIMIT  4005

/*
 * What the handshake's one statement says about a key, its tenant and
 * plan, the month's usage and the agent: facts only; what they mean is
 * decided below.
 */
typedef struct {
    json_t               *doc;          /* the parsed row (owned); the
                                           call reads its agent from it */
    char                  key_id[37];
    char                  tenant_id[37];
    char                  agent_id[37]; /* "" when no such agent */
    orbis_apikey_kind_t   kind;
    int                   revoked;
    int                   agent_found;  /* in the key's tenant, alive */
    const char          **key_agents;   /* the key's agents; none: all */
    size_t                n_key_agents;
    const char          **key_origins;  /* the key's own origins */
    size_t                n_key_origins;
    const char          **tenant_origins;  /* when the key lists none */
    size_t                n_tenant_origins;
    uint32_t              key_rate;     /* calls a minute with one key */
    uint32_t              tenant_rate;  /* calls a minute, whole tenant */
    uint32_t              monthly_limit;
    uint32_t              used;         /* calls saved this month */
    uint32_t              max_concurrent;  /* 0: no limit */
} orbis_admission_row_t;

/*
 * Parses the row (a JSON object: keyId, tenantId, kind, revoked,
 * keyAgents, keyOrigins, tenantOrigins, rateLimit, tenantRateLimit,
 * monthlyLimit, used, maxConcurrentCalls, agent: null or an object with
 * an id) into row; the string lists point into row->doc.
 * ORBIS_ERR_INVALID when a member is missing or of the wrong type,
 * ORBIS_ERR_NOMEM.  Release with orbis_admission_row_free(), also after a
 * failure.
 */
orbis_rc_t orbis_admission_row_parse(const char *text, size_t len,
    orbis_admission_row_t *row, orbis_err_t *err);
void orbis_admission_row_free(orbis_admission_row_t *row);

/*
 * The checks before any I/O: key is the ?key= value (NULL when absent),
 * agent the ?agent= value.  No key or a malformed one: 401/4003; a
 * secret key: 403/4003 (it must never reach a browser); an agent that is
 * not a UUID: 404/4000.
 */
void orbis_admission_precheck(const char *key, size_t key_len,
    const char *agent, size_t agent_len, orbis_verdict_t *v);

/*
 * The origins a key may be used from: its own, or its tenant's when it
 * lists none.
 */
void orbis_admission_origins(const orbis_admission_row_t *row,
    const char *const **origins, size_t *n);

/* 1 when the key may open the row's agent: it lists none, or that one */
int orbis_admission_agent_allowed(const orbis_admission_row_t *row);

/*
 * The row's decision, in the documented order: no row (unknown key),
 * a revoked or non-publishable key: 401/4003; no such agent: 404/4000;
 * a key for other agents: 403/4003; an Origin that the key (or tenant)
 * does not allow: 403/4003, before anything is counted, so a page on
 * another site cannot spend the tenant's limits; the month's allowance
 * used up by saved calls: 429/4002.  origin NULL means the client sent
 * none (not a browser): such a client learns about the limits below but
 * is refused at the end (orbis_admission_finish).  admit = 1 means: go on
 * to the limits.
 */
void orbis_admission_decide(const orbis_admission_row_t *row,
    const char *origin, size_t origin_len, orbis_verdict_t *v);

/*
 * The limits a call is checked against in one Redis script: the key's
 * bucket and the tenant's (rates a minute), the tenant's set of live
 * calls (each a lease that runs out unless refreshed) against the plan's
 * concurrency and the month's allowance left (saved calls plus live ones
 * must stay below the allowance: a call reserves its unit when it
 * starts).  commit is 0 for a client that will be refused anyway (no
 * Origin): the script then only looks, and spends nothing.
 */
typedef struct {
    orbis_bucket_t  buckets[2];         /* key, tenant */
    size_t          n_buckets;
    char            live_key[ORBIS_BUCKET_KEY_MAX];
    uint32_t        max_live;           /* 0: no limit */
    uint32_t        allowance_left;
    int             commit;
} orbis_call_limits_t;

/*
 * The keys share the tenant's {hash tag}, so the script's keys live in
 * one Redis Cluster slot: "rl:stream:{<tenant>}:<key id>" (the key's
 * bucket), "rl:stream:{<tenant>}" (the tenant's), "calls:live:{<tenant>}".
 */
void orbis_call_limits(const orbis_admission_row_t *row, int browser,
    orbis_call_limits_t *l);

/* what the script found (see orbis_ratelimit_lua(), the "multi" form) */
typedef enum {
    ORBIS_LIMIT_NONE = 0,        /* within every limit */
    ORBIS_LIMIT_BUCKET,          /* bucket `bucket` is empty */
    ORBIS_LIMIT_ALLOWANCE,       /* live calls reserve the rest */
    ORBIS_LIMIT_CONCURRENCY      /* max_live calls are live */
} orbis_limit_hit_t;

typedef struct {
    orbis_limit_hit_t  hit;
    size_t             bucket;          /* 0-based, for ORBIS_LIMIT_BUCKET */
    int64_t            retry_after_ms;
    uint32_t           live;            /* live calls before this one */
} orbis_limits_outcome_t;

/*
 * Maps the script's outcome (NULL: the limits could not be checked, as
 * when Redis is down: calls go on, the saved allowance still held) to
 * the verdict: a bucket: 429/4001 (rate_limited; the message says whose
 * and when to retry); the allowance: 429/4002 (usage_limit); concurrency:
 * 429/4005 (concurrency_limit).  Then, with every limit kept, a client
 * without Origin is refused 403/4003: publishable keys are bound to web
 * origins.
 */
void orbis_admission_finish(const orbis_admission_row_t *row,
    const orbis_call_limits_t *l, const orbis_limits_outcome_t *o,
    int browser, orbis_verdict_t *v);


/* ------------------------------------------------------ plan quotas */

typedef enum {
    ORBIS_QUOTA_AGENTS = 0,
    ORBIS_QUOTA_API_KEYS
} orbis_quota_t;

/*
 * One more of what when the tenant has count and the plan allows max:
 * admitted below max, else 403 plan_limit ("the plan allows 3 agents;
 * delete one or change plans").  The module counts under the tenant's
 * row lock (orbis_plan_room() in SQL), so two creates cannot both take
 * the last place.
 */
void orbis_quota_decide(orbis_quota_t what, uint32_t count, uint32_t max,
    orbis_verdict_t *v);

/* the SQL name orbis_plan_room() knows the quota by ("agents") */
const char *orbis_quota_name(orbis_quota_t what);


/* ------------------------------------------------------------------------
 * Roles (src/policy/policy_roles.c): who may change what through the API.
 *
 * A tenant's users have one role each: owner, admin or member.  Reading
 * is open to every role.  Changes need at least:
 *
 *     agents (create, update, delete)             admin
 *     API keys (mint, change, revoke)             owner
 *     tenant settings (name, plan, origins, ...)  owner
 *     anything else that writes                   owner
 *
 * A secret key acts for its tenant as its owner would (only an owner can
 * mint one).  The caller reads the role from the database on each write,
 * not from a session token, so a changed role counts at once.
 * --------------------------------------------------------------------- */

typedef enum {
    ORBIS_ROLE_NONE = 0,        /* unknown: may read, change nothing */
    ORBIS_ROLE_MEMBER,
    ORBIS_ROLE_ADMIN,
    ORBIS_ROLE_OWNER
} orbis_role_t;

typedef enum {
    ORBIS_ACTION_READ = 0,
    ORBIS_ACTION_AGENTS_WRITE,
    ORBIS_ACTION_KEYS_WRITE,
    ORBIS_ACTION_TENANT_WRITE,
    ORBIS_ACTION_OTHER_WRITE    /* a write no rule names: owner only */
} orbis_action_t;

/* "owner", "admin", "member" (exactly); anything else is ORBIS_ROLE_NONE */
orbis_role_t orbis_role_parse(const char *s, size_t len);

/* "owner", "admin", "member" or "none" (static storage) */
const char *orbis_role_name(orbis_role_t role);

/* the least role that may do action */
orbis_role_t orbis_role_needed(orbis_action_t action);

/*
 * ORBIS_OK when role may do action; else ORBIS_ERR_AUTH with a message
 * for people that says what the action needs and what the caller is,
 * e.g. "managing API keys needs the owner role; this account is a member".
 */
orbis_rc_t orbis_role_check(orbis_role_t role, orbis_action_t action,
    orbis_err_t *err);


#endif /* ORBISCORE_POLICY_H */
