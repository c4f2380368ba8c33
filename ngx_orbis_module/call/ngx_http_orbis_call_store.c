
/*
 * Copyright (C) Orbis
 *
 * Where calls are kept.  While a call runs, Redis holds its live state
 * (docs/stream.md, "The record's lifecycle"):
 *
 *   session:<id>        hash: tenant, agent, key, worker, heartbeat (Redis
 *                       time), started, last, state (the heartbeat JSON)
 *                       and record: the call's record without its settled
 *                       turns ("turnsFrom" says how many came before);
 *   session:<id>:turns  list: the settled turns, one JSON text each;
 *   sessions:live       sorted set: each call's last heartbeat.
 *
 * A heartbeat is one script: it appends the turns that settled since the
 * last one (a few at a time: at most NGX_HTTP_ORBIS_CALL_BEAT_TURNS or
 * about NGX_HTTP_ORBIS_CALL_BEAT_BYTES), rewrites the record's small
 * tail, and scores the call with Redis's clock, so what one beat writes
 * does not grow with the call.
 *
 * When the call ends, its record goes to the outbox and from there to
 * Postgres through orbis_save_conversation(), idempotent on the session
 * id, after liborbiscore has normalised it (orbiscore/record.h).  The
 * sweeper (jobs/ngx_http_orbis_sweeper.c) saves calls whose heartbeats
 * lapsed the same way.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"


/* a beat appends settled turns once this many, or this many bytes, wait */
#define NGX_HTTP_ORBIS_CALL_BEAT_TURNS  8
#define NGX_HTTP_ORBIS_CALL_BEAT_BYTES  4096
/* and never more than this many in one beat */
#define NGX_HTTP_ORBIS_CALL_BEAT_MAX    64

/* hash fields a beat sets (pairs), besides the turns it appends */
#define NGX_HTTP_ORBIS_CALL_BEAT_FIELDS 8
#define NGX_HTTP_ORBIS_CALL_BEAT_ARGS                                       \
    (10 + 2 * NGX_HTTP_ORBIS_CALL_BEAT_FIELDS)


static void ngx_http_orbis_call_beaten(void *data, redisReply *reply,
    ngx_uint_t status);
static ngx_int_t ngx_http_orbis_call_beat_split(json_t *tail,
    size_t settled, char **items, size_t *lens, size_t *n);


/*
 * One heartbeat.  KEYS: the hash, the turns list, sessions:live.  ARGV:
 * TTL, id, how many turns the list holds before this beat's, the number
 * of hash field pairs, the pairs (the record last, if any), then the
 * turns to append.  A list longer than expected (a beat whose answer was
 * lost ran twice) is cut back first; a shorter one (Redis lost it) takes
 * nothing and leaves the record alone: the reply {0, length} tells the
 * worker to send the turns again from there.
 */

static const char  ngx_http_orbis_call_beat_lua[] =
    NGX_HTTP_ORBIS_CALL_LUA_NOW
    "local nf = tonumber(ARGV[4])\n"
    "local last = 4 + 2 * nf\n"
    "local base = tonumber(ARGV[3])\n"
    "local len = redis.call('LLEN', KEYS[2])\n"
    "local ok = 1\n"
    "if len > base then\n"
    "  if base == 0 then redis.call('DEL', KEYS[2])\n"
    "  else redis.call('LTRIM', KEYS[2], 0, base - 1) end\n"
    "  len = base\n"
    "elseif len < base then ok = 0 end\n"
    "if ok == 1 and #ARGV > last then\n"
    "  len = redis.call('RPUSH', KEYS[2], unpack(ARGV, last + 1))\n"
    "end\n"
    "local h = {'heartbeat', now}\n"
    "for i = 5, last, 2 do\n"
    "  if ok == 1 or ARGV[i] ~= 'record' then\n"
    "    h[#h + 1] = ARGV[i]\n"
    "    h[#h + 1] = ARGV[i + 1]\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], unpack(h))\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
    "if len > 0 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end\n"
    "redis.call('ZADD', KEYS[3], now, ARGV[2])\n"
    /* the policy layer's concurrent-call lease is refreshed here */
    "return {ok, len}\n";


