//! RFC 6121 §2 roster management: roster get (with XEP-0237 versioning),
//! roster set and remove, and roster pushes to every interested resource.
//!
//! Versioning is the cheap form §2.6.3 allows: the version is the store's
//! per-owner change counter; a get naming the current version is answered
//! with an empty result, any other with the whole roster. Every push and
//! result carries the version.

pub mod cache;
pub mod item;

pub use cache::{Roster, Rosters};

use super::Session;
use super::presence::subscribe;
use super::subscription::Kind;
use crate::services::Services;
use crate::store::StoreError;
use crate::store::roster::RosterItem;
use crate::xml::Element;
use crate::xmpp::iq::{self, IqType};
use crate::xmpp::{BareJid, Condition, Stanza, StanzaError, ns};
use item::SetRequest;

/// Why a roster request failed.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The request itself is wrong (§2.3.3, §2.5.3).
    #[error("{0}")]
    Invalid(StanzaError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<StanzaError> for RosterError {
    fn from(e: StanzaError) -> Self {
        RosterError::Invalid(e)
    }
}

impl RosterError {
    /// The stanza error the client sees.
    pub fn to_stanza_error(&self) -> StanzaError {
        match self {
            RosterError::Invalid(e) => e.clone(),
            RosterError::Store(e) => {
                tracing::error!(error = %e, "roster store failed");
                StanzaError::new(Condition::InternalServerError)
            }
        }
    }
}

/// Answers a roster get or set addressed to the own account (§2.1.3, §2.1.5).
pub async fn handle_iq(svc: &Services, session: &Session, stanza: &Stanza, query: &Element, kind: IqType) {
    let owner = session.key.jid.to_bare();
    let answer = match kind {
        IqType::Get => get(svc, session, stanza, &owner, query).await,
        IqType::Set => set(svc, session, stanza, &owner, query).await,
        IqType::Result | IqType::Error => return,
    };
    if let Err(e) = answer {
        session.send(&iq::error(&stanza.el, &e.to_stanza_error())).await;
    }
}

/// §2.2: the roster, which also makes the session an interested resource.
async fn get(
    svc: &Services,
    session: &Session,
    stanza: &Stanza,
    owner: &BareJid,
    query: &Element,
) -> Result<(), RosterError> {
    item::check_get(query)?;
    // Under the lock, so every push is either in the result or after it.
    let locked = svc.rosters.lock(&svc.registry, owner).await?;
    svc.registry.set_interested(&session.key);
    let roster = locked.roster();
    let current = roster.ver.to_string();
    let payload = match query.attr("ver") {
        // §2.6.3: nothing changed since the client's copy; pushes follow.
        Some(v) if v == current => None,
        _ => Some(item::query(roster.ver, roster.listed().into_iter().map(item::to_element))),
    };
    session.send(&iq::result(&stanza.el, payload)).await;
    Ok(())
}

async fn set(
    svc: &Services,
    session: &Session,
    stanza: &Stanza,
    owner: &BareJid,
    query: &Element,
) -> Result<(), RosterError> {
    let req = item::parse_set(query)?;
    let contact = req.jid().as_str().to_owned();
    if contact == owner.as_str() {
        // §2.3.3 interoperability note: the own account is no contact.
        return Err(StanzaError::new(Condition::NotAllowed).with_text("the own JID is not a roster item").into());
    }
    let mut locked = svc.rosters.lock(&svc.registry, owner).await?;
    let existing = locked.roster().get(&contact).cloned();
    match req {
        SetRequest::Remove(_) => {
            let Some(old) = existing.filter(|i| i.listed) else {
                return Err(StanzaError::new(Condition::ItemNotFound).into());
            };
            let ver = locked.remove(&contact).await?;
            session.send(&iq::result(&stanza.el, None)).await;
            push(svc, owner, item::removed(&contact), ver).await;
            drop(locked);
            cancel_removed(svc, owner, &old).await;
        }
        SetRequest::Update { name, groups, .. } => {
            let mut item = existing.unwrap_or_else(|| RosterItem::new(contact));
            item.name = name;
            item.groups = groups;
            item.listed = true;
            let el = item::to_element(&item);
            let ver = locked.put(item).await?;
            session.send(&iq::result(&stanza.el, None)).await;
            push(svc, owner, el, ver).await;
        }
    }
    Ok(())
}

/// §2.5.2: removing a contact ends both subscriptions (and, beyond the RFC's
/// minimum, withdraws a pending request and declines a pending one, so no
/// half-open state outlives the item).
async fn cancel_removed(svc: &Services, owner: &BareJid, old: &RosterItem) {
    let Ok(contact) = BareJid::new(&old.contact) else { return };
    if old.state.to() || old.state.ask() {
        subscribe::send(svc, owner, &contact, Kind::Unsubscribe).await;
    }
    if old.state.from() {
        super::presence::unavailable_to(svc, owner, &contact).await;
    }
    if old.state.from() || old.state.pending_in() {
        subscribe::send(svc, owner, &contact, Kind::Unsubscribed).await;
    }
}

/// Sends a roster push (§2.1.6) with one item to every interested resource
/// of `owner`. Callers hold the owner's roster lock, so pushes leave in the
/// order of the changes.
pub async fn push(svc: &Services, owner: &BareJid, item: Element, ver: i64) {
    let query = item::query(ver, [item]);
    for (jid, tx) in svc.registry.interested(owner) {
        let el = Element::new("iq", ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", format!("push-{:016x}", rand::random::<u64>()))
            .with_attr("to", jid.as_str())
            .with_child(query.clone());
        let mut out = Vec::with_capacity(256);
        el.write_to(&mut out, ns::CLIENT);
        let _ = tx.send(super::registry::Outbound::Data(out)).await;
    }
}
