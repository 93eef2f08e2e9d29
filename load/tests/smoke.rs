//! Every scenario for about a second against a real wasmpp on 127.0.0.1:0,
//! with small counts: the tool must finish by itself, lose nothing, and
//! report figures that hang together. No assertion is about speed.

use wasmpp_load::{Options, Report, Status};
use wasmpp_tests::server::{DOMAIN, TestServer};

const PASSWORD: &str = "smoke-pw";

/// A debug-build server on a busy machine can exceed the default 50 ms
/// plugin deadline and bounce a message with `internal-server-error`; the
/// tool reports that correctly, but it is not what these tests are about.
async fn server() -> TestServer {
    TestServer::start(&["--registration=true", "--tls-required=false", "--plugin-deadline-ms=5000"]).await
}

fn options(srv: &TestServer, scenario: &str, extra: &[&str]) -> Options {
    let mut args = vec![
        scenario.to_owned(),
        "--host=127.0.0.1".to_owned(),
        format!("--port={}", srv.addr.port()),
        format!("--domain={DOMAIN}"),
        format!("--password={PASSWORD}"),
        "--timeout=10s".to_owned(),
        "--quiet".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    wasmpp_load::args::parse(args).expect("valid options").expect("not --help")
}

async fn run(srv: &TestServer, scenario: &str, extra: &[&str]) -> Report {
    let report = wasmpp_load::run(&options(srv, scenario, extra))
        .await
        .unwrap_or_else(|e| panic!("{scenario} {extra:?} did not complete: {e:#}"));
    println!("{}{}", report.table(), report.json());
    report
}

fn n(r: &Report, key: &str) -> f64 {
    r.number(key).unwrap_or_else(|| panic!("{} has no {key}:\n{}", r.scenario, r.table()))
}

async fn add_users(srv: &TestServer, count: u32) {
    for i in 0..count {
        srv.add_user(&format!("user{i}"), PASSWORD).await;
    }
}

fn assert_latency_ordered(r: &Report, prefix: &str) {
    let p = |q: &str| n(r, &format!("{prefix}_{q}_ms"));
    assert!(p("p50") <= p("p99") && p("p99") <= p("p999") && p("p999") <= p("max"), "{}", r.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_creates_accounts_over_starttls_and_finds_them_the_second_time() {
    let srv = server().await;
    let first = run(&srv, "register", &["--users=6", "--concurrency=3", "--tls=on", "--duration=30s"]).await;
    assert_eq!(first.status, Status::Ok, "{}", first.table());
    assert_eq!((n(&first, "created"), n(&first, "existed")), (6.0, 0.0));
    assert!(srv.server.services.users.exists("user5@localhost").await.unwrap());
    let again = run(&srv, "register", &["--users=6", "--concurrency=2", "--duration=30s"]).await;
    assert_eq!(again.status, Status::Ok, "{}", again.table());
    assert_eq!((n(&again, "created"), n(&again, "existed")), (0.0, 6.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_works_with_every_mechanism_and_reports_a_wrong_password() {
    let srv = server().await;
    add_users(&srv, 3).await;
    for mech in ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"] {
        let tls = if mech == "PLAIN" { "--tls=on" } else { "--tls=auto" };
        let mech_arg = format!("--mechanism={mech}");
        let r =
            run(&srv, "login", &["--users=3", "--count=6", "--concurrency=2", "--duration=30s", tls, &mech_arg]).await;
        assert_eq!(r.status, Status::Ok, "{mech}: {}", r.table());
        assert_eq!((n(&r, "logins"), n(&r, "failed")), (6.0, 0.0), "{mech}");
        assert_latency_ordered(&r, "login");
    }
    let bad = run(&srv, "login", &["--users=1", "--count=1", "--password=wrong"]).await;
    assert_eq!(bad.status, Status::Failed);
    assert!(bad.notes.iter().any(|n| n.contains("not-authorized")), "{:?}", bad.notes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_holds_sessions_and_samples_the_server_memory() {
    let srv = server().await;
    add_users(&srv, 5).await;
    // The server runs inside this test process, so its pid is ours.
    let pid = format!("--server-pid={}", std::process::id());
    let r = run(&srv, "idle", &["--users=5", "--duration=1s", &pid]).await;
    assert_eq!(r.status, Status::Ok, "{}", r.table());
    assert_eq!((n(&r, "sessions"), n(&r, "alive_after_hold")), (5.0, 5.0));
    assert!(n(&r, "server_rss_up_kib") > 0.0);
    assert!(r.number("server_rss_per_connection_kib").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_closed_loop_delivers_everything_in_order() {
    let srv = server().await;
    add_users(&srv, 4).await;
    let pid = format!("--server-pid={}", std::process::id());
    let r =
        run(&srv, "chat", &["--pairs=2", "--window=10", "--duration=1s", "--warmup=200ms", "--tls=off", &pid]).await;
    assert_eq!(r.status, Status::Ok, "{}", r.table());
    assert!(n(&r, "tool_cpu_cores") >= 0.0 && n(&r, "server_cpu_cores") >= 0.0);
    assert!(n(&r, "sent") > 0.0);
    assert_eq!(n(&r, "delivered"), n(&r, "sent"));
    assert_eq!((n(&r, "lost"), n(&r, "bounced"), n(&r, "out_of_order")), (0.0, 0.0, 0.0));
    assert!(n(&r, "delivered_per_s") > 0.0);
    assert_latency_ordered(&r, "latency");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_paced_over_tls_sends_on_schedule_and_loses_nothing() {
    let srv = server().await;
    add_users(&srv, 4).await;
    let r = run(&srv, "chat", &["--pairs=2", "--rate=100", "--duration=1s", "--warmup=0s", "--tls=on"]).await;
    assert_eq!(r.status, Status::Ok, "{}", r.table());
    // Never faster than the schedule: 100/s for one second is 50 slots per
    // sender, plus the one at time zero. (A late machine may send fewer.)
    let sent = n(&r, "sent");
    assert!(sent > 0.0 && sent <= 102.0, "sent {sent}");
    assert_eq!(n(&r, "delivered"), sent);
    assert_eq!(n(&r, "lost"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_stores_then_flushes_or_reports_missing_storage() {
    let srv = server().await;
    add_users(&srv, 2).await;
    let r = run(&srv, "offline", &["--pairs=1", "--messages=50", "--window=10"]).await;
    assert_eq!(n(&r, "sent"), 50.0);
    if r.status == Status::Unsupported {
        assert_eq!(n(&r, "bounced"), 50.0);
        assert!(r.notes.iter().any(|n| n.contains("service-unavailable")), "{:?}", r.notes);
        eprintln!("SKIPPED delivery assertions: this server bounces offline messages (no XEP-0160 storage yet)");
        return;
    }
    assert_eq!(r.status, Status::Ok, "{}", r.table());
    assert_eq!((n(&r, "stored"), n(&r, "flushed"), n(&r, "delayed"), n(&r, "lost")), (50.0, 50.0, 50.0, 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_rules_ride_on_every_message_and_bounces_are_reported() {
    let srv = server().await;
    add_users(&srv, 4).await;
    let r = run(&srv, "amp", &["--pairs=2", "--window=5", "--duration=1s", "--warmup=0s", "--tls=off"]).await;
    assert_ne!(r.status, Status::Failed, "{}", r.table());
    assert_eq!(n(&r, "lost"), 0.0);
    assert_eq!(n(&r, "delivered") + n(&r, "bounced"), n(&r, "sent"));
    if r.status == Status::Unsupported {
        eprintln!("amp: the server refuses the rules: {:?}", r.notes);
    } else {
        assert!(n(&r, "delivered") > 0.0);
    }
}
