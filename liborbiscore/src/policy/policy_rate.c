/*
 * Copyright (C) Orbis
 *
 * Which bucket a request is counted in, and at what rate.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <orbiscore/ratelimit.h>

#include "policy_int.h"


void
orbis_bucket_set(orbis_bucket_t *b, uint32_t limit, const char *fmt, ...)
{
    va_list  ap;

    memset(b, 0, sizeof(orbis_bucket_t));

    va_start(ap, fmt);
    (void) vsnprintf(b->key, sizeof(b->key), fmt, ap);
    va_end(ap);

    b->limit = limit;

    /* a minute's worth may come at once, up to what GCRA accepts */
    b->burst = limit < ORBIS_GCRA_BURST_MAX ? limit : ORBIS_GCRA_BURST_MAX;
}


int
orbis_api_bucket(const orbis_api_caller_t *c, orbis_bucket_t *b)
{
    if (c->per_address) {
        /* one budget for signup and login: guesses are guesses */
        orbis_bucket_set(b, c->address_rate, "rl:ip:%s:auth",
                         c->address != NULL ? c->address : "-");
        return 1;
    }

    switch (c->kind) {

    case ORBIS_CALLER_SESSION:
        /* one {hash tag} with the revoke key: a Redis Cluster slot */
        orbis_bucket_set(b, c->session_rate, "rl:user:{%s}", c->user_id);
        return 1;

    case ORBIS_CALLER_SECRET_KEY:
        orbis_bucket_set(b, c->key_rate > 0 ? c->key_rate
                                            : ORBIS_DEFAULT_KEY_RATE,
                         "rl:key:%s", c->key_id);
        return 1;

    default:
        /* public and unauthenticated: nothing to count against */
        return 0;
    }
}
