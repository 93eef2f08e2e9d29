-- Accounts with SCRAM credentials (RFC 5802 §3); never a password.
-- Binary values are base64 TEXT. IF NOT EXISTS keeps re-runs harmless.
CREATE TABLE IF NOT EXISTS users (
    jid               TEXT    NOT NULL PRIMARY KEY,
    sha1_salt         TEXT    NOT NULL,
    sha1_iterations   INTEGER NOT NULL,
    sha1_stored_key   TEXT    NOT NULL,
    sha1_server_key   TEXT    NOT NULL,
    sha256_salt       TEXT    NOT NULL,
    sha256_iterations INTEGER NOT NULL,
    sha256_stored_key TEXT    NOT NULL,
    sha256_server_key TEXT    NOT NULL
);
