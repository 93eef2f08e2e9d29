//! Custom AMP conditions against the real components `build.rs` put in
//! [`GUEST_DIR`]: the example `body-contains` and the `fault-condition`
//! fixture (traps on "trap", loops on "spin", eats memory on "hog").

use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::plugin::bindings::wit::MessageType;
use crate::plugin::tests::ctx;
use crate::plugin::{ChainOutcome, DeliverValue, Effect, GUEST_DIR, Limits};
use crate::xml::{Element, Node};
use crate::xmpp::{Stanza, ns};

fn host() -> PluginHost {
    PluginHost::new(Limits { pool_size: 2, ..Limits::default() }).unwrap()
}

/// A fresh directory holding `files` copied from [`GUEST_DIR`] as
/// `(built name, name in the directory)`.
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (built, name) in files {
        std::fs::copy(Path::new(GUEST_DIR).join(built), dir.path().join(name)).unwrap();
    }
    dir
}

/// The conditions in a directory of `files`, loaded by a fresh host (kept
/// alive with them: it owns the engine).
fn loaded(files: &[(&str, &str)]) -> (PluginHost, Conditions) {
    let host = host();
    let dir = dir_with(files);
    let conditions = Conditions::load(&host.runtime, &host.cache, &host.env.metrics, dir.path()).unwrap();
    (host, conditions)
}

fn load_err(dir: &Path) -> (PathBuf, String) {
    match host().load_conditions(dir) {
        Err(PluginError::Condition { file, reason }) => (file, reason),
        other => panic!("expected a condition error, got {other:?}"),
    }
}

fn message(body: Option<&str>) -> MessageInfo {
    MessageInfo {
        from: "romeo@example.net/orchard".to_owned(),
        to: "juliet@example.com".to_owned(),
        message_type: MessageType::Chat,
        id: Some("m1".to_owned()),
        body: body.map(str::to_owned),
        size: 200,
    }
}

fn stored() -> Disposition {
    Disposition { deliver: DeliverValue::Stored, resources: Vec::new() }
}

#[test]
fn body_contains_declares_itself() {
    let (_host, conditions) = loaded(&[("body-contains.wasm", "body_contains.wasm")]);
    let list = conditions.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "body-contains");
    assert!(list[0].presence_safe);
    assert!(list[0].per_hop);
}

#[test]
fn body_contains_validates_values() {
    let (_host, conditions) = loaded(&[("body-contains.wasm", "body-contains.wasm")]);
    assert!(conditions.validate("body-contains", "urgent"));
    assert!(!conditions.validate("body-contains", ""));
    assert!(!conditions.validate("body-contains", "   "));
    assert!(conditions.validate("body-contains", &"x".repeat(256)));
    assert!(!conditions.validate("body-contains", &"x".repeat(257)));
    // Unknown names are never valid: `amp` answers unsupported-conditions.
    assert!(!conditions.validate("body-contain", "urgent"));
    assert!(!conditions.validate("deliver", "stored"));
}

#[test]
fn body_contains_evaluates_against_the_message() {
    let (_host, conditions) = loaded(&[("body-contains.wasm", "body-contains.wasm")]);
    let m = message(Some("This is URGENT, Juliet"));
    assert!(conditions.evaluate("body-contains", "urgent", &m, &stored()));
    assert!(conditions.evaluate("body-contains", "juliet", &m, &stored()));
    assert!(!conditions.evaluate("body-contains", "tomorrow", &m, &stored()));
    assert!(!conditions.evaluate("body-contains", "urgent", &message(None), &stored()));
    assert!(!conditions.evaluate("unknown", "urgent", &m, &stored()));
    // The warm instance went back to the pool after each call.
    assert_eq!(conditions.loaded[0].idle_len(), 1);
}

