
/*
 * Copyright (C) Orbis
 *
 * Admission of a call: the I/O around liborbiscore's decisions
 * (orbiscore/policy.h).  One statement reads the key, its tenant and
 * plan, the month's saved calls and the agent; the core decides on that
 * row (key, agent, the key's agents, the origin, the saved allowance);
 * then one run of the rate-limit script (ngx_http_orbis_ratelimit.c)
 * checks the key's and the tenant's buckets and the tenant's live calls
 * against the plan's concurrency and the allowance left, and takes a
 * place among them when everything has room; the core reads its answer.
 *
 * A place is a lease in the sorted set calls:live:{<tenant>}, scored by a
 * deadline on Redis's clock.  This worker keeps the leases of its calls
 * fresh (one script run per refresh, for all of them) from admission
 * until the call is saved, by its worker or by the sweeper, which gives
 * the place back (ngx_http_orbis_admission_release); a worker that dies
 * stops refreshing, and its places lapse by themselves.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/policy.h>
#include <orbiscore/ratelimit.h>

#include "ngx_http_orbis_access.h"


/* the shortest refresh period, however short the lease */
#define NGX_HTTP_ORBIS_LEASE_MIN_REFRESH  100


typedef struct {
    ngx_queue_t                   queue;
    char                          tenant[37];
    char                          id[37];
    ngx_msec_t                    lease;
    ngx_msec_t                    until;        /* stop refreshing then */
} ngx_http_orbis_lease_t;


static void ngx_http_orbis_admission_row(void *data, PGresult *res,
    ngx_uint_t status);
static void ngx_http_orbis_admission_limited(ngx_http_orbis_limit_t *lim,
    ngx_int_t rc);
static void ngx_http_orbis_lease_arm(ngx_msec_t lease);
static void ngx_http_orbis_lease_handler(ngx_event_t *ev);
static void ngx_http_orbis_lease_refreshed(void *data, redisReply *reply,
    ngx_uint_t status);
static ngx_int_t ngx_http_orbis_lease_run(const char *op,
    ngx_msec_t lease, const char **pairs, ngx_uint_t npairs,
    ngx_http_orbis_redis_handler_pt handler);
static ngx_http_orbis_lease_t *ngx_http_orbis_lease_find(const char *id);


/*
 * One statement gathers what the decisions need: no row, no such key.
 * The usage is this calendar month's (UTC), as the save counts it.
 */

static const char  ngx_http_orbis_admission_sql[] =
    "SELECT json_build_object("
    " 'keyId', k.id, 'tenantId', k.tenant_id, 'kind', k.kind,"
    " 'revoked', k.revoked_at IS NOT NULL,"
    " 'keyAgents', k.agent_ids,"
    " 'keyOrigins', k.allowed_origins,"
    " 'tenantOrigins', t.allowed_origins,"
    " 'rateLimit', p.rate_limit_per_minute,"
    " 'tenantRateLimit', p.tenant_calls_per_minute,"
    " 'monthlyLimit', p.conversations_per_month,"
    " 'maxConcurrentCalls', p.max_concurrent_calls,"
    " 'used', coalesce((SELECT u.conversations FROM tenant_usage u"
    "                   WHERE u.tenant_id = k.tenant_id AND u.month ="
    "                   date_trunc('month', now() AT TIME ZONE 'UTC')::date),"
    "                  0),"
    " 'agent', CASE WHEN a.id IS NULL THEN NULL ELSE json_build_object("
    "   'id', a.id, 'name', a.name, 'systemPrompt', a.system_prompt,"
    "   'voice', a.voice, 'greeting', a.greeting, 'language', a.language,"
    "   'tools', a.tools, 'idleTimeoutSec', a.idle_timeout_sec) END)::text"
    " FROM api_keys k"
    " JOIN tenants t ON t.id = k.tenant_id"
    " JOIN plans p ON p.id = t.plan"
    " LEFT JOIN agents a ON a.id = $2::uuid AND a.tenant_id = k.tenant_id"
    "                   AND a.deleted_at IS NULL"
    " WHERE k.key_hash = $1";


/* this worker's live calls (and finished ones not yet saved) */
static ngx_queue_t  ngx_http_orbis_leases;
static ngx_uint_t   ngx_http_orbis_nleases;
static ngx_event_t  ngx_http_orbis_lease_ev;
static ngx_msec_t   ngx_http_orbis_lease_period;
static ngx_msec_t   ngx_http_orbis_lease_last;


/*
 * NGX_OK: decided at once (adm->verdict); NGX_DONE: the handler will be
 * told; NGX_ERROR: the database cannot be asked (adm->status says why).
 */

