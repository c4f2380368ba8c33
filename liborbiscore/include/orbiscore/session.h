/*
 * Copyright (C) Orbis
 *
 * One voice call: the state machine between a caller (a transport: the
 * browser WebSocket of /stream today) and a model (a peer: Gemini Live, or
 * the echo stand-in), and the record of the call.  Pure logic over the
 * normalised events of callevent.h: it knows neither the browser protocol
 * nor Gemini's JSON.  The module reports what happened (caller events, the
 * peer's events and closes, tool results, the time), each mapped from its
 * wire form by an adapter (client.h for the browser, gemini.h for Gemini),
 * and carries out the actions each call returns.
 *
 *   NEW -> UPSTREAM_CONNECTING -> SETUP_SENT -> LIVE <-> RESUMING
 *                                                 \-> ENDING -> ENDED
 *   NEW -> ECHO (no upstream: audio and text come straight back)
 *
 * ECHO stands in for a model: the greeting is shown as an agent turn, and
 * a crude voice detector (RMS) turns each utterance of the caller (speech,
 * then half a second of quieter audio) into a user turn "(echo mode)
 * utterance N, X s of speech" and an agent answer, with interim user
 * transcripts while it lasts, so that the whole path works offline.
 *
 * Every orbis_session_on_*() / _tick() / _end() call empties the action
 * list it is given and fills it with what the module must do, in order.
 * Actions are valid until the list is used again.  Carry them out even
 * when the call returns an error: the rc only tells what to log.  After
 * ORBIS_ERR_NOMEM the session cannot be trusted: close both sides with
 * 1011 and call orbis_session_end(..., ORBIS_SESSION_END_ERROR, ...).
 *
 * Rules the module relies on:
 *  - PEER_OPEN: open a new connection to the model, then report
 *    orbis_session_on_peer_open() or _on_peer_close().
 *  - PEER_CLOSE: drop the current connection and report nothing more
 *    about it (no on_peer_close for it).
 *  - CALLER_CLOSE: close the caller's side; the session is then ENDING
 *    until orbis_session_on_caller_close() says the caller is gone.
 *  - FINALIZE comes once per call: persist orbis_session_record_json().
 *  - Call orbis_session_tick() at orbis_session_next_deadline() (absolute
 *    ms; the session never reads a clock).
 *
 * Caller audio that arrives before the model is ready, at the start or
 * while RESUMING, is kept (up to audio_buffer_bytes, oldest dropped first)
 * and sent once the model is ready, so the start of what the user said is
 * not lost.  Typed text is queued the same way
 * (ORBIS_SESSION_MAX_PENDING_TEXTS).
 *
 * going_away: the session moves to a new connection resumed with the
 * latest resumable handle as soon as nothing is in flight (no agent turn,
 * no running tool), or when the next resumable handle arrives, or shortly
 * before the time left runs out, whichever comes first.  A retryable peer
 * close (the peer's adapter says which, e.g. orbis_gemini_close_class())
 * does the same at once.  Each new connection after the call went live
 * counts as a resumption; more than max_resumptions, or a fatal close,
 * ends the call with 4004.  A resumed connection gets no greeting.  Tools
 * still running when the connection changes are cancelled (their answers
 * could not be delivered).
 */

#ifndef ORBISCORE_SESSION_H
#define ORBISCORE_SESSION_H

#include <orbiscore/callevent.h>


#define ORBIS_SESSION_MAX_PENDING_TEXTS  4
#define ORBIS_SESSION_MAX_BAD_MESSAGES   5
#define ORBIS_SESSION_MAX_TEXT           4000    /* bytes in a typed turn */
#define ORBIS_SESSION_INPUT_RATE         16000   /* defaults of the conf */
#define ORBIS_SESSION_OUTPUT_RATE        24000
#define ORBIS_SESSION_MAX_AUDIO_FRAME    65536   /* bytes in one frame */
#define ORBIS_SESSION_MAX_TOOL_CALLS     256     /* per call */
#define ORBIS_SESSION_MAX_TRANSCRIPT     (1024 * 1024)  /* bytes kept */