#[test]
fn a_missing_or_empty_directory_gives_no_conditions() {
    let host = host();
    let dir = tempfile::tempdir().unwrap();
    assert!(host.load_conditions(&dir.path().join("nope")).unwrap().is_empty());
    std::fs::write(dir.path().join("README.txt"), "not a component").unwrap();
    assert!(host.load_conditions(dir.path()).unwrap().is_empty());
    assert!(host.env().conditions.load().list().is_empty());
}

#[test]
fn loading_publishes_to_plugins_and_a_broken_file_keeps_the_old_set() {
    let host = host();
    let good = dir_with(&[("body-contains.wasm", "body-contains.wasm")]);
    let declared = host.load_conditions(good.path()).unwrap();
    assert_eq!(declared.len(), 1);
    assert_eq!(host.env().conditions.load().list()[0].name, "body-contains");

    let bad = dir_with(&[("body-contains.wasm", "a.wasm")]);
    std::fs::write(bad.path().join("garbage.wasm"), b"\0asm not really").unwrap();
    let err = host.load_conditions(bad.path()).unwrap_err();
    assert!(err.to_string().contains("garbage.wasm"), "{err}");
    let PluginError::Condition { file, reason } = err else { panic!("unexpected {err:?}") };
    assert_eq!(file, bad.path().join("garbage.wasm"));
    assert!(reason.starts_with("cannot compile"), "{reason}");
    let current = host.env().conditions.load();
    assert_eq!(current.list().len(), 1, "a failed load keeps the current set");
    assert!(current.validate("body-contains", "still here"));
}

#[test]
fn an_sm_plugin_is_not_a_condition() {
    let dir = dir_with(&[("message.wasm", "message.wasm")]);
    let (file, reason) = load_err(dir.path());
    assert_eq!(file, dir.path().join("message.wasm"));
    assert!(reason.contains("does not implement xmpp:sm/amp-condition@0.2.1"), "{reason}");
}

#[test]
fn a_name_declared_twice_is_refused_naming_both_files() {
    let dir = dir_with(&[("body-contains.wasm", "a.wasm"), ("body-contains.wasm", "b.wasm")]);
    let (file, reason) = load_err(dir.path());
    assert_eq!(file, dir.path().join("b.wasm"));
    assert!(reason.contains("already declared by") && reason.contains("a.wasm"), "{reason}");
}

#[test]
fn two_conditions_load_side_by_side() {
    let (_host, conditions) =
        loaded(&[("body-contains.wasm", "body-contains.wasm"), ("fault-condition.wasm", "fault.wasm")]);
    let names: Vec<String> = conditions.list().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["body-contains", "fault"]);
    let fault = &conditions.list()[1];
    assert!(!fault.presence_safe && !fault.per_hop);
    assert!(conditions.evaluate("fault", "hello", &message(Some("hello")), &stored()));
    assert!(!conditions.evaluate("fault", "hello", &message(Some("bye")), &stored()));
}

#[test]
fn names_must_be_ncnames_not_defined_and_unique() {
    for good in ["body-contains", "x", "_private", "size.max", "été", "v2"] {
        assert!(is_ncname(good), "{good}");
        assert_eq!(check_name(good, &[]), Ok(()));
    }
    for bad in ["", "a:b", "2fast", "-x", ".x", "a b", "a/b"] {
        assert!(!is_ncname(bad), "{bad:?}");
        assert!(check_name(bad, &[]).unwrap_err().contains("not an XML NCName"));
    }
    for defined in ["deliver", "expire-at", "match-resource"] {
        assert!(check_name(defined, &[]).unwrap_err().contains("XEP-0079 defines"));
    }
}

