
/*
 * Copyright (C) Orbis
 *
 * The module: directives, configuration and the per-worker state (the
 * Postgres pool and the Redis link) that every handler shares.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/auth.h>
#include <orbiscore/tools.h>

#include "ngx_http_orbis_api.h"
#include "ngx_http_orbis_jobs.h"


static ngx_int_t ngx_http_orbis_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_orbis_hsts_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void *ngx_http_orbis_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_orbis_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_orbis_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_orbis_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_orbis_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_orbis_cors_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_orbis_trusted_proxies(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_orbis_uri_masked_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_orbis_tools_init(ngx_conf_t *cf,
    ngx_http_orbis_main_conf_t *omcf);
static void ngx_http_orbis_tools_cleanup(void *data);
static ngx_int_t ngx_http_orbis_init_process(ngx_cycle_t *cycle);
static void ngx_http_orbis_exit_process(ngx_cycle_t *cycle);


ngx_http_orbis_worker_t  *ngx_http_orbis_worker;


static ngx_conf_enum_t  ngx_http_orbis_fallbacks[] = {
    { ngx_string("refuse"), 0 },
    { ngx_string("local"), 1 },
    { ngx_null_string, 0 }
};


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

    { ngx_string("orbis_jwt_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, jwt_secret_file),
      NULL },

    { ngx_string("orbis_jwt_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, jwt_ttl),
      NULL },

    { ngx_string("orbis_rate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, rate_limit),
      NULL },

    { ngx_string("orbis_auth_rate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, auth_rate_limit),
      NULL },

    { ngx_string("orbis_rate_limit_fallback"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, rl_fallback_local),
      &ngx_http_orbis_fallbacks },

    { ngx_string("orbis_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, thread_pool_name),
      NULL },

    { ngx_string("orbis_cors_origins"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_orbis_cors_origins,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("orbis_trusted_proxies"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_orbis_trusted_proxies,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("orbis_openapi_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, openapi_file),
      NULL },

    { ngx_string("orbis_tenants_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_main_conf_t, tenants_file),
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


static ngx_http_variable_t  ngx_http_orbis_vars[] = {

    /* for add_header on the operator's own locations (the dashboard) */
    { ngx_string("orbis_hsts"), NULL, ngx_http_orbis_hsts_variable, 0, 0,
      0 },

    /* $request_uri with API keys in the query cut to their prefix */
    { ngx_string("orbis_request_uri_masked"), NULL,
      ngx_http_orbis_uri_masked_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_module_t  ngx_http_orbis_module_ctx = {
    ngx_http_orbis_add_variables,          /* preconfiguration */
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


static ngx_int_t
ngx_http_orbis_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_orbis_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * The API's Strict-Transport-Security value under TLS (here, or at an
 * orbis_trusted_proxies proxy that says so), else nothing (an empty
 * add_header value sends no header): HSTS received over plain HTTP means
 * nothing, and the API and the pages should say the same.
 */

static ngx_int_t
ngx_http_orbis_hsts_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    if (ngx_http_orbis_client_https(r)) {
        v->len = sizeof(NGX_HTTP_ORBIS_HSTS) - 1;
        v->valid = 1;
        v->no_cacheable = 0;
        v->not_found = 0;
        v->data = (u_char *) NGX_HTTP_ORBIS_HSTS;

        return NGX_OK;
    }

    v->not_found = 1;

    return NGX_OK;
}


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
    omcf->jwt_ttl = NGX_CONF_UNSET;
    omcf->rate_limit = NGX_CONF_UNSET_UINT;
    omcf->auth_rate_limit = NGX_CONF_UNSET_UINT;
    omcf->rl_fallback_local = NGX_CONF_UNSET;
    omcf->test_endpoints = NGX_CONF_UNSET;

    return omcf;
}


