
/*
 * Copyright (C) Orbis
 *
 * ngx_http_orbis_call_module: the voice gateway's directives,
 * configuration and per-worker state (the live streams and the
 * outbox).  It lives in the same shared object as ngx_http_orbis_module and
 * uses that module's Postgres pool, Redis link and tool registry.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"


static void *ngx_http_orbis_call_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_orbis_call_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_orbis_call_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_orbis_call_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_orbis_stream(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_orbis_call_read_key(ngx_conf_t *cf,
    ngx_http_orbis_gemini_conf_t *g);
static ngx_int_t ngx_http_orbis_call_init_process(ngx_cycle_t *cycle);
static void ngx_http_orbis_call_exit_process(ngx_cycle_t *cycle);


ngx_http_orbis_call_worker_t  *ngx_http_orbis_call_worker;


static ngx_conf_num_bounds_t  ngx_http_orbis_call_resumptions_bounds = {
    ngx_conf_check_num_bounds, 0, 100
};


static ngx_conf_num_bounds_t  ngx_http_orbis_call_save_backlog_bounds = {
    ngx_conf_check_num_bounds, 1, 1000000
};


static ngx_command_t  ngx_http_orbis_call_commands[] = {

    { ngx_string("orbis_stream"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_orbis_stream,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("orbis_stream_idle_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_loc_conf_t, idle_timeout),
      NULL },

    { ngx_string("orbis_stream_max_duration"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_loc_conf_t, max_duration),
      NULL },

    { ngx_string("orbis_stream_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_loc_conf_t, max_message),
      NULL },

    { ngx_string("orbis_stream_heartbeat"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, heartbeat),
      NULL },

    { ngx_string("orbis_stream_heartbeat_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, heartbeat_timeout),
      NULL },

    { ngx_string("orbis_stream_sweep_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, sweep_interval),
      NULL },

    { ngx_string("orbis_stream_save_backlog"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, save_backlog),
      &ngx_http_orbis_call_save_backlog_bounds },

    { ngx_string("orbis_stream_tool_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, tool_timeout),
      NULL },

    { ngx_string("orbis_gemini_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, gemini.url),
      NULL },

    { ngx_string("orbis_gemini_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, gemini.key_file),
      NULL },

    { ngx_string("orbis_gemini_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, gemini.model),
      NULL },

    { ngx_string("orbis_gemini_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, gemini.ca_file),
      NULL },

    { ngx_string("orbis_gemini_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, gemini.connect_timeout),
      NULL },

    { ngx_string("orbis_gemini_handshake_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, gemini.handshake_timeout),
      NULL },

    { ngx_string("orbis_gemini_setup_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, setup_timeout),
      NULL },

    { ngx_string("orbis_gemini_max_resumptions"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_orbis_call_main_conf_t, max_resumptions),
      &ngx_http_orbis_call_resumptions_bounds },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_orbis_call_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_orbis_call_create_main_conf, /* create main configuration */
    ngx_http_orbis_call_init_main_conf,  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_orbis_call_create_loc_conf, /* create location configuration */
    ngx_http_orbis_call_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_orbis_call_module = {
    NGX_MODULE_V1,
    &ngx_http_orbis_call_module_ctx,     /* module context */
    ngx_http_orbis_call_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_orbis_call_init_process,    /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_orbis_call_exit_process,    /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_orbis_call_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_orbis_call_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_orbis_call_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    smcf->gemini.connect_timeout = NGX_CONF_UNSET_MSEC;
    smcf->gemini.handshake_timeout = NGX_CONF_UNSET_MSEC;
    smcf->heartbeat = NGX_CONF_UNSET_MSEC;
    smcf->heartbeat_timeout = NGX_CONF_UNSET_MSEC;
    smcf->sweep_interval = NGX_CONF_UNSET_MSEC;
    smcf->setup_timeout = NGX_CONF_UNSET_MSEC;
    smcf->tool_timeout = NGX_CONF_UNSET_MSEC;
    smcf->max_resumptions = NGX_CONF_UNSET_UINT;
    smcf->save_backlog = NGX_CONF_UNSET_UINT;

    return smcf;
}


