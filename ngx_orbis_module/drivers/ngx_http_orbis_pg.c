
/*
 * Copyright (C) Orbis
 *
 * A per-worker pool of non-blocking libpq connections driven by nginx's
 * event loop.  Sockets are watched level-triggered: libpq reads at most one
 * buffer per PQconsumeInput(), so an edge-triggered wakeup could be lost.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_orbis_pg.h"
#include "ngx_http_orbis_glue.h"


/*
 * Statements are prepared once per connection, on first use: parsing and
 * planning is a third of the server's work for the API's small queries.
 * They are told apart by the address of their (static) SQL text.
 */
#define NGX_HTTP_ORBIS_PG_PREPARED_MAX  64


typedef enum {
    NGX_HTTP_ORBIS_PGC_CONNECTING = 0,
    NGX_HTTP_ORBIS_PGC_IDLE,
    NGX_HTTP_ORBIS_PGC_BUSY
} ngx_http_orbis_pg_state_e;


struct ngx_http_orbis_pg_conn_s {
    ngx_queue_t                    queue;
    ngx_http_orbis_pg_pool_t      *pool;
    PGconn                        *pg;
    ngx_connection_t              *c;
    ngx_http_orbis_pg_query_t     *query;
    PGresult                      *result;
    ngx_http_orbis_pg_state_e      state;

    const char                    *prepared[NGX_HTTP_ORBIS_PG_PREPARED_MAX];
    ngx_uint_t                     nprepared;
    unsigned                       preparing:1;
};


struct ngx_http_orbis_pg_pool_s {
    ngx_http_orbis_pg_conf_t      *conf;
    ngx_log_t                     *log;

    ngx_queue_t                    idle;
    ngx_queue_t                    active;     /* connecting and busy */
    ngx_queue_t                    waiting;

    ngx_uint_t                     nconns;
    ngx_uint_t                     nconnecting;
    ngx_uint_t                     nwaiting;

    ngx_http_orbis_pg_stats_t      stats;
    unsigned                       destroying:1;
};


static ngx_int_t ngx_http_orbis_pg_connect(ngx_http_orbis_pg_pool_t *pool);
static void ngx_http_orbis_pg_event_handler(ngx_event_t *ev);
static void ngx_http_orbis_pg_poll_connect(ngx_http_orbis_pg_conn_t *pc);
static ngx_int_t ngx_http_orbis_pg_track_socket(ngx_http_orbis_pg_conn_t *pc);
static void ngx_http_orbis_pg_process_busy(ngx_http_orbis_pg_conn_t *pc,
    ngx_event_t *ev);
static void ngx_http_orbis_pg_process_idle(ngx_http_orbis_pg_conn_t *pc);
static ngx_int_t ngx_http_orbis_pg_want(ngx_http_orbis_pg_conn_t *pc,
    ngx_uint_t read, ngx_uint_t write);
static void ngx_http_orbis_pg_send(ngx_http_orbis_pg_conn_t *pc,
    ngx_http_orbis_pg_query_t *q);
static void ngx_http_orbis_pg_dispatch_statement(
    ngx_http_orbis_pg_conn_t *pc);
static void ngx_http_orbis_pg_complete(ngx_http_orbis_pg_query_t *q,
    PGresult *res, ngx_uint_t status);
static void ngx_http_orbis_pg_dispatch(ngx_http_orbis_pg_pool_t *pool);
static void ngx_http_orbis_pg_close(ngx_http_orbis_pg_conn_t *pc,
    const char *why);
static void ngx_http_orbis_pg_fail_waiting(ngx_http_orbis_pg_pool_t *pool);
static void ngx_http_orbis_pg_timer_handler(ngx_event_t *ev);
static void ngx_http_orbis_pg_query_free(ngx_http_orbis_pg_query_t *q);
static void ngx_http_orbis_pg_log_error(ngx_http_orbis_pg_conn_t *pc,
    const char *what);


static const char  *ngx_http_orbis_pg_status_texts[] = {
    "ok",
    "database unavailable",
    "database query timed out",
    "database busy"
};


