/*
 * Copyright (C) Orbis
 *
 * The session, shared by the state machine (session.c) and its parts:
 * action lists and events (session_events.c), transcript turns and time
 * to first audio (session_turns.c), tools (session_tools.c), the echo
 * stand-in (session_echo.c) and the JSON views (session_record.c).
 * Names marked ORBIS_SESSION_HIDDEN stay inside liborbiscore.so.
 */

#ifndef ORBIS_SESSION_INT_H
#define ORBIS_SESSION_INT_H

#include <orbiscore/session.h>


#if defined(__GNUC__)
#define ORBIS_SESSION_HIDDEN  __attribute__((visibility("hidden")))
#else
#define ORBIS_SESSION_HIDDEN
#endif


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
    char                    *model;

    uint32_t                 idle_timeout_ms;
    uint32_t                 max_duration_ms;
    uint32_t                 setup_timeout_ms;
    uint32_t                 tool_timeout_ms;
    uint32_t                 max_resumptions;
    uint32_t                 max_connect_retries;
    uint32_t                 in_rate;
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

    /* message budgets: theoretical arrival times (GCRA), nanoseconds */
    int64_t                  msg_tat_ns;
    int64_t                  frame_tat_ns;
    int64_t                  audio_tat_ns;
    int64_t                  wire_tat_ns;

    uint8_t                 *pcm;          /* caller audio decoded to
                                            * PCM16LE (mu-law callers) */

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


/* session_events.c */
ORBIS_SESSION_HIDDEN void orbis_session_actions_reset(
    orbis_session_actions_t *a);
ORBIS_SESSION_HIDDEN void orbis_session_actions_fix(
    orbis_session_actions_t *a);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_push(
    orbis_session_actions_t *a, orbis_session_act_type_t type,
    orbis_session_action_t **act);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_push_data(
    orbis_session_actions_t *a, orbis_session_act_type_t type,
    const void *p, size_t len, orbis_session_action_t **act);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_push_caller(
    orbis_session_actions_t *a, const orbis_caller_out_t *ev);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_push_peer(
    orbis_session_actions_t *a, const orbis_peer_out_t *ev);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_push_audio(
    orbis_session_actions_t *a, const uint8_t *pcm, size_t len,
    uint32_t rate);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_push_tool(
    orbis_session_actions_t *a, orbis_session_act_type_t type,
    const orbis_session_tool_t *t);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_caller_transcript(
    orbis_session_actions_t *a, orbis_client_role_t role, const char *text,
    size_t len, int final);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_caller_simple(
    orbis_session_actions_t *a, orbis_caller_out_type_t type);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_caller_error(
    orbis_session_actions_t *a, const char *code, const char *message);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_caller_tool(
    orbis_session_actions_t *a, const orbis_session_tool_t *t);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_peer_audio(
    orbis_session_actions_t *a, const uint8_t *pcm, size_t len,
    uint32_t rate);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_peer_text(
    orbis_session_actions_t *a, const char *text, size_t len);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_peer_tool_result(
    orbis_session_actions_t *a, const char *id, const char *name,
    const json_t *response);

/* session_turns.c */
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_new_turn(orbis_session_t *s,
    orbis_client_role_t role, int64_t now, const char *text, size_t len,
    int *idx);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_fragment(orbis_session_t *s,
    orbis_client_role_t role, const char *text, int64_t now,
    orbis_session_actions_t *a);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_close_turn(orbis_session_t *s,
    int notify, orbis_session_actions_t *a);
ORBIS_SESSION_HIDDEN void orbis_session_free_turns(orbis_session_t *s);
ORBIS_SESSION_HIDDEN int orbis_session_blank(const char *text, size_t len);
ORBIS_SESSION_HIDDEN void orbis_session_caller_input(orbis_session_t *s,
    int64_t now);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_agent_audio(
    orbis_session_t *s, int64_t now);

/* session_tools.c */
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_start_tool(orbis_session_t *s,
    const orbis_peer_tool_call_t *call, int64_t now,
    orbis_session_actions_t *a);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_finish_tool(
    orbis_session_t *s, orbis_session_tool_t *t,
    orbis_client_tool_status_t status, json_t *response, int notify,
    int64_t now, orbis_session_actions_t *a);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_cancel_tools(
    orbis_session_t *s, int notify, int64_t now,
    orbis_session_actions_t *a);
ORBIS_SESSION_HIDDEN orbis_session_tool_t *orbis_session_find_tool(
    orbis_session_t *s, const char *id);
ORBIS_SESSION_HIDDEN void orbis_session_free_tools(orbis_session_t *s);

/* session_echo.c */
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_echo_listen(orbis_session_t *s,
    const uint8_t *pcm, size_t len, int64_t now,
    orbis_session_actions_t *a);
ORBIS_SESSION_HIDDEN orbis_rc_t orbis_session_echo_turn(orbis_session_t *s,
    orbis_client_role_t role, const char *text, int64_t now,
    orbis_session_actions_t *a);


#endif /* ORBIS_SESSION_INT_H */