ngx_int_t
ngx_http_orbis_admission_start(ngx_http_orbis_admission_t *adm)
{
    ngx_str_t  params[2];

    orbis_admission_precheck((const char *) adm->key.data, adm->key.len,
                             (const char *) adm->agent.data, adm->agent.len,
                             &adm->verdict);

    if (!adm->verdict.admit) {
        return NGX_OK;
    }

    if (orbis_apikey_hash((const char *) adm->key.data, adm->key.len,
                          adm->key_hash)
        != ORBIS_OK)
    {
        adm->status = NGX_HTTP_ORBIS_PG_UNAVAILABLE;
        return NGX_ERROR;
    }

    params[0].data = (u_char *) adm->key_hash;
    params[0].len = ORBIS_APIKEY_HASH_LEN;
    params[1] = adm->agent;

    adm->query = ngx_http_orbis_pg_query(ngx_http_orbis_worker->pg,
                                         ngx_http_orbis_admission_sql, 2,
                                         params,
                                         ngx_http_orbis_admission_row, adm,
                                         &adm->status);
    if (adm->query == NULL) {
        return NGX_ERROR;
    }

    return NGX_DONE;
}


void
ngx_http_orbis_admission_cleanup(ngx_http_orbis_admission_t *adm)
{
    if (adm->query != NULL) {
        ngx_http_orbis_pg_cancel(adm->query);
        adm->query = NULL;
    }

    ngx_http_orbis_limit_cancel(&adm->limit);

    orbis_admission_row_free(&adm->row);
}


static void
ngx_http_orbis_admission_row(void *data, PGresult *res, ngx_uint_t status)
{
    ngx_http_orbis_admission_t  *adm = data;

    char         *state;
    ngx_int_t     rc;
    orbis_err_t   err;

    adm->query = NULL;

    if (ngx_terminate || ngx_http_orbis_worker == NULL) {
        return;
    }

    if (status != NGX_HTTP_ORBIS_PG_OK) {
        adm->status = status;
        adm->handler(adm, NGX_ERROR);
        return;
    }

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        ngx_log_error(NGX_LOG_ERR, adm->log, 0,
                      "orbis admission: statement failed (%s): %s",
                      state ? state : "-", PQresultErrorMessage(res));

        adm->status = NGX_HTTP_ORBIS_PG_UNAVAILABLE;
        adm->handler(adm, NGX_ERROR);
        return;
    }

    if (PQntuples(res) == 0) {
        orbis_admission_decide(NULL, NULL, 0, &adm->verdict);
        adm->handler(adm, NGX_OK);
        return;
    }

    if (orbis_admission_row_parse(PQgetvalue(res, 0, 0),
                                  PQgetlength(res, 0, 0), &adm->row, &err)
        != ORBIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, adm->log, 0, "orbis admission: %s",
                      err.msg);

        adm->status = NGX_HTTP_ORBIS_PG_UNAVAILABLE;
        adm->handler(adm, NGX_ERROR);
        return;
    }

    orbis_admission_decide(&adm->row, (const char *) adm->origin.data,
                           adm->origin.len, &adm->verdict);

    if (!adm->verdict.admit) {
        adm->handler(adm, NGX_OK);
        return;
    }

    orbis_call_limits(&adm->row, adm->origin.data != NULL, &adm->limits);

    adm->limit.buckets = adm->limits.buckets;
    adm->limit.nbuckets = adm->limits.n_buckets;
    adm->limit.live_key = adm->limits.live_key;
    adm->limit.max_live = adm->limits.max_live;
    adm->limit.allowance_left = adm->limits.allowance_left;
    adm->limit.lease = adm->lease;
    adm->limit.member = adm->call_id;
    adm->limit.commit = adm->limits.commit;
    adm->limit.handler = ngx_http_orbis_admission_limited;
    adm->limit.data = adm;
    adm->limit.log = adm->log;

    rc = ngx_http_orbis_limit_check(&adm->limit);

    if (rc == NGX_DONE) {
        return;
    }

    /* calls go on without Redis: the plan's saved allowance still holds */

    ngx_log_error(NGX_LOG_WARN, adm->log, 0,
                  "orbis admission: limits not checked (redis)");

    orbis_admission_finish(&adm->row, &adm->limits, NULL,
                           adm->origin.data != NULL, &adm->verdict);
    adm->handler(adm, NGX_OK);
}


