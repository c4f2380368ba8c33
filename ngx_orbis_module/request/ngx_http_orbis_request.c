
/*
 * Copyright (C) Orbis
 *
 * Reading a request: its body, headers, path parameters and paging, and
 * the Postgres and Redis work done on its behalf (cancelled when the
 * request ends first).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/validate.h>

#include "ngx_http_orbis_request.h"


static void ngx_http_orbis_query_done(void *data, PGresult *res,
    ngx_uint_t status);
static void ngx_http_orbis_request_redis_cleanup(void *data);
static ngx_uint_t ngx_http_orbis_from_trusted_proxy(ngx_http_request_t *r);


ngx_int_t
ngx_http_orbis_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    size_t        len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            /* client_body_buffer_size is kept >= client_max_body_size */
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        len += b->last - b->pos;
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    *p = '\0';

    return NGX_OK;
}


ngx_table_elt_t *
ngx_http_orbis_header_in(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


ngx_int_t
ngx_http_orbis_check_json_body(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx)
{
    ngx_str_t  *ct;

    if (r->headers_in.content_type == NULL) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                         "unsupported_media_type",
                                         "send the body as "
                                         "Content-Type: application/json");
    }

    ct = &r->headers_in.content_type->value;

    if (ct->len < 16
        || ngx_strncasecmp(ct->data, (u_char *) "application/json", 16) != 0
        || (ct->len > 16 && ct->data[16] != ';' && ct->data[16] != ' '))
    {
        return ngx_http_orbis_send_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                         "unsupported_media_type",
                                         "send the body as "
                                         "Content-Type: application/json");
    }

    switch (ngx_http_orbis_body(r, &ctx->body)) {

    case NGX_OK:
        break;

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return ngx_http_orbis_send_error(r,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "too_large", "the body is too "
                                         "large");

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->body.len == 0) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "body: a JSON object is required");
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_orbis_cparam(ngx_http_request_t *r, ngx_str_t *dst, const char *src)
{
    if (src == NULL) {
        ngx_str_null(dst);
        return NGX_OK;
    }

    dst->len = ngx_strlen(src);
    dst->data = ngx_pnalloc(r->pool, dst->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, dst->len + 1);

    return NGX_OK;
}


ngx_uint_t
ngx_http_orbis_id_valid(ngx_str_t *id)
{
    return orbis_uuid_valid((const char *) id->data, id->len);
}


