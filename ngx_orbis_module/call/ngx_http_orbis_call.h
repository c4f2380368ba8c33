
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_CALL_H_INCLUDED_
#define _NGX_HTTP_ORBIS_CALL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <orbiscore/alloc.h>
#include <orbiscore/audio.h>
#include <orbiscore/auth.h>
#include <orbiscore/client.h>
#include <orbiscore/gemini.h>
#include <orbiscore/record.h>
#include <orbiscore/session.h>
#include <orbiscore/tools.h>
#include <orbiscore/ws.h>

#include "ngx_http_orbis_request.h"
#include "ngx_http_orbis_access.h"
#include "ngx_http_orbis_gemini.h"


#define NGX_HTTP_ORBIS_CALL_ID_LEN     36      /* a UUID's text */

/* stop reading a side while the other side has this much unsent */
#define NGX_HTTP_ORBIS_CALL_OUT_MAX    (256 * 1024)

/* how long a closing handshake may take before TCP is cut */
#define NGX_HTTP_ORBIS_CALL_CLOSE_WAIT 5000

/* Redis keys of the live state */
#define NGX_HTTP_ORBIS_CALL_LIVE_KEY   "sessions:live"
#define NGX_HTTP_ORBIS_CALL_LOCK_KEY   "sessions:sweeper"
#define NGX_HTTP_ORBIS_CALL_STATE_TTL  "86400"
/* session:<id> + this: the call's settled turns, a list */
#define NGX_HTTP_ORBIS_CALL_TURNS_SUFFIX  ":turns"
/* room for either key */
#define NGX_HTTP_ORBIS_CALL_KEY_LEN    80

/* Lua: now, Redis's time in ms, the one clock heartbeats are judged on */
#define NGX_HTTP_ORBIS_CALL_LUA_NOW                                           \
    "local t = redis.call('TIME')\n"                                          \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"


typedef struct {
    ngx_http_orbis_gemini_conf_t       gemini;
    ngx_msec_t                         heartbeat;
    ngx_msec_t                         heartbeat_timeout;
    ngx_msec_t                         sweep_interval;
    ngx_msec_t                         setup_timeout;
    ngx_msec_t                         tool_timeout;
    ngx_uint_t                         max_resumptions;
    ngx_uint_t                         save_backlog;
    ngx_flag_t                         used;
} ngx_http_orbis_call_main_conf_t;


typedef struct {
    ngx_flag_t                         enable;
    ngx_msec_t                         idle_timeout;
    ngx_msec_t                         max_duration;
    size_t                             max_message;
} ngx_http_orbis_call_loc_conf_t;


typedef struct ngx_http_orbis_call_s       ngx_http_orbis_call_t;
typedef struct ngx_http_orbis_call_tool_s  ngx_http_orbis_call_tool_t;


/*
 * The caller's side of a call: the browser WebSocket of /stream
 * (ngx_http_orbis_call_browser.c) today, a telephony media stream next.
 * Its codec renders the session's events (callevent.h) as its messages;
 * the functions move them.  In the manner of nchan's subscriber_fn_t.
 */
typedef struct {
    const char                  *name;
    const orbis_caller_codec_t  *codec;

    /* one rendered event; audio (PCM16LE at rate) in the caller's codec */
    void        (*send_event)(ngx_http_orbis_call_t *st, const u_char *msg,
                              size_t len);
    void        (*send_audio)(ngx_http_orbis_call_t *st, const u_char *pcm,
                              size_t len, uint32_t rate);
    void        (*close)(ngx_http_orbis_call_t *st, uint16_t code,
                         const u_char *reason, size_t len);

    /* writes what is queued: NGX_ERROR when the caller is gone */
    ngx_int_t   (*flush)(ngx_http_orbis_call_t *st);
    size_t      (*backlog)(ngx_http_orbis_call_t *st);
    /* reading was paused for backpressure and may go on */
    void        (*resume)(ngx_http_orbis_call_t *st);
    /* after every event: lets the connection go once it is done */
    void        (*settle)(ngx_http_orbis_call_t *st);
    /* the close code really sent when it is not the session's, or 0 */
    uint16_t    (*sent_code)(ngx_http_orbis_call_t *st);
    void        (*free)(ngx_http_orbis_call_t *st);
} ngx_http_orbis_call_transport_t;


