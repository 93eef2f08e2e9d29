//! `offline`: XEP-0160 offline storage and flush. For each pair, account 2i
//! sends `--messages` chat messages to account 2i+1, which is not logged in;
//! every `--window` messages a ping round trip confirms the server has taken
//! them (its replies come in order), which gives the store rate. Then each
//! receiver logs in and sends initial presence, and the time until its last
//! message arrives is the flush time. Flushed messages should carry a
//! XEP-0203 `<delay/>`. A server without offline storage bounces with
//! `service-unavailable` (RFC 6121 §8.5.2.2.1): reported as unsupported.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::Options;
use crate::net::{Conn, Frame};
use crate::report::Report;
use crate::stats::{Progress, per_second};
use crate::xmpp::message::{Incoming, Template, classify};
use crate::xmpp::{Clock, Presence, Stamp, Target, session};

#[derive(Default)]
struct Stored {
    accepted: u64,
    bounces: BTreeMap<String, u64>,
    seconds: f64,
}

#[derive(Default)]
struct Flushed {
    got: u64,
    delayed: u64,
    stale: u64,
    seconds: f64,
}

/// Runs the scenario.
pub async fn run(o: &Options, t: &Target, progress: &Arc<Progress>) -> Result<Report> {
    let senders: Vec<u32> = (0..o.pairs).map(|i| 2 * i).collect();
    let conns =
        super::login_all(t, &senders, Presence::Confirm, o.concurrency, Instant::now() + o.timeout, progress).await?;
    progress.done.store(0, Relaxed);
    progress.phase("measure");
    let clock = Clock::new();
    let deadline = Instant::now() + o.timeout;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for (i, mut conn) in conns.into_iter().enumerate() {
        let template = Template::new(&t.jid(2 * i as u32 + 1), o.body_size, false);
        let (domain, progress, m, w) = (t.domain.clone(), progress.clone(), o.messages, o.window);
        set.spawn(async move {
            let r = tokio::time::timeout_at(deadline, store(&mut conn, &template, clock, &domain, m, w, &progress))
                .await
                .unwrap_or_else(|_| bail!("storing did not finish within --timeout"));
            conn.close().await;
            (i, r)
        });
    }
    let mut stored: Vec<Stored> = (0..o.pairs).map(|_| Stored::default()).collect();
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined?;
        stored[i] = r?;
    }
    let store_secs = started.elapsed().as_secs_f64();

    progress.phase("drain");
    let flush_start = Instant::now();
    let deadline = flush_start + o.timeout;
    let mut set = JoinSet::new();
    for (i, s) in stored.iter().enumerate() {
        let expected = s.accepted;
        let (t, progress) = (t.clone(), progress.clone());
        set.spawn(async move {
            tokio::time::timeout_at(deadline, flush(&t, 2 * i as u32 + 1, expected, clock, &progress))
                .await
                .unwrap_or_else(|_| bail!("flush did not finish within --timeout"))
        });
    }
    let mut flushed = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined? {
            Ok(f) => flushed.push(f),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    let flush_secs = flush_start.elapsed().as_secs_f64();
    progress.phase("done");
    Ok(report(o, &stored, &flushed, &errors, store_secs, flush_secs))
}

fn report(o: &Options, stored: &[Stored], flushed: &[Flushed], errors: &[String], ss: f64, fs: f64) -> Report {
    let sent = o.pairs as u64 * o.messages as u64;
    let accepted: u64 = stored.iter().map(|s| s.accepted).sum();
    let mut bounces = BTreeMap::new();
    for (k, v) in stored.iter().flat_map(|s| &s.bounces) {
        *bounces.entry(k.clone()).or_insert(0u64) += v;
    }
    let bounced: u64 = bounces.values().sum();
    let got: u64 = flushed.iter().map(|f| f.got).sum();
    let delayed: u64 = flushed.iter().map(|f| f.delayed).sum();
    let slowest_store = stored.iter().map(|s| s.seconds).fold(0.0, f64::max);
    let slowest_flush = flushed.iter().map(|f| f.seconds).fold(0.0, f64::max);
    let mut r = Report::new("offline");
    r.int("pairs", o.pairs as u64).int("messages_per_pair", o.messages as u64).int("sent", sent);
    r.int("stored", accepted).int("bounced", bounced).int("flushed", got).int("delayed", delayed);
    r.int("lost", accepted.saturating_sub(got)).int("stale", flushed.iter().map(|f| f.stale).sum());
    r.float("store_seconds", ss, 3).float("store_per_s", per_second(accepted, ss), 1);
    r.float("slowest_store_seconds", slowest_store, 3);
    r.float("flush_seconds", fs, 3).float("flush_per_s", per_second(got, fs), 1);
    r.float("slowest_flush_seconds", slowest_flush, 3);
    let conditions: Vec<String> = bounces.iter().map(|(k, v)| format!("{v}× {k}")).collect();
    if bounced == sent && sent > 0 {
        r.unsupported(format!("every message bounced ({}): the server has no offline storage", conditions.join(", ")));
    } else if bounced > 0 {
        r.fail(format!("{bounced} messages bounced ({})", conditions.join(", ")));
    }
    if got < accepted {
        r.fail(format!("{} stored messages were not flushed", accepted - got));
    }
    if delayed < got {
        r.fail(format!("{} flushed messages had no XEP-0203 <delay/>", got - delayed));
    }
    if let Some(e) = errors.first() {
        r.fail(format!("{} receivers failed, first: {e}", errors.len()));
    }
    r
}

