//! `<presence/>` from a local client (RFC 6121 §4). This covers what routing
//! needs — availability and priority of each session (§4.7.2.3), and
//! directed presence to local users; rosters and subscriptions build on it.

use super::{Session, offer_to_plugins};
use crate::router;
use crate::services::Services;
use crate::xmpp::{Stanza, ns};

/// Handles one presence stanza.
pub async fn handle(svc: &Services, session: &Session, stanza: Stanza) {
    let Some(stanza) = offer_to_plugins(svc, stanza).await else { return };
    match &stanza.to {
        None => match stanza.type_attr() {
            None => svc.registry.set_presence(&session.key, true, priority(&stanza)),
            Some("unavailable") => svc.registry.set_presence(&session.key, false, 0),
            // Subscription management without an addressee is meaningless.
            Some(_) => {}
        },
        Some(to) if svc.is_local_domain(to.domain().as_str()) => router::deliver_presence(svc, &stanza).await,
        // No server-to-server links: presence to foreign domains goes nowhere
        // (presence errors are not required, RFC 6121 §4.6.3).
        Some(_) => {}
    }
}

/// RFC 6121 §4.7.2.3: an integer from -128 to +127, zero when absent or bad.
fn priority(stanza: &Stanza) -> i8 {
    stanza.el.child("priority", ns::CLIENT).and_then(|p| p.text().trim().parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Element;

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
