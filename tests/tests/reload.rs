//! Hot reload under traffic (issue 5): several pairs exchange messages in a
//! closed loop (a window of outstanding messages per sender) while a new
//! version of `message` or `amp` is dropped into the plugin directory and
//! the watcher swaps it in. Nothing may be lost, duplicated or
//! disconnected, and the new version must answer afterwards (its extra
//! disco feature). SIGHUP is tested on a server in its own process.

mod reload_support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use reload_support::{AMP, NEXT, drop_in, features, loaded_next, report_where};
use tokio::sync::{Notify, Semaphore};
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};

/// Sender→receiver pairs.
const PAIRS: usize = 4;
/// Messages a sender may have in flight.
const WINDOW: usize = 16;
/// Messages delivered before the new file is dropped in, and after the
/// new version serves, at least.
const BEFORE: usize = 2000;
const AFTER: usize = 2000;
/// A wait for one message; generous, since other builds share the CPU.
const PATIENCE: Duration = Duration::from_secs(30);

/// Traffic counters shared by the pairs and the test.
#[derive(Default)]
struct Loop {
    delivered: AtomicUsize,
    progress: Notify,
    stop: AtomicBool,
}

impl Loop {
    /// Waits until at least `n` messages were delivered in all.
    async fn until_delivered(&self, n: usize) {
        loop {
            let progressed = self.progress.notified();
            if self.delivered.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::timeout(PATIENCE, progressed).await.expect("messages keep flowing");
        }
    }
}

/// Sends `s{i}` → `r{i}` until told to stop, keeping at most [`WINDOW`]
/// messages unconfirmed; then an end marker carrying the count. With
/// `amp`, every other message carries a XEP-0079 rule that does not fire
/// (the recipient is online), so both of `amp`'s paths run.
async fn send(mut sender: Client, i: usize, window: Arc<Semaphore>, traffic: Arc<Loop>, amp: bool) -> Client {
    let to = format!("r{i}@{DOMAIN}");
    let mut sent = 0usize;
    while !traffic.stop.load(Ordering::SeqCst) {
        window.acquire().await.unwrap().forget();
        let rule = if amp && sent.is_multiple_of(2) {
            format!("<amp xmlns='{AMP}'><rule condition='deliver' value='stored' action='drop'/></amp>")
        } else {
            String::new()
        };
        let xml = format!("<message to='{to}' type='chat' id='p{i}-{sent}'><body>{sent}</body>{rule}</message>");
        sender.send_raw(&xml).await.unwrap();
        sent += 1;
    }
    sender.send_message(&to, "chat", &format!("p{i}-end"), &sent.to_string()).await.unwrap();
    sender
}

/// Receives at `r{i}` until the end marker; every id once, none missing.
async fn receive(mut receiver: Client, i: usize, window: Arc<Semaphore>, traffic: Arc<Loop>) -> (Client, usize) {
    receiver.set_timeout(PATIENCE);
    let mut seen = HashSet::new();
    loop {
        let el = receiver.recv().await.unwrap_or_else(|e| panic!("pair {i}: {e} after {} messages", seen.len()));
        assert_eq!(el.name, "message", "pair {i}: {el}");
        assert_ne!(el.attr("type"), Some("error"), "pair {i}: {el}");
        let id = el.attr("id").unwrap_or_default();
        if id == format!("p{i}-end") {
            let sent: usize = el.child("body", "jabber:client").unwrap().text.parse().unwrap();
            assert_eq!(seen.len(), sent, "pair {i}: lost {} of {sent} messages", sent - seen.len());
            return (receiver, sent);
        }
        let n: usize = id.strip_prefix(&format!("p{i}-")).and_then(|n| n.parse().ok()).expect(id);
        assert!(seen.insert(n), "pair {i}: message {n} delivered twice");
        traffic.delivered.fetch_add(1, Ordering::SeqCst);
        traffic.progress.notify_waiters();
        window.add_permits(1);
    }
}

