/*
 * Copyright (C) Orbis
 *
 * ws: a sans-I/O WebSocket (RFC 6455) endpoint.
 *
 * The same codec serves both sides of the voice gateway: the server role
 * talks to browsers on /stream (their frames must be masked, ours are
 * not), the client role talks to Gemini Live (we mask with random keys the
 * caller supplies, the server's frames must not be masked).
 *
 * The endpoint never touches a socket.  The caller feeds it the bytes it
 * read with orbis_ws_feed(), which fires the on_message / on_close
 * callbacks, and drains what the endpoint wants written with
 * orbis_ws_pending_output() + orbis_ws_consume_output(), as much as the
 * socket accepts.  Pings are answered, a peer's close is echoed and a
 * protocol violation is answered with the right close code, all by
 * queueing frames on that output.
 *
 * Closing: after orbis_ws_feed() or orbis_ws_send_close() the caller
 * flushes the output and closes the TCP connection once
 * orbis_ws_state() is ORBIS_WS_CLOSED or ORBIS_WS_FAILED (RFC 6455 wants
 * the server to close TCP first; a client should wait a little for it).
 */

#ifndef ORBISCORE_WS_H
#define ORBISCORE_WS_H

#include <orbiscore/orbiscore.h>


/* defaults for orbis_ws_config_t.max_message_size == 0 */
#define ORBIS_WS_DEFAULT_MAX_MESSAGE  (1024 * 1024)

/* largest close reason: 125 bytes of control payload minus the code */
#define ORBIS_WS_MAX_CLOSE_REASON     123
#define ORBIS_WS_MAX_CONTROL          125

#define ORBIS_WS_ACCEPT_LEN           28    /* without the NUL */
#define ORBIS_WS_KEY_LEN              24    /* without the NUL */


/* close codes this library sends or reports (RFC 6455 section 7.4.1) */
#define ORBIS_WS_CLOSE_NORMAL         1000
#define ORBIS_WS_CLOSE_GOING_AWAY     1001
#define ORBIS_WS_CLOSE_PROTOCOL       1002
#define ORBIS_WS_CLOSE_UNSUPPORTED    1003
#define ORBIS_WS_CLOSE_NO_STATUS      1005  /* reported only, never sent */
#define ORBIS_WS_CLOSE_INVALID_DATA   1007
#define ORBIS_WS_CLOSE_POLICY         1008
#define ORBIS_WS_CLOSE_TOO_BIG        1009
#define ORBIS_WS_CLOSE_INTERNAL       1011


typedef enum {
    ORBIS_WS_SERVER = 0,
    ORBIS_WS_CLIENT
} orbis_ws_role_t;


typedef enum {
    ORBIS_WS_CONTINUATION = 0x0,
    ORBIS_WS_TEXT = 0x1,
    ORBIS_WS_BINARY = 0x2,
    ORBIS_WS_CLOSE = 0x8,
    ORBIS_WS_PING = 0x9,
    ORBIS_WS_PONG = 0xa
} orbis_ws_opcode_t;


typedef enum {
    ORBIS_WS_OPEN = 0,
    ORBIS_WS_CLOSING,         /* we sent a close, the peer has not yet */
    ORBIS_WS_CLOSED,          /* close frames went both ways */
    ORBIS_WS_FAILED           /* peer broke the protocol, we sent a close */
} orbis_ws_state_t;


/*
 * A complete message (fragments joined, text checked for UTF-8).  data is
 * valid only during the call and is not NUL-terminated.
 */
typedef void (*orbis_ws_message_pt)(void *userdata, orbis_ws_opcode_t opcode,
    const uint8_t *data, size_t len);

/*
 * The peer's close frame: code is ORBIS_WS_CLOSE_NO_STATUS when it carried
 * none; reason is valid UTF-8, valid only during the call, not
 * NUL-terminated.  The endpoint has already queued its answer (unless it
 * had sent a close first).
 */
typedef void (*orbis_ws_close_pt)(void *userdata, uint16_t code,
    const char *reason, size_t len);

/* must fill buf with len unpredictable bytes; returns 0, or -1 on failure */
typedef int (*orbis_ws_random_pt)(void *userdata, uint8_t *buf, size_t len);


