/*
 * Copyright (C) Orbis
 *
 * libFuzzer target for every request-body parser of /api (validate.h) and
 * the browser's /stream messages (client.h).  The first input byte picks
 * the parser; the rest is the body.  Whatever parses must hold what the
 * header promises (lengths, distinct lists, canonical forms); whatever
 * does not must come with a message; either way the result is freed.
 *
 *   make fuzz && build/fuzz/fuzz_validate -runs=1000000 \
 *       tests/fuzz/corpus/validate
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/validate.h>
#include <orbiscore/client.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_failed(orbis_rc_t rc, const orbis_err_t *err);
static void fuzz_distinct(char **v, size_t n);
static void fuzz_origins(char **v, size_t n);
static void fuzz_text(const char *s, size_t max);


static const char *const  known_tools[] = {
    "score_lead", "generate_tone", "end_call"
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                        uuid[ORBIS_UUID_LEN + 1];
    char                        cur[ORBIS_CURSOR_MAX];
    size_t                      i;
    int64_t                     us;
    uint32_t                    limit;
    orbis_rc_t                  rc;
    orbis_err_t                 err;
    const char                 *body;
    orbis_req_agent_t           ag;
    orbis_req_login_t           lg;
    orbis_req_apikey_t          ak;
    orbis_req_signup_t          su;
    orbis_client_msg_t          cm;
    orbis_req_tenant_update_t   tu;

    if (size < 1) {
        return 0;
    }

    body = (const char *) data + 1;
    size--;

    memset(&err, 0, sizeof(err));

    switch (data[0] % 9) {

    case 0:
        rc = orbis_req_signup_parse(body, size, &su, &err);
        fuzz_failed(rc, &err);

        if (rc == ORBIS_OK) {
            if (!orbis_email_valid(su.email, strlen(su.email))
                || orbis_password_check_rules(su.password,
                                              strlen(su.password), &err)
                   != ORBIS_OK)
            {
                abort();
            }

            fuzz_text(su.tenant_name, ORBIS_NAME_MAX * 4);
            orbis_req_signup_free(&su);
        }

        break;

    case 1:
        rc = orbis_req_login_parse(body, size, &lg, &err);
        fuzz_failed(rc, &err);

        if (rc == ORBIS_OK) {
            fuzz_text(lg.email, ORBIS_EMAIL_MAX);
            orbis_req_login_free(&lg);
        }

        break;

    case 2:
        rc = orbis_req_tenant_update_parse(body, size, &tu, &err);
        fuzz_failed(rc, &err);

        if (rc == ORBIS_OK) {
            fuzz_origins(tu.allowed_origins, tu.n_allowed_origins);
            orbis_req_tenant_update_free(&tu);
        }

        break;

    case 3:
    case 4:
        rc = orbis_req_agent_parse(body, size, data[0] % 9 == 4,
                                   known_tools, 3, &ag, &err);
        fuzz_failed(rc, &err);

        if (rc == ORBIS_OK) {
            fuzz_distinct(ag.tools, ag.n_tools);

            if (ag.voice != NULL
                && !orbis_voice_valid(ag.voice, strlen(ag.voice)))
            {
                abort();
            }

            if (ag.language != NULL
                && !orbis_language_valid(ag.language, strlen(ag.language)))
            {
                abort();
            }

            orbis_req_agent_free(&ag);
        }

        break;

    case 5:
    case 6:
        rc = data[0] % 9 == 5
             ? orbis_req_apikey_parse(body, size, &ak, &err)
             : orbis_req_apikey_update_parse(body, size, &ak, &err);
        fuzz_failed(rc, &err);

        if (rc == ORBIS_OK) {
            fuzz_origins(ak.allowed_origins, ak.n_allowed_origins);
            fuzz_distinct(ak.agent_ids, ak.n_agent_ids);

            for (i = 0; i < ak.n_agent_ids; i++) {
                if (!orbis_uuid_valid(ak.agent_ids[i],
                                      strlen(ak.agent_ids[i])))
                {
                    abort();
                }
            }

            orbis_req_apikey_free(&ak);
        }

        break;

    case 7:
        rc = orbis_client_parse(body, size, &cm, &err);
        fuzz_failed(rc, &err);

        if (rc == ORBIS_OK && cm.type == ORBIS_CLIENT_MSG_TEXT
            && (cm.text == NULL || strlen(cm.text) != cm.text_len
                || cm.text_len == 0 || cm.text_len > ORBIS_CLIENT_TEXT_MAX))
        {
            abort();
        }

        orbis_client_msg_free(&cm);
        break;

    default:
        /* cursors round-trip; limits, UUIDs, emails, languages */
        if (orbis_cursor_decode(body, size, &us, uuid, &err) == ORBIS_OK) {
            if (orbis_cursor_encode(us, uuid, cur, sizeof(cur)) != ORBIS_OK
                || orbis_cursor_decode(cur, strlen(cur), &us, uuid, &err)
                   != ORBIS_OK)
            {
                abort();
            }
        }

        if (orbis_limit_parse(body, size, &limit, &err) == ORBIS_OK
            && (limit == 0 || limit > ORBIS_LIMIT_MAX))
        {
            abort();
        }

        (void) orbis_uuid_valid(body, size);
        (void) orbis_email_valid(body, size);
        (void) orbis_language_valid(body, size);
        (void) orbis_voice_valid(body, size);
        break;
    }

    return 0;
}


static void
fuzz_failed(orbis_rc_t rc, const orbis_err_t *err)
{
    if (rc != ORBIS_OK && (err->code != rc || err->msg[0] == '\0')) {
        abort();
    }
}


static void
fuzz_distinct(char **v, size_t n)
{
    size_t  i, j;

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            if (strcmp(v[i], v[j]) == 0) {
                abort();
            }
        }
    }
}


static void
fuzz_origins(char **v, size_t n)
{
    size_t  i;

    if (n > ORBIS_ORIGINS_MAX) {
        abort();
    }

    fuzz_distinct(v, n);

    for (i = 0; i < n; i++) {
        if (!orbis_origin_valid(v[i], strlen(v[i]))) {
            abort();
        }
    }
}


static void
fuzz_text(const char *s, size_t max)
{
    if (s == NULL || strlen(s) > max) {
        abort();
    }
}
