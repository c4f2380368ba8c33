/*
 * Copyright (C) Orbis
 *
 * Internals shared by the files of src/tools.  ORBIS_TOOLS_HIDDEN keeps
 * these orbis_* names out of liborbiscore.so's exports.
 */

#ifndef ORBIS_TOOLS_INT_H
#define ORBIS_TOOLS_INT_H

#include <orbiscore/tools.h>


#if defined(__GNUC__)
#define ORBIS_TOOLS_HIDDEN  __attribute__((visibility("hidden")))
#else
#define ORBIS_TOOLS_HIDDEN
#endif


/* a registered tool: the public part first, so the two convert */
typedef struct {
    orbis_tool_t   tool;
    json_t        *schema;
} orbis_tools_entry_t;


struct orbis_tools_s {
    orbis_tools_entry_t  **entries;
    const char           **names;
    size_t                 n;
    size_t                 cap;
};


struct orbis_tool_ctx_s {
    unsigned              refs;
    orbis_tool_status_t   status;
    unsigned              in_run:1;

    char                 *call_id;
    char                 *tenant_id;
    uint32_t              output_rate;
    uint32_t              timeout_ms;
    orbis_tool_done_pt    on_done;
    void                 *userdata;
    void                 *io;

    /* a result given to orbis_tool_complete() while the handler ran */
    json_t               *early;

    orbis_tool_audit_t    audit;
    char                 *name;
    char                 *args;
    char                 *result;
    char                 *error;

    int16_t              *audio;
    size_t                audio_n;
    uint32_t              audio_rate;
};


/* checks a schema and upper-cases its type names in place */
ORBIS_TOOLS_HIDDEN orbis_rc_t orbis_tools_schema_check(json_t *schema,
    orbis_err_t *err);

/* {"error": message}, with message cut to its longest valid UTF-8 prefix */
ORBIS_TOOLS_HIDDEN json_t *orbis_tools_error_result(const char *message);

/* compact JSON text of v, cut at ORBIS_TOOL_AUDIT_MAX bytes; malloc'd */
ORBIS_TOOLS_HIDDEN char *orbis_tools_audit_text(const json_t *v,
    int *truncated);

/* the ends of a call, shared by orbis_tools_call() and the completions */
ORBIS_TOOLS_HIDDEN void orbis_tools_finish(orbis_tool_ctx_t *ctx,
    orbis_tool_status_t status, const json_t *result, const char *error,
    uint64_t now_ms);

ORBIS_TOOLS_HIDDEN extern const orbis_tool_t  orbis_tools_score_lead;
ORBIS_TOOLS_HIDDEN extern const orbis_tool_t  orbis_tools_generate_tone;


#endif /* ORBIS_TOOLS_INT_H */
