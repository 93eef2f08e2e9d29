//! The registry's bookkeeping: bindings, presence state, roster cache.

use super::*;
use crate::xmpp::ns;

fn full(s: &str) -> FullJid {
    FullJid::new(s).unwrap()
}

fn presence(from: &str) -> Element {
    Element::new("presence", ns::CLIENT).with_attr("from", from)
}

#[test]
fn bind_presence_and_unbind() {
    let reg = Registry::new();
    let (tx, _rx) = mpsc::channel(4);
    let key = reg.bind(full("a@x/r1"), tx, ConflictPolicy::Override).unwrap();
    let bare = BareJid::new("a@x").unwrap();
    assert!(!reg.resources(&bare)[0].available);
    assert_eq!(reg.set_available(&key, 5, presence("a@x/r1")), Some(false), "initial presence");
    assert_eq!(reg.set_available(&key, 5, presence("a@x/r1")), Some(true), "subsequent presence");
    let r = &reg.resources(&bare)[0];
    assert!(r.available && r.priority == 5 && r.resource == "r1");
    assert_eq!(reg.available_senders(&bare).len(), 1);
    assert_eq!(reg.presences(&bare)[0].attr("from"), Some("a@x/r1"));
    assert!(reg.presence_of(&key.jid).is_some());
    let gone = reg.unbind(&key).unwrap();
    assert!(gone.available && gone.jid == key.jid);
    assert!(!reg.is_online(&bare));
    assert!(reg.unbind(&key).is_none(), "a second unbind is a no-op");
}

#[test]
fn unavailable_clears_presence_and_hands_back_directed_targets() {
    let reg = Registry::new();
    let (tx, _rx) = mpsc::channel(4);
    let key = reg.bind(full("a@x/r"), tx, ConflictPolicy::Override).unwrap();
    let bare = key.jid.to_bare();
    reg.set_available(&key, 1, presence("a@x/r"));
    let (b, c) = (Jid::new("b@x").unwrap(), Jid::new("c@x/r").unwrap());
    reg.note_directed(&key, &b, true);
    reg.note_directed(&key, &c, true);
    reg.note_directed(&key, &b, true);
    reg.note_directed(&key, &c, false);
    assert_eq!(reg.set_unavailable(&key), Some((true, vec![b])));
    assert!(reg.presences(&bare).is_empty());
    assert!(!reg.resources(&bare)[0].available);
    assert_eq!(reg.set_unavailable(&key), Some((false, vec![])));
}

#[test]
fn interested_resources_and_the_roster_cache_live_with_the_sessions() {
    let reg = Registry::new();
    let (tx1, _r1) = mpsc::channel(4);
    let (tx2, _r2) = mpsc::channel(4);
    let k1 = reg.bind(full("a@x/one"), tx1, ConflictPolicy::Override).unwrap();
    let k2 = reg.bind(full("a@x/two"), tx2, ConflictPolicy::Override).unwrap();
    let bare = k1.jid.to_bare();
    reg.set_interested(&k2);
    let interested: Vec<FullJid> = reg.interested(&bare).into_iter().map(|(j, _)| j).collect();
    assert_eq!(interested, std::slice::from_ref(&k2.jid));
    reg.cache_roster(&bare, Arc::new(Roster::default()));
    assert!(reg.roster(&bare).is_some());
    assert!(reg.unbind(&k1).unwrap().roster.is_none(), "another session still uses the cache");
    assert!(reg.unbind(&k2).unwrap().roster.is_some(), "the last session takes the cache along");
    assert!(reg.roster(&bare).is_none());
    reg.cache_roster(&bare, Arc::new(Roster::default()));
    assert!(reg.roster(&bare).is_none(), "offline accounts are not cached");
}

#[test]
fn override_kicks_the_old_session_and_its_late_unbind_reports_it() {
    let reg = Registry::new();
    let (tx1, mut rx1) = mpsc::channel(4);
    let (tx2, _rx2) = mpsc::channel(4);
    let old = reg.bind(full("a@x/r"), tx1, ConflictPolicy::Override).unwrap();
    reg.set_available(&old, 0, presence("a@x/r"));
    let new = reg.bind(full("a@x/r"), tx2, ConflictPolicy::Override).unwrap();
    match rx1.try_recv().unwrap() {
        Outbound::Close(Some(e)) => assert_eq!(e.condition, StreamCondition::Conflict),
        other => panic!("expected conflict close, got {other:?}"),
    }
    let gone = reg.unbind(&old).expect("the replaced session is reported once");
    assert!(gone.available);
    assert!(reg.unbind(&old).is_none());
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

#[test]
fn a_queue_slot_is_small() {
    // tokio allocates a session's queue 32 slots at a time, the first
    // block at bind: 24-byte slots make it 800 bytes instead of 1 KiB.
    assert!(size_of::<Outbound>() <= 24, "Outbound is {} bytes", size_of::<Outbound>());
}
