
/*
 * Copyright (C) Orbis
 *
 * Who is calling: a JWT (Authorization: Bearer, or the session cookie) is
 * checked here with no I/O; a secret key (Bearer sk_...) is looked up by
 * its hash, so a revoked key stops working at once on every node.
 * Whether a JWT was logged out is asked by the rate limiter's script in
 * the same Redis round trip (ctx->revoke_key).  Mutating requests
 * authenticated by the cookie must carry an Origin (or, without one, a
 * Referer) of the API's own origin or of a configured one: CSRF defence.
 * A write's role is read from the database, not from the token, and
 * judged by liborbiscore's orbis_role_check.  X-Forwarded-Proto counts
 * only from orbis_trusted_proxies.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/auth.h>
#include <orbiscore/policy.h>

#include "ngx_http_orbis_access.h"


static ngx_int_t ngx_http_orbis_auth_jwt(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_str_t *token);
static ngx_int_t ngx_http_orbis_auth_key(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_str_t *key);
static void ngx_http_orbis_auth_key_done(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);
static void ngx_http_orbis_role_done(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);
static ngx_int_t ngx_http_orbis_role_decide(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, orbis_role_t role);
static ngx_int_t ngx_http_orbis_unauthorized(ngx_http_request_t *r,
    const char *why);
static ngx_int_t ngx_http_orbis_pstr(ngx_http_request_t *r, ngx_str_t *dst,
    const char *src, size_t len);
static ngx_int_t ngx_http_orbis_revoke_key(ngx_pool_t *pool, ngx_str_t *dst,
    const char *sub, const char *jti);


static ngx_str_t  ngx_http_orbis_cookie_name = ngx_string("orbis_session");


ngx_int_t
ngx_http_orbis_auth(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t         rc;
    ngx_str_t         token, cookie;
    ngx_table_elt_t  *h;

    if (!(ctx->route->flags & (NGX_HTTP_ORBIS_AUTH
                               | NGX_HTTP_ORBIS_AUTH_OPTIONAL)))
    {
        return NGX_DECLINED;
    }

    h = r->headers_in.authorization;

    if (h != NULL) {
        if (h->value.len < 8
            || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) != 0)
        {
            return ngx_http_orbis_unauthorized(r,
                                  "Authorization must be \"Bearer <token>\"");
        }

        token.data = h->value.data + 7;
        token.len = h->value.len - 7;

        while (token.len && token.data[0] == ' ') {
            token.data++;
            token.len--;
        }

        if (token.len > 3 && ngx_strncmp(token.data, "sk_", 3) == 0) {
            return ngx_http_orbis_auth_key(r, ctx, &token);
        }

        if (token.len > 3 && ngx_strncmp(token.data, "pk_", 3) == 0) {
            return ngx_http_orbis_unauthorized(r,
                                   "a publishable key only opens /stream; "
                                   "use a secret key or a session");
        }

        ctx->auth_kind = NGX_HTTP_ORBIS_AUTH_BEARER;

        return ngx_http_orbis_auth_jwt(r, ctx, &token);
    }

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                          &ngx_http_orbis_cookie_name,
                                          &cookie)
        != NGX_DECLINED && cookie.len > 0)
    {
        ctx->auth_kind = NGX_HTTP_ORBIS_AUTH_COOKIE;

        rc = ngx_http_orbis_auth_jwt(r, ctx, &cookie);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        return ngx_http_orbis_csrf(r);
    }

    if (ctx->route->flags & NGX_HTTP_ORBIS_AUTH_OPTIONAL) {
        return NGX_DECLINED;
    }

    return ngx_http_orbis_unauthorized(r, "authentication required");
}


/*
 * A pipeline step after the rate limit: every write must be allowed to
 * the caller's role.  A session's role is read from the database here,
 * not taken from its token, so a demotion counts at the next request
 * rather than when the token expires; a user who no longer exists gets
 * 401.  A secret key acts as its tenant's owner (only an owner mints one).
 */

