//! The online-session registry (RFC 6120 §7, RFC 6121 §4): who is bound,
//! with which resource, priority and availability, and how to reach them.
//!
//! Plugins see it read-only through [`SessionView`]; the router looks up a
//! session's outbound queue here. It never holds a lock across an `.await`.

use crate::plugin::{ResourceInfo, SessionView};
use crate::xmpp::{BareJid, FullJid, StreamCondition, StreamError};
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// What a session's writer task receives.
#[derive(Debug)]
pub enum Outbound {
    /// Serialised XML to write as is.
    Data(Vec<u8>),
    /// Close the stream, with a stream error first when given.
    Close(Option<StreamError>),
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
}

/// A bound session's identity in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The full JID the session is bound to.
    pub jid: FullJid,
    /// Unique per binding, so a late unbind of a replaced session is a no-op.
    pub id: u64,
}

/// The resource is already bound and the policy is to reject.
#[derive(Debug, thiserror::Error)]
#[error("resource already bound")]
pub struct Conflict;

/// All bound sessions, by bare JID.
#[derive(Default)]
pub struct Registry {
    users: RwLock<HashMap<BareJid, Vec<Entry>>>,
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
        let entries = users.entry(bare).or_default();
        if let Some(pos) = entries.iter().position(|e| e.resource == resource) {
            if policy == ConflictPolicy::Reject {
                return Err(Conflict);
            }
            let old = entries.swap_remove(pos);
            let err = StreamError::new(StreamCondition::Conflict).with_text("Replaced by new connection");
            // The old session may be gone already; its queue may be full. Either
            // way it is unbound from here on, and its writer closes on drop.
            let _ = old.tx.try_send(Outbound::Close(Some(err)));
        }
        entries.push(Entry { resource, id, priority: 0, available: false, tx });
        Ok(SessionKey { jid, id })
    }

    /// Removes the binding, unless it was already replaced by a newer one.
    pub fn unbind(&self, key: &SessionKey) {
        let bare = key.jid.to_bare();
        let mut users = self.users.write().expect("registry lock");
        if let Some(entries) = users.get_mut(&bare) {
            entries.retain(|e| e.id != key.id);
            if entries.is_empty() {
                users.remove(&bare);
            }
        }
    }

    /// Records presence (RFC 6121 §4.7.2.3): availability and priority.
    pub fn set_presence(&self, key: &SessionKey, available: bool, priority: i8) {
        let bare = key.jid.to_bare();
        let mut users = self.users.write().expect("registry lock");
        if let Some(e) = users.get_mut(&bare).and_then(|v| v.iter_mut().find(|e| e.id == key.id)) {
            e.available = available;
            e.priority = priority;
        }
    }

    /// The outbound queue of the session bound to `jid`.
    pub fn sender(&self, jid: &FullJid) -> Option<OutboundTx> {
        let users = self.users.read().expect("registry lock");
        let resource = jid.resource().as_str();
        users.get(&jid.to_bare())?.iter().find(|e| e.resource == resource).map(|e| e.tx.clone())
    }

    /// The outbound queues of every available resource of `bare`.
    pub fn available_senders(&self, bare: &BareJid) -> Vec<OutboundTx> {
        let users = self.users.read().expect("registry lock");
        users.get(bare).map(|v| v.iter().filter(|e| e.available).map(|e| e.tx.clone()).collect()).unwrap_or_default()
    }

    /// True when `bare` has at least one bound session.
    pub fn is_online(&self, bare: &BareJid) -> bool {
        self.users.read().expect("registry lock").contains_key(bare)
    }

    /// Number of bound sessions.
    pub fn len(&self) -> usize {
        self.users.read().expect("registry lock").values().map(Vec::len).sum()
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
            .get(bare)
            .map(|v| {
                v.iter()
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
mod tests {
    use super::*;

    fn full(s: &str) -> FullJid {
        FullJid::new(s).unwrap()
    }

    #[test]
    fn bind_presence_and_unbind() {
        let reg = Registry::new();
        let (tx, _rx) = mpsc::channel(4);
        let key = reg.bind(full("a@x/r1"), tx, ConflictPolicy::Override).unwrap();
        let bare = BareJid::new("a@x").unwrap();
        assert!(!reg.resources(&bare)[0].available);
        reg.set_presence(&key, true, 5);
        let r = &reg.resources(&bare)[0];
        assert!(r.available && r.priority == 5 && r.resource == "r1");
        assert_eq!(reg.available_senders(&bare).len(), 1);
        reg.unbind(&key);
        assert!(!reg.is_online(&bare));
    }

    #[test]
    fn override_kicks_the_old_session_and_a_late_unbind_is_harmless() {
        let reg = Registry::new();
        let (tx1, mut rx1) = mpsc::channel(4);
        let (tx2, _rx2) = mpsc::channel(4);
        let old = reg.bind(full("a@x/r"), tx1, ConflictPolicy::Override).unwrap();
        let new = reg.bind(full("a@x/r"), tx2, ConflictPolicy::Override).unwrap();
        match rx1.try_recv().unwrap() {
            Outbound::Close(Some(e)) => assert_eq!(e.condition, StreamCondition::Conflict),
            other => panic!("expected conflict close, got {other:?}"),
        }
        reg.unbind(&old);
        assert!(reg.sender(&new.jid).is_some());
        assert_eq!(reg.len(), 1);
    }

    #[test]
    fn reject_policy_refuses_the_second_binding() {
        let reg = Registry::new();
        let (tx1, _r1) = mpsc::channel(4);
        let (tx2, _r2) = mpsc::channel(4);
        reg.bind(full("a@x/r"), tx1, ConflictPolicy::Reject).unwrap();
        assert!(reg.bind(full("a@x/r"), tx2, ConflictPolicy::Reject).is_err());
    }
}
