//! The AMP store's contract on every backend (see `contract_tests`).
//!
//! Per-recipient operations run in the shared test database, next to the
//! user tables, with unique JIDs. The sweeper's queries (`next_expiry`,
//! `expired`) look at the whole table, so they run in a database of their
//! own that holds only the AMP set: a fresh SQLite file, or a PostgreSQL /
//! MariaDB database created for the run and dropped after it.

use sqlx::Row;

use super::amp::{EXPIRED, FETCH, NEXT_EXPIRY};
use super::contract_tests::{env_uri, reads_index_in_order, sqlite_uri, unique, with_literals};
use super::{AmpStore, Backend, Db, OfflineLimits, StoreError};

const UNLIMITED: OfflineLimits = OfflineLimits { per_pair: 0, per_recipient: 0 };
/// Expiries in the shared databases lie past this instant (year 3000): a
/// server sweeping the same database must not remove rows mid-test.
const FUTURE: i64 = 32_503_680_000_000;

/// Appends with no limit and no expiry, owned by `amp`.
async fn put(store: &AmpStore, to: &str, from: &str, stamp_ms: i64, expires: Option<i64>) -> i64 {
    store.append(to, from, "amp", stamp_ms, expires, b"<message/>", UNLIMITED).await.unwrap()
}

async fn contract(uri: &str) {
    let db = Db::connect(uri).await.unwrap();
    // Both sets in one database, in any order, any number of times.
    db.migrate().await.unwrap();
    db.migrate_amp().await.unwrap();
    db.migrate().await.unwrap();
    db.migrate_amp().await.unwrap();
    assert!(!db.users().exists(&unique("nobody")).await.unwrap(), "user tables still usable");
    let store = db.amp();
    let (juliet, romeo, nurse) = (unique("juliet"), unique("romeo"), unique("nurse"));

    assert!(store.fetch(&juliet, 10).await.unwrap().is_empty());
    assert_eq!(store.count(&juliet).await.unwrap(), 0);

    // Order, every field round-trips, and the returned ids are the rows' ids.
    let mut ids = Vec::new();
    for i in 0..5 {
        let xml = format!(
            "<message id='m{i}'><body>é {i} &amp; ✓</body><amp xmlns='http://jabber.org/protocol/amp'/></message>"
        );
        let expires = (i % 2 == 0).then_some(FUTURE + i);
        let owner = if i == 4 { "msgoffline" } else { "amp" };
        ids.push(store.append(&juliet, &romeo, owner, 1_000 + i, expires, xml.as_bytes(), UNLIMITED).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow in insertion order: {ids:?}");
    assert_eq!(store.count(&juliet).await.unwrap(), 5);
    let first = store.fetch(&juliet, 3).await.unwrap();
    assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..3]);
    assert_eq!(first[0].sender, romeo);
    assert_eq!(first[0].owner, "amp");
    assert_eq!(first.iter().map(|m| m.stamp_ms).collect::<Vec<_>>(), [1_000, 1_001, 1_002]);
    assert!(first.windows(2).all(|w| w[0].arrival < w[1].arrival), "arrival order");
    reads_index_in_order(&db, &with_literals(FETCH, &["'x'", "10"]), "amp_messages", "amp_messages_arrival").await;
    assert_eq!(first.iter().map(|m| m.expires_at_ms).collect::<Vec<_>>(), [Some(FUTURE), None, Some(FUTURE + 2)]);
    assert_eq!(
        first[2].stanza,
        "<message id='m2'><body>é 2 &amp; ✓</body><amp xmlns='http://jabber.org/protocol/amp'/></message>".as_bytes()
    );
    assert!(store.fetch(&romeo, 10).await.unwrap().is_empty(), "keyed by recipient, not sender");

    // Deleting what was delivered leaves the rest, in order.
    store.delete(&ids[..3]).await.unwrap();
    store.delete(&ids[..3]).await.unwrap();
    store.delete(&[]).await.unwrap();
    let rest = store.fetch(&juliet, 10).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), ids[3..]);
    assert_eq!(rest[1].owner, "msgoffline");

    // update replaces the stanza and the expiry of that row only.
    store.update(ids[4], b"<message id='m4'/>", None).await.unwrap();
    store.update(ids[3], b"<message id='m3'/>", Some(FUTURE + 7)).await.unwrap();
    store.update(ids[3], b"<message id='m3'/>", Some(FUTURE + 7)).await.unwrap();
    let updated = store.fetch(&juliet, 10).await.unwrap();
    assert_eq!(updated[0].stanza, b"<message id='m3'/>");
    assert_eq!((updated[0].expires_at_ms, updated[1].expires_at_ms), (Some(FUTURE + 7), None));
    assert_eq!((updated[0].stamp_ms, updated[1].sender.as_str()), (1_003, romeo.as_str()), "the rest is kept");
    assert!(matches!(store.update(ids[0], b"<m/>", None).await, Err(StoreError::NotFound)));
    store.delete_all(&juliet).await.unwrap();
    assert_eq!(store.count(&juliet).await.unwrap(), 0);
    assert!(matches!(store.update(ids[4], b"<m/>", None).await, Err(StoreError::NotFound)));

    // Any byte survives: NUL, invalid UTF-8, every value.
    let binary: Vec<u8> = (0..=255u8).chain([0, 0xff, 0xc3]).collect();
    let id = store.append(&juliet, &romeo, "amp", 1, None, &binary, UNLIMITED).await.unwrap();
    assert_eq!(store.fetch(&juliet, 1).await.unwrap()[0].stanza, binary);
    store.delete(&[id]).await.unwrap();

    // Per pair (Tigase's store-limit), then per recipient.
    let limits = OfflineLimits { per_pair: 2, per_recipient: 3 };
    let quota = |r: Result<i64, StoreError>| matches!(r, Err(StoreError::QuotaExceeded));
    store.append(&juliet, &romeo, "amp", 1, None, b"<m/>", limits).await.unwrap();
    store.append(&juliet, &romeo, "amp", 2, Some(FUTURE), b"<m/>", limits).await.unwrap();
    assert!(quota(store.append(&juliet, &romeo, "amp", 3, None, b"<m/>", limits).await));
    store.append(&juliet, &nurse, "amp", 4, None, b"<m/>", limits).await.unwrap();
    assert!(quota(store.append(&juliet, &nurse, "amp", 5, None, b"<m/>", limits).await));
    assert_eq!(store.count(&juliet).await.unwrap(), 3, "refused appends store nothing");
    // 0 = unlimited, and other recipients are unaffected.
    let only_pair = OfflineLimits { per_pair: 0, per_recipient: 4 };
    store.append(&juliet, &romeo, "amp", 6, None, b"<m/>", only_pair).await.unwrap();
    put(&store, &juliet, &romeo, 7, None).await;
    store.append(&romeo, &juliet, "amp", 8, None, b"<m/>", limits).await.unwrap();
    assert_eq!(store.count(&juliet).await.unwrap(), 5);
    store.delete_all(&juliet).await.unwrap();
    assert_eq!(store.count(&juliet).await.unwrap(), 0);
    assert_eq!(store.count(&romeo).await.unwrap(), 1, "other recipients keep theirs");
    store.delete_all(&romeo).await.unwrap();
}

