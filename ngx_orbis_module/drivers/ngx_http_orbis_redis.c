
/*
 * Copyright (C) Orbis
 *
 * hiredis's async context on nginx's event loop.  hiredis 0.14 has no
 * timers of its own, so every command carries an nginx timer; a command
 * that times out takes the link down with it (replies are ordered, a stuck
 * link would hold every later command too) and a reconnect timer brings it
 * back with a capped backoff.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_orbis_redis.h"
#include "ngx_http_orbis_glue.h"


#define NGX_HTTP_ORBIS_REDIS_BACKOFF_MIN  100
#define NGX_HTTP_ORBIS_REDIS_BACKOFF_MAX  1000


struct ngx_http_orbis_redis_s {
    ngx_http_orbis_redis_conf_t      *conf;
    ngx_log_t                        *log;

    redisAsyncContext                *ac;
    ngx_connection_t                 *c;

    ngx_event_t                       reconnect;
    ngx_event_t                       connect_timer;
    ngx_msec_t                        backoff;

    ngx_http_orbis_redis_stats_t      stats;

    unsigned                          connected:1;
    unsigned                          destroying:1;
};


struct ngx_http_orbis_redis_cmd_s {
    ngx_http_orbis_redis_t           *rd;
    ngx_http_orbis_redis_handler_pt   handler;
    void                             *data;
    ngx_event_t                       timer;
};


static ngx_int_t ngx_http_orbis_redis_connect(ngx_http_orbis_redis_t *rd);
static void ngx_http_orbis_redis_schedule(ngx_http_orbis_redis_t *rd);
static void ngx_http_orbis_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_orbis_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_orbis_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_orbis_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_http_orbis_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_orbis_redis_timeout(ngx_event_t *ev);
static void ngx_http_orbis_redis_event_handler(ngx_event_t *ev);
static void ngx_http_orbis_redis_add_read(void *privdata);
static void ngx_http_orbis_redis_del_read(void *privdata);
static void ngx_http_orbis_redis_add_write(void *privdata);
static void ngx_http_orbis_redis_del_write(void *privdata);
static void ngx_http_orbis_redis_event(ngx_http_orbis_redis_t *rd,
    ngx_uint_t write, ngx_uint_t on);
static void ngx_http_orbis_redis_cleanup(void *privdata);


static const char  *ngx_http_orbis_redis_status_texts[] = {
    "ok",
    "redis unavailable",
    "redis timed out"
};


char *
ngx_http_orbis_redis_conf_init(ngx_conf_t *cf,
    ngx_http_orbis_redis_conf_t *conf)
{
    u_char     *p;
    size_t      len;
    ngx_url_t   u;

    if (conf->url.len > 5
        && ngx_strncmp(conf->url.data, "unix:", 5) == 0)
    {
        conf->unix_path = (char *) ngx_pnalloc(cf->pool, conf->url.len - 4);
        if (conf->unix_path == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn((u_char *) conf->unix_path, conf->url.data + 5,
                    conf->url.len - 4);
        return NGX_CONF_OK;
    }

    /* hiredis would call getaddrinfo() on a name in the worker */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = conf->url;
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_redis: \"%V\" not resolved%s%s",
                           &conf->url, u.err ? ": " : "",
                           u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, p,
                        NGX_SOCKADDR_STRLEN, 0);
    p[len] = '\0';

    conf->ip = (char *) p;
    conf->port = (int) ngx_inet_get_port(u.addrs[0].sockaddr);

    return NGX_CONF_OK;
}


ngx_http_orbis_redis_t *
ngx_http_orbis_redis_create(ngx_http_orbis_redis_conf_t *conf, ngx_log_t *log)
{
    ngx_http_orbis_redis_t  *rd;

    rd = ngx_calloc(sizeof(ngx_http_orbis_redis_t), log);
    if (rd == NULL) {
        return NULL;
    }

    rd->conf = conf;
    rd->log = log;
    rd->backoff = NGX_HTTP_ORBIS_REDIS_BACKOFF_MIN;

    rd->reconnect.handler = ngx_http_orbis_redis_reconnect_handler;
    rd->reconnect.data = rd;
    rd->reconnect.log = log;
    rd->reconnect.cancelable = 1;

    rd->connect_timer.handler = ngx_http_orbis_redis_connect_timeout;
    rd->connect_timer.data = rd;
    rd->connect_timer.log = log;
    rd->connect_timer.cancelable = 1;

    if (ngx_http_orbis_redis_connect(rd) != NGX_OK) {
        ngx_http_orbis_redis_schedule(rd);
    }

    return rd;
}