/*
 * Caps that bound what one caller can make a worker hold and serialise.
 * A turn counts ORBIS_SESSION_TURN_COST bytes in the transcript cap on top
 * of its text (counted as escaped JSON), and at most ORBIS_SESSION_MAX_TURNS
 * are kept; empty turns are never stored.  Tool calls count their args and
 * results (JSON) in ORBIS_SESSION_MAX_TOOL_BYTES; a result over the budget
 * is stored as {"truncated":true}.  So orbis_session_record_json() never
 * serialises to more than ORBIS_SESSION_MAX_RECORD bytes.
 */
#define ORBIS_SESSION_MAX_TURNS          4096
#define ORBIS_SESSION_TURN_COST          128
#define ORBIS_SESSION_MAX_TOOL_BYTES     (256 * 1024)
#define ORBIS_SESSION_MAX_TTFA_SAMPLES   1024
#define ORBIS_SESSION_MAX_RECORD         (ORBIS_SESSION_MAX_TRANSCRIPT     \
                                          + ORBIS_SESSION_MAX_TOOL_BYTES   \
                                          + ORBIS_SESSION_MAX_TOOL_CALLS   \
                                            * 512                          \
                                          + ORBIS_SESSION_MAX_TTFA_SAMPLES \
                                            * 12                           \
                                          + 4096)

/*
 * Per-call budgets for what a caller sends (a token bucket each, on the
 * caller-supplied clock): messages (text frames of any kind: "text",
 * "end", refused ones), audio frames, audio bytes, and every byte read
 * from the caller whatever it carries (ORBIS_CALLER_WIRE: pings, message
 * fragments...).  A caller over any
 * of them is cut off with ORBIS_CLOSE_MESSAGE_RATE (4029).
 */
#define ORBIS_SESSION_MSG_RATE           5         /* a second */
#define ORBIS_SESSION_MSG_BURST          30
#define ORBIS_SESSION_FRAME_RATE         100       /* a second */
#define ORBIS_SESSION_FRAME_BURST        500
#define ORBIS_SESSION_AUDIO_RATE         160000    /* bytes a second: 5x
                                                    * real time at 16 kHz */
#define ORBIS_SESSION_AUDIO_BURST        (2 * 1024 * 1024)
#define ORBIS_SESSION_WIRE_RATE          262144    /* bytes a second read
                                                    * from the caller */
#define ORBIS_SESSION_WIRE_BURST         (4 * 1024 * 1024)


typedef struct orbis_session_s  orbis_session_t;


typedef enum {
    ORBIS_SESSION_NEW = 0,
    ORBIS_SESSION_UPSTREAM_CONNECTING,
    ORBIS_SESSION_SETUP_SENT,
    ORBIS_SESSION_LIVE,
    ORBIS_SESSION_RESUMING,
    ORBIS_SESSION_ECHO,
    ORBIS_SESSION_ENDING,
    ORBIS_SESSION_ENDED
} orbis_session_state_t;


/* why a call ended; each maps to the close code the client is sent */
typedef enum {
    ORBIS_SESSION_END_NONE = 0,
    ORBIS_SESSION_END_CLIENT_CLOSED,    /* 1000 ("end" or a close frame) */
    ORBIS_SESSION_END_CLIENT_VANISHED,  /* 1006, nothing is sent */
    ORBIS_SESSION_END_UPSTREAM_FAILED,  /* 4004 */
    ORBIS_SESSION_END_IDLE_TIMEOUT,     /* 4008 */
    ORBIS_SESSION_END_MAX_DURATION,     /* 1000 */
    ORBIS_SESSION_END_SHUTDOWN,         /* 1001 */
    ORBIS_SESSION_END_USAGE_LIMIT,      /* 4002 */
    ORBIS_SESSION_END_ERROR,            /* 1011 */
    ORBIS_SESSION_END_CLIENT_PROTOCOL,  /* 1008, repeated bad messages */
    ORBIS_SESSION_END_CLIENT_FLOOD      /* 4029, over a message budget;
                                         * named "client_protocol" in
                                         * records (the close code tells
                                         * them apart) */
} orbis_session_end_t;


