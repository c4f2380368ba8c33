
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_ACCESS_H_INCLUDED_
#define _NGX_HTTP_ORBIS_ACCESS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/policy.h>

#include "ngx_http_orbis_request.h"


/*
 * ngx_http_orbis_access.c: runs the request's next pipeline step
 * (authentication, rate limit, then the route's handler).
 */
void ngx_http_orbis_continue(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);

/* ngx_http_orbis_auth.c, ngx_http_orbis_ratelimit.c: pipeline steps */
ngx_int_t ngx_http_orbis_auth(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_role(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_ratelimit(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_ratelimit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
void ngx_http_orbis_ratelimit_init_script(void);


/*
 * One check of the rate-limit script (orbis_ratelimit_lua(), its "multi"
 * form): buckets, optionally the session's revoke key and optionally a
 * lease in a set of live calls, all or nothing.  ngx_http_orbis_limit_check
 * returns NGX_DONE and later calls handler with NGX_OK (the answer is in
 * the struct) or NGX_DECLINED (Redis failed or said something else);
 * NGX_HTTP_SERVICE_UNAVAILABLE at once when Redis cannot be asked;
 * NGX_ERROR for bad arguments.  The owner cancels a pending check before
 * freeing lim.
 */
typedef struct ngx_http_orbis_limit_s  ngx_http_orbis_limit_t;

typedef void (*ngx_http_orbis_limit_pt)(ngx_http_orbis_limit_t *lim,
    ngx_int_t rc);

struct ngx_http_orbis_limit_s {
    const orbis_bucket_t              *buckets;
    ngx_uint_t                         nbuckets;    /* 1 or 2 */
    ngx_str_t                          revoke_key;  /* may be empty */
    const char                        *live_key;    /* NULL: no lease */
    ngx_uint_t                         max_live;    /* 0: no limit */
    ngx_uint_t                         allowance_left;
    ngx_msec_t                         lease;
    const char                        *member;
    ngx_uint_t                         commit;      /* 0: only look */
    ngx_http_orbis_limit_pt            handler;
    void                              *data;
    ngx_log_t                         *log;

    /* the answer */
    orbis_gcra_result_t                rate;        /* of the first bucket,
                                                       or the empty one */
    ngx_uint_t                         revoked;
    ngx_int_t                          hit;         /* 0, bucket i (from
                                                       1), -1 allowance,
                                                       -2 concurrency */
    ngx_uint_t                         live;

    ngx_http_orbis_redis_cmd_t        *cmd;
    unsigned                           by_eval:1;
};

ngx_int_t ngx_http_orbis_limit_check(ngx_http_orbis_limit_t *lim);
void ngx_http_orbis_limit_cancel(ngx_http_orbis_limit_t *lim);


/*
 * ngx_http_orbis_admission.c: may this publishable key open a call to
 * this agent from this origin, now.  The caller fills the inputs and
 * calls ngx_http_orbis_admission_start(); the handler learns the outcome:
 * NGX_OK with the verdict in adm->verdict (admitted: the call holds a
 * place among its tenant's live calls under call_id), or NGX_ERROR with
 * adm->status the driver's status (a dependency failed: 503).  Every
 * rule is liborbiscore's (orbiscore/policy.h); here is only the I/O: one
 * statement for the key, agent, tenant and plan, and one Redis script for
 * the rate limits, the allowance and the concurrency.
 */
typedef struct ngx_http_orbis_admission_s  ngx_http_orbis_admission_t;

typedef void (*ngx_http_orbis_admission_pt)(ngx_http_orbis_admission_t *adm,
    ngx_int_t rc);

struct ngx_http_orbis_admission_s {
    /* in */
    ngx_str_t                          key;         /* NULL data: none */
    ngx_str_t                          agent;
    ngx_str_t                          origin;      /* NULL data: none */
    char                               call_id[37];
    ngx_msec_t                         lease;       /* of a live call */
    ngx_msec_t                         max_age;     /* longest hold */
    ngx_http_orbis_admission_pt        handler;
    void                              *data;
    ngx_log_t                         *log;

    /* out */
    orbis_verdict_t                    verdict;
    ngx_uint_t                         status;      /* NGX_ERROR: why */
    orbis_admission_row_t              row;         /* row.doc: the agent */
    unsigned                           held:1;      /* a live place */

    char                               key_hash[65];
    orbis_call_limits_t                limits;
    ngx_http_orbis_limit_t             limit;
    ngx_http_orbis_pg_query_t         *query;
};

ngx_int_t ngx_http_orbis_admission_start(ngx_http_orbis_admission_t *adm);

/* cancels what is pending and frees the row; the place is kept (held) */
void ngx_http_orbis_admission_cleanup(ngx_http_orbis_admission_t *adm);

/*
 * A call's place among its tenant's live calls.
 * ngx_http_orbis_admission_hold() keeps the lease of an admitted call
 * (tenant, call id) fresh from this worker until it is released;
 * ngx_http_orbis_admission_release() gives it back (tenant NULL: this
 * worker's record of it, or else Redis's live state, says whose), on
 * every ending: the call saved by its worker or by the sweeper.
 */
void ngx_http_orbis_admission_hold(const char *tenant, const char *id,
    ngx_msec_t lease, ngx_msec_t max_age);
void ngx_http_orbis_admission_release(const char *tenant, const char *id);

/*
 * The request's session tokens (JWTs): the Bearer one unless it is an API
 * key, and the cookie's; either may come back empty.
 */
void ngx_http_orbis_session_tokens(ngx_http_request_t *r,
    ngx_str_t *bearer, ngx_str_t *cookie);

/*
 * What logging out token takes: NGX_OK with the Redis key to set and the
 * seconds to keep it, NGX_DECLINED when no node would accept the token
 * anyway (nothing to revoke), NGX_ERROR when out of memory.
 */
ngx_int_t ngx_http_orbis_revocation(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *key, int64_t *ttl);

/*
 * The CSRF check of a request that carries the session cookie:
 * NGX_DECLINED when its Origin (or, without one, its Referer) is the
 * API's own or a configured one, else the status of the 403 sent.
 */
ngx_int_t ngx_http_orbis_csrf(ngx_http_request_t *r);


#endif /* _NGX_HTTP_ORBIS_ACCESS_H_INCLUDED_ */
