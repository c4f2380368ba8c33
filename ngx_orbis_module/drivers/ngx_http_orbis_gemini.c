
/*
 * Copyright (C) Orbis
 *
 * The Gemini Live client: one WebSocket per call from the worker to the
 * configured endpoint, on nginx's event loop.  Name resolution goes
 * through nginx's resolver, TLS through nginx's OpenSSL glue with the
 * certificate chain and the host name checked (as proxy_ssl_verify does),
 * then the HTTP upgrade, then liborbiscore's ws codec in the client role
 * moves the frames.  Debian's libcurl has no WebSocket support, and the
 * development guide advises nginx's own client code anyway.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <orbiscore/ws.h>

#include "ngx_http_orbis_gemini.h"
#include "ngx_http_orbis_glue.h"


#if !(NGX_SSL)
#error "the Orbis module needs nginx built with OpenSSL"
#endif


#define NGX_HTTP_ORBIS_GEMINI_HEADER_MAX  8192
#define NGX_HTTP_ORBIS_GEMINI_READ_SIZE   16384


typedef enum {
    NGX_HTTP_ORBIS_GEMINI_ST_RESOLVING = 0,
    NGX_HTTP_ORBIS_GEMINI_ST_CONNECTING,
    NGX_HTTP_ORBIS_GEMINI_ST_TLS,
    NGX_HTTP_ORBIS_GEMINI_ST_REQUEST,
    NGX_HTTP_ORBIS_GEMINI_ST_RESPONSE,
    NGX_HTTP_ORBIS_GEMINI_ST_OPEN
} ngx_http_orbis_gemini_state_e;


struct ngx_http_orbis_gemini_s {
    ngx_http_orbis_gemini_conf_t      *conf;
    ngx_pool_t                        *pool;
    ngx_log_t                          log;
    ngx_http_orbis_gemini_handlers_t   handlers;
    void                              *data;

    ngx_resolver_t                    *resolver;
    ngx_msec_t                         resolver_timeout;
    ngx_resolver_ctx_t                *rctx;

    ngx_peer_connection_t              peer;
    ngx_sockaddr_t                     sockaddr;
    socklen_t                          socklen;
    ngx_connection_t                  *c;

    orbis_ws_t                        *ws;

    u_char                            *hbuf;       /* request, response */
    size_t                             hlen;
    size_t                             hsent;
    char                               ws_key[ORBIS_WS_KEY_LEN + 1];

    ngx_event_t                        fail;       /* posted: report */
    ngx_http_orbis_gemini_state_e      state;
    ngx_uint_t                         code;
    size_t                             reason_len;
    u_char                             reason[ORBIS_WS_MAX_CLOSE_REASON
                                              + 1];

    unsigned                           feeding:1;
    unsigned                           dropped:1;  /* the owner let go */
    unsigned                           failed:1;   /* report posted */
    unsigned                           paused:1;
    unsigned                           peer_closed:1;
};


static void ngx_http_orbis_gemini_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_orbis_gemini_do_connect(ngx_http_orbis_gemini_t *g);
static void ngx_http_orbis_gemini_event(ngx_event_t *ev);
static void ngx_http_orbis_gemini_connected(ngx_http_orbis_gemini_t *g);
static void ngx_http_orbis_gemini_ssl_done(ngx_connection_t *c);
static void ngx_http_orbis_gemini_request(ngx_http_orbis_gemini_t *g);
static void ngx_http_orbis_gemini_response(ngx_http_orbis_gemini_t *g);
static ngx_int_t ngx_http_orbis_gemini_check_headers(
    ngx_http_orbis_gemini_t *g, u_char *p, u_char *last);
static void ngx_http_orbis_gemini_open(ngx_http_orbis_gemini_t *g,
    u_char *rest, size_t len);
static void ngx_http_orbis_gemini_feed(ngx_http_orbis_gemini_t *g,
    u_char *data, size_t len);
static void ngx_http_orbis_gemini_read(ngx_http_orbis_gemini_t *g);
static void ngx_http_orbis_gemini_wait(ngx_http_orbis_gemini_t *g,
    ngx_event_t *ev);
static ngx_int_t ngx_http_orbis_gemini_flush(ngx_http_orbis_gemini_t *g);
static void ngx_http_orbis_gemini_fail(ngx_http_orbis_gemini_t *g,
    ngx_uint_t level, ngx_uint_t code, const char *fmt, ...);
