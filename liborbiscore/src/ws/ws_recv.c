/*
 * Copyright (C) Orbis
 *
 * Receiving: frames to messages, control frames, and failing the
 * connection with the right close code.
 *
 * wslay's frame layer does the byte-level work here: header parsing with
 * partial input, the 16/64-bit length forms (it refuses non-minimal
 * encodings and lengths with the top bit set), unmasking, and the RFC 6455
 * rules for control frames (no more than 125 bytes, never fragmented).
 * It reports those as WSLAY_ERR_PROTO, which we answer with 1002.
 *
 * The message layer is written here rather than taken from wslay's event
 * layer (wslay_event_recv), because in wslay 1.1.1 that layer:
 *  - answers the frame-level errors above with a close frame carrying no
 *    status code instead of 1002;
 *  - checks the UTF-8 of a close reason chunk by chunk and skips the first
 *    two bytes of every chunk, so a close frame that arrives in pieces is
 *    refused when valid or accepted when not;
 *  - takes a one-byte close payload as "no status code" (RFC: 1002);
 *  - queues its echo of a close before the application sees it, so a bad
 *    close cannot be answered differently;
 *  - cannot report which close code it sent in answer to a violation.
 */


#include <string.h>

#include "ws_int.h"


static orbis_rc_t orbis_ws_frame_start(orbis_ws_t *ws,
    const struct wslay_frame_iocb *iocb);
static orbis_rc_t orbis_ws_frame_data(orbis_ws_t *ws,
    const struct wslay_frame_iocb *iocb);
static orbis_rc_t orbis_ws_frame_end(orbis_ws_t *ws);
static orbis_rc_t orbis_ws_control(orbis_ws_t *ws);
static orbis_rc_t orbis_ws_peer_close(orbis_ws_t *ws);
static orbis_rc_t orbis_ws_fail(orbis_ws_t *ws, uint16_t code,
    const char *reason);


orbis_rc_t
orbis_ws_feed(orbis_ws_t *ws, const uint8_t *data, size_t len)
{
    ssize_t                  n;
    orbis_rc_t               rc;
    struct wslay_frame_iocb  iocb;

    if (ws->state == ORBIS_WS_FAILED) {
        return ORBIS_ERR_PROTOCOL;
    }

    if (!ws->reading || len == 0) {
        return ORBIS_OK;
    }

    ws->in = data;
    ws->in_len = len;
    rc = ORBIS_OK;

    while (ws->reading) {
        memset(&iocb, 0, sizeof(iocb));

        n = wslay_frame_recv(ws->frame, &iocb);

        if (n == WSLAY_ERR_WANT_READ) {
            break;
        }

        if (n < 0) {
            rc = orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL, "bad frame");
            break;
        }

        if (!ws->in_frame) {
            rc = orbis_ws_frame_start(ws, &iocb);
            if (rc != ORBIS_OK) {
                break;
            }
        }

        rc = orbis_ws_frame_data(ws, &iocb);
        if (rc != ORBIS_OK) {
            break;
        }

        if (ws->frame_left == 0) {
            rc = orbis_ws_frame_end(ws);
            if (rc != ORBIS_OK) {
                break;
            }
        }
    }

    /* after a close or a failure the rest of the input is not ours */
    ws->in = NULL;
    ws->in_len = 0;

    return rc;
}


static orbis_rc_t
orbis_ws_frame_start(orbis_ws_t *ws, const struct wslay_frame_iocb *iocb)
{
    uint8_t  op;

    /* no extension is ever negotiated, so every RSV bit is an error */
    if (iocb->rsv != 0) {
        return orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL, "reserved bits set");
    }

    if (iocb->mask != (ws->role == ORBIS_WS_SERVER)) {
        return orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL,
                             iocb->mask ? "masked frame" : "unmasked frame");
    }

    op = iocb->opcode;

    switch (op) {

    case ORBIS_WS_CONTINUATION:
        if (ws->msg_opcode == 0) {
            return orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL,
                                 "continuation without a message");
        }
        break;

    case ORBIS_WS_TEXT:
    case ORBIS_WS_BINARY:
        if (ws->msg_opcode != 0) {
            return orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL,
                                 "message inside a fragmented message");
        }
        break;

    case ORBIS_WS_CLOSE:
    case ORBIS_WS_PING:
    case ORBIS_WS_PONG:
        break;

    default:
        return orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL, "unknown opcode");
    }

    if (op == ORBIS_WS_CONTINUATION || op == ORBIS_WS_TEXT
        || op == ORBIS_WS_BINARY)
    {
        /* checked before buffering, so a huge length allocates nothing */
        if (iocb->payload_length
            > ws->cfg.max_message_size - (ws->msg.end - ws->msg.start))
        {
            return orbis_ws_fail(ws, ORBIS_WS_CLOSE_TOO_BIG,
                                 "message too big");
        }

        if (op != ORBIS_WS_CONTINUATION) {
            ws->msg_opcode = op;
            ws->msg.start = 0;
            ws->msg.end = 0;
            orbis_utf8_init(&ws->utf8);
        }

    } else {
        ws->ctrl_len = 0;
    }

    ws->in_frame = 1;
    ws->frame_opcode = op;
    ws->frame_fin = iocb->fin;
    ws->frame_left = iocb->payload_length;

    return ORBIS_OK;
}


