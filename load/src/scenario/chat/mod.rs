//! `chat` and `amp`: pair i is account 2i sending `<message type='chat'/>`
//! (RFC 6121 §5.2.2) to account 2i+1's bare JID, closed loop with `--window`
//! messages in flight per sender, or paced at `--rate` messages/s in total.
//! `amp` adds a XEP-0079 rule to every message and reports bounces as the
//! server's verdict on AMP rather than as losses.
//!
//! Timeline: set-up (logins, bounded by `--timeout`), warm-up, `--duration`
//! measured, then a drain of at most `--timeout` for messages in flight.
//! Latency is receive time minus the send time stamped into the id, for
//! messages stamped in the measured interval.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use anyhow::Result;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::Options;
use crate::report::Report;
use crate::stats::{Progress, cpu, per_second};
use crate::xmpp::message::Template;
use crate::xmpp::{Clock, Presence, Target};

mod endpoint;

use endpoint::{Endpoint, Flow, Outcome, Plan, Role};

/// Runs the scenario; `amp` adds the XEP-0079 rules.
pub async fn run(o: &Options, t: &Target, progress: &Arc<Progress>, amp: bool) -> Result<Report> {
    let name = if amp { "amp" } else { "chat" };
    let pairs = o.pairs;
    let users: Vec<u32> = (0..pairs * 2).collect();
    let setup_start = Instant::now();
    let mut conns = super::login_all(t, &users, Presence::Confirm, o.concurrency, setup_start + o.timeout, progress)
        .await?
        .into_iter();
    let setup = setup_start.elapsed().as_secs_f64();
    progress.done.store(0, Relaxed);

    let clock = Clock::new();
    let start = clock.now() + 1_000_000;
    let measure_from = start + o.warmup.as_nanos() as u64;
    let send_until = measure_from + o.duration.as_nanos() as u64;
    let interval = (o.rate > 0).then(|| (1e9 * pairs as f64 / o.rate as f64).max(1.0) as u64);
    let plan = Arc::new(Plan {
        clock,
        start,
        measure_from,
        send_until,
        drain_until: clock.at(send_until) + o.timeout,
        window: o.window as u64,
        interval,
    });
    let (abort, _) = watch::channel(false);
    let mut set = JoinSet::new();
    let mut flows = Vec::new();
    for i in 0..pairs {
        let (a, b) = (conns.next().expect("sender"), conns.next().expect("receiver"));
        let flow = Arc::new(Flow::default());
        let (wake_a, wake_b) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let offset = interval.map_or(0, |iv| iv * i as u64 / pairs as u64);
        let template = Template::new(&t.jid(2 * i + 1), o.body_size, amp);
        let sender = Role::Sender { template, offset };
        for (conn, role, wake, peer) in [(a, sender, &wake_a, &wake_b), (b, Role::Receiver, &wake_b, &wake_a)] {
            let ep = Endpoint {
                conn,
                role,
                flow: flow.clone(),
                wake: wake.clone(),
                peer: peer.clone(),
                plan: plan.clone(),
                progress: progress.clone(),
                abort: abort.clone(),
            };
            set.spawn(ep.run());
        }
        flows.push(flow);
    }
    let phases = phase_clock(progress.clone(), plan.clone(), o.server_pid);
    let mut all = Outcome::default();
    let mut conns = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (out, conn) = joined?;
        merge(&mut all, out);
        conns.push(conn);
    }
    // Endpoints only finish before the end of sending when the run aborted;
    // otherwise the phase task is due (or done) and about to return.
    let cpu_use = if Instant::now() >= plan.clock.at(plan.send_until) {
        phases.await.ok()
    } else {
        phases.abort();
        None
    };
    progress.phase("done");
    super::close_all(conns).await;

    let sent: u64 = flows.iter().map(|f| f.sent.load(Relaxed)).sum();
    let bounced: u64 = flows.iter().map(|f| f.bounced.load(Relaxed)).sum();
    let lost = sent.saturating_sub(all.delivered + bounced);
    let secs = o.duration.as_secs_f64();
    let mut r = Report::new(name);
    r.int("pairs", pairs as u64).int("window", o.window as u64).int("body_size", o.body_size as u64);
    r.int("rate_target", o.rate as u64).float("setup_seconds", setup, 3).float("duration_s", secs, 1);
    r.int("sent", sent).int("delivered", all.delivered).int("bounced", bounced).int("lost", lost);
    r.int("out_of_order", all.out_of_order).int("stale", all.stale);
    r.float("sent_per_s", per_second(all.sent_measured, secs), 1);
    r.float("delivered_per_s", per_second(all.delivered_measured, secs), 1);
    r.latency("latency", &all.latency.summary());
    if amp {
        r.int("amp_notices", all.amp_notices);
    }
    if let Some((tool, server)) = cpu_use {
        r.float("tool_cpu_cores", tool, 2);
        if let Some(s) = server {
            r.float("server_cpu_cores", s, 2);
        }
    }
    verdict(&mut r, amp, &all, sent, bounced, lost);
    Ok(r)
}

fn merge(all: &mut Outcome, out: Outcome) {
    all.latency.merge(&out.latency);
    all.delivered += out.delivered;
    all.delivered_measured += out.delivered_measured;
    all.sent_measured += out.sent_measured;
    all.out_of_order += out.out_of_order;
    all.stale += out.stale;
    all.amp_notices += out.amp_notices;
    for (k, v) in out.bounces {
        *all.bounces.entry(k).or_default() += v;
    }
    if all.error.is_none() {
        all.error = out.error;
    }
}

fn verdict(r: &mut Report, amp: bool, all: &Outcome, sent: u64, bounced: u64, lost: u64) {
    let conditions = describe(&all.bounces);
    if amp && sent > 0 && bounced == sent {
        r.unsupported(format!("every message bounced ({conditions}): the server refuses these AMP rules"));
    } else if bounced > 0 {
        r.fail(format!("{bounced} messages bounced ({conditions})"));
    }
    if lost > 0 {
        r.fail(format!("{lost} messages lost (neither delivered nor bounced within --timeout of the end)"));
    }
    if let Some(e) = &all.error {
        r.fail(format!("a connection failed: {e}"));
    }
    if sent == 0 {
        r.fail("nothing was sent");
    }
    if all.out_of_order > 0 {
        r.fail(format!("{} messages arrived out of order", all.out_of_order));
    }
}

fn describe(bounces: &BTreeMap<String, u64>) -> String {
    bounces.iter().map(|(k, v)| format!("{v}× {k}")).collect::<Vec<_>>().join(", ")
}

/// CPU cores used by the tool and the server while measuring.
type CpuUse = (f64, Option<f64>);

/// Moves the progress line through warm-up, measure and drain on time, and
/// samples CPU time at both ends of the measured interval.
fn phase_clock(progress: Arc<Progress>, plan: Arc<Plan>, pid: Option<u32>) -> tokio::task::JoinHandle<CpuUse> {
    tokio::spawn(async move {
        let mut first = None;
        for (at, phase) in [(plan.start, "warmup"), (plan.measure_from, "measure"), (plan.send_until, "drain")] {
            tokio::time::sleep_until(plan.clock.at(at)).await;
            progress.phase(phase);
            if phase == "measure" {
                first = Some(cpu::Sample::take(pid));
            }
        }
        first.expect("sampled at measure").cores_until(&cpu::Sample::take(pid))
    })
}
