/*
 * Copyright (C) Orbis
 *
 * Helpers shared by the gemini, client and session areas; not installed.
 * Names marked ORBIS_GEMINI_HIDDEN stay inside liborbiscore.so: the export
 * list would otherwise publish every orbis_* symbol.
 */

#ifndef ORBIS_GEMINI_INT_H
#define ORBIS_GEMINI_INT_H

#include <orbiscore/gemini.h>


#if defined(__GNUC__)
#define ORBIS_GEMINI_HIDDEN  __attribute__((visibility("hidden")))
#else
#define ORBIS_GEMINI_HIDDEN
#endif


/* ASCII case-insensitive substring test */
int orbis_gemini_contains_nocase(const char *hay, const char *needle);

/*
 * The sample rate in the "rate=" parameter of mime[0..len), 0 when there is
 * none or it is absurd
 */
ORBIS_GEMINI_HIDDEN uint32_t orbis_gemini_mime_rate(const char *mime,
    size_t len);


/*
 * orbis_gemini_parse() is these two: a scanner for the one message that
 * arrives every 20 ms (model audio alone) and, when it declines, the
 * jansson parser, which handles everything and has the contract of
 * orbis_gemini_parse().  They are here so that tests can hold one against
 * the other.
 */

/*
 * 1: msg was the bare audio shape and out holds what
 * orbis_gemini_parse_json() would have returned with ORBIS_OK (root NULL).
 * 0: declined (any other shape, anything not certainly valid, bad base64,
 * no memory); out is then empty and only the jansson parser can tell.
 */
ORBIS_GEMINI_HIDDEN int orbis_gemini_parse_audio(const char *msg,
    size_t len, orbis_gemini_msg_t *out);

ORBIS_GEMINI_HIDDEN orbis_rc_t orbis_gemini_parse_json(const char *msg,
    size_t len, orbis_gemini_msg_t *out, orbis_err_t *err);


#endif /* ORBIS_GEMINI_INT_H */
