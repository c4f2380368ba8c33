
/*
 * Copyright (C) Orbis
 *
 * /agents and /agents/{id}.  Every statement carries the caller's tenant;
 * another tenant's id is simply not found.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/policy.h>
#include <orbiscore/validate.h>
#include <orbiscore/tools.h>

#include "ngx_http_orbis_api.h"


static ngx_int_t ngx_http_orbis_agent_params(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, ngx_uint_t partial, ngx_str_t *params);
static ngx_int_t ngx_http_orbis_uint_param(ngx_http_request_t *r,
    ngx_str_t *dst, ngx_uint_t value);
static void ngx_http_orbis_agents_created(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status);


ngx_int_t
ngx_http_orbis_agents_list(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_str_t  params[4];

    return ngx_http_orbis_api_list(r, ctx,
        "SELECT a.doc, a.created_us, a.id FROM agents a"
        " WHERE a.tenant_id = $1 AND a.deleted_at IS NULL"
        " AND ($2::bigint IS NULL OR (a.created_us, a.id) < ($2, $3::uuid))"
        " ORDER BY a.created_us DESC, a.id DESC LIMIT $4",
        4, params);
}


ngx_int_t
ngx_http_orbis_agents_create(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  params[8];

    rc = ngx_http_orbis_agent_params(r, ctx, 0, params);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    /*
     * The plan's agents are counted under the tenant's row lock, in the
     * insert's own statement: two creates cannot both take the last place.
     * The language is always given: its default is the core's.
     */

    return ngx_http_orbis_api_query(r,
        "WITH q AS (SELECT orbis_plan_room($1, 'agents') AS plan_max),"
        " ins AS (INSERT INTO agents (tenant_id, name, system_prompt, voice,"
        "  greeting, language, tools, idle_timeout_sec)"
        "  SELECT $1, $2, $3, $4, coalesce($5, ''), $6,"
        "  coalesce(orbis_text_array($7::json), '{}'), $8::integer"
        "  FROM q WHERE q.plan_max IS NULL RETURNING doc)"
        " SELECT (SELECT doc FROM ins), (SELECT plan_max FROM q)",
        8, params, ngx_http_orbis_agents_created);
}


static void
ngx_http_orbis_agents_created(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx, PGresult *res, ngx_uint_t status)
{
    ngx_int_t  rc;

    rc = ngx_http_orbis_plan_full(r, ORBIS_QUOTA_AGENTS, res, status);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    ctx->ok_status = NGX_HTTP_CREATED;

    ngx_http_orbis_json_done(r, ctx, res, status);
}


/* no doc: the plan's limit (column 1 of res) refused one more of what */

ngx_int_t
ngx_http_orbis_plan_full(ngx_http_request_t *r, orbis_quota_t what,
    PGresult *res, ngx_uint_t status)
{
    ngx_int_t        max;
    orbis_verdict_t  v;

    if (status != NGX_HTTP_ORBIS_PG_OK
        || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1
        || !PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1))
    {
        return NGX_DECLINED;
    }

    max = ngx_atoi((u_char *) PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1));
    if (max < 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the statement saw at least max of them */
    orbis_quota_decide(what, (uint32_t) max, (uint32_t) max, &v);

    if (v.admit) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_orbis_send_error(r, v.status, v.code, "%s", v.message);
}


ngx_int_t
ngx_http_orbis_agents_get(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    return ngx_http_orbis_api_by_id(r, ctx, "agent",
        "SELECT a.doc FROM agents a"
        " WHERE a.tenant_id = $1 AND a.id = $2 AND a.deleted_at IS NULL");
}


