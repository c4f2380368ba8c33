
/*
 * Copyright (C) Orbis
 *
 * Signup, login, logout and me.  Passwords are hashed and checked on the
 * thread pool; a login for an unknown e-mail checks a dummy hash all the
 * same, so the answer takes as long and says the same either way.  Every
 * token gets a random id (jti); logout stores "revoked:{user}:jti" in
 * Redis until the token would have expired, which every node sees.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include <orbiscore/auth.h>
#include <orbiscore/validate.h>

#include "ngx_http_orbis_api.h"


typedef struct {
    ngx_str_t                   params[6];
    ngx_http_orbis_pw_task_t    pw;
    ngx_str_t                   user_json;   /* {"user":..,"tenant":..} */
    char                        sub[64];
    char                        tid[64];
    char                        role[16];
} ngx_http_orbis_account_t;


/* the tokens a logout revokes: the Bearer one and the cookie's */
typedef struct {
    ngx_str_t                   keys[2];
    int64_t                     ttls[2];
    ngx_uint_t                  n;
    ngx_uint_t                  next;
} ngx_http_orbis_logout_t;


static void ngx_http_orbis_signup_hashed(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_http_orbis_pw_task_t *t);
static void ngx_http_orbis_signup_done(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);
static void ngx_http_orbis_login_found(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);
static void ngx_http_orbis_login_checked(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_http_orbis_pw_task_t *t);
static ngx_int_t ngx_http_orbis_logout_add(ngx_http_request_t *r,
    ngx_http_orbis_logout_t *lo, ngx_str_t *token);
