/*
 * Copyright (C) Orbis
 *
 * The Gemini peer's adapter: the session's normalised events for the
 * model as Gemini Live messages, and Gemini's messages and closes as the
 * session's peer events.
 */


#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/gemini.h>

#include "base/base_int.h"


struct orbis_gemini_peer_s {
    orbis_gemini_setup_t  setup;   /* strings and array owned */
};


const orbis_peer_codec_t  orbis_gemini_codec = {
    "gemini",
    orbis_gemini_render
};


orbis_gemini_peer_t *
orbis_gemini_peer_new(const orbis_gemini_setup_t *setup, orbis_err_t *err)
{
    int                   failed;
    orbis_rc_t            rc;
    orbis_strbuf_t        b;
    orbis_gemini_peer_t  *p;

    /* refuse a setup Gemini would never get, before the call starts */
    orbis_strbuf_init(&b);
    rc = orbis_gemini_append_setup(&b, setup, err);
    orbis_strbuf_free(&b);

    if (rc != ORBIS_OK) {
        return NULL;
    }

    p = orbis_calloc(1, sizeof(orbis_gemini_peer_t));
    if (p == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return NULL;
    }

    failed = 0;

    p->setup.model = orbis_strdup_or_flag(setup->model, &failed);
    p->setup.system_prompt = orbis_strdup_or_flag(setup->system_prompt,
                                                  &failed);
    p->setup.voice = orbis_strdup_or_flag(setup->voice, &failed);
    p->setup.language = orbis_strdup_or_flag(setup->language, &failed);
    p->setup.input_transcription = setup->input_transcription;
    p->setup.output_transcription = setup->output_transcription;

    if (setup->function_declarations != NULL) {
        p->setup.function_declarations =
            json_deep_copy(setup->function_declarations);

        if (p->setup.function_declarations == NULL) {
            failed = 1;
        }
    }

    if (failed) {
        orbis_gemini_peer_free(p);
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return NULL;
    }

    return p;
}


void
orbis_gemini_peer_free(orbis_gemini_peer_t *p)
{
    if (p == NULL) {
        return;
    }

    orbis_free((char *) p->setup.model);
    orbis_free((char *) p->setup.system_prompt);
    orbis_free((char *) p->setup.voice);
    orbis_free((char *) p->setup.language);
    json_decref(p->setup.function_declarations);
    orbis_free(p);
}


const char *
orbis_gemini_peer_model(const orbis_gemini_peer_t *p)
{
    return p->setup.model;
}


orbis_rc_t
orbis_gemini_render(void *ctx, orbis_strbuf_t *out,
    const orbis_peer_out_t *ev, orbis_err_t *err)
{
    orbis_rc_t                   rc;
    orbis_gemini_peer_t         *p = ctx;
    orbis_gemini_fn_response_t   fr;

    switch (ev->type) {

    case ORBIS_PEER_OUT_SETUP:
        if (p == NULL) {
            return orbis_err_set(err, ORBIS_ERR_INVALID, "no setup");
        }

        /* the handle goes into this one setup only */
        p->setup.resume_handle = ev->resume_handle;
        rc = orbis_gemini_append_setup(out, &p->setup, err);
        p->setup.resume_handle = NULL;

        return rc;

    case ORBIS_PEER_OUT_AUDIO:
        return orbis_gemini_build_audio(out, ev->audio, ev->audio_len,
                                        ev->rate, err);

    case ORBIS_PEER_OUT_TEXT:
        return orbis_gemini_build_text(out, ev->text, ev->text_len, err);

    case ORBIS_PEER_OUT_TOOL_RESULT:
        fr.id = ev->tool_id;
        fr.name = ev->tool_name;
        fr.response = (json_t *) ev->response;

        return orbis_gemini_build_tool_response(out, &fr, 1, err);

    default:
        return orbis_err_set(err, ORBIS_ERR_INVALID, "unknown event %d",
                             (int) ev->type);
    }
}


void
orbis_gemini_to_event(const orbis_gemini_msg_t *m,
    orbis_peer_tool_call_t *calls, orbis_peer_in_t *ev)
{
    size_t  i;

    memset(ev, 0, sizeof(orbis_peer_in_t));

    ev->ready = m->setup_complete;

    ev->audio = m->audio;
    ev->audio_len = m->audio_len;
    ev->audio_rate = m->audio_rate;
    ev->text = (m->text_len > 0);

    ev->input_transcript = m->input_transcription;
    ev->output_transcript = m->output_transcription;
    ev->interrupted = m->interrupted;
    ev->turn_complete = m->turn_complete;

    for (i = 0; i < m->n_tool_calls; i++) {
        calls[i].id = m->tool_calls[i].id;
        calls[i].name = m->tool_calls[i].name;
        calls[i].args = m->tool_calls[i].args;
    }

    ev->tool_calls = calls;
    ev->n_tool_calls = m->n_tool_calls;
    ev->cancelled_ids = m->cancelled_ids;
    ev->n_cancelled_ids = m->n_cancelled_ids;

    ev->going_away = m->go_away;
    ev->going_away_ms = m->go_away_ms;

    /* only a handle Gemini says can be resumed is one */
    ev->resume_handle = (m->resumption_update && m->resumable)
                        ? m->new_handle : NULL;

    ev->usage = m->usage;
    ev->prompt_tokens = m->prompt_tokens;
    ev->response_tokens = m->response_tokens;
    ev->total_tokens = m->total_tokens;
}


orbis_rc_t
orbis_gemini_on_message(orbis_session_t *s, const char *msg, size_t len,
    int64_t now_ms, orbis_session_actions_t *a)
{
    orbis_rc_t               rc;
    orbis_peer_in_t          ev;
    orbis_gemini_msg_t       m;
    orbis_peer_tool_call_t   one[4], *calls;

    if (orbis_session_is_over(s)) {
        a->n = 0;
        return ORBIS_OK;
    }

    rc = orbis_gemini_parse(msg, len, &m, NULL);
    if (rc != ORBIS_OK) {
        a->n = 0;
        return rc;
    }

    calls = one;

    if (m.n_tool_calls > sizeof(one) / sizeof(one[0])) {
        calls = orbis_malloc(m.n_tool_calls * sizeof(orbis_peer_tool_call_t));
        if (calls == NULL) {
            orbis_gemini_msg_free(&m);
            a->n = 0;
            return ORBIS_ERR_NOMEM;
        }
    }

    orbis_gemini_to_event(&m, calls, &ev);

    rc = orbis_session_on_peer(s, &ev, now_ms, a);

    if (calls != one) {
        orbis_free(calls);
    }

    orbis_gemini_msg_free(&m);

    return rc;
}


orbis_rc_t
orbis_gemini_on_close(orbis_session_t *s, uint16_t code, const char *reason,
    int64_t now_ms, orbis_session_actions_t *a)
{
    return orbis_session_on_peer_close(s,
               orbis_gemini_close_class(code, reason)
               == ORBIS_GEMINI_CLOSE_RETRYABLE, now_ms, a);
}
