
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_COMMON_H_INCLUDED_
#define _NGX_HTTP_ORBIS_COMMON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include <orbiscore/orbiscore.h>

#include "ngx_http_orbis_pg.h"
#include "ngx_http_orbis_redis.h"


typedef struct ngx_http_orbis_route_s  ngx_http_orbis_route_t;
typedef struct ngx_http_orbis_ctx_s    ngx_http_orbis_ctx_t;

typedef void (*ngx_http_orbis_done_pt)(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);


typedef struct {
    ngx_http_orbis_pg_conf_t      pg;
    ngx_http_orbis_redis_conf_t   redis;

    ngx_flag_t                    test_endpoints;
} ngx_http_orbis_main_conf_t;


typedef struct {
    ngx_flag_t                    api;
    size_t                        max_body;
} ngx_http_orbis_loc_conf_t;


/* what one worker owns; created in init_process, gone with the cycle */
typedef struct {
    ngx_http_orbis_pg_pool_t     *pg;
    ngx_http_orbis_redis_t       *redis;

    ngx_int_t                     schema_version;   /* -1 until known */
    ngx_msec_t                    schema_checked;
    unsigned                      schema_checking:1;
    ngx_queue_t                   schema_waiters;
} ngx_http_orbis_worker_t;


/* per request state of an API call */
struct ngx_http_orbis_ctx_s {
    ngx_http_request_t           *request;
    ngx_http_orbis_route_t       *route;
    ngx_str_t                     path;        /* relative to the location */
    ngx_str_t                     params[4];   /* {id} captures of the route */
    ngx_uint_t                    nparams;

    ngx_queue_t                   schema_wait;
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
    ngx_uint_t                    test_only;   /* needs orbis_test_endpoints */
};


extern ngx_module_t  ngx_http_orbis_module;
extern ngx_http_orbis_worker_t  *ngx_http_orbis_worker;


/* ngx_http_orbis_util.c */
ngx_int_t ngx_http_orbis_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body);
ngx_int_t ngx_http_orbis_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...);
void ngx_http_orbis_finalize(ngx_http_request_t *r, ngx_int_t rc);
json_t *ngx_http_orbis_json_str(ngx_str_t *s);
ngx_int_t ngx_http_orbis_body(ngx_http_request_t *r, ngx_str_t *body);

/* ngx_http_orbis_router.c */
ngx_int_t ngx_http_orbis_api_handler(ngx_http_request_t *r);

/*
 * Runs a statement for the request; done is called with its result.
 * Returns NGX_DONE, or the rc of the 503 it already sent.
 */
ngx_int_t ngx_http_orbis_api_query(ngx_http_request_t *r, const char *sql,
    ngx_uint_t nparams, ngx_str_t *params, ngx_http_orbis_done_pt done);
ngx_int_t ngx_http_orbis_pg_fail(ngx_http_request_t *r, ngx_uint_t status);

/* ngx_http_orbis_api_health.c */
ngx_int_t ngx_http_orbis_health(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_test_pg_sleep(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);


#endif /* _NGX_HTTP_ORBIS_COMMON_H_INCLUDED_ */
