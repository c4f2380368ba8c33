
/*
 * Copyright (C) Orbis
 *
 * The sweeper: saves the calls whose worker stopped sending heartbeats
 * (it died, or its node did), and the finished calls a worker parked in
 * Redis because Postgres would not take them (heartbeat 0).
 *
 * It runs in every worker of every node, one round per
 * orbis_stream_sweep_interval in the whole fleet (a Redis lock).  A round
 * lists up to NGX_HTTP_ORBIS_SWEEP_BATCH due calls, oldest heartbeat
 * first, judged on Redis's clock (the heartbeats are Redis's time too), and
 * saves each from what Redis kept: the record field and the list of
 * settled turns, put together and normalised by liborbiscore
 * (orbiscore/record.h), through orbis_save_conversation().
 *
 * A call that fails (its save times out, the database refuses it, or it
 * is too large to read) does not hold the others up: its attempts are
 * counted in its hash (sweep_attempts), it is moved back in the queue by
 * a backoff that doubles up to NGX_HTTP_ORBIS_SWEEP_BACKOFF_MAX, the
 * round goes on with the next, and from NGX_HTTP_ORBIS_SWEEP_ALERT_AFTER
 * attempts on (at once for a record too large to read) the error log
 * says so at the alert level.  Of a list of settled turns longer than a
 * record can keep, only the first ORBIS_RECORD_MAX_TURNS are read, and
 * the record is saved truncated.  Only a database that cannot be reached at
 * all ends the round early.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"
#include "ngx_http_orbis_jobs.h"


#define NGX_HTTP_ORBIS_SWEEP_BATCH        "16"
#define NGX_HTTP_ORBIS_SWEEP_ALERT_AFTER  3
#define NGX_HTTP_ORBIS_SWEEP_BACKOFF_MAX  600000   /* ms */


typedef struct {
    char                               id[NGX_HTTP_ORBIS_CALL_ID_LEN + 1];
    ngx_uint_t                         attempts;   /* before this round */
    size_t                             record_len;
    size_t                             turns;
    unsigned                           exists:1;
} ngx_http_orbis_sweep_item_t;


typedef struct {
    ngx_event_t                        ev;
    ngx_http_orbis_call_main_conf_t   *smcf;

    /* the round in flight */
    ngx_pool_t                        *pool;
    ngx_array_t                       *due;        /* of sweep_item_t */
    ngx_uint_t                         next;
    ngx_http_orbis_redis_cmd_t        *cmd;
    ngx_http_orbis_pg_query_t         *query;
    unsigned                           sweeping:1;
} ngx_http_orbis_sweeper_t;


static void ngx_http_orbis_sweeper_handler(ngx_event_t *ev);
static void ngx_http_orbis_sweeper_locked(void *data, redisReply *reply,
    ngx_uint_t status);
static void ngx_http_orbis_sweeper_listed(void *data, redisReply *reply,
    ngx_uint_t status);
static void ngx_http_orbis_sweeper_next(ngx_http_orbis_sweeper_t *sw);
static void ngx_http_orbis_sweeper_fetched(void *data, redisReply *reply,
    ngx_uint_t status);
static void ngx_http_orbis_sweeper_saved(void *data, PGresult *res,
    ngx_uint_t status);
static void ngx_http_orbis_sweeper_failed(ngx_http_orbis_sweeper_t *sw,
    const char *why);
static void ngx_http_orbis_sweeper_drop(ngx_http_orbis_sweeper_t *sw);
static void ngx_http_orbis_sweeper_end(ngx_http_orbis_sweeper_t *sw);
static ngx_msec_t ngx_http_orbis_sweeper_backoff(
    ngx_http_orbis_sweeper_t *sw, ngx_uint_t attempts);


static ngx_http_orbis_sweeper_t  *ngx_http_orbis_sweeper;


/*
 * The due calls, on Redis's clock: {id, attempts, record bytes, settled
 * turns, exists} each.  KEYS: sessions:live.  ARGV: heartbeat timeout,
 * batch.
 */