void
ngx_http_orbis_redis_destroy(ngx_http_orbis_redis_t *rd)
{
    rd->destroying = 1;

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (rd->ac != NULL) {
        redisAsyncFree(rd->ac);
        rd->ac = NULL;
    }

    ngx_free(rd);
}


ngx_http_orbis_redis_cmd_t *
ngx_http_orbis_redis_command(ngx_http_orbis_redis_t *rd,
    ngx_http_orbis_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen, ngx_uint_t *status)
{
    ngx_http_orbis_redis_cmd_t  *cmd;

    *status = NGX_HTTP_ORBIS_REDIS_OK;

    if (rd->ac == NULL) {
        *status = NGX_HTTP_ORBIS_REDIS_UNAVAILABLE;
        return NULL;
    }

    cmd = ngx_calloc(sizeof(ngx_http_orbis_redis_cmd_t), rd->log);
    if (cmd == NULL) {
        *status = NGX_HTTP_ORBIS_REDIS_UNAVAILABLE;
        return NULL;
    }

    cmd->rd = rd;
    cmd->handler = handler;
    cmd->data = data;
    cmd->timer.handler = ngx_http_orbis_redis_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = rd->log;

    /* not cancelable: a leaving worker waits for its answer (see pg.c) */
    cmd->timer.cancelable = 0;

    if (redisAsyncCommandArgv(rd->ac, ngx_http_orbis_redis_reply, cmd,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(cmd);
        *status = NGX_HTTP_ORBIS_REDIS_UNAVAILABLE;
        return NULL;
    }

    rd->stats.commands++;
    ngx_add_timer(&cmd->timer, rd->conf->timeout);

    return cmd;
}


void
ngx_http_orbis_redis_cancel(ngx_http_orbis_redis_cmd_t *cmd)
{
    /* hiredis still holds it; it is freed when its reply comes */

    cmd->handler = NULL;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }
}


void
ngx_http_orbis_redis_stats(ngx_http_orbis_redis_t *rd,
    ngx_http_orbis_redis_stats_t *stats)
{
    *stats = rd->stats;
    stats->connected = rd->connected;
}


const char *
ngx_http_orbis_redis_status_text(ngx_uint_t status)
{
    if (status >= sizeof(ngx_http_orbis_redis_status_texts) / sizeof(char *))
    {
        return "redis error";
    }

    return ngx_http_orbis_redis_status_texts[status];
}


static ngx_int_t
ngx_http_orbis_redis_connect(ngx_http_orbis_redis_t *rd)
{
    static const char   *ping[] = { "PING" };
    redisAsyncContext   *ac;
    ngx_connection_t    *c;

    if (rd->conf->unix_path != NULL) {
        ac = redisAsyncConnectUnix(rd->conf->unix_path);

    } else {
        ac = redisAsyncConnect(rd->conf->ip, rd->conf->port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "orbis redis: cannot allocate a context");
        return NGX_ERROR;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "orbis redis: connect to %V failed: %s",
                      &rd->conf->url, ac->errstr);
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c->data = rd;
    c->read->handler = ngx_http_orbis_redis_event_handler;
    c->write->handler = ngx_http_orbis_redis_event_handler;
    c->read->log = rd->log;
    c->write->log = rd->log;

    rd->ac = ac;
    rd->c = c;

    ac->data = rd;
    ac->ev.data = rd;
    ac->ev.addRead = ngx_http_orbis_redis_add_read;
    ac->ev.delRead = ngx_http_orbis_redis_del_read;
    ac->ev.addWrite = ngx_http_orbis_redis_add_write;
    ac->ev.delWrite = ngx_http_orbis_redis_del_write;
    ac->ev.cleanup = ngx_http_orbis_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_http_orbis_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_http_orbis_redis_on_disconnect);

    ngx_add_timer(&rd->connect_timer, rd->conf->timeout);

    /* the first write event tells hiredis the connect finished */

    (void) redisAsyncCommandArgv(ac, NULL, NULL, 1, ping, NULL);

    return NGX_OK;
}


static void
ngx_http_orbis_redis_schedule(ngx_http_orbis_redis_t *rd)
{
    if (rd->destroying || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (!rd->reconnect.timer_set) {
        ngx_add_timer(&rd->reconnect, rd->backoff);
    }

    rd->backoff = ngx_min(rd->backoff * 2, NGX_HTTP_ORBIS_REDIS_BACKOFF_MAX);
}


static void
ngx_http_orbis_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_orbis_redis_t  *rd;

    rd = ev->data;

    if (rd->ac != NULL) {
        return;
    }

    rd->stats.reconnects++;

    if (ngx_http_orbis_redis_connect(rd) != NGX_OK) {
        ngx_http_orbis_redis_schedule(rd);
    }
}


