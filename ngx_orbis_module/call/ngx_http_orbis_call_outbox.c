/*
 * Copyright (C) Orbis
 *
 * The outbox: finished calls on their way to Postgres.
 *
 * A call that has ended hands its final record here and its stream is free
 * to go.  The outbox keeps a bounded number of statements in flight, so a
 * burst of endings waits here instead of overflowing the pool's wait queue
 * and failing.  A record Postgres does not take (down, too slow, a pool
 * that stays full) is parked in Redis, and only the reply from Redis
 * confirms that, for the fleet's sweeper to write later.  A record that
 * neither takes stays here and is tried again, with backoff, for as long
 * as the worker lives; a quitting worker stays for it, since the retry
 * timer is not cancelable, until worker_shutdown_timeout.  While the
 * outbox is long, new calls are refused (see the handshake), so its length
 * is bounded by the calls that were already running.
 *
 * While a record waits here its call is still alive for the sweeper: the
 * outbox refreshes the heartbeats of the calls it holds (on Redis's
 * clock), so the sweeper does not save the older copy Redis kept.  If it
 * did anyway (the worker was stalled), the record saved from here
 * replaces that swept copy (orbis_save_conversation()).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_call.h"


#define NGX_HTTP_ORBIS_OUTBOX_BACKOFF_MIN  250
#define NGX_HTTP_ORBIS_OUTBOX_BACKOFF_MAX  10000

/* while nothing is due, the timer only keeps a quitting worker alive */
#define NGX_HTTP_ORBIS_OUTBOX_GUARD        1000


typedef struct {
    ngx_queue_t                   queue;
    ngx_queue_t                   all;
    ngx_http_orbis_pg_query_t    *query;
    ngx_http_orbis_redis_cmd_t   *cmd;
    char                         *text;      /* the record (orbis_free) */
    size_t                        len;
    char                         *norm;      /* normalised (orbis_free) */
    size_t                        norm_len;
    ngx_uint_t                    attempts;
    char                          id[NGX_HTTP_ORBIS_CALL_ID_LEN + 1];
    char                          key_id[NGX_HTTP_ORBIS_CALL_ID_LEN + 1];
} ngx_http_orbis_outbox_item_t;


static void ngx_http_orbis_outbox_run(ngx_http_orbis_call_worker_t *w);
static void ngx_http_orbis_outbox_saved(void *data, PGresult *res,
    ngx_uint_t status);
static void ngx_http_orbis_outbox_forget(ngx_http_orbis_call_worker_t *w,
    ngx_http_orbis_outbox_item_t *it);
static void ngx_http_orbis_outbox_forgotten(void *data, redisReply *reply,
    ngx_uint_t status);
static void ngx_http_orbis_outbox_park(ngx_http_orbis_outbox_item_t *it);
static void ngx_http_orbis_outbox_parked(void *data, redisReply *reply,
    ngx_uint_t status);
static void ngx_http_orbis_outbox_retry(ngx_http_orbis_call_worker_t *w,
    ngx_http_orbis_outbox_item_t *it);
static void ngx_http_orbis_outbox_done(ngx_http_orbis_call_worker_t *w,
    ngx_http_orbis_outbox_item_t *it);
static ngx_http_orbis_call_worker_t *ngx_http_orbis_outbox_worker(void);
static void ngx_http_orbis_outbox_beat_handler(ngx_event_t *ev);
static void ngx_http_orbis_outbox_beaten(void *data, redisReply *reply,
    ngx_uint_t status);


/*
 * Atomically: the record (whole: its settled turns in the list are not
 * needed any more), its key, a TTL, and due at once for the sweeper.
 */

static const char  ngx_http_orbis_outbox_park_lua[] =
    "redis.call('HSET', KEYS[1], 'record', ARGV[1], 'key', ARGV[2])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "redis.call('DEL', KEYS[3])\n"
    "redis.call('ZADD', KEYS[2], 0, ARGV[4])\n"
    "return 1\n";


/*
 * The calls in the outbox are alive: each listed call that still has a
 * heartbeat (not parked: score 0) gets Redis's time as its heartbeat.
 */

static const char  ngx_http_orbis_outbox_beat_lua[] =
    NGX_HTTP_ORBIS_CALL_LUA_NOW
    "local n = 0\n"
    "for i = 1, #ARGV do\n"
    "  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])\n"
    "  if s and tonumber(s) > 0 then\n"
    "    redis.call('ZADD', KEYS[1], now, ARGV[i])\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";


/* the most calls one refresh names */
#define NGX_HTTP_ORBIS_OUTBOX_BEAT_MAX  512


