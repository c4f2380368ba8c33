
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_REQUEST_H_INCLUDED_
#define _NGX_HTTP_ORBIS_REQUEST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_module.h"


typedef struct ngx_http_orbis_route_s  ngx_http_orbis_route_t;
typedef struct ngx_http_orbis_ctx_s    ngx_http_orbis_ctx_t;

typedef void (*ngx_http_orbis_done_pt)(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);


/* route flags */
#define NGX_HTTP_ORBIS_PUBLIC         0
#define NGX_HTTP_ORBIS_AUTH           0x01   /* session, JWT or secret key */
#define NGX_HTTP_ORBIS_AUTH_OPTIONAL  0x02   /* who, if anyone */
#define NGX_HTTP_ORBIS_IP_LIMIT       0x04   /* signup, login: per address */
#define NGX_HTTP_ORBIS_TEST_ONLY      0x08   /* orbis_test_endpoints on */

/*
 * What a write route changes, for the role it needs (liborbiscore's
 * orbis_role_check); a write route with none of these needs the owner.
 */
#define NGX_HTTP_ORBIS_WRITES_AGENTS  0x100
#define NGX_HTTP_ORBIS_WRITES_KEYS    0x200
#define NGX_HTTP_ORBIS_WRITES_TENANT  0x400

/* the results a done handler accepts (ngx_http_orbis_pg_result) */
#define NGX_HTTP_ORBIS_EXPECT_ROWS     0x01   /* SELECT, RETURNING */
#define NGX_HTTP_ORBIS_EXPECT_COMMAND  0x02   /* UPDATE, DELETE: no rows */

/* how the caller proved who it is */
#define NGX_HTTP_ORBIS_AUTH_NONE      0
#define NGX_HTTP_ORBIS_AUTH_COOKIE    1
#define NGX_HTTP_ORBIS_AUTH_BEARER    2
#define NGX_HTTP_ORBIS_AUTH_KEY       3


/* per request state of an API call */
struct ngx_http_orbis_ctx_s {
    ngx_http_request_t           *request;
    ngx_http_orbis_route_t       *route;
    ngx_str_t                     path;        /* relative to the location */
    ngx_str_t                     params[4];   /* {id} captures of the route */
    ngx_uint_t                    nparams;

    ngx_queue_t                   schema_wait;
    ngx_uint_t                    step;        /* of the pipeline */

    /* the caller, once authenticated */
    ngx_uint_t                    auth_kind;
    ngx_str_t                     tenant_id;
    ngx_str_t                     user_id;
    ngx_str_t                     role;
    ngx_str_t                     key_id;

    ngx_str_t                     revoke_key;  /* of the session's JWT */

    ngx_str_t                     rate_key;
    ngx_uint_t                    rate_limit;
    orbis_gcra_result_t           rate;
    ngx_http_orbis_redis_cmd_t   *redis_cmd;
    unsigned                      redis_cleanup:1;

    ngx_str_t                     body;
    ngx_uint_t                    ok_status;   /* for json_done */
    const char                   *thing;       /* "agent": for a 404 */
    ngx_uint_t                    limit;       /* page size */

    ngx_http_orbis_pg_query_t    *query;       /* in flight, cancelled on
                                                  request cleanup */
    ngx_http_orbis_done_pt        done;
    void                         *data;        /* handler's own state */
    ngx_msec_t                    started;
};


typedef ngx_int_t (*ngx_http_orbis_handler_pt)(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);


struct ngx_http_orbis_route_s {
    ngx_uint_t                    method;      /* NGX_HTTP_GET ... */
    ngx_str_t                     pattern;     /* "agents/{id}" */
    ngx_http_orbis_handler_pt     handler;
    ngx_uint_t                    flags;       /* NGX_HTTP_ORBIS_AUTH ... */
};


/*
 * Return codes of the helpers below and of the api/ handlers, each with one
 * meaning:
 *
 *   NGX_DECLINED  nothing was sent and the caller goes on (as a phase
 *                 handler's NGX_DECLINED lets nginx go on);
 *   NGX_DONE      work was queued: its callback finishes the request;
 *   NGX_OK        a helper that only computes or adds headers succeeded;
 *   NGX_ERROR     out of memory or an nginx failure, nothing sent;
 *   NGX_HTTP_*    a status for the caller to answer with, or the result of
 *                 an answer already sent (either way the caller passes it
 *                 on to be finalized).
 */


/* ngx_http_orbis_request.c: reading the request */

/*
 * The body, NUL-terminated, into *body (empty if there is none): NGX_OK,
 * NGX_HTTP_REQUEST_ENTITY_TOO_LARGE when it was spilled to a file, or
 * NGX_ERROR.
 */
