//! End-to-end tests of the runtime against the real guest components that
//! `build.rs` put in [`GUEST_DIR`]: RFC 6121 §8.5 routing by `message`, and
//! fault containment with the purpose-built `fault-*` plugins.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::plugin::metrics::{Entry, FaultKind, VerdictKind};
use crate::xml::Element;
use crate::xmpp::{Condition, Stanza, ns};

pub(super) const JULIET: &str = "juliet@example.com";

struct FakeSessions(HashMap<String, Vec<ResourceInfo>>);

impl SessionView for FakeSessions {
    fn resources(&self, bare: &jid::BareJid) -> Vec<ResourceInfo> {
        self.0.get(bare.as_str()).cloned().unwrap_or_default()
    }
}

fn info(resource: &str, priority: i8, available: bool) -> ResourceInfo {
    ResourceInfo { resource: resource.into(), priority, available }
}

/// Juliet has two available sessions of different priority; Nurse is
/// registered but offline.
pub(super) fn ctx(recipient_exists: bool) -> StanzaContext {
    let sessions = HashMap::from([(JULIET.to_owned(), vec![info("balcony", 1, true), info("chamber", 5, true)])]);
    StanzaContext::new(Arc::new(FakeSessions(sessions)), recipient_exists)
}

pub(super) fn message(to: &str, ty: &str, body: &str) -> Stanza {
    let el = Element::new("message", ns::CLIENT)
        .with_attr("from", "romeo@example.net/orchard")
        .with_attr("to", to)
        .with_attr("type", ty)
        .with_attr("id", "m1")
        .with_child(Element::new("body", ns::CLIENT).with_text(body));
    Stanza::from_element(el).unwrap().unwrap()
}

pub(super) fn host_with(ids: &[&str]) -> PluginHost {
    let limits = Limits { pool_size: 2, ..Limits::default() };
    let host = PluginHost::new(limits).unwrap();
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    host.load_chain(&ids, Some(Path::new(GUEST_DIR))).unwrap();
    host
}

pub(super) fn delivered_to(outcome: ChainOutcome) -> Vec<String> {
    match outcome {
        ChainOutcome::Handled(stanza, effects) => {
            // The stanza comes back untouched: `to` is never rewritten.
            assert_eq!(stanza.el.attr("id"), Some("m1"));
            effects
                .into_iter()
                .map(|e| match e {
                    Effect::Deliver(jid) => jid.to_string(),
                    other => panic!("unexpected effect {other:?}"),
                })
                .collect()
        }
        other => panic!("expected delivery, got {other:?}"),
    }
}

fn bounced(outcome: ChainOutcome) -> Condition {
    match outcome {
        ChainOutcome::Bounce(_, err) => err.condition,
        other => panic!("expected a bounce, got {other:?}"),
    }
}

#[test]
fn message_plugin_routes_per_rfc6121_8_5() {
    let host = host_with(&["message"]);
    let chain = host.chain();
    assert_eq!(chain.plugins()[0].id, "message");
    assert_eq!(chain.plugins()[0].handles, [crate::xmpp::StanzaKind::Message]);

    // Bare JID: the higher priority session only.
    let out = chain.run(message(JULIET, "chat", "hi"), &ctx(true));
    assert_eq!(delivered_to(out), ["juliet@example.com/chamber"]);
    // Full JID: exactly that session, even at lower priority.
    let out = chain.run(message("juliet@example.com/balcony", "normal", "hi"), &ctx(true));
    assert_eq!(delivered_to(out), ["juliet@example.com/balcony"]);
    // Headline: every non-negative session.
    let out = chain.run(message(JULIET, "headline", "news"), &ctx(true));
    assert_eq!(delivered_to(out), ["juliet@example.com/balcony", "juliet@example.com/chamber"]);
    // Groupchat to a user and an unknown user: service-unavailable.
    assert_eq!(bounced(chain.run(message(JULIET, "groupchat", "x"), &ctx(true))), Condition::ServiceUnavailable);
    // An offline user is left to the next plugin (msgoffline) or the host.
    assert!(matches!(
        chain.run(message("nurse@example.com", "chat", "x"), &ctx(true)),
        ChainOutcome::Unhandled(_, after) if after.is_empty()
    ));
    assert_eq!(
        bounced(chain.run(message("nobody@example.com", "chat", "x"), &ctx(false))),
        Condition::ServiceUnavailable
    );
    // Errors are never bounced.
    assert!(matches!(chain.run(message("nobody@example.com", "error", "x"), &ctx(false)), ChainOutcome::Dropped));
}

