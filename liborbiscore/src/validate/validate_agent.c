/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "validate_int.h"


static orbis_rc_t orbis_req_agent_members(json_t *root, int partial,
    const orbis_vtools_t *tools, orbis_req_agent_t *out, orbis_err_t *err);
static orbis_rc_t orbis_req_agent_text(json_t *root, const char *field,
    int required, int nonblank, size_t max, unsigned flags, char **out,
    orbis_err_t *err);


static const char *const  orbis_agent_fields[] = {
    "name", "systemPrompt", "voice", "greeting", "language", "tools",
    "idleTimeoutSec", NULL
};

static const char *const  orbis_agent_required[] = {
    "name", "systemPrompt", "voice", NULL
};


orbis_rc_t
orbis_req_agent_parse(const char *body, size_t len, int partial,
    const char *const *known_tools, size_t n_known, orbis_req_agent_t *out,
    orbis_err_t *err)
{
    json_t          *root;
    orbis_rc_t       rc;
    orbis_vtools_t   tools;

    memset(out, 0, sizeof(*out));

    tools.names = known_tools;
    tools.n = known_tools != NULL ? n_known : 0;

    rc = orbis_vjson_load(body, len, orbis_agent_fields, &root, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_req_agent_members(root, partial, &tools, out, err);

    json_decref(root);

    if (rc != ORBIS_OK) {
        orbis_req_agent_free(out);
    }

    return rc;
}


void
orbis_req_agent_free(orbis_req_agent_t *a)
{
    orbis_free(a->name);
    orbis_free(a->system_prompt);
    orbis_free(a->voice);
    orbis_free(a->greeting);
    orbis_free(a->language);
    orbis_vlist_free(a->tools, a->n_tools);

    memset(a, 0, sizeof(*a));
}


static orbis_rc_t
orbis_req_agent_members(json_t *root, int partial,
    const orbis_vtools_t *tools, orbis_req_agent_t *out, orbis_err_t *err)
{
    int          present;
    size_t       i, n;
    int64_t      v;
    orbis_rc_t   rc;
    const char  *s;

    /* every agent has these: null would leave it without one */
    for (i = 0; orbis_agent_required[i] != NULL; i++) {
        rc = orbis_vjson_not_null(root, orbis_agent_required[i], partial,
                                  err);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    rc = orbis_vjson_name(root, "name", !partial, 0, &out->name, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_req_agent_text(root, "systemPrompt", !partial, 1,
                              ORBIS_PROMPT_MAX,
                              ORBIS_VTEXT_BYTES | ORBIS_VTEXT_MULTILINE,
                              &out->system_prompt, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_vjson_str(root, "voice", !partial, &s, &n, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (s != NULL) {
        rc = orbis_vvoice("voice", s, n, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        out->voice = orbis_vstrdup(s, n);
        if (out->voice == NULL) {
            return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        }
    }

    /*
     * The optional members: null puts back the default, which for
     * greeting, language and tools is a value like any other.
     */

    if (orbis_vjson_null(root, "greeting")) {
        out->cleared |= ORBIS_AGENT_GREETING;

        out->greeting = orbis_vstrdup("", 0);
        if (out->greeting == NULL) {
            return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        }

    } else {
        rc = orbis_req_agent_text(root, "greeting", 0, 0, ORBIS_GREETING_MAX,
                                  ORBIS_VTEXT_MULTILINE, &out->greeting,
                                  err);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    s = NULL;
    n = 0;

    if (orbis_vjson_null(root, "language")) {
        out->cleared |= ORBIS_AGENT_LANGUAGE;
        out->present |= ORBIS_AGENT_LANGUAGE;

    } else {
        rc = orbis_vjson_str(root, "language", 0, &s, &n, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (s != NULL) {
            out->present |= ORBIS_AGENT_LANGUAGE;
        }
    }

    if ((out->present & ORBIS_AGENT_LANGUAGE) || !partial) {
        if (s == NULL) {
            s = ORBIS_LANGUAGE_DEFAULT;
            n = sizeof(ORBIS_LANGUAGE_DEFAULT) - 1;
        }

        rc = orbis_vlanguage("language", s, n, NULL, &out->language, err);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (orbis_vjson_null(root, "tools")) {
        out->cleared |= ORBIS_AGENT_TOOLS;
        present = 1;

    } else {
        rc = orbis_vjson_list(root, "tools", ORBIS_TOOLS_MAX, orbis_vtool,
                              tools, &present, &out->tools, &out->n_tools,
                              err);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (present) {
        out->present |= ORBIS_AGENT_TOOLS;
    }

    if (orbis_vjson_null(root, "idleTimeoutSec")) {
        /* no override: the server's default applies again */
        out->cleared |= ORBIS_AGENT_IDLE_TIMEOUT;

    } else {
        rc = orbis_vjson_int(root, "idleTimeoutSec", ORBIS_IDLE_TIMEOUT_MIN,
                             ORBIS_IDLE_TIMEOUT_MAX, &present, &v, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (present) {
            out->idle_timeout_sec = (uint32_t) v;
            out->present |= ORBIS_AGENT_IDLE_TIMEOUT;
        }
    }

    out->present |= (out->name ? ORBIS_AGENT_NAME : 0)
                    | (out->system_prompt ? ORBIS_AGENT_SYSTEM_PROMPT : 0)
                    | (out->voice ? ORBIS_AGENT_VOICE : 0)
                    | (out->greeting ? ORBIS_AGENT_GREETING : 0);

    if ((out->present | out->cleared) == 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "body: nothing to update");
    }

    return ORBIS_OK;
}


/*
 * Free text kept as sent.  A prompt of only white space is refused as if
 * empty; a greeting may be "" to clear it.
 */
static orbis_rc_t
orbis_req_agent_text(json_t *root, const char *field, int required,
    int nonblank, size_t max, unsigned flags, char **out, orbis_err_t *err)
{
    size_t       n, tn;
    orbis_rc_t   rc;
    const char  *s, *t;

    rc = orbis_vjson_str(root, field, required, &s, &n, err);
    if (rc != ORBIS_OK || s == NULL) {
        return rc;
    }

    t = s;
    tn = n;
    orbis_vtrim(&t, &tn);

    if (nonblank && tn == 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "%s: must not be empty",
                             field);
    }

    rc = orbis_vtext_check(field, s, n, 0, max, flags, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    *out = orbis_vstrdup(s, n);
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    return ORBIS_OK;
}