ngx_int_t ngx_http_orbis_body(ngx_http_request_t *r, ngx_str_t *body);
ngx_table_elt_t *ngx_http_orbis_header_in(ngx_http_request_t *r,
    const char *name);
ngx_int_t ngx_http_orbis_check_json_body(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_cparam(ngx_http_request_t *r, ngx_str_t *dst,
    const char *src);
ngx_uint_t ngx_http_orbis_id_valid(ngx_str_t *id);
ngx_int_t ngx_http_orbis_page_params(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_str_t *params);

/*
 * Runs a statement for the request; done is called with its result.
 * Returns NGX_DONE, or the rc of the 503 it already sent.
 */
ngx_int_t ngx_http_orbis_api_query(ngx_http_request_t *r, const char *sql,
    ngx_uint_t nparams, ngx_str_t *params, ngx_http_orbis_done_pt done);
ngx_int_t ngx_http_orbis_api_by_id(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, const char *thing, const char *sql);

/*
 * A page of the caller's things: params[0] is set to the tenant and the
 * last three to the page (cursor time, cursor id, limit + 1) from ?cursor=
 * and ?limit=; the rows go out through ngx_http_orbis_list_done.
 */
ngx_int_t ngx_http_orbis_api_list(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, const char *sql, ngx_uint_t nparams,
    ngx_str_t *params);

/*
 * The {id} of the path names one of the caller's things (ctx->thing):
 * NGX_DECLINED when it is a well-formed id, else the rc of the 404 sent.
 */
ngx_int_t ngx_http_orbis_path_id(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, const char *thing);

/*
 * A Redis command on behalf of the request, cancelled if the request ends
 * first.  NGX_DONE when queued (handler gets r as data and must clear
 * ctx->redis_cmd), NGX_HTTP_SERVICE_UNAVAILABLE when Redis is known to be
 * down (nothing is sent: the caller decides without Redis), NGX_ERROR.
 */
ngx_int_t ngx_http_orbis_request_redis(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_http_orbis_redis_handler_pt handler,
    int argc, const char **argv, const size_t *lens);

/*
 * 1 when the client reached us over TLS: this connection is TLS, or it
 * comes from an orbis_trusted_proxies address whose X-Forwarded-Proto
 * says https.
 */
ngx_uint_t ngx_http_orbis_client_https(ngx_http_request_t *r);

/* ngx_http_orbis_reply.c: answering */
ngx_int_t ngx_http_orbis_send_text(ngx_http_request_t *r, ngx_uint_t status,
    u_char *text, size_t len);
ngx_int_t ngx_http_orbis_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body);
ngx_int_t ngx_http_orbis_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...);
void ngx_http_orbis_finalize(ngx_http_request_t *r, ngx_int_t rc);
json_t *ngx_http_orbis_json_str(ngx_str_t *s);
ngx_int_t ngx_http_orbis_header_out(ngx_http_request_t *r, const char *key,
    const char *value);
/* the value is kept as it is: it must live as long as the request */
ngx_int_t ngx_http_orbis_header_out_str(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);
/* NGX_OK (with no header for an origin not allowed) or NGX_ERROR */
ngx_int_t ngx_http_orbis_cors_headers(ngx_http_request_t *r,
    ngx_uint_t preflight);
void ngx_http_orbis_json_done(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);
void ngx_http_orbis_list_done(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);
ngx_int_t ngx_http_orbis_invalid(ngx_http_request_t *r, orbis_err_t *err);
ngx_int_t ngx_http_orbis_not_found(ngx_http_request_t *r, const char *thing);
u_char *ngx_http_orbis_json_array(ngx_pool_t *pool, char **items,
    size_t n, size_t *len);
ngx_int_t ngx_http_orbis_pg_fail(ngx_http_request_t *r, ngx_uint_t status);
ngx_int_t ngx_http_orbis_sql_fail(ngx_http_request_t *r, PGresult *res);

/*
 * The prologue of a statement's done handler.  NGX_OK when the statement
 * ran and res is of a kind expect accepts (NGX_HTTP_ORBIS_EXPECT_*);
 * otherwise the request has been answered (503 when Postgres could not
 * run the statement, 409 or 500 when it refused it) and finalized, and
 * the result is NGX_DONE: the handler returns.
 */
ngx_int_t ngx_http_orbis_pg_result(ngx_http_request_t *r, PGresult *res,
    ngx_uint_t status, ngx_uint_t expect);

/* 1 when the statement broke a unique constraint (SQLSTATE 23505) */
ngx_uint_t ngx_http_orbis_pg_unique_violation(PGresult *res);

#endif /* _NGX_HTTP_ORBIS_REQUEST_H_INCLUDED_ */
