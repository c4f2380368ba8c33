
/*
 * Copyright (C) Orbis
 *
 * Where calls are kept.  While a call runs, Redis holds its live state:
 * the hash session:<id> (tenant, agent, key, worker, heartbeat, the
 * heartbeat JSON, and the call's record, refreshed within a second of
 * each transcript change) and its heartbeat as the score in the sorted
 * set sessions:live.  When it ends, one statement writes it to Postgres,
 * idempotent on the session id, and the Redis state goes.
 *
 * If the worker dies, the heartbeat lapses; a sweeper that runs in every
 * worker, one round at a time fleet-wide under a Redis lock, writes such
 * calls from the record Redis kept, with the same statement.  A call
 * whose save failed is parked the same way (score 0) for the sweeper.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"


#define NGX_HTTP_ORBIS_CALL_SWEEP_BATCH  "16"


static ngx_int_t ngx_http_orbis_call_redis(ngx_uint_t argc,
    const char **argv, const size_t *lens,
    ngx_http_orbis_redis_handler_pt handler, void *data,
    ngx_http_orbis_redis_cmd_t **cmd);
static int64_t ngx_http_orbis_call_store_now(void);
static void ngx_http_orbis_call_sweep_locked(void *data,
    redisReply *reply, ngx_uint_t status);
static void ngx_http_orbis_call_sweep_listed(void *data,
    redisReply *reply, ngx_uint_t status);
static void ngx_http_orbis_call_sweep_next(
    ngx_http_orbis_call_worker_t *w);
static void ngx_http_orbis_call_sweep_fetched(void *data,
    redisReply *reply, ngx_uint_t status);
static void ngx_http_orbis_call_sweep_saved(void *data, PGresult *res,
    ngx_uint_t status);
static void ngx_http_orbis_call_sweep_end(
    ngx_http_orbis_call_worker_t *w);
static json_t *ngx_http_orbis_call_sweep_record(const char *text,
    size_t len, int64_t heartbeat);


/*
 * Every turn and tool call of the record goes in with its conversation,
 * and the month's usage goes up, only when the conversation row was new.
 */

