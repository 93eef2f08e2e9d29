//! The online-session registry (RFC 6120 §7, RFC 6121 §4): who is bound,
//! with which resource, priority and availability, and how to reach them;
//! per session also what presence needs (last presence for probes, roster
//! interest, directed-presence targets) and, per online account, its roster.
//!
//! Plugins see it read-only through [`SessionView`]; the router looks up a
//! session's outbound queue here. It never holds a lock across an `.await`.

use super::roster::Roster;
use crate::plugin::{ResourceInfo, SessionView};
use crate::xml::Element;
use crate::xmpp::address::bare_str;
use crate::xmpp::{BareJid, FullJid, Jid, StreamCondition, StreamError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;

/// What a session's writer task receives.
#[derive(Debug)]
pub enum Outbound {
    /// Serialised XML to write as is.
    Data(Vec<u8>),
    /// Close the stream, with a stream error first when given. Boxed to
    /// keep this enum at 24 bytes: every session's queue allocates room
    /// for 32 of them up front.
    Close(Option<Box<StreamError>>),
    /// Signal once everything queued before it has been written to the
    /// socket (the offline flush deletes stored messages only then).
    Ack(tokio::sync::oneshot::Sender<()>),
}

/// The sending side of a session's outbound queue.
pub type OutboundTx = mpsc::Sender<Outbound>;

/// RFC 6120 §7.7.2.2: what to do when a resource is bound twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// Terminate the existing session with a `<conflict/>` stream error.
    Override,
    /// Refuse the new binding with a `<conflict/>` stanza error.
    Reject,
}

struct Entry {
    resource: String,
    id: u64,
    priority: i8,
    available: bool,
    tx: OutboundTx,
    /// The last available presence without 'to' (RFC 6121 §4.3.2 rule 4:
    /// what a probe is answered with), `from` stamped with the full JID.
    presence: Option<Arc<Element>>,
    /// The session asked for the roster (§2.2: an "interested resource").
    interested: bool,
    /// Entities sent directed presence during the presence session (§4.6.3),
    /// which get unavailable presence when the session ends.
    directed: Vec<Jid>,
}

impl Entry {
    fn departed(self, bare: &BareJid) -> Departed {
        Departed {
            jid: bare.with_resource_str(&self.resource).expect("bound resources are valid"),
            available: self.available,
            directed: self.directed,
            roster: None,
        }
    }
}

/// One account's bound sessions and, while any is bound, its cached roster.
#[derive(Default)]
struct User {
    sessions: Vec<Entry>,
    roster: Option<Arc<Roster>>,
}

/// A bound session's identity in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The full JID the session is bound to.
    pub jid: FullJid,
    /// Unique per binding, so a late unbind of a replaced session is a no-op.
    pub id: u64,
}

/// What is left of a session once it is unbound: enough to tell the
/// contacts it is gone (RFC 6121 §4.5.2).
#[derive(Debug)]
pub struct Departed {
    /// The full JID it was bound to.
    pub jid: FullJid,
    /// Whether it was an available resource.
    pub available: bool,
    /// Its directed-presence targets.
    pub directed: Vec<Jid>,
    /// The account's cached roster, when this was its last session.
    pub roster: Option<Arc<Roster>>,
}

/// The resource is already bound and the policy is to reject.
#[derive(Debug, thiserror::Error)]
#[error("resource already bound")]
pub struct Conflict;

