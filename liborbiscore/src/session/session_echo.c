/*
 * Copyright (C) Orbis
 *
 * Echo mode has no model to transcribe the caller, so a crude voice
 * detector stands in for one: each utterance (speech, then half a second
 * of quieter audio) becomes a user turn and a short agent answer, with
 * interim transcripts while it lasts, so that transcripts, turns and the
 * saved conversation all work with no network.
 */


#include <stdio.h>
#include <string.h>

#include <orbiscore/audio.h>

#include "session/session_int.h"



/*
 * Echo mode has no model to transcribe the caller, so a crude voice
 * detector stands in for one: each utterance (speech, then half a second
 * of quieter audio) becomes a user turn and a short agent answer, with
 * interim transcripts while it lasts, so that transcripts, turns and the
 * saved conversation all work with no network.
 */

orbis_rc_t
orbis_session_echo_listen(orbis_session_t *s, const uint8_t *pcm,
    size_t len, int64_t now, orbis_session_actions_t *a)
{
    char        text[96];
    uint32_t    ms, heard;
    orbis_rc_t  rc;

    ms = (uint32_t) orbis_pcm_duration_ms(len, s->in_rate);

    if (orbis_pcm_rms(pcm, len) >= ORBIS_SESSION_VOICE_RMS) {
        s->echo_voiced_ms += ms;
        s->echo_silent_ms = 0;

        if (s->echo_voiced_ms - s->echo_interim_ms
            < ORBIS_SESSION_ECHO_INTERIM_MS)
        {
            return ORBIS_OK;
        }

        s->echo_interim_ms = s->echo_voiced_ms;

        snprintf(text, sizeof(text), "(speaking... %u.%u s)",
                 (unsigned) (s->echo_voiced_ms / 1000),
                 (unsigned) (s->echo_voiced_ms % 1000 / 100));

        return orbis_session_caller_transcript(a, ORBIS_CLIENT_ROLE_USER,
                                               text, strlen(text), 0);
    }

    if (s->echo_voiced_ms == 0) {
        return ORBIS_OK;
    }

    s->echo_silent_ms += ms;

    if (s->echo_silent_ms < ORBIS_SESSION_ECHO_SILENCE_MS) {
        return ORBIS_OK;
    }

    heard = s->echo_voiced_ms;

    s->echo_voiced_ms = 0;
    s->echo_silent_ms = 0;
    s->echo_interim_ms = 0;
    s->echo_utterances++;
    s->agent_speaking = 0;

    snprintf(text, sizeof(text),
             "(echo mode) utterance %u, %u.%u s of speech",
             (unsigned) s->echo_utterances, (unsigned) (heard / 1000),
             (unsigned) (heard % 1000 / 100));

    rc = orbis_session_echo_turn(s, ORBIS_CLIENT_ROLE_USER, text, now, a);
    if (rc != ORBIS_OK) {
        return rc;
    }

    snprintf(text, sizeof(text), "I heard %u.%u seconds of audio.",
             (unsigned) (heard / 1000), (unsigned) (heard % 1000 / 100));

    rc = orbis_session_echo_turn(s, ORBIS_CLIENT_ROLE_AGENT, text, now, a);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_session_caller_simple(a, ORBIS_CALLER_OUT_TURN_COMPLETE);
}


/* a whole turn at once: recorded, and its final transcript sent */

orbis_rc_t
orbis_session_echo_turn(orbis_session_t *s, orbis_client_role_t role,
    const char *text, int64_t now, orbis_session_actions_t *a)
{
    int         idx;
    orbis_rc_t  rc;

    rc = orbis_session_close_turn(s, 1, a);

    if (rc == ORBIS_OK) {
        rc = orbis_session_new_turn(s, role, now, text, strlen(text), &idx);
    }

    if (rc != ORBIS_OK) {
        return rc;
    }

    if (idx < 0) {
        /* over the caps: shown, not kept */
        return orbis_session_caller_transcript(a, role, text, strlen(text),
                                               1);
    }

    /* closing it sends the final transcript with the whole text */
    return orbis_session_close_turn(s, 1, a);
}