char *
ngx_http_orbis_pg_conf_init(ngx_conf_t *cf, ngx_http_orbis_pg_conf_t *conf)
{
    char               *err, *host, *options;
    u_char             *p;
    size_t              len;
    ngx_url_t           u;
    ngx_uint_t          n, i;
    PQconninfoOption   *opts, *o;

    err = NULL;
    opts = PQconninfoParse((char *) conf->conninfo.data, &err);

    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "orbis_postgres: invalid conninfo: %s",
                           err ? err : "out of memory");
        if (err) {
            PQfreemem(err);
        }
        return NGX_CONF_ERROR;
    }

    n = 0;
    host = NULL;
    options = NULL;

    for (o = opts; o->keyword != NULL; o++) {
        if (o->val != NULL && o->val[0] != '\0') {
            n++;

            if (ngx_strcmp(o->keyword, "host") == 0) {
                host = o->val;
            }

            if (ngx_strcmp(o->keyword, "options") == 0) {
                options = o->val;
            }
        }
    }

    /* room for hostaddr, options, application_name and the NULL */
    conf->keywords = ngx_pcalloc(cf->pool, (n + 4) * sizeof(char *));
    conf->values = ngx_pcalloc(cf->pool, (n + 4) * sizeof(char *));
    if (conf->keywords == NULL || conf->values == NULL) {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    i = 0;

    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0'
            || ngx_strcmp(o->keyword, "options") == 0
            || ngx_strcmp(o->keyword, "hostaddr") == 0)
        {
            continue;
        }

        conf->keywords[i] = ngx_http_orbis_cstrdup(cf->pool, o->keyword);
        conf->values[i] = ngx_http_orbis_cstrdup(cf->pool, o->val);
        if (conf->keywords[i] == NULL || conf->values[i] == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        i++;
    }

    /*
     * libpq would call getaddrinfo() inside the worker for a host name;
     * resolve once here and hand it the address.
     */

    if (host != NULL && host[0] != '/' && ngx_strchr(host, ',') == NULL) {
        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url.data = (u_char *) host;
        u.url.len = ngx_strlen(host);
        u.default_port = 5432;
        u.no_port = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "orbis_postgres: host \"%s\" not resolved%s%s",
                               host, u.err ? ": " : "", u.err ? u.err : "");
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (p == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, p,
                            NGX_SOCKADDR_STRLEN, 0);
        p[len] = '\0';

        conf->keywords[i] = "hostaddr";
        conf->values[i++] = (char *) p;
    }

    /*
     * The server gives up on a statement a little after we do, so a query
     * we abandoned does not run on.
     */

    len = sizeof("-c statement_timeout=") + NGX_INT_T_LEN + 1
          + (options ? ngx_strlen(options) : 0);
    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    ngx_snprintf(p, len, "%s%s-c statement_timeout=%M%Z",
                 options ? options : "", options ? " " : "",
                 conf->query_timeout + 1000);

    conf->keywords[i] = "options";
    conf->values[i++] = (char *) p;

    conf->keywords[i] = "application_name";
    conf->values[i++] = "orbis-nginx";

    conf->keywords[i] = NULL;
    conf->values[i] = NULL;

    PQconninfoFree(opts);

    return NGX_CONF_OK;
}


ngx_http_orbis_pg_pool_t *
ngx_http_orbis_pg_pool_create(ngx_http_orbis_pg_conf_t *conf, ngx_log_t *log)
{
    ngx_http_orbis_pg_pool_t  *pool;

    pool = ngx_calloc(sizeof(ngx_http_orbis_pg_pool_t), log);
    if (pool == NULL) {
        return NULL;
    }

    pool->conf = conf;
    pool->log = log;

    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->active);
    ngx_queue_init(&pool->waiting);

    return pool;
}


void
ngx_http_orbis_pg_pool_destroy(ngx_http_orbis_pg_pool_t *pool)
{
    ngx_queue_t                *q;
    ngx_http_orbis_pg_conn_t   *pc;
    ngx_http_orbis_pg_query_t  *query;

    pool->destroying = 1;

    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        query = ngx_queue_data(q, ngx_http_orbis_pg_query_t, queue);
        ngx_http_orbis_pg_complete(query, NULL,
                                   NGX_HTTP_ORBIS_PG_UNAVAILABLE);
    }

    while (!ngx_queue_empty(&pool->active)) {
        q = ngx_queue_head(&pool->active);
        pc = ngx_queue_data(q, ngx_http_orbis_pg_conn_t, queue);
        ngx_http_orbis_pg_close(pc, NULL);
    }

    while (!ngx_queue_empty(&pool->idle)) {
        q = ngx_queue_head(&pool->idle);
        pc = ngx_queue_data(q, ngx_http_orbis_pg_conn_t, queue);
        ngx_http_orbis_pg_close(pc, NULL);
    }

    ngx_free(pool);
}


