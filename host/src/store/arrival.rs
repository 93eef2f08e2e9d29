//! The order in which messages entered the offline stores.
//!
//! A recipient's waiting messages live in two tables, `offline_messages`
//! and `amp_messages`, possibly in two databases (`--amp-repo-uri`), so
//! neither table's id can order one against the other. The delay stamp
//! cannot either: it has millisecond resolution, and a client easily sends
//! a plain and an AMP message within one millisecond; the flush then put
//! them in whatever order the tie-break chose, not the order they were sent.
//!
//! Each stored row therefore carries an `arrival`: microseconds since the
//! Unix epoch, made strictly increasing within the process. It is
//! process-wide (not per [`super::Db`]) because the two stores may be two
//! `Db`s. It follows the wall clock, not the test [`crate::clock::Clock`]:
//! it is only ever compared, never shown. What must hold is one sender's
//! order, and a sender's messages all pass through one process; across a
//! restart the values continue from the wall clock, which is enough unless
//! the clock steps back by more than the downtime.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::xmpp::datetime::now_us;

static LAST: AtomicI64 = AtomicI64::new(0);

/// The next arrival value: the wall clock in µs, or one more than the last
/// value handed out if the clock has not moved past it. Even at a million
/// stores a second this stays with the wall clock.
pub fn next() -> i64 {
    let now = now_us();
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1)))
        .expect("the closure always returns Some");
    now.max(previous + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_strictly_increase_across_threads() {
        let threads: Vec<_> =
            (0..4).map(|_| std::thread::spawn(|| (0..10_000).map(|_| next()).collect::<Vec<_>>())).collect();
        let mut all = Vec::new();
        for t in threads {
            let mine = t.join().unwrap();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "one thread's arrivals increase");
            all.extend(mine);
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "no value is handed out twice");
    }

    #[test]
    fn arrivals_follow_the_wall_clock() {
        let before = now_us();
        let a = next();
        assert!(a >= before, "{a} < {before}");
        assert!(a - before < 60_000_000, "within a minute of the wall clock");
    }
}