static const char  ngx_http_orbis_sweeper_list_lua[] =
    NGX_HTTP_ORBIS_CALL_LUA_NOW
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',\n"
    "                       now - tonumber(ARGV[1]), 'LIMIT', 0, ARGV[2])\n"
    "local out = {}\n"
    "for _, id in ipairs(due) do\n"
    "  local k = 'session:' .. id\n"
    "  local a, r, n, e = 0, 0, 0, 0\n"
    "  if redis.call('TYPE', k).ok == 'hash' then\n"
    "    e = 1\n"
    "    a = tonumber(redis.call('HGET', k, 'sweep_attempts') or '0') or 0\n"
    "    r = redis.call('HSTRLEN', k, 'record')\n"
    "  end\n"
    "  if redis.call('TYPE', k .. ':turns').ok == 'list' then\n"
    "    n = redis.call('LLEN', k .. ':turns')\n"
    "  end\n"
    "  out[#out + 1] = {id, a, r, n, e}\n"
    "end\n"
    "return out\n";


/*
 * One call's state: {record, key, heartbeat, {settled turns}}, at most
 * ARGV[1] turns (more could not be kept: the record is then truncated).
 */

static const char  ngx_http_orbis_sweeper_fetch_lua[] =
    "if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then\n"
    "  return {false, false, false, {}}\n"
    "end\n"
    "local l = {}\n"
    "if redis.call('TYPE', KEYS[2]).ok == 'list' then\n"
    "  l = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)\n"
    "end\n"
    "return {redis.call('HGET', KEYS[1], 'record') or false,\n"
    "        redis.call('HGET', KEYS[1], 'key') or false,\n"
    "        redis.call('HGET', KEYS[1], 'heartbeat') or false, l}\n";


/*
 * A failed attempt: counted, and the call due again after the backoff
 * (ARGV: its id, heartbeat timeout, backoff), on Redis's clock; nothing
 * if the call was saved meanwhile.
 */

static const char  ngx_http_orbis_sweeper_failed_lua[] =
    "if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end\n"
    NGX_HTTP_ORBIS_CALL_LUA_NOW
    "local a = redis.call('HINCRBY', KEYS[1], 'sweep_attempts', 1)\n"
    "redis.call('ZADD', KEYS[2], 'XX',\n"
    "           now - tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])\n"
    "return a\n";


ngx_int_t
ngx_http_orbis_sweeper_init_process(ngx_cycle_t *cycle)
{
    ngx_http_orbis_sweeper_t         *sw;
    ngx_http_orbis_call_main_conf_t  *smcf;

    ngx_http_orbis_sweeper = NULL;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_orbis_call_module);

    if (smcf == NULL || !smcf->used || ngx_http_orbis_worker == NULL) {
        return NGX_OK;
    }

    sw = ngx_pcalloc(cycle->pool, sizeof(ngx_http_orbis_sweeper_t));
    if (sw == NULL) {
        return NGX_ERROR;
    }

    sw->smcf = smcf;
    sw->ev.handler = ngx_http_orbis_sweeper_handler;
    sw->ev.data = sw;
    sw->ev.log = cycle->log;
    sw->ev.cancelable = 1;

    /* spread the workers' first rounds over one interval */
    ngx_add_timer(&sw->ev, smcf->sweep_interval / 2
                           + (ngx_random() % (smcf->sweep_interval / 2 + 1)));

    ngx_http_orbis_sweeper = sw;

    return NGX_OK;
}


void
ngx_http_orbis_sweeper_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_orbis_sweeper_t  *sw;

    sw = ngx_http_orbis_sweeper;

    if (sw == NULL) {
        return;
    }

    if (sw->ev.timer_set) {
        ngx_del_timer(&sw->ev);
    }

    ngx_http_orbis_sweeper = NULL;
}


