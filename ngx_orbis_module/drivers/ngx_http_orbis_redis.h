
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_REDIS_H_INCLUDED_
#define _NGX_HTTP_ORBIS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


#define NGX_HTTP_ORBIS_REDIS_OK           0
#define NGX_HTTP_ORBIS_REDIS_UNAVAILABLE  1
#define NGX_HTTP_ORBIS_REDIS_TIMEOUT      2


typedef struct ngx_http_orbis_redis_s      ngx_http_orbis_redis_t;
typedef struct ngx_http_orbis_redis_cmd_s  ngx_http_orbis_redis_cmd_t;

/* reply is NULL unless status is NGX_HTTP_ORBIS_REDIS_OK; it may be an
 * error reply (REDIS_REPLY_ERROR) and is freed after the call */
typedef void (*ngx_http_orbis_redis_handler_pt)(void *data,
    redisReply *reply, ngx_uint_t status);


typedef struct {
    ngx_str_t                         url;       /* as configured */
    char                             *ip;        /* resolved at conf time */
    int                               port;
    char                             *unix_path;
    ngx_msec_t                        timeout;
} ngx_http_orbis_redis_conf_t;


typedef struct {
    ngx_uint_t                        connected;
    ngx_uint_t                        commands;
    ngx_uint_t                        timeouts;
    ngx_uint_t                        reconnects;
} ngx_http_orbis_redis_stats_t;


char *ngx_http_orbis_redis_conf_init(ngx_conf_t *cf,
    ngx_http_orbis_redis_conf_t *conf);
ngx_http_orbis_redis_t *ngx_http_orbis_redis_create(
    ngx_http_orbis_redis_conf_t *conf, ngx_log_t *log);
void ngx_http_orbis_redis_destroy(ngx_http_orbis_redis_t *rd);

/*
 * Queues a command.  Returns NULL with *status set when Redis is known to
 * be down (the handler is then not called); otherwise the handler is
 * called exactly once, unless the command is cancelled.
 */
ngx_http_orbis_redis_cmd_t *ngx_http_orbis_redis_command(
    ngx_http_orbis_redis_t *rd, ngx_http_orbis_redis_handler_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen,
    ngx_uint_t *status);
void ngx_http_orbis_redis_cancel(ngx_http_orbis_redis_cmd_t *cmd);

void ngx_http_orbis_redis_stats(ngx_http_orbis_redis_t *rd,
    ngx_http_orbis_redis_stats_t *stats);
const char *ngx_http_orbis_redis_status_text(ngx_uint_t status);


#endif /* _NGX_HTTP_ORBIS_REDIS_H_INCLUDED_ */
