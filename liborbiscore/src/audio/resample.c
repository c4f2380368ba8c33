/*
 * Copyright (C) Orbis
 *
 * Streaming sample-rate conversion over libspeexdsp's resampler.
 *
 * speex keeps the filter history itself; what it does not keep is input
 * it could not use because the output buffer was full.  We hold that
 * input here so that the caller can size buffers as it likes and still get
 * one continuous stream.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_resampler.h>

#include <orbiscore/alloc.h>
#include <orbiscore/audio.h>


struct orbis_resampler_s {
    SpeexResamplerState  *st;         /* NULL when the rates are equal */
    uint32_t              in_rate;
    uint32_t              out_rate;
    int16_t              *held;
    size_t                held_len;
    size_t                held_cap;
};


static orbis_rc_t orbis_resampler_run(orbis_resampler_t *r,
    const int16_t *in, size_t in_len, int16_t *out, size_t out_cap,
    size_t *consumed, size_t *produced);
static orbis_rc_t orbis_resampler_hold(orbis_resampler_t *r,
    const int16_t *in, size_t len);


orbis_resampler_t *
orbis_resampler_new(uint32_t in_rate, uint32_t out_rate, int quality,
    orbis_err_t *err)
{
    int                 rc;
    orbis_resampler_t  *r;

    if (in_rate < ORBIS_AUDIO_MIN_RATE || in_rate > ORBIS_AUDIO_MAX_RATE
        || out_rate < ORBIS_AUDIO_MIN_RATE || out_rate > ORBIS_AUDIO_MAX_RATE)
    {
        orbis_err_set(err, ORBIS_ERR_RANGE,
                      "resampler: rates %u -> %u outside %d..%d Hz",
                      in_rate, out_rate, ORBIS_AUDIO_MIN_RATE,
                      ORBIS_AUDIO_MAX_RATE);
        return NULL;
    }

    if (quality < SPEEX_RESAMPLER_QUALITY_MIN
        || quality > SPEEX_RESAMPLER_QUALITY_MAX)
    {
        orbis_err_set(err, ORBIS_ERR_RANGE,
                      "resampler: quality %d outside 0..10", quality);
        return NULL;
    }

    r = orbis_calloc(1, sizeof(orbis_resampler_t));
    if (r == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "resampler: out of memory");
        return NULL;
    }

    r->in_rate = in_rate;
    r->out_rate = out_rate;

    /* speex would still filter (and delay) a 1:1 stream: copy it instead */
    if (in_rate == out_rate) {
        return r;
    }

    rc = RESAMPLER_ERR_SUCCESS;
    r->st = speex_resampler_init(1, in_rate, out_rate, quality, &rc);

    if (r->st == NULL || rc != RESAMPLER_ERR_SUCCESS) {
        if (r->st != NULL) {
            speex_resampler_destroy(r->st);
        }

        orbis_free(r);
        orbis_err_set(err, ORBIS_ERR_NOMEM, "resampler: %s",
                      speex_resampler_strerror(rc));
        return NULL;
    }

    speex_resampler_skip_zeros(r->st);

    return r;
}


void
orbis_resampler_free(orbis_resampler_t *r)
{
    if (r == NULL) {
        return;
    }

    if (r->st != NULL) {
        speex_resampler_destroy(r->st);
    }

    orbis_free(r->held);
    orbis_free(r);
}


size_t
orbis_resampler_max_output(const orbis_resampler_t *r, size_t in_samples)
{
    uint64_t  total;

    if (in_samples > SIZE_MAX - r->held_len) {
        return SIZE_MAX;
    }

    total = (uint64_t) in_samples + r->held_len;

    if (total > UINT64_MAX / ORBIS_AUDIO_MAX_RATE) {
        return SIZE_MAX;
    }

    /* rounding inside speex may give one sample more than the ratio */
    total = (total * r->out_rate + r->in_rate - 1) / r->in_rate + 2;

    return total > SIZE_MAX ? SIZE_MAX : (size_t) total;
}


orbis_rc_t
orbis_resampler_process(orbis_resampler_t *r, const int16_t *in,
    size_t in_samples, int16_t *out, size_t out_cap, size_t *out_samples)
{
    size_t      consumed, produced, total;
    orbis_rc_t  rc;

    total = 0;
    *out_samples = 0;

    if (r->held_len > 0) {
        rc = orbis_resampler_run(r, r->held, r->held_len, out, out_cap,
                                 &consumed, &produced);
        if (rc != ORBIS_OK) {
            return rc;
        }

        r->held_len -= consumed;

        if (r->held_len > 0) {
            memmove(r->held, r->held + consumed,
                    r->held_len * sizeof(int16_t));
        }

        total = produced;
    }

    if (r->held_len > 0) {
        /* the output is full: queue all of this call's input */
        *out_samples = total;
        return orbis_resampler_hold(r, in, in_samples);
    }

    rc = orbis_resampler_run(r, in, in_samples, out + total, out_cap - total,
                             &consumed, &produced);
    if (rc != ORBIS_OK) {
        *out_samples = total;
        return rc;
    }

    *out_samples = total + produced;

    return orbis_resampler_hold(r, in + consumed, in_samples - consumed);
}


void
orbis_resampler_reset(orbis_resampler_t *r)
{
    r->held_len = 0;

    if (r->st != NULL) {
        speex_resampler_reset_mem(r->st);
        speex_resampler_skip_zeros(r->st);
    }
}


static orbis_rc_t
orbis_resampler_run(orbis_resampler_t *r, const int16_t *in, size_t in_len,
    int16_t *out, size_t out_cap, size_t *consumed, size_t *produced)
{
    int           rc;
    size_t        n;
    spx_uint32_t  ilen, olen;

    *consumed = 0;
    *produced = 0;

    if (r->st == NULL) {
        n = in_len < out_cap ? in_len : out_cap;

        if (n > 0) {
            memcpy(out, in, n * sizeof(int16_t));
        }

        *consumed = n;
        *produced = n;

        return ORBIS_OK;
    }

    /* speex counts in 32 bits; larger buffers go through in slices */
    while (*consumed < in_len && *produced < out_cap) {
        n = in_len - *consumed;
        ilen = (spx_uint32_t) (n > UINT32_MAX ? UINT32_MAX : n);
        n = out_cap - *produced;
        olen = (spx_uint32_t) (n > UINT32_MAX ? UINT32_MAX : n);

        rc = speex_resampler_process_int(r->st, 0, in + *consumed, &ilen,
                                         out + *produced, &olen);
        if (rc != RESAMPLER_ERR_SUCCESS) {
            return ORBIS_ERR_INTERNAL;
        }

        if (ilen == 0 && olen == 0) {
            break;
        }

        *consumed += ilen;
        *produced += olen;
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_resampler_hold(orbis_resampler_t *r, const int16_t *in, size_t len)
{
    size_t    cap;
    int16_t  *p;

    if (len == 0) {
        return ORBIS_OK;
    }

    if (len > r->held_cap - r->held_len) {
        if (len > SIZE_MAX / sizeof(int16_t) / 2 - r->held_len) {
            return ORBIS_ERR_NOMEM;
        }

        cap = (r->held_len + len) * 2;

        p = orbis_realloc(r->held, cap * sizeof(int16_t));
        if (p == NULL) {
            return ORBIS_ERR_NOMEM;
        }

        r->held = p;
        r->held_cap = cap;
    }

    memcpy(r->held + r->held_len, in, len * sizeof(int16_t));
    r->held_len += len;

    return ORBIS_OK;
}
