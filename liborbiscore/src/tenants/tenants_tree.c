/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "tenants_int.h"


static const char  *orbis_tenant_plans[] = {
    "free", "starter", "pro", "enterprise"
};


void
orbis_tenants_free(orbis_tenants_t *t)
{
    size_t  i;

    if (t == NULL) {
        return;
    }

    for (i = 0; i < t->n_tenants; i++) {
        orbis_tenant_conf_free(&t->tenants[i]);
    }

    orbis_free(t->tenants);
    orbis_free(t);
}


const char *
orbis_tenant_plan_name(orbis_tenant_plan_t plan)
{
    if ((size_t) plan >= sizeof(orbis_tenant_plans) / sizeof(char *)) {
        return "unknown";
    }

    return orbis_tenant_plans[plan];
}


const orbis_tenant_conf_t *
orbis_tenants_find(const orbis_tenants_t *t, const char *slug)
{
    size_t  i;

    for (i = 0; t != NULL && slug != NULL && i < t->n_tenants; i++) {
        if (strcmp(t->tenants[i].slug, slug) == 0) {
            return &t->tenants[i];
        }
    }

    return NULL;
}


/*
 * An ordinary comparison is fine here: the hashes are of 192-bit random
 * keys, so learning how many leading digits matched tells nothing useful.
 */
const orbis_tenant_key_t *
orbis_tenants_find_key(const orbis_tenants_t *t, const char *hash_hex,
    const orbis_tenant_conf_t **tenant)
{
    size_t  i, j;

    for (i = 0; t != NULL && hash_hex != NULL && i < t->n_tenants; i++) {
        for (j = 0; j < t->tenants[i].n_keys; j++) {
            if (strcmp(t->tenants[i].keys[j].hash, hash_hex) == 0) {
                if (tenant != NULL) {
                    *tenant = &t->tenants[i];
                }

                return &t->tenants[i].keys[j];
            }
        }
    }

    return NULL;
}


void
orbis_tenant_key_free(orbis_tenant_key_t *k)
{
    orbis_free(k->slug);
    orbis_vlist_free(k->agents, k->n_agents);
    orbis_vlist_free(k->allowed_origins, k->n_allowed_origins);

    memset(k, 0, sizeof(*k));
}


void
orbis_tenant_agent_free(orbis_tenant_agent_t *a)
{
    orbis_free(a->slug);
    orbis_free(a->name);
    orbis_free(a->voice);
    orbis_free(a->language);
    orbis_free(a->greeting);
    orbis_free(a->prompt);
    orbis_free(a->prompt_file);
    orbis_vlist_free(a->tools, a->n_tools);

    memset(a, 0, sizeof(*a));
}


void
orbis_tenant_conf_free(orbis_tenant_conf_t *t)
{
    size_t  i;

    for (i = 0; i < t->n_keys; i++) {
        orbis_tenant_key_free(&t->keys[i]);
    }

    for (i = 0; i < t->n_agents; i++) {
        orbis_tenant_agent_free(&t->agents[i]);
    }

    orbis_free(t->keys);
    orbis_free(t->agents);
    orbis_free(t->slug);
    orbis_free(t->name);
    orbis_free(t->billing_email);
    orbis_vlist_free(t->allowed_origins, t->n_allowed_origins);

    memset(t, 0, sizeof(*t));
}
