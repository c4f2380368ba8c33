
/*
 * Copyright (C) Orbis
 *
 * Passwords are hashed and checked with scrypt on nginx's thread pool,
 * with the request held (r->main->blocked) until the answer is back.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <orbiscore/auth.h>

#include "ngx_http_orbis_api.h"


static void ngx_http_orbis_pw_thread(void *data, ngx_log_t *log);
static void ngx_http_orbis_pw_event(ngx_event_t *ev);


static void
ngx_http_orbis_pw_thread(void *data, ngx_log_t *log)
{
    ngx_http_orbis_pw_task_t  *t = data;

    if (t->stored != NULL) {
        t->rc = orbis_password_verify(t->password, t->len, t->stored, NULL);

    } else {
        t->rc = orbis_password_hash(t->password, t->len, t->salt, t->hash,
                                    sizeof(t->hash), NULL);
    }

    OPENSSL_cleanse(t->password, t->len);
}


static void
ngx_http_orbis_pw_event(ngx_event_t *ev)
{
    ngx_http_request_t        *r;
    ngx_http_orbis_ctx_t      *ctx;
    ngx_http_orbis_pw_task_t  *t;

    t = ev->data;
    r = t->request;

    r->main->blocked--;

    ctx = ngx_http_get_module_ctx(r, ngx_http_orbis_module);

    t->done(r, ctx, t);
}


/* the task's own copy of the password, which the thread cleanses */

ngx_int_t
ngx_http_orbis_password_copy(ngx_http_request_t *r,
    ngx_http_orbis_pw_task_t *t, const char *password)
{
    t->len = ngx_strlen(password);

    t->password = ngx_pnalloc(r->pool, t->len + 1);
    if (t->password == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(t->password, password, t->len + 1);

    return NGX_OK;
}


ngx_int_t
ngx_http_orbis_password_task(ngx_http_request_t *r,
    ngx_http_orbis_pw_task_t *t)
{
    ngx_thread_task_t           *task;
    ngx_http_orbis_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_orbis_module);

    if (t->stored == NULL && RAND_bytes(t->salt, sizeof(t->salt)) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    task = ngx_thread_task_alloc(r->pool, 0);
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t->request = r;

    task->ctx = t;
    task->handler = ngx_http_orbis_pw_thread;
    task->event.handler = ngx_http_orbis_pw_event;
    task->event.data = t;

    if (ngx_thread_task_post(omcf->thread_pool, task) != NGX_OK) {
        return ngx_http_orbis_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "busy", "the server is busy, "
                                         "try again shortly");
    }

    /* the request must outlive the thread's use of its memory */
    r->main->blocked++;

    return NGX_DONE;
}
