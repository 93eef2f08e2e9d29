//! What the XEP-0079 end-to-end files share: the namespaces, the
//! ping-then-drain [`collect`], a fragment parser for expected XML, and the
//! exact check of a validation error (amp.md §2, R57).
//!
//! Each test file uses part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::time::Duration;

use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::{El, Item, StreamReader};

pub const AMP: &str = "http://jabber.org/protocol/amp";
pub const AMP_ERRORS: &str = "http://jabber.org/protocol/amp#errors";
pub const AMP_FEATURE: &str = "http://jabber.org/features/amp";
pub const CLIENT: &str = "jabber:client";
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// How long "nothing arrives" is watched for, where a ping cannot prove it.
pub const QUIET: Duration = Duration::from_millis(300);

/// Everything `c` received up to the answer of a ping sent now: the server
/// handles a session's stanzas in order, so this is all it had queued.
pub async fn collect(c: &mut Client) -> Vec<El> {
    let pong = c.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(pong.attr("type"), Some("result"), "{pong}");
    let mut got = Vec::new();
    while let Some(el) = c.recv_timeout(Duration::ZERO).await.unwrap() {
        got.push(el);
    }
    got
}

/// Logs `user` in with `resource` (available, priority 0), presence ignored
/// from then on, and everything queued so far drained.
pub async fn login(srv: &TestServer, user: &str, resource: &str) -> Client {
    let mut c = Client::login(srv.addr, DOMAIN, user, "pw", Some(resource)).await.unwrap();
    c.ignore_presence();
    collect(&mut c).await;
    c
}

/// Parses one element written as it would appear on a `jabber:client`
/// stream (the default namespace is `jabber:client`).
pub fn parse(xml: &str) -> El {
    let mut r = StreamReader::new();
    r.push(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    r.push(xml.as_bytes());
    assert!(matches!(r.next_item().unwrap(), Some(Item::Header(_))));
    match r.next_item().unwrap() {
        Some(Item::Element(el)) => el,
        other => panic!("{xml} is not one element: {other:?}"),
    }
}

/// `el` with attributes sorted at every level, so that two trees compare
/// equal whatever order the attributes were written in.
pub fn normalized(el: &El) -> El {
    let mut out = el.clone();
    out.attrs.sort();
    out.children = el.children.iter().map(normalized).collect();
    out
}

/// Asserts that two elements are the same tree (names, namespaces,
/// attributes in any order, children in order, text).
#[track_caller]
pub fn assert_same(got: &El, expected: &El, case: &str) {
    assert_eq!(normalized(got), normalized(expected), "{case}:\n got      {got}\n expected {expected}");
}

/// The `<amp>` a server echoes for a refused request `amp` (R57, D13): the
/// same element without `status`, `from` and `to`.
pub fn echo_of(amp: &El) -> El {
    let mut echo = amp.clone();
    echo.attrs.retain(|(k, _)| !matches!(k.as_str(), "status" | "from" | "to"));
    echo
}

/// The rules of `amp`'s XML in document order.
pub fn rules_of(amp: &El) -> Vec<El> {
    amp.children.iter().filter(|c| c.is("rule", AMP)).cloned().collect()
}

/// Which error amp.md §2 prescribes for a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `<bad-request/>` + `<unsupported-actions>`, code 400.
    UnsupportedActions,
    /// `<bad-request/>` + `<unsupported-conditions>`, code 400.
    UnsupportedConditions,
    /// `<not-acceptable/>` + `<invalid-rules>`, code 405.
    InvalidRules,
    /// `<bad-request/>` alone, code 400 (D10–D12: no rule is at fault).
    BadRequest,
}

impl Refusal {
    fn condition(self) -> &'static str {
        match self {
            Refusal::InvalidRules => "not-acceptable",
            _ => "bad-request",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Refusal::InvalidRules => "405",
            _ => "400",
        }
    }

    fn container(self) -> Option<&'static str> {
        match self {
            Refusal::UnsupportedActions => Some("unsupported-actions"),
            Refusal::UnsupportedConditions => Some("unsupported-conditions"),
            Refusal::InvalidRules => Some("invalid-rules"),
            Refusal::BadRequest => None,
        }
    }
}

/// Checks `reply` is exactly the validation error of amp.md §2 for a
/// request whose `<amp>` was `sent_amp`, sent by `sender` (full JID) with
/// `id`: from the server's domain, `type='error'`, the original id, the
/// echoed `<amp>` (no status/from/to), no payload, and an `<error>` with
/// the right condition, type, code and container listing exactly `listed`.
#[track_caller]
pub fn assert_refusal(reply: &El, sender: &str, id: Option<&str>, sent_amp: &El, refusal: Refusal, listed: &[El]) {
    let case = format!("{refusal:?} for {sent_amp}: {reply}");
    assert!(reply.is("message", CLIENT), "{case}");
    assert_eq!(reply.attr("from"), Some(DOMAIN), "{case}: R57 from the server's domain");
    assert_eq!(reply.attr("to"), Some(sender), "{case}: R57 to the sender");
    assert_eq!(reply.attr("id"), id, "{case}: R3 the original id");
    assert_eq!(reply.attr("type"), Some("error"), "{case}");
    let names: Vec<(&str, &str)> = reply.children.iter().map(|c| (c.name.as_str(), c.ns.as_str())).collect();
    assert_eq!(names, [("amp", AMP), ("error", CLIENT)], "{case}: the echoed <amp>, then <error>, nothing else");
    assert_same(&reply.children[0], &echo_of(sent_amp), &case);
    let error = &reply.children[1];
    assert_eq!(error.attr("type"), Some("modify"), "{case}");
    assert_eq!(error.attr("code"), Some(refusal.code()), "{case}");
    let conditions: Vec<&str> = error.children.iter().filter(|c| c.ns == STANZAS).map(|c| c.name.as_str()).collect();
    assert_eq!(conditions, [refusal.condition()], "{case}");
    let specific: Vec<&El> = error.children.iter().filter(|c| c.ns != STANZAS).collect();
    match refusal.container() {
        None => assert!(specific.is_empty(), "{case}: D10-D12 name no rule"),
        Some(name) => {
            assert_eq!(specific.len(), 1, "{case}: one specific element");
            assert!(specific[0].is(name, AMP), "{case}: expected <{name} xmlns='{AMP}'>");
            let mut expected = El::new(name, AMP);
            expected.children = listed.to_vec();
            assert_same(specific[0], &expected, &case);
        }
    }
}