void
ngx_http_orbis_outbox_init(ngx_http_orbis_call_worker_t *w,
    ngx_log_t *log)
{
    ngx_http_orbis_main_conf_t  *omcf;

    ngx_queue_init(&w->outbox);
    ngx_queue_init(&w->outbox_all);

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_orbis_module);

    /* half the worker's connections: API requests keep the other half */
    w->outbox_limit = ngx_max(omcf->pg.max_conns / 2, 1);

    w->outbox_ev.handler = ngx_http_orbis_outbox_handler;
    w->outbox_ev.data = w;
    w->outbox_ev.log = log;
    w->outbox_ev.cancelable = 0;

    w->outbox_beat.handler = ngx_http_orbis_outbox_beat_handler;
    w->outbox_beat.data = w;
    w->outbox_beat.log = log;
    w->outbox_beat.cancelable = 1;
}


ngx_int_t
ngx_http_orbis_outbox_add(const char *id, const char *key_id,
    json_t *record)
{
    orbis_record_opts_t              o;
    ngx_http_orbis_call_worker_t    *w;
    ngx_http_orbis_outbox_item_t    *it;

    w = ngx_http_orbis_outbox_worker();
    if (w == NULL) {
        return NGX_ERROR;
    }

    it = ngx_calloc(sizeof(ngx_http_orbis_outbox_item_t), ngx_cycle->log);
    if (it == NULL) {
        return NGX_ERROR;
    }

    o.key_id = key_id;
    o.heartbeat_ms = -1;
    o.source = ORBIS_RECORD_BY_WORKER;
    o.attempts = 1;

    if (ngx_http_orbis_call_record_text(record, &o, id, ngx_cycle->log,
                                        &it->norm, &it->norm_len)
        != NGX_OK)
    {
        ngx_free(it);
        return NGX_ERROR;
    }

    it->text = json_dumps(record, JSON_COMPACT);
    if (it->text == NULL) {
        orbis_free(it->norm);
        ngx_free(it);
        return NGX_ERROR;
    }

    it->len = ngx_strlen(it->text);
    ngx_cpystrn((u_char *) it->id, (u_char *) id, sizeof(it->id));

    if (key_id != NULL) {
        ngx_cpystrn((u_char *) it->key_id, (u_char *) key_id,
                    sizeof(it->key_id));
    }

    ngx_queue_insert_tail(&w->outbox, &it->queue);
    ngx_queue_insert_tail(&w->outbox_all, &it->all);
    w->outbox_len++;

    if (!w->outbox_beat.timer_set) {
        /* at once: the call's last beat may be almost a heartbeat old */
        ngx_add_timer(&w->outbox_beat, 1);
    }

    ngx_http_orbis_outbox_run(w);

    return NGX_OK;
}


ngx_uint_t
ngx_http_orbis_outbox_length(void)
{
    ngx_http_orbis_call_worker_t  *w;

    w = ngx_http_orbis_call_worker;

    return (w != NULL) ? w->outbox_len : 0;
}


void
ngx_http_orbis_outbox_handler(ngx_event_t *ev)
{
    ngx_http_orbis_call_worker_t  *w = ev->data;

    w->outbox_paused = 0;

    ngx_http_orbis_outbox_run(w);
}


/* what a worker that exits without having written everything can say */

void
ngx_http_orbis_outbox_exit(ngx_http_orbis_call_worker_t *w)
{
    if (w->outbox_beat.timer_set) {
        ngx_del_timer(&w->outbox_beat);
    }

    if (w->outbox_beat_cmd != NULL) {
        ngx_http_orbis_redis_cancel(w->outbox_beat_cmd);
        w->outbox_beat_cmd = NULL;
    }

    if (w->outbox_len == 0) {
        return;
    }

    ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                  "orbis stream: the worker exits with %ui finished calls "
                  "that neither Postgres nor Redis took; calls whose live "
                  "state is in Redis are written by the sweeper from their "
                  "last heartbeat", w->outbox_len);
}