ngx_http_orbis_pg_query_t *
ngx_http_orbis_call_save(const char *record, size_t len,
    ngx_http_orbis_pg_handler_pt handler, void *data)
{
    ngx_str_t                   params[1];
    ngx_uint_t                  status;
    ngx_http_orbis_pg_query_t  *q;

    params[0].data = (u_char *) record;
    params[0].len = len;

    /* the pool copies the parameters */
    q = ngx_http_orbis_pg_query(ngx_http_orbis_worker->pg,
                                "SELECT orbis_save_conversation($1::jsonb)",
                                1, params, handler, data, &status);

    if (q == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "orbis stream: cannot save a call now: %s",
                      ngx_http_orbis_pg_status_text(status));
    }

    return q;
}


ngx_int_t
ngx_http_orbis_call_save_result(PGresult *res, ngx_uint_t status,
    const char *id, ngx_log_t *log)
{
    char  *state, *outcome;

    if (status != NGX_HTTP_ORBIS_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "orbis stream: saving a call failed: %s (session %s)",
                      ngx_http_orbis_pg_status_text(status), id);
        return NGX_ERROR;
    }

    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        outcome = (PQntuples(res) == 1) ? PQgetvalue(res, 0, 0) : "";

        if (ngx_strcmp(outcome, "replaced") == 0) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "orbis stream %s: the final record replaced the "
                          "one the sweeper had saved", id);
        }

        return NGX_OK;
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "orbis stream: saving a call failed (%s): %s (session %s)",
                  state ? state : "-", PQresultErrorMessage(res), id);

    /* data and integrity errors will not go away by trying again */

    if (state != NULL && (ngx_strncmp(state, "22", 2) == 0
                          || ngx_strncmp(state, "23", 2) == 0))
    {
        return NGX_DECLINED;
    }

    return NGX_ERROR;
}


ngx_int_t
ngx_http_orbis_call_record_text(json_t *record,
    const orbis_record_opts_t *opts, const char *id, ngx_log_t *log,
    char **text, size_t *len)
{
    json_t       *norm;
    orbis_rc_t    rc;
    orbis_err_t   err;

    *text = NULL;

    rc = orbis_record_normalize(record, opts, &norm, &err);

    if (rc != ORBIS_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "orbis stream %s: the record cannot be saved: %s",
                      id, err.msg);
        return (rc == ORBIS_ERR_NOMEM) ? NGX_ERROR : NGX_DECLINED;
    }

    *text = json_dumps(norm, JSON_COMPACT);
    json_decref(norm);

    if (*text == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "orbis stream %s: out of memory", id);
        return NGX_ERROR;
    }

    *len = ngx_strlen(*text);

    return NGX_OK;
}


/* fire and forget: a lost write only makes the state a little older */

ngx_int_t
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


ngx_int_t
ngx_http_orbis_call_eval(const char *script, size_t len, ngx_uint_t nkeys,
    ngx_uint_t argc, const char **argv, size_t *lens,
    ngx_http_orbis_redis_handler_pt handler, void *data,
    ngx_http_orbis_redis_cmd_t **cmd)
{
    u_char  n[NGX_INT_T_LEN];

    /* the command is formatted at once: n need not outlive the call */

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = script;
    lens[1] = len;
    argv[2] = (const char *) n;
    lens[2] = ngx_sprintf(n, "%ui", nkeys) - n;

    return ngx_http_orbis_call_redis(argc, argv, lens, handler, data, cmd);
}


size_t
ngx_http_orbis_call_key(u_char *buf, const char *id, ngx_uint_t turns)
{
    return (turns ? ngx_snprintf(buf, NGX_HTTP_ORBIS_CALL_KEY_LEN,
                                 "session:%s" NGX_HTTP_ORBIS_CALL_TURNS_SUFFIX,
                                 id)
                  : ngx_snprintf(buf, NGX_HTTP_ORBIS_CALL_KEY_LEN,
                                 "session:%s", id))
           - buf;
}


