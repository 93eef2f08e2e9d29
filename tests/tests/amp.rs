//! XEP-0079 through the `amp` plugin over real sockets: every defined
//! condition × value × action against every recipient situation (online
//! with one or two resources and priorities, offline, nonexistent; bare and
//! full JIDs), checked against a reference table written from amp.md
//! (R30, R35, R38, R39, D4, D14, D17, the bare-JID ruling).
//!
//! The security level is NONE here so every rule is accepted; the levels
//! have their own tests in `amp_security.rs`.

use std::time::Duration;

use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const AMP: &str = "http://jabber.org/protocol/amp";
const AMP_ERRORS: &str = "http://jabber.org/protocol/amp#errors";
const CLIENT: &str = "jabber:client";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// Everything `c` received up to the answer of a ping sent now: the server
/// handles a session's stanzas in order, so this is all it had queued.
async fn collect(c: &mut Client) -> Vec<El> {
    let pong = c.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"));
    let mut got = Vec::new();
    while let Some(el) = c.recv_timeout(Duration::ZERO).await.unwrap() {
        got.push(el);
    }
    got
}

/// Where juliet is when romeo's message arrives, and how he addresses her.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Situation {
    /// One session `balcony` (priority 0), bare JID.
    OneResourceBare,
    /// `balcony` (1) and `chamber` (5), bare JID: routed to `chamber`.
    TwoResourcesBare,
    /// Two sessions, full JID of the lower-priority one.
    TwoResourcesFull,
    /// One session `balcony`, a chat to the absent `garden`: falls back to
    /// the bare JID (RFC 6121 §8.5.3.2.1), so reaches `balcony`.
    OtherResourceFull,
    /// No session, bare JID: stored.
    OfflineBare,
    /// No session, full JID: stored for the bare JID.
    OfflineFull,
    /// No such account: bounced.
    Nonexistent,
}

use Situation::*;

const SITUATIONS: [Situation; 7] =
    [OneResourceBare, TwoResourcesBare, TwoResourcesFull, OtherResourceFull, OfflineBare, OfflineFull, Nonexistent];

impl Situation {
    fn to(self) -> &'static str {
        match self {
            OneResourceBare | TwoResourcesBare | OfflineBare => "juliet@localhost",
            TwoResourcesFull | OfflineFull => "juliet@localhost/balcony",
            OtherResourceFull => "juliet@localhost/garden",
            Nonexistent => "nobody@localhost",
        }
    }

    /// The resources the message reaches by default (empty: it does not).
    fn reached(self) -> &'static [&'static str] {
        match self {
            OneResourceBare | OtherResourceFull => &["balcony"],
            TwoResourcesBare => &["chamber"],
            TwoResourcesFull => &["balcony"],
            OfflineBare | OfflineFull | Nonexistent => &[],
        }
    }

    fn deliver(self) -> &'static str {
        match self {
            OfflineBare | OfflineFull => "stored",
            Nonexistent => "none",
            _ => "direct",
        }
    }

    /// The reference model: whether `condition`=`value` is met at receipt.
    fn met(self, condition: &str, value: &str) -> bool {
        let addressed = self.to().split_once('/').map(|(_, r)| r);
        match condition {
            "deliver" => value == self.deliver(),
            // Fixed values far in the past and the future.
            "expire-at" => value.starts_with("2001"),
            "match-resource" => {
                let reached = self.reached();
                match (value, addressed, self.deliver()) {
                    ("any", _, "direct") => !reached.is_empty(),
                    ("exact", Some(r), "direct") => reached.contains(&r),
                    ("other", Some(r), "direct") => reached.iter().any(|x| *x != r),
                    ("other", None, "direct") => !reached.is_empty(),
                    // Offline storage is a resource-less destination (R39).
                    ("exact", None, "stored") => true,
                    _ => false,
                }
            }
            _ => unreachable!(),
        }
    }
}

const CONDITIONS: [(&str, &str); 12] = [
    ("deliver", "direct"),
    ("deliver", "stored"),
    ("deliver", "none"),
    ("deliver", "forward"),
    ("deliver", "gateway"),
    ("match-resource", "any"),
    ("match-resource", "exact"),
    ("match-resource", "other"),
    ("expire-at", "2001-01-01T00:00:00Z"),
    ("expire-at", "2999-01-01T00:00:00Z"),
    // Two spellings D18 accepts.
    ("expire-at", "2001-01-01T00:00:00.123456+00:00"),
    ("expire-at", "2999-12-31T23:59:59.5-00:00"),
];

const ACTIONS: [&str; 4] = ["alert", "drop", "error", "notify"];

struct World {
    srv: TestServer,
    romeo: Client,
    balcony: Option<Client>,
    chamber: Option<Client>,
}

async fn world() -> World {
    let srv = TestServer::start(&["--amp-security-level=NONE"]).await;
    for user in ["romeo", "juliet"] {
        srv.add_user(user, "pw").await;
    }
    let mut romeo = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();
    romeo.ignore_presence();
    World { srv, romeo, balcony: None, chamber: None }
}

async fn juliet(w: &World, resource: &str, priority: i8) -> Client {
    let mut c = Client::login(w.srv.addr, DOMAIN, "juliet", "pw", Some(resource)).await.unwrap();
    c.ignore_presence();
    c.send_presence(Some(priority)).await.unwrap();
    collect(&mut c).await;
    c
}

