-- XEP-0079 offline messages that carry AMP rules (§7, R37, X7, D18), in their
-- own migration set so that --amp-repo-uri may name a database without the
-- user tables. Versions start at 1001 to stay clear of the user set: both
-- record themselves in the same _sqlx_migrations table when they share a
-- database.
--
-- The stanza keeps its <amp/> element: the rules left after receipt are
-- re-evaluated when expires_at_ms passes or when the message is flushed.
-- expires_at_ms is the earliest kept expire-at rule (NULL = none); owner is
-- the id of the plugin that stored the message.
--
-- Indexes: (recipient, id) for the flush, oldest first; (recipient, sender)
-- for the per-pair store limit; the expiry index serves the sweeper's
-- MIN / "due by now" queries in (expires_at_ms, id) order and is partial
-- because most AMP messages carry no expire-at rule.
CREATE TABLE IF NOT EXISTS amp_messages (
    id            BIGSERIAL PRIMARY KEY,
    recipient     TEXT   NOT NULL,
    sender        TEXT   NOT NULL,
    owner         TEXT   NOT NULL,
    stamp_ms      BIGINT NOT NULL,
    expires_at_ms BIGINT,
    stanza        BYTEA  NOT NULL
);
CREATE INDEX IF NOT EXISTS amp_messages_recipient ON amp_messages (recipient, id);
CREATE INDEX IF NOT EXISTS amp_messages_pair ON amp_messages (recipient, sender);
CREATE INDEX IF NOT EXISTS amp_messages_expiry ON amp_messages (expires_at_ms, id) WHERE expires_at_ms IS NOT NULL;
