//! The store contract, run against every backend: SQLite always, PostgreSQL
//! and MySQL/MariaDB when `WASMPP_TEST_POSTGRES_URL` / `WASMPP_TEST_MYSQL_URL`
//! are set. Those databases are shared between runs and parallel tests, so
//! every JID carries a random suffix and migrations must be re-runnable.

use sqlx::Row;

use super::{Backend, Db, StoreError};
use crate::c2s::sasl::{ScramHash, parse_plain};

const ITERATIONS: u32 = 4096;

pub(super) fn unique(local: &str) -> String {
    format!("{local}-{:016x}@example.com", rand::random::<u64>())
}

async fn contract(uri: &str) {
    let db = Db::connect(uri).await.unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    let users = db.users();
    let jid = unique("juliet");

    assert!(!users.exists(&jid).await.unwrap());
    assert!(users.credentials(&jid).await.unwrap().is_none());
    assert!(matches!(users.delete(&jid).await, Err(StoreError::NotFound)));
    assert!(matches!(users.set_password(&jid, "x", 1).await, Err(StoreError::NotFound)));

    users.create(&jid, "pencil", ITERATIONS).await.unwrap();
    assert!(users.exists(&jid).await.unwrap());
    assert!(matches!(users.create(&jid, "other", 1).await, Err(StoreError::Conflict)));

    let creds = users.credentials(&jid).await.unwrap().unwrap();
    assert_eq!((creds.sha1.iterations, creds.sha256.iterations), (ITERATIONS, ITERATIONS));
    assert_eq!(creds.sha1.stored_key.len(), 20);
    assert_eq!(creds.sha256.server_key.len(), 32);
    assert_ne!(creds.sha1.salt, creds.sha256.salt);
    assert_eq!(creds.for_hash(ScramHash::Sha1), &creds.sha1);
    let plain = parse_plain(b"\0juliet\0pencil").unwrap();
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        assert!(creds.for_hash(hash).verify_password(hash, &plain.password));
        assert!(!creds.for_hash(hash).verify_password(hash, "other"));
    }

    users.set_password(&jid, "r0m30", ITERATIONS).await.unwrap();
    let changed = users.credentials(&jid).await.unwrap().unwrap();
    assert_ne!(changed.sha256.salt, creds.sha256.salt);
    assert!(changed.sha256.verify_password(ScramHash::Sha256, "r0m30"));
    assert!(!changed.sha1.verify_password(ScramHash::Sha1, "pencil"));

    users.delete(&jid).await.unwrap();
    assert!(!users.exists(&jid).await.unwrap());
    assert!(matches!(users.delete(&jid).await, Err(StoreError::NotFound)));
}

/// Keys compare as exact bytes (no case folding by a collation) and hold the
/// longest bare JID RFC 7622 allows: 1023-byte localpart, 1023-byte domain.
async fn keys_are_exact_and_long(uri: &str) {
    let db = Db::connect(uri).await.unwrap();
    db.migrate().await.unwrap();
    let users = db.users();
    let jid = unique("jüliet");
    users.create(&jid, "pw", 1).await.unwrap();
    assert!(!users.exists(&jid.to_uppercase()).await.unwrap());
    assert!(!users.exists(&jid.replace('ü', "u")).await.unwrap());
    users.create(&jid.to_uppercase(), "pw", 1).await.unwrap();

    let long = format!("{}@{}", "l".repeat(1023), "d".repeat(1006) + &unique("")[..17]);
    assert_eq!(long.len(), 2047);
    users.create(&long, "pw", 1).await.unwrap();
    assert!(users.exists(&long).await.unwrap());
    for j in [jid.clone(), jid.to_uppercase(), long] {
        users.delete(&j).await.unwrap();
    }
}

pub(super) async fn sqlite_uri() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite://{}", dir.path().join("store.db").display());
    (dir, uri)
}

/// `sql` with its `?` parameters replaced, in order, by `literals`.
pub(super) fn with_literals(sql: &str, literals: &[&str]) -> String {
    literals.iter().fold(sql.to_owned(), |sql, literal| sql.replacen('?', literal, 1))
}

