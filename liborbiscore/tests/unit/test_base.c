/*
 * Copyright (C) Orbis
 *
 * The primitives of src/base/: base64 in both alphabets, UTF-8 and the
 * string buffer.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/alloc.h>
#include <orbiscore/base64.h>
#include <orbiscore/strbuf.h>
#include <orbiscore/utf8.h>

#include "base/base_int.h"


typedef struct {
    const char  *plain;
    const char  *coded;
} b64_vector_t;


/* RFC 4648 section 10 */
static const b64_vector_t  rfc_vectors[] = {
    { "", "" },
    { "f", "Zg==" },
    { "fo", "Zm8=" },
    { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" },
    { "foobar", "Zm9vYmFy" },
};


static orbis_rc_t
decode_str(const char *in, unsigned flags, uint8_t *out, size_t *len,
    orbis_err_t *err)
{
    return orbis_base64_decode(out, len, in, strlen(in), flags, err);
}


static void
test_rfc4648_vectors(void **state)
{
    size_t    i, n, len;
    char      enc[32];
    uint8_t   dec[32];

    (void) state;

    for (i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
        n = orbis_base64_encode(enc, (const uint8_t *) rfc_vectors[i].plain,
                                strlen(rfc_vectors[i].plain));
        assert_int_equal(n, strlen(rfc_vectors[i].coded));
        assert_memory_equal(enc, rfc_vectors[i].coded, n);
        assert_int_equal(n, orbis_base64_encoded_len(
                                strlen(rfc_vectors[i].plain)));

        assert_int_equal(decode_str(rfc_vectors[i].coded, 0, dec, &len,
                                    NULL), ORBIS_OK);
        assert_int_equal(len, strlen(rfc_vectors[i].plain));
        assert_memory_equal(dec, rfc_vectors[i].plain, len);
    }
}


static void
test_all_bytes_round_trip(void **state)
{
    size_t    i, n, len, enc_len;
    char      enc[400];
    uint8_t   src[256], dec[300];
    uint32_t  x;

    (void) state;

    for (i = 0; i < 256; i++) {
        src[i] = (uint8_t) i;
    }

    enc_len = orbis_base64_encode(enc, src, 256);
    assert_int_equal(enc_len, 344);
    assert_int_equal(decode_str("", 0, dec, &len, NULL), ORBIS_OK);
    assert_int_equal(orbis_base64_decode(dec, &len, enc, enc_len, 0, NULL),
                     ORBIS_OK);
    assert_int_equal(len, 256);
    assert_memory_equal(dec, src, 256);

    /* every length up to 200 with pseudo-random content */
    x = 12345;

    for (n = 0; n <= 200; n++) {
        for (i = 0; i < n; i++) {
            x = x * 1103515245 + 12345;
            src[i] = (uint8_t) (x >> 16);
        }

        enc_len = orbis_base64_encode(enc, src, n);
        assert_int_equal(enc_len, orbis_base64_encoded_len(n));
        assert_true(orbis_base64_decoded_max(enc_len) >= n);

        assert_int_equal(orbis_base64_decode(dec, &len, enc, enc_len, 0,
                                             NULL), ORBIS_OK);
        assert_int_equal(len, n);
        assert_memory_equal(dec, src, n);
    }
}


static void
test_size_helpers(void **state)
{
    (void) state;

    assert_int_equal(orbis_base64_encoded_len(0), 0);
    assert_int_equal(orbis_base64_encoded_len(1), 4);
    assert_int_equal(orbis_base64_encoded_len(3), 4);
    assert_int_equal(orbis_base64_encoded_len(4), 8);
    assert_int_equal(orbis_base64_encoded_len(640), 856);
    assert_int_equal(orbis_base64_encoded_len(SIZE_MAX), 0);

    assert_int_equal(orbis_base64_decoded_max(0), 0);
    assert_int_equal(orbis_base64_decoded_max(4), 3);
    assert_int_equal(orbis_base64_decoded_max(2), 1);
    assert_int_equal(orbis_base64_decoded_max(3), 2);
    assert_int_equal(orbis_base64_decoded_max(856), 642);
}


static void
test_missing_padding(void **state)
{
    size_t       len;
    uint8_t      dec[8];
    orbis_err_t  err;

    (void) state;

    /* strict by default */
    assert_int_equal(decode_str("Zg", 0, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "multiple of 4"));
    assert_int_equal(decode_str("Zm8", 0, dec, &len, NULL),
                     ORBIS_ERR_INVALID);

    /* tolerated on request */
    assert_int_equal(decode_str("Zg", ORBIS_BASE64_NOPAD_OK, dec, &len, NULL),
                     ORBIS_OK);
    assert_int_equal(len, 1);
    assert_int_equal(dec[0], 'f');

    assert_int_equal(decode_str("Zm9vYmE", ORBIS_BASE64_NOPAD_OK, dec, &len,
                                NULL), ORBIS_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(dec, "fooba", 5);

    /* padded input still decodes with the flag */
    assert_int_equal(decode_str("Zm8=", ORBIS_BASE64_NOPAD_OK, dec, &len,
                                NULL), ORBIS_OK);
    assert_int_equal(len, 2);

    /* one dangling character can never be valid */
    assert_int_equal(decode_str("Zm9vZ", ORBIS_BASE64_NOPAD_OK, dec, &len,
                                &err), ORBIS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "truncated"));

    /* partial padding is not "missing padding" */
    assert_int_equal(decode_str("Zg=", ORBIS_BASE64_NOPAD_OK, dec, &len,
                                NULL), ORBIS_ERR_INVALID);
}


static void
test_strict_rejections(void **state)
{
    size_t       i, len;
    uint8_t      dec[32];
    orbis_err_t  err;

    static const char  *bad[] = {
        "Zm9v\n",          /* line break */
        "Zm9v Zm9v",       /* space */
        "Zm9v\tYmFy",
        "Zm-v",            /* URL-safe alphabet */
        "Zm_v",
        "Zg=a",            /* padding then data */
        "Zg==Zg==",        /* padding in the middle */
        "=Zg=",
        "Z===",            /* three pad characters */
        "====",
        "Zh==",            /* non-zero trailing bits */
        "Zm9=",
        "Zm9v*m9v",
        "\xffZm9",
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.code = ORBIS_OK;
        assert_int_equal(decode_str(bad[i], ORBIS_BASE64_NOPAD_OK, dec, &len,
                                    &err), ORBIS_ERR_INVALID);
        assert_int_equal(err.code, ORBIS_ERR_INVALID);
    }

    assert_int_equal(decode_str("Zm9v*m9v", 0, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "invalid base64 character at offset 4");

    assert_int_equal(decode_str("Zg==Zg==", 0, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "misplaced base64 padding at offset 2");

    assert_int_equal(decode_str("Zh==", 0, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "canonical"));

    /* an embedded NUL is a bad character, not an end of input */
    assert_int_equal(orbis_base64_decode(dec, &len, "Zm\0v", 4, 0, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "invalid base64 character at offset 2");
}


static void
test_pcm_chunk(void **state)
{
    size_t    i, n, len;
    char      enc[1024];
    uint8_t   pcm[640], dec[642];

    (void) state;

    /* a 20 ms chunk at 16 kHz, as the gateway sends all the time */
    for (i = 0; i < sizeof(pcm); i++) {
        pcm[i] = (uint8_t) (i * 7);
    }

    n = orbis_base64_encode(enc, pcm, sizeof(pcm));
    assert_int_equal(n, 856);
    /* known answer computed with an independent encoder */
    assert_memory_equal(enc, "AAcOFRwjKjE4P0ZN", 16);
    assert_memory_equal(enc + 852, "eQ==", 4);

    assert_int_equal(orbis_base64_decode(dec, &len, enc, n, 0, NULL),
                     ORBIS_OK);
    assert_int_equal(len, sizeof(pcm));
    assert_memory_equal(dec, pcm, sizeof(pcm));
}


/* base64url */


static void
test_b64url_rfc4648_vectors(void **state)
{
    char        out[16];
    size_t      i, n;
    uint8_t     dec[16];

    static const char  *plain[] = {
        "", "f", "fo", "foo", "foob", "fooba", "foobar"
    };
    static const char  *enc[] = {
        "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"
    };

    (void) state;

    for (i = 0; i < 7; i++) {
        assert_int_equal(orbis_base64url_encode((const uint8_t *) plain[i],
                                                strlen(plain[i]), out,
                                                sizeof(out), &n),
                         ORBIS_OK);
        assert_string_equal(out, enc[i]);
        assert_int_equal(n, strlen(enc[i]));
        assert_int_equal(n, ORBIS_BASE64URL_ENCODED_LEN(strlen(plain[i])));

        assert_int_equal(orbis_base64url_decode(enc[i], strlen(enc[i]), dec,
                                                sizeof(dec), &n),
                         ORBIS_OK);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(dec, plain[i], n);
    }
}


static void
test_b64url_url_alphabet(void **state)
{
    char      out[8];
    size_t    n;
    uint8_t   in[2] = { 0xfb, 0xff }, dec[4];

    (void) state;

    assert_int_equal(orbis_base64url_encode(in, 2, out, sizeof(out), NULL),
                     ORBIS_OK);
    assert_string_equal(out, "-_8");

    assert_int_equal(orbis_base64url_decode("-_8", 3, dec, sizeof(dec), &n),
                     ORBIS_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(dec, in, 2);
}


static void
test_b64url_strict_decode(void **state)
{
    size_t   n;
    uint8_t  dec[16];

    (void) state;

    /* padding, standard alphabet, white space, a lone 6-bit character */
    assert_int_equal(orbis_base64url_decode("Zg==", 4, dec, sizeof(dec), &n),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_base64url_decode("+/8", 3, dec, sizeof(dec), &n),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_base64url_decode("Zm9 v", 5, dec, sizeof(dec), &n),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_base64url_decode("Zm9vY", 5, dec, sizeof(dec), &n),
                     ORBIS_ERR_INVALID);

    /* "Zh" would decode to "f" as well, but only "Zg" is canonical */
    assert_int_equal(orbis_base64url_decode("Zh", 2, dec, sizeof(dec), &n),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_base64url_decode("Zm9", 3, dec, sizeof(dec), &n),
                     ORBIS_ERR_INVALID);

    /* buffers too small */
    assert_int_equal(orbis_base64url_decode("Zm9vYmFy", 8, dec, 5, &n),
                     ORBIS_ERR_RANGE);
    assert_int_equal(orbis_base64url_encode((const uint8_t *) "foo", 3,
                                            (char *) dec, 4, &n),
                     ORBIS_ERR_RANGE);
}


static void
test_utf8_decoder(void **state)
{
    uint32_t  cp;

    (void) state;

    assert_int_equal(orbis_utf8_next((const uint8_t *) "A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xc3\xa4", 2, &cp),
                     2);
    assert_int_equal(cp, 0xe4);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xf0\x9f\x98\x80", 4,
                                     &cp),
                     4);
    assert_int_equal(cp, 0x1f600);

    /* overlong, lone continuation, surrogate, above U+10FFFF, truncated */
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xc0\xaf", 2, &cp),
                     0);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xe0\x80\xaf", 3,
                                     &cp),
                     0);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\x80", 1, &cp), 0);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xed\xa0\x80", 3,
                                     &cp),
                     0);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xf4\x90\x80\x80", 4,
                                     &cp),
                     0);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xc3\xa4", 1, &cp),
                     0);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xc3" "A", 2, &cp),
                     0);
}


