//! One chat connection as one task: a sender keeps `--window` messages in
//! flight (or follows its `--rate` schedule) and reads bounces; a receiver
//! reads messages, records their latency from the stamp in the id, and hands
//! the window back to its sender.
//!
//! Sender and receiver of a pair are tasks of this process, so "delivered" is
//! known without any reply on the wire: the receiver bumps the pair's
//! [`Flow::acked`] counter and wakes the sender. That keeps the closed loop
//! honest (one hop measured, nothing extra sent) and cheap (one atomic add and
//! one wake per read batch, not per message).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};

use anyhow::{Result, anyhow, bail};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::net::{Conn, Frame};
use crate::stats::{Latency, Progress};
use crate::xmpp::message::{Incoming, Template, classify};
use crate::xmpp::{Clock, Stamp};

/// The timeline every endpoint follows (nanoseconds on the run's clock).
#[derive(Debug)]
pub struct Plan {
    /// The run's clock and nonce.
    pub clock: Clock,
    /// When sending starts.
    pub start: u64,
    /// Messages stamped from here on are measured (end of warm-up).
    pub measure_from: u64,
    /// No message is sent from here on.
    pub send_until: u64,
    /// Waiting for stragglers ends here; what has not arrived is lost.
    pub drain_until: Instant,
    /// Messages in flight per sender.
    pub window: u64,
    /// Nanoseconds between two messages of one sender, when paced.
    pub interval: Option<u64>,
}

/// One direction of one pair, shared by its sender and receiver.
#[derive(Debug, Default)]
pub struct Flow {
    /// Messages written (set before they are written).
    pub sent: AtomicU64,
    /// Messages the receiver got.
    pub acked: AtomicU64,
    /// Messages that came back as errors.
    pub bounced: AtomicU64,
    /// The sender has stopped sending.
    pub done: AtomicBool,
}

impl Flow {
    fn settled(&self) -> bool {
        self.done.load(Acquire) && self.acked.load(Acquire) + self.bounced.load(Acquire) >= self.sent.load(Acquire)
    }
}

/// What the endpoint does.
pub enum Role {
    /// Writes messages stamped and addressed by `template`, starting
    /// `offset` ns after the plan's start when paced.
    Sender { template: Template, offset: u64 },
    /// Reads them.
    Receiver,
}

/// Everything one task owns or shares.
pub struct Endpoint {
    /// The logged-in connection.
    pub conn: Conn,
    /// Sender or receiver.
    pub role: Role,
    /// The pair's flow.
    pub flow: Arc<Flow>,
    /// Wakes this task.
    pub wake: Arc<Notify>,
    /// Wakes the other end of the pair.
    pub peer: Arc<Notify>,
    /// The shared timeline.
    pub plan: Arc<Plan>,
    /// Progress counters.
    pub progress: Arc<Progress>,
    /// Set when any endpoint fails, to end the run early.
    pub abort: watch::Sender<bool>,
}

/// What one endpoint saw.
#[derive(Default)]
pub struct Outcome {
    /// Latency of measured messages (receivers).
    pub latency: Latency,
    /// Messages of this run received.
    pub delivered: u64,
    /// Of those, stamped within the measured interval.
    pub delivered_measured: u64,
    /// Messages stamped within the measured interval (senders).
    pub sent_measured: u64,
    /// Received with a sequence number not above the previous one.
    pub out_of_order: u64,
    /// Messages of other runs (ids with another nonce).
    pub stale: u64,
    /// Bounce conditions and their counts.
    pub bounces: BTreeMap<String, u64>,
    /// XEP-0079 notifications received.
    pub amp_notices: u64,
    /// Why the endpoint stopped early.
    pub error: Option<String>,
}

