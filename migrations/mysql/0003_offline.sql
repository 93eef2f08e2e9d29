-- XEP-0160 offline messages, oldest first per recipient. The stanza is kept
-- as serialised bytes (MEDIUMBLOB: the Any driver reads MySQL TEXT as a blob
-- anyway). JIDs are VARBINARY like users.jid; the pair index uses prefixes so
-- that two 2047-byte JIDs stay under InnoDB's 3072-byte key limit. Indexes
-- live inside CREATE TABLE so that IF NOT EXISTS keeps re-runs harmless.
CREATE TABLE IF NOT EXISTS offline_messages (
    id        BIGINT          NOT NULL AUTO_INCREMENT PRIMARY KEY,
    recipient VARBINARY(2047) NOT NULL,
    sender    VARBINARY(2047) NOT NULL,
    stamp_ms  BIGINT          NOT NULL,
    stanza    MEDIUMBLOB      NOT NULL,
    INDEX offline_messages_recipient (recipient(767), id),
    INDEX offline_messages_pair (recipient(767), sender(767))
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
