
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_GLUE_H_INCLUDED_
#define _NGX_HTTP_ORBIS_GLUE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <orbiscore/ws.h>


/*
 * Gives back an ngx_connection_t that wraps a socket owned by a foreign
 * library (libpq, hiredis): events and timers go, the socket stays open
 * for its owner to close (closed: the owner has closed it already).
 */
void ngx_http_orbis_release_connection(ngx_connection_t *c,
    ngx_uint_t closed);

/*
 * Arms (on) or disarms a read or write event of such a connection, level
 * triggered, as the foreign library asks; nothing when it already is.
 */
ngx_int_t ngx_http_orbis_event_want(ngx_event_t *ev, ngx_uint_t on);

/*
 * Reads a file named in the configuration (relative to the prefix) into
 * out, refusing one larger than max.
 */
char *ngx_http_orbis_read_conf_file(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *out, size_t max);

ngx_uint_t ngx_http_orbis_queue_len(ngx_queue_t *q);
char *ngx_http_orbis_cstrdup(ngx_pool_t *pool, const char *s);

/*
 * Writes what a WebSocket endpoint has queued to c: NGX_OK when all went,
 * NGX_AGAIN when the socket is full (a write event is armed), NGX_ERROR.
 */
ngx_int_t ngx_http_orbis_ws_flush(ngx_connection_t *c, orbis_ws_t *ws);


#endif /* _NGX_HTTP_ORBIS_GLUE_H_INCLUDED_ */