static const char  ngx_http_orbis_call_save_sql[] =
    "WITH r AS (SELECT $1::jsonb AS j),"
    " c AS ("
    "  INSERT INTO conversations AS cv (id, tenant_id, agent_id, agent_name,"
    "   key_id, mode, model, started_at, ended_at, duration_ms, end_reason,"
    "   close_code, audio_seconds_in, audio_seconds_out, resumptions,"
    "   prompt_tokens, response_tokens, total_tokens, turn_count,"
    "   transcript_truncated, swept)"
    "  SELECT (j->>'sessionId')::uuid, (j->>'tenantId')::uuid,"
    "   (j->>'agentId')::uuid,"
    "   coalesce((SELECT a.name FROM agents a"
    "             WHERE a.id = (j->>'agentId')::uuid), ''),"
    "   (SELECT k.id FROM api_keys k WHERE k.id = $2::uuid),"
    "   j->>'mode', j->>'model',"
    "   to_timestamp((j->>'startedMs')::double precision / 1000),"
    "   to_timestamp(coalesce((j->>'endedMs')::double precision,"
    "                         (j->>'startedMs')::double precision) / 1000),"
    "   greatest(coalesce((j->>'durationMs')::bigint, 0), 0),"
    "   coalesce(j->>'endReason', 'error'), (j->>'closeCode')::integer,"
    "   coalesce((j->>'audioSecondsIn')::double precision, 0),"
    "   coalesce((j->>'audioSecondsOut')::double precision, 0),"
    "   coalesce((j->>'resumptions')::integer, 0),"
    "   coalesce((j#>>'{usage,promptTokens}')::bigint, 0),"
    "   coalesce((j#>>'{usage,responseTokens}')::bigint, 0),"
    "   coalesce((j#>>'{usage,totalTokens}')::bigint, 0),"
    "   (SELECT count(*) FROM jsonb_array_elements("
    "     coalesce(j->'turns', '[]')) x WHERE x->>'text' <> ''),"
    "   coalesce((j->>'transcriptTruncated')::boolean, false),"
    "   coalesce((j->>'swept')::boolean, false)"
    "  FROM r"
    "  ON CONFLICT (id) DO NOTHING"
    "  RETURNING cv.id, cv.tenant_id, cv.started_at),"
    " t AS ("
    "  INSERT INTO conversation_turns (conversation_id, seq, role, text, at,"
    "   typed, interrupted)"
    "  SELECT c.id, e.n - 1, e.v->>'role', e.v->>'text',"
    "   to_timestamp((e.v->>'startedMs')::double precision / 1000),"
    "   coalesce((e.v->>'typed')::boolean, false),"
    "   coalesce((e.v->>'interrupted')::boolean, false)"
    "  FROM c, r, jsonb_array_elements(coalesce(r.j->'turns', '[]'))"
    "   WITH ORDINALITY AS e(v, n)"
    "  WHERE e.v->>'text' <> ''),"
    " tc AS ("
    "  INSERT INTO conversation_tool_calls (conversation_id, seq, call_id,"
    "   name, status, args, result, started_at, finished_at)"
    "  SELECT c.id, e.n - 1, coalesce(e.v->>'id', ''), e.v->>'name',"
    "   CASE WHEN e.v->>'status' IN ('ok', 'error', 'timeout', 'cancelled')"
    "        THEN e.v->>'status' ELSE 'cancelled' END,"
    "   e.v->'args', nullif(e.v->'result', 'null'::jsonb),"
    "   to_timestamp((e.v->>'startedMs')::double precision / 1000),"
    "   to_timestamp((e.v->>'finishedMs')::double precision / 1000)"
    "  FROM c, r, jsonb_array_elements(coalesce(r.j->'toolCalls', '[]'))"
    "   WITH ORDINALITY AS e(v, n)),"
    " u AS ("
    "  INSERT INTO tenant_usage (tenant_id, month, conversations)"
    "  SELECT c.tenant_id,"
    "   date_trunc('month', c.started_at AT TIME ZONE 'UTC')::date, 1"
    "  FROM c"
    "  ON CONFLICT (tenant_id, month)"
    "  DO UPDATE SET conversations = tenant_usage.conversations + 1)"
    " SELECT count(*) FROM c";


ngx_http_orbis_pg_query_t *
ngx_http_orbis_call_save(const char *record, size_t len,
    const char *key_id, ngx_http_orbis_pg_handler_pt handler, void *data)
{
    ngx_str_t                   params[2];
    ngx_uint_t                  status;
    ngx_http_orbis_pg_query_t  *q;

    params[0].data = (u_char *) record;
    params[0].len = len;

    if (key_id != NULL && key_id[0] != '\0') {
        params[1].data = (u_char *) key_id;
        params[1].len = ngx_strlen(key_id);

    } else {
        ngx_str_null(&params[1]);
    }

    /* the pool copies the parameters */
    q = ngx_http_orbis_pg_query(ngx_http_orbis_worker->pg,
                                ngx_http_orbis_call_save_sql, 2, params,
                                handler, data, &status);

    if (q == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "orbis stream: cannot save a call now: %s",
                      ngx_http_orbis_pg_status_text(status));
    }

    return q;
}


ngx_int_t
ngx_http_orbis_call_save_result(PGresult *res, ngx_uint_t status,
    ngx_log_t *log)
{
    char  *state;

    if (status != NGX_HTTP_ORBIS_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "orbis stream: saving a call failed: %s",
                      ngx_http_orbis_pg_status_text(status));
        return NGX_ERROR;
    }

    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        return NGX_OK;
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "orbis stream: saving a call failed (%s): %s",
                  state ? state : "-", PQresultErrorMessage(res));

    /* data and integrity errors will not go away by trying again */

    if (state != NULL && (ngx_strncmp(state, "22", 2) == 0
                          || ngx_strncmp(state, "23", 2) == 0))
    {
        return NGX_DECLINED;
    }

    return NGX_ERROR;
}


/* fire and forget: a lost write only makes the state a little older */

