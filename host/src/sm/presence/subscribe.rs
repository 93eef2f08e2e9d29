//! RFC 6121 §3 subscription stanzas: the sender's roster changes as Appendix
//! A.2 says, the stanza travels (stamped with the bare JID) to the contact,
//! whose roster changes as Appendix A.3 says, with the deliveries, roster
//! pushes, automatic answers and presence that §3.1–§3.4 ask for.
//!
//! Each roster is changed under its owner's lock and the lock is released
//! before the stanza moves on, so two users subscribing to each other at the
//! same moment cannot deadlock. Contacts on other domains are unreachable
//! (no server-to-server links): the sender's side still changes and a routed
//! stanza is answered with `remote-server-not-found`.

use super::{presence_to, serialise, unavailable_to};
use crate::router;
use crate::services::Services;
use crate::sm::registry::Outbound;
use crate::sm::roster::{self, item};
use crate::sm::subscription::{self, Kind, State};
use crate::sm::{Session, recipient_exists};
use crate::store::StoreError;
use crate::store::roster::RosterItem;
use crate::xml::Element;
use crate::xmpp::{BareJid, Condition, Jid, Stanza, StanzaError, ns};

/// A subscription stanza from a local client (§3.1.2, §3.1.5, §3.2.2, §3.3.2).
pub async fn outbound(svc: &Services, session: &Session, stanza: Stanza, kind: Kind) {
    let Some(to) = &stanza.to else { return };
    let user = session.key.jid.to_bare();
    // §3.1.2 rule 1: a full JID is treated as the bare JID.
    let contact = to.to_bare();
    if contact == user {
        return; // an account is implicitly subscribed to itself (§4.2.2)
    }
    let (before, out) = match change_own(svc, &user, &contact, kind).await {
        Ok(change) => change,
        Err(e) => {
            tracing::error!(error = %e, "roster store failed");
            let err = StanzaError::new(Condition::InternalServerError);
            return router::bounce(svc, &stanza, err).await;
        }
    };
    if !out.route {
        return;
    }
    if !svc.is_local_domain(contact.domain().as_str()) {
        return router::bounce(svc, &stanza, StanzaError::new(Condition::RemoteServerNotFound)).await;
    }
    if kind == Kind::Unsubscribed && before.from() {
        // §3.2.2: the contact hears the user go away before the cancellation.
        unavailable_to(svc, &user, &contact).await;
    }
    let mut el = stanza.el;
    el.set_attr("from", user.as_str());
    el.set_attr("to", contact.as_str());
    route(svc, &user, &contact, kind, el).await;
    if kind == Kind::Subscribed {
        // §3.1.5: the new subscriber gets the user's current presence.
        presence_to(svc, &user, &contact).await;
    }
}

/// A subscription stanza the server sends on `from`'s behalf (roster
/// removal, §2.5.2).
pub async fn send(svc: &Services, from: &BareJid, to: &BareJid, kind: Kind) {
    route(svc, from, to, kind, stanza(from, to, kind)).await;
}

/// Hands `el` to the local contact `to` and performs the contact's
/// automatic answer, if any (Tables 6 and 7 footnotes). Answers are of kinds
/// that are never answered themselves, so this ends after one round.
async fn route(svc: &Services, from: &BareJid, to: &BareJid, kind: Kind, el: Element) {
    let Some(reply) = deliver(svc, from, to, kind, el).await else { return };
    deliver(svc, to, from, reply, stanza(to, from, reply)).await;
    if reply == Kind::Subscribed {
        presence_to(svc, to, from).await;
    }
}

fn stanza(from: &BareJid, to: &BareJid, kind: Kind) -> Element {
    Element::new("presence", ns::CLIENT)
        .with_attr("from", from.as_str())
        .with_attr("to", to.as_str())
        .with_attr("type", kind.as_str())
        .with_attr("id", format!("sub-{:016x}", rand::random::<u64>()))
}

