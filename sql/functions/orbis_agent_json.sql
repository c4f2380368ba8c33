-- orbis_agent_json: its current definition (first created by 0002_accounts.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

CREATE OR REPLACE FUNCTION orbis_agent_json(a agents) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', a.id, 'name', a.name,
                             'systemPrompt', a.system_prompt,
                             'voice', a.voice, 'greeting', a.greeting,
                             'language', a.language, 'tools', a.tools,
                             'idleTimeoutSec', a.idle_timeout_sec,
                             'createdAt', a.created_at,
                             'updatedAt', a.updated_at)
$$;
