//! RFC 6121 §3 subscriptions between two (or three) real clients: requests,
//! approvals, denials, cancellations and unsubscribes from both sides and in
//! both orders, with the roster pushes (Appendix A states as subscription +
//! ask) and presence each step produces; stored requests redelivered on
//! login; pre-approval; removal of a subscribed contact.
//!
//! Every action is followed by a ping round trip from the acting client, so
//! all its effects are queued before the other clients are checked.

use std::time::Duration;
use wasmpp_tests::client::{Client, ROSTER};
use wasmpp_tests::server::{DOMAIN, TestServer};

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

/// Logs in (available, RFC 6121 §4.2) and asks for the roster (§2.2).
async fn login(srv: &TestServer, user: &str, resource: &str) -> Client {
    let mut c = Client::login(srv.addr, DOMAIN, user, "pw", Some(resource)).await.unwrap();
    let r = c.roster_get(None).await.unwrap();
    assert_eq!(r.attr("type"), Some("result"), "{r}");
    c
}

async fn pair(srv: &TestServer) -> (Client, Client) {
    (login(srv, "romeo", "orchard").await, login(srv, "juliet", "balcony").await)
}

/// Sends a subscription stanza and waits until the server has handled it.
async fn send(c: &mut Client, to: &str, kind: &str) {
    c.send_presence_to(to, Some(kind)).await.unwrap();
    c.sync().await.unwrap();
}

/// The next stanza is a push of `jid` with this subscription and ask.
async fn push(c: &mut Client, jid: &str, subscription: &str, ask: bool) {
    let item = c.recv_push().await.unwrap();
    assert_eq!(item.attr("jid"), Some(jid), "{item}");
    assert_eq!(item.attr("subscription"), Some(subscription), "{item}");
    assert_eq!(item.attr("ask"), ask.then_some("subscribe"), "{item}");
}

async fn quiet(clients: &mut [&mut Client]) {
    for c in clients.iter_mut() {
        c.expect_silence(QUIET).await.unwrap();
    }
}

/// A user's bare JID and the full JID of its one session in these tests.
type Who = (&'static str, &'static str);
const R: Who = (ROMEO, ORCHARD);
const J: Who = (JULIET, BALCONY);