/// Each fault answers "invalid"/"not met", the instance is discarded, and
/// the next call is served by a fresh instance; calls and faults are counted
/// under the condition's name.
fn fault_is_contained(trigger: &str, kind: FaultKind) {
    let (host, conditions) = loaded(&[("fault-condition.wasm", "fault.wasm")]);
    let idle = || conditions.loaded[0].idle_len();
    assert_eq!(idle(), 1);
    let started = Instant::now();
    assert!(!conditions.validate("fault", trigger), "{trigger}: validate");
    assert_eq!(idle(), 0, "{trigger}: the faulted instance must be discarded");
    // A trigger equal to the body would be met if the call did not fault.
    assert!(!conditions.evaluate("fault", trigger, &message(Some(trigger)), &stored()), "{trigger}: evaluate");
    assert!(started.elapsed() < Duration::from_secs(4), "{trigger} took {:?}", started.elapsed());
    assert_eq!(idle(), 0);
    assert!(conditions.validate("fault", "fine"));
    assert!(conditions.evaluate("fault", "fine", &message(Some("fine")), &stored()));
    assert_eq!(idle(), 1);
    let counters = host.metrics().condition("fault");
    assert_eq!(counters.durations(Entry::Validate).count, 2);
    assert_eq!(counters.durations(Entry::Evaluate).count, 2);
    for k in FaultKind::ALL {
        assert_eq!(counters.faults(k), if k == kind { 2 } else { 0 }, "{trigger}: {k:?}");
    }
}

#[test]
fn a_trapping_condition_is_not_met() {
    fault_is_contained("trap", FaultKind::Trap);
}

#[test]
fn a_spinning_condition_hits_the_deadline() {
    fault_is_contained("spin", FaultKind::Deadline);
}

#[test]
fn a_memory_hog_condition_hits_the_memory_limit() {
    fault_is_contained("hog", FaultKind::Memory);
}

#[test]
fn faults_are_described_by_kind() {
    let (_host, conditions) = loaded(&[("fault-condition.wasm", "fault.wasm")]);
    let fault = &conditions.loaded[0];
    let run = |value: &str| {
        let mut warm = fault.checkout().unwrap();
        warm.store.data_mut().start_call();
        warm.store.set_epoch_deadline(fault.runtime.deadline_ticks);
        let e = warm.bindings.xmpp_sm_condition().call_validate(&mut warm.store, value).unwrap_err();
        describe(&e, warm.store.data())
    };
    let (kind, trap) = run("trap");
    assert!(trap.starts_with("trap: ") && trap.contains("wasm `unreachable`"), "{trap}");
    assert_eq!(kind, FaultKind::Trap);
    let (kind, spin) = run("spin");
    assert!(spin.starts_with("deadline exceeded"), "{spin}");
    assert_eq!(kind, FaultKind::Deadline);
    let (kind, hog) = run("hog");
    assert!(hog.starts_with("memory limit reached (16777216 bytes)"), "{hog}");
    assert_eq!(kind, FaultKind::Memory);
}

/// A `Write` into a shared buffer, to read what was logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_fault_is_logged_with_the_condition_name() {
    let (_host, conditions) = loaded(&[("fault-condition.wasm", "fault.wasm")]);
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    tracing::subscriber::with_default(subscriber, || {
        assert!(!conditions.evaluate("fault", "trap", &message(Some("trap")), &stored()));
    });
    let log = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let line = log.lines().find(|l| l.contains("ERROR")).unwrap_or_else(|| panic!("no error line in {log:?}"));
    assert!(line.contains("condition=\"fault\"") || line.contains("condition=fault"), "{line}");
    assert!(line.contains("not met") && line.contains("evaluate") && line.contains("unreachable"), "{line}");
    assert!(line.contains("fault.wasm"), "{line}");
}

/// The `amp` plugin with `body-contains` and `fault` loaded the way
/// `server.rs` does it: conditions first, then the chain.
fn amp_host() -> PluginHost {
    let host = host();
    let dir = dir_with(&[("body-contains.wasm", "body-contains.wasm"), ("fault-condition.wasm", "fault.wasm")]);
    host.load_conditions(dir.path()).unwrap();
    host.load_chain(&["amp".to_owned()], None).unwrap();
    host
}

