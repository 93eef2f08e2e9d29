//! The server's clock: wall time plus an offset that only tests move.
//!
//! XEP-0079 `expire-at` makes time part of message semantics. Plugins (via
//! the `server.now-ms` import), the offline stamps and the AMP expiry
//! sweeper all read this one clock, so a test can jump past an expiry and
//! see exactly what the server would do then, without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::Notify;

/// Wall-clock time in ms since the Unix epoch, shifted by a test offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    /// The wall-clock instant the clock stands at, or 0 while it runs.
    frozen_at_ms: AtomicI64,
    moved: Notify,
}

impl Clock {
    /// The real clock (no offset).
    pub fn new() -> Self {
        Clock::default()
    }

    /// Now, in ms since the Unix epoch (UTC).
    pub fn now_ms(&self) -> i64 {
        let wall = match self.frozen_at_ms.load(Ordering::Relaxed) {
            0 => crate::xmpp::datetime::now_ms(),
            frozen => frozen,
        };
        wall + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Stops the clock where it is; only [`Clock::advance`] moves it then.
    /// For tests that need many events within one millisecond, as a burst
    /// on a busy machine has them.
    pub fn freeze(&self) {
        self.frozen_at_ms.store(crate::xmpp::datetime::now_ms(), Ordering::Relaxed);
    }

    /// Moves the clock forward by `ms` and wakes whoever waits on
    /// [`Clock::moved`] (the expiry sweeper). For tests and tools.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
        self.moved.notify_waiters();
    }

    /// Resolves at the next [`Clock::advance`]. Create (and `enable`) it
    /// before reading the clock, so an advance in between is not missed.
    pub fn moved(&self) -> tokio::sync::futures::Notified<'_> {
        self.moved.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn advancing_moves_now_and_wakes_waiters() {
        let clock = std::sync::Arc::new(Clock::new());
        let before = clock.now_ms();
        let waiter = tokio::spawn({
            let clock = clock.clone();
            async move { clock.moved().await }
        });
        tokio::task::yield_now().await;
        clock.advance(3_600_000);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert!(clock.now_ms() - before >= 3_600_000);
    }

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let clock = Clock::new();
        clock.freeze();
        let frozen = clock.now_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now_ms(), frozen);
        clock.advance(7);
        assert_eq!(clock.now_ms(), frozen + 7);
    }
}
