
/*
 * Copyright (C) Orbis
 *
 * Fleet-wide rate limiting: GCRA in Redis, one EVALSHA per request (the
 * script's SHA-1 is computed here, and a NOSCRIPT answer falls back to
 * EVAL, which also loads it).  The same script answers whether the
 * session's JWT was logged out (its revoke key exists), so that check
 * costs no round trip of its own.  When Redis cannot be reached the limit
 * is kept per node in shared memory with the same arithmetic
 * (liborbiscore's orbis_gcra_check), or the request is refused, as
 * configured; revocations cannot be seen then (docs/api.md says so).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include <orbiscore/ratelimit.h>

#include "ngx_http_orbis_access.h"


#define NGX_HTTP_ORBIS_RL_PERIOD  60000
#define NGX_HTTP_ORBIS_RL_PROBE   8


typedef struct {
    uint64_t                      hash;
    int64_t                       tat_ms;
} ngx_http_orbis_rl_slot_t;


typedef struct {
    ngx_uint_t                    nslots;
    ngx_http_orbis_rl_slot_t      slots[1];
} ngx_http_orbis_rl_shm_t;


static void ngx_http_orbis_rl_reply(void *data, redisReply *reply,
    ngx_uint_t status);
static ngx_int_t ngx_http_orbis_rl_eval(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_uint_t by_sha);
static ngx_int_t ngx_http_orbis_rl_local(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
static ngx_int_t ngx_http_orbis_rl_decide(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
static ngx_int_t ngx_http_orbis_rl_header(ngx_http_request_t *r,
    const char *name, int64_t value);
static ngx_int_t ngx_http_orbis_rl_revoked(ngx_http_request_t *r);
static ngx_uint_t ngx_http_orbis_rl_burst(ngx_http_orbis_ctx_t *ctx);


static u_char  ngx_http_orbis_rl_sha[41];


ngx_int_t
ngx_http_orbis_ratelimit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                    n;
    ngx_slab_pool_t          *shpool;
    ngx_http_orbis_rl_shm_t  *rl;

    if (data) {
        /* a reload keeps the buckets */
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    n = (shm_zone->shm.size / 2) / sizeof(ngx_http_orbis_rl_slot_t);

    rl = ngx_slab_calloc(shpool, sizeof(ngx_http_orbis_rl_shm_t)
                                 + n * sizeof(ngx_http_orbis_rl_slot_t));
    if (rl == NULL) {
        return NGX_ERROR;
    }

    rl->nslots = n;
    shpool->data = rl;
    shm_zone->data = rl;

    return NGX_OK;
}


void
ngx_http_orbis_ratelimit_init_script(void)
{
    u_char       digest[20];
    const char  *script;
    ngx_sha1_t   sha1;

    script = orbis_ratelimit_lua();

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, script, ngx_strlen(script));
    ngx_sha1_final(digest, &sha1);

    ngx_hex_dump(ngx_http_orbis_rl_sha, digest, 20);
    ngx_http_orbis_rl_sha[40] = '\0';
}


/*
 * A pipeline step: NGX_DECLINED when the request may go on, NGX_DONE while
 * Redis is asked, or the status of the answer already sent.
 */

ngx_int_t
ngx_http_orbis_ratelimit(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    u_char                      *p;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (ctx->route->flags & NGX_HTTP_ORBIS_IP_LIMIT) {
        /* one budget for signup and login: guesses are guesses */

        p = ngx_pnalloc(r->pool, sizeof("rl:ip::auth") - 1
                                 + r->connection->addr_text.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->rate_key.data = p;
        ctx->rate_key.len = ngx_sprintf(p, "rl:ip:%V:auth",
                                        &r->connection->addr_text) - p;
        ctx->rate_limit = omcf->auth_rate_limit;

    } else if (ctx->rate_key.len == 0) {
        /* public and unauthenticated: nothing to count against */
        return NGX_DECLINED;
    }

    return ngx_http_orbis_rl_eval(r, ctx, 1);
}


static ngx_int_t
ngx_http_orbis_rl_eval(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_uint_t by_sha)
{
    u_char       limit[NGX_INT_T_LEN], period[NGX_INT_T_LEN];
    u_char       burst[NGX_INT_T_LEN];
    size_t       lens[8];
    ngx_int_t    rc;
    ngx_uint_t   n;
    const char  *argv[8];

    argv[0] = by_sha ? "EVALSHA" : "EVAL";
    lens[0] = by_sha ? 7 : 4;

    if (by_sha) {
        argv[1] = (const char *) ngx_http_orbis_rl_sha;
        lens[1] = 40;

    } else {
        argv[1] = orbis_ratelimit_lua();
        lens[1] = ngx_strlen(argv[1]);
    }

    argv[3] = (const char *) ctx->rate_key.data;
    lens[3] = ctx->rate_key.len;
    n = 4;

    /* a session's JWT: was it logged out?  KEYS[2], in the same trip */

    if (ctx->revoke_key.len) {
        argv[n] = (const char *) ctx->revoke_key.data;
        lens[n++] = ctx->revoke_key.len;
    }

    argv[2] = n == 4 ? "1" : "2";
    lens[2] = 1;

    argv[n] = (const char *) limit;
    lens[n++] = ngx_sprintf(limit, "%ui", ctx->rate_limit) - limit;
    argv[n] = (const char *) period;
    lens[n++] = ngx_sprintf(period, "%d", NGX_HTTP_ORBIS_RL_PERIOD) - period;
    argv[n] = (const char *) burst;
    lens[n++] = ngx_sprintf(burst, "%ui", ngx_http_orbis_rl_burst(ctx))
                - burst;

    rc = ngx_http_orbis_request_redis(r, ctx, ngx_http_orbis_rl_reply,
                                      (int) n, argv, lens);

    if (rc == NGX_HTTP_SERVICE_UNAVAILABLE) {
        return ngx_http_orbis_rl_local(r, ctx);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_http_orbis_rl_reply(void *data, redisReply *reply, ngx_uint_t status)
{
    ngx_http_request_t  *r = data;

    ngx_int_t              rc;
    ngx_http_orbis_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_orbis_module);
    ctx->redis_cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK) {
        rc = ngx_http_orbis_rl_local(r, ctx);
        goto next;
    }

    if (reply->type == REDIS_REPLY_ERROR
        && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0)
    {
        rc = ngx_http_orbis_rl_eval(r, ctx, 0);
        goto next;
    }

    /* the fifth number, "revoked", comes when a revoke key was sent */

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != (ctx->revoke_key.len ? 5 : 4)
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_INTEGER
        || reply->element[2]->type != REDIS_REPLY_INTEGER
        || reply->element[3]->type != REDIS_REPLY_INTEGER
        || (reply->elements == 5
            && reply->element[4]->type != REDIS_REPLY_INTEGER))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "orbis ratelimit: unexpected reply from redis%s%s",
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");
        rc = ngx_http_orbis_rl_local(r, ctx);
        goto next;
    }

    if (reply->elements == 5 && reply->element[4]->integer != 0) {
        rc = ngx_http_orbis_rl_revoked(r);
        goto next;
    }

    ctx->rate.allowed = (int) reply->element[0]->integer;
    ctx->rate.limit = (uint32_t) ctx->rate_limit;
    ctx->rate.remaining = (uint32_t) reply->element[1]->integer;
    ctx->rate.reset_ms = reply->element[2]->integer;
    ctx->rate.retry_after_ms = reply->element[3]->integer;

    rc = ngx_http_orbis_rl_decide(r, ctx);