/// A component whose import and export names say `xmpp:sm@0.2.0` (this
/// build's `message` with its names rewritten: same length, so the binary
/// stays valid) passes the contract check and links against this 0.2.1
/// host by semver, `sessions.addressee` included, and routes as before.
#[test]
fn a_plugin_built_for_an_earlier_patch_release_runs() {
    let built = std::fs::read(Path::new(GUEST_DIR).join("message.wasm")).unwrap();
    let (ours, older) = (format!("@{}", bindings::WIT_VERSION), b"@0.2.0");
    assert_eq!(ours.len(), older.len());
    let mut bytes = Vec::with_capacity(built.len());
    let mut rest = &built[..];
    let mut renamed = 0;
    while let Some(at) = rest.windows(ours.len()).position(|w| w == ours.as_bytes()) {
        bytes.extend_from_slice(&rest[..at]);
        bytes.extend_from_slice(older);
        rest = &rest[at + ours.len()..];
        renamed += 1;
    }
    bytes.extend_from_slice(rest);
    assert!(renamed > 0, "message.wasm names no {ours}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("message.wasm"), bytes).unwrap();
    let host = PluginHost::new(Limits { pool_size: 1, ..Limits::default() }).unwrap();
    host.load_chain(&["message".to_owned()], Some(dir.path())).unwrap();
    let report = host.check_file(&dir.path().join("message.wasm")).unwrap();
    assert_eq!(report.api_version, "0.2.0");
    let out = host.chain().run(message(JULIET, "chat", "hi"), &ctx(true));
    assert_eq!(delivered_to(out), ["juliet@example.com/chamber"]);
}

#[test]
fn kinds_a_plugin_does_not_handle_are_unhandled() {
    let host = host_with(&["message"]);
    let el = Element::new("presence", ns::CLIENT).with_attr("to", JULIET);
    let presence = Stanza::from_element(el).unwrap().unwrap();
    assert!(matches!(host.chain().run(presence, &ctx(true)), ChainOutcome::Unhandled(_, _)));
}

/// Each fault plugin faults on its trigger, the stanza comes back intact,
/// and the next stanza flows through a fresh instance to `message`; the
/// fault is counted under its kind.
fn fault_is_contained(id: &str, trigger: &str, expect: &str, kind: FaultKind) {
    let host = host_with(&[id, "message"]);
    let chain = host.chain();
    let started = Instant::now();
    match chain.run(message(JULIET, "chat", trigger), &ctx(true)) {
        ChainOutcome::Faulted { stanza, plugin, version, error } => {
            assert_eq!(plugin, id);
            assert_eq!(version, "0.1.0");
            assert!(error.contains(expect), "{id}: {error}");
            assert_eq!(stanza.el.child("body", ns::CLIENT).map(Element::text).as_deref(), Some(trigger));
        }
        other => panic!("{id}: expected a fault, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{id} took {:?}", started.elapsed());
    assert_eq!(chain.loaded(id).unwrap().pool().idle_len(), 0, "the faulted instance must be discarded");
    for _ in 0..3 {
        let out = chain.run(message(JULIET, "chat", "hello"), &ctx(true));
        assert_eq!(delivered_to(out), ["juliet@example.com/chamber"]);
    }
    assert_eq!(chain.loaded(id).unwrap().pool().idle_len(), 1);
    let counters = host.metrics().plugin(id);
    assert_eq!(counters.durations(Entry::Process).count, 4);
    for k in FaultKind::ALL {
        assert_eq!(counters.faults(k), u64::from(k == kind), "{id}: {k:?}");
    }
    assert_eq!(counters.verdicts(VerdictKind::Pass), 3, "{id}: the faulted call has no verdict");
    assert_eq!(host.metrics().plugin("message").verdicts(VerdictKind::Handled), 3);
}

#[test]
fn a_trapping_plugin_is_contained() {
    fault_is_contained("fault-trap", "trap", "trap: wasm `unreachable`", FaultKind::Trap);
}

#[test]
fn a_spinning_plugin_hits_the_deadline() {
    fault_is_contained("fault-spin", "spin", "deadline exceeded", FaultKind::Deadline);
}

#[test]
fn a_memory_hog_hits_the_memory_limit() {
    fault_is_contained("fault-hog", "hog", "memory limit reached", FaultKind::Memory);
}

#[test]
fn manifest_id_must_match_the_configured_id() {
    let dir = std::env::temp_dir().join(format!("wasmpp-plugin-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(Path::new(GUEST_DIR).join("fault-trap.wasm"), dir.join("impostor.wasm")).unwrap();
    let host = PluginHost::new(Limits::default()).unwrap();
    let err = host.load_chain(&["impostor".to_owned()], Some(&dir)).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    match &err {
        PluginError::IdMismatch { id, file, found } => {
            assert_eq!((id.as_str(), found.as_str()), ("impostor", "fault-trap"));
            assert!(file.ends_with("impostor.wasm"), "{file}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("impostor"));
}

#[test]
fn load_errors_name_the_plugin_and_keep_the_old_chain() {
    let host = host_with(&["message"]);
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let dir = Some(Path::new(GUEST_DIR));
    assert!(matches!(host.load_chain(&ids(&["nope"]), dir), Err(PluginError::NotFound { id, .. }) if id == "nope"));
    assert!(matches!(host.load_chain(&ids(&["message", "message"]), None), Err(PluginError::Duplicate(_))));
    assert!(matches!(host.load_chain(&ids(&["../etc/x"]), dir), Err(PluginError::InvalidId(_))));
    assert_eq!(host.chain().plugins().len(), 1);
    // The built-in is found without any directory.
    host.load_chain(&ids(&["message"]), None).unwrap();
    let known = host.known_ids(dir);
    for id in ["message", "fault-trap", "fault-spin", "fault-hog"] {
        assert!(known.contains(&id.to_owned()), "{known:?}");
    }
    assert_eq!(host.known_ids(None), ["amp", "message", "msgoffline"]);
}

#[test]
fn concurrent_callers_share_a_small_pool() {
    let host = Arc::new(host_with(&["message"]));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let host = host.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let out = host.chain().run(message(JULIET, "chat", "hi"), &ctx(true));
                    assert_eq!(delivered_to(out), ["juliet@example.com/chamber"]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(host.chain().loaded("message").unwrap().pool().idle_len() <= 2);
}

#[test]
fn counters_follow_the_plugin_id_across_a_chain_swap() {
    let host = host_with(&["message"]);
    let run = |to: &str| host.chain().run(message(to, "chat", "hi"), &ctx(true));
    assert!(matches!(run(JULIET), ChainOutcome::Handled(..)));
    assert!(matches!(run("nobody@example.com"), ChainOutcome::Unhandled(..)));
    let ids = ["message".to_owned()];
    host.load_chain(&ids, Some(Path::new(GUEST_DIR))).unwrap();
    assert!(matches!(run(JULIET), ChainOutcome::Handled(..)));
    let counters = host.metrics().plugin("message");
    let durations = counters.durations(Entry::Process);
    assert_eq!(durations.count, 3, "the reloaded plugin counts on");
    assert!(durations.sum_seconds > 0.0);
    assert_eq!((counters.verdicts(VerdictKind::Handled), counters.verdicts(VerdictKind::Pass)), (2, 1));
    assert_eq!(counters.durations(Entry::Recheck).count, 0);
    let names: Vec<_> = host.metrics().all().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, ["message"]);
}
