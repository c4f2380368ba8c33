/*
 * Copyright (C) Orbis
 *
 * libFuzzer target for everything a peer can send the voice gateway:
 * Gemini server messages, browser text frames and base64 payloads, both
 * through the parsers directly and through a live session.
 *
 * Gemini messages also go through a differential check: the scanner for
 * bare model audio must either decline or return exactly what the jansson
 * parser returns, and orbis_gemini_parse() must always return what jansson
 * does (rc, error text, every field).  The input is tried as it is and
 * wrapped into the audio shape (see fuzz_hot()), so that the scanner's
 * accepting side is reached too.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *       tests/fuzz/fuzz_gemini.c src/core/core.c src/base64/base64.c \
 *       src/gemini/gemini_*.c src/gemini/strbuf.c src/client/client.c \
 *       src/session/session*.c -ljansson -o fuzz_gemini
 *
 * Without libFuzzer, -DORBIS_FUZZ_MAIN builds a driver that runs the
 * files named on the command line once each (for corpora and crashes).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/base64.h>
#include <orbiscore/client.h>
#include <orbiscore/gemini.h>
#include <orbiscore/session.h>
#include "gemini/gemini_int.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_differential(const char *msg, size_t len);
static void fuzz_hot(const uint8_t *data, size_t size);
static int fuzz_same_str(const char *a, const char *b);
static int fuzz_msg_equal(const orbis_gemini_msg_t *a,
    const orbis_gemini_msg_t *b);
static void fuzz_session(const char *msg, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                *text;
    size_t               n;
    int64_t              ms;
    uint8_t             *dec;
    orbis_err_t          err;
    orbis_client_msg_t   c;

    fuzz_differential((const char *) data, size);
    fuzz_hot(data, size);

    if (orbis_client_parse((const char *) data, size, &c, &err) == ORBIS_OK
        && c.type == ORBIS_CLIENT_MSG_TEXT && strlen(c.text) != c.text_len)
    {
        abort();
    }

    orbis_client_msg_free(&c);

    dec = malloc(orbis_base64_decoded_max(size) + 1);
    if (dec != NULL) {
        (void) orbis_base64_decode(dec, &n, (const char *) data, size, 0,
                                   NULL);
        (void) orbis_base64_decode(dec, &n, (const char *) data, size,
                                   ORBIS_BASE64_NOPAD_OK, NULL);
        free(dec);
    }

    text = malloc(size + 1);
    if (text != NULL) {
        memcpy(text, data, size);
        text[size] = '\0';
        (void) orbis_gemini_parse_duration_ms(text, &ms);
        (void) orbis_gemini_close_class(1008, text);
        free(text);
    }

    fuzz_session((const char *) data, size);

    return 0;
}


static void
fuzz_differential(const char *msg, size_t len)
{
    int                 fast;
    orbis_rc_t          rc, rc_json;
    orbis_err_t         err, err_json;
    orbis_gemini_msg_t  m, f, j;

    memset(&err, 0, sizeof(err));
    memset(&err_json, 0, sizeof(err_json));

    fast = orbis_gemini_parse_audio(msg, len, &f);
    rc_json = orbis_gemini_parse_json(msg, len, &j, &err_json);
    rc = orbis_gemini_parse(msg, len, &m, &err);

    if (rc != rc_json || err.code != err_json.code
        || strcmp(err.msg, err_json.msg) != 0)
    {
        abort();
    }

    if (fast) {
        if (rc_json != ORBIS_OK || f.root != NULL || m.root != NULL
            || !fuzz_msg_equal(&f, &j))
        {
            abort();
        }

    } else if (f.server_content || f.audio != NULL || f.root != NULL) {
        abort();
    }

    if (rc_json == ORBIS_OK ? !fuzz_msg_equal(&m, &j)
                            : m.root != NULL || m.audio != NULL)
    {
        abort();
    }

    orbis_gemini_msg_free(&f);
    orbis_gemini_msg_free(&j);
    orbis_gemini_msg_free(&m);
}


/*
 * The input wrapped into the audio message, so that most runs reach the
 * scanner's accepting side.  The first byte picks key order, whitespace and
 * mimeType; after it comes the data string, or the mimeType string, a '|'
 * and the data string.  With 0x40 the data bytes are base64-encoded first
 * (and with 0x80 lose their padding), so that they decode.
 */

