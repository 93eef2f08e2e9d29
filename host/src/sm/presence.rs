//! `<presence/>` from a local client (RFC 6121 §3, §4): subscription
//! requests and answers, broadcast presence to subscribers and the own
//! resources, directed presence, probes, and the unavailable presence a
//! session leaves behind however it ends.
//!
//! The registry keeps what this needs per session (availability, priority,
//! last presence, directed targets); the roster comes from the cache in
//! [`super::roster::Rosters`], so a broadcast reads no database. Contacts on
//! other domains are skipped: there are no server-to-server links.

mod broadcast;
mod probe;
pub mod subscribe;

pub use broadcast::session_ended;

use super::subscription::Kind;
use super::{Session, offer_to_plugins};
use crate::router;
use crate::services::Services;
use crate::sm::registry::Outbound;
use crate::xml::Element;
use crate::xmpp::{BareJid, Condition, FullJid, Stanza, StanzaError, ns};

/// Handles one presence stanza.
pub async fn handle(svc: &Services, session: &Session, stanza: Stanza) {
    let Some(stanza) = offer_to_plugins(svc, stanza).await else { return };
    let kind = stanza.type_attr().map(str::to_owned);
    if let Some(sub) = kind.as_deref().and_then(Kind::parse) {
        return subscribe::outbound(svc, session, stanza, sub).await;
    }
    match (kind.as_deref(), stanza.to.is_some()) {
        (None, false) => broadcast::available(svc, session, stanza).await,
        (Some("unavailable"), false) => broadcast::unavailable(svc, session, stanza).await,
        (None | Some("unavailable"), true) => broadcast::directed(svc, session, stanza).await,
        (Some("probe"), true) => probe::from_client(svc, session, &stanza).await,
        (Some("error"), true) => {
            if stanza.to.as_ref().is_some_and(|to| svc.is_local_domain(to.domain().as_str())) {
                router::deliver_presence(svc, &stanza).await;
            }
        }
        // A probe or error without an addressee concerns nobody.
        (Some("probe" | "error"), false) => {}
        // §4.7.1: an unknown type is bad-request.
        (Some(_), _) => {
            let err = StanzaError::new(Condition::BadRequest).with_text("unknown presence type");
            router::bounce(svc, &stanza, err).await;
        }
    }
}

/// RFC 6121 §4.7.2.3: an integer from -128 to +127, zero when absent or bad.
fn priority(stanza: &Stanza) -> i8 {
    stanza.el.child("priority", ns::CLIENT).and_then(|p| p.text().trim().parse().ok()).unwrap_or(0)
}

fn serialise(el: &Element) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    el.write_to(&mut out, ns::CLIENT);
    out
}

/// Sends `el`, addressed to `to`, to every available resource of `to`
/// (RFC 6121 §8.5.2.1.2).
async fn to_bare(svc: &Services, to: &BareJid, mut el: Element) {
    let senders = svc.registry.available_senders(to);
    if senders.is_empty() {
        return;
    }
    el.set_attr("to", to.as_str());
    let bytes = serialise(&el);
    for tx in senders {
        let _ = tx.send(Outbound::Data(bytes.clone())).await;
    }
}

/// Sends `el`, addressed to `to`, to that one session if it is bound.
async fn to_full(svc: &Services, to: &FullJid, mut el: Element) {
    if let Some(tx) = svc.registry.sender(to) {
        el.set_attr("to", to.as_str());
        let _ = tx.send(Outbound::Data(serialise(&el))).await;
    }
}

/// The current presence of each of `owner`'s available resources, to
/// `contact` (§3.1.5: after an approval; §3.4 after a pre-approved request).
pub async fn presence_to(svc: &Services, owner: &BareJid, contact: &BareJid) {
    for p in svc.registry.presences(owner) {
        to_bare(svc, contact, (*p).clone()).await;
    }
}

/// Unavailable presence from each of `owner`'s available resources to
/// `contact`, whose subscription ends (§3.2.2, §3.3.3).
pub async fn unavailable_to(svc: &Services, owner: &BareJid, contact: &BareJid) {
    for p in svc.registry.presences(owner) {
        let Some(from) = p.attr("from") else { continue };
        let el = Element::new("presence", ns::CLIENT).with_attr("from", from).with_attr("type", "unavailable");
        to_bare(svc, contact, el).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(prio: Option<&str>) -> Stanza {
        let mut el = Element::new("presence", ns::CLIENT);
        if let Some(p) = prio {
            el.push_child(Element::new("priority", ns::CLIENT).with_text(p));
        }
        Stanza::from_element(el).unwrap().unwrap()
    }

    #[test]
    fn priority_parses_in_range_and_defaults_to_zero() {
        assert_eq!(priority(&presence(Some(" 5 "))), 5);
        assert_eq!(priority(&presence(Some("-128"))), -128);
        assert_eq!(priority(&presence(Some("128"))), 0);
        assert_eq!(priority(&presence(None)), 0);
    }
}
