
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
 *
 * ngx_http_orbis_limit_check() is the one way to the script: the API's
 * pipeline step below uses it with one bucket and the revoke key, the
 * /stream admission (ngx_http_orbis_admission.c) with the key's and the
 * tenant's buckets and the tenant's live calls.  Which bucket and which
 * limit is liborbiscore's decision (orbiscore/policy.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include <orbiscore/policy.h>
#include <orbiscore/ratelimit.h>

#include "ngx_http_orbis_access.h"


#define NGX_HTTP_ORBIS_RL_PROBE   8

/* EVALSHA sha nkeys, 2 buckets + revoke + live, multi nb flags, 2 x 3, 4 */
#define NGX_HTTP_ORBIS_RL_ARGS    24


typedef struct {
    uint64_t                      hash;
    int64_t                       tat_ms;
} ngx_http_orbis_rl_slot_t;


typedef struct {
    ngx_uint_t                    nslots;
    ngx_http_orbis_rl_slot_t      slots[1];
} ngx_http_orbis_rl_shm_t;


static void ngx_http_orbis_limit_reply(void *data, redisReply *reply,
    ngx_uint_t status);
static ngx_int_t ngx_http_orbis_limit_send(ngx_http_orbis_limit_t *lim);
static void ngx_http_orbis_rl_cleanup(void *data);
static void ngx_http_orbis_rl_done(ngx_http_orbis_limit_t *lim,
    ngx_int_t rc);