next:

    if (rc == NGX_DONE) {
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_orbis_continue(r, ctx);
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_orbis_rl_local(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    uint32_t                     hash;
    uint64_t                     h;
    ngx_uint_t                   i, slot, victim;
    ngx_time_t                  *tp;
    ngx_slab_pool_t             *shpool;
    ngx_http_orbis_rl_shm_t     *rl;
    ngx_http_orbis_rl_slot_t    *s;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (!omcf->rl_fallback_local) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "rate_limiter_unavailable",
                                         "the rate limiter cannot be "
                                         "reached, try again shortly");
    }

    /* two independent 32-bit hashes make one 64-bit key */

    hash = ngx_crc32_long(ctx->rate_key.data, ctx->rate_key.len);
    h = ((uint64_t) hash << 32)
        | ngx_murmur_hash2(ctx->rate_key.data, ctx->rate_key.len);

    shpool = (ngx_slab_pool_t *) omcf->rl_zone->shm.addr;
    rl = omcf->rl_zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    slot = h % rl->nslots;
    victim = slot;

    for (i = 0; i < NGX_HTTP_ORBIS_RL_PROBE; i++) {
        s = &rl->slots[(slot + i) % rl->nslots];

        if (s->hash == h) {
            victim = (slot + i) % rl->nslots;
            break;
        }

        /* else reuse the bucket that refilled longest ago */
        if (s->tat_ms < rl->slots[victim].tat_ms) {
            victim = (slot + i) % rl->nslots;
        }
    }

    s = &rl->slots[victim];

    if (s->hash != h) {
        s->hash = h;
        s->tat_ms = 0;
    }

    tp = ngx_timeofday();

    (void) orbis_gcra_check(&s->tat_ms, (int64_t) tp->sec * 1000 + tp->msec,
                            (uint32_t) ctx->rate_limit,
                            NGX_HTTP_ORBIS_RL_PERIOD,
                            (uint32_t) ngx_http_orbis_rl_burst(ctx),
                            &ctx->rate);

    ngx_shmtx_unlock(&shpool->mutex);

    return ngx_http_orbis_rl_decide(r, ctx);
}


static ngx_int_t
ngx_http_orbis_rl_decide(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    int64_t  retry;

    if (ngx_http_orbis_rl_header(r, "RateLimit-Limit", ctx->rate_limit)
        != NGX_OK
        || ngx_http_orbis_rl_header(r, "RateLimit-Remaining",
                                    ctx->rate.remaining) != NGX_OK
        || ngx_http_orbis_rl_header(r, "RateLimit-Reset",
                              orbis_ratelimit_reset_seconds(ctx->rate.reset_ms))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->rate.allowed) {
        return NGX_DECLINED;
    }

    retry = orbis_ratelimit_reset_seconds(ctx->rate.retry_after_ms);

    if (ngx_http_orbis_rl_header(r, "Retry-After", retry) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_orbis_send_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                     "rate_limited",
                                     "too many requests: %ui a minute are "
                                     "allowed; retry in %L s",
                                     ctx->rate_limit, retry);
}


static ngx_int_t
ngx_http_orbis_rl_header(ngx_http_request_t *r, const char *name,
    int64_t value)
{
    u_char           *p;
    ngx_table_elt_t  *h;

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "%L", value) - p;

    return NGX_OK;
}


/* the session was logged out: as dead as an expired one, and it says so */

static ngx_int_t
ngx_http_orbis_rl_revoked(ngx_http_request_t *r)
{
    if (ngx_http_orbis_header_out(r, "WWW-Authenticate",
                                  "Bearer realm=\"orbis\"")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_orbis_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "token_revoked",
                                     "this session was logged out; "
                                     "sign in again");
}


/* a minute's worth may come at once, up to what GCRA accepts */

static ngx_uint_t
ngx_http_orbis_rl_burst(ngx_http_orbis_ctx_t *ctx)
{
    return ngx_min(ctx->rate_limit, ORBIS_GCRA_BURST_MAX);
}


