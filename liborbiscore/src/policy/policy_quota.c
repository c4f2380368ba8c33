/*
 * Copyright (C) Orbis
 *
 * How many agents and keys a tenant's plan allows.
 */


#include "policy_int.h"


static const char *const  orbis_quota_names[] = { "agents", "api_keys" };
static const char *const  orbis_quota_things[] = { "agents", "API keys" };


const char *
orbis_quota_name(orbis_quota_t what)
{
    return orbis_quota_names[what == ORBIS_QUOTA_API_KEYS];
}


void
orbis_quota_decide(orbis_quota_t what, uint32_t count, uint32_t max,
    orbis_verdict_t *v)
{
    if (count < max) {
        orbis_verdict_admit(v);
        return;
    }

    orbis_verdict_refuse(v, 403, "plan_limit", 0,
                         "the plan allows %u %s; delete one or change "
                         "plans", (unsigned) max,
                         orbis_quota_things[what == ORBIS_QUOTA_API_KEYS]);
}