ngx_int_t
ngx_http_orbis_role(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_str_t  params[2];

    if (!(ctx->route->flags & NGX_HTTP_ORBIS_AUTH)
        || (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD | NGX_HTTP_OPTIONS)))
    {
        return NGX_DECLINED;
    }

    if (ctx->auth_kind == NGX_HTTP_ORBIS_AUTH_KEY) {
        return ngx_http_orbis_role_decide(r, ctx, ORBIS_ROLE_OWNER);
    }

    if (!ngx_http_orbis_id_valid(&ctx->user_id)
        || !ngx_http_orbis_id_valid(&ctx->tenant_id))
    {
        return ngx_http_orbis_unauthorized(r, "invalid token");
    }

    params[0] = ctx->user_id;
    params[1] = ctx->tenant_id;

    return ngx_http_orbis_api_query(r,
               "SELECT role FROM users WHERE id = $1 AND tenant_id = $2",
               2, params, ngx_http_orbis_role_done);
}


static void
ngx_http_orbis_role_done(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    ngx_int_t  rc;

    if (ngx_http_orbis_pg_result(r, res, status, NGX_HTTP_ORBIS_EXPECT_ROWS)
        != NGX_OK)
    {
        return;
    }

    if (PQntuples(res) != 1) {
        ngx_http_finalize_request(r, ngx_http_orbis_unauthorized(r,
                                       "this account no longer exists"));
        return;
    }

    if (ngx_http_orbis_pstr(r, &ctx->role, PQgetvalue(res, 0, 0),
                            PQgetlength(res, 0, 0)) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_orbis_role_decide(r, ctx,
                                    orbis_role_parse((char *) ctx->role.data,
                                                     ctx->role.len));

    if (rc == NGX_DECLINED) {
        ngx_http_orbis_continue(r, ctx);
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_orbis_role_decide(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    orbis_role_t role)
{
    ngx_uint_t      flags;
    orbis_err_t     err;
    orbis_action_t  action;

    flags = ctx->route->flags;

    if (flags & NGX_HTTP_ORBIS_WRITES_AGENTS) {
        action = ORBIS_ACTION_AGENTS_WRITE;

    } else if (flags & NGX_HTTP_ORBIS_WRITES_KEYS) {
        action = ORBIS_ACTION_KEYS_WRITE;

    } else if (flags & NGX_HTTP_ORBIS_WRITES_TENANT) {
        action = ORBIS_ACTION_TENANT_WRITE;

    } else {
        action = ORBIS_ACTION_OTHER_WRITE;
    }

    if (orbis_role_check(role, action, &err) == ORBIS_OK) {
        return NGX_DECLINED;
    }

    return ngx_http_orbis_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
                                     "%s", err.msg);
}


static ngx_int_t
ngx_http_orbis_auth_jwt(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_str_t *token)
{
    orbis_err_t                  err;
    orbis_jwt_claims_t           claims;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (orbis_jwt_verify((const char *) token->data, token->len,
                         omcf->jwt_secret.data, omcf->jwt_secret.len,
                         (int64_t) ngx_time(), &claims, &err)
        != ORBIS_OK)
    {
        if (ctx->route->flags & NGX_HTTP_ORBIS_AUTH_OPTIONAL) {
            ctx->auth_kind = NGX_HTTP_ORBIS_AUTH_NONE;
            return NGX_DECLINED;
        }

        return ngx_http_orbis_unauthorized(r, err.code == ORBIS_ERR_EXPIRED
                                              ? "session expired"
                                              : "invalid token");
    }

    /* a token logout could not revoke is not accepted at all */
    if (claims.jti[0] == '\0') {
        if (ctx->route->flags & NGX_HTTP_ORBIS_AUTH_OPTIONAL) {
            ctx->auth_kind = NGX_HTTP_ORBIS_AUTH_NONE;
            return NGX_DECLINED;
        }

        return ngx_http_orbis_unauthorized(r, "invalid token: it has no id "
                                              "(jti); sign in again");
    }

    if (ngx_http_orbis_revoke_key(r->pool, &ctx->revoke_key, claims.sub,
                                  claims.jti)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_orbis_pstr(r, &ctx->user_id, claims.sub,
                            ngx_strlen(claims.sub)) != NGX_OK
        || ngx_http_orbis_pstr(r, &ctx->tenant_id, claims.tid,
                               ngx_strlen(claims.tid)) != NGX_OK
        || ngx_http_orbis_pstr(r, &ctx->role, claims.role,
                               ngx_strlen(claims.role)) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the bucket is the rate limiter's choice (orbis_api_bucket) */

    return NGX_DECLINED;
}


void
ngx_http_orbis_session_tokens(ngx_http_request_t *r, ngx_str_t *bearer,
    ngx_str_t *cookie)
{
    ngx_table_elt_t  *h;

    ngx_str_null(bearer);
    ngx_str_null(cookie);

    h = r->headers_in.authorization;

    if (h != NULL && h->value.len > 7
        && ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) == 0)
    {
        bearer->data = h->value.data + 7;
        bearer->len = h->value.len - 7;

        while (bearer->len && bearer->data[0] == ' ') {
            bearer->data++;
            bearer->len--;
        }

        if (bearer->len > 3
            && (ngx_strncmp(bearer->data, "sk_", 3) == 0
                || ngx_strncmp(bearer->data, "pk_", 3) == 0))
        {
            ngx_str_null(bearer);
        }
    }

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                          &ngx_http_orbis_cookie_name,
                                          cookie)
        == NGX_DECLINED)
    {
        ngx_str_null(cookie);
    }
}


