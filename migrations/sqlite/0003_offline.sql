-- XEP-0160 offline messages, oldest first per recipient. The stanza is kept
-- as serialised bytes (BLOB: the Any driver reads every backend's binary type
-- the same way). The pair index serves the per-sender store limit.
CREATE TABLE IF NOT EXISTS offline_messages (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT    NOT NULL,
    sender    TEXT    NOT NULL,
    stamp_ms  BIGINT  NOT NULL,
    stanza    BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS offline_messages_recipient ON offline_messages (recipient, id);
CREATE INDEX IF NOT EXISTS offline_messages_pair ON offline_messages (recipient, sender);
