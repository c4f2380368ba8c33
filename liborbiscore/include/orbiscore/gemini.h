/*
 * Copyright (C) Orbis
 *
 * Gemini Live (BidiGenerateContent over WebSocket): every message the
 * gateway sends upstream is built here, and every message Gemini sends back
 * is parsed here.  The nginx module only moves the bytes: it sends what the
 * builders produce as WebSocket text frames and hands each received frame,
 * text or binary (Gemini sends its JSON in binary frames), to
 * orbis_gemini_parse().
 *
 * The builders append to an orbis_strbuf_t (strbuf.h).  The Gemini peer
 * of a call (orbis_gemini_peer_t, below) maps the session's normalised
 * events (callevent.h) to and from these messages.
 */

#ifndef ORBISCORE_GEMINI_H
#define ORBISCORE_GEMINI_H

#include <jansson.h>

#include <orbiscore/orbiscore.h>
#include <orbiscore/strbuf.h>
#include <orbiscore/session.h>


/*
 * Builders.  All of them append to out and, on failure, leave out as it
 * was; callers that want one message per buffer reset it first.  Strings
 * must be UTF-8 (ORBIS_ERR_INVALID otherwise).
 */

typedef struct {
    const char  *model;           /* "gemini-..." or "models/gemini-..." */
    const char  *system_prompt;   /* NULL: no systemInstruction */
    const char  *voice;           /* prebuilt voice name, NULL: default */
    const char  *language;        /* BCP-47, NULL: default */
    json_t      *function_declarations; /* borrowed array, may be NULL */
    const char  *resume_handle;   /* NULL or "": a fresh session */
    int          input_transcription;
    int          output_transcription;
} orbis_gemini_setup_t;


/*
 * The first message of a connection.  "models/" is put in front of the
 * model id when missing; tools are left out when there are no declarations
 * (NULL or an empty array); sessionResumption is always asked for, with the
 * handle when resuming; sliding-window context compression is always on so
 * that calls are not cut at the context limit.
 */
orbis_rc_t orbis_gemini_append_setup(orbis_strbuf_t *out,
    const orbis_gemini_setup_t *s, orbis_err_t *err);

/*
 * The same as a malloc'd NUL-terminated string (length in *len when len is
 * not NULL), released with orbis_gemini_free().  NULL on failure.
 */
char *orbis_gemini_build_setup(const orbis_gemini_setup_t *s, size_t *len,
    orbis_err_t *err);

/* releases what orbis_gemini_build_setup() returned (orbis_free()) */
void orbis_gemini_free(void *p);

/*
 * {"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=<rate>",
 * "data":"<base64>"}}} for PCM16LE mono.  len must be even and not 0;
 * rate 8000..48000.  Written without jansson: base64 goes straight into out.
 */
orbis_rc_t orbis_gemini_build_audio(orbis_strbuf_t *out, const uint8_t *pcm,
    size_t len, uint32_t rate, orbis_err_t *err);

/*
 * {"clientContent":{"turns":[{"role":"user","parts":[{"text":...}]}],
 * "turnComplete":true}}: a typed user turn; it interrupts the model.
 */
orbis_rc_t orbis_gemini_build_text(orbis_strbuf_t *out, const char *text,
    size_t len, orbis_err_t *err);

/* {"realtimeInput":{"audioStreamEnd":true}}: the microphone was closed */
orbis_rc_t orbis_gemini_build_audio_end(orbis_strbuf_t *out,
    orbis_err_t *err);


typedef struct {
    const char  *id;        /* the toolCall id; NULL leaves it out */
    const char  *name;
    json_t      *response;  /* borrowed; NULL means {} */
} orbis_gemini_fn_response_t;

/*
 * {"toolResponse":{"functionResponses":[{"id","name","response"}, ...]}}.
 * A response that is not a JSON object is wrapped as {"result": value},
 * since the API takes a Struct there.  n must be at least 1.
 */
orbis_rc_t orbis_gemini_build_tool_response(orbis_strbuf_t *out,
    const orbis_gemini_fn_response_t *r, size_t n, orbis_err_t *err);


/*
 * Parser.  One server message may carry several things at once (audio,
 * transcriptions, turnComplete and usageMetadata together), so every field
 * is filled independently.  Both lowerCamelCase and the proto field names
 * (snake_case) are accepted, as proto3 JSON parsing allows; int64 counters
 * may be numbers or strings; unknown fields are ignored; JSON null counts as
 * absent.
 */

typedef struct {
    const char  *id;     /* NULL when the server sent none */
    const char  *name;
    json_t      *args;   /* object, or NULL when absent */
} orbis_gemini_tool_call_t;


typedef struct {
    int                        setup_complete;

    /* serverContent */
    int                        server_content;
    uint8_t                   *audio;       /* decoded PCM, all parts */
    size_t                     audio_len;
    size_t                     audio_parts;
    uint32_t                   audio_rate;  /* from the mimeType, 0: none */
    char                      *text;        /* non-thought text parts */
    size_t                     text_len;
    const char                *input_transcription;   /* NULL: none */
    int                        input_transcription_finished;
    const char                *output_transcription;  /* NULL: none */
    int                        output_transcription_finished;
    int                        interrupted;
    int                        generation_complete;
    int                        turn_complete;

    orbis_gemini_tool_call_t  *tool_calls;
    size_t                     n_tool_calls;

    const char               **cancelled_ids;
    size_t                     n_cancelled_ids;

    int                        go_away;
    int64_t                    go_away_ms;  /* timeLeft, -1: not given */

    int                        resumption_update;
    const char                *new_handle;  /* NULL when absent */
    int                        resumable;

    int                        usage;
    int64_t                    prompt_tokens;
    int64_t                    response_tokens;
    int64_t                    total_tokens;

    json_t                    *root;        /* owns the borrowed fields;
                                               NULL for audio-only */
} orbis_gemini_msg_t;


