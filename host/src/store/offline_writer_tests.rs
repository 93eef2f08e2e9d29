//! The offline writer (group commit) on every backend: concurrent appends
//! share transactions, limits hold within one transaction and across a
//! deletion, a row the database refuses fails only its own caller, and
//! closing commits what was queued. SQLite always; PostgreSQL and MariaDB
//! when their URLs are set (see `contract_tests`).

use std::collections::HashMap;

use super::contract_tests::{env_uri, sqlite_uri, unique};
use super::{Backend, Db, OfflineLimits, OfflineStore, StoreError};

const UNLIMITED: OfflineLimits = OfflineLimits { per_pair: 0, per_recipient: 0 };

async fn open(uri: &str) -> (Db, OfflineStore) {
    let db = Db::connect(uri).await.unwrap();
    db.migrate().await.unwrap();
    let store = db.offline();
    (db, store)
}

/// Starts `n` appends at once, the i-th with body `i`, from `sender(i)`,
/// and returns their results in that order.
async fn appends(
    store: &OfflineStore,
    recipient: &str,
    n: usize,
    sender: impl Fn(usize) -> String,
    limits: OfflineLimits,
) -> Vec<Result<(), StoreError>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (store, recipient, sender) = (store.clone(), recipient.to_owned(), sender(i));
            tokio::spawn(
                async move { store.append(&recipient, &sender, i as i64, i.to_string().as_bytes(), limits).await },
            )
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn bodies(store: &OfflineStore, recipient: &str) -> Vec<String> {
    let rows = store.fetch(recipient, 10_000).await.unwrap();
    rows.into_iter().map(|m| String::from_utf8(m.stanza).unwrap()).collect()
}

async fn contract(uri: &str) {
    let (db, store) = open(uri).await;
    let juliet = unique("juliet");

    // Two hundred appends at once: all stored, in far fewer transactions.
    let before = db.offline_commits();
    let results = appends(&store, &juliet, 200, |i| format!("sender{}", i % 4), UNLIMITED).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let commits = db.offline_commits() - before;
    assert!(commits < 100, "200 appends took {commits} transactions");
    assert_eq!(store.count(&juliet).await.unwrap(), 200);
    store.delete_all(&juliet).await.unwrap();

    // Four senders, each sending one after the other as a session does:
    // each sender's messages are stored in the order it sent them.
    let senders: Vec<_> = (0..4)
        .map(|s| {
            let (store, juliet) = (store.clone(), juliet.clone());
            tokio::spawn(async move {
                for i in 0..50 {
                    store.append(&juliet, &format!("s{s}"), 0, format!("{s} {i}").as_bytes(), UNLIMITED).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap().unwrap();
    }
    let mut next: HashMap<String, usize> = HashMap::new();
    for b in bodies(&store, &juliet).await {
        let (s, i) = b.split_once(' ').unwrap();
        let expected = next.entry(s.to_owned()).or_default();
        assert_eq!(i.parse::<usize>().unwrap(), *expected, "sender {s} out of order");
        *expected += 1;
    }
    assert_eq!(next.values().sum::<usize>(), 200);
    store.delete_all(&juliet).await.unwrap();

    // Limits hold inside one transaction: of twenty appends at once, only
    // the first three of a pair and five for the recipient are taken.
    let limits = OfflineLimits { per_pair: 3, per_recipient: 5 };
    let romeo = unique("romeo");
    let results = appends(&store, &romeo, 20, |i| format!("s{}", i % 2), limits).await;
    let taken = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(taken, 5, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(()) | Err(StoreError::QuotaExceeded))), "{results:?}");
    let mut per_sender: HashMap<String, usize> = HashMap::new();
    for m in store.fetch(&romeo, 100).await.unwrap() {
        let i: usize = String::from_utf8(m.stanza).unwrap().parse().unwrap();
        *per_sender.entry(format!("s{}", i % 2)).or_default() += 1;
    }
    assert!(per_sender.values().all(|&n| n <= 3), "{per_sender:?}");
    assert_eq!(store.count(&romeo).await.unwrap(), 5);

    // A deletion frees the quota at once (the writer's counts follow it).
    let waiting = store.fetch(&romeo, 100).await.unwrap();
    store.delete(&waiting.iter().map(|m| m.id).collect::<Vec<_>>()).await.unwrap();
    store.append(&romeo, "s0", 0, b"again", limits).await.unwrap();
    assert_eq!(store.count(&romeo).await.unwrap(), 1);
    store.delete_all(&romeo).await.unwrap();
    store.append(&romeo, "s0", 0, b"after delete_all", limits).await.unwrap();
    assert_eq!(store.count(&romeo).await.unwrap(), 1);
    store.delete_all(&romeo).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_offline_writer_contract() {
    let (_dir, uri) = sqlite_uri().await;
    contract(&uri).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_offline_writer_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_POSTGRES_URL") {
        contract(&uri).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_offline_writer_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_MYSQL_URL") {
        contract(&uri).await;
    }
}

/// A row the database refuses (here a trigger refuses one sender's rows)
/// fails only its own append; the rest of its transaction is stored and
/// the limits still count right afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_row_fails_only_its_own_append() {
    let (_dir, uri) = sqlite_uri().await;
    let (db, store) = open(&uri).await;
    assert_eq!(db.backend(), Backend::Sqlite);
    sqlx::query(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON offline_messages WHEN NEW.sender = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let limits = OfflineLimits { per_pair: 0, per_recipient: 30 };
    for round in 0..3 {
        let results =
            appends(&store, "juliet", 10, |i| if i == 4 { "poison".into() } else { format!("r{round}") }, limits).await;
        for (i, r) in results.iter().enumerate() {
            match (i, r) {
                (4, Err(StoreError::Database(e))) => assert!(e.to_string().contains("poisoned row"), "{e}"),
                (4, r) => panic!("the poisoned row got {r:?}"),
                (_, r) => assert!(r.is_ok(), "row {i} failed with its neighbour: {r:?}"),
            }
        }
    }
    assert_eq!(store.count("juliet").await.unwrap(), 27);
    // 27 stored, 30 allowed: the failed rows did not count.
    let results = appends(&store, "juliet", 5, |_| "late".into(), limits).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3, "{results:?}");
    assert_eq!(store.count("juliet").await.unwrap(), 30);
}

/// Closing commits everything queued before it, then refuses new appends.
/// On the current-thread runtime each spawned append reaches the queue at
/// its first poll, so all fifty are queued when `close` is sent.
#[tokio::test]
async fn close_commits_what_was_queued() {
    let (_dir, uri) = sqlite_uri().await;
    let (_db, store) = open(&uri).await;
    let queued: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.append("nurse", "romeo", i, b"queued", UNLIMITED).await })
        })
        .collect();
    tokio::task::yield_now().await;
    store.close().await;
    for q in queued {
        q.await.unwrap().unwrap();
    }
    assert_eq!(store.count("nurse").await.unwrap(), 50);
    assert!(matches!(store.append("nurse", "romeo", 0, b"late", UNLIMITED).await, Err(StoreError::Shutdown)));
}

/// Closing with nothing queued returns at once, and a second close too.
#[tokio::test]
async fn close_without_appends_returns() {
    let (_dir, uri) = sqlite_uri().await;
    let (_db, store) = open(&uri).await;
    store.close().await;
    store.close().await;
    assert!(matches!(store.append("a", "b", 0, b"x", UNLIMITED).await, Err(StoreError::Shutdown)));
}
