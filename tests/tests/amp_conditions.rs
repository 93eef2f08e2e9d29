//! Custom XEP-0079 conditions over real sockets: the example `body-contains`
//! component put in `--amp-conditions-dir` is advertised on the AMP disco
//! node (R8, R12), fires in a rule, and a name nobody loaded still gets
//! `<unsupported-conditions/>` (D6).

use std::path::Path;
use std::time::Duration;

use wasmpp::plugin::GUEST_DIR;
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const AMP: &str = "http://jabber.org/protocol/amp";

/// Everything `c` received up to the answer of a ping sent now.
async fn collect(c: &mut Client) -> Vec<El> {
    let pong = c.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"));
    let mut got = Vec::new();
    while let Some(el) = c.recv_timeout(Duration::ZERO).await.unwrap() {
        got.push(el);
    }
    got
}

fn amp_message(id: &str, body: &str, condition: &str, value: &str, action: &str) -> String {
    format!(
        "<message to='juliet@{DOMAIN}' id='{id}' type='chat'><body>{body}</body>\
         <amp xmlns='{AMP}'><rule condition='{condition}' value='{value}' action='{action}'/></amp></message>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_condition_is_advertised_and_used() {
    let conditions = tempfile::tempdir().unwrap();
    // Any name will do: the condition is named by what it declares.
    let built = Path::new(GUEST_DIR).join("body-contains.wasm");
    std::fs::copy(built, conditions.path().join("body_contains.wasm")).unwrap();
    let dir_arg = format!("--amp-conditions-dir={}", conditions.path().display());
    let srv = TestServer::start(&[&dir_arg]).await;
    for user in ["romeo", "juliet"] {
        srv.add_user(user, "pw").await;
    }
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();
    romeo.ignore_presence();
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    juliet.send_presence(None).await.unwrap();
    collect(&mut juliet).await;

    let query = format!("<query xmlns='http://jabber.org/protocol/disco#info' node='{AMP}'/>");
    let info = romeo.iq("get", Some(DOMAIN), &query).await.unwrap();
    let features: Vec<&str> = info.find("query").unwrap().children.iter().filter_map(|f| f.attr("var")).collect();
    for name in ["body-contains", "deliver", "expire-at", "match-resource"] {
        let feature = format!("{AMP}?condition={name}");
        assert!(features.contains(&feature.as_str()), "{feature} not in {features:?}");
    }

    // Met: the drop rule fires. Not met: the message takes its default route.
    romeo.send_raw(&amp_message("m1", "This is URGENT", "body-contains", "urgent", "drop")).await.unwrap();
    romeo.send_raw(&amp_message("m2", "Good night", "body-contains", "urgent", "drop")).await.unwrap();
    // A condition nobody loaded: refused back to the sender.
    romeo.send_raw(&amp_message("m3", "urgent", "body-contain", "urgent", "drop")).await.unwrap();
    // Presence-safe, so notify passes the default STRICT level (D15): the
    // message is delivered and the sender told.
    romeo.send_raw(&amp_message("m4", "URGENT: the nurse", "body-contains", "urgent", "notify")).await.unwrap();
    // Romeo's ping answered means his messages were routed; then Juliet's.
    let replies = collect(&mut romeo).await;
    let got = collect(&mut juliet).await;
    let ids: Vec<Option<&str>> = got.iter().filter(|el| el.name == "message").map(|el| el.attr("id")).collect();
    assert_eq!(ids, [Some("m2"), Some("m4")], "{got:?}");

    let refusal = replies.iter().find(|el| el.attr("id") == Some("m3")).expect("a reply to m3");
    assert_eq!(refusal.attr("type"), Some("error"), "{refusal}");
    assert!(refusal.find("error/unsupported-conditions").is_some(), "{refusal}");
    let notified: Vec<&El> =
        replies.iter().filter(|el| el.child("amp", AMP).and_then(|a| a.attr("status")) == Some("notify")).collect();
    assert_eq!(notified.len(), 1, "{replies:?}");
    let rule = notified[0].find("amp/rule").unwrap();
    assert_eq!((rule.attr("condition"), rule.attr("action")), (Some("body-contains"), Some("notify")));
    // Drop sends nothing back: m3's refusal and m4's notification are all.
    assert_eq!(replies.iter().filter(|el| el.name == "message").count(), 2, "{replies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_condition_stops_the_server_naming_the_file() {
    let conditions = tempfile::tempdir().unwrap();
    std::fs::write(conditions.path().join("broken.wasm"), b"\0asm but not really").unwrap();
    let dir_arg = format!("--amp-conditions-dir={}", conditions.path().display());
    let err = match TestServer::try_start(&[&dir_arg]).await {
        Err(e) => e,
        Ok(_) => panic!("the server started with a broken condition"),
    };
    assert!(err.contains("broken.wasm") && err.contains("AMP condition"), "{err}");
}
