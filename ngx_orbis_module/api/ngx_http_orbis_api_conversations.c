
/*
 * Copyright (C) Orbis
 *
 * /conversations and /conversations/{id}: finished calls, newest first,
 * always within the caller's tenant.  The JSON comes from the SQL
 * functions of sql/0003_conversations.sql.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/validate.h>

#include "ngx_http_orbis_api.h"


static ngx_int_t ngx_http_orbis_conv_instant(ngx_http_request_t *r,
    const char *name, ngx_str_t *out);
static ngx_uint_t ngx_http_orbis_conv_instant_valid(u_char *p, size_t len);
static ngx_uint_t ngx_http_orbis_conv_digits(u_char *p, ngx_uint_t n,
    ngx_uint_t min, ngx_uint_t max, ngx_uint_t *value);


ngx_int_t
ngx_http_orbis_conversations_list(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx)
{
    u_char     *dst, *src;
    ngx_int_t   rc;
    ngx_str_t   params[7], arg;

    ngx_memzero(params, sizeof(params));

    if (ngx_http_arg(r, (u_char *) "agent", 5, &arg) == NGX_OK
        && arg.len > 0)
    {
        params[1].data = ngx_pnalloc(r->pool, arg.len);
        if (params[1].data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        dst = params[1].data;
        src = arg.data;
        ngx_unescape_uri(&dst, &src, arg.len, NGX_UNESCAPE_URI);
        params[1].len = dst - params[1].data;

        if (!ngx_http_orbis_id_valid(&params[1])) {
            return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid_request",
                                             "agent: must be an agent id");
        }
    }

    rc = ngx_http_orbis_conv_instant(r, "from", &params[2]);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    rc = ngx_http_orbis_conv_instant(r, "to", &params[3]);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_orbis_api_list(r, ctx,
        "SELECT orbis_conversation_json(c)::text,"
        " (extract(epoch FROM c.started_at) * 1000000)::bigint, c.id"
        " FROM conversations c"
        " WHERE c.tenant_id = $1"
        " AND ($2::uuid IS NULL OR c.agent_id = $2::uuid)"
        " AND ($3::timestamptz IS NULL OR c.started_at >= $3::timestamptz)"
        " AND ($4::timestamptz IS NULL OR c.started_at < $4::timestamptz)"
        " AND ($5::bigint IS NULL OR (c.started_at, c.id) <"
        "      (timestamptz 'epoch' + $5::bigint * interval '1 microsecond',"
        "       $6::uuid))"
        " ORDER BY c.started_at DESC, c.id DESC LIMIT $7",
        7, params);
}


ngx_int_t
ngx_http_orbis_conversations_get(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx)
{
    return ngx_http_orbis_api_by_id(r, ctx, "conversation",
        "SELECT orbis_conversation_detail_json(c)::text"
        " FROM conversations c WHERE c.tenant_id = $1 AND c.id = $2");
}


/*
 * ?from= / ?to=: an RFC 3339 date-time, or a date meaning its start in
 * UTC.  Checked here so that a typo is a 400 that names the parameter,
 * not a database error.
 */

static ngx_int_t
ngx_http_orbis_conv_instant(ngx_http_request_t *r, const char *name,
    ngx_str_t *out)
{
    u_char     *p, *dst, *src;
    ngx_str_t   arg;

    ngx_str_null(out);

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &arg) != NGX_OK
        || arg.len == 0)
    {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, arg.len + sizeof("T00:00:00Z"));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst = p;
    src = arg.data;
    ngx_unescape_uri(&dst, &src, arg.len, NGX_UNESCAPE_URI);

    if (!ngx_http_orbis_conv_instant_valid(p, dst - p)) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "%s: use a date (2025-03-01) or "
                                         "an RFC 3339 date-time "
                                         "(2025-03-01T09:30:00Z)", name);
    }

    if (dst - p == 10) {
        dst = ngx_cpymem(dst, "T00:00:00Z", 10);
    }

    out->data = p;
    out->len = dst - p;

    return NGX_DECLINED;
}


/* YYYY-MM-DD[(T|t| )HH:MM:SS[.f{1,9}](Z|z|+HH:MM|-HH:MM)] */

static ngx_uint_t
ngx_http_orbis_conv_instant_valid(u_char *p, size_t len)
{
    u_char      *last;
    ngx_uint_t   y, m, d, v, leap;

    static ngx_uint_t  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (len < 10
        || !ngx_http_orbis_conv_digits(p, 4, 1, 9999, &y) || p[4] != '-'
        || !ngx_http_orbis_conv_digits(p + 5, 2, 1, 12, &m) || p[7] != '-'
        || !ngx_http_orbis_conv_digits(p + 8, 2, 1, 31, &d))
    {
        return 0;
    }

    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    if (d > days[m - 1] + (m == 2 && leap)) {
        return 0;
    }

    if (len == 10) {
        return 1;
    }

    last = p + len;
    p += 10;

    if (last - p < 9 || (*p != 'T' && *p != 't' && *p != ' ')
        || !ngx_http_orbis_conv_digits(p + 1, 2, 0, 23, &v) || p[3] != ':'
        || !ngx_http_orbis_conv_digits(p + 4, 2, 0, 59, &v) || p[6] != ':'
        || !ngx_http_orbis_conv_digits(p + 7, 2, 0, 60, &v))
    {
        return 0;
    }

    p += 9;

    if (p < last && *p == '.') {
        p++;
        v = 0;

        while (p < last && *p >= '0' && *p <= '9' && v < 9) {
            p++;
            v++;
        }

        if (v == 0) {
            return 0;
        }
    }

    if (last - p == 1 && (*p == 'Z' || *p == 'z')) {
        return 1;
    }

    return last - p == 6 && (*p == '+' || *p == '-')
           && ngx_http_orbis_conv_digits(p + 1, 2, 0, 23, &v) && p[3] == ':'
           && ngx_http_orbis_conv_digits(p + 4, 2, 0, 59, &v);
}


static ngx_uint_t
ngx_http_orbis_conv_digits(u_char *p, ngx_uint_t n, ngx_uint_t min,
    ngx_uint_t max, ngx_uint_t *value)
{
    ngx_uint_t  i, v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }

        v = v * 10 + (p[i] - '0');
    }

    *value = v;

    return v >= min && v <= max;
}
