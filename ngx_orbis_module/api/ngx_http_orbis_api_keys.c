
/*
 * Copyright (C) Orbis
 *
 * /api-keys.  A key is shown once, when it is made; only its SHA-256, a
 * display prefix and its last four characters are kept.  Revoking sets
 * revoked_at, and every use of a key reads that row, so a revoked key is
 * refused at once on every worker of every node.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include <orbiscore/auth.h>
#include <orbiscore/validate.h>

#include "ngx_http_orbis_api.h"


static ngx_int_t ngx_http_orbis_key_lists(ngx_http_request_t *r,
    orbis_req_apikey_t *req, ngx_str_t *origins, ngx_str_t *agents);
static void ngx_http_orbis_keys_created(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);


ngx_int_t
ngx_http_orbis_keys_list(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_str_t  params[4];

    return ngx_http_orbis_api_list(r, ctx,
        "SELECT orbis_api_key_json(k)::text,"
        " (extract(epoch FROM k.created_at) * 1000000)::bigint, k.id"
        " FROM api_keys k"
        " WHERE k.tenant_id = $1 AND k.revoked_at IS NULL"
        " AND ($2::bigint IS NULL OR (k.created_at, k.id) <"
        "      (timestamptz 'epoch' + $2::bigint * interval '1 microsecond',"
        "       $3::uuid))"
        " ORDER BY k.created_at DESC, k.id DESC LIMIT $4",
        4, params);
}


ngx_int_t
ngx_http_orbis_keys_create(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    char                 prefix[16], last4[5];
    char                 hash[ORBIS_APIKEY_HASH_LEN + 1];
    u_char              *key;
    uint8_t              rnd[ORBIS_APIKEY_RANDOM_LEN];
    ngx_int_t            rc;
    ngx_str_t           *params;
    orbis_err_t          err;
    orbis_req_apikey_t   req;

    rc = ngx_http_orbis_check_json_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (orbis_req_apikey_parse((const char *) ctx->body.data, ctx->body.len,
                               &req, &err)
        != ORBIS_OK)
    {
        return ngx_http_orbis_invalid(r, &err);
    }

    params = ngx_pcalloc(r->pool, 8 * sizeof(ngx_str_t));
    key = ngx_pnalloc(r->pool, ORBIS_APIKEY_LEN + 1);

    if (params == NULL || key == NULL
        || RAND_bytes(rnd, sizeof(rnd)) != 1
        || orbis_apikey_generate(req.kind, rnd, (char *) key,
                                 ORBIS_APIKEY_LEN + 1) != ORBIS_OK
        || orbis_apikey_hash((char *) key, ORBIS_APIKEY_LEN, hash)
           != ORBIS_OK
        || orbis_apikey_display((char *) key, ORBIS_APIKEY_LEN, prefix,
                                last4) != ORBIS_OK
        || ngx_http_orbis_cparam(r, &params[1], req.name) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[2],
                                 orbis_apikey_kind_name(req.kind)) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[3], hash) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[4], prefix) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[5], last4) != NGX_OK
        || ngx_http_orbis_key_lists(r, &req, &params[6], &params[7])
           != NGX_OK)
    {
        orbis_req_apikey_free(&req);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    orbis_req_apikey_free(&req);

    params[0] = ctx->tenant_id;
    ctx->data = key;

    /*
     * agentIds must all be the tenant's own live agents, or no key; the
     * plan's live keys are counted under the tenant's row lock, in the
     * insert's own statement
     */

    return ngx_http_orbis_api_query(r,
        "WITH q AS (SELECT orbis_plan_room($1, 'api_keys') AS plan_max),"
        " ins AS (INSERT INTO api_keys (tenant_id, name, kind, key_hash,"
        "  prefix, last4, allowed_origins, agent_ids)"
        "  SELECT $1, $2, $3, $4, $5, $6,"
        "  coalesce(orbis_text_array($7::json), '{}'),"
        "  coalesce(orbis_text_array($8::json)::uuid[], '{}')"
        "  FROM q WHERE q.plan_max IS NULL"
        "  AND (SELECT count(*) FROM agents a WHERE a.tenant_id = $1"
        "       AND a.deleted_at IS NULL AND a.id = ANY"
        "       (coalesce(orbis_text_array($8::json)::uuid[], '{}')))"
        "      = cardinality(coalesce(orbis_text_array($8::json), '{}'))"
        "  RETURNING orbis_api_key_json(api_keys)::text AS doc)"
        " SELECT (SELECT doc FROM ins), (SELECT plan_max FROM q)",
        8, params, ngx_http_orbis_keys_created);
}


