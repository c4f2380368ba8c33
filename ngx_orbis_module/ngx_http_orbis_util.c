
/*
 * Copyright (C) Orbis
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <orbiscore/auth.h>
#include <orbiscore/validate.h>

#include "ngx_http_orbis_common.h"
#include "ngx_http_orbis_util.h"


static ngx_int_t ngx_http_orbis_add_security_headers(ngx_http_request_t *r);
static void ngx_http_orbis_pw_thread(void *data, ngx_log_t *log);
static void ngx_http_orbis_pw_event(ngx_event_t *ev);


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


/* sends body (a reference it takes over; NULL for no body) as JSON */

ngx_int_t
ngx_http_orbis_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body)
{
    char    *text;
    u_char  *p;
    size_t   len;

    if (body == NULL) {
        return ngx_http_orbis_send_text(r, status, NULL, 0);
    }

    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(text);

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        free(text);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, text, len);
    p[len] = '\n';
    free(text);

    return ngx_http_orbis_send_text(r, status, p, len + 1);
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
    if (ngx_http_orbis_header_out(r, "X-Content-Type-Options", "nosniff")
           != NGX_OK
        || ngx_http_orbis_header_out(r, "Referrer-Policy",
                                     "strict-origin-when-cross-origin")
           != NGX_OK
        || ngx_http_orbis_header_out(r, "Cache-Control", "no-store")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl
        && ngx_http_orbis_header_out(r, "Strict-Transport-Security",
                                     NGX_HTTP_ORBIS_HSTS)
           != NGX_OK)
    {
        return NGX_ERROR;
    }
#endif

    if (r->method == NGX_HTTP_OPTIONS) {
        /* the preflight added its own */
        return NGX_OK;
    }

    return ngx_http_orbis_cors_headers(r, 0);
}


