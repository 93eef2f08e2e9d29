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
-- Types as in 0003_offline.sql: JIDs are VARBINARY (exact bytes; prefix
-- indexes keep two 2047-byte JIDs under InnoDB's 3072-byte key limit), the
-- stanza a MEDIUMBLOB. owner is a short VARCHAR (the Any driver reads TEXT
-- as a blob). Indexes: (recipient, id) for the flush, oldest first;
-- (recipient, sender) for the per-pair store limit; (expires_at_ms, id) for
-- the sweeper (MySQL has no partial indexes; NULLs sort first and the
-- queries skip them with a range). Indexes live inside CREATE TABLE so that
-- IF NOT EXISTS keeps re-runs harmless.
CREATE TABLE IF NOT EXISTS amp_messages (
    id            BIGINT          NOT NULL AUTO_INCREMENT PRIMARY KEY,
    recipient     VARBINARY(2047) NOT NULL,
    sender        VARBINARY(2047) NOT NULL,
    owner         VARCHAR(64)     NOT NULL,
    stamp_ms      BIGINT          NOT NULL,
    expires_at_ms BIGINT          NULL,
    stanza        MEDIUMBLOB      NOT NULL,
    INDEX amp_messages_recipient (recipient(767), id),
    INDEX amp_messages_pair (recipient(767), sender(767)),
    INDEX amp_messages_expiry (expires_at_ms, id)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
