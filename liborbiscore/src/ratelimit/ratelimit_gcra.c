/*
 * Copyright (C) Orbis
 */


#include <orbiscore/ratelimit.h>


/*
 * Mirrored line by line in ratelimit_lua.c: a change here must be made
 * there too.
 */
orbis_rc_t
orbis_gcra_check(int64_t *tat_ms, int64_t now_ms, uint32_t limit,
    uint32_t period_ms, uint32_t burst, orbis_gcra_result_t *res)
{
    int64_t  interval, tat, new_tat, allow_at;

    if (limit == 0 || period_ms == 0 || burst > ORBIS_GCRA_BURST_MAX) {
        return ORBIS_ERR_INVALID;
    }

    if (burst == 0) {
        burst = limit;
    }

    interval = ((int64_t) period_ms + limit - 1) / limit;

    tat = *tat_ms > now_ms ? *tat_ms : now_ms;
    new_tat = tat + interval;
    allow_at = new_tat - interval * burst;

    res->limit = limit;

    if (now_ms < allow_at) {
        res->allowed = 0;
        res->remaining = 0;
        res->reset_ms = tat - now_ms;
        res->retry_after_ms = allow_at - now_ms;

        return ORBIS_OK;
    }

    *tat_ms = new_tat;

    res->allowed = 1;
    res->remaining = (uint32_t) ((now_ms - allow_at) / interval);
    res->reset_ms = new_tat - now_ms;
    res->retry_after_ms = 0;

    return ORBIS_OK;
}


int64_t
orbis_ratelimit_reset_seconds(int64_t ms)
{
    if (ms <= 0) {
        return 0;
    }

    return ms / 1000 + (ms % 1000 != 0);
}
