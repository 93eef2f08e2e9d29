//! The store contract, run against every backend: SQLite always, PostgreSQL
//! and MySQL/MariaDB when `WASMPP_TEST_POSTGRES_URL` / `WASMPP_TEST_MYSQL_URL`
//! are set. Those databases are shared between runs and parallel tests, so
//! every JID carries a random suffix and migrations must be re-runnable.

use super::{Db, StoreError};
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
