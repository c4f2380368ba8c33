/*
 * Copyright (C) Orbis
 *
 * Admission of a call on /stream: the handshake's row parsed into a
 * typed struct, and the decisions over it, in the order docs/stream.md
 * lists the refusals.
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <orbiscore/alloc.h>
#include <orbiscore/client.h>
#include <orbiscore/ratelimit.h>
#include <orbiscore/validate.h>

#include "policy_int.h"


static orbis_rc_t orbis_row_id(json_t *doc, const char *name, char *out,
    orbis_err_t *err);
static orbis_rc_t orbis_row_bool(json_t *doc, const char *name, int *out,
    orbis_err_t *err);
static orbis_rc_t orbis_row_count(json_t *doc, const char *name,
    uint32_t *out, orbis_err_t *err);
static orbis_rc_t orbis_row_strings(json_t *doc, const char *name,
    const char ***out, size_t *n, orbis_err_t *err);


orbis_rc_t
orbis_admission_row_parse(const char *text, size_t len,
    orbis_admission_row_t *row, orbis_err_t *err)
{
    json_t       *v;
    const char   *kind;
    json_error_t  jerr;

    memset(row, 0, sizeof(orbis_admission_row_t));

    row->doc = json_loadb(text, len, 0, &jerr);

    if (row->doc == NULL || !json_is_object(row->doc)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "admission row: not a JSON object");
    }

    if (orbis_row_id(row->doc, "keyId", row->key_id, err) != ORBIS_OK
        || orbis_row_id(row->doc, "tenantId", row->tenant_id, err)
           != ORBIS_OK
        || orbis_row_bool(row->doc, "revoked", &row->revoked, err)
           != ORBIS_OK
        || orbis_row_strings(row->doc, "keyAgents", &row->key_agents,
                             &row->n_key_agents, err) != ORBIS_OK
        || orbis_row_strings(row->doc, "keyOrigins", &row->key_origins,
                             &row->n_key_origins, err) != ORBIS_OK
        || orbis_row_strings(row->doc, "tenantOrigins", &row->tenant_origins,
                             &row->n_tenant_origins, err) != ORBIS_OK
        || orbis_row_count(row->doc, "rateLimit", &row->key_rate, err)
           != ORBIS_OK
        || orbis_row_count(row->doc, "tenantRateLimit", &row->tenant_rate,
                           err) != ORBIS_OK
        || orbis_row_count(row->doc, "monthlyLimit", &row->monthly_limit,
                           err) != ORBIS_OK
        || orbis_row_count(row->doc, "used", &row->used, err) != ORBIS_OK
        || orbis_row_count(row->doc, "maxConcurrentCalls",
                           &row->max_concurrent, err) != ORBIS_OK)
    {
        return err != NULL ? err->code : ORBIS_ERR_INVALID;
    }

    kind = json_string_value(json_object_get(row->doc, "kind"));

    if (kind != NULL && strcmp(kind, "publishable") == 0) {
        row->kind = ORBIS_KEY_PUBLISHABLE;

    } else if (kind != NULL && strcmp(kind, "secret") == 0) {
        row->kind = ORBIS_KEY_SECRET;

    } else {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "admission row: kind: unknown");
    }

    v = json_object_get(row->doc, "agent");

    if (json_is_object(v)) {
        if (orbis_row_id(v, "id", row->agent_id, err) != ORBIS_OK) {
            return err != NULL ? err->code : ORBIS_ERR_INVALID;
        }

        row->agent_found = 1;

    } else if (!json_is_null(v)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "admission row: agent: not an object");
    }

    return ORBIS_OK;
}


void
orbis_admission_row_free(orbis_admission_row_t *row)
{
    orbis_free(row->key_agents);
    orbis_free(row->key_origins);
    orbis_free(row->tenant_origins);

    if (row->doc != NULL) {
        json_decref(row->doc);
    }

    memset(row, 0, sizeof(orbis_admission_row_t));
}


void
orbis_admission_origins(const orbis_admission_row_t *row,
    const char *const **origins, size_t *n)
{
    if (row->n_key_origins > 0) {
        *origins = (const char *const *) row->key_origins;
        *n = row->n_key_origins;

    } else {
        *origins = (const char *const *) row->tenant_origins;
        *n = row->n_tenant_origins;
    }
}


int
orbis_admission_agent_allowed(const orbis_admission_row_t *row)
{
    size_t  i;

    if (row->n_key_agents == 0) {
        return 1;
    }

    for (i = 0; i < row->n_key_agents; i++) {
        if (strcasecmp(row->key_agents[i], row->agent_id) == 0) {
            return 1;
        }
    }

    return 0;
}


void
orbis_admission_precheck(const char *key, size_t key_len, const char *agent,
    size_t agent_len, orbis_verdict_t *v)
{
    orbis_apikey_kind_t  kind;

    /* the key first: without one nothing else is anyone's business */

    if (key == NULL
        || orbis_apikey_parse(key, key_len, &kind, NULL) != ORBIS_OK)
    {
        orbis_verdict_refuse(v, 401, "unauthorized", ORBIS_CLOSE_REFUSED,
                             "a publishable key is required "
                             "(?key=pk_...)");
        return;
    }

    if (kind != ORBIS_KEY_PUBLISHABLE) {
        orbis_verdict_refuse(v, 403, "forbidden", ORBIS_CLOSE_REFUSED,
                             "secret keys must never reach a browser: use "
                             "a publishable key");
        return;
    }

    if (agent == NULL || !orbis_uuid_valid(agent, agent_len)) {
        orbis_verdict_refuse(v, 404, "not_found", ORBIS_CLOSE_UNKNOWN_AGENT,
                             "no such agent");
        return;
    }

    orbis_verdict_admit(v);
}


