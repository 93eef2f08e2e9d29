//! What each recipient has waiting in the offline store, in total and per
//! sender, kept by the offline writer so that the limits (`store-limit`
//! per sender → recipient, `recipient-store-limit` per recipient) cost no
//! `COUNT` query per message.
//!
//! # Why a cache is safe here
//! Only the writer task of a [`super::Db`] inserts offline messages, so
//! between two of its transactions a recipient's counts can only *fall*
//! (a flush or an account deletion removes rows). A cached count is
//! therefore never below the truth, and a limit is never overshot; at
//! worst a message is refused a moment too early. To keep even that
//! window small:
//! - every delete through [`super::OfflineStore`] bumps a generation, and
//!   the writer drops the whole cache when it sees a new one;
//! - an entry is seeded again from the database after [`SEED_TTL`], which
//!   also bounds the effect of writes by another process on the same
//!   database (e.g. `wasmpp deluser` while the server runs);
//! - a failed transaction forgets the recipients it touched, since its
//!   tentative counts did not reach the database.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::OfflineLimits;

/// How long a recipient's seeded counts are trusted before the next
/// transaction that needs them reads them again.
pub(super) const SEED_TTL: Duration = Duration::from_secs(5);

/// More recipients than this and the cache starts over: it is a shortcut
/// for recipients receiving now, not an index of every mailbox.
const MAX_RECIPIENTS: usize = 10_000;

/// One recipient's waiting messages.
#[derive(Debug)]
struct Waiting {
    total: u64,
    by_sender: HashMap<String, u64>,
    seeded: Instant,
}

/// Counts per recipient, as of the writer's last commit plus the rows of
/// the transaction being planned.
#[derive(Debug, Default)]
pub(super) struct Counts {
    by_recipient: HashMap<String, Waiting>,
    generation: u64,
}

impl Counts {
    /// Drops everything if the store's deletions moved on since the last
    /// call (see the module docs).
    pub(super) fn sync_generation(&mut self, generation: u64) {
        if generation != self.generation {
            self.by_recipient.clear();
            self.generation = generation;
        }
    }

    /// Whether an append under `limits` for `recipient` needs its counts
    /// read from the database first.
    pub(super) fn needs_seed(&self, recipient: &str, limits: OfflineLimits, now: Instant) -> bool {
        let limited = limits.per_pair > 0 || limits.per_recipient > 0;
        limited && self.by_recipient.get(recipient).is_none_or(|w| now.duration_since(w.seeded) >= SEED_TTL)
    }

    /// Sets `recipient`'s counts from `(sender, count)` rows read in the
    /// current transaction.
    pub(super) fn seed(&mut self, recipient: &str, rows: impl IntoIterator<Item = (String, u64)>, now: Instant) {
        if self.by_recipient.len() >= MAX_RECIPIENTS {
            self.by_recipient.clear();
        }
        let by_sender: HashMap<String, u64> = rows.into_iter().collect();
        let total = by_sender.values().sum();
        self.by_recipient.insert(recipient.to_owned(), Waiting { total, by_sender, seeded: now });
    }

    /// Decides one append in arrival order: false if a limit is reached,
    /// else true and the row counts from now on, so later rows of the same
    /// transaction see it. A recipient without an entry is only possible
    /// for an unlimited append (callers seed first), which needs no count.
    pub(super) fn admit(&mut self, recipient: &str, sender: &str, limits: OfflineLimits) -> bool {
        let Some(w) = self.by_recipient.get_mut(recipient) else { return true };
        let pair = w.by_sender.get(sender).copied().unwrap_or(0);
        let over = |count: u64, limit: u32| limit > 0 && count >= u64::from(limit);
        if over(pair, limits.per_pair) || over(w.total, limits.per_recipient) {
            return false;
        }
        w.total += 1;
        *w.by_sender.entry(sender.to_owned()).or_insert(0) += 1;
        true
    }

    /// Forgets `recipient` (its transaction failed: the tentative counts
    /// never reached the database).
    pub(super) fn forget(&mut self, recipient: &str) {
        self.by_recipient.remove(recipient);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: OfflineLimits = OfflineLimits { per_pair: 2, per_recipient: 3 };
    const UNLIMITED: OfflineLimits = OfflineLimits { per_pair: 0, per_recipient: 0 };

    #[test]
    fn rows_admitted_in_one_transaction_count_against_the_limits() {
        let mut c = Counts::default();
        let now = Instant::now();
        assert!(c.needs_seed("juliet", LIMITS, now));
        assert!(!c.needs_seed("juliet", UNLIMITED, now), "no limit, no count");
        c.seed("juliet", [("nurse".to_owned(), 1)], now);
        assert!(!c.needs_seed("juliet", LIMITS, now));
        assert!(c.admit("juliet", "romeo", LIMITS));
        assert!(c.admit("juliet", "romeo", LIMITS));
        assert!(!c.admit("juliet", "romeo", LIMITS), "per pair: 2");
        assert!(!c.admit("juliet", "tybalt", LIMITS), "per recipient: 1 + 2 = 3");
        // An unlimited append still counts for later limited ones.
        c.seed("romeo", [], now);
        assert!(c.admit("romeo", "juliet", UNLIMITED));
        assert!(c.admit("romeo", "juliet", UNLIMITED));
        assert!(!c.admit("romeo", "juliet", LIMITS));
    }

    #[test]
    fn counts_are_read_again_after_a_deletion_a_failure_or_the_ttl() {
        let mut c = Counts::default();
        let now = Instant::now();
        c.sync_generation(0);
        c.seed("juliet", [("romeo".to_owned(), 2)], now);
        c.sync_generation(0);
        assert!(!c.needs_seed("juliet", LIMITS, now), "same generation keeps the cache");
        c.sync_generation(1);
        assert!(c.needs_seed("juliet", LIMITS, now), "a deletion drops it");
        c.seed("juliet", [], now);
        c.forget("juliet");
        assert!(c.needs_seed("juliet", LIMITS, now));
        c.seed("juliet", [], now);
        assert!(c.needs_seed("juliet", LIMITS, now + SEED_TTL));
        assert!(c.admit("nobody", "romeo", UNLIMITED), "untracked and unlimited");
    }
}
