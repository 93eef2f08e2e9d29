//! The Prometheus endpoint (`--metrics-address`) against a real server:
//! counters scraped over a real socket move by exactly what two clients
//! did (connections, authentications, stanzas, `amp` calls, offline
//! storage and flush), a trapping plugin shows up under its faults, and a
//! restart with unchanged plugins loads them from the compiled-code cache.

use std::net::SocketAddr;
use std::time::Duration;
use wasmpp_tests::client::Client;
use wasmpp_tests::metrics::{Scrape, request};
use wasmpp_tests::server::{DOMAIN, TestServer};

const METRICS: &str = "--metrics-address=127.0.0.1:0";
const AMP_PROCESS: &str = r#"wasmpp_plugin_calls_total{plugin="amp",entry="process"}"#;

async fn scrape(srv: &TestServer) -> Scrape {
    Scrape::get(endpoint(srv)).await.unwrap()
}

fn endpoint(srv: &TestServer) -> SocketAddr {
    srv.server.metrics_addr.expect("the metrics endpoint is on")
}

/// Scrapes until `done` holds, for counters that move when a connection's
/// task ends, after the client saw the end of its stream. Bounded (10 s).
async fn eventually(srv: &TestServer, done: impl Fn(&Scrape) -> bool) -> Scrape {
    for _ in 0..500 {
        let s = scrape(srv).await;
        if done(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the counters never got there:\n{}", scrape(srv).await.text);
}

/// Waits until the server has handled everything `c` sent before.
async fn sync(c: &mut Client) {
    let pong = c.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"));
}

fn kind(what: &str, kind: &str) -> String {
    format!(r#"wasmpp_stanzas_{what}_total{{kind="{kind}"}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_follow_two_clients_through_login_offline_storage_and_chat() {
    let srv = TestServer::start(&[METRICS]).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    let start = scrape(&srv).await;
    assert_eq!(start.value("wasmpp_c2s_connections_accepted_total"), 0.0);
    assert_eq!(start.value(AMP_PROCESS), 0.0);

    assert!(Client::login(srv.addr, DOMAIN, "romeo", "wrong", None).await.is_err());
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();
    let m = scrape(&srv).await;
    assert_eq!(m.value("wasmpp_c2s_connections_accepted_total"), 2.0);
    assert_eq!(m.value(r#"wasmpp_c2s_authentications_total{result="success"}"#), 1.0);
    assert_eq!(m.value(r#"wasmpp_c2s_authentications_total{result="failure"}"#), 1.0);
    assert_eq!(m.value("wasmpp_sessions_bound"), 1.0);
    // Login sends the initial presence (which `amp` sees) and a ping.
    assert_eq!(m.value(&kind("received", "presence")), 1.0);
    assert_eq!(m.value(&kind("received", "iq")), 1.0);
    assert_eq!(m.value(&kind("sent", "iq")), 1.0);
    assert_eq!(m.value(AMP_PROCESS), 1.0);

    // Juliet is offline: two messages are stored.
    romeo.send_message("juliet@localhost", "chat", "o1", "one").await.unwrap();
    romeo.send_message("juliet@localhost", "normal", "o2", "two").await.unwrap();
    sync(&mut romeo).await;
    let m = scrape(&srv).await;
    assert_eq!(m.value(&kind("received", "message")), 2.0);
    assert_eq!(m.value(AMP_PROCESS), 3.0);
    assert_eq!(m.value(r#"wasmpp_plugin_verdicts_total{plugin="amp",verdict="handled"}"#), 2.0);
    assert_eq!(m.value(r#"wasmpp_messages_stored_total{store="offline"}"#), 2.0);
    assert_eq!(m.value(r#"wasmpp_messages_flushed_total{store="offline"}"#), 0.0);
    assert_eq!(m.value(&kind("sent", "message")), 0.0);
    assert!(m.value(r#"wasmpp_plugin_call_duration_seconds_sum{plugin="amp",entry="process"}"#) > 0.0);
    assert_eq!(m.value(r#"wasmpp_plugin_call_duration_seconds_count{plugin="amp",entry="process"}"#), 3.0);

    // Her login flushes them (before her ping is answered).
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    for id in ["o1", "o2"] {
        assert_eq!(juliet.recv().await.unwrap().attr("id"), Some(id));
    }
    let m = scrape(&srv).await;
    assert_eq!(m.value(r#"wasmpp_messages_flushed_total{store="offline"}"#), 2.0);
    assert_eq!(m.value(&kind("sent", "message")), 2.0);
    assert_eq!(m.value("wasmpp_c2s_connections_open"), 2.0);
    assert_eq!(m.value(AMP_PROCESS), 4.0, "her initial presence");

    // A live message: one in, one out, one more `amp` call.
    romeo.send_message("juliet@localhost", "chat", "live", "hello").await.unwrap();
    assert_eq!(juliet.recv().await.unwrap().attr("id"), Some("live"));
    let m = scrape(&srv).await;
    assert_eq!(m.value(&kind("received", "message")), 3.0);
    assert_eq!(m.value(&kind("sent", "message")), 3.0);
    assert_eq!(m.value(AMP_PROCESS), 5.0);
    assert_eq!(m.value(r#"wasmpp_messages_stored_total{store="offline"}"#), 2.0);
    for fault in ["trap", "deadline", "memory", "instantiate"] {
        assert_eq!(m.value(&format!(r#"wasmpp_plugin_faults_total{{plugin="amp",kind="{fault}"}}"#)), 0.0);
    }

    romeo.close().await.unwrap();
    let m = eventually(&srv, |m| m.value("wasmpp_c2s_connections_closed_total") == 2.0).await;
    assert_eq!(m.value("wasmpp_c2s_connections_open"), 1.0, "the failed login's and romeo's ended");
    assert_eq!(m.value("wasmpp_sessions_bound"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_plugin_shows_up_under_traps() {
    let chain = "--sm-plugins=-amp,+fault-trap,+message";
    let srv = TestServer::start_with_plugins(&[chain, METRICS], &[("fault-trap.wasm", "fault-trap")]).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();

    romeo.send_message("juliet@localhost", "chat", "bad", "trap").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!((err.attr("id"), err.attr("type")), (Some("bad"), Some("error")), "{err}");
    romeo.send_message("juliet@localhost", "chat", "ok", "fine").await.unwrap();
    assert_eq!(juliet.recv().await.unwrap().attr("id"), Some("ok"));

    let m = scrape(&srv).await;
    let faults = |plugin: &str, kind: &str| {
        m.value(&format!(r#"wasmpp_plugin_faults_total{{plugin="{plugin}",kind="{kind}"}}"#))
    };
    assert_eq!(faults("fault-trap", "trap"), 1.0);
    assert_eq!(faults("fault-trap", "deadline"), 0.0);
    assert_eq!(faults("message", "trap"), 0.0);
    assert_eq!(m.value(r#"wasmpp_plugin_calls_total{plugin="fault-trap",entry="process"}"#), 2.0);
    assert_eq!(m.value(r#"wasmpp_plugin_verdicts_total{plugin="fault-trap",verdict="pass"}"#), 1.0);
    assert_eq!(m.value(r#"wasmpp_plugin_calls_total{plugin="message",entry="process"}"#), 1.0, "after the trap only");
    assert_eq!(m.value(r#"wasmpp_plugin_errors_total{plugin="fault-trap",reason="refused"}"#), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_unchanged_plugins_compiles_nothing() {
    let srv = TestServer::start(&[METRICS]).await;
    let m = scrape(&srv).await;
    assert_eq!((m.value("wasmpp_plugin_cache_hits_total"), m.value("wasmpp_plugin_cache_misses_total")), (0.0, 1.0));
    let cached = std::fs::read_dir(srv.data_dir().join("plugin-cache")).unwrap().count();
    assert_eq!(cached, 1, "amp's code is in <data-dir>/plugin-cache");

    let srv = srv.restart().await;
    let m = scrape(&srv).await;
    assert_eq!(m.value("wasmpp_plugin_cache_hits_total"), 1.0);
    assert_eq!(m.value("wasmpp_plugin_cache_misses_total"), 0.0, "nothing compiled");
    assert_eq!(m.value("wasmpp_plugin_cache_invalid_total"), 0.0);

    let off = TestServer::start(&[METRICS, "--plugin-cache=off"]).await;
    let m = scrape(&off).await;
    assert_eq!((m.value("wasmpp_plugin_cache_hits_total"), m.value("wasmpp_plugin_cache_misses_total")), (0.0, 1.0));
    assert!(!off.data_dir().join("plugin-cache").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_get_metrics_is_served_and_only_when_configured() {
    let srv = TestServer::start(&[METRICS]).await;
    let ok = request(endpoint(&srv), "GET", "/metrics").await.unwrap();
    assert_eq!(ok.status, 200);
    assert!(ok.headers.to_ascii_lowercase().contains("content-type: application/openmetrics-text"), "{}", ok.headers);
    assert!(ok.body.ends_with("# EOF\n"));
    for path in ["/", "/metrics/", "/favicon.ico"] {
        assert_eq!(request(endpoint(&srv), "GET", path).await.unwrap().status, 404, "{path}");
    }
    let post = request(endpoint(&srv), "POST", "/metrics").await.unwrap();
    assert_eq!(post.status, 405);
    assert!(post.headers.to_ascii_lowercase().contains("allow: get, head"), "{}", post.headers);

    let quiet = TestServer::start(&[]).await;
    assert!(quiet.server.metrics_addr.is_none(), "off by default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_amp_message_counts_as_expired_when_its_rule_fires() {
    let srv = TestServer::start(&[METRICS, "--amp-security-level=NONE"]).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();
    // 2100-01-01T00:00:00Z; the test moves the server's clock past it.
    const EXPIRY_MS: i64 = 4_102_444_800_000;
    let rule = "<rule condition='expire-at' value='2100-01-01T00:00:00Z' action='drop'/>";
    let xml = format!(
        "<message to='juliet@localhost' id='x1' type='chat'><body>later</body>\
         <amp xmlns='http://jabber.org/protocol/amp'>{rule}</amp></message>"
    );
    romeo.send_raw(&xml).await.unwrap();
    sync(&mut romeo).await;
    let m = scrape(&srv).await;
    assert_eq!(m.value(r#"wasmpp_messages_stored_total{store="amp"}"#), 1.0);
    assert_eq!(m.value(r#"wasmpp_messages_stored_total{store="offline"}"#), 0.0);
    assert_eq!(m.value("wasmpp_amp_messages_expired_total"), 0.0);

    let clock = &srv.server.services.clock;
    clock.advance(EXPIRY_MS - clock.now_ms() + 1_000);
    let m = eventually(&srv, |m| m.value("wasmpp_amp_messages_expired_total") == 1.0).await;
    assert_eq!(m.value(r#"wasmpp_plugin_calls_total{plugin="amp",entry="recheck"}"#), 1.0);
    assert_eq!(m.value(r#"wasmpp_messages_flushed_total{store="amp"}"#), 0.0);
}