static void
test_strbuf(void **state)
{
    json_t          *j;
    orbis_strbuf_t   b;

    (void) state;

    orbis_strbuf_init(&b);
    assert_int_equal(orbis_strbuf_append(&b, "ab", 2), ORBIS_OK);
    assert_int_equal(orbis_strbuf_append(&b, "cd", 2), ORBIS_OK);
    assert_string_equal(b.data, "abcd");

    j = json_pack("{s:[i,s]}", "k", 1, "\xc3\xa9");
    assert_int_equal(orbis_strbuf_append_json(&b, j, NULL), ORBIS_OK);
    assert_string_equal(b.data, "abcd{\"k\":[1,\"\xc3\xa9\"]}");
    json_decref(j);

    orbis_strbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(orbis_strbuf_reserve(&b, SIZE_MAX), ORBIS_ERR_RANGE);

    orbis_strbuf_free(&b);
    assert_null(b.data);
    orbis_strbuf_free(&b);
}


static void
test_b64url_via_flag(void **state)
{
    size_t       len;
    uint8_t      dec[8];
    orbis_err_t  err;

    (void) state;

    /* the same decoder, url alphabet: never padded, '+' '/' refused */
    assert_int_equal(decode_str("-_8", ORBIS_BASE64_URL, dec, &len, NULL),
                     ORBIS_OK);
    assert_int_equal(len, 2);
    assert_int_equal(dec[0], 0xfb);
    assert_int_equal(dec[1], 0xff);

    assert_int_equal(decode_str("Zg", ORBIS_BASE64_URL, dec, &len, NULL),
                     ORBIS_OK);
    assert_int_equal(len, 1);

    assert_int_equal(decode_str("+/8", ORBIS_BASE64_URL, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "invalid base64 character at offset 0");

    assert_int_equal(decode_str("Zg==", ORBIS_BASE64_URL, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "misplaced base64 padding at offset 2");

    assert_int_equal(decode_str("Zm9vY", ORBIS_BASE64_URL, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "base64 input is truncated");

    assert_int_equal(decode_str("Zh", ORBIS_BASE64_URL, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "canonical"));

    /* and the standard alphabet refuses the url-safe characters */
    assert_int_equal(decode_str("-_8=", 0, dec, &len, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "invalid base64 character at offset 0");
}


static void
test_b64url_matches_standard(void **state)
{
    char      std[400], url[400];
    size_t    i, k, n, len, slen;
    uint8_t   src[256], dec[300];

    (void) state;

    for (i = 0; i < 256; i++) {
        src[i] = (uint8_t) (255 - i);
    }

    /* every length: url is the standard text with - _ and no '=' */
    for (n = 0; n <= 256; n++) {
        slen = orbis_base64_encode(std, src, n);

        assert_int_equal(orbis_base64url_encode(src, n, url, sizeof(url),
                                                &len),
                         ORBIS_OK);
        assert_int_equal(len, ORBIS_BASE64URL_ENCODED_LEN(n));
        assert_int_equal(url[len], '\0');

        while (slen > 0 && std[slen - 1] == '=') {
            slen--;
        }

        assert_int_equal(len, slen);

        for (k = 0; k < len; k++) {
            assert_int_equal(url[k], std[k] == '+' ? '-'
                                     : std[k] == '/' ? '_' : std[k]);
        }

        assert_int_equal(orbis_base64url_decode(url, len, dec, sizeof(dec),
                                                &k),
                         ORBIS_OK);
        assert_int_equal(k, n);
        assert_memory_equal(dec, src, n);
    }

    /* the encoder's bound: exactly the length and the NUL */
    assert_int_equal(orbis_base64url_encode(src, 3, url, 5, &len), ORBIS_OK);
    assert_int_equal(orbis_base64url_encode(src, 3, url, 4, &len),
                     ORBIS_ERR_RANGE);
    assert_int_equal(orbis_base64url_encode(src, SIZE_MAX, url, sizeof(url),
                                            &len),
                     ORBIS_ERR_RANGE);
}


static void
test_b64_alphabet_span(void **state)
{
    int   c, std, url;
    char  ch;

    (void) state;

    for (c = 0; c < 256; c++) {
        ch = (char) c;
        std = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '+' || c == '/';
        url = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_';

        assert_int_equal(orbis_base64_span(&ch, 1, 0), std);
        assert_int_equal(orbis_base64_span(&ch, 1, ORBIS_BASE64_NOPAD_OK),
                         std);
        assert_int_equal(orbis_base64_span(&ch, 1, ORBIS_BASE64_URL), url);
    }

    assert_int_equal(orbis_base64_span("", 0, 0), 0);
    assert_int_equal(orbis_base64_span("Zm9v", 4, 0), 4);
    assert_int_equal(orbis_base64_span("Zm8=", 4, 0), 3);
    assert_int_equal(orbis_base64_span("a+b-c", 5, 0), 3);
    assert_int_equal(orbis_base64_span("a+b-c", 5, ORBIS_BASE64_URL), 1);
    assert_int_equal(orbis_base64_span("a_b-c/", 6, ORBIS_BASE64_URL), 5);
    assert_int_equal(orbis_base64_span("ab\0cd", 5, ORBIS_BASE64_URL), 2);
}


/* UTF-8 */


typedef struct {
    const char  *s;
    size_t       len;
    uint32_t     cp;       /* of a one-character string, else 0 */
} utf8_case_t;

#define U(s, cp)  { s, sizeof(s) - 1, cp }


static const utf8_case_t  utf8_good[] = {
    U("", 0),
    U("A", 'A'),
    U("\x7f", 0x7f),
    U("\xc2\x80", 0x80),                   /* the first of each length */
    U("\xdf\xbf", 0x7ff),
    U("\xe0\xa0\x80", 0x800),
    U("\xed\x9f\xbf", 0xd7ff),             /* around the surrogates */
    U("\xee\x80\x80", 0xe000),
    U("\xef\xbf\xbf", 0xffff),
    U("\xf0\x90\x80\x80", 0x10000),
    U("\xf4\x8f\xbf\xbf", 0x10ffff),       /* the last code point */
    U("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80!", 0),
};

static const utf8_case_t  utf8_bad[] = {
    U("\xc0\x80", 0),                      /* overlong forms */
    U("\xc0\xaf", 0),
    U("\xc1\xbf", 0),
    U("\xe0\x80\x80", 0),
    U("\xe0\x9f\xbf", 0),
    U("\xf0\x80\x80\x80", 0),
    U("\xf0\x8f\xbf\xbf", 0),
    U("\xed\xa0\x80", 0),                  /* surrogates, alone and paired */
    U("\xed\xbf\xbf", 0),
    U("\xed\xa0\xbd\xed\xb8\x80", 0),
    U("\xf4\x90\x80\x80", 0),              /* above U+10FFFF */
    U("\xf5\x80\x80\x80", 0),
    U("\xf8\x88\x80\x80\x80", 0),
    U("\xfe", 0),
    U("\xff", 0),
    U("\x80", 0),                          /* lone continuations */
    U("\xbf", 0),
    U("a\x80", 0),
    U("\xe2\x28\xa1", 0),                  /* interrupted */
    U("\xc3" "A", 0),
    U("\xf0\x9f\x98" "A", 0),
};

/* valid as far as they go, but the last character is cut short */
static const utf8_case_t  utf8_truncated[] = {
    U("\xc3", 0),
    U("\xe2\x82", 0),
    U("\xe2", 0),
    U("\xf0\x9f\x98", 0),
    U("\xf0\x9f", 0),
    U("abc\xf4\x8f\xbf", 0),
};


static void
test_utf8_whole(void **state)
{
    size_t    i, n;
    uint32_t  cp;

    (void) state;

    for (i = 0; i < sizeof(utf8_good) / sizeof(utf8_good[0]); i++) {
        assert_true(orbis_utf8_valid(utf8_good[i].s, utf8_good[i].len, 0));
        assert_true(orbis_utf8_valid(utf8_good[i].s, utf8_good[i].len,
                                     ORBIS_UTF8_NO_NUL));
        assert_true(orbis_utf8_valid_str(utf8_good[i].s));

        if (utf8_good[i].cp != 0) {
            n = orbis_utf8_next((const uint8_t *) utf8_good[i].s,
                                utf8_good[i].len, &cp);
            assert_int_equal(n, utf8_good[i].len);
            assert_int_equal(cp, utf8_good[i].cp);
        }
    }

    for (i = 0; i < sizeof(utf8_bad) / sizeof(utf8_bad[0]); i++) {
        assert_false(orbis_utf8_valid(utf8_bad[i].s, utf8_bad[i].len, 0));
        assert_false(orbis_utf8_valid_str(utf8_bad[i].s));
    }

    for (i = 0; i < sizeof(utf8_truncated) / sizeof(utf8_truncated[0]); i++)
    {
        assert_false(orbis_utf8_valid(utf8_truncated[i].s,
                                      utf8_truncated[i].len, 0));
    }

    /* the decoder: one character, none when the first is bad or cut */
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xc3\xa4z", 3, &cp),
                     2);
    assert_int_equal(cp, 0xe4);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "", 0, &cp), 0);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xe2\x82", 2, &cp),
                     0);
    assert_int_equal(orbis_utf8_next((const uint8_t *) "\xed\xa0\x80", 3,
                                     &cp),
                     0);
}


