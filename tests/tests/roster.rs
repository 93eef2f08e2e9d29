//! RFC 6121 §2 roster management over real sockets: get, set, update,
//! remove, pushes to every interested resource (and only those), the §2.3.3
//! and §2.5.3 errors, and XEP-0237 versioning.

use std::time::Duration;
use wasmpp_tests::client::{Client, ROSTER};
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const QUIET: Duration = Duration::from_millis(300);

async fn server(users: &[&str]) -> TestServer {
    let srv = TestServer::start(&[]).await;
    for u in users {
        srv.add_user(u, "pw").await;
    }
    srv
}

/// Logs in and, when `interested`, asks for the roster (§2.2).
async fn login(srv: &TestServer, user: &str, resource: &str, interested: bool) -> Client {
    let mut c = Client::login(srv.addr, DOMAIN, user, "pw", Some(resource)).await.unwrap();
    c.ignore_presence();
    if interested {
        let r = c.roster_get(None).await.unwrap();
        assert_eq!(r.attr("type"), Some("result"), "{r}");
    }
    c
}

fn items(result: &El) -> Vec<El> {
    let q = result.child("query", ROSTER).unwrap_or_else(|| panic!("no query in {result}"));
    q.children.iter().filter(|c| c.name == "item").cloned().collect()
}

fn groups(item: &El) -> Vec<String> {
    item.children.iter().filter(|c| c.name == "group").map(|g| g.text.clone()).collect()
}

