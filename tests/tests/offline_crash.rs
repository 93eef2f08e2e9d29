//! XEP-0160 storage is at-least-once across crashes: the server is killed
//! with SIGKILL while it flushes offline messages to a client, restarted on
//! the same data directory, and every message reaches the client at least
//! once over the two sessions.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use wasmpp_tests::client::{Client, Mech};
use wasmpp_tests::server::DOMAIN;

const TOTAL: usize = 2000;

/// The server process, killed (SIGKILL) when dropped so that a failing
/// test leaves no server behind.
struct Server(Child);

impl Server {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `test-server` on `dir` and waits for its address.
fn spawn(dir: &Path) -> (Server, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_test-server"))
        .args([
            format!("--virt-hosts={DOMAIN}"),
            "--c2s-ports=0".into(),
            "--c2s-address=127.0.0.1".into(),
            format!("--data-dir={}", dir.display()),
            "--sess-man/plugins-conf/msgoffline/store-limit=0".into(),
            "--sess-man/plugins-conf/msgoffline/recipient-store-limit=0".into(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("test-server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening ").unwrap_or_else(|| panic!("unexpected {line:?}"));
    (Server(child), addr.parse().unwrap())
}

async fn add_users(dir: &Path) {
    let db = wasmpp::store::Db::connect(&format!("sqlite://{}", dir.join("wasmpp.db").display())).await.unwrap();
    db.migrate().await.unwrap();
    for user in ["romeo", "juliet"] {
        db.users().create(&format!("{user}@{DOMAIN}"), "pw", 4096).await.unwrap();
    }
}

fn body_of(el: &wasmpp_tests::xml::El) -> Option<String> {
    (el.name == "message").then(|| el.child("body", "jabber:client").map(|b| b.text.clone())).flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_flush_delivers_every_message_at_least_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    add_users(dir.path()).await;
    let (mut server, addr) = spawn(dir.path());

    // Romeo leaves TOTAL messages of 1 KiB for Juliet.
    let mut romeo = Client::login(addr, DOMAIN, "romeo", "pw", None).await.unwrap();
    let filler = "x".repeat(1024);
    for i in 0..TOTAL {
        romeo.send_message("juliet@localhost", "chat", &format!("m{i}"), &format!("{i} {filler}")).await.unwrap();
    }
    let pong = romeo.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"));

    // Juliet's initial presence starts the flush; the server dies at her
    // first message. What the kernel had accepted still reaches her.
    let mut juliet = Client::connect(addr, DOMAIN).await.unwrap();
    juliet.starttls().await.unwrap();
    juliet.authenticate(Mech::ScramSha256, "juliet", "pw").await.unwrap();
    juliet.bind(Some("balcony")).await.unwrap();
    juliet.send_raw("<presence/>").await.unwrap();
    let mut seen: Vec<String> = Vec::new();
    let first = juliet.recv().await.unwrap();
    seen.extend(body_of(&first));
    server.kill(); // SIGKILL
    while let Ok(el) = juliet.recv().await {
        seen.extend(body_of(&el));
    }
    let before = seen.len();
    assert!(before < TOTAL, "the flush finished before the kill; the test proves nothing");

    let (mut server, addr) = spawn(dir.path());
    let mut again = Client::login(addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    // Until every message has been seen, or the server stays silent for
    // long enough that a busy machine's pause cannot explain it.
    let number = |b: &String| b.split(' ').next().unwrap().parse::<usize>().unwrap();
    let mut distinct: HashSet<usize> = seen.iter().map(number).collect();
    while distinct.len() < TOTAL {
        let Some(el) = again.recv_timeout(std::time::Duration::from_secs(5)).await.unwrap() else { break };
        if let Some(b) = body_of(&el) {
            distinct.insert(number(&b));
            seen.push(b);
        }
    }
    server.kill();

    let missing: Vec<usize> = (0..TOTAL).filter(|i| !distinct.contains(i)).collect();
    assert!(missing.is_empty(), "lost {} messages, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    eprintln!(
        "delivered before the kill: {before}; after restart: {}; duplicates: {}",
        seen.len() - before,
        seen.len() - TOTAL
    );
}
