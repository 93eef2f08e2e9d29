//! CPU time of the calling thread, the measure of a plugin call's deadline.
//!
//! The epoch ticker is wall-clock: on a busy machine a thread can be
//! preempted in the middle of a 1 µs guest call for longer than the whole
//! deadline, and a well-behaved plugin would be killed for the scheduler's
//! choice (seen under load: rare `internal-server-error` bounces). A call
//! runs start to end on one thread without yielding, so the thread's CPU
//! clock counts exactly the work done for it.

use std::time::Duration;

/// CPU time consumed by the current thread so far.
#[cfg(unix)]
pub(super) fn thread_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // every supported Unix provides. On failure `ts` stays zero.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Without a thread CPU clock, fall back to wall-clock time.
#[cfg(not(unix))]
pub(super) fn thread_time() -> Duration {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// The CPU budget of one guest call, read only once the call outlives its
/// wall-clock deadline.
///
/// Reading the thread's CPU clock is a system call (about 0.3 µs here,
/// `CLOCK_THREAD_CPUTIME_ID` has no vDSO path): paid at the start of every
/// call it cost about a tenth of a plain message's trip through the chain
/// (issue 6). Nearly every call ends long before its deadline, so the clock
/// is first read when the epoch deadline fires, and the call is interrupted
/// once it has used a whole `budget` of CPU *after* that: a call is still
/// never interrupted before it used its budget (nor for time the scheduler
/// took from it), and a spinning guest is stopped after about twice its
/// deadline instead of once.
#[derive(Debug, Default)]
pub(super) struct CallBudget {
    /// The thread's CPU time when the deadline first fired in this call.
    watched_from: Option<Duration>,
}

impl CallBudget {
    /// A new call: nothing is read yet.
    pub(super) fn start(&mut self) {
        self.watched_from = None;
    }

    /// The epoch deadline fired: whether the call has now spent its budget
    /// (interrupt it) or gets another tick.
    pub(super) fn spent(&mut self, budget: Duration) -> bool {
        let now = thread_time();
        match self.watched_from {
            None => {
                self.watched_from = Some(now);
                false
            }
            Some(from) => now.saturating_sub(from) >= budget,
        }
    }

    /// Runs `f` without charging its CPU time to this call (the host's own
    /// work inside an import, e.g. a custom condition with its own budget).
    pub(super) fn excluding<R>(&mut self, f: impl FnOnce() -> R) -> R {
        if self.watched_from.is_none() {
            return f();
        }
        let started = thread_time();
        let answer = f();
        if let Some(from) = &mut self.watched_from {
            *from += thread_time().saturating_sub(started);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_work_not_sleep() {
        let before = thread_time();
        std::thread::sleep(Duration::from_millis(50));
        let slept = thread_time() - before;
        let start = thread_time();
        let mut x = 0u64;
        while thread_time() - start < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(slept < Duration::from_millis(20), "sleeping used {slept:?} of CPU");
        assert!(thread_time() - start >= Duration::from_millis(20));
    }

    fn spin(d: Duration) {
        let start = thread_time();
        let mut x = 0u64;
        while thread_time() - start < d {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }

    #[test]
    fn a_budget_is_spent_only_by_cpu_after_the_deadline_fired() {
        let budget = Duration::from_millis(20);
        let mut call = CallBudget::default();
        call.start();
        // The first deadline only starts watching, however long the call ran.
        spin(Duration::from_millis(30));
        assert!(!call.spent(budget));
        // Sleeping (preempted) uses no budget.
        std::thread::sleep(Duration::from_millis(30));
        assert!(!call.spent(budget));
        // Work excluded (a condition's own call) does not count either.
        call.excluding(|| spin(Duration::from_millis(25)));
        assert!(!call.spent(budget));
        spin(budget);
        assert!(call.spent(budget));
        // The next call starts over.
        call.start();
        assert!(!call.spent(Duration::ZERO));
        assert!(call.spent(Duration::ZERO));
    }
}
