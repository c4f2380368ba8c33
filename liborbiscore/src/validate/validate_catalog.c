/*
 * Copyright (C) Orbis
 */


#include <string.h>

#include "validate_int.h"


/*
 * The Gemini Live prebuilt voices (speechConfig.voiceConfig.
 * prebuiltVoiceConfig.voiceName), as the API spells them.
 */
static const char *const  orbis_voice_names[] = {
    "Achernar", "Achird", "Algenib", "Algieba", "Alnilam", "Aoede",
    "Autonoe", "Callirrhoe", "Charon", "Despina", "Enceladus", "Erinome",
    "Fenrir", "Gacrux", "Iapetus", "Kore", "Laomedeia", "Leda", "Orus",
    "Pulcherrima", "Puck", "Rasalgethi", "Sadachbia", "Sadaltager",
    "Schedar", "Sulafat", "Umbriel", "Vindemiatrix", "Zephyr",
    "Zubenelgenubi"
};

#define ORBIS_NVOICES  (sizeof(orbis_voice_names) / sizeof(char *))


/*
 * The languages an agent is offered in the dashboard (Gemini Live's
 * speech languages); orbis_language_valid() accepts any well-formed tag.
 * ORBIS_LANGUAGE_DEFAULT is the first.
 */
static const char *const  orbis_language_names[] = {
    ORBIS_LANGUAGE_DEFAULT, "en-GB", "en-AU", "en-IN", "es-US", "es-ES",
    "fr-FR", "fr-CA", "de-DE", "it-IT", "pt-BR", "nl-NL", "pl-PL", "ru-RU",
    "tr-TR", "ar-XA", "hi-IN", "bn-IN", "ta-IN", "te-IN", "mr-IN", "ja-JP",
    "ko-KR", "cmn-CN", "id-ID", "th-TH", "vi-VN"
};

#define ORBIS_NLANGUAGES  (sizeof(orbis_language_names) / sizeof(char *))


const char *const *
orbis_languages(size_t *n)
{
    if (n != NULL) {
        *n = ORBIS_NLANGUAGES;
    }

    return orbis_language_names;
}


const char *const *
orbis_voices(size_t *n)
{
    if (n != NULL) {
        *n = ORBIS_NVOICES;
    }

    return orbis_voice_names;
}


int
orbis_voice_valid(const char *s, size_t len)
{
    size_t  i;

    if (s == NULL) {
        return 0;
    }

    for (i = 0; i < ORBIS_NVOICES; i++) {
        if (strlen(orbis_voice_names[i]) == len
            && memcmp(orbis_voice_names[i], s, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


orbis_rc_t
orbis_vvoice(const char *field, const char *s, size_t len, orbis_err_t *err)
{
    char    quoted[64];
    size_t  i, used, n;

    if (orbis_voice_valid(s, len)) {
        return ORBIS_OK;
    }

    orbis_err_set(err, ORBIS_ERR_INVALID, "%s: unknown voice%s; one of ",
                  field, orbis_vquote(s, len, quoted, sizeof(quoted)));

    if (err == NULL) {
        return ORBIS_ERR_INVALID;
    }

    /* as many names as fit, then ", ..." */
    used = strlen(err->msg);

    if (used + sizeof(", ...") > sizeof(err->msg)) {
        return ORBIS_ERR_INVALID;
    }

    for (i = 0; i < ORBIS_NVOICES; i++) {
        n = strlen(orbis_voice_names[i]);

        if (used + (i ? 2 : 0) + n + sizeof(", ...") > sizeof(err->msg)) {
            memcpy(err->msg + used, ", ...", sizeof(", ..."));
            return ORBIS_ERR_INVALID;
        }

        if (i) {
            memcpy(err->msg + used, ", ", 2);
            used += 2;
        }

        memcpy(err->msg + used, orbis_voice_names[i], n + 1);
        used += n;
    }

    return ORBIS_ERR_INVALID;
}


orbis_rc_t
orbis_vtool(const char *field, const char *s, size_t len, const void *ctx,
    char **out, orbis_err_t *err)
{
    char                  quoted[64];
    size_t                i;
    const orbis_vtools_t  *tools;

    tools = ctx;

    for (i = 0; tools != NULL && i < tools->n; i++) {
        if (tools->names[i] != NULL && strlen(tools->names[i]) == len
            && memcmp(tools->names[i], s, len) == 0)
        {
            *out = orbis_vstrdup(s, len);
            if (*out == NULL) {
                return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
            }

            return ORBIS_OK;
        }
    }

    return orbis_err_set(err, ORBIS_ERR_INVALID, "%s: unknown tool%s", field,
                         orbis_vquote(s, len, quoted, sizeof(quoted)));
}