/// Appendix A path: None → None+Out → To → To+In → Both for the asker `a`,
/// None → None+In → From → From+Out → Both for the contact `b`.
async fn subscribe_then_reciprocate(a: &mut Client, (a_bare, a_full): Who, b: &mut Client, (b_bare, b_full): Who) {
    send(a, b_bare, "subscribe").await;
    push(a, b_bare, "none", true).await;
    b.recv_presence(a_bare, Some("subscribe")).await.unwrap();

    send(b, a_bare, "subscribed").await;
    push(b, a_bare, "from", false).await;
    a.recv_presence(b_bare, Some("subscribed")).await.unwrap();
    push(a, b_bare, "to", false).await;
    // §3.1.5: the new subscriber gets the contact's current presence.
    a.recv_presence(b_full, None).await.unwrap();

    send(b, a_bare, "subscribe").await;
    push(b, a_bare, "from", true).await;
    // To → To+In is invisible in the roster: no push, only the request.
    a.recv_presence(b_bare, Some("subscribe")).await.unwrap();

    send(a, b_bare, "subscribed").await;
    push(a, b_bare, "both", false).await;
    b.recv_presence(a_bare, Some("subscribed")).await.unwrap();
    push(b, a_bare, "both", false).await;
    b.recv_presence(a_full, None).await.unwrap();
    quiet(&mut [a, b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_approve_then_reciprocate_reaches_both() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    subscribe_then_reciprocate(&mut romeo, R, &mut juliet, J).await;
    // The other direction first gives the same end state.
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    subscribe_then_reciprocate(&mut juliet, J, &mut romeo, R).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossed_requests_pass_through_pending_out_and_in() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    send(&mut romeo, JULIET, "subscribe").await;
    push(&mut romeo, JULIET, "none", true).await;
    juliet.recv_presence(ROMEO, Some("subscribe")).await.unwrap();

    // Juliet asks back before answering: None+In → None+Out+In (now listed).
    send(&mut juliet, ROMEO, "subscribe").await;
    push(&mut juliet, ROMEO, "none", true).await;
    // Romeo: None+Out → None+Out+In, invisible.
    romeo.recv_presence(JULIET, Some("subscribe")).await.unwrap();
    quiet(&mut [&mut romeo]).await;

    send(&mut juliet, ROMEO, "subscribed").await;
    push(&mut juliet, ROMEO, "from", true).await;
    romeo.recv_presence(JULIET, Some("subscribed")).await.unwrap();
    push(&mut romeo, JULIET, "to", false).await;
    romeo.recv_presence(BALCONY, None).await.unwrap();

    send(&mut romeo, JULIET, "subscribed").await;
    push(&mut romeo, JULIET, "both", false).await;
    juliet.recv_presence(ROMEO, Some("subscribed")).await.unwrap();
    push(&mut juliet, ROMEO, "both", false).await;
    juliet.recv_presence(ORCHARD, None).await.unwrap();
    quiet(&mut [&mut romeo, &mut juliet]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_request_leaves_no_item_with_the_contact() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    send(&mut romeo, JULIET, "subscribe").await;
    push(&mut romeo, JULIET, "none", true).await;
    juliet.recv_presence(ROMEO, Some("subscribe")).await.unwrap();

    send(&mut juliet, ROMEO, "unsubscribed").await;
    romeo.recv_presence(JULIET, Some("unsubscribed")).await.unwrap();
    push(&mut romeo, JULIET, "none", false).await;
    let roster = juliet.roster_get(None).await.unwrap();
    assert!(roster.child("query", ROSTER).unwrap().children.is_empty(), "{roster}");
    quiet(&mut [&mut romeo, &mut juliet]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_and_cancel_from_a_mutual_subscription() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    subscribe_then_reciprocate(&mut romeo, R, &mut juliet, J).await;

    // Romeo unsubscribes (§3.3): Both → From for him, Both → To for her,
    // and her presence stops with an unavailable from her resource.
    send(&mut romeo, JULIET, "unsubscribe").await;
    push(&mut romeo, JULIET, "from", false).await;
    juliet.recv_presence(ROMEO, Some("unsubscribe")).await.unwrap();
    push(&mut juliet, ROMEO, "to", false).await;
    romeo.recv_presence(BALCONY, Some("unavailable")).await.unwrap();
    quiet(&mut [&mut romeo, &mut juliet]).await;

    // Romeo cancels Juliet's subscription (§3.2): From → None, To → None;
    // she hears him go away before the cancellation.
    send(&mut romeo, JULIET, "unsubscribed").await;
    push(&mut romeo, JULIET, "none", false).await;
    juliet.recv_presence(ORCHARD, Some("unavailable")).await.unwrap();
    juliet.recv_presence(ROMEO, Some("unsubscribed")).await.unwrap();
    push(&mut juliet, ROMEO, "none", false).await;
    quiet(&mut [&mut romeo, &mut juliet]).await;

    // Nothing is left to undo: repeating either changes nothing.
    send(&mut romeo, JULIET, "unsubscribe").await;
    send(&mut romeo, JULIET, "unsubscribed").await;
    quiet(&mut [&mut romeo, &mut juliet]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_first_then_unsubscribe_from_the_other_side() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    subscribe_then_reciprocate(&mut romeo, R, &mut juliet, J).await;

    send(&mut juliet, ROMEO, "unsubscribed").await;
    push(&mut juliet, ROMEO, "to", false).await;
    romeo.recv_presence(BALCONY, Some("unavailable")).await.unwrap();
    romeo.recv_presence(JULIET, Some("unsubscribed")).await.unwrap();
    push(&mut romeo, JULIET, "from", false).await;

    send(&mut juliet, ROMEO, "unsubscribe").await;
    push(&mut juliet, ROMEO, "none", false).await;
    romeo.recv_presence(JULIET, Some("unsubscribe")).await.unwrap();
    push(&mut romeo, JULIET, "none", false).await;
    juliet.recv_presence(ORCHARD, Some("unavailable")).await.unwrap();
    quiet(&mut [&mut romeo, &mut juliet]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_an_offline_contact_is_redelivered_until_answered() {
    let srv = server().await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    send(&mut romeo, JULIET, "subscribe").await;
    push(&mut romeo, JULIET, "none", true).await;
    // A second request while the first is pending is stored only once.
    send(&mut romeo, JULIET, "subscribe").await;

    for resource in ["balcony", "chamber"] {
        let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some(resource)).await.unwrap();
        juliet.recv_presence(ROMEO, Some("subscribe")).await.unwrap();
        let roster = juliet.roster_get(None).await.unwrap();
        assert!(roster.child("query", ROSTER).unwrap().children.is_empty(), "not a roster item yet: {roster}");
        juliet.expect_silence(QUIET).await.unwrap();
        juliet.close().await.unwrap();
    }

    let mut juliet = login(&srv, "juliet", "balcony").await;
    juliet.recv_presence(ROMEO, Some("subscribe")).await.unwrap();
    send(&mut juliet, ROMEO, "subscribed").await;
    push(&mut juliet, ROMEO, "from", false).await;
    romeo.recv_presence(JULIET, Some("subscribed")).await.unwrap();
    push(&mut romeo, JULIET, "to", false).await;
    romeo.recv_presence(BALCONY, None).await.unwrap();
    juliet.close().await.unwrap();
    // Answered: the next login brings no request.
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_approved_request_is_answered_by_the_server() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    // §3.4: "subscribed" before any request is noted, not routed.
    send(&mut juliet, ROMEO, "subscribed").await;
    let item = juliet.recv_push().await.unwrap();
    assert_eq!((item.attr("subscription"), item.attr("approved")), (Some("none"), Some("true")), "{item}");
    quiet(&mut [&mut romeo]).await;

    send(&mut romeo, JULIET, "subscribe").await;
    push(&mut romeo, JULIET, "none", true).await;
    romeo.recv_presence(JULIET, Some("subscribed")).await.unwrap();
    push(&mut romeo, JULIET, "to", false).await;
    romeo.recv_presence(BALCONY, None).await.unwrap();
    // Juliet sees the subscription appear, not the request.
    let item = juliet.recv_push().await.unwrap();
    assert_eq!((item.attr("subscription"), item.attr("approved")), (Some("from"), None), "{item}");
    quiet(&mut [&mut romeo, &mut juliet]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_request_from_a_subscriber_is_approved_again() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    subscribe_then_reciprocate(&mut romeo, R, &mut juliet, J).await;
    send(&mut romeo, JULIET, "subscribe").await;
    // Table 6 footnote 2: auto-reply "subscribed"; no state changes, so no
    // push and no delivery; Romeo gets Juliet's presence again.
    romeo.recv_presence(BALCONY, None).await.unwrap();
    quiet(&mut [&mut romeo, &mut juliet]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_contact_ends_both_subscriptions() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    subscribe_then_reciprocate(&mut romeo, R, &mut juliet, J).await;

    let r = juliet.roster_set("<item jid='romeo@localhost' subscription='remove'/>").await.unwrap();
    assert_eq!(r.attr("type"), Some("result"), "{r}");
    juliet.sync().await.unwrap();
    let item = juliet.recv_push().await.unwrap();
    assert_eq!(item.attr("subscription"), Some("remove"));
    // §2.5.2: "unsubscribe" then "unsubscribed" on her behalf.
    romeo.recv_presence(JULIET, Some("unsubscribe")).await.unwrap();
    push(&mut romeo, JULIET, "to", false).await;
    juliet.recv_presence(ORCHARD, Some("unavailable")).await.unwrap();
    romeo.recv_presence(BALCONY, Some("unavailable")).await.unwrap();
    romeo.recv_presence(JULIET, Some("unsubscribed")).await.unwrap();
    push(&mut romeo, JULIET, "none", false).await;
    quiet(&mut [&mut romeo, &mut juliet]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_user_and_unreachable_contacts_are_left_alone() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    let mut nurse = login(&srv, "nurse", "kitchen").await;
    subscribe_then_reciprocate(&mut romeo, R, &mut juliet, J).await;
    quiet(&mut [&mut nurse]).await;

    // No such local account: the request is noted on Romeo's side only (§8.5.1).
    send(&mut romeo, "nobody@localhost", "subscribe").await;
    push(&mut romeo, "nobody@localhost", "none", true).await;
    // Another domain: no server-to-server link, so an error after the push.
    send(&mut romeo, "mercutio@verona.example/house", "subscribe").await;
    push(&mut romeo, "mercutio@verona.example", "none", true).await;
    let err = romeo.recv().await.unwrap();
    assert_eq!((err.name.as_str(), err.attr("type")), ("presence", Some("error")), "{err}");
    assert!(err.to_string().contains("remote-server-not-found"), "{err}");
    quiet(&mut [&mut romeo, &mut juliet, &mut nurse]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_the_requester_keeps_the_request_pending() {
    let srv = server().await;
    let (mut romeo, mut juliet) = pair(&srv).await;
    send(&mut romeo, JULIET, "subscribe").await;
    push(&mut romeo, JULIET, "none", true).await;
    juliet.recv_presence(ROMEO, Some("subscribe")).await.unwrap();

    // None+In with an item the user created: listed, still pending (A.1 state 3).
    let r = juliet.roster_set("<item jid='romeo@localhost' name='Romeo'/>").await.unwrap();
    assert_eq!(r.attr("type"), Some("result"), "{r}");
    push(&mut juliet, ROMEO, "none", false).await;
    juliet.close().await.unwrap();
    let mut juliet = login(&srv, "juliet", "balcony").await;
    juliet.recv_presence(ROMEO, Some("subscribe")).await.unwrap();

    send(&mut juliet, ROMEO, "subscribed").await;
    let item = juliet.recv_push().await.unwrap();
    assert_eq!((item.attr("subscription"), item.attr("name")), (Some("from"), Some("Romeo")), "{item}");
    romeo.recv_presence(JULIET, Some("subscribed")).await.unwrap();
    push(&mut romeo, JULIET, "to", false).await;
}
