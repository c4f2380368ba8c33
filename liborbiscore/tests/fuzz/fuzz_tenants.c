/*
 * Copyright (C) Orbis
 *
 * libFuzzer target for the tenants file (orbis_tenants_file): the input is
 * the file.  A file that parses must give a tree whose every lookup finds
 * what it holds; a file that does not must give a line and a message.
 *
 *   make fuzz && build/fuzz/fuzz_tenants -runs=1000000 \
 *       tests/fuzz/corpus/tenants
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/tenants.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char *const  known_tools[] = {
    "score_lead", "generate_tone", "end_call"
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                       i, j;
    unsigned                     line;
    orbis_err_t                  err;
    orbis_tenants_t             *t;
    const orbis_tenant_key_t    *k;
    const orbis_tenant_conf_t   *tc, *owner;

    t = NULL;
    line = 0;
    memset(&err, 0, sizeof(err));

    if (orbis_tenants_parse((const char *) data, size, known_tools, 3, &t,
                            &line, &err)
        != ORBIS_OK)
    {
        if (t != NULL || err.code == ORBIS_OK || err.msg[0] == '\0') {
            abort();
        }

        return 0;
    }

    if (t == NULL) {
        abort();
    }

    for (i = 0; i < t->n_tenants; i++) {
        tc = &t->tenants[i];

        if (orbis_tenants_find(t, tc->slug) != tc || tc->name == NULL
            || orbis_tenant_plan_name(tc->plan) == NULL)
        {
            abort();
        }

        for (j = 0; j < tc->n_keys; j++) {
            k = orbis_tenants_find_key(t, tc->keys[j].hash, &owner);

            if (k == NULL || owner == NULL || strlen(k->hash) != 64) {
                abort();
            }
        }

        for (j = 0; j < tc->n_agents; j++) {
            if (tc->agents[j].slug == NULL || tc->agents[j].voice == NULL
                || tc->agents[j].language == NULL
                || (tc->agents[j].prompt == NULL)
                   == (tc->agents[j].prompt_file == NULL))
            {
                abort();
            }
        }
    }

    orbis_tenants_free(t);

    return 0;
}
