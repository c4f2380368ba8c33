/*
 * Copyright (C) Orbis
 *
 * libFuzzer target for everything a peer can send the voice gateway:
 * Gemini server messages, browser text frames and base64 payloads, both
 * through the parsers directly and through a live session.
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
#include <orbiscore/session.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    orbis_gemini_msg_t   m;

    if (orbis_gemini_parse((const char *) data, size, &m, &err) == ORBIS_OK)
    {
        /* touch what the parser hands out */
        if (m.audio_len > 0 && m.audio[m.audio_len - 1] == 0x42) {
            err.msg[0] = '\0';
        }
    }

    orbis_gemini_msg_free(&m);

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
fuzz_session(const char *msg, size_t len)
{
    orbis_session_t          *s;
    orbis_session_conf_t      conf;
    orbis_session_actions_t   a;

    static const char  ready[] = "{\"setupComplete\":{}}";

    memset(&conf, 0, sizeof(conf));
    conf.session_id = "fuzz";
    conf.setup.model = "gemini-fuzz";
    conf.setup.input_transcription = 1;
    conf.setup.output_transcription = 1;

    s = orbis_session_create(&conf, NULL);
    if (s == NULL) {
        return;
    }

    orbis_session_actions_init(&a);

    (void) orbis_session_start(s, 0, &a);
    (void) orbis_session_on_upstream_open(s, 1, &a);
    (void) orbis_session_on_upstream_message(s, ready, sizeof(ready) - 1, 2,
                                             &a);

    /*
     * the same bytes as a Gemini message twice (tool ids repeat), as a
     * browser text frame, as audio, then let time run out
     */
    (void) orbis_session_on_upstream_message(s, msg, len, 3, &a);
    (void) orbis_session_on_upstream_message(s, msg, len, 4, &a);
    (void) orbis_session_on_client_text(s, msg, len, 5, &a);
    (void) orbis_session_on_client_audio(s, (const uint8_t *) msg,
                                         len & ~(size_t) 1, 6, &a);
    (void) orbis_session_on_upstream_close(s, 1011, NULL, 7, &a);
    (void) orbis_session_tick(s, 100000, &a);

    json_decref(orbis_session_record_json(s));
    json_decref(orbis_session_heartbeat_json(s, 100000));

    orbis_session_actions_free(&a);
    orbis_session_free(s);
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
