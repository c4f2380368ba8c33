/*
 * Copyright (C) Orbis
 *
 * Transcript turns (append-only: only the last may still change), their
 * caps, and time to first audio.
 */


#include <string.h>

#include <orbiscore/alloc.h>

#include "base/base_int.h"
#include "session/session_int.h"


static orbis_rc_t orbis_session_turn_append(orbis_session_t *s,
    orbis_session_turn_t *t, const char *text, size_t len);
static size_t orbis_session_json_len(const char *text, size_t len);


/*
 * Opens a turn holding text[0..len); *idx is -1 when nothing was stored:
 * empty text, or over the caps (the transcript is then marked truncated).
 */

orbis_rc_t
orbis_session_new_turn(orbis_session_t *s, orbis_client_role_t role,
    int64_t now, const char *text, size_t len, int *idx)
{
    size_t                 cost;
    orbis_rc_t             rc;
    orbis_session_turn_t  *turns, *t;

    *idx = -1;

    if (len == 0) {
        return ORBIS_OK;
    }

    cost = ORBIS_SESSION_TURN_COST + orbis_session_json_len(text, len);

    if (s->n_turns >= ORBIS_SESSION_MAX_TURNS
        || s->transcript_bytes + cost > ORBIS_SESSION_MAX_TRANSCRIPT)
    {
        s->transcript_truncated = 1;
        return ORBIS_OK;
    }

    turns = orbis_array_room(s->turns, s->n_turns, &s->cap_turns, 16,
                             sizeof(orbis_session_turn_t));
    if (turns == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    s->turns = turns;

    t = &s->turns[s->n_turns];
    memset(t, 0, sizeof(orbis_session_turn_t));
    orbis_strbuf_init(&t->text);
    t->role = role;
    t->started_ms = now;

    rc = orbis_strbuf_append(&t->text, text, len);
    if (rc != ORBIS_OK) {
        return rc;
    }

    s->transcript_bytes += cost;

    *idx = (int) s->n_turns++;
    s->open_turn = *idx;

    return ORBIS_OK;
}


/* whole fragments only, so a cut never splits a UTF-8 sequence */

static orbis_rc_t
orbis_session_turn_append(orbis_session_t *s, orbis_session_turn_t *t,
    const char *text, size_t len)
{
    size_t      cost;
    orbis_rc_t  rc;

    cost = orbis_session_json_len(text, len);

    if (s->transcript_bytes + cost > ORBIS_SESSION_MAX_TRANSCRIPT) {
        s->transcript_truncated = 1;
        return ORBIS_OK;
    }

    rc = orbis_strbuf_append(&t->text, text, len);
    if (rc == ORBIS_OK) {
        s->transcript_bytes += cost;
    }

    return rc;
}


orbis_rc_t
orbis_session_fragment(orbis_session_t *s, orbis_client_role_t role,
    const char *text, int64_t now, orbis_session_actions_t *a)
{
    int         idx;
    size_t      len;
    orbis_rc_t  rc;

    len = strlen(text);
    if (len == 0) {
        return ORBIS_OK;
    }

    if (s->open_turn >= 0 && s->turns[s->open_turn].role != role) {
        rc = orbis_session_close_turn(s, 1, a);
        if (rc != ORBIS_OK) {
            return rc;
        }
    }

    if (s->open_turn < 0) {
        rc = orbis_session_new_turn(s, role, now, text, len, &idx);

    } else {
        rc = orbis_session_turn_append(s, &s->turns[s->open_turn], text,
                                       len);
    }

    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_session_caller_transcript(a, role, text, len, 0);
}


orbis_rc_t
orbis_session_close_turn(orbis_session_t *s, int notify,
    orbis_session_actions_t *a)
{
    orbis_session_turn_t  *t;

    if (s->open_turn < 0) {
        return ORBIS_OK;
    }

    t = &s->turns[s->open_turn];
    t->final = 1;
    s->open_turn = -1;

    if (!notify || t->text.len == 0) {
        return ORBIS_OK;
    }

    return orbis_session_caller_transcript(a, t->role, t->text.data,
                                           t->text.len, 1);
}


void
orbis_session_free_turns(orbis_session_t *s)
{
    size_t  i;

    for (i = 0; i < s->n_turns; i++) {
        orbis_strbuf_free(&s->turns[i].text);
    }

    orbis_free(s->turns);
    orbis_free(s->ttfa);

    s->turns = NULL;
    s->n_turns = 0;
    s->ttfa = NULL;
    s->n_ttfa = 0;
}


/* the caller said something (voiced audio, typed text): TTFA counts on */

void
orbis_session_caller_input(orbis_session_t *s, int64_t now)
{
    s->caller_mark_ms = now;
}


/*
 * The agent's audio goes to the caller: the first of an agent turn that
 * answers caller input is a time-to-first-audio sample.
 */

orbis_rc_t
orbis_session_agent_audio(orbis_session_t *s, int64_t now)
{
    int64_t  *v;

    if (s->agent_speaking) {
        return ORBIS_OK;
    }

    s->agent_speaking = 1;

    if (s->caller_mark_ms < 0) {
        return ORBIS_OK;
    }

    if (s->n_ttfa < ORBIS_SESSION_MAX_TTFA_SAMPLES) {
        if ((s->n_ttfa & (s->n_ttfa - 1)) == 0) {
            /* 0, 1, 2, 4, 8...: grow to the next power of two */
            v = orbis_realloc(s->ttfa, (s->n_ttfa ? s->n_ttfa * 2 : 1)
                                       * sizeof(int64_t));
            if (v == NULL) {
                return ORBIS_ERR_NOMEM;
            }

            s->ttfa = v;
        }

        s->ttfa[s->n_ttfa++] = (now > s->caller_mark_ms)
                               ? now - s->caller_mark_ms : 0;
    }

    s->caller_mark_ms = -1;

    return ORBIS_OK;
}


/* the length of text[0..len) inside a JSON string, at most */

static size_t
orbis_session_json_len(const char *text, size_t len)
{
    size_t          i, n;
    unsigned char   c;

    for (i = 0, n = 0; i < len; i++) {
        c = (unsigned char) text[i];
        n += (c == '"' || c == '\\') ? 2 : (c < 0x20) ? 6 : 1;
    }

    return n;
}


int
orbis_session_blank(const char *text, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n'
            && text[i] != '\r')
        {
            return 0;
        }
    }

    return 1;
}
