-- 0001: the foundation.  schema_migrations itself is created by
-- scripts/migrate.sh before any migration runs, so that a failed migration
-- leaves a clear record of what was applied.

-- case-insensitive text for e-mail addresses
CREATE EXTENSION IF NOT EXISTS citext;

-- updated_at maintenance shared by every table that has the column
CREATE OR REPLACE FUNCTION orbis_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
