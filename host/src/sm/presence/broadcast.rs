//! RFC 6121 §4.2, §4.4, §4.5, §4.6: broadcast presence to the contacts in
//! `from`/`both` and to the own available resources, what initial presence
//! sets off (probes answered from the registry, stored subscription
//! requests), directed presence, and unavailable presence on departure.

use std::sync::Arc;

use super::{probe, to_bare, to_full};
use crate::router;
use crate::services::Services;
use crate::sm::Session;
use crate::sm::registry::{Departed, Outbound};
use crate::sm::roster::Roster;
use crate::xml::Element;
use crate::xmpp::{BareJid, Jid, Stanza, ns};

/// Available presence without 'to' (§4.2.2 initial, §4.4.2 subsequent).
pub async fn available(svc: &Services, session: &Session, stanza: Stanza) {
    let owner = session.key.jid.to_bare();
    let priority = super::priority(&stanza);
    let el = stanza.el;
    let Some(was_available) = svc.registry.set_available(&session.key, priority, el.clone()) else {
        return;
    };
    let roster = roster_of(svc, &owner).await;
    fan_out(svc, &owner, roster.as_deref(), &el).await;
    if !was_available {
        initial(svc, session, &owner, roster.as_deref()).await;
    }
}

/// What only initial presence does: probe the contacts (§4.2.2, local ones
/// answered from the registry, §4.3.1) and redeliver stored subscription
/// requests (§3.1.3 rule 4).
async fn initial(svc: &Services, session: &Session, owner: &BareJid, roster: Option<&Roster>) {
    let Some(roster) = roster else { return };
    for contact in roster.subscriptions() {
        // Offline contacts would only answer "unavailable", which the client
        // assumes anyway (§4.3.2 rule 3 makes that answer optional).
        if svc.is_local_domain(contact.domain().as_str()) && svc.registry.is_online(contact) {
            probe::answer(svc, &Jid::from(contact.clone()), owner, &session.key.jid, None, false).await;
        }
    }
    for request in roster.pending_requests() {
        let _ = session.tx.send(Outbound::Data(request.to_vec())).await;
    }
}

/// Unavailable presence without 'to' (§4.5.2): to subscribers, the own
/// resources including the sender, and every directed-presence target.
pub async fn unavailable(svc: &Services, session: &Session, stanza: Stanza) {
    let Some((was_available, directed)) = svc.registry.set_unavailable(&session.key) else { return };
    let owner = session.key.jid.to_bare();
    let roster = roster_of(svc, &owner).await;
    depart(svc, &owner, roster.as_deref(), was_available, directed, &stanza.el).await;
    if was_available {
        let mut el = stanza.el;
        el.set_attr("to", owner.as_str());
        session.send(&el).await;
    }
}

/// Presence with a 'to' (§4.6.3): delivered, and the target remembered so
/// it hears when this session goes away.
pub async fn directed(svc: &Services, session: &Session, stanza: Stanza) {
    let Some(to) = stanza.to.clone() else { return };
    if !svc.is_local_domain(to.domain().as_str()) {
        // No server-to-server links; presence errors are not required (§4.6.3).
        return;
    }
    svc.registry.note_directed(&session.key, &to, stanza.type_attr().is_none());
    router::deliver_presence(svc, &stanza).await;
}

/// Called once a session is unbound, whether its stream closed cleanly or
/// the connection was lost (§4.5.2: the server generates the unavailable
/// presence the client did not send).
pub async fn session_ended(svc: &Services, departed: Option<Departed>) {
    let Some(d) = departed else { return };
    if !d.available && d.directed.is_empty() {
        return;
    }
    // A newer binding of the same resource (a conflict takeover) is already
    // available: the contacts see the new session, not a departure.
    if svc.registry.presence_of(&d.jid).is_some() {
        return;
    }
    let owner = d.jid.to_bare();
    let roster = match d.roster {
        Some(r) => Some(r),
        None if d.available => roster_of(svc, &owner).await,
        None => None,
    };
    let el = Element::new("presence", ns::CLIENT).with_attr("from", d.jid.as_str()).with_attr("type", "unavailable");
    depart(svc, &owner, roster.as_deref(), d.available, d.directed, &el).await;
}

/// Unavailable presence to subscribers and own resources (if the session
/// was available) and to directed targets not reached that way.
async fn depart(
    svc: &Services,
    owner: &BareJid,
    roster: Option<&Roster>,
    was_available: bool,
    directed: Vec<Jid>,
    el: &Element,
) {
    if was_available {
        fan_out(svc, owner, roster, el).await;
    }
    for target in directed {
        let bare = target.to_bare();
        let reached = was_available && (bare == *owner || roster.is_some_and(|r| r.subscribers().contains(&bare)));
        if reached {
            continue;
        }
        match target.try_as_full() {
            Ok(full) => to_full(svc, full, el.clone()).await,
            Err(bare) => to_bare(svc, bare, el.clone()).await,
        }
    }
}

/// Broadcast presence (§4.2.2, §4.4.2, §4.5.2): to every local subscriber's
/// available resources and to the owner's own available resources.
async fn fan_out(svc: &Services, owner: &BareJid, roster: Option<&Roster>, el: &Element) {
    for contact in roster.map(Roster::subscribers).unwrap_or_default() {
        if svc.is_local_domain(contact.domain().as_str()) {
            to_bare(svc, contact, el.clone()).await;
        }
    }
    to_bare(svc, owner, el.clone()).await;
}

/// The owner's roster, or `None` (logged) if the store fails: presence
/// then still reaches the own resources.
async fn roster_of(svc: &Services, owner: &BareJid) -> Option<Arc<Roster>> {
    match svc.rosters.get(&svc.registry, owner).await {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, %owner, "roster unavailable for presence broadcast");
            None
        }
    }
}
