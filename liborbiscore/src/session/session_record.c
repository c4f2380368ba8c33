/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>

#include "session/session_int.h"


static json_t *orbis_session_record_build(const orbis_session_t *s,
    size_t from, int tail);
static json_t *orbis_session_ttfa_json(const orbis_session_t *s);
static json_t *orbis_session_opt_pct(const orbis_session_t *s,
    unsigned pct);
static int orbis_session_cmp_ms(const void *a, const void *b);
static json_t *orbis_session_tools_json(const orbis_session_t *s);
static json_t *orbis_session_opt_string(const char *v);
static json_t *orbis_session_opt_ms(int64_t ms);
static json_t *orbis_session_seconds(uint64_t bytes, uint32_t rate);
static size_t orbis_session_running_tools(const orbis_session_t *s);


json_t *
orbis_session_record_json(const orbis_session_t *s)
{
    return orbis_session_record_build(s, 0, 0);
}


json_t *
orbis_session_record_tail_json(const orbis_session_t *s, size_t from)
{
    return orbis_session_record_build(s, from, 1);
}


static json_t *
orbis_session_record_build(const orbis_session_t *s, size_t from, int tail)
{
    int          bad;
    json_t      *r, *turns, *tools, *code;
    int64_t      duration;
    const char  *reason;

    turns = orbis_session_turns_json(s, (from < s->n_turns) ? from
                                                          : s->n_turns,
                                     s->n_turns);
    tools = orbis_session_tools_json(s);

    duration = (s->ended_ms >= 0) ? s->ended_ms - s->started_ms : -1;
    reason = (s->end_reason != ORBIS_SESSION_END_NONE)
             ? orbis_session_end_reason_name(s->end_reason) : NULL;
    code = (s->close_code != 0) ? json_integer(s->close_code) : json_null();

    r = json_pack("{s:s,s:o,s:o,s:s,s:o,s:I,s:o,s:o,s:o,s:o}",
                  "sessionId", s->session_id,
                  "tenantId", orbis_session_opt_string(s->tenant_id),
                  "agentId", orbis_session_opt_string(s->agent_id),
                  "mode", s->echo ? "echo" : "live",
                  "model", orbis_session_opt_string(s->model),
                  "startedMs", (json_int_t) s->started_ms,
                  "endedMs", orbis_session_opt_ms(s->ended_ms),
                  "durationMs", orbis_session_opt_ms(duration),
                  "endReason", orbis_session_opt_string(reason),
                  "closeCode", code);

    if (r == NULL) {
        json_decref(turns);
        json_decref(tools);
        return NULL;
    }

    bad = json_object_set_new(r, "audioSecondsIn",
                              orbis_session_seconds(s->bytes_in,
                                                    s->in_rate));
    bad |= json_object_set_new(r, "audioSecondsOut",
                               orbis_session_seconds(s->bytes_out,
                                                     s->out_rate));
    bad |= json_object_set_new(r, "audioSecondsDropped",
                               orbis_session_seconds(s->bytes_dropped,
                                                     s->in_rate));
    bad |= json_object_set_new(r, "resumptions",
                               json_integer(s->resumptions));
    bad |= json_object_set_new(r, "connectRetries",
                               json_integer(s->connect_retries));
    bad |= json_object_set_new(r, "usage",
                               json_pack("{s:I,s:I,s:I}",
                                         "promptTokens",
                                         (json_int_t) s->prompt_tokens,
                                         "responseTokens",
                                         (json_int_t) s->response_tokens,
                                         "totalTokens",
                                         (json_int_t) s->total_tokens));
    bad |= json_object_set_new(r, "transcriptTruncated",
                               json_boolean(s->transcript_truncated));
    bad |= json_object_set_new(r, "ttfaMs", orbis_session_ttfa_json(s));
    bad |= json_object_set_new(r, "ttfaP50Ms",
                               orbis_session_opt_pct(s, 50));
    bad |= json_object_set_new(r, "ttfaP95Ms",
                               orbis_session_opt_pct(s, 95));
    bad |= json_object_set_new(r, "turns", turns);
    bad |= json_object_set_new(r, "toolCalls", tools);

    if (tail) {
        bad |= json_object_set_new(r, "turnsFrom",
                   json_integer((json_int_t) ((from < s->n_turns)
                                              ? from : s->n_turns)));
    }

    if (bad) {
        json_decref(r);
        return NULL;
    }

    return r;
}


json_t *
orbis_session_heartbeat_json(const orbis_session_t *s, int64_t now_ms)
{
    int      bad;
    json_t  *r;
    int64_t  end;

    end = (s->ended_ms >= 0) ? s->ended_ms : now_ms;

    r = json_pack("{s:s,s:o,s:o,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:I,s:I,"
                     "s:I,s:I}",
                     "sessionId", s->session_id,
                     "tenantId", orbis_session_opt_string(s->tenant_id),
                     "agentId", orbis_session_opt_string(s->agent_id),
                     "mode", s->echo ? "echo" : "live",
                     "state", orbis_session_state_name(s->state),
                     "startedMs", (json_int_t) s->started_ms,
                     "lastActivityMs", (json_int_t) s->last_activity_ms,
                     "durationMs", (json_int_t) (end - s->started_ms),
                     "audioSecondsIn",
                     orbis_session_seconds(s->bytes_in,
                                           s->in_rate),
                     "audioSecondsOut",
                     orbis_session_seconds(s->bytes_out, s->out_rate),
                     "resumptions", (json_int_t) s->resumptions,
                     "turns", (json_int_t) s->n_turns,
                     "toolCalls", (json_int_t) s->n_tools,
                     "toolsRunning",
                     (json_int_t) orbis_session_running_tools(s));

    if (r == NULL) {
        return NULL;
    }

    bad = json_object_set_new(r, "turnsFinal",
              json_integer((json_int_t) orbis_session_turns_final(s)));
    bad |= json_object_set_new(r, "ttfaP50Ms",
                               orbis_session_opt_pct(s, 50));
    bad |= json_object_set_new(r, "ttfaP95Ms",
                               orbis_session_opt_pct(s, 95));

    if (bad) {
        json_decref(r);
        return NULL;
    }

    return r;
}