static ngx_int_t ngx_http_orbis_rl_local(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
static ngx_int_t ngx_http_orbis_rl_decide(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
static ngx_int_t ngx_http_orbis_rl_header(ngx_http_request_t *r,
    const char *name, int64_t value);
static ngx_int_t ngx_http_orbis_rl_revoked(ngx_http_request_t *r);


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
    ngx_int_t                    rc;
    orbis_bucket_t              *b;
    orbis_api_caller_t           c;
    ngx_pool_cleanup_t          *cln;
    ngx_http_orbis_limit_t      *lim;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    p = ngx_pnalloc(r->pool, r->connection->addr_text.len + 1);
    lim = ngx_pcalloc(r->pool, sizeof(ngx_http_orbis_limit_t));
    b = ngx_pcalloc(r->pool, sizeof(orbis_bucket_t));

    if (p == NULL || lim == NULL || b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_cpymem(p, r->connection->addr_text.data,
                r->connection->addr_text.len) = '\0';

    ngx_memzero(&c, sizeof(orbis_api_caller_t));

    c.per_address = (ctx->route->flags & NGX_HTTP_ORBIS_IP_LIMIT) != 0;
    c.address = (const char *) p;
    c.session_rate = (uint32_t) omcf->rate_limit;
    c.address_rate = (uint32_t) omcf->auth_rate_limit;

    if (ctx->auth_kind == NGX_HTTP_ORBIS_AUTH_KEY && ctx->key_id.len) {
        c.kind = ORBIS_CALLER_SECRET_KEY;
        c.key_id = (const char *) ctx->key_id.data;
        c.key_rate = (uint32_t) ctx->rate_limit;

    } else if ((ctx->auth_kind == NGX_HTTP_ORBIS_AUTH_BEARER
                || ctx->auth_kind == NGX_HTTP_ORBIS_AUTH_COOKIE)
               && ctx->user_id.len)
    {
        c.kind = ORBIS_CALLER_SESSION;
        c.user_id = (const char *) ctx->user_id.data;
    }

    if (!orbis_api_bucket(&c, b)) {
        return NGX_DECLINED;
    }

    ctx->rate_key.data = (u_char *) b->key;
    ctx->rate_key.len = ngx_strlen(b->key);
    ctx->rate_limit = b->limit;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_orbis_rl_cleanup;
    cln->data = lim;

    lim->buckets = b;
    lim->nbuckets = 1;
    lim->revoke_key = ctx->revoke_key;
    lim->commit = 1;
    lim->handler = ngx_http_orbis_rl_done;
    lim->data = r;
    lim->log = r->connection->log;

    rc = ngx_http_orbis_limit_check(lim);

    if (rc == NGX_HTTP_SERVICE_UNAVAILABLE) {
        return ngx_http_orbis_rl_local(r, ctx);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_http_orbis_rl_cleanup(void *data)
{
    ngx_http_orbis_limit_t  *lim = data;

    ngx_http_orbis_limit_cancel(lim);
}


static void
ngx_http_orbis_rl_done(ngx_http_orbis_limit_t *lim, ngx_int_t rc)
{
    ngx_http_request_t  *r = lim->data;

    ngx_http_orbis_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_orbis_module);

    if (rc != NGX_OK) {
        rc = ngx_http_orbis_rl_local(r, ctx);

    } else if (lim->revoked) {
        rc = ngx_http_orbis_rl_revoked(r);

    } else {
        ctx->rate = lim->rate;
        ctx->rate.limit = (uint32_t) ctx->rate_limit;
        rc = ngx_http_orbis_rl_decide(r, ctx);
    }

    if (rc == NGX_DECLINED) {
        ngx_http_orbis_continue(r, ctx);
        return;
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * The script, for every caller: NGX_DONE when the handler will be told
 * (NGX_OK with the answer in lim, NGX_DECLINED when Redis failed or said
 * something unexpected), NGX_HTTP_SERVICE_UNAVAILABLE when Redis cannot
 * be asked now, NGX_ERROR on bad arguments.
 */

ngx_int_t
ngx_http_orbis_limit_check(ngx_http_orbis_limit_t *lim)
{
    if (lim->nbuckets == 0 || lim->nbuckets > 2) {
        return NGX_ERROR;
    }

    lim->by_eval = 0;

    return ngx_http_orbis_limit_send(lim);
}


void
ngx_http_orbis_limit_cancel(ngx_http_orbis_limit_t *lim)
{
    if (lim->cmd != NULL) {
        ngx_http_orbis_redis_cancel(lim->cmd);
        lim->cmd = NULL;
    }
}


static ngx_int_t
ngx_http_orbis_limit_send(ngx_http_orbis_limit_t *lim)
{
    u_char       nums[NGX_HTTP_ORBIS_RL_ARGS][NGX_INT64_LEN];
    u_char       flags[4], *f;
    size_t       lens[NGX_HTTP_ORBIS_RL_ARGS];
    ngx_uint_t   n, i, k, status;
    const char  *argv[NGX_HTTP_ORBIS_RL_ARGS];

    if (ngx_http_orbis_worker == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    n = 0;

#define ngx_http_orbis_rl_arg(s, l)                                          \
    argv[n] = (const char *) (s); lens[n] = (l); n++

#define ngx_http_orbis_rl_num(v)                                             \
    argv[n] = (const char *) nums[n];                                        \
    lens[n] = ngx_sprintf(nums[n], "%uL", (uint64_t) (v)) - nums[n]; n++

    if (lim->by_eval) {
        ngx_http_orbis_rl_arg("EVAL", 4);
        ngx_http_orbis_rl_arg(orbis_ratelimit_lua(),
                              ngx_strlen(orbis_ratelimit_lua()));

    } else {
        ngx_http_orbis_rl_arg("EVALSHA", 7);
        ngx_http_orbis_rl_arg(ngx_http_orbis_rl_sha, 40);
    }

    k = lim->nbuckets + (lim->revoke_key.len ? 1 : 0)
        + (lim->live_key != NULL ? 1 : 0);

    ngx_http_orbis_rl_num(k);

    for (i = 0; i < lim->nbuckets; i++) {
        ngx_http_orbis_rl_arg(lim->buckets[i].key,
                              ngx_strlen(lim->buckets[i].key));
    }

    f = flags;

    if (lim->revoke_key.len) {
        ngx_http_orbis_rl_arg(lim->revoke_key.data, lim->revoke_key.len);
        *f++ = 'r';
    }

    if (lim->live_key != NULL) {
        ngx_http_orbis_rl_arg(lim->live_key, ngx_strlen(lim->live_key));
        *f++ = 'l';
    }

    if (lim->commit) {
        *f++ = 'c';
    }

    ngx_http_orbis_rl_arg("multi", 5);
    ngx_http_orbis_rl_num(lim->nbuckets);

    if (f == flags) {
        /* an empty argument is fine, but say so plainly */
        *f++ = '-';
    }

    ngx_http_orbis_rl_arg(flags, f - flags);

    for (i = 0; i < lim->nbuckets; i++) {
        ngx_http_orbis_rl_num(lim->buckets[i].limit);
        ngx_http_orbis_rl_num(ORBIS_RATE_PERIOD_MS);
        ngx_http_orbis_rl_num(lim->buckets[i].burst);
    }

    if (lim->live_key != NULL) {
        ngx_http_orbis_rl_num(lim->max_live);
        ngx_http_orbis_rl_num(lim->allowance_left);
        ngx_http_orbis_rl_num(lim->lease);
        ngx_http_orbis_rl_arg(lim->member, ngx_strlen(lim->member));
    }

#undef ngx_http_orbis_rl_arg
#undef ngx_http_orbis_rl_num

    lim->cmd = ngx_http_orbis_redis_command(ngx_http_orbis_worker->redis,
                                            ngx_http_orbis_limit_reply, lim,
                                            (int) n, argv, lens, &status);
    if (lim->cmd == NULL) {
        /* the caller decides what no answer means, and says so */
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return NGX_DONE;
}


static void
ngx_http_orbis_limit_reply(void *data, redisReply *reply, ngx_uint_t status)
{
    ngx_http_orbis_limit_t  *lim = data;

    ngx_uint_t  i;

    lim->cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK) {
        lim->handler(lim, NGX_DECLINED);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR
        && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0 && !lim->by_eval)
    {
        lim->by_eval = 1;

        if (ngx_http_orbis_limit_send(lim) != NGX_DONE) {
            lim->handler(lim, NGX_DECLINED);
        }

        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 7) {
        goto unexpected;
    }

    for (i = 0; i < 7; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            goto unexpected;
        }
    }

    lim->rate.allowed = (int) reply->element[0]->integer;
    lim->rate.limit = lim->buckets[0].limit;
    lim->rate.remaining = (uint32_t) reply->element[1]->integer;
    lim->rate.reset_ms = reply->element[2]->integer;
    lim->rate.retry_after_ms = reply->element[3]->integer;
    lim->revoked = reply->element[4]->integer != 0;
    lim->hit = (ngx_int_t) reply->element[5]->integer;
    lim->live = (ngx_uint_t) reply->element[6]->integer;

    lim->handler(lim, NGX_OK);
    return;

unexpected:

    ngx_log_error(NGX_LOG_ERR, lim->log, 0,
                  "orbis ratelimit: unexpected reply from redis%s%s",
                  reply->type == REDIS_REPLY_ERROR ? ": " : "",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "");

    lim->handler(lim, NGX_DECLINED);
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
                            ORBIS_RATE_PERIOD_MS,
                            (uint32_t) ngx_min(ctx->rate_limit,
                                               ORBIS_GCRA_BURST_MAX),
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
    ngx_str_t  v;

    v.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (v.data == NULL) {
        return NGX_ERROR;
    }

    v.len = ngx_sprintf(v.data, "%L", value) - v.data;

    return ngx_http_orbis_header_out_str(r, name, &v);
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
