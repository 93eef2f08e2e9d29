-- Accounts with SCRAM credentials (RFC 5802 §3); never a password.
-- jid is VARBINARY: it compares exact bytes (the caller normalises JIDs, and a
-- case-insensitive collation would merge distinct accounts), and 2047 bytes
-- holds the longest bare JID of RFC 7622 while staying under InnoDB's 3072-byte
-- key limit, which a utf8mb4 VARCHAR(2047) (8188 bytes) would exceed.
-- The other columns are VARCHAR, not TEXT: the sqlx Any driver reads MySQL
-- TEXT as a blob. IF NOT EXISTS keeps re-runs harmless.
CREATE TABLE IF NOT EXISTS users (
    jid               VARBINARY(2047) NOT NULL PRIMARY KEY,
    sha1_salt         VARCHAR(255)    NOT NULL,
    sha1_iterations   BIGINT          NOT NULL,
    sha1_stored_key   VARCHAR(255)    NOT NULL,
    sha1_server_key   VARCHAR(255)    NOT NULL,
    sha256_salt       VARCHAR(255)    NOT NULL,
    sha256_iterations BIGINT          NOT NULL,
    sha256_stored_key VARCHAR(255)    NOT NULL,
    sha256_server_key VARCHAR(255)    NOT NULL
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