ngx_http_orbis_pg_query_t *
ngx_http_orbis_pg_query(ngx_http_orbis_pg_pool_t *pool, const char *sql,
    ngx_uint_t nparams, ngx_str_t *params,
    ngx_http_orbis_pg_handler_pt handler, void *data, ngx_uint_t *status)
{
    u_char                     *p;
    size_t                      size;
    ngx_uint_t                  i;
    ngx_queue_t                *qq;
    ngx_http_orbis_pg_conn_t   *pc;
    ngx_http_orbis_pg_query_t  *q;

    *status = NGX_HTTP_ORBIS_PG_OK;

    if (ngx_queue_empty(&pool->idle)
        && pool->nconns >= pool->conf->max_conns
        && pool->nwaiting >= pool->conf->queue_size)
    {
        pool->stats.rejected++;
        *status = NGX_HTTP_ORBIS_PG_BUSY;
        return NULL;
    }

    /* one allocation: the query, the parameter arrays and their bytes */

    size = sizeof(ngx_http_orbis_pg_query_t)
           + nparams * (sizeof(char *) + sizeof(int));

    for (i = 0; i < nparams; i++) {
        size += params[i].len + 1;
    }

    q = ngx_calloc(size, pool->log);
    if (q == NULL) {
        *status = NGX_HTTP_ORBIS_PG_UNAVAILABLE;
        return NULL;
    }

    q->pool = pool;
    q->sql = sql;
    q->nparams = (int) nparams;
    q->handler = handler;
    q->data = data;
    q->values = (char **) (q + 1);
    q->lengths = (int *) (q->values + nparams);

    p = (u_char *) (q->lengths + nparams);

    for (i = 0; i < nparams; i++) {
        if (params[i].data == NULL) {
            q->values[i] = NULL;
            q->lengths[i] = 0;
            continue;
        }

        q->values[i] = (char *) p;
        q->lengths[i] = (int) params[i].len;
        p = ngx_cpymem(p, params[i].data, params[i].len);
        *p++ = '\0';
    }

    q->timer.handler = ngx_http_orbis_pg_timer_handler;
    q->timer.data = q;
    q->timer.log = pool->log;

    /*
     * Not cancelable: a worker leaving on reload or quit finishes the
     * queries it has started or queued (each bounded by its timeouts)
     * before it exits, instead of answering the requests that wait on
     * them with 503.
     */
    q->timer.cancelable = 0;

    pool->stats.queries++;

    if (!ngx_queue_empty(&pool->idle)) {
        qq = ngx_queue_head(&pool->idle);
        pc = ngx_queue_data(qq, ngx_http_orbis_pg_conn_t, queue);
        ngx_http_orbis_pg_send(pc, q);
        return q;
    }

    /*
     * Start a connection before queueing: a server that refuses at once
     * must not leave the caller's query in the queue to be failed (and
     * freed) under its feet.
     */

    if (pool->nconns < pool->conf->max_conns
        && pool->nconnecting <= pool->nwaiting)
    {
        if (ngx_http_orbis_pg_connect(pool) != NGX_OK
            && pool->nconns == 0)
        {
            ngx_free(q);
            *status = NGX_HTTP_ORBIS_PG_UNAVAILABLE;
            return NULL;
        }
    }

    ngx_queue_insert_tail(&pool->waiting, &q->queue);
    q->waiting = 1;
    pool->nwaiting++;

    ngx_add_timer(&q->timer, pool->conf->queue_timeout);

    return q;
}


void
ngx_http_orbis_pg_cancel(ngx_http_orbis_pg_query_t *q)
{
    if (q->conn != NULL) {
        /*
         * The statement is on the wire; the connection finishes it and
         * throws the result away, then goes back to the pool.
         */
        q->handler = NULL;
        return;
    }

    ngx_http_orbis_pg_query_free(q);
}


void
ngx_http_orbis_pg_stats(ngx_http_orbis_pg_pool_t *pool,
    ngx_http_orbis_pg_stats_t *stats)
{
    *stats = pool->stats;
    stats->conns = pool->nconns;
    stats->waiting = pool->nwaiting;
    stats->idle = ngx_http_orbis_queue_len(&pool->idle);
}


