
/*
 * Copyright (C) Orbis
 *
 * The module: directives, configuration and the per-worker state (the
 * Postgres pool and the Redis link) that every handler shares.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_common.h"


static void *ngx_http_orbis_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_orbis_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_orbis_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_orbis_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_orbis_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_orbis_init_process(ngx_cycle_t *cycle);
static void ngx_http_orbis_exit_process(ngx_cycle_t *cycle);


ngx_http_orbis_worker_t  *ngx_http_orbis_worker;


static ngx_command_t  ngx_http_orbis_commands[] = {

    { ngx_string("orbis_postgres"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, pg.conninfo),
      NULL },

    { ngx_string("orbis_postgres_max_connections"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, pg.max_conns),
      NULL },

    { ngx_string("orbis_postgres_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, pg.queue_size),
      NULL },

    { ngx_string("orbis_postgres_queue_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, pg.queue_timeout),
      NULL },

    { ngx_string("orbis_postgres_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, pg.connect_timeout),
      NULL },

    { ngx_string("orbis_postgres_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, pg.query_timeout),
      NULL },

    { ngx_string("orbis_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, redis.url),
      NULL },

    { ngx_string("orbis_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, redis.timeout),
      NULL },

    { ngx_string("orbis_test_endpoints"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, test_endpoints),
      NULL },

    { ngx_string("orbis_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_orbis_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_orbis_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_orbis_create_main_conf,       /* create main configuration */
    ngx_http_orbis_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_orbis_create_loc_conf,        /* create location configuration */
    ngx_http_orbis_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_orbis_module = {
    NGX_MODULE_V1,
    &ngx_http_orbis_module_ctx,            /* module context */
    ngx_http_orbis_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_orbis_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_orbis_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_orbis_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_orbis_main_conf_t));
    if (omcf == NULL) {
        return NULL;
    }

    omcf->pg.max_conns = NGX_CONF_UNSET_UINT;
    omcf->pg.queue_size = NGX_CONF_UNSET_UINT;
    omcf->pg.queue_timeout = NGX_CONF_UNSET_MSEC;
    omcf->pg.connect_timeout = NGX_CONF_UNSET_MSEC;
    omcf->pg.query_timeout = NGX_CONF_UNSET_MSEC;
    omcf->redis.timeout = NGX_CONF_UNSET_MSEC;
    omcf->test_endpoints = NGX_CONF_UNSET;

    return omcf;
}


static char *
ngx_http_orbis_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_orbis_main_conf_t  *omcf = conf;

    ngx_conf_init_uint_value(omcf->pg.max_conns, 8);
    ngx_conf_init_uint_value(omcf->pg.queue_size, 256);
    ngx_conf_init_msec_value(omcf->pg.queue_timeout, 2000);
    ngx_conf_init_msec_value(omcf->pg.connect_timeout, 3000);
    ngx_conf_init_msec_value(omcf->pg.query_timeout, 5000);
    ngx_conf_init_msec_value(omcf->redis.timeout, 1000);
    ngx_conf_init_value(omcf->test_endpoints, 0);

    if (omcf->pg.max_conns == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_postgres_max_connections must be > 0");
        return NGX_CONF_ERROR;
    }

    if (omcf->pg.conninfo.len == 0) {
        /* the module is loaded but not used: nothing to check */
        return NGX_CONF_OK;
    }

    if (ngx_http_orbis_pg_conf_init(cf, &omcf->pg) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (omcf->redis.url.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_postgres is set but orbis_redis is not");
        return NGX_CONF_ERROR;
    }

    return ngx_http_orbis_redis_conf_init(cf, &omcf->redis);
}


static void *
ngx_http_orbis_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_orbis_loc_conf_t  *olcf;

    olcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_orbis_loc_conf_t));
    if (olcf == NULL) {
        return NULL;
    }

    olcf->api = NGX_CONF_UNSET;

    return olcf;
}


static char *
ngx_http_orbis_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_orbis_loc_conf_t  *prev = parent;
    ngx_http_orbis_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->api, prev->api, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_orbis_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_orbis_loc_conf_t  *olcf = conf;

    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_orbis_main_conf_t  *omcf;

    if (olcf->api != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_orbis_module);

    if (omcf->pg.conninfo.len == 0) {
        return "needs orbis_postgres in the http block, before it";
    }

    olcf->api = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_orbis_api_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_orbis_init_process(ngx_cycle_t *cycle)
{
    ngx_http_orbis_worker_t     *w;
    ngx_http_orbis_main_conf_t  *omcf;

    ngx_http_orbis_worker = NULL;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_orbis_module);

    if (omcf == NULL || omcf->pg.conninfo.len == 0) {
        return NGX_OK;
    }

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_orbis_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->schema_version = -1;
    ngx_queue_init(&w->schema_waiters);

    w->pg = ngx_http_orbis_pg_pool_create(&omcf->pg, cycle->log);
    if (w->pg == NULL) {
        return NGX_ERROR;
    }

    w->redis = ngx_http_orbis_redis_create(&omcf->redis, cycle->log);
    if (w->redis == NULL) {
        return NGX_ERROR;
    }

    ngx_http_orbis_worker = w;

    return NGX_OK;
}


static void
ngx_http_orbis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_orbis_worker_t  *w;

    w = ngx_http_orbis_worker;

    if (w == NULL) {
        return;
    }

    ngx_http_orbis_worker = NULL;

    ngx_http_orbis_redis_destroy(w->redis);
    ngx_http_orbis_pg_pool_destroy(w->pg);
}
