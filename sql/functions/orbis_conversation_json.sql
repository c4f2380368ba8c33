-- orbis_conversation_json: its current definition (first created by 0003_conversations.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

CREATE OR REPLACE FUNCTION orbis_conversation_json(c conversations) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', c.id, 'agentId', c.agent_id,
                             'agentName', c.agent_name,
                             'startedAt', c.started_at,
                             'endedAt', c.ended_at,
                             'durationSec', round(c.duration_ms / 1000.0, 3),
                             'endReason', c.end_reason,
                             'audioSecondsIn', c.audio_seconds_in,
                             'audioSecondsOut', c.audio_seconds_out,
                             'resumptions', c.resumptions,
                             'turnCount', c.turn_count,
                             'ttfaP50Ms', c.ttfa_p50_ms,
                             'ttfaP95Ms', c.ttfa_p95_ms)
$$;
