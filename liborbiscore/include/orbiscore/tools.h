/*
 * Copyright (C) Orbis
 *
 * tools: the functions an agent may call during a voice session.
 *
 * A registry holds tool definitions: a name, a description, a parameter
 * schema in Gemini's functionDeclarations dialect (types OBJECT, STRING,
 * NUMBER, INTEGER, BOOLEAN, ARRAY in upper case) and a handler.  From it
 * come the declarations sent in the Live API setup message, and through it
 * every toolCall runs: the arguments are checked against the schema first,
 * and any failure becomes a result of the form {"error": "..."} for the
 * model, never a crash or a missing answer.
 *
 * One call = one orbis_tool_ctx_t.  A handler either answers at once
 * (ORBIS_TOOL_DONE), fails (ORBIS_TOOL_ERROR), or returns ORBIS_TOOL_PENDING
 * and finishes later with orbis_tool_complete() / orbis_tool_fail(), which
 * hand the result to the caller's on_done callback.  The caller enforces
 * timeouts (orbis_tool_timeout()) and the model's cancellations
 * (orbis_tool_cancel()); a completion that arrives after either is dropped.
 * The context is reference counted so that a late completion never touches
 * freed memory: the caller holds one reference from orbis_tool_ctx_new(),
 * a handler that finishes later takes its own with orbis_tool_ctx_hold(),
 * and each drops its reference with orbis_tool_ctx_release().
 *
 * Nothing here does I/O or reads the clock: handlers that need the network
 * go through the caller (the io slot of the context), and every function
 * that records a time takes now_ms.
 */

#ifndef ORBISCORE_TOOLS_H
#define ORBISCORE_TOOLS_H

#include <jansson.h>

#include <orbiscore/orbiscore.h>


#define ORBIS_TOOL_NAME_MAX            64
#define ORBIS_TOOL_DEFAULT_TIMEOUT_MS  10000
#define ORBIS_TOOL_MAX_TIMEOUT_MS      600000
#define ORBIS_TOOL_DEFAULT_RATE        24000

/* arguments and results are kept in the audit record up to this size */
#define ORBIS_TOOL_AUDIT_MAX           4096


typedef enum {
    ORBIS_TOOL_DONE = 0,      /* *result is set */
    ORBIS_TOOL_PENDING,       /* the tool finishes later */
    ORBIS_TOOL_ERROR          /* the call failed (err says why) */
} orbis_tool_rc_t;


typedef enum {
    ORBIS_TOOL_BLOCKING = 0,  /* the model waits for the answer */
    ORBIS_TOOL_NON_BLOCKING   /* declared with "behavior": "NON_BLOCKING" */
} orbis_tool_behavior_t;


typedef enum {
    ORBIS_TOOL_STATUS_IDLE = 0,   /* context not used yet */
    ORBIS_TOOL_STATUS_RUNNING,
    ORBIS_TOOL_STATUS_OK,
    ORBIS_TOOL_STATUS_ERROR,
    ORBIS_TOOL_STATUS_TIMEOUT,
    ORBIS_TOOL_STATUS_CANCELLED
} orbis_tool_status_t;


typedef struct orbis_tool_s      orbis_tool_t;
typedef struct orbis_tool_ctx_s  orbis_tool_ctx_t;
typedef struct orbis_tools_s     orbis_tools_t;


/*
 * A handler; it returns one of the orbis_tool_rc_t values.  args is an
 * object that already matches the schema (borrowed for the call).  On
 * ORBIS_TOOL_DONE it stores a new reference in *result (an object; any
 * other JSON value is wrapped as {"result": value}).  On ORBIS_TOOL_ERROR
 * it fills err; err->msg goes to the model.  (The return type is int, not
 * orbis_tool_rc_t, only because tests/check-exports.sh reads
 * "orbis_tool_rc_t (*" as the declaration of a function to export.)
 */
typedef int (*orbis_tool_run_pt)(const orbis_tool_t *tool,
    const json_t *args, orbis_tool_ctx_t *ctx, json_t **result,
    orbis_err_t *err);

