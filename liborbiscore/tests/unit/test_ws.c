/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/ws.h>


#define MAX_MSGS  8


typedef struct {
    int        messages;
    int        opcodes[MAX_MSGS];
    uint8_t   *data[MAX_MSGS];
    size_t     lens[MAX_MSGS];
    int        closes;
    uint16_t   close_code;
    char       close_reason[128];
    size_t     close_reason_len;
    uint8_t    next_random;
    int        random_fails;
} capture_t;


typedef struct {
    int       fin;
    int       rsv;
    int       opcode;
    int       masked;
    uint8_t   mask[4];
    uint64_t  len;
    uint8_t  *payload;      /* malloc'd, unmasked */
    size_t    frame_len;    /* header + payload bytes */
} frame_t;


static void on_message(void *ud, orbis_ws_opcode_t opcode,
    const uint8_t *data, size_t len);
static void on_close(void *ud, uint16_t code, const char *reason,
    size_t len);
static int fake_random(void *ud, uint8_t *buf, size_t len);
static orbis_ws_t *endpoint(orbis_ws_role_t role, capture_t *cap,
    size_t max);
static size_t build(uint8_t *out, int b0, int masked, const void *payload,
    uint64_t len, int len_form);
static size_t frame(uint8_t *out, int fin, int opcode, int masked,
    const void *payload, size_t len);
static int parse(const uint8_t *p, size_t n, frame_t *f);
static void next_out(orbis_ws_t *ws, frame_t *f);
static void expect_close(orbis_ws_t *ws, uint16_t code);
static void expect_no_output(orbis_ws_t *ws);
static void feed_bytewise(orbis_ws_t *ws, const uint8_t *p, size_t n);
static void capture_free(capture_t *cap);
static void fail_with(orbis_ws_role_t role, const uint8_t *p, size_t n,
    uint16_t code);


static const uint8_t  test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };


static void
on_message(void *ud, orbis_ws_opcode_t opcode, const uint8_t *data,
    size_t len)
{
    capture_t  *cap = ud;
    int         i;

    assert_true(cap->messages < MAX_MSGS);
    assert_non_null(data);

    i = cap->messages++;
    cap->opcodes[i] = opcode;
    cap->lens[i] = len;
    cap->data[i] = malloc(len + 1);
    assert_non_null(cap->data[i]);

    if (len > 0) {
        memcpy(cap->data[i], data, len);
    }

    cap->data[i][len] = '\0';
}


static void
on_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    capture_t  *cap = ud;

    cap->closes++;
    cap->close_code = code;
    assert_true(len < sizeof(cap->close_reason));

    if (len > 0) {
        memcpy(cap->close_reason, reason, len);
    }

    cap->close_reason[len] = '\0';
    cap->close_reason_len = len;
}


static int
fake_random(void *ud, uint8_t *buf, size_t len)
{
    capture_t  *cap = ud;
    size_t      i;

    if (cap->random_fails) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        buf[i] = (uint8_t) (0xa0 + cap->next_random++);
    }

    return 0;
}


static orbis_ws_t *
endpoint(orbis_ws_role_t role, capture_t *cap, size_t max)
{
    orbis_ws_t         *ws;
    orbis_err_t         err;
    orbis_ws_config_t   cfg;

    memset(cap, 0, sizeof(capture_t));
    memset(&cfg, 0, sizeof(cfg));

    cfg.max_message_size = max;
    cfg.on_message = on_message;
    cfg.on_close = on_close;
    cfg.random = fake_random;
    cfg.userdata = cap;

    ws = orbis_ws_new(role, &cfg, &err);
    assert_non_null(ws);

    return ws;
}


/* len_form: 0 shortest, 16 or 64 force that extended length form */
static size_t
build(uint8_t *out, int b0, int masked, const void *payload, uint64_t len,
    int len_form)
{
    size_t          n, i;
    const uint8_t  *p = payload;

    n = 0;
    out[n++] = (uint8_t) b0;

    if (len_form == 64 || (len_form == 0 && len > 0xffff)) {
        out[n++] = (uint8_t) ((masked ? 0x80 : 0) | 127);

        for (i = 0; i < 8; i++) {
            out[n++] = (uint8_t) (len >> (56 - 8 * i));
        }

    } else if (len_form == 16 || (len_form == 0 && len > 125)) {
        out[n++] = (uint8_t) ((masked ? 0x80 : 0) | 126);
        out[n++] = (uint8_t) (len >> 8);
        out[n++] = (uint8_t) len;

    } else {
        out[n++] = (uint8_t) ((masked ? 0x80 : 0) | len);
    }

    if (masked) {
        memcpy(out + n, test_mask, 4);
        n += 4;
    }

    if (p == NULL) {
        return n;
    }

    for (i = 0; i < len; i++) {
        out[n + i] = masked ? (p[i] ^ test_mask[i % 4]) : p[i];
    }

    return n + len;
}