ngx_int_t
ngx_http_orbis_revocation(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *key, int64_t *ttl)
{
    orbis_jwt_claims_t           claims;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    /* expired, forged or without an id: refused everywhere already */

    if (token->len == 0
        || orbis_jwt_verify((const char *) token->data, token->len,
                            omcf->jwt_secret.data, omcf->jwt_secret.len,
                            (int64_t) ngx_time(), &claims, NULL)
           != ORBIS_OK
        || claims.jti[0] == '\0')
    {
        return NGX_DECLINED;
    }

    *ttl = orbis_jwt_revocation_ttl(&claims, (int64_t) ngx_time());

    if (*ttl == 0) {
        return NGX_DECLINED;
    }

    return ngx_http_orbis_revoke_key(r->pool, key, claims.sub, claims.jti);
}


static ngx_int_t
ngx_http_orbis_auth_key(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_str_t *key)
{
    char                 hash[ORBIS_APIKEY_HASH_LEN + 1];
    ngx_str_t            param;
    orbis_apikey_kind_t  kind;

    if (orbis_apikey_parse((const char *) key->data, key->len, &kind, NULL)
        != ORBIS_OK
        || kind != ORBIS_KEY_SECRET)
    {
        return ngx_http_orbis_unauthorized(r, "invalid API key");
    }

    (void) orbis_apikey_hash((const char *) key->data, key->len, hash);

    param.data = (u_char *) hash;
    param.len = ORBIS_APIKEY_HASH_LEN;

    ctx->auth_kind = NGX_HTTP_ORBIS_AUTH_KEY;

    return ngx_http_orbis_api_query(r,
               "SELECT k.id, k.tenant_id, p.rate_limit_per_minute"
               " FROM api_keys k"
               " JOIN tenants t ON t.id = k.tenant_id"
               " JOIN plans p ON p.id = t.plan"
               " WHERE k.key_hash = $1 AND k.kind = 'secret'"
               " AND k.revoked_at IS NULL",
               1, &param, ngx_http_orbis_auth_key_done);
}