static void
ngx_http_orbis_keys_created(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    PGresult *res, ngx_uint_t status)
{
    u_char     *body, *p;
    size_t      len;
    ngx_int_t   rc;

    if (ngx_http_orbis_pg_result(r, res, status, NGX_HTTP_ORBIS_EXPECT_ROWS)
        != NGX_OK)
    {
        return;
    }

    rc = ngx_http_orbis_plan_full(r, ORBIS_QUOTA_API_KEYS, res, status);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        rc = ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_request",
                                       "agentIds: every id must be one "
                                       "of your agents");
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* the only time the key itself is shown */

    len = PQgetlength(res, 0, 0);
    body = ngx_pnalloc(r->pool, len + sizeof(",\"key\":\"\"")
                                + ORBIS_APIKEY_LEN);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(body, PQgetvalue(res, 0, 0), len - 1);
    p = ngx_sprintf(p, ",\"key\":\"%s\"}", (char *) ctx->data);

    rc = ngx_http_orbis_send_text(r, NGX_HTTP_CREATED, body, p - body);
    ngx_http_finalize_request(r, rc);
}


ngx_int_t
ngx_http_orbis_keys_update(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_str_t           *params;
    orbis_err_t          err;
    orbis_req_apikey_t   req;

    rc = ngx_http_orbis_path_id(r, ctx, "API key");
    if (rc != NGX_DECLINED) {
        return rc;
    }

    rc = ngx_http_orbis_check_json_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (orbis_req_apikey_update_parse((const char *) ctx->body.data,
                                      ctx->body.len, &req, &err)
        != ORBIS_OK)
    {
        return ngx_http_orbis_invalid(r, &err);
    }

    params = ngx_pcalloc(r->pool, 5 * sizeof(ngx_str_t));

    if (params == NULL
        || ngx_http_orbis_cparam(r, &params[2], req.name) != NGX_OK
        || ngx_http_orbis_key_lists(r, &req, &params[3], &params[4])
           != NGX_OK)
    {
        orbis_req_apikey_free(&req);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    orbis_req_apikey_free(&req);

    params[0] = ctx->tenant_id;
    params[1] = ctx->params[0];

    return ngx_http_orbis_api_query(r,
        "UPDATE api_keys SET name = coalesce($3, name),"
        " allowed_origins = coalesce(orbis_text_array($4::json),"
        "                            allowed_origins),"
        " agent_ids = coalesce(orbis_text_array($5::json)::uuid[],"
        "                      agent_ids)"
        " WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL"
        " AND (SELECT count(*) FROM agents a WHERE a.tenant_id = $1"
        "      AND a.deleted_at IS NULL AND a.id = ANY"
        "      (coalesce(orbis_text_array($5::json)::uuid[], '{}')))"
        "   = cardinality(coalesce(orbis_text_array($5::json), '{}'))"
        " RETURNING orbis_api_key_json(api_keys)::text",
        5, params, ngx_http_orbis_json_done);
}


ngx_int_t
ngx_http_orbis_keys_delete(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    return ngx_http_orbis_api_by_id(r, ctx, "API key",
        "UPDATE api_keys SET revoked_at = now()"
        " WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL");
}


static ngx_int_t
ngx_http_orbis_key_lists(ngx_http_request_t *r, orbis_req_apikey_t *req,
    ngx_str_t *origins, ngx_str_t *agents)
{
    ngx_str_null(origins);
    ngx_str_null(agents);

    if (req->present & ORBIS_APIKEY_REQ_ORIGINS) {
        origins->data = ngx_http_orbis_json_array(r->pool,
                                                  req->allowed_origins,
                                                  req->n_allowed_origins,
                                                  &origins->len);
        if (origins->data == NULL) {
            return NGX_ERROR;
        }
    }

    if (req->present & ORBIS_APIKEY_REQ_AGENT_IDS) {
        agents->data = ngx_http_orbis_json_array(r->pool, req->agent_ids,
                                                 req->n_agent_ids,
                                                 &agents->len);
        if (agents->data == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