typedef struct {
    size_t               max_message_size;  /* 0: the default above */
    orbis_ws_message_pt  on_message;        /* may be NULL */
    orbis_ws_close_pt    on_close;          /* may be NULL */
    orbis_ws_random_pt   random;            /* mask keys; client role only */
    void                *userdata;          /* passed to the three above */
} orbis_ws_config_t;


typedef struct orbis_ws_s  orbis_ws_t;


/*
 * Creates an endpoint in the given role; cfg is copied.  The client role
 * needs cfg->random.  Release with orbis_ws_free().
 */
orbis_ws_t *orbis_ws_new(orbis_ws_role_t role, const orbis_ws_config_t *cfg,
    orbis_err_t *err);
void orbis_ws_free(orbis_ws_t *ws);

/*
 * Consumes all len bytes, firing callbacks for every complete message.
 * Callbacks may call the orbis_ws_send*() functions but must not free the
 * endpoint or feed it again.  Data messages that arrive after we sent a
 * close are dropped (their framing is still checked).
 * Returns ORBIS_OK, or ORBIS_ERR_PROTOCOL when the peer broke the protocol
 * (now or earlier): a close frame with orbis_ws_close_code() is queued and
 * nothing more is read.  ORBIS_ERR_NOMEM fails the connection the same way
 * with 1011.  Bytes fed after the peer's close are ignored.
 */
orbis_rc_t orbis_ws_feed(orbis_ws_t *ws, const uint8_t *data, size_t len);

/*
 * Queues one unfragmented data message (ORBIS_WS_TEXT or ORBIS_WS_BINARY);
 * text must be valid UTF-8.  Returns ORBIS_ERR_INVALID for a bad opcode,
 * bad UTF-8 or once a close was sent, ORBIS_ERR_INTERNAL when the random
 * callback fails, ORBIS_ERR_NOMEM.
 */
orbis_rc_t orbis_ws_send(orbis_ws_t *ws, orbis_ws_opcode_t opcode,
    const uint8_t *data, size_t len);

/* queues a ping; len must be <= ORBIS_WS_MAX_CONTROL (else ORBIS_ERR_RANGE) */
orbis_rc_t orbis_ws_send_ping(orbis_ws_t *ws, const uint8_t *data,
    size_t len);

/*
 * Starts the closing handshake.  code 0 sends a close without status;
 * otherwise it must be one an endpoint may send (1000-1003, 1007-1014,
 * 3000-4999) or ORBIS_ERR_INVALID is returned.  reason must be UTF-8; it is
 * cut at a character boundary to ORBIS_WS_MAX_CLOSE_REASON bytes.  Sending
 * a second close is ORBIS_ERR_INVALID.
 */
orbis_rc_t orbis_ws_send_close(orbis_ws_t *ws, uint16_t code,
    const char *reason, size_t len);

/*
 * The bytes waiting to be written (borrowed; valid until the next call on
 * ws).  *len is 0 when there is nothing to write.
 */
void orbis_ws_pending_output(orbis_ws_t *ws, const uint8_t **data,
    size_t *len);
/* marks n bytes of the pending output as written (n <= pending length) */
void orbis_ws_consume_output(orbis_ws_t *ws, size_t n);
/* bytes queued but not yet consumed: stop reading while this is too big */
size_t orbis_ws_output_size(const orbis_ws_t *ws);

orbis_ws_state_t orbis_ws_state(const orbis_ws_t *ws);
/* 1 once close frames went both ways */
int orbis_ws_closed(const orbis_ws_t *ws);
/* the code of the close frame we sent, 0 if none or if it had no code */
uint16_t orbis_ws_close_code(const orbis_ws_t *ws);


/*
 * Handshake helpers.  orbis_ws_accept_key() computes Sec-WebSocket-Accept
 * for a client's Sec-WebSocket-Key (base64(SHA-1(key + GUID))) into out,
 * NUL-terminated.  orbis_ws_client_key() makes a Sec-WebSocket-Key from 16
 * caller-supplied random bytes.  orbis_ws_key_valid() returns 1 when key is
 * the base64 encoding of exactly 16 bytes (what a server must check).
 */
orbis_rc_t orbis_ws_accept_key(const char *client_key, size_t len,
    char out[ORBIS_WS_ACCEPT_LEN + 1]);
void orbis_ws_client_key(const uint8_t random[16],
    char out[ORBIS_WS_KEY_LEN + 1]);
int orbis_ws_key_valid(const char *key, size_t len);


#endif /* ORBISCORE_WS_H */