size_t
orbis_session_turn_count(const orbis_session_t *s)
{
    return s->n_turns;
}


/* only the open turn, always the last, may still change */

size_t
orbis_session_turns_final(const orbis_session_t *s)
{
    return (s->open_turn >= 0) ? (size_t) s->open_turn : s->n_turns;
}


size_t
orbis_session_ttfa_count(const orbis_session_t *s)
{
    return s->n_ttfa;
}


int64_t
orbis_session_ttfa_ms(const orbis_session_t *s, size_t i)
{
    return (i < s->n_ttfa) ? s->ttfa[i] : -1;
}


/* nearest rank: the smallest value with at least pct % at or below it */

int64_t
orbis_session_ttfa_percentile(const orbis_session_t *s, unsigned pct)
{
    size_t    rank;
    int64_t  *v, r;

    if (s->n_ttfa == 0 || pct == 0 || pct > 100) {
        return -1;
    }

    v = orbis_malloc(s->n_ttfa * sizeof(int64_t));
    if (v == NULL) {
        return -1;
    }

    memcpy(v, s->ttfa, s->n_ttfa * sizeof(int64_t));
    qsort(v, s->n_ttfa, sizeof(int64_t), orbis_session_cmp_ms);

    rank = (s->n_ttfa * pct + 99) / 100;
    r = v[rank - 1];

    orbis_free(v);

    return r;
}


json_t *
orbis_session_turns_json(const orbis_session_t *s, size_t from, size_t to)
{
    size_t                       i;
    json_t                      *list;
    const orbis_session_turn_t  *t;

    if (from > to || to > s->n_turns) {
        return NULL;
    }

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (i = from; i < to; i++) {
        t = &s->turns[i];

        if (json_array_append_new(list,
                json_pack("{s:s,s:s%,s:I,s:b,s:b,s:b}",
                          "role", orbis_client_role_name(t->role),
                          "text", t->text.len ? t->text.data : "",
                          t->text.len,
                          "startedMs", (json_int_t) t->started_ms,
                          "final", (int) t->final,
                          "interrupted", (int) t->interrupted,
                          "typed", (int) t->typed))
            != 0)
        {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}


static json_t *
orbis_session_tools_json(const orbis_session_t *s)
{
    size_t                       i;
    json_t                      *list;
    const orbis_session_tool_t  *t;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < s->n_tools; i++) {
        t = &s->tools[i];

        /* copies: the record may outlive the session and be changed */
        if (json_array_append_new(list,
                json_pack("{s:s,s:s,s:o,s:o,s:s,s:I,s:o}",
                          "id", t->id,
                          "name", t->name,
                          "args", t->args_dropped
                                  ? json_pack("{s:b}", "truncated", 1)
                                  : json_deep_copy(t->args),
                          "result", t->result == NULL ? json_null()
                                    : t->result_dropped
                                    ? json_pack("{s:b}", "truncated", 1)
                                    : json_deep_copy(t->result),
                          "status", orbis_client_tool_status_name(t->status),
                          "startedMs", (json_int_t) t->started_ms,
                          "finishedMs", orbis_session_opt_ms(t->finished_ms)))
            != 0)
        {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}


static json_t *
orbis_session_ttfa_json(const orbis_session_t *s)
{
    size_t   i;
    json_t  *list;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < s->n_ttfa; i++) {
        if (json_array_append_new(list, json_integer(s->ttfa[i])) != 0) {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}


static json_t *
orbis_session_opt_pct(const orbis_session_t *s, unsigned pct)
{
    int64_t  v;

    v = orbis_session_ttfa_percentile(s, pct);

    return (v >= 0) ? json_integer(v) : json_null();
}


static int
orbis_session_cmp_ms(const void *a, const void *b)
{
    int64_t  x, y;

    x = *(const int64_t *) a;
    y = *(const int64_t *) b;

    return (x > y) - (x < y);
}


static json_t *
orbis_session_opt_string(const char *v)
{
    return (v != NULL) ? json_string(v) : json_null();
}


static json_t *
orbis_session_opt_ms(int64_t ms)
{
    return (ms >= 0) ? json_integer(ms) : json_null();
}


/* PCM16 mono: 2 bytes a sample; kept to the millisecond */

static json_t *
orbis_session_seconds(uint64_t bytes, uint32_t rate)
{
    return json_real((double) (bytes * 1000 / (2 * (uint64_t) rate))
                     / 1000.0);
}


static size_t
orbis_session_running_tools(const orbis_session_t *s)
{
    size_t  i, n;

    for (i = 0, n = 0; i < s->n_tools; i++) {
        if (s->tools[i].status == ORBIS_CLIENT_TOOL_STARTED) {
            n++;
        }
    }

    return n;
}
