//! `login`: complete logins — TCP, STARTTLS as configured, SASL, bind,
//! initial presence confirmed by a ping round trip — then a clean close,
//! `--concurrency` at a time, cycling over the accounts. Bounded by `--count`
//! (default: one login per account) and `--duration`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use anyhow::Result;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::Options;
use crate::report::Report;
use crate::stats::{Latency, Progress, per_second};
use crate::xmpp::{Presence, Target, session};

/// Runs the scenario.
pub async fn run(o: &Options, t: &Target, progress: &Arc<Progress>) -> Result<Report> {
    let total = if o.count > 0 { o.count } else { o.users as u64 };
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + o.duration;
    progress.phase("measure");
    let mut set = JoinSet::new();
    for _ in 0..(o.concurrency as u64).min(total) {
        let (t, next, progress, users) = (t.clone(), next.clone(), progress.clone(), o.users);
        set.spawn(async move {
            let mut latency = Latency::new();
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= total || Instant::now() >= end {
                    break;
                }
                let user = t.user((i % users as u64) as u32);
                let began = Instant::now();
                match tokio::time::timeout_at(end, session::login(&t, &user, Presence::Confirm)).await {
                    Ok(Ok((conn, _))) => {
                        latency.record_nanos(began.elapsed().as_nanos() as u64);
                        progress.done.fetch_add(1, Relaxed);
                        conn.close().await;
                    }
                    Ok(Err(e)) => {
                        progress.failed.fetch_add(1, Relaxed);
                        errors.push(format!("{user}: {e:#}"));
                    }
                    // Cut short by the time bound: not a failure, not counted.
                    Err(_) => break,
                }
            }
            (latency, errors)
        });
    }
    let mut latency = Latency::new();
    let mut errors = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (l, e) = joined?;
        latency.merge(&l);
        errors.extend(e);
    }
    let secs = start.elapsed().as_secs_f64();
    progress.phase("done");
    let mut r = Report::new("login");
    r.int("logins", latency.count()).int("failed", errors.len() as u64).int("concurrency", o.concurrency as u64);
    r.float("seconds", secs, 3).float("logins_per_s", per_second(latency.count(), secs), 1);
    r.latency("login", &latency.summary());
    if let Some(e) = errors.first() {
        r.fail(format!("{} logins failed, first: {e}", errors.len()));
    }
    if latency.count() == 0 && errors.is_empty() {
        r.fail("no login completed within --duration");
    }
    Ok(r)
}