static ngx_int_t
ngx_http_orbis_call_redis(ngx_uint_t argc, const char **argv,
    const size_t *lens, ngx_http_orbis_redis_handler_pt handler, void *data,
    ngx_http_orbis_redis_cmd_t **cmd)
{
    ngx_uint_t                   status;
    ngx_http_orbis_redis_cmd_t  *c;

    if (ngx_http_orbis_worker == NULL || ngx_terminate) {
        return NGX_ERROR;
    }

    c = ngx_http_orbis_redis_command(ngx_http_orbis_worker->redis, handler,
                                     data, (int) argc, argv, lens, &status);

    if (cmd != NULL) {
        *cmd = c;
    }

    return (c != NULL) ? NGX_OK : NGX_ERROR;
}


static int64_t
ngx_http_orbis_call_store_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


void
ngx_http_orbis_call_store_live(ngx_http_orbis_call_t *st,
    ngx_uint_t with_record)
{
    u_char       key[64], now[NGX_INT64_LEN + 1], worker[NGX_INT_T_LEN + 1];
    u_char       started[NGX_INT64_LEN + 1], last[NGX_INT64_LEN + 1];
    char        *hb, *rec;
    json_t      *j;
    size_t       lens[21], nowlen;
    int64_t      ms;
    ngx_uint_t   n;
    const char  *argv[21];

    ms = ngx_http_orbis_call_store_now();

    j = orbis_session_heartbeat_json(st->session, ms);
    hb = (j != NULL) ? json_dumps(j, JSON_COMPACT) : NULL;

    /* the times on their own too, for people looking at Redis */
    *ngx_sprintf(started, "%L", (int64_t) json_integer_value(
                                    json_object_get(j, "startedMs"))) = '\0';
    *ngx_sprintf(last, "%L", (int64_t) json_integer_value(
                                 json_object_get(j, "lastActivityMs"))) = '\0';

    json_decref(j);

    rec = NULL;

    if (with_record) {
        j = orbis_session_record_json(st->session);
        rec = (j != NULL) ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }

    n = 0;

    argv[n] = "HSET";
    lens[n++] = 4;
    argv[n] = (const char *) key;
    lens[n++] = ngx_snprintf(key, sizeof(key), "session:%s", st->id) - key;
    argv[n] = "tenant";
    lens[n++] = 6;
    argv[n] = st->tenant_id;
    lens[n++] = ngx_strlen(st->tenant_id);
    argv[n] = "agent";
    lens[n++] = 5;
    argv[n] = st->agent_id;
    lens[n++] = ngx_strlen(st->agent_id);
    argv[n] = "key";
    lens[n++] = 3;
    argv[n] = st->key_id;
    lens[n++] = ngx_strlen(st->key_id);
    argv[n] = "worker";
    lens[n++] = 6;
    argv[n] = (const char *) worker;
    lens[n++] = ngx_sprintf(worker, "%P", ngx_pid) - worker;
    argv[n] = "heartbeat";
    lens[n++] = 9;
    nowlen = ngx_sprintf(now, "%L", ms) - now;
    argv[n] = (const char *) now;
    lens[n++] = nowlen;
    argv[n] = "started";
    lens[n++] = 7;
    argv[n] = (const char *) started;
    lens[n++] = ngx_strlen(started);
    argv[n] = "last";
    lens[n++] = 4;
    argv[n] = (const char *) last;
    lens[n++] = ngx_strlen(last);

    if (hb != NULL) {
        argv[n] = "state";
        lens[n++] = 5;
        argv[n] = hb;
        lens[n++] = ngx_strlen(hb);
    }

    if (rec != NULL) {
        argv[n] = "record";
        lens[n++] = 6;
        argv[n] = rec;
        lens[n++] = ngx_strlen(rec);
    }

    (void) ngx_http_orbis_call_redis(n, argv, lens, NULL, NULL, NULL);

    orbis_free(hb);
    orbis_free(rec);

    argv[0] = "EXPIRE";
    lens[0] = 6;
    argv[2] = NGX_HTTP_ORBIS_CALL_STATE_TTL;
    lens[2] = sizeof(NGX_HTTP_ORBIS_CALL_STATE_TTL) - 1;

    (void) ngx_http_orbis_call_redis(3, argv, lens, NULL, NULL, NULL);

    argv[0] = "ZADD";
    lens[0] = 4;
    argv[1] = NGX_HTTP_ORBIS_CALL_LIVE_KEY;
    lens[1] = sizeof(NGX_HTTP_ORBIS_CALL_LIVE_KEY) - 1;
    argv[2] = (const char *) now;
    lens[2] = nowlen;
    argv[3] = st->id;
    lens[3] = NGX_HTTP_ORBIS_CALL_ID_LEN;

    (void) ngx_http_orbis_call_redis(4, argv, lens, NULL, NULL, NULL);
}