/// Puts juliet's sessions in place for `s`.
async fn arrange(w: &mut World, s: Situation) {
    let (balcony, chamber) = match s {
        OneResourceBare | OtherResourceFull => (Some(0), None),
        TwoResourcesBare | TwoResourcesFull => (Some(1), Some(5)),
        _ => (None, None),
    };
    if balcony.is_none()
        && let Some(c) = w.balcony.take()
    {
        c.close().await.unwrap();
    }
    if chamber.is_none()
        && let Some(c) = w.chamber.take()
    {
        c.close().await.unwrap();
    }
    if let (Some(p), None) = (balcony, &w.balcony) {
        w.balcony = Some(juliet(w, "balcony", p).await);
    }
    if let (Some(p), None) = (chamber, &w.chamber) {
        w.chamber = Some(juliet(w, "chamber", p).await);
    }
}

/// What juliet's sessions received, by resource.
async fn received(w: &mut World) -> Vec<(&'static str, El)> {
    let mut out = Vec::new();
    if let Some(c) = w.balcony.as_mut() {
        out.extend(collect(c).await.into_iter().map(|el| ("balcony", el)));
    }
    if let Some(c) = w.chamber.as_mut() {
        out.extend(collect(c).await.into_iter().map(|el| ("chamber", el)));
    }
    out
}

fn rule_of(amp: &El) -> (String, String, String) {
    let rules: Vec<&El> = amp.children.iter().filter(|c| c.is("rule", AMP) || c.is("rule", AMP_ERRORS)).collect();
    assert_eq!(rules.len(), 1, "exactly the fired rule: {amp}");
    let r = rules[0];
    (r.attr("condition").unwrap().into(), r.attr("value").unwrap().into(), r.attr("action").unwrap().into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_condition_value_and_action_in_every_situation() {
    let mut w = world().await;
    let mut n = 0;
    for s in SITUATIONS {
        arrange(&mut w, s).await;
        for (condition, value) in CONDITIONS {
            for action in ACTIONS {
                n += 1;
                let id = format!("m{n}");
                let case = format!("{s:?} {condition}={value} {action}");
                let xml = format!(
                    "<message to='{}' id='{id}' type='chat'><body>secret</body>\
                     <amp xmlns='{AMP}'><rule condition='{condition}' value='{value}' action='{action}'/></amp></message>",
                    s.to()
                );
                w.romeo.send_raw(&xml).await.unwrap();
                let to_romeo = collect(&mut w.romeo).await;
                let to_juliet = received(&mut w).await;
                let stored = w.srv.server.services.amp.count("juliet@localhost").await.unwrap();
                w.srv.server.services.amp.delete_all("juliet@localhost").await.unwrap();

                let met = s.met(condition, value);
                let takes_default = !met || action == "notify";
                // The sender: the event of a fired rule (not for drop), then
                // the bounce of an undeliverable default.
                let mut expected_to_romeo = 0;
                if met && action != "drop" {
                    expected_to_romeo += 1;
                    let event = &to_romeo[0];
                    assert_eq!(event.attr("from"), Some(DOMAIN), "{case}: {event}");
                    assert_eq!(event.attr("to"), Some("romeo@localhost/orchard"), "{case}");
                    assert_eq!(event.attr("id"), Some(id.as_str()), "{case}: R26");
                    assert!(event.child("body", CLIENT).is_none(), "{case}: R27 no payload");
                    let amp = event.child("amp", AMP).unwrap_or_else(|| panic!("{case}: {event}"));
                    assert_eq!(amp.attr("status"), Some(action), "{case}");
                    assert_eq!(amp.attr("from"), Some("romeo@localhost/orchard"), "{case}");
                    assert_eq!(amp.attr("to"), Some(s.to()), "{case}: D1 verbatim");
                    assert_eq!(rule_of(amp), (condition.into(), value.into(), action.into()), "{case}");
                    if action == "error" {
                        assert_eq!(event.attr("type"), Some("error"), "{case}");
                        let error = event.child("error", CLIENT).unwrap();
                        assert_eq!((error.attr("type"), error.attr("code")), (Some("modify"), Some("500")));
                        assert!(error.child("undefined-condition", STANZAS).is_some(), "{case}");
                        let failed = error.child("failed-rules", AMP_ERRORS).unwrap();
                        assert_eq!(rule_of(failed), (condition.into(), value.into(), action.into()));
                    } else {
                        assert_eq!(event.attr("type"), None, "{case}");
                    }
                }
                if takes_default && s == Nonexistent {
                    expected_to_romeo += 1;
                    let bounce = to_romeo.last().unwrap();
                    assert_eq!(bounce.attr("type"), Some("error"), "{case}: {bounce}");
                    assert!(bounce.find("error/service-unavailable").is_some(), "{case}: {bounce}");
                }
                assert_eq!(to_romeo.len(), expected_to_romeo, "{case}: romeo got {to_romeo:?}");

                // The recipient: the message with `<amp from to>` (D9) at the
                // routed resources, or stored, or nothing.
                if takes_default && !s.reached().is_empty() {
                    let at: Vec<&str> = to_juliet.iter().map(|(r, _)| *r).collect();
                    assert_eq!(at, s.reached(), "{case}");
                    let (_, msg) = &to_juliet[0];
                    assert_eq!(msg.find_text("body"), Some("secret"), "{case}");
                    let amp = msg.child("amp", AMP).unwrap_or_else(|| panic!("{case}: {msg}"));
                    assert_eq!(amp.attr("from"), Some("romeo@localhost/orchard"), "{case}");
                    assert_eq!(amp.attr("to"), Some(s.to()), "{case}");
                    assert_eq!(amp.attr("status"), None, "{case}");
                } else {
                    assert!(to_juliet.is_empty(), "{case}: juliet got {to_juliet:?}");
                }
                let expect_stored = takes_default && s.deliver() == "stored";
                assert_eq!(stored, u64::from(expect_stored), "{case}: stored");
            }
        }
    }
    assert_eq!(n, 7 * 12 * 4);
}