static char *
ngx_http_orbis_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_orbis_main_conf_t  *omcf = conf;

    ngx_str_t  name;

    ngx_conf_init_uint_value(omcf->pg.max_conns, 8);
    ngx_conf_init_uint_value(omcf->pg.queue_size, 256);
    ngx_conf_init_msec_value(omcf->pg.queue_timeout, 2000);
    ngx_conf_init_msec_value(omcf->pg.connect_timeout, 3000);
    ngx_conf_init_msec_value(omcf->pg.query_timeout, 5000);
    ngx_conf_init_msec_value(omcf->redis.timeout, 1000);
    ngx_conf_init_value(omcf->test_endpoints, 0);
    ngx_conf_init_value(omcf->jwt_ttl, 12 * 60 * 60);
    ngx_conf_init_uint_value(omcf->rate_limit, ORBIS_DEFAULT_SESSION_RATE);
    ngx_conf_init_uint_value(omcf->auth_rate_limit,
                             ORBIS_DEFAULT_ADDRESS_RATE);
    ngx_conf_init_value(omcf->rl_fallback_local, 1);

    /*
     * Behind nginx's realip module the connection's address is already
     * the client's; whether the peer was a trusted proxy is asked of the
     * address it replaced.
     */

    omcf->realip_index = NGX_ERROR;

#if (NGX_HTTP_REALIP)
    if (omcf->trusted_proxies != NULL) {
        ngx_str_set(&name, "realip_remote_addr");
        omcf->realip_index = ngx_http_get_variable_index(cf, &name);
    }