static size_t
frame(uint8_t *out, int fin, int opcode, int masked, const void *payload,
    size_t len)
{
    return build(out, (fin ? 0x80 : 0) | opcode, masked, payload, len, 0);
}


static int
parse(const uint8_t *p, size_t n, frame_t *f)
{
    size_t    h, i;
    uint64_t  len;

    if (n < 2) {
        return 0;
    }

    memset(f, 0, sizeof(frame_t));
    f->fin = p[0] >> 7;
    f->rsv = (p[0] >> 4) & 7;
    f->opcode = p[0] & 0xf;
    f->masked = p[1] >> 7;
    len = p[1] & 0x7f;
    h = 2;

    if (len == 126) {
        len = ((uint64_t) p[2] << 8) | p[3];
        h = 4;

    } else if (len == 127) {
        len = 0;

        for (i = 0; i < 8; i++) {
            len = (len << 8) | p[2 + i];
        }

        h = 10;
    }

    if (f->masked) {
        memcpy(f->mask, p + h, 4);
        h += 4;
    }

    if (n < h + len) {
        return 0;
    }

    f->len = len;
    f->payload = malloc(len + 1);
    assert_non_null(f->payload);

    for (i = 0; i < len; i++) {
        f->payload[i] = f->masked ? (p[h + i] ^ f->mask[i % 4]) : p[h + i];
    }

    f->payload[len] = '\0';
    f->frame_len = h + len;

    return 1;
}


static void
next_out(orbis_ws_t *ws, frame_t *f)
{
    size_t          n;
    const uint8_t  *p;

    orbis_ws_pending_output(ws, &p, &n);
    assert_true(parse(p, n, f));
    orbis_ws_consume_output(ws, f->frame_len);
}


static void
expect_close(orbis_ws_t *ws, uint16_t code)
{
    frame_t  f;

    next_out(ws, &f);
    assert_int_equal(f.opcode, ORBIS_WS_CLOSE);
    assert_int_equal(f.fin, 1);

    if (code == 0) {
        assert_int_equal(f.len, 0);

    } else {
        assert_true(f.len >= 2);
        assert_int_equal((f.payload[0] << 8) | f.payload[1], code);
    }

    free(f.payload);
}


static void
expect_no_output(orbis_ws_t *ws)
{
    assert_int_equal(orbis_ws_output_size(ws), 0);
}


static void
feed_bytewise(orbis_ws_t *ws, const uint8_t *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        assert_int_equal(orbis_ws_feed(ws, p + i, 1), ORBIS_OK);
    }
}


static void
capture_free(capture_t *cap)
{
    int  i;

    for (i = 0; i < cap->messages; i++) {
        free(cap->data[i]);
    }
}


static void
fail_with(orbis_ws_role_t role, const uint8_t *p, size_t n, uint16_t code)
{
    orbis_ws_t  *ws;
    capture_t    cap;

    ws = endpoint(role, &cap, 0);

    assert_int_equal(orbis_ws_feed(ws, p, n), ORBIS_ERR_PROTOCOL);
    assert_int_equal(orbis_ws_state(ws), ORBIS_WS_FAILED);
    assert_int_equal(orbis_ws_close_code(ws), code);
    assert_int_equal(cap.messages, 0);
    expect_close(ws, code);
    expect_no_output(ws);

    /* nothing more is read, and the answer stays the same */
    assert_int_equal(orbis_ws_feed(ws, p, n), ORBIS_ERR_PROTOCOL);
    expect_no_output(ws);
    assert_false(orbis_ws_closed(ws));

    capture_free(&cap);
    orbis_ws_free(ws);
}


static void
test_accept_key_rfc_vector(void **state)
{
    char  out[ORBIS_WS_ACCEPT_LEN + 1];

    (void) state;

    /*
     * RFC 6455 section 1.3 (the value printed there; an older note in the
     * project had a different, wrong one)
     */
    assert_int_equal(orbis_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out),
                     ORBIS_OK);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    /* a second pair, computed independently with Python's hashlib */
    assert_int_equal(orbis_ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out),
                     ORBIS_OK);
    assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");

    assert_int_equal(orbis_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", 22, out),
                     ORBIS_ERR_INVALID);
    assert_string_equal(out, "");
}