/// Inbound processing at `to`, if it is a local account (§8.5.1: stanzas for
/// unknown accounts are ignored). Returns the automatic answer to send.
async fn deliver(svc: &Services, from: &BareJid, to: &BareJid, kind: Kind, el: Element) -> Option<Kind> {
    let local_account = to.node().is_some() && svc.is_local_domain(to.domain().as_str());
    if !local_account || !recipient_exists(svc, &Jid::from(to.clone())).await {
        return None;
    }
    match inbound(svc, to, from, kind, el).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::error!(error = %e, owner = %to, "roster store failed on inbound subscription");
            None
        }
    }
}

/// Appendix A.2 on the sender's roster; returns the state before and the
/// decision. Every change here is visible, so it is pushed.
async fn change_own(
    svc: &Services,
    user: &BareJid,
    contact: &BareJid,
    kind: Kind,
) -> Result<(State, subscription::Outbound), StoreError> {
    let mut locked = svc.rosters.lock(&svc.registry, user).await?;
    let existing = locked.roster().get(contact.as_str()).cloned();
    let (state, approved) = existing.as_ref().map_or((State::None, false), |i| (i.state, i.approved));
    let out = subscription::outbound(state, approved, kind);
    if (out.state, out.approved) == (state, approved) {
        return Ok((state, out));
    }
    let mut item = existing.clone().unwrap_or_else(|| RosterItem::new(contact.as_str()));
    item.state = out.state;
    item.approved = out.approved;
    if !out.state.pending_in() {
        item.pending.clear();
    }
    if !item.listed && out.state == State::None && !out.approved {
        // A request from someone never added, declined: forget it (A.1 state 3).
        locked.remove(contact.as_str()).await?;
    } else {
        item.listed = true;
        let el = item::to_element(&item);
        let ver = locked.put(item).await?;
        roster::push(svc, user, el, ver).await;
    }
    Ok((state, out))
}

/// Appendix A.3 on the recipient's roster (§3.1.3, §3.1.6, §3.2.3, §3.3.3).
async fn inbound(
    svc: &Services,
    owner: &BareJid,
    contact: &BareJid,
    kind: Kind,
    el: Element,
) -> Result<Option<Kind>, StoreError> {
    let mut locked = svc.rosters.lock(&svc.registry, owner).await?;
    let existing = locked.roster().get(contact.as_str()).cloned();
    let (state, approved) = existing.as_ref().map_or((State::None, false), |i| (i.state, i.approved));
    let got = subscription::inbound(state, approved, kind);
    let bytes = serialise(&el);
    let mut push = None;
    if (got.state, got.approved) != (state, approved) {
        // A request from someone not in the roster is noted, not added (A.1 state 3).
        let mut item =
            existing.clone().unwrap_or_else(|| RosterItem { listed: false, ..RosterItem::new(contact.as_str()) });
        item.state = got.state;
        item.approved = got.approved;
        if got.state.pending_in() && !state.pending_in() {
            item.pending = bytes.clone(); // §3.1.3 rule 4: the complete stanza
        } else if !got.state.pending_in() {
            item.pending.clear();
        }
        if !item.listed && got.state == State::None && !got.approved {
            locked.remove(contact.as_str()).await?;
        } else {
            let before = existing.filter(|i| i.listed).map(|i| item::to_element(&i));
            let after = item.listed.then(|| item::to_element(&item));
            let ver = locked.put(item).await?;
            // Only what the owner can see is pushed (pending-in is invisible).
            push = after.filter(|a| Some(a) != before.as_ref()).map(|a| (a, ver));
        }
    }
    if got.deliver {
        // Requests go to available resources (§3.1.3 rule 3), the other
        // kinds to interested ones (§3.1.6, §3.2.3, §3.3.3), before the push.
        let targets: Vec<_> = match kind {
            Kind::Subscribe => svc.registry.available_senders(owner),
            _ => svc.registry.interested(owner).into_iter().map(|(_, tx)| tx).collect(),
        };
        for tx in targets {
            let _ = tx.send(Outbound::Data(bytes.clone())).await;
        }
    }
    if let Some((item, ver)) = push {
        roster::push(svc, owner, item, ver).await;
    }
    drop(locked);
    if kind == Kind::Unsubscribe && state.from() && !got.state.from() {
        // §3.3.3 step 3: the former subscriber hears the owner go away.
        unavailable_to(svc, owner, contact).await;
    }
    Ok(got.reply)
}
