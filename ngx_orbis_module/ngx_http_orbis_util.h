
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_UTIL_H_INCLUDED_
#define _NGX_HTTP_ORBIS_UTIL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/*
 * Gives back an ngx_connection_t that wraps a socket owned by a foreign
 * library (libpq, hiredis): events and timers go, the socket stays open
 * for its owner to close (closed: the owner has closed it already).
 */
void ngx_http_orbis_release_connection(ngx_connection_t *c,
    ngx_uint_t closed);

ngx_uint_t ngx_http_orbis_queue_len(ngx_queue_t *q);
char *ngx_http_orbis_cstrdup(ngx_pool_t *pool, const char *s);


#endif /* _NGX_HTTP_ORBIS_UTIL_H_INCLUDED_ */