typedef enum {
    ORBIS_SESSION_ACT_PEER_SEND = 1,      /* peer: the event; data: it as
                                           * the peer codec renders it */
    ORBIS_SESSION_ACT_CALLER_EVENT,       /* caller: the event; data: it
                                           * as the caller codec renders
                                           * it */
    ORBIS_SESSION_ACT_CALLER_AUDIO,       /* data: PCM16LE at rate; in
                                           * ECHO the caller's own audio
                                           * at the input rate, which the
                                           * transport resamples */
    ORBIS_SESSION_ACT_PEER_OPEN,          /* data: resume handle or NULL */
    ORBIS_SESSION_ACT_PEER_CLOSE,
    ORBIS_SESSION_ACT_RUN_TOOL,           /* tool_id, tool_name, tool_args */
    ORBIS_SESSION_ACT_CANCEL_TOOL,        /* tool_id, tool_name */
    ORBIS_SESSION_ACT_CALLER_CLOSE,       /* code, data: reason text */
    ORBIS_SESSION_ACT_FINALIZE            /* end_reason, code */
} orbis_session_act_type_t;


typedef struct {
    orbis_session_act_type_t   type;
    const char                *data;       /* NUL follows data[len]; NULL
                                            * for an event when no codec
                                            * is set */
    size_t                     len;
    uint16_t                   code;
    uint32_t                   rate;       /* CALLER_AUDIO */
    orbis_session_end_t        end_reason;
    const char                *tool_id;    /* owned by the session */
    const char                *tool_name;
    const json_t              *tool_args;  /* an object, never NULL */
    orbis_caller_out_t         caller;     /* CALLER_EVENT */
    orbis_peer_out_t           peer;       /* PEER_SEND */
    size_t                     data_off;   /* internal */
    size_t                     payload_off;
} orbis_session_action_t;


/*
 * Reused from call to call: once grown, it allocates nothing.  With a
 * codec set, each event action also carries its wire message in data.
 */
typedef struct {
    orbis_session_action_t      *items;
    size_t                       n;
    size_t                       cap;
    orbis_strbuf_t               arena;    /* holds every item's data */
    orbis_strbuf_t               scratch;
    json_t                     **held;     /* references the events use */
    size_t                       n_held;
    size_t                       cap_held;
    const orbis_caller_codec_t  *caller_codec;
    void                        *caller_ctx;
    const orbis_peer_codec_t    *peer_codec;
    void                        *peer_ctx;
} orbis_session_actions_t;


void orbis_session_actions_init(orbis_session_actions_t *a);
void orbis_session_actions_free(orbis_session_actions_t *a);

/* the codecs that render events as wire messages; NULL: none */
void orbis_session_actions_codecs(orbis_session_actions_t *a,
    const orbis_caller_codec_t *caller, void *caller_ctx,
    const orbis_peer_codec_t *peer, void *peer_ctx);


/* 0 in a numeric field means the default in brackets */
typedef struct {
    const char            *session_id;     /* required */
    const char            *tenant_id;      /* NULL: none */
    const char            *agent_id;       /* NULL: none */
    int                    echo;           /* no model: echo mode */
    const char            *model;          /* for the record; NULL: none */
    const char            *greeting;       /* text turn sent once when the
                                            * call first goes live, to make
                                            * the agent speak first; NULL:
                                            * wait for the user */
    uint32_t               input_rate;           /* [16000] caller audio */
    uint32_t               output_rate;          /* [24000] to the caller */
    uint32_t               idle_timeout_ms;      /* [60000] */
    uint32_t               max_duration_ms;      /* [1800000] */
    uint32_t               setup_timeout_ms;     /* [10000] */
    uint32_t               tool_timeout_ms;      /* [20000] */
    uint32_t               max_resumptions;      /* [5] */
    uint32_t               max_connect_retries;  /* [2] before going live */
    size_t                 audio_buffer_bytes;   /* [160000] = 5 s */
} orbis_session_conf_t;


