//! Where rosters live while the server runs: the store, one async lock per
//! owner, and a copy of each online account's roster in the registry.
//!
//! Presence broadcasts read a roster on every presence change, so they must
//! not ask the database. The copy is loaded on first use in a session (a
//! roster get or the first presence) and dropped with the account's last
//! session. Every change to a roster, and every load into the cache, happens
//! under the owner's lock, with the database written first and the cache
//! replaced after; so the cache always equals the database and
//! read-modify-write of subscription states cannot interleave. Readers take
//! the cached `Arc` without any lock. The lock is a tokio mutex held across
//! database calls and roster pushes (pushes stay in modification order,
//! RFC 6121 §2.6.3); the registry's own lock is never held across an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::sm::registry::Registry;
use crate::sm::subscription::State;
use crate::store::StoreError;
use crate::store::roster::{RosterItem, RosterStore};
use crate::xmpp::BareJid;

/// One account's roster in memory: its version, every record by contact,
/// and the two contact lists presence needs on every broadcast, parsed once.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// The store's change counter for this roster (XEP-0237 version).
    pub ver: i64,
    items: HashMap<String, RosterItem>,
    subscribers: Vec<BareJid>,
    subscriptions: Vec<BareJid>,
}

impl Roster {
    fn new(ver: i64, items: HashMap<String, RosterItem>) -> Self {
        // Subscriptions are between bare JIDs (§3.1.1); other items never match.
        let pick = |f: fn(State) -> bool| -> Vec<BareJid> {
            items.values().filter(|i| f(i.state)).filter_map(|i| BareJid::new(&i.contact).ok()).collect()
        };
        let (subscribers, subscriptions) = (pick(State::from), pick(State::to));
        Roster { ver, items, subscribers, subscriptions }
    }

    /// The record for `contact` (listed or not).
    pub fn get(&self, contact: &str) -> Option<&RosterItem> {
        self.items.get(contact)
    }

    /// The subscription state and pre-approval for `contact`; `None` state
    /// when there is no record (Appendix A.1 implementation note).
    pub fn state(&self, contact: &str) -> (State, bool) {
        self.items.get(contact).map_or((State::None, false), |i| (i.state, i.approved))
    }

    /// The items the owner sees (§2.1.4), sorted by JID for stable output.
    pub fn listed(&self) -> Vec<&RosterItem> {
        let mut items: Vec<&RosterItem> = self.items.values().filter(|i| i.listed).collect();
        items.sort_by(|a, b| a.contact.cmp(&b.contact));
        items
    }

    /// Contacts subscribed to the owner's presence (§4.2.2: broadcast targets).
    pub fn subscribers(&self) -> &[BareJid] {
        &self.subscribers
    }

    /// Contacts whose presence the owner receives (§4.3: probe targets).
    pub fn subscriptions(&self) -> &[BareJid] {
        &self.subscriptions
    }

    /// Stored inbound subscription requests (§3.1.3 rule 4).
    pub fn pending_requests(&self) -> impl Iterator<Item = &[u8]> {
        self.items.values().filter(|i| i.state.pending_in() && !i.pending.is_empty()).map(|i| i.pending.as_slice())
    }
}

/// The roster service shared by all sessions.
pub struct Rosters {
    store: RosterStore,
    locks: Mutex<HashMap<BareJid, Arc<tokio::sync::Mutex<()>>>>,
}

impl Rosters {
    /// A service over `store`.
    pub fn new(store: RosterStore) -> Self {
        Rosters { store, locks: Mutex::new(HashMap::new()) }
    }

    /// The owner's roster: the cached copy when there is one, else loaded
    /// (and cached when the owner is online).
    pub async fn get(&self, registry: &Registry, owner: &BareJid) -> Result<Arc<Roster>, StoreError> {
        if let Some(r) = registry.roster(owner) {
            return Ok(r);
        }
        Ok(self.lock(registry, owner).await?.roster.clone())
    }

    /// RFC 6121 §3 as XEP-0079's STRICT level asks it (ruling D15): may
    /// `watcher` see `owner`'s presence — the same account, or a `from` or
    /// `both` subscription in the owner's roster. An online owner's roster
    /// is cached, so that case costs no database round trip.
    pub async fn may_see_presence(
        &self,
        registry: &Registry,
        owner: &BareJid,
        watcher: &BareJid,
    ) -> Result<bool, StoreError> {
        if owner == watcher {
            return Ok(true);
        }
        Ok(self.get(registry, owner).await?.state(watcher.as_str()).0.from())
    }

