-- 0002: plans, tenants, users, agents and API keys.  Every table a tenant
-- owns carries tenant_id, and every query the module runs filters on it.

CREATE TABLE plans (
    id                       text PRIMARY KEY,
    name                     text NOT NULL,
    price_monthly_cents      integer NOT NULL CHECK (price_monthly_cents >= 0),
    conversations_per_month  integer NOT NULL CHECK (conversations_per_month >= 0),
    rate_limit_per_minute    integer NOT NULL CHECK (rate_limit_per_minute > 0),
    sort                     integer NOT NULL DEFAULT 0
);

INSERT INTO plans (id, name, price_monthly_cents, conversations_per_month,
                   rate_limit_per_minute, sort)
VALUES ('free',       'Free',           0,      50,  100, 1),
       ('starter',    'Starter',     4900,     500,  100, 2),
       ('pro',        'Pro',        19900,    5000,  600, 3),
       ('enterprise', 'Enterprise', 99900, 1000000, 3000, 4);

CREATE TABLE tenants (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug             text UNIQUE,           -- set for config-file tenants
    name             text NOT NULL,
    plan             text NOT NULL DEFAULT 'free' REFERENCES plans (id),
    billing_email    citext,
    allowed_origins  text[] NOT NULL DEFAULT '{}',
    referral_code    text UNIQUE,
    referred_by      uuid REFERENCES tenants (id),
    from_config      boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER tenants_touch BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION orbis_touch_updated_at();

CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email          citext NOT NULL UNIQUE,
    name           text NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    role           text NOT NULL DEFAULT 'owner'
                   CHECK (role IN ('owner', 'admin', 'member')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX users_tenant ON users (tenant_id);

CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION orbis_touch_updated_at();

CREATE TABLE agents (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug              text,                 -- set for config-file agents
    name              text NOT NULL,
    system_prompt     text NOT NULL,
    voice             text NOT NULL,
    greeting          text NOT NULL DEFAULT '',
    language          text NOT NULL DEFAULT 'en-US',
    tools             text[] NOT NULL DEFAULT '{}',
    idle_timeout_sec  integer CHECK (idle_timeout_sec BETWEEN 30 AND 7200),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,          -- conversations keep their agent
    UNIQUE (tenant_id, slug)
);

CREATE INDEX agents_page ON agents (tenant_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TRIGGER agents_touch BEFORE UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION orbis_touch_updated_at();

CREATE TABLE api_keys (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug             text,                  -- set for config-file keys
    name             text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('publishable', 'secret')),
    key_hash         text NOT NULL UNIQUE,  -- sha256 hex; the key is never kept
    prefix           text NOT NULL,
    last4            text NOT NULL,
    allowed_origins  text[] NOT NULL DEFAULT '{}',
    agent_ids        uuid[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz,
    UNIQUE (tenant_id, slug)
);

CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at DESC);

-- The API's JSON shapes, in one place: the module sends what these return.

CREATE FUNCTION orbis_user_json(u users) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', u.id, 'email', u.email, 'name', u.name,
                             'role', u.role, 'createdAt', u.created_at)
$$;

CREATE FUNCTION orbis_tenant_json(t tenants) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', t.id, 'name', t.name, 'plan', t.plan,
                             'billingEmail', t.billing_email,
                             'allowedOrigins', t.allowed_origins,
                             'referralCode', t.referral_code,
                             'createdAt', t.created_at,
                             'updatedAt', t.updated_at)
$$;

CREATE FUNCTION orbis_agent_json(a agents) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', a.id, 'name', a.name,
                             'systemPrompt', a.system_prompt,
                             'voice', a.voice, 'greeting', a.greeting,
                             'language', a.language, 'tools', a.tools,
                             'idleTimeoutSec', a.idle_timeout_sec,
                             'createdAt', a.created_at,
                             'updatedAt', a.updated_at)
$$;

CREATE FUNCTION orbis_api_key_json(k api_keys) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', k.id, 'name', k.name, 'kind', k.kind,
                             'prefix', k.prefix, 'last4', k.last4,
                             'allowedOrigins', k.allowed_origins,
                             'agentIds', k.agent_ids,
                             'createdAt', k.created_at,
                             'revokedAt', k.revoked_at)
$$;

-- a JSON array of strings as text[] (NULL stays NULL: "not given")
CREATE FUNCTION orbis_text_array(j json) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN j IS NULL THEN NULL
                ELSE ARRAY(SELECT json_array_elements_text(j)) END
$$;

-- Config-file tenants: one call per declared tenant, idempotent.  Declared
-- fields win; nothing that is not declared is deleted.
CREATE FUNCTION orbis_reconcile_tenant(d json) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    tid  uuid;
    a    json;
    k    json;
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
        INSERT INTO agents (tenant_id, slug, name, system_prompt, voice,
                            greeting, language, tools)
        VALUES (tid, a->>'slug', coalesce(a->>'name', a->>'slug'),
                coalesce(a->>'systemPrompt', ''), a->>'voice',
                coalesce(a->>'greeting', ''),
                coalesce(a->>'language', 'en-US'),
                coalesce(orbis_text_array(a->'tools'), '{}'))
        ON CONFLICT (tenant_id, slug) DO UPDATE
           SET name = coalesce(a->>'name', agents.name),
               system_prompt = coalesce(a->>'systemPrompt',
                                        agents.system_prompt),
               voice = coalesce(a->>'voice', agents.voice),
               greeting = coalesce(a->>'greeting', agents.greeting),
               language = coalesce(a->>'language', agents.language),
               tools = coalesce(orbis_text_array(a->'tools'), agents.tools),
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
               revoked_at = NULL;
    END LOOP;

    RETURN tid;
END
$$;