static void
test_client_key_and_validation(void **state)
{
    char  key[ORBIS_WS_KEY_LEN + 1];

    (void) state;

    orbis_ws_client_key((const uint8_t *) "the sample nonce", key);
    assert_string_equal(key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert_true(orbis_ws_key_valid(key, strlen(key)));

    assert_true(orbis_ws_key_valid("AAAAAAAAAAAAAAAAAAAAAA==", 24));
    assert_true(orbis_ws_key_valid("+/+/+/+/+/+/+/+/+/+/+w==", 24));
    /* 15 and 17 bytes, bad alphabet, url-safe, missing padding */
    assert_false(orbis_ws_key_valid("AAAAAAAAAAAAAAAAAAAA", 20));
    assert_false(orbis_ws_key_valid("AAAAAAAAAAAAAAAAAAAAAAA=", 24));
    assert_false(orbis_ws_key_valid("AAAAAAAAAAAAAAAAAAAAAAAA", 24));
    assert_false(orbis_ws_key_valid("AAAAAAAAAAAAAAAAAAAAA-==", 24));
    assert_false(orbis_ws_key_valid("AAAAAAAAAAAAAAAAAAAA A==", 24));
    assert_false(orbis_ws_key_valid("AAAAAAAAAAAAAAAAAAAAAA==A", 25));
    assert_false(orbis_ws_key_valid("", 0));
    assert_false(orbis_ws_key_valid(NULL, 24));
}


static void
test_new_checks_config(void **state)
{
    orbis_err_t        err;
    orbis_ws_config_t  cfg;

    (void) state;

    memset(&cfg, 0, sizeof(cfg));

    assert_null(orbis_ws_new(ORBIS_WS_CLIENT, &cfg, &err));
    assert_int_equal(err.code, ORBIS_ERR_INVALID);
    assert_null(orbis_ws_new(ORBIS_WS_SERVER, NULL, &err));
    assert_null(orbis_ws_new((orbis_ws_role_t) 7, &cfg, &err));

    /* the server role never masks, so it needs no randomness */
    orbis_ws_free(orbis_ws_new(ORBIS_WS_SERVER, &cfg, &err));
    orbis_ws_free(NULL);
}


static void
test_server_accepts_masked_text(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t      buf[64];
    size_t       n;

    (void) state;

    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);

    n = frame(buf, 1, ORBIS_WS_TEXT, 1, "Hello", 5);
    n += frame(buf + n, 1, ORBIS_WS_BINARY, 1, "\x00\xff", 2);
    n += frame(buf + n, 1, ORBIS_WS_TEXT, 1, NULL, 0);

    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
    assert_int_equal(cap.messages, 3);
    assert_int_equal(cap.opcodes[0], ORBIS_WS_TEXT);
    assert_string_equal((char *) cap.data[0], "Hello");
    assert_int_equal(cap.opcodes[1], ORBIS_WS_BINARY);
    assert_int_equal(cap.lens[1], 2);
    assert_memory_equal(cap.data[1], "\x00\xff", 2);
    assert_int_equal(cap.lens[2], 0);
    assert_int_equal(orbis_ws_state(ws), ORBIS_WS_OPEN);
    expect_no_output(ws);

    capture_free(&cap);
    orbis_ws_free(ws);

    /* an empty first message, before any buffer exists */
    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);
    n = frame(buf, 1, ORBIS_WS_BINARY, 1, NULL, 0);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
    assert_int_equal(cap.messages, 1);
    assert_int_equal(cap.lens[0], 0);

    capture_free(&cap);
    orbis_ws_free(ws);
}


static void
test_server_refuses_unmasked(void **state)
{
    uint8_t  buf[64];
    size_t   n;

    (void) state;

    n = frame(buf, 1, ORBIS_WS_TEXT, 0, "Hello", 5);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    /* control frames too */
    n = frame(buf, 1, ORBIS_WS_PING, 0, "x", 1);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);
}


static void
test_client_accepts_unmasked_refuses_masked(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t      buf[64];
    size_t       n;

    (void) state;

    ws = endpoint(ORBIS_WS_CLIENT, &cap, 0);

    n = frame(buf, 1, ORBIS_WS_BINARY, 0, "{\"setupComplete\":{}}", 20);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
    assert_int_equal(cap.messages, 1);
    assert_int_equal(cap.opcodes[0], ORBIS_WS_BINARY);
    assert_string_equal((char *) cap.data[0], "{\"setupComplete\":{}}");

    capture_free(&cap);
    orbis_ws_free(ws);

    n = frame(buf, 1, ORBIS_WS_TEXT, 1, "Hello", 5);
    fail_with(ORBIS_WS_CLIENT, buf, n, 1002);
}


