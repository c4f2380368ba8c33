
/*
 * Copyright (C) Orbis
 *
 * Config-file tenants: orbis_tenants_file is parsed by liborbiscore when
 * the configuration is read (so nginx -t names the file and line of a
 * mistake), prompt files are read then too, and each tenant becomes one
 * JSON document.  After start and after every reload the first worker
 * hands each document to orbis_reconcile_tenant() in Postgres, which
 * upserts it: declared fields win, nothing undeclared is deleted.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/tenants.h>
#include <orbiscore/tools.h>

#include "ngx_http_orbis_jobs.h"


#define NGX_HTTP_ORBIS_TENANTS_RETRY  3000


static json_t *ngx_http_orbis_tenant_json(ngx_conf_t *cf, ngx_str_t *file,
    const orbis_tenant_conf_t *t);
static json_t *ngx_http_orbis_strings(char **items, size_t n);
static void ngx_http_orbis_tenants_start(ngx_event_t *ev);
static void ngx_http_orbis_tenants_done(void *data, PGresult *res,
    ngx_uint_t status);


static ngx_event_t  ngx_http_orbis_tenants_event;
static ngx_uint_t   ngx_http_orbis_tenants_pending;
static ngx_uint_t   ngx_http_orbis_tenants_failed;


char *
ngx_http_orbis_tenants_conf(ngx_conf_t *cf, ngx_http_orbis_main_conf_t *omcf)
{
    char             *doc;
    size_t            i, n;
    unsigned          line;
    json_t           *j;
    ngx_str_t         text, *s;
    const char       *msg;
    orbis_err_t       err;
    orbis_tenants_t  *tenants;

    if (ngx_http_orbis_read_conf_file(cf, &omcf->tenants_file, &text,
                                      4 * 1024 * 1024)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    line = 0;

    if (orbis_tenants_parse((const char *) text.data, text.len,
                            orbis_tools_names(omcf->tools, &n), n,
                            &tenants, &line, &err)
        != ORBIS_OK)
    {
        /* err.msg reads "line N: ..."; say it as file:N like nginx does */
        msg = ngx_strchr(err.msg, ':') ? ngx_strchr(err.msg, ':') + 2
                                       : err.msg;

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "in %V:%ud: %s",
                           &omcf->tenants_file, line, msg);
        return NGX_CONF_ERROR;
    }

    omcf->tenant_docs = ngx_array_create(cf->pool, tenants->n_tenants + 1,
                                         sizeof(ngx_str_t));
    if (omcf->tenant_docs == NULL) {
        orbis_tenants_free(tenants);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < tenants->n_tenants; i++) {
        j = ngx_http_orbis_tenant_json(cf, &omcf->tenants_file,
                                       &tenants->tenants[i]);
        if (j == NULL) {
            orbis_tenants_free(tenants);
            return NGX_CONF_ERROR;
        }

        doc = json_dumps(j, JSON_COMPACT);
        json_decref(j);

        s = ngx_array_push(omcf->tenant_docs);
        if (doc == NULL || s == NULL) {
            orbis_free(doc);
            orbis_tenants_free(tenants);
            return NGX_CONF_ERROR;
        }

        s->len = ngx_strlen(doc);
        s->data = ngx_pnalloc(cf->pool, s->len);
        if (s->data == NULL) {
            orbis_free(doc);
            orbis_tenants_free(tenants);
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(s->data, doc, s->len);
        orbis_free(doc);
    }

    orbis_tenants_free(tenants);

    return NGX_CONF_OK;
}