static void
ngx_http_orbis_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_orbis_redis_t  *rd;
    redisAsyncContext       *ac;

    rd = ev->data;
    ac = rd->ac;

    if (ac == NULL || rd->connected) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "orbis redis: connect to %V timed out", &rd->conf->url);

    rd->ac = NULL;
    redisAsyncFree(ac);

    ngx_http_orbis_redis_schedule(rd);
}


static void
ngx_http_orbis_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_orbis_redis_t  *rd;

    rd = ac->data;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns */
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "orbis redis: connect to %V failed: %s",
                      &rd->conf->url, ac->errstr);
        rd->ac = NULL;
        ngx_http_orbis_redis_schedule(rd);
        return;
    }

    if (rd->stats.reconnects) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "orbis redis: connected to %V", &rd->conf->url);
    }

    rd->connected = 1;
    rd->backoff = NGX_HTTP_ORBIS_REDIS_BACKOFF_MIN;
}


static void
ngx_http_orbis_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_http_orbis_redis_t  *rd;

    rd = ac->data;

    if (status != REDIS_OK && !rd->destroying) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "orbis redis: connection to %V lost: %s",
                      &rd->conf->url, ac->errstr);
    }

    rd->ac = NULL;
    rd->connected = 0;

    ngx_http_orbis_redis_schedule(rd);
}


static void
ngx_http_orbis_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    void                             *data;
    ngx_http_orbis_redis_cmd_t       *cmd;
    ngx_http_orbis_redis_handler_pt   handler;

    cmd = privdata;

    if (cmd == NULL) {
        return;
    }

    handler = cmd->handler;
    data = cmd->data;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    ngx_free(cmd);

    if (handler == NULL) {
        return;
    }

    if (r == NULL) {
        handler(data, NULL, NGX_HTTP_ORBIS_REDIS_UNAVAILABLE);
        return;
    }

    handler(data, r, NGX_HTTP_ORBIS_REDIS_OK);
}


static void
ngx_http_orbis_redis_timeout(ngx_event_t *ev)
{
    ngx_http_orbis_redis_t           *rd;
    ngx_http_orbis_redis_cmd_t       *cmd;
    ngx_http_orbis_redis_handler_pt   handler;

    cmd = ev->data;
    rd = cmd->rd;
    handler = cmd->handler;

    cmd->handler = NULL;
    rd->stats.timeouts++;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "orbis redis: command to %V timed out after %M ms",
                  &rd->conf->url, rd->conf->timeout);

    if (handler != NULL) {
        handler(cmd->data, NULL, NGX_HTTP_ORBIS_REDIS_TIMEOUT);
    }

    /* the rest of the pipeline is stuck behind it: start again */

    if (rd->ac != NULL) {
        redisAsyncDisconnect(rd->ac);
    }
}


static void
ngx_http_orbis_redis_event_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c;
    ngx_http_orbis_redis_t  *rd;

    c = ev->data;
    rd = c->data;

    if (rd->ac == NULL) {
        return;
    }

    if (ev->write) {
        redisAsyncHandleWrite(rd->ac);

    } else {
        redisAsyncHandleRead(rd->ac);
    }
}


/* hiredis's event hooks: arm or disarm the connection's read or write */

static void
ngx_http_orbis_redis_add_read(void *privdata)
{
    ngx_http_orbis_redis_event(privdata, 0, 1);
}


static void
ngx_http_orbis_redis_del_read(void *privdata)
{
    ngx_http_orbis_redis_event(privdata, 0, 0);
}


static void
ngx_http_orbis_redis_add_write(void *privdata)
{
    ngx_http_orbis_redis_event(privdata, 1, 1);
}


static void
ngx_http_orbis_redis_del_write(void *privdata)
{
    ngx_http_orbis_redis_event(privdata, 1, 0);
}


static void
ngx_http_orbis_redis_event(ngx_http_orbis_redis_t *rd, ngx_uint_t write,
    ngx_uint_t on)
{
    if (rd->c != NULL) {
        (void) ngx_http_orbis_event_want(write ? rd->c->write : rd->c->read,
                                         on);
    }
}


static void
ngx_http_orbis_redis_cleanup(void *privdata)
{
    ngx_http_orbis_redis_t  *rd = privdata;

    if (rd->c != NULL) {
        ngx_http_orbis_release_connection(rd->c, 0);
        rd->c = NULL;
    }

    rd->connected = 0;
}