/// The sweeper's view; `db` must hold no other AMP rows.
async fn expiry(db: &Db) {
    db.migrate_amp().await.unwrap();
    db.migrate_amp().await.unwrap();
    let store = db.amp();
    let (juliet, romeo) = (unique("juliet"), unique("romeo"));
    assert_eq!(store.next_expiry().await.unwrap(), None, "empty");
    assert!(store.expired(i64::MAX, 10).await.unwrap().is_empty());
    let never = put(&store, &juliet, &romeo, 1, None).await;
    assert_eq!(store.next_expiry().await.unwrap(), None, "rows without expire-at do not count");

    let late = put(&store, &juliet, &romeo, 2, Some(30)).await;
    let early_a = put(&store, &romeo, &juliet, 3, Some(10)).await;
    let mid = put(&store, &juliet, &romeo, 4, Some(20)).await;
    let early_b = put(&store, &juliet, &romeo, 5, Some(10)).await;
    assert_eq!(store.next_expiry().await.unwrap(), Some(10), "minimum across rows and recipients");

    let due = |v: Vec<(String, super::AmpMessage)>| v.into_iter().map(|(r, m)| (r, m.id)).collect::<Vec<_>>();
    assert!(store.expired(9, 10).await.unwrap().is_empty(), "nothing due before the first expiry");
    assert_eq!(
        due(store.expired(10, 10).await.unwrap()),
        [(romeo.clone(), early_a), (juliet.clone(), early_b)],
        "due at the instant itself, ties by id"
    );
    let all = store.expired(20, 10).await.unwrap();
    assert_eq!(due(all.clone()), [(romeo.clone(), early_a), (juliet.clone(), early_b), (juliet.clone(), mid)]);
    assert_eq!((all[2].1.stamp_ms, all[2].1.expires_at_ms, all[2].1.sender.as_str()), (4, Some(20), romeo.as_str()));
    assert_eq!(due(store.expired(i64::MAX, 2).await.unwrap()), [(romeo.clone(), early_a), (juliet.clone(), early_b)]);
    assert_eq!(store.expired(i64::MAX, 10).await.unwrap().len(), 4, "never-expiring rows are not swept");
    let mine = |v: Vec<super::AmpMessage>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(mine(store.expired_for(&juliet, 20, 10).await.unwrap()), [early_b, mid], "one recipient's due rows");
    assert_eq!(mine(store.expired_for(&juliet, 20, 1).await.unwrap()), [early_b]);
    assert!(store.expired_for(&juliet, 9, 10).await.unwrap().is_empty());

    store.delete(&[early_a, early_b]).await.unwrap();
    assert_eq!(store.next_expiry().await.unwrap(), Some(20), "after delete");
    store.update(mid, b"<m/>", None).await.unwrap();
    assert_eq!(store.next_expiry().await.unwrap(), Some(30), "after a notify rule fired");
    store.update(never, b"<m/>", Some(5)).await.unwrap();
    assert_eq!(store.next_expiry().await.unwrap(), Some(5), "an update may bring the expiry forward");
    assert_eq!(due(store.expired(30, 10).await.unwrap()), [(juliet.clone(), never), (juliet.clone(), late)]);
    store.delete_all(&juliet).await.unwrap();
    assert_eq!(store.next_expiry().await.unwrap(), None);
}