static orbis_rc_t
orbis_ws_frame_data(orbis_ws_t *ws, const struct wslay_frame_iocb *iocb)
{
    size_t  len;

    len = iocb->data_length;

    if (len > ws->frame_left) {
        return orbis_ws_fail(ws, ORBIS_WS_CLOSE_INTERNAL, "framing");
    }

    ws->frame_left -= len;

    if (len == 0) {
        return ORBIS_OK;
    }

    if (ws->frame_opcode & 0x8) {
        /* wslay has already refused control frames over 125 bytes */
        if (len > sizeof(ws->ctrl) - ws->ctrl_len) {
            return orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL,
                                 "control frame too long");
        }

        memcpy(ws->ctrl + ws->ctrl_len, iocb->data, len);
        ws->ctrl_len += len;

        return ORBIS_OK;
    }

    /* fail fast, as RFC 6455 8.1 asks, without waiting for the end */
    if (ws->msg_opcode == ORBIS_WS_TEXT
        && !orbis_utf8_feed(&ws->utf8, iocb->data, len))
    {
        return orbis_ws_fail(ws, ORBIS_WS_CLOSE_INVALID_DATA,
                             "invalid UTF-8");
    }

    if (orbis_ws_buf_append(&ws->msg, iocb->data, len) != ORBIS_OK) {
        orbis_ws_fail(ws, ORBIS_WS_CLOSE_INTERNAL, "out of memory");
        return ORBIS_ERR_NOMEM;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_ws_frame_end(orbis_ws_t *ws)
{
    uint8_t         op;
    const uint8_t  *p;

    ws->in_frame = 0;

    if (ws->frame_opcode & 0x8) {
        return orbis_ws_control(ws);
    }

    if (!ws->frame_fin) {
        return ORBIS_OK;
    }

    op = ws->msg_opcode;
    ws->msg_opcode = 0;

    if (op == ORBIS_WS_TEXT && !orbis_utf8_complete(&ws->utf8)) {
        return orbis_ws_fail(ws, ORBIS_WS_CLOSE_INVALID_DATA,
                             "truncated UTF-8");
    }

    if (!ws->close_sent && ws->cfg.on_message != NULL) {
        /* an empty first message has no buffer yet: never pass NULL */
        p = (ws->msg.data != NULL) ? ws->msg.data + ws->msg.start
                                   : (const uint8_t *) "";

        ws->cfg.on_message(ws->cfg.userdata, (orbis_ws_opcode_t) op, p,
                           ws->msg.end - ws->msg.start);
    }

    orbis_ws_buf_reset(&ws->msg);

    return ORBIS_OK;
}


static orbis_rc_t
orbis_ws_control(orbis_ws_t *ws)
{
    orbis_rc_t  rc;

    switch (ws->frame_opcode) {

    case ORBIS_WS_PING:
        if (ws->close_sent) {
            return ORBIS_OK;
        }

        rc = orbis_ws_queue_frame(ws, ORBIS_WS_PONG, ws->ctrl, ws->ctrl_len);
        if (rc == ORBIS_ERR_NOMEM) {
            orbis_ws_fail(ws, ORBIS_WS_CLOSE_INTERNAL, "out of memory");
            return rc;
        }

        /* a refused mask key loses only this pong */
        return ORBIS_OK;

    case ORBIS_WS_CLOSE:
        return orbis_ws_peer_close(ws);

    default:
        /* unsolicited pongs are allowed and ignored */
        return ORBIS_OK;
    }
}


static orbis_rc_t
orbis_ws_peer_close(orbis_ws_t *ws)
{
    size_t       rlen;
    uint16_t     code;
    const char  *reason;

    if (ws->ctrl_len == 1) {
        return orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL,
                             "one-byte close payload");
    }

    code = ORBIS_WS_CLOSE_NO_STATUS;
    reason = NULL;
    rlen = 0;

    if (ws->ctrl_len >= 2) {
        code = (uint16_t) ((ws->ctrl[0] << 8) | ws->ctrl[1]);

        if (!orbis_ws_close_code_valid(code)) {
            return orbis_ws_fail(ws, ORBIS_WS_CLOSE_PROTOCOL,
                                 "invalid close code");
        }

        reason = (const char *) ws->ctrl + 2;
        rlen = ws->ctrl_len - 2;

        if (!orbis_utf8_valid(ws->ctrl + 2, rlen, 0)) {
            return orbis_ws_fail(ws, ORBIS_WS_CLOSE_INVALID_DATA,
                                 "invalid UTF-8 in close reason");
        }
    }

    ws->close_received = 1;
    ws->reading = 0;

    if (!ws->close_sent) {
        /*
         * Echo the code (RFC 6455 5.5.1), not the reason: it is the peer's
         * text.  If even this fails the peer still sees the TCP close.
         */
        (void) orbis_ws_queue_close(ws,
                                    code == ORBIS_WS_CLOSE_NO_STATUS ? 0 : code,
                                    NULL, 0);
        ws->close_sent = 1;
    }

    ws->state = ORBIS_WS_CLOSED;

    if (ws->cfg.on_close != NULL) {
        ws->cfg.on_close(ws->cfg.userdata, code, reason, rlen);
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_ws_fail(orbis_ws_t *ws, uint16_t code, const char *reason)
{
    ws->reading = 0;
    ws->in_frame = 0;
    ws->msg_opcode = 0;

    if (!ws->close_sent) {
        (void) orbis_ws_queue_close(ws, code, (const uint8_t *) reason,
                                    strlen(reason));
        ws->close_sent = 1;
        ws->close_code = code;
    }

    ws->state = ORBIS_WS_FAILED;

    /* the frees of a long message buffer wait for orbis_ws_free() */
    return ORBIS_ERR_PROTOCOL;
}