/*
 * Parses one server message into out, which needs no initialisation and is
 * overwritten.  Strings and args point into out->root; audio and text are
 * malloc'd.  All of it is released by orbis_gemini_msg_free(), also after
 * a failure (out is then empty).  Inline data whose mimeType is present and
 * not audio/... is skipped; parts marked "thought" are not in text.
 *
 * ORBIS_ERR_PROTOCOL: not JSON, not an object, none of the known top-level
 * keys (setupComplete, serverContent, toolCall, toolCallCancellation,
 * goAway, sessionResumptionUpdate, usageMetadata), a known field of the
 * wrong type, or audio that is not valid base64.
 */
orbis_rc_t orbis_gemini_parse(const char *msg, size_t len,
    orbis_gemini_msg_t *out, orbis_err_t *err);

void orbis_gemini_msg_free(orbis_gemini_msg_t *m);

/*
 * A proto3 JSON Duration ("50s", "1.5s", "-0.25s", up to 9 fraction
 * digits) in milliseconds, rounded toward zero.  ORBIS_ERR_INVALID when
 * the text is not a Duration, ORBIS_ERR_RANGE when it does not fit.
 */
orbis_rc_t orbis_gemini_parse_duration_ms(const char *s, int64_t *ms);


/*
 * What a closed upstream connection means for the call.  Gemini reports
 * errors only through the close code and reason.
 *
 * RETRYABLE: 1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014, and the 1008
 * reasons seen to be intermittent ("The operation was aborted.",
 * "Operation is not implemented, or supported, or enabled.").  The call
 * goes on over a new connection resumed with the last handle.
 *
 * FATAL: 1007 (invalid argument, bad audio, location), other 1008 (model
 * not found, key refused), 1002, 1003, 1009, 1010 and any code not listed.
 * The call ends with 4004.
 *
 * A close that follows a goAway is always retryable; the session, which
 * knows about the goAway, decides that, not this function.
 */
typedef enum {
    ORBIS_GEMINI_CLOSE_RETRYABLE = 1,
    ORBIS_GEMINI_CLOSE_FATAL
} orbis_gemini_close_t;

orbis_gemini_close_t orbis_gemini_close_class(uint16_t code,
    const char *reason);


/*
 * The request target (path and query) of the WebSocket upgrade:
 * "/ws/google.ai.generativelanguage.<version>.GenerativeService.
 * BidiGenerateContent?key=<key>", or with constrained set
 * "...BidiGenerateContentConstrained?access_token=<token>" for ephemeral
 * tokens.  version NULL means "v1beta", or "v1alpha" when constrained (what
 * the SDKs use).  A NULL or empty key leaves the query out (the key then
 * goes in an x-goog-api-key header).  The key is percent-encoded.
 * ORBIS_ERR_RANGE when out (sz bytes, NUL included) is too small,
 * ORBIS_ERR_INVALID for a version that is not [a-z0-9]+.
 */
orbis_rc_t orbis_gemini_path(const char *version, int constrained,
    const char *api_key_or_token, char *out, size_t sz);


/* ---- the peer: Gemini Live for the session (callevent.h) ---- */

typedef struct orbis_gemini_peer_s  orbis_gemini_peer_t;

/*
 * One call's Gemini side: a copy of its setup (declarations included),
 * refused with ORBIS_ERR_INVALID when orbis_gemini_append_setup() would
 * refuse it, so that a bad setup fails before the call starts.  Release
 * with orbis_gemini_peer_free().
 */
orbis_gemini_peer_t *orbis_gemini_peer_new(const orbis_gemini_setup_t *setup,
    orbis_err_t *err);
void orbis_gemini_peer_free(orbis_gemini_peer_t *p);

/* the model id as configured */
const char *orbis_gemini_peer_model(const orbis_gemini_peer_t *p);

/*
 * Renders the session's events for the model (ctx: the peer): SETUP as
 * the setup with its resume handle, AUDIO as realtimeInput, TEXT as a
 * clientContent user turn, TOOL_RESULT as a toolResponse.
 */
orbis_rc_t orbis_gemini_render(void *ctx, orbis_strbuf_t *out,
    const orbis_peer_out_t *ev, orbis_err_t *err);

extern const orbis_peer_codec_t  orbis_gemini_codec;

/*
 * A parsed server message as the session's peer event.  calls must hold
 * m->n_tool_calls entries (the event points into m and calls).
 */
void orbis_gemini_to_event(const orbis_gemini_msg_t *m,
    orbis_peer_tool_call_t *calls, orbis_peer_in_t *ev);

/*
 * One Gemini frame, parsed and handed to the session.  ORBIS_ERR_PROTOCOL
 * for a frame that does not parse (dropped, the call goes on), or what
 * orbis_session_on_peer() returns.
 */
orbis_rc_t orbis_gemini_on_message(orbis_session_t *s, const char *msg,
    size_t len, int64_t now_ms, orbis_session_actions_t *a);

/* the Gemini socket closed by itself; 1006 when there was no close frame */
orbis_rc_t orbis_gemini_on_close(orbis_session_t *s, uint16_t code,
    const char *reason, int64_t now_ms, orbis_session_actions_t *a);


#endif /* ORBISCORE_GEMINI_H */
