-- RFC 6121 §2 rosters and §3 subscription states, keyed by the owner's bare JID.
-- item_id is the hex SHA-256 of owner, NUL, contact: one key shape for every
-- backend (MySQL cannot index two 2047-byte JIDs together). state is a
-- subscription state code (none, none+out, …, both); listed = 0 marks a
-- stored inbound request from someone not (yet) in the roster (Appendix A.1,
-- state 3); pending holds that request's complete stanza for redelivery;
-- groups are escaped and newline-separated. roster_versions counts changes
-- per owner for roster versioning (XEP-0237). IF NOT EXISTS keeps re-runs harmless.
CREATE TABLE IF NOT EXISTS roster_items (
    item_id  TEXT    NOT NULL PRIMARY KEY,
    owner    TEXT    NOT NULL,
    contact  TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    state    TEXT    NOT NULL,
    approved INTEGER NOT NULL,
    listed   INTEGER NOT NULL,
    group_names BLOB NOT NULL,
    pending  BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS roster_items_owner ON roster_items (owner);
CREATE TABLE IF NOT EXISTS roster_versions (
    owner TEXT    NOT NULL PRIMARY KEY,
    ver   INTEGER NOT NULL
);
