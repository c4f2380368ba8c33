/*
 * Copyright (C) Orbis
 *
 * The session record, shared by the state machine and its JSON views.
 */

#ifndef ORBIS_SESSION_INT_H
#define ORBIS_SESSION_INT_H

#include <orbiscore/session.h>


#define ORBIS_SESSION_IDLE_TIMEOUT    60000
#define ORBIS_SESSION_MAX_DURATION    1800000
#define ORBIS_SESSION_SETUP_TIMEOUT   10000
#define ORBIS_SESSION_TOOL_TIMEOUT    20000
#define ORBIS_SESSION_RESUMPTIONS     5
#define ORBIS_SESSION_CONNECT_RETRIES 2
#define ORBIS_SESSION_AUDIO_BUFFER    160000

/* reconnect this long before a goAway's timeLeft runs out */
#define ORBIS_SESSION_GOAWAY_MARGIN   2000
/* assumed timeLeft when a goAway does not say */
#define ORBIS_SESSION_GOAWAY_DEFAULT  10000
/* buffered audio goes upstream in messages of at most 1 s */
#define ORBIS_SESSION_FLUSH_CHUNK     32000
/*
 * Echo mode's stand-in for a model: frames at or above this RMS are
 * speech; a transcript of the utterance so far every ..._INTERIM_MS of
 * speech; an utterance ends after ..._SILENCE_MS of quieter frames.
 */
#define ORBIS_SESSION_VOICE_RMS        300
#define ORBIS_SESSION_ECHO_INTERIM_MS  400
#define ORBIS_SESSION_ECHO_SILENCE_MS  500
/* reconnects after failed attempts back off 250 ms, 500 ms ... 4 s */
#define ORBIS_SESSION_BACKOFF_BASE    250
#define ORBIS_SESSION_BACKOFF_MAX     4000


typedef struct {
    orbis_client_role_t  role;
    orbis_strbuf_t       text;
    int64_t              started_ms;
    unsigned             final:1;
    unsigned             interrupted:1;
    unsigned             typed:1;
} orbis_session_turn_t;


typedef struct {
    char                        *id;
    char                        *name;
    json_t                      *args;      /* object, owned */
    json_t                      *result;    /* owned, NULL while running */
    orbis_client_tool_status_t   status;
    int64_t                      started_ms;
    int64_t                      finished_ms;  /* -1 while running */
    unsigned                     id_given:1;   /* Gemini sent an id */
    unsigned                     args_dropped:1;    /* over the tool */
    unsigned                     result_dropped:1;  /* bytes budget */
} orbis_session_tool_t;


struct orbis_session_s {
    orbis_session_state_t    state;
    orbis_session_end_t      end_reason;
    uint16_t                 close_code;
    int                      echo;

    char                    *session_id;
    char                    *tenant_id;
    char                    *agent_id;
    char                    *greeting;
    orbis_gemini_setup_t     setup;        /* strings and array owned */

    uint32_t                 idle_timeout_ms;
    uint32_t                 max_duration_ms;
    uint32_t                 setup_timeout_ms;
    uint32_t                 tool_timeout_ms;
    uint32_t                 max_resumptions;
    uint32_t                 max_connect_retries;
    uint32_t                 out_rate;

    int64_t                  started_ms;
    int64_t                  ended_ms;
    int64_t                  last_activity_ms;
    int64_t                  connect_started_ms;   /* -1: no attempt open */
    int64_t                  reconnect_at_ms;      /* -1: none scheduled */
    int64_t                  go_away_deadline_ms;  /* -1: no goAway */

    unsigned                 client_open:1;
    unsigned                 upstream_active:1;    /* a connection exists */
    unsigned                 upstream_open:1;      /* ... and is open */
    unsigned                 go_away_seen:1;       /* on this connection */
    unsigned                 greeted:1;
    unsigned                 model_turn_active:1;
    unsigned                 transcript_truncated:1;

    uint32_t                 resumptions;
    uint32_t                 connect_retries;
    uint32_t                 failures;      /* attempts failed in a row */
    uint32_t                 bad_messages;
    char                    *resume_handle;

    /* client audio kept until Gemini is ready: a ring of PCM bytes */
    uint8_t                 *ring;
    size_t                   ring_cap;
    size_t                   ring_head;
    size_t                   ring_len;

    char                    *pending[ORBIS_SESSION_MAX_PENDING_TEXTS];
    size_t                   pending_len[ORBIS_SESSION_MAX_PENDING_TEXTS];
    size_t                   n_pending;

    orbis_session_turn_t    *turns;
    size_t                   n_turns;
    size_t                   cap_turns;
    int                      open_turn;     /* index, -1: none */
    size_t                   transcript_bytes;  /* text as JSON, and
                                                 * ORBIS_SESSION_TURN_COST
                                                 * a turn */
    size_t                   tool_bytes;

    /* message budgets: theoretical arrival times (GCRA), microseconds */
    int64_t                  msg_tat_us;
    int64_t                  frame_tat_us;
    int64_t                  audio_tat_us;

    /* time to first audio */
    int64_t                  caller_mark_ms;    /* end of the caller's
                                                 * latest input, -1: none */
    unsigned                 agent_speaking:1;  /* this agent turn's audio
                                                 * has started */
    int64_t                 *ttfa;
    size_t                   n_ttfa;

    orbis_session_tool_t    *tools;
    size_t                   n_tools;
    size_t                   cap_tools;

    uint64_t                 bytes_in;
    uint64_t                 bytes_out;
    uint64_t                 bytes_dropped;

    int64_t                  prompt_tokens;
    int64_t                  response_tokens;
    int64_t                  total_tokens;

    /* echo mode: the utterance being heard */
    uint32_t                 echo_voiced_ms;
    uint32_t                 echo_silent_ms;
    uint32_t                 echo_interim_ms;
    uint32_t                 echo_utterances;
};


#endif /* ORBIS_SESSION_INT_H */
