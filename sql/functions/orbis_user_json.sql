-- orbis_user_json: its current definition (first created by 0002_accounts.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

CREATE OR REPLACE FUNCTION orbis_user_json(u users) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', u.id, 'email', u.email, 'name', u.name,
                             'role', u.role, 'createdAt', u.created_at)
$$;
