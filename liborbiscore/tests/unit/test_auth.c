/*
 * Copyright (C) Orbis
 *
 * Known-answer vectors were computed outside this code: the JWTs and the
 * scrypt string with Python's hmac, hashlib and base64 modules, the raw
 * scrypt outputs are RFC 7914 section 12.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/auth.h>

#include "auth/auth_int.h"


#define NOW  1700000100


static void tamper(const char *tok, int seg, size_t off, char *buf,
    size_t size);
static orbis_rc_t verify(const char *tok, int64_t now,
    orbis_jwt_claims_t *c);
static void hex_to_bytes(const char *hex, uint8_t *out);


static const uint8_t  secret[] = "orbis-test-secret-0123456789abcdef";

#define SECRET_LEN  (sizeof(secret) - 1)


static const char  jwt_kat[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
    "iLM381gVLxG0lwQJjFsytGTgwt8_O6eA4XwGb0liARA";

static const char  jwt_notyp[] =
    "eyJhbGciOiJIUzI1NiJ9."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
    "Kp24f_jxQrd78SV3uplgKf9l4q2qJMmSsWJn5wDPp1U";

static const char  jwt_hs512[] =
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
    "8LeIr2zUhSaKB7jAZ6wp--zTlfbJHWDOLd77hZIjvUKVyOzZvzR7Hr6IQmF1rSD-"
    "QET3WybsGp5p-TogFU9Ssg";

static const char  jwt_hs512_256[] =
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
    "hMD0C62GfA92-7Y9O5tjHZQwiWwUhnGnVpaTeEG2_-s";

static const char  jwt_rs256[] =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
    "lnZJIroIEDhsBbjfGGFaqvf9fubZEFQR267yYCApI5M";

static const char  jwt_none[] =
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ.";

static const char  jwt_none_signed[] =
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
    "UsBn-ONkcZ0MkZJERnZggVS-iZD7u-BMHcVh69PFjvQ";

static const char  jwt_noalg[] =
    "eyJ0eXAiOiJKV1QifQ."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJyIiwiaWF0IjoxNzAwMDAwMDAw"
    "LCJleHAiOjE3MDAwMDM2MDB9."
    "hw42kz_82zSL_B2ri4LymzEcgoNiJ8Q-GFpd5lUpJnE";

static const char  jwt_kid[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IngifQ."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
    "U5u5KUuSL8SKu_JyEnwZebTB5PtJLKWhe3hLi9r1CUI";

static const char  jwt_array[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "WzEsMl0."
    "2RvG_ZUj_Q8tFUSeLKTw7LDYHFtqZnxPZVIrId3kRD8";

static const char  jwt_nosub[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ0aWQiOiJ0Iiwicm9sZSI6InIiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcw"
    "MDAwMzYwMH0."
    "YHOFO5FEMUN5_g-aH0WM6Ecg1nNrA8aa766qZsyF688";

static const char  jwt_realexp[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJyIiwiaWF0IjoxNzAwMDAwMDAw"
    "LCJleHAiOjE3MDAwMDM2MDAuNX0."
    "6u9bIfmdeNKjSaMt_A2qirSl1_SK7CWKlYm39O5J1Lc";

static const char  jwt_nonjson[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "bm90IGpzb24."
    "PHdGiItlDVEYAzHB1DzAxMKx2ThMvbsTYhnMLFX0HD8";

static const char  jwt_longrole[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJhYmNkZWZnaGlqa2xtbm9wIiwi"
    "aWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9."
    "YKkwK1si5gAYFGYpek5iSynEdS1eQIGsToTDro8cZGo";

/* jwt_kat with "jti":"AAECAwQFBgcICQoLDA0ODw" (bytes 0..15) last */
static const char  jwt_jti[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0ZW5hbnQtMSIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwLCJqdGkiOiJBQUVDQXdR"
    "RkJnY0lDUW9MREEwT0R3In0."
    "c9zOdFkHrCUXhX-UmORzI9KdLRCSCpHrylT5dTvAMDk";

/* signed correctly, with "jti": 7, "", "a:b", 48 and 47 times "A" */
static const char  jwt_jti_number[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJyIiwiaWF0IjoxNzAwMDAwMDAw"
    "LCJleHAiOjE3MDAwMDM2MDAsImp0aSI6N30."
    "gZ8UWGdCJyltDedusaifJScv903Hjz-2FWRQbCdR8mE";

static const char  jwt_jti_empty[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJyIiwiaWF0IjoxNzAwMDAwMDAw"
    "LCJleHAiOjE3MDAwMDM2MDAsImp0aSI6IiJ9."
    "UKKo7t-GdgGdUBgdC2pO8DQwWEHMclTEFDJSl419zOc";

static const char  jwt_jti_colon[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJyIiwiaWF0IjoxNzAwMDAwMDAw"
    "LCJleHAiOjE3MDAwMDM2MDAsImp0aSI6ImE6YiJ9."
    "J5NO9BSxENRoZcTudG3z0mjMyhoTL-LY3h8ktQFwFDA";

static const char  jwt_jti_long[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJyIiwiaWF0IjoxNzAwMDAwMDAw"
    "LCJleHAiOjE3MDAwMDM2MDAsImp0aSI6IkFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQSJ9."
    "Q8iUQOKcCDC0MUyS7ly92TfjszbGuZaYSH0IYrfnhxg";

static const char  jwt_jti_max[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJyIiwiaWF0IjoxNzAwMDAwMDAw"
    "LCJleHAiOjE3MDAwMDM2MDAsImp0aSI6IkFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBIn0."
    "VnnWK_YPTS2O8TSqt5B9ZGB2JFw_nSdNbi-QpfCJwpE";

static const char  jwt_extra[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1IiwidGlkIjoidCIsInJvbGUiOiJhYmNkZWZnaGlqa2xtbm8iLCJp"
    "YXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwiZXh0cmEiOnsieCI6MX19"
    "."
    "Lry3cc9f31oyrJXq6Wvw4xvHHSD6G2J2qgr7HjjH1d4";


/* scrypt and passwords */


static void
test_scrypt_rfc7914_vectors(void **state)
{
    uint8_t                  dk[64], want[64];
    orbis_password_params_t  p;

    (void) state;

    p.log2_n = 4;
    p.r = 1;
    p.p = 1;

    assert_int_equal(orbis_scrypt_derive("", 0, (const uint8_t *) "", 0, &p,
                                         dk, 64),
                     ORBIS_OK);
    hex_to_bytes("77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3f"
                 "ede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628"
                 "cf35e20c38d18906", want);
    assert_memory_equal(dk, want, 64);

    p.log2_n = 10;
    p.r = 8;
    p.p = 16;

    assert_int_equal(orbis_scrypt_derive("password", 8,
                                         (const uint8_t *) "NaCl", 4, &p,
                                         dk, 64),
                     ORBIS_OK);
    hex_to_bytes("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b"
                 "3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d83"
                 "60cbdfa2cc0640", want);
    assert_memory_equal(dk, want, 64);
}


static void
test_password_hash_known_answer(void **state)
{
    char                     out[ORBIS_PASSWORD_HASH_SIZE];
    size_t                   i;
    uint8_t                  salt[16];
    orbis_err_t              err;
    orbis_password_params_t  p;

    static const char  want[] =
        "$scrypt$ln=4,r=8,p=1$AAECAwQFBgcICQoLDA0ODw"
        "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI";

    (void) state;

    for (i = 0; i < 16; i++) {
        salt[i] = (uint8_t) i;
    }

    p.log2_n = 4;
    p.r = 8;
    p.p = 1;

    assert_int_equal(orbis_password_hash_params("correct horse battery", 21,
                                                 salt, &p, out, sizeof(out),
                                                 &err),
                     ORBIS_OK);
    assert_string_equal(out, want);

    assert_int_equal(orbis_password_verify("correct horse battery", 21, want,
                                           &err),
                     ORBIS_OK);
    assert_int_equal(orbis_password_verify("correct horse batterY", 21, want,
                                           &err),
                     ORBIS_ERR_AUTH);
    assert_int_equal(orbis_password_verify("correct horse battery", 20, want,
                                           &err),
                     ORBIS_ERR_AUTH);
    assert_int_equal(orbis_password_verify("", 0, want, &err),
                     ORBIS_ERR_AUTH);

    /* too small a buffer: refused, and nothing half written */
    assert_int_equal(orbis_password_hash_params("x", 1, salt, &p, out, 40,
                                                &err),
                     ORBIS_ERR_RANGE);
    assert_string_equal(out, "");
}


static void
test_password_default_params_round_trip(void **state)
{
    char         out[ORBIS_PASSWORD_HASH_SIZE];
    uint8_t      salt[16];
    orbis_err_t  err;

    (void) state;

    memset(salt, 0x5a, sizeof(salt));

    assert_int_equal(orbis_password_hash("Tr0ub4dor&3 and more", 20, salt,
                                         out, sizeof(out), &err),
                     ORBIS_OK);
    assert_int_equal(strncmp(out, "$scrypt$ln=15,r=8,p=1$", 22), 0);
    assert_int_equal(orbis_password_verify("Tr0ub4dor&3 and more", 20, out,
                                           &err),
                     ORBIS_OK);
    assert_int_equal(orbis_password_verify("Tr0ub4dor&3 and mor", 19, out,
                                           &err),
                     ORBIS_ERR_AUTH);

    /* the dummy is well-formed, costs the same and matches nothing */
    assert_int_equal(strncmp(orbis_password_dummy_hash(),
                             "$scrypt$ln=15,r=8,p=1$", 22), 0);
    assert_int_equal(orbis_password_verify("Tr0ub4dor&3 and more", 20,
                                           orbis_password_dummy_hash(), &err),
                     ORBIS_ERR_AUTH);
}


static void
test_password_verify_refuses_malformed(void **state)
{
    size_t       i;
    orbis_err_t  err;

    static const char  *bad[] = {
        "",
        "plaintext",
        "$scrypt$",
        "$argon2id$v=19$m=65536,t=3,p=4$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        /* leading zero, sign, missing member, reordered */
        "$scrypt$ln=04,r=8,p=1$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$ln=+4,r=8,p=1$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$ln=4,r=8$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$r=8,ln=4,p=1$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        /* salt too short, salt not base64url, hash missing or padded */
        "$scrypt$ln=4,r=8,p=1$AAEC"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$ln=4,r=8,p=1$AAECAwQFBgcICQoLDA0OD+"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$ln=4,r=8,p=1$AAECAwQFBgcICQoLDA0ODw",
        "$scrypt$ln=4,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$",
        "$scrypt$ln=4,r=8,p=1$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI=",
        "$scrypt$ln=4,r=8,p=1$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI$x",
        /* absurd costs: 128 MB, 2^30, p = 0, r = 0, too much work */
        "$scrypt$ln=17,r=8,p=1$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$ln=30,r=1,p=1$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$ln=4,r=8,p=0$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$ln=4,r=0,p=1$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        "$scrypt$ln=15,r=8,p=16$AAECAwQFBgcICQoLDA0ODw"
            "$coHb6LlzckOeOHbDHR6JGt8ViaJ_p4LgT4TcMJHWRUI",
        NULL
    };

    (void) state;

    for (i = 0; bad[i] != NULL; i++) {
        assert_int_equal(orbis_password_verify("correct horse battery", 21,
                                               bad[i], &err),
                         ORBIS_ERR_INVALID);
    }

    assert_int_equal(orbis_password_verify("x", 1, NULL, &err),
                     ORBIS_ERR_INVALID);
}


static void
test_password_hash_refuses_bad_input(void **state)
{
    char                     out[ORBIS_PASSWORD_HASH_SIZE], pw[300];
    uint8_t                  salt[16];
    orbis_err_t              err;
    orbis_password_params_t  p;

    (void) state;

    memset(salt, 1, sizeof(salt));
    memset(pw, 'a', sizeof(pw));

    p.log2_n = 16;
    p.r = 8;
    p.p = 1;

    assert_int_equal(orbis_password_hash_params("x", 1, salt, &p, out,
                                                sizeof(out), &err),
                     ORBIS_ERR_INVALID);

    assert_int_equal(orbis_password_hash(pw, 257, salt, out, sizeof(out),
                                         &err),
                     ORBIS_ERR_RANGE);
    assert_string_equal(err.msg, "password must be at most 256 bytes");
}


static void
test_password_rules(void **state)
{
    char         pw[300];
    orbis_err_t  err;

    (void) state;

    assert_int_equal(orbis_password_check_rules("correct horse 7", 15, &err),
                     ORBIS_OK);
    assert_int_equal(orbis_password_check_rules("Tr0ub4dor&3", 11, &err),
                     ORBIS_OK);

    assert_int_equal(orbis_password_check_rules("short1", 6, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password must be at least 10 characters");

    /* nine characters in 17 bytes: characters count, not bytes */
    assert_int_equal(orbis_password_check_rules("\xc3\xa4\xc3\xb6\xc3\xbc"
                                                "\xc3\xa4\xc3\xb6\xc3\xbc"
                                                "\xc3\xa4\xc3\xb6" "1", 17,
                                                &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password must be at least 10 characters");
    assert_int_equal(orbis_password_check_rules("\xc3\xa4\xc3\xb6\xc3\xbc"
                                                "\xc3\xa4\xc3\xb6\xc3\xbc"
                                                "\xc3\xa4\xc3\xb6" "12", 18,
                                                &err),
                     ORBIS_OK);

    memset(pw, 'a', sizeof(pw));
    pw[0] = '1';
    assert_int_equal(orbis_password_check_rules(pw, 257, &err),
                     ORBIS_ERR_RANGE);
    assert_string_equal(err.msg, "password must be at most 256 bytes");

    pw[1] = 'b';
    pw[2] = 'c';
    assert_int_equal(orbis_password_check_rules(pw, 256, &err), ORBIS_OK);

    assert_int_equal(orbis_password_check_rules("onlylettershere", 15, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password must contain a letter and a "
                        "digit or symbol");
    assert_int_equal(orbis_password_check_rules("0123456789012", 13, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password must contain a letter and a "
                        "digit or symbol");

    assert_int_equal(orbis_password_check_rules("aaaaaaaa11", 10, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password must use at least 4 different "
                        "characters");

    assert_int_equal(orbis_password_check_rules("Password123", 11, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password is too common, choose another one");
    assert_int_equal(orbis_password_check_rules("QWERTY12345", 11, &err),
                     ORBIS_ERR_INVALID);

    assert_int_equal(orbis_password_check_rules("abc\x01" "defgh12", 11,
                                                &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg,
                        "password must not contain control characters");

    assert_int_equal(orbis_password_check_rules("abcdefgh1\xff", 10, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "password must be valid UTF-8");
}


/* JWT */


static void
test_jwt_sign_known_answer(void **state)
{
    char                out[ORBIS_JWT_MAX_LEN + 1];
    orbis_err_t         err;
    orbis_jwt_claims_t  c;

    (void) state;

    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "user-1");
    strcpy(c.tid, "tenant-1");
    strcpy(c.role, "admin");
    c.iat = 1700000000;
    c.exp = 1700003600;

    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_OK);
    assert_string_equal(out, jwt_kat);

    /* exactly the room the token needs, and one byte less */
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out,
                                    sizeof(jwt_kat), &err),
                     ORBIS_OK);
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out,
                                    sizeof(jwt_kat) - 1, &err),
                     ORBIS_ERR_RANGE);
}


static void
test_jwt_verify_known_answer(void **state)
{
    orbis_jwt_claims_t  c;

    (void) state;

    assert_int_equal(verify(jwt_kat, NOW, &c), ORBIS_OK);
    assert_string_equal(c.sub, "user-1");
    assert_string_equal(c.tid, "tenant-1");
    assert_string_equal(c.role, "admin");
    assert_int_equal(c.iat, 1700000000);
    assert_int_equal(c.exp, 1700003600);

    /* "typ" is optional, unknown claims are ignored */
    assert_int_equal(verify(jwt_notyp, NOW, &c), ORBIS_OK);
    assert_int_equal(verify(jwt_extra, NOW, &c), ORBIS_OK);
    assert_string_equal(c.role, "abcdefghijklmno");
}


static void
test_jwt_round_trip_utf8_claims(void **state)
{
    char                out[ORBIS_JWT_MAX_LEN + 1];
    orbis_err_t         err;
    orbis_jwt_claims_t  c, back;

    (void) state;

    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "J\xc3\xbcrgen \"quoted\" \\ /");
    strcpy(c.tid, "0f8fad5b-d9cb-469f-a165-70867728950e");
    strcpy(c.role, "owner");
    c.iat = NOW;
    c.exp = NOW + 900;

    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_OK);
    assert_int_equal(verify(out, NOW, &back), ORBIS_OK);
    assert_string_equal(back.sub, c.sub);
    assert_string_equal(back.tid, c.tid);
    assert_int_equal(back.exp, c.exp);

    /* another secret of the same length */
    assert_int_equal(orbis_jwt_verify(out, strlen(out),
                                      (const uint8_t *)
                                      "orbis-test-secret-0123456789abcdeF",
                                      SECRET_LEN, NOW, &back, &err),
                     ORBIS_ERR_AUTH);
}


static void
test_jwt_tampering(void **state)
{
    char                buf[ORBIS_JWT_MAX_LEN + 1];
    size_t              off;
    orbis_rc_t          rc;
    orbis_jwt_claims_t  c;

    (void) state;

    /* header: whatever it becomes, it is not accepted */
    for (off = 0; off < 30; off++) {
        tamper(jwt_kat, 0, off, buf, sizeof(buf));
        rc = verify(buf, NOW, &c);
        assert_true(rc == ORBIS_ERR_AUTH || rc == ORBIS_ERR_INVALID);
    }

    /* payload: the signature is checked before the payload is read */
    for (off = 0; off < 100; off += 7) {
        tamper(jwt_kat, 1, off, buf, sizeof(buf));
        assert_int_equal(verify(buf, NOW, &c), ORBIS_ERR_AUTH);
    }

    /* signature: any whole character changed */
    for (off = 0; off < 42; off += 3) {
        tamper(jwt_kat, 2, off, buf, sizeof(buf));
        assert_int_equal(verify(buf, NOW, &c), ORBIS_ERR_AUTH);
    }

    /* signature cut short, or longer */
    strcpy(buf, jwt_kat);
    buf[strlen(buf) - 4] = '\0';
    assert_int_equal(verify(buf, NOW, &c), ORBIS_ERR_INVALID);
    strcpy(buf, jwt_kat);
    strcat(buf, "AAAA");
    assert_int_equal(verify(buf, NOW, &c), ORBIS_ERR_INVALID);
}


static void
test_jwt_refuses_other_algorithms(void **state)
{
    orbis_err_t         err;
    orbis_jwt_claims_t  c;

    (void) state;

    assert_int_equal(verify(jwt_none, NOW, &c), ORBIS_ERR_AUTH);
    assert_int_equal(orbis_jwt_verify(jwt_none, strlen(jwt_none), secret,
                                      SECRET_LEN, NOW, &c, &err),
                     ORBIS_ERR_AUTH);
    assert_string_equal(err.msg, "token: algorithm not allowed");

    assert_int_equal(verify(jwt_none_signed, NOW, &c), ORBIS_ERR_AUTH);
    assert_int_equal(verify(jwt_hs512, NOW, &c), ORBIS_ERR_AUTH);
    assert_int_equal(verify(jwt_hs512_256, NOW, &c), ORBIS_ERR_AUTH);
    assert_int_equal(verify(jwt_rs256, NOW, &c), ORBIS_ERR_AUTH);
    assert_int_equal(verify(jwt_noalg, NOW, &c), ORBIS_ERR_AUTH);

    /* a correctly signed header with a member we did not write */
    assert_int_equal(verify(jwt_kid, NOW, &c), ORBIS_ERR_INVALID);
}


static void
test_jwt_time_checks(void **state)
{
    orbis_err_t         err;
    orbis_jwt_claims_t  c;

    (void) state;

    assert_int_equal(verify(jwt_kat, 1700003599, &c), ORBIS_OK);

    assert_int_equal(orbis_jwt_verify(jwt_kat, strlen(jwt_kat), secret,
                                      SECRET_LEN, 1700003600, &c, &err),
                     ORBIS_ERR_EXPIRED);
    assert_string_equal(err.msg, "token: expired");
    assert_int_equal(verify(jwt_kat, 1800000000, &c), ORBIS_ERR_EXPIRED);

    /* iat = 1700000000: 60 s of clock skew is tolerated, 61 s is not */
    assert_int_equal(verify(jwt_kat, 1700000000 - 60, &c), ORBIS_OK);
    assert_int_equal(verify(jwt_kat, 1700000000 - 61, &c), ORBIS_ERR_AUTH);
}


static void
test_jwt_malformed(void **state)
{
    char                big[ORBIS_JWT_MAX_LEN + 2];
    orbis_err_t         err;
    orbis_jwt_claims_t  c;

    (void) state;

    assert_int_equal(verify("", NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify("abc", NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify("a.b", NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify("..", NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify("a.b.c.d", NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify("eyJhbGciOiJIUzI1NiJ9..sig", NOW, &c),
                     ORBIS_ERR_INVALID);
    assert_int_equal(verify("e$J.eyJ.abc", NOW, &c), ORBIS_ERR_INVALID);

    /* signed correctly but the payload is wrong */
    assert_int_equal(verify(jwt_array, NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify(jwt_nonjson, NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify(jwt_nosub, NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify(jwt_realexp, NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify(jwt_longrole, NOW, &c), ORBIS_ERR_INVALID);

    /* too long, checked before anything else */
    memset(big, 'A', sizeof(big));
    big[10] = '.';
    big[20] = '.';
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(orbis_jwt_verify(big, strlen(big), secret, SECRET_LEN,
                                      NOW, &c, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "token: too long");

    /* a secret too short to be safe is a configuration error */
    assert_int_equal(orbis_jwt_verify(jwt_kat, strlen(jwt_kat), secret, 31,
                                      NOW, &c, &err),
                     ORBIS_ERR_INVALID);
}


static void
test_jwt_sign_refuses_bad_claims(void **state)
{
    char                out[ORBIS_JWT_MAX_LEN + 1];
    orbis_err_t         err;
    orbis_jwt_claims_t  c;

    (void) state;

    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "u");
    strcpy(c.tid, "t");
    strcpy(c.role, "r");
    c.iat = NOW;
    c.exp = NOW;

    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_ERR_INVALID);

    c.exp = NOW + 1;
    memset(c.role, 'x', sizeof(c.role));
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_ERR_INVALID);

    strcpy(c.role, "r");
    c.sub[0] = '\0';
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_ERR_INVALID);

    strcpy(c.sub, "\xff\xfe");
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_ERR_INVALID);

    strcpy(c.sub, "u");
    assert_int_equal(orbis_jwt_sign(&c, secret, 16, out, sizeof(out), &err),
                     ORBIS_ERR_INVALID);
}


static void
test_jwt_jti_known_answer(void **state)
{
    char                out[ORBIS_JWT_MAX_LEN + 1];
    size_t              i;
    uint8_t             rnd[ORBIS_JWT_JTI_RANDOM_LEN];
    orbis_err_t         err;
    orbis_jwt_claims_t  c, back;

    (void) state;

    for (i = 0; i < sizeof(rnd); i++) {
        rnd[i] = (uint8_t) i;
    }

    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "user-1");
    strcpy(c.tid, "tenant-1");
    strcpy(c.role, "admin");
    c.iat = 1700000000;
    c.exp = 1700003600;

    orbis_jwt_jti(&c, rnd);
    assert_string_equal(c.jti, "AAECAwQFBgcICQoLDA0ODw");
    assert_int_equal(strlen(c.jti), ORBIS_JWT_JTI_LEN);

    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_OK);
    assert_string_equal(out, jwt_jti);

    assert_int_equal(verify(jwt_jti, NOW, &back), ORBIS_OK);
    assert_string_equal(back.jti, "AAECAwQFBgcICQoLDA0ODw");
    assert_string_equal(back.sub, "user-1");
    assert_int_equal(back.exp, 1700003600);

    /* other bytes, another id, with the url-safe "_" in it */
    for (i = 0; i < sizeof(rnd); i++) {
        rnd[i] = (uint8_t) (0xff - i * 3);
    }

    orbis_jwt_jti(&c, rnd);
    assert_string_equal(c.jti, "__z59vPw7ern5OHe29jV0g");

    /* a token without jti still verifies; its jti reads as "" */
    memset(back.jti, 'x', sizeof(back.jti));
    assert_int_equal(verify(jwt_kat, NOW, &back), ORBIS_OK);
    assert_string_equal(back.jti, "");

    /* and a claims struct without jti signs to the old token */
    c.jti[0] = '\0';
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_OK);
    assert_string_equal(out, jwt_kat);
}


static void
test_jwt_jti_malformed(void **state)
{
    char                out[ORBIS_JWT_MAX_LEN + 1];
    orbis_err_t         err;
    orbis_jwt_claims_t  c;

    (void) state;

    assert_int_equal(orbis_jwt_verify(jwt_jti_number, strlen(jwt_jti_number),
                                      secret, SECRET_LEN, NOW, &c, &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg, "token: claim jti malformed");
    assert_int_equal(verify(jwt_jti_empty, NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify(jwt_jti_colon, NOW, &c), ORBIS_ERR_INVALID);
    assert_int_equal(verify(jwt_jti_long, NOW, &c), ORBIS_ERR_INVALID);

    assert_int_equal(verify(jwt_jti_max, NOW, &c), ORBIS_OK);
    assert_int_equal(strlen(c.jti), ORBIS_JWT_JTI_MAX);

    /* sign refuses what verify would */
    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "u");
    strcpy(c.tid, "t");
    strcpy(c.role, "r");
    c.iat = NOW;
    c.exp = NOW + 60;

    strcpy(c.jti, "a:b");
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_ERR_INVALID);
    assert_string_equal(err.msg,
                        "token: jti must be 1 to 47 base64url characters");

    /* not NUL-terminated inside the array */
    memset(c.jti, 'A', sizeof(c.jti));
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_ERR_INVALID);

    memset(c.jti, 'A', ORBIS_JWT_JTI_MAX);
    c.jti[ORBIS_JWT_JTI_MAX] = '\0';
    assert_int_equal(orbis_jwt_sign(&c, secret, SECRET_LEN, out, sizeof(out),
                                    &err),
                     ORBIS_OK);
}


static void
test_jwt_revocation_ttl(void **state)
{
    orbis_jwt_claims_t  c;

    (void) state;

    memset(&c, 0, sizeof(c));
    c.iat = 1700000000;
    c.exp = 1700003600;

    /* until exp, plus the skew a slow clock may still accept it for */
    assert_int_equal(orbis_jwt_revocation_ttl(&c, 1700000000), 3600 + 60);
    assert_int_equal(orbis_jwt_revocation_ttl(&c, 1700003599), 61);
    assert_int_equal(orbis_jwt_revocation_ttl(&c, 1700003600), 60);
    assert_int_equal(orbis_jwt_revocation_ttl(&c, 1700003659), 1);
    assert_int_equal(orbis_jwt_revocation_ttl(&c, 1700003660), 0);
    assert_int_equal(orbis_jwt_revocation_ttl(&c, 1800000000), 0);

    /* no overflow at the edges */
    c.exp = INT64_MAX - 10;
    assert_true(orbis_jwt_revocation_ttl(&c, 0) == INT64_MAX);
    assert_true(orbis_jwt_revocation_ttl(&c, -5) == INT64_MAX);
    c.exp = INT64_MIN + 5;
    assert_int_equal(orbis_jwt_revocation_ttl(&c, 0), 0);
}


/* API keys */


static void
test_apikey_generate_and_hash(void **state)
{
    char                 key[ORBIS_APIKEY_LEN + 1];
    char                 hex[ORBIS_APIKEY_HASH_LEN + 1];
    size_t               i;
    uint8_t              rnd[ORBIS_APIKEY_RANDOM_LEN];
    orbis_err_t          err;
    orbis_apikey_kind_t  kind;

    (void) state;

    for (i = 0; i < sizeof(rnd); i++) {
        rnd[i] = (uint8_t) i;
    }

    assert_int_equal(orbis_apikey_generate(ORBIS_KEY_PUBLISHABLE, rnd, key,
                                           sizeof(key)),
                     ORBIS_OK);
    assert_string_equal(key, "pk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");

    assert_int_equal(orbis_apikey_hash(key, strlen(key), hex), ORBIS_OK);
    assert_string_equal(hex, "9fb362c685e18c56744fbb4b6a6e038a"
                             "bd7f17cf9eb0eb1ca446fa00f96e46df");

    assert_int_equal(orbis_apikey_parse(key, strlen(key), &kind, &err),
                     ORBIS_OK);
    assert_int_equal(kind, ORBIS_KEY_PUBLISHABLE);

    for (i = 0; i < sizeof(rnd); i++) {
        rnd[i] = (uint8_t) (255 - i);
    }

    assert_int_equal(orbis_apikey_generate(ORBIS_KEY_SECRET, rnd, key,
                                           sizeof(key)),
                     ORBIS_OK);
    assert_string_equal(key, "sk___79_Pv6-fj39vX08_Lx8O_u7ezr6uno");
    assert_int_equal(orbis_apikey_hash(key, strlen(key), hex), ORBIS_OK);
    assert_string_equal(hex, "0987b1094a3787c4a17f65d3d6c5f98e"
                             "34611fe3dacab56607f6c18ad58f7c05");
    assert_int_equal(orbis_apikey_parse(key, strlen(key), &kind, &err),
                     ORBIS_OK);
    assert_int_equal(kind, ORBIS_KEY_SECRET);
    assert_string_equal(orbis_apikey_kind_name(kind), "secret");

    assert_int_equal(orbis_apikey_generate(ORBIS_KEY_SECRET, rnd, key,
                                           ORBIS_APIKEY_LEN),
                     ORBIS_ERR_RANGE);
}


static void
test_apikey_parse_refuses_malformed(void **state)
{
    size_t               i;
    orbis_err_t          err;
    orbis_apikey_kind_t  kind;

    static const char  *bad[] = {
        "",
        "pk_",
        "pk_AAECAwQFBgcICQoLDA0ODxAREhMUFRY",
        "pk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXA",
        "xk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
        "PK_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
        "pk-AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
        "pk_AAECAwQFBgcICQoLDA0ODxAREhMUFRY+",
        "pk_AAECAwQFBgcICQoLDA0ODxAREhMUFRY=",
        "pk_AAECAwQFBgcICQoLDA0O xAREhMUFRYX",
        NULL
    };

    (void) state;

    for (i = 0; bad[i] != NULL; i++) {
        assert_int_equal(orbis_apikey_parse(bad[i], strlen(bad[i]), &kind,
                                            &err),
                         ORBIS_ERR_INVALID);
    }

    /* an embedded NUL does not cut the key short */
    assert_int_equal(orbis_apikey_parse("pk_AAECAwQFBgcICQoLDA0O\0xAREhMUFRYX",
                                        35, &kind, &err),
                     ORBIS_ERR_INVALID);
}


static void
test_apikey_display(void **state)
{
    char  prefix[16], last4[5];

    (void) state;

    assert_int_equal(orbis_apikey_display(
                         "pk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", 35,
                         prefix, last4),
                     ORBIS_OK);
    assert_string_equal(prefix, "pk_AAEC");
    assert_string_equal(last4, "FRYX");

    assert_int_equal(orbis_apikey_display(
                         "sk___79_Pv6-fj39vX08_Lx8O_u7ezr6uno", 35,
                         prefix, last4),
                     ORBIS_OK);
    assert_string_equal(prefix, "sk___79");
    assert_string_equal(last4, "6uno");

    assert_int_equal(orbis_apikey_display("pk_short", 8, prefix, last4),
                     ORBIS_ERR_INVALID);
    assert_string_equal(prefix, "");
    assert_string_equal(last4, "");
}


/* origins */


static void
test_origin_allowed(void **state)
{
    static const char *const  list[] = {
        "https://acme.example",
        "HTTP://LocalHost:8080/",
        "https://shop.acme.example:443",
        NULL,
        "not an origin"
    };
    static const char *const  star[] = { "https://x.example", "*" };

#define ALLOWED(o)  orbis_origin_allowed(o, strlen(o), list, 5)

    (void) state;

    assert_true(ALLOWED("https://acme.example"));
    assert_true(ALLOWED("https://ACME.example"));
    assert_true(ALLOWED("HTTPS://acme.example/"));
    assert_true(ALLOWED("https://acme.example:443"));
    assert_true(ALLOWED("http://localhost:8080"));
    assert_true(ALLOWED("https://shop.acme.example"));

    assert_false(ALLOWED("http://acme.example"));
    assert_false(ALLOWED("https://acme.example:8443"));
    assert_false(ALLOWED("http://localhost:8081"));
    assert_false(ALLOWED("http://localhost"));
    assert_false(ALLOWED("https://www.acme.example"));
    assert_false(ALLOWED("https://acme.example.evil.example"));
    assert_false(ALLOWED("https://evilacme.example"));
    assert_false(ALLOWED("https://acme.example/path"));
    assert_false(ALLOWED("https://acme.example//"));
    assert_false(ALLOWED("https://acme.example?x=1"));
    assert_false(ALLOWED("https://user@acme.example"));
    assert_false(ALLOWED("not an origin"));
    assert_false(ALLOWED("null"));
    assert_false(ALLOWED(""));
    assert_false(orbis_origin_allowed(NULL, 0, list, 5));

    /* a length shorter than the string is respected */
    assert_true(orbis_origin_allowed("https://acme.example.evil", 20, list,
                                     5));

    assert_true(orbis_origin_allowed("https://anything.example:3000", 29,
                                     star, 2));
    assert_true(orbis_origin_allowed("chrome-extension://abcdef", 25, star,
                                     2));
    assert_false(orbis_origin_allowed("null", 4, star, 2));
    assert_false(orbis_origin_allowed("", 0, star, 2));
    assert_false(orbis_origin_allowed("https://a.example/x", 19, star, 2));

#undef ALLOWED
}


static void
test_origin_valid_and_normalize(void **state)
{
    char    out[ORBIS_ORIGIN_MAX_LEN + 1];
    size_t  i;

    static const char  *good[] = {
        "https://acme.example", "http://localhost:3000", "*",
        "https://acme.example/", "https://[::1]:8443", "http://127.0.0.1",
        "https://xn--bcher-kva.example", "https://a-b.c-d.example",
        NULL
    };
    static const char  *bad[] = {
        "", "acme.example", "ftp://acme.example", "ws://acme.example",
        "https://", "https://acme.example/path", "https://acme.example?q",
        "https://acme.example#frag", "https://u:p@acme.example",
        "https://acme..example", "https://.acme.example",
        "https://acme.example.", "https://-acme.example",
        "https://acme-.example", "https://acme.example:",
        "https://acme.example:0", "https://acme.example:65536",
        "https://acme.example:08443", "https://acme.example:8a",
        "https://acme_x.example", "https://b\xc3\xbc" "cher.example",
        "https://[]", "https://[::g]", "null", "**", " https://a.example",
        NULL
    };

    (void) state;

    for (i = 0; good[i] != NULL; i++) {
        assert_true(orbis_origin_valid(good[i], strlen(good[i])));
    }

    for (i = 0; bad[i] != NULL; i++) {
        assert_false(orbis_origin_valid(bad[i], strlen(bad[i])));
    }

    assert_int_equal(orbis_origin_normalize("HTTPS://WWW.Acme.Example:443/",
                                            29, out, sizeof(out)),
                     ORBIS_OK);
    assert_string_equal(out, "https://www.acme.example");

    assert_int_equal(orbis_origin_normalize("http://LOCALHOST:8080", 21, out,
                                            sizeof(out)),
                     ORBIS_OK);
    assert_string_equal(out, "http://localhost:8080");

    assert_int_equal(orbis_origin_normalize("http://a.example:80", 19, out,
                                            sizeof(out)),
                     ORBIS_OK);
    assert_string_equal(out, "http://a.example");

    /* 443 is only the default for https */
    assert_int_equal(orbis_origin_normalize("http://a.example:443", 20, out,
                                            sizeof(out)),
                     ORBIS_OK);
    assert_string_equal(out, "http://a.example:443");

    assert_int_equal(orbis_origin_normalize("https://a.example", 17, out, 17),
                     ORBIS_ERR_RANGE);
    assert_int_equal(orbis_origin_normalize("https://a.example/x", 19, out,
                                            sizeof(out)),
                     ORBIS_ERR_INVALID);
}


static void
tamper(const char *tok, int seg, size_t off, char *buf, size_t size)
{
    char  *p;
    int    i;

    assert_true(strlen(tok) < size);
    strcpy(buf, tok);

    p = buf;

    for (i = 0; i < seg; i++) {
        p = strchr(p, '.') + 1;
    }

    /* swap within the alphabet so that the result is still base64url */
    p[off] = (p[off] == 'A') ? 'B' : 'A';
}


static orbis_rc_t
verify(const char *tok, int64_t now, orbis_jwt_claims_t *c)
{
    orbis_err_t  err;

    return orbis_jwt_verify(tok, strlen(tok), secret, SECRET_LEN, now, c,
                            &err);
}


static void
hex_to_bytes(const char *hex, uint8_t *out)
{
    unsigned  v;

    while (hex[0] != '\0' && hex[1] != '\0') {
        v = 0;
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        *out++ = (uint8_t) v;
        hex += 2;
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_scrypt_rfc7914_vectors),
        cmocka_unit_test(test_password_hash_known_answer),
        cmocka_unit_test(test_password_default_params_round_trip),
        cmocka_unit_test(test_password_verify_refuses_malformed),
        cmocka_unit_test(test_password_hash_refuses_bad_input),
        cmocka_unit_test(test_password_rules),
        cmocka_unit_test(test_jwt_sign_known_answer),
        cmocka_unit_test(test_jwt_verify_known_answer),
        cmocka_unit_test(test_jwt_round_trip_utf8_claims),
        cmocka_unit_test(test_jwt_tampering),
        cmocka_unit_test(test_jwt_refuses_other_algorithms),
        cmocka_unit_test(test_jwt_time_checks),
        cmocka_unit_test(test_jwt_malformed),
        cmocka_unit_test(test_jwt_sign_refuses_bad_claims),
        cmocka_unit_test(test_jwt_jti_known_answer),
        cmocka_unit_test(test_jwt_jti_malformed),
        cmocka_unit_test(test_jwt_revocation_ttl),
        cmocka_unit_test(test_apikey_generate_and_hash),
        cmocka_unit_test(test_apikey_parse_refuses_malformed),
        cmocka_unit_test(test_apikey_display),
        cmocka_unit_test(test_origin_allowed),
        cmocka_unit_test(test_origin_valid_and_normalize),
    };

    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