/*
 * The model's side: Gemini Live (ngx_http_orbis_call_gemini.c) or the
 * echo stand-in (ngx_http_orbis_call_echo.c).  Its codec renders the
 * session's events for the model; open() starts a connection that then
 * reports to the session (open, messages, close).  In the manner of
 * nchan's nchan_store_t.
 */
typedef struct {
    const char                  *name;
    const orbis_peer_codec_t    *codec;

    /* prepares the call's model side (conf, setup): NGX_ERROR refuses */
    ngx_int_t   (*init)(ngx_http_orbis_call_t *st, json_t *agent,
                        orbis_session_conf_t *sc);
    /* a new connection; a failure is reported to the session later */
    void        (*open)(ngx_http_orbis_call_t *st, const char *handle);
    void        (*send)(ngx_http_orbis_call_t *st, const u_char *msg,
                        size_t len);
    void        (*close)(ngx_http_orbis_call_t *st);
    ngx_uint_t  (*active)(ngx_http_orbis_call_t *st);
    size_t      (*backlog)(ngx_http_orbis_call_t *st);
    void        (*pause)(ngx_http_orbis_call_t *st, ngx_uint_t on);
    /* the first messages of a call, after "ready" (echo's notice) */
    void        (*started)(ngx_http_orbis_call_t *st);
    void        (*free)(ngx_http_orbis_call_t *st);
} ngx_http_orbis_call_peer_t;


/* a tool call that is still running */
struct ngx_http_orbis_call_tool_s {
    ngx_queue_t                        queue;
    ngx_http_orbis_call_t           *stream;
    orbis_tool_ctx_t                  *ctx;
    char                              *id;
    unsigned                           done:1;
    int                                ok;
    json_t                            *result;
};


/* one WebSocket on /stream: a call, or a refusal being delivered */
struct ngx_http_orbis_call_s {
    ngx_queue_t                        queue;       /* worker's streams */

    ngx_http_request_t                *request;     /* NULL once closed */
    ngx_connection_t                  *connection;
    ngx_event_handler_pt               saved_read;
    ngx_event_handler_pt               saved_write;
    ngx_log_t                         *log;

    ngx_http_orbis_call_main_conf_t *smcf;
    ngx_http_orbis_call_loc_conf_t  *slcf;
    ngx_http_core_loc_conf_t          *clcf;

    const ngx_http_orbis_call_transport_t  *transport;
    const ngx_http_orbis_call_peer_t       *peer;
    void                                   *peer_ctx;   /* its codec's */

    orbis_session_t                   *session;
    orbis_session_actions_t            actions;

    /* the browser transport */
    orbis_ws_t                        *ws;
    orbis_resampler_t                 *resampler;   /* to 24 kHz */
    uint32_t                           resampler_rate;

    /* the Gemini peer */
    orbis_gemini_peer_t               *gemini;
    ngx_http_orbis_gemini_t           *upstream;

    ngx_queue_t                        tools;       /* running, or done
                                                       and not yet told */
    ngx_event_t                        tick;        /* session deadline */
    ngx_event_t                        beat;        /* Redis heartbeat */
    ngx_event_t                        closing;     /* close handshake */
    ngx_event_t                        posted;      /* deferred work */
    ngx_event_t                        guard;       /* while saving */

    ngx_http_orbis_pg_query_t         *save;
    json_t                            *record;      /* the final one */

    /* the heartbeat: ngx_http_orbis_call_store.c */
    ngx_http_orbis_redis_cmd_t        *beat_cmd;    /* in flight */
    size_t                             beat_turns;  /* in Redis's list */
    size_t                             beat_sent;   /* ... once it answers */
    unsigned                           beat_resend:1;
    ngx_pool_cleanup_t                *cln;

