-- 0006: who saved a call record, after how many attempts, and when.
-- A record is saved by the worker that ran the call, or by the sweeper
-- from the state kept in Redis (swept = true when that state was a live
-- call whose worker died, false when it was a finished call parked there).
-- A swept record is replaced by the worker's own final record if that
-- arrives later (sql/functions/orbis_save_conversation.sql); the month's
-- usage is counted once either way.

ALTER TABLE conversations
    ADD COLUMN saved_by       text NOT NULL DEFAULT 'worker'
                              CHECK (saved_by IN ('worker', 'sweeper')),
    ADD COLUMN save_attempts  integer NOT NULL DEFAULT 1
                              CHECK (save_attempts >= 1),
    ADD COLUMN saved_at       timestamptz NOT NULL DEFAULT now();

UPDATE conversations SET saved_by = 'sweeper' WHERE swept;
