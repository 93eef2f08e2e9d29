//! The once-a-second progress line on stderr: what the run is doing and how
//! fast, so a long run is never silent. Counters are relaxed atomics bumped
//! once per batch, not per message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Shared counters of one run.
#[derive(Debug)]
pub struct Progress {
    /// Main count (delivered messages, logins, sessions, registrations).
    pub done: AtomicU64,
    /// Secondary count (sent messages, …).
    pub sent: AtomicU64,
    /// Failures and bounces.
    pub failed: AtomicU64,
    phase: AtomicUsize,
    labels: [&'static str; 2],
}

/// Run phases, in order.
pub const PHASES: [&str; 5] = ["setup", "warmup", "measure", "drain", "done"];

impl Progress {
    /// Counters labelled `(done, sent)` in the progress line.
    pub fn new(labels: [&'static str; 2]) -> Arc<Progress> {
        Arc::new(Progress {
            done: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            phase: AtomicUsize::new(0),
            labels,
        })
    }

    /// Moves to a phase of [`PHASES`].
    pub fn phase(&self, name: &'static str) {
        if let Some(i) = PHASES.iter().position(|p| *p == name) {
            self.phase.store(i, Relaxed);
        }
    }

    /// One progress line: elapsed, phase, counts and the rate since `prev`.
    pub fn line(&self, scenario: &str, elapsed: Duration, prev_done: u64, interval: Duration) -> String {
        let done = self.done.load(Relaxed);
        let rate = (done - prev_done.min(done)) as f64 / interval.as_secs_f64().max(1e-9);
        let mut s = format!(
            "[{scenario} {:>6.1}s {:<7}] {} {done} ({rate:.0}/s)",
            elapsed.as_secs_f64(),
            PHASES[self.phase.load(Relaxed).min(PHASES.len() - 1)],
            self.labels[0]
        );
        if !self.labels[1].is_empty() {
            s.push_str(&format!(" {} {}", self.labels[1], self.sent.load(Relaxed)));
        }
        s.push_str(&format!(" failed {}", self.failed.load(Relaxed)));
        s
    }

    /// Prints a line every second until the returned handle is aborted.
    pub fn spawn_printer(self: &Arc<Self>, scenario: &'static str) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            let mut prev = (0, start);
            loop {
                tick.tick().await;
                let now = Instant::now();
                eprintln!("{}", me.line(scenario, now - start, prev.0, now - prev.1));
                prev = (me.done.load(Relaxed), now);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_phase_counts_and_rate() {
        let p = Progress::new(["delivered", "sent"]);
        p.phase("measure");
        p.done.store(3000, Relaxed);
        p.sent.store(3010, Relaxed);
        let line = p.line("chat", Duration::from_secs(2), 1000, Duration::from_secs(1));
        assert_eq!(line, "[chat    2.0s measure] delivered 3000 (2000/s) sent 3010 failed 0");
        let p = Progress::new(["logins", ""]);
        let line = p.line("login", Duration::from_millis(500), 0, Duration::from_secs(1));
        assert_eq!(line, "[login    0.5s setup  ] logins 0 (0/s) failed 0");
    }
}
