
/*
 * Copyright (C) Orbis
 *
 * The route table, included into ngx_http_orbis_router.c.  Patterns are
 * relative to the API location; {id} captures one path segment.  Every
 * route but the _test/ ones must be in docs/openapi.json: t/010-openapi.t
 * checks.
 */


    { NGX_HTTP_GET, ngx_string("health"), ngx_http_orbis_health,
      NGX_HTTP_ORBIS_PUBLIC },

    { NGX_HTTP_GET, ngx_string("openapi.json"), ngx_http_orbis_openapi,
      NGX_HTTP_ORBIS_PUBLIC },

    { NGX_HTTP_GET, ngx_string("catalog"), ngx_http_orbis_catalog,
      NGX_HTTP_ORBIS_PUBLIC },

    { NGX_HTTP_GET, ngx_string("plans"), ngx_http_orbis_plans,
      NGX_HTTP_ORBIS_PUBLIC },

    { NGX_HTTP_POST, ngx_string("auth/signup"), ngx_http_orbis_signup,
      NGX_HTTP_ORBIS_IP_LIMIT },

    { NGX_HTTP_POST, ngx_string("auth/login"), ngx_http_orbis_login,
      NGX_HTTP_ORBIS_IP_LIMIT },

    { NGX_HTTP_POST, ngx_string("auth/logout"), ngx_http_orbis_logout,
      NGX_HTTP_ORBIS_PUBLIC },

    { NGX_HTTP_GET, ngx_string("auth/me"), ngx_http_orbis_me,
      NGX_HTTP_ORBIS_AUTH },

    { NGX_HTTP_GET, ngx_string("tenants/me"), ngx_http_orbis_tenant_get,
      NGX_HTTP_ORBIS_AUTH },

    { NGX_HTTP_PUT, ngx_string("tenants/me"), ngx_http_orbis_tenant_update,
      NGX_HTTP_ORBIS_AUTH|NGX_HTTP_ORBIS_WRITES_TENANT },

    { NGX_HTTP_GET, ngx_string("agents"), ngx_http_orbis_agents_list,
      NGX_HTTP_ORBIS_AUTH },

    { NGX_HTTP_POST, ngx_string("agents"), ngx_http_orbis_agents_create,
      NGX_HTTP_ORBIS_AUTH|NGX_HTTP_ORBIS_WRITES_AGENTS },

    { NGX_HTTP_GET, ngx_string("agents/{id}"), ngx_http_orbis_agents_get,
      NGX_HTTP_ORBIS_AUTH },

    { NGX_HTTP_PUT, ngx_string("agents/{id}"), ngx_http_orbis_agents_update,
      NGX_HTTP_ORBIS_AUTH|NGX_HTTP_ORBIS_WRITES_AGENTS },

    { NGX_HTTP_DELETE, ngx_string("agents/{id}"),
      ngx_http_orbis_agents_delete,
      NGX_HTTP_ORBIS_AUTH|NGX_HTTP_ORBIS_WRITES_AGENTS },

    { NGX_HTTP_GET, ngx_string("api-keys"), ngx_http_orbis_keys_list,
      NGX_HTTP_ORBIS_AUTH },

    { NGX_HTTP_POST, ngx_string("api-keys"), ngx_http_orbis_keys_create,
      NGX_HTTP_ORBIS_AUTH|NGX_HTTP_ORBIS_WRITES_KEYS },

    { NGX_HTTP_PUT, ngx_string("api-keys/{id}"), ngx_http_orbis_keys_update,
      NGX_HTTP_ORBIS_AUTH|NGX_HTTP_ORBIS_WRITES_KEYS },

    { NGX_HTTP_DELETE, ngx_string("api-keys/{id}"),
      ngx_http_orbis_keys_delete,
      NGX_HTTP_ORBIS_AUTH|NGX_HTTP_ORBIS_WRITES_KEYS },

    { NGX_HTTP_GET, ngx_string("conversations"),
      ngx_http_orbis_conversations_list, NGX_HTTP_ORBIS_AUTH },

    { NGX_HTTP_GET, ngx_string("conversations/{id}"),
      ngx_http_orbis_conversations_get, NGX_HTTP_ORBIS_AUTH },

    { NGX_HTTP_GET, ngx_string("_test/pg-sleep"),
      ngx_http_orbis_test_pg_sleep, NGX_HTTP_ORBIS_TEST_ONLY },

    { NGX_HTTP_GET, ngx_string("_test/routes"),
      ngx_http_orbis_test_routes, NGX_HTTP_ORBIS_TEST_ONLY },
