/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/audio.h>


static double goertzel(const int16_t *x, size_t n, uint32_t rate,
    double hz);
static int16_t *sine(size_t n, uint32_t rate, double hz, double amp);
static void check_digit_tone(const int16_t *x, size_t n, uint32_t rate,
    char digit);
static int16_t *resample_all(uint32_t in_rate, uint32_t out_rate,
    const int16_t *in, size_t n, size_t chunk, size_t out_cap_per_call,
    size_t *out_n);


static const double  dtmf_all[8] = {
    697, 770, 852, 941, 1209, 1336, 1477, 1633
};


/* signal power at hz over n samples (one Goertzel bin) */
static double
goertzel(const int16_t *x, size_t n, uint32_t rate, double hz)
{
    double  coeff, s, s1, s2;
    size_t  i;

    coeff = 2.0 * cos(2.0 * M_PI * hz / rate);
    s1 = 0.0;
    s2 = 0.0;

    for (i = 0; i < n; i++) {
        s = x[i] + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }

    return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}


static int16_t *
sine(size_t n, uint32_t rate, double hz, double amp)
{
    size_t    i;
    int16_t  *x;

    x = malloc(n * sizeof(int16_t));
    assert_non_null(x);

    for (i = 0; i < n; i++) {
        x[i] = (int16_t) lrint(amp * sin(2.0 * M_PI * hz * i / rate));
    }

    return x;
}


static void
check_digit_tone(const int16_t *x, size_t n, uint32_t rate, char digit)
{
    int       i;
    double    p[8], lo_p, hi_p, other;
    uint32_t  lo, hi;

    assert_true(orbis_dtmf_freqs(digit, &lo, &hi));

    lo_p = 0;
    hi_p = 0;
    other = 0;

    for (i = 0; i < 8; i++) {
        p[i] = goertzel(x, n, rate, dtmf_all[i]);

        if (dtmf_all[i] == lo) {
            lo_p = p[i];

        } else if (dtmf_all[i] == hi) {
            hi_p = p[i];

        } else if (p[i] > other) {
            other = p[i];
        }
    }

    /* both tones present, of similar strength, far above the other six */
    assert_true(lo_p > 0);
    assert_true(lo_p > 20 * other);
    assert_true(hi_p > 20 * other);
    assert_true(lo_p / hi_p < 2.0 && hi_p / lo_p < 2.0);
}


static void
test_pcm_rms_and_duration(void **state)
{
    uint8_t  b[7];
    int16_t  s[3];

    (void) state;

    s[0] = 3;
    s[1] = -4;
    s[2] = -32768;
    orbis_pcm_encode(s, 3, b);
    b[6] = 0x7f;

    assert_float_equal(orbis_pcm_rms(b, 4), sqrt(12.5), 1e-9);
    /* the odd byte is ignored */
    assert_float_equal(orbis_pcm_rms(b, 5), sqrt(12.5), 1e-9);
    assert_float_equal(orbis_pcm_rms(b + 4, 3), 32768.0, 1e-9);
    assert_float_equal(orbis_pcm_rms(b, 1), 0.0, 0);
    assert_float_equal(orbis_pcm_rms(NULL, 0), 0.0, 0);

    assert_int_equal(orbis_pcm_duration_ms(32000, 16000), 1000);
    assert_int_equal(orbis_pcm_duration_ms(31999, 16000), 999);
    assert_int_equal(orbis_pcm_duration_ms(48000, 24000), 1000);
    assert_int_equal(orbis_pcm_duration_ms(640, 16000), 20);
    assert_int_equal(orbis_pcm_duration_ms(1, 16000), 0);
    assert_int_equal(orbis_pcm_duration_ms(640, 0), 0);
}


static void
test_pcm_byte_order(void **state)
{
    uint8_t        b[6];
    int16_t        s[3];
    const int16_t  in[3] = { 0x1234, -2, -32768 };

    (void) state;

    orbis_pcm_encode(in, 3, b);
    assert_memory_equal(b, "\x34\x12\xfe\xff\x00\x80", 6);

    orbis_pcm_decode(b, 3, s);
    assert_memory_equal(s, in, sizeof(in));
}


