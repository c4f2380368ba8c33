/*
 * Copyright (C) Orbis
 *
 * Internals shared by the files of src/ws.  Nothing here is exported from
 * liborbiscore.so: the names carry ORBIS_WS_HIDDEN because the export list
 * would otherwise publish every orbis_* symbol.
 */

#ifndef ORBIS_WS_INT_H
#define ORBIS_WS_INT_H

#include <wslay/wslay.h>

#include <orbiscore/utf8.h>
#include <orbiscore/ws.h>


#if defined(__GNUC__)
#define ORBIS_WS_HIDDEN  __attribute__((visibility("hidden")))
#else
#define ORBIS_WS_HIDDEN
#endif


/* buffers above this size are released once empty */
#define ORBIS_WS_BUF_KEEP  (64 * 1024)


/* the growable byte queue behind the output and message buffers */
typedef struct {
    uint8_t  *data;
    size_t    start;
    size_t    end;
    size_t    cap;
} orbis_ws_buf_t;


struct orbis_ws_s {
    orbis_ws_role_t          role;
    orbis_ws_config_t        cfg;
    orbis_ws_state_t         state;

    wslay_frame_context_ptr  frame;

    /* input handed to wslay by the recv callback during orbis_ws_feed() */
    const uint8_t           *in;
    size_t                   in_len;

    /* the frame being received */
    uint64_t                 frame_left;
    uint8_t                  frame_opcode;
    unsigned                 in_frame:1;
    unsigned                 frame_fin:1;

    unsigned                 close_sent:1;
    unsigned                 close_received:1;
    unsigned                 reading:1;

    /* the data message being reassembled (0: none) */
    uint8_t                  msg_opcode;
    orbis_ws_buf_t           msg;
    orbis_utf8_t             utf8;

    /* the control frame being received */
    uint8_t                  ctrl[ORBIS_WS_MAX_CONTROL];
    size_t                   ctrl_len;

    orbis_ws_buf_t           out;
    uint16_t                 close_code;
    int                      random_failed;
};


/* makes room for len more bytes at the end */
ORBIS_WS_HIDDEN orbis_rc_t orbis_ws_buf_reserve(orbis_ws_buf_t *b,
    size_t len);
ORBIS_WS_HIDDEN orbis_rc_t orbis_ws_buf_append(orbis_ws_buf_t *b,
    const uint8_t *p, size_t len);
ORBIS_WS_HIDDEN void orbis_ws_buf_consume(orbis_ws_buf_t *b, size_t n);
/* empties b, releasing its storage if it grew large */
ORBIS_WS_HIDDEN void orbis_ws_buf_reset(orbis_ws_buf_t *b);
ORBIS_WS_HIDDEN void orbis_ws_buf_free(orbis_ws_buf_t *b);

/* queues one complete frame on ws->out through wslay's frame writer */
ORBIS_WS_HIDDEN orbis_rc_t orbis_ws_queue_frame(orbis_ws_t *ws,
    uint8_t opcode, const uint8_t *data, size_t len);
/* the close we send: code 0 means an empty close payload */
ORBIS_WS_HIDDEN orbis_rc_t orbis_ws_queue_close(orbis_ws_t *ws,
    uint16_t code, const uint8_t *reason, size_t len);

/* 1 if a peer may put code in a close frame */
ORBIS_WS_HIDDEN int orbis_ws_close_code_valid(uint16_t code);


#endif /* ORBIS_WS_INT_H */