    /// Locks the owner's roster for a change.
    pub async fn lock<'a>(&'a self, registry: &'a Registry, owner: &BareJid) -> Result<Locked<'a>, StoreError> {
        let mutex = self.locks.lock().expect("roster locks").entry(owner.clone()).or_default().clone();
        let guard = mutex.lock_owned().await;
        let mut locked =
            Locked { rosters: self, registry, owner: owner.clone(), roster: Arc::default(), guard: Some(guard) };
        locked.roster = match registry.roster(owner) {
            Some(r) => r,
            None => {
                let stored = self.store.load(owner.as_str()).await?;
                let items = stored.items.into_iter().map(|i| (i.contact.clone(), i)).collect();
                let roster = Arc::new(Roster::new(stored.ver, items));
                registry.cache_roster(owner, roster.clone());
                roster
            }
        };
        Ok(locked)
    }
}

/// One owner's roster, locked for a change. Dropping it unlocks.
pub struct Locked<'a> {
    rosters: &'a Rosters,
    registry: &'a Registry,
    owner: BareJid,
    roster: Arc<Roster>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Locked<'_> {
    /// The roster as it is now.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The owner.
    pub fn owner(&self) -> &BareJid {
        &self.owner
    }

    /// Stores `item` (creating or replacing it) and returns the new version.
    pub async fn put(&mut self, item: RosterItem) -> Result<i64, StoreError> {
        let ver = self.rosters.store.put(self.owner.as_str(), &item).await?;
        self.update(ver, |items| {
            items.insert(item.contact.clone(), item);
        });
        Ok(ver)
    }

    /// Deletes the record for `contact` and returns the new version.
    pub async fn remove(&mut self, contact: &str) -> Result<i64, StoreError> {
        let ver = self.rosters.store.remove(self.owner.as_str(), contact).await?;
        self.update(ver, |items| {
            items.remove(contact);
        });
        Ok(ver)
    }

    fn update(&mut self, ver: i64, change: impl FnOnce(&mut HashMap<String, RosterItem>)) {
        let mut items = self.roster.items.clone();
        change(&mut items);
        self.roster = Arc::new(Roster::new(ver, items));
        self.registry.cache_roster(&self.owner, self.roster.clone());
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.rosters.locks.lock().expect("roster locks");
        // Only the map holds it now: nobody waits, forget the lock.
        if locks.get(&self.owner).is_some_and(|m| Arc::strong_count(m) == 1) {
            locks.remove(&self.owner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;
    use crate::store::roster::RosterItem;

    async fn rosters() -> Rosters {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        db.migrate().await.unwrap();
        Rosters::new(db.roster())
    }

    #[tokio::test]
    async fn changes_reach_the_cache_of_online_owners_and_locks_are_forgotten() {
        let rosters = rosters().await;
        let reg = Registry::new();
        let owner = BareJid::new("a@x").unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(4);
        let key = reg.bind(owner.with_resource_str("r").unwrap(), tx, crate::sm::registry::ConflictPolicy::Override);
        let mut locked = rosters.lock(&reg, &owner).await.unwrap();
        let mut item = RosterItem::new("b@x");
        item.state = State::From;
        let ver = locked.put(item).await.unwrap();
        assert_eq!(ver, 1);
        drop(locked);
        assert!(rosters.locks.lock().unwrap().is_empty());
        let cached = reg.roster(&owner).expect("cached while online");
        assert_eq!((cached.ver, cached.subscribers()), (1, &[BareJid::new("b@x").unwrap()][..]));
        assert!(cached.subscriptions().is_empty());
        assert_eq!(rosters.get(&reg, &owner).await.unwrap().ver, 1);
        reg.unbind(&key.unwrap());
        // Offline: read from the database, nothing cached.
        let loaded = rosters.get(&reg, &owner).await.unwrap();
        assert_eq!(loaded.state("b@x"), (State::From, false));
        assert_eq!(loaded.state("c@x"), (State::None, false));
        assert!(reg.roster(&owner).is_none());
    }

    #[tokio::test]
    async fn changes_to_one_roster_are_serialised() {
        let rosters = Arc::new(rosters().await);
        let reg = Arc::new(Registry::new());
        let owner = BareJid::new("a@x").unwrap();
        let mut tasks = Vec::new();
        for n in 0..8 {
            let (rosters, reg, owner) = (rosters.clone(), reg.clone(), owner.clone());
            tasks.push(tokio::spawn(async move {
                let mut locked = rosters.lock(&reg, &owner).await.unwrap();
                // Read-modify-write: lost updates would show as a short roster.
                let before = locked.roster().listed().len();
                locked.put(RosterItem::new(format!("c{n}@x"))).await.unwrap();
                assert_eq!(locked.roster().listed().len(), before + 1);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let r = rosters.get(&reg, &owner).await.unwrap();
        assert_eq!((r.ver, r.listed().len()), (8, 8));
    }
}
