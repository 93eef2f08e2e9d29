//! Persistent storage over SQLite, PostgreSQL and MySQL/MariaDB through the
//! sqlx `Any` driver, with one migrations folder per database.
//!
//! # Placeholders
//! The `Any` driver hands SQL to the backend untouched, and PostgreSQL numbers
//! its parameters (`$1`) where the others use `?`. Queries here are written
//! once with `?` and [`Db::sql`] rewrites them for PostgreSQL; this is safe
//! because no query in the store has a `?` inside a string literal.

pub mod amp;
#[cfg(test)]
mod amp_tests;
mod arrival;
#[cfg(test)]
mod contract_tests;
pub mod offline;
mod offline_counts;
#[cfg(test)]
mod offline_tests;
mod offline_writer;
#[cfg(test)]
mod offline_writer_tests;
pub mod roster;
pub mod uri;
pub mod users;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, migrate::Migrator};

use offline_writer::OfflineWriter;

pub use amp::{AmpMessage, AmpStore};
pub use offline::{Committed, OfflineLimits, OfflineStore, StoredMessage};
pub use users::{StoredCredentials, UserStore};

/// Ids per `DELETE … IN (…)` of [`Db::delete_ids`].
const DELETE_CHUNK: usize = 512;

/// How long a migration waits for another process's migration of the same
/// MySQL/MariaDB database to finish.
const MIGRATION_LOCK_WAIT_S: u32 = 300;

/// How long SQLite waits on a locked database before reporting `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// Which database a [`Db`] talks to; decides the placeholder style and the
/// migrations folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite 3 (a file, or `:memory:` for tests).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

/// Errors of the storage layer. Callers match on `NotFound` and `Conflict`;
/// everything else is an operational failure to log and report as a
/// temporary error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// A row with the same key already exists.
    #[error("already exists")]
    Conflict,
    /// A store limit (e.g. offline messages per sender) is reached.
    #[error("quota exceeded")]
    QuotaExceeded,
    /// The database failed or returned data we could not decode.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The configured URI is not one we understand; carries the redacted URI.
    #[error("unsupported database URI: {0}")]
    BadUri(String),
    /// A blocking helper task did not run because the runtime is shutting down.
    #[error("runtime shutting down")]
    Shutdown,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref db) if db.is_unique_violation() => StoreError::Conflict,
            e => StoreError::Database(e),
        }
    }
}

/// A connection pool plus the backend it talks to. Cloning is cheap and
/// shares the pool, so every component gets its own handle.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    offline: Arc<OfflineShared>,
    known: Arc<users::KnownAccounts>,
}

/// What every [`OfflineStore`] of one [`Db`] shares: the one writer that
/// inserts offline messages (started on the first append) and its tally.
#[derive(Debug, Default)]
struct OfflineShared {
    writer: OnceLock<OfflineWriter>,
    tally: Arc<OfflineTally>,
}

/// Counters shared by the offline store's handles and its writer task.
#[derive(Debug, Default)]
struct OfflineTally {
    /// Deletions so far: a new value tells the writer that its cached quota
    /// counts may be high ([`offline_counts`]).
    deletions: AtomicU64,
    /// Transactions the writer committed (how well appends are batched).
    commits: AtomicU64,
}