static char *
ngx_http_orbis_call_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_orbis_call_main_conf_t  *smcf = conf;

    ngx_http_orbis_main_conf_t  *omcf;

    ngx_conf_init_msec_value(smcf->gemini.connect_timeout, 5000);
    ngx_conf_init_msec_value(smcf->gemini.handshake_timeout, 10000);
    ngx_conf_init_msec_value(smcf->heartbeat, 5000);
    ngx_conf_init_msec_value(smcf->heartbeat_timeout, 30000);
    ngx_conf_init_msec_value(smcf->sweep_interval, 10000);
    ngx_conf_init_msec_value(smcf->setup_timeout, 10000);
    ngx_conf_init_msec_value(smcf->tool_timeout, 20000);
    ngx_conf_init_uint_value(smcf->max_resumptions, 5);
    ngx_conf_init_uint_value(smcf->save_backlog, 256);

    if (smcf->gemini.url.len == 0) {
        ngx_str_set(&smcf->gemini.url,
                    "wss://generativelanguage.googleapis.com/ws/"
                    "google.ai.generativelanguage.v1beta.GenerativeService."
                    "BidiGenerateContent");
    }

    if (smcf->gemini.model.len == 0) {
        ngx_str_set(&smcf->gemini.model,
                    "gemini-2.5-flash-native-audio-preview-12-2025");
    }

    /* a single Gemini message may carry seconds of audio */
    smcf->gemini.max_message = 16 * 1024 * 1024;

    if (smcf->heartbeat_timeout <= smcf->heartbeat) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_stream_heartbeat_timeout must be longer "
                           "than orbis_stream_heartbeat");
        return NGX_CONF_ERROR;
    }

    if (!smcf->used) {
        return NGX_CONF_OK;
    }

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_orbis_module);

    if (omcf->pg.conninfo.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_stream needs orbis_postgres and "
                           "orbis_redis in the http block");
        return NGX_CONF_ERROR;
    }

    if (smcf->gemini.key_file.len == 0) {
        /* echo mode: no model, nothing to connect to */
        return NGX_CONF_OK;
    }

    if (ngx_http_orbis_call_read_key(cf, &smcf->gemini) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_orbis_gemini_conf_init(cf, &smcf->gemini);
}


static char *
ngx_http_orbis_call_read_key(ngx_conf_t *cf,
    ngx_http_orbis_gemini_conf_t *g)
{
    u_char     *p, *last;
    ngx_str_t   text;

    if (ngx_http_orbis_read_conf_file(cf, &g->key_file, &text, 4096)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    p = text.data;
    last = p + text.len;

    while (last > p && (last[-1] == '\n' || last[-1] == '\r'
                        || last[-1] == ' ' || last[-1] == '\t'))
    {
        last--;
    }

    *last = '\0';

    g->key.data = p;
    g->key.len = last - p;

    /* it goes into a header line as it is */
    for ( /* void */ ; p < last; p++) {
        if (*p < 0x21 || *p > 0x7e) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "orbis_gemini_key_file \"%V\" must hold one "
                               "key of printable characters", &g->key_file);
            return NGX_CONF_ERROR;
        }
    }

    if (g->key.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_gemini_key_file \"%V\" is empty",
                           &g->key_file);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_orbis_call_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_orbis_call_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_orbis_call_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    slcf->enable = NGX_CONF_UNSET;
    slcf->idle_timeout = NGX_CONF_UNSET_MSEC;
    slcf->max_duration = NGX_CONF_UNSET_MSEC;
    slcf->max_message = NGX_CONF_UNSET_SIZE;

    return slcf;
}


static char *
ngx_http_orbis_call_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_orbis_call_loc_conf_t  *prev = parent;
    ngx_http_orbis_call_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_msec_value(conf->idle_timeout, prev->idle_timeout,
                              30 * 60 * 1000);
    ngx_conf_merge_msec_value(conf->max_duration, prev->max_duration,
                              60 * 60 * 1000);
    ngx_conf_merge_size_value(conf->max_message, prev->max_message,
                              1024 * 1024);

    /* the session keeps its timers in 32-bit milliseconds */

    if (conf->idle_timeout < 1000 || conf->idle_timeout > 24 * 3600 * 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_stream_idle_timeout must be between 1s "
                           "and 24h");
        return NGX_CONF_ERROR;
    }

    if (conf->max_duration < 1000 || conf->max_duration > 24 * 3600 * 1000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_stream_max_duration must be between 1s "
                           "and 24h");
        return NGX_CONF_ERROR;
    }

    if (conf->max_message < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_stream_max_message must be at least 1k");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_orbis_stream(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_orbis_call_loc_conf_t  *slcf = conf;

    ngx_http_core_loc_conf_t           *clcf;
    ngx_http_orbis_call_main_conf_t  *smcf;

    if (slcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    slcf->enable = 1;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_orbis_call_module);
    smcf->used = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_orbis_call_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_orbis_call_init_process(ngx_cycle_t *cycle)
{
    ngx_http_orbis_call_worker_t     *w;
    ngx_http_orbis_call_main_conf_t  *smcf;

    ngx_http_orbis_call_worker = NULL;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_orbis_call_module);

    if (smcf == NULL || !smcf->used || ngx_http_orbis_worker == NULL) {
        return NGX_OK;
    }

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_orbis_call_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&w->streams);
    w->smcf = smcf;

    ngx_http_orbis_outbox_init(w, cycle->log);

    /* the sweeper is a job: jobs/ngx_http_orbis_sweeper.c */

    ngx_http_orbis_call_worker = w;

    return NGX_OK;
}


static void
ngx_http_orbis_call_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_orbis_call_worker_t  *w;

    w = ngx_http_orbis_call_worker;

    if (w == NULL) {
        return;
    }

    /*
     * A graceful exit waits for every call to end, so streams are left
     * only on nginx -s stop: tell their browsers, and leave the calls to
     * the sweeper, which finds their heartbeats lapsed.
     */

    ngx_http_orbis_call_terminate_all();
    ngx_http_orbis_outbox_exit(w);

    ngx_http_orbis_call_worker = NULL;
}
