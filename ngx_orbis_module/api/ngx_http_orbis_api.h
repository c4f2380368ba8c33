
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_API_H_INCLUDED_
#define _NGX_HTTP_ORBIS_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_access.h"


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


/* ngx_http_orbis_password.c */
ngx_int_t ngx_http_orbis_password_copy(ngx_http_request_t *r,
    ngx_http_orbis_pw_task_t *t, const char *password);
ngx_int_t ngx_http_orbis_password_task(ngx_http_request_t *r,
    ngx_http_orbis_pw_task_t *t);

/* ngx_http_orbis_router.c: the API location's content handler */
ngx_int_t ngx_http_orbis_api_handler(ngx_http_request_t *r);

/*
 * The schema version the database reports: the statement, and its result
 * read: the version, 0 when no migration was ever applied, -1 when the
 * statement failed.
 */
#define NGX_HTTP_ORBIS_SCHEMA_SQL                                            \
    "SELECT coalesce(max(version), 0) FROM schema_migrations"

ngx_int_t ngx_http_orbis_schema_version(PGresult *res, ngx_uint_t status);

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
/*
 * ngx_http_orbis_api_agents.c: a create's result (its row: the new doc, or
 * none and the plan's limit) when the plan had no room for one more agent
 * or key is answered (403 plan_limit); NGX_DECLINED for any other result.
 */
ngx_int_t ngx_http_orbis_plan_full(ngx_http_request_t *r,
    orbis_quota_t what, PGresult *res, ngx_uint_t status);
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
/* ngx_http_orbis_api_health.c */
ngx_int_t ngx_http_orbis_health(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_test_pg_sleep(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);

#endif /* _NGX_HTTP_ORBIS_API_H_INCLUDED_ */
