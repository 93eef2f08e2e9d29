//! The cost of XEP-0079's STRICT security check (ruling D15): before the
//! chain runs, the host asks whether the sender may see the recipient's
//! presence, once per message that carries `<amp>`. For an online
//! recipient the roster is cached; for an offline one it is read from the
//! database (here SQLite in memory, the cheapest case).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use wasmpp::sm::registry::{ConflictPolicy, Registry};
use wasmpp::sm::roster::Rosters;
use wasmpp::sm::subscription::State;
use wasmpp::store::Db;
use wasmpp::store::roster::RosterItem;
use wasmpp::xmpp::{BareJid, FullJid};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (rosters, registry) = rt.block_on(async {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        db.migrate().await.unwrap();
        for owner in ["juliet@localhost", "nurse@localhost"] {
            for i in 0..100 {
                db.roster().put(owner, &RosterItem::new(format!("friend{i}@localhost"))).await.unwrap();
            }
            let romeo = RosterItem { state: State::From, ..RosterItem::new("romeo@localhost") };
            db.roster().put(owner, &romeo).await.unwrap();
        }
        (Rosters::new(db.roster()), Arc::new(Registry::new()))
    });
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    registry.bind(FullJid::new("juliet@localhost/balcony").unwrap(), tx, ConflictPolicy::Override).unwrap();
    let online = BareJid::new("juliet@localhost").unwrap();
    let offline = BareJid::new("nurse@localhost").unwrap();
    let romeo = BareJid::new("romeo@localhost").unwrap();
    let stranger = BareJid::new("iago@localhost").unwrap();
    // The first lookup loads the online owner's roster into the cache.
    assert!(rt.block_on(rosters.may_see_presence(&registry, &online, &romeo)).unwrap());
    assert!(registry.roster(&online).is_some(), "cached while online");

    let mut g = c.benchmark_group("amp_strict");
    g.bench_function("online_recipient_subscribed", |b| {
        b.iter(|| black_box(rt.block_on(rosters.may_see_presence(&registry, &online, &romeo)).unwrap()))
    });
    g.bench_function("online_recipient_stranger", |b| {
        b.iter(|| black_box(rt.block_on(rosters.may_see_presence(&registry, &online, &stranger)).unwrap()))
    });
    g.bench_function("offline_recipient_from_database", |b| {
        b.iter(|| black_box(rt.block_on(rosters.may_see_presence(&registry, &offline, &romeo)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
