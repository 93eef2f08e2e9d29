//! Fault containment with purpose-built guest plugins placed before
//! `message` in the chain: a plugin that traps, one that loops forever and
//! one that allocates without bound. In each case the sender gets an error
//! stanza, the server stays up, and other messages keep flowing.

use std::time::Duration;
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};

async fn check_contained(file: &str, id: &str, trigger: &str) {
    let chain = format!("--sm-plugins=-amp,+{id},+message");
    let srv = TestServer::start_with_plugins(&[&chain, "--plugin-deadline-ms=200"], &[(file, id)]).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();

    romeo.send_message("juliet@localhost", "chat", "ok1", "before").await.unwrap();
    assert_eq!(juliet.recv().await.unwrap().child("body", "jabber:client").unwrap().text, "before");

    for round in 0..3 {
        let id = format!("bad{round}");
        romeo.send_message("juliet@localhost", "chat", &id, trigger).await.unwrap();
        let err = romeo.recv_timeout(Duration::from_secs(10)).await.unwrap().expect("an error stanza");
        assert_eq!(err.attr("id"), Some(id.as_str()), "{err}");
        assert_eq!(err.attr("type"), Some("error"), "{err}");
        assert!(err.to_string().contains("internal-server-error"), "{err}");

        // Both the same session and another one keep working afterwards.
        romeo.send_message("juliet@localhost", "chat", "ok", "after").await.unwrap();
        assert_eq!(juliet.recv().await.unwrap().child("body", "jabber:client").unwrap().text, "after");
        let mut other = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some(&format!("r{round}"))).await.unwrap();
        let pong = other.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
        assert_eq!(pong.attr("type"), Some("result"));
    }
    juliet.expect_silence(Duration::from_millis(200)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_plugin_is_contained() {
    check_contained("fault-trap.wasm", "fault-trap", "trap").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_plugin_is_stopped_by_its_deadline() {
    check_contained("fault-spin.wasm", "fault-spin", "spin").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_allocating_without_bound_hits_its_memory_cap() {
    check_contained("fault-hog.wasm", "fault-hog", "hog").await;
}