    char                               id[NGX_HTTP_ORBIS_CALL_ID_LEN + 1];
    char                               tenant_id[NGX_HTTP_ORBIS_CALL_ID_LEN
                                                 + 1];
    char                               agent_id[NGX_HTTP_ORBIS_CALL_ID_LEN
                                                + 1];
    char                               key_id[NGX_HTTP_ORBIS_CALL_ID_LEN
                                              + 1];

    unsigned                           echo:1;
    unsigned                           in_action:1;
    unsigned                           in_after:1;
    unsigned                           feeding:1;
    unsigned                           client_gone:1;  /* TCP is over */
    unsigned                           client_eof:1;   /* read 0 / error */
    unsigned                           read_paused:1;
    unsigned                           finalized:1;    /* FINALIZE seen */
    unsigned                           dirty:1;        /* record changed */
    unsigned                           stored:1;       /* in Redis */
    unsigned                           upstream_failed:1;
};


/* the handshake, in the request pool */
typedef struct {
    ngx_http_request_t                *request;
    ngx_uint_t                         browser;
    char                               accept[ORBIS_WS_ACCEPT_LEN + 1];
    json_t                            *info;        /* the admission row:
                                                       tenantId, keyId,
                                                       agent (borrowed) */
    ngx_http_orbis_admission_t         adm;
} ngx_http_orbis_call_hs_t;


/* per worker */
typedef struct {
    ngx_queue_t                        streams;
    ngx_uint_t                         nstreams;
    ngx_http_orbis_call_main_conf_t *smcf;

    /* finished calls not yet written: ngx_http_orbis_call_outbox.c */
    ngx_queue_t                        outbox;      /* waiting */
    ngx_queue_t                        outbox_all;  /* waiting + busy */
    ngx_uint_t                         outbox_len;  /* waiting + busy */
    ngx_uint_t                         outbox_busy;
    ngx_uint_t                         outbox_limit;
    ngx_msec_t                         outbox_backoff;
    ngx_event_t                        outbox_ev;
    ngx_event_t                        outbox_beat; /* their liveness */
    ngx_http_orbis_redis_cmd_t        *outbox_beat_cmd;
    unsigned                           outbox_paused:1;
} ngx_http_orbis_call_worker_t;


extern ngx_module_t                     ngx_http_orbis_call_module;
extern ngx_http_orbis_call_worker_t  *ngx_http_orbis_call_worker;


/* ngx_http_orbis_call_handshake.c: the /stream content handler */
ngx_int_t ngx_http_orbis_call_handler(ngx_http_request_t *r);

/*
 * ngx_http_orbis_call_browser.c: the browser transport.  Takes the
 * admitted connection over and starts the call, or (refuse != 0) delivers
 * that close code to a browser.
 */
extern const ngx_http_orbis_call_transport_t  ngx_http_orbis_call_browser;

ngx_int_t ngx_http_orbis_call_upgrade(ngx_http_request_t *r,
    ngx_http_orbis_call_hs_t *hs, uint16_t refuse, const char *reason);
void ngx_http_orbis_call_terminate_all(void);
void ngx_http_orbis_call_uuid(char *out);
void ngx_http_orbis_call_client_lost(ngx_http_orbis_call_t *st);

/* ngx_http_orbis_call.c: the call, whatever its transport and peer */
ngx_int_t ngx_http_orbis_call_start(ngx_http_orbis_call_t *st,
    ngx_http_orbis_call_hs_t *hs);
void ngx_http_orbis_call_init(ngx_http_orbis_call_t *st);
void ngx_http_orbis_call_checked(ngx_http_orbis_call_t *st, orbis_rc_t rc);
void ngx_http_orbis_call_act(ngx_http_orbis_call_t *st);
void ngx_http_orbis_call_carry_out(ngx_http_orbis_call_t *st, orbis_rc_t rc);
void ngx_http_orbis_call_after(ngx_http_orbis_call_t *st);
int64_t ngx_http_orbis_call_now(void);

/* the model peers */
extern const ngx_http_orbis_call_peer_t  ngx_http_orbis_call_gemini_peer;
extern const ngx_http_orbis_call_peer_t  ngx_http_orbis_call_echo_peer;