static void
test_dtmf_every_digit(void **state)
{
    size_t          n, i, r;
    int16_t         out[48000];
    orbis_err_t     err;
    const char     *digits = "0123456789*#ABCD";
    const uint32_t  rates[3] = { 8000, 16000, 24000 };

    (void) state;

    for (r = 0; r < 3; r++) {
        for (i = 0; i < 16; i++) {
            assert_int_equal(orbis_dtmf_generate(digits + i, 1, rates[r],
                                                 100, 60, 16000, out,
                                                 48000, &n, &err),
                             ORBIS_OK);
            assert_int_equal(n, rates[r] / 10);

            check_digit_tone(out, n, rates[r], digits[i]);
        }
    }
}


static void
test_dtmf_layout_and_counts(void **state)
{
    size_t       n, i, tone, gap, peak;
    int16_t     *out;
    orbis_err_t  err;

    (void) state;

    tone = 2400;
    gap = 1440;

    assert_int_equal(orbis_dtmf_samples_needed(3, 24000, 100, 60),
                     3 * tone + 2 * gap);
    assert_int_equal(orbis_dtmf_samples_needed(1, 24000, 100, 60), tone);
    assert_int_equal(orbis_dtmf_samples_needed(0, 24000, 100, 60), 0);
    assert_int_equal(orbis_dtmf_samples_needed(2, 22050, 100, 50),
                     2 * 2205 + 1102);
    assert_int_equal(orbis_dtmf_samples_needed(SIZE_MAX / 2, 48000, 10000,
                                               10000),
                     0);

    out = malloc((3 * tone + 2 * gap) * sizeof(int16_t));
    assert_non_null(out);

    assert_int_equal(orbis_dtmf_generate("1#D", 3, 24000, 100, 60, 12000,
                                         out, 3 * tone + 2 * gap, &n, &err),
                     ORBIS_OK);
    assert_int_equal(n, 3 * tone + 2 * gap);

    /* gaps are exact silence; tones start and end faded */
    for (i = 0; i < gap; i++) {
        assert_int_equal(out[tone + i], 0);
        assert_int_equal(out[2 * tone + gap + i], 0);
    }

    /* sin(0) is 0; the last sample has 1/49 of the gain (2 ms fade) */
    assert_int_equal(out[0], 0);
    assert_true(abs(out[tone - 1]) <= 12000 / 49 + 1);
    assert_true(abs(out[tone / 2]) > 0);

    peak = 0;

    for (i = 0; i < n; i++) {
        if ((size_t) abs(out[i]) > peak) {
            peak = abs(out[i]);
        }
    }

    assert_true(peak <= 12000);
    assert_true(peak > 9000);

    check_digit_tone(out, tone, 24000, '1');
    check_digit_tone(out + tone + gap, tone, 24000, '#');
    check_digit_tone(out + 2 * (tone + gap), tone, 24000, 'D');

    /* too little room: nothing written, the need reported */
    memset(out, 0x55, 10);
    assert_int_equal(orbis_dtmf_generate("12", 2, 24000, 100, 60, 12000,
                                         out, tone, &n, &err),
                     ORBIS_ERR_RANGE);
    assert_int_equal(n, 2 * tone + gap);
    assert_int_equal(err.code, ORBIS_ERR_RANGE);
    assert_int_equal((uint16_t) out[0], 0x5555);

    free(out);
}