impl Db {
    /// Connects to the database named by `uri` (JDBC or native form, see
    /// [`uri::to_sqlx_url`]). SQLite connections use WAL, so readers never
    /// block the writer, and a busy timeout, so concurrent writers wait
    /// instead of failing.
    pub async fn connect(uri: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = uri::to_sqlx_url(uri)?;
        let mut options = AnyPoolOptions::new();
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    // In WAL mode NORMAL syncs at checkpoints, not at every
                    // commit: a crashed *process* loses nothing committed (the
                    // SIGKILL test relies on that); only a power loss may undo
                    // the last transactions. FULL would cost an fsync per
                    // stored message (~3k/s instead of tens of thousands).
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str()).await?;
                    Ok(())
                })
            });
            if url.contains(":memory:") || url.contains("mode=memory") {
                // Each Any connection re-parses the URL and would open a fresh,
                // empty in-memory database: keep exactly one, forever.
                options = options.max_connections(1).idle_timeout(None).max_lifetime(None);
            }
        }
        let pool = options.acquire_timeout(Duration::from_secs(10)).connect(&url).await?;
        Ok(Db { pool, backend, offline: Arc::default(), known: Arc::default() })
    }

    /// Applies this backend's embedded migrations.
    ///
    /// Missing versions are ignored because other migration sets (added by
    /// later features and plugins) record their versions in the same
    /// `_sqlx_migrations` table; without it, this migrator would refuse a
    /// database that another set has already touched.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator: Migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("../migrations/postgres"),
            Backend::MySql => sqlx::migrate!("../migrations/mysql"),
        };
        migrator.set_ignore_missing(true);
        self.run_locked(&migrator).await
    }

    /// Applies the XEP-0079 message store's migrations (`../migrations/amp/`),
    /// and only those: `--amp-repo-uri` may name a database that holds no
    /// user tables. When both sets share one database they share
    /// `_sqlx_migrations` (the AMP versions start at 1001), so each migrator
    /// ignores the other's versions.
    pub async fn migrate_amp(&self) -> Result<(), StoreError> {
        let mut migrator: Migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/amp/sqlite"),
            Backend::Postgres => sqlx::migrate!("../migrations/amp/postgres"),
            Backend::MySql => sqlx::migrate!("../migrations/amp/mysql"),
        };
        migrator.set_ignore_missing(true);
        self.run_locked(&migrator).await
    }

    /// Runs `migrator` so that two processes (or tests) migrating one
    /// database at once take turns. sqlx locks with `GET_LOCK(name, -1)`,
    /// which MariaDB answers at once with NULL (a negative timeout is not
    /// "wait forever" there), so on a fresh MariaDB database a second
    /// migrator saw the first one's half-applied version and failed with
    /// `Dirty`. On MySQL/MariaDB we take a lock of our own, with a finite
    /// wait, on the connection the migrator then uses; PostgreSQL's
    /// advisory lock and SQLite's write lock already serialise.
    async fn run_locked(&self, migrator: &Migrator) -> Result<(), StoreError> {
        const LOCK: &str = "CONCAT('wasmpp-migrate-', DATABASE())";
        let mut conn = self.pool.acquire().await?;
        let mysql = self.backend == Backend::MySql;
        if mysql {
            let got: Option<i64> = sqlx::query_scalar(&format!("SELECT GET_LOCK({LOCK}, {MIGRATION_LOCK_WAIT_S})"))
                .fetch_one(&mut *conn)
                .await?;
            if got != Some(1) {
                let why = format!("another process held the migration lock for {MIGRATION_LOCK_WAIT_S} s");
                return Err(StoreError::Database(sqlx::Error::Protocol(why)));
            }
        }
        let result = migrator.run(&mut *conn).await;
        if mysql {
            // Also released when the connection closes; an error here
            // changes nothing the migration did.
            let _ = sqlx::query(&format!("DO RELEASE_LOCK({LOCK})")).execute(&mut *conn).await;
        }
        Ok(result?)
    }

    /// The database this handle talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Accounts and their SCRAM credentials.
    pub fn users(&self) -> UserStore {
        UserStore::new(self.clone())
    }

    /// XEP-0160 offline message storage.
    pub fn offline(&self) -> OfflineStore {
        OfflineStore::new(self.clone())
    }

    /// XEP-0079 offline messages that carry AMP rules; needs
    /// [`Db::migrate_amp`].
    pub fn amp(&self) -> AmpStore {
        AmpStore::new(self.clone())
    }

    /// Rosters and subscription states.
    pub fn roster(&self) -> roster::RosterStore {
        roster::RosterStore::new(self.clone())
    }

    /// The offline writer of this database handle and its clones, started
    /// on first use. Its task gets a handle without a writer, so that it
    /// ends (after draining) when the last handle that can submit is gone.
    fn offline_writer(&self) -> &OfflineWriter {
        self.offline.writer.get_or_init(|| {
            let db = Db {
                pool: self.pool.clone(),
                backend: self.backend,
                offline: Arc::default(),
                known: self.known.clone(),
            };
            OfflineWriter::spawn(db, self.offline.tally.clone())
        })
    }

    /// Notes that offline messages were deleted (see [`offline_counts`]).
    fn offline_deleted(&self) {
        self.offline.tally.deletions.fetch_add(1, Ordering::Release);
    }

    /// Transactions the offline writer committed so far.
    #[cfg(test)]
    fn offline_commits(&self) -> u64 {
        self.offline.tally.commits.load(Ordering::Acquire)
    }

    /// The pool, for stores in this module.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Rewrites `?` placeholders to `$1, $2, …` on PostgreSQL.
    pub(crate) fn sql(&self, query: &'static str) -> Cow<'static, str> {
        match self.backend {
            Backend::Postgres => Cow::Owned(numbered_placeholders(query)),
            _ => Cow::Borrowed(query),
        }
    }

    /// `DELETE FROM {table} WHERE id IN (…)` in statements of at most
    /// [`DELETE_CHUNK`] ids (far below every backend's parameter limit);
    /// ids already gone are ignored. Shared by the message stores, whose
    /// flushes delete what was handed out by id.
    pub(crate) async fn delete_ids(&self, table: &str, ids: &[i64]) -> Result<(), StoreError> {
        for chunk in ids.chunks(DELETE_CHUNK) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql = self.sql_owned(format!("DELETE FROM {table} WHERE id IN ({placeholders})"));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// [`Db::sql`] for statements built at run time (e.g. `IN (?, ?, …)`).
    pub(crate) fn sql_owned(&self, query: String) -> String {
        match self.backend {
            Backend::Postgres => numbered_placeholders(&query),
            _ => query,
        }
    }
}

/// `?` → `$1`, `$2`, … (PostgreSQL's placeholder syntax).
fn numbered_placeholders(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 8);
    let mut n = 0;
    for c in query.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn placeholders_follow_the_backend() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        assert_eq!(db.sql("a = ? AND b = ?"), "a = ? AND b = ?");
        let pg = Db { backend: Backend::Postgres, ..db };
        assert_eq!(pg.sql("a = ? AND b = ?"), "a = $1 AND b = $2");
    }

    #[tokio::test]
    async fn memory_database_survives_across_queries() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        db.migrate().await.unwrap();
        db.migrate().await.unwrap();
        db.users().create("a@example.com", "pw", 1).await.unwrap();
        assert!(db.users().exists("a@example.com").await.unwrap());
    }

    #[tokio::test]
    async fn sqlite_file_is_created_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let mode: (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(db.pool()).await.unwrap();
        assert_eq!(mode.0.to_lowercase(), "wal");
        let sync: (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(db.pool()).await.unwrap();
        assert_eq!(sync.0, 1, "NORMAL");
        assert!(path.exists());
    }

    #[test]
    fn errors_map_to_typed_variants() {
        assert!(matches!(StoreError::from(sqlx::Error::RowNotFound), StoreError::NotFound));
        assert!(matches!(StoreError::from(sqlx::Error::PoolClosed), StoreError::Database(_)));
    }
}