/// All bound sessions, by bare JID.
#[derive(Default)]
pub struct Registry {
    /// Keyed by the bare JID's normalised string, so that a lookup for a
    /// full JID borrows its bare part (`address::bare_str`) instead of
    /// building a `BareJid` for every routed stanza.
    users: RwLock<HashMap<String, User>>,
    /// Sessions replaced by a newer binding of their resource, kept until
    /// their own task unbinds them so that their departure is still announced.
    replaced: Mutex<HashMap<u64, Departed>>,
    next_id: AtomicU64,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `jid` to a session reachable through `tx`. Under
    /// [`ConflictPolicy::Override`] an existing session with the same resource
    /// is told to close with `<conflict/>` and replaced at once.
    pub fn bind(&self, jid: FullJid, tx: OutboundTx, policy: ConflictPolicy) -> Result<SessionKey, Conflict> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let bare = jid.to_bare();
        let resource = jid.resource().as_str().to_owned();
        let mut users = self.users.write().expect("registry lock");
        let user = users.entry(bare.as_str().to_owned()).or_default();
        if let Some(pos) = user.sessions.iter().position(|e| e.resource == resource) {
            if policy == ConflictPolicy::Reject {
                return Err(Conflict);
            }
            let old = user.sessions.swap_remove(pos);
            let err = StreamError::new(StreamCondition::Conflict).with_text("Replaced by new connection");
            // The old session may be gone already; its queue may be full. Either
            // way it is unbound from here on, and its writer closes on drop.
            let _ = old.tx.try_send(Outbound::Close(Some(Box::new(err))));
            let old_id = old.id;
            self.replaced.lock().expect("registry lock").insert(old_id, old.departed(&bare));
        }
        // Most accounts bind one resource: room for exactly the sessions
        // there are, not the four a first push reserves (memory per session).
        user.sessions.reserve_exact(1);
        user.sessions.push(Entry {
            resource,
            id,
            priority: 0,
            available: false,
            tx,
            presence: None,
            interested: false,
            directed: Vec::new(),
        });
        Ok(SessionKey { jid, id })
    }

    /// Removes the binding (or forgets a replaced one) and returns what the
    /// session leaves behind; `None` if it was already unbound.
    pub fn unbind(&self, key: &SessionKey) -> Option<Departed> {
        let bare = key.jid.to_bare();
        let mut users = self.users.write().expect("registry lock");
        let Some(user) = users.get_mut(bare.as_str()) else {
            drop(users);
            return self.replaced.lock().expect("registry lock").remove(&key.id);
        };
        let Some(pos) = user.sessions.iter().position(|e| e.id == key.id) else {
            drop(users);
            return self.replaced.lock().expect("registry lock").remove(&key.id);
        };
        let mut departed = user.sessions.swap_remove(pos).departed(&bare);
        if user.sessions.is_empty() {
            departed.roster = users.remove(bare.as_str()).and_then(|u| u.roster);
        }
        Some(departed)
    }

    /// Records available presence (RFC 6121 §4.2, §4.4) with its priority
    /// (§4.7.2.3). Returns whether the session was available before (false
    /// means this is initial presence); `None` if it is not bound.
    pub fn set_available(&self, key: &SessionKey, priority: i8, presence: Element) -> Option<bool> {
        self.with_entry(key, |e| {
            let was = e.available;
            e.available = true;
            e.priority = priority;
            e.presence = Some(Arc::new(presence));
            was
        })
    }

    /// Records unavailable presence (§4.5): the session ends its presence
    /// session. Returns whether it was available and takes its
    /// directed-presence targets.
    pub fn set_unavailable(&self, key: &SessionKey) -> Option<(bool, Vec<Jid>)> {
        self.with_entry(key, |e| {
            let was = e.available;
            e.available = false;
            e.priority = 0;
            e.presence = None;
            (was, std::mem::take(&mut e.directed))
        })
    }

    /// Marks the session as an interested resource (§2.2).
    pub fn set_interested(&self, key: &SessionKey) {
        self.with_entry(key, |e| e.interested = true);
    }

    /// Remembers directed presence sent to `to` (§4.6.3), or forgets it when
    /// `available` is false (directed unavailable presence).
    pub fn note_directed(&self, key: &SessionKey, to: &Jid, available: bool) {
        self.with_entry(key, |e| {
            e.directed.retain(|j| j != to);
            if available {
                e.directed.push(to.clone());
            }
        });
    }

    fn with_entry<T>(&self, key: &SessionKey, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        let mut users = self.users.write().expect("registry lock");
        users.get_mut(bare_str(&key.jid))?.sessions.iter_mut().find(|e| e.id == key.id).map(f)
    }

    /// The outbound queue of the session bound to `jid`.
    pub fn sender(&self, jid: &FullJid) -> Option<OutboundTx> {
        let users = self.users.read().expect("registry lock");
        let resource = jid.resource().as_str();
        users.get(bare_str(jid))?.sessions.iter().find(|e| e.resource == resource).map(|e| e.tx.clone())
    }

    /// The outbound queues of every available resource of `bare`.
    pub fn available_senders(&self, bare: &BareJid) -> Vec<OutboundTx> {
        self.select(bare, |e| e.available.then(|| e.tx.clone()))
    }

    /// The full JIDs and queues of the interested resources of `bare` (§2.2),
    /// for roster pushes.
    pub fn interested(&self, bare: &BareJid) -> Vec<(FullJid, OutboundTx)> {
        self.select(bare, |e| match e.interested {
            true => Some((bare.with_resource_str(&e.resource).ok()?, e.tx.clone())),
            false => None,
        })
    }

    /// The last presence of each available resource of `bare` (§4.3.2).
    pub fn presences(&self, bare: &BareJid) -> Vec<Arc<Element>> {
        self.select(bare, |e| if e.available { e.presence.clone() } else { None })
    }

    /// The last presence of one resource, if it is available.
    pub fn presence_of(&self, jid: &FullJid) -> Option<Arc<Element>> {
        let users = self.users.read().expect("registry lock");
        let resource = jid.resource().as_str();
        let e = users.get(bare_str(jid))?.sessions.iter().find(|e| e.resource == resource)?;
        if e.available { e.presence.clone() } else { None }
    }

    fn select<T>(&self, bare: &BareJid, f: impl Fn(&Entry) -> Option<T>) -> Vec<T> {
        let users = self.users.read().expect("registry lock");
        users.get(bare.as_str()).map(|u| u.sessions.iter().filter_map(f).collect()).unwrap_or_default()
    }

    /// The cached roster of an online account.
    pub fn roster(&self, bare: &BareJid) -> Option<Arc<Roster>> {
        self.users.read().expect("registry lock").get(bare.as_str())?.roster.clone()
    }

    /// Caches `roster` while `bare` has a bound session; the cache goes with
    /// the last session. Callers hold the owner's roster lock
    /// (`sm::roster::Rosters`), so the cache always equals the database.
    pub fn cache_roster(&self, bare: &BareJid, roster: Arc<Roster>) {
        if let Some(user) = self.users.write().expect("registry lock").get_mut(bare.as_str()) {
            user.roster = Some(roster);
        }
    }

    /// True when `bare` has at least one bound session.
    pub fn is_online(&self, bare: &BareJid) -> bool {
        self.is_online_str(bare.as_str())
    }

    /// [`Registry::is_online`] for the normalised string of a bare JID, as
    /// `address::bare_str` gives it for any address.
    pub fn is_online_str(&self, bare: &str) -> bool {
        self.users.read().expect("registry lock").contains_key(bare)
    }

    /// Number of bound sessions.
    pub fn len(&self) -> usize {
        self.users.read().expect("registry lock").values().map(|u| u.sessions.len()).sum()
    }

    /// True when no session is bound.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SessionView for Registry {
    fn resources(&self, bare: &BareJid) -> Vec<ResourceInfo> {
        let users = self.users.read().expect("registry lock");
        users
            .get(bare.as_str())
            .map(|u| {
                u.sessions
                    .iter()
                    .map(|e| ResourceInfo {
                        resource: e.resource.clone(),
                        priority: e.priority,
                        available: e.available,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
