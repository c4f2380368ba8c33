/*
 * Copyright (C) Orbis
 *
 * PCM16LE byte helpers.  Samples are assembled from bytes explicitly so
 * that the code does not depend on the host's byte order or on the
 * alignment of a buffer that came straight off a socket or out of base64.
 */


#include <math.h>

#include <orbiscore/audio.h>


double
orbis_pcm_rms(const uint8_t *pcm16le, size_t bytes)
{
    size_t   i, n;
    double   sum;
    int16_t  s;

    n = bytes / 2;

    if (n == 0) {
        return 0.0;
    }

    sum = 0.0;

    for (i = 0; i < n; i++) {
        s = (int16_t) (uint16_t) (pcm16le[2 * i]
                                  | (pcm16le[2 * i + 1] << 8));
        sum += (double) s * s;
    }

    return sqrt(sum / (double) n);
}


uint64_t
orbis_pcm_duration_ms(size_t bytes, uint32_t rate)
{
    if (rate == 0) {
        return 0;
    }

    /* samples * 1000 fits in 64 bits for any size_t byte count */
    return (uint64_t) (bytes / 2) * 1000 / rate;
}


void
orbis_pcm_decode(const uint8_t *pcm16le, size_t samples, int16_t *out)
{
    size_t  i;

    for (i = 0; i < samples; i++) {
        out[i] = (int16_t) (uint16_t) (pcm16le[2 * i]
                                       | (pcm16le[2 * i + 1] << 8));
    }
}


void
orbis_pcm_encode(const int16_t *samples, size_t n, uint8_t *pcm16le)
{
    size_t    i;
    uint16_t  u;

    for (i = 0; i < n; i++) {
        u = (uint16_t) samples[i];
        pcm16le[2 * i] = (uint8_t) (u & 0xff);
        pcm16le[2 * i + 1] = (uint8_t) (u >> 8);
    }
}