const char *
ngx_http_orbis_pg_status_text(ngx_uint_t status)
{
    if (status >= sizeof(ngx_http_orbis_pg_status_texts) / sizeof(char *)) {
        return "database error";
    }

    return ngx_http_orbis_pg_status_texts[status];
}


static ngx_int_t
ngx_http_orbis_pg_connect(ngx_http_orbis_pg_pool_t *pool)
{
    PGconn                    *pg;
    ngx_http_orbis_pg_conn_t  *pc;

    pg = PQconnectStartParams(pool->conf->keywords, pool->conf->values, 0);

    if (pg == NULL || PQstatus(pg) == CONNECTION_BAD) {
        pool->stats.connect_failures++;
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "orbis postgres: connect failed: %s",
                      pg ? PQerrorMessage(pg) : "out of memory");
        if (pg) {
            PQfinish(pg);
        }
        return NGX_ERROR;
    }

    if (PQsetnonblocking(pg, 1) != 0) {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "orbis postgres: PQsetnonblocking() failed");
        PQfinish(pg);
        return NGX_ERROR;
    }

    pc = ngx_calloc(sizeof(ngx_http_orbis_pg_conn_t), pool->log);
    if (pc == NULL) {
        PQfinish(pg);
        return NGX_ERROR;
    }

    pc->pool = pool;
    pc->pg = pg;
    pc->state = NGX_HTTP_ORBIS_PGC_CONNECTING;

    ngx_queue_insert_tail(&pool->active, &pc->queue);
    pool->nconns++;
    pool->nconnecting++;

    if (ngx_http_orbis_pg_track_socket(pc) != NGX_OK) {
        ngx_http_orbis_pg_close(pc, "cannot watch the socket");
        return NGX_ERROR;
    }

    ngx_add_timer(pc->c->read, pool->conf->connect_timeout);

    ngx_http_orbis_pg_poll_connect(pc);

    return NGX_OK;
}


/* wraps libpq's current socket, which can change while connecting */

static ngx_int_t
ngx_http_orbis_pg_track_socket(ngx_http_orbis_pg_conn_t *pc)
{
    int                fd;
    ngx_msec_t         left;
    ngx_connection_t  *c;

    fd = PQsocket(pc->pg);

    if (fd < 0) {
        return NGX_ERROR;
    }

    if (pc->c != NULL && pc->c->fd == fd) {
        return NGX_OK;
    }

    left = 0;

    if (pc->c != NULL) {
        if (pc->c->read->timer_set) {
            left = pc->c->read->timer.key - ngx_current_msec;
        }

        ngx_http_orbis_release_connection(pc->c, 1);
        pc->c = NULL;
    }

    c = ngx_get_connection(fd, pc->pool->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = pc;
    c->read->handler = ngx_http_orbis_pg_event_handler;
    c->write->handler = ngx_http_orbis_pg_event_handler;
    c->read->log = pc->pool->log;
    c->write->log = pc->pool->log;

    pc->c = c;

    if (left > 0) {
        ngx_add_timer(c->read, left);
    }

    return NGX_OK;
}


static void
ngx_http_orbis_pg_event_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_http_orbis_pg_conn_t  *pc;

    c = ev->data;
    pc = c->data;

    switch (pc->state) {

    case NGX_HTTP_ORBIS_PGC_CONNECTING:
        if (ev->timedout) {
            pc->pool->stats.connect_failures++;
            ngx_http_orbis_pg_close(pc, "connect timed out");
            return;
        }

        ngx_http_orbis_pg_poll_connect(pc);
        return;

    case NGX_HTTP_ORBIS_PGC_BUSY:
        ngx_http_orbis_pg_process_busy(pc, ev);
        return;

    default: /* NGX_HTTP_ORBIS_PGC_IDLE */
        if (ev->write) {
            (void) ngx_http_orbis_pg_want(pc, 1, 0);
            return;
        }

        ngx_http_orbis_pg_process_idle(pc);
        return;
    }
}