ngx_int_t
ngx_http_orbis_header_out(ngx_http_request_t *r, const char *key,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


/*
 * CORS for the origins of orbis_cors_origins: the answer names the
 * caller's origin (never "*" with credentials) and varies on it.
 * Returns NGX_DECLINED when the origin is not one of them.
 */

ngx_int_t
ngx_http_orbis_cors_headers(ngx_http_request_t *r, ngx_uint_t preflight)
{
    ngx_str_t                   *o;
    ngx_uint_t                   i;
    ngx_table_elt_t             *origin, *h;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);
    origin = ngx_http_orbis_header_in(r, "Origin");

    if (origin == NULL || omcf->cors_origins == NULL) {
        return preflight ? NGX_DECLINED : NGX_OK;
    }

    o = omcf->cors_origins->elts;

    for (i = 0; i < omcf->cors_origins->nelts; i++) {
        if ((o[i].len == 1 && o[i].data[0] == '*')
            || (o[i].len == origin->value.len
                && ngx_strncasecmp(o[i].data, origin->value.data,
                                   o[i].len) == 0))
        {
            break;
        }
    }

    if (i == omcf->cors_origins->nelts) {
        return preflight ? NGX_DECLINED : NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Access-Control-Allow-Origin");
    h->value = origin->value;

    if (ngx_http_orbis_header_out(r, "Access-Control-Allow-Credentials",
                                  "true") != NGX_OK
        || ngx_http_orbis_header_out(r, "Vary", "Origin") != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!preflight) {
        return ngx_http_orbis_header_out(r, "Access-Control-Expose-Headers",
                                         "RateLimit-Limit, "
                                         "RateLimit-Remaining, "
                                         "RateLimit-Reset, Retry-After");
    }

    if (ngx_http_orbis_header_out(r, "Access-Control-Allow-Methods",
                                  "GET, POST, PUT, DELETE") != NGX_OK
        || ngx_http_orbis_header_out(r, "Access-Control-Allow-Headers",
                                     "Authorization, Content-Type")
           != NGX_OK
        || ngx_http_orbis_header_out(r, "Access-Control-Max-Age", "600")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_orbis_send_text(ngx_http_request_t *r, ngx_uint_t status,
    u_char *text, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
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

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = text;
    b->last = text + len;
    b->memory = len ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * The usual end of a statement: its first column is the JSON answer.  No
 * row, or no row changed, is a 404 for ctx->thing.
 */

void
ngx_http_orbis_json_done(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    ngx_int_t  rc;

    if (status != NGX_HTTP_ORBIS_PG_OK) {
        rc = ngx_http_orbis_pg_fail(r, status);

    } else if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = (PQcmdTuples(res)[0] == '0')
             ? ngx_http_orbis_not_found(r, ctx->thing)
             : ngx_http_orbis_send_json(r, NGX_HTTP_NO_CONTENT, NULL);

    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = ngx_http_orbis_sql_fail(r, res);

    } else if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        rc = ngx_http_orbis_not_found(r, ctx->thing);

    } else if (ctx->ok_status == NGX_HTTP_NO_CONTENT) {
        rc = ngx_http_orbis_send_json(r, NGX_HTTP_NO_CONTENT, NULL);

    } else {
        rc = ngx_http_orbis_send_text(r, ctx->ok_status ? ctx->ok_status
                                                        : NGX_HTTP_OK,
                                      (u_char *) PQgetvalue(res, 0, 0),
                                      PQgetlength(res, 0, 0));
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * A page of a keyset-paginated list: rows of (json, created_us, id), one
 * more than ctx->limit when there is a next page.
 */

void
ngx_http_orbis_list_done(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    char        cursor[ORBIS_CURSOR_MAX];
    u_char     *p, *body;
    size_t      len;
    int64_t     us;
    ngx_int_t   rc, n, i;

    if (status != NGX_HTTP_ORBIS_PG_OK) {
        ngx_http_finalize_request(r, ngx_http_orbis_pg_fail(r, status));
        return;
    }

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_http_finalize_request(r, ngx_http_orbis_sql_fail(r, res));
        return;
    }

    n = PQntuples(res);
    cursor[0] = '\0';

    if ((ngx_uint_t) n > ctx->limit) {
        n = ctx->limit;
        us = (int64_t) ngx_atoof((u_char *) PQgetvalue(res, n - 1, 1),
                       PQgetlength(res, n - 1, 1));
        if (orbis_cursor_encode(us, PQgetvalue(res, n - 1, 2), cursor,
                                sizeof(cursor))
            != ORBIS_OK)
        {
            cursor[0] = '\0';
        }
    }

    len = sizeof("{\"items\":[],\"nextCursor\":null}") + ORBIS_CURSOR_MAX;

    for (i = 0; i < n; i++) {
        len += PQgetlength(res, i, 0) + 1;
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(body, "{\"items\":[", 10);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, PQgetvalue(res, i, 0), PQgetlength(res, i, 0));
    }

    if (cursor[0]) {
        p = ngx_sprintf(p, "],\"nextCursor\":\"%s\"}", cursor);

    } else {
        p = ngx_cpymem(p, "],\"nextCursor\":null}", 20);
    }

    rc = ngx_http_orbis_send_text(r, NGX_HTTP_OK, body, p - body);
    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_orbis_pw_thread(void *data, ngx_log_t *log)
{
    ngx_http_orbis_pw_task_t  *t = data;

    if (t->stored != NULL) {
        t->rc = orbis_password_verify(t->password, t->len, t->stored, NULL);

    } else {
        t->rc = orbis_password_hash(t->password, t->len, t->salt, t->hash,
                                    sizeof(t->hash), NULL);
    }

    OPENSSL_cleanse(t->password, t->len);
}


static void
ngx_http_orbis_pw_event(ngx_event_t *ev)
{
    ngx_http_request_t        *r;
    ngx_http_orbis_ctx_t      *ctx;
    ngx_http_orbis_pw_task_t  *t;

    t = ev->data;
    r = t->request;

    r->main->blocked--;

    ctx = ngx_http_get_module_ctx(r, ngx_http_orbis_module);

    t->done(r, ctx, t);
}


/* scrypt takes tens of milliseconds of CPU: never on the event loop */

ngx_int_t
ngx_http_orbis_password_task(ngx_http_request_t *r,
    ngx_http_orbis_pw_task_t *t)
{
    ngx_thread_task_t           *task;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (t->stored == NULL && RAND_bytes(t->salt, sizeof(t->salt)) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    task = ngx_thread_task_alloc(r->pool, 0);
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t->request = r;

    task->ctx = t;
    task->handler = ngx_http_orbis_pw_thread;
    task->event.handler = ngx_http_orbis_pw_event;
    task->event.data = t;

    if (ngx_thread_task_post(omcf->thread_pool, task) != NGX_OK) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "busy", "the server is busy, "
                                         "try again shortly");
    }

    /* the request must outlive the thread's use of its memory */
    r->main->blocked++;

    return NGX_DONE;
}


ngx_int_t
ngx_http_orbis_invalid(ngx_http_request_t *r, orbis_err_t *err)
{
    return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", "%s", err->msg);
}


ngx_int_t
ngx_http_orbis_not_found(ngx_http_request_t *r, const char *thing)
{
    return ngx_http_orbis_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "no such %s", thing ? thing : "thing");
}


/* a write endpoint takes application/json, and nothing else */

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

    case NGX_DECLINED:
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


/* ["a","b"] from C strings, for a json parameter */

u_char *
ngx_http_orbis_json_array(ngx_pool_t *pool, char **items, size_t n,
    size_t *len)
{
    char    *text;
    u_char  *p;
    size_t   i;
    json_t  *a;

    a = json_array();
    if (a == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        if (json_array_append_new(a, json_string(items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }

    text = json_dumps(a, JSON_COMPACT);
    json_decref(a);

    if (text == NULL) {
        return NULL;
    }

    *len = ngx_strlen(text);

    p = ngx_pnalloc(pool, *len + 1);
    if (p != NULL) {
        ngx_memcpy(p, text, *len + 1);
    }

    free(text);

    return p;
}


/* a C string as a statement parameter; NULL is SQL NULL */

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


/*
 * ?limit= and ?cursor= as three parameters: the cursor's created_us and id
 * (NULL on the first page) and limit + 1, to learn whether a page follows.
 */

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