static void
ngx_http_orbis_admission_limited(ngx_http_orbis_limit_t *lim, ngx_int_t rc)
{
    ngx_http_orbis_admission_t  *adm = lim->data;

    orbis_limits_outcome_t   o, *op;

    if (ngx_terminate || ngx_http_orbis_worker == NULL) {
        return;
    }

    op = NULL;

    if (rc == NGX_OK) {
        ngx_memzero(&o, sizeof(orbis_limits_outcome_t));

        if (lim->hit > 0) {
            o.hit = ORBIS_LIMIT_BUCKET;
            o.bucket = (size_t) lim->hit - 1;

        } else if (lim->hit == -1) {
            o.hit = ORBIS_LIMIT_ALLOWANCE;

        } else if (lim->hit == -2) {
            o.hit = ORBIS_LIMIT_CONCURRENCY;
        }

        o.retry_after_ms = lim->rate.retry_after_ms;
        o.live = (uint32_t) lim->live;
        op = &o;

    } else {
        ngx_log_error(NGX_LOG_WARN, adm->log, 0,
                      "orbis admission: limits not checked (redis)");
    }

    orbis_admission_finish(&adm->row, &adm->limits, op,
                           adm->origin.data != NULL, &adm->verdict);

    if (adm->verdict.admit && op != NULL && adm->limits.commit) {
        adm->held = 1;
        ngx_http_orbis_admission_hold(adm->row.tenant_id, adm->call_id,
                                      adm->lease, adm->max_age);
    }

    adm->handler(adm, NGX_OK);
}


/* ---- the leases of this worker's calls ---- */

void
ngx_http_orbis_admission_hold(const char *tenant, const char *id,
    ngx_msec_t lease, ngx_msec_t max_age)
{
    ngx_http_orbis_lease_t  *l;

    if (ngx_http_orbis_lease_ev.handler == NULL) {
        ngx_queue_init(&ngx_http_orbis_leases);
    }

    l = ngx_alloc(sizeof(ngx_http_orbis_lease_t), ngx_cycle->log);
    if (l == NULL) {
        /* the place lapses after one lease: the call is not counted then */
        return;
    }

    ngx_cpystrn((u_char *) l->tenant, (u_char *) tenant, sizeof(l->tenant));
    ngx_cpystrn((u_char *) l->id, (u_char *) id, sizeof(l->id));
    l->lease = lease;
    l->until = ngx_current_msec + max_age;

    ngx_queue_insert_tail(&ngx_http_orbis_leases, &l->queue);
    ngx_http_orbis_nleases++;

    ngx_http_orbis_lease_arm(lease);
}


void
ngx_http_orbis_admission_release(const char *tenant, const char *id)
{
    const char              *pair[2];
    ngx_http_orbis_lease_t  *l;

    if (id[0] == '\0') {
        /* a refusal delivered over a WebSocket: no call, no place */
        return;
    }

    l = ngx_http_orbis_lease_find(id);

    /* an empty tenant: the script reads it from the call's live state */
    pair[0] = tenant != NULL ? tenant : (l != NULL ? l->tenant : "");
    pair[1] = id;

    (void) ngx_http_orbis_lease_run("release", 0, pair, 2, NULL);

    if (l != NULL) {
        ngx_queue_remove(&l->queue);
        ngx_http_orbis_nleases--;
        ngx_free(l);
    }
}


static ngx_http_orbis_lease_t *
ngx_http_orbis_lease_find(const char *id)
{
    ngx_queue_t             *q;
    ngx_http_orbis_lease_t  *l;

    if (ngx_http_orbis_lease_ev.handler == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_http_orbis_leases);
         q != ngx_queue_sentinel(&ngx_http_orbis_leases);
         q = ngx_queue_next(q))
    {
        l = ngx_queue_data(q, ngx_http_orbis_lease_t, queue);

        if (ngx_strcmp(l->id, id) == 0) {
            return l;
        }
    }

    return NULL;
}


static void
ngx_http_orbis_lease_arm(ngx_msec_t lease)
{
    ngx_msec_t  period;

    /* three refreshes a lease: one lost command costs nothing */
    period = ngx_max(lease / 3, NGX_HTTP_ORBIS_LEASE_MIN_REFRESH);

    if (ngx_http_orbis_lease_ev.handler == NULL) {
        ngx_http_orbis_lease_ev.handler = ngx_http_orbis_lease_handler;
        ngx_http_orbis_lease_ev.log = ngx_cycle->log;
        ngx_http_orbis_lease_ev.cancelable = 1;
    }

    if (ngx_http_orbis_lease_period == 0
        || period < ngx_http_orbis_lease_period)
    {
        ngx_http_orbis_lease_period = period;

        if (ngx_http_orbis_lease_ev.timer_set) {
            ngx_del_timer(&ngx_http_orbis_lease_ev);
        }
    }

    if (!ngx_http_orbis_lease_ev.timer_set) {
        ngx_add_timer(&ngx_http_orbis_lease_ev, ngx_http_orbis_lease_period);
    }
}