static void
ngx_http_orbis_pg_poll_connect(ngx_http_orbis_pg_conn_t *pc)
{
    ngx_http_orbis_pg_pool_t      *pool;
    PostgresPollingStatusType      rc;

    pool = pc->pool;

    for ( ;; ) {
        rc = PQconnectPoll(pc->pg);

        if (rc == PGRES_POLLING_FAILED) {
            pool->stats.connect_failures++;
            ngx_http_orbis_pg_log_error(pc, "connect failed");
            ngx_http_orbis_pg_close(pc, NULL);
            return;
        }

        if (ngx_http_orbis_pg_track_socket(pc) != NGX_OK) {
            ngx_http_orbis_pg_close(pc, "cannot watch the socket");
            return;
        }

        /*
         * CONNECTION_MADE means the TCP connect finished; libpq can go on
         * at once and no event would tell us so.
         */

        if (rc == PGRES_POLLING_WRITING
            && PQstatus(pc->pg) == CONNECTION_MADE)
        {
            continue;
        }

        break;
    }

    switch (rc) {

    case PGRES_POLLING_READING:
        if (ngx_http_orbis_pg_want(pc, 1, 0) != NGX_OK) {
            ngx_http_orbis_pg_close(pc, "cannot add events");
        }
        return;

    case PGRES_POLLING_WRITING:
        if (ngx_http_orbis_pg_want(pc, 0, 1) != NGX_OK) {
            ngx_http_orbis_pg_close(pc, "cannot add events");
        }
        return;

    default: /* PGRES_POLLING_OK */
        break;
    }

    if (pc->c->read->timer_set) {
        ngx_del_timer(pc->c->read);
    }

    pool->nconnecting--;
    pc->state = NGX_HTTP_ORBIS_PGC_IDLE;

    ngx_queue_remove(&pc->queue);
    ngx_queue_insert_head(&pool->idle, &pc->queue);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                   "orbis postgres: connected, %ui connections",
                   pool->nconns);

    if (ngx_http_orbis_pg_want(pc, 1, 0) != NGX_OK) {
        ngx_http_orbis_pg_close(pc, "cannot add events");
        return;
    }

    ngx_http_orbis_pg_dispatch(pool);
}


static void
ngx_http_orbis_pg_send(ngx_http_orbis_pg_conn_t *pc,
    ngx_http_orbis_pg_query_t *q)
{
    ngx_http_orbis_pg_pool_t  *pool;

    pool = pc->pool;

    ngx_queue_remove(&pc->queue);
    ngx_queue_insert_tail(&pool->active, &pc->queue);

    pc->state = NGX_HTTP_ORBIS_PGC_BUSY;
    pc->query = q;
    q->conn = pc;
    q->sent = ngx_current_msec;

    ngx_add_timer(&q->timer, pool->conf->query_timeout);

    ngx_http_orbis_pg_dispatch_statement(pc);
}


/* the query's statement: prepared, executed, or prepared first */

static void
ngx_http_orbis_pg_dispatch_statement(ngx_http_orbis_pg_conn_t *pc)
{
    int                         rc, ok;
    char                        name[NGX_INT_T_LEN + 8];
    ngx_uint_t                  i;
    ngx_http_orbis_pg_query_t  *q;

    q = pc->query;

    for (i = 0; i < pc->nprepared; i++) {
        if (pc->prepared[i] == q->sql) {
            break;
        }
    }

    ngx_sprintf((u_char *) name, "orbis_%ui%Z", i);

    if (i < pc->nprepared) {
        ok = PQsendQueryPrepared(pc->pg, name, q->nparams,
                                 (const char * const *) q->values,
                                 q->lengths, NULL, 0);

    } else if (i < NGX_HTTP_ORBIS_PG_PREPARED_MAX) {
        ok = PQsendPrepare(pc->pg, name, q->sql, q->nparams, NULL);
        pc->preparing = 1;

    } else {
        ok = PQsendQueryParams(pc->pg, q->sql, q->nparams, NULL,
                               (const char * const *) q->values, q->lengths,
                               NULL, 0);
    }

    if (!ok) {
        ngx_http_orbis_pg_log_error(pc, "send failed");
        goto failed;
    }

    rc = PQflush(pc->pg);

    if (rc == -1) {
        ngx_http_orbis_pg_log_error(pc, "flush failed");
        goto failed;
    }

    if (ngx_http_orbis_pg_want(pc, 1, rc == 1) == NGX_OK) {
        return;
    }

failed:

    pc->preparing = 0;
    ngx_http_orbis_pg_complete(q, NULL, NGX_HTTP_ORBIS_PG_UNAVAILABLE);
    ngx_http_orbis_pg_close(pc, NULL);
}