static ngx_int_t ngx_http_orbis_logout_next(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
static void ngx_http_orbis_logout_stored(void *data, redisReply *reply,
    ngx_uint_t status);
static ngx_int_t ngx_http_orbis_logout_failed(ngx_http_request_t *r);
static ngx_int_t ngx_http_orbis_session_answer(ngx_http_request_t *r,
    ngx_http_orbis_account_t *acc, ngx_uint_t status);
static ngx_int_t ngx_http_orbis_set_cookie(ngx_http_request_t *r,
    const char *token, time_t max_age);
static ngx_int_t ngx_http_orbis_keep_row(ngx_http_request_t *r,
    ngx_http_orbis_account_t *acc, PGresult *res);


/* the user and tenant of a row, as the answer's body */
#define NGX_HTTP_ORBIS_SESSION_COLUMNS                                       \
    "u.id, u.tenant_id, u.role,"                                             \
    " json_build_object('user', orbis_user_json(u),"                         \
    " 'tenant', orbis_tenant_json(t))::text"


ngx_int_t
ngx_http_orbis_signup(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    u_char                    *code;
    uint8_t                    rnd[9];
    ngx_int_t                  rc;
    orbis_err_t                err;
    orbis_req_signup_t         req;
    ngx_http_orbis_account_t  *acc;

    rc = ngx_http_orbis_check_json_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (orbis_req_signup_parse((const char *) ctx->body.data, ctx->body.len,
                               &req, &err)
        != ORBIS_OK)
    {
        return ngx_http_orbis_invalid(r, &err);
    }

    acc = ngx_pcalloc(r->pool, sizeof(ngx_http_orbis_account_t));
    code = ngx_pnalloc(r->pool, 13);

    if (acc == NULL || code == NULL
        || RAND_bytes(rnd, sizeof(rnd)) != 1
        || orbis_base64url_encode(rnd, sizeof(rnd), (char *) code, 13, NULL)
           != ORBIS_OK
        || ngx_http_orbis_cparam(r, &acc->params[0], req.tenant_name) != NGX_OK
        || ngx_http_orbis_cparam(r, &acc->params[1], req.email) != NGX_OK
        || ngx_http_orbis_cparam(r, &acc->params[2], req.name ? req.name : "")
           != NGX_OK
        || ngx_http_orbis_cparam(r, &acc->params[4], req.referral_code)
           != NGX_OK
        || ngx_http_orbis_cparam(r, &acc->params[5], (char *) code) != NGX_OK)
    {
        orbis_req_signup_free(&req);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_orbis_password_copy(r, &acc->pw, req.password) != NGX_OK) {
        orbis_req_signup_free(&req);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    orbis_req_signup_free(&req);

    ctx->data = acc;
    acc->pw.done = ngx_http_orbis_signup_hashed;

    return ngx_http_orbis_password_task(r, &acc->pw);
}


static void
ngx_http_orbis_signup_hashed(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_http_orbis_pw_task_t *t)
{
    ngx_int_t                  rc;
    ngx_http_orbis_account_t  *acc;

    acc = ctx->data;

    if (t->rc != ORBIS_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    acc->params[3].data = (u_char *) t->hash;
    acc->params[3].len = ngx_strlen(t->hash);

    /*
     * one statement: the tenant and its owner exist together or not; with
     * a referral code no tenant has, nothing is inserted and no row comes
     * back
     */

    rc = ngx_http_orbis_api_query(r,
        "WITH ref AS (SELECT id FROM tenants WHERE referral_code = $5),"
        " t AS ("
        "  INSERT INTO tenants (name, billing_email, referral_code,"
        "                       referred_by)"
        "  SELECT $1, $2, $6, (SELECT id FROM ref)"
        "  WHERE $5::text IS NULL OR EXISTS (SELECT 1 FROM ref)"
        "  RETURNING *),"
        " u AS ("
        "  INSERT INTO users (tenant_id, email, name, password_hash, role)"
        "  SELECT t.id, $2, $3, $4, 'owner' FROM t RETURNING *)"
        " SELECT " NGX_HTTP_ORBIS_SESSION_COLUMNS " FROM u, t",
        6, acc->params, ngx_http_orbis_signup_done);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static void
ngx_http_orbis_signup_done(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    ngx_int_t                  rc;
    ngx_http_orbis_account_t  *acc;

    acc = ctx->data;

    if (status == NGX_HTTP_ORBIS_PG_OK
        && ngx_http_orbis_pg_unique_violation(res))
    {
        rc = ngx_http_orbis_send_error(r, NGX_HTTP_CONFLICT, "email_taken",
                                       "an account with that email "
                                       "already exists");
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_http_orbis_pg_result(r, res, status, NGX_HTTP_ORBIS_EXPECT_ROWS)
        != NGX_OK)
    {
        return;
    }

    if (PQntuples(res) != 1) {
        rc = ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                       "unknown_referral_code",
                                       "referralCode: no account has this "
                                       "referral code; check it or leave it "
                                       "out");
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_http_orbis_keep_row(r, acc, res) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_orbis_session_answer(r, acc,
                                                        NGX_HTTP_CREATED));
}


ngx_int_t
ngx_http_orbis_login(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t                  rc;
    orbis_err_t                err;
    orbis_req_login_t          req;
    ngx_http_orbis_account_t  *acc;

    rc = ngx_http_orbis_check_json_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (orbis_req_login_parse((const char *) ctx->body.data, ctx->body.len,
                              &req, &err)
        != ORBIS_OK)
    {
        return ngx_http_orbis_invalid(r, &err);
    }

    acc = ngx_pcalloc(r->pool, sizeof(ngx_http_orbis_account_t));
    if (acc == NULL) {
        orbis_req_login_free(&req);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_orbis_password_copy(r, &acc->pw, req.password) != NGX_OK
        || ngx_http_orbis_cparam(r, &acc->params[0], req.email) != NGX_OK)
    {
        orbis_req_login_free(&req);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    orbis_req_login_free(&req);

    ctx->data = acc;

    return ngx_http_orbis_api_query(r,
        "SELECT " NGX_HTTP_ORBIS_SESSION_COLUMNS ", u.password_hash"
        " FROM users u JOIN tenants t ON t.id = u.tenant_id"
        " WHERE u.email = $1",
        1, acc->params, ngx_http_orbis_login_found);
}


static void
ngx_http_orbis_login_found(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    ngx_int_t                  rc;
    ngx_http_orbis_account_t  *acc;

    acc = ctx->data;

    if (ngx_http_orbis_pg_result(r, res, status, NGX_HTTP_ORBIS_EXPECT_ROWS)
        != NGX_OK)
    {
        return;
    }

    if (PQntuples(res) == 1) {
        if (ngx_http_orbis_keep_row(r, acc, res) != NGX_OK
            || ngx_http_orbis_cparam(r, &acc->params[1], PQgetvalue(res, 0, 4))
               != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        acc->pw.stored = (const char *) acc->params[1].data;

    } else {
        acc->pw.stored = orbis_password_dummy_hash();
        acc->user_json.len = 0;
    }

    acc->pw.done = ngx_http_orbis_login_checked;

    rc = ngx_http_orbis_password_task(r, &acc->pw);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static void
ngx_http_orbis_login_checked(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_http_orbis_pw_task_t *t)
{
    ngx_int_t                  rc;
    ngx_http_orbis_account_t  *acc;

    acc = ctx->data;

    if (t->rc != ORBIS_OK || acc->user_json.len == 0) {
        rc = ngx_http_orbis_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                       "invalid_credentials",
                                       "wrong email or password");
        ngx_http_finalize_request(r, rc);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_orbis_session_answer(r, acc,
                                                              NGX_HTTP_OK));
}


/*
 * A logout carried by the session cookie alone is a write like any other:
 * from another site's page it is refused (csrf_refused) and nothing is
 * revoked or cleared.  Otherwise the cookie is cleared whatever happens.
 * A token no node would accept (absent, expired, forged) needs no
 * revoking: 204 as before.  A live one is revoked in Redis first; if that
 * cannot be done the answer is 503, so that the client knows its token
 * still works.
 */

ngx_int_t
ngx_http_orbis_logout(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_str_t                 bearer, cookie;
    ngx_http_orbis_logout_t  *lo;

    ngx_http_orbis_session_tokens(r, &bearer, &cookie);

    /* another site can send our cookie, but no Authorization header */

    if (cookie.len > 0 && r->headers_in.authorization == NULL) {
        rc = ngx_http_orbis_csrf(r);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (ngx_http_orbis_set_cookie(r, "", 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lo = ngx_pcalloc(r->pool, sizeof(ngx_http_orbis_logout_t));
    if (lo == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_orbis_logout_add(r, lo, &bearer) != NGX_OK
        || ngx_http_orbis_logout_add(r, lo, &cookie) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lo->n == 0) {
        return ngx_http_orbis_send_json(r, NGX_HTTP_NO_CONTENT, NULL);
    }

    ctx->data = lo;

    return ngx_http_orbis_logout_next(r, ctx);
}


static ngx_int_t
ngx_http_orbis_logout_add(ngx_http_request_t *r, ngx_http_orbis_logout_t *lo,
    ngx_str_t *token)
{
    ngx_int_t   rc;
    ngx_str_t  *key;

    key = &lo->keys[lo->n];

    rc = ngx_http_orbis_revocation(r, token, key, &lo->ttls[lo->n]);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    /* the same token as Bearer and as cookie is revoked once */

    if (lo->n == 1 && key->len == lo->keys[0].len
        && ngx_strncmp(key->data, lo->keys[0].data, key->len) == 0)
    {
        return NGX_OK;
    }

    lo->n++;

    return NGX_OK;
}


static ngx_int_t
ngx_http_orbis_logout_next(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    u_char                   *ttl;
    size_t                    lens[5];
    ngx_int_t                 rc;
    const char               *argv[5];
    ngx_http_orbis_logout_t  *lo;

    lo = ctx->data;

    ttl = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (ttl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = (const char *) lo->keys[lo->next].data;
    lens[1] = lo->keys[lo->next].len;
    argv[2] = "1";
    lens[2] = 1;
    argv[3] = "EX";
    lens[3] = 2;
    argv[4] = (const char *) ttl;
    lens[4] = ngx_sprintf(ttl, "%L", lo->ttls[lo->next]) - ttl;

    rc = ngx_http_orbis_request_redis(r, ctx, ngx_http_orbis_logout_stored,
                                      5, argv, lens);

    if (rc == NGX_HTTP_SERVICE_UNAVAILABLE) {
        return ngx_http_orbis_logout_failed(r);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_http_orbis_logout_stored(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_request_t  *r = data;

    ngx_int_t                 rc;
    ngx_http_orbis_ctx_t     *ctx;
    ngx_http_orbis_logout_t  *lo;

    ctx = ngx_http_get_module_ctx(r, ngx_http_orbis_module);
    ctx->redis_cmd = NULL;
    lo = ctx->data;

    if (status != NGX_HTTP_ORBIS_REDIS_OK
        || reply->type == REDIS_REPLY_ERROR)
    {
        if (status == NGX_HTTP_ORBIS_REDIS_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "orbis logout: redis refused SET: %s",
                          reply->str);
        }

        ngx_http_finalize_request(r, ngx_http_orbis_logout_failed(r));
        return;
    }

    if (++lo->next < lo->n) {
        rc = ngx_http_orbis_logout_next(r, ctx);

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    ngx_http_finalize_request(r, ngx_http_orbis_send_json(r,
                                                  NGX_HTTP_NO_CONTENT, NULL));
}


static ngx_int_t
ngx_http_orbis_logout_failed(ngx_http_request_t *r)
{
    return ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "revocation_unavailable",
                                     "the session store cannot be reached, "
                                     "so the token could not be revoked "
                                     "and still works until it expires; "
                                     "try again shortly");
}


ngx_int_t
ngx_http_orbis_me(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_str_t  params[2];

    params[0] = ctx->tenant_id;
    params[1] = ctx->user_id;
    ctx->thing = "user";

    if (ctx->auth_kind == NGX_HTTP_ORBIS_AUTH_KEY) {
        return ngx_http_orbis_api_query(r,
            "SELECT json_build_object('user', NULL,"
            " 'tenant', orbis_tenant_json(t))::text"
            " FROM tenants t WHERE t.id = $1",
            1, params, ngx_http_orbis_json_done);
    }

    return ngx_http_orbis_api_query(r,
        "SELECT json_build_object('user', orbis_user_json(u),"
        " 'tenant', orbis_tenant_json(t))::text"
        " FROM users u JOIN tenants t ON t.id = u.tenant_id"
        " WHERE t.id = $1 AND u.id = $2",
        2, params, ngx_http_orbis_json_done);
}


/* {"token":..,"user":..,"tenant":..} and the cookie that carries it */

static ngx_int_t
ngx_http_orbis_session_answer(ngx_http_request_t *r,
    ngx_http_orbis_account_t *acc, ngx_uint_t status)
{
    char                         token[ORBIS_JWT_MAX_LEN];
    u_char                      *body, *p;
    uint8_t                      rnd[ORBIS_JWT_JTI_RANDOM_LEN];
    orbis_jwt_claims_t           claims;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    ngx_memzero(&claims, sizeof(orbis_jwt_claims_t));
    ngx_cpystrn((u_char *) claims.sub, (u_char *) acc->sub,
                sizeof(claims.sub));
    ngx_cpystrn((u_char *) claims.tid, (u_char *) acc->tid,
                sizeof(claims.tid));
    ngx_cpystrn((u_char *) claims.role, (u_char *) acc->role,
                sizeof(claims.role));
    claims.iat = ngx_time();
    claims.exp = claims.iat + omcf->jwt_ttl;

    /* the id logout revokes the token by */

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    orbis_jwt_jti(&claims, rnd);

    if (orbis_jwt_sign(&claims, omcf->jwt_secret.data, omcf->jwt_secret.len,
                       token, sizeof(token), NULL)
        != ORBIS_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_orbis_set_cookie(r, token, omcf->jwt_ttl) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the row's object is {"user":..,"tenant":..}: put the token first */

    body = ngx_pnalloc(r->pool, sizeof("{\"token\":\"\",") + ngx_strlen(token)
                                + acc->user_json.len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"token\":\"%s\",", token);
    p = ngx_cpymem(p, acc->user_json.data + 1, acc->user_json.len - 1);

    return ngx_http_orbis_send_text(r, status, body, p - body);
}


static ngx_int_t
ngx_http_orbis_set_cookie(ngx_http_request_t *r, const char *token,
    time_t max_age)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   v;

    len = sizeof("orbis_session=; Path=/; Max-Age=; HttpOnly; SameSite=Lax;"
                 " Secure") + ngx_strlen(token) + NGX_TIME_T_LEN;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v.data = p;

    p = ngx_sprintf(p, "orbis_session=%s; Path=/; Max-Age=%T; HttpOnly; "
                    "SameSite=Lax", token, max_age);

    /* over TLS, or through a trusted proxy that says the client used it */

    if (ngx_http_orbis_client_https(r)) {
        p = ngx_cpymem(p, "; Secure", 8);
    }

    v.len = p - v.data;

    return ngx_http_orbis_header_out_str(r, "Set-Cookie", &v);
}


static ngx_int_t
ngx_http_orbis_keep_row(ngx_http_request_t *r, ngx_http_orbis_account_t *acc,
    PGresult *res)
{
    ngx_cpystrn((u_char *) acc->sub, (u_char *) PQgetvalue(res, 0, 0),
                sizeof(acc->sub));
    ngx_cpystrn((u_char *) acc->tid, (u_char *) PQgetvalue(res, 0, 1),
                sizeof(acc->tid));
    ngx_cpystrn((u_char *) acc->role, (u_char *) PQgetvalue(res, 0, 2),
                sizeof(acc->role));

    return ngx_http_orbis_cparam(r, &acc->user_json, PQgetvalue(res, 0, 3));
}
