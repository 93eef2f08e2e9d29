//! XEP-0079 §2.2.1 and §6 over real sockets: every request the `amp`
//! plugin must refuse before evaluating anything (R17, R19a/b, R47, R53–R57;
//! rulings D6, D7, D10–D12), each answered with the exact error of amp.md §2
//! while the recipient gets nothing and nothing is stored, online or
//! offline; then what must be accepted (per-hop booleans) and D13 (client
//! `status`/`from`/`to` are stripped, not honoured; `type='error'` messages
//! are never evaluated).
//!
//! The security level is NONE so that D15 cannot be the reason for a
//! refusal here; `amp_security.rs` covers it.

mod amp_support;

use amp_support::{
    AMP, QUIET, Refusal, assert_event, assert_refusal, assert_same, collect, login, parse, rules_of, stored,
};
use wasmpp_tests::client::Client;
use wasmpp_tests::server::TestServer;
use wasmpp_tests::xml::El;

const ROMEO: &str = "romeo@localhost/orchard";
const JULIET: &str = "juliet@localhost";

/// One refused request: the message's `id` attribute (`None`: absent), its
/// `<amp>` as sent, and the error it must get, listing the rules at these
/// indices.
struct Case {
    name: &'static str,
    id: Option<&'static str>,
    amp: String,
    refusal: Refusal,
    listed: &'static [usize],
}

fn amp(rules: &[&str]) -> String {
    format!("<amp xmlns='{AMP}'>{}</amp>", rules.concat())
}

fn case(name: &'static str, rules: &[&str], refusal: Refusal, listed: &'static [usize]) -> Case {
    Case { name, id: Some("v1"), amp: amp(rules), refusal, listed }
}

const VALID: &str = "<rule condition='deliver' value='direct' action='alert'/>";

