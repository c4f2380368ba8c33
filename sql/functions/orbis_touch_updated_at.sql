-- orbis_touch_updated_at: its current definition (first created by 0001_foundation.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

-- updated_at maintenance shared by every table that has the column
CREATE OR REPLACE FUNCTION orbis_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