/// The sweeper's queries read the expiry index in order, never the whole
/// table and never a sort. `db` is the one [`expiry`] ran on.
async fn sweeper_uses_the_index(db: &Db) {
    let store = db.amp();
    let juliet = unique("juliet");
    for i in 0..64 {
        put(&store, &juliet, "romeo@example.com", i, (i % 2 == 0).then_some(i)).await;
    }
    for query in [NEXT_EXPIRY, EXPIRED] {
        reads_index_in_order(db, &query.replace('?', "1"), "amp_messages", "amp_messages_expiry").await;
    }
    store.delete_all(&juliet).await.unwrap();
}

/// A database of its own on the server named by `uri`, and its name for
/// [`drop_database`].
async fn fresh_database(uri: &str) -> (Db, String) {
    let name = format!("amp_test_{:016x}", rand::random::<u64>());
    let admin = Db::connect(uri).await.unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
    let (base, query) = uri.split_once('?').map_or((uri, None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').unwrap();
    let db_uri = format!("{server}/{name}{}", query.map(|q| format!("?{q}")).unwrap_or_default());
    (Db::connect(&db_uri).await.unwrap(), name)
}

async fn drop_database(db: Db, name: &str, uri: &str) {
    db.pool().close().await;
    let admin = Db::connect(uri).await.unwrap();
    // PostgreSQL refuses while any session is connected, and a pooled
    // connection may still be on its way out after `close()`: FORCE (13+)
    // ends it. MySQL drops regardless.
    let force = if admin.backend() == Backend::Postgres { " WITH (FORCE)" } else { "" };
    sqlx::raw_sql(&format!("DROP DATABASE {name}{force}")).execute(admin.pool()).await.unwrap();
}

/// On a server: the AMP set alone in a new database (as `--amp-repo-uri`
/// would name it), then the contract next to the user tables.
async fn on_server(uri: &str) {
    let (db, name) = fresh_database(uri).await;
    expiry(&db).await;
    sweeper_uses_the_index(&db).await;
    let users = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(db.pool()).await;
    assert!(users.is_err(), "migrate_amp created no user tables");
    drop_database(db, &name, uri).await;
    contract(uri).await;
}

#[tokio::test]
async fn sqlite_amp_contract() {
    let (_dir, uri) = sqlite_uri().await;
    contract(&uri).await;
}

#[tokio::test]
async fn sqlite_amp_expiry() {
    let (_dir, uri) = sqlite_uri().await;
    let db = Db::connect(&uri).await.unwrap();
    expiry(&db).await;
    sweeper_uses_the_index(&db).await;
}

/// `--amp-repo-uri` naming another database than the user store: each gets
/// only its own set, and each works.
#[tokio::test]
async fn sqlite_amp_store_in_a_separate_database() {
    let dir = tempfile::tempdir().unwrap();
    let uri = |file: &str| format!("sqlite://{}", dir.path().join(file).display());
    let user_db = Db::connect(&uri("users.db")).await.unwrap();
    user_db.migrate().await.unwrap();
    let amp_db = Db::connect(&uri("amp.db")).await.unwrap();
    amp_db.migrate_amp().await.unwrap();

    let tables = |db: Db| async move {
        let rows = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(db.pool())
            .await
            .unwrap();
        let mut names: Vec<String> = rows.iter().map(|r| r.try_get(0).unwrap()).collect();
        names.sort();
        names
    };
    assert_eq!(tables(amp_db.clone()).await, ["_sqlx_migrations", "amp_messages"]);
    let user_tables = tables(user_db.clone()).await;
    assert!(user_tables.contains(&"users".to_string()) && !user_tables.contains(&"amp_messages".to_string()));

    let juliet = unique("juliet");
    user_db.users().create(&juliet, "pw", 1).await.unwrap();
    let id = put(&amp_db.amp(), &juliet, &unique("romeo"), 1, Some(10)).await;
    assert_eq!(amp_db.amp().fetch(&juliet, 1).await.unwrap()[0].id, id);
    assert_eq!(amp_db.amp().next_expiry().await.unwrap(), Some(10));
    assert!(user_db.users().exists(&juliet).await.unwrap());
    // A restart re-runs both, each on its own database.
    user_db.migrate().await.unwrap();
    amp_db.migrate_amp().await.unwrap();
    assert_eq!(amp_db.amp().count(&juliet).await.unwrap(), 1);
}

#[tokio::test]
async fn postgres_amp_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_POSTGRES_URL") {
        on_server(&uri).await;
    }
}

#[tokio::test]
async fn mysql_amp_contract() {
    if let Some(uri) = env_uri("WASMPP_TEST_MYSQL_URL") {
        on_server(&uri).await;
    }
}
