/*
 * Copyright (C) Orbis
 *
 * Everything the endpoint writes: data messages, pings, pongs and close
 * frames, serialised (and masked in the client role) by wslay's frame
 * writer into the output queue the caller drains.
 */


#include <string.h>

#include "ws_int.h"


/* 2 header bytes, 8 of extended length, 4 of mask key */
#define ORBIS_WS_MAX_HEADER  14


static orbis_rc_t orbis_ws_check_open(orbis_ws_t *ws);


orbis_rc_t
orbis_ws_queue_frame(orbis_ws_t *ws, uint8_t opcode, const uint8_t *data,
    size_t len)
{
    ssize_t                  n;
    size_t                   end;
    struct wslay_frame_iocb  iocb;

    if (len > SIZE_MAX - ORBIS_WS_MAX_HEADER) {
        return ORBIS_ERR_RANGE;
    }

    /*
     * With the room reserved up front the send callback cannot fail half
     * way, which would leave wslay's writer in the middle of a frame.
     */
    if (orbis_ws_buf_reserve(&ws->out, len + ORBIS_WS_MAX_HEADER)
        != ORBIS_OK)
    {
        return ORBIS_ERR_NOMEM;
    }

    memset(&iocb, 0, sizeof(iocb));
    iocb.fin = 1;
    iocb.rsv = 0;
    iocb.opcode = opcode;
    iocb.mask = (ws->role == ORBIS_WS_CLIENT);
    iocb.payload_length = len;
    iocb.data = data;
    iocb.data_length = len;

    end = ws->out.end;
    ws->random_failed = 0;

    n = wslay_frame_send(ws->frame, &iocb);

    if (n < 0 || (size_t) n != len) {
        /* only a refused mask key gets here; nothing was written then */
        ws->out.end = end;
        return ws->random_failed ? ORBIS_ERR_INTERNAL : ORBIS_ERR_INVALID;
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_ws_queue_close(orbis_ws_t *ws, uint16_t code, const uint8_t *reason,
    size_t len)
{
    uint8_t     payload[ORBIS_WS_MAX_CONTROL];
    size_t      n;
    orbis_rc_t  rc;

    n = 0;

    if (code != 0) {
        payload[0] = (uint8_t) (code >> 8);
        payload[1] = (uint8_t) (code & 0xff);
        n = 2;

        if (len > ORBIS_WS_MAX_CLOSE_REASON) {
            len = ORBIS_WS_MAX_CLOSE_REASON;
        }

        if (len > 0) {
            memcpy(payload + 2, reason, len);
            n += len;
        }
    }

    rc = orbis_ws_queue_frame(ws, ORBIS_WS_CLOSE, payload, n);
    if (rc != ORBIS_OK) {
        return rc;
    }

    ws->close_sent = 1;
    ws->close_code = code;

    return ORBIS_OK;
}


int
orbis_ws_close_code_valid(uint16_t code)
{
    /*
     * 1004 is reserved, 1005, 1006 and 1015 must never appear on the wire;
     * 1012-1014 are registered with IANA since RFC 6455 and some servers
     * send them, so they are accepted.  1016-2999 are unassigned.
     */
    if (code >= 1000 && code <= 1003) {
        return 1;
    }

    if (code >= 1007 && code <= 1014) {
        return 1;
    }

    return code >= 3000 && code <= 4999;
}


orbis_rc_t
orbis_ws_send(orbis_ws_t *ws, orbis_ws_opcode_t opcode, const uint8_t *data,
    size_t len)
{
    orbis_rc_t  rc;

    if (opcode != ORBIS_WS_TEXT && opcode != ORBIS_WS_BINARY) {
        return ORBIS_ERR_INVALID;
    }

    rc = orbis_ws_check_open(ws);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (opcode == ORBIS_WS_TEXT && !orbis_utf8_valid(data, len, 0)) {
        return ORBIS_ERR_INVALID;
    }

    return orbis_ws_queue_frame(ws, (uint8_t) opcode, data, len);
}


orbis_rc_t
orbis_ws_send_ping(orbis_ws_t *ws, const uint8_t *data, size_t len)
{
    orbis_rc_t  rc;

    if (len > ORBIS_WS_MAX_CONTROL) {
        return ORBIS_ERR_RANGE;
    }

    rc = orbis_ws_check_open(ws);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_ws_queue_frame(ws, ORBIS_WS_PING, data, len);
}


orbis_rc_t
orbis_ws_send_close(orbis_ws_t *ws, uint16_t code, const char *reason,
    size_t len)
{
    orbis_rc_t  rc;

    if (ws->close_sent || ws->state == ORBIS_WS_FAILED) {
        return ORBIS_ERR_INVALID;
    }

    if (code == 0) {
        if (len != 0) {
            return ORBIS_ERR_INVALID;
        }

    } else if (!orbis_ws_close_code_valid(code)) {
        return ORBIS_ERR_INVALID;
    }

    if (len > 0) {
        if (!orbis_utf8_valid(reason, len, 0)) {
            return ORBIS_ERR_INVALID;
        }

        len = orbis_utf8_cut((const uint8_t *) reason, len,
                             ORBIS_WS_MAX_CLOSE_REASON);
    }

    rc = orbis_ws_queue_close(ws, code, (const uint8_t *) reason, len);
    if (rc != ORBIS_OK) {
        return rc;
    }

    ws->state = ws->close_received ? ORBIS_WS_CLOSED : ORBIS_WS_CLOSING;

    return ORBIS_OK;
}


void
orbis_ws_pending_output(orbis_ws_t *ws, const uint8_t **data, size_t *len)
{
    *len = ws->out.end - ws->out.start;
    *data = (*len > 0) ? ws->out.data + ws->out.start : NULL;
}


void
orbis_ws_consume_output(orbis_ws_t *ws, size_t n)
{
    orbis_ws_buf_consume(&ws->out, n);
}


size_t
orbis_ws_output_size(const orbis_ws_t *ws)
{
    return ws->out.end - ws->out.start;
}


static orbis_rc_t
orbis_ws_check_open(orbis_ws_t *ws)
{
    /* RFC 6455 5.5.1: nothing may follow our close frame */
    if (ws->close_sent || ws->state != ORBIS_WS_OPEN) {
        return ORBIS_ERR_INVALID;
    }

    return ORBIS_OK;
}