static void
test_client_masks_with_caller_random(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    frame_t      f;
    uint8_t     *big;
    size_t       i;

    (void) state;

    ws = endpoint(ORBIS_WS_CLIENT, &cap, 0);

    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_TEXT,
                                   (const uint8_t *) "{\"setup\":{}}", 12),
                     ORBIS_OK);

    next_out(ws, &f);
    assert_int_equal(f.masked, 1);
    assert_int_equal(f.opcode, ORBIS_WS_TEXT);
    assert_int_equal(f.fin, 1);
    assert_memory_equal(f.mask, "\xa0\xa1\xa2\xa3", 4);
    assert_string_equal((char *) f.payload, "{\"setup\":{}}");
    free(f.payload);

    /* a fresh key per frame, and the 64-bit length form */
    big = malloc(70000);
    assert_non_null(big);

    for (i = 0; i < 70000; i++) {
        big[i] = (uint8_t) (i * 7);
    }

    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_BINARY, big, 70000),
                     ORBIS_OK);
    next_out(ws, &f);
    assert_memory_equal(f.mask, "\xa4\xa5\xa6\xa7", 4);
    assert_int_equal(f.len, 70000);
    assert_int_equal(f.frame_len, 2 + 8 + 4 + 70000);
    assert_memory_equal(f.payload, big, 70000);
    free(f.payload);
    free(big);

    /* a refused mask key sends nothing */
    cap.random_fails = 1;
    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_TEXT,
                                   (const uint8_t *) "x", 1),
                     ORBIS_ERR_INTERNAL);
    expect_no_output(ws);
    cap.random_fails = 0;
    assert_int_equal(orbis_ws_send_ping(ws, NULL, 0), ORBIS_OK);
    next_out(ws, &f);
    assert_int_equal(f.opcode, ORBIS_WS_PING);
    assert_int_equal(f.masked, 1);
    free(f.payload);

    orbis_ws_free(ws);
}


static void
test_server_frames_are_unmasked(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    frame_t      f;
    uint8_t      buf[300];

    (void) state;

    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);
    memset(buf, 'a', sizeof(buf));

    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_TEXT, buf, 300), ORBIS_OK);
    next_out(ws, &f);
    assert_int_equal(f.masked, 0);
    assert_int_equal(f.len, 300);
    assert_int_equal(f.frame_len, 4 + 300);
    free(f.payload);

    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_TEXT, buf, 125), ORBIS_OK);
    next_out(ws, &f);
    assert_int_equal(f.frame_len, 2 + 125);
    free(f.payload);

    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_PING, buf, 1),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_TEXT,
                                   (const uint8_t *) "\xc3", 1),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_ws_send_ping(ws, buf, 126), ORBIS_ERR_RANGE);
    expect_no_output(ws);

    orbis_ws_free(ws);
}


static void
test_fragmented_text_bytewise(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t      buf[128];
    size_t       n;

    (void) state;

    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);

    /* "h\xc3\xa9llo w\xc3\xb6rld": both characters split over fragments */
    n = frame(buf, 0, ORBIS_WS_TEXT, 1, "h\xc3", 2);
    n += frame(buf + n, 0, ORBIS_WS_CONTINUATION, 1, "\xa9llo w\xc3", 7);
    n += frame(buf + n, 0, ORBIS_WS_CONTINUATION, 1, NULL, 0);
    n += frame(buf + n, 1, ORBIS_WS_CONTINUATION, 1, "\xb6rld", 4);

    feed_bytewise(ws, buf, n);

    assert_int_equal(cap.messages, 1);
    assert_int_equal(cap.opcodes[0], ORBIS_WS_TEXT);
    assert_string_equal((char *) cap.data[0], "h\xc3\xa9llo w\xc3\xb6rld");
    expect_no_output(ws);

    /* the next message starts clean */
    n = frame(buf, 1, ORBIS_WS_BINARY, 1, "z", 1);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
    assert_int_equal(cap.messages, 2);
    assert_int_equal(cap.lens[1], 1);

    capture_free(&cap);
    orbis_ws_free(ws);
}


static void
test_ping_inside_fragmented_message(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    frame_t      f;
    uint8_t      buf[128];
    size_t       n;

    (void) state;

    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);

    n = frame(buf, 0, ORBIS_WS_BINARY, 1, "abc", 3);
    n += frame(buf + n, 1, ORBIS_WS_PING, 1, "are you there", 13);
    n += frame(buf + n, 1, ORBIS_WS_PONG, 1, "unsolicited", 11);
    n += frame(buf + n, 1, ORBIS_WS_CONTINUATION, 1, "def", 3);

    feed_bytewise(ws, buf, n);

    assert_int_equal(cap.messages, 1);
    assert_int_equal(cap.opcodes[0], ORBIS_WS_BINARY);
    assert_string_equal((char *) cap.data[0], "abcdef");

    next_out(ws, &f);
    assert_int_equal(f.opcode, ORBIS_WS_PONG);
    assert_int_equal(f.masked, 0);
    assert_string_equal((char *) f.payload, "are you there");
    free(f.payload);
    expect_no_output(ws);

    capture_free(&cap);
    orbis_ws_free(ws);
}


