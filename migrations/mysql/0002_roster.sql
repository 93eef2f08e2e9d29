-- RFC 6121 §2 rosters and §3 subscription states, keyed by the owner's bare JID.
-- item_id is the hex SHA-256 of owner, NUL, contact: one key shape for every
-- backend (InnoDB cannot index two 2047-byte JIDs together). owner is
-- VARBINARY like users.jid (exact bytes, indexable); contact is read back, so
-- it is a binary-collated VARCHAR (the Any driver reads VARBINARY and TEXT as
-- blobs) long enough for a full JID. state is a subscription state code
-- (none, none+out, …, both); listed = 0 marks a stored inbound request from
-- someone not (yet) in the roster (Appendix A.1, state 3); pending holds that
-- request's complete stanza for redelivery; groups are escaped and
-- newline-separated. roster_versions counts changes per owner for roster
-- versioning (XEP-0237). IF NOT EXISTS keeps re-runs harmless.
CREATE TABLE IF NOT EXISTS roster_items (
    item_id  VARCHAR(64)     NOT NULL PRIMARY KEY,
    owner    VARBINARY(2047) NOT NULL,
    contact  VARCHAR(3071)   NOT NULL,
    name     VARCHAR(1023)   NOT NULL,
    state    VARCHAR(16)     NOT NULL,
    approved BIGINT          NOT NULL,
    listed   BIGINT          NOT NULL,
    group_names MEDIUMBLOB    NOT NULL,
    pending  MEDIUMBLOB      NOT NULL,
    INDEX roster_items_owner (owner)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE TABLE IF NOT EXISTS roster_versions (
    owner VARBINARY(2047) NOT NULL PRIMARY KEY,
    ver   BIGINT          NOT NULL
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
