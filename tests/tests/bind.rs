//! RFC 6120 §7 resource binding over a real socket: requested and generated
//! resources, and both conflict policies.

use wasmpp_tests::client::{Client, Mech};
use wasmpp_tests::server::{DOMAIN, TestServer};

async fn authenticated(srv: &TestServer, user: &str) -> Client {
    let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
    c.starttls().await.unwrap();
    c.authenticate(Mech::ScramSha256, user, "pw").await.unwrap();
    assert!(c.features().bind);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_and_generated_resources() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("juliet", "pw").await;
    let mut a = authenticated(&srv, "juliet").await;
    assert_eq!(a.bind(Some("balcony")).await.unwrap(), "juliet@localhost/balcony");
    let mut b = authenticated(&srv, "juliet").await;
    let generated = b.bind(None).await.unwrap();
    let resource = generated.strip_prefix("juliet@localhost/").expect("bare part");
    assert!(resource.len() >= 16, "an unguessable resource: {resource}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_policy_replaces_the_old_session_with_a_conflict_error() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("juliet", "pw").await;
    srv.add_user("romeo", "pw").await;
    let mut old = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    let mut new = authenticated(&srv, "juliet").await;
    assert_eq!(new.bind(Some("balcony")).await.unwrap(), "juliet@localhost/balcony");
    assert_eq!(old.expect_stream_error().await.unwrap(), "conflict");
    // The new session receives what is sent to that full JID.
    new.ignore_presence();
    new.send_presence(None).await.unwrap();
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", None).await.unwrap();
    romeo.send_message("juliet@localhost/balcony", "chat", "m1", "still there?").await.unwrap();
    let got = new.recv().await.unwrap();
    assert_eq!(got.child("body", "jabber:client").unwrap().text, "still there?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_policy_refuses_the_second_binding() {
    let srv = TestServer::start(&["--resource-conflict=reject"]).await;
    srv.add_user("juliet", "pw").await;
    let mut first = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    let mut second = authenticated(&srv, "juliet").await;
    let err = second.bind(Some("balcony")).await.unwrap_err();
    assert!(format!("{err:#}").contains("conflict"), "{err:#}");
    // The refused client may bind another resource; the first is untouched.
    assert_eq!(second.bind(Some("garden")).await.unwrap(), "juliet@localhost/garden");
    let pong = first.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"));
}
