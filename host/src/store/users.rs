//! Accounts (RFC 6120 §6 authentication data; XEP-0077 creates and removes them).
//!
//! No password is ever stored: each account keeps SCRAM-SHA-1 and
//! SCRAM-SHA-256 credentials (RFC 5802 §3), each with its own random salt, so
//! a leaked table allows neither login nor cheap recovery of the password.
//! Binary values are stored as base64 TEXT, which every backend and the `Any`
//! driver handle identically.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, StoreError};
use crate::c2s::sasl::{ScramCredentials, ScramHash};

/// Both SCRAM credential sets of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    /// For SCRAM-SHA-1.
    pub sha1: ScramCredentials,
    /// For SCRAM-SHA-256 (also what PLAIN is checked against).
    pub sha256: ScramCredentials,
}

impl StoredCredentials {
    /// The credentials for one hash, as a SCRAM exchange needs them.
    pub fn for_hash(&self, hash: ScramHash) -> &ScramCredentials {
        match hash {
            ScramHash::Sha1 => &self.sha1,
            ScramHash::Sha256 => &self.sha256,
        }
    }

    /// Derives both sets with fresh salts. PBKDF2 at thousands of iterations
    /// takes long enough to stall an async worker, so it runs on the blocking pool.
    async fn generate(password: &str, iterations: u32) -> Result<Self, StoreError> {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || StoredCredentials {
            sha1: ScramCredentials::generate(ScramHash::Sha1, &password, iterations),
            sha256: ScramCredentials::generate(ScramHash::Sha256, &password, iterations),
        })
        .await
        .map_err(|e| match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => StoreError::Shutdown,
        })
    }
}

/// Accounts keyed by bare JID (`user@domain`). Callers pass the JID already
/// normalised (RFC 7622 nodeprep/nameprep): the store compares bytes.
#[derive(Clone, Debug)]
pub struct UserStore {
    db: Db,
}

const SELECT: &str = "SELECT sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key, \
     sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key FROM users WHERE jid = ?";
const INSERT: &str = "INSERT INTO users (jid, sha1_salt, sha1_iterations, sha1_stored_key, \
     sha1_server_key, sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const UPDATE: &str = "UPDATE users SET sha1_salt = ?, sha1_iterations = ?, sha1_stored_key = ?, \
     sha1_server_key = ?, sha256_salt = ?, sha256_iterations = ?, sha256_stored_key = ?, \
     sha256_server_key = ? WHERE jid = ?";

/// Accounts recently found to exist, shared by the clones of one
/// [`Db`]. Only "yes" is kept: a new account is never hidden by a stale
/// "no". An account deleted through this process is forgotten at once; one
/// deleted by another process (`wasmpp deluser` against a running server's
/// database) may still count as existing for [`KNOWN_FOR`], so a message
/// sent to it in that window is stored rather than bounced.
#[derive(Debug)]
pub(super) struct KnownAccounts {
    ttl: Duration,
    seen: Mutex<HashMap<String, Instant>>,
}

/// How long a "yes" is believed.
const KNOWN_FOR: Duration = Duration::from_secs(5);
/// Entries kept at most; the map is emptied when it is full, which costs
/// one query per account afterwards and nothing else.
const KNOWN_MAX: usize = 65_536;

impl Default for KnownAccounts {
    fn default() -> Self {
        KnownAccounts { ttl: KNOWN_FOR, seen: Mutex::default() }
    }
}

