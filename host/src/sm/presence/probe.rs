//! RFC 6121 §4.3 presence probes between local accounts, answered from the
//! registry: the last presence of each available resource of the contact,
//! and only to a prober the contact's roster has in `from` or `both`.

use super::to_full;
use crate::services::Services;
use crate::sm::{Session, recipient_exists};
use crate::xml::Element;
use crate::xmpp::{BareJid, FullJid, Jid, Stanza, ns};

/// A probe a client sent itself (§4.3: processed, never answered with an
/// error). Probes of unknown accounts (§8.5.1) and unauthorised probes are
/// ignored: answering the latter with "unsubscribed" (§4.3.2 rule 1) would
/// cancel a request the prober still has pending.
pub async fn from_client(svc: &Services, session: &Session, stanza: &Stanza) {
    let Some(to) = &stanza.to else { return };
    let local_account = to.node().is_some() && svc.is_local_domain(to.domain().as_str());
    if !local_account || !recipient_exists(svc, to).await {
        return;
    }
    let prober = session.key.jid.to_bare();
    answer(svc, to, &prober, &session.key.jid, stanza.id(), true).await;
}

/// Answers a probe of `contact` (bare: every available resource, §4.3.2
/// rule 4; full: that resource only, with mere availability) on behalf of
/// `prober`, sending the answers to `reply_to`. With `unavailable_if_none`
/// a contact without available resources is reported unavailable from its
/// bare JID, mirroring the probe's id (§4.3.2 rule 3, §4.3.2.1).
pub async fn answer(
    svc: &Services,
    contact: &Jid,
    prober: &BareJid,
    reply_to: &FullJid,
    probe_id: Option<&str>,
    unavailable_if_none: bool,
) {
    let bare = contact.to_bare();
    if bare != *prober {
        let roster = match svc.rosters.get(&svc.registry, &bare).await {
            Ok(r) => r,
            Err(e) => return tracing::error!(error = %e, "roster unavailable for a probe"),
        };
        if !roster.state(prober.as_str()).0.from() {
            return;
        }
    }
    let presences: Vec<Element> = match contact.try_as_full() {
        // §4.3.2: a full-JID probe learns availability only.
        Ok(full) => svc
            .registry
            .presence_of(full)
            .map(|_| Element::new("presence", ns::CLIENT).with_attr("from", full.as_str()))
            .into_iter()
            .collect(),
        Err(_) => svc.registry.presences(&bare).iter().map(|p| (**p).clone()).collect(),
    };
    if presences.is_empty() && unavailable_if_none {
        let mut el =
            Element::new("presence", ns::CLIENT).with_attr("from", bare.as_str()).with_attr("type", "unavailable");
        if let Some(id) = probe_id {
            el.set_attr("id", id);
        }
        to_full(svc, reply_to, el).await;
    }
    for p in presences {
        to_full(svc, reply_to, p).await;
    }
}
