//! RFC 6121 §4 presence between real clients: broadcast to subscribers and
//! own resources (never to strangers), probes on initial presence answered
//! with the last presence, client probes, directed presence, unavailable
//! presence on explicit unavailability, clean close and connection loss, and
//! availability and priority as message routing sees them.

use std::time::Duration;
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const QUIET: Duration = Duration::from_millis(300);
const ROMEO: &str = "romeo@localhost";
const JULIET: &str = "juliet@localhost";
const ORCHARD: &str = "romeo@localhost/orchard";
const BALCONY: &str = "juliet@localhost/balcony";

async fn server() -> TestServer {
    let srv = TestServer::start(&[]).await;
    for u in ["romeo", "juliet", "nurse"] {
        srv.add_user(u, "pw").await;
    }
    srv
}

async fn login(srv: &TestServer, user: &str, resource: &str) -> Client {
    let mut c = Client::login(srv.addr, DOMAIN, user, "pw", Some(resource)).await.unwrap();
    c.roster_get(None).await.unwrap();
    c
}

/// Reads everything until the stream is quiet.
async fn drain(c: &mut Client) {
    while c.recv_timeout(QUIET).await.unwrap().is_some() {}
}

/// Romeo (orchard) and Juliet (balcony), subscribed to each other, plus the
/// nurse (kitchen), subscribed to nobody; all available, all quiet.
async fn verona(srv: &TestServer) -> (Client, Client, Client) {
    let mut romeo = login(srv, "romeo", "orchard").await;
    let mut juliet = login(srv, "juliet", "balcony").await;
    let nurse = login(srv, "nurse", "kitchen").await;
    for (asker, contact) in [(ROMEO, JULIET), (JULIET, ROMEO)] {
        let (a, b) = if asker == ROMEO { (&mut romeo, &mut juliet) } else { (&mut juliet, &mut romeo) };
        a.send_presence_to(contact, Some("subscribe")).await.unwrap();
        a.sync().await.unwrap();
        b.send_presence_to(asker, Some("subscribed")).await.unwrap();
        b.sync().await.unwrap();
    }
    drain(&mut romeo).await;
    drain(&mut juliet).await;
    (romeo, juliet, nurse)
}

