/*
 * Copyright (C) Orbis
 *
 * While the model speaks, Gemini sends one message every 20 ms or so, and
 * nearly all of them are model audio alone:
 *
 *   {"serverContent":{"modelTurn":{"parts":[{"inlineData":
 *       {"mimeType":"audio/pcm;rate=24000","data":"<base64>"}}]}}}
 *
 * Loading that into a jansson tree only to copy one string out cost nginx
 * workers relaying calls a quarter of their CPU, so this scanner reads the
 * shape straight from the bytes and decodes the base64 in place.  It is
 * strict on purpose and declines whatever it does not recognise with
 * certainty: then orbis_gemini_parse() asks jansson, and the result never
 * depends on which of the two ran.
 *
 * Accepted: exactly the shape above, JSON whitespace between tokens,
 * mimeType and data in either order or data alone, strings of printable
 * ASCII without escapes.  Declined among others: any other key, a second
 * part or member, a repeated key, escapes, snake_case names, null, a
 * mimeType that is not audio/..., base64 the decoder refuses (the jansson
 * path then reports the error), anything after the closing brace.
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/base64.h>
#include "gemini/gemini_int.h"


typedef struct {
    const char  *p;
    const char  *end;
} orbis_gemini_scan_t;


static void orbis_gemini_scan_ws(orbis_gemini_scan_t *s);
static int orbis_gemini_scan_lit(orbis_gemini_scan_t *s, const char *t);
static int orbis_gemini_scan_text(orbis_gemini_scan_t *s, const char **v,
    size_t *n);
static int orbis_gemini_scan_data(orbis_gemini_scan_t *s, const char **v,
    size_t *n);


int
orbis_gemini_parse_audio(const char *msg, size_t len, orbis_gemini_msg_t *out)
{
    size_t                mime_len, data_len, max, dec;
    uint8_t              *audio;
    const char           *mime, *data;
    orbis_gemini_scan_t   s;

    memset(out, 0, sizeof(*out));
    out->go_away_ms = -1;

    /* jansson reports the NULL */

    if (msg == NULL) {
        return 0;
    }

    s.p = msg;
    s.end = msg + len;

    if (!orbis_gemini_scan_lit(&s, "{\"serverContent\":{\"modelTurn\":"
                                   "{\"parts\":[{\"inlineData\":{"))
    {
        return 0;
    }

    mime = NULL;
    mime_len = 0;
    data = NULL;
    data_len = 0;

    /* a key seen once already falls through to the refusal */

    do {
        if (mime == NULL && orbis_gemini_scan_lit(&s, "\"mimeType\":")) {
            if (!orbis_gemini_scan_text(&s, &mime, &mime_len)) {
                return 0;
            }

        } else if (data == NULL && orbis_gemini_scan_lit(&s, "\"data\":")) {
            if (!orbis_gemini_scan_data(&s, &data, &data_len)) {
                return 0;
            }

        } else {
            return 0;
        }

    } while (orbis_gemini_scan_lit(&s, ","));

    if (!orbis_gemini_scan_lit(&s, "}}]}}}")) {
        return 0;
    }

    orbis_gemini_scan_ws(&s);

    if (s.p != s.end || data == NULL) {
        return 0;
    }

    /* jansson skips inline data of other types: rare, so left to it */

    if (mime != NULL && (mime_len < 6 || memcmp(mime, "audio/", 6) != 0)) {
        return 0;
    }

    /* "" is still a part, with no buffer, as on the jansson path */

    max = orbis_base64_decoded_max(data_len);
    audio = NULL;

    if (max != 0) {
        audio = orbis_malloc(max);
        if (audio == NULL) {
            return 0;
        }
    }

    /*
     * data was found with memchr() and not checked: a string the decoder
     * takes holds base64 characters only, so it was valid JSON without
     * escapes; anything else goes to jansson for the right error
     */

    if (orbis_base64_decode(audio, &dec, data, data_len,
                            ORBIS_BASE64_NOPAD_OK, NULL)
        != ORBIS_OK)
    {
        orbis_free(audio);
        return 0;
    }

    out->server_content = 1;
    out->audio = audio;
    out->audio_len = dec;
    out->audio_parts = 1;
    out->audio_rate = (mime != NULL) ? orbis_gemini_mime_rate(mime, mime_len)
                                     : 0;

    return 1;
}


static void
orbis_gemini_scan_ws(orbis_gemini_scan_t *s)
{
    while (s->p < s->end
           && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r'
               || *s->p == '\t'))
    {
        s->p++;
    }
}


/*
 * Matches the tokens of t, with any JSON whitespace before each: single
 * characters, and keys in quotes taken whole, since whitespace inside them
 * would be part of the key.  Consumes nothing when it fails, so that the
 * caller can try another literal from the same place.
 */

static int
orbis_gemini_scan_lit(orbis_gemini_scan_t *s, const char *t)
{
    size_t       n;
    const char  *start;

    start = s->p;

    while (*t != '\0') {
        orbis_gemini_scan_ws(s);

        n = (*t == '"') ? (size_t) (strchr(t + 1, '"') - t) + 1 : 1;

        if ((size_t) (s->end - s->p) < n || memcmp(s->p, t, n) != 0) {
            s->p = start;
            return 0;
        }

        s->p += n;
        t += n;
    }

    return 1;
}


/* a short string of printable ASCII without escapes: the mimeType */

static int
orbis_gemini_scan_text(orbis_gemini_scan_t *s, const char **v, size_t *n)
{
    unsigned char  c;
    const char    *p;

    orbis_gemini_scan_ws(s);

    if (s->p == s->end || *s->p != '"') {
        return 0;
    }

    for (p = s->p + 1; p < s->end; p++) {
        c = (unsigned char) *p;

        if (c == '"') {
            *v = s->p + 1;
            *n = (size_t) (p - *v);
            s->p = p + 1;
            return 1;
        }

        /* escapes, control characters (invalid) and UTF-8 go to jansson */

        if (c < 0x20 || c >= 0x80 || c == '\\') {
            return 0;
        }
    }

    return 0;
}


/* the base64 string up to the next quote; the decoder checks it later */

static int
orbis_gemini_scan_data(orbis_gemini_scan_t *s, const char **v, size_t *n)
{
    const char  *q;

    orbis_gemini_scan_ws(s);

    if (s->p == s->end || *s->p != '"') {
        return 0;
    }

    q = memchr(s->p + 1, '"', (size_t) (s->end - s->p - 1));
    if (q == NULL) {
        return 0;
    }

    *v = s->p + 1;
    *n = (size_t) (q - *v);
    s->p = q + 1;

    return 1;
}