static void ngx_http_orbis_gemini_fail_handler(ngx_event_t *ev);
static void ngx_http_orbis_gemini_close_connection(
    ngx_http_orbis_gemini_t *g);
static void ngx_http_orbis_gemini_destroy(ngx_http_orbis_gemini_t *g);
static void ngx_http_orbis_gemini_on_message(void *userdata,
    orbis_ws_opcode_t opcode, const uint8_t *data, size_t len);
static void ngx_http_orbis_gemini_on_close(void *userdata, uint16_t code,
    const char *reason, size_t len);
static int ngx_http_orbis_gemini_random(void *userdata, uint8_t *buf,
    size_t len);
static u_char *ngx_http_orbis_gemini_header_value(u_char *p, u_char *last,
    const char *name, size_t *len);


static u_char  ngx_http_orbis_gemini_buf[NGX_HTTP_ORBIS_GEMINI_READ_SIZE];


char *
ngx_http_orbis_gemini_conf_init(ngx_conf_t *cf,
    ngx_http_orbis_gemini_conf_t *conf)
{
    u_char              *p;
    ngx_url_t            u;
    ngx_str_t            trusted;
    ngx_addr_t           addr;
    ngx_pool_cleanup_t  *cln;

    ngx_memzero(&u, sizeof(ngx_url_t));

    if (conf->url.len > 6
        && ngx_strncasecmp(conf->url.data, (u_char *) "wss://", 6) == 0)
    {
        conf->tls = 1;
        u.url.data = conf->url.data + 6;
        u.url.len = conf->url.len - 6;
        u.default_port = 443;

    } else if (conf->url.len > 5
               && ngx_strncasecmp(conf->url.data, (u_char *) "ws://", 5)
                  == 0)
    {
        conf->tls = 0;
        u.url.data = conf->url.data + 5;
        u.url.len = conf->url.len - 5;
        u.default_port = 80;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_gemini_url \"%V\" must start with wss:// "
                           "or ws://", &conf->url);
        return NGX_CONF_ERROR;
    }

    u.uri_part = 1;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.host.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_gemini_url \"%V\": %s", &conf->url,
                           u.err ? u.err : "no host");
        return NGX_CONF_ERROR;
    }

    conf->port = u.no_port ? u.default_port : u.port;
    conf->host = u.host;

    if (conf->host.len > 2 && conf->host.data[0] == '[') {
        conf->host.data++;
        conf->host.len -= 2;
    }

    /* SNI and the certificate checks want a C string */
    p = ngx_pnalloc(cf->pool, conf->host.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, conf->host.data, conf->host.len);
    p[conf->host.len] = '\0';
    conf->host.data = p;

    /* the authority as written: Host must match what the URL said */
    conf->host_header.data = u.url.data;
    conf->host_header.len = u.uri.len ? (size_t) (u.uri.data - u.url.data)
                                      : u.url.len;

    p = conf->host_header.data;

    while (conf->host_header.len
           && (p[conf->host_header.len - 1] == '/'
               || p[conf->host_header.len - 1] == '?'))
    {
        conf->host_header.len--;
    }

    if (u.uri.len == 0) {
        ngx_str_set(&conf->target, "/");

    } else if (u.uri.data[0] == '?') {
        conf->target.len = u.uri.len + 1;
        conf->target.data = ngx_pnalloc(cf->pool, conf->target.len);
        if (conf->target.data == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->target.data[0] = '/';
        ngx_memcpy(conf->target.data + 1, u.uri.data, u.uri.len);

    } else {
        conf->target = u.uri;
    }

    /* a literal address needs no resolver */

    if (ngx_parse_addr(cf->pool, &addr, conf->host.data, conf->host.len)
        == NGX_OK)
    {
        conf->addr = ngx_palloc(cf->pool, sizeof(ngx_addr_t));
        if (conf->addr == NULL) {
            return NGX_CONF_ERROR;
        }

        *conf->addr = addr;
        conf->addr->name = conf->host_header;
        ngx_inet_set_port(conf->addr->sockaddr, conf->port);
        conf->host_is_ip = 1;
    }

    if (!conf->tls) {
        return NGX_CONF_OK;
    }

    conf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (conf->ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->ssl->log = cf->log;

    if (ngx_ssl_create(conf->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(conf->ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = conf->ssl;

    if (conf->ca_file.len) {
        trusted = conf->ca_file;

        if (ngx_ssl_trusted_certificate(cf, conf->ssl, &trusted, 4)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else {
        ngx_str_null(&trusted);

        if (ngx_ssl_trusted_certificate(cf, conf->ssl, &trusted, 4)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        if (SSL_CTX_set_default_verify_paths(conf->ssl->ctx) != 1) {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "SSL_CTX_set_default_verify_paths() failed");
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


ngx_http_orbis_gemini_t *
ngx_http_orbis_gemini_connect(ngx_http_orbis_gemini_conf_t *conf,
    ngx_resolver_t *resolver, ngx_msec_t resolver_timeout, ngx_log_t *log,
    ngx_http_orbis_gemini_handlers_t *handlers, void *data)
{
    uint8_t                   rnd[16];
    ngx_pool_t               *pool;
    ngx_resolver_ctx_t       *rctx, temp;
    ngx_http_orbis_gemini_t  *g;

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return NULL;
    }

    g = ngx_pcalloc(pool, sizeof(ngx_http_orbis_gemini_t));
    if (g == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    g->conf = conf;
    g->pool = pool;
    /* the owner's log context dies with its connection: not kept */
    g->log = *log;
    g->log.handler = NULL;
    g->log.data = NULL;
    g->log.action = NULL;
    pool->log = &g->log;
    g->handlers = *handlers;
    g->data = data;
    g->resolver = resolver;
    g->resolver_timeout = resolver_timeout;

    g->fail.handler = ngx_http_orbis_gemini_fail_handler;
    g->fail.data = g;
    g->fail.log = &g->log;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    orbis_ws_client_key(rnd, g->ws_key);

    if (conf->addr != NULL) {
        ngx_memcpy(&g->sockaddr, conf->addr->sockaddr, conf->addr->socklen);
        g->socklen = conf->addr->socklen;
        ngx_http_orbis_gemini_do_connect(g);
        return g;
    }

    g->state = NGX_HTTP_ORBIS_GEMINI_ST_RESOLVING;

    ngx_memzero(&temp, sizeof(ngx_resolver_ctx_t));
    temp.name = conf->host;

    rctx = (resolver != NULL) ? ngx_resolve_start(resolver, &temp)
                              : NGX_NO_RESOLVER;

    if (rctx == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    if (rctx == NGX_NO_RESOLVER) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "no resolver defined to resolve %V "
                                   "(add a \"resolver\" directive)",
                                   &conf->host);
        return g;
    }

    if (rctx == &temp) {
        /* the resolver recognised a literal after all */
        ngx_memcpy(&g->sockaddr, temp.addrs[0].sockaddr,
                   temp.addrs[0].socklen);
        g->socklen = temp.addrs[0].socklen;
        ngx_inet_set_port(&g->sockaddr.sockaddr, conf->port);
        ngx_http_orbis_gemini_do_connect(g);
        return g;
    }

    rctx->name = conf->host;
    rctx->handler = ngx_http_orbis_gemini_resolved;
    rctx->data = g;
    rctx->timeout = resolver_timeout;

    g->rctx = rctx;

    if (ngx_resolve_name(rctx) != NGX_OK) {
        g->rctx = NULL;
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "cannot start resolving %V", &conf->host);
    }

    return g;
}


ngx_int_t
ngx_http_orbis_gemini_send(ngx_http_orbis_gemini_t *g, u_char *text,
    size_t len)
{
    if (g->state != NGX_HTTP_ORBIS_GEMINI_ST_OPEN || g->failed
        || g->peer_closed)
    {
        return NGX_DECLINED;
    }

    if (orbis_ws_send(g->ws, ORBIS_WS_TEXT, text, len) != ORBIS_OK) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "cannot queue a message for Gemini");
        return NGX_ERROR;
    }

    if (g->feeding) {
        /* written once the frame being read is done */
        return NGX_OK;
    }

    if (ngx_http_orbis_gemini_flush(g) == NGX_ERROR) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_INFO,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "connection to Gemini lost while "
                                   "writing");
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_orbis_gemini_close(ngx_http_orbis_gemini_t *g)
{
    g->dropped = 1;

    if (g->feeding) {
        /* the read loop destroys it when the feed returns */
        return;
    }

    if (g->state == NGX_HTTP_ORBIS_GEMINI_ST_OPEN && g->c != NULL
        && !g->failed && !g->peer_closed)
    {
        if (orbis_ws_send_close(g->ws, ORBIS_WS_CLOSE_NORMAL, NULL, 0)
            == ORBIS_OK)
        {
            (void) ngx_http_orbis_gemini_flush(g);
        }
    }

    ngx_http_orbis_gemini_destroy(g);
}


size_t
ngx_http_orbis_gemini_backlog(ngx_http_orbis_gemini_t *g)
{
    return (g->ws != NULL) ? orbis_ws_output_size(g->ws) : 0;
}


void
ngx_http_orbis_gemini_pause(ngx_http_orbis_gemini_t *g, ngx_uint_t pause)
{
    if (g->paused == (pause ? 1 : 0)) {
        return;
    }

    g->paused = pause ? 1 : 0;

    if (!g->paused && g->state == NGX_HTTP_ORBIS_GEMINI_ST_OPEN
        && g->c != NULL && !g->failed)
    {
        /* edge-triggered: nothing new may arrive to wake the reader */
        ngx_post_event(g->c->read, &ngx_posted_events);
    }
}


static void
ngx_http_orbis_gemini_resolved(ngx_resolver_ctx_t *ctx)
{
    ngx_http_orbis_gemini_t  *g = ctx->data;

    g->rctx = NULL;

    if (ctx->state || ctx->naddrs == 0) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "%V could not be resolved (%i: %s)",
                                   &ctx->name, ctx->state,
                                   ngx_resolver_strerror(ctx->state));
        ngx_resolve_name_done(ctx);
        return;
    }

    ngx_memcpy(&g->sockaddr, ctx->addrs[0].sockaddr, ctx->addrs[0].socklen);
    g->socklen = ctx->addrs[0].socklen;
    ngx_inet_set_port(&g->sockaddr.sockaddr, g->conf->port);

    ngx_resolve_name_done(ctx);

    ngx_http_orbis_gemini_do_connect(g);
}


static void
ngx_http_orbis_gemini_do_connect(ngx_http_orbis_gemini_t *g)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    g->state = NGX_HTTP_ORBIS_GEMINI_ST_CONNECTING;

    g->peer.sockaddr = &g->sockaddr.sockaddr;
    g->peer.socklen = g->socklen;
    g->peer.name = &g->conf->host_header;
    g->peer.get = ngx_event_get_peer;
    g->peer.log = &g->log;
    g->peer.log_error = NGX_ERROR_ERR;
    g->peer.tries = 1;

    rc = ngx_event_connect_peer(&g->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "cannot connect to %V",
                                   &g->conf->host_header);
        return;
    }

    c = g->peer.connection;
    g->c = c;

    c->data = g;
    c->pool = g->pool;
    c->read->handler = ngx_http_orbis_gemini_event;
    c->write->handler = ngx_http_orbis_gemini_event;

    ngx_add_timer(c->write, g->conf->connect_timeout);

    if (rc == NGX_OK) {
        /* never progress inside the owner's call: the event goes on */
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static void
ngx_http_orbis_gemini_event(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_orbis_gemini_t  *g;

    c = ev->data;
    g = c->data;

    if (g->failed) {
        return;
    }

    switch (g->state) {

    case NGX_HTTP_ORBIS_GEMINI_ST_CONNECTING:
        ngx_http_orbis_gemini_connected(g);
        return;

    case NGX_HTTP_ORBIS_GEMINI_ST_REQUEST:
    case NGX_HTTP_ORBIS_GEMINI_ST_RESPONSE:
        if (c->read->timedout || c->write->timedout) {
            ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                       NGX_HTTP_ORBIS_GEMINI_LOST,
                                       "the WebSocket handshake with %V "
                                       "timed out", &g->conf->host_header);
            return;
        }

        if (g->state == NGX_HTTP_ORBIS_GEMINI_ST_REQUEST) {
            ngx_http_orbis_gemini_request(g);

        } else if (!ev->write) {
            ngx_http_orbis_gemini_response(g);
        }

        return;

    case NGX_HTTP_ORBIS_GEMINI_ST_OPEN:
        if (ev->write) {
            switch (ngx_http_orbis_gemini_flush(g)) {

            case NGX_ERROR:
                ngx_http_orbis_gemini_fail(g, NGX_LOG_INFO,
                                           NGX_HTTP_ORBIS_GEMINI_LOST,
                                           "connection to Gemini lost "
                                           "while writing");
                return;

            case NGX_OK:
                if (g->handlers.on_drain != NULL && !g->dropped) {
                    g->handlers.on_drain(g->data);
                }

                return;

            default:
                return;
            }
        }

        ngx_http_orbis_gemini_read(g);
        return;

    default:
        return;
    }
}


static void
ngx_http_orbis_gemini_connected(ngx_http_orbis_gemini_t *g)
{
    int                err;
    socklen_t          len;
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = g->c;

    if (c->write->timedout || c->read->timedout) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "connecting to %V timed out",
                                   &g->conf->host_header);
        return;
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_ERR, &g->log, err, "connect() to %V failed",
                      &g->conf->host_header);
        ngx_http_orbis_gemini_fail(g, NGX_LOG_INFO,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "cannot connect to %V",
                                   &g->conf->host_header);
        return;
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    /* one timer for TLS and the upgrade together */
    ngx_add_timer(c->read, g->conf->handshake_timeout);

    (void) ngx_tcp_nodelay(c);

    if (!g->conf->tls) {
        g->state = NGX_HTTP_ORBIS_GEMINI_ST_REQUEST;
        ngx_http_orbis_gemini_request(g);
        return;
    }

    g->state = NGX_HTTP_ORBIS_GEMINI_ST_TLS;

    if (ngx_ssl_create_connection(g->conf->ssl, c, NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "cannot create a TLS connection");
        return;
    }

    /* the ws codec's queue moves when it grows */
    SSL_set_mode(c->ssl->connection, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    if (!g->conf->host_is_ip
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) g->conf->host.data) == 0)
    {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "cannot set the TLS server name");
        return;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_orbis_gemini_ssl_done;
        return;
    }

    ngx_http_orbis_gemini_ssl_done(c);
}