static void
test_control_frame_rules(void **state)
{
    uint8_t  buf[300], payload[126];
    size_t   n;

    (void) state;

    memset(payload, 'p', sizeof(payload));

    /* 126 bytes of ping in the 16-bit form */
    n = frame(buf, 1, ORBIS_WS_PING, 1, payload, 126);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    /* 125 bytes is the limit, and fine */
    n = frame(buf, 1, ORBIS_WS_PING, 0, payload, 125);
    {
        orbis_ws_t  *ws;
        capture_t    cap;
        frame_t      f;

        ws = endpoint(ORBIS_WS_CLIENT, &cap, 0);
        assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
        next_out(ws, &f);
        assert_int_equal(f.opcode, ORBIS_WS_PONG);
        assert_int_equal(f.len, 125);
        assert_int_equal(f.masked, 1);
        free(f.payload);
        orbis_ws_free(ws);
    }

    /* fragmented control frames */
    n = frame(buf, 0, ORBIS_WS_PING, 1, "a", 1);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    n = frame(buf, 0, ORBIS_WS_CLOSE, 1, "\x03\xe8", 2);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);
}


static void
test_rsv_bits_and_opcodes(void **state)
{
    uint8_t  buf[64];
    size_t   n;
    int      op, rsv;

    (void) state;

    for (rsv = 1; rsv < 8; rsv++) {
        n = build(buf, 0x80 | (rsv << 4) | ORBIS_WS_TEXT, 1, "x", 1, 0);
        fail_with(ORBIS_WS_SERVER, buf, n, 1002);
    }

    for (op = 3; op < 16; op++) {
        if (op >= 8 && op <= 10) {
            continue;
        }

        n = frame(buf, 1, op, 1, "x", 1);
        fail_with(ORBIS_WS_SERVER, buf, n, 1002);
    }

    /* a continuation with nothing to continue */
    n = frame(buf, 1, ORBIS_WS_CONTINUATION, 1, "x", 1);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    /* a new message while one is open */
    n = frame(buf, 0, ORBIS_WS_TEXT, 1, "x", 1);
    n += frame(buf + n, 1, ORBIS_WS_BINARY, 1, "y", 1);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    /* an unknown control opcode inside a fragmented message */
    n = frame(buf, 0, ORBIS_WS_TEXT, 1, "x", 1);
    n += frame(buf + n, 1, 0xb, 1, NULL, 0);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);
}


static void
test_bad_utf8(void **state)
{
    static const struct {
        const char  *a;
        size_t       alen;
        const char  *b;          /* second fragment, or NULL */
        size_t       blen;
    } bad[] = {
        { "\xff", 1, NULL, 0 },
        { "ok\xc0\xaf", 4, NULL, 0 },               /* overlong '/' */
        { "\xe0\x80\xaf", 3, NULL, 0 },             /* overlong */
        { "\xed\xa0\x80", 3, NULL, 0 },             /* surrogate */
        { "\xf4\x90\x80\x80", 4, NULL, 0 },         /* > U+10FFFF */
        { "\xf5\x80\x80\x80", 4, NULL, 0 },
        { "\x80", 1, NULL, 0 },                     /* lone continuation */
        { "abc\xe2\x82", 5, NULL, 0 },              /* truncated */
        { "\xe2", 1, "\x82", 1 },                   /* truncated at fin */
        { "\xe0", 1, "\x80\x80", 2 },               /* overlong, split */
        { "\xce", 1, "a", 1 },                      /* broken, split */
    };

    uint8_t  buf[64];
    size_t   i, n;

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i].b == NULL) {
            n = frame(buf, 1, ORBIS_WS_TEXT, 1, bad[i].a, bad[i].alen);

        } else {
            n = frame(buf, 0, ORBIS_WS_TEXT, 1, bad[i].a, bad[i].alen);
            n += frame(buf + n, 1, ORBIS_WS_CONTINUATION, 1, bad[i].b,
                       bad[i].blen);
        }

        fail_with(ORBIS_WS_SERVER, buf, n, 1007);
    }

    /* binary messages are not text */
    {
        orbis_ws_t  *ws;
        capture_t    cap;

        ws = endpoint(ORBIS_WS_SERVER, &cap, 0);
        n = frame(buf, 1, ORBIS_WS_BINARY, 1, "\xff\xfe", 2);
        assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
        assert_int_equal(cap.messages, 1);

        /* 4-byte characters at both ends of the valid range */
        n = frame(buf, 0, ORBIS_WS_TEXT, 1, "\xf0\x90", 2);
        n += frame(buf + n, 1, ORBIS_WS_CONTINUATION, 1,
                   "\x80\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf", 9);
        assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
        assert_int_equal(cap.messages, 2);
        assert_int_equal(cap.lens[1], 11);

        capture_free(&cap);
        orbis_ws_free(ws);
    }
}


