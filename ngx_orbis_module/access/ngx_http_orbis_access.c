
/*
 * Copyright (C) Orbis
 *
 * The access pipeline every API request goes through before its
 * handler: authentication, rate limiting, then the role a write needs
 * (read from the database, after the rate limiter saw whether the
 * session was logged out).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_access.h"


void
ngx_http_orbis_continue(ngx_http_request_t *r, ngx_http_orbis_ctx_t *ctx)
{
    ngx_int_t  rc;

    for ( ;; ) {
        switch (ctx->step++) {

        case 0:
            rc = ngx_http_orbis_auth(r, ctx);
            break;

        case 1:
            rc = ngx_http_orbis_ratelimit(r, ctx);
            break;

        case 2:
            rc = ngx_http_orbis_role(r, ctx);
            break;

        default:
            rc = ctx->route->handler(r, ctx);

            if (rc != NGX_DONE) {
                ngx_http_finalize_request(r, rc);
            }

            return;
        }

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }
}
