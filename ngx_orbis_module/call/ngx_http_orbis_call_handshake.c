
/*
 * Copyright (C) Orbis
 *
 * The /stream handshake: the upgrade request is checked here (method,
 * WebSocket headers, the save backlog), then by the access layer's
 * admission (ngx_http_orbis_admission.c: key, agent, origin, plan, rate
 * limits, concurrency, allowance; the rules are liborbiscore's policy),
 * then admitted (ngx_http_orbis_call_upgrade) or refused: with an HTTP
 * error for programs, or with a WebSocket close code after the upgrade
 * for browsers, which cannot read a refused handshake's status.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/auth.h>
#include <orbiscore/policy.h>

#include "ngx_http_orbis_call.h"


static ngx_int_t ngx_http_orbis_call_check_upgrade(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs);
static ngx_int_t ngx_http_orbis_call_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static void ngx_http_orbis_call_hs_cleanup(void *data);
static void ngx_http_orbis_call_admitted(ngx_http_orbis_admission_t *adm,
    ngx_int_t rc);
static ngx_int_t ngx_http_orbis_call_verdict(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs);
static ngx_int_t ngx_http_orbis_call_refuse(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t status, const char *code,
    uint16_t close_code, const char *message);
static ngx_int_t ngx_http_orbis_call_unavailable(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t status);


ngx_int_t
ngx_http_orbis_call_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_pool_cleanup_t                *cln;
    ngx_http_orbis_call_hs_t          *hs;
    ngx_http_orbis_call_loc_conf_t    *slcf;
    ngx_http_orbis_call_main_conf_t   *smcf;

    if (ngx_http_orbis_worker == NULL || ngx_http_orbis_call_worker == NULL)
    {
        return ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "not_ready",
                                         "the stream is not configured");
    }

    if (r != r->main) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_GET) {
        if (ngx_http_orbis_header_out(r, "Allow", "GET") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                         "method_not_allowed",
                                         "use GET with a WebSocket upgrade");
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "a WebSocket upgrade has no body");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    hs = ngx_pcalloc(r->pool, sizeof(ngx_http_orbis_call_hs_t));
    if (hs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hs->request = r;

    rc = ngx_http_orbis_call_check_upgrade(r, hs);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    /*
     * Finished calls this worker has not written yet: while there are
     * many, a new call would only add to what could be lost.
     */

    if (ngx_http_orbis_outbox_length()
        >= ngx_http_orbis_call_worker->smcf->save_backlog)
    {
        if (ngx_http_orbis_header_out(r, "Retry-After", "5") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_call_refuse(r, hs,
                                            NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "busy",
                                            ORBIS_CLOSE_TRY_AGAIN_LATER,
                                            "calls cannot be saved right "
                                            "now, try again shortly");
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_orbis_call_hs_cleanup;
    cln->data = hs;

    ngx_http_set_ctx(r, hs, ngx_http_orbis_call_module);

    if (ngx_http_orbis_call_arg(r, "key", &hs->adm.key) == NGX_ERROR
        || ngx_http_orbis_call_arg(r, "agent", &hs->adm.agent) == NGX_ERROR)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_call_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_orbis_call_module);

    ngx_http_orbis_call_uuid(hs->adm.call_id);

    /* a call's place lasts as long as the sweeper waits for a heartbeat */
    hs->adm.lease = smcf->heartbeat_timeout;
    hs->adm.max_age = slcf->max_duration + 10 * 60 * 1000;
    hs->adm.handler = ngx_http_orbis_call_admitted;
    hs->adm.data = hs;
    hs->adm.log = r->connection->log;

    rc = ngx_http_orbis_admission_start(&hs->adm);

    if (rc == NGX_OK) {
        return ngx_http_orbis_call_verdict(r, hs);
    }

    if (rc == NGX_ERROR) {
        return ngx_http_orbis_call_unavailable(r, hs, hs->adm.status);
    }

    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_orbis_call_check_upgrade(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs)
{
    ngx_table_elt_t  *h, *conn;

    if (r->http_version != NGX_HTTP_VERSION_11) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "the stream is a WebSocket: it "
                                         "needs HTTP/1.1");
    }

    h = ngx_http_orbis_header_in(r, "Upgrade");
    conn = ngx_http_orbis_header_in(r, "Connection");

    if (h == NULL || conn == NULL
        || ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                            (u_char *) "websocket", 9 - 1) == NULL
        || ngx_strlcasestrn(conn->value.data,
                            conn->value.data + conn->value.len,
                            (u_char *) "upgrade", 7 - 1) == NULL)
    {
        if (ngx_http_orbis_header_out(r, "Upgrade", "websocket") != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_send_error(r, 426, "invalid_request",
                                         "the stream is a WebSocket: send "
                                         "Connection: Upgrade and Upgrade: "
                                         "websocket");
    }

    h = ngx_http_orbis_header_in(r, "Sec-WebSocket-Version");

    if (h == NULL || h->value.len != 2
        || ngx_strncmp(h->value.data, "13", 2) != 0)
    {
        if (ngx_http_orbis_header_out(r, "Sec-WebSocket-Version", "13")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_orbis_send_error(r, 426, "invalid_request",
                                         "only WebSocket version 13 is "
                                         "spoken here");
    }

    h = ngx_http_orbis_header_in(r, "Sec-WebSocket-Key");

    if (h == NULL
        || !orbis_ws_key_valid((const char *) h->value.data, h->value.len)
        || orbis_ws_accept_key((const char *) h->value.data, h->value.len,
                               hs->accept)
           != ORBIS_OK)
    {
        return ngx_http_orbis_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "Sec-WebSocket-Key is missing or "
                                         "not 16 bytes in base64");
    }

    /* browsers always send Origin with a WebSocket; other clients don't */

    h = ngx_http_orbis_header_in(r, "Origin");

    if (h != NULL) {
        hs->browser = 1;
        hs->adm.origin = h->value;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_orbis_call_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   arg;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &arg) != NGX_OK
        || arg.len == 0 || arg.len > 256)
    {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(r->pool, arg.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    dst = value->data;
    src = arg.data;

    ngx_unescape_uri(&dst, &src, arg.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;
    *dst = '\0';

    return NGX_OK;
}


static void
ngx_http_orbis_call_hs_cleanup(void *data)
{
    ngx_http_orbis_call_hs_t  *hs = data;

    hs->info = NULL;
    ngx_http_orbis_admission_cleanup(&hs->adm);
}


static void
ngx_http_orbis_call_admitted(ngx_http_orbis_admission_t *adm, ngx_int_t rc)
{
    ngx_http_orbis_call_hs_t  *hs = adm->data;

    ngx_http_request_t  *r;

    r = hs->request;

    if (rc == NGX_OK) {
        rc = ngx_http_orbis_call_verdict(r, hs);

    } else {
        rc = ngx_http_orbis_call_unavailable(r, hs, adm->status);
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_orbis_call_verdict(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs)
{
    u_char            retry[NGX_INT64_LEN + 1];
    ngx_int_t         rc;
    orbis_verdict_t  *v;

    v = &hs->adm.verdict;

    if (!v->admit) {
        if (!hs->browser && v->retry_after > 0) {
            *ngx_sprintf(retry, "%L", v->retry_after) = '\0';

            if (ngx_http_orbis_header_out(r, "Retry-After",
                                          ngx_http_orbis_cstrdup(r->pool,
                                              (char *) retry))
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        return ngx_http_orbis_call_refuse(r, hs, v->status, v->code,
                                          v->close_code, v->message);
    }

    hs->info = hs->adm.row.doc;

    rc = ngx_http_orbis_call_upgrade(r, hs, 0, NULL);

    if (rc != NGX_DONE && hs->adm.held) {
        /* no call after all: its place goes back at once */
        ngx_http_orbis_admission_release(hs->adm.row.tenant_id,
                                         hs->adm.call_id);
        hs->adm.held = 0;
    }

    return rc;
}


static ngx_int_t
ngx_http_orbis_call_refuse(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t status, const char *code,
    uint16_t close_code, const char *message)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "orbis stream: refused (%ui, %d): %s", status,
                  (int) close_code, message);

    if (!hs->browser) {
        return ngx_http_orbis_send_error(r, status, code, "%s", message);
    }

    return ngx_http_orbis_call_upgrade(r, hs, close_code, message);
}


static ngx_int_t
ngx_http_orbis_call_unavailable(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, ngx_uint_t status)
{
    if (!hs->browser) {
        return ngx_http_orbis_pg_fail(r, status);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "orbis stream: refused: %s",
                  ngx_http_orbis_pg_status_text(status));

    return ngx_http_orbis_call_upgrade(r, hs, ORBIS_CLOSE_INTERNAL,
                                         "the service is unavailable, try "
                                         "again shortly");
}