/*
 * Copies everything conf points to.  NULL on failure with err set:
 * ORBIS_ERR_INVALID for a missing session id or strings that are not
 * UTF-8.  Release with orbis_session_free().
 */
orbis_session_t *orbis_session_create(const orbis_session_conf_t *conf,
    orbis_err_t *err);

void orbis_session_free(orbis_session_t *s);


/* sends "ready" and opens the peer (or enters ECHO) */
orbis_rc_t orbis_session_start(orbis_session_t *s, int64_t now_ms,
    orbis_session_actions_t *a);

/*
 * What the caller did.  AUDIO: PCM16LE, or G.711 mu-law (decoded here),
 * at the conf's input rate (another rate or codec is refused as a bad
 * message); odd-length or larger than ORBIS_SESSION_MAX_AUDIO_FRAME frames
 * of PCM16LE are refused as bad messages.
 * TEXT: a typed turn (blank: ignored).  BAD: a message the transport
 * could not read; the caller is told why, and after
 * ORBIS_SESSION_MAX_BAD_MESSAGES the call ends with 1008.  WIRE: bytes the
 * transport read, whatever they are.  Every event counts in the call's
 * budgets (ORBIS_SESSION_MSG_RATE...); over one, the call ends with
 * 4029 and ORBIS_ERR_RANGE is returned.
 */
orbis_rc_t orbis_session_on_caller(orbis_session_t *s,
    const orbis_caller_in_t *ev, int64_t now_ms, orbis_session_actions_t *a);

/* the caller's side closed: code 1006 (or 0) when it simply vanished */
orbis_rc_t orbis_session_on_caller_close(orbis_session_t *s, uint16_t code,
    int64_t now_ms, orbis_session_actions_t *a);

/* the connection a PEER_OPEN asked for is open: the setup goes out */
orbis_rc_t orbis_session_on_peer_open(orbis_session_t *s,
    int64_t now_ms, orbis_session_actions_t *a);

/*
 * One message from the model, as its adapter mapped it.  ORBIS_ERR_PROTOCOL
 * for content before the model is ready; it is dropped and the call goes
 * on.
 */
orbis_rc_t orbis_session_on_peer(orbis_session_t *s,
    const orbis_peer_in_t *ev, int64_t now_ms, orbis_session_actions_t *a);

/*
 * The peer's connection closed by itself; retryable as its adapter
 * classified the close (a close after going_away always is).
 */
orbis_rc_t orbis_session_on_peer_close(orbis_session_t *s, int retryable,
    int64_t now_ms, orbis_session_actions_t *a);

/*
 * The answer to a RUN_TOOL.  ok: result (borrowed; any JSON, NULL = {}) is
 * the function's response; !ok: result is the error (a string, or NULL).
 * ORBIS_ERR_NOT_FOUND for an id never run; a result for a tool that was
 * cancelled or timed out meanwhile is dropped with ORBIS_OK.
 */
orbis_rc_t orbis_session_on_tool_result(orbis_session_t *s, const char *id,
    int ok, const json_t *result, int64_t now_ms,
    orbis_session_actions_t *a);

/* timers: idle, max duration, setup timeout, goAway, backoff, tools */
orbis_rc_t orbis_session_tick(orbis_session_t *s, int64_t now_ms,
    orbis_session_actions_t *a);

/* when tick() must next run (absolute ms), or -1 if there is no timer */
int64_t orbis_session_next_deadline(const orbis_session_t *s);

/*
 * Ends the call from outside (shutdown, usage limit, error...).  Does
 * nothing once the session is ENDING or ENDED.
 */
