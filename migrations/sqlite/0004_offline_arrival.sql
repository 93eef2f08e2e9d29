-- The order in which messages entered the two offline stores (see
-- host/src/store/arrival.rs): µs since the epoch, strictly increasing within
-- the server, so that the flush interleaves plain and AMP messages exactly
-- as they arrived; the ms delay stamp ties within a millisecond. Rows stored
-- before this migration take their stamp (ties then fall back to the id).
-- The flush reads by (recipient, arrival, id), which replaces the index on
-- (recipient, id).
ALTER TABLE offline_messages ADD COLUMN arrival BIGINT NOT NULL DEFAULT 0;
UPDATE offline_messages SET arrival = stamp_ms * 1000;
DROP INDEX IF EXISTS offline_messages_recipient;
CREATE INDEX IF NOT EXISTS offline_messages_arrival ON offline_messages (recipient, arrival, id);