static void
fuzz_hot(const uint8_t *data, size_t size)
{
    char           *msg, *p;
    size_t          n, mime_len, data_len;
    unsigned        v;
    const char     *ws, *mime, *b64, *bar;
    const uint8_t  *head;

    static const char  *spaces[] = { "", " ", "\n  ", "\t\r\n" };
    static const char  *mimes[] = {
        "audio/pcm;rate=24000", "audio/pcm", "audio/pcm;rate=16000", NULL
    };

    if (size == 0) {
        return;
    }

    v = data[0];
    head = data + 1;
    size--;

    ws = spaces[v & 3];
    mime = mimes[(v >> 2) & 3];
    mime_len = (mime != NULL) ? strlen(mime) : 0;
    b64 = (const char *) head;
    data_len = size;

    bar = (v & 0x20) ? memchr(head, '|', size) : NULL;

    if (bar != NULL) {
        mime = (const char *) head;
        mime_len = (size_t) (bar - mime);
        b64 = bar + 1;
        data_len = size - mime_len - 1;
    }

    /* base64 takes at most 4 characters for 3 bytes, plus padding */
    msg = malloc(size * 2 + 256);
    if (msg == NULL) {
        return;
    }

    p = msg;
    p += sprintf(p, "%s{%s\"serverContent\"%s:%s{%s\"modelTurn\"%s:%s{%s"
                 "\"parts\"%s:%s[%s{%s\"inlineData\"%s:%s{%s",
                 ws, ws, ws, ws, ws, ws, ws, ws, ws, ws, ws, ws, ws, ws, ws);

    if (mime != NULL && !(v & 0x10)) {
        p += sprintf(p, "\"mimeType\"%s:%s\"", ws, ws);
        memcpy(p, mime, mime_len);
        p += mime_len;
        p += sprintf(p, "\"%s,%s", ws, ws);
    }

    p += sprintf(p, "\"data\"%s:%s\"", ws, ws);

    if (v & 0x40) {
        n = orbis_base64_encode(p, (const uint8_t *) b64, data_len);

        while ((v & 0x80) && n > 0 && p[n - 1] == '=') {
            n--;
        }

        p += n;

    } else {
        memcpy(p, b64, data_len);
        p += data_len;
    }

    p += sprintf(p, "\"%s", ws);

    if (mime != NULL && (v & 0x10)) {
        p += sprintf(p, ",%s\"mimeType\"%s:%s\"", ws, ws, ws);
        memcpy(p, mime, mime_len);
        p += mime_len;
        p += sprintf(p, "\"%s", ws);
    }

    p += sprintf(p, "}%s}%s]%s}%s}%s}%s", ws, ws, ws, ws, ws, ws);

    fuzz_differential(msg, (size_t) (p - msg));

    free(msg);
}


static int
fuzz_same_str(const char *a, const char *b)
{
    return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}