static void
ngx_http_orbis_gemini_ssl_done(ngx_connection_t *c)
{
    int                       ok;
    long                      rc;
    X509                     *cert;
    ngx_http_orbis_gemini_t  *g;

    g = c->data;

    c->read->handler = ngx_http_orbis_gemini_event;
    c->write->handler = ngx_http_orbis_gemini_event;

    if (c->read->timedout || c->write->timedout) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "TLS handshake with %V timed out",
                                   &g->conf->host_header);
        return;
    }

    if (!c->ssl->handshaked) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "TLS handshake with %V failed",
                                   &g->conf->host_header);
        return;
    }

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR, NGX_HTTP_ORBIS_GEMINI_TLS,
                                   "the certificate of %V is not trusted: "
                                   "(%l: %s)", &g->conf->host_header, rc,
                                   X509_verify_cert_error_string(rc));
        return;
    }

    cert = SSL_get_peer_certificate(c->ssl->connection);
    ok = 0;

    if (cert != NULL) {
        /* the host is NUL-terminated (ngx_http_orbis_gemini_conf_init) */
        ok = g->conf->host_is_ip
             ? X509_check_ip_asc(cert, (char *) g->conf->host.data, 0)
             : X509_check_host(cert, (char *) g->conf->host.data,
                               g->conf->host.len, 0, NULL);
        X509_free(cert);
    }

    if (ok != 1) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR, NGX_HTTP_ORBIS_GEMINI_TLS,
                                   "the certificate of %V does not match "
                                   "\"%V\"", &g->conf->host_header,
                                   &g->conf->host);
        return;
    }

    g->state = NGX_HTTP_ORBIS_GEMINI_ST_REQUEST;
    ngx_http_orbis_gemini_request(g);
}


