/*
 * Copyright (C) Orbis
 *
 * audio: helpers for the raw audio the voice gateway moves around, always
 * 16-bit signed PCM, mono.  On the wire (browser, Gemini Live) it is
 * little-endian bytes (PCM16LE); in memory it is int16_t samples.  The
 * browser sends 16 kHz, Gemini answers 24 kHz, phone lines will be 8 kHz,
 * hence the resampler (libspeexdsp) and the DTMF generator.
 */

#ifndef ORBISCORE_AUDIO_H
#define ORBISCORE_AUDIO_H

#include <orbiscore/orbiscore.h>


#define ORBIS_AUDIO_MIN_RATE          8000
#define ORBIS_AUDIO_MAX_RATE          48000

/* speex quality 0 (fastest) .. 10 (best); 3 is its "VoIP" setting */
#define ORBIS_RESAMPLER_QUALITY_VOIP  3


/* ---- PCM16LE bytes ---- */

/*
 * Root mean square of the samples in pcm16le, in sample units (0 .. 32768).
 * An odd trailing byte is ignored; no samples gives 0.
 */
double orbis_pcm_rms(const uint8_t *pcm16le, size_t bytes);

/* how long bytes of mono PCM16 last at rate, rounded down; 0 if rate is 0 */
uint64_t orbis_pcm_duration_ms(size_t bytes, uint32_t rate);

/* bytes (2 per sample) to samples and back, whatever the host's order */
void orbis_pcm_decode(const uint8_t *pcm16le, size_t samples, int16_t *out);
void orbis_pcm_encode(const int16_t *samples, size_t n, uint8_t *pcm16le);


/* ---- G.711 mu-law (telephony: 8 kHz, one byte a sample) ---- */

/* n mu-law bytes to n samples of PCM16LE (2n bytes) */
void orbis_mulaw_decode(const uint8_t *mulaw, size_t n, uint8_t *pcm16le);

/* n samples of PCM16LE (2n bytes) to n mu-law bytes */
void orbis_mulaw_encode(const uint8_t *pcm16le, size_t n, uint8_t *mulaw);


/* ---- resampling ---- */

typedef struct orbis_resampler_s  orbis_resampler_t;

/*
 * A mono resampler from in_rate to out_rate (both within
 * ORBIS_AUDIO_MIN_RATE .. ORBIS_AUDIO_MAX_RATE, else ORBIS_ERR_RANGE) at the
 * given speex quality (0..10).  The filter's start-up delay is skipped, so
 * the first output sample lines up with the first input sample.  Release
 * with orbis_resampler_free().
 */
orbis_resampler_t *orbis_resampler_new(uint32_t in_rate, uint32_t out_rate,
    int quality, orbis_err_t *err);
void orbis_resampler_free(orbis_resampler_t *r);

/*
 * Output room that is always enough for in_samples more input (counts
 * what is still held from earlier calls).
 */
size_t orbis_resampler_max_output(const orbis_resampler_t *r,
    size_t in_samples);

/*
 * Resamples a chunk of a stream; filter state carries over between calls,
 * so chunks of any size (even 1 sample) give the same stream.  Writes at
 * most out_cap samples to out and their number to *out_samples.  Input
 * that does not fit in out is kept and resampled first on the next call.
 * Returns ORBIS_OK, or ORBIS_ERR_NOMEM / ORBIS_ERR_INTERNAL.
 */
orbis_rc_t orbis_resampler_process(orbis_resampler_t *r, const int16_t *in,
    size_t in_samples, int16_t *out, size_t out_cap, size_t *out_samples);

/* forgets the stream (held input and filter history), e.g. on barge-in */
void orbis_resampler_reset(orbis_resampler_t *r);


/* ---- DTMF (ITU-T Q.23) ---- */

/*
 * Samples orbis_dtmf_generate() writes for n digits: n tones of tone_ms
 * with gap_ms of silence between two tones (none after the last), each
 * part rate * ms / 1000 samples.  0 when n is 0 or on overflow.
 */
size_t orbis_dtmf_samples_needed(size_t n, uint32_t rate, uint32_t tone_ms,
    uint32_t gap_ms);

/*
 * Writes the tones for digits[0..n) ("0"-"9", "*", "#", "A"-"D"; anything
 * else is ORBIS_ERR_INVALID) into out: each tone is the Q.23 row and
 * column sines at amplitude / 2 each, with a 2 ms fade in and out so
 * that it does not click.  rate must be within the ORBIS_AUDIO_ limits,
 * tone_ms 1..10000, gap_ms <= 10000, amplitude > 0.  If out_cap is too
 * small, returns ORBIS_ERR_RANGE with *out_samples set to what is needed.
 */
orbis_rc_t orbis_dtmf_generate(const char *digits, size_t n, uint32_t rate,
    uint32_t tone_ms, uint32_t gap_ms, int16_t amplitude, int16_t *out,
    size_t out_cap, size_t *out_samples, orbis_err_t *err);

/* the Q.23 row and column frequencies of digit; 0 if it is not one */
int orbis_dtmf_freqs(char digit, uint32_t *low_hz, uint32_t *high_hz);


#endif /* ORBISCORE_AUDIO_H */
