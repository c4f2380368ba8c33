
/*
 * Copyright (C) Orbis
 *
 * The /stream handshake: the upgrade request is checked against the
 * database (key, agent, origin, plan) in one statement and against the
 * key's rate limit in Redis, then admitted (ngx_http_orbis_call_upgrade)
 * or refused: with an HTTP error for programs, or with a WebSocket close
 * code after the upgrade for browsers, which cannot read a refused
 * handshake's status.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/auth.h>
#include <orbiscore/validate.h>

#include "ngx_http_orbis_call.h"


/* an answer is pending (Redis): not a code nginx itself returns */
#define NGX_HTTP_ORBIS_CALL_WAITING     -100


static ngx_int_t ngx_http_orbis_call_check_upgrade(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs);
static ngx_int_t ngx_http_orbis_call_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static void ngx_http_orbis_call_hs_cleanup(void *data);
static void ngx_http_orbis_call_hs_row(void *data, PGresult *res,
    ngx_uint_t status);
static ngx_int_t ngx_http_orbis_call_decide(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs);
static ngx_int_t ngx_http_orbis_call_rate(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t by_sha);
static void ngx_http_orbis_call_rate_reply(void *data, redisReply *reply,
    ngx_uint_t status);
static ngx_int_t ngx_http_orbis_call_origin_ok(
    ngx_http_orbis_call_hs_t *hs);
static ngx_int_t ngx_http_orbis_call_refuse(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t status, const char *code,
    uint16_t close_code, const char *message);
static ngx_int_t ngx_http_orbis_call_unavailable(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t status);


/*
 * One statement answers every question of the handshake.  No row: no
 * such key.  The origins are the key's, or the tenant's when the key
 * lists none; the usage is this calendar month's (UTC).
 */

static const char  ngx_http_orbis_call_hs_sql[] =
    "SELECT json_build_object("
    " 'keyId', k.id, 'tenantId', k.tenant_id, 'kind', k.kind,"
    " 'revoked', k.revoked_at IS NOT NULL,"
    " 'agentAllowed', cardinality(k.agent_ids) = 0"
    "                 OR $2::uuid = ANY (k.agent_ids),"
    " 'origins', CASE WHEN cardinality(k.allowed_origins) > 0"
    "                 THEN k.allowed_origins ELSE t.allowed_origins END,"
    " 'rateLimit', p.rate_limit_per_minute,"
    " 'monthlyLimit', p.conversations_per_month,"
    " 'used', coalesce((SELECT u.conversations FROM tenant_usage u"
    "                   WHERE u.tenant_id = k.tenant_id AND u.month ="
    "                   date_trunc('month', now() AT TIME ZONE 'UTC')::date),"
    "                  0),"
    " 'agent', CASE WHEN a.id IS NULL THEN NULL ELSE json_build_object("
    "   'id', a.id, 'name', a.name, 'systemPrompt', a.system_prompt,"
    "   'voice', a.voice, 'greeting', a.greeting, 'language', a.language,"
    "   'tools', a.tools, 'idleTimeoutSec', a.idle_timeout_sec) END)::text"
    " FROM api_keys k"
    " JOIN tenants t ON t.id = k.tenant_id"
    " JOIN plans p ON p.id = t.plan"
    " LEFT JOIN agents a ON a.id = $2::uuid AND a.tenant_id = k.tenant_id"
    "                   AND a.deleted_at IS NULL"
    " WHERE k.key_hash = $1";


