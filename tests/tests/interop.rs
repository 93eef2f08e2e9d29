//! Interop with a client library written elsewhere: slixmpp (PyPI) logs in
//! two users over STARTTLS + SCRAM, binds, and exchanges a chat message
//! through the WASM `message` plugin. `.ci/run` installs slixmpp and sets
//! `WASMPP_REQUIRE_INTEROP=1`, so there a missing library fails the test;
//! elsewhere the test says it was skipped.

use std::process::Stdio;
use std::time::Duration;
use wasmpp_tests::server::TestServer;

fn python() -> String {
    std::env::var("WASMPP_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn slixmpp_available() -> bool {
    std::process::Command::new(python())
        .args(["-c", "import slixmpp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slixmpp_logs_in_and_chats_through_the_message_plugin() {
    if !slixmpp_available() {
        assert!(std::env::var_os("WASMPP_REQUIRE_INTEROP").is_none(), "slixmpp is required but not importable");
        eprintln!("skipped: slixmpp is not installed (pip install slixmpp)");
        return;
    }
    let srv = TestServer::start(&[]).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/slixmpp_chat.py");
    let run = tokio::process::Command::new(python())
        .arg(script)
        .arg(srv.addr.ip().to_string())
        .arg(srv.addr.port().to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run).await.expect("slixmpp finished").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.contains("interop: ok"), "stdout:\n{stdout}\nstderr:\n{stderr}");
    eprintln!("{}", stdout.trim());
}