void
orbis_admission_decide(const orbis_admission_row_t *row, const char *origin,
    size_t origin_len, orbis_verdict_t *v)
{
    size_t               n;
    const char *const   *allowed;

    if (row == NULL) {
        orbis_verdict_refuse(v, 401, "unauthorized", ORBIS_CLOSE_REFUSED,
                             "unknown key");
        return;
    }

    if (row->revoked || row->kind != ORBIS_KEY_PUBLISHABLE) {
        orbis_verdict_refuse(v, 401, "unauthorized", ORBIS_CLOSE_REFUSED,
                             "this key is revoked");
        return;
    }

    if (!row->agent_found) {
        orbis_verdict_refuse(v, 404, "not_found", ORBIS_CLOSE_UNKNOWN_AGENT,
                             "no such agent");
        return;
    }

    if (!orbis_admission_agent_allowed(row)) {
        orbis_verdict_refuse(v, 403, "forbidden", ORBIS_CLOSE_REFUSED,
                             "this key may not be used for this agent");
        return;
    }

    /*
     * A browser on a page the key does not allow is refused before any
     * limit is counted: otherwise any site could spend the tenant's
     * budget and lock its real visitors out.
     */

    orbis_admission_origins(row, &allowed, &n);

    if (origin != NULL && !orbis_origin_allowed(origin, origin_len, allowed, n))
    {
        orbis_verdict_refuse(v, 403, "forbidden", ORBIS_CLOSE_REFUSED,
                             "this origin may not use this key");
        return;
    }

    if (row->used >= row->monthly_limit) {
        orbis_verdict_refuse(v, 429, "usage_limit", ORBIS_CLOSE_USAGE_LIMIT,
                             "the plan's conversations for this month are "
                             "used up");
        return;
    }

    orbis_verdict_admit(v);
}


void
orbis_call_limits(const orbis_admission_row_t *row, int browser,
    orbis_call_limits_t *l)
{
    memset(l, 0, sizeof(orbis_call_limits_t));

    /* a rate of 0 would be no limit at all: the plan says at least 1 */

    orbis_bucket_set(&l->buckets[l->n_buckets++],
                     row->key_rate > 0 ? row->key_rate : 1,
                     "rl:stream:{%s}:%s", row->tenant_id,
                     row->key_id);

    if (row->tenant_rate > 0) {
        orbis_bucket_set(&l->buckets[l->n_buckets++], row->tenant_rate,
                         "rl:stream:{%s}", row->tenant_id);
    }

    (void) snprintf(l->live_key, sizeof(l->live_key), "calls:live:{%s}",
                    row->tenant_id);

    l->max_live = row->max_concurrent;
    l->allowance_left = row->monthly_limit > row->used
                        ? row->monthly_limit - row->used : 0;
    l->commit = browser;
}