fn cases() -> Vec<Case> {
    use Refusal::*;
    let invalid = |name, rule| case(name, &[rule], InvalidRules, &[0]);
    vec![
        // D6: what the server lacks.
        case(
            "unknown action",
            &["<rule condition='deliver' value='direct' action='explode'/>"],
            UnsupportedActions,
            &[0],
        ),
        case(
            "action is case-sensitive",
            &["<rule condition='deliver' value='direct' action='ALERT'/>"],
            UnsupportedActions,
            &[0],
        ),
        case(
            "unknown condition",
            &["<rule condition='weather' value='rain' action='alert'/>"],
            UnsupportedConditions,
            &[0],
        ),
        case(
            "condition is case-sensitive",
            &["<rule condition='Deliver' value='direct' action='alert'/>"],
            UnsupportedConditions,
            &[0],
        ),
        // D6: known condition, bad value or missing attribute.
        invalid("bad deliver value", "<rule condition='deliver' value='sometimes' action='alert'/>"),
        invalid("deliver value is case-sensitive", "<rule condition='deliver' value='Direct' action='alert'/>"),
        invalid("bad match-resource value", "<rule condition='match-resource' value='home' action='alert'/>"),
        invalid(
            "expire-at not in UTC",
            "<rule condition='expire-at' value='2030-01-01T00:00:00+02:00' action='alert'/>",
        ),
        invalid("expire-at unparsable", "<rule condition='expire-at' value='tomorrow' action='alert'/>"),
        invalid("expire-at a date only", "<rule condition='expire-at' value='2030-01-01' action='alert'/>"),
        invalid("expire-at out of range", "<rule condition='expire-at' value='2030-02-30T00:00:00Z' action='alert'/>"),
        invalid("expire-at without a zone", "<rule condition='expire-at' value='2030-01-01T00:00:00' action='alert'/>"),
        invalid("missing value", "<rule condition='deliver' action='alert'/>"),
        invalid("empty value", "<rule condition='deliver' value='' action='alert'/>"),
        invalid("missing action", "<rule condition='deliver' value='direct'/>"),
        invalid("empty action", "<rule condition='deliver' value='direct' action=''/>"),
        invalid("missing condition", "<rule value='direct' action='alert'/>"),
        invalid("empty condition", "<rule condition='' value='direct' action='alert'/>"),
        // R17: every rule is checked before any is evaluated; the valid
        // first rule (which would fire) must not produce an alert.
        case(
            "valid rule then a bad one",
            &[VALID, "<rule condition='deliver' value='bogus' action='alert'/>"],
            InvalidRules,
            &[1],
        ),
        // D7: the first offender's category decides; its container lists
        // every rule of that category, in order, and no other.
        case(
            "invalid first",
            &[
                "<rule condition='deliver' value='bogus' action='alert'/>",
                "<rule condition='deliver' value='direct' action='explode'/>",
                "<rule condition='weather' value='rain' action='notify'/>",
                VALID,
                "<rule condition='match-resource' value='home' action='drop'/>",
            ],
            InvalidRules,
            &[0, 4],
        ),
        case(
            "unsupported condition first",
            &[
                "<rule condition='weather' value='rain' action='alert'/>",
                VALID,
                "<rule condition='deliver' value='direct' action='explode'/>",
                "<rule condition='deliver' action='alert'/>",
                "<rule condition='tide' value='high' action='drop'/>",
            ],
            UnsupportedConditions,
            &[0, 4],
        ),
        case(
            "unsupported action first",
            &[
                VALID,
                "<rule condition='deliver' value='direct' action='explode'/>",
                "<rule condition='expire-at' value='never' action='alert'/>",
                "<rule condition='weather' value='rain' action='alert'/>",
                "<rule condition='match-resource' value='any' action='zap'/>",
            ],
            UnsupportedActions,
            &[1, 4],
        ),
        // D13: a client's status/from/to are not echoed back.
        Case {
            name: "client status/from/to stripped from the echo",
            id: Some("v1"),
            amp: format!(
                "<amp xmlns='{AMP}' status='alert' from='juliet@localhost/balcony' to='nurse@localhost' \
                 per-hop='false'><rule condition='deliver' value='direct' action='explode'/></amp>"
            ),
            refusal: UnsupportedActions,
            listed: &[0],
        },
        // D10: id missing or empty.
        Case { name: "missing id", id: None, amp: amp(&[VALID]), refusal: BadRequest, listed: &[] },
        Case { name: "empty id", id: Some(""), amp: amp(&[VALID]), refusal: BadRequest, listed: &[] },
        // D11, R47: no rules.
        Case {
            name: "empty <amp/>",
            id: Some("v1"),
            amp: format!("<amp xmlns='{AMP}'/>"),
            refusal: BadRequest,
            listed: &[],
        },
        // D12, R16: per-hop is an xs:boolean.
        for_per_hop("maybe"),
        for_per_hop(""),
        for_per_hop("TRUE"),
        for_per_hop("yes"),
    ]
}

fn for_per_hop(value: &'static str) -> Case {
    Case {
        name: "per-hop not a boolean",
        id: Some("v1"),
        amp: format!("<amp xmlns='{AMP}' per-hop='{value}'>{VALID}</amp>"),
        refusal: Refusal::BadRequest,
        listed: &[],
    }
}

/// The message for a case: a chat with a body, to juliet's bare JID.
fn message(case: &Case) -> String {
    let id = case.id.map(|id| format!(" id='{id}'")).unwrap_or_default();
    format!("<message to='{JULIET}' type='chat'{id}><body>secret</body>{}</message>", case.amp)
}

async fn server() -> TestServer {
    let srv = TestServer::start(&["--amp-security-level=NONE"]).await;
    for user in ["romeo", "juliet"] {
        srv.add_user(user, "pw").await;
    }
    srv
}