static void
ngx_http_orbis_pg_process_busy(ngx_http_orbis_pg_conn_t *pc, ngx_event_t *ev)
{
    int                         rc;
    PGresult                   *res;
    ngx_http_orbis_pg_query_t  *q;

    q = pc->query;

    if (ev->write) {
        rc = PQflush(pc->pg);

        if (rc == -1) {
            goto failed;
        }

        if (ngx_http_orbis_pg_want(pc, 1, rc == 1) != NGX_OK) {
            goto failed;
        }

        if (rc == 1) {
            return;
        }
    }

    if (!PQconsumeInput(pc->pg)) {
        goto failed;
    }

    while (!PQisBusy(pc->pg)) {
        res = PQgetResult(pc->pg);

        if (res == NULL && pc->preparing) {
            pc->preparing = 0;
            res = pc->result;
            pc->result = NULL;

            if (q != NULL && res != NULL
                && PQresultStatus(res) == PGRES_COMMAND_OK)
            {
                /* prepared: now run it */
                PQclear(res);
                pc->prepared[pc->nprepared++] = q->sql;
                ngx_http_orbis_pg_dispatch_statement(pc);
                return;
            }

            /* a statement the server would not prepare: that is the answer */
            pc->result = res;
            res = NULL;
        }

        if (res == NULL) {
            /* the statement is done: hand over what it produced */

            res = pc->result;
            pc->result = NULL;
            pc->query = NULL;
            pc->state = NGX_HTTP_ORBIS_PGC_IDLE;

            ngx_queue_remove(&pc->queue);
            ngx_queue_insert_head(&pc->pool->idle, &pc->queue);

            if (q != NULL) {
                ngx_http_orbis_pg_complete(q, res, NGX_HTTP_ORBIS_PG_OK);
            }

            if (res != NULL) {
                PQclear(res);
            }

            ngx_http_orbis_pg_dispatch(pc->pool);
            return;
        }

        /* keep the first error, else the last result */

        if (pc->result != NULL
            && PQresultStatus(pc->result) == PGRES_FATAL_ERROR)
        {
            PQclear(res);
            continue;
        }

        if (pc->result != NULL) {
            PQclear(pc->result);
        }

        pc->result = res;
    }

    return;

failed:

    ngx_http_orbis_pg_log_error(pc, "query failed");

    if (q != NULL) {
        ngx_http_orbis_pg_complete(q, NULL, NGX_HTTP_ORBIS_PG_UNAVAILABLE);
    }

    ngx_http_orbis_pg_close(pc, NULL);
}


static void
ngx_http_orbis_pg_process_idle(ngx_http_orbis_pg_conn_t *pc)
{
    PGresult  *res;

    /*
     * An idle connection only hears from the server when it is going away
     * (a restart, an administrator's kill): drop it, it cannot be reused.
     */

    if (!PQconsumeInput(pc->pg) || PQstatus(pc->pg) != CONNECTION_OK) {
        ngx_http_orbis_pg_log_error(pc, "idle connection lost");
        ngx_http_orbis_pg_close(pc, NULL);
        return;
    }

    while (!PQisBusy(pc->pg)) {
        res = PQgetResult(pc->pg);
        if (res == NULL) {
            break;
        }

        PQclear(res);
    }
}


