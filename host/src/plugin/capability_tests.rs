//! Capabilities, manifests, per-plugin limits and `plugin check` against
//! the real components `build.rs` put in [`GUEST_DIR`]: the shipped
//! plugins, the `overreach` fixture (declares nothing, uses everything)
//! and the fault plugins under per-plugin limits.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::tests::{JULIET, ctx, delivered_to, host_with, message};
use super::*;
use crate::xmpp::Condition;

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A host whose plugins run under `policies` (plugin id → policy).
fn host_with_policies(limits: Limits, policies: &[(&str, PluginPolicy)], chain: &[&str]) -> PluginHost {
    let policies: HashMap<String, PluginPolicy> = policies.iter().map(|(id, p)| (id.to_string(), p.clone())).collect();
    let host = PluginHost::with_env(limits, PluginEnv { policies, ..PluginEnv::default() }).unwrap();
    host.load_chain(&ids(chain), Some(Path::new(GUEST_DIR))).unwrap();
    host
}

fn allowing(list: &str) -> PluginPolicy {
    PluginPolicy { allowed: Some(Capabilities::parse_list(list).unwrap()), ..PluginPolicy::default() }
}

#[test]
fn shipped_plugins_declare_exactly_what_they_use_and_get_it() {
    let host = host_with(&["amp"]);
    let chain = host.chain();
    let amp = &chain.plugins()[0];
    assert_eq!(amp.capabilities.to_string(), "sessions,config,amp-conditions,deliver,offline-store,send");
    assert_eq!(amp.granted, amp.capabilities);
    let host = host_with(&["message", "msgoffline"]);
    let chain = host.chain();
    let [message, msgoffline] = chain.plugins() else { panic!("two plugins") };
    assert_eq!(message.capabilities.to_string(), "sessions,deliver");
    assert_eq!(msgoffline.capabilities.to_string(), "sessions,offline-store");
    assert_eq!(msgoffline.features, ["msgoffline"]);
}

#[test]
fn an_undeclared_import_is_an_error_the_plugin_sees() {
    let host = host_with(&["overreach", "message"]);
    let chain = host.chain();
    assert!(chain.plugins()[0].granted.is_empty());
    match chain.run(message(JULIET, "chat", "probe"), &ctx(true)) {
        ChainOutcome::Bounce(stanza, err) => {
            assert_eq!(err.condition, Condition::NotAllowed);
            assert_eq!(
                err.text.as_deref(),
                Some(
                    "sessions=denied(sessions) recipient-exists=denied(sessions) config=denied(config) \
                     amp-conditions=denied(amp-conditions) evaluate=denied(amp-conditions)"
                )
            );
            assert_eq!(stanza.el.attr("id"), Some("m1"));
        }
        other => panic!("expected the probe's bounce, got {other:?}"),
    }
    let denials = chain.denials("overreach").unwrap();
    assert_eq!((denials.calls(), denials.verdicts()), (5, 0));
    assert_eq!(chain.loaded("overreach").unwrap().pool().idle_len(), 1, "a denial is not a fault");
}

#[test]
fn a_verdict_needing_an_undeclared_capability_is_refused_and_the_chain_goes_on() {
    let host = host_with(&["overreach", "message"]);
    let chain = host.chain();
    for body in ["store", "deliver", "send"] {
        let out = chain.run(message(JULIET, "chat", body), &ctx(true));
        // `message` routed it as if `overreach` had passed.
        assert_eq!(delivered_to(out), ["juliet@example.com/chamber"], "{body}");
    }
    assert_eq!(chain.denials("overreach").unwrap().verdicts(), 3);
    assert_eq!(chain.denials("message").unwrap().verdicts(), 0);
    // Alone in the chain, the refused verdict leaves the stanza unhandled
    // for the host's fallback: nothing lost, nothing performed.
    let host = host_with(&["overreach"]);
    let out = host.chain().run(message(JULIET, "chat", "store"), &ctx(true));
    assert!(matches!(out, ChainOutcome::Unhandled(s, after) if after.is_empty() && s.el.attr("id") == Some("m1")));
}

