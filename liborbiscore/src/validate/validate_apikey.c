/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "validate_int.h"


static orbis_rc_t orbis_req_apikey(const char *body, size_t len, int update,
    orbis_req_apikey_t *out, orbis_err_t *err);
static orbis_rc_t orbis_req_apikey_members(json_t *root, int update,
    orbis_req_apikey_t *out, orbis_err_t *err);


static const char *const  orbis_apikey_fields[] = {
    "name", "kind", "allowedOrigins", "agentIds", NULL
};


orbis_rc_t
orbis_req_apikey_parse(const char *body, size_t len, orbis_req_apikey_t *out,
    orbis_err_t *err)
{
    return orbis_req_apikey(body, len, 0, out, err);
}


orbis_rc_t
orbis_req_apikey_update_parse(const char *body, size_t len,
    orbis_req_apikey_t *out, orbis_err_t *err)
{
    return orbis_req_apikey(body, len, 1, out, err);
}


void
orbis_req_apikey_free(orbis_req_apikey_t *k)
{
    orbis_free(k->name);
    orbis_vlist_free(k->allowed_origins, k->n_allowed_origins);
    orbis_vlist_free(k->agent_ids, k->n_agent_ids);

    memset(k, 0, sizeof(*k));
}


static orbis_rc_t
orbis_req_apikey(const char *body, size_t len, int update,
    orbis_req_apikey_t *out, orbis_err_t *err)
{
    json_t      *root;
    orbis_rc_t   rc;

    memset(out, 0, sizeof(*out));

    rc = orbis_vjson_load(body, len, orbis_apikey_fields, &root, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_req_apikey_members(root, update, out, err);

    json_decref(root);

    if (rc != ORBIS_OK) {
        orbis_req_apikey_free(out);
    }

    return rc;
}


static orbis_rc_t
orbis_req_apikey_members(json_t *root, int update, orbis_req_apikey_t *out,
    orbis_err_t *err)
{
    int          present;
    size_t       n;
    orbis_rc_t   rc;
    const char  *s;

    rc = orbis_vjson_name(root, "name", !update, 0, &out->name, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (out->name != NULL) {
        out->present |= ORBIS_APIKEY_REQ_NAME;
    }

    /* a key's kind is in its text, so it is fixed at creation */
    if (update) {
        if (json_object_get(root, "kind") != NULL) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "kind: cannot be changed; create a new "
                                 "key instead");
        }

    } else {
        rc = orbis_vjson_str(root, "kind", 1, &s, &n, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (n == sizeof("publishable") - 1
            && memcmp(s, "publishable", n) == 0)
        {
            out->kind = ORBIS_KEY_PUBLISHABLE;

        } else if (n == sizeof("secret") - 1 && memcmp(s, "secret", n) == 0) {
            out->kind = ORBIS_KEY_SECRET;

        } else {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "kind: must be \"publishable\" or "
                                 "\"secret\"");
        }
    }

    rc = orbis_vjson_list(root, "allowedOrigins", ORBIS_ORIGINS_MAX,
                          orbis_vorigin, NULL, &present,
                          &out->allowed_origins, &out->n_allowed_origins,
                          err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (present) {
        out->present |= ORBIS_APIKEY_REQ_ORIGINS;
    }

    rc = orbis_vjson_list(root, "agentIds", ORBIS_AGENT_IDS_MAX, orbis_vuuid,
                          NULL, &present, &out->agent_ids, &out->n_agent_ids,
                          err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (present) {
        out->present |= ORBIS_APIKEY_REQ_AGENT_IDS;
    }

    if (out->present == 0) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "body: nothing to update; send name, "
                             "allowedOrigins or agentIds");
    }

    return ORBIS_OK;
}
