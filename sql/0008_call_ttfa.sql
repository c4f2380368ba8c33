-- 0008: a call's time to first audio (from the end of the caller's speech
-- to the first of the agent's audio sent back), as the session core
-- measured it, one value per agent turn that answered the caller, and
-- their 50th and 95th percentiles (nearest rank, computed by liborbiscore
-- when it normalises the record; orbis_record_normalize()).  All three
-- are NULL when the call had no agent audio, and for calls saved before.

ALTER TABLE conversations
    ADD COLUMN ttfa_ms      integer[],
    ADD COLUMN ttfa_p50_ms  integer,
    ADD COLUMN ttfa_p95_ms  integer,
    ADD CONSTRAINT conversations_ttfa_together
        CHECK ((ttfa_ms IS NULL) = (ttfa_p50_ms IS NULL)
               AND (ttfa_ms IS NULL) = (ttfa_p95_ms IS NULL)),
    ADD CONSTRAINT conversations_ttfa_values
        CHECK (cardinality(ttfa_ms) >= 1 AND 0 <= ALL (ttfa_ms)
               AND ttfa_p50_ms >= 0 AND ttfa_p95_ms >= ttfa_p50_ms);

COMMENT ON COLUMN conversations.ttfa_ms IS
    'time to first audio of each agent turn that answered the caller, ms, '
    'in call order (NULL: no agent audio)';
COMMENT ON COLUMN conversations.ttfa_p50_ms IS
    'median time to first audio, ms (nearest rank over ttfa_ms)';
COMMENT ON COLUMN conversations.ttfa_p95_ms IS
    '95th percentile time to first audio, ms (nearest rank over ttfa_ms)';
