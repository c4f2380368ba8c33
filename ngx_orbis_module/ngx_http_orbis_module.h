
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_MODULE_H_INCLUDED_
#define _NGX_HTTP_ORBIS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if !(NGX_THREADS)
#error "the Orbis module needs nginx built --with-threads"
#endif

#include <ngx_thread_pool.h>

#include <jansson.h>

#include <orbiscore/alloc.h>
#include <orbiscore/orbiscore.h>
#include <orbiscore/ratelimit.h>

#include "ngx_http_orbis_glue.h"
#include "ngx_http_orbis_pg.h"
#include "ngx_http_orbis_redis.h"


/* Strict-Transport-Security under TLS: API answers and $orbis_hsts */
#define NGX_HTTP_ORBIS_HSTS           "max-age=31536000; includeSubDomains"


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

    /* orbis_trusted_proxies: whose X-Forwarded-Proto counts */
    ngx_array_t                  *trusted_proxies;   /* of ngx_cidr_t */
    ngx_int_t                     realip_index;      /* $realip_remote_addr
                                                        or NGX_ERROR */

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


extern ngx_module_t  ngx_http_orbis_module;
extern ngx_http_orbis_worker_t  *ngx_http_orbis_worker;



#endif /* _NGX_HTTP_ORBIS_MODULE_H_INCLUDED_ */