static void
ngx_http_orbis_gemini_request(ngx_http_orbis_gemini_t *g)
{
    u_char            *p;
    ssize_t            n;
    ngx_connection_t  *c;

    c = g->c;

    if (g->hbuf == NULL) {
        g->hbuf = ngx_alloc(NGX_HTTP_ORBIS_GEMINI_HEADER_MAX, &g->log);
        if (g->hbuf == NULL) {
            ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                       NGX_HTTP_ORBIS_GEMINI_LOST,
                                       "out of memory");
            return;
        }

        p = ngx_slprintf(g->hbuf, g->hbuf + NGX_HTTP_ORBIS_GEMINI_HEADER_MAX,
                         "GET %V HTTP/1.1" CRLF
                         "Host: %V" CRLF
                         "Upgrade: websocket" CRLF
                         "Connection: Upgrade" CRLF
                         "Sec-WebSocket-Key: %s" CRLF
                         "Sec-WebSocket-Version: 13" CRLF
                         "User-Agent: orbis/" ORBIS_VERSION CRLF,
                         &g->conf->target, &g->conf->host_header, g->ws_key);

        if (g->conf->key.len) {
            p = ngx_slprintf(p, g->hbuf + NGX_HTTP_ORBIS_GEMINI_HEADER_MAX,
                             "x-goog-api-key: %V" CRLF, &g->conf->key);
        }

        if (p + 2 > g->hbuf + NGX_HTTP_ORBIS_GEMINI_HEADER_MAX) {
            ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                       NGX_HTTP_ORBIS_GEMINI_REFUSED,
                                       "the upgrade request is too long");
            return;
        }

        *p++ = CR;
        *p++ = LF;

        g->hlen = p - g->hbuf;
        g->hsent = 0;
    }

    while (g->hsent < g->hlen) {
        n = c->send(c, g->hbuf + g->hsent, g->hlen - g->hsent);

        if (n == NGX_AGAIN) {
            ngx_http_orbis_gemini_wait(g, c->write);
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                       NGX_HTTP_ORBIS_GEMINI_LOST,
                                       "cannot send the upgrade request "
                                       "to %V", &g->conf->host_header);
            return;
        }

        g->hsent += n;
    }

    g->state = NGX_HTTP_ORBIS_GEMINI_ST_RESPONSE;
    g->hlen = 0;

    if (c->read->ready) {
        ngx_http_orbis_gemini_response(g);
        return;
    }

    ngx_http_orbis_gemini_wait(g, c->read);
}