static void
ngx_http_orbis_outbox_run(ngx_http_orbis_call_worker_t *w)
{
    ngx_queue_t                   *q;
    ngx_http_orbis_outbox_item_t  *it;

    while (!w->outbox_paused && w->outbox_busy < w->outbox_limit
           && !ngx_queue_empty(&w->outbox))
    {
        q = ngx_queue_head(&w->outbox);
        it = ngx_queue_data(q, ngx_http_orbis_outbox_item_t, queue);

        it->query = ngx_http_orbis_call_save(it->norm, it->norm_len,
                                             ngx_http_orbis_outbox_saved,
                                             it);
        if (it->query == NULL) {
            /* the pool could not even queue it: Redis, or later */
            ngx_queue_remove(q);
            w->outbox_busy++;
            ngx_http_orbis_outbox_park(it);
            continue;
        }

        ngx_queue_remove(q);
        w->outbox_busy++;
    }

    if (w->outbox_len == 0) {
        if (w->outbox_ev.timer_set) {
            ngx_del_timer(&w->outbox_ev);
        }

        return;
    }

    if (!w->outbox_ev.timer_set) {
        ngx_add_timer(&w->outbox_ev, w->outbox_paused
                                     ? w->outbox_backoff
                                     : NGX_HTTP_ORBIS_OUTBOX_GUARD);
    }
}


static void
ngx_http_orbis_outbox_saved(void *data, PGresult *res, ngx_uint_t status)
{
    ngx_http_orbis_outbox_item_t  *it = data;

    ngx_int_t                        rc;
    ngx_http_orbis_call_worker_t  *w;

    it->query = NULL;

    w = ngx_http_orbis_outbox_worker();
    if (w == NULL) {
        return;
    }

    rc = ngx_http_orbis_call_save_result(res, status, it->id,
                                         ngx_cycle->log);

    switch (rc) {

    case NGX_OK:
        w->outbox_backoff = 0;
        ngx_http_orbis_outbox_forget(w, it);
        break;

    case NGX_DECLINED:
        /* a data error: no retry can fix it, and Redis would only loop */
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "orbis stream %s: the call cannot be saved", it->id);
        ngx_http_orbis_outbox_forget(w, it);
        break;

    default:
        ngx_http_orbis_outbox_park(it);
        break;
    }
}


/*
 * The live state goes once the call is written.  The record stays in the
 * outbox until Redis has answered, so a quitting worker does not exit
 * with the commands unsent and leave the call listed as live.
 */

static void
ngx_http_orbis_outbox_forget(ngx_http_orbis_call_worker_t *w,
    ngx_http_orbis_outbox_item_t *it)
{
    it->cmd = ngx_http_orbis_call_store_forget_id(it->id,
                                            ngx_http_orbis_outbox_forgotten,
                                            it);
    if (it->cmd != NULL) {
        return;
    }

    /* Redis is down: the sweeper finds the call written and drops it */
    ngx_http_orbis_outbox_done(w, it);
}


static void
ngx_http_orbis_outbox_forgotten(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_outbox_item_t  *it = data;

    ngx_http_orbis_call_worker_t  *w;

    it->cmd = NULL;

    w = ngx_http_orbis_outbox_worker();
    if (w == NULL) {
        return;
    }

    ngx_http_orbis_outbox_done(w, it);
}


static void
ngx_http_orbis_outbox_park(ngx_http_orbis_outbox_item_t *it)
{
    u_char                           key[NGX_HTTP_ORBIS_CALL_KEY_LEN];
    u_char                           list[NGX_HTTP_ORBIS_CALL_KEY_LEN];
    size_t                           lens[10];
    const char                      *argv[10];
    ngx_http_orbis_call_worker_t  *w;

    w = ngx_http_orbis_call_worker;

    argv[3] = (const char *) key;
    lens[3] = ngx_http_orbis_call_key(key, it->id, 0);
    argv[4] = NGX_HTTP_ORBIS_CALL_LIVE_KEY;
    lens[4] = sizeof(NGX_HTTP_ORBIS_CALL_LIVE_KEY) - 1;
    argv[5] = (const char *) list;
    lens[5] = ngx_http_orbis_call_key(list, it->id, 1);
    argv[6] = it->text;
    lens[6] = it->len;
    argv[7] = it->key_id;
    lens[7] = ngx_strlen(it->key_id);
    argv[8] = NGX_HTTP_ORBIS_CALL_STATE_TTL;
    lens[8] = sizeof(NGX_HTTP_ORBIS_CALL_STATE_TTL) - 1;
    argv[9] = it->id;
    lens[9] = ngx_strlen(it->id);

    it->cmd = NULL;

    if (ngx_http_orbis_call_eval(ngx_http_orbis_outbox_park_lua,
                                 sizeof(ngx_http_orbis_outbox_park_lua) - 1,
                                 3, 10, argv, lens,
                                 ngx_http_orbis_outbox_parked, it, &it->cmd)
        != NGX_OK)
    {
        ngx_http_orbis_outbox_retry(w, it);
    }
}


