-- 0007: a reload must not revive what a tenant removed through the API.
-- Each config-file agent remembers a digest of what the file declared for
-- it (orbis_reconcile_tenant() sets it), so that an agent deleted through
-- the API stays deleted until the file declares it differently.  A key
-- needs nothing new: its stored hash is what the file declared, and a
-- revoked key stays revoked until the file declares another hash.

ALTER TABLE agents ADD COLUMN config_digest text;

COMMENT ON COLUMN agents.config_digest IS
    'md5 of the declaration the tenants file last made for this agent '
    '(NULL for agents made through the API)';