static void
ngx_http_orbis_sweeper_handler(ngx_event_t *ev)
{
    ngx_http_orbis_sweeper_t  *sw = ev->data;

    u_char       px[NGX_INT_T_LEN], pid[NGX_INT_T_LEN];
    size_t       lens[6];
    const char  *argv[6];

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /* new workers sweep; this one only finishes its calls */
        return;
    }

    ngx_add_timer(&sw->ev, sw->smcf->sweep_interval);

    if (sw->sweeping) {
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
    lens[5] = ngx_sprintf(px, "%M", sw->smcf->sweep_interval) - px;

    if (ngx_http_orbis_call_redis(6, argv, lens,
                                  ngx_http_orbis_sweeper_locked, sw,
                                  &sw->cmd)
        == NGX_OK)
    {
        sw->sweeping = 1;
    }
}


static void
ngx_http_orbis_sweeper_locked(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_sweeper_t  *sw = data;

    u_char       timeout[NGX_INT_T_LEN];
    size_t       lens[6];
    const char  *argv[6];

    sw->cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK
        || reply->type != REDIS_REPLY_STATUS)
    {
        /* another worker has the round */
        ngx_http_orbis_sweeper_end(sw);
        return;
    }

    argv[3] = NGX_HTTP_ORBIS_CALL_LIVE_KEY;
    lens[3] = sizeof(NGX_HTTP_ORBIS_CALL_LIVE_KEY) - 1;
    argv[4] = (const char *) timeout;
    lens[4] = ngx_sprintf(timeout, "%M", sw->smcf->heartbeat_timeout)
              - timeout;
    argv[5] = NGX_HTTP_ORBIS_SWEEP_BATCH;
    lens[5] = sizeof(NGX_HTTP_ORBIS_SWEEP_BATCH) - 1;

    if (ngx_http_orbis_call_eval(ngx_http_orbis_sweeper_list_lua,
                                 sizeof(ngx_http_orbis_sweeper_list_lua) - 1,
                                 1, 6, argv, lens,
                                 ngx_http_orbis_sweeper_listed, sw,
                                 &sw->cmd)
        != NGX_OK)
    {
        ngx_http_orbis_sweeper_end(sw);
    }
}


static void
ngx_http_orbis_sweeper_listed(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_sweeper_t  *sw = data;

    size_t                        i;
    redisReply                   *e;
    ngx_http_orbis_sweep_item_t  *it;

    sw->cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0)
    {
        if (status == NGX_HTTP_ORBIS_REDIS_OK
            && reply->type == REDIS_REPLY_ERROR)
        {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "orbis sweeper: listing the due calls failed: %s",
                          reply->str);
        }

        ngx_http_orbis_sweeper_end(sw);
        return;
    }

    sw->pool = ngx_create_pool(1024, ngx_cycle->log);
    if (sw->pool == NULL) {
        ngx_http_orbis_sweeper_end(sw);
        return;
    }

    sw->due = ngx_array_create(sw->pool, reply->elements,
                               sizeof(ngx_http_orbis_sweep_item_t));
    if (sw->due == NULL) {
        ngx_http_orbis_sweeper_end(sw);
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 5
            || e->element[0]->type != REDIS_REPLY_STRING
            || e->element[0]->len != NGX_HTTP_ORBIS_CALL_ID_LEN
            || e->element[1]->type != REDIS_REPLY_INTEGER
            || e->element[2]->type != REDIS_REPLY_INTEGER
            || e->element[3]->type != REDIS_REPLY_INTEGER
            || e->element[4]->type != REDIS_REPLY_INTEGER)
        {
            continue;
        }

        it = ngx_array_push(sw->due);
        if (it == NULL) {
            break;
        }

        ngx_cpystrn((u_char *) it->id, (u_char *) e->element[0]->str,
                    sizeof(it->id));
        it->attempts = (ngx_uint_t) ngx_max(e->element[1]->integer, 0);
        it->record_len = (size_t) ngx_max(e->element[2]->integer, 0);
        it->turns = (size_t) ngx_max(e->element[3]->integer, 0);
        it->exists = (e->element[4]->integer == 1);
    }

    sw->next = 0;

    ngx_http_orbis_sweeper_next(sw);
}