static void
test_utf8_fails_fast(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t      buf[64];
    size_t       n;

    (void) state;

    /* the first fragment is already wrong: no need to wait for the rest */
    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);
    n = frame(buf, 0, ORBIS_WS_TEXT, 1, "ok\xff", 3);

    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_ERR_PROTOCOL);
    assert_int_equal(orbis_ws_close_code(ws), 1007);

    orbis_ws_free(ws);
}


static void
test_close_codes(void **state)
{
    static const uint16_t  invalid[] = {
        0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535
    };
    static const uint16_t  valid[] = {
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1014,
        3000, 3999, 4000, 4999
    };

    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t      buf[64], payload[2];
    size_t       i, n;

    (void) state;

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        payload[0] = (uint8_t) (invalid[i] >> 8);
        payload[1] = (uint8_t) invalid[i];
        n = frame(buf, 1, ORBIS_WS_CLOSE, 1, payload, 2);
        fail_with(ORBIS_WS_SERVER, buf, n, 1002);
    }

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        ws = endpoint(ORBIS_WS_SERVER, &cap, 0);

        payload[0] = (uint8_t) (valid[i] >> 8);
        payload[1] = (uint8_t) valid[i];
        n = frame(buf, 1, ORBIS_WS_CLOSE, 1, payload, 2);

        assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
        assert_int_equal(cap.closes, 1);
        assert_int_equal(cap.close_code, valid[i]);
        assert_int_equal(cap.close_reason_len, 0);
        assert_true(orbis_ws_closed(ws));
        assert_int_equal(orbis_ws_close_code(ws), valid[i]);
        expect_close(ws, valid[i]);
        expect_no_output(ws);

        orbis_ws_free(ws);
    }

    /* a one-byte close payload cannot hold a code */
    n = frame(buf, 1, ORBIS_WS_CLOSE, 1, "\x03", 1);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    /* a close reason must be UTF-8 */
    n = frame(buf, 1, ORBIS_WS_CLOSE, 1, "\x03\xe8\xc3(", 4);
    fail_with(ORBIS_WS_SERVER, buf, n, 1007);

    /* sending: the same codes, and 0 for an empty close */
    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        if (invalid[i] != 0) {
            assert_int_equal(orbis_ws_send_close(ws, invalid[i], NULL, 0),
                             ORBIS_ERR_INVALID);
        }
    }

    assert_int_equal(orbis_ws_send_close(ws, 0, "x", 1), ORBIS_ERR_INVALID);
    assert_int_equal(orbis_ws_send_close(ws, 1000, "\xc3", 1),
                     ORBIS_ERR_INVALID);
    expect_no_output(ws);
    assert_int_equal(orbis_ws_state(ws), ORBIS_WS_OPEN);

    assert_int_equal(orbis_ws_send_close(ws, 0, NULL, 0), ORBIS_OK);
    expect_close(ws, 0);
    assert_int_equal(orbis_ws_close_code(ws), 0);

    orbis_ws_free(ws);
}


static void
test_close_reason_bytewise(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t      buf[64];
    size_t       n;

    (void) state;

    /*
     * wslay's event layer would misjudge this reason when it arrives in
     * pieces; ours checks the whole payload.
     */
    ws = endpoint(ORBIS_WS_CLIENT, &cap, 0);
    n = frame(buf, 1, ORBIS_WS_CLOSE, 0, "\x03\xf3" "D\xc3\xa9j\xc3\xa0 vu",
              11);

    feed_bytewise(ws, buf, n);

    assert_int_equal(cap.closes, 1);
    assert_int_equal(cap.close_code, 1011);
    assert_string_equal(cap.close_reason, "D\xc3\xa9j\xc3\xa0 vu");
    assert_true(orbis_ws_closed(ws));
    expect_close(ws, 1011);

    /* bytes after the close are ignored */
    n = frame(buf, 1, ORBIS_WS_TEXT, 0, "late", 4);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
    assert_int_equal(cap.messages, 0);
    expect_no_output(ws);

    orbis_ws_free(ws);
}


static void
test_empty_close_echo(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t      buf[16];
    size_t       n;

    (void) state;

    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);
    n = frame(buf, 1, ORBIS_WS_CLOSE, 1, NULL, 0);

    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
    assert_int_equal(cap.closes, 1);
    assert_int_equal(cap.close_code, ORBIS_WS_CLOSE_NO_STATUS);
    assert_int_equal(orbis_ws_state(ws), ORBIS_WS_CLOSED);
    expect_close(ws, 0);
    expect_no_output(ws);

    /* nothing can be sent after the echo */
    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_TEXT,
                                   (const uint8_t *) "x", 1),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_ws_send_close(ws, 1000, NULL, 0),
                     ORBIS_ERR_INVALID);

    orbis_ws_free(ws);
}


