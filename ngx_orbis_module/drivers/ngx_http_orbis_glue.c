
/*
 * Copyright (C) Orbis
 *
 * Low-level glue shared by the drivers: sockets owned by foreign
 * libraries, WebSocket output, small pool helpers, files read while the
 * configuration is parsed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_glue.h"


void
ngx_http_orbis_release_connection(ngx_connection_t *c, ngx_uint_t closed)
{
    ngx_uint_t  flags;

    /* a socket its owner already closed is gone from epoll by itself */
    flags = closed ? NGX_CLOSE_EVENT : 0;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


ngx_int_t
ngx_http_orbis_ws_flush(ngx_connection_t *c, orbis_ws_t *ws)
{
    size_t          len;
    ssize_t         n;
    const uint8_t  *p;

    for ( ;; ) {
        orbis_ws_pending_output(ws, &p, &len);

        if (len == 0) {
            return NGX_OK;
        }

        n = c->send(c, (u_char *) p, len);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }

        if (n == NGX_ERROR || n == 0) {
            return NGX_ERROR;
        }

        orbis_ws_consume_output(ws, n);
    }
}


ngx_uint_t
ngx_http_orbis_queue_len(ngx_queue_t *q)
{
    ngx_uint_t    n;
    ngx_queue_t  *e;

    n = 0;

    for (e = ngx_queue_head(q); e != ngx_queue_sentinel(q);
         e = ngx_queue_next(e))
    {
        n++;
    }

    return n;
}


char *
ngx_http_orbis_cstrdup(ngx_pool_t *pool, const char *s)
{
    char    *p;
    size_t   len;

    len = ngx_strlen(s) + 1;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len);

    return p;
}



ngx_int_t
ngx_http_orbis_event_want(ngx_event_t *ev, ngx_uint_t on)
{
    ngx_int_t  event;

    event = ev->write ? NGX_WRITE_EVENT : NGX_READ_EVENT;

    if (on && !ev->active) {
        return ngx_add_event(ev, event, NGX_LEVEL_EVENT);
    }

    if (!on && ev->active) {
        return ngx_del_event(ev, event, 0);
    }

    return NGX_OK;
}

char *
ngx_http_orbis_read_conf_file(ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *out,
    size_t max)
{
    ssize_t          n;
    ngx_str_t        path;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    path = *name;

    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = path;
    file.log = cf->log;
    file.fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || (size_t) ngx_file_size(&fi) > max)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is unreadable or larger than %uz bytes",
                           &path, max);
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    out->len = (size_t) ngx_file_size(&fi);
    out->data = ngx_pnalloc(cf->pool, out->len + 1);
    if (out->data == NULL) {
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_file(&file, out->data, out->len, 0);
    ngx_close_file(file.fd);

    if (n != (ssize_t) out->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot read \"%V\"", &path);
        return NGX_CONF_ERROR;
    }

    out->data[out->len] = '\0';

    return NGX_CONF_OK;
}