static void
ngx_http_orbis_sweeper_next(ngx_http_orbis_sweeper_t *sw)
{
    u_char                        key[NGX_HTTP_ORBIS_CALL_KEY_LEN];
    u_char                        list[NGX_HTTP_ORBIS_CALL_KEY_LEN];
    u_char                        max[NGX_INT_T_LEN];
    size_t                        lens[6];
    const char                   *argv[6];
    ngx_http_orbis_sweep_item_t  *it;

    for ( ;; ) {
        if (sw->due == NULL || sw->next >= sw->due->nelts
            || ngx_terminate || ngx_http_orbis_worker == NULL)
        {
            ngx_http_orbis_sweeper_end(sw);
            return;
        }

        it = (ngx_http_orbis_sweep_item_t *) sw->due->elts + sw->next;

        if (!it->exists || it->record_len == 0) {
            /* the session never got a record in: nothing to save */
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "orbis sweeper: session %s has no record, "
                          "dropped", it->id);
            ngx_http_orbis_sweeper_drop(sw);
            continue;
        }

        if (it->record_len > ORBIS_RECORD_MAX_TEXT) {
            /* reading it could only stall Redis for everyone */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "orbis sweeper: session %s cannot be saved: its "
                          "record (%uz bytes) is over the limit; skipped "
                          "after %ui attempts, next in %M s",
                          it->id, it->record_len,
                          it->attempts + 1,
                          ngx_http_orbis_sweeper_backoff(sw,
                                                         it->attempts + 1)
                          / 1000);
            ngx_http_orbis_sweeper_failed(sw, NULL);
            continue;
        }

        break;
    }

    argv[3] = (const char *) key;
    lens[3] = ngx_http_orbis_call_key(key, it->id, 0);
    argv[4] = (const char *) list;
    lens[4] = ngx_http_orbis_call_key(list, it->id, 1);
    argv[5] = (const char *) max;
    lens[5] = ngx_sprintf(max, "%d", ORBIS_RECORD_MAX_TURNS) - max;

    if (ngx_http_orbis_call_eval(ngx_http_orbis_sweeper_fetch_lua,
                                 sizeof(ngx_http_orbis_sweeper_fetch_lua) - 1,
                                 2, 6, argv, lens,
                                 ngx_http_orbis_sweeper_fetched, sw,
                                 &sw->cmd)
        != NGX_OK)
    {
        ngx_http_orbis_sweeper_end(sw);
    }
}