static void
ngx_http_orbis_gemini_response(ngx_http_orbis_gemini_t *g)
{
    u_char            *p, *end, *last;
    ssize_t            n;
    ngx_int_t          status;
    ngx_connection_t  *c;

    c = g->c;

    for ( ;; ) {
        if (g->hlen == NGX_HTTP_ORBIS_GEMINI_HEADER_MAX) {
            ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                       NGX_HTTP_ORBIS_GEMINI_LOST,
                                       "the upgrade response of %V is too "
                                       "long", &g->conf->host_header);
            return;
        }

        n = c->recv(c, g->hbuf + g->hlen,
                    NGX_HTTP_ORBIS_GEMINI_HEADER_MAX - g->hlen);

        if (n == NGX_AGAIN) {
            ngx_http_orbis_gemini_wait(g, c->read);
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                       NGX_HTTP_ORBIS_GEMINI_LOST,
                                       "%V closed the connection during "
                                       "the upgrade", &g->conf->host_header);
            return;
        }

        g->hlen += n;
        last = g->hbuf + g->hlen;

        end = ngx_strlcasestrn(g->hbuf, last, (u_char *) CRLF CRLF, 4 - 1);
        if (end != NULL) {
            break;
        }
    }

    /* "HTTP/1.1 101 Switching Protocols" */

    p = g->hbuf;

    if (end - p < 12 || ngx_strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR, NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "%V answered the upgrade with something "
                                   "that is not HTTP", &g->conf->host_header);
        return;
    }

    status = ngx_atoi(p + 9, 3);

    if (status != 101) {
        /* 4xx: the key or the request is refused, retrying will not help */
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   (status >= 400 && status < 500
                                    && status != 408 && status != 429)
                                   ? NGX_HTTP_ORBIS_GEMINI_REFUSED
                                   : NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "%V refused the WebSocket upgrade with "
                                   "HTTP %i", &g->conf->host_header, status);
        return;
    }

    end += 4;

    if (ngx_http_orbis_gemini_check_headers(g, p, end) != NGX_OK) {
        return;
    }

    ngx_http_orbis_gemini_open(g, end, last - end);
}


