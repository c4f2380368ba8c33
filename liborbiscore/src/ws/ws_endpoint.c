/*
 * Copyright (C) Orbis
 *
 * Endpoint lifecycle and the glue that lets wslay run without sockets.
 *
 * We drive wslay's frame layer (wslay_frame_recv / wslay_frame_send), not
 * its event layer; ws_recv.c explains why.  Its "socket" callbacks are
 * memory copies: recv hands over the bytes the caller passed to
 * orbis_ws_feed(), send appends to the output queue, genmask asks the
 * caller's random callback for mask keys.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "ws_int.h"


static ssize_t orbis_ws_wslay_recv(uint8_t *buf, size_t len, int flags,
    void *user_data);
static ssize_t orbis_ws_wslay_send(const uint8_t *data, size_t len,
    int flags, void *user_data);
static int orbis_ws_wslay_genmask(uint8_t *buf, size_t len, void *user_data);


orbis_ws_t *
orbis_ws_new(orbis_ws_role_t role, const orbis_ws_config_t *cfg,
    orbis_err_t *err)
{
    orbis_ws_t                    *ws;
    struct wslay_frame_callbacks   cb;

    if (cfg == NULL) {
        orbis_err_set(err, ORBIS_ERR_INVALID, "ws: no configuration");
        return NULL;
    }

    if (role != ORBIS_WS_SERVER && role != ORBIS_WS_CLIENT) {
        orbis_err_set(err, ORBIS_ERR_INVALID, "ws: unknown role %d",
                      (int) role);
        return NULL;
    }

    if (role == ORBIS_WS_CLIENT && cfg->random == NULL) {
        orbis_err_set(err, ORBIS_ERR_INVALID,
                      "ws: the client role needs a random callback");
        return NULL;
    }

    ws = orbis_calloc(1, sizeof(orbis_ws_t));
    if (ws == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "ws: out of memory");
        return NULL;
    }

    ws->role = role;
    ws->cfg = *cfg;
    ws->state = ORBIS_WS_OPEN;
    ws->reading = 1;

    if (ws->cfg.max_message_size == 0) {
        ws->cfg.max_message_size = ORBIS_WS_DEFAULT_MAX_MESSAGE;
    }

    orbis_utf8_init(&ws->utf8);

    cb.send_callback = orbis_ws_wslay_send;
    cb.recv_callback = orbis_ws_wslay_recv;
    cb.genmask_callback = orbis_ws_wslay_genmask;

    if (wslay_frame_context_init(&ws->frame, &cb, ws) != 0) {
        orbis_free(ws);
        orbis_err_set(err, ORBIS_ERR_NOMEM, "ws: out of memory");
        return NULL;
    }

    return ws;
}


void
orbis_ws_free(orbis_ws_t *ws)
{
    if (ws == NULL) {
        return;
    }

    wslay_frame_context_free(ws->frame);
    orbis_ws_buf_free(&ws->msg);
    orbis_ws_buf_free(&ws->out);
    orbis_free(ws);
}


orbis_ws_state_t
orbis_ws_state(const orbis_ws_t *ws)
{
    return ws->state;
}


int
orbis_ws_closed(const orbis_ws_t *ws)
{
    return ws->state == ORBIS_WS_CLOSED;
}


uint16_t
orbis_ws_close_code(const orbis_ws_t *ws)
{
    return ws->close_code;
}


static ssize_t
orbis_ws_wslay_recv(uint8_t *buf, size_t len, int flags, void *user_data)
{
    orbis_ws_t  *ws;

    (void) flags;

    ws = user_data;

    /* 0 makes wslay report WSLAY_ERR_WANT_READ: the feed is used up */
    if (ws->in_len == 0) {
        return 0;
    }

    if (len > ws->in_len) {
        len = ws->in_len;
    }

    if (len > SSIZE_MAX) {
        len = SSIZE_MAX;
    }

    memcpy(buf, ws->in, len);
    ws->in += len;
    ws->in_len -= len;

    return (ssize_t) len;
}


static ssize_t
orbis_ws_wslay_send(const uint8_t *data, size_t len, int flags,
    void *user_data)
{
    orbis_ws_t  *ws;

    (void) flags;

    ws = user_data;

    /* room was reserved by orbis_ws_queue_frame(), so this cannot fail */
    if (len > SSIZE_MAX || orbis_ws_buf_append(&ws->out, data, len) != ORBIS_OK)
    {
        return -1;
    }

    return (ssize_t) len;
}


static int
orbis_ws_wslay_genmask(uint8_t *buf, size_t len, void *user_data)
{
    orbis_ws_t  *ws;

    ws = user_data;

    if (ws->cfg.random == NULL
        || ws->cfg.random(ws->cfg.userdata, buf, len) != 0)
    {
        ws->random_failed = 1;
        return -1;
    }

    return 0;
}