static void
ngx_http_orbis_sweeper_fetched(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_sweeper_t  *sw = data;

    char                          key_id[NGX_HTTP_ORBIS_CALL_ID_LEN + 1];
    char                         *text;
    size_t                        i, len;
    json_t                       *head;
    ngx_int_t                     trc;
    orbis_rc_t                    rc;
    redisReply                   *rec, *key, *beat, *turns;
    orbis_err_t                   err;
    json_error_t                  jerr;
    orbis_slice_t                *settled;
    orbis_record_opts_t           o;
    ngx_http_orbis_sweep_item_t  *it;

    sw->cmd = NULL;

    if (status != NGX_HTTP_ORBIS_REDIS_OK || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 4)
    {
        ngx_http_orbis_sweeper_end(sw);
        return;
    }

    it = (ngx_http_orbis_sweep_item_t *) sw->due->elts + sw->next;

    rec = reply->element[0];
    key = reply->element[1];
    beat = reply->element[2];
    turns = reply->element[3];

    if (rec->type != REDIS_REPLY_STRING) {
        /* saved and forgotten meanwhile, by its worker */
        sw->next++;
        ngx_http_orbis_sweeper_next(sw);
        return;
    }

    head = json_loadb(rec->str, rec->len, JSON_ALLOW_NUL, &jerr);

    settled = NULL;
    len = (turns->type == REDIS_REPLY_ARRAY) ? turns->elements : 0;

    if (len > 0) {
        settled = ngx_alloc(len * sizeof(orbis_slice_t), ngx_cycle->log);
        if (settled == NULL) {
            json_decref(head);
            ngx_http_orbis_sweeper_end(sw);
            return;
        }

        for (i = 0; i < len; i++) {
            settled[i].data = (const uint8_t *) turns->element[i]->str;
            settled[i].len = (turns->element[i]->type == REDIS_REPLY_STRING)
                             ? turns->element[i]->len : 0;
        }
    }

    rc = (head != NULL) ? orbis_record_assemble(head, settled, len, &err)
                        : ORBIS_ERR_INVALID;

    if (settled != NULL) {
        ngx_free(settled);
    }

    if (rc == ORBIS_ERR_NOMEM) {
        json_decref(head);
        ngx_http_orbis_sweeper_end(sw);
        return;
    }

    if (rc != ORBIS_OK) {
        json_decref(head);

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "orbis sweeper: session %s has a bad record, dropped",
                      it->id);
        ngx_http_orbis_sweeper_drop(sw);
        ngx_http_orbis_sweeper_next(sw);
        return;
    }

    key_id[0] = '\0';

    if (key->type == REDIS_REPLY_STRING
        && key->len == NGX_HTTP_ORBIS_CALL_ID_LEN)
    {
        ngx_cpystrn((u_char *) key_id, (u_char *) key->str, sizeof(key_id));
    }

    o.key_id = key_id;
    o.heartbeat_ms = (beat->type == REDIS_REPLY_STRING)
                     ? (int64_t) ngx_atoof((u_char *) beat->str, beat->len)
                     : -1;
    o.source = ORBIS_RECORD_BY_SWEEPER;
    o.attempts = (uint32_t) it->attempts + 1;

    trc = ngx_http_orbis_call_record_text(head, &o, it->id, ngx_cycle->log,
                                          &text, &len);
    json_decref(head);

    if (trc == NGX_ERROR) {
        ngx_http_orbis_sweeper_end(sw);
        return;
    }

    if (trc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "orbis sweeper: session %s has a bad record, dropped",
                      it->id);
        ngx_http_orbis_sweeper_drop(sw);
        ngx_http_orbis_sweeper_next(sw);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "orbis sweeper: saving session %s, its worker stopped "
                  "sending heartbeats (attempt %ui)", it->id,
                  it->attempts + 1);

    sw->query = ngx_http_orbis_call_save(text, len,
                                         ngx_http_orbis_sweeper_saved, sw);
    orbis_free(text);

    if (sw->query == NULL) {
        /* the database cannot be reached: the next round */
        ngx_http_orbis_sweeper_end(sw);
    }
}


static void
ngx_http_orbis_sweeper_saved(void *data, PGresult *res, ngx_uint_t status)
{
    ngx_http_orbis_sweeper_t  *sw = data;

    ngx_int_t                     rc;
    ngx_http_orbis_sweep_item_t  *it;

    sw->query = NULL;

    if (ngx_terminate || ngx_http_orbis_worker == NULL) {
        return;
    }

    it = (ngx_http_orbis_sweep_item_t *) sw->due->elts + sw->next;

    rc = ngx_http_orbis_call_save_result(res, status, it->id,
                                         ngx_cycle->log);

    switch (rc) {

    case NGX_OK:
        ngx_http_orbis_sweeper_drop(sw);
        break;

    case NGX_DECLINED:
        /* the database refuses it as it is: tried again later, then
         * given up */
        if (it->attempts + 1 >= NGX_HTTP_ORBIS_SWEEP_ALERT_AFTER) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "orbis sweeper: session %s cannot be saved, the "
                          "database refused it %ui times; dropped",
                          it->id, it->attempts + 1);
            ngx_http_orbis_sweeper_drop(sw);
            break;
        }

        ngx_http_orbis_sweeper_failed(sw, "the database refused it");
        break;

    default:
        if (status == NGX_HTTP_ORBIS_PG_UNAVAILABLE
            || status == NGX_HTTP_ORBIS_PG_BUSY)
        {
            /* not this call's fault: the next round tries again */
            ngx_http_orbis_sweeper_end(sw);
            return;
        }

        ngx_http_orbis_sweeper_failed(sw,
                                      (status == NGX_HTTP_ORBIS_PG_TIMEOUT)
                                      ? "its save timed out"
                                      : "its save failed");
        break;
    }

    ngx_http_orbis_sweeper_next(sw);
}


