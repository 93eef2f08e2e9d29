//! The reload function and the watcher against real components from
//! [`GUEST_DIR`], without sockets (the end-to-end tests in
//! `tests/tests/reload.rs` add clients and the admin commands).

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::plugin::{GUEST_DIR, Limits};

const NEXT: &str = "urn:wasmpp:test:next";

/// A reloader over a fresh plugin dir (conditions in `<dir>/conditions`),
/// running the default chain `amp` changed by `toggles`.
fn reloader(toggles: &str) -> (Arc<Reloader>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let plugins = Arc::new(PluginHost::new(Limits { pool_size: 2, ..Limits::default() }).unwrap());
    let toggles = parse_toggles(toggles).unwrap();
    let known = plugins.known_ids(Some(dir.path()));
    let ids = resolve_chain(&["amp"], &toggles, &|id| known.iter().any(|k| k == id)).unwrap();
    plugins.load_chain(&ids, Some(dir.path())).unwrap();
    let conditions = dir.path().join("conditions");
    (Arc::new(Reloader::new(plugins, dir.path().to_owned(), conditions, &["amp"], toggles)), dir)
}

fn chain_ids(r: &Reloader) -> Vec<String> {
    r.plugins.chain().plugins().iter().map(|p| p.id.clone()).collect()
}

/// Waits (bounded) for a report in which `pick` holds.
async fn report_where(
    reports: &mut channel::Receiver<Option<Arc<ReloadReport>>>,
    pick: impl Fn(&ReloadReport) -> bool,
) -> Arc<ReloadReport> {
    let wait = async {
        loop {
            reports.changed().await.unwrap();
            if let Some(report) = reports.borrow_and_update().clone().filter(|r| pick(r)) {
                return report;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait).await.expect("a matching reload report")
}

fn loaded_version_2(report: &ReloadReport, id: &str) -> bool {
    report
        .plugins
        .iter()
        .any(|c| matches!(c, Change::Loaded { name, version, .. } if name == id && version.starts_with("2.")))
}

#[tokio::test]
async fn set_sm_plugins_uses_the_start_up_rules_and_keeps_the_toggles_it_applied() {
    let (r, _dir) = reloader("");
    let admin = Trigger::Admin("admin@localhost".into());

    let report = r.set_sm_plugins("-amp,+message,+msgoffline", admin.clone()).await.unwrap();
    assert!(report.published && report.changed_anything(), "{report}");
    assert_eq!(chain_ids(&r), ["message", "msgoffline"]);
    assert_eq!(r.sm_plugins().await, "-amp,+message,+msgoffline");

    for (bad, expected) in [
        ("+message", "cannot both be enabled"),
        ("+nosuch", "unknown plugin \"nosuch\""),
        ("+Bad Id", "not a plugin id"),
    ] {
        let err = r.set_sm_plugins(bad, admin.clone()).await.unwrap_err();
        assert_eq!(err.key, "--sm-plugins");
        assert!(err.message.contains(expected), "{bad}: {err}");
        assert_eq!(chain_ids(&r), ["message", "msgoffline"], "{bad} changed nothing");
        assert_eq!(r.sm_plugins().await, "-amp,+message,+msgoffline");
    }

    // Back to the default chain.
    let report = r.set_sm_plugins("", admin).await.unwrap();
    assert!(report.plugins.iter().any(|c| matches!(c, Change::Removed { name, .. } if name == "message")), "{report}");
    assert_eq!(chain_ids(&r), ["amp"]);
}

#[tokio::test]
async fn a_broken_new_plugin_keeps_the_old_chain_and_toggles() {
    let (r, dir) = reloader("");
    std::fs::copy(Path::new(GUEST_DIR).join("bad-manifest.wasm"), dir.path().join("message.wasm")).unwrap();
    let report = r.set_sm_plugins("-amp,+message,+msgoffline", Trigger::Signal).await.unwrap();
    assert!(!report.published, "{report}");
    assert!(report.to_string().contains("the chain is unchanged"), "{report}");
    assert_eq!(chain_ids(&r), ["amp"]);
    assert_eq!(r.sm_plugins().await, "");
}

#[tokio::test]
async fn reports_name_each_component_and_the_chain() {
    let (r, dir) = reloader("-amp,+message,+msgoffline");
    let mut reports = r.subscribe();
    std::fs::copy(Path::new(GUEST_DIR).join("message-next.wasm"), dir.path().join("message.wasm")).unwrap();
    let report = r.reload(Trigger::Signal).await.unwrap();
    assert!(loaded_version_2(&report, "message"), "{report}");
    let text = report.to_string();
    // The shipped plugins carry the workspace version.
    let shipped = env!("CARGO_PKG_VERSION");
    assert!(text.contains(&format!("plugin msgoffline {shipped}: unchanged")), "{text}");
    assert!(text.ends_with(&format!("chain: message 2.0.0, msgoffline {shipped}")), "{text}");
    assert!(r.plugins.chain().has_feature(NEXT));
    let seen = reports.borrow_and_update().clone().unwrap();
    assert_eq!(seen.trigger, Trigger::Signal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_reloads_a_file_renamed_into_place() {
    let (r, dir) = reloader("-amp,+message,+msgoffline");
    let mut reports = r.subscribe();
    let _watch = AbortOnDrop(watch::spawn(r.clone()).expect("a watch"));
    let staged = dir.path().join(".message.wasm.part");
    std::fs::copy(Path::new(GUEST_DIR).join("message-next.wasm"), &staged).unwrap();
    std::fs::rename(&staged, dir.path().join("message.wasm")).unwrap();
    let report = report_where(&mut reports, |r| loaded_version_2(r, "message")).await;
    assert_eq!(report.trigger, Trigger::Watcher);
    assert!(r.plugins.chain().has_feature(NEXT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_retries_a_file_written_in_two_goes() {
    let (r, dir) = reloader("");
    let mut reports = r.subscribe();
    let _watch = AbortOnDrop(watch::spawn(r.clone()).expect("a watch"));
    let bytes = std::fs::read(Path::new(GUEST_DIR).join("amp-next.wasm")).unwrap();
    let target = dir.path().join("amp.wasm");
    std::fs::write(&target, &bytes[..bytes.len() / 2]).unwrap();
    // The half file is rejected by the reload it triggers, amp keeps serving.
    let half = report_where(&mut reports, |r| r.rejections().count() > 0).await;
    assert!(half.to_string().contains("cannot compile"), "{half}");
    assert!(!r.plugins.chain().has_feature(NEXT));
    std::fs::write(&target, &bytes).unwrap();
    report_where(&mut reports, |r| loaded_version_2(r, "amp")).await;
    assert!(r.plugins.chain().has_feature(NEXT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_loads_a_custom_condition_and_amp_advertises_it() {
    let (r, dir) = reloader("");
    let mut reports = r.subscribe();
    let _watch = AbortOnDrop(watch::spawn(r.clone()).expect("a watch"));
    assert!(dir.path().join("conditions").is_dir(), "the watcher creates the conditions dir");
    std::fs::copy(Path::new(GUEST_DIR).join("body-contains.wasm"), dir.path().join("conditions/body.wasm")).unwrap();
    report_where(&mut reports, |r| r.conditions.iter().any(Change::is_update)).await;
    assert!(r.plugins.chain().has_feature("http://jabber.org/protocol/amp?condition=body-contains"));
}

/// Stops the watcher at the end of a test.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