void
ngx_http_orbis_call_store_live(ngx_http_orbis_call_t *st,
    ngx_uint_t with_record)
{
    u_char       key[NGX_HTTP_ORBIS_CALL_KEY_LEN];
    u_char       list[NGX_HTTP_ORBIS_CALL_KEY_LEN], worker[NGX_INT_T_LEN + 1];
    u_char       started[NGX_INT64_LEN + 1], last[NGX_INT64_LEN + 1];
    u_char       base[NGX_INT64_LEN + 1], nf[NGX_INT_T_LEN + 1];
    char        *hb, *rec, *items[NGX_HTTP_ORBIS_CALL_BEAT_MAX];
    json_t      *j;
    size_t       lens[NGX_HTTP_ORBIS_CALL_BEAT_ARGS
                      + NGX_HTTP_ORBIS_CALL_BEAT_MAX];
    size_t       ilens[NGX_HTTP_ORBIS_CALL_BEAT_MAX], nitems, i, pairs;
    size_t       settled;
    ngx_uint_t   n;
    ngx_time_t  *tp;
    const char  *argv[NGX_HTTP_ORBIS_CALL_BEAT_ARGS
                      + NGX_HTTP_ORBIS_CALL_BEAT_MAX];

    if (st->beat_cmd != NULL) {
        /* the last beat is still on its way: Redis is slow, not this;
         * the next beat takes this one's changes */
        st->beat_resend |= (with_record != 0);
        return;
    }

    tp = ngx_timeofday();

    j = orbis_session_heartbeat_json(st->session,
                                     (int64_t) tp->sec * 1000 + tp->msec);
    hb = (j != NULL) ? json_dumps(j, JSON_COMPACT) : NULL;

    /* the times on their own too, for people looking at Redis */
    *ngx_sprintf(started, "%L", (int64_t) json_integer_value(
                                    json_object_get(j, "startedMs"))) = '\0';
    *ngx_sprintf(last, "%L", (int64_t) json_integer_value(
                                 json_object_get(j, "lastActivityMs"))) = '\0';

    json_decref(j);

    rec = NULL;
    nitems = 0;

    if (with_record || st->beat_resend) {
        j = orbis_session_record_tail_json(st->session, st->beat_turns);
        settled = orbis_session_turns_final(st->session);
        settled = (settled > st->beat_turns) ? settled - st->beat_turns : 0;

        if (j != NULL
            && ngx_http_orbis_call_beat_split(j, settled, items, ilens,
                                              &nitems)
               == NGX_OK)
        {
            rec = json_dumps(j, JSON_COMPACT);
        }

        json_decref(j);

        if (rec == NULL) {
            for (i = 0; i < nitems; i++) {
                orbis_free(items[i]);
            }

            nitems = 0;
        }
    }

    n = 3;
    pairs = 0;

    argv[n] = (const char *) key;
    lens[n++] = ngx_http_orbis_call_key(key, st->id, 0);
    argv[n] = (const char *) list;
    lens[n++] = ngx_http_orbis_call_key(list, st->id, 1);
    argv[n] = NGX_HTTP_ORBIS_CALL_LIVE_KEY;
    lens[n++] = sizeof(NGX_HTTP_ORBIS_CALL_LIVE_KEY) - 1;
    argv[n] = NGX_HTTP_ORBIS_CALL_STATE_TTL;
    lens[n++] = sizeof(NGX_HTTP_ORBIS_CALL_STATE_TTL) - 1;
    argv[n] = st->id;
    lens[n++] = ngx_strlen(st->id);
    argv[n] = (const char *) base;
    lens[n++] = ngx_sprintf(base, "%uz", st->beat_turns) - base;
    argv[n] = (const char *) nf;
    n++;

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
    argv[n] = "started";
    lens[n++] = 7;
    argv[n] = (const char *) started;
    lens[n++] = ngx_strlen(started);
    argv[n] = "last";
    lens[n++] = 4;
    argv[n] = (const char *) last;
    lens[n++] = ngx_strlen(last);
    pairs = 6;

    if (hb != NULL) {
        argv[n] = "state";
        lens[n++] = 5;
        argv[n] = hb;
        lens[n++] = ngx_strlen(hb);
        pairs++;
    }

    if (rec != NULL) {
        argv[n] = "record";
        lens[n++] = 6;
        argv[n] = rec;
        lens[n++] = ngx_strlen(rec);
        pairs++;
    }

    lens[9] = ngx_sprintf(nf, "%uz", pairs) - nf;

    for (i = 0; i < nitems; i++) {
        argv[n] = items[i];
        lens[n++] = ilens[i];
    }

    st->beat_sent = st->beat_turns + nitems;
    st->beat_resend = 0;

    if (ngx_http_orbis_call_eval(ngx_http_orbis_call_beat_lua,
                                 sizeof(ngx_http_orbis_call_beat_lua) - 1,
                                 3, n, argv, lens,
                                 ngx_http_orbis_call_beaten, st,
                                 &st->beat_cmd)
        != NGX_OK)
    {
        /* Redis is down: the next beat sends the record again */
        st->beat_resend = (rec != NULL);
    }

    orbis_free(hb);
    orbis_free(rec);

    for (i = 0; i < nitems; i++) {
        orbis_free(items[i]);
    }
}


