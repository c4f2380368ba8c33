
/*
 * Copyright (C) Orbis
 *
 * /tenants/me, and the public reference data: the catalog (voices, tools,
 * languages), the plans and the OpenAPI document.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/validate.h>
#include <orbiscore/tools.h>

#include "ngx_http_orbis_api.h"


ngx_int_t
ngx_http_orbis_tenant_get(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ctx->thing = "tenant";

    return ngx_http_orbis_api_query(r,
        "SELECT orbis_tenant_json(t)::text FROM tenants t WHERE t.id = $1",
        1, &ctx->tenant_id, ngx_http_orbis_json_done);
}


ngx_int_t
ngx_http_orbis_tenant_update(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_str_t                 *params;
    orbis_err_t                err;
    orbis_req_tenant_update_t  req;

    /* the owner only: the access pipeline's role step checked */

    ctx->thing = "tenant";

    rc = ngx_http_orbis_check_json_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (orbis_req_tenant_update_parse((const char *) ctx->body.data,
                                      ctx->body.len, &req, &err)
        != ORBIS_OK)
    {
        return ngx_http_orbis_invalid(r, &err);
    }

    params = ngx_pcalloc(r->pool, 5 * sizeof(ngx_str_t));
    rc = NGX_OK;

    if (params == NULL
        || ngx_http_orbis_cparam(r, &params[1],
                                 (req.present & ORBIS_TENANT_UPD_NAME)
                                 ? req.name : NULL) != NGX_OK
        || ngx_http_orbis_cparam(r, &params[2],
                                 (req.present & ORBIS_TENANT_UPD_BILLING_EMAIL)
                                 ? req.billing_email : NULL) != NGX_OK)
    {
        rc = NGX_ERROR;
    }

    if (rc == NGX_OK && (req.present & ORBIS_TENANT_UPD_ORIGINS)) {
        params[3].data = ngx_http_orbis_json_array(r->pool,
                                                   req.allowed_origins,
                                                   req.n_allowed_origins,
                                                   &params[3].len);
        if (params[3].data == NULL) {
            rc = NGX_ERROR;
        }
    }

    /* billingEmail: null, unlike an absent member, empties the column */

    if (rc == NGX_OK) {
        if (req.cleared & ORBIS_TENANT_UPD_BILLING_EMAIL) {
            ngx_str_set(&params[4], "t");

        } else {
            ngx_str_set(&params[4], "f");
        }
    }

    orbis_req_tenant_update_free(&req);

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = ctx->tenant_id;

    return ngx_http_orbis_api_query(r,
        "UPDATE tenants SET name = coalesce($2, name),"
        " billing_email = CASE WHEN $5::boolean THEN NULL"
        "                 ELSE coalesce($3, billing_email) END,"
        " allowed_origins = coalesce(orbis_text_array($4::json),"
        "                            allowed_origins)"
        " WHERE id = $1 RETURNING orbis_tenant_json(tenants)::text",
        5, params, ngx_http_orbis_json_done);
}


ngx_int_t
ngx_http_orbis_catalog(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    size_t                       i, n;
    json_t                      *voices, *tools, *langs, *body;
    const char *const           *names;
    const orbis_tool_t          *tool;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    voices = json_array();
    tools = json_array();
    langs = json_array();
    body = json_pack("{s:o,s:o,s:o,s:s}", "voices", voices, "tools", tools,
                     "languages", langs, "defaultLanguage",
                     ORBIS_LANGUAGE_DEFAULT);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    names = orbis_voices(&n);

    for (i = 0; i < n; i++) {
        json_array_append_new(voices, json_string(names[i]));
    }

    names = orbis_tools_names(omcf->tools, &n);

    for (i = 0; i < n; i++) {
        tool = orbis_tools_find(omcf->tools, names[i]);
        json_array_append_new(tools, json_pack("{s:s,s:s}",
                              "name", names[i],
                              "description", tool->description));
    }

    names = orbis_languages(&n);

    for (i = 0; i < n; i++) {
        json_array_append_new(langs, json_string(names[i]));
    }

    return ngx_http_orbis_send_json(r, NGX_HTTP_OK, body);
}


ngx_int_t
ngx_http_orbis_plans(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    return ngx_http_orbis_api_query(r,
        "SELECT json_build_object('items', coalesce(json_agg("
        " json_build_object('id', id, 'name', name,"
        " 'priceMonthlyCents', price_monthly_cents,"
        " 'conversationsPerMonth', conversations_per_month,"
        " 'rateLimitPerMinute', rate_limit_per_minute,"
        " 'tenantCallsPerMinute', tenant_calls_per_minute,"
        " 'maxConcurrentCalls', max_concurrent_calls,"
        " 'maxAgents', max_agents, 'maxApiKeys', max_api_keys)"
        " ORDER BY sort),"
        " '[]'))::text FROM plans",
        0, NULL, ngx_http_orbis_json_done);
}


ngx_int_t
ngx_http_orbis_openapi(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (omcf->openapi.len == 0) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                         "no orbis_openapi_file is "
                                         "configured");
    }

    return ngx_http_orbis_send_text(r, NGX_HTTP_OK, omcf->openapi.data,
                                    omcf->openapi.len);
}