static void
test_utf8_nul(void **state)
{
    (void) state;

    /* NUL is valid UTF-8 (a WebSocket text frame may carry it) ... */
    assert_true(orbis_utf8_valid("a\0b", 3, 0));

    /* ... but not in text that also has to be a C string */
    assert_false(orbis_utf8_valid("a\0b", 3, ORBIS_UTF8_NO_NUL));
    assert_false(orbis_utf8_valid("\0", 1, ORBIS_UTF8_NO_NUL));
    assert_true(orbis_utf8_valid("ab", 2, ORBIS_UTF8_NO_NUL));
    assert_true(orbis_utf8_valid(NULL, 0, ORBIS_UTF8_NO_NUL));
}


static void
test_utf8_fragments(void **state)
{
    size_t         i, k, cut;
    orbis_utf8_t   u;
    const uint8_t *p;

    (void) state;

    /* every valid text, split at every point, and fed byte by byte */
    for (i = 0; i < sizeof(utf8_good) / sizeof(utf8_good[0]); i++) {
        p = (const uint8_t *) utf8_good[i].s;

        for (cut = 0; cut <= utf8_good[i].len; cut++) {
            orbis_utf8_init(&u);
            assert_true(orbis_utf8_feed(&u, p, cut));
            assert_true(orbis_utf8_feed(&u, p + cut,
                                        utf8_good[i].len - cut));
            assert_true(orbis_utf8_complete(&u));
        }

        orbis_utf8_init(&u);

        for (k = 0; k < utf8_good[i].len; k++) {
            assert_true(orbis_utf8_feed(&u, p + k, 1));
        }

        assert_true(orbis_utf8_complete(&u));
    }

    /* every invalid text, split at every point: refused, never complete */
    for (i = 0; i < sizeof(utf8_bad) / sizeof(utf8_bad[0]); i++) {
        p = (const uint8_t *) utf8_bad[i].s;

        for (cut = 0; cut <= utf8_bad[i].len; cut++) {
            orbis_utf8_init(&u);
            (void) orbis_utf8_feed(&u, p, cut);
            assert_false(orbis_utf8_feed(&u, p + cut, utf8_bad[i].len - cut)
                         && orbis_utf8_complete(&u));
        }
    }

    /* a character left open at the end of a message is not complete */
    for (i = 0; i < sizeof(utf8_truncated) / sizeof(utf8_truncated[0]); i++)
    {
        orbis_utf8_init(&u);
        assert_true(orbis_utf8_feed(&u, (const uint8_t *) utf8_truncated[i].s,
                                    utf8_truncated[i].len));
        assert_false(orbis_utf8_complete(&u));
    }

    /* the byte that breaks a character is refused in the fragment it is in */
    orbis_utf8_init(&u);
    assert_true(orbis_utf8_feed(&u, (const uint8_t *) "ok \xed", 4));
    assert_false(orbis_utf8_feed(&u, (const uint8_t *) "\xa0\x80", 2));

    orbis_utf8_init(&u);
    assert_true(orbis_utf8_feed(&u, (const uint8_t *) "\xe0", 1));
    assert_false(orbis_utf8_feed(&u, (const uint8_t *) "\x9f\xbf", 2));

    orbis_utf8_init(&u);
    assert_true(orbis_utf8_feed(&u, (const uint8_t *) "\xf4", 1));
    assert_false(orbis_utf8_feed(&u, (const uint8_t *) "\x90", 1));

    orbis_utf8_init(&u);
    assert_true(orbis_utf8_feed(&u, (const uint8_t *) "\xf0\x9f", 2));
    assert_false(orbis_utf8_feed(&u, (const uint8_t *) "A", 1));

    /* and once refused, always refused */
    assert_false(orbis_utf8_feed(&u, (const uint8_t *) "fine", 4));
    assert_false(orbis_utf8_complete(&u));
}


