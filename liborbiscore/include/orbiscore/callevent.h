/*
 * Copyright (C) Orbis
 *
 * The normalised events of a voice call: what the session state machine
 * (session.h) takes in and gives out, whatever the caller's transport (a
 * browser WebSocket, a telephone media stream...) and whatever the model
 * provider (Gemini Live, the echo stand-in...).  Adapters map wire
 * messages to and from these: the browser protocol in client.h, Gemini's
 * JSON in gemini.h.
 *
 *   caller  --orbis_caller_in_t-->  session  --orbis_peer_out_t-->  model
 *   caller  <--orbis_caller_out_t-- session  <--orbis_peer_in_t---  model
 *
 * Audio inside the session is PCM16LE mono at the rate the event says;
 * caller audio may also come as G.711 mu-law (telephony), which the
 * session decodes.  Audio for the caller is PCM16LE at its rate: the
 * transport converts it to what its caller hears.
 * Text is UTF-8.
 *
 * A codec (orbis_caller_codec_t, orbis_peer_codec_t) renders an outgoing
 * event as the wire message of one transport or one peer; set on an
 * action list (orbis_session_actions_codecs()), it fills each action's
 * data with that message.
 */

#ifndef ORBISCORE_CALLEVENT_H
#define ORBISCORE_CALLEVENT_H

#include <jansson.h>

#include <orbiscore/orbiscore.h>
#include <orbiscore/strbuf.h>


/* close codes a call ends with (WebSocket codes, kept in the record) */
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


typedef enum {
    ORBIS_AUDIO_PCM16LE = 1,
    ORBIS_AUDIO_MULAW
} orbis_audio_codec_t;


/* ---- from the caller ---- */

typedef enum {
    ORBIS_CALLER_AUDIO = 1,    /* audio, audio_len, rate, codec */
    ORBIS_CALLER_TEXT,         /* text, text_len: a typed turn */
    ORBIS_CALLER_HANGUP,       /* the caller ends the call */
    ORBIS_CALLER_BAD,          /* a message the transport refused: text
                                * says why (for the caller) */
    ORBIS_CALLER_WIRE          /* audio_len bytes read from the caller,
                                * whatever they carry (pings, fragments,
                                * frames of messages not yet complete):
                                * counted, nothing else */
} orbis_caller_in_type_t;


typedef struct {
    orbis_caller_in_type_t   type;
    const uint8_t           *audio;
    size_t                   audio_len;
    uint32_t                 rate;
    orbis_audio_codec_t      codec;
    const char              *text;
    size_t                   text_len;
} orbis_caller_in_t;


/* ---- to the caller ---- */

typedef enum {
    ORBIS_CALLER_OUT_READY = 1,      /* session_id, echo, rates */
    ORBIS_CALLER_OUT_TRANSCRIPT,     /* role, text, final */
    ORBIS_CALLER_OUT_INTERRUPTED,    /* drop the agent audio queued */
    ORBIS_CALLER_OUT_TURN_COMPLETE,
    ORBIS_CALLER_OUT_TOOL,           /* name, tool_status */
    ORBIS_CALLER_OUT_ERROR           /* name: a code word, text: message */
} orbis_caller_out_type_t;


typedef struct {
    orbis_caller_out_type_t      type;
    const char                  *session_id;
    int                          echo;
    uint32_t                     input_rate;
    uint32_t                     output_rate;
    orbis_client_role_t          role;
    const char                  *text;
    size_t                       text_len;
    int                          final;
    const char                  *name;
    orbis_client_tool_status_t   tool_status;
} orbis_caller_out_t;


/* ---- to the model ---- */

typedef enum {
    ORBIS_PEER_OUT_SETUP = 1,        /* resume_handle (NULL: fresh) */
    ORBIS_PEER_OUT_AUDIO,            /* audio, audio_len, rate */
    ORBIS_PEER_OUT_TEXT,             /* text: a user turn, interrupts */
    ORBIS_PEER_OUT_TOOL_RESULT       /* tool_id (NULL: none was given),
                                      * tool_name, response (an object) */
} orbis_peer_out_type_t;


typedef struct {
    orbis_peer_out_type_t   type;
    const char             *resume_handle;
    const uint8_t          *audio;
    size_t                  audio_len;
    uint32_t                rate;
    const char             *text;
    size_t                  text_len;
    const char             *tool_id;
    const char             *tool_name;
    const json_t           *response;
} orbis_peer_out_t;


/* ---- from the model: one message may carry several of these ---- */

typedef struct {
    const char    *id;       /* NULL when the model gave none */
    const char    *name;
    const json_t  *args;     /* an object, or NULL */
} orbis_peer_tool_call_t;


typedef struct {
    int                            ready;        /* setup taken */

    const uint8_t                 *audio;        /* PCM16LE */
    size_t                         audio_len;
    uint32_t                       audio_rate;   /* 0: the session's */
    int                            text;         /* the model wrote text */

    const char                    *input_transcript;   /* NULL: none */
    const char                    *output_transcript;  /* NULL: none */
    int                            interrupted;
    int                            turn_complete;

    const orbis_peer_tool_call_t  *tool_calls;
    size_t                         n_tool_calls;
    const char *const             *cancelled_ids;
    size_t                         n_cancelled_ids;

    int                            going_away;
    int64_t                        going_away_ms;   /* -1: not said */

    const char                    *resume_handle;  /* a new resumable
                                                    * handle, NULL: none */

    int                            usage;
    int64_t                        prompt_tokens;
    int64_t                        response_tokens;
    int64_t                        total_tokens;
} orbis_peer_in_t;


/* ---- codecs: one outgoing event as one wire message ---- */

/*
 * Append the wire form of ev to out (on failure out is left as it was).
 * ctx is the codec's own (a peer's setup, a transport's state).
 */
typedef orbis_rc_t (*orbis_caller_render_pt)(void *ctx, orbis_strbuf_t *out,
    const orbis_caller_out_t *ev, orbis_err_t *err);

typedef orbis_rc_t (*orbis_peer_render_pt)(void *ctx, orbis_strbuf_t *out,
    const orbis_peer_out_t *ev, orbis_err_t *err);


typedef struct {
    const char              *name;     /* "browser", "twilio"... */
    orbis_caller_render_pt   render;
} orbis_caller_codec_t;


typedef struct {
    const char              *name;     /* "gemini"... */
    orbis_peer_render_pt     render;
} orbis_peer_codec_t;


#endif /* ORBISCORE_CALLEVENT_H */