static void
test_dtmf_rejects(void **state)
{
    size_t       n;
    int16_t      out[8000];
    uint32_t     lo, hi;
    orbis_err_t  err;

    (void) state;

    assert_int_equal(orbis_dtmf_generate("1E", 2, 8000, 100, 60, 1000, out,
                                         8000, &n, &err),
                     ORBIS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'E' at 1"));
    assert_int_equal(orbis_dtmf_generate("a", 1, 8000, 100, 60, 1000, out,
                                         8000, &n, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_dtmf_generate(" ", 1, 8000, 100, 60, 1000, out,
                                         8000, &n, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_dtmf_generate("1", 0, 8000, 100, 60, 1000, out,
                                         8000, &n, &err),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_dtmf_generate("1", 1, 4000, 100, 60, 1000, out,
                                         8000, &n, &err),
                     ORBIS_ERR_RANGE);
    assert_int_equal(orbis_dtmf_generate("1", 1, 8000, 0, 60, 1000, out,
                                         8000, &n, &err),
                     ORBIS_ERR_RANGE);
    assert_int_equal(orbis_dtmf_generate("1", 1, 8000, 100, 60, 0, out,
                                         8000, &n, &err),
                     ORBIS_ERR_RANGE);
    assert_int_equal(orbis_dtmf_generate("1", 1, 8000, 100, 60, -5, out,
                                         8000, &n, &err),
                     ORBIS_ERR_RANGE);
    assert_false(orbis_dtmf_freqs('e', &lo, &hi));
    assert_false(orbis_dtmf_freqs('\0', &lo, &hi));
    assert_true(orbis_dtmf_freqs('*', &lo, &hi));
    assert_int_equal(lo, 941);
    assert_int_equal(hi, 1209);
}


static int16_t *
resample_all(uint32_t in_rate, uint32_t out_rate, const int16_t *in,
    size_t n, size_t chunk, size_t out_cap_per_call, size_t *out_n)
{
    size_t              i, len, got, total, cap;
    int16_t            *out;
    orbis_err_t         err;
    orbis_resampler_t  *r;

    r = orbis_resampler_new(in_rate, out_rate, ORBIS_RESAMPLER_QUALITY_VOIP,
                            &err);
    assert_non_null(r);

    cap = orbis_resampler_max_output(r, n) + 16;
    out = malloc(cap * sizeof(int16_t));
    assert_non_null(out);
    total = 0;

    for (i = 0; i < n; i += len) {
        len = (n - i < chunk) ? n - i : chunk;
        assert_int_equal(orbis_resampler_process(r, in + i, len, out + total,
                                                 out_cap_per_call, &got),
                         ORBIS_OK);
        assert_true(got <= out_cap_per_call);
        total += got;
        assert_true(total <= cap);
    }

    /* what a small output left behind comes out with no new input */
    do {
        assert_int_equal(orbis_resampler_process(r, NULL, 0, out + total,
                                                 out_cap_per_call, &got),
                         ORBIS_OK);
        total += got;
    } while (got > 0);

    orbis_resampler_free(r);
    *out_n = total;

    return out;
}


static void
test_resample_16k_to_24k_keeps_pitch(void **state)
{
    size_t    n;
    int16_t  *in, *out;
    double    p1k, p667, p1500, p2k;

    (void) state;

    in = sine(16000, 16000, 1000.0, 10000.0);

    /* 20 ms chunks, as the browser sends them */
    out = resample_all(16000, 24000, in, 16000, 320, 1000, &n);

    /* 1.5 times as many samples, less the filter's tail still inside */
    assert_true(n >= 23900 && n <= 24001);

    p1k = goertzel(out + 200, 23400, 24000, 1000.0);
    p667 = goertzel(out + 200, 23400, 24000, 666.7);
    p1500 = goertzel(out + 200, 23400, 24000, 1500.0);
    p2k = goertzel(out + 200, 23400, 24000, 2000.0);

    assert_true(p1k > 1000 * p667);
    assert_true(p1k > 1000 * p1500);
    assert_true(p1k > 1000 * p2k);

    free(in);
    free(out);
}


static void
test_resample_chunking_is_invisible(void **state)
{
    size_t    n1, n2, n3;
    int16_t  *in, *a, *b, *c;

    (void) state;

    in = sine(4000, 16000, 440.0, 12000.0);

    a = resample_all(16000, 24000, in, 4000, 4000, 100000, &n1);
    b = resample_all(16000, 24000, in, 4000, 1, 100000, &n2);
    /* output room smaller than each chunk's result: input is held back */
    c = resample_all(16000, 24000, in, 4000, 320, 7, &n3);

    assert_true(n1 > 5900);
    assert_int_equal(n1, n2);
    assert_int_equal(n1, n3);
    assert_memory_equal(a, b, n1 * sizeof(int16_t));
    assert_memory_equal(a, c, n1 * sizeof(int16_t));

    free(in);
    free(a);
    free(b);
    free(c);
}


static void
test_resample_other_rates(void **state)
{
    size_t    n;
    int16_t  *in, *out;

    (void) state;

    /* down to the phone rate: 8000 samples in 16000 */
    in = sine(16000, 16000, 800.0, 10000.0);
    out = resample_all(16000, 8000, in, 16000, 160, 1000, &n);
    assert_true(n >= 7950 && n <= 8001);
    assert_true(goertzel(out + 100, 7800, 8000, 800.0)
                > 1000 * goertzel(out + 100, 7800, 8000, 1600.0));
    free(out);

    /* equal rates copy exactly */
    out = resample_all(16000, 16000, in, 16000, 333, 50, &n);
    assert_int_equal(n, 16000);
    assert_memory_equal(out, in, 16000 * sizeof(int16_t));
    free(out);
    free(in);
}


static void
test_resampler_rejects_and_resets(void **state)
{
    size_t              n1, n2;
    int16_t             o1[800], o2[800], *in;
    orbis_err_t         err;
    orbis_resampler_t  *r;

    (void) state;

    assert_null(orbis_resampler_new(4000, 16000, 3, &err));
    assert_int_equal(err.code, ORBIS_ERR_RANGE);
    assert_null(orbis_resampler_new(16000, 96000, 3, &err));
    assert_null(orbis_resampler_new(16000, 24000, 11, &err));
    assert_null(orbis_resampler_new(16000, 24000, -1, &err));
    orbis_resampler_free(NULL);

    in = sine(320, 16000, 500.0, 8000.0);
    r = orbis_resampler_new(16000, 24000, 5, &err);
    assert_non_null(r);
    assert_true(orbis_resampler_max_output(r, 320) >= 480);

    assert_int_equal(orbis_resampler_process(r, in, 320, o1, 800, &n1),
                     ORBIS_OK);

    /* after a reset the same input gives the same output again */
    assert_int_equal(orbis_resampler_process(r, in, 100, o2, 10, &n2),
                     ORBIS_OK);
    orbis_resampler_reset(r);
    assert_int_equal(orbis_resampler_process(r, in, 320, o2, 800, &n2),
                     ORBIS_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(o1, o2, n1 * sizeof(int16_t));

    orbis_resampler_free(r);
    free(in);
}



static void
test_mulaw(void **state)
{
    int       v, back, err;
    size_t    i;
    uint8_t   pcm[2], u, all[256], dec[512], enc[256];

    (void) state;

    /* the reference points of G.711 */
    u = 0xff;
    orbis_mulaw_decode(&u, 1, pcm);
    assert_int_equal((int16_t) (pcm[0] | pcm[1] << 8), 0);
    u = 0x00;
    orbis_mulaw_decode(&u, 1, pcm);
    assert_int_equal((int16_t) (pcm[0] | pcm[1] << 8), -32124);
    u = 0x80;
    orbis_mulaw_decode(&u, 1, pcm);
    assert_int_equal((int16_t) (pcm[0] | pcm[1] << 8), 32124);

    pcm[0] = 0;
    pcm[1] = 0;
    orbis_mulaw_encode(pcm, 1, &u);
    assert_int_equal(u, 0xff);

    /* every code decodes to a value that encodes back to it (but -0) */
    for (i = 0; i < 256; i++) {
        all[i] = (uint8_t) i;
    }

    orbis_mulaw_decode(all, 256, dec);
    orbis_mulaw_encode(dec, 256, enc);

    for (i = 0; i < 256; i++) {
        if (i != 0x7f) {
            assert_int_equal(enc[i], all[i]);
        }
    }

    /* and any sample comes back within its segment's step */
    for (v = -32768; v < 32768; v += 97) {
        pcm[0] = (uint8_t) ((uint16_t) v & 0xff);
        pcm[1] = (uint8_t) ((uint16_t) v >> 8);
        orbis_mulaw_encode(pcm, 1, &u);
        orbis_mulaw_decode(&u, 1, pcm);
        back = (int16_t) (pcm[0] | pcm[1] << 8);
        err = abs(back - (v < -32635 ? -32635 : v > 32635 ? 32635 : v));
        assert_true(err <= 1024);
        assert_true(err <= abs(v) / 16 + 8);
    }
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_pcm_rms_and_duration),
        cmocka_unit_test(test_pcm_byte_order),
        cmocka_unit_test(test_mulaw),
        cmocka_unit_test(test_dtmf_every_digit),
        cmocka_unit_test(test_dtmf_layout_and_counts),
        cmocka_unit_test(test_dtmf_rejects),
        cmocka_unit_test(test_resample_16k_to_24k_keeps_pitch),
        cmocka_unit_test(test_resample_chunking_is_invisible),
        cmocka_unit_test(test_resample_other_rates),
        cmocka_unit_test(test_resampler_rejects_and_resets),
    };

    return cmocka_run_group_tests_name("audio", tests, NULL, NULL);
}