#endif

    if (omcf->thread_pool_name.len == 0) {
        ngx_str_set(&omcf->thread_pool_name, "default");
    }

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

    if (ngx_http_orbis_redis_conf_init(cf, &omcf->redis) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    /* password hashing runs here, off the event loop */

    omcf->thread_pool = ngx_thread_pool_add(cf, &omcf->thread_pool_name);
    if (omcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&name, "orbis_ratelimit");

    omcf->rl_zone = ngx_shared_memory_add(cf, &name, 1024 * 1024,
                                          &ngx_http_orbis_module);
    if (omcf->rl_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    omcf->rl_zone->init = ngx_http_orbis_ratelimit_init_zone;

    ngx_http_orbis_ratelimit_init_script();

    if (ngx_http_orbis_tools_init(cf, omcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (omcf->tenants_file.len
        && ngx_http_orbis_tenants_conf(cf, omcf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (omcf->jwt_secret_file.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_jwt_secret_file is required: a file "
                           "with at least 32 random bytes, the same on "
                           "every node");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_orbis_read_conf_file(cf, &omcf->jwt_secret_file,
                                 &omcf->jwt_secret, 4096)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    while (omcf->jwt_secret.len > 0
           && (omcf->jwt_secret.data[omcf->jwt_secret.len - 1] == '\n'
               || omcf->jwt_secret.data[omcf->jwt_secret.len - 1] == '\r'))
    {
        omcf->jwt_secret.len--;
    }

    if (omcf->jwt_secret.len < 32) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_jwt_secret_file \"%V\" holds %uz bytes, "
                           "at least 32 are needed",
                           &omcf->jwt_secret_file, omcf->jwt_secret.len);
        return NGX_CONF_ERROR;
    }

    if (omcf->openapi_file.len
        && ngx_http_orbis_read_conf_file(cf, &omcf->openapi_file,
                                         &omcf->openapi, 1024 * 1024)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the tool registry, shared read-only by every worker after fork */

static char *
ngx_http_orbis_tools_init(ngx_conf_t *cf, ngx_http_orbis_main_conf_t *omcf)
{
    orbis_err_t          err;
    ngx_pool_cleanup_t  *cln;

    omcf->tools = orbis_tools_new();
    if (omcf->tools == NULL) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        orbis_tools_free(omcf->tools);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_orbis_tools_cleanup;
    cln->data = omcf->tools;

    if (orbis_tools_register_builtin(omcf->tools, &err) != ORBIS_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis: tools: %s", err.msg);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_orbis_tools_cleanup(void *data)
{
    orbis_tools_free(data);
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


static char *
ngx_http_orbis_cors_origins(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_orbis_main_conf_t  *omcf = conf;

    ngx_str_t   *value, *o;
    ngx_uint_t   i;

    if (omcf->cors_origins != NULL) {
        return "is duplicate";
    }

    omcf->cors_origins = ngx_array_create(cf->pool, cf->args->nelts,
                                          sizeof(ngx_str_t));
    if (omcf->cors_origins == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        /*
         * These origins get CORS answers with credentials and may write
         * with the session cookie: "*" would hand every site in the world
         * the signed-in user's account.
         */

        if (value[i].len == 1 && value[i].data[0] == '*') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"*\" is not allowed: these origins are "
                               "answered with credentials (the session "
                               "cookie); list each origin as "
                               "scheme://host[:port]");
            return NGX_CONF_ERROR;
        }

        if (!orbis_origin_valid((const char *) value[i].data, value[i].len))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\": use "
                               "scheme://host[:port]", &value[i]);
            return NGX_CONF_ERROR;
        }

        o = ngx_array_push(omcf->cors_origins);
        if (o == NULL) {
            return NGX_CONF_ERROR;
        }

        *o = value[i];
    }

    return NGX_CONF_OK;
}


/* orbis_trusted_proxies 10.0.0.0/8 192.0.2.7 ...; (or "unix:") */

static char *
ngx_http_orbis_trusted_proxies(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_orbis_main_conf_t  *omcf = conf;

    ngx_int_t    rc;
    ngx_str_t   *value;
    ngx_uint_t   i;
    ngx_cidr_t  *cidr;

    if (omcf->trusted_proxies != NULL) {
        return "is duplicate";
    }

    omcf->trusted_proxies = ngx_array_create(cf->pool, cf->args->nelts,
                                             sizeof(ngx_cidr_t));
    if (omcf->trusted_proxies == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cidr = ngx_array_push(omcf->trusted_proxies);
        if (cidr == NULL) {
            return NGX_CONF_ERROR;
        }

#if (NGX_HAVE_UNIX_DOMAIN)
        if (value[i].len == 5
            && ngx_strncmp(value[i].data, "unix:", 5) == 0)
        {
            cidr->family = AF_UNIX;
            continue;
        }
#endif

        rc = ngx_ptocidr(&value[i], cidr);

        if (rc == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid address \"%V\": use an address, "
                               "address/prefix or unix:", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DONE) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "low address bits of %V are meaningless",
                               &value[i]);
        }
    }

    return NGX_CONF_OK;
}


/*
 * $orbis_request_uri_masked: $request_uri with the value of every "key"
 * query parameter cut after its display prefix (pk_ and 4 characters,
 * as the API shows keys): a publishable key in /stream?key= must not
 * sit whole in the access log.
 */

#define NGX_HTTP_ORBIS_KEY_SHOWN  7

static ngx_int_t
ngx_http_orbis_uri_masked_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char  *p, *q, *last, *dst, *name, *val;
    size_t   n;

    p = r->unparsed_uri.data;
    last = p + r->unparsed_uri.len;

    q = p ? ngx_strlchr(p, last, '?') : NULL;

    if (q == NULL) {
        v->data = p;
        v->len = r->unparsed_uri.len;
        goto done;
    }

    dst = ngx_pnalloc(r->pool, 2 * r->unparsed_uri.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    v->data = dst;
    q++;
    dst = ngx_cpymem(dst, p, q - p);
    p = q;

    while (p < last) {
        name = p;

        while (p < last && *p != '&' && *p != '=') {
            p++;
        }

        if (p == last || *p == '&' || p - name != 3
            || ngx_strncasecmp(name, (u_char *) "key", 3) != 0)
        {
            /* the parameter as it is, up to and including its '&' */
            while (p < last && *p != '&') {
                p++;
            }

            if (p < last) {
                p++;
            }

            dst = ngx_cpymem(dst, name, p - name);
            continue;
        }

        p++;
        val = p;

        while (p < last && *p != '&') {
            p++;
        }

        n = ngx_min((size_t) (p - val), NGX_HTTP_ORBIS_KEY_SHOWN);
        dst = ngx_cpymem(dst, name, val - name);
        dst = ngx_cpymem(dst, val, n);

        if ((size_t) (p - val) > n) {
            dst = ngx_cpymem(dst, "...", 3);
        }
    }

    v->len = dst - v->data;

done:

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
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

    ngx_http_orbis_tenants_init_process(cycle);

    return ngx_http_orbis_sweeper_init_process(cycle);
}


static void
ngx_http_orbis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_orbis_worker_t  *w;

    w = ngx_http_orbis_worker;

    if (w == NULL) {
        return;
    }

    ngx_http_orbis_sweeper_exit_process(cycle);

    ngx_http_orbis_worker = NULL;

    ngx_http_orbis_redis_destroy(w->redis);
    ngx_http_orbis_pg_pool_destroy(w->pg);
}