void
orbis_admission_finish(const orbis_admission_row_t *row,
    const orbis_call_limits_t *l, const orbis_limits_outcome_t *o,
    int browser, orbis_verdict_t *v)
{
    int64_t  secs;

    if (o != NULL) {
        switch (o->hit) {

        case ORBIS_LIMIT_BUCKET:
            secs = orbis_ratelimit_reset_seconds(o->retry_after_ms);

            if (o->bucket == 0 || o->bucket >= l->n_buckets) {
                orbis_verdict_refuse(v, 429, "rate_limited",
                                     ORBIS_CLOSE_RATE_LIMITED,
                                     "too many calls with this key: %u a "
                                     "minute are allowed; retry in %lld s",
                                     (unsigned) l->buckets[0].limit,
                                     (long long) secs);

            } else {
                orbis_verdict_refuse(v, 429, "rate_limited",
                                     ORBIS_CLOSE_RATE_LIMITED,
                                     "too many calls for this account: %u "
                                     "a minute are allowed; retry in "
                                     "%lld s",
                                     (unsigned) l->buckets[o->bucket].limit,
                                     (long long) secs);
            }

            v->retry_after = secs;
            return;

        case ORBIS_LIMIT_ALLOWANCE:
            orbis_verdict_refuse(v, 429, "usage_limit",
                                 ORBIS_CLOSE_USAGE_LIMIT,
                                 "the plan's conversations for this month "
                                 "are used up (%u saved, %u in progress)",
                                 (unsigned) row->used, (unsigned) o->live);
            return;

        case ORBIS_LIMIT_CONCURRENCY:
            orbis_verdict_refuse(v, 429, "concurrency_limit",
                                 ORBIS_CLOSE_CONCURRENCY_LIMIT,
                                 "the plan allows %u calls at once; try "
                                 "again when one ends",
                                 (unsigned) l->max_live);
            return;

        case ORBIS_LIMIT_NONE:
            break;
        }
    }

    if (!browser) {
        /* publishable keys are bound to web origins */
        orbis_verdict_refuse(v, 403, "forbidden", ORBIS_CLOSE_REFUSED,
                             "this origin may not use this key");
        return;
    }

    orbis_verdict_admit(v);
}


static orbis_rc_t
orbis_row_id(json_t *doc, const char *name, char *out, orbis_err_t *err)
{
    const char  *s;

    s = json_string_value(json_object_get(doc, name));

    if (s == NULL || !orbis_uuid_valid(s, strlen(s))) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "admission row: %s: not a UUID", name);
    }

    memcpy(out, s, ORBIS_UUID_LEN);
    out[ORBIS_UUID_LEN] = '\0';

    return ORBIS_OK;
}


static orbis_rc_t
orbis_row_bool(json_t *doc, const char *name, int *out, orbis_err_t *err)
{
    json_t  *v;

    v = json_object_get(doc, name);

    if (!json_is_boolean(v)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "admission row: %s: not a boolean", name);
    }

    *out = json_is_true(v);

    return ORBIS_OK;
}


static orbis_rc_t
orbis_row_count(json_t *doc, const char *name, uint32_t *out,
    orbis_err_t *err)
{
    json_t  *v;

    v = json_object_get(doc, name);

    if (!json_is_integer(v) || json_integer_value(v) < 0
        || json_integer_value(v) > (json_int_t) UINT32_MAX)
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "admission row: %s: not a count", name);
    }

    *out = (uint32_t) json_integer_value(v);

    return ORBIS_OK;
}


static orbis_rc_t
orbis_row_strings(json_t *doc, const char *name, const char ***out,
    size_t *n, orbis_err_t *err)
{
    size_t   i;
    json_t  *v;

    v = json_object_get(doc, name);

    if (!json_is_array(v)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "admission row: %s: not an array", name);
    }

    if (json_array_size(v) == 0) {
        return ORBIS_OK;
    }

    *out = orbis_calloc(json_array_size(v), sizeof(char *));
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    for (i = 0; i < json_array_size(v); i++) {
        (*out)[i] = json_string_value(json_array_get(v, i));

        if ((*out)[i] == NULL) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "admission row: %s[%zu]: not a string",
                                 name, i);
        }

        (*n)++;
    }

    return ORBIS_OK;
}