/// Sends `m` messages in batches of `w`, each confirmed by a ping round trip.
async fn store(
    conn: &mut Conn,
    template: &Template,
    clock: Clock,
    domain: &str,
    m: u32,
    w: u32,
    progress: &Progress,
) -> Result<Stored> {
    let mut out = Stored::default();
    let began = Instant::now();
    let mut seq = 0u64;
    let mut batch = 0u64;
    while seq < m as u64 {
        let n = (w as u64).min(m as u64 - seq);
        let now = clock.now();
        for _ in 0..n {
            template.write(&mut conn.out, Stamp { nonce: clock.nonce, seq, nanos: now });
            seq += 1;
        }
        batch += 1;
        let id = format!("store{batch}");
        conn.out.extend_from_slice(
            format!("<iq type='get' id='{id}' to='{domain}'><ping xmlns='urn:xmpp:ping'/></iq>").as_bytes(),
        );
        conn.flush().await?;
        progress.sent.fetch_add(n, Relaxed);
        'reply: loop {
            conn.read_some().await?;
            while let Some(frame) = conn.next_frame()? {
                let Frame::Element(range) = frame else { bail!("the server ended the stream") };
                let s = conn.stanza(range);
                if s.name() == b"iq" && s.attr(b"id") == Some(id.as_bytes()) {
                    break 'reply;
                }
                match classify(&s) {
                    Incoming::Bounce { condition, .. } => *out.bounces.entry(condition).or_default() += 1,
                    Incoming::Request(reply) => conn.out.extend_from_slice(&reply),
                    _ => {}
                }
            }
        }
    }
    // Bounces generated by the last batch may trail the ping reply slightly
    // on servers that answer pings on a faster path; collect them briefly.
    drain_bounces(conn, &mut out.bounces, Duration::from_millis(100)).await?;
    let bounced: u64 = out.bounces.values().sum();
    out.accepted = seq.saturating_sub(bounced);
    out.seconds = began.elapsed().as_secs_f64();
    Ok(out)
}

async fn drain_bounces(conn: &mut Conn, bounces: &mut BTreeMap<String, u64>, wait: Duration) -> Result<()> {
    let until = Instant::now() + wait;
    loop {
        while let Some(Frame::Element(range)) = conn.next_frame()? {
            if let Incoming::Bounce { condition, .. } = classify(&conn.stanza(range)) {
                *bounces.entry(condition).or_default() += 1;
            }
        }
        match tokio::time::timeout_at(until, conn.read_some()).await {
            Ok(r) => r.map(|_| ())?,
            Err(_) => return Ok(()),
        }
    }
}

/// Logs the receiver in with initial presence and reads until `expected`
/// messages of this run arrived.
async fn flush(t: &Target, user: u32, expected: u64, clock: Clock, progress: &Progress) -> Result<Flushed> {
    let mut out = Flushed::default();
    let (mut conn, _) = session::login(t, &t.user(user), Presence::Send).await?;
    let began = Instant::now();
    if expected == 0 {
        session::ping(&mut conn, &t.domain).await?;
    }
    while out.got < expected {
        conn.read_some().await?;
        while let Some(frame) = conn.next_frame()? {
            let Frame::Element(range) = frame else { bail!("the server ended the stream") };
            match classify(&conn.stanza(range)) {
                Incoming::Message { stamp, .. } if stamp.nonce != clock.nonce => out.stale += 1,
                Incoming::Message { delayed, .. } => {
                    out.got += 1;
                    out.delayed += delayed as u64;
                    progress.done.fetch_add(1, Relaxed);
                }
                Incoming::Request(reply) => conn.out.extend_from_slice(&reply),
                _ => {}
            }
        }
        conn.flush().await?;
    }
    out.seconds = began.elapsed().as_secs_f64();
    conn.close().await;
    Ok(out)
}
