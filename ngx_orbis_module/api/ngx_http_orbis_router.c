
/*
 * Copyright (C) Orbis
 *
 * The API location's content handler: matches method and path (relative
 * to the location, so the API can be mounted anywhere) against the route
 * table, reads the body, holds requests while the worker learns the
 * schema version, then runs the route's handler.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_api.h"


static ngx_http_orbis_route_t *ngx_http_orbis_route_find(
    ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx, ngx_str_t *allow);
static ngx_uint_t ngx_http_orbis_route_match(ngx_str_t *pattern,
    ngx_str_t *path, ngx_http_orbis_ctx_t *ctx);
static void ngx_http_orbis_body_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_orbis_preflight(ngx_http_request_t *r);
static void ngx_http_orbis_run(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
static void ngx_http_orbis_schema_check(ngx_http_orbis_worker_t *w);
static void ngx_http_orbis_schema_done(void *data, PGresult *res,
    ngx_uint_t status);
static void ngx_http_orbis_ctx_cleanup(void *data);


static ngx_http_orbis_route_t  ngx_http_orbis_routes[] = {

#include "ngx_http_orbis_routes.h"

    { 0, ngx_null_string, NULL, 0 }
};


static ngx_str_t  ngx_http_orbis_method_names[] = {
    ngx_string("GET"),
    ngx_string("POST"),
    ngx_string("PUT"),
    ngx_string("PATCH"),
    ngx_string("DELETE")
};

static ngx_uint_t  ngx_http_orbis_methods[] = {
    NGX_HTTP_GET,
    NGX_HTTP_POST,
    NGX_HTTP_PUT,
    NGX_HTTP_PATCH,
    NGX_HTTP_DELETE
};


ngx_int_t
ngx_http_orbis_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   allow;
    ngx_pool_cleanup_t         *cln;
    ngx_http_orbis_ctx_t       *ctx;
    ngx_http_core_loc_conf_t   *clcf;

    if (ngx_http_orbis_worker == NULL) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "not_ready",
                                         "the API is not configured");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_orbis_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->started = ngx_current_msec;
    ngx_queue_init(&ctx->schema_wait);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_orbis_ctx_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_orbis_module);

    /* the path below the location: /api/agents/7 in location /api/ */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ctx->path = r->uri;

    if (clcf->name.len <= r->uri.len
        && ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) == 0)
    {
        ctx->path.data += clcf->name.len;
        ctx->path.len -= clcf->name.len;
    }

    while (ctx->path.len && ctx->path.data[0] == '/') {
        ctx->path.data++;
        ctx->path.len--;
    }

    while (ctx->path.len && ctx->path.data[ctx->path.len - 1] == '/') {
        ctx->path.len--;
    }

    ngx_str_null(&allow);

    ctx->route = ngx_http_orbis_route_find(r, ctx, &allow);

    if (r->method == NGX_HTTP_OPTIONS && (ctx->route != NULL || allow.len)) {
        return ngx_http_orbis_preflight(r);
    }

    if (ctx->route == NULL) {
        if (allow.len == 0) {
            return ngx_http_orbis_send_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found",
                                             "no such endpoint: %V %V",
                                             &r->method_name, &r->uri);
        }

        if (ngx_http_orbis_header_out_str(r, "Allow", &allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                         "method_not_allowed",
                                         "%V is not allowed here; use %V",
                                         &r->method_name, &allow);
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_orbis_body_done);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* a CORS preflight: 204, with the CORS headers only for a known origin */

static ngx_int_t
ngx_http_orbis_preflight(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_orbis_cors_headers(r, 1) == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_orbis_send_json(r, NGX_HTTP_NO_CONTENT, NULL);
}


/*
 * A statement about one of the caller's things, $1 the tenant and $2 the
 * id from the path: a malformed id, like another tenant's, is not found.
 */