static ngx_int_t
ngx_http_orbis_gemini_check_headers(ngx_http_orbis_gemini_t *g, u_char *p,
    u_char *last)
{
    char     expect[ORBIS_WS_ACCEPT_LEN + 1];
    size_t   len;
    u_char  *v;

    v = ngx_http_orbis_gemini_header_value(p, last, "upgrade", &len);

    if (v == NULL || len != 9 || ngx_strncasecmp(v, (u_char *) "websocket", 9)
                                 != 0)
    {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR, NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "%V answered 101 without "
                                   "\"Upgrade: websocket\"",
                                   &g->conf->host_header);
        return NGX_ERROR;
    }

    if (orbis_ws_accept_key(g->ws_key, ORBIS_WS_KEY_LEN, expect) != ORBIS_OK)
    {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR, NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "cannot compute Sec-WebSocket-Accept");
        return NGX_ERROR;
    }

    v = ngx_http_orbis_gemini_header_value(p, last, "sec-websocket-accept",
                                           &len);

    if (v == NULL || len != ORBIS_WS_ACCEPT_LEN
        || ngx_strncmp(v, expect, ORBIS_WS_ACCEPT_LEN) != 0)
    {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR, NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "%V answered 101 with a wrong "
                                   "Sec-WebSocket-Accept",
                                   &g->conf->host_header);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the value of a header, trimmed; the status line is skipped */

