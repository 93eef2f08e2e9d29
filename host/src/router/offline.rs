//! XEP-0160 offline messages as the host performs them: storing for the
//! `store-offline` effect, and the flush for `flush-offline`, which stamps
//! each message with an XEP-0203 delay and deletes it only after the
//! session's writer has put it on the socket.

use super::serialise;
use crate::services::Services;
use crate::sm::registry::Outbound;
use crate::store::StoreError;
use crate::xml::Element;
use crate::xmpp::datetime::{format_ms, now_ms};
use crate::xmpp::{Condition, ErrorType, FullJid, Stanza, StanzaError, ns};
use tokio::sync::oneshot;

/// Messages fetched, written and deleted per round of a flush: large enough
/// to amortise the queries, small enough to bound what a crash re-delivers.
const FLUSH_BATCH: u32 = 256;

/// Stores `stanza` for its addressee's account. The error is what the
/// sender is told: a full queue is `service-unavailable` with Tigase's
/// wording; a database failure is a temporary `internal-server-error`.
pub async fn store(svc: &Services, stanza: &Stanza) -> Result<(), StanzaError> {
    let (Some(to), Some(from)) = (&stanza.to, &stanza.from) else {
        return Err(StanzaError::new(Condition::BadRequest));
    };
    let result = svc
        .offline
        .append(to.to_bare().as_str(), from.to_bare().as_str(), now_ms(), &serialise(stanza), svc.offline_limits)
        .await;
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::QuotaExceeded) => {
            Err(StanzaError::new(Condition::ServiceUnavailable).with_text("Offline messages queue is full"))
        }
        Err(e) => {
            tracing::error!(error = %e, "storing an offline message failed");
            let mut err = StanzaError::new(Condition::InternalServerError);
            err.kind = ErrorType::Wait;
            Err(err)
        }
    }
}

/// Hands every stored message of `to`'s account to the session `to`, oldest
/// first. Rows go only after the writer confirmed the bytes were written;
/// if the session ends or the server dies first, they stay and are
/// delivered again next time (at least once, never lost).
pub async fn flush(svc: &Services, to: &FullJid) {
    let Some(tx) = svc.registry.sender(to) else { return };
    let bare = to.to_bare();
    let domain = to.domain().as_str();
    loop {
        let batch = match svc.offline.fetch(bare.as_str(), FLUSH_BATCH).await {
            Ok(batch) if batch.is_empty() => return,
            Ok(batch) => batch,
            Err(e) => return tracing::error!(error = %e, "fetching offline messages failed"),
        };
        let mut ids = Vec::with_capacity(batch.len());
        for m in &batch {
            match delayed(&m.stanza, domain, m.stamp_ms) {
                Some(bytes) => {
                    if tx.send(Outbound::Data(bytes)).await.is_err() {
                        return;
                    }
                }
                // Only a bug or a hand-edited database can get here; the row
                // is logged in full before it goes, so nothing vanishes unseen.
                None => {
                    tracing::error!(id = m.id, stanza = %String::from_utf8_lossy(&m.stanza), "dropping an unreadable offline message")
                }
            }
            ids.push(m.id);
        }
        let (ack, written) = oneshot::channel();
        if tx.send(Outbound::Ack(ack)).await.is_err() || written.await.is_err() {
            return;
        }
        if let Err(e) = svc.offline.delete(&ids).await {
            return tracing::error!(error = %e, "deleting flushed offline messages failed; they will come again");
        }
        tracing::debug!(count = ids.len(), jid = %to, "offline messages delivered");
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