impl Endpoint {
    /// Runs until the pair's flow is settled, the drain bound passes, or the run aborts.
    pub async fn run(mut self) -> (Outcome, Conn) {
        let mut out = Outcome::default();
        let mut abort = self.abort.subscribe();
        let mut seq = 0u64;
        let mut last_seq = None;
        let role = std::mem::replace(&mut self.role, Role::Receiver);
        let result: Result<()> = async {
            loop {
                if *abort.borrow() || Instant::now() >= self.plan.drain_until {
                    return Ok(());
                }
                let timer = match &role {
                    Role::Sender { template, offset } => self.send(template, *offset, &mut seq, &mut out),
                    Role::Receiver => self.plan.drain_until,
                };
                tokio::time::timeout_at(self.plan.drain_until, self.conn.flush())
                    .await
                    .map_err(|_| anyhow!("a write was still blocked at the drain bound"))??;
                if self.flow.settled() {
                    return Ok(());
                }
                tokio::select! {
                    biased;
                    r = self.conn.read_some() => {
                        r?;
                        self.process(&mut out, &mut last_seq)?;
                    }
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep_until(timer) => {}
                    _ = abort.changed() => {}
                }
            }
        }
        .await;
        if let Err(e) = result {
            out.error = Some(format!("{e:#}"));
            let _ = self.abort.send(true);
        }
        self.flow.done.store(true, Release);
        self.peer.notify_one();
        (out, self.conn)
    }

    /// Writes what the window and the schedule allow; returns when to wake next.
    fn send(&mut self, template: &Template, offset: u64, seq: &mut u64, out: &mut Outcome) -> Instant {
        let plan = &self.plan;
        let now = plan.clock.now();
        if now >= plan.send_until {
            if !self.flow.done.swap(true, Release) {
                self.peer.notify_one();
            }
            return plan.drain_until;
        }
        let in_flight = *seq - self.flow.acked.load(Acquire) - self.flow.bounced.load(Relaxed);
        let mut n = plan.window.saturating_sub(in_flight);
        let mut next = plan.send_until;
        if let Some(interval) = plan.interval {
            let first = plan.start + offset;
            let due = if now >= first { (now - first) / interval + 1 } else { 0 };
            let owed = due.saturating_sub(*seq);
            if n >= owed {
                // Not held back by the window: wake for the next slot.
                next = next.min(first + due * interval);
            }
            n = n.min(owed);
        }
        if n > 0 {
            self.conn.out.reserve(n as usize * template.len());
            for _ in 0..n {
                template.write(&mut self.conn.out, Stamp { nonce: plan.clock.nonce, seq: *seq, nanos: now });
                *seq += 1;
            }
            self.flow.sent.store(*seq, Release);
            self.progress.sent.fetch_add(n, Relaxed);
            if now >= plan.measure_from {
                out.sent_measured += n;
            }
        }
        plan.clock.at(next)
    }

    /// Handles every complete element now buffered.
    fn process(&mut self, out: &mut Outcome, last_seq: &mut Option<u64>) -> Result<()> {
        let now = self.plan.clock.now();
        let (mut got, mut bounced) = (0u64, 0u64);
        while let Some(frame) = self.conn.next_frame()? {
            let range = match frame {
                Frame::Element(r) => r,
                Frame::End => bail!("the server closed the stream"),
                Frame::Header(_) => bail!("unexpected stream header"),
            };
            match classify(&self.conn.stanza(range)) {
                Incoming::Message { stamp, .. } if stamp.nonce != self.plan.clock.nonce => out.stale += 1,
                Incoming::Message { stamp, .. } => {
                    got += 1;
                    if last_seq.is_some_and(|l| stamp.seq <= l) {
                        out.out_of_order += 1;
                    }
                    *last_seq = Some(stamp.seq);
                    if stamp.nanos >= self.plan.measure_from && stamp.nanos < self.plan.send_until {
                        out.delivered_measured += 1;
                        out.latency.record_nanos(now.saturating_sub(stamp.nanos));
                    }
                }
                Incoming::Bounce { stamp, condition } => {
                    if stamp.is_some_and(|s| s.nonce == self.plan.clock.nonce) {
                        bounced += 1;
                    }
                    *out.bounces.entry(condition).or_default() += 1;
                }
                Incoming::AmpNotice => out.amp_notices += 1,
                Incoming::Request(reply) => self.conn.out.extend_from_slice(&reply),
                Incoming::Other => {}
            }
        }
        if got > 0 {
            out.delivered += got;
            self.flow.acked.fetch_add(got, Release);
            self.progress.done.fetch_add(got, Relaxed);
            self.peer.notify_one();
        }
        if bounced > 0 {
            self.flow.bounced.fetch_add(bounced, Release);
            self.progress.failed.fetch_add(bounced, Relaxed);
            self.peer.notify_one();
        }
        Ok(())
    }
}