static void
ngx_http_orbis_lease_handler(ngx_event_t *ev)
{
    ngx_uint_t               n;
    ngx_msec_t               lease;
    ngx_queue_t             *q, *next;
    const char             **pairs;
    ngx_http_orbis_lease_t  *l;

    if (ngx_http_orbis_nleases == 0
        || (ev->timedout && ngx_http_orbis_lease_last == ngx_current_msec))
    {
        /*
         * armed again by the next admission; and never twice in one
         * millisecond (timers cancelled at exit are run back to back)
         */
        ngx_http_orbis_lease_period = 0;
        return;
    }

    ngx_http_orbis_lease_last = ngx_current_msec;

    pairs = ngx_alloc(2 * ngx_http_orbis_nleases * sizeof(char *), ev->log);
    lease = 0;
    n = 0;

    for (q = ngx_queue_head(&ngx_http_orbis_leases);
         q != ngx_queue_sentinel(&ngx_http_orbis_leases);
         q = next)
    {
        next = ngx_queue_next(q);
        l = ngx_queue_data(q, ngx_http_orbis_lease_t, queue);

        if ((ngx_msec_int_t) (ngx_current_msec - l->until) >= 0) {
            /* a call that never ended here: let its place lapse */
            ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                          "orbis admission: call %s held its place too "
                          "long; it lapses", l->id);
            ngx_queue_remove(q);
            ngx_http_orbis_nleases--;
            ngx_free(l);
            continue;
        }

        lease = ngx_max(lease, l->lease);

        if (pairs != NULL) {
            pairs[n++] = l->tenant;
            pairs[n++] = l->id;
        }
    }

    if (n > 0) {
        (void) ngx_http_orbis_lease_run("refresh", lease, pairs, n,
                                        ngx_http_orbis_lease_refreshed);
    }

    if (pairs != NULL) {
        ngx_free(pairs);
    }

    /* also while the worker exits: its calls still run */
    ngx_add_timer(ev, ngx_http_orbis_lease_period);
}


/* the ids Redis no longer lists: given back elsewhere, or lapsed */

static void
ngx_http_orbis_lease_refreshed(void *data, redisReply *reply,
    ngx_uint_t status)
{
    size_t                   i;
    ngx_http_orbis_lease_t  *l;

    if (status != NGX_HTTP_ORBIS_REDIS_OK) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "orbis admission: unexpected reply to a refresh%s%s",
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        l = ngx_http_orbis_lease_find(reply->element[i]->str);

        if (l != NULL) {
            ngx_queue_remove(&l->queue);
            ngx_http_orbis_nleases--;
            ngx_free(l);
        }
    }
}


static ngx_int_t
ngx_http_orbis_lease_run(const char *op, ngx_msec_t lease,
    const char **pairs, ngx_uint_t npairs,
    ngx_http_orbis_redis_handler_pt handler)
{
    u_char        num[NGX_INT_T_LEN];
    size_t       *lens;
    ngx_uint_t    i, n, status;
    const char  **argv, *script;

    if (ngx_http_orbis_worker == NULL) {
        return NGX_DECLINED;
    }

    script = orbis_lease_lua();
    n = 5 + npairs;

    argv = ngx_alloc(n * (sizeof(char *) + sizeof(size_t)), ngx_cycle->log);
    if (argv == NULL) {
        return NGX_ERROR;
    }

    lens = (size_t *) (argv + n);

    /*
     * EVAL, not EVALSHA: the script is short, and a lost answer is made
     * good by the next refresh, so nothing is ever sent twice
     */

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = script;
    lens[1] = ngx_strlen(script);
    argv[2] = "0";
    lens[2] = 1;
    argv[3] = op;
    lens[3] = ngx_strlen(op);
    argv[4] = (const char *) num;
    lens[4] = ngx_sprintf(num, "%M", lease) - num;

    for (i = 0; i < npairs; i++) {
        argv[5 + i] = pairs[i];
        lens[5 + i] = ngx_strlen(pairs[i]);
    }

    (void) ngx_http_orbis_redis_command(ngx_http_orbis_worker->redis,
                                        handler, NULL, (int) n, argv, lens,
                                        &status);

    ngx_free(argv);

    return NGX_OK;
}
