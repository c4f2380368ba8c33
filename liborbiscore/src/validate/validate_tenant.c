/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "validate_int.h"


static const char *const  orbis_tenant_update_fields[] = {
    "name", "billingEmail", "allowedOrigins", NULL
};


orbis_rc_t
orbis_req_tenant_update_parse(const char *body, size_t len,
    orbis_req_tenant_update_t *out, orbis_err_t *err)
{
    int          present;
    size_t       n;
    json_t      *root;
    orbis_rc_t   rc;
    const char  *s;

    memset(out, 0, sizeof(*out));

    rc = orbis_vjson_load(body, len, orbis_tenant_update_fields, &root, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_vjson_not_null(root, "name", 1, err);
    if (rc != ORBIS_OK) {
        goto failed;
    }

    rc = orbis_vjson_name(root, "name", 0, 0, &out->name, err);
    if (rc != ORBIS_OK) {
        goto failed;
    }

    if (out->name != NULL) {
        out->present |= ORBIS_TENANT_UPD_NAME;
    }

    if (orbis_vjson_null(root, "billingEmail")) {
        out->cleared |= ORBIS_TENANT_UPD_BILLING_EMAIL;
        s = NULL;

    } else {
        rc = orbis_vjson_str(root, "billingEmail", 0, &s, &n, err);
        if (rc != ORBIS_OK) {
            goto failed;
        }
    }

    if (s != NULL) {
        rc = orbis_vemail("billingEmail", s, n, NULL, &out->billing_email,
                          err);
        if (rc != ORBIS_OK) {
            goto failed;
        }

        out->present |= ORBIS_TENANT_UPD_BILLING_EMAIL;
    }

    /* null: no origin, as an empty list says */
    if (orbis_vjson_null(root, "allowedOrigins")) {
        out->cleared |= ORBIS_TENANT_UPD_ORIGINS;
        present = 1;

    } else {
        rc = orbis_vjson_list(root, "allowedOrigins", ORBIS_ORIGINS_MAX,
                              orbis_vorigin, NULL, &present,
                              &out->allowed_origins, &out->n_allowed_origins,
                              err);
        if (rc != ORBIS_OK) {
            goto failed;
        }
    }

    if (present) {
        out->present |= ORBIS_TENANT_UPD_ORIGINS;
    }

    if ((out->present | out->cleared) == 0) {
        rc = orbis_err_set(err, ORBIS_ERR_INVALID,
                           "body: nothing to update; send name, "
                           "billingEmail or allowedOrigins");
        goto failed;
    }

    json_decref(root);

    return ORBIS_OK;

failed:

    json_decref(root);
    orbis_req_tenant_update_free(out);

    return rc;
}


void
orbis_req_tenant_update_free(orbis_req_tenant_update_t *t)
{
    orbis_free(t->name);
    orbis_free(t->billing_email);
    orbis_vlist_free(t->allowed_origins, t->n_allowed_origins);

    memset(t, 0, sizeof(*t));
}
