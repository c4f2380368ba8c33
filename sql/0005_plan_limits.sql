-- 0005: what a plan allows beyond its monthly calls and API rate: calls
-- at once (fleet-wide, counted in Redis), calls a minute for the whole
-- tenant (beside the per-key rate_limit_per_minute), and how many agents
-- and live API keys a tenant may have (checked by orbis_plan_room()).
-- The defaults are for plans added by hand.

ALTER TABLE plans
    ADD COLUMN max_concurrent_calls integer NOT NULL DEFAULT 10
        CHECK (max_concurrent_calls >= 0),
    ADD COLUMN tenant_calls_per_minute integer NOT NULL DEFAULT 100
        CHECK (tenant_calls_per_minute > 0),
    ADD COLUMN max_agents integer NOT NULL DEFAULT 25
        CHECK (max_agents >= 0),
    ADD COLUMN max_api_keys integer NOT NULL DEFAULT 10
        CHECK (max_api_keys >= 0);

UPDATE plans SET max_concurrent_calls = v.calls,
                 tenant_calls_per_minute = v.per_minute,
                 max_agents = v.agents, max_api_keys = v.keys
FROM (VALUES ('free',          5,  100,   25,   10),
             ('starter',      10,  200,   50,   25),
             ('pro',         100, 1200,  250,  100),
             ('enterprise', 1000, 6000, 5000, 1000))
     AS v (id, calls, per_minute, agents, keys)
WHERE plans.id = v.id;
