/*
 * Copyright (C) Orbis
 *
 * The browser transport's adapter: /stream's frames to the session's
 * normalised caller events, and the session's events for the caller to
 * the JSON events of client.h.
 */


#include <string.h>

#include <orbiscore/client.h>


const orbis_caller_codec_t  orbis_client_codec = {
    "browser",
    orbis_client_render
};


orbis_rc_t
orbis_client_render(void *ctx, orbis_strbuf_t *out,
    const orbis_caller_out_t *ev, orbis_err_t *err)
{
    (void) ctx;

    switch (ev->type) {

    case ORBIS_CALLER_OUT_READY:
        return orbis_client_build_ready(out, ev->session_id, ev->echo,
                                        ev->input_rate, ev->output_rate, err);

    case ORBIS_CALLER_OUT_TRANSCRIPT:
        return orbis_client_build_transcript(out, ev->role, ev->text,
                                             ev->text_len, ev->final, err);

    case ORBIS_CALLER_OUT_INTERRUPTED:
        return orbis_client_build_interrupted(out, err);

    case ORBIS_CALLER_OUT_TURN_COMPLETE:
        return orbis_client_build_turn_complete(out, err);

    case ORBIS_CALLER_OUT_TOOL:
        return orbis_client_build_tool(out, ev->name, ev->tool_status, err);

    case ORBIS_CALLER_OUT_ERROR:
        return orbis_client_build_error(out, ev->name,
                                        ev->text != NULL ? ev->text : "",
                                        err);

    default:
        return orbis_err_set(err, ORBIS_ERR_INVALID, "unknown event %d",
                             (int) ev->type);
    }
}


orbis_rc_t
orbis_client_to_event(const char *msg, size_t len, orbis_client_msg_t *m,
    orbis_caller_in_t *ev, orbis_err_t *err)
{
    orbis_rc_t  rc;

    memset(ev, 0, sizeof(orbis_caller_in_t));

    rc = orbis_client_parse(msg, len, m, err);

    if (rc == ORBIS_ERR_NOMEM) {
        return rc;
    }

    if (rc != ORBIS_OK) {
        ev->type = ORBIS_CALLER_BAD;
        ev->text = err->msg;
        ev->text_len = strlen(err->msg);
        return ORBIS_OK;
    }

    if (m->type == ORBIS_CLIENT_MSG_END) {
        ev->type = ORBIS_CALLER_HANGUP;
        return ORBIS_OK;
    }

    ev->type = ORBIS_CALLER_TEXT;
    ev->text = m->text;
    ev->text_len = m->text_len;

    return ORBIS_OK;
}


orbis_rc_t
orbis_client_on_text(orbis_session_t *s, const char *msg, size_t len,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t          rc;
    orbis_err_t         err;
    orbis_caller_in_t   ev;
    orbis_client_msg_t  m;

    if (orbis_session_is_over(s)) {
        /* not even parsed: a flood after its close costs nothing */
        a->n = 0;
        return ORBIS_OK;
    }

    rc = orbis_client_to_event(msg, len, &m, &ev, &err);

    if (rc == ORBIS_OK) {
        rc = orbis_session_on_caller(s, &ev, now_ms, a);

    } else {
        /* the session is not called: its list must not show old actions */
        a->n = 0;
    }

    orbis_client_msg_free(&m);

    return rc;
}


orbis_rc_t
orbis_client_on_audio(orbis_session_t *s, const uint8_t *pcm, size_t len,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_caller_in_t  ev;

    memset(&ev, 0, sizeof(orbis_caller_in_t));
    ev.type = ORBIS_CALLER_AUDIO;
    ev.audio = pcm;
    ev.audio_len = len;
    ev.rate = ORBIS_CLIENT_INPUT_RATE;
    ev.codec = ORBIS_AUDIO_PCM16LE;

    return orbis_session_on_caller(s, &ev, now_ms, a);
}


orbis_rc_t
orbis_client_on_bytes(orbis_session_t *s, size_t n, int64_t now_ms,
    orbis_session_actions_t *a)
{
    orbis_caller_in_t  ev;

    memset(&ev, 0, sizeof(orbis_caller_in_t));
    ev.type = ORBIS_CALLER_WIRE;
    ev.audio_len = n;

    return orbis_session_on_caller(s, &ev, now_ms, a);
}
