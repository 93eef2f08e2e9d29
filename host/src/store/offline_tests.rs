//! The offline store's contract on every backend (see `contract_tests`):
//! order, limits, deletion by id, and binary-safe stanzas.

use super::contract_tests::{env_uri, reads_index_in_order, sqlite_uri, unique, with_literals};
use super::offline::{FETCH, OfflineLimits};
use super::{Db, StoreError};

const UNLIMITED: OfflineLimits = OfflineLimits { per_pair: 0, per_recipient: 0 };

async fn contract(uri: &str) {
    let db = Db::connect(uri).await.unwrap();
    db.migrate().await.unwrap();
    let store = db.offline();
    let (juliet, romeo, nurse) = (unique("juliet"), unique("romeo"), unique("nurse"));

    assert!(store.fetch(&juliet, 10).await.unwrap().is_empty());
    for i in 0..5 {
        let xml = format!("<message id='m{i}'><body>é {i} &amp; ✓</body></message>");
        store.append(&juliet, &romeo, 1_000 + i, xml.as_bytes(), UNLIMITED).await.unwrap();
    }
    assert_eq!(store.count(&juliet).await.unwrap(), 5);
    let first = store.fetch(&juliet, 3).await.unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.windows(2).all(|w| w[0].id < w[1].id), "insertion order");
    assert!(first.windows(2).all(|w| w[0].arrival < w[1].arrival), "arrival order");
    reads_index_in_order(&db, &with_literals(FETCH, &["'x'", "10"]), "offline_messages", "offline_messages_arrival")
        .await;
    assert_eq!(first[0].stamp_ms, 1_000);
    assert_eq!(first[2].stanza, "<message id='m2'><body>é 2 &amp; ✓</body></message>".as_bytes());

    // Deleting what was delivered leaves the rest, in order.
    store.delete(&first.iter().map(|m| m.id).collect::<Vec<_>>()).await.unwrap();
    let rest = store.fetch(&juliet, 10).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.stamp_ms).collect::<Vec<_>>(), [1_003, 1_004]);
    store.delete(&rest.iter().map(|m| m.id).collect::<Vec<_>>()).await.unwrap();
    store.delete(&[]).await.unwrap();
    assert_eq!(store.count(&juliet).await.unwrap(), 0);

    // Per pair, then per recipient.
    let limits = OfflineLimits { per_pair: 2, per_recipient: 3 };
    store.append(&juliet, &romeo, 1, b"<m/>", limits).await.unwrap();
    store.append(&juliet, &romeo, 2, b"<m/>", limits).await.unwrap();
    assert!(matches!(store.append(&juliet, &romeo, 3, b"<m/>", limits).await, Err(StoreError::QuotaExceeded)));
    store.append(&juliet, &nurse, 4, b"<m/>", limits).await.unwrap();
    assert!(matches!(store.append(&juliet, &nurse, 5, b"<m/>", limits).await, Err(StoreError::QuotaExceeded)));
    // Other recipients are unaffected.
    store.append(&romeo, &juliet, 6, b"<m/>", limits).await.unwrap();
    store.delete_all(&juliet).await.unwrap();
    assert_eq!(store.count(&juliet).await.unwrap(), 0);
    assert_eq!(store.count(&romeo).await.unwrap(), 1, "other recipients keep theirs");
    store.delete_all(&romeo).await.unwrap();
}

#[tokio::test]
async fn sqlite_offline_contract() {
    let (_dir, uri) = sqlite_uri().await;
    contract(&uri).await;
}

#[tokio::test]
async fn postgres_offline_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_POSTGRES_URL") {
        contract(&uri).await;
    }
}

#[tokio::test]
async fn mysql_offline_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_MYSQL_URL") {
        contract(&uri).await;
    }
}
