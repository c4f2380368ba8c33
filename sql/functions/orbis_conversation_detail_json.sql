-- orbis_conversation_detail_json: its current definition (first created by 0003_conversations.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

CREATE OR REPLACE FUNCTION orbis_conversation_detail_json(c conversations) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (orbis_conversation_json(c)::jsonb || jsonb_build_object(
        'ttfaMs', coalesce(to_jsonb(c.ttfa_ms), '[]'::jsonb),
        'turns', coalesce((
            SELECT jsonb_agg(jsonb_build_object('role', t.role,
                                                'text', t.text,
                                                'at', t.at)
                             ORDER BY t.seq)
              FROM conversation_turns t
             WHERE t.conversation_id = c.id), '[]'::jsonb),
        'toolCalls', coalesce((
            SELECT jsonb_agg(jsonb_build_object('name', k.name,
                                                'status', k.status,
                                                'args', k.args,
                                                'result', k.result,
                                                'startedAt', k.started_at,
                                                'finishedAt', k.finished_at)
                             ORDER BY k.seq)
              FROM conversation_tool_calls k
             WHERE k.conversation_id = c.id), '[]'::jsonb)))::json
$$;
