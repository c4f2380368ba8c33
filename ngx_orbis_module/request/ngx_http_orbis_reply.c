
/*
 * Copyright (C) Orbis
 *
 * Writing an answer: one response writer (send_text), JSON and the one
 * error shape, security and CORS headers, and the replies made from a
 * Postgres result.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/validate.h>

#include "ngx_http_orbis_request.h"


static ngx_int_t ngx_http_orbis_add_security_headers(ngx_http_request_t *r);


ngx_int_t
ngx_http_orbis_send_text(ngx_http_request_t *r, ngx_uint_t status,
    u_char *text, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    /*
     * Every answer goes through here, the early ones too (404, 405, a
     * refused upgrade, not_ready) that come before the body is read.  An
     * unread body left on a kept-alive connection would be parsed as the
     * next request (request desync): discard it, as nginx's own special
     * responses do, or close the connection when it cannot be.  A body
     * already read or being read makes this a no-op.
     */

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

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
        orbis_free(text);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, text, len);
    p[len] = '\n';
    orbis_free(text);

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

    /* over TLS, here or at a trusted proxy in front of us */
    if (ngx_http_orbis_client_https(r)
        && ngx_http_orbis_header_out(r, "Strict-Transport-Security",
                                     NGX_HTTP_ORBIS_HSTS)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

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
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_http_orbis_header_out_str(r, key, &v);
}


ngx_int_t
ngx_http_orbis_header_out_str(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    return NGX_OK;
}


ngx_int_t
ngx_http_orbis_cors_headers(ngx_http_request_t *r, ngx_uint_t preflight)
{
    ngx_str_t                   *o;
    ngx_uint_t                   i;
    ngx_table_elt_t             *origin;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);
    origin = ngx_http_orbis_header_in(r, "Origin");

    if (origin == NULL || omcf->cors_origins == NULL) {
        return NGX_OK;
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
        return NGX_OK;
    }

    if (ngx_http_orbis_header_out_str(r, "Access-Control-Allow-Origin",
                                      &origin->value)
        != NGX_OK
        || ngx_http_orbis_header_out(r, "Access-Control-Allow-Credentials",
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


void
ngx_http_orbis_json_done(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    ngx_int_t  rc;

    if (ngx_http_orbis_pg_result(r, res, status,
                                 NGX_HTTP_ORBIS_EXPECT_ROWS
                                 | NGX_HTTP_ORBIS_EXPECT_COMMAND)
        != NGX_OK)
    {
        return;
    }

    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = (PQcmdTuples(res)[0] == '0')
             ? ngx_http_orbis_not_found(r, ctx->thing)
             : ngx_http_orbis_send_json(r, NGX_HTTP_NO_CONTENT, NULL);

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


void
ngx_http_orbis_list_done(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    char        cursor[ORBIS_CURSOR_MAX];
    u_char     *p, *body;
    size_t      len;
    int64_t     us;
    ngx_int_t   rc, n, i;

    if (ngx_http_orbis_pg_result(r, res, status, NGX_HTTP_ORBIS_EXPECT_ROWS)
        != NGX_OK)
    {
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

    orbis_free(text);

    return p;
}


ngx_int_t
ngx_http_orbis_pg_fail(ngx_http_request_t *r, ngx_uint_t status)
{
    static const char  *codes[] = {
        "database_error",
        "database_unavailable",
        "database_timeout",
        "database_busy"
    };

    return ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     codes[status < 4 ? status : 0],
                                     "%s, try again shortly",
                                     ngx_http_orbis_pg_status_text(status));
}


ngx_int_t
ngx_http_orbis_sql_fail(ngx_http_request_t *r, PGresult *res)
{
    char  *state;

    if (ngx_http_orbis_pg_unique_violation(res)) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                         "that already exists");
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "orbis: statement failed (%s): %s",
                  state ? state : "-", PQresultErrorMessage(res));

    return ngx_http_orbis_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal", "the request failed; "
                                     "it has been logged");
}


ngx_int_t
ngx_http_orbis_pg_result(ngx_http_request_t *r, PGresult *res,
    ngx_uint_t status, ngx_uint_t expect)
{
    ngx_int_t       rc;
    ExecStatusType  st;

    if (status != NGX_HTTP_ORBIS_PG_OK) {
        rc = ngx_http_orbis_pg_fail(r, status);
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    st = PQresultStatus(res);

    if ((st == PGRES_TUPLES_OK && (expect & NGX_HTTP_ORBIS_EXPECT_ROWS))
        || (st == PGRES_COMMAND_OK && (expect & NGX_HTTP_ORBIS_EXPECT_COMMAND)))
    {
        return NGX_OK;
    }

    rc = ngx_http_orbis_sql_fail(r, res);
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_uint_t
ngx_http_orbis_pg_unique_violation(PGresult *res)
{
    char  *state;

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state != NULL && ngx_strcmp(state, "23505") == 0;
}
