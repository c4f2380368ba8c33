
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_PG_H_INCLUDED_
#define _NGX_HTTP_ORBIS_PG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <libpq-fe.h>


/* how a query ended, as its handler is told */
#define NGX_HTTP_ORBIS_PG_OK           0   /* res is the statement's result */
#define NGX_HTTP_ORBIS_PG_UNAVAILABLE  1   /* no connection could be had */
#define NGX_HTTP_ORBIS_PG_TIMEOUT      2   /* query_timeout ran out */
#define NGX_HTTP_ORBIS_PG_BUSY         3   /* pool and wait queue full */


typedef struct ngx_http_orbis_pg_pool_s   ngx_http_orbis_pg_pool_t;
typedef struct ngx_http_orbis_pg_conn_s   ngx_http_orbis_pg_conn_t;
typedef struct ngx_http_orbis_pg_query_s  ngx_http_orbis_pg_query_t;

/*
 * res is valid only during the call (it is cleared afterwards); status is
 * one of NGX_HTTP_ORBIS_PG_*.  A statement that failed on the server comes
 * with NGX_HTTP_ORBIS_PG_OK and a res whose status is PGRES_FATAL_ERROR.
 */
typedef void (*ngx_http_orbis_pg_handler_pt)(void *data, PGresult *res,
    ngx_uint_t status);


typedef struct {
    ngx_str_t                      conninfo;
    const char                   **keywords;   /* NULL terminated, with the */
    const char                   **values;     /* host resolved to hostaddr */
    ngx_uint_t                     max_conns;
    ngx_uint_t                     queue_size;
    ngx_msec_t                     queue_timeout;
    ngx_msec_t                     connect_timeout;
    ngx_msec_t                     query_timeout;
} ngx_http_orbis_pg_conf_t;


struct ngx_http_orbis_pg_query_s {
    ngx_queue_t                    queue;
    ngx_http_orbis_pg_pool_t      *pool;
    ngx_http_orbis_pg_conn_t      *conn;

    const char                    *sql;
    int                            nparams;
    char                         **values;
    int                           *lengths;

    ngx_http_orbis_pg_handler_pt   handler;
    void                          *data;

    ngx_event_t                    timer;
    ngx_msec_t                     sent;       /* when it went to the server */

    unsigned                       waiting:1;
};


typedef struct {
    ngx_uint_t                     conns;
    ngx_uint_t                     idle;
    ngx_uint_t                     waiting;
    ngx_uint_t                     queries;
    ngx_uint_t                     timeouts;
    ngx_uint_t                     rejected;
    ngx_uint_t                     connect_failures;
} ngx_http_orbis_pg_stats_t;


char *ngx_http_orbis_pg_conf_init(ngx_conf_t *cf,
    ngx_http_orbis_pg_conf_t *conf);
ngx_http_orbis_pg_pool_t *ngx_http_orbis_pg_pool_create(
    ngx_http_orbis_pg_conf_t *conf, ngx_log_t *log);
void ngx_http_orbis_pg_pool_destroy(ngx_http_orbis_pg_pool_t *pool);

/*
 * Sends a parameterised statement (text parameters; a param whose data is
 * NULL is SQL NULL).  Parameters are copied.  Returns the query, whose
 * handler will be called exactly once unless it is cancelled, or NULL with
 * *status saying why it could not even be queued (the handler is then not
 * called).
 */
ngx_http_orbis_pg_query_t *ngx_http_orbis_pg_query(
    ngx_http_orbis_pg_pool_t *pool, const char *sql, ngx_uint_t nparams,
    ngx_str_t *params, ngx_http_orbis_pg_handler_pt handler, void *data,
    ngx_uint_t *status);

/* the handler will not be called; the connection is kept if it can be */
void ngx_http_orbis_pg_cancel(ngx_http_orbis_pg_query_t *q);

void ngx_http_orbis_pg_stats(ngx_http_orbis_pg_pool_t *pool,
    ngx_http_orbis_pg_stats_t *stats);

const char *ngx_http_orbis_pg_status_text(ngx_uint_t status);


#endif /* _NGX_HTTP_ORBIS_PG_H_INCLUDED_ */