#[test]
fn the_configuration_narrows_what_a_plugin_is_granted() {
    let host = host_with_policies(Limits::default(), &[("message", allowing("sessions, send"))], &["message"]);
    let chain = host.chain();
    let info = &chain.plugins()[0];
    assert_eq!(
        (info.capabilities.to_string(), info.granted.to_string()),
        ("sessions,deliver".into(), "sessions".into())
    );
    // It may still route (sessions), but not deliver: the host decides.
    assert!(matches!(chain.run(message(JULIET, "chat", "hi"), &ctx(true)), ChainOutcome::Unhandled(_, _)));
    assert_eq!(chain.denials("message").unwrap().verdicts(), 1);
    // Without sessions it cannot route at all; it passes by itself.
    let host = host_with_policies(Limits::default(), &[("message", allowing(""))], &["message"]);
    assert!(matches!(host.chain().run(message(JULIET, "chat", "hi"), &ctx(true)), ChainOutcome::Unhandled(_, _)));
    assert_eq!(host.chain().denials("message").unwrap().calls(), 1);
}

#[test]
fn amp_lists_custom_conditions_at_load_only_if_allowed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(Path::new(GUEST_DIR).join("body-contains.wasm"), dir.path().join("b.wasm")).unwrap();
    let feature = "http://jabber.org/protocol/amp?condition=body-contains";
    for (policy, listed) in [(PluginPolicy::default(), true), (allowing("sessions,deliver,config"), false)] {
        let policies = HashMap::from([("amp".to_owned(), policy)]);
        let host = PluginHost::with_env(Limits::default(), PluginEnv { policies, ..PluginEnv::default() }).unwrap();
        host.load_conditions(dir.path()).unwrap();
        host.load_chain(&ids(&["amp"]), None).unwrap();
        assert_eq!(host.chain().has_feature(feature), listed);
    }
}