static ngx_int_t
ngx_http_orbis_pg_want(ngx_http_orbis_pg_conn_t *pc, ngx_uint_t read,
    ngx_uint_t write)
{
    if (ngx_http_orbis_event_want(pc->c->read, read) != NGX_OK
        || ngx_http_orbis_event_want(pc->c->write, write) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_orbis_pg_complete(ngx_http_orbis_pg_query_t *q, PGresult *res,
    ngx_uint_t status)
{
    ngx_http_orbis_pg_handler_pt  handler;
    void                         *data;

    handler = q->handler;
    data = q->data;

    if (q->conn != NULL) {
        q->conn->query = NULL;
        q->conn = NULL;
    }

    ngx_http_orbis_pg_query_free(q);

    if (handler != NULL) {
        handler(data, res, status);
    }
}


static void
ngx_http_orbis_pg_query_free(ngx_http_orbis_pg_query_t *q)
{
    ngx_http_orbis_pg_pool_t  *pool;

    pool = q->pool;

    if (q->timer.timer_set) {
        ngx_del_timer(&q->timer);
    }

    if (q->waiting) {
        ngx_queue_remove(&q->queue);
        pool->nwaiting--;
    }

    ngx_free(q);
}


static void
ngx_http_orbis_pg_dispatch(ngx_http_orbis_pg_pool_t *pool)
{
    ngx_queue_t                *qq;
    ngx_http_orbis_pg_conn_t   *pc;
    ngx_http_orbis_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting) && !ngx_queue_empty(&pool->idle))
    {
        qq = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qq, ngx_http_orbis_pg_query_t, queue);

        ngx_queue_remove(qq);
        q->waiting = 0;
        pool->nwaiting--;

        qq = ngx_queue_head(&pool->idle);
        pc = ngx_queue_data(qq, ngx_http_orbis_pg_conn_t, queue);

        ngx_http_orbis_pg_send(pc, q);
    }

    while (pool->nwaiting > pool->nconnecting
           && pool->nconns < pool->conf->max_conns)
    {
        if (ngx_http_orbis_pg_connect(pool) != NGX_OK) {
            break;
        }
    }

    if (pool->nconns == 0) {
        ngx_http_orbis_pg_fail_waiting(pool);
    }
}


static void
ngx_http_orbis_pg_fail_waiting(ngx_http_orbis_pg_pool_t *pool)
{
    ngx_queue_t                *qq;
    ngx_http_orbis_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)) {
        qq = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qq, ngx_http_orbis_pg_query_t, queue);

        ngx_http_orbis_pg_complete(q, NULL, NGX_HTTP_ORBIS_PG_UNAVAILABLE);
    }
}


static void
ngx_http_orbis_pg_close(ngx_http_orbis_pg_conn_t *pc, const char *why)
{
    ngx_http_orbis_pg_pool_t   *pool;
    ngx_http_orbis_pg_query_t  *q;

    pool = pc->pool;

    if (why != NULL) {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "orbis postgres: closing connection: %s", why);
    }

    ngx_queue_remove(&pc->queue);
    pool->nconns--;

    if (pc->state == NGX_HTTP_ORBIS_PGC_CONNECTING) {
        pool->nconnecting--;
    }

    q = pc->query;
    pc->query = NULL;

    if (pc->c != NULL) {
        /* libpq closes its socket as soon as it sees the link fail */
        ngx_http_orbis_release_connection(pc->c,
                                          PQsocket(pc->pg) != pc->c->fd);
    }

    if (pc->result != NULL) {
        PQclear(pc->result);
    }

    PQfinish(pc->pg);
    ngx_free(pc);

    if (q != NULL) {
        ngx_http_orbis_pg_complete(q, NULL, NGX_HTTP_ORBIS_PG_UNAVAILABLE);
    }

    if (!pool->destroying) {
        ngx_http_orbis_pg_dispatch(pool);
    }
}


static void
ngx_http_orbis_pg_timer_handler(ngx_event_t *ev)
{
    ngx_http_orbis_pg_conn_t   *pc;
    ngx_http_orbis_pg_query_t  *q;

    q = ev->data;
    pc = q->conn;

    if (pc == NULL) {
        /* still waiting for a connection */
        q->pool->stats.rejected++;
        ngx_http_orbis_pg_complete(q, NULL, NGX_HTTP_ORBIS_PG_BUSY);
        return;
    }

    /*
     * libpq's cancel call blocks while it opens a connection of its own, so
     * the connection goes instead; the server stops the statement through
     * statement_timeout.
     */

    q->pool->stats.timeouts++;

    ngx_log_error(NGX_LOG_ERR, q->pool->log, 0,
                  "orbis postgres: query timed out after %M ms",
                  ngx_current_msec - q->sent);

    ngx_http_orbis_pg_complete(q, NULL, NGX_HTTP_ORBIS_PG_TIMEOUT);
    ngx_http_orbis_pg_close(pc, NULL);
}


static void
ngx_http_orbis_pg_log_error(ngx_http_orbis_pg_conn_t *pc, const char *what)
{
    size_t       len;
    const char  *msg;

    msg = PQerrorMessage(pc->pg);
    len = ngx_strlen(msg);

    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }

    ngx_log_error(NGX_LOG_ERR, pc->pool->log, 0,
                  "orbis postgres: %s: %*s", what, len, msg);
}