ngx_int_t
ngx_http_orbis_call_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    params[2];
    ngx_uint_t                   status;
    ngx_pool_cleanup_t          *cln;
    orbis_apikey_kind_t          kind;
    ngx_http_orbis_call_hs_t  *hs;

    if (ngx_http_orbis_worker == NULL || ngx_http_orbis_call_worker == NULL)
    {
        return ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "not_ready",
                                         "the stream is not configured");
    }

    if (r != r->main) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_GET) {
        if (ngx_http_orbis_header_out(r, "Allow", "GET") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                         "method_not_allowed",
                                         "use GET with a WebSocket upgrade");
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "a WebSocket upgrade has no body");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    hs = ngx_pcalloc(r->pool, sizeof(ngx_http_orbis_call_hs_t));
    if (hs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hs->request = r;

    rc = ngx_http_orbis_call_check_upgrade(r, hs);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    /*
     * Finished calls this worker has not written yet: while there are
     * many, a new call would only add to what could be lost.
     */

    if (ngx_http_orbis_outbox_length()
        >= ngx_http_orbis_call_worker->smcf->save_backlog)
    {
        if (ngx_http_orbis_header_out(r, "Retry-After", "5") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_call_refuse(r, hs,
                                            NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "busy",
                                            ORBIS_CLOSE_TRY_AGAIN_LATER,
                                            "calls cannot be saved right "
                                            "now, try again shortly");
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_orbis_call_hs_cleanup;
    cln->data = hs;

    ngx_http_set_ctx(r, hs, ngx_http_orbis_call_module);

    /* the key first: without one nothing else is anyone's business */

    if (ngx_http_orbis_call_arg(r, "key", &hs->key) != NGX_OK
        || orbis_apikey_parse((const char *) hs->key.data, hs->key.len,
                              &kind, NULL)
           != ORBIS_OK)
    {
        return ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_UNAUTHORIZED,
                                            "unauthorized",
                                            ORBIS_CLOSE_REFUSED,
                                            "a publishable key is required "
                                            "(?key=pk_...)");
    }

    if (kind != ORBIS_KEY_PUBLISHABLE) {
        return ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_FORBIDDEN,
                                            "forbidden", ORBIS_CLOSE_REFUSED,
                                            "secret keys must never reach a "
                                            "browser: use a publishable key");
    }

    if (ngx_http_orbis_call_arg(r, "agent", &hs->agent) != NGX_OK
        || !orbis_uuid_valid((const char *) hs->agent.data, hs->agent.len))
    {
        return ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_NOT_FOUND,
                                            "not_found",
                                            ORBIS_CLOSE_UNKNOWN_AGENT,
                                            "no such agent");
    }

    if (orbis_apikey_hash((const char *) hs->key.data, hs->key.len,
                          hs->key_hash)
        != ORBIS_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0].data = (u_char *) hs->key_hash;
    params[0].len = ORBIS_APIKEY_HASH_LEN;
    params[1] = hs->agent;

    hs->query = ngx_http_orbis_pg_query(ngx_http_orbis_worker->pg,
                                        ngx_http_orbis_call_hs_sql, 2,
                                        params, ngx_http_orbis_call_hs_row,
                                        r, &status);
    if (hs->query == NULL) {
        return ngx_http_orbis_call_unavailable(r, hs, status);
    }

    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_orbis_call_check_upgrade(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs)
{
    ngx_table_elt_t  *h, *conn;

    if (r->http_version != NGX_HTTP_VERSION_11) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "the stream is a WebSocket: it "
                                         "needs HTTP/1.1");
    }

    h = ngx_http_orbis_header_in(r, "Upgrade");
    conn = ngx_http_orbis_header_in(r, "Connection");

    if (h == NULL || conn == NULL
        || ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                            (u_char *) "websocket", 9 - 1) == NULL
        || ngx_strlcasestrn(conn->value.data,
                            conn->value.data + conn->value.len,
                            (u_char *) "upgrade", 7 - 1) == NULL)
    {
        if (ngx_http_orbis_header_out(r, "Upgrade", "websocket") != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_send_error(r, 426, "invalid_request",
                                         "the stream is a WebSocket: send "
                                         "Connection: Upgrade and Upgrade: "
                                         "websocket");
    }

    h = ngx_http_orbis_header_in(r, "Sec-WebSocket-Version");

    if (h == NULL || h->value.len != 2
        || ngx_strncmp(h->value.data, "13", 2) != 0)
    {
        if (ngx_http_orbis_header_out(r, "Sec-WebSocket-Version", "13")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_send_error(r, 426, "invalid_request",
                                         "only WebSocket version 13 is "
                                         "spoken here");
    }

    h = ngx_http_orbis_header_in(r, "Sec-WebSocket-Key");

    if (h == NULL
        || !orbis_ws_key_valid((const char *) h->value.data, h->value.len)
        || orbis_ws_accept_key((const char *) h->value.data, h->value.len,
                               hs->accept)
           != ORBIS_OK)
    {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "Sec-WebSocket-Key is missing or "
                                         "not 16 bytes in base64");
    }

    /* browsers always send Origin with a WebSocket; other clients don't */

    h = ngx_http_orbis_header_in(r, "Origin");

    if (h != NULL) {
        hs->browser = 1;
        hs->origin = h->value;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_orbis_call_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   arg;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &arg) != NGX_OK
        || arg.len == 0 || arg.len > 256)
    {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(r->pool, arg.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    dst = value->data;
    src = arg.data;

    ngx_unescape_uri(&dst, &src, arg.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;
    *dst = '\0';

    return NGX_OK;
}


static void
ngx_http_orbis_call_hs_cleanup(void *data)
{
    ngx_http_orbis_call_hs_t  *hs = data;

    if (hs->query != NULL) {
        ngx_http_orbis_pg_cancel(hs->query);
        hs->query = NULL;
    }

    if (hs->cmd != NULL) {
        ngx_http_orbis_redis_cancel(hs->cmd);
        hs->cmd = NULL;
    }

    if (hs->info != NULL) {
        json_decref(hs->info);
        hs->info = NULL;
    }
}


static void
ngx_http_orbis_call_hs_row(void *data, PGresult *res, ngx_uint_t status)
{
    ngx_http_request_t  *r = data;

    char                        *state;
    ngx_int_t                    rc;
    json_error_t                 jerr;
    ngx_http_orbis_call_hs_t  *hs;

    hs = ngx_http_get_module_ctx(r, ngx_http_orbis_call_module);
    hs->query = NULL;

    if (ngx_terminate || ngx_http_orbis_worker == NULL) {
        return;
    }

    if (status != NGX_HTTP_ORBIS_PG_OK) {
        rc = ngx_http_orbis_call_unavailable(r, hs, status);
        goto done;
    }

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "orbis stream: handshake statement failed (%s): %s",
                      state ? state : "-", PQresultErrorMessage(res));

        rc = ngx_http_orbis_call_unavailable(r, hs,
                                               NGX_HTTP_ORBIS_PG_UNAVAILABLE);
        goto done;
    }

    if (PQntuples(res) == 0) {
        rc = ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_UNAUTHORIZED,
                                          "unauthorized", ORBIS_CLOSE_REFUSED,
                                          "unknown key");
        goto done;
    }

    hs->info = json_loadb(PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0), 0,
                          &jerr);

    if (hs->info == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    rc = ngx_http_orbis_call_decide(r, hs);

done:

    if (rc == NGX_HTTP_ORBIS_CALL_WAITING) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_orbis_call_decide(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs)
{
    json_t  *info;

    info = hs->info;

    if (json_is_true(json_object_get(info, "revoked"))
        || ngx_strcmp(json_string_value(json_object_get(info, "kind")) ?
                      json_string_value(json_object_get(info, "kind")) : "",
                      "publishable") != 0)
    {
        return ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_UNAUTHORIZED,
                                            "unauthorized",
                                            ORBIS_CLOSE_REFUSED,
                                            "this key is revoked");
    }

    if (!json_is_object(json_object_get(info, "agent"))) {
        return ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_NOT_FOUND,
                                            "not_found",
                                            ORBIS_CLOSE_UNKNOWN_AGENT,
                                            "no such agent");
    }

    if (!json_is_true(json_object_get(info, "agentAllowed"))) {
        return ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_FORBIDDEN,
                                            "forbidden", ORBIS_CLOSE_REFUSED,
                                            "this key may not be used for "
                                            "this agent");
    }

    if (json_integer_value(json_object_get(info, "used"))
        >= json_integer_value(json_object_get(info, "monthlyLimit")))
    {
        return ngx_http_orbis_call_refuse(r, hs,
                                            NGX_HTTP_TOO_MANY_REQUESTS,
                                            "usage_limit",
                                            ORBIS_CLOSE_USAGE_LIMIT,
                                            "the plan's conversations for "
                                            "this month are used up");
    }

    hs->rate_limit = (ngx_uint_t) json_integer_value(
                                      json_object_get(info, "rateLimit"));

    return ngx_http_orbis_call_rate(r, hs, 1);
}


