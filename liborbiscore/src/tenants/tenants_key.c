/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include <orbiscore/base64.h>

#include "tenants_int.h"


static orbis_rc_t orbis_tparse_key_directive(orbis_tparse_t *ctx,
    orbis_tenant_key_t *k, unsigned *seen, unsigned *agents_line,
    unsigned *prefix_line, unsigned *hash_line);
static int orbis_tparse_hash_taken(orbis_tparse_t *ctx,
    const orbis_tenant_conf_t *t, const char *hash);


orbis_rc_t
orbis_tparse_key(orbis_tparse_t *ctx, orbis_tenant_conf_t *t,
    orbis_tenant_key_t *k, unsigned *agents_line)
{
    int         closed;
    size_t      i;
    unsigned    seen, prefix_line, hash_line;
    orbis_rc_t  rc;

    k->line = ctx->st.line;
    *agents_line = 0;

    rc = orbis_tblock_open(ctx, "api_key", &k->slug);
    if (rc != ORBIS_OK) {
        return rc;
    }

    for (i = 0; i < t->n_keys; i++) {
        if (strcmp(t->keys[i].slug, k->slug) == 0) {
            return orbis_tfail(ctx, k->line, "duplicate api_key \"%s\"",
                               k->slug);
        }
    }

    seen = 0;
    prefix_line = 0;
    hash_line = 0;

    for ( ;; ) {
        rc = orbis_tblock_next(ctx, "api_key", k->slug, &closed);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (closed) {
            break;
        }

        rc = orbis_tparse_key_directive(ctx, k, &seen, agents_line,
                                        &prefix_line, &hash_line);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (!(seen & ORBIS_T_KIND) || !(seen & ORBIS_T_HASH)) {
        return orbis_tfail(ctx, k->line, "api_key \"%s\": missing %s",
                           k->slug, (seen & ORBIS_T_KIND) ? "hash" : "kind");
    }

    if (k->prefix[0] != '\0'
        && (k->prefix[0] == 's') != (k->kind == ORBIS_KEY_SECRET))
    {
        return orbis_tfail(ctx, prefix_line, "prefix: does not match "
                           "kind %s", orbis_apikey_kind_name(k->kind));
    }

    if (orbis_tparse_hash_taken(ctx, t, k->hash)) {
        return orbis_tfail(ctx, hash_line, "hash: another api_key has the "
                           "same hash");
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_tparse_key_directive(orbis_tparse_t *ctx, orbis_tenant_key_t *k,
    unsigned *seen, unsigned *agents_line, unsigned *prefix_line,
    unsigned *hash_line)
{
    size_t         i;
    orbis_rc_t     rc;
    orbis_targ_t  *v;

    v = &ctx->st.args[1];

    if (orbis_tis(ctx, "kind")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_KIND, 1, 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (strcmp(v->value, "publishable") == 0) {
            k->kind = ORBIS_KEY_PUBLISHABLE;

        } else if (strcmp(v->value, "secret") == 0) {
            k->kind = ORBIS_KEY_SECRET;

        } else {
            return orbis_tfail(ctx, v->line,
                               "kind: must be publishable or secret");
        }

        return ORBIS_OK;
    }

    if (orbis_tis(ctx, "hash")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_HASH, 1, 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        /* the length first: k->hash holds 64 digits and the NUL */
        for (i = 0; i < v->len && v->len == ORBIS_APIKEY_HASH_LEN; i++) {
            if (!((v->value[i] >= '0' && v->value[i] <= '9')
                  || (v->value[i] >= 'a' && v->value[i] <= 'f')
                  || (v->value[i] >= 'A' && v->value[i] <= 'F')))
            {
                break;
            }

            k->hash[i] = (char) (v->value[i] | 0x20);
        }

        if (i != ORBIS_APIKEY_HASH_LEN || v->len != ORBIS_APIKEY_HASH_LEN) {
            k->hash[0] = '\0';
            return orbis_tfail(ctx, v->line,
                               "hash: must be 64 hex digits (the SHA-256 "
                               "of the key)");
        }

        k->hash[ORBIS_APIKEY_HASH_LEN] = '\0';
        *hash_line = v->line;

        return ORBIS_OK;
    }

    if (orbis_tis(ctx, "prefix")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_PREFIX, 1, 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (v->len != 7
            || orbis_base64_span(v->value + 3, 4, ORBIS_BASE64_URL) != 4
            || (memcmp(v->value, "pk_", 3) != 0
                && memcmp(v->value, "sk_", 3) != 0))
        {
            return orbis_tfail(ctx, v->line, "prefix: must be pk_ or sk_ "
                               "and the next 4 characters of the key");
        }

        memcpy(k->prefix, v->value, 8);
        *prefix_line = v->line;

        return ORBIS_OK;
    }

    if (orbis_tis(ctx, "last4")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_LAST4, 1, 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (v->len != 4
            || orbis_base64_span(v->value, 4, ORBIS_BASE64_URL) != 4)
        {
            return orbis_tfail(ctx, v->line, "last4: must be the last 4 "
                               "characters of the key");
        }

        memcpy(k->last4, v->value, 5);

        return ORBIS_OK;
    }

    if (orbis_tis(ctx, "agents")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_AGENTS, 1,
                           ORBIS_TSTMT_MAX - 1);
        if (rc != ORBIS_OK) {
            return rc;
        }

        *agents_line = ctx->st.line;

        return orbis_tlist(ctx, orbis_tslug, NULL, &k->agents, &k->n_agents);
    }

    if (orbis_tis(ctx, "allowed_origins")) {
        rc = orbis_tsimple(ctx, seen, ORBIS_T_ORIGINS, 1, ORBIS_ORIGINS_MAX);
        return rc != ORBIS_OK ? rc
                              : orbis_tlist(ctx, orbis_vorigin, NULL,
                                            &k->allowed_origins,
                                            &k->n_allowed_origins);
    }

    return orbis_tfail(ctx, ctx->st.line,
                       "unknown directive \"%.40s\" in api_key",
                       ctx->st.args[0].value);
}


static int
orbis_tparse_hash_taken(orbis_tparse_t *ctx, const orbis_tenant_conf_t *t,
    const char *hash)
{
    size_t  i, j;

    for (j = 0; j < t->n_keys; j++) {
        if (strcmp(t->keys[j].hash, hash) == 0) {
            return 1;
        }
    }

    for (i = 0; i < ctx->tree->n_tenants; i++) {
        for (j = 0; j < ctx->tree->tenants[i].n_keys; j++) {
            if (strcmp(ctx->tree->tenants[i].keys[j].hash, hash) == 0) {
                return 1;
            }
        }
    }

    return 0;
}