/* the current call failed: counted, put back later, and the round goes on */

static void
ngx_http_orbis_sweeper_failed(ngx_http_orbis_sweeper_t *sw, const char *why)
{
    u_char                        key[NGX_HTTP_ORBIS_CALL_KEY_LEN];
    u_char                        timeout[NGX_INT_T_LEN];
    u_char                        back[NGX_INT_T_LEN];
    size_t                        lens[8];
    ngx_msec_t                    b;
    ngx_uint_t                    level;
    const char                   *argv[8];
    ngx_http_orbis_sweep_item_t  *it;

    it = (ngx_http_orbis_sweep_item_t *) sw->due->elts + sw->next;
    sw->next++;

    b = ngx_http_orbis_sweeper_backoff(sw, it->attempts + 1);

    level = (it->attempts + 1 >= NGX_HTTP_ORBIS_SWEEP_ALERT_AFTER)
            ? NGX_LOG_ALERT : NGX_LOG_ERR;

    if (why != NULL) {
        ngx_log_error(level, ngx_cycle->log, 0,
                      "orbis sweeper: session %s could not be saved (%s), "
                      "attempt %ui; skipped, next in %M s",
                      it->id, why, it->attempts + 1, b / 1000);
    }

    argv[3] = (const char *) key;
    lens[3] = ngx_http_orbis_call_key(key, it->id, 0);
    argv[4] = NGX_HTTP_ORBIS_CALL_LIVE_KEY;
    lens[4] = sizeof(NGX_HTTP_ORBIS_CALL_LIVE_KEY) - 1;
    argv[5] = it->id;
    lens[5] = ngx_strlen(it->id);
    argv[6] = (const char *) timeout;
    lens[6] = ngx_sprintf(timeout, "%M", sw->smcf->heartbeat_timeout)
              - timeout;
    argv[7] = (const char *) back;
    lens[7] = ngx_sprintf(back, "%M", b) - back;

    (void) ngx_http_orbis_call_eval(ngx_http_orbis_sweeper_failed_lua,
                                    sizeof(ngx_http_orbis_sweeper_failed_lua)
                                    - 1, 2, 8, argv, lens, NULL, NULL, NULL);
}


static void
ngx_http_orbis_sweeper_drop(ngx_http_orbis_sweeper_t *sw)
{
    ngx_http_orbis_sweep_item_t  *it;

    it = (ngx_http_orbis_sweep_item_t *) sw->due->elts + sw->next;
    sw->next++;

    (void) ngx_http_orbis_call_store_forget_id(it->id, NULL, NULL);
}


static void
ngx_http_orbis_sweeper_end(ngx_http_orbis_sweeper_t *sw)
{
    if (sw->pool != NULL) {
        ngx_destroy_pool(sw->pool);
        sw->pool = NULL;
    }

    sw->due = NULL;
    sw->next = 0;
    sw->sweeping = 0;
}


/* twice the interval, doubling with each attempt, up to ten minutes */

static ngx_msec_t
ngx_http_orbis_sweeper_backoff(ngx_http_orbis_sweeper_t *sw,
    ngx_uint_t attempts)
{
    ngx_msec_t  b;

    b = ngx_max(sw->smcf->sweep_interval, 1) * 2;

    while (--attempts > 0 && b < NGX_HTTP_ORBIS_SWEEP_BACKOFF_MAX) {
        b *= 2;
    }

    return ngx_min(b, NGX_HTTP_ORBIS_SWEEP_BACKOFF_MAX);
}
