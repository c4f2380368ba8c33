/*
 * Copyright (C) Orbis
 *
 * DTMF tone generation with the ITU-T Q.23 frequency pairs:
 *
 *            1209   1336   1477   1633 Hz
 *     697     1      2      3      A
 *     770     4      5      6      B
 *     852     7      8      9      C
 *     941     *      0      #      D
 */


#include <math.h>

#include <orbiscore/audio.h>


#define ORBIS_DTMF_MAX_MS   10000
#define ORBIS_DTMF_FADE_MS  2


static const uint32_t  orbis_dtmf_rows[4] = { 697, 770, 852, 941 };
static const uint32_t  orbis_dtmf_cols[4] = { 1209, 1336, 1477, 1633 };
static const char      orbis_dtmf_keys[] = "123A456B789C*0#D";


static size_t orbis_dtmf_part(uint32_t rate, uint32_t ms);


int
orbis_dtmf_freqs(char digit, uint32_t *low_hz, uint32_t *high_hz)
{
    size_t  i;

    for (i = 0; i < 16; i++) {
        if (orbis_dtmf_keys[i] == digit) {
            *low_hz = orbis_dtmf_rows[i / 4];
            *high_hz = orbis_dtmf_cols[i % 4];
            return 1;
        }
    }

    return 0;
}


size_t
orbis_dtmf_samples_needed(size_t n, uint32_t rate, uint32_t tone_ms,
    uint32_t gap_ms)
{
    size_t  tone, gap;

    if (n == 0) {
        return 0;
    }

    tone = orbis_dtmf_part(rate, tone_ms);
    gap = orbis_dtmf_part(rate, gap_ms);

    /* n tones and n - 1 gaps, without wrapping around */
    if (tone + gap < tone || n > SIZE_MAX / (tone + gap + 1)) {
        return 0;
    }

    return n * tone + (n - 1) * gap;
}


orbis_rc_t
orbis_dtmf_generate(const char *digits, size_t n, uint32_t rate,
    uint32_t tone_ms, uint32_t gap_ms, int16_t amplitude, int16_t *out,
    size_t out_cap, size_t *out_samples, orbis_err_t *err)
{
    double    a, w1, w2, gain, v;
    size_t    i, j, k, tone, gap, fade, need;
    uint32_t  lo, hi;

    *out_samples = 0;

    if (rate < ORBIS_AUDIO_MIN_RATE || rate > ORBIS_AUDIO_MAX_RATE) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "dtmf: rate %u outside %d..%d Hz", rate,
                             ORBIS_AUDIO_MIN_RATE, ORBIS_AUDIO_MAX_RATE);
    }

    if (tone_ms == 0 || tone_ms > ORBIS_DTMF_MAX_MS
        || gap_ms > ORBIS_DTMF_MAX_MS)
    {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "dtmf: tone %u ms / gap %u ms out of range",
                             tone_ms, gap_ms);
    }

    if (amplitude <= 0) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "dtmf: amplitude must be positive");
    }

    if (n == 0 || digits == NULL) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "dtmf: no digits");
    }

    for (i = 0; i < n; i++) {
        if (!orbis_dtmf_freqs(digits[i], &lo, &hi)) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "dtmf: '%c' at %zu is not a DTMF digit",
                                 (digits[i] >= 0x20 && digits[i] < 0x7f)
                                 ? digits[i] : '?', i);
        }
    }

    need = orbis_dtmf_samples_needed(n, rate, tone_ms, gap_ms);
    if (need == 0) {
        return orbis_err_set(err, ORBIS_ERR_RANGE, "dtmf: too many digits");
    }

    if (out_cap < need || out == NULL) {
        *out_samples = need;
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "dtmf: %zu samples needed, room for %zu",
                             need, out_cap);
    }

    tone = orbis_dtmf_part(rate, tone_ms);
    gap = orbis_dtmf_part(rate, gap_ms);

    fade = orbis_dtmf_part(rate, ORBIS_DTMF_FADE_MS);
    if (fade > tone / 2) {
        fade = tone / 2;
    }

    /* each sine gets half, so their sum never exceeds amplitude */
    a = amplitude / 2.0;
    k = 0;

    for (i = 0; i < n; i++) {
        orbis_dtmf_freqs(digits[i], &lo, &hi);

        w1 = 2.0 * M_PI * lo / rate;
        w2 = 2.0 * M_PI * hi / rate;

        for (j = 0; j < tone; j++) {
            gain = 1.0;

            if (j < fade) {
                gain = (double) (j + 1) / (fade + 1);

            } else if (tone - j <= fade) {
                gain = (double) (tone - j) / (fade + 1);
            }

            v = a * gain * (sin(w1 * j) + sin(w2 * j));
            out[k++] = (int16_t) lrint(v);
        }

        if (i + 1 < n) {
            for (j = 0; j < gap; j++) {
                out[k++] = 0;
            }
        }
    }

    *out_samples = k;

    return ORBIS_OK;
}


static size_t
orbis_dtmf_part(uint32_t rate, uint32_t ms)
{
    return (size_t) ((uint64_t) rate * ms / 1000);
}
