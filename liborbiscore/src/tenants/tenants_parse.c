/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "tenants_int.h"


static orbis_rc_t orbis_tparse_tenant(orbis_tparse_t *ctx,
    orbis_tenant_conf_t *t);
static orbis_rc_t orbis_tparse_tenant_directive(orbis_tparse_t *ctx,
    orbis_tenant_conf_t *t, unsigned *seen);
static orbis_rc_t orbis_tparse_check_keys(orbis_tparse_t *ctx,
    orbis_tenant_conf_t *t, const unsigned *agents_line);


orbis_rc_t
orbis_tenants_parse(const char *text, size_t len,
    const char *const *known_tools, size_t n_known, orbis_tenants_t **out,
    unsigned *line, orbis_err_t *err)
{
    size_t                i;
    orbis_rc_t            rc;
    orbis_tparse_t        ctx;
    orbis_tenant_conf_t   t;

    *out = NULL;

    if (line != NULL) {
        *line = 0;
    }

    if (text == NULL) {
        len = 0;
        text = "";
    }

    rc = orbis_tlex_check(text, len, line, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    memset(&ctx, 0, sizeof(ctx));

    ctx.lex.p = text;
    ctx.lex.end = text + len;
    ctx.lex.line = 1;
    ctx.tools.names = known_tools;
    ctx.tools.n = known_tools != NULL ? n_known : 0;
    ctx.line = line;
    ctx.err = err;

    ctx.tree = orbis_calloc(1, sizeof(orbis_tenants_t));
    if (ctx.tree == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    for ( ;; ) {
        rc = orbis_tlex_next(&ctx.lex, &ctx.st, line, err);
        if (rc != ORBIS_OK) {
            goto failed;
        }

        if (ctx.st.end == ORBIS_TEND_EOF) {
            break;
        }

        if (ctx.st.end == ORBIS_TEND_CLOSE) {
            rc = orbis_tfail(&ctx, ctx.st.line, "unexpected \"}\"");
            goto failed;
        }

        if (!orbis_tis(&ctx, "tenant")) {
            rc = orbis_tfail(&ctx, ctx.st.line,
                             "unknown directive \"%.40s\", expecting "
                             "\"tenant\"", ctx.st.args[0].value);
            goto failed;
        }

        memset(&t, 0, sizeof(t));
        t.line = ctx.st.line;

        rc = orbis_tblock_open(&ctx, "tenant", &t.slug);

        for (i = 0; rc == ORBIS_OK && i < ctx.tree->n_tenants; i++) {
            if (strcmp(ctx.tree->tenants[i].slug, t.slug) == 0) {
                rc = orbis_tfail(&ctx, t.line, "duplicate tenant \"%s\"",
                                 t.slug);
            }
        }

        if (rc == ORBIS_OK) {
            rc = orbis_tparse_tenant(&ctx, &t);
        }

        if (rc == ORBIS_OK) {
            rc = orbis_tappend(&ctx, &ctx.tree->tenants, &ctx.tree->n_tenants,
                               &t, sizeof(t));
        }

        if (rc != ORBIS_OK) {
            orbis_tenant_conf_free(&t);
            goto failed;
        }
    }

    orbis_tstmt_clear(&ctx.st);
    *out = ctx.tree;

    return ORBIS_OK;

failed:

    orbis_tstmt_clear(&ctx.st);
    orbis_tenants_free(ctx.tree);

    return rc;
}


static orbis_rc_t
orbis_tparse_tenant(orbis_tparse_t *ctx, orbis_tenant_conf_t *t)
{
    int                    closed;
    void                  *grown;
    unsigned               seen, *agents_line;
    orbis_rc_t             rc;
    orbis_tenant_key_t     k;
    orbis_tenant_agent_t   a;

    seen = 0;
    agents_line = NULL;

    for ( ;; ) {
        rc = orbis_tblock_next(ctx, "tenant", t->slug, &closed);
        if (rc != ORBIS_OK) {
            goto done;
        }

        if (closed) {
            break;
        }

        if (orbis_tis(ctx, "api_key")) {
            grown = orbis_realloc(agents_line,
                                  (t->n_keys + 1) * sizeof(unsigned));
            if (grown == NULL) {
                rc = orbis_err_set(ctx->err, ORBIS_ERR_NOMEM,
                                   "out of memory");
                goto done;
            }

            agents_line = grown;

            memset(&k, 0, sizeof(k));
            rc = orbis_tparse_key(ctx, t, &k, &agents_line[t->n_keys]);

            if (rc == ORBIS_OK) {
                rc = orbis_tappend(ctx, &t->keys, &t->n_keys, &k, sizeof(k));
            }

            if (rc != ORBIS_OK) {
                orbis_tenant_key_free(&k);
                goto done;
            }

        } else if (orbis_tis(ctx, "agent")) {
            memset(&a, 0, sizeof(a));
            rc = orbis_tparse_agent(ctx, t, &a);

            if (rc == ORBIS_OK) {
                rc = orbis_tappend(ctx, &t->agents, &t->n_agents, &a,
                                   sizeof(a));
            }

            if (rc != ORBIS_OK) {
                orbis_tenant_agent_free(&a);
                goto done;
            }

        } else {
            rc = orbis_tparse_tenant_directive(ctx, t, &seen);
            if (rc != ORBIS_OK) {
                goto done;
            }
        }
    }

    if (!(seen & ORBIS_T_NAME)) {
        rc = orbis_tfail(ctx, t->line, "tenant \"%s\": missing name",
                         t->slug);
        goto done;
    }

    rc = orbis_tparse_check_keys(ctx, t, agents_line);

done:

    orbis_free(agents_line);

    return rc;
}


static orbis_rc_t
orbis_tparse_tenant_directive(orbis_tparse_t *ctx, orbis_tenant_conf_t *t,
    unsigned *seen)
{
    orbis_rc_t      rc;
    orbis_targ_t   *v;

    v = &ctx->st.args[1];

    if (orbis_tis(ctx, "name")) {
        return orbis_tname(ctx, seen, &t->name);
    }

    if (orbis_tis(ctx, "plan")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_PLAN, 1, 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (strcmp(v->value, "free") == 0) {
            t->plan = ORBIS_TENANT_PLAN_FREE;

        } else if (strcmp(v->value, "starter") == 0) {
            t->plan = ORBIS_TENANT_PLAN_STARTER;

        } else if (strcmp(v->value, "pro") == 0) {
            t->plan = ORBIS_TENANT_PLAN_PRO;

        } else if (strcmp(v->value, "enterprise") == 0) {
            t->plan = ORBIS_TENANT_PLAN_ENTERPRISE;

        } else {
            return orbis_tfail(ctx, v->line, "plan: must be free, starter, "
                               "pro or enterprise");
        }

        return ORBIS_OK;
    }

    if (orbis_tis(ctx, "billing_email")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_BILLING, 1, 1);
        return rc != ORBIS_OK ? rc
                              : orbis_tcanon(ctx, orbis_vemail,
                                             &t->billing_email);
    }

    if (orbis_tis(ctx, "allowed_origins")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_ORIGINS, 1, ORBIS_ORIGINS_MAX);
        return rc != ORBIS_OK ? rc
                              : orbis_tlist(ctx, orbis_vorigin, NULL,
                                            &t->allowed_origins,
                                            &t->n_allowed_origins);
    }

    return orbis_tfail(ctx, ctx->st.line,
                       "unknown directive \"%.40s\" in tenant",
                       ctx->st.args[0].value);
}


/* keys may name agents defined further down, so this waits for the "}" */
static orbis_rc_t
orbis_tparse_check_keys(orbis_tparse_t *ctx, orbis_tenant_conf_t *t,
    const unsigned *agents_line)
{
    size_t               i, j, m;
    orbis_tenant_key_t  *k;

    for (i = 0; i < t->n_keys; i++) {
        k = &t->keys[i];

        for (j = 0; j < k->n_agents; j++) {
            for (m = 0; m < t->n_agents; m++) {
                if (strcmp(t->agents[m].slug, k->agents[j]) == 0) {
                    break;
                }
            }

            if (m == t->n_agents) {
                return orbis_tfail(ctx, agents_line[i], "agents: tenant "
                                   "\"%s\" has no agent \"%s\"", t->slug,
                                   k->agents[j]);
            }
        }
    }

    return ORBIS_OK;
}
