//! The roster store contract on every backend: SQLite always, PostgreSQL and
//! MySQL/MariaDB when `WASMPP_TEST_POSTGRES_URL` / `WASMPP_TEST_MYSQL_URL`
//! are set. Those databases persist between runs, so owners are random.

use super::{RosterItem, RosterStore};
use crate::sm::subscription::State;
use crate::store::{Db, StoreError};

fn owner(local: &str) -> String {
    format!("{local}-{:016x}@example.com", rand::random::<u64>())
}

async fn store(uri: &str) -> RosterStore {
    let db = Db::connect(uri).await.unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    db.roster()
}

fn sorted(mut items: Vec<RosterItem>) -> Vec<RosterItem> {
    items.sort_by(|a, b| a.contact.cmp(&b.contact));
    items
}

async fn contract(uri: &str) {
    let roster = store(uri).await;
    let juliet = owner("juliet");
    let empty = roster.load(&juliet).await.unwrap();
    assert_eq!((empty.ver, empty.items.len()), (0, 0));

    let mut romeo = RosterItem::new("romeo@example.net");
    romeo.name = "Roméo".into();
    romeo.groups = vec!["Friends".into(), "Lo\nvers\\".into()];
    romeo.state = State::FromPendingOut;
    let mut nurse = RosterItem::new("nurse@example.com");
    nurse.state = State::NonePendingIn;
    nurse.listed = false;
    nurse.approved = true;
    nurse.pending = b"<presence type='subscribe'/>".to_vec();
    assert_eq!(roster.put(&juliet, &romeo).await.unwrap(), 1);
    assert_eq!(roster.put(&juliet, &nurse).await.unwrap(), 2);
    let loaded = roster.load(&juliet).await.unwrap();
    assert_eq!(loaded.ver, 2);
    assert_eq!(sorted(loaded.items), vec![nurse.clone(), romeo.clone()]);

    // put replaces; other owners are untouched.
    romeo.state = State::Both;
    romeo.groups.clear();
    romeo.name.clear();
    assert_eq!(roster.put(&juliet, &romeo).await.unwrap(), 3);
    let other = owner("tybalt");
    roster.put(&other, &RosterItem::new("romeo@example.net")).await.unwrap();
    let loaded = roster.load(&juliet).await.unwrap();
    assert_eq!(sorted(loaded.items), vec![nurse.clone(), romeo.clone()]);
    assert_eq!(roster.load(&other).await.unwrap().ver, 1);

    assert_eq!(roster.remove(&juliet, "nurse@example.com").await.unwrap(), 4);
    assert!(matches!(roster.remove(&juliet, "nurse@example.com").await, Err(StoreError::NotFound)));
    let loaded = roster.load(&juliet).await.unwrap();
    assert_eq!((loaded.ver, loaded.items), (4, vec![romeo]));

    roster.delete_all(&juliet).await.unwrap();
    assert_eq!(roster.load(&juliet).await.unwrap(), Default::default());
    assert_eq!(roster.load(&other).await.unwrap().items.len(), 1);
    roster.delete_all(&other).await.unwrap();
}

/// Owners compare as exact bytes and hold the longest bare JID; contacts
/// may be full JIDs of the longest kind (RFC 7622: 1023 bytes per part).
async fn keys_are_exact_and_long(uri: &str) {
    let roster = store(uri).await;
    let juliet = owner("jüliet");
    roster.put(&juliet, &RosterItem::new("a@b")).await.unwrap();
    assert!(roster.load(&juliet.to_uppercase()).await.unwrap().items.is_empty());
    let long_owner = format!("{}@{}", "l".repeat(1023), "d".repeat(1006) + &owner("")[..17]);
    assert_eq!(long_owner.len(), 2047);
    let long_contact = format!("{}@{}/{}", "c".repeat(1023), "e".repeat(1023), "r".repeat(1023));
    let mut item = RosterItem::new(long_contact.clone());
    item.name = "n".repeat(1023);
    item.groups = vec!["g".repeat(1023); 64];
    roster.put(&long_owner, &item).await.unwrap();
    let loaded = roster.load(&long_owner).await.unwrap();
    assert_eq!(loaded.items, vec![item]);
    roster.remove(&long_owner, &long_contact).await.unwrap();
    for o in [juliet, long_owner] {
        roster.delete_all(&o).await.unwrap();
    }
}

fn env_uri(var: &str) -> Option<String> {
    let uri = std::env::var(var).ok().filter(|u| !u.is_empty());
    if uri.is_none() {
        eprintln!("skipping: {var} is not set");
    }
    uri
}

#[tokio::test]
async fn sqlite_roster_contract() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite://{}", dir.path().join("store.db").display());
    contract(&uri).await;
    keys_are_exact_and_long(&uri).await;
}

#[tokio::test]
async fn postgres_roster_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_POSTGRES_URL") {
        contract(&uri).await;
        keys_are_exact_and_long(&uri).await;
    }
}

#[tokio::test]
async fn mysql_roster_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_MYSQL_URL") {
        contract(&uri).await;
        keys_are_exact_and_long(&uri).await;
    }
}