orbis_rc_t orbis_session_end(orbis_session_t *s, orbis_session_end_t reason,
    int64_t now_ms, orbis_session_actions_t *a);


orbis_session_state_t orbis_session_state(const orbis_session_t *s);

/* 1 once the session is ENDING or ENDED: what arrives then is dropped */
int orbis_session_is_over(const orbis_session_t *s);
orbis_session_end_t orbis_session_end_reason(const orbis_session_t *s);
unsigned orbis_session_resumptions(const orbis_session_t *s);

/* the handle the next resumption would use, NULL if none yet */
const char *orbis_session_resume_handle(const orbis_session_t *s);

const char *orbis_session_state_name(orbis_session_state_t st);
const char *orbis_session_end_reason_name(orbis_session_end_t r);
uint16_t orbis_session_end_close_code(orbis_session_end_t r);


/*
 * Turns are append-only: only the last one may still change (grow, or be
 * marked interrupted) until it is final.  orbis_session_turns_final() is
 * how many leading turns are final and will never change again, so a
 * publisher that sent turns [0, k) sends only [k, final) next time, with
 * orbis_session_turns_json(s, k, final).  A new reference, NULL when out
 * of memory or from > to.
 */
size_t orbis_session_turn_count(const orbis_session_t *s);
size_t orbis_session_turns_final(const orbis_session_t *s);
json_t *orbis_session_turns_json(const orbis_session_t *s, size_t from,
    size_t to);

/*
 * Time to first audio, per agent turn: from the end of the caller's input
 * (the last voiced audio frame, or a typed text) to the first byte of the
 * agent's audio forwarded to the caller, on the caller-supplied clock.
 * Percentiles are nearest-rank over the turns measured so far; -1 when
 * there is none.
 */
size_t orbis_session_ttfa_count(const orbis_session_t *s);
int64_t orbis_session_ttfa_ms(const orbis_session_t *s, size_t i);
int64_t orbis_session_ttfa_percentile(const orbis_session_t *s,
    unsigned pct);


/*
 * The whole call, for the calls table (one jsonb parameter):
 * {"sessionId","tenantId","agentId","mode","model","startedMs","endedMs",
 *  "durationMs","endReason","closeCode","audioSecondsIn","audioSecondsOut",
 *  "audioSecondsDropped","resumptions","connectRetries",
 *  "usage":{"promptTokens","responseTokens","totalTokens"} (sums),
 *  "transcriptTruncated", "ttfaMs":[per agent turn], "ttfaP50Ms",
 *  "ttfaP95Ms" (null when no turn was measured),
 *  "turns":[{"role","text","startedMs","final","interrupted","typed"}],
 *  "toolCalls":[{"id","name","args","result","status","startedMs",
 *                "finishedMs"}]}
 * Fields not known yet are null.  A new reference (json_decref), NULL when
 * out of memory.
 */
json_t *orbis_session_record_json(const orbis_session_t *s);

/*
 * The same with only the turns from index from on, and "turnsFrom": from
 * (at most the number of turns): what a heartbeat sends while the turns
 * before it are already in Redis.  Its cost grows with the turns it
 * holds, not with the call.
 */
json_t *orbis_session_record_tail_json(const orbis_session_t *s,
    size_t from);

/*
 * The live state for Redis: {"sessionId","tenantId","agentId","mode",
 * "state","startedMs","lastActivityMs","durationMs","audioSecondsIn",
 * "audioSecondsOut","resumptions","turns","turnsFinal","toolCalls",
 * "toolsRunning","ttfaP50Ms","ttfaP95Ms"} (turns, turnsFinal and
 * toolCalls are counts; see orbis_session_turns_final()).  A new
 * reference, NULL when out of memory.
 */
json_t *orbis_session_heartbeat_json(const orbis_session_t *s,
    int64_t now_ms);


#endif /* ORBISCORE_SESSION_H */