static ngx_int_t
ngx_http_orbis_call_rate(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t by_sha)
{
    u_char                              key[64], limit[NGX_INT_T_LEN];
    u_char                              burst[NGX_INT_T_LEN];
    size_t                              lens[7];
    ngx_uint_t                          status;
    const char                         *argv[7], *key_id;
    ngx_http_orbis_call_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_call_module);

    key_id = json_string_value(json_object_get(hs->info, "keyId"));

    if (key_id == NULL || hs->rate_limit == 0) {
        return ngx_http_orbis_call_origin_ok(hs)
               ? ngx_http_orbis_call_upgrade(r, hs, 0, NULL)
               : ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_FORBIDDEN,
                                              "forbidden",
                                              ORBIS_CLOSE_REFUSED,
                                              "this origin may not use "
                                              "this key");
    }

    argv[0] = by_sha ? "EVALSHA" : "EVAL";
    lens[0] = by_sha ? 7 : 4;

    if (by_sha) {
        argv[1] = (const char *) smcf->rl_sha;
        lens[1] = 40;

    } else {
        argv[1] = orbis_ratelimit_lua();
        lens[1] = ngx_strlen(argv[1]);
    }

    argv[2] = "1";
    lens[2] = 1;
    argv[3] = (const char *) key;
    lens[3] = ngx_snprintf(key, sizeof(key), "rl:stream:%s", key_id) - key;
    argv[4] = (const char *) limit;
    lens[4] = ngx_sprintf(limit, "%ui", hs->rate_limit) - limit;
    argv[5] = "60000";
    lens[5] = 5;
    argv[6] = (const char *) burst;
    lens[6] = ngx_sprintf(burst, "%ui", hs->rate_limit) - burst;

    hs->cmd = ngx_http_orbis_redis_command(ngx_http_orbis_worker->redis,
                                           ngx_http_orbis_call_rate_reply,
                                           r, 7, argv, lens, &status);
    if (hs->cmd == NULL) {
        /* calls go on without Redis: the plan's allowance still holds */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "orbis stream: rate limit not checked: %s",
                      ngx_http_orbis_redis_status_text(status));

        return ngx_http_orbis_call_origin_ok(hs)
               ? ngx_http_orbis_call_upgrade(r, hs, 0, NULL)
               : ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_FORBIDDEN,
                                              "forbidden",
                                              ORBIS_CLOSE_REFUSED,
                                              "this origin may not use "
                                              "this key");
    }

    return NGX_HTTP_ORBIS_CALL_WAITING;
}


