//! XEP-0079 §7 (R37, X7, ruling D18): messages in the AMP store whose
//! `expire-at` has passed are never delivered. Their owner plugin decides
//! (`recheck`) what happens — events to the sender, discard, or keep with
//! fewer rules — either here, by the sweeper that sleeps until the store's
//! next expiry, or just before a flush hands them to a session that logged
//! in first. One lock serialises the two, and each handled row is deleted
//! or moved to its next expiry under it, so a rule never fires twice.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::{send_local, serialise};
use crate::plugin::{Fate, StanzaContext};
use crate::services::Services;
use crate::store::amp::AmpMessage;
use crate::xml::Element;
use crate::xmpp::{Stanza, ns};

/// Rows handled per round; more are picked up by the next round at once.
pub const SWEEP_BATCH: u32 = 256;

/// How long the sweeper sleeps when nothing expires: it is woken by new
/// expiring messages and clock moves anyway, so this only bounds the damage
/// of a missed wake-up.
const IDLE: Duration = Duration::from_secs(300);

/// What the sweeper and the flush share: the lock around rechecks, and the
/// bell a new expiring message rings so the sweeper re-reads the next expiry.
#[derive(Default)]
pub struct Expiry {
    lock: Mutex<()>,
    stored: tokio::sync::Notify,
}

impl Expiry {
    /// A message with an expiry was stored: the next one may be earlier.
    pub fn stored(&self) {
        self.stored.notify_one();
    }
}

/// Runs the sweeper until the runtime shuts down: sleep until the next
/// expiry (or a wake-up), recheck what is due, repeat.
pub async fn sweeper(svc: Arc<Services>) {
    loop {
        let moved = svc.clock.moved();
        tokio::pin!(moved);
        moved.as_mut().enable();
        let now = svc.clock.now_ms();
        let wait = match svc.amp.next_expiry().await {
            Ok(Some(at)) if at <= now => {
                if sweep(&svc, None, now).await == 0 {
                    // Due rows that could not be handled (logged); do not spin.
                    Duration::from_secs(1)
                } else {
                    continue;
                }
            }
            Ok(Some(at)) => Duration::from_millis((at - now) as u64).min(IDLE),
            Ok(None) => IDLE,
            Err(e) => {
                tracing::error!(error = %e, "reading the next AMP expiry failed");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = moved => {}
            _ = svc.expiry.stored.notified() => {}
        }
    }
}

/// Rechecks due rows (all recipients, or one before its flush) at `now`;
/// returns how many rows were settled.
pub async fn sweep(svc: &Services, recipient: Option<&str>, now: i64) -> usize {
    let _guard = svc.expiry.lock.lock().await;
    let rows = match recipient {
        None => svc.amp.expired(now, SWEEP_BATCH).await,
        Some(r) => {
            svc.amp.expired_for(r, now, SWEEP_BATCH).await.map(|v| v.into_iter().map(|m| (r.to_owned(), m)).collect())
        }
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "fetching expired AMP messages failed");
            return 0;
        }
    };
    let mut settled = 0;
    for (recipient, row) in rows {
        if settle(svc, &recipient, row).await {
            settled += 1;
        }
    }
    settled
}

/// One due row: ask its owner, send the events, then delete or update it.
async fn settle(svc: &Services, recipient: &str, row: AmpMessage) -> bool {
    let id = row.id;
    let Some(stanza) = parse(&row.stanza) else {
        tracing::error!(id, stanza = %String::from_utf8_lossy(&row.stanza), "dropping an unreadable AMP message");
        return svc.amp.delete(&[id]).await.is_ok();
    };
    let ctx = StanzaContext::new(svc.sessions_view.clone(), true);
    let result = svc.plugins.chain().recheck(&row.owner, stanza, &ctx);
    let recheck = match result {
        Ok(r) => r,
        Err(error) => {
            // Its rules cannot be judged and an expired message must not be
            // delivered (D18): logged in full, then removed.
            tracing::error!(id, %recipient, %error, stanza = %String::from_utf8_lossy(&row.stanza), "expired AMP message discarded without its plugin");
            let deleted = svc.amp.delete(&[id]).await.is_ok();
            if deleted {
                svc.metrics.amp_expired();
            }
            return deleted;
        }
    };
    for event in &recheck.events {
        send_local(svc, event).await;
    }
    let discard = matches!(recheck.fate, Fate::Discard);
    let done = match recheck.fate {
        Fate::Discard => svc.amp.delete(&[id]).await,
        Fate::Keep(kept, next) => svc.amp.update(id, &serialise(&kept), next).await,
    };
    match done {
        Ok(()) => {
            if discard {
                svc.metrics.amp_expired();
            }
            true
        }
        Err(e) => {
            tracing::error!(id, error = %e, "settling an expired AMP message failed");
            false
        }
    }
}

fn parse(bytes: &[u8]) -> Option<Stanza> {
    let el = Element::from_xml(std::str::from_utf8(bytes).ok()?, ns::CLIENT).ok()?;
    Stanza::from_element(el)?.ok()
}
