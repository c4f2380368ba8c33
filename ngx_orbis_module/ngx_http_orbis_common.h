
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_COMMON_H_INCLUDED_
#define _NGX_HTTP_ORBIS_COMMON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if !(NGX_THREADS)
#error "the Orbis module needs nginx built --with-threads"
#endif

#include <ngx_thread_pool.h>

#include <jansson.h>

#include <orbiscore/orbiscore.h>
#include <orbiscore/ratelimit.h>

#include "ngx_http_orbis_pg.h"
#include "ngx_http_orbis_redis.h"


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

/* Strict-Transport-Security under TLS: API answers and $orbis_hsts */
#define NGX_HTTP_ORBIS_HSTS           "max-age=31536000; includeSubDomains"

/* how the caller proved who it is */
#define NGX_HTTP_ORBIS_AUTH_NONE      0
#define NGX_HTTP_ORBIS_AUTH_COOKIE    1
#define NGX_HTTP_ORBIS_AUTH_BEARER    2
#define NGX_HTTP_ORBIS_AUTH_KEY       3


typedef struct {
    ngx_http_orbis_pg_conf_t      pg;
    ngx_http_orbis_redis_conf_t   redis;

    ngx_str_t                     jwt_secret;
    ngx_str_t                     jwt_secret_file;
    time_t                        jwt_ttl;

    ngx_uint_t                    rate_limit;        /* per minute */
    ngx_uint_t                    auth_rate_limit;   /* per address */
    ngx_flag_t                    rl_fallback_local;
    ngx_shm_zone_t               *rl_zone;

    ngx_str_t                     thread_pool_name;
    ngx_thread_pool_t            *thread_pool;

    ngx_array_t                  *cors_origins;      /* of ngx_str_t */

    ngx_str_t                     openapi_file;
    ngx_str_t                     openapi;

    ngx_str_t                     tenants_file;
    ngx_array_t                  *tenant_docs;  /* of ngx_str_t: JSON */

    struct orbis_tools_s         *tools;      /* the tool registry */

    ngx_flag_t                    api_used;
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
    unsigned                      rl_cleanup:1;

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


extern ngx_module_t  ngx_http_orbis_module;
extern ngx_http_orbis_worker_t  *ngx_http_orbis_worker;


typedef struct ngx_http_orbis_pw_task_s  ngx_http_orbis_pw_task_t;

typedef void (*ngx_http_orbis_pw_done_pt)(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_http_orbis_pw_task_t *t);

/* a password hashed or verified on the thread pool */
struct ngx_http_orbis_pw_task_s {
    ngx_http_request_t           *request;
    ngx_http_orbis_pw_done_pt     done;
    char                         *password;    /* cleansed after use */
    size_t                        len;
    const char                   *stored;      /* verify against this */
    uint8_t                       salt[16];
    char                          hash[128];
    orbis_rc_t                    rc;
    void                         *data;
};


/* ngx_http_orbis_module.c */
char *ngx_http_orbis_read_conf_file(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *out, size_t max);

/* ngx_http_orbis_tenants.c */
char *ngx_http_orbis_tenants_conf(ngx_conf_t *cf,
    ngx_http_orbis_main_conf_t *omcf);
void ngx_http_orbis_tenants_init_process(ngx_cycle_t *cycle);

/* ngx_http_orbis_util.c */
ngx_int_t ngx_http_orbis_send_text(ngx_http_request_t *r, ngx_uint_t status,
    u_char *text, size_t len);
void ngx_http_orbis_json_done(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);
void ngx_http_orbis_list_done(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);
ngx_int_t ngx_http_orbis_password_task(ngx_http_request_t *r,
    ngx_http_orbis_pw_task_t *t);
ngx_int_t ngx_http_orbis_invalid(ngx_http_request_t *r, orbis_err_t *err);
ngx_int_t ngx_http_orbis_not_found(ngx_http_request_t *r, const char *thing);
ngx_int_t ngx_http_orbis_check_json_body(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
u_char *ngx_http_orbis_json_array(ngx_pool_t *pool, char **items,
    size_t n, size_t *len);
ngx_int_t ngx_http_orbis_header_out(ngx_http_request_t *r, const char *key,
    const char *value);
ngx_int_t ngx_http_orbis_cors_headers(ngx_http_request_t *r,
    ngx_uint_t preflight);
ngx_int_t ngx_http_orbis_cparam(ngx_http_request_t *r, ngx_str_t *dst,
    const char *src);
ngx_uint_t ngx_http_orbis_id_valid(ngx_str_t *id);
ngx_int_t ngx_http_orbis_page_params(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_str_t *params);

/* handlers, one file per resource */
ngx_int_t ngx_http_orbis_signup(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_login(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_logout(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_me(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_tenant_get(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_tenant_update(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_agents_list(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_agents_create(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_agents_get(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_agents_update(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_agents_delete(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_keys_list(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_keys_create(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_keys_update(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_keys_delete(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_conversations_list(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_conversations_get(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_catalog(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_plans(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_openapi(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_test_routes(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body);
ngx_int_t ngx_http_orbis_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...);
void ngx_http_orbis_finalize(ngx_http_request_t *r, ngx_int_t rc);
json_t *ngx_http_orbis_json_str(ngx_str_t *s);
ngx_int_t ngx_http_orbis_body(ngx_http_request_t *r, ngx_str_t *body);

/* ngx_http_orbis_router.c */
ngx_int_t ngx_http_orbis_api_handler(ngx_http_request_t *r);

/* runs the request's next pipeline step: auth, rate limit, handler */
void ngx_http_orbis_continue(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_table_elt_t *ngx_http_orbis_header_in(ngx_http_request_t *r,
    const char *name);
ngx_int_t ngx_http_orbis_sql_fail(ngx_http_request_t *r, PGresult *res);

/* ngx_http_orbis_auth.c, ngx_http_orbis_ratelimit.c: pipeline steps */
ngx_int_t ngx_http_orbis_auth(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_ratelimit(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_ratelimit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
void ngx_http_orbis_ratelimit_init_script(void);

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
 * A Redis command on behalf of the request, cancelled if the request ends
 * first.  NGX_DONE when queued (handler gets r as data and must clear
 * ctx->redis_cmd), NGX_DECLINED when Redis is known to be down, NGX_ERROR.
 */
ngx_int_t ngx_http_orbis_request_redis(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_http_orbis_redis_handler_pt handler,
    int argc, const char **argv, const size_t *lens);

/*
 * Runs a statement for the request; done is called with its result.
 * Returns NGX_DONE, or the rc of the 503 it already sent.
 */
ngx_int_t ngx_http_orbis_api_query(ngx_http_request_t *r, const char *sql,
    ngx_uint_t nparams, ngx_str_t *params, ngx_http_orbis_done_pt done);
ngx_int_t ngx_http_orbis_api_by_id(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, const char *thing, const char *sql);
ngx_int_t ngx_http_orbis_pg_fail(ngx_http_request_t *r, ngx_uint_t status);

/* ngx_http_orbis_api_health.c */
ngx_int_t ngx_http_orbis_health(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_test_pg_sleep(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);


#endif /* _NGX_HTTP_ORBIS_COMMON_H_INCLUDED_ */