ngx_int_t
ngx_http_orbis_page_params(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_str_t *params)
{
    u_char       *p;
    int64_t       us;
    uint32_t      limit;
    ngx_str_t     arg, cursor;
    orbis_err_t   err;
    char          id[ORBIS_UUID_LEN + 1];

    ngx_memzero(params, 3 * sizeof(ngx_str_t));

    limit = ORBIS_LIMIT_DEFAULT;

    if (ngx_http_arg(r, (u_char *) "limit", 5, &arg) == NGX_OK
        && orbis_limit_parse((const char *) arg.data, arg.len, &limit, &err)
           != ORBIS_OK)
    {
        return ngx_http_orbis_invalid(r, &err);
    }

    ctx->limit = limit;

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &arg) == NGX_OK
        && arg.len > 0)
    {
        cursor.len = arg.len;
        cursor.data = ngx_pnalloc(r->pool, arg.len + 1);
        if (cursor.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = cursor.data;
        ngx_unescape_uri(&p, &arg.data, arg.len, NGX_UNESCAPE_URI);
        cursor.len = p - cursor.data;

        if (orbis_cursor_decode((const char *) cursor.data, cursor.len, &us,
                                id, &err)
            != ORBIS_OK)
        {
            return ngx_http_orbis_invalid(r, &err);
        }

        params[0].data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (params[0].data == NULL
            || ngx_http_orbis_cparam(r, &params[1], id) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        params[0].len = ngx_sprintf(params[0].data, "%L", us)
                        - params[0].data;
    }

    params[2].data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (params[2].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[2].len = ngx_sprintf(params[2].data, "%uD", limit + 1)
                    - params[2].data;

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_orbis_api_query(ngx_http_request_t *r, const char *sql,
    ngx_uint_t nparams, ngx_str_t *params, ngx_http_orbis_done_pt done)
{
    ngx_uint_t              status;
    ngx_http_orbis_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_orbis_module);

    ctx->done = done;
    ctx->query = ngx_http_orbis_pg_query(ngx_http_orbis_worker->pg, sql,
                                         nparams, params,
                                         ngx_http_orbis_query_done, r,
                                         &status);
    if (ctx->query == NULL) {
        return ngx_http_orbis_pg_fail(r, status);
    }

    return NGX_DONE;
}


static void
ngx_http_orbis_query_done(void *data, PGresult *res, ngx_uint_t status)
{
    ngx_http_request_t    *r = data;
    ngx_http_orbis_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_orbis_module);
    ctx->query = NULL;

    ctx->done(r, ctx, res, status);
}


ngx_int_t
ngx_http_orbis_api_by_id(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    const char *thing, const char *sql)
{
    ngx_int_t  rc;
    ngx_str_t  params[2];

    rc = ngx_http_orbis_path_id(r, ctx, thing);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    params[0] = ctx->tenant_id;
    params[1] = ctx->params[0];

    return ngx_http_orbis_api_query(r, sql, 2, params,
                                    ngx_http_orbis_json_done);
}


ngx_int_t
ngx_http_orbis_api_list(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    const char *sql, ngx_uint_t nparams, ngx_str_t *params)
{
    ngx_int_t  rc;

    rc = ngx_http_orbis_page_params(r, ctx, &params[nparams - 3]);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    params[0] = ctx->tenant_id;

    return ngx_http_orbis_api_query(r, sql, nparams, params,
                                    ngx_http_orbis_list_done);
}


ngx_int_t
ngx_http_orbis_path_id(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    const char *thing)
{
    ctx->thing = thing;

    if (!ngx_http_orbis_id_valid(&ctx->params[0])) {
        return ngx_http_orbis_not_found(r, thing);
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_orbis_request_redis(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_http_orbis_redis_handler_pt handler, int argc, const char **argv,
    const size_t *lens)
{
    ngx_uint_t           status;
    ngx_pool_cleanup_t  *cln;

    if (!ctx->redis_cleanup) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_orbis_request_redis_cleanup;
        cln->data = ctx;
        ctx->redis_cleanup = 1;
    }

    ctx->redis_cmd = ngx_http_orbis_redis_command(ngx_http_orbis_worker->redis,
                                                  handler, r, argc, argv,
                                                  lens, &status);
    if (ctx->redis_cmd == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return NGX_DONE;
}


static void
ngx_http_orbis_request_redis_cleanup(void *data)
{
    ngx_http_orbis_ctx_t  *ctx = data;

    if (ctx->redis_cmd != NULL) {
        ngx_http_orbis_redis_cancel(ctx->redis_cmd);
        ctx->redis_cmd = NULL;
    }
}


/*
 * The client's scheme.  X-Forwarded-Proto is anyone's to send, so it is
 * believed only from a trusted proxy; the first value is the one the
 * client-facing proxy set.
 */

ngx_uint_t
ngx_http_orbis_client_https(ngx_http_request_t *r)
{
    u_char                      *p, *last;
    ngx_table_elt_t             *h;
    ngx_http_orbis_main_conf_t  *omcf;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        return 1;
    }
#endif

    /* every API answer asks: most servers have no proxy to believe */
    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (omcf->trusted_proxies == NULL) {
        return 0;
    }

    h = ngx_http_orbis_header_in(r, "X-Forwarded-Proto");

    if (h == NULL || !ngx_http_orbis_from_trusted_proxy(r)) {
        return 0;
    }

    p = h->value.data;
    last = p + h->value.len;

    while (p < last && *p == ' ') {
        p++;
    }

    return last - p >= 5 && ngx_strncasecmp(p, (u_char *) "https", 5) == 0
           && (last - p == 5 || p[5] == ',' || p[5] == ' ');
}


/*
 * Whether the peer that sent this request is an orbis_trusted_proxies
 * address.  With nginx's realip module in use, the connection's address
 * may already be the client's; $realip_remote_addr is the peer's.
 */

static ngx_uint_t
ngx_http_orbis_from_trusted_proxy(ngx_http_request_t *r)
{
    ngx_addr_t                    addr;
    struct sockaddr               unix_peer;
    ngx_http_variable_value_t    *v;
    ngx_http_orbis_main_conf_t   *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (omcf->trusted_proxies == NULL) {
        return 0;
    }

    addr.sockaddr = r->connection->sockaddr;
    addr.socklen = r->connection->socklen;

    if (omcf->realip_index != NGX_ERROR) {
        v = ngx_http_get_indexed_variable(r, omcf->realip_index);

        if (v == NULL || v->not_found) {
            return 0;
        }

        if (v->len != r->connection->addr_text.len
            || ngx_strncmp(v->data, r->connection->addr_text.data, v->len)
               != 0)
        {
            /* realip replaced the address: parse the peer's */
            if (v->len >= 5 && ngx_strncmp(v->data, "unix:", 5) == 0) {
                ngx_memzero(&unix_peer, sizeof(struct sockaddr));
                unix_peer.sa_family = AF_UNIX;
                addr.sockaddr = &unix_peer;

            } else if (ngx_parse_addr(r->pool, &addr, v->data, v->len)
                       != NGX_OK)
            {
                return 0;
            }
        }
    }

    return ngx_cidr_match(addr.sockaddr, omcf->trusted_proxies) == NGX_OK;
}
