//! `register`: XEP-0077 in-band registration of `PREFIX0 … PREFIX(N-1)`,
//! `--concurrency` streams each registering accounts one after another.
//! Existing accounts (`<conflict/>`) count as present, so the scenario can be
//! run again before every measurement. Bounded by `--count`/`--users` and
//! `--duration`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use anyhow::Result;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::Options;
use crate::net::Conn;
use crate::report::Report;
use crate::stats::{Latency, Progress, per_second};
use crate::xmpp::register::{Registered, register};
use crate::xmpp::{Target, session};

#[derive(Default)]
struct Tally {
    created: u64,
    existed: u64,
    refused: BTreeMap<String, u64>,
    errors: Vec<String>,
    latency: Latency,
}

/// Runs the scenario.
pub async fn run(o: &Options, t: &Target, progress: &Arc<Progress>) -> Result<Report> {
    let total = if o.count > 0 { o.count.min(o.users as u64) as u32 } else { o.users };
    let next = Arc::new(AtomicU32::new(0));
    let start = Instant::now();
    let end = start + o.duration;
    progress.phase("measure");
    let mut set = JoinSet::new();
    for _ in 0..o.concurrency.min(total) {
        let (t, next, progress, password) = (t.clone(), next.clone(), progress.clone(), o.password.clone());
        set.spawn(async move { worker(&t, &next, total, end, &password, &progress).await });
    }
    let mut all = Tally::default();
    while let Some(joined) = set.join_next().await {
        let tally = joined?;
        all.created += tally.created;
        all.existed += tally.existed;
        for (k, v) in tally.refused {
            *all.refused.entry(k).or_default() += v;
        }
        all.errors.extend(tally.errors);
        all.latency.merge(&tally.latency);
    }
    let secs = start.elapsed().as_secs_f64();
    progress.phase("done");
    let mut r = Report::new("register");
    let refused: u64 = all.refused.values().sum();
    let done = all.created + all.existed;
    r.int("accounts", total as u64).int("created", all.created).int("existed", all.existed).int("refused", refused);
    r.float("seconds", secs, 3).float("registrations_per_s", per_second(all.created + all.existed, secs), 1);
    r.latency("iq", &all.latency.summary());
    for (cond, n) in &all.refused {
        r.fail(format!("{n} registrations refused with {cond}"));
    }
    if let Some(e) = all.errors.first() {
        r.fail(format!("{} connection errors, first: {e}", all.errors.len()));
    }
    if done + refused < total as u64 {
        let missing = total as u64 - done - refused;
        r.fail(format!("{missing} of {total} accounts not handled (connection errors or the --duration bound)"));
    }
    Ok(r)
}

async fn worker(t: &Target, next: &AtomicU32, total: u32, end: Instant, password: &str, p: &Progress) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<Conn> = None;
    loop {
        let i = next.fetch_add(1, Relaxed);
        if i >= total || Instant::now() >= end {
            break;
        }
        let c = match conn.take() {
            Some(c) => c,
            None => match tokio::time::timeout_at(end, session::open(t)).await {
                Ok(Ok((c, _))) => c,
                Ok(Err(e)) => {
                    tally.errors.push(format!("{e:#}"));
                    p.failed.fetch_add(1, Relaxed);
                    continue;
                }
                Err(_) => break,
            },
        };
        let mut c = c;
        let began = Instant::now();
        match tokio::time::timeout_at(end, register(&mut c, &format!("r{i}"), &t.user(i), password)).await {
            Ok(Ok(outcome)) => {
                tally.latency.record_nanos(began.elapsed().as_nanos() as u64);
                match outcome {
                    Registered::Created => tally.created += 1,
                    Registered::Exists => tally.existed += 1,
                    Registered::Refused(cond) => {
                        *tally.refused.entry(cond).or_default() += 1;
                        p.failed.fetch_add(1, Relaxed);
                    }
                }
                p.done.fetch_add(1, Relaxed);
                conn = Some(c);
            }
            Ok(Err(e)) => {
                tally.errors.push(format!("{}: {e:#}", t.user(i)));
                p.failed.fetch_add(1, Relaxed);
            }
            Err(_) => break,
        }
    }
    if let Some(c) = conn {
        c.close().await;
    }
    tally
}