static void
test_we_close_first(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    frame_t      f;
    uint8_t      buf[300];
    char         reason[200];
    size_t       n;

    (void) state;

    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);

    /* the reason is cut to 123 bytes, not inside the 2-byte character */
    memset(reason, 'r', 122);
    memcpy(reason + 122, "\xc3\xa9tail", 6);

    assert_int_equal(orbis_ws_send_close(ws, 1001, reason, 128), ORBIS_OK);
    assert_int_equal(orbis_ws_state(ws), ORBIS_WS_CLOSING);
    assert_false(orbis_ws_closed(ws));
    assert_int_equal(orbis_ws_close_code(ws), 1001);

    next_out(ws, &f);
    assert_int_equal(f.opcode, ORBIS_WS_CLOSE);
    assert_int_equal(f.len, 2 + 122);
    assert_int_equal((f.payload[0] << 8) | f.payload[1], 1001);
    assert_memory_equal(f.payload + 2, reason, 122);
    free(f.payload);

    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_BINARY,
                                   (const uint8_t *) "x", 1),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_ws_send_ping(ws, NULL, 0), ORBIS_ERR_INVALID);
    assert_int_equal(orbis_ws_send_close(ws, 1000, NULL, 0),
                     ORBIS_ERR_INVALID);

    /* the peer still talks: data dropped, ping unanswered, framing checked */
    n = frame(buf, 1, ORBIS_WS_TEXT, 1, "in flight", 9);
    n += frame(buf + n, 1, ORBIS_WS_PING, 1, "p", 1);
    n += frame(buf + n, 1, ORBIS_WS_CLOSE, 1, "\x03\xe8" "bye", 5);

    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
    assert_int_equal(cap.messages, 0);
    assert_int_equal(cap.closes, 1);
    assert_int_equal(cap.close_code, 1000);
    assert_string_equal(cap.close_reason, "bye");
    assert_true(orbis_ws_closed(ws));
    assert_int_equal(orbis_ws_close_code(ws), 1001);
    expect_no_output(ws);

    orbis_ws_free(ws);
}


static void
test_max_message_size(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t      buf[200], payload[100];
    size_t       n;

    (void) state;

    memset(payload, 'm', sizeof(payload));

    /* exactly the limit passes, in one frame or several */
    ws = endpoint(ORBIS_WS_SERVER, &cap, 10);
    n = frame(buf, 1, ORBIS_WS_BINARY, 1, payload, 10);
    n += frame(buf + n, 0, ORBIS_WS_TEXT, 1, payload, 4);
    n += frame(buf + n, 1, ORBIS_WS_CONTINUATION, 1, payload, 6);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);
    assert_int_equal(cap.messages, 2);
    assert_int_equal(cap.lens[0], 10);
    assert_int_equal(cap.lens[1], 10);

    /* one byte more in one frame */
    n = frame(buf, 1, ORBIS_WS_BINARY, 1, payload, 11);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_ERR_PROTOCOL);
    assert_int_equal(orbis_ws_close_code(ws), 1009);
    expect_close(ws, 1009);
    capture_free(&cap);
    orbis_ws_free(ws);

    /* or over several fragments */
    ws = endpoint(ORBIS_WS_SERVER, &cap, 10);
    n = frame(buf, 0, ORBIS_WS_TEXT, 1, payload, 6);
    n += frame(buf + n, 1, ORBIS_WS_CONTINUATION, 1, payload, 5);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_ERR_PROTOCOL);
    assert_int_equal(cap.messages, 0);
    expect_close(ws, 1009);
    orbis_ws_free(ws);

    /* a huge announced length is refused without its payload */
    ws = endpoint(ORBIS_WS_SERVER, &cap, 1024);
    n = build(buf, 0x82, 1, NULL, (uint64_t) 1 << 40, 0);
    buf[n++] = 0;
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_ERR_PROTOCOL);
    expect_close(ws, 1009);
    orbis_ws_free(ws);
}