void
ngx_http_orbis_call_store_forget(ngx_http_orbis_call_t *st)
{
    if (st->stored) {
        (void) ngx_http_orbis_call_store_forget_id(st->id, NULL, NULL);
    }
}


/*
 * The DEL carries the handler: Redis answers in order, so its reply says
 * that both are done.  NULL when Redis is down (nothing to wait for).
 */

ngx_http_orbis_redis_cmd_t *
ngx_http_orbis_call_store_forget_id(const char *id,
    ngx_http_orbis_redis_handler_pt handler, void *data)
{
    u_char                       key[64];
    size_t                       lens[3];
    const char                  *argv[3];
    ngx_http_orbis_redis_cmd_t  *cmd;

    ngx_http_orbis_admission_release(NULL, id);

    argv[0] = "ZREM";
    lens[0] = 4;
    argv[1] = NGX_HTTP_ORBIS_CALL_LIVE_KEY;
    lens[1] = sizeof(NGX_HTTP_ORBIS_CALL_LIVE_KEY) - 1;
    argv[2] = id;
    lens[2] = ngx_strlen(id);

    (void) ngx_http_orbis_call_redis(3, argv, lens, NULL, NULL, NULL);

    argv[0] = "DEL";
    lens[0] = 3;
    argv[1] = (const char *) key;
    lens[1] = ngx_snprintf(key, sizeof(key), "session:%s", id) - key;

    cmd = NULL;

    (void) ngx_http_orbis_call_redis(2, argv, lens, handler, data, &cmd);

    return cmd;
}


/* ---- the sweeper ---- */

void
ngx_http_orbis_call_sweep_handler(ngx_event_t *ev)
{
    u_char                           px[NGX_INT_T_LEN], pid[NGX_INT_T_LEN];
    size_t                           lens[6];
    const char                      *argv[6];
    ngx_http_orbis_call_worker_t  *w;

    w = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /* new workers sweep; this one only finishes its calls */
        return;
    }

    ngx_add_timer(&w->sweep, w->smcf->sweep_interval);

    if (w->sweeping) {
        return;
    }

    /* one round per interval in the whole fleet */

    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = NGX_HTTP_ORBIS_CALL_LOCK_KEY;
    lens[1] = sizeof(NGX_HTTP_ORBIS_CALL_LOCK_KEY) - 1;
    argv[2] = (const char *) pid;
    lens[2] = ngx_sprintf(pid, "%P", ngx_pid) - pid;
    argv[3] = "NX";
    lens[3] = 2;
    argv[4] = "PX";
    lens[4] = 2;
    argv[5] = (const char *) px;
    lens[5] = ngx_sprintf(px, "%M", w->smcf->sweep_interval) - px;

    if (ngx_http_orbis_call_redis(6, argv, lens,
                                    ngx_http_orbis_call_sweep_locked, w,
                                    &w->sweep_cmd)
        == NGX_OK)
    {
        w->sweeping = 1;
    }
}


static void
ngx_http_orbis_call_sweep_locked(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_call_worker_t  *w = data;

    u_char       max[NGX_INT64_LEN + 1];
    size_t       lens[8];
    const char  *argv[8];

    w->sweep_cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK
        || reply->type != REDIS_REPLY_STATUS)
    {
        /* another worker has the round */
        ngx_http_orbis_call_sweep_end(w);
        return;
    }

    argv[0] = "ZRANGEBYSCORE";
    lens[0] = 13;
    argv[1] = NGX_HTTP_ORBIS_CALL_LIVE_KEY;
    lens[1] = sizeof(NGX_HTTP_ORBIS_CALL_LIVE_KEY) - 1;
    argv[2] = "-inf";
    lens[2] = 4;
    argv[3] = (const char *) max;
    lens[3] = ngx_sprintf(max, "%L", ngx_http_orbis_call_store_now()
                                     - (int64_t) w->smcf->heartbeat_timeout)
              - max;
    argv[4] = "LIMIT";
    lens[4] = 5;
    argv[5] = "0";
    lens[5] = 1;
    argv[6] = NGX_HTTP_ORBIS_CALL_SWEEP_BATCH;
    lens[6] = sizeof(NGX_HTTP_ORBIS_CALL_SWEEP_BATCH) - 1;

    if (ngx_http_orbis_call_redis(7, argv, lens,
                                    ngx_http_orbis_call_sweep_listed, w,
                                    &w->sweep_cmd)
        != NGX_OK)
    {
        ngx_http_orbis_call_sweep_end(w);
    }
}


