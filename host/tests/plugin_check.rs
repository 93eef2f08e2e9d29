//! `wasmpp plugin check FILE` as an operator or plugin author runs it: the
//! built binary on the components this build produced (`GUEST_DIR`), its
//! exit code, its report on stdout and its reason on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wasmpp::plugin::GUEST_DIR;

fn check(file: &Path, flags: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpp"))
        .args(["plugin", "check"])
        .arg(file)
        .args(flags)
        .output()
        .expect("run wasmpp")
}

fn guest(name: &str) -> PathBuf {
    Path::new(GUEST_DIR).join(name)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit 0 and the report on stdout.
fn ok(file: &Path, flags: &[&str]) -> String {
    let out = check(file, flags);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Exit 1 and the reason on stderr.
fn fails(file: &Path) -> String {
    let out = check(file, &[]);
    assert_eq!(out.status.code(), Some(1), "stdout: {}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    text(&out.stderr)
}

#[test]
fn shipped_plugins_pass_and_report_their_manifest() {
    let report = ok(&guest("message.wasm"), &[]);
    for line in [
        "message.wasm: ok",
        "  id            message",
        "  version       0.1.0",
        "  WIT API       xmpp:sm@0.2.1",
        "  handles       message",
        "  features      (none)",
        "  capabilities  sessions, deliver",
        "  compile time  ",
    ] {
        assert!(report.contains(line), "{line:?} missing from\n{report}");
    }
    let report = ok(&guest("amp.wasm"), &[]);
    assert!(report.contains("  handles       message, presence\n"), "{report}");
    assert!(report.contains("  features      msgoffline, http://jabber.org/protocol/amp"), "{report}");
    assert!(
        report.contains("  capabilities  sessions, config, amp-conditions, deliver, offline-store, send\n"),
        "{report}"
    );
    let report = ok(&guest("overreach.wasm"), &[]);
    assert!(report.contains("  capabilities  (none)\n"), "{report}");
}

#[test]
fn the_configuration_given_is_the_one_checked() {
    let report = ok(&guest("msgoffline.wasm"), &["--sess-man/plugins-conf/msgoffline/capabilities=sessions"]);
    assert!(report.contains("  capabilities  sessions, offline-store\n"), "{report}");
    assert!(report.contains("  granted       sessions (narrowed by the configuration)\n"), "{report}");
    let out = check(&guest("msgoffline.wasm"), &["--sess-man/plugins-conf/msgoffline/capabilities=roster"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("sess-man/plugins-conf/msgoffline/capabilities: \"roster\" is not a capability")
    );
}

#[test]
fn rejected_components_exit_1_with_the_reason_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"not wasm at all").unwrap();
    let err = fails(&garbage);
    assert!(err.starts_with("wasmpp: plugin garbage (") && err.contains("garbage.wasm): cannot compile"), "{err}");

    let old = dir.path().join("old.wasm");
    std::fs::write(&old, component_importing_log("0.1.0")).unwrap();
    let err = fails(&old);
    assert!(err.contains("old.wasm): built for xmpp:sm@0.1.0, this server provides xmpp:sm@0.2.1"), "{err}");

    let err = fails(&guest("body-contains.wasm"));
    assert!(err.contains("does not implement xmpp:sm/sm-plugin@0.2.1"), "{err}");

    let err = fails(&dir.path().join("missing.wasm"));
    assert!(err.contains("missing.wasm: No such file"), "{err}");
}

/// A component whose only import is `xmpp:sm/log@<version>`.
fn component_importing_log(version: &str) -> Vec<u8> {
    use wasm_encoder::{Component, ComponentImportSection, ComponentTypeRef, ComponentTypeSection, InstanceType};
    let mut types = ComponentTypeSection::new();
    types.instance(&InstanceType::new());
    let mut imports = ComponentImportSection::new();
    imports.import(format!("xmpp:sm/log@{version}"), ComponentTypeRef::Instance(0));
    let mut component = Component::new();
    component.section(&types).section(&imports);
    component.finish()
}
