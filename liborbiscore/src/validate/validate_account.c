/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <orbiscore/alloc.h>
#include "validate_int.h"


#define ORBIS_REFERRAL_MIN  4
#define ORBIS_REFERRAL_MAX  32


static orbis_rc_t orbis_req_credentials(json_t *root, int signup,
    char **email, char **password, orbis_err_t *err);
static orbis_rc_t orbis_req_referral(json_t *obj, char **out,
    orbis_err_t *err);
static void orbis_req_wipe(char *s);


static const char *const  orbis_signup_fields[] = {
    "email", "password", "tenantName", "name", "referralCode", NULL
};

static const char *const  orbis_login_fields[] = {
    "email", "password", NULL
};


orbis_rc_t
orbis_req_signup_parse(const char *body, size_t len, orbis_req_signup_t *out,
    orbis_err_t *err)
{
    json_t      *root;
    orbis_rc_t   rc;

    memset(out, 0, sizeof(*out));

    rc = orbis_vjson_load(body, len, orbis_signup_fields, &root, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_req_credentials(root, 1, &out->email, &out->password, err);
    if (rc != ORBIS_OK) {
        goto failed;
    }

    rc = orbis_vjson_name(root, "tenantName", 1, 0, &out->tenant_name, err);
    if (rc != ORBIS_OK) {
        goto failed;
    }

    rc = orbis_vjson_name(root, "name", 0, 1, &out->name, err);
    if (rc != ORBIS_OK) {
        goto failed;
    }

    rc = orbis_req_referral(root, &out->referral_code, err);
    if (rc != ORBIS_OK) {
        goto failed;
    }

    json_decref(root);

    return ORBIS_OK;

failed:

    json_decref(root);
    orbis_req_signup_free(out);

    return rc;
}


void
orbis_req_signup_free(orbis_req_signup_t *s)
{
    orbis_free(s->email);
    orbis_req_wipe(s->password);
    orbis_free(s->tenant_name);
    orbis_free(s->name);
    orbis_free(s->referral_code);

    memset(s, 0, sizeof(*s));
}


orbis_rc_t
orbis_req_login_parse(const char *body, size_t len, orbis_req_login_t *out,
    orbis_err_t *err)
{
    json_t      *root;
    orbis_rc_t   rc;

    memset(out, 0, sizeof(*out));

    rc = orbis_vjson_load(body, len, orbis_login_fields, &root, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = orbis_req_credentials(root, 0, &out->email, &out->password, err);

    json_decref(root);

    if (rc != ORBIS_OK) {
        orbis_req_login_free(out);
    }

    return rc;
}


void
orbis_req_login_free(orbis_req_login_t *l)
{
    orbis_free(l->email);
    orbis_req_wipe(l->password);

    memset(l, 0, sizeof(*l));
}


/*
 * "email" and "password", both required: a new password must follow the
 * rules, one being checked only has to fit
 */

static orbis_rc_t
orbis_req_credentials(json_t *root, int signup, char **email,
    char **password, orbis_err_t *err)
{
    size_t       n;
    orbis_rc_t   rc;
    const char  *s;

    rc = orbis_vjson_str(root, "email", 1, &s, &n, err);
    if (rc != ORBIS_OK
        || (rc = orbis_vemail("email", s, n, NULL, email, err)) != ORBIS_OK)
    {
        return rc;
    }

    rc = orbis_vjson_str(root, "password", 1, &s, &n, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    rc = signup ? orbis_password_check_rules(s, n, err)
                : orbis_vtext_check("password", s, n, 1,
                                    ORBIS_PASSWORD_MAX_BYTES,
                                    ORBIS_VTEXT_BYTES, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    *password = orbis_vstrdup(s, n);
    if (*password == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    return ORBIS_OK;
}


static orbis_rc_t
orbis_req_referral(json_t *obj, char **out, orbis_err_t *err)
{
    char         c;
    size_t       i, n;
    orbis_rc_t   rc;
    const char  *s;

    rc = orbis_vjson_str(obj, "referralCode", 0, &s, &n, err);
    if (rc != ORBIS_OK || s == NULL || n == 0) {
        return rc;
    }

    for (i = 0; i < n; i++) {
        c = s[i];

        /* the codes signup hands out are base64url */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            break;
        }
    }

    if (i < n || n < ORBIS_REFERRAL_MIN || n > ORBIS_REFERRAL_MAX) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "referralCode: must be %d to %d letters, "
                             "digits, hyphens or underscores",
                             ORBIS_REFERRAL_MIN,
                             ORBIS_REFERRAL_MAX);
    }

    *out = orbis_vstrdup(s, n);
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    return ORBIS_OK;
}


static void
orbis_req_wipe(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        orbis_free(s);
    }
}