static void
ngx_http_orbis_call_rate_reply(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_request_t  *r = data;

    u_char                       retry[NGX_INT64_LEN + 1];
    u_char                       msg[128];
    int64_t                      secs;
    ngx_int_t                    rc;
    ngx_http_orbis_call_hs_t  *hs;

    hs = ngx_http_get_module_ctx(r, ngx_http_orbis_call_module);
    hs->cmd = NULL;

    if (ngx_terminate || ngx_http_orbis_worker == NULL) {
        return;
    }

    if (status == NGX_HTTP_ORBIS_REDIS_OK
        && reply->type == REDIS_REPLY_ERROR
        && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0)
    {
        rc = ngx_http_orbis_call_rate(r, hs, 0);
        goto done;
    }

    if (status != NGX_HTTP_ORBIS_REDIS_OK
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[3]->type != REDIS_REPLY_INTEGER)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "orbis stream: rate limit not checked: %s",
                      status != NGX_HTTP_ORBIS_REDIS_OK
                      ? ngx_http_orbis_redis_status_text(status)
                      : "unexpected reply");

    } else if (!reply->element[0]->integer) {
        secs = orbis_ratelimit_reset_seconds(reply->element[3]->integer);

        if (!hs->browser) {
            *ngx_sprintf(retry, "%L", secs) = '\0';

            if (ngx_http_orbis_header_out(r, "Retry-After",
                                          ngx_http_orbis_cstrdup(r->pool,
                                              (char *) retry))
                != NGX_OK)
            {
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                goto done;
            }
        }

        *ngx_snprintf(msg, sizeof(msg) - 1,
                      "too many calls with this key: %ui a minute are "
                      "allowed; retry in %L s", hs->rate_limit, secs) = '\0';

        rc = ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_TOO_MANY_REQUESTS,
                                          "rate_limited",
                                          ORBIS_CLOSE_RATE_LIMITED,
                                          (char *) msg);
        goto done;
    }

    rc = ngx_http_orbis_call_origin_ok(hs)
         ? ngx_http_orbis_call_upgrade(r, hs, 0, NULL)
         : ngx_http_orbis_call_refuse(r, hs, NGX_HTTP_FORBIDDEN,
                                        "forbidden", ORBIS_CLOSE_REFUSED,
                                        "this origin may not use this key");

done:

    if (rc == NGX_HTTP_ORBIS_CALL_WAITING) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_orbis_call_origin_ok(ngx_http_orbis_call_hs_t *hs)
{
    size_t        i, n;
    json_t       *list;
    const char   *allowed[64];

    if (!hs->browser) {
        /* publishable keys are bound to web origins */
        return 0;
    }

    list = json_object_get(hs->info, "origins");
    n = 0;

    for (i = 0; i < json_array_size(list) && n < 64; i++) {
        allowed[n] = json_string_value(json_array_get(list, i));

        if (allowed[n] != NULL) {
            n++;
        }
    }

    return orbis_origin_allowed((const char *) hs->origin.data,
                                hs->origin.len, allowed, n);
}


static ngx_int_t
ngx_http_orbis_call_refuse(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t status, const char *code,
    uint16_t close_code, const char *message)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "orbis stream: refused (%ui, %d): %s", status,
                  (int) close_code, message);

    if (!hs->browser) {
        return ngx_http_orbis_send_error(r, status, code, "%s", message);
    }

    return ngx_http_orbis_call_upgrade(r, hs, close_code, message);
}


static ngx_int_t
ngx_http_orbis_call_unavailable(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t status)
{
    if (!hs->browser) {
        return ngx_http_orbis_pg_fail(r, status);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "orbis stream: refused: %s",
                  ngx_http_orbis_pg_status_text(status));

    return ngx_http_orbis_call_upgrade(r, hs, ORBIS_CLOSE_INTERNAL,
                                         "the service is unavailable, try "
                                         "again shortly");
}
