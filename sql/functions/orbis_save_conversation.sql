-- orbis_save_conversation: stores one finished call, its transcript
-- turns and tool calls, and counts it in its tenant's monthly usage.
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.
--
-- r is a record normalised by liborbiscore (orbis_record_normalize() in
-- orbiscore/record.h): every decision (which turns are kept, statuses,
-- the usage month, how an unfinished call ends, the time-to-first-audio
-- values and their percentiles, null without agent audio) is taken
-- there; this only stores it.  Idempotent on the call's id:
--   'inserted'  the call is new: stored, and counted in r.usageMonth;
--   'replaced'  a record the sweeper had saved (swept) is replaced by this
--               one, which is not swept (the worker's own, final record);
--               the usage was counted by the first save and is not again;
--   'kept'      a record is there already and stays (a swept record never
--               replaces anything, a final one is not replaced).
-- The agent's name and the key are looked up within the call's tenant.

CREATE OR REPLACE FUNCTION orbis_save_conversation(r jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id      uuid := (r->>'id')::uuid;
    v_tenant  uuid := (r->>'tenantId')::uuid;
    v_agent   uuid := (r->>'agentId')::uuid;
    v_swept   boolean := coalesce((r->>'swept')::boolean, false);
    v_old     boolean;
    v_outcome text;
BEGIN
    FOR i IN 1 .. 2 LOOP
        SELECT c.swept INTO v_old
          FROM conversations c
         WHERE c.id = v_id AND c.tenant_id = v_tenant
           FOR UPDATE;

        IF FOUND THEN
            IF NOT v_old OR v_swept THEN
                RETURN 'kept';
            END IF;

            DELETE FROM conversation_turns WHERE conversation_id = v_id;
            DELETE FROM conversation_tool_calls WHERE conversation_id = v_id;
            DELETE FROM conversations WHERE id = v_id;
            v_outcome := 'replaced';
        ELSE
            v_outcome := 'inserted';
        END IF;

        INSERT INTO conversations AS cv (id, tenant_id, agent_id, agent_name,
            key_id, mode, model, started_at, ended_at, duration_ms,
            end_reason, close_code, audio_seconds_in, audio_seconds_out,
            resumptions, prompt_tokens, response_tokens, total_tokens,
            turn_count, transcript_truncated, swept, saved_by,
            save_attempts, ttfa_ms, ttfa_p50_ms, ttfa_p95_ms)
        SELECT v_id, v_tenant, v_agent,
               coalesce((SELECT a.name FROM agents a
                          WHERE a.id = v_agent AND a.tenant_id = v_tenant),
                        ''),
               (SELECT k.id FROM api_keys k
                 WHERE k.id = (r->>'keyId')::uuid
                   AND k.tenant_id = v_tenant),
               r->>'mode', r->>'model',
               to_timestamp((r->>'startedMs')::double precision / 1000),
               to_timestamp((r->>'endedMs')::double precision / 1000),
               (r->>'durationMs')::bigint,
               r->>'endReason', (r->>'closeCode')::integer,
               (r->>'audioSecondsIn')::double precision,
               (r->>'audioSecondsOut')::double precision,
               (r->>'resumptions')::integer,
               (r->>'promptTokens')::bigint,
               (r->>'responseTokens')::bigint,
               (r->>'totalTokens')::bigint,
               (r->>'turnCount')::integer,
               (r->>'transcriptTruncated')::boolean,
               v_swept, r->>'source', (r->>'attempts')::integer,
               nullif(ARRAY(SELECT (e.v #>> '{}')::integer
                              FROM jsonb_array_elements(
                                       CASE jsonb_typeof(r->'ttfaMs')
                                       WHEN 'array' THEN r->'ttfaMs' END)
                                   WITH ORDINALITY AS e(v, n)
                             ORDER BY e.n), '{}'),
               (r->>'ttfaP50Ms')::integer, (r->>'ttfaP95Ms')::integer
        ON CONFLICT (id) DO NOTHING;

        IF FOUND THEN
            EXIT;
        END IF;

        -- another save of the same call committed first: look again
        v_outcome := NULL;
    END LOOP;

    IF v_outcome IS NULL THEN
        -- the id is taken, by another tenant's call
        RETURN 'kept';
    END IF;

    INSERT INTO conversation_turns (conversation_id, seq, role, text, at,
                                    typed, interrupted)
    SELECT v_id, e.n - 1, e.v->>'role', e.v->>'text',
           to_timestamp((e.v->>'atMs')::double precision / 1000),
           (e.v->>'typed')::boolean, (e.v->>'interrupted')::boolean
      FROM jsonb_array_elements(r->'turns') WITH ORDINALITY AS e(v, n);

    INSERT INTO conversation_tool_calls (conversation_id, seq, call_id, name,
                                         status, args, result, started_at,
                                         finished_at)
    SELECT v_id, e.n - 1, e.v->>'callId', e.v->>'name', e.v->>'status',
           nullif(e.v->'args', 'null'::jsonb),
           nullif(e.v->'result', 'null'::jsonb),
           to_timestamp((e.v->>'startedMs')::double precision / 1000),
           to_timestamp((e.v->>'finishedMs')::double precision / 1000)
      FROM jsonb_array_elements(r->'toolCalls') WITH ORDINALITY AS e(v, n);

    IF v_outcome = 'inserted' THEN
        INSERT INTO tenant_usage AS u (tenant_id, month, conversations)
        VALUES (v_tenant, (r->>'usageMonth')::date, 1)
        ON CONFLICT (tenant_id, month)
        DO UPDATE SET conversations = u.conversations + 1;
    END IF;

    RETURN v_outcome;
END
$$;
