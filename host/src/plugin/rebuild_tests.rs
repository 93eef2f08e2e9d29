//! Rebuilding the chain and the condition set against the real components
//! in [`GUEST_DIR`]: the `-next` fixtures (version 2 of `message` and
//! `amp` with one extra feature) and the broken ones (`bad-api`,
//! `trap-init`, `bad-manifest`).

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::plugin::tests::{ctx, message};
use crate::plugin::{ChainOutcome, GUEST_DIR, Limits};

const NEXT: &str = "urn:wasmpp:test:next";

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// A host running `chain` from the built-ins, and an empty plugin dir.
fn host_with(chain: &[&str]) -> (PluginHost, tempfile::TempDir) {
    let host = PluginHost::new(Limits { pool_size: 2, ..Limits::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    host.load_chain(&ids(chain), Some(dir.path())).unwrap();
    (host, dir)
}

/// Puts the built component `built` into `dir` as `name`.
fn drop_in(dir: &Path, built: &str, name: &str) {
    std::fs::copy(Path::new(GUEST_DIR).join(built), dir.join(name)).unwrap();
}

fn version(host: &PluginHost, id: &str) -> String {
    host.chain().plugins().iter().find(|p| p.id == id).unwrap().version.clone()
}

#[test]
fn unchanged_bytes_keep_the_same_loaded_plugin_and_its_warm_pool() {
    let (host, dir) = host_with(&["message", "msgoffline"]);
    let before = host.chain();
    let rebuild = host.rebuild_chain(&ids(&["message", "msgoffline"]), Some(dir.path()), false);
    assert!(rebuild.published);
    assert!(rebuild.changes.iter().all(|c| matches!(c, Change::Unchanged { .. })), "{:?}", rebuild.changes);
    let after = host.chain();
    assert!(!Arc::ptr_eq(&before, &after), "a new chain value is published");
    for id in ["message", "msgoffline"] {
        assert!(Arc::ptr_eq(before.loaded(id).unwrap(), after.loaded(id).unwrap()), "{id} reused");
    }
}

#[test]
fn a_changed_component_serves_new_stanzas_while_the_old_chain_finishes() {
    let (host, dir) = host_with(&["message"]);
    let old = host.chain();
    let old_version = version(&host, "message");
    drop_in(dir.path(), "message-next.wasm", "message.wasm");

    let rebuild = host.rebuild_chain(&ids(&["message"]), Some(dir.path()), false);
    assert!(rebuild.published);
    match rebuild.changes.as_slice() {
        [Change::Loaded { name, version, file, replaced }] => {
            assert_eq!(name, "message");
            assert!(version.starts_with("2."), "{version}");
            assert_eq!(Path::new(file), dir.path().join("message.wasm"));
            assert_eq!(replaced.as_deref(), Some(old_version.as_str()));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(host.chain().has_feature(NEXT));
    // A stanza that took the old chain before the swap still runs on it.
    assert!(!old.has_feature(NEXT));
    for chain in [old, host.chain()] {
        match chain.run(message("juliet@example.com/balcony", "chat", "hi"), &ctx(true)) {
            ChainOutcome::Handled(_, effects) => assert_eq!(effects.len(), 1),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn broken_components_are_rejected_and_the_running_version_stays() {
    let (host, dir) = host_with(&["amp"]);
    let running = host.chain().loaded("amp").unwrap().clone();
    let cases = [
        ("bad-api.wasm", "9.0.0"),
        ("trap-init.wasm", "manifest() failed: trap"),
        ("bad-manifest.wasm", "its manifest calls it \"bad-manifest\""),
        ("body-contains.wasm", "does not implement"),
    ];
    for (built, expected) in cases {
        drop_in(dir.path(), built, "amp.wasm");
        let rebuild = host.rebuild_chain(&ids(&["amp"]), Some(dir.path()), false);
        assert!(rebuild.published, "{built}");
        match rebuild.changes.as_slice() {
            [Change::Rejected { name, file, reason, kept }] => {
                assert_eq!(name, "amp");
                assert_eq!(Path::new(file), dir.path().join("amp.wasm"));
                assert!(reason.contains(expected), "{built}: {reason}");
                assert_eq!(kept.as_deref(), Some(running.info.version.as_str()));
            }
            other => panic!("{built}: unexpected {other:?}"),
        }
        assert!(Arc::ptr_eq(host.chain().loaded("amp").unwrap(), &running), "{built}: the old amp serves");
    }
    // Put right, the next reload takes the file.
    drop_in(dir.path(), "amp-next.wasm", "amp.wasm");
    let rebuild = host.rebuild_chain(&ids(&["amp"]), Some(dir.path()), false);
    assert!(matches!(rebuild.changes.as_slice(), [Change::Loaded { .. }]), "{:?}", rebuild.changes);
    assert!(host.chain().has_feature(NEXT));
}

#[test]
fn a_chain_missing_a_plugin_is_not_published() {
    let (host, dir) = host_with(&["amp"]);
    let before = host.chain();
    drop_in(dir.path(), "trap-init.wasm", "message.wasm");
    let rebuild = host.rebuild_chain(&ids(&["message", "msgoffline"]), Some(dir.path()), false);
    assert!(!rebuild.published);
    assert!(Arc::ptr_eq(&before, &host.chain()), "the running chain stays");
    assert!(
        rebuild.changes.iter().any(|c| matches!(c, Change::Rejected { name, kept: None, .. } if name == "message"))
    );
    assert!(rebuild.changes.iter().any(|c| matches!(c, Change::Removed { name, .. } if name == "amp")));
}

#[test]
fn conditions_are_reloaded_per_file_and_amp_lists_them_again() {
    let (host, plugins) = host_with(&["amp"]);
    let dir = tempfile::tempdir().unwrap();
    let feature = "http://jabber.org/protocol/amp?condition=body-contains";
    assert!(host.rebuild_conditions(dir.path()).is_empty());

    drop_in(dir.path(), "body-contains.wasm", "body.wasm");
    let changes = host.rebuild_conditions(dir.path());
    assert!(matches!(changes.as_slice(), [Change::Loaded { name, .. }] if name == "body-contains"), "{changes:?}");
    assert!(!host.chain().has_feature(feature), "amp's manifest was read before");
    host.rebuild_chain(&ids(&["amp"]), Some(plugins.path()), true);
    assert!(host.chain().has_feature(feature));
    assert!(host.env().conditions.load().validate("body-contains", "urgent"));

    // A broken replacement is refused; the loaded condition stays.
    drop_in(dir.path(), "trap-init.wasm", "body.wasm");
    let changes = host.rebuild_conditions(dir.path());
    match changes.as_slice() {
        [Change::Rejected { name, reason, kept: Some(_), .. }] => {
            assert_eq!(name, "body-contains");
            assert!(reason.contains("amp-condition"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(host.env().conditions.load().validate("body-contains", "urgent"));

    // The same name from a second file is refused too.
    drop_in(dir.path(), "body-contains.wasm", "body.wasm");
    drop_in(dir.path(), "body-contains.wasm", "copy.wasm");
    let changes = host.rebuild_conditions(dir.path());
    assert!(
        changes.iter().any(|c| matches!(c, Change::Rejected { reason, .. } if reason.contains("already declared")))
    );

    std::fs::remove_file(dir.path().join("body.wasm")).unwrap();
    std::fs::remove_file(dir.path().join("copy.wasm")).unwrap();
    let changes = host.rebuild_conditions(dir.path());
    assert!(matches!(changes.as_slice(), [Change::Removed { name, .. }] if name == "body-contains"), "{changes:?}");
    assert!(!host.env().conditions.load().validate("body-contains", "urgent"));
}

#[test]
fn changes_read_as_one_line_each() {
    let loaded = Change::Loaded {
        name: "message".into(),
        version: "2.0.0".into(),
        file: "/p/message.wasm".into(),
        replaced: Some("0.1.0".into()),
    };
    assert_eq!(loaded.to_string(), "message 2.0.0: loaded from /p/message.wasm, replacing 0.1.0");
    let rejected = Change::Rejected {
        name: "amp".into(),
        file: "/p/amp.wasm".into(),
        reason: "cannot compile".into(),
        kept: Some("0.1.0".into()),
    };
    assert_eq!(rejected.to_string(), "amp: rejected /p/amp.wasm: cannot compile; amp 0.1.0 keeps serving");
    let gone = Change::Removed { name: "body-contains".into(), version: String::new() };
    assert_eq!(gone.to_string(), "body-contains: removed");
}