/* ngx_http_orbis_call_tools.c */
json_t *ngx_http_orbis_call_declarations(ngx_http_orbis_call_t *st,
    json_t *names);
void ngx_http_orbis_call_run_tool(ngx_http_orbis_call_t *st,
    orbis_session_action_t *a);
void ngx_http_orbis_call_cancel_tool(ngx_http_orbis_call_t *st,
    const char *id);
ngx_uint_t ngx_http_orbis_call_deliver_tools(ngx_http_orbis_call_t *st);
void ngx_http_orbis_call_tools_free(ngx_http_orbis_call_t *st);

/*
 * ngx_http_orbis_call_store.c: Redis live state and Postgres.  A beat
 * with_record sends what changed in the record since the last one;
 * store_stop cancels a beat in flight (before the call is freed).
 */
void ngx_http_orbis_call_store_live(ngx_http_orbis_call_t *st,
    ngx_uint_t with_record);
void ngx_http_orbis_call_store_stop(ngx_http_orbis_call_t *st);
void ngx_http_orbis_call_store_forget(ngx_http_orbis_call_t *st);

/* session:<id>, or with turns its list's key, into buf (KEY_LEN bytes) */
size_t ngx_http_orbis_call_key(u_char *buf, const char *id,
    ngx_uint_t turns);

/*
 * A command on the worker's Redis link: NGX_ERROR when it cannot be sent
 * (the handler is then not called).  _eval fills argv[0..2] with EVAL,
 * the script and nkeys: the caller's start at argv[3], keys first.
 */
ngx_int_t ngx_http_orbis_call_redis(ngx_uint_t argc, const char **argv,
    const size_t *lens, ngx_http_orbis_redis_handler_pt handler, void *data,
    ngx_http_orbis_redis_cmd_t **cmd);
ngx_int_t ngx_http_orbis_call_eval(const char *script, size_t len,
    ngx_uint_t nkeys, ngx_uint_t argc, const char **argv, size_t *lens,
    ngx_http_orbis_redis_handler_pt handler, void *data,
    ngx_http_orbis_redis_cmd_t **cmd);
ngx_http_orbis_redis_cmd_t *ngx_http_orbis_call_store_forget_id(
    const char *id, ngx_http_orbis_redis_handler_pt handler, void *data);

/*
 * A record normalised by liborbiscore (orbis_record_normalize()) as the
 * text orbis_save_conversation() takes, into *text (orbis_free()).
 * NGX_DECLINED, logged, when the record is unusable; NGX_ERROR when
 * memory ran out.
 */
ngx_int_t ngx_http_orbis_call_record_text(json_t *record,
    const orbis_record_opts_t *opts, const char *id, ngx_log_t *log,
    char **text, size_t *len);

/*
 * Writes a normalised record: SELECT orbis_save_conversation($1),
 * idempotent on the session id (a final record replaces a swept one).
 * NULL when it could not even be queued.  The handler learns the outcome
 * from ngx_http_orbis_call_save_result(): NGX_OK (written, or written
 * before), NGX_ERROR (try again later) or NGX_DECLINED (it never can be).
 */
ngx_http_orbis_pg_query_t *ngx_http_orbis_call_save(const char *record,
    size_t len, ngx_http_orbis_pg_handler_pt handler, void *data);
ngx_int_t ngx_http_orbis_call_save_result(PGresult *res,
    ngx_uint_t status, const char *id, ngx_log_t *log);

/*
 * ngx_http_orbis_call_outbox.c: a finished call's record is copied in
 * and written from there (NGX_ERROR: out of memory, or no worker).
 */
void ngx_http_orbis_outbox_init(ngx_http_orbis_call_worker_t *w,
    ngx_log_t *log);
ngx_int_t ngx_http_orbis_outbox_add(const char *id, const char *key_id,
    json_t *record);
ngx_uint_t ngx_http_orbis_outbox_length(void);
void ngx_http_orbis_outbox_handler(ngx_event_t *ev);
void ngx_http_orbis_outbox_exit(ngx_http_orbis_call_worker_t *w);


#endif /* _NGX_HTTP_ORBIS_CALL_H_INCLUDED_ */
