-- orbis_agent_render: its current definition (first created by 0004_agent_docs.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

CREATE OR REPLACE FUNCTION orbis_agent_render() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := CASE WHEN TG_OP = 'UPDATE' THEN now()
                           ELSE NEW.updated_at END;
    NEW.created_us := (extract(epoch FROM NEW.created_at) * 1000000)::bigint;
    NEW.doc := orbis_agent_json(NEW)::text;
    RETURN NEW;
END
$$;
