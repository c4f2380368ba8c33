/*
 * Copyright (C) Orbis
 *
 * The browser-facing protocol of /stream.
 *
 *  - Binary frames carry raw PCM16LE mono audio: 16 kHz from the client,
 *    24 kHz to it, in echo mode too ("ready" says so).
 *  - Text frames carry one JSON object each, with a "type".
 *
 * Server -> client events (built here):
 *   {"type":"ready","sessionId":..,"mode":"live"|"echo",
 *    "inputRate":16000,"outputRate":24000}
 *   {"type":"transcript","role":"user"|"agent","text":..,"final":bool}
 *       non-final events carry the new fragment only; the final one
 *       carries the whole text of the turn, which replaces the fragments
 *   {"type":"interrupted"}       the agent was cut off: drop queued audio
 *   {"type":"turn_complete"}
 *   {"type":"tool","name":..,"status":"started"|"ok"|"error"|
 *    "cancelled"|"timeout"}
 *   {"type":"error","code":..,"message":..}
 *
 * Client -> server messages (parsed here):
 *   {"type":"text","text":".."}   a typed user turn, 1..4000 bytes of UTF-8
 *   {"type":"end"}                the user hung up
 * Unknown extra fields are ignored.  Anything else is refused with
 * ORBIS_ERR_INVALID and a message.  The session answers a refused message
 * with an "error" event (code "bad_message") and keeps the call; after
 * ORBIS_CLIENT_MAX_BAD_MESSAGES refusals in one call it closes with 1008.
 * Text frames that are not UTF-8 are the WebSocket layer's business (1007).
 *
 * This is the browser transport's adapter: it maps these messages to the
 * session's normalised events (callevent.h) and renders the session's
 * events for the caller as these JSON events (orbis_client_codec).
 */

#ifndef ORBISCORE_CLIENT_H
#define ORBISCORE_CLIENT_H

#include <orbiscore/callevent.h>
#include <orbiscore/session.h>


#define ORBIS_CLIENT_INPUT_RATE        16000
#define ORBIS_CLIENT_OUTPUT_RATE       24000
#define ORBIS_CLIENT_TEXT_MAX          4000
#define ORBIS_CLIENT_MAX_BAD_MESSAGES  5


/*
 * Builders: append one event's JSON text to out (strbuf.h); on failure
 * out is left as it was.  Strings must be
 * UTF-8 (ORBIS_ERR_INVALID otherwise).
 */

orbis_rc_t orbis_client_build_ready(orbis_strbuf_t *out,
    const char *session_id, int echo, uint32_t input_rate,
    uint32_t output_rate, orbis_err_t *err);

orbis_rc_t orbis_client_build_transcript(orbis_strbuf_t *out,
    orbis_client_role_t role, const char *text, size_t len, int final,
    orbis_err_t *err);

orbis_rc_t orbis_client_build_interrupted(orbis_strbuf_t *out,
    orbis_err_t *err);

orbis_rc_t orbis_client_build_turn_complete(orbis_strbuf_t *out,
    orbis_err_t *err);

orbis_rc_t orbis_client_build_tool(orbis_strbuf_t *out, const char *name,
    orbis_client_tool_status_t status, orbis_err_t *err);

/* code: a short machine-readable word such as "bad_message" */
orbis_rc_t orbis_client_build_error(orbis_strbuf_t *out, const char *code,
    const char *message, orbis_err_t *err);


typedef enum {
    ORBIS_CLIENT_MSG_TEXT = 1,
    ORBIS_CLIENT_MSG_END
} orbis_client_msg_type_t;


typedef struct {
    orbis_client_msg_type_t   type;
    char                     *text;      /* MSG_TEXT: malloc'd, NUL-ended */
    size_t                    text_len;
} orbis_client_msg_t;


/*
 * Parses one client text frame into out (no initialisation needed).
 * Release with orbis_client_msg_free(), also after a failure.
 * ORBIS_ERR_INVALID: not a JSON object, no/unknown "type", a text message
 * whose "text" is missing, not a string, empty, longer than
 * ORBIS_CLIENT_TEXT_MAX bytes or holding a NUL.
 */
orbis_rc_t orbis_client_parse(const char *msg, size_t len,
    orbis_client_msg_t *out, orbis_err_t *err);

void orbis_client_msg_free(orbis_client_msg_t *m);


/* ---- the adapter ---- */

/* renders the session's events as the JSON events above; ctx unused */
orbis_rc_t orbis_client_render(void *ctx, orbis_strbuf_t *out,
    const orbis_caller_out_t *ev, orbis_err_t *err);

extern const orbis_caller_codec_t  orbis_client_codec;

/*
 * One text frame as a caller event: TEXT (pointing into m) or HANGUP, or
 * BAD with the reason in err->msg (ev->text points there).  ORBIS_OK but
 * for ORBIS_ERR_NOMEM.  Release m with orbis_client_msg_free().
 */
orbis_rc_t orbis_client_to_event(const char *msg, size_t len,
    orbis_client_msg_t *m, orbis_caller_in_t *ev, orbis_err_t *err);

/* a text frame, handed to the session as its caller event */
orbis_rc_t orbis_client_on_text(orbis_session_t *s, const char *msg,
    size_t len, int64_t now_ms, orbis_session_actions_t *a);

/* a binary frame: PCM16LE at ORBIS_CLIENT_INPUT_RATE */
orbis_rc_t orbis_client_on_audio(orbis_session_t *s, const uint8_t *pcm,
    size_t len, int64_t now_ms, orbis_session_actions_t *a);

/* n bytes read from the browser's socket, before they are framed */
orbis_rc_t orbis_client_on_bytes(orbis_session_t *s, size_t n,
    int64_t now_ms, orbis_session_actions_t *a);


#endif /* ORBISCORE_CLIENT_H */