/// Sends every case from romeo and checks the error he gets, that juliet
/// (when online) gets nothing, and that nothing is stored.
async fn refuse_all(srv: &TestServer, romeo: &mut Client, mut juliet: Option<&mut Client>) {
    let forge = |c: Case| {
        let amp =
            c.amp.replacen("<amp ", "<amp status='notify' from='juliet@localhost/balcony' to='romeo@localhost' ", 1);
        Case { name: c.name, amp, ..c }
    };
    // Each case as written, then with a client-set status/from/to (D13),
    // which must not change the answer and never be echoed.
    // (A case that sets them already is not forged twice: a repeated
    // attribute is not XML.)
    let forged = cases().into_iter().filter(|c| !c.amp.contains("status=")).map(forge);
    for case in cases().into_iter().chain(forged) {
        let name =
            format!("{} (juliet {}): {}", case.name, if juliet.is_some() { "online" } else { "offline" }, case.amp);
        romeo.send_raw(&message(&case)).await.unwrap();
        let to_romeo = collect(romeo).await;
        assert_eq!(to_romeo.len(), 1, "{name}: exactly the error, got {to_romeo:?}");
        let sent = parse(&case.amp);
        let rules = rules_of(&sent);
        let listed: Vec<El> = case.listed.iter().map(|&i| rules[i].clone()).collect();
        assert_refusal(&to_romeo[0], ROMEO, case.id, &sent, case.refusal, &listed);
        if let Some(j) = juliet.as_deref_mut() {
            let got = collect(j).await;
            assert!(got.is_empty(), "{name}: juliet got {got:?}");
        }
        assert_eq!(stored(srv, JULIET).await, (0, 0), "{name}: nothing stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_get_the_exact_error_and_go_nowhere() {
    let srv = server().await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    refuse_all(&srv, &mut romeo, Some(&mut juliet)).await;
    juliet.close().await.unwrap();
    refuse_all(&srv, &mut romeo, None).await;
    // Juliet then finds nothing waiting either.
    let mut juliet = login(&srv, "juliet", "balcony").await;
    juliet.expect_silence(QUIET).await.unwrap();
}

/// Sends `amp` (with `id='p1'`) from romeo to juliet (online) and returns
/// what each received.
async fn exchange(romeo: &mut Client, juliet: &mut Client, amp: &str) -> (Vec<El>, Vec<El>) {
    romeo
        .send_raw(&format!("<message to='{JULIET}' id='p1' type='chat'><body>secret</body>{amp}</message>"))
        .await
        .unwrap();
    (collect(romeo).await, collect(juliet).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_hop_booleans_are_accepted_and_the_rules_evaluated() {
    let srv = server().await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    // D3: on a single-domain server this is the edge, so per-hop changes
    // nothing, not even for match-resource (skipped only at inner hops).
    let any = "<rule condition='match-resource' value='any' action='alert'/>";
    for value in ["true", "false", "1", "0"] {
        for r in [VALID, any] {
            let xml = format!("<amp xmlns='{AMP}' per-hop='{value}'>{r}</amp>");
            let (to_romeo, to_juliet) = exchange(&mut romeo, &mut juliet, &xml).await;
            assert_eq!(to_romeo.len(), 1, "per-hop={value} {r}: {to_romeo:?}");
            assert_event(&to_romeo[0], ROMEO, "p1", JULIET, "alert", &rule(r));
            assert!(to_juliet.is_empty(), "per-hop={value}: alert discards: {to_juliet:?}");
            assert_eq!(stored(&srv, JULIET).await, (0, 0));
        }
    }
}

/// A `<rule/>` as written inside `<amp>` (in the AMP namespace).
fn rule(xml: &str) -> El {
    rules_of(&parse(&amp(&[xml])))[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_bypass_evaluation_with_status_from_or_to() {
    let srv = server().await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    let forged = "status='alert' from='juliet@localhost/balcony' to='nurse@localhost'";

    // The request is evaluated (the alert fires), and the event carries the
    // real addresses, not the forged ones.
    let xml = format!("<amp xmlns='{AMP}' {forged}>{VALID}</amp>");
    let (to_romeo, to_juliet) = exchange(&mut romeo, &mut juliet, &xml).await;
    assert_eq!(to_romeo.len(), 1, "{to_romeo:?}");
    assert_event(&to_romeo[0], ROMEO, "p1", JULIET, "alert", &rule(VALID));
    assert!(to_juliet.is_empty(), "the alert discards the message: {to_juliet:?}");

    // A notify: the event, then juliet's copy with the real from/to (D9)
    // and no status.
    let notify = "<rule condition='deliver' value='direct' action='notify'/>";
    let xml =
        format!("<amp xmlns='{AMP}' status='notify' from='nurse@localhost/x' to='tybalt@localhost'>{notify}</amp>");
    let (to_romeo, to_juliet) = exchange(&mut romeo, &mut juliet, &xml).await;
    assert_eq!(to_romeo.len(), 1, "{to_romeo:?}");
    assert_event(&to_romeo[0], ROMEO, "p1", JULIET, "notify", &rule(notify));
    assert_eq!(to_juliet.len(), 1, "{to_juliet:?}");
    let copy = to_juliet[0].child("amp", AMP).unwrap_or_else(|| panic!("{}", to_juliet[0]));
    let expected = parse(&format!("<amp xmlns='{AMP}' from='{ROMEO}' to='{JULIET}'>{notify}</amp>"));
    assert_same(copy, &expected, "the delivered copy");
    assert_eq!(to_juliet[0].find_text("body"), Some("secret"));

    // A rule that does not fire: juliet gets the message, romeo nothing,
    // even though the request claims to be an alert event.
    let silent = "<rule condition='deliver' value='stored' action='alert'/>";
    let xml = format!("<amp xmlns='{AMP}' {forged}>{silent}</amp>");
    let (to_romeo, to_juliet) = exchange(&mut romeo, &mut juliet, &xml).await;
    assert!(to_romeo.is_empty(), "{to_romeo:?}");
    assert_eq!(to_juliet.len(), 1, "{to_juliet:?}");
    let copy = to_juliet[0].child("amp", AMP).unwrap();
    assert_eq!((copy.attr("status"), copy.attr("from"), copy.attr("to")), (None, Some(ROMEO), Some(JULIET)), "{copy}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_on_an_error_message_are_not_evaluated() {
    let srv = server().await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    // An error message to juliet's session (routed: a full JID with a
    // session), carrying a rule that would fire and one that is invalid.
    let xml = format!(
        "<message to='{JULIET}/balcony' id='e1' type='error'><amp xmlns='{AMP}'>{VALID}\
         <rule condition='deliver' value='bogus' action='alert'/></amp>\
         <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    );
    romeo.send_raw(&xml).await.unwrap();
    let to_romeo = collect(&mut romeo).await;
    assert!(to_romeo.is_empty(), "no event and no validation error for an error message: {to_romeo:?}");
    let to_juliet = collect(&mut juliet).await;
    assert_eq!(to_juliet.len(), 1, "delivered unchanged: {to_juliet:?}");
    let got = &to_juliet[0];
    assert_eq!((got.attr("type"), got.attr("id"), got.attr("from")), (Some("error"), Some("e1"), Some(ROMEO)));
    let sent = parse(&xml);
    assert_same(got.child("amp", AMP).unwrap(), sent.child("amp", AMP).unwrap(), "the <amp> untouched");
    assert_eq!(stored(&srv, JULIET).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refusal_comes_alone_whoever_the_recipient_is() {
    let srv = server().await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let bad = amp(&["<rule condition='deliver' value='none' action='explode'/>"]);
    let sent = parse(&bad);
    let listed = rules_of(&sent);
    // A nonexistent account: the refusal, and no service-unavailable bounce
    // besides (R19a: the message is not processed further).
    romeo
        .send_raw(&format!("<message to='nobody@localhost' id='x1' type='chat'><body>b</body>{bad}</message>"))
        .await
        .unwrap();
    let got = collect(&mut romeo).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_refusal(&got[0], ROMEO, Some("x1"), &sent, Refusal::UnsupportedActions, &listed);
    // No `to`: addressed to romeo's own bare JID (RFC 6121 §8.1.1.1).
    romeo.send_raw(&format!("<message id='x2'><body>b</body>{bad}</message>")).await.unwrap();
    let got = collect(&mut romeo).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_refusal(&got[0], ROMEO, Some("x2"), &sent, Refusal::UnsupportedActions, &listed);
    // Romeo's own full JID: his session gets the refusal, not the message.
    romeo.send_raw(&format!("<message to='{ROMEO}' id='x3'><body>b</body>{bad}</message>")).await.unwrap();
    let got = collect(&mut romeo).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_refusal(&got[0], ROMEO, Some("x3"), &sent, Refusal::UnsupportedActions, &listed);
    assert_eq!(stored(&srv, "nobody@localhost").await, (0, 0));
    assert_eq!(stored(&srv, "romeo@localhost").await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_status_from_to_never_reach_the_stored_copy() {
    let srv = server().await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    // Not met for an offline recipient: the message is stored with its rule.
    let kept = "<rule condition='deliver' value='direct' action='alert'/>";
    let xml = format!("<amp xmlns='{AMP}' status='notify' from='nurse@localhost/x' to='tybalt@localhost'>{kept}</amp>");
    romeo
        .send_raw(&format!("<message to='{JULIET}' id='k1' type='chat'><body>kept</body>{xml}</message>"))
        .await
        .unwrap();
    assert!(collect(&mut romeo).await.is_empty(), "not met, nothing to tell");
    assert_eq!(stored(&srv, JULIET).await, (1, 0));
    let mut juliet =
        Client::login(srv.addr, wasmpp_tests::server::DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    let got = collect(&mut juliet).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let copy = got[0].child("amp", AMP).unwrap_or_else(|| panic!("{}", got[0]));
    let expected = parse(&format!("<amp xmlns='{AMP}' from='{ROMEO}' to='{JULIET}'>{kept}</amp>"));
    assert_same(copy, &expected, "D9/D13: the real from/to, no status");
    assert!(collect(&mut romeo).await.is_empty(), "delivering it fires nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_to_a_remote_recipient_are_still_validated_and_answered_as_amp() {
    let srv = server().await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    // R17/D6: an invalid rule is reported as such, wherever the message goes.
    let bad = amp(&["<rule condition='deliver' value='bogus' action='alert'/>"]);
    romeo.send_raw(&format!("<message to='paris@verona.example' id='r1'><body>b</body>{bad}</message>")).await.unwrap();
    let got = collect(&mut romeo).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let sent = parse(&bad);
    assert_refusal(&got[0], ROMEO, Some("r1"), &sent, Refusal::InvalidRules, &rules_of(&sent));

    // R24: a rule that does not fire; the next hop is not known to support
    // AMP (there is no s2s at all), so the sender gets the §2 shape.
    let silent = format!(
        "<amp xmlns='{AMP}' status='alert' from='x@y/z'><rule condition='deliver' value='stored' action='alert'/></amp>"
    );
    romeo
        .send_raw(&format!("<message to='paris@verona.example' id='r2'><body>b</body>{silent}</message>"))
        .await
        .unwrap();
    let got = collect(&mut romeo).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let reply = &got[0];
    assert_eq!(reply.attr("from"), Some(wasmpp_tests::server::DOMAIN), "{reply}");
    assert_eq!((reply.attr("to"), reply.attr("id"), reply.attr("type")), (Some(ROMEO), Some("r2"), Some("error")));
    let echo = reply.child("amp", AMP).unwrap_or_else(|| panic!("{reply}"));
    assert_same(echo, &amp_support::echo_of(&parse(&silent)), "the echo without status/from/to");
    let error = reply.find("error").unwrap_or_else(|| panic!("{reply}"));
    assert_eq!((error.attr("type"), error.attr("code")), (Some("cancel"), Some("503")), "{reply}");
    assert!(error.child("service-unavailable", amp_support::STANZAS).is_some(), "{reply}");
}
