/*
 * Copyright (C) Orbis
 *
 * Rate limiting with GCRA (the generic cell rate algorithm): the whole
 * state of a bucket is one number, the theoretical arrival time (TAT) of
 * the next request.  The same arithmetic exists twice: in C for a limiter
 * kept in the caller's memory, and as a Redis Lua script for one shared
 * by every node.  Both must change together.
 *
 * With T = ceil(period_ms / limit) (the emission interval) and a bucket of
 * burst requests, a request at now is allowed when
 *     max(tat, now) + T - burst * T <= now
 * and then tat becomes max(tat, now) + T.  Rounding T up means the
 * sustained rate never exceeds limit per period; pick a period that is a
 * multiple of limit to get the rate exactly.
 *
 * HTTP headers from an orbis_gcra_result_t:
 *     RateLimit-Limit      limit
 *     RateLimit-Remaining  remaining
 *     RateLimit-Reset      orbis_ratelimit_reset_seconds(reset_ms)
 *     Retry-After          orbis_ratelimit_reset_seconds(retry_after_ms),
 *                          only on refused requests (429)
 * Seconds are rounded up, so a client that waits that long is allowed.
 */

#ifndef ORBISCORE_RATELIMIT_H
#define ORBISCORE_RATELIMIT_H

#include <orbiscore/orbiscore.h>


/* keeps burst * T well inside 2^53, exact in Lua's doubles as well */
#define ORBIS_GCRA_BURST_MAX  1000000

typedef struct {
    int64_t  tat_ms;            /* 0 for a new bucket */
} orbis_gcra_t;

typedef struct {
    int       allowed;          /* 1 or 0 */
    uint32_t  limit;            /* as given */
    uint32_t  remaining;        /* requests that would be allowed right now */
    int64_t   reset_ms;         /* until the bucket is full again */
    int64_t   retry_after_ms;   /* until the next request is allowed; 0 if
                                   this one was */
} orbis_gcra_result_t;

/*
 * One request at now_ms against the bucket whose TAT is *tat_ms: allows
 * limit requests per period_ms, up to burst of them at once (burst 0
 * means burst = limit).  *tat_ms only changes when the request is allowed.
 * ORBIS_ERR_INVALID if limit or period_ms is 0 or burst is above
 * ORBIS_GCRA_BURST_MAX.
 */
orbis_rc_t orbis_gcra_check(int64_t *tat_ms, int64_t now_ms, uint32_t limit,
    uint32_t period_ms, uint32_t burst, orbis_gcra_result_t *res);

/*
 * The Redis script doing the same (static storage).  Run it as
 *     EVAL script 1 <key> <limit> <period_ms> <burst>
 * or, to learn in the same round trip whether the caller's session was
 * revoked, as
 *     EVAL script 2 <key> <revoked_key> <limit> <period_ms> <burst>
 * (or EVALSHA).  It reads the time with redis.call('TIME') so that all
 * nodes share Redis's clock, stores the TAT in <key> with a TTL of
 * reset_ms (an expired key is a full bucket) and returns
 *     {allowed, remaining, reset_ms, retry_after_ms}
 * with one key, and with two
 *     {allowed, remaining, reset_ms, retry_after_ms, revoked}:
 * when <revoked_key> exists the answer is {0, 0, 0, 0, 1} and the bucket
 * is left alone; otherwise revoked is 0.  In Redis Cluster both keys must
 * hash to one slot: give them the same {hash tag}.
 *
 * The "multi" form checks several buckets (1 to 8), optionally the revoke
 * key and optionally a sorted set of live calls, in one trip:
 *     EVAL script <nkeys> <bucket>... [<revoked_key>] [<live_set>]
 *          multi <nbuckets> <flags> (<limit> <period_ms> <burst>)...
 *          [<max_live> <allowance_left> <lease_ms> <member>]
 * flags holds 'r' when a revoke key is given, 'l' when a live set is, and
 * 'c' to commit: without 'c' the script only looks (nothing is spent).
 * Expired members (score, a deadline on Redis's clock, passed) leave the
 * live set first.  Nothing is written unless every bucket allows the
 * request, the live set holds fewer than allowance_left members and, when
 * max_live > 0, fewer than max_live; then every bucket is spent and
 * member joins the set with the deadline now + lease_ms.  The answer:
 *     {allowed, remaining, reset_ms, retry_after_ms, revoked, hit, live}
 * where hit is 0 (allowed), i (1-based: bucket i is empty; the numbers
 * are then that bucket's, else the first's), -1 (the allowance is taken
 * by live calls) or -2 (max_live calls are live), and live the number of
 * live calls before this one.  A revoked caller gets {0,0,0,0,1,0,0}.
 */
const char *orbis_ratelimit_lua(void);

/*
 * Leases in the live sets "calls:live:{<tenant>}" (static storage):
 *     EVAL script 0 refresh <lease_ms> (<tenant> <call id>)...
 * moves each member's deadline to now + lease_ms on Redis's clock and
 * answers the ids that are no longer there (given back, or expired);
 *     EVAL script 0 release 0 (<tenant> <call id>)...
 * removes them.  An empty tenant is read from the call's live state
 * (HGET session:<id> tenant).  The keys are named in the script, so it
 * runs on one Redis, not a Cluster.
 */
const char *orbis_lease_lua(void);

/* whole seconds for a header, rounded up; 0 for ms <= 0 */
int64_t orbis_ratelimit_reset_seconds(int64_t ms);


#endif /* ORBISCORE_RATELIMIT_H */