/*
 * Called when a pending call finishes through orbis_tool_complete() or
 * orbis_tool_fail(): result is the response for the model (owned by the
 * callee), orbis_tool_ctx_status() says ok or error.  Not called for calls
 * that finish inside orbis_tools_call(), nor for timeouts or
 * cancellations, which the caller initiates itself.
 */
typedef void (*orbis_tool_done_pt)(orbis_tool_ctx_t *ctx, json_t *result,
    void *userdata);


struct orbis_tool_s {
    const char             *name;         /* [A-Za-z_][A-Za-z0-9_.:-]* */
    const char             *description;  /* required, for the model */
    const char             *parameters;   /* JSON schema text; NULL: none */
    orbis_tool_behavior_t   behavior;
    uint32_t                timeout_ms;   /* 0: the default above */
    orbis_tool_run_pt       run;
    void                   *data;         /* the handler's own */
};


typedef struct {
    const char          *call_id;       /* the model's id; copied */
    const char          *tenant_id;     /* copied; may be NULL */
    uint32_t             output_rate;   /* audio rate; 0: the default */
    orbis_tool_done_pt   on_done;       /* may be NULL */
    void                *userdata;      /* for on_done */
    void                *io;            /* the caller's slot for handlers */
} orbis_tool_ctx_conf_t;


/* one call as it goes to the audit log; all strings owned by the context */
typedef struct {
    const char           *call_id;
    const char           *tenant_id;      /* NULL if none */
    const char           *name;
    const char           *args;           /* compact JSON, maybe cut */
    const char           *result;         /* JSON on ok, else NULL */
    const char           *error;          /* the message unless ok */
    orbis_rc_t            error_code;     /* ORBIS_OK unless error */
    uint64_t              started_ms;
    uint64_t              finished_ms;    /* 0 while running */
    orbis_tool_status_t   status;
    unsigned              args_truncated:1;
    unsigned              result_truncated:1;
} orbis_tool_audit_t;


/* ---- the registry ---- */

/* an empty registry; release with orbis_tools_free() */
orbis_tools_t *orbis_tools_new(void);
void orbis_tools_free(orbis_tools_t *tools);

/*
 * Adds a tool.  Everything in def is copied, except data.  The schema is
 * checked (a top-level OBJECT; known keys only: type, description, format,
 * nullable, enum, items, properties, required, minimum, maximum, minItems,
 * maxItems; lower-case type names are upper-cased).  A duplicate or bad
 * name, a bad schema or a timeout over ORBIS_TOOL_MAX_TIMEOUT_MS is
 * ORBIS_ERR_INVALID.
 */
orbis_rc_t orbis_tools_register(orbis_tools_t *tools,
    const orbis_tool_t *def, orbis_err_t *err);

/* registers score_lead and generate_tone */
orbis_rc_t orbis_tools_register_builtin(orbis_tools_t *tools,
    orbis_err_t *err);

/* the tool called name, or NULL; owned by the registry */
const orbis_tool_t *orbis_tools_find(const orbis_tools_t *tools,
    const char *name);

/*
 * The names of all tools in registration order, *n of them; owned by the
 * registry and valid until the next registration.
 */
const char *const *orbis_tools_names(const orbis_tools_t *tools, size_t *n);

/*
 * A registered tool's schema (borrowed), NULL if it takes no arguments.
 * Here and in orbis_tool_validate_args(), tool must be a pointer the
 * registry handed out (orbis_tools_find(), or a handler's argument).
 */
const json_t *orbis_tool_schema(const orbis_tool_t *tool);

/*
 * The array for setup.tools[0].functionDeclarations, for the n tools
 * named (all of them if names is NULL).  An unknown or repeated name is
 * ORBIS_ERR_NOT_FOUND / ORBIS_ERR_INVALID and returns NULL.  The caller
 * owns the result (json_decref).
 */
json_t *orbis_tools_declarations(const orbis_tools_t *tools,
    const char *const *names, size_t n, orbis_err_t *err);

/*
 * Checks args (an object, or NULL for none) against tool's schema: the
 * required properties present and not null, every known property of the
 * declared type (INTEGER also takes an integral real; optional properties
 * may be null), enum, minimum/maximum, minItems/maxItems.  Unknown
 * properties are ignored.  ORBIS_ERR_INVALID with a message naming the
 * argument.
 */