ngx_int_t
ngx_http_orbis_agents_update(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  params[10];

    rc = ngx_http_orbis_path_id(r, ctx, "agent");
    if (rc != NGX_DECLINED) {
        return rc;
    }

    rc = ngx_http_orbis_agent_params(r, ctx, 1, params);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    params[8] = ctx->params[0];

    return ngx_http_orbis_api_query(r,
        "UPDATE agents SET name = coalesce($2, name),"
        " system_prompt = coalesce($3, system_prompt),"
        " voice = coalesce($4, voice),"
        " greeting = coalesce($5, greeting),"
        " language = coalesce($6, language),"
        " tools = coalesce(orbis_text_array($7::json), tools),"
        " idle_timeout_sec = CASE WHEN $10::boolean THEN NULL"
        "                    ELSE coalesce($8::integer, idle_timeout_sec) END"
        " WHERE tenant_id = $1 AND id = $9 AND deleted_at IS NULL"
        " RETURNING doc",
        10, params, ngx_http_orbis_json_done);
}


ngx_int_t
ngx_http_orbis_agents_delete(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    /* kept for the conversations that name it */

    return ngx_http_orbis_api_by_id(r, ctx, "agent",
        "UPDATE agents SET deleted_at = now()"
        " WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
}


/*
 * $1 tenant, $2 name, $3 prompt, $4 voice, $5 greeting, $6 language,
 * $7 tools (JSON array), $8 idle timeout; absent fields are SQL NULL.
 * For an update, params[9] ($10) is "t" when idleTimeoutSec was null: the
 * override goes, and the server's default applies again.  Other nulls
 * arrive from the parser as their default values.
 */

static ngx_int_t
ngx_http_orbis_agent_params(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx,
    ngx_uint_t partial, ngx_str_t *params)
{
    size_t                       n;
    ngx_int_t                    rc;
    orbis_err_t                  err;
    orbis_req_agent_t            req;
    const char *const           *known;
    ngx_http_orbis_main_conf_t  *omcf;

    rc = ngx_http_orbis_check_json_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);
    known = orbis_tools_names(omcf->tools, &n);

    if (orbis_req_agent_parse((const char *) ctx->body.data, ctx->body.len,
                              (int) partial, known, n, &req, &err)
        != ORBIS_OK)
    {
        return ngx_http_orbis_invalid(r, &err);
    }

    ngx_memzero(params, 8 * sizeof(ngx_str_t));
    params[0] = ctx->tenant_id;

    rc = NGX_DECLINED;

    if (ngx_http_orbis_cparam(r, &params[1],
                              (req.present & ORBIS_AGENT_NAME)
                              ? req.name : NULL) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[2],
                                 (req.present & ORBIS_AGENT_SYSTEM_PROMPT)
                                 ? req.system_prompt : NULL) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[3],
                                 (req.present & ORBIS_AGENT_VOICE)
                                 ? req.voice : NULL) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[4],
                                 (req.present & ORBIS_AGENT_GREETING)
                                 ? req.greeting : NULL) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[5],
                                 ((req.present & ORBIS_AGENT_LANGUAGE)
                                  || !partial)
                                 ? req.language : NULL) != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED && (req.present & ORBIS_AGENT_TOOLS)) {
        params[6].data = ngx_http_orbis_json_array(r->pool, req.tools,
                                                   req.n_tools,
                                                   &params[6].len);
        if (params[6].data == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (rc == NGX_DECLINED && (req.present & ORBIS_AGENT_IDLE_TIMEOUT)) {
        rc = ngx_http_orbis_uint_param(r, &params[7], req.idle_timeout_sec);
    }

    if (partial) {
        if (req.cleared & ORBIS_AGENT_IDLE_TIMEOUT) {
            ngx_str_set(&params[9], "t");

        } else {
            ngx_str_set(&params[9], "f");
        }
    }

    orbis_req_agent_free(&req);

    return rc;
}


static ngx_int_t
ngx_http_orbis_uint_param(ngx_http_request_t *r, ngx_str_t *dst,
    ngx_uint_t value)
{
    dst->data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (dst->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst->len = ngx_sprintf(dst->data, "%ui", value) - dst->data;

    return NGX_DECLINED;
}