static ngx_http_orbis_route_t *
ngx_http_orbis_route_find(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_str_t *allow)
{
    u_char                      *p;
    ngx_uint_t                   i, allowed;
    ngx_http_orbis_route_t      *rt;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);
    allowed = 0;

    for (rt = ngx_http_orbis_routes; rt->handler != NULL; rt++) {
        if ((rt->flags & NGX_HTTP_ORBIS_TEST_ONLY) && !omcf->test_endpoints)
        {
            continue;
        }

        if (!ngx_http_orbis_route_match(&rt->pattern, &ctx->path, ctx)) {
            continue;
        }

        if (rt->method == r->method
            || (rt->method == NGX_HTTP_GET && r->method == NGX_HTTP_HEAD))
        {
            return rt;
        }

        allowed |= rt->method;
    }

    if (allowed == 0) {
        return NULL;
    }

    p = ngx_pnalloc(r->pool, sizeof("GET, POST, PUT, PATCH, DELETE"));
    if (p == NULL) {
        return NULL;
    }

    allow->data = p;

    for (i = 0; i < sizeof(ngx_http_orbis_methods) / sizeof(ngx_uint_t);
         i++)
    {
        if (!(allowed & ngx_http_orbis_methods[i])) {
            continue;
        }

        if (p != allow->data) {
            *p++ = ',';
            *p++ = ' ';
        }

        p = ngx_cpymem(p, ngx_http_orbis_method_names[i].data,
                       ngx_http_orbis_method_names[i].len);
    }

    allow->len = p - allow->data;

    return NULL;
}


/* "agents/{id}" matches "agents/abc" and captures "abc" */

static ngx_uint_t
ngx_http_orbis_route_match(ngx_str_t *pattern, ngx_str_t *path,
    ngx_http_orbis_ctx_t *ctx)
{
    u_char      *pp, *pe, *sp, *se, *start;
    ngx_uint_t   n;

    pp = pattern->data;
    pe = pp + pattern->len;
    sp = path->data;
    se = sp + path->len;
    n = 0;

    while (pp < pe && sp < se) {
        if (*pp == '{') {
            while (pp < pe && *pp != '}') {
                pp++;
            }

            pp++;
            start = sp;

            while (sp < se && *sp != '/') {
                sp++;
            }

            if (sp == start || n == 4) {
                return 0;
            }

            ctx->params[n].data = start;
            ctx->params[n].len = sp - start;
            n++;
            continue;
        }

        if (*pp != *sp) {
            return 0;
        }

        pp++;
        sp++;
    }

    if (pp != pe || sp != se) {
        return 0;
    }

    ctx->nparams = n;

    return 1;
}


static void
ngx_http_orbis_body_done(ngx_http_request_t *r)
{
    ngx_http_orbis_ctx_t     *ctx;
    ngx_http_orbis_worker_t  *w;

    ctx = ngx_http_get_module_ctx(r, ngx_http_orbis_module);
    w = ngx_http_orbis_worker;

    if (ctx->route->handler == ngx_http_orbis_health
        || w->schema_version >= ORBIS_SCHEMA_VERSION)
    {
        ngx_http_orbis_run(r, ctx);
        return;
    }

    /* learn the schema version, at most once a second while behind */

    if (!w->schema_checking
        && (w->schema_version < 0
            || ngx_current_msec - w->schema_checked > 1000))
    {
        ngx_http_orbis_schema_check(w);
    }

    if (w->schema_checking) {
        ngx_queue_insert_tail(&w->schema_waiters, &ctx->schema_wait);
        return;
    }

    ngx_http_orbis_run(r, ctx);
}


static void
ngx_http_orbis_run(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_http_orbis_worker_t  *w;

    w = ngx_http_orbis_worker;

    /* the worker is exiting: its pool failed the schema check it awaited */

    if (w == NULL) {
        ngx_http_finalize_request(r,
            ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                      "not_ready", "the server is shutting "
                                      "down, try again"));
        return;
    }

    if (ctx->route->handler != ngx_http_orbis_health
        && w->schema_version < ORBIS_SCHEMA_VERSION)
    {
        if (w->schema_version < 0) {
            rc = ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "database_unavailable",
                                           "the database cannot be reached"
                                           ", try again shortly");
        } else {
            rc = ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "schema_behind",
                                           "the database schema is at "
                                           "version %i but this server "
                                           "needs version %d: apply the "
                                           "migrations in sql/",
                                           w->schema_version,
                                           ORBIS_SCHEMA_VERSION);
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

    ngx_http_orbis_continue(r, ctx);
}


