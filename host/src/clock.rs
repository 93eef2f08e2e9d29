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
    moved: Notify,
}

impl Clock {
    /// The real clock (no offset).
    pub fn new() -> Self {
        Clock::default()
    }

    /// Now, in ms since the Unix epoch (UTC).
    pub fn now_ms(&self) -> i64 {
        crate::xmpp::datetime::now_ms() + self.offset_ms.load(Ordering::Relaxed)
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
}