orbis_rc_t orbis_tool_validate_args(const orbis_tool_t *tool,
    const json_t *args, orbis_err_t *err);


/* ---- one call ---- */

/* a context for one call, holding one reference; NULL on a bad conf */
orbis_tool_ctx_t *orbis_tool_ctx_new(const orbis_tool_ctx_conf_t *conf,
    orbis_err_t *err);
void orbis_tool_ctx_hold(orbis_tool_ctx_t *ctx);
/* drops a reference; the last one frees the context and any audio */
void orbis_tool_ctx_release(orbis_tool_ctx_t *ctx);

/*
 * Runs the tool name with args (borrowed; NULL counts as {}), in ctx (used
 * once).  ORBIS_TOOL_DONE: *result is the tool's response;
 * ORBIS_TOOL_ERROR: *result is {"error": "..."} (unknown tool, invalid
 * arguments, handler failure, context already used); either way the caller
 * owns *result and sends it to the model.  ORBIS_TOOL_PENDING: *result is
 * NULL, on_done will follow unless the call times out or is cancelled.
 */
orbis_tool_rc_t orbis_tools_call(const orbis_tools_t *tools,
    orbis_tool_ctx_t *ctx, const char *name, const json_t *args,
    uint64_t now_ms, json_t **result);

/*
 * Finish a pending call.  complete takes ownership of result in every
 * case.  Returns ORBIS_OK when the result was delivered, ORBIS_ERR_EXPIRED
 * when the call had already finished, timed out or been cancelled (the
 * result is then dropped).
 */
orbis_rc_t orbis_tool_complete(orbis_tool_ctx_t *ctx, json_t *result,
    uint64_t now_ms);
orbis_rc_t orbis_tool_fail(orbis_tool_ctx_t *ctx, orbis_rc_t code,
    const char *message, uint64_t now_ms);

/*
 * The caller's timer fired: a running call becomes a timeout, and the
 * response for the model is returned (caller owns it).  NULL if the call
 * was not running.
 */
json_t *orbis_tool_timeout(orbis_tool_ctx_t *ctx, uint64_t now_ms);

/* the model cancelled the call; ORBIS_ERR_EXPIRED if it was not running */
orbis_rc_t orbis_tool_cancel(orbis_tool_ctx_t *ctx, uint64_t now_ms);

orbis_tool_status_t orbis_tool_ctx_status(const orbis_tool_ctx_t *ctx);
const char *orbis_tool_status_name(orbis_tool_status_t status);
const char *orbis_tool_ctx_call_id(const orbis_tool_ctx_t *ctx);
const char *orbis_tool_ctx_tenant_id(const orbis_tool_ctx_t *ctx);
uint32_t orbis_tool_ctx_output_rate(const orbis_tool_ctx_t *ctx);
void *orbis_tool_ctx_io(const orbis_tool_ctx_t *ctx);
/* the timeout the caller should arm, known once orbis_tools_call() ran */
uint32_t orbis_tool_ctx_timeout_ms(const orbis_tool_ctx_t *ctx);

/*
 * Audio a tool produced for the caller to play (mono PCM16 at rate).
 * set takes ownership of samples (from orbis_malloc()), replacing earlier
 * audio.  take hands it over: returns 1 and the caller orbis_free()s
 * *samples, or 0 when there is none.
 */
void orbis_tool_ctx_set_audio(orbis_tool_ctx_t *ctx, int16_t *samples,
    size_t n, uint32_t rate);
int orbis_tool_ctx_take_audio(orbis_tool_ctx_t *ctx, int16_t **samples,
    size_t *n, uint32_t *rate);


/* ---- audit ---- */

/* the call's record (borrowed, valid while ctx lives) */
const orbis_tool_audit_t *orbis_tool_ctx_audit(const orbis_tool_ctx_t *ctx);

/*
 * The record as an object: callId, tenantId, name, args, argsTruncated,
 * status, startedMs, then once finished finishedMs and durationMs, and
 * result + resultTruncated or error + errorCode (orbis_rc_name()).  args
 * and result are JSON text.  Caller owns it.
 */
json_t *orbis_tool_audit_json(const orbis_tool_audit_t *audit);


#endif /* ORBISCORE_TOOLS_H */
