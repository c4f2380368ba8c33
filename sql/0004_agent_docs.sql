-- 0004: each agent keeps its API document, rendered when it is written,
-- so that listing agents (the hottest read of the dashboard and of API
-- clients) reads stored text instead of building JSON per row per request.

ALTER TABLE agents ADD COLUMN doc text;
ALTER TABLE agents ADD COLUMN created_us bigint;

CREATE FUNCTION orbis_agent_render() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := CASE WHEN TG_OP = 'UPDATE' THEN now()
                           ELSE NEW.updated_at END;
    NEW.created_us := (extract(epoch FROM NEW.created_at) * 1000000)::bigint;
    NEW.doc := orbis_agent_json(NEW)::text;
    RETURN NEW;
END
$$;

-- one trigger does both, so the document carries the new updated_at
DROP TRIGGER agents_touch ON agents;

CREATE TRIGGER agents_render BEFORE INSERT OR UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION orbis_agent_render();

UPDATE agents SET name = name;

ALTER TABLE agents ALTER COLUMN doc SET NOT NULL;
ALTER TABLE agents ALTER COLUMN created_us SET NOT NULL;

DROP INDEX agents_page;
CREATE INDEX agents_page ON agents (tenant_id, created_us DESC, id DESC)
    INCLUDE (doc) WHERE deleted_at IS NULL;