static json_t *
ngx_http_orbis_tenant_json(ngx_conf_t *cf, ngx_str_t *file,
    const orbis_tenant_conf_t *t)
{
    u_char                       *p;
    size_t                        i, dir;
    json_t                       *doc, *agents, *keys, *a;
    ngx_str_t                     path, prompt;
    const orbis_tenant_key_t     *k;
    const orbis_tenant_agent_t   *ag;

    agents = json_array();
    keys = json_array();

    doc = json_pack("{s:s,s:s?,s:s,s:s?,s:o,s:o,s:o}",
                    "slug", t->slug, "name", t->name,
                    "plan", orbis_tenant_plan_name(t->plan),
                    "billingEmail", t->billing_email,
                    "allowedOrigins",
                    ngx_http_orbis_strings(t->allowed_origins,
                                           t->n_allowed_origins),
                    "agents", agents, "apiKeys", keys);
    if (doc == NULL) {
        return NULL;
    }

    /* prompt files are relative to the tenants file */

    for (dir = file->len; dir > 0 && file->data[dir - 1] != '/'; dir--) {
        /* void */
    }

    for (i = 0; i < t->n_agents; i++) {
        ag = &t->agents[i];
        ngx_str_null(&prompt);

        if (ag->prompt_file != NULL) {
            path.len = ngx_strlen(ag->prompt_file);

            if (ag->prompt_file[0] != '/') {
                p = ngx_pnalloc(cf->pool, dir + path.len + 1);
                if (p == NULL) {
                    json_decref(doc);
                    return NULL;
                }

                path.data = p;
                p = ngx_cpymem(p, file->data, dir);
                p = ngx_cpymem(p, ag->prompt_file, path.len);
                path.len = p - path.data;

            } else {
                path.data = (u_char *) ag->prompt_file;
            }

            if (ngx_http_orbis_read_conf_file(cf, &path, &prompt, 65536)
                != NGX_CONF_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "in %V:%ud: prompt_file \"%s\" cannot "
                                   "be read", file, ag->line,
                                   ag->prompt_file);
                json_decref(doc);
                return NULL;
            }
        }

        a = json_pack("{s:s,s:s?,s:s?,s:s,s:s?,s:s?,s:o}",
                      "slug", ag->slug, "name", ag->name,
                      "systemPrompt",
                      ag->prompt ? ag->prompt : (char *) prompt.data,
                      "voice", ag->voice, "language", ag->language,
                      "greeting", ag->greeting,
                      "tools", ngx_http_orbis_strings(ag->tools,
                                                      ag->n_tools));
        if (a == NULL || json_array_append_new(agents, a) != 0) {
            json_decref(doc);
            return NULL;
        }
    }

    for (i = 0; i < t->n_keys; i++) {
        k = &t->keys[i];

        a = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}",
                      "slug", k->slug,
                      "kind", orbis_apikey_kind_name(k->kind),
                      "hash", k->hash, "prefix", k->prefix,
                      "last4", k->last4,
                      "allowedOrigins",
                      ngx_http_orbis_strings(k->allowed_origins,
                                             k->n_allowed_origins),
                      "agents", ngx_http_orbis_strings(k->agents,
                                                       k->n_agents));
        if (a == NULL || json_array_append_new(keys, a) != 0) {
            json_decref(doc);
            return NULL;
        }
    }

    return doc;
}


static json_t *
ngx_http_orbis_strings(char **items, size_t n)
{
    size_t   i;
    json_t  *a;

    a = json_array();

    for (i = 0; a != NULL && i < n; i++) {
        json_array_append_new(a, json_string(items[i]));
    }

    return a;
}


/* in the first worker: after start and after each reload */

void
ngx_http_orbis_tenants_init_process(ngx_cycle_t *cycle)
{
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_orbis_module);

    if (ngx_worker != 0 || omcf->tenant_docs == NULL
        || omcf->tenant_docs->nelts == 0)
    {
        return;
    }

    ngx_http_orbis_tenants_event.handler = ngx_http_orbis_tenants_start;
    ngx_http_orbis_tenants_event.data = omcf;
    ngx_http_orbis_tenants_event.log = cycle->log;
    ngx_http_orbis_tenants_event.cancelable = 1;

    ngx_add_timer(&ngx_http_orbis_tenants_event, 1);
}


static void
ngx_http_orbis_tenants_start(ngx_event_t *ev)
{
    ngx_str_t                   *docs;
    ngx_uint_t                   i, status;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ev->data;

    if (ngx_http_orbis_worker == NULL || ngx_exiting) {
        return;
    }

    docs = omcf->tenant_docs->elts;
    ngx_http_orbis_tenants_failed = 0;

    for (i = 0; i < omcf->tenant_docs->nelts; i++) {
        if (ngx_http_orbis_pg_query(ngx_http_orbis_worker->pg,
                                    "SELECT orbis_reconcile_tenant($1::json)",
                                    1, &docs[i],
                                    ngx_http_orbis_tenants_done, ev->log,
                                    &status)
            == NULL)
        {
            ngx_http_orbis_tenants_failed++;
            continue;
        }

        ngx_http_orbis_tenants_pending++;
    }

    if (ngx_http_orbis_tenants_pending == 0) {
        /* Postgres not there yet: try again */
        ngx_add_timer(ev, NGX_HTTP_ORBIS_TENANTS_RETRY);
    }
}


static void
ngx_http_orbis_tenants_done(void *data, PGresult *res, ngx_uint_t status)
{
    ngx_log_t                   *log = data;
    ngx_http_orbis_main_conf_t  *omcf;

    ngx_http_orbis_tenants_pending--;

    if (status != NGX_HTTP_ORBIS_PG_OK
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        ngx_http_orbis_tenants_failed++;
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "orbis: reconciling a config-file tenant failed: %s",
                      res ? PQresultErrorMessage(res)
                          : ngx_http_orbis_pg_status_text(status));
    }

    if (ngx_http_orbis_tenants_pending > 0) {
        return;
    }

    omcf = ngx_http_orbis_tenants_event.data;

    if (ngx_http_orbis_tenants_failed == 0) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "orbis: %ui config-file tenants reconciled",
                      omcf->tenant_docs->nelts);
        return;
    }

    if (!ngx_exiting) {
        ngx_add_timer(&ngx_http_orbis_tenants_event,
                      NGX_HTTP_ORBIS_TENANTS_RETRY);
    }
}