impl KnownAccounts {
    fn contains(&self, jid: &str) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(jid).is_some_and(|at| at.elapsed() < self.ttl)
    }

    fn insert(&self, jid: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= KNOWN_MAX {
            seen.clear();
        }
        seen.insert(jid.to_owned(), Instant::now());
    }

    fn forget(&self, jid: &str) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).remove(jid);
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl UserStore {
    pub(super) fn new(db: Db) -> Self {
        UserStore { db }
    }

    /// Creates an account; `Conflict` if the JID is taken. The database's
    /// unique key decides, so two racing registrations cannot both succeed.
    pub async fn create(&self, jid: &str, password: &str, iterations: u32) -> Result<(), StoreError> {
        let creds = StoredCredentials::generate(password, iterations).await?;
        let sql = self.db.sql(INSERT);
        let query = bind_creds(sqlx::query(&sql).bind(jid), &creds);
        query.execute(self.db.pool()).await?;
        Ok(())
    }

    /// Deletes an account; `NotFound` if there was none.
    pub async fn delete(&self, jid: &str) -> Result<(), StoreError> {
        self.db.known.forget(jid);
        let sql = self.db.sql("DELETE FROM users WHERE jid = ?");
        let done = sqlx::query(&sql).bind(jid).execute(self.db.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Replaces both credential sets (with new salts); `NotFound` if the
    /// account does not exist.
    pub async fn set_password(&self, jid: &str, password: &str, iterations: u32) -> Result<(), StoreError> {
        let creds = StoredCredentials::generate(password, iterations).await?;
        let sql = self.db.sql(UPDATE);
        let done = bind_creds(sqlx::query(&sql), &creds).bind(jid).execute(self.db.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Whether the account exists. Every message to an offline account
    /// asks this (RFC 6121 §8.5.2.2: store, or bounce for no account), so
    /// a recent "yes" is answered from [`KnownAccounts`].
    pub async fn exists(&self, jid: &str) -> Result<bool, StoreError> {
        let known = &self.db.known;
        if known.contains(jid) {
            return Ok(true);
        }
        let sql = self.db.sql("SELECT jid FROM users WHERE jid = ?");
        let row = sqlx::query(&sql).bind(jid).fetch_optional(self.db.pool()).await?;
        if row.is_some() {
            known.insert(jid);
        }
        Ok(row.is_some())
    }

    /// The account's credentials, or `None` if there is no such account.
    pub async fn credentials(&self, jid: &str) -> Result<Option<StoredCredentials>, StoreError> {
        let sql = self.db.sql(SELECT);
        let row = sqlx::query(&sql).bind(jid).fetch_optional(self.db.pool()).await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredCredentials { sha1: read_creds(&row, "sha1")?, sha256: read_creds(&row, "sha256")? }))
    }
}

/// Binds the eight credential columns in table order.
fn bind_creds<'q>(mut query: Query<'q>, creds: &StoredCredentials) -> Query<'q> {
    for c in [&creds.sha1, &creds.sha256] {
        query = query
            .bind(B64.encode(&c.salt))
            .bind(i64::from(c.iterations))
            .bind(B64.encode(&c.stored_key))
            .bind(B64.encode(&c.server_key));
    }
    query
}

/// Reads the four columns of one hash (`sha1_…` or `sha256_…`).
fn read_creds(row: &AnyRow, prefix: &str) -> Result<ScramCredentials, StoreError> {
    let text = |col: &str| -> Result<Vec<u8>, StoreError> {
        let value: String = row.try_get(format!("{prefix}_{col}").as_str())?;
        B64.decode(value).map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))
    };
    let iterations: i64 = row.try_get(format!("{prefix}_iterations").as_str())?;
    Ok(ScramCredentials {
        salt: text("salt")?,
        iterations: u32::try_from(iterations).map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
        stored_key: text("stored_key")?,
        server_key: text("server_key")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_accounts_expire_are_forgotten_and_bounded() {
        let known = KnownAccounts::default();
        assert!(!known.contains("a@x"));
        known.insert("a@x");
        assert!(known.contains("a@x") && !known.contains("b@x"));
        known.forget("a@x");
        assert!(!known.contains("a@x"));

        let stale = KnownAccounts { ttl: Duration::ZERO, seen: Mutex::default() };
        stale.insert("a@x");
        assert!(!stale.contains("a@x"), "a yes older than the ttl is asked again");

        for i in 0..KNOWN_MAX {
            known.insert(&format!("u{i}@x"));
        }
        known.insert("last@x");
        let seen = known.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "a full map starts over");
        assert!(seen.contains_key("last@x"));
    }
}