static void
ngx_http_orbis_call_sweep_listed(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_call_worker_t  *w = data;

    char    **id;
    size_t    i;

    w->sweep_cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0)
    {
        ngx_http_orbis_call_sweep_end(w);
        return;
    }

    w->sweep_pool = ngx_create_pool(1024, ngx_cycle->log);
    if (w->sweep_pool == NULL) {
        ngx_http_orbis_call_sweep_end(w);
        return;
    }

    w->sweep_ids = ngx_array_create(w->sweep_pool, reply->elements,
                                    sizeof(char *));
    if (w->sweep_ids == NULL) {
        ngx_http_orbis_call_sweep_end(w);
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING
            || reply->element[i]->len != NGX_HTTP_ORBIS_CALL_ID_LEN)
        {
            continue;
        }

        id = ngx_array_push(w->sweep_ids);
        if (id == NULL) {
            break;
        }

        *id = ngx_pnalloc(w->sweep_pool, NGX_HTTP_ORBIS_CALL_ID_LEN + 1);
        if (*id == NULL) {
            w->sweep_ids->nelts--;
            break;
        }

        ngx_cpystrn((u_char *) *id, (u_char *) reply->element[i]->str,
                    NGX_HTTP_ORBIS_CALL_ID_LEN + 1);
    }

    w->sweep_next = 0;

    ngx_http_orbis_call_sweep_next(w);
}


static void
ngx_http_orbis_call_sweep_next(ngx_http_orbis_call_worker_t *w)
{
    u_char       key[64];
    size_t       lens[5];
    const char  *argv[5], **ids;

    if (w->sweep_ids == NULL || w->sweep_next >= w->sweep_ids->nelts) {
        ngx_http_orbis_call_sweep_end(w);
        return;
    }

    ids = w->sweep_ids->elts;

    argv[0] = "HMGET";
    lens[0] = 5;
    argv[1] = (const char *) key;
    lens[1] = ngx_snprintf(key, sizeof(key), "session:%s",
                           ids[w->sweep_next]) - key;
    argv[2] = "record";
    lens[2] = 6;
    argv[3] = "key";
    lens[3] = 3;
    argv[4] = "heartbeat";
    lens[4] = 9;

    if (ngx_http_orbis_call_redis(5, argv, lens,
                                    ngx_http_orbis_call_sweep_fetched, w,
                                    &w->sweep_cmd)
        != NGX_OK)
    {
        ngx_http_orbis_call_sweep_end(w);
    }
}


