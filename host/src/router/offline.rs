//! XEP-0160 offline messages as the host performs them: storing for the
//! `store-offline` effect, and the flush for `flush-offline`, which stamps
//! each message with an XEP-0203 delay and deletes it only after the
//! session's writer has put it on the socket.

use super::{expiry, serialise};
use crate::metrics::MessageStore;
use crate::services::Services;
use crate::sm::registry::Outbound;
use crate::store::StoreError;
use crate::store::amp::AmpMessage;
use crate::store::{Committed, StoredMessage};
use crate::xml::Element;
use crate::xmpp::datetime::format_ms;
use crate::xmpp::{Condition, ErrorType, FullJid, Stanza, StanzaError, ns};
use tokio::sync::oneshot;

/// Messages fetched, written and deleted per round of a flush: large enough
/// to amortise the queries, small enough to bound what a crash re-delivers.
const FLUSH_BATCH: u32 = 256;

/// Stores `stanza` for its addressee's account. The error is what the
/// sender is told: a full queue is `service-unavailable` with Tigase's
/// wording; a database failure is a temporary `internal-server-error`.
pub async fn store(svc: &Services, stanza: &Stanza) -> Result<(), StanzaError> {
    let committed = submit(svc, stanza).await?;
    stored(svc, committed.await)
}

/// The first half of [`store`]: `stanza` takes its place in the offline
/// writer's queue; the returned [`Committed`] resolves when it is stored,
/// and [`stored`] turns that into what the sender is told.
pub async fn submit(svc: &Services, stanza: &Stanza) -> Result<Committed, StanzaError> {
    let (Some(to), Some(from)) = (&stanza.to, &stanza.from) else {
        return Err(StanzaError::new(Condition::BadRequest));
    };
    let result = svc
        .offline
        .enqueue(
            to.to_bare().as_str(),
            from.to_bare().as_str(),
            svc.clock.now_ms(),
            serialise(stanza),
            svc.offline_limits,
        )
        .await;
    result.map_err(store_error)
}

/// The second half of [`store`]: counts a stored message, or maps the
/// failure to the sender's error.
pub fn stored(svc: &Services, result: Result<(), StoreError>) -> Result<(), StanzaError> {
    result.map_err(store_error)?;
    svc.metrics.stored(MessageStore::Offline);
    Ok(())
}

/// What the sender is told when storing failed.
fn store_error(e: StoreError) -> StanzaError {
    match e {
        StoreError::QuotaExceeded => {
            StanzaError::new(Condition::ServiceUnavailable).with_text("Offline messages queue is full")
        }
        e => {
            tracing::error!(error = %e, "storing an offline message failed");
            let mut err = StanzaError::new(Condition::InternalServerError);
            err.kind = ErrorType::Wait;
            err
        }
    }
}

/// Stores `stanza`, which carries XEP-0079 rules, in the AMP store for
/// plugin `owner`, indexed by its next expiry (XEP-0079 §7), and wakes
/// the sweeper when that expiry may be the earliest.
pub async fn store_amp(
    svc: &Services,
    stanza: &Stanza,
    owner: &str,
    expires_at_ms: Option<i64>,
) -> Result<(), StanzaError> {
    let (Some(to), Some(from)) = (&stanza.to, &stanza.from) else {
        return Err(StanzaError::new(Condition::BadRequest));
    };
    let (recipient, sender) = (to.to_bare(), from.to_bare());
    let stamp = svc.clock.now_ms();
    let bytes = serialise(stanza);
    let result =
        svc.amp.append(recipient.as_str(), sender.as_str(), owner, stamp, expires_at_ms, &bytes, svc.amp_limits).await;
    result.map_err(store_error)?;
    svc.metrics.stored(MessageStore::Amp);
    if expires_at_ms.is_some() {
        svc.expiry.stored();
    }
    Ok(())
}

/// One message waiting in either store.
enum Waiting {
    Plain(StoredMessage),
    Amp(AmpMessage),
}

impl Waiting {
    fn stamp_ms(&self) -> i64 {
        match self {
            Waiting::Plain(m) => m.stamp_ms,
            Waiting::Amp(m) => m.stamp_ms,
        }
    }
}

/// Interleaves the two stores' batches, each already in arrival order, by
/// their `arrival`, which is unique across both stores (the ms delay stamp
/// would tie within a millisecond and reorder a sender's messages; only
/// rows stored before the `arrival` migration can tie, and the plain one
/// goes first). A batch that came back full may have more rows after it,
/// so the merge stops when such a batch runs out: the next round fetches
/// again.
fn merge(plain: Vec<StoredMessage>, plain_full: bool, amp: Vec<AmpMessage>, amp_full: bool) -> Vec<Waiting> {
    let mut out = Vec::with_capacity(plain.len() + amp.len());
    let (mut p, mut a) = (plain.into_iter().peekable(), amp.into_iter().peekable());
    loop {
        let next = match (p.peek(), a.peek()) {
            (Some(x), Some(y)) if x.arrival <= y.arrival => p.next().map(Waiting::Plain),
            (Some(_), Some(_)) => a.next().map(Waiting::Amp),
            (Some(_), None) if !amp_full => p.next().map(Waiting::Plain),
            (None, Some(_)) if !plain_full => a.next().map(Waiting::Amp),
            _ => None,
        };
        match next {
            Some(w) => out.push(w),
            None => return out,
        }
    }
}