#[test]
fn per_plugin_limits_fault_only_their_plugin() {
    let tight = |memory_bytes: Option<usize>, deadline_ms: Option<u64>| PluginPolicy {
        memory_bytes,
        deadline: deadline_ms.map(Duration::from_millis),
        pool_size: Some(1),
        allowed: None,
    };
    // The server-wide deadline is far above what the test waits for, so
    // only the per-plugin one can stop `fault-spin` in time.
    let limits = Limits { deadline: Duration::from_secs(60), pool_size: 2, ..Limits::default() };
    let policies = [("fault-spin", tight(None, Some(20))), ("fault-hog", tight(Some(2 << 20), None))];
    let host = host_with_policies(limits, &policies, &["fault-spin", "fault-hog", "message"]);
    let chain = host.chain();
    assert_eq!(chain.loaded("fault-hog").unwrap().pool().budget().memory_bytes, 2 << 20);
    for (id, trigger, expect) in
        [("fault-spin", "spin", "deadline exceeded"), ("fault-hog", "hog", "memory limit reached (2097152 bytes)")]
    {
        let started = Instant::now();
        match chain.run(message(JULIET, "chat", trigger), &ctx(true)) {
            ChainOutcome::Faulted { plugin, error, .. } => {
                assert_eq!(plugin, id);
                assert!(error.contains(expect), "{id}: {error}");
            }
            other => panic!("{id}: expected a fault, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{id} ran {:?}", started.elapsed());
        let out = chain.run(message(JULIET, "chat", "hello"), &ctx(true));
        assert_eq!(delivered_to(out), ["juliet@example.com/chamber"]);
    }
    assert!(chain.loaded("fault-spin").unwrap().pool().idle_len() <= 1, "pool-size=1");
}

#[test]
fn a_memory_cap_too_small_to_start_is_a_clear_start_error() {
    let policy = PluginPolicy { memory_bytes: Some(64 << 10), ..PluginPolicy::default() };
    let policies = HashMap::from([("message".to_owned(), policy)]);
    let host = PluginHost::with_env(Limits::default(), PluginEnv { policies, ..PluginEnv::default() }).unwrap();
    match host.load_chain(&ids(&["message"]), None).unwrap_err() {
        err @ PluginError::Start { .. } => {
            let text = err.to_string();
            assert!(text.starts_with("plugin message (<built-in>): cannot start: instantiation failed"), "{text}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let above = PluginPolicy { memory_bytes: Some(32 << 20), ..PluginPolicy::default() };
    let policies = HashMap::from([("message".to_owned(), above)]);
    let host = PluginHost::with_env(Limits::default(), PluginEnv { policies, ..PluginEnv::default() }).unwrap();
    let err = host.load_chain(&ids(&["message"]), None).unwrap_err();
    assert!(matches!(&err, PluginError::Limits { id, .. } if id == "message"), "{err:?}");
    assert!(err.to_string().contains("above the server-wide ceiling"), "{err}");
}

/// A component whose only import is `xmpp:sm/log@<version>`: enough for
/// the version check, which runs before linking.
pub(super) fn component_importing_log(version: &str) -> Vec<u8> {
    use wasm_encoder::{Component, ComponentImportSection, ComponentTypeRef, ComponentTypeSection, InstanceType};
    let mut types = ComponentTypeSection::new();
    types.instance(&InstanceType::new());
    let mut imports = ComponentImportSection::new();
    imports.import(format!("xmpp:sm/log@{version}"), ComponentTypeRef::Instance(0));
    let mut component = Component::new();
    component.section(&types).section(&imports);
    component.finish()
}

#[test]
fn a_component_built_for_another_contract_version_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.wasm"), component_importing_log("0.1.0")).unwrap();
    let host = PluginHost::new(Limits::default()).unwrap();
    let err = host.load_chain(&ids(&["old"]), Some(dir.path())).unwrap_err();
    assert!(matches!(&err, PluginError::ApiVersion { found, .. } if found == "0.1.0"), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("plugin old ("), "{text}");
    assert!(text.contains("old.wasm): built for xmpp:sm@0.1.0, this server provides xmpp:sm@0.2.1"), "{text}");
    // The same component at this version passes the check and fails linking.
    std::fs::write(dir.path().join("new.wasm"), component_importing_log(WIT_VERSION)).unwrap();
    let err = host.load_chain(&ids(&["new"]), Some(dir.path())).unwrap_err();
    assert!(matches!(err, PluginError::Link { .. }), "{err:?}");
    // Custom conditions are checked the same way.
    let conditions = tempfile::tempdir().unwrap();
    std::fs::write(conditions.path().join("old.wasm"), component_importing_log("0.1.0")).unwrap();
    let err = host.load_conditions(conditions.path()).unwrap_err().to_string();
    assert!(err.contains("built for xmpp:sm@0.1.0, this server provides xmpp:sm@0.2.1"), "{err}");
}

#[test]
fn plugin_check_reports_what_the_server_would_load() {
    let host = PluginHost::new(Limits::default()).unwrap();
    let report = host.check_file(&Path::new(GUEST_DIR).join("msgoffline.wasm")).unwrap();
    assert_eq!((report.info.id.as_str(), report.api_version.as_str()), ("msgoffline", "0.2.1"));
    let text = report.to_string();
    for line in [
        "msgoffline.wasm: ok\n",
        "  id            msgoffline\n",
        "  WIT API       xmpp:sm@0.2.1\n",
        "  handles       message, presence\n",
        "  features      msgoffline\n",
        "  capabilities  sessions, offline-store\n",
        "  compile time  ",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    assert!(!text.contains("install as") && !text.contains("granted"), "{text}");

    // A file not named after its id still checks, with a hint; the policy
    // of the id its name suggests applies.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("my_filter.wasm");
    std::fs::copy(Path::new(GUEST_DIR).join("overreach.wasm"), &file).unwrap();
    let policies = HashMap::from([("my-filter".to_owned(), allowing("sessions"))]);
    let host = PluginHost::with_env(Limits::default(), PluginEnv { policies, ..PluginEnv::default() }).unwrap();
    let text = host.check_file(&file).unwrap().to_string();
    assert!(text.contains("  id            overreach\n") && text.contains("  capabilities  (none)\n"), "{text}");
    assert!(text.contains("  install as    <plugin-dir>/overreach.wasm"), "{text}");
    let err = host.check_file(&dir.path().join("missing.wasm")).unwrap_err();
    assert!(matches!(err, PluginError::Read { .. }), "{err:?}");
}
