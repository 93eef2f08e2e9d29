//! The plugin author's path, as the README's "Write your own plugin" walks
//! it: `wasmpp plugin new`, `cargo test` (native, with the SDK's mock
//! host), `cargo build --release --target wasm32-wasip2`, `wasmpp plugin
//! check`, the component copied into the plugin directory as `<id>.wasm`,
//! the server started with it in the chain, and its effect seen by two
//! clients over TCP.
//!
//! One test, because the two nested cargo builds are slow (about two
//! minutes cold; their target directory stays in `CARGO_TARGET_TMPDIR`, so
//! later runs reuse the compiled dependencies). They run `--offline`: the
//! generated crate needs only crates this workspace already uses.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};

const NAME: &str = "word-filter";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn wasmpp(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpp")).args(args).output().expect("run wasmpp")
}

/// `cargo ARGS` in the generated crate, as its author would run it, but
/// without what the outer `cargo test` set for itself (profile, flags,
/// jobserver, wrappers) and with the shared target directory.
fn cargo(krate: &Path, target_dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(krate).args(args).arg("--offline").env("CARGO_TARGET_DIR", target_dir);
    for (key, _) in std::env::vars_os() {
        if leaks_into_nested_build(&key) {
            cmd.env_remove(&key);
        }
    }
    let out = cmd.output().expect("run cargo");
    assert!(out.status.success(), "cargo {args:?} in {} failed:\n{}", krate.display(), text(&out));
    out
}

/// The same rule as `build.rs`: registry, network and home settings stay.
fn leaks_into_nested_build(key: &OsStr) -> bool {
    let Some(key) = key.to_str() else { return false };
    const KEEP: &[&str] = &["CARGO_HOME", "CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_"];
    const DROP: &[&str] =
        &["RUSTFLAGS", "RUSTDOCFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "MAKEFLAGS", "MFLAGS"];
    match key.starts_with("CARGO") {
        true => !KEEP.iter().any(|k| key.starts_with(k)),
        false => DROP.contains(&key),
    }
}

#[test]
fn a_new_plugin_builds_checks_loads_and_filters_messages() {
    // Inside this checkout (so its rust-toolchain.toml applies), in a
    // directory of its own that `plugin new` must create.
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-new");
    let krate = base.join(NAME);
    let _ = std::fs::remove_dir_all(&krate);
    std::fs::create_dir_all(&base).unwrap();

    let out =
        wasmpp(&["plugin".as_ref(), "new".as_ref(), NAME.as_ref(), format!("--dir={}", krate.display()).as_ref()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).starts_with(&format!("created plugin {NAME} in {}", krate.display())), "{}", text(&out));

    let target_dir = base.join("target");
    let tests = text(&cargo(&krate, &target_dir, &["test"]));
    assert!(tests.contains("test tests::a_message_with_the_configured_word_bounces ... ok"), "{tests}");
    assert!(tests.contains("test result: ok. 4 passed"), "{tests}");
    cargo(&krate, &target_dir, &["build", "--release", "--target", "wasm32-wasip2"]);

    let built: PathBuf = target_dir.join("wasm32-wasip2/release/word_filter.wasm");
    let out = wasmpp(&["plugin".as_ref(), "check".as_ref(), built.as_os_str()]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    for line in ["  id            word-filter\n", "  handles       message\n", "  capabilities  config\n"] {
        assert!(report.contains(line), "{line:?} missing from\n{report}");
    }

    let plugin_dir = base.join("plugins");
    let _ = std::fs::remove_dir_all(&plugin_dir);
    std::fs::create_dir_all(&plugin_dir).unwrap();
    std::fs::copy(&built, plugin_dir.join(format!("{NAME}.wasm"))).unwrap();
    let args = [
        format!("--plugin-dir={}", plugin_dir.display()),
        format!("--sm-plugins=-amp,+{NAME},+amp"),
        format!("--sess-man/plugins-conf/{NAME}/word=montague"),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(filters_over_tcp(&args.each_ref().map(String::as_str)));
}

/// Romeo's plain message reaches Juliet through `amp`; the one with the
/// configured word is bounced to him by the new plugin and never reaches her.
async fn filters_over_tcp(args: &[&str]) {
    let srv = TestServer::start(args).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    juliet.send_presence(Some(0)).await.unwrap();
    juliet.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();
    romeo.ignore_presence();

    romeo.send_message("juliet@localhost", "chat", "m1", "Wherefore art thou Romeo?").await.unwrap();
    let got = juliet.recv().await.unwrap();
    assert_eq!((got.name.as_str(), got.attr("id")), ("message", Some("m1")), "{got}");

    romeo.send_message("juliet@localhost", "chat", "m2", "A MONTAGUE, here?").await.unwrap();
    let bounce = romeo.recv().await.unwrap();
    assert_eq!((bounce.attr("id"), bounce.attr("type")), (Some("m2"), Some("error")), "{bounce}");
    let error = bounce.child("error", "jabber:client").unwrap_or_else(|| panic!("no <error/> in {bounce}"));
    assert!(error.child("policy-violation", STANZAS).is_some(), "{bounce}");
    assert_eq!(error.child("text", STANZAS).map(|t| t.text.as_str()), Some("\"montague\" is not welcome here"));
    // Whatever reached Juliet would have arrived before this round trip.
    juliet.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    juliet.expect_silence(Duration::ZERO).await.unwrap();
}