/*
 * The record's tail as a beat sends it: the settled turns at its front go
 * to the list when enough of them wait (removed from tail, which then
 * starts later), the rest stays in the record field.
 */

static ngx_int_t
ngx_http_orbis_call_beat_split(json_t *tail, size_t settled, char **items,
    size_t *lens, size_t *n)
{
    size_t   i, k, bytes;
    json_t  *turns, *from;

    *n = 0;

    turns = json_object_get(tail, "turns");
    from = json_object_get(tail, "turnsFrom");

    if (!json_is_array(turns) || !json_is_integer(from)) {
        return NGX_ERROR;
    }

    k = ngx_min(settled, json_array_size(turns));
    k = ngx_min(k, NGX_HTTP_ORBIS_CALL_BEAT_MAX);
    bytes = 0;

    for (i = 0; i < k; i++) {
        items[i] = json_dumps(json_array_get(turns, i), JSON_COMPACT);

        if (items[i] == NULL) {
            goto failed;
        }

        lens[i] = ngx_strlen(items[i]);
        bytes += lens[i];
    }

    if (k < NGX_HTTP_ORBIS_CALL_BEAT_TURNS
        && bytes < NGX_HTTP_ORBIS_CALL_BEAT_BYTES)
    {
        /* not worth a push yet: they stay in the record field */
        for (i = 0; i < k; i++) {
            orbis_free(items[i]);
        }

        return NGX_OK;
    }

    for (i = 0; i < k; i++) {
        if (json_array_remove(turns, 0) != 0) {
            goto failed;
        }
    }

    if (json_object_set_new(tail, "turnsFrom",
                            json_integer(json_integer_value(from)
                                         + (json_int_t) k))
        != 0)
    {
        goto failed;
    }

    *n = k;

    return NGX_OK;

failed:

    while (i > 0) {
        orbis_free(items[--i]);
    }

    return NGX_ERROR;
}


static void
ngx_http_orbis_call_beaten(void *data, redisReply *reply, ngx_uint_t status)
{
    ngx_http_orbis_call_t  *st = data;

    st->beat_cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        /* not known to be there: the next beat sends it again */
        st->beat_resend = 1;
        return;
    }

    if (reply->element[0]->integer == 1) {
        st->beat_turns = st->beat_sent;
        return;
    }

    /* the list is shorter than it should be: send again from its end */

    ngx_log_error(NGX_LOG_WARN, st->log, 0,
                  "orbis stream %s: Redis had %L of the call's %uz settled "
                  "turns; sending them again", st->id,
                  (int64_t) reply->element[1]->integer, st->beat_turns);

    if (reply->element[1]->integer >= 0
        && (size_t) reply->element[1]->integer < st->beat_turns)
    {
        st->beat_turns = (size_t) reply->element[1]->integer;
    }

    st->beat_resend = 1;
}


void
ngx_http_orbis_call_store_stop(ngx_http_orbis_call_t *st)
{
    if (st->beat_cmd != NULL) {
        ngx_http_orbis_redis_cancel(st->beat_cmd);
        st->beat_cmd = NULL;
    }
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
    u_char                       key[NGX_HTTP_ORBIS_CALL_KEY_LEN];
    u_char                       list[NGX_HTTP_ORBIS_CALL_KEY_LEN];
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

    /* the policy layer's concurrent-call lease is released here */

    argv[0] = "DEL";
    lens[0] = 3;
    argv[1] = (const char *) key;
    lens[1] = ngx_http_orbis_call_key(key, id, 0);
    argv[2] = (const char *) list;
    lens[2] = ngx_http_orbis_call_key(list, id, 1);

    cmd = NULL;

    (void) ngx_http_orbis_call_redis(3, argv, lens, handler, data, &cmd);

    return cmd;
}
