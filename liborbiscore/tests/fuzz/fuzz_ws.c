/*
 * Copyright (C) Orbis
 *
 * libFuzzer entry for the WebSocket endpoint in the server role (what a
 * browser on /stream can reach).  The first input byte picks the size of
 * the pieces the rest is fed in, so partial frames are exercised too;
 * every message is echoed back and the output is drained as a socket
 * would.  Build:
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Iinclude \
 *       tests/fuzz/fuzz_ws.c build/liborbiscore.a \
 *       -ljansson -lcrypto -lwslay -lspeexdsp -lm -o fuzz_ws
 */


#include <stddef.h>
#include <stdint.h>

#include <orbiscore/ws.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fuzz_on_message(void *ud, orbis_ws_opcode_t opcode,
    const uint8_t *data, size_t len);


static void
fuzz_on_message(void *ud, orbis_ws_opcode_t opcode, const uint8_t *data,
    size_t len)
{
    orbis_ws_t  **ws = ud;

    (void) orbis_ws_send(*ws, opcode, data, len);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              piece, n, out;
    orbis_ws_t         *ws;
    const uint8_t      *p;
    orbis_ws_config_t   cfg = { 0 };

    if (size < 1) {
        return 0;
    }

    piece = (size_t) data[0] + 1;
    data++;
    size--;

    /* the callback finds the endpoint through ws, set just below */
    cfg.max_message_size = 64 * 1024;
    cfg.on_message = fuzz_on_message;
    cfg.userdata = &ws;

    ws = orbis_ws_new(ORBIS_WS_SERVER, &cfg, NULL);
    if (ws == NULL) {
        return 0;
    }

    while (size > 0) {
        n = size < piece ? size : piece;

        if (orbis_ws_feed(ws, data, n) != ORBIS_OK) {
            break;
        }

        data += n;
        size -= n;

        orbis_ws_pending_output(ws, &p, &out);
        orbis_ws_consume_output(ws, out / 2 + 1);
    }

    orbis_ws_pending_output(ws, &p, &out);
    orbis_ws_consume_output(ws, out);
    (void) orbis_ws_state(ws);

    orbis_ws_free(ws);

    return 0;
}