fn condition(el: &El) -> String {
    assert_eq!(el.attr("type"), Some("error"), "{el}");
    let err = el.child("error", "jabber:client").unwrap_or_else(|| panic!("no <error/> in {el}"));
    err.children.iter().find(|c| c.name != "text").map(|c| c.name.clone()).expect("a condition")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_pushes_to_every_interested_resource_and_get_returns_the_item() {
    let srv = server(&["juliet"]).await;
    let mut balcony = login(&srv, "juliet", "balcony", true).await;
    let mut chamber = login(&srv, "juliet", "chamber", true).await;
    let mut garden = login(&srv, "juliet", "garden", false).await;

    let empty = balcony.roster_get(None).await.unwrap();
    assert!(items(&empty).is_empty(), "a new account has an empty roster, not an error: {empty}");

    let set = balcony
        .roster_set("<item jid='Nurse@Localhost' name='Nurse'><group>Servants</group><group>Family</group></item>")
        .await
        .unwrap();
    assert_eq!(set.attr("type"), Some("result"), "{set}");
    for c in [&mut balcony, &mut chamber] {
        let item = c.recv_push().await.unwrap();
        assert_eq!(item.attr("jid"), Some("nurse@localhost"), "the JID is normalised");
        assert_eq!(
            (item.attr("name"), item.attr("subscription"), item.attr("ask")),
            (Some("Nurse"), Some("none"), None)
        );
        assert_eq!(groups(&item), ["Servants", "Family"]);
    }
    garden.expect_silence(QUIET).await.unwrap();

    let got = garden.roster_get(None).await.unwrap();
    let listed = items(&got);
    assert_eq!(listed.len(), 1, "{got}");
    assert_eq!(listed[0].attr("jid"), Some("nurse@localhost"));
    assert_eq!(groups(&listed[0]), ["Servants", "Family"]);

    // Asking made garden interested: the next change reaches all three.
    balcony.roster_set("<item jid='nurse@localhost'/>").await.unwrap();
    for c in [&mut balcony, &mut chamber, &mut garden] {
        let item = c.recv_push().await.unwrap();
        assert_eq!((item.attr("name"), groups(&item).len()), (None, 0), "the update replaces the item: {item}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_pushes_remove_and_a_missing_item_is_item_not_found() {
    let srv = server(&["juliet"]).await;
    let mut balcony = login(&srv, "juliet", "balcony", true).await;
    let mut chamber = login(&srv, "juliet", "chamber", true).await;
    balcony.roster_set("<item jid='nurse@localhost'/>").await.unwrap();
    balcony.recv_push().await.unwrap();
    chamber.recv_push().await.unwrap();

    let r = chamber.roster_set("<item jid='nurse@localhost' subscription='remove'/>").await.unwrap();
    assert_eq!(r.attr("type"), Some("result"), "{r}");
    for c in [&mut balcony, &mut chamber] {
        let item = c.recv_push().await.unwrap();
        assert_eq!((item.attr("jid"), item.attr("subscription")), (Some("nurse@localhost"), Some("remove")));
    }
    assert!(items(&balcony.roster_get(None).await.unwrap()).is_empty());
    let again = chamber.roster_set("<item jid='nurse@localhost' subscription='remove'/>").await.unwrap();
    assert_eq!(condition(&again), "item-not-found");
    balcony.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_sets_are_rejected_and_change_nothing() {
    let srv = server(&["juliet", "romeo"]).await;
    let mut c = login(&srv, "juliet", "balcony", true).await;
    let long = "x".repeat(1024);
    let cases = [
        ("<item jid='a@localhost'/><item jid='b@localhost'/>", "bad-request"),
        ("<item name='no jid'/>", "bad-request"),
        ("<item jid='a@localhost'><group>G</group><group>G</group></item>", "bad-request"),
        ("<item jid='a@localhost'><group></group></item>", "not-acceptable"),
        (&format!("<item jid='a@localhost'><group>{long}</group></item>"), "not-acceptable"),
        (&format!("<item jid='a@localhost' name='{long}'/>"), "not-acceptable"),
        ("<item jid='juliet@localhost'/>", "not-allowed"),
        ("<item jid='@@bad'/>", "jid-malformed"),
    ];
    for (items_xml, expected) in cases {
        let r = c.roster_set(items_xml).await.unwrap();
        assert_eq!(condition(&r), expected, "{items_xml}");
    }
    let bad_get = c.iq("get", None, &format!("<query xmlns='{ROSTER}'><item jid='a@localhost'/></query>")).await;
    assert_eq!(condition(&bad_get.unwrap()), "bad-request");
    // §2.1.5: only the account itself may change its roster.
    let other = c
        .iq("set", Some("romeo@localhost"), &format!("<query xmlns='{ROSTER}'><item jid='a@localhost'/></query>"))
        .await
        .unwrap();
    assert_eq!(condition(&other), "forbidden");
    // Addressed to the own bare JID is the same as no 'to'.
    let own = c.iq("get", Some("juliet@localhost"), &format!("<query xmlns='{ROSTER}'/>")).await.unwrap();
    assert!(items(&own).is_empty(), "{own}");
    c.expect_silence(QUIET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_name_the_roster_and_an_unchanged_one_gets_an_empty_result() {
    let srv = server(&["juliet"]).await;
    let mut c = login(&srv, "juliet", "balcony", true).await;
    // §2.6.1: the server says it supports versioning (and §3.4 pre-approval).
    assert!(c.features().raw.child("ver", "urn:xmpp:features:rosterver").is_some());
    assert!(c.features().raw.child("sub", "urn:xmpp:features:pre-approval").is_some());
    let first = c.roster_get(Some("")).await.unwrap();
    let v0 = first.child("query", ROSTER).and_then(|q| q.attr("ver")).expect("a version").to_owned();

    c.roster_set("<item jid='nurse@localhost'/>").await.unwrap();
    c.recv_push().await.unwrap();
    let got = c.roster_get(Some(&v0)).await.unwrap();
    let v1 = got.child("query", ROSTER).and_then(|q| q.attr("ver")).expect("a version").to_owned();
    assert_ne!(v0, v1);
    assert_eq!(items(&got).len(), 1, "an old version gets the whole roster: {got}");

    let unchanged = c.roster_get(Some(&v1)).await.unwrap();
    assert_eq!(unchanged.attr("type"), Some("result"));
    assert!(unchanged.children.is_empty(), "the current version gets an empty result: {unchanged}");

    // Every push carries the new version.
    c.roster_set("<item jid='nurse@localhost' name='N'/>").await.unwrap();
    let push = c.recv().await.unwrap();
    let v2 = push.child("query", ROSTER).and_then(|q| q.attr("ver")).expect("a version in the push");
    assert_ne!(v2, v1);
    assert_eq!(c.roster_get(Some(v2)).await.unwrap().children.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_outlives_the_session() {
    let srv = server(&["juliet"]).await;
    let mut c = login(&srv, "juliet", "balcony", true).await;
    c.roster_set("<item jid='romeo@montague.example' name='Romeo'><group>Lovers</group></item>").await.unwrap();
    c.recv_push().await.unwrap();
    c.close().await.unwrap();
    let mut again = login(&srv, "juliet", "chamber", false).await;
    let got = again.roster_get(None).await.unwrap();
    let listed = items(&got);
    assert_eq!(listed.len(), 1, "{got}");
    assert_eq!((listed[0].attr("jid"), listed[0].attr("name")), (Some("romeo@montague.example"), Some("Romeo")));
    assert_eq!(groups(&listed[0]), ["Lovers"]);
}
