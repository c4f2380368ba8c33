/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/base64.h>


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
    };

    return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
