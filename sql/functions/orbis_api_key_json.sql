-- orbis_api_key_json: its current definition (first created by 0002_accounts.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

CREATE OR REPLACE FUNCTION orbis_api_key_json(k api_keys) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', k.id, 'name', k.name, 'kind', k.kind,
                             'prefix', k.prefix, 'last4', k.last4,
                             'allowedOrigins', k.allowed_origins,
                             'agentIds', k.agent_ids,
                             'createdAt', k.created_at,
                             'revokedAt', k.revoked_at)
$$;
