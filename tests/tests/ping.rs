//! XEP-0199 and XEP-0092 over a real socket: the client pings the server,
//! the server pings a silent client and closes the connection of one that
//! stays silent, and the server reports its software version.

use std::time::Duration;
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const PING: &str = "urn:xmpp:ping";

async fn next_ping(c: &mut Client) -> El {
    loop {
        let el = c.recv_timeout(Duration::from_secs(5)).await.unwrap().expect("a server ping");
        if el.name == "iq" && el.child("ping", PING).is_some() {
            return el;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_server_pings_stays_connected() {
    let srv = TestServer::start(&["--c2s-ping-interval=1", "--c2s-ping-timeout=1"]).await;
    srv.add_user("romeo", "pw").await;
    let mut c = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();
    for _ in 0..2 {
        let ping = next_ping(&mut c).await;
        assert_eq!(ping.attr("type"), Some("get"));
        assert_eq!(ping.attr("from"), Some(DOMAIN));
        assert_eq!(ping.attr("to"), Some("romeo@localhost/orchard"));
        let id = ping.attr("id").unwrap();
        c.send_raw(&format!("<iq type='result' id='{id}' to='{DOMAIN}'/>")).await.unwrap();
    }
    let pong = c.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_as_dead() {
    let srv = TestServer::start(&["--c2s-ping-interval=1", "--c2s-ping-timeout=1"]).await;
    srv.add_user("romeo", "pw").await;
    let mut c = Client::login(srv.addr, DOMAIN, "romeo", "pw", None).await.unwrap();
    next_ping(&mut c).await;
    assert_eq!(c.expect_stream_error().await.unwrap(), "connection-timeout");
    assert!(!srv.server.services.registry.is_online(&"romeo@localhost".parse().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reports_its_version_and_features() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("romeo", "pw").await;
    let mut c = Client::login(srv.addr, DOMAIN, "romeo", "pw", None).await.unwrap();
    let v = c.iq("get", Some(DOMAIN), "<query xmlns='jabber:iq:version'/>").await.unwrap();
    let q = v.child("query", "jabber:iq:version").unwrap_or_else(|| panic!("{v}"));
    assert_eq!(q.child("name", "jabber:iq:version").unwrap().text, "wasmpp");
    let info = c.iq("get", Some(DOMAIN), "<query xmlns='http://jabber.org/protocol/disco#info'/>").await.unwrap();
    let text = info.to_string();
    for feature in [PING, "jabber:iq:version", "msgoffline", "http://jabber.org/protocol/disco#info"] {
        assert!(text.contains(feature), "{feature} missing from {text}");
    }
    // Unhandled IQs get service-unavailable.
    let r = c.iq("get", Some(DOMAIN), "<query xmlns='urn:example:unknown'/>").await.unwrap();
    assert!(r.to_string().contains("service-unavailable"), "{r}");
}