static void
test_utf8_cut(void **state)
{
    const uint8_t  *s = (const uint8_t *) "h\xc3\xa9\xf0\x9f\x98\x80!";

    (void) state;

    assert_int_equal(orbis_utf8_cut(s, 8, 8), 8);
    assert_int_equal(orbis_utf8_cut(s, 8, 100), 8);
    assert_int_equal(orbis_utf8_cut(s, 8, 7), 7);
    assert_int_equal(orbis_utf8_cut(s, 8, 6), 3);
    assert_int_equal(orbis_utf8_cut(s, 8, 4), 3);
    assert_int_equal(orbis_utf8_cut(s, 8, 3), 3);
    assert_int_equal(orbis_utf8_cut(s, 8, 2), 1);
    assert_int_equal(orbis_utf8_cut(s, 8, 1), 1);
    assert_int_equal(orbis_utf8_cut(s, 8, 0), 0);
}


/* the string buffer */


static int  strbuf_fail;


static void *
failing_realloc(void *p, size_t size)
{
    return strbuf_fail ? NULL : realloc(p, size);
}


static void
test_strbuf_growth_and_failure(void **state)
{
    char                big[600];
    size_t              i;
    json_t             *j;
    orbis_err_t         err;
    orbis_strbuf_t      b, zero;
    orbis_allocators_t  a, prev;

    (void) state;

    /* a zeroed struct is an initialised buffer */
    memset(&zero, 0, sizeof(zero));
    orbis_strbuf_init(&b);
    assert_memory_equal(&b, &zero, sizeof(b));
    orbis_strbuf_reset(&b);
    assert_int_equal(b.len, 0);

    for (i = 0; i < 1000; i++) {
        assert_int_equal(orbis_strbuf_append(&b, "0123456789", 10), ORBIS_OK);
    }

    assert_int_equal(b.len, 10000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data + 9990, "0123456789", 10);

    /* a value jansson refuses to write leaves the buffer as it was */
    orbis_strbuf_free(&b);
    assert_int_equal(orbis_strbuf_append(&b, "keep", 4), ORBIS_OK);

    j = json_pack("[s,o]", "ok", json_string_nocheck("\xff"));
    assert_non_null(j);
    assert_int_equal(orbis_strbuf_append_json(&b, j, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "value cannot be encoded as JSON");
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    assert_int_equal(b.cap, 256);
    json_decref(j);

    /* out of memory: ORBIS_ERR_NOMEM, and the buffer keeps what it had */
    a.malloc_fn = malloc;
    a.calloc_fn = calloc;
    a.realloc_fn = failing_realloc;
    a.free_fn = free;
    prev = orbis_set_allocators(&a);

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    j = json_string(big);
    assert_non_null(j);

    strbuf_fail = 1;
    assert_int_equal(orbis_strbuf_reserve(&b, b.cap), ORBIS_ERR_NOMEM);
    assert_int_equal(orbis_strbuf_append(&b, big, sizeof(big)),
                     ORBIS_ERR_NOMEM);
    assert_int_equal(orbis_strbuf_append_json(&b, j, &err), ORBIS_ERR_NOMEM);
    assert_string_equal(err.msg, "out of memory encoding JSON");
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");

    /* what fits in the memory it has still goes in */
    assert_int_equal(orbis_strbuf_append(&b, "x", 1), ORBIS_OK);
    assert_string_equal(b.data, "keepx");
    strbuf_fail = 0;

    json_decref(j);
    orbis_set_allocators(&prev);

    orbis_strbuf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}


static void
test_array_room_and_strdup_or_flag(void **state)
{
    int                  failed;
    int                 *v, *w;
    char                *d;
    size_t               cap;
    orbis_allocators_t   a, prev;

    (void) state;

    /* from nothing to first, then twice as much each time it is full */
    cap = 0;
    v = orbis_array_room(NULL, 0, &cap, 4, sizeof(int));
    assert_non_null(v);
    assert_int_equal(cap, 4);

    v[0] = 7;
    assert_ptr_equal(orbis_array_room(v, 3, &cap, 4, sizeof(int)), v);
    assert_int_equal(cap, 4);

    v = orbis_array_room(v, 4, &cap, 4, sizeof(int));
    assert_non_null(v);
    assert_int_equal(cap, 8);
    assert_int_equal(v[0], 7);

    /* out of memory: NULL, and the array and its room are as they were */
    a.malloc_fn = malloc;
    a.calloc_fn = calloc;
    a.realloc_fn = failing_realloc;
    a.free_fn = free;
    prev = orbis_set_allocators(&a);

    strbuf_fail = 1;
    w = orbis_array_room(v, 8, &cap, 4, sizeof(int));
    strbuf_fail = 0;
    orbis_set_allocators(&prev);

    assert_null(w);
    assert_int_equal(cap, 8);
    assert_int_equal(v[0], 7);
    orbis_free(v);

    /* a size that would overflow is refused */
    cap = SIZE_MAX / 2 + 1;
    assert_null(orbis_array_room(NULL, cap, &cap, 4, 1));
    assert_int_equal(cap, SIZE_MAX / 2 + 1);

    /* NULL copies as NULL; a copy made does not set failed */
    failed = 0;
    assert_null(orbis_strdup_or_flag(NULL, &failed));
    d = orbis_strdup_or_flag("abc", &failed);
    assert_string_equal(d, "abc");
    assert_int_equal(failed, 0);
    orbis_free(d);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_all_bytes_round_trip),
        cmocka_unit_test(test_size_helpers),
        cmocka_unit_test(test_missing_padding),
        cmocka_unit_test(test_strict_rejections),
        cmocka_unit_test(test_pcm_chunk),
        cmocka_unit_test(test_b64url_rfc4648_vectors),
        cmocka_unit_test(test_b64url_url_alphabet),
        cmocka_unit_test(test_b64url_strict_decode),
        cmocka_unit_test(test_b64url_via_flag),
        cmocka_unit_test(test_b64url_matches_standard),
        cmocka_unit_test(test_b64_alphabet_span),
        cmocka_unit_test(test_utf8_decoder),
        cmocka_unit_test(test_utf8_whole),
        cmocka_unit_test(test_utf8_nul),
        cmocka_unit_test(test_utf8_fragments),
        cmocka_unit_test(test_utf8_cut),
        cmocka_unit_test(test_strbuf),
        cmocka_unit_test(test_strbuf_growth_and_failure),
        cmocka_unit_test(test_array_room_and_strdup_or_flag),
    };

    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
