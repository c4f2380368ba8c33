
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_ACCESS_H_INCLUDED_
#define _NGX_HTTP_ORBIS_ACCESS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_request.h"


/*
 * ngx_http_orbis_access.c: runs the request's next pipeline step
 * (authentication, rate limit, then the route's handler).
 */
void ngx_http_orbis_continue(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);

/* ngx_http_orbis_auth.c, ngx_http_orbis_ratelimit.c: pipeline steps */
ngx_int_t ngx_http_orbis_auth(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_role(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_ratelimit(ngx_http_request_t *r,
    ngx_http_orbis_ctx_t *ctx);
ngx_int_t ngx_http_orbis_ratelimit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
void ngx_http_orbis_ratelimit_init_script(void);

/*
 * The request's session tokens (JWTs): the Bearer one unless it is an API
 * key, and the cookie's; either may come back empty.
 */
void ngx_http_orbis_session_tokens(ngx_http_request_t *r,
    ngx_str_t *bearer, ngx_str_t *cookie);

/*
 * What logging out token takes: NGX_OK with the Redis key to set and the
 * seconds to keep it, NGX_DECLINED when no node would accept the token
 * anyway (nothing to revoke), NGX_ERROR when out of memory.
 */
ngx_int_t ngx_http_orbis_revocation(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *key, int64_t *ttl);

/*
 * The CSRF check of a request that carries the session cookie:
 * NGX_DECLINED when its Origin (or, without one, its Referer) is the
 * API's own or a configured one, else the status of the 403 sent.
 */
ngx_int_t ngx_http_orbis_csrf(ngx_http_request_t *r);

/*
 * 1 when the client reached us over TLS: this connection is TLS, or it
 * comes from an orbis_trusted_proxies address whose X-Forwarded-Proto
 * says https.
 */
ngx_uint_t ngx_http_orbis_client_https(ngx_http_request_t *r);

#endif /* _NGX_HTTP_ORBIS_ACCESS_H_INCLUDED_ */
