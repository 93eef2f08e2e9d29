//! The scenarios, each one file, plus what they share: logging many accounts
//! in under a concurrency limit and a deadline, and the outer time bound that
//! makes every run stop by itself.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::{Options, Scenario};
use crate::net::Conn;
use crate::report::Report;
use crate::stats::Progress;
use crate::xmpp::{Presence, Target, session};

mod chat;
mod idle;
mod login;
mod offline;
mod register;

/// Runs the scenario `o` names and reports on it. Never runs longer than its
/// phase bounds (three `--timeout`s at most) plus warm-up and duration.
pub async fn run(o: &Options) -> Result<Report> {
    let target = Target::from_options(o).await?;
    let labels = match o.scenario {
        Scenario::Register => ["registered", ""],
        Scenario::Login => ["logins", ""],
        Scenario::Idle => ["sessions", ""],
        Scenario::Chat | Scenario::Amp | Scenario::Offline => ["delivered", "sent"],
    };
    let progress = Progress::new(labels);
    let printer = (!o.quiet).then(|| progress.spawn_printer(o.scenario.name()));
    // Set-up, storing and flushing (offline) or set-up and drain, plus traffic.
    let bound = o.timeout * 3 + o.warmup + o.duration + Duration::from_secs(5);
    let work = async {
        match o.scenario {
            Scenario::Register => register::run(o, &target, &progress).await,
            Scenario::Login => login::run(o, &target, &progress).await,
            Scenario::Idle => idle::run(o, &target, &progress).await,
            Scenario::Chat => chat::run(o, &target, &progress, false).await,
            Scenario::Amp => chat::run(o, &target, &progress, true).await,
            Scenario::Offline => offline::run(o, &target, &progress).await,
        }
    };
    let result = tokio::time::timeout(bound, work).await;
    if let Some(p) = printer {
        p.abort();
    }
    let mut report = result.map_err(|_| anyhow!("the run did not stop within {bound:?}"))??;
    report.text("server", &format!("{}:{}", o.host, o.port)).text("tls", tls_name(o));
    Ok(report)
}

fn tls_name(o: &Options) -> &'static str {
    match o.tls {
        crate::args::TlsMode::On => "on",
        crate::args::TlsMode::Off => "off",
        crate::args::TlsMode::Auto => "auto",
    }
}

/// Logs in accounts `users` (in that order), at most `concurrency` at once,
/// all before `deadline`. The first failure aborts the rest.
pub async fn login_all(
    t: &Target,
    users: &[u32],
    presence: Presence,
    concurrency: u32,
    deadline: Instant,
    progress: &Arc<Progress>,
) -> Result<Vec<Conn>> {
    let permits = Arc::new(Semaphore::new(concurrency as usize));
    let mut set = JoinSet::new();
    for (slot, &u) in users.iter().enumerate() {
        let (t, permits, progress) = (t.clone(), permits.clone(), progress.clone());
        set.spawn(async move {
            let _permit = permits.acquire().await.expect("never closed");
            let user = t.user(u);
            let (conn, _jid) = tokio::time::timeout_at(deadline, session::login(&t, &user, presence))
                .await
                .map_err(|_| anyhow!("logging in {user}: set-up time bound (--timeout) reached"))?
                .with_context(|| format!("logging in {user}"))?;
            progress.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok::<_, anyhow::Error>((slot, conn))
        });
    }
    let mut conns: Vec<Option<Conn>> = (0..users.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (slot, conn) = joined.context("login task panicked")??;
        conns[slot] = Some(conn);
    }
    Ok(conns.into_iter().map(|c| c.expect("every slot filled")).collect())
}

/// Closes connections concurrently, each bounded by a short wait.
pub async fn close_all(conns: Vec<Conn>) {
    let mut set = JoinSet::new();
    for c in conns {
        set.spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(2), c.close()).await;
        });
    }
    while set.join_next().await.is_some() {}
}