static int
fuzz_msg_equal(const orbis_gemini_msg_t *a, const orbis_gemini_msg_t *b)
{
    size_t                           i;
    const orbis_gemini_tool_call_t  *ta, *tb;

    if (a->setup_complete != b->setup_complete
        || a->server_content != b->server_content
        || (a->audio == NULL) != (b->audio == NULL)
        || a->audio_len != b->audio_len
        || (a->audio_len != 0
            && memcmp(a->audio, b->audio, a->audio_len) != 0)
        || a->audio_parts != b->audio_parts
        || a->audio_rate != b->audio_rate
        || a->text_len != b->text_len
        || !fuzz_same_str(a->text, b->text)
        || !fuzz_same_str(a->input_transcription, b->input_transcription)
        || a->input_transcription_finished
           != b->input_transcription_finished
        || !fuzz_same_str(a->output_transcription, b->output_transcription)
        || a->output_transcription_finished
           != b->output_transcription_finished
        || a->interrupted != b->interrupted
        || a->generation_complete != b->generation_complete
        || a->turn_complete != b->turn_complete
        || a->n_tool_calls != b->n_tool_calls
        || a->n_cancelled_ids != b->n_cancelled_ids
        || a->go_away != b->go_away
        || a->go_away_ms != b->go_away_ms
        || a->resumption_update != b->resumption_update
        || !fuzz_same_str(a->new_handle, b->new_handle)
        || a->resumable != b->resumable
        || a->usage != b->usage
        || a->prompt_tokens != b->prompt_tokens
        || a->response_tokens != b->response_tokens
        || a->total_tokens != b->total_tokens)
    {
        return 0;
    }

    for (i = 0; i < a->n_tool_calls; i++) {
        ta = &a->tool_calls[i];
        tb = &b->tool_calls[i];

        if (!fuzz_same_str(ta->id, tb->id)
            || !fuzz_same_str(ta->name, tb->name)
            || (ta->args == NULL ? tb->args != NULL
                                 : !json_equal(ta->args, tb->args)))
        {
            return 0;
        }
    }

    for (i = 0; i < a->n_cancelled_ids; i++) {
        if (strcmp(a->cancelled_ids[i], b->cancelled_ids[i]) != 0) {
            return 0;
        }
    }

    return 1;
}


static void
fuzz_session(const char *msg, size_t len)
{
    orbis_session_t          *s;
    orbis_gemini_peer_t      *peer;
    orbis_gemini_setup_t      setup;
    orbis_session_conf_t      conf;
    orbis_session_actions_t   a;

    static const char  ready[] = "{\"setupComplete\":{}}";

    memset(&conf, 0, sizeof(conf));
    memset(&setup, 0, sizeof(setup));
    conf.session_id = "fuzz";
    conf.model = "gemini-fuzz";
    setup.model = "gemini-fuzz";
    setup.input_transcription = 1;
    setup.output_transcription = 1;

    peer = orbis_gemini_peer_new(&setup, NULL);
    if (peer == NULL) {
        return;
    }

    s = orbis_session_create(&conf, NULL);
    if (s == NULL) {
        orbis_gemini_peer_free(peer);
        return;
    }

    /* the adapters render every event, as in the module */
    orbis_session_actions_init(&a);
    orbis_session_actions_codecs(&a, &orbis_client_codec, NULL,
                                 &orbis_gemini_codec, peer);

    (void) orbis_session_start(s, 0, &a);
    (void) orbis_session_on_peer_open(s, 1, &a);
    (void) orbis_gemini_on_message(s, ready, sizeof(ready) - 1, 2, &a);

    /*
     * the same bytes as a Gemini message twice (tool ids repeat), as a
     * browser text frame, as audio, then let time run out
     */
    (void) orbis_gemini_on_message(s, msg, len, 3, &a);
    (void) orbis_gemini_on_message(s, msg, len, 4, &a);
    (void) orbis_client_on_text(s, msg, len, 5, &a);
    (void) orbis_client_on_audio(s, (const uint8_t *) msg,
                                 len & ~(size_t) 1, 6, &a);
    (void) orbis_gemini_on_close(s, 1011, NULL, 7, &a);
    (void) orbis_session_tick(s, 100000, &a);

    json_decref(orbis_session_record_json(s));
    json_decref(orbis_session_heartbeat_json(s, 100000));

    orbis_session_actions_free(&a);
    orbis_session_free(s);
    orbis_gemini_peer_free(peer);
}


#if defined(ORBIS_FUZZ_MAIN)

int
main(int argc, char **argv)
{
    int      i;
    long     n;
    FILE    *f;
    uint8_t *buf;

    for (i = 1; i < argc; i++) {
        f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }

        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);

        buf = malloc(n > 0 ? (size_t) n : 1);
        if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
            fclose(f);
            free(buf);
            return 1;
        }

        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t) n);
        free(buf);
    }

    return 0;
}

#endif
