//! XEP-0160 offline store throughput: append rate (sequential, and 16
//! concurrent writers) and the time to drain 10,000 stored messages the way
//! the flush does (fetch 256 oldest, delete them by id, repeat). The same
//! for the XEP-0079 AMP store (`amp_store/…`: one writer, drain), whose
//! rows also carry an expiry and so keep a third index up to date. SQLite
//! always; PostgreSQL and MariaDB too when `WASMPP_TEST_POSTGRES_URL` /
//! `WASMPP_TEST_MYSQL_URL` are set (the same variables as the store tests).

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};
use wasmpp::store::{AmpStore, Db, OfflineLimits, OfflineStore};

const LIMITS: OfflineLimits = OfflineLimits { per_pair: 0, per_recipient: 0 };
const FLUSHED: usize = 10_000;

fn stanza(i: usize) -> Vec<u8> {
    format!(
        "<message from='romeo@localhost/orchard' to='juliet@localhost' type='chat' id='m{i}'><body>{}</body></message>",
        "x".repeat(200)
    )
    .into_bytes()
}

fn recipient() -> String {
    format!("bench-{:016x}@localhost", rand::random::<u64>())
}

async fn drain(store: &OfflineStore, who: &str) -> usize {
    let mut n = 0;
    loop {
        let batch = store.fetch(who, 256).await.unwrap();
        if batch.is_empty() {
            return n;
        }
        n += batch.len();
        store.delete(&batch.iter().map(|m| m.id).collect::<Vec<_>>()).await.unwrap();
    }
}

fn bench_backend(c: &mut Criterion, name: &str, uri: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let store = rt.block_on(async {
        let db = Db::connect(uri).await.unwrap();
        db.migrate().await.unwrap();
        db.offline()
    });
    let body = stanza(0);
    let mut g = c.benchmark_group(format!("offline_store/{name}"));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("append", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let who = recipient();
                let start = Instant::now();
                for _ in 0..iters {
                    store.append(&who, "romeo@localhost", 0, &body, LIMITS).await.unwrap();
                }
                let took = start.elapsed();
                drain(&store, &who).await;
                took
            })
        })
    });
    g.bench_function("append_16_writers", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let who = recipient();
                let start = Instant::now();
                let tasks: Vec<_> = (0..16)
                    .map(|w| {
                        let (store, who, body) = (store.clone(), who.clone(), body.clone());
                        let sender = format!("writer{w}@localhost");
                        tokio::spawn(async move {
                            for _ in 0..iters.div_ceil(16) {
                                store.append(&who, &sender, 0, &body, LIMITS).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                // Normalise to `iters` appends even though 16·⌈iters/16⌉ ran.
                let took = start.elapsed().mul_f64(iters as f64 / (16 * iters.div_ceil(16)) as f64);
                drain(&store, &who).await;
                took
            })
        })
    });
    g.bench_function("flush_10k", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let who = recipient();
                    for i in 0..FLUSHED {
                        store.append(&who, "romeo@localhost", 0, &stanza(i), LIMITS).await.unwrap();
                    }
                    let start = Instant::now();
                    assert_eq!(drain(&store, &who).await, FLUSHED);
                    total += start.elapsed();
                }
                total
            })
        })
    });
    g.finish();
}

/// Every row carries an expiry, so it is also in the sweeper's index (the
/// costlier case). Year 3000: a server sweeping the same database (the
/// shared test databases) must not take the rows away mid-measurement.
const EXPIRES: Option<i64> = Some(32_503_680_000_000);

async fn drain_amp(store: &AmpStore, who: &str) -> usize {
    let mut n = 0;
    loop {
        let batch = store.fetch(who, 256).await.unwrap();
        if batch.is_empty() {
            return n;
        }
        n += batch.len();
        store.delete(&batch.iter().map(|m| m.id).collect::<Vec<_>>()).await.unwrap();
    }
}

fn bench_amp(c: &mut Criterion, name: &str, uri: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let store = rt.block_on(async {
        let db = Db::connect(uri).await.unwrap();
        db.migrate_amp().await.unwrap();
        db.amp()
    });
    let body = stanza(0);
    let mut g = c.benchmark_group(format!("amp_store/{name}"));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("append", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let who = recipient();
                let start = Instant::now();
                for _ in 0..iters {
                    store.append(&who, "romeo@localhost", "amp", 0, EXPIRES, &body, LIMITS).await.unwrap();
                }
                let took = start.elapsed();
                drain_amp(&store, &who).await;
                took
            })
        })
    });
    g.bench_function("flush_10k", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let who = recipient();
                    for i in 0..FLUSHED {
                        store.append(&who, "romeo@localhost", "amp", 0, EXPIRES, &stanza(i), LIMITS).await.unwrap();
                    }
                    let start = Instant::now();
                    assert_eq!(drain_amp(&store, &who).await, FLUSHED);
                    total += start.elapsed();
                }
                total
            })
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    bench_backend(c, "sqlite", &sqlite);
    bench_amp(c, "sqlite", &sqlite);
    for (name, var) in [("postgres", "WASMPP_TEST_POSTGRES_URL"), ("mysql", "WASMPP_TEST_MYSQL_URL")] {
        match std::env::var(var) {
            Ok(uri) if !uri.is_empty() => {
                bench_backend(c, name, &uri);
                bench_amp(c, name, &uri);
            }
            _ => eprintln!("offline_store/{name}, amp_store/{name}: skipped ({var} is not set)"),
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
