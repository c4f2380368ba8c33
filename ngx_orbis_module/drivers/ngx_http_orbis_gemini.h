
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_GEMINI_H_INCLUDED_
#define _NGX_HTTP_ORBIS_GEMINI_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>


/* codes reported for failures that carry no close frame */
#define NGX_HTTP_ORBIS_GEMINI_LOST      1006    /* retryable */
#define NGX_HTTP_ORBIS_GEMINI_REFUSED   1008    /* 4xx at the upgrade */
#define NGX_HTTP_ORBIS_GEMINI_TLS       1015    /* certificate refused */


typedef struct ngx_http_orbis_gemini_s  ngx_http_orbis_gemini_t;


typedef struct {
    ngx_str_t                   url;
    ngx_str_t                   key_file;
    ngx_str_t                   key;           /* read from key_file */
    ngx_str_t                   model;
    ngx_str_t                   ca_file;
    ngx_msec_t                  connect_timeout;
    ngx_msec_t                  handshake_timeout;
    size_t                      max_message;

    /* from the url */
    ngx_uint_t                  tls;
    ngx_str_t                   host;          /* no brackets, no port */
    in_port_t                   port;
    ngx_str_t                   host_header;
    ngx_str_t                   target;        /* path and query */
    ngx_addr_t                 *addr;          /* a literal address */
    ngx_uint_t                  host_is_ip;

#if (NGX_SSL)
    ngx_ssl_t                  *ssl;
#endif
} ngx_http_orbis_gemini_conf_t;


/*
 * What the owner hears.  on_open: the WebSocket is up (setup can go).
 * on_message: one complete message, text or binary.  on_close: the
 * connection is gone for good (code 1006 when there was no close frame);
 * the object frees itself after this returns and must not be used again.
 * on_drain: a backlog that could not be written at once is now out.
 * None of them is called from inside a call the owner made: failures
 * found while sending are reported from a posted event.
 */
typedef struct {
    void  (*on_open)(void *data);
    void  (*on_message)(void *data, u_char *msg, size_t len);
    void  (*on_close)(void *data, ngx_uint_t code, u_char *reason,
                      size_t len);
    void  (*on_drain)(void *data);     /* all queued bytes are written */
} ngx_http_orbis_gemini_handlers_t;


char *ngx_http_orbis_gemini_conf_init(ngx_conf_t *cf,
    ngx_http_orbis_gemini_conf_t *conf);

/*
 * Starts a connection: resolve (resolver may be NULL for a literal
 * address), connect, TLS, upgrade.  NULL only when out of memory.
 */
ngx_http_orbis_gemini_t *ngx_http_orbis_gemini_connect(
    ngx_http_orbis_gemini_conf_t *conf, ngx_resolver_t *resolver,
    ngx_msec_t resolver_timeout, ngx_log_t *log,
    ngx_http_orbis_gemini_handlers_t *handlers, void *data);

/* queues one text frame; NGX_DECLINED when the connection is not open */
ngx_int_t ngx_http_orbis_gemini_send(ngx_http_orbis_gemini_t *g,
    u_char *text, size_t len);

/* the owner lets go: a close frame if possible, no callbacks any more */
void ngx_http_orbis_gemini_close(ngx_http_orbis_gemini_t *g);

/* bytes waiting to be written to Gemini */
size_t ngx_http_orbis_gemini_backlog(ngx_http_orbis_gemini_t *g);

/* stop or go on reading (backpressure from the browser side) */
void ngx_http_orbis_gemini_pause(ngx_http_orbis_gemini_t *g,
    ngx_uint_t pause);


#endif /* _NGX_HTTP_ORBIS_GEMINI_H_INCLUDED_ */
