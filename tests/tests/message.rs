//! RFC 6121 §8.5 message delivery through the WASM `message` plugin, over
//! real sockets: full JID, bare JID, priorities, unknown and offline users,
//! and the chain switched off with `--sm-plugins=-amp`.

use std::time::Duration;
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const CLIENT: &str = "jabber:client";
const QUIET: Duration = Duration::from_millis(300);

async fn server_with(users: &[&str], args: &[&str]) -> TestServer {
    let srv = TestServer::start(args).await;
    for u in users {
        srv.add_user(u, "pw").await;
    }
    srv
}

async fn login(srv: &TestServer, user: &str, resource: &str, priority: Option<i8>) -> Client {
    let mut c = Client::login(srv.addr, DOMAIN, user, "pw", Some(resource)).await.unwrap();
    c.ignore_presence();
    if priority.is_some() {
        c.send_presence(priority).await.unwrap();
    }
    // A ping round trip orders the presence before anything the test sends next.
    c.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    c
}

fn body(el: &El) -> &str {
    &el.child("body", CLIENT).expect("a body").text
}

fn error_condition(el: &El) -> String {
    assert_eq!(el.attr("type"), Some("error"), "{el}");
    let err = el.child("error", CLIENT).unwrap_or_else(|| panic!("no <error/> in {el}"));
    err.children
        .iter()
        .find(|c| c.ns == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name != "text")
        .map(|c| c.name.clone())
        .expect("a defined condition")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_to_a_full_jid_arrives_with_the_sender_stamped() {
    let srv = server_with(&["romeo", "juliet"], &[]).await;
    let mut juliet = login(&srv, "juliet", "balcony", Some(0)).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("juliet@localhost/balcony", "chat", "m1", "Wherefore art thou?").await.unwrap();
    let got = juliet.recv().await.unwrap();
    assert_eq!(got.name, "message");
    assert_eq!(got.attr("from"), Some("romeo@localhost/orchard"));
    assert_eq!(got.attr("to"), Some("juliet@localhost/balcony"));
    assert_eq!(got.attr("id"), Some("m1"));
    assert_eq!(body(&got), "Wherefore art thou?");
    romeo.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_from_is_overwritten() {
    let srv = server_with(&["romeo", "juliet"], &[]).await;
    let mut juliet = login(&srv, "juliet", "balcony", Some(0)).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo
        .send_raw(
            "<message from='tybalt@localhost/x' to='juliet@localhost' type='chat' id='s'><body>hi</body></message>",
        )
        .await
        .unwrap();
    assert_eq!(juliet.recv().await.unwrap().attr("from"), Some("romeo@localhost/orchard"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_jid_goes_to_the_highest_priority_resource_only() {
    let srv = server_with(&["romeo", "juliet"], &[]).await;
    let mut high = login(&srv, "juliet", "balcony", Some(10)).await;
    let mut low = login(&srv, "juliet", "chamber", Some(1)).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("juliet@localhost", "chat", "m2", "to the bare JID").await.unwrap();
    let got = high.recv().await.unwrap();
    assert_eq!(body(&got), "to the bare JID");
    assert_eq!(got.attr("to"), Some("juliet@localhost"), "the bare 'to' is kept");
    low.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_jid_goes_to_every_resource_sharing_the_highest_priority() {
    let srv = server_with(&["romeo", "juliet"], &[]).await;
    let mut a = login(&srv, "juliet", "a", Some(5)).await;
    let mut b = login(&srv, "juliet", "b", Some(5)).await;
    let mut c = login(&srv, "juliet", "c", Some(-1)).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("juliet@localhost", "normal", "m3", "both").await.unwrap();
    assert_eq!(body(&a.recv().await.unwrap()), "both");
    assert_eq!(body(&b.recv().await.unwrap()), "both");
    c.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headline_goes_to_all_non_negative_resources() {
    let srv = server_with(&["romeo", "juliet"], &[]).await;
    let mut a = login(&srv, "juliet", "a", Some(5)).await;
    let mut b = login(&srv, "juliet", "b", Some(0)).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("juliet@localhost", "headline", "h1", "news").await.unwrap();
    assert_eq!(body(&a.recv().await.unwrap()), "news");
    assert_eq!(body(&b.recv().await.unwrap()), "news");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_gets_service_unavailable() {
    let srv = server_with(&["romeo"], &[]).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("nobody@localhost", "chat", "u1", "hello?").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!(err.attr("id"), Some("u1"));
    assert_eq!(err.attr("from"), Some("nobody@localhost"));
    assert_eq!(error_condition(&err), "service-unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_user_gets_service_unavailable_without_offline_storage() {
    let srv = server_with(&["romeo", "juliet"], &["--sm-plugins=-amp,+message"]).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("juliet@localhost", "chat", "o1", "are you there?").await.unwrap();
    assert_eq!(error_condition(&romeo.recv().await.unwrap()), "service-unavailable");
    // A full JID whose resource is not bound falls back to the bare-JID rules.
    romeo.send_message("juliet@localhost/gone", "chat", "o2", "and there?").await.unwrap();
    assert_eq!(error_condition(&romeo.recv().await.unwrap()), "service-unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groupchat_to_a_user_bounces_and_errors_are_never_bounced() {
    let srv = server_with(&["romeo", "juliet"], &[]).await;
    let mut juliet = login(&srv, "juliet", "balcony", Some(0)).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("juliet@localhost", "groupchat", "g1", "room?").await.unwrap();
    assert_eq!(error_condition(&romeo.recv().await.unwrap()), "service-unavailable");
    romeo.send_message("nobody@localhost", "error", "e1", "x").await.unwrap();
    romeo.expect_silence(QUIET).await.unwrap();
    juliet.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_domains_are_not_reachable() {
    let srv = server_with(&["romeo"], &[]).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("someone@elsewhere.example", "chat", "r1", "hi").await.unwrap();
    assert_eq!(error_condition(&romeo.recv().await.unwrap()), "remote-server-not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_message_plugin_nothing_is_delivered() {
    let srv = server_with(&["romeo", "juliet"], &["--sm-plugins=-amp"]).await;
    let mut juliet = login(&srv, "juliet", "balcony", Some(0)).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;
    romeo.send_message("juliet@localhost/balcony", "chat", "x1", "lost?").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!(err.attr("id"), Some("x1"));
    assert_eq!(error_condition(&err), "service-unavailable");
    juliet.expect_silence(QUIET).await.unwrap();
}

/// A session can close between the chain's decision and the delivery (the
/// `fanout-ghost` fixture makes that race certain by delivering to a
/// resource nobody bound). A message that still reached another session
/// was delivered, so its sender hears nothing; one that reached no session
/// comes back as `service-unavailable`, never silently lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_to_a_closed_session_bounces_only_when_nothing_was_delivered() {
    let chain = "--sm-plugins=-amp,+fanout-ghost,+message";
    let srv = TestServer::start_with_plugins(&[chain], &[("fanout-ghost.wasm", "fanout-ghost")]).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    let mut juliet = login(&srv, "juliet", "balcony", Some(0)).await;
    let mut romeo = login(&srv, "romeo", "orchard", None).await;

    romeo.send_message("juliet@localhost/balcony", "chat", "g1", "ghost-and-real").await.unwrap();
    let got = juliet.recv().await.unwrap();
    assert_eq!((got.attr("id"), body(&got)), (Some("g1"), "ghost-and-real"));
    romeo.expect_silence(QUIET).await.unwrap();

    romeo.send_message("juliet@localhost/balcony", "chat", "g2", "ghost-only").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!(err.attr("id"), Some("g2"), "{err}");
    assert_eq!(error_condition(&err), "service-unavailable");
    juliet.expect_silence(QUIET).await.unwrap();
}