static void
ngx_http_orbis_auth_key_done(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    ngx_int_t   n;

    if (ngx_http_orbis_pg_result(r, res, status, NGX_HTTP_ORBIS_EXPECT_ROWS)
        != NGX_OK)
    {
        return;
    }

    if (PQntuples(res) != 1) {
        ngx_http_finalize_request(r, ngx_http_orbis_unauthorized(r,
                                            "invalid or revoked API key"));
        return;
    }

    if (ngx_http_orbis_pstr(r, &ctx->key_id, PQgetvalue(res, 0, 0),
                            PQgetlength(res, 0, 0)) != NGX_OK
        || ngx_http_orbis_pstr(r, &ctx->tenant_id, PQgetvalue(res, 0, 1),
                               PQgetlength(res, 0, 1)) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_str_set(&ctx->role, "key");

    /* the plan's rate; the rate limiter picks the bucket and a default */
    n = ngx_atoi((u_char *) PQgetvalue(res, 0, 2), PQgetlength(res, 0, 2));
    ctx->rate_limit = n > 0 ? (ngx_uint_t) n : 0;

    ngx_http_orbis_continue(r, ctx);
}


/*
 * A cookie rides along on cross-site requests; an Origin of our own, or
 * of a configured dashboard origin, shows the page was ours.  Without an
 * Origin the Referer's scheme://host[:port] stands in for it.  An Origin
 * of "null" (a sandboxed frame, a data: URL, a redirect across sites) is
 * no origin of ours, whatever the Referer says.
 */

ngx_int_t
ngx_http_orbis_csrf(ngx_http_request_t *r)
{
    u_char                      *p, *last;
    ngx_str_t                    origin, self;
    ngx_uint_t                   i;
    ngx_table_elt_t             *h;
    ngx_http_orbis_main_conf_t  *omcf;

    if (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD | NGX_HTTP_OPTIONS)) {
        return NGX_DECLINED;
    }

    h = ngx_http_orbis_header_in(r, "Origin");

    if (h != NULL && h->value.len > 0) {
        origin = h->value;

        if (origin.len == 4 && ngx_strncmp(origin.data, "null", 4) == 0) {
            goto refused;
        }

    } else if (r->headers_in.referer != NULL) {
        /* scheme://host[:port] of the Referer */
        origin = r->headers_in.referer->value;
        p = ngx_strlcasestrn(origin.data, origin.data + origin.len,
                             (u_char *) "://", 3 - 1);
        if (p == NULL) {
            goto refused;
        }

        last = ngx_strlchr(p + 3, origin.data + origin.len, '/');
        if (last != NULL) {
            origin.len = last - origin.data;
        }

    } else {
        goto refused;
    }

    if (r->headers_in.host != NULL) {
        p = ngx_pnalloc(r->pool, sizeof("https://") + r->headers_in.host
                                                         ->value.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        self.data = p;
        self.len = ngx_sprintf(p, "%s://%V",
                               ngx_http_orbis_client_https(r)
                               ? "https" : "http",
                               &r->headers_in.host->value) - p;

        if (self.len == origin.len
            && ngx_strncasecmp(self.data, origin.data, origin.len) == 0)
        {
            return NGX_DECLINED;
        }
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (omcf->cors_origins != NULL) {
        for (i = 0; i < omcf->cors_origins->nelts; i++) {
            self = ((ngx_str_t *) omcf->cors_origins->elts)[i];

            if (self.len == origin.len
                && ngx_strncasecmp(self.data, origin.data, origin.len) == 0)
            {
                return NGX_DECLINED;
            }
        }
    }

refused:

    return ngx_http_orbis_send_error(r, NGX_HTTP_FORBIDDEN, "csrf_refused",
                                     "a request authenticated by the "
                                     "session cookie must come from the "
                                     "dashboard's own origin");
}


static ngx_int_t
ngx_http_orbis_unauthorized(ngx_http_request_t *r, const char *why)
{
    if (ngx_http_orbis_header_out(r, "WWW-Authenticate",
                                  "Bearer realm=\"orbis\"")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_orbis_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "unauthorized", "%s", why);
}


/* "revoked:{<user>}:<jti>": the user's hash tag, as in rl:user:{<user>} */

static ngx_int_t
ngx_http_orbis_revoke_key(ngx_pool_t *pool, ngx_str_t *dst, const char *sub,
    const char *jti)
{
    u_char  *p;

    p = ngx_pnalloc(pool, sizeof("revoked:{}:") - 1 + ngx_strlen(sub)
                          + ngx_strlen(jti));
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst->data = p;
    dst->len = ngx_sprintf(p, "revoked:{%s}:%s", sub, jti) - p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_orbis_pstr(ngx_http_request_t *r, ngx_str_t *dst, const char *src,
    size_t len)
{
    dst->data = ngx_pnalloc(r->pool, len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->data[len] = '\0';
    dst->len = len;

    return NGX_OK;
}
