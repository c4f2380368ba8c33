-- orbis_text_array: its current definition (first created by 0002_accounts.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

-- a JSON array of strings as text[] (NULL stays NULL: "not given")
CREATE OR REPLACE FUNCTION orbis_text_array(j json) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN j IS NULL THEN NULL
                ELSE ARRAY(SELECT json_array_elements_text(j)) END
$$;
