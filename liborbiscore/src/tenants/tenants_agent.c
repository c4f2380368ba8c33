/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include "tenants_int.h"


#define ORBIS_PROMPT_FILE_MAX  4096


static orbis_rc_t orbis_tparse_agent_directive(orbis_tparse_t *ctx,
    orbis_tenant_agent_t *a, unsigned *seen);


orbis_rc_t
orbis_tparse_agent(orbis_tparse_t *ctx, orbis_tenant_conf_t *t,
    orbis_tenant_agent_t *a)
{
    int         closed;
    size_t      i;
    unsigned    seen;
    orbis_rc_t  rc;

    a->line = ctx->st.line;

    rc = orbis_tblock_open(ctx, "agent", &a->slug);
    if (rc != ORBIS_OK) {
        return rc;
    }

    for (i = 0; i < t->n_agents; i++) {
        if (strcmp(t->agents[i].slug, a->slug) == 0) {
            return orbis_tfail(ctx, a->line, "duplicate agent \"%s\"",
                               a->slug);
        }
    }

    seen = 0;

    for ( ;; ) {
        rc = orbis_tblock_next(ctx, "agent", a->slug, &closed);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (closed) {
            break;
        }

        rc = orbis_tparse_agent_directive(ctx, a, &seen);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if ((seen & (ORBIS_T_NAME | ORBIS_T_VOICE | ORBIS_T_PROMPT))
        != (ORBIS_T_NAME | ORBIS_T_VOICE | ORBIS_T_PROMPT))
    {
        return orbis_tfail(ctx, a->line, "agent \"%s\": missing %s", a->slug,
                           !(seen & ORBIS_T_NAME) ? "name"
                           : !(seen & ORBIS_T_VOICE) ? "voice"
                           : "prompt or prompt_file");
    }

    if (a->language == NULL) {
        a->language = orbis_vstrdup(ORBIS_LANGUAGE_DEFAULT,
                                    sizeof(ORBIS_LANGUAGE_DEFAULT) - 1);
        if (a->language == NULL) {
            return orbis_err_set(ctx->err, ORBIS_ERR_NOMEM, "out of memory");
        }
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_tparse_agent_directive(orbis_tparse_t *ctx, orbis_tenant_agent_t *a,
    unsigned *seen)
{
    size_t         i;
    uint32_t       n;
    orbis_rc_t     rc;
    orbis_err_t    e;
    orbis_targ_t  *v;

    v = &ctx->st.args[1];

    if (orbis_tis(ctx, "name")) {
        return orbis_tname(ctx, seen, &a->name);
    }

    if (orbis_tis(ctx, "voice")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_VOICE, 1, 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        rc = orbis_vvoice("voice", v->value, v->len, &e);
        if (rc != ORBIS_OK) {
            return orbis_tvalue(ctx, 1, rc, &e);
        }

        a->voice = v->value;
        v->value = NULL;

        return ORBIS_OK;
    }

    if (orbis_tis(ctx, "language")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_LANGUAGE, 1, 1);
        return rc != ORBIS_OK ? rc
                              : orbis_tcanon(ctx, orbis_vlanguage,
                                             &a->language);
    }

    if (orbis_tis(ctx, "greeting")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_GREETING, 1, 1);
        return rc != ORBIS_OK ? rc
                              : orbis_ttext(ctx, 0, ORBIS_GREETING_MAX,
                                            ORBIS_VTEXT_MULTILINE,
                                            &a->greeting);
    }

    if (orbis_tis(ctx, "prompt") || orbis_tis(ctx, "prompt_file")) {
        if (*seen & ORBIS_T_PROMPT) {
            return orbis_tfail(ctx, ctx->st.line, "use one prompt or one "
                               "prompt_file per agent");
        }

        rc = orbis_tsimple(ctx, seen, ORBIS_T_PROMPT, 1, 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (orbis_tis(ctx, "prompt_file")) {
            return orbis_ttext(ctx, 1, ORBIS_PROMPT_FILE_MAX,
                               ORBIS_VTEXT_BYTES, &a->prompt_file);
        }

        for (i = 0; i < v->len; i++) {
            if (v->value[i] != ' ' && v->value[i] != '\t'
                && v->value[i] != '\r' && v->value[i] != '\n')
            {
                break;
            }
        }

        if (i == v->len) {
            return orbis_tfail(ctx, v->line, "prompt: must not be empty");
        }

        return orbis_ttext(ctx, 1, ORBIS_PROMPT_MAX,
                           ORBIS_VTEXT_BYTES | ORBIS_VTEXT_MULTILINE,
                           &a->prompt);
    }

    if (orbis_tis(ctx, "tools")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_TOOLS, 1, ORBIS_TOOLS_MAX);
        return rc != ORBIS_OK ? rc
                              : orbis_tlist(ctx, orbis_vtool, &ctx->tools,
                                            &a->tools, &a->n_tools);
    }

    if (orbis_tis(ctx, "idle_timeout")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_IDLE, 1, 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        n = 0;

        for (i = 0; i < v->len && i < 5; i++) {
            if (v->value[i] < '0' || v->value[i] > '9') {
                break;
            }

            n = n * 10 + (uint32_t) (v->value[i] - '0');
        }

        if (v->len == 0 || i != v->len
            || n < ORBIS_IDLE_TIMEOUT_MIN || n > ORBIS_IDLE_TIMEOUT_MAX)
        {
            return orbis_tfail(ctx, v->line, "idle_timeout: must be %d to "
                               "%d seconds", ORBIS_IDLE_TIMEOUT_MIN,
                               ORBIS_IDLE_TIMEOUT_MAX);
        }

        a->idle_timeout_sec = n;

        return ORBIS_OK;
    }

    return orbis_tfail(ctx, ctx->st.line,
                       "unknown directive \"%.40s\" in agent",
                       ctx->st.args[0].value);
}
