
/*
 * Copyright (C) Orbis
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_common.h"
#include "ngx_http_orbis_util.h"


static ngx_int_t ngx_http_orbis_add_security_headers(ngx_http_request_t *r);


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
ngx_http_orbis_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body)
{
    char         *text;
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    text = NULL;
    len = 0;

    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);

        if (text == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = ngx_strlen(text);
    }

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        free(text);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (len) {
        b->last = ngx_cpymem(b->last, text, len);
        *b->last++ = '\n';
    }

    free(text);

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_orbis_add_security_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == NGX_HTTP_NO_CONTENT) {
        r->header_only = 1;
        r->headers_out.content_length_n = -1;
        ngx_str_null(&r->headers_out.content_type);
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_orbis_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...)
{
    u_char    msg[512], *p;
    va_list   args;
    json_t   *body;

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    body = json_pack("{s:{s:s,s:s}}", "error", "code", code,
                     "message", (char *) msg);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "orbis: %ui %s: %s", status, code, msg);
    }

    return ngx_http_orbis_send_json(r, status, body);
}


/* ends an API request whose answer was produced after an async wait */

void
ngx_http_orbis_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);
}


json_t *
ngx_http_orbis_json_str(ngx_str_t *s)
{
    return json_stringn((const char *) s->data, s->len);
}


static ngx_int_t
ngx_http_orbis_add_security_headers(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Content-Type-Options");
    ngx_str_set(&h->value, "nosniff");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    return NGX_OK;
}