static void
ngx_http_orbis_outbox_parked(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_outbox_item_t  *it = data;

    ngx_http_orbis_call_worker_t  *w;

    it->cmd = NULL;

    w = ngx_http_orbis_outbox_worker();
    if (w == NULL) {
        return;
    }

    if (status != NGX_HTTP_ORBIS_REDIS_OK
        || reply->type != REDIS_REPLY_INTEGER || reply->integer != 1)
    {
        ngx_http_orbis_outbox_retry(w, it);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "orbis stream %s: the call is parked in Redis for the "
                  "sweeper", it->id);

    ngx_http_orbis_outbox_done(w, it);
}


/*
 * Neither took it.  Failures come together (a database down, a machine
 * saturated), so the whole outbox pauses, not just this record.
 */

static void
ngx_http_orbis_outbox_retry(ngx_http_orbis_call_worker_t *w,
    ngx_http_orbis_outbox_item_t *it)
{
    it->attempts++;
    w->outbox_busy--;

    ngx_queue_insert_tail(&w->outbox, &it->queue);

    w->outbox_backoff = (w->outbox_backoff == 0)
                        ? NGX_HTTP_ORBIS_OUTBOX_BACKOFF_MIN
                        : ngx_min(w->outbox_backoff * 2,
                                  NGX_HTTP_ORBIS_OUTBOX_BACKOFF_MAX);

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "orbis stream %s: neither Postgres nor Redis took the "
                  "finished call (attempt %ui); %ui calls wait, next try "
                  "in %M ms", it->id, it->attempts, w->outbox_len,
                  w->outbox_backoff);

    if (!w->outbox_paused) {
        w->outbox_paused = 1;

        if (w->outbox_ev.timer_set) {
            ngx_del_timer(&w->outbox_ev);
        }
    }

    ngx_http_orbis_outbox_run(w);
}


/* the call left the outbox (saved, parked or forgotten): the next goes */

static void
ngx_http_orbis_outbox_done(ngx_http_orbis_call_worker_t *w,
    ngx_http_orbis_outbox_item_t *it)
{
    w->outbox_busy--;
    w->outbox_len--;

    ngx_queue_remove(&it->all);

    orbis_free(it->text);
    orbis_free(it->norm);
    ngx_free(it);

    ngx_http_orbis_outbox_run(w);
}


/* every half heartbeat while calls wait here */

static void
ngx_http_orbis_outbox_beat_handler(ngx_event_t *ev)
{
    ngx_http_orbis_call_worker_t  *w = ev->data;

    size_t                         lens[3 + NGX_HTTP_ORBIS_OUTBOX_BEAT_MAX];
    ngx_uint_t                     n;
    ngx_queue_t                   *q;
    const char                    *argv[3 + NGX_HTTP_ORBIS_OUTBOX_BEAT_MAX];
    ngx_http_orbis_outbox_item_t  *it;

    if (w->outbox_len == 0 || ngx_terminate
        || ngx_http_orbis_worker == NULL)
    {
        return;
    }

    ngx_add_timer(&w->outbox_beat, ngx_max(w->smcf->heartbeat / 2, 1));

    if (w->outbox_beat_cmd != NULL) {
        return;
    }

    argv[3] = NGX_HTTP_ORBIS_CALL_LIVE_KEY;
    lens[3] = sizeof(NGX_HTTP_ORBIS_CALL_LIVE_KEY) - 1;
    n = 4;

    /* the oldest first: they are the closest to being swept */

    for (q = ngx_queue_head(&w->outbox_all);
         q != ngx_queue_sentinel(&w->outbox_all)
         && n < 3 + NGX_HTTP_ORBIS_OUTBOX_BEAT_MAX;
         q = ngx_queue_next(q))
    {
        it = ngx_queue_data(q, ngx_http_orbis_outbox_item_t, all);
        argv[n] = it->id;
        lens[n++] = ngx_strlen(it->id);
    }

    (void) ngx_http_orbis_call_eval(ngx_http_orbis_outbox_beat_lua,
                                    sizeof(ngx_http_orbis_outbox_beat_lua)
                                    - 1, 1, n, argv, lens,
                                    ngx_http_orbis_outbox_beaten, w,
                                    &w->outbox_beat_cmd);
}


static void
ngx_http_orbis_outbox_beaten(void *data, redisReply *reply,
    ngx_uint_t status)
{
    ngx_http_orbis_call_worker_t  *w = data;

    w->outbox_beat_cmd = NULL;
}


/* NULL once the worker is being torn down: late replies are dropped then */

static ngx_http_orbis_call_worker_t *
ngx_http_orbis_outbox_worker(void)
{
    if (ngx_terminate || ngx_http_orbis_worker == NULL) {
        return NULL;
    }

    return ngx_http_orbis_call_worker;
}