/// Asserts that the backend answers `sql` (a query with its parameters
/// written in, see [`with_literals`]) from `index`, in the index's order: no scan of `table`, no
/// sort. On PostgreSQL sequential and bitmap scans and sorts are priced out
/// first, so an index that *can* serve the query in order shows up even on
/// a small table (a sort still shown means none can).
pub(super) async fn reads_index_in_order(db: &Db, sql: &str, table: &str, index: &str) {
    let (plan, key) = match db.backend() {
        Backend::Sqlite => {
            let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}")).fetch_all(db.pool()).await.unwrap();
            (rows.iter().map(|r| r.try_get::<String, _>(3).unwrap()).collect::<Vec<_>>(), None)
        }
        Backend::Postgres => {
            let mut tx = db.pool().begin().await.unwrap();
            for knob in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] {
                sqlx::query(&format!("SET LOCAL {knob} = off")).execute(&mut *tx).await.unwrap();
            }
            let rows = sqlx::query(&format!("EXPLAIN {sql}")).fetch_all(&mut *tx).await.unwrap();
            (rows.iter().map(|r| r.try_get::<String, _>(0).unwrap()).collect(), None)
        }
        Backend::MySql => {
            let rows = sqlx::query(&format!("EXPLAIN {sql}")).fetch_all(db.pool()).await.unwrap();
            let extra = rows.iter().map(|r| r.try_get::<Option<String>, _>("Extra").unwrap().unwrap_or_default());
            (extra.collect(), rows[0].try_get::<Option<String>, _>("key").unwrap())
        }
    };
    let text = plan.join("\n");
    assert!(key.as_deref() == Some(index) || text.contains(index), "{sql}\n{text}");
    assert!(!plan.iter().any(|l| l.trim() == format!("SCAN {table}") || l.contains("Seq Scan")), "{sql}\n{text}");
    assert!(!text.contains("TEMP B-TREE") && !text.contains("Sort") && !text.contains("filesort"), "{sql}\n{text}");
}

pub(super) fn env_uri(var: &str) -> Option<String> {
    let uri = std::env::var(var).ok().filter(|u| !u.is_empty());
    if uri.is_none() {
        eprintln!("skipping: {var} is not set");
    }
    uri
}

#[tokio::test]
async fn sqlite_contract() {
    let (_dir, uri) = sqlite_uri().await;
    contract(&uri).await;
    keys_are_exact_and_long(&uri).await;
}

#[tokio::test]
async fn postgres_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_POSTGRES_URL") {
        contract(&uri).await;
        keys_are_exact_and_long(&uri).await;
    }
}

#[tokio::test]
async fn mysql_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_MYSQL_URL") {
        contract(&uri).await;
        keys_are_exact_and_long(&uri).await;
    }
}

/// Several servers starting at once on one fresh database: every
/// migration set applies once and no migrator fails. Run on a database of
/// its own, created and dropped here, since the shared one is migrated.
/// On MariaDB this failed (`Dirty`, duplicate version) before
/// [`Db::run_locked`], as sqlx's own lock is no lock there.
async fn concurrent_migrations_on_a_fresh_database(uri: &str) {
    let (server, _) = uri.rsplit_once('/').expect("a URI naming a database");
    let name = format!("wasmpp_migrate_{:08x}", rand::random::<u32>());
    let admin = Db::connect(uri).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
    let fresh = format!("{server}/{name}");
    // Joined in this task, not spawned: their database round trips
    // interleave all the same.
    let start = |amp_first: bool| {
        let fresh = fresh.clone();
        async move {
            let db = Db::connect(&fresh).await?;
            if amp_first {
                db.migrate_amp().await?;
                db.migrate().await
            } else {
                db.migrate().await?;
                db.migrate_amp().await
            }
        }
    };
    let results = tokio::join!(start(false), start(true), start(false), start(true));
    sqlx::query(&format!("DROP DATABASE {name}")).execute(admin.pool()).await.unwrap();
    for r in [results.0, results.1, results.2, results.3] {
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_migrations() {
    if let Some(uri) = env_uri("WASMPP_TEST_POSTGRES_URL") {
        concurrent_migrations_on_a_fresh_database(&uri).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_concurrent_migrations() {
    if let Some(uri) = env_uri("WASMPP_TEST_MYSQL_URL") {
        concurrent_migrations_on_a_fresh_database(&uri).await;
    }
}
