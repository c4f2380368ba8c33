/*
 * Copyright (C) Orbis
 *
 * The built-in generate_tone tool: DTMF digits rendered as audio for the
 * caller to play into the call (to drive an IVR, or to confirm a code).
 * The samples are left in the context at its output rate; the model only
 * hears back what was generated.
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/audio.h>

#include "tools_int.h"


#define ORBIS_TONE_MAX_DIGITS  32
#define ORBIS_TONE_DEFAULT_MS  100
#define ORBIS_TONE_GAP_MS      60

/* -6 dBFS at the peak of the two summed sines */
#define ORBIS_TONE_AMPLITUDE   16384


static int orbis_tone_run(const orbis_tool_t *tool,
    const json_t *args, orbis_tool_ctx_t *ctx, json_t **result,
    orbis_err_t *err);


const orbis_tool_t  orbis_tools_generate_tone = {
    .name = "generate_tone",
    .description =
        "Play DTMF (touch-tone) digits to the caller, for example to "
        "navigate a phone menu. Digits: 0-9, *, #, A-D.",
    .parameters =
        "{\"type\": \"OBJECT\", \"properties\": {"
        "\"digits\": {\"type\": \"STRING\","
        " \"description\": \"The digits to play, up to 32\"},"
        "\"toneMs\": {\"type\": \"NUMBER\", \"minimum\": 40,"
        " \"maximum\": 1000, \"description\": \"Tone length, default 100\"},"
        "\"gapMs\": {\"type\": \"NUMBER\", \"minimum\": 0, \"maximum\": 1000,"
        " \"description\": \"Silence between tones, default 60\"}},"
        " \"required\": [\"digits\"]}",
    .behavior = ORBIS_TOOL_BLOCKING,
    .timeout_ms = 1000,
    .run = orbis_tone_run,
    .data = NULL
};


static int
orbis_tone_run(const orbis_tool_t *tool, const json_t *args,
    orbis_tool_ctx_t *ctx, json_t **result, orbis_err_t *err)
{
    size_t       n, need, got;
    json_t      *v;
    int16_t     *pcm;
    uint32_t     rate, tone_ms, gap_ms;
    const char  *digits;

    (void) tool;

    digits = json_string_value(json_object_get(args, "digits"));
    n = json_string_length(json_object_get(args, "digits"));

    if (n == 0 || n > ORBIS_TONE_MAX_DIGITS) {
        orbis_err_set(err, ORBIS_ERR_INVALID,
                      "digits must hold 1 to %d characters",
                      ORBIS_TONE_MAX_DIGITS);
        return ORBIS_TOOL_ERROR;
    }

    /* the schema has bounded both already */
    v = json_object_get(args, "toneMs");
    tone_ms = json_is_number(v) ? (uint32_t) json_number_value(v)
                                : ORBIS_TONE_DEFAULT_MS;

    v = json_object_get(args, "gapMs");
    gap_ms = json_is_number(v) ? (uint32_t) json_number_value(v)
                               : ORBIS_TONE_GAP_MS;

    rate = orbis_tool_ctx_output_rate(ctx);

    need = orbis_dtmf_samples_needed(n, rate, tone_ms, gap_ms);
    if (need == 0) {
        orbis_err_set(err, ORBIS_ERR_RANGE, "cannot play tones at %u Hz",
                      rate);
        return ORBIS_TOOL_ERROR;
    }

    pcm = orbis_malloc(need * sizeof(int16_t));
    if (pcm == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return ORBIS_TOOL_ERROR;
    }

    if (orbis_dtmf_generate(digits, n, rate, tone_ms, gap_ms,
                            ORBIS_TONE_AMPLITUDE, pcm, need, &got, err)
        != ORBIS_OK)
    {
        orbis_free(pcm);
        return ORBIS_TOOL_ERROR;
    }

    *result = json_pack("{s:s, s:I, s:I}", "digits", digits,
                        "samples", (json_int_t) got,
                        "durationMs", (json_int_t) ((uint64_t) got * 1000
                                                    / rate));
    if (*result == NULL) {
        orbis_free(pcm);
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return ORBIS_TOOL_ERROR;
    }

    orbis_tool_ctx_set_audio(ctx, pcm, got, rate);

    return ORBIS_TOOL_DONE;
}
