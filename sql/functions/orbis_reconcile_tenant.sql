-- orbis_reconcile_tenant: its current definition (first created by 0002_accounts.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

-- Config-file tenants: one call per declared tenant, idempotent.  Declared
-- fields win; nothing that is not declared is deleted.  What a tenant
-- removed through the API stays removed (a reload is not an undo):
--  - a key revoked through the API stays revoked while the file declares
--    the same hash for it; a different hash (a new key) is live again;
--  - an agent deleted through the API stays deleted while the file
--    declares it as it did when it was last reconciled (agents.
--    config_digest, an md5 of its declaration, prompt included); any
--    change to the declaration brings it back, as declared.
CREATE OR REPLACE FUNCTION orbis_reconcile_tenant(d json) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    tid      uuid;
    a        json;
    k        json;
    digest   text;
    deleted  boolean;
    seen     text;
BEGIN
    INSERT INTO tenants (slug, name, plan, billing_email, allowed_origins,
                         from_config)
    VALUES (d->>'slug', coalesce(d->>'name', d->>'slug'),
            coalesce(d->>'plan', 'free'), d->>'billingEmail',
            coalesce(orbis_text_array(d->'allowedOrigins'), '{}'), true)
    ON CONFLICT (slug) DO UPDATE
       SET name = coalesce(d->>'name', tenants.name),
           plan = coalesce(d->>'plan', tenants.plan),
           billing_email = coalesce(d->>'billingEmail',
                                    tenants.billing_email),
           allowed_origins = coalesce(orbis_text_array(d->'allowedOrigins'),
                                      tenants.allowed_origins),
           from_config = true
    RETURNING id INTO tid;

    FOR a IN SELECT * FROM json_array_elements(coalesce(d->'agents', '[]'))
    LOOP
        -- jsonb: the same declaration gives the same text, key order aside
        digest := md5(a::jsonb::text);

        SELECT ag.deleted_at IS NOT NULL, ag.config_digest
          INTO deleted, seen
          FROM agents ag
         WHERE ag.tenant_id = tid AND ag.slug = a->>'slug'
           FOR UPDATE;

        -- deleted through the API, and the file says what it said then
        -- (or it was deleted before digests were kept): it stays deleted
        IF FOUND AND deleted AND (seen IS NULL OR seen = digest) THEN
            IF seen IS NULL THEN
                UPDATE agents SET config_digest = digest
                 WHERE tenant_id = tid AND slug = a->>'slug';
            END IF;

            CONTINUE;
        END IF;

        INSERT INTO agents (tenant_id, slug, name, system_prompt, voice,
                            greeting, language, tools, config_digest)
        VALUES (tid, a->>'slug', coalesce(a->>'name', a->>'slug'),
                coalesce(a->>'systemPrompt', ''), a->>'voice',
                coalesce(a->>'greeting', ''),
                a->>'language',     -- the core fills its default in
                coalesce(orbis_text_array(a->'tools'), '{}'), digest)
        ON CONFLICT (tenant_id, slug) DO UPDATE
           SET name = coalesce(a->>'name', agents.name),
               system_prompt = coalesce(a->>'systemPrompt',
                                        agents.system_prompt),
               voice = coalesce(a->>'voice', agents.voice),
               greeting = coalesce(a->>'greeting', agents.greeting),
               language = coalesce(a->>'language', agents.language),
               tools = coalesce(orbis_text_array(a->'tools'), agents.tools),
               config_digest = EXCLUDED.config_digest,
               deleted_at = NULL;
    END LOOP;

    FOR k IN SELECT * FROM json_array_elements(coalesce(d->'apiKeys', '[]'))
    LOOP
        INSERT INTO api_keys (tenant_id, slug, name, kind, key_hash, prefix,
                              last4, allowed_origins, agent_ids)
        VALUES (tid, k->>'slug', coalesce(k->>'name', k->>'slug'),
                k->>'kind', k->>'hash', coalesce(k->>'prefix', ''),
                coalesce(k->>'last4', ''),
                coalesce(orbis_text_array(k->'allowedOrigins'), '{}'),
                ARRAY(SELECT ag.id FROM agents ag
                       WHERE ag.tenant_id = tid
                         AND ag.deleted_at IS NULL
                         AND ag.slug = ANY (orbis_text_array(k->'agents'))))
        ON CONFLICT (tenant_id, slug) DO UPDATE
           SET name = coalesce(k->>'name', api_keys.name),
               kind = k->>'kind',
               key_hash = k->>'hash',
               prefix = coalesce(k->>'prefix', api_keys.prefix),
               last4 = coalesce(k->>'last4', api_keys.last4),
               allowed_origins = coalesce(
                   orbis_text_array(k->'allowedOrigins'),
                   api_keys.allowed_origins),
               agent_ids = EXCLUDED.agent_ids,
               -- revoked through the API: only a new hash revives it
               revoked_at = CASE WHEN api_keys.key_hash = EXCLUDED.key_hash
                                 THEN api_keys.revoked_at END;
    END LOOP;

    RETURN tid;
END
$$;