/// How many messages wait for `bare`: (AMP store, plain offline store).
pub async fn stored(srv: &TestServer, bare: &str) -> (u64, u64) {
    let services = &srv.server.services;
    (services.amp.count(bare).await.unwrap(), services.offline.count(bare).await.unwrap())
}

/// Empties both stores for `bare`, between cases.
pub async fn clear(srv: &TestServer, bare: &str) {
    let services = &srv.server.services;
    services.amp.delete_all(bare).await.unwrap();
    services.offline.delete_all(bare).await.unwrap();
}

/// Checks `event` is the alert/notify/error event (D1, D2) for `rule`.
#[track_caller]
pub fn assert_event(event: &El, sender: &str, id: &str, to: &str, action: &str, rule: &El) {
    let case = format!("{action} event for {rule}: {event}");
    assert!(event.is("message", CLIENT), "{case}");
    assert_eq!(event.attr("from"), Some(DOMAIN), "{case}");
    assert_eq!(event.attr("to"), Some(sender), "{case}");
    assert_eq!(event.attr("id"), Some(id), "{case}");
    assert!(event.child("body", CLIENT).is_none(), "{case}: R27");
    let amp = event.child("amp", AMP).unwrap_or_else(|| panic!("{case}: no <amp>"));
    assert_eq!(amp.attr("status"), Some(action), "{case}");
    assert_eq!(amp.attr("from"), Some(sender), "{case}");
    assert_eq!(amp.attr("to"), Some(to), "{case}");
    // Exactly the fired rule, nothing else (D1).
    assert_same(
        &El { children: amp.children.clone(), ..El::default() },
        &El { children: vec![rule.clone()], ..El::default() },
        &case,
    );
    if action == "error" {
        assert_eq!(event.attr("type"), Some("error"), "{case}");
        let error = event.child("error", CLIENT).unwrap_or_else(|| panic!("{case}: no <error>"));
        assert_eq!((error.attr("type"), error.attr("code")), (Some("modify"), Some("500")), "{case}");
        assert!(error.child("undefined-condition", STANZAS).is_some(), "{case}");
        let failed = error.child("failed-rules", AMP_ERRORS).unwrap_or_else(|| panic!("{case}: no <failed-rules>"));
        let mut expected = El::new("failed-rules", AMP_ERRORS);
        expected.children = vec![El { ns: AMP_ERRORS.into(), ..rule.clone() }];
        assert_same(failed, &expected, &case);
    } else {
        assert_eq!(event.attr("type"), None, "{case}");
    }
}

/// What happened to an AMP request whose one rule is met.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The alert/error/notify event came back (for alert and error, the
    /// message went nowhere).
    Fired,
    /// Refused at validation with `<invalid-rules>` listing the rule (D15).
    Refused,
}

/// Sends `<message to id><body/><amp>rule</amp></message>` from `from`
/// (full JID `from_jid`), where `rule` is met and its action is alert or
/// error, and reports whether it fired or was refused; anything else (the
/// recipient's session `recipient` receiving something, no answer, another
/// answer) fails the test.
pub async fn probe(
    from: &mut Client,
    from_jid: &str,
    to: &str,
    recipient: Option<&mut Client>,
    rule: &str,
    id: &str,
) -> Outcome {
    let xml = format!("<amp xmlns='{AMP}'>{rule}</amp>");
    from.send_raw(&format!("<message to='{to}' id='{id}' type='chat'><body>secret</body>{xml}</message>"))
        .await
        .unwrap();
    let got = collect(from).await;
    if let Some(r) = recipient {
        let delivered = collect(r).await;
        assert!(delivered.is_empty(), "{id}: fired or refused, nothing is delivered: {delivered:?}");
    }
    assert_eq!(got.len(), 1, "{id}: {got:?}");
    let sent = parse(&xml);
    let rule = rules_of(&sent).remove(0);
    if got[0].find("error/not-acceptable").is_some() {
        assert_refusal(&got[0], from_jid, Some(id), &sent, Refusal::InvalidRules, &[rule]);
        return Outcome::Refused;
    }
    let action = rule.attr("action").unwrap_or_default().to_owned();
    assert_event(&got[0], from_jid, id, to, &action, &rule);
    Outcome::Fired
}
