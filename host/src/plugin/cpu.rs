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
}