/// Runs the closed loop on `srv`, dropping `built` into its plugin
/// directory as `<id>.wasm` once [`BEFORE`] messages are through, and
/// stopping [`AFTER`] messages after the new version serves.
async fn swap_under_traffic(srv: &TestServer, built: &str, id: &str) {
    let mut watcher = srv.server.services.reloader.subscribe();
    let mut admin = Client::login(srv.addr, DOMAIN, "admin", "pw", Some("desk")).await.unwrap();
    admin.ignore_presence();
    assert!(!features(&mut admin).await.iter().any(|f| f == NEXT));

    let traffic = Arc::new(Loop::default());
    let mut pairs = Vec::new();
    for i in 0..PAIRS {
        let mut receiver = Client::login(srv.addr, DOMAIN, &format!("r{i}"), "pw", Some("in")).await.unwrap();
        receiver.ignore_presence();
        let mut sender = Client::login(srv.addr, DOMAIN, &format!("s{i}"), "pw", Some("out")).await.unwrap();
        sender.ignore_presence();
        let window = Arc::new(Semaphore::new(WINDOW));
        let rx = tokio::spawn(receive(receiver, i, window.clone(), traffic.clone()));
        let tx = tokio::spawn(send(sender, i, window, traffic.clone(), id == "amp"));
        pairs.push((tx, rx));
    }

    traffic.until_delivered(BEFORE).await;
    drop_in(&srv.data_dir().join("plugins"), built, &format!("{id}.wasm"));
    let report = report_where(&mut watcher, |r| loaded_next(r, id)).await;
    assert!(report.published && report.rejections().next().is_none(), "{report}");
    let at_swap = traffic.delivered.load(Ordering::SeqCst);
    traffic.until_delivered(at_swap + AFTER).await;
    traffic.stop.store(true, Ordering::SeqCst);

    let mut total = 0;
    for (tx, rx) in pairs {
        let mut sender = tx.await.unwrap();
        let (mut receiver, sent) = rx.await.unwrap();
        total += sent;
        // Still connected, and nothing came back to the sender (no bounce).
        for c in [&mut sender, &mut receiver] {
            c.sync().await.unwrap();
            assert!(c.recv_timeout(Duration::ZERO).await.unwrap().is_none());
        }
        sender.close().await.unwrap();
        receiver.close().await.unwrap();
    }
    assert!(total >= BEFORE + AFTER, "{total}");
    assert!(at_swap < total, "the swap happened during the traffic");
    let after = features(&mut admin).await;
    assert!(after.iter().any(|f| f == NEXT), "the new {id} serves: {after:?}");
    eprintln!("{id}: {total} messages, {at_swap} delivered when version 2 was published; {report}");
}

async fn server_with_pairs(args: &[&str]) -> TestServer {
    let srv = TestServer::start(args).await;
    srv.add_user("admin", "pw").await;
    for i in 0..PAIRS {
        srv.add_user(&format!("s{i}"), "pw").await;
        srv.add_user(&format!("r{i}"), "pw").await;
    }
    srv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_is_swapped_under_traffic_without_loss() {
    let srv = server_with_pairs(&["--sm-plugins=-amp,+message,+msgoffline"]).await;
    swap_under_traffic(&srv, "message-next.wasm", "message").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_is_swapped_under_traffic_without_loss() {
    let srv = server_with_pairs(&[]).await;
    swap_under_traffic(&srv, "amp-next.wasm", "amp").await;
    // Still the XEP-0079 service, rules and all.
    let mut c = Client::login(srv.addr, DOMAIN, "admin", "pw", Some("check")).await.unwrap();
    c.ignore_presence();
    assert!(features(&mut c).await.iter().any(|f| f == AMP));
}

/// The server in its own process (the `test-server` binary), so that a
/// SIGHUP reaches only it; killed when dropped.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_plugin_directory() {
    let dir = tempfile::tempdir().unwrap();
    let db = wasmpp::store::Db::connect(&format!("sqlite://{}", dir.path().join("wasmpp.db").display())).await.unwrap();
    db.migrate().await.unwrap();
    db.users().create(&format!("romeo@{DOMAIN}"), "pw", 4096).await.unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_test-server"))
        .args([
            format!("--virt-hosts={DOMAIN}"),
            "--c2s-ports=0".into(),
            "--c2s-address=127.0.0.1".into(),
            format!("--data-dir={}", dir.path().display()),
            "--sm-plugins=-amp,+message,+msgoffline".into(),
            "--plugin-watch=false".into(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("test-server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let server = Process(child);
    let line = lines.next().unwrap().unwrap();
    let addr = line.strip_prefix("listening ").unwrap_or_else(|| panic!("unexpected {line:?}")).parse().unwrap();

    let mut romeo = Client::login(addr, DOMAIN, "romeo", "pw", None).await.unwrap();
    romeo.ignore_presence();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    drop_in(&plugins, "message-next.wasm", "message.wasm");
    // Not watched: the file waits for the signal.
    assert!(!features(&mut romeo).await.iter().any(|f| f == NEXT));

    let status = Command::new("kill").args(["-HUP", &server.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let line = tokio::task::spawn_blocking(move || lines.next().unwrap().unwrap()).await.unwrap();
    assert!(line.starts_with("reloaded message 2."), "{line}");
    assert!(features(&mut romeo).await.iter().any(|f| f == NEXT));
    romeo.close().await.unwrap();
}
