
/*
 * Copyright (C) Orbis
 *
 * GET health: asks Postgres (the schema version, which doubles as a round
 * trip) and Redis (PING) at once and answers when both have spoken.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_api.h"


typedef struct {
    ngx_http_request_t          *request;

    ngx_http_orbis_pg_query_t   *pg_query;
    ngx_http_orbis_redis_cmd_t  *redis_cmd;

    ngx_msec_t                   started;
    ngx_msec_t                   pg_rtt;
    ngx_msec_t                   redis_rtt;
    ngx_int_t                    schema;
    ngx_uint_t                   pg_status;
    ngx_uint_t                   redis_status;
    const char                  *redis_error;

    unsigned                     pg_done:1;
    unsigned                     redis_done:1;
} ngx_http_orbis_health_t;


static void ngx_http_orbis_health_pg_done(void *data, PGresult *res,
    ngx_uint_t status);
static void ngx_http_orbis_health_redis_done(void *data, redisReply *reply,
    ngx_uint_t status);
static void ngx_http_orbis_health_respond(ngx_http_orbis_health_t *h);
static void ngx_http_orbis_health_cleanup(void *data);
static void ngx_http_orbis_sleep_done(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);


ngx_int_t
ngx_http_orbis_health(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    static const char         *ping[] = { "PING" };
    ngx_pool_cleanup_t        *cln;
    ngx_http_orbis_health_t   *h;
    ngx_http_orbis_worker_t   *w;

    w = ngx_http_orbis_worker;

    h = ngx_pcalloc(r->pool, sizeof(ngx_http_orbis_health_t));
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_orbis_health_cleanup;
    cln->data = h;

    h->request = r;
    h->started = ngx_current_msec;
    h->schema = -1;

    h->pg_query = ngx_http_orbis_pg_query(w->pg, NGX_HTTP_ORBIS_SCHEMA_SQL,
                                          0, NULL,
                                          ngx_http_orbis_health_pg_done, h,
                                          &h->pg_status);
    if (h->pg_query == NULL) {
        h->pg_done = 1;
    }

    h->redis_cmd = ngx_http_orbis_redis_command(w->redis,
                                        ngx_http_orbis_health_redis_done, h,
                                        1, ping, NULL, &h->redis_status);
    if (h->redis_cmd == NULL) {
        h->redis_done = 1;
    }

    if (h->pg_done && h->redis_done) {
        ngx_http_orbis_health_respond(h);
    }

    return NGX_DONE;
}


static void
ngx_http_orbis_health_pg_done(void *data, PGresult *res, ngx_uint_t status)
{
    ngx_http_orbis_health_t  *h = data;

    h->pg_query = NULL;
    h->pg_done = 1;
    h->pg_status = status;
    h->pg_rtt = ngx_current_msec - h->started;

    if (status == NGX_HTTP_ORBIS_PG_OK) {
        /* a failed statement reads as version 0 here */
        h->schema = ngx_http_orbis_schema_version(res, status);
        h->schema = (h->schema < 0) ? 0 : h->schema;

        ngx_http_orbis_worker->schema_version = h->schema;
        ngx_http_orbis_worker->schema_checked = ngx_current_msec;
    }

    if (h->redis_done) {
        ngx_http_orbis_health_respond(h);
    }
}


static void
ngx_http_orbis_health_redis_done(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_health_t  *h = data;

    h->redis_cmd = NULL;
    h->redis_done = 1;
    h->redis_status = status;
    h->redis_rtt = ngx_current_msec - h->started;

    if (status == NGX_HTTP_ORBIS_REDIS_OK
        && reply->type == REDIS_REPLY_ERROR)
    {
        /* e.g. LOADING or NOAUTH: the server is there but not usable */
        h->redis_status = NGX_HTTP_ORBIS_REDIS_UNAVAILABLE;
        h->redis_error = "redis answered with an error";
    }

    if (h->pg_done) {
        ngx_http_orbis_health_respond(h);
    }
}


static void
ngx_http_orbis_health_respond(ngx_http_orbis_health_t *h)
{
    json_t              *body, *pg, *rd, *schema;
    ngx_uint_t           ok, pg_ok, redis_ok, schema_ok;
    ngx_http_request_t  *r;

    r = h->request;

    pg_ok = (h->pg_status == NGX_HTTP_ORBIS_PG_OK);
    redis_ok = (h->redis_status == NGX_HTTP_ORBIS_REDIS_OK);
    schema_ok = (h->schema >= ORBIS_SCHEMA_VERSION);
    ok = pg_ok && redis_ok && schema_ok;

    pg = json_pack("{s:s}", "status", pg_ok ? "ok" : "down");
    rd = json_pack("{s:s}", "status", redis_ok ? "ok" : "down");
    schema = json_pack("{s:I,s:i,s:b}",
                       "version", (json_int_t) h->schema,
                       "required", ORBIS_SCHEMA_VERSION,
                       "ok", (int) schema_ok);

    if (pg == NULL || rd == NULL || schema == NULL) {
        json_decref(pg);
        json_decref(rd);
        json_decref(schema);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (pg_ok) {
        json_object_set_new(pg, "rttMs", json_integer(h->pg_rtt));

    } else {
        json_object_set_new(pg, "error", json_string(
                            ngx_http_orbis_pg_status_text(h->pg_status)));
    }

    if (redis_ok) {
        json_object_set_new(rd, "rttMs", json_integer(h->redis_rtt));

    } else {
        json_object_set_new(rd, "error", json_string(
                            h->redis_error ? h->redis_error
                            : ngx_http_orbis_redis_status_text(
                                                        h->redis_status)));
    }

    body = json_pack("{s:s,s:s,s:o,s:o,s:o}",
                     "status", ok ? "ok" : "unavailable",
                     "version", ORBIS_VERSION,
                     "postgres", pg,
                     "redis", rd,
                     "schema", schema);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_orbis_send_json(r,
                              ok ? NGX_HTTP_OK : NGX_HTTP_SERVICE_UNAVAILABLE,
                              body));
}


static void
ngx_http_orbis_health_cleanup(void *data)
{
    ngx_http_orbis_health_t  *h = data;

    if (h->pg_query != NULL) {
        ngx_http_orbis_pg_cancel(h->pg_query);
        h->pg_query = NULL;
    }

    if (h->redis_cmd != NULL) {
        ngx_http_orbis_redis_cancel(h->redis_cmd);
        h->redis_cmd = NULL;
    }
}


/*
 * GET _test/pg-sleep?seconds=N, only with orbis_test_endpoints on: holds a
 * pooled connection for N seconds so tests can drive timeouts and pool
 * exhaustion.
 */

ngx_int_t
ngx_http_orbis_test_pg_sleep(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx)
{
    ngx_str_t  seconds;

    if (ngx_http_arg(r, (u_char *) "seconds", 7, &seconds) != NGX_OK
        || ngx_atofp(seconds.data, seconds.len, 3) == NGX_ERROR)
    {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "seconds: a number is required");
    }

    return ngx_http_orbis_api_query(r, "SELECT pg_sleep($1::float8)", 1,
                                    &seconds, ngx_http_orbis_sleep_done);
}


static void
ngx_http_orbis_sleep_done(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    if (ngx_http_orbis_pg_result(r, res, status, NGX_HTTP_ORBIS_EXPECT_ROWS)
        != NGX_OK)
    {
        return;
    }

    ngx_http_finalize_request(r, ngx_http_orbis_send_json(r, NGX_HTTP_OK,
                              json_pack("{s:b}", "slept", 1)));
}
