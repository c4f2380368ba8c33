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
 */

#ifndef ORBISCORE_CLIENT_H
#define ORBISCORE_CLIENT_H

#include <orbiscore/gemini.h>


#define ORBIS_CLIENT_INPUT_RATE        16000
#define ORBIS_CLIENT_OUTPUT_RATE       24000
#define ORBIS_CLIENT_TEXT_MAX          4000
#define ORBIS_CLIENT_MAX_BAD_MESSAGES  5


/* WebSocket close codes the gateway sends to browsers */
typedef enum {
    ORBIS_CLOSE_NORMAL             = 1000,  /* the call ended normally */
    ORBIS_CLOSE_GOING_AWAY         = 1001,  /* server shutting down */
    ORBIS_CLOSE_ABNORMAL           = 1006,  /* recorded only, never sent */
    ORBIS_CLOSE_INVALID_PAYLOAD    = 1007,
    ORBIS_CLOSE_POLICY             = 1008,  /* repeated bad messages */
    ORBIS_CLOSE_INTERNAL           = 1011,
    ORBIS_CLOSE_TRY_AGAIN_LATER    = 1013,  /* overloaded, call again */
    ORBIS_CLOSE_UNKNOWN_AGENT      = 4000,
    ORBIS_CLOSE_RATE_LIMITED       = 4001,
    ORBIS_CLOSE_USAGE_LIMIT        = 4002,
    ORBIS_CLOSE_REFUSED            = 4003,  /* key or origin refused */
    ORBIS_CLOSE_MODEL_UNAVAILABLE  = 4004,
    ORBIS_CLOSE_IDLE_TIMEOUT       = 4008,
    ORBIS_CLOSE_MESSAGE_RATE       = 4029   /* over a message budget */
} orbis_close_code_t;


/*
 * The reason text sent with a close code (static, well under the 123 bytes
 * a close frame allows); "" for codes not listed above.
 */
const char *orbis_close_reason_text(uint16_t code);


typedef enum {
    ORBIS_CLIENT_ROLE_USER = 1,
    ORBIS_CLIENT_ROLE_AGENT
} orbis_client_role_t;


typedef enum {
    ORBIS_CLIENT_TOOL_STARTED = 1,
    ORBIS_CLIENT_TOOL_OK,
    ORBIS_CLIENT_TOOL_ERROR,
    ORBIS_CLIENT_TOOL_CANCELLED,
    ORBIS_CLIENT_TOOL_TIMEOUT
} orbis_client_tool_status_t;


/* "user"/"agent", "started"/"ok"/...; "unknown" when out of range */
const char *orbis_client_role_name(orbis_client_role_t role);
const char *orbis_client_tool_status_name(orbis_client_tool_status_t st);


/*
 * Builders: append one event's JSON text to out (see gemini.h for
 * orbis_strbuf_t); on failure out is left as it was.  Strings must be
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


#endif /* ORBISCORE_CLIENT_H */
