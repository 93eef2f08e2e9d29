//! `idle`: `--users` authenticated, available sessions held open for
//! `--duration`, answering whatever the server asks (XEP-0199 pings). With
//! `--server-pid`, the server's VmRSS before set-up and once every session is
//! up gives its memory per idle connection. A final ping on every session
//! proves they survived the hold.

use std::sync::Arc;

use anyhow::Result;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::Options;
use crate::net::{Conn, Frame};
use crate::report::Report;
use crate::stats::{Progress, per_second, rss};
use crate::xmpp::message::{Incoming, classify};
use crate::xmpp::{Presence, Target, session};

/// Runs the scenario.
pub async fn run(o: &Options, t: &Target, progress: &Arc<Progress>) -> Result<Report> {
    let rss_before = o.server_pid.map(rss::vm_rss_kib).transpose()?;
    let start = Instant::now();
    let users: Vec<u32> = (0..o.users).collect();
    let conns = super::login_all(t, &users, Presence::Confirm, o.concurrency, start + o.timeout, progress).await?;
    let setup = start.elapsed().as_secs_f64();
    // Let the allocator settle before sampling.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let rss_up = o.server_pid.map(rss::vm_rss_kib).transpose()?;
    progress.phase("measure");
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut set = JoinSet::new();
    for conn in conns {
        let (stop, domain, timeout) = (stop_rx.clone(), t.domain.clone(), o.timeout);
        set.spawn(async move { hold(conn, stop, &domain, timeout).await });
    }
    tokio::time::sleep(o.duration).await;
    let rss_end = o.server_pid.map(rss::vm_rss_kib).transpose()?;
    progress.phase("drain");
    let _ = stop_tx.send(true);
    let mut alive = 0u64;
    let mut errors = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined? {
            Ok(()) => alive += 1,
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    progress.phase("done");
    let mut r = Report::new("idle");
    let n = o.users as u64;
    r.int("sessions", n).int("alive_after_hold", alive).float("setup_seconds", setup, 3);
    r.float("logins_per_s", per_second(n, setup), 1).float("hold_seconds", o.duration.as_secs_f64(), 1);
    if let (Some(before), Some(up), Some(end)) = (rss_before, rss_up, rss_end) {
        r.int("server_rss_before_kib", before).int("server_rss_up_kib", up).int("server_rss_end_kib", end);
        // The larger of the two samples: memory that grew during the hold counts too.
        r.float("server_rss_per_connection_kib", up.max(end).saturating_sub(before) as f64 / n as f64, 2);
    }
    if let Some(e) = errors.first() {
        r.fail(format!("{} sessions did not survive the hold, first: {e}", errors.len()));
    }
    Ok(r)
}

/// Keeps one session: answers requests until told to stop, then pings.
async fn hold(
    mut conn: Conn,
    mut stop: watch::Receiver<bool>,
    domain: &str,
    timeout: std::time::Duration,
) -> Result<()> {
    while !*stop.borrow() {
        tokio::select! {
            _ = stop.changed() => {}
            r = conn.read_some() => {
                r?;
                while let Some(f) = conn.next_frame()? {
                    match f {
                        Frame::Element(range) => {
                            if let Incoming::Request(reply) = classify(&conn.stanza(range)) {
                                conn.out.extend_from_slice(&reply);
                            }
                        }
                        Frame::End => anyhow::bail!("the server closed the stream"),
                        Frame::Header(_) => anyhow::bail!("unexpected stream header"),
                    }
                }
                conn.flush().await?;
            }
        }
    }
    tokio::time::timeout(timeout, session::ping(&mut conn, domain))
        .await
        .map_err(|_| anyhow::anyhow!("no ping reply within --timeout"))??;
    conn.close().await;
    Ok(())
}