static u_char *
ngx_http_orbis_gemini_header_value(u_char *p, u_char *last, const char *name,
    size_t *len)
{
    u_char  *eol, *v, *e;
    size_t   nlen;

    nlen = ngx_strlen(name);

    p = ngx_strlcasestrn(p, last, (u_char *) CRLF, 2 - 1);

    while (p != NULL && p + 2 < last) {
        p += 2;

        eol = ngx_strlcasestrn(p, last, (u_char *) CRLF, 2 - 1);
        if (eol == NULL) {
            return NULL;
        }

        if ((size_t) (eol - p) > nlen && p[nlen] == ':'
            && ngx_strncasecmp(p, (u_char *) name, nlen) == 0)
        {
            v = p + nlen + 1;
            e = eol;

            while (v < e && (*v == ' ' || *v == '\t')) {
                v++;
            }

            while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
                e--;
            }

            *len = e - v;
            return v;
        }

        p = eol;
    }

    return NULL;
}


static void
ngx_http_orbis_gemini_open(ngx_http_orbis_gemini_t *g, u_char *rest,
    size_t len)
{
    orbis_err_t        err;
    ngx_connection_t  *c;
    orbis_ws_config_t  cfg;

    c = g->c;

    ngx_memzero(&cfg, sizeof(orbis_ws_config_t));

    cfg.max_message_size = g->conf->max_message;
    cfg.on_message = ngx_http_orbis_gemini_on_message;
    cfg.on_close = ngx_http_orbis_gemini_on_close;
    cfg.random = ngx_http_orbis_gemini_random;
    cfg.userdata = g;

    g->ws = orbis_ws_new(ORBIS_WS_CLIENT, &cfg, &err);
    if (g->ws == NULL) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR, NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "%s", err.msg);
        return;
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    g->state = NGX_HTTP_ORBIS_GEMINI_ST_OPEN;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &g->log, 0,
                   "orbis gemini: connected to %V", &g->conf->host_header);

    g->feeding = 1;
    g->handlers.on_open(g->data);
    g->feeding = 0;

    if (g->dropped) {
        ngx_http_orbis_gemini_destroy(g);
        return;
    }

    if (len) {
        /* frames that came with the 101 */
        ngx_http_orbis_gemini_feed(g, rest, len);

        if (g->dropped) {
            ngx_http_orbis_gemini_destroy(g);
            return;
        }
    }

    ngx_free(g->hbuf);
    g->hbuf = NULL;

    if (g->failed) {
        return;
    }

    if (ngx_http_orbis_gemini_flush(g) == NGX_ERROR) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_INFO,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "connection to Gemini lost while "
                                   "writing");
        return;
    }

    ngx_http_orbis_gemini_read(g);
}


/* one read's worth through the codec; the caller checks g->dropped */

static void
ngx_http_orbis_gemini_feed(ngx_http_orbis_gemini_t *g, u_char *data,
    size_t len)
{
    orbis_rc_t  rc;

    g->feeding = 1;
    rc = orbis_ws_feed(g->ws, data, len);
    g->feeding = 0;

    if (g->dropped || g->failed) {
        return;
    }

    if (rc != ORBIS_OK) {
        (void) ngx_http_orbis_gemini_flush(g);
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR,
                                   orbis_ws_close_code(g->ws),
                                   "Gemini broke the WebSocket protocol "
                                   "(closed with %d)",
                                   (int) orbis_ws_close_code(g->ws));
        return;
    }

    if (g->peer_closed) {
        /* our echo of its close frame, then the end */
        (void) ngx_http_orbis_gemini_flush(g);
        ngx_http_orbis_gemini_fail(g, NGX_LOG_INFO, g->code,
                                   "Gemini closed with %ui",
                                   g->code);
    }
}


static void
ngx_http_orbis_gemini_read(ngx_http_orbis_gemini_t *g)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = g->c;

    while (!g->paused && c->read->ready) {
        n = c->recv(c, ngx_http_orbis_gemini_buf,
                    NGX_HTTP_ORBIS_GEMINI_READ_SIZE);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_orbis_gemini_fail(g, NGX_LOG_INFO,
                                       NGX_HTTP_ORBIS_GEMINI_LOST,
                                       "connection to Gemini lost");
            return;
        }

        ngx_http_orbis_gemini_feed(g, ngx_http_orbis_gemini_buf, n);

        if (g->dropped) {
            ngx_http_orbis_gemini_destroy(g);
            return;
        }

        if (g->failed) {
            return;
        }
    }

    if (ngx_http_orbis_gemini_flush(g) == NGX_ERROR) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_INFO,
                                   NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "connection to Gemini lost while "
                                   "writing");
        return;
    }

    ngx_http_orbis_gemini_wait(g, c->read);
}