fn status(el: &El) -> Option<&str> {
    el.child("status", "jabber:client").map(|s| s.text.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_subscribers_and_own_resources_only() {
    let srv = server().await;
    let (mut romeo, mut balcony, mut nurse) = verona(&srv).await;
    let mut chamber = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("chamber")).await.unwrap();
    romeo.recv_presence("juliet@localhost/chamber", None).await.unwrap();
    balcony.recv_presence("juliet@localhost/chamber", None).await.unwrap();
    // The new resource learnt Romeo's presence from the server's probe.
    chamber.recv_presence(ORCHARD, None).await.unwrap();

    chamber.send_raw("<presence id='p2'><show>away</show><status>asleep</status></presence>").await.unwrap();
    chamber.sync().await.unwrap();
    for c in [&mut romeo, &mut balcony, &mut chamber] {
        let p = c.recv_presence("juliet@localhost/chamber", None).await.unwrap();
        assert_eq!((p.attr("id"), status(&p)), (Some("p2"), Some("asleep")), "the full stanza is broadcast: {p}");
        assert_eq!(p.find_text("show"), Some("away"));
    }
    for c in [&mut romeo, &mut balcony, &mut chamber, &mut nurse] {
        c.expect_silence(QUIET).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_presence_is_answered_with_each_contacts_last_presence() {
    let srv = server().await;
    let (mut romeo, mut juliet, _nurse) = verona(&srv).await;
    juliet
        .send_raw("<presence id='j7'><status>on the balcony</status><priority>3</priority></presence>")
        .await
        .unwrap();
    juliet.sync().await.unwrap();
    romeo.recv_presence(BALCONY, None).await.unwrap();
    drain(&mut juliet).await;

    let mut garden = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("garden")).await.unwrap();
    let p = garden.recv_presence(BALCONY, None).await.unwrap();
    assert_eq!((p.attr("id"), status(&p)), (Some("j7"), Some("on the balcony")), "{p}");
    assert_eq!(p.find_text("priority"), Some("3"));
    garden.expect_silence(QUIET).await.unwrap();
    juliet.recv_presence("romeo@localhost/garden", None).await.unwrap();
    romeo.recv_presence("romeo@localhost/garden", None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_probes_see_only_what_a_subscription_allows() {
    let srv = server().await;
    let (mut romeo, juliet, mut nurse) = verona(&srv).await;
    romeo.send_raw("<presence to='juliet@localhost' type='probe' id='pr1'/>").await.unwrap();
    romeo.sync().await.unwrap();
    romeo.recv_presence(BALCONY, None).await.unwrap();
    // The nurse is not subscribed: no answer, and no error either (§4.3).
    nurse.send_raw("<presence to='juliet@localhost' type='probe' id='pr2'/>").await.unwrap();
    nurse.sync().await.unwrap();
    nurse.expect_silence(QUIET).await.unwrap();

    juliet.close().await.unwrap();
    romeo.recv_presence(BALCONY, Some("unavailable")).await.unwrap();
    romeo.send_raw("<presence to='juliet@localhost' type='probe' id='pr3'/>").await.unwrap();
    romeo.sync().await.unwrap();
    let p = romeo.recv_presence(JULIET, Some("unavailable")).await.unwrap();
    assert_eq!(p.attr("id"), Some("pr3"), "§4.3.2.1: the probe's id is mirrored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directed_presence_targets_hear_of_a_lost_connection() {
    let srv = server().await;
    let (mut romeo, mut juliet, mut nurse) = verona(&srv).await;
    romeo.send_raw("<presence to='nurse@localhost'><status>a word?</status></presence>").await.unwrap();
    romeo.sync().await.unwrap();
    assert_eq!(status(&nurse.recv_presence(ORCHARD, None).await.unwrap()), Some("a word?"));
    juliet.expect_silence(QUIET).await.unwrap();

    // §4.6.3 rule 2: later broadcasts do not go to the directed target...
    romeo.send_raw("<presence><show>chat</show></presence>").await.unwrap();
    romeo.sync().await.unwrap();
    juliet.recv_presence(ORCHARD, None).await.unwrap();
    nurse.expect_silence(QUIET).await.unwrap();

    // ...but the unavailable presence does, also when the connection is lost
    // without a closing stream (§4.5.2).
    drop(romeo);
    juliet.recv_presence(ORCHARD, Some("unavailable")).await.unwrap();
    nurse.recv_presence(ORCHARD, Some("unavailable")).await.unwrap();
    juliet.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directed_unavailable_ends_the_directed_presence_and_close_is_broadcast() {
    let srv = server().await;
    let (mut romeo, mut juliet, mut nurse) = verona(&srv).await;
    romeo.send_presence_to("nurse@localhost", None).await.unwrap();
    romeo.send_presence_to("nurse@localhost", Some("unavailable")).await.unwrap();
    romeo.sync().await.unwrap();
    nurse.recv_presence(ORCHARD, None).await.unwrap();
    nurse.recv_presence(ORCHARD, Some("unavailable")).await.unwrap();

    romeo.close().await.unwrap();
    juliet.recv_presence(ORCHARD, Some("unavailable")).await.unwrap();
    nurse.expect_silence(QUIET).await.unwrap();
    juliet.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_then_available_again_is_a_new_presence_session() {
    let srv = server().await;
    let (mut romeo, mut juliet, _nurse) = verona(&srv).await;
    juliet.send_raw("<presence type='unavailable'><status>farewell</status></presence>").await.unwrap();
    juliet.sync().await.unwrap();
    let p = romeo.recv_presence(BALCONY, Some("unavailable")).await.unwrap();
    assert_eq!(status(&p), Some("farewell"), "the client's own stanza is broadcast: {p}");
    assert_eq!(status(&juliet.recv_presence(BALCONY, Some("unavailable")).await.unwrap()), Some("farewell"));

    // Available again: initial presence, with probes again.
    juliet.send_presence(None).await.unwrap();
    juliet.sync().await.unwrap();
    juliet.recv_presence(BALCONY, None).await.unwrap();
    juliet.recv_presence(ORCHARD, None).await.unwrap();
    romeo.recv_presence(BALCONY, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_follows_presence_changes() {
    let srv = server().await;
    let (mut romeo, mut balcony, _nurse) = verona(&srv).await;
    let mut chamber = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("chamber")).await.unwrap();
    balcony.send_presence(Some(5)).await.unwrap();
    chamber.send_presence(Some(1)).await.unwrap();
    balcony.sync().await.unwrap();
    chamber.sync().await.unwrap();
    for c in [&mut romeo, &mut balcony, &mut chamber] {
        c.ignore_presence();
    }
    romeo.send_message(JULIET, "chat", "m1", "to the highest").await.unwrap();
    assert_eq!(balcony.recv().await.unwrap().find_text("body"), Some("to the highest"));
    chamber.expect_silence(QUIET).await.unwrap();

    balcony.send_raw("<presence type='unavailable'/>").await.unwrap();
    balcony.sync().await.unwrap();
    romeo.send_message(JULIET, "chat", "m2", "to the one left").await.unwrap();
    assert_eq!(chamber.recv().await.unwrap().find_text("body"), Some("to the one left"));
    balcony.expect_silence(QUIET).await.unwrap();
}