static void
ngx_http_orbis_call_sweep_fetched(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_call_worker_t  *w = data;

    char         key_id[NGX_HTTP_ORBIS_CALL_ID_LEN + 1], *text;
    int64_t      hb;
    const char  *id, **ids;
    redisReply  *rec, *key, *beat;

    w->sweep_cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3)
    {
        ngx_http_orbis_call_sweep_end(w);
        return;
    }

    ids = w->sweep_ids->elts;
    id = ids[w->sweep_next];

    rec = reply->element[0];
    key = reply->element[1];
    beat = reply->element[2];

    if (rec->type != REDIS_REPLY_STRING) {
        /* the session never got a record in: nothing to save */
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "orbis sweeper: session %s has no record, dropped", id);
        (void) ngx_http_orbis_call_store_forget_id(id, NULL, NULL);
        w->sweep_next++;
        ngx_http_orbis_call_sweep_next(w);
        return;
    }

    hb = (beat->type == REDIS_REPLY_STRING)
         ? (int64_t) ngx_atoof((u_char *) beat->str, beat->len) : -1;

    w->sweep_record = ngx_http_orbis_call_sweep_record(rec->str, rec->len,
                                                         hb);
    if (w->sweep_record == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "orbis sweeper: session %s has a bad record, dropped",
                      id);
        (void) ngx_http_orbis_call_store_forget_id(id, NULL, NULL);
        w->sweep_next++;
        ngx_http_orbis_call_sweep_next(w);
        return;
    }

    key_id[0] = '\0';

    if (key->type == REDIS_REPLY_STRING
        && key->len == NGX_HTTP_ORBIS_CALL_ID_LEN)
    {
        ngx_cpystrn((u_char *) key_id, (u_char *) key->str,
                    sizeof(key_id));
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "orbis sweeper: saving session %s, its worker stopped "
                  "sending heartbeats", id);

    text = json_dumps(w->sweep_record, JSON_COMPACT);

    w->sweep_query = (text == NULL)
                     ? NULL
                     : ngx_http_orbis_call_save(text, ngx_strlen(text),
                                            key_id,
                                            ngx_http_orbis_call_sweep_saved,
                                            w);
    orbis_free(text);

    if (w->sweep_query == NULL) {
        ngx_http_orbis_call_sweep_end(w);
    }
}


static void
ngx_http_orbis_call_sweep_saved(void *data, PGresult *res,
    ngx_uint_t status)
{
    ngx_http_orbis_call_worker_t  *w = data;

    ngx_int_t    rc;
    const char  **ids;

    w->sweep_query = NULL;

    if (ngx_terminate || ngx_http_orbis_worker == NULL) {
        return;
    }

    rc = ngx_http_orbis_call_save_result(res, status, ngx_cycle->log);

    json_decref(w->sweep_record);
    w->sweep_record = NULL;

    if (rc == NGX_ERROR) {
        /* the database is in trouble: the next round tries again */
        ngx_http_orbis_call_sweep_end(w);
        return;
    }

    ids = w->sweep_ids->elts;

    (void) ngx_http_orbis_call_store_forget_id(ids[w->sweep_next],
                                                 NULL, NULL);

    w->sweep_next++;
    ngx_http_orbis_call_sweep_next(w);
}


static void
ngx_http_orbis_call_sweep_end(ngx_http_orbis_call_worker_t *w)
{
    if (w->sweep_record != NULL) {
        json_decref(w->sweep_record);
        w->sweep_record = NULL;
    }

    if (w->sweep_pool != NULL) {
        ngx_destroy_pool(w->sweep_pool);
        w->sweep_pool = NULL;
    }

    w->sweep_ids = NULL;
    w->sweep_next = 0;
    w->sweeping = 0;
}


/*
 * A record from Redis made final: a call that had not ended ends at its
 * last heartbeat, as an error (the worker died: nothing else is known).
 */

static json_t *
ngx_http_orbis_call_sweep_record(const char *text, size_t len,
    int64_t heartbeat)
{
    json_t        *r;
    int64_t        started, ended;
    json_error_t   jerr;

    r = json_loadb(text, len, 0, &jerr);

    if (r == NULL || !json_is_object(r)
        || !json_is_string(json_object_get(r, "sessionId"))
        || !json_is_integer(json_object_get(r, "startedMs")))
    {
        json_decref(r);
        return NULL;
    }

    if (json_is_string(json_object_get(r, "endReason"))) {
        /* a finished call whose save had failed */
        return r;
    }

    started = json_integer_value(json_object_get(r, "startedMs"));
    ended = (heartbeat > started) ? heartbeat : started;

    if (json_object_set_new(r, "endedMs", json_integer(ended)) != 0
        || json_object_set_new(r, "durationMs",
                               json_integer(ended - started)) != 0
        || json_object_set_new(r, "endReason", json_string("error")) != 0
        || json_object_set_new(r, "closeCode",
                               json_integer(ORBIS_CLOSE_ABNORMAL)) != 0
        || json_object_set_new(r, "swept", json_true()) != 0)
    {
        json_decref(r);
        return NULL;
    }

    return r;
}


void
ngx_http_orbis_call_sweep_stop(ngx_http_orbis_call_worker_t *w)
{
    if (w->sweep.timer_set) {
        ngx_del_timer(&w->sweep);
    }
}
