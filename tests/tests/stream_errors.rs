//! RFC 6120 §4.9 and §11: each kind of bad input, sent over a real socket,
//! gets its stream error and a closed stream — and the server keeps serving.

use std::time::Duration;
use wasmpp_tests::client::{Client, connect_raw};
use wasmpp_tests::server::{DOMAIN, TestServer};

const HEADER: &str = "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' \
                      xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

/// Sends `input` on a fresh connection and returns what the server answered
/// until it closed the connection.
async fn answer_to(srv: &TestServer, input: &str) -> String {
    let mut raw = connect_raw(srv.addr).await.unwrap();
    raw.send(input.as_bytes()).await.unwrap();
    raw.read_until_closed(Duration::from_secs(5)).await.unwrap()
}

fn assert_stream_error(answer: &str, condition: &str) {
    let expected = format!("<{condition} xmlns=");
    assert!(answer.contains("<stream:error>"), "no stream error in {answer:?}");
    assert!(answer.contains(&expected), "expected {condition} in {answer:?}");
    assert!(answer.ends_with("</stream:stream>"), "stream not closed: {answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_bad_input_gets_its_stream_error() {
    let srv = TestServer::start(&["--max-stanza-size=4096", "--max-xml-depth=8"]).await;
    let deep = format!("{HEADER}{}", "<a>".repeat(20));
    let big = format!("{HEADER}<message><body>{}</body></message>", "x".repeat(10_000));
    let cases: Vec<(&str, String)> = vec![
        ("not-well-formed", format!("{HEADER}<message><body></message>")),
        ("not-well-formed", format!("{HEADER}<message a='1' a='2'/>")),
        ("not-well-formed", "<<<>>> definitely not xml".to_string()),
        ("policy-violation", big),
        ("policy-violation", deep),
        ("restricted-xml", format!("{HEADER}<!-- a comment -->")),
        ("restricted-xml", "<?xml version='1.0'?><!DOCTYPE foo [<!ENTITY x 'y'>]><stream:stream/>".to_string()),
        ("restricted-xml", format!("{HEADER}<message><body>&x;</body></message>")),
        (
            "invalid-namespace",
            "<stream:stream to='localhost' version='1.0' xmlns='jabber:server' \
             xmlns:stream='http://etherx.jabber.org/streams'>"
                .to_string(),
        ),
        (
            "invalid-namespace",
            "<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='urn:wrong'>".to_string(),
        ),
        (
            "host-unknown",
            "<stream:stream to='elsewhere.example' version='1.0' xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams'>"
                .to_string(),
        ),
        (
            "unsupported-version",
            "<stream:stream to='localhost' version='0.9' xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams'>"
                .to_string(),
        ),
        ("unsupported-encoding", "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream/>".to_string()),
        ("bad-namespace-prefix", format!("{HEADER}<foo:bar/>")),
    ];
    for (condition, input) in &cases {
        let answer = answer_to(&srv, input).await;
        assert_stream_error(&answer, condition);
    }
    // The server is still up for well-behaved clients.
    let c = Client::connect(srv.addr, DOMAIN).await.unwrap();
    assert!(c.features().starttls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_sessions_get_stream_errors_too_and_others_are_unaffected() {
    let srv = TestServer::start(&["--max-stanza-size=4096"]).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();

    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("a")).await.unwrap();
    romeo.send_raw("<foo xmlns='jabber:client'/>").await.unwrap();
    assert_eq!(romeo.expect_stream_error().await.unwrap(), "unsupported-stanza-type");

    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("b")).await.unwrap();
    romeo.send_raw(&format!("<message><body>{}</body></message>", "x".repeat(8_000))).await.unwrap();
    assert_eq!(romeo.expect_stream_error().await.unwrap(), "policy-violation");

    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("c")).await.unwrap();
    romeo.send_raw("<message><body>unclosed</message>").await.unwrap();
    assert_eq!(romeo.expect_stream_error().await.unwrap(), "not-well-formed");

    let pong = juliet.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsable_address_is_a_jid_malformed_stanza_error() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("romeo", "pw").await;
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", None).await.unwrap();
    romeo.send_raw("<message to='a@b@c' id='bad' type='chat'><body>x</body></message>").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!(err.attr("id"), Some("bad"));
    assert!(err.to_string().contains("jid-malformed"), "{err}");
}
