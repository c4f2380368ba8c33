-- Whether a tenant may have one more of what ('agents' or 'api_keys',
-- live ones: agents not deleted, keys not revoked): NULL when it may,
-- else the plan's limit.  The tenant's row stays locked until the
-- caller's statement commits, so two creates cannot both take the last
-- place: the second waits, then counts the first (a new snapshot per
-- statement in here).  Use it in the INSERT's own statement:
--     WITH q AS (SELECT orbis_plan_room($1, 'agents') AS plan_max), ins AS
--     (INSERT ... SELECT ... FROM q WHERE q.plan_max IS NULL RETURNING ...)

CREATE OR REPLACE FUNCTION orbis_plan_room(p_tenant uuid, p_what text)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_max    integer;
    v_count  integer;
BEGIN
    SELECT CASE p_what WHEN 'agents' THEN p.max_agents
                       WHEN 'api_keys' THEN p.max_api_keys END
      INTO v_max
      FROM tenants t JOIN plans p ON p.id = t.plan
     WHERE t.id = p_tenant
       FOR NO KEY UPDATE OF t;

    IF v_max IS NULL THEN
        RETURN NULL;    -- no such tenant: the insert itself will say so
    END IF;

    IF p_what = 'agents' THEN
        SELECT count(*) INTO v_count FROM agents
         WHERE tenant_id = p_tenant AND deleted_at IS NULL;
    ELSE
        SELECT count(*) INTO v_count FROM api_keys
         WHERE tenant_id = p_tenant AND revoked_at IS NULL;
    END IF;

    RETURN CASE WHEN v_count < v_max THEN NULL ELSE v_max END;
END
$$;
