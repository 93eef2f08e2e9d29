//! XEP-0160 offline messages through the `message` + `msgoffline` plugins
//! and the native store, over real sockets: storage, ordered delivery with
//! XEP-0203 delays, exactly one delivery per stored message, what is never
//! stored, the per-pair limit, a restart, and the chain without msgoffline.

use std::time::Duration;
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const CLIENT: &str = "jabber:client";
const DELAY: &str = "urn:xmpp:delay";
const QUIET: Duration = Duration::from_millis(300);

async fn server(args: &[&str]) -> TestServer {
    let srv = TestServer::start(args).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    srv
}

async fn romeo(srv: &TestServer) -> Client {
    Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap()
}

/// Waits until the server has processed everything romeo sent before.
async fn sync(c: &mut Client) {
    let pong = c.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"));
}

fn body(el: &El) -> String {
    el.child("body", CLIENT).map(|b| b.text.clone()).unwrap_or_default()
}

/// Every message that arrives within `QUIET` of the previous one.
/// `n` chat messages to Juliet in one string, ids `{prefix}0`…, bodies `0`….
fn burst(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("<message to='juliet@localhost' type='chat' id='{prefix}{i}'><body>{i}</body></message>"))
        .collect()
}

async fn drain(c: &mut Client) -> Vec<El> {
    let mut got = Vec::new();
    while let Some(el) = c.recv_timeout(QUIET).await.unwrap() {
        if el.name == "message" {
            got.push(el);
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_messages_are_stored_and_delivered_once_in_order_with_delays() {
    let srv = server(&[]).await;
    let mut romeo = romeo(&srv).await;
    for i in 0..20 {
        let ty = if i % 2 == 0 { "chat" } else { "normal" };
        romeo.send_message("juliet@localhost", ty, &format!("m{i}"), &format!("offline {i}")).await.unwrap();
    }
    sync(&mut romeo).await;
    romeo.expect_silence(QUIET).await.unwrap();
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 20);

    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    let got = drain(&mut juliet).await;
    let bodies: Vec<String> = got.iter().map(body).collect();
    let expected: Vec<String> = (0..20).map(|i| format!("offline {i}")).collect();
    assert_eq!(bodies, expected);
    for el in &got {
        assert_eq!(el.attr("from"), Some("romeo@localhost/orchard"));
        let delay = el.child("delay", DELAY).unwrap_or_else(|| panic!("no delay in {el}"));
        assert_eq!(delay.attr("from"), Some(DOMAIN));
        let stamp = delay.attr("stamp").unwrap();
        assert!(stamp.len() >= 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T', "{stamp}");
    }
    juliet.close().await.unwrap();

    // A second login finds nothing: each was removed once written.
    let mut again = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    assert!(drain(&mut again).await.is_empty());
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headline_groupchat_error_and_chat_states_are_not_stored() {
    let srv = server(&[]).await;
    let mut romeo = romeo(&srv).await;
    romeo.send_message("juliet@localhost", "headline", "h", "news").await.unwrap();
    romeo.send_message("juliet@localhost", "error", "e", "oops").await.unwrap();
    romeo
        .send_raw("<message to='juliet@localhost' type='chat' id='cs'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
        .await
        .unwrap();
    romeo.send_message("juliet@localhost", "groupchat", "g", "room").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!((err.attr("id"), err.attr("type")), (Some("g"), Some("error")));
    assert!(err.to_string().contains("service-unavailable"), "{err}");
    sync(&mut romeo).await;
    romeo.expect_silence(QUIET).await.unwrap();
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 0);
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", None).await.unwrap();
    assert!(drain(&mut juliet).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_pair_limit_bounces_with_queue_full() {
    let srv = server(&["--sess-man/plugins-conf/msgoffline/store-limit=3"]).await;
    srv.add_user("nurse", "pw").await;
    let mut romeo = romeo(&srv).await;
    for i in 0..3 {
        romeo.send_message("juliet@localhost", "chat", &format!("ok{i}"), "kept").await.unwrap();
    }
    romeo.send_message("juliet@localhost", "chat", "over", "one too many").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!(err.attr("id"), Some("over"));
    let text = err.to_string();
    assert!(text.contains("service-unavailable") && text.contains("Offline messages queue is full"), "{text}");
    // The limit is per pair: another sender may still leave messages.
    let mut nurse = Client::login(srv.addr, DOMAIN, "nurse", "pw", None).await.unwrap();
    nurse.send_message("juliet@localhost", "chat", "n1", "from the nurse").await.unwrap();
    sync(&mut nurse).await;
    nurse.expect_silence(QUIET).await.unwrap();
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_messages_survive_a_restart() {
    let srv = server(&[]).await;
    let mut romeo = romeo(&srv).await;
    for i in 0..5 {
        romeo.send_message("juliet@localhost", "chat", &format!("r{i}"), &format!("before restart {i}")).await.unwrap();
    }
    sync(&mut romeo).await;
    romeo.close().await.unwrap();
    let srv = srv.restart().await;
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", None).await.unwrap();
    let bodies: Vec<String> = drain(&mut juliet).await.iter().map(body).collect();
    assert_eq!(bodies, (0..5).map(|i| format!("before restart {i}")).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_priority_keeps_messages_stored_until_a_non_negative_presence() {
    let srv = server(&[]).await;
    let mut romeo = romeo(&srv).await;
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("away")).await.unwrap();
    juliet.send_presence(Some(-1)).await.unwrap();
    sync(&mut juliet).await;
    romeo.send_message("juliet@localhost", "chat", "p1", "later").await.unwrap();
    sync(&mut romeo).await;
    assert!(drain(&mut juliet).await.is_empty());
    juliet.send_presence(Some(1)).await.unwrap();
    let got = drain(&mut juliet).await;
    assert_eq!(got.iter().map(body).collect::<Vec<_>>(), ["later"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_msgoffline_offline_users_bounce_and_disco_drops_the_feature() {
    async fn disco_lists_msgoffline(c: &mut Client) -> bool {
        let info = c.iq("get", Some(DOMAIN), "<query xmlns='http://jabber.org/protocol/disco#info'/>").await.unwrap();
        info.to_string().contains("var='msgoffline'") || info.to_string().contains("var=\"msgoffline\"")
    }
    let with = server(&[]).await;
    let mut romeo_with = romeo(&with).await;
    assert!(disco_lists_msgoffline(&mut romeo_with).await);

    let srv = server(&["--sm-plugins=-amp,+message"]).await;
    let mut romeo = romeo(&srv).await;
    assert!(!disco_lists_msgoffline(&mut romeo).await);
    romeo.send_message("juliet@localhost", "chat", "x", "anyone?").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!(err.attr("id"), Some("x"));
    assert!(err.to_string().contains("service-unavailable"), "{err}");
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 0);
}

/// A burst of messages to an offline account, then a ping, all in one
/// write: the server reads on while the messages are being stored, yet the
/// ping's reply comes only after every message before it is stored or
/// bounced. When it arrives, the store holds exactly the accepted ones and
/// every refusal (`store-limit=150`) has already arrived, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_comes_after_the_messages_before_it_are_stored_or_bounced() {
    let srv = server(&["--sess-man/plugins-conf/msgoffline/store-limit=150"]).await;
    let mut romeo = romeo(&srv).await;
    for round in 0..3usize {
        let mut burst = burst(&format!("r{round}-"), 100);
        let sync = format!("sync{round}");
        burst += &format!("<iq type='get' id='{sync}' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>");
        romeo.send_raw(&burst).await.unwrap();
        let mut bounced = Vec::new();
        loop {
            let el = romeo.recv().await.unwrap();
            if el.name == "iq" && el.attr("id") == Some(sync.as_str()) {
                assert_eq!(el.attr("type"), Some("result"));
                break;
            }
            assert!(el.attr("type") == Some("error") && el.to_string().contains("queue is full"), "{el}");
            bounced.push(el.attr("id").unwrap_or_default().to_owned());
        }
        let stored = srv.server.services.offline.count("juliet@localhost").await.unwrap();
        assert_eq!(stored, ((round + 1) * 100).min(150) as u64, "round {round}");
        let first_refused = 150usize.saturating_sub(round * 100).min(100);
        let expected: Vec<String> = (first_refused..100).map(|i| format!("r{round}-{i}")).collect();
        assert_eq!(bounced, expected, "round {round}");
    }
    romeo.expect_silence(QUIET).await.unwrap();
}

/// Messages still being stored when their sender closes the stream are not
/// lost: the server closes its side only after they are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_in_flight_at_a_disconnect_are_stored() {
    let srv = server(&["--sess-man/plugins-conf/msgoffline/store-limit=0"]).await;
    let mut romeo = romeo(&srv).await;
    romeo.send_raw(&burst("d", 300)).await.unwrap();
    romeo.close().await.unwrap();
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 300);
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", None).await.unwrap();
    let bodies: Vec<String> = drain(&mut juliet).await.iter().map(body).collect();
    assert_eq!(bodies, (0..300).map(|i| i.to_string()).collect::<Vec<_>>(), "all, in order");
}

/// A session that closes while its last messages are still being stored
/// gets the refusals among them before the server closes its stream: the
/// session settles its in-flight stores (bouncing the refused ones) before
/// it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_in_flight_messages_arrive_before_the_stream_closes() {
    let srv = server(&["--sess-man/plugins-conf/msgoffline/store-limit=150"]).await;
    let mut romeo = romeo(&srv).await;
    romeo.send_raw(&burst("c", 200)).await.unwrap();
    // `</stream:stream>` follows at once, while the stores are in flight.
    let before_end = romeo.close_collecting().await.unwrap();
    let refused: Vec<&str> = before_end
        .iter()
        .inspect(|el| assert!(el.attr("type") == Some("error") && el.to_string().contains("queue is full"), "{el}"))
        .map(|el| el.attr("id").unwrap_or_default())
        .collect();
    let expected: Vec<String> = (150..200).map(|i| format!("c{i}")).collect();
    assert_eq!(refused, expected);
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 150);
}