/* the connection waits for ev (its read or its write event), or fails */

static void
ngx_http_orbis_gemini_wait(ngx_http_orbis_gemini_t *g, ngx_event_t *ev)
{
    ngx_int_t  rc;

    rc = ev->write ? ngx_handle_write_event(ev, 0)
                   : ngx_handle_read_event(ev, 0);

    if (rc != NGX_OK) {
        ngx_http_orbis_gemini_fail(g, NGX_LOG_ERR, NGX_HTTP_ORBIS_GEMINI_LOST,
                                   "cannot wait to %s",
                                   ev->write ? "write" : "read");
    }
}


static ngx_int_t
ngx_http_orbis_gemini_flush(ngx_http_orbis_gemini_t *g)
{
    ngx_connection_t  *c;

    c = g->c;

    if (c == NULL || g->ws == NULL) {
        return NGX_OK;
    }

    return ngx_http_orbis_ws_flush(c, g->ws);
}


/* every failure is reported from a posted event, once */

static void
ngx_http_orbis_gemini_fail(ngx_http_orbis_gemini_t *g, ngx_uint_t level,
    ngx_uint_t code, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    if (g->failed) {
        return;
    }

    g->failed = 1;
    g->code = code;

    if (!g->peer_closed) {
        va_start(args, fmt);
        p = ngx_vslprintf(g->reason, g->reason + ORBIS_WS_MAX_CLOSE_REASON,
                          fmt, args);
        va_end(args);

        g->reason_len = p - g->reason;
    }

    g->reason[g->reason_len] = '\0';

    ngx_log_error(level, &g->log, 0, "orbis gemini: %*s",
                  g->reason_len, g->reason);

    ngx_post_event(&g->fail, &ngx_posted_events);
}


static void
ngx_http_orbis_gemini_fail_handler(ngx_event_t *ev)
{
    ngx_http_orbis_gemini_t  *g = ev->data;

    ngx_http_orbis_gemini_close_connection(g);

    if (!g->dropped) {
        g->dropped = 1;
        g->handlers.on_close(g->data, g->code, g->reason, g->reason_len);
    }

    ngx_http_orbis_gemini_destroy(g);
}


static void
ngx_http_orbis_gemini_close_connection(ngx_http_orbis_gemini_t *g)
{
    ngx_connection_t  *c;

    c = g->c;

    if (c == NULL) {
        return;
    }

    g->c = NULL;

    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }

    ngx_close_connection(c);
}


static void
ngx_http_orbis_gemini_destroy(ngx_http_orbis_gemini_t *g)
{
    if (g->rctx != NULL) {
        ngx_resolve_name_done(g->rctx);
        g->rctx = NULL;
    }

    if (g->fail.posted) {
        ngx_delete_posted_event(&g->fail);
    }

    ngx_http_orbis_gemini_close_connection(g);

    orbis_ws_free(g->ws);

    if (g->hbuf != NULL) {
        ngx_free(g->hbuf);
    }

    ngx_destroy_pool(g->pool);
}


static void
ngx_http_orbis_gemini_on_message(void *userdata, orbis_ws_opcode_t opcode,
    const uint8_t *data, size_t len)
{
    ngx_http_orbis_gemini_t  *g = userdata;

    (void) opcode;

    /* JSON comes in binary frames as often as in text frames */

    if (!g->dropped && !g->failed) {
        g->handlers.on_message(g->data, (u_char *) data, len);
    }
}


static void
ngx_http_orbis_gemini_on_close(void *userdata, uint16_t code,
    const char *reason, size_t len)
{
    ngx_http_orbis_gemini_t  *g = userdata;

    g->peer_closed = 1;
    g->code = code;

    len = ngx_min(len, ORBIS_WS_MAX_CLOSE_REASON);
    ngx_memcpy(g->reason, reason, len);
    g->reason_len = len;
}


static int
ngx_http_orbis_gemini_random(void *userdata, uint8_t *buf, size_t len)
{
    (void) userdata;

    return (RAND_bytes(buf, (int) len) == 1) ? 0 : -1;
}