/// Hands every stored message of `to`'s account to the session `to`, oldest
/// first. Rows go only after the writer confirmed the bytes were written;
/// if the session ends or the server dies first, they stay and are
/// delivered again next time (at least once, never lost).
///
/// Both stores are drained, interleaved in arrival order: the plain one and
/// the AMP one. AMP messages whose expiry has passed are settled first
/// ([`expiry::sweep`], D18), so an expired message is never delivered even
/// when its owner logs in before the sweeper ran.
pub async fn flush(svc: &Services, to: &FullJid) {
    let Some(tx) = svc.registry.sender(to) else { return };
    let bare = to.to_bare();
    let domain = to.domain().as_str();
    while expiry::sweep(svc, Some(bare.as_str()), svc.clock.now_ms()).await as u32 == expiry::SWEEP_BATCH {}
    loop {
        let plain = svc.offline.fetch(bare.as_str(), FLUSH_BATCH).await;
        let amp = svc.amp.fetch(bare.as_str(), FLUSH_BATCH).await;
        let (plain, amp) = match (plain, amp) {
            (Ok(p), Ok(a)) if p.is_empty() && a.is_empty() => return,
            (Ok(p), Ok(a)) => (p, a),
            (Err(e), _) | (_, Err(e)) => return tracing::error!(error = %e, "fetching offline messages failed"),
        };
        let full = |n: usize| n as u32 == FLUSH_BATCH;
        let (plain_full, amp_full) = (full(plain.len()), full(amp.len()));
        let batch = merge(plain, plain_full, amp, amp_full);
        let (mut plain_ids, mut amp_ids) = (Vec::new(), Vec::new());
        for waiting in &batch {
            let (id, stanza) = match waiting {
                Waiting::Plain(m) => {
                    plain_ids.push(m.id);
                    (m.id, &m.stanza)
                }
                Waiting::Amp(m) => {
                    amp_ids.push(m.id);
                    (m.id, &m.stanza)
                }
            };
            match delayed(stanza, domain, waiting.stamp_ms()) {
                Some(bytes) => {
                    if tx.send(Outbound::Data(bytes)).await.is_err() {
                        return;
                    }
                }
                // Only a bug or a hand-edited database can get here; the row
                // is logged in full before it goes, so nothing vanishes unseen.
                None => {
                    tracing::error!(id, stanza = %String::from_utf8_lossy(stanza), "dropping an unreadable offline message")
                }
            }
        }
        let (ack, written) = oneshot::channel();
        if tx.send(Outbound::Ack(ack)).await.is_err() || written.await.is_err() {
            return;
        }
        let deleted = match svc.offline.delete(&plain_ids).await {
            Ok(()) => svc.amp.delete(&amp_ids).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            return tracing::error!(error = %e, "deleting flushed offline messages failed; they will come again");
        }
        svc.metrics.flushed(MessageStore::Offline, plain_ids.len());
        svc.metrics.flushed(MessageStore::Amp, amp_ids.len());
        tracing::debug!(count = batch.len(), jid = %to, "offline messages delivered");
    }
}

/// The stored stanza with `<delay xmlns='urn:xmpp:delay' from='domain'
/// stamp='…'/>` appended (XEP-0203 §3, XEP-0160 §4).
fn delayed(stored: &[u8], domain: &str, stamp_ms: i64) -> Option<Vec<u8>> {
    let mut el = Element::from_xml(std::str::from_utf8(stored).ok()?, ns::CLIENT).ok()?;
    el.push_child(Element::new("delay", ns::DELAY).with_attr("from", domain).with_attr("stamp", format_ms(stamp_ms)));
    let mut out = Vec::with_capacity(stored.len() + 96);
    el.write_to(&mut out, ns::CLIENT);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message below has the same delay stamp: only `arrival` orders.
    fn plain(id: i64, arrival: i64) -> StoredMessage {
        StoredMessage { id, stamp_ms: 1, arrival, stanza: Vec::new() }
    }

    fn amp(id: i64, arrival: i64) -> AmpMessage {
        let owner = "amp".into();
        AmpMessage { id, sender: String::new(), owner, stamp_ms: 1, arrival, expires_at_ms: None, stanza: Vec::new() }
    }

    fn order(batch: &[Waiting]) -> Vec<String> {
        batch
            .iter()
            .map(|w| match w {
                Waiting::Plain(m) => format!("p{}", m.id),
                Waiting::Amp(m) => format!("a{}", m.id),
            })
            .collect()
    }

    #[test]
    fn stores_interleave_by_arrival_and_stop_where_a_full_batch_ends() {
        let both = merge(vec![plain(1, 10), plain(2, 30)], false, vec![amp(7, 20), amp(8, 31)], false);
        assert_eq!(order(&both), ["p1", "a7", "p2", "a8"]);
        let amp_first = merge(vec![plain(1, 11), plain(2, 12)], false, vec![amp(7, 10), amp(8, 13)], false);
        assert_eq!(order(&amp_first), ["a7", "p1", "p2", "a8"]);
        // The plain batch was full: rows after arrival 30 may exist, so the
        // AMP row at 40 waits for the next round.
        let partial = merge(vec![plain(1, 10), plain(2, 30)], true, vec![amp(7, 20), amp(8, 40)], false);
        assert_eq!(order(&partial), ["p1", "a7", "p2"]);
        assert_eq!(order(&merge(Vec::new(), false, vec![amp(1, 5)], false)), ["a1"]);
    }

    #[test]
    fn delay_is_appended_with_domain_and_utc_stamp() {
        let stored = b"<message from='romeo@localhost/o' to='juliet@localhost' type='chat'><body>hi</body></message>";
        let out = String::from_utf8(delayed(stored, "localhost", 0).unwrap()).unwrap();
        let el = Element::from_xml(&out, ns::CLIENT).unwrap();
        let delay = el.child("delay", ns::DELAY).expect("a delay");
        assert_eq!(delay.attr("from"), Some("localhost"));
        assert_eq!(delay.attr("stamp"), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(el.child("body", ns::CLIENT).unwrap().text(), "hi");
        assert!(delayed(b"<message>", "localhost", 0).is_none());
    }
}