/// A chat message from Romeo to Juliet (two available sessions in `ctx`)
/// with one AMP rule.
fn amp_message(body: &str, condition: &str, value: &str, action: &str) -> Stanza {
    let rule = Element::new("rule", ns::AMP)
        .with_attr("condition", condition)
        .with_attr("value", value)
        .with_attr("action", action);
    let el = Element::new("message", ns::CLIENT)
        .with_attr("from", "romeo@example.com/orchard")
        .with_attr("to", "juliet@example.com")
        .with_attr("type", "chat")
        .with_attr("id", "m1")
        .with_child(Element::new("body", ns::CLIENT).with_text(body))
        .with_child(Element::new("amp", ns::AMP).with_child(rule));
    Stanza::from_element(el).unwrap().unwrap()
}

/// What `amp` did, in one word: "delivered", "discarded", or the XEP-0079
/// error element of the reply it sent the sender.
fn outcome(out: ChainOutcome) -> String {
    let ChainOutcome::Handled(_, effects) = out else { panic!("expected amp to handle it, got {out:?}") };
    if effects.iter().any(|e| matches!(e, Effect::Deliver(_))) {
        return "delivered".to_owned();
    }
    let Some(Effect::Send(reply)) = effects.first() else {
        assert!(effects.is_empty(), "{effects:?}");
        return "discarded".to_owned();
    };
    let mut names = Vec::new();
    element_names(&reply.el, &mut names);
    let known = ["unsupported-conditions", "invalid-rules", "failed-rules"];
    names.into_iter().find(|n| known.contains(&n.as_str())).unwrap_or_else(|| panic!("unexpected reply {reply:?}"))
}

fn element_names(el: &Element, out: &mut Vec<String>) {
    out.push(el.name.to_string());
    for child in &el.children {
        if let Node::Element(c) = child {
            element_names(c, out);
        }
    }
}

#[test]
fn amp_advertises_the_loaded_conditions() {
    let host = amp_host();
    let chain = host.chain();
    let features = &chain.plugins()[0].features;
    for name in ["body-contains", "fault"] {
        let feature = format!("http://jabber.org/protocol/amp?condition={name}");
        assert!(features.contains(&feature), "{feature} not in {features:?}");
    }
}

#[test]
fn amp_fires_a_custom_rule_only_when_it_is_met() {
    let host = amp_host();
    let chain = host.chain();
    let run = |body, value| outcome(chain.run(amp_message(body, "body-contains", value, "drop"), &ctx(true)));
    assert_eq!(run("This is URGENT", "urgent"), "discarded");
    assert_eq!(run("Nothing to see", "urgent"), "delivered");
}

#[test]
fn amp_refuses_unknown_conditions_and_invalid_values() {
    let host = amp_host();
    let chain = host.chain();
    let run = |condition, value| outcome(chain.run(amp_message("hi", condition, value, "drop"), &ctx(true)));
    assert_eq!(run("body-contain", "hi"), "unsupported-conditions");
    assert_eq!(run("body-contains", "  "), "invalid-rules");
}

/// A condition that faults costs its rule the answer, never the message:
/// `validate` faulting makes the rule invalid, `evaluate` faulting makes
/// it not met, and `amp` itself never faults, even when the condition ran
/// to its own deadline inside `amp`'s call.
#[test]
fn a_faulting_condition_never_faults_amp() {
    let host = amp_host();
    let chain = host.chain();
    for fault in ["trap", "spin", "hog"] {
        let started = Instant::now();
        let out = chain.run(amp_message("x", "fault", fault, "drop"), &ctx(true));
        assert_eq!(outcome(out), "invalid-rules", "validate {fault}");
        let value = format!("evaluate:{fault}");
        let out = chain.run(amp_message(&value, "fault", &value, "drop"), &ctx(true));
        assert_eq!(outcome(out), "delivered", "evaluate {fault}");
        assert!(started.elapsed() < Duration::from_secs(4), "{fault} took {:?}", started.elapsed());
    }
    // Without a fault the same rule fires.
    assert_eq!(outcome(chain.run(amp_message("ok", "fault", "ok", "drop"), &ctx(true))), "discarded");
}
