/*
 * Copyright (C) Orbis
 *
 * G.711 mu-law, as telephony media streams carry it (ITU-T G.711, the
 * usual biased segment encoding with 14-bit magnitudes).
 */


#include <orbiscore/audio.h>


#define ORBIS_MULAW_BIAS  0x84
#define ORBIS_MULAW_CLIP  32635


void
orbis_mulaw_decode(const uint8_t *mulaw, size_t n, uint8_t *pcm16le)
{
    int       t;
    size_t    i;
    uint8_t   u;
    int16_t   v;

    for (i = 0; i < n; i++) {
        u = (uint8_t) ~mulaw[i];
        t = ((u & 0x0f) << 3) + ORBIS_MULAW_BIAS;
        t <<= (u & 0x70) >> 4;
        v = (int16_t) ((u & 0x80) ? ORBIS_MULAW_BIAS - t
                                  : t - ORBIS_MULAW_BIAS);

        pcm16le[2 * i] = (uint8_t) ((uint16_t) v & 0xff);
        pcm16le[2 * i + 1] = (uint8_t) ((uint16_t) v >> 8);
    }
}


void
orbis_mulaw_encode(const uint8_t *pcm16le, size_t n, uint8_t *mulaw)
{
    int       v, sign, exponent, mantissa, mask;
    size_t    i;

    for (i = 0; i < n; i++) {
        v = (int16_t) (uint16_t) (pcm16le[2 * i]
                                  | ((uint16_t) pcm16le[2 * i + 1] << 8));

        sign = (v < 0) ? 0x80 : 0;

        if (v < 0) {
            v = -v;
        }

        if (v > ORBIS_MULAW_CLIP) {
            v = ORBIS_MULAW_CLIP;
        }

        v += ORBIS_MULAW_BIAS;

        for (exponent = 7, mask = 0x4000;
             (v & mask) == 0 && exponent > 0;
             exponent--, mask >>= 1)
        {
            /* the segment: the highest bit set above the mantissa */
        }

        mantissa = (v >> (exponent + 3)) & 0x0f;

        mulaw[i] = (uint8_t) ~(sign | (exponent << 4) | mantissa);
    }
}