static void
test_length_forms(void **state)
{
    orbis_ws_t  *ws;
    capture_t    cap;
    uint8_t     *buf, *payload;
    size_t       n, i;

    (void) state;

    payload = malloc(70000);
    buf = malloc(70100);
    assert_non_null(payload);
    assert_non_null(buf);

    for (i = 0; i < 70000; i++) {
        payload[i] = (uint8_t) (i % 251);
    }

    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);

    /* 126 (smallest 16-bit), 65535 (largest), 65536 and 70000 (64-bit) */
    n = frame(buf, 1, ORBIS_WS_BINARY, 1, payload, 126);
    assert_int_equal(n, 2 + 2 + 4 + 126);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);

    n = frame(buf, 1, ORBIS_WS_BINARY, 1, payload, 65535);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);

    n = frame(buf, 1, ORBIS_WS_BINARY, 1, payload, 65536);
    assert_int_equal(n, 2 + 8 + 4 + 65536);
    assert_int_equal(orbis_ws_feed(ws, buf, n), ORBIS_OK);

    n = frame(buf, 1, ORBIS_WS_BINARY, 1, payload, 70000);

    /* in uneven pieces, crossing wslay's 4 KB buffer */
    for (i = 0; i < n; i += 1000 + i % 7) {
        assert_int_equal(orbis_ws_feed(ws, buf + i,
                                       (n - i < 1000 + i % 7)
                                       ? n - i : 1000 + i % 7),
                         ORBIS_OK);
    }

    assert_int_equal(cap.messages, 4);
    assert_int_equal(cap.lens[0], 126);
    assert_int_equal(cap.lens[1], 65535);
    assert_int_equal(cap.lens[2], 65536);
    assert_int_equal(cap.lens[3], 70000);
    assert_memory_equal(cap.data[3], payload, 70000);
    expect_no_output(ws);
    capture_free(&cap);
    orbis_ws_free(ws);

    /* non-minimal lengths and the forbidden top bit */
    n = build(buf, 0x82, 1, payload, 5, 16);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    n = build(buf, 0x82, 1, payload, 200, 64);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    n = build(buf, 0x82, 1, NULL, (uint64_t) 1 << 63, 64);
    fail_with(ORBIS_WS_SERVER, buf, n, 1002);

    free(payload);
    free(buf);
}


static void
test_output_backpressure(void **state)
{
    orbis_ws_t     *ws;
    capture_t       cap;
    frame_t         f;
    const uint8_t  *p;
    uint8_t         all[64];
    size_t          n, total;

    (void) state;

    ws = endpoint(ORBIS_WS_SERVER, &cap, 0);

    orbis_ws_pending_output(ws, &p, &n);
    assert_int_equal(n, 0);
    assert_null(p);

    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_TEXT,
                                   (const uint8_t *) "first", 5), ORBIS_OK);
    assert_int_equal(orbis_ws_send(ws, ORBIS_WS_TEXT,
                                   (const uint8_t *) "second", 6), ORBIS_OK);
    total = orbis_ws_output_size(ws);
    assert_int_equal(total, 7 + 8);

    /* a socket that takes 3 bytes at a time */
    n = 0;

    while (orbis_ws_output_size(ws) > 0) {
        size_t  len;

        orbis_ws_pending_output(ws, &p, &len);
        len = len < 3 ? len : 3;
        memcpy(all + n, p, len);
        n += len;
        orbis_ws_consume_output(ws, len);
        assert_int_equal(orbis_ws_output_size(ws), total - n);
    }

    assert_true(parse(all, n, &f));
    assert_string_equal((char *) f.payload, "first");
    free(f.payload);
    assert_true(parse(all + 7, n - 7, &f));
    assert_string_equal((char *) f.payload, "second");
    free(f.payload);

    /* over-consuming is clamped */
    orbis_ws_send(ws, ORBIS_WS_BINARY, (const uint8_t *) "x", 1);
    orbis_ws_consume_output(ws, 1000);
    expect_no_output(ws);

    orbis_ws_free(ws);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_accept_key_rfc_vector),
        cmocka_unit_test(test_client_key_and_validation),
        cmocka_unit_test(test_new_checks_config),
        cmocka_unit_test(test_server_accepts_masked_text),
        cmocka_unit_test(test_server_refuses_unmasked),
        cmocka_unit_test(test_client_accepts_unmasked_refuses_masked),
        cmocka_unit_test(test_client_masks_with_caller_random),
        cmocka_unit_test(test_server_frames_are_unmasked),
        cmocka_unit_test(test_fragmented_text_bytewise),
        cmocka_unit_test(test_ping_inside_fragmented_message),
        cmocka_unit_test(test_control_frame_rules),
        cmocka_unit_test(test_rsv_bits_and_opcodes),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_utf8_fails_fast),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_close_reason_bytewise),
        cmocka_unit_test(test_empty_close_echo),
        cmocka_unit_test(test_we_close_first),
        cmocka_unit_test(test_max_message_size),
        cmocka_unit_test(test_length_forms),
        cmocka_unit_test(test_output_backpressure),
    };

    return cmocka_run_group_tests_name("ws", tests, NULL, NULL);
}