/*
 * Each step answers NGX_DECLINED to let the request go on, NGX_DONE when
 * it went asynchronous (it calls back here), or the status of the answer
 * it sent.
 */


/* a statement the server refused: a conflict, or our bug */


static void
ngx_http_orbis_schema_check(ngx_http_orbis_worker_t *w)
{
    ngx_uint_t                  status;
    ngx_http_orbis_pg_query_t  *q;

    q = ngx_http_orbis_pg_query(w->pg, NGX_HTTP_ORBIS_SCHEMA_SQL, 0, NULL,
                                ngx_http_orbis_schema_done, w, &status);
    if (q == NULL) {
        w->schema_version = -1;
        w->schema_checked = ngx_current_msec;
        return;
    }

    w->schema_checking = 1;
}


static void
ngx_http_orbis_schema_done(void *data, PGresult *res, ngx_uint_t status)
{
    ngx_http_orbis_worker_t  *w = data;

    ngx_queue_t           *q;
    ngx_http_orbis_ctx_t  *ctx;

    w->schema_checking = 0;
    w->schema_checked = ngx_current_msec;
    w->schema_version = ngx_http_orbis_schema_version(res, status);

    if (w->schema_version >= 0 && w->schema_version < ORBIS_SCHEMA_VERSION) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "orbis: database schema is at version %i, "
                      "this build needs %d: apply sql/ migrations",
                      w->schema_version, ORBIS_SCHEMA_VERSION);
    }

    while (!ngx_queue_empty(&w->schema_waiters)) {
        q = ngx_queue_head(&w->schema_waiters);
        ngx_queue_remove(q);
        ngx_queue_init(q);

        ctx = ngx_queue_data(q, ngx_http_orbis_ctx_t, schema_wait);
        ngx_http_orbis_run(ctx->request, ctx);
    }
}


ngx_int_t
ngx_http_orbis_schema_version(PGresult *res, ngx_uint_t status)
{
    char  *sqlstate;

    if (status != NGX_HTTP_ORBIS_PG_OK) {
        return -1;
    }

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        return ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                        PQgetlength(res, 0, 0));
    }

    sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    /* undefined_table: nothing was ever applied */
    if (sqlstate != NULL && ngx_strcmp(sqlstate, "42P01") == 0) {
        return 0;
    }

    return -1;
}


static void
ngx_http_orbis_ctx_cleanup(void *data)
{
    ngx_http_orbis_ctx_t  *ctx = data;

    if (!ngx_queue_empty(&ctx->schema_wait)) {
        ngx_queue_remove(&ctx->schema_wait);
        ngx_queue_init(&ctx->schema_wait);
    }

    if (ctx->query != NULL) {
        ngx_http_orbis_pg_cancel(ctx->query);
        ctx->query = NULL;
    }
}


/* _test/routes: the table, so a test can hold the OpenAPI file to it */

ngx_int_t
ngx_http_orbis_test_routes(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    json_t                  *items;
    ngx_uint_t               i;
    ngx_http_orbis_route_t  *rt;

    items = json_array();
    if (items == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (rt = ngx_http_orbis_routes; rt->handler != NULL; rt++) {
        if (rt->flags & NGX_HTTP_ORBIS_TEST_ONLY) {
            continue;
        }

        for (i = 0; i < sizeof(ngx_http_orbis_methods) / sizeof(ngx_uint_t);
             i++)
        {
            if (rt->method == ngx_http_orbis_methods[i]) {
                json_array_append_new(items, json_pack("{s:s%,s:s%}",
                    "method", ngx_http_orbis_method_names[i].data,
                    ngx_http_orbis_method_names[i].len,
                    "path", rt->pattern.data, rt->pattern.len));
            }
        }
    }

    return ngx_http_orbis_send_json(r, NGX_HTTP_OK,
                                    json_pack("{s:o}", "items", items));
}
