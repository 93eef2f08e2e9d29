//! The exact stanza shapes of amp.md §2 (whitespace between elements
//! removed), and the R56 table.

use super::*;
use crate::request::{Policy, validate};
use crate::rules::NoCustomConditions;
use crate::security::SecurityLevel;
use crate::testing::{amp, cva};

const REPLY: Reply<'static> = Reply { server: "ex.test", to: "alice@ex.test/a1", id: Some("m1") };
const ORIGINAL: Original<'static> = Original { from: "alice@ex.test/a1", to: "bob@ex.test" };

fn stored(action: &str) -> RawRule {
    RawRule { attrs: cva("deliver", "stored", action).attrs }
}

fn xml(n: &Node) -> String {
    n.to_xml_within(ns::CLIENT)
}

fn refuse(a: &Node, id: Option<&str>, level: SecurityLevel) -> Rejection {
    *validate(id, a.clone(), &NoCustomConditions, Policy { level, same_account: false }, || false).unwrap_err()
}

/// R3, R25, R26, R41, R49–R52, D1: the alert event of amp.md §2.
#[test]
fn r41_d1_alert_event_shape() {
    let got = event(REPLY, Action::Alert, ORIGINAL, &stored("alert")).unwrap();
    assert_eq!(
        xml(&got),
        "<message from='ex.test' to='alice@ex.test/a1' id='m1'>\
         <amp xmlns='http://jabber.org/protocol/amp' status='alert' from='alice@ex.test/a1' to='bob@ex.test'>\
         <rule condition='deliver' value='stored' action='alert'/></amp></message>"
    );
}

/// R46, D1: notify is identical with status='notify'; a full original `to`
/// is echoed verbatim (R52, A6).
#[test]
fn r46_d1_notify_event_shape() {
    let original = Original { to: "bob@ex.test/desk", ..ORIGINAL };
    let got = event(REPLY, Action::Notify, original, &stored("notify")).unwrap();
    assert_eq!(
        xml(&got),
        "<message from='ex.test' to='alice@ex.test/a1' id='m1'>\
         <amp xmlns='http://jabber.org/protocol/amp' status='notify' from='alice@ex.test/a1' to='bob@ex.test/desk'>\
         <rule condition='deliver' value='stored' action='notify'/></amp></message>"
    );
}

/// R44, R45, D2: the error action's failed-rules shape.
#[test]
fn r44_r45_d2_error_action_shape() {
    let got = event(REPLY, Action::Error, ORIGINAL, &stored("error")).unwrap();
    assert_eq!(
        xml(&got),
        "<message from='ex.test' to='alice@ex.test/a1' id='m1' type='error'>\
         <amp xmlns='http://jabber.org/protocol/amp' status='error' from='alice@ex.test/a1' to='bob@ex.test'>\
         <rule condition='deliver' value='stored' action='error'/></amp>\
         <error type='modify' code='500'>\
         <undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         <failed-rules xmlns='http://jabber.org/protocol/amp#errors'>\
         <rule condition='deliver' value='stored' action='error'/></failed-rules>\
         </error></message>"
    );
}

/// R42, R43: drop produces no response of any kind.
#[test]
fn r43_drop_has_no_event() {
    assert_eq!(event(REPLY, Action::Drop, ORIGINAL, &stored("drop")), None);
}

/// D16: an event for an offline sender goes to its bare JID; the `<amp>`
/// still names the full original sender (R51).
#[test]
fn d16_event_to_offline_sender_uses_the_bare_jid() {
    let reply = Reply { to: "alice@ex.test", ..REPLY };
    let got = event(reply, Action::Alert, ORIGINAL, &stored("alert")).unwrap();
    assert_eq!(got.attr("to"), Some("alice@ex.test"));
    assert_eq!(got.child("amp", ns::AMP).unwrap().attr("from"), Some("alice@ex.test/a1"));
}

/// R57, D6: unsupported action, §2 validation shape.
#[test]
fn d6_unsupported_actions_shape() {
    let r = refuse(&amp(&[], vec![cva("deliver", "stored", "bounce")]), Some("m1"), SecurityLevel::None);
    assert_eq!(
        xml(&rejection(REPLY, &r)),
        "<message from='ex.test' to='alice@ex.test/a1' id='m1' type='error'>\
         <amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' value='stored' action='bounce'/></amp>\
         <error type='modify' code='400'>\
         <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         <unsupported-actions xmlns='http://jabber.org/protocol/amp'>\
         <rule condition='deliver' value='stored' action='bounce'/></unsupported-actions>\
         </error></message>"
    );
}

/// D6: unsupported condition.
#[test]
fn d6_unsupported_conditions_shape() {
    let r = refuse(&amp(&[], vec![cva("weather", "rain", "drop")]), Some("m1"), SecurityLevel::None);
    let got = xml(&rejection(REPLY, &r));
    assert!(got.ends_with(
        "<error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         <unsupported-conditions xmlns='http://jabber.org/protocol/amp'>\
         <rule condition='weather' value='rain' action='drop'/></unsupported-conditions></error></message>"
    ));
}

/// D6, D7, D15: invalid and refused rules together in `<invalid-rules>`
/// with `<not-acceptable/>` code 405; the echo keeps every rule.
#[test]
fn d6_d7_d15_invalid_rules_shape_lists_all_of_the_kind() {
    let a = amp(&[], vec![cva("deliver", "stored", "alert"), cva("deliver", "later", "drop")]);
    let r = refuse(&a, Some("m1"), SecurityLevel::Strict);
    assert_eq!(
        xml(&rejection(REPLY, &r)),
        "<message from='ex.test' to='alice@ex.test/a1' id='m1' type='error'>\
         <amp xmlns='http://jabber.org/protocol/amp'>\
         <rule condition='deliver' value='stored' action='alert'/><rule condition='deliver' value='later' action='drop'/></amp>\
         <error type='modify' code='405'>\
         <not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         <invalid-rules xmlns='http://jabber.org/protocol/amp'>\
         <rule condition='deliver' value='stored' action='alert'/><rule condition='deliver' value='later' action='drop'/>\
         </invalid-rules></error></message>"
    );
}

/// D10: no id → bad-request echoing `<amp>`, and no id on the reply.
#[test]
fn d10_missing_id_reply_has_no_id() {
    let r = refuse(&amp(&[], vec![cva("deliver", "stored", "drop")]), None, SecurityLevel::None);
    assert_eq!(
        xml(&rejection(Reply { id: None, ..REPLY }, &r)),
        "<message from='ex.test' to='alice@ex.test/a1' type='error'>\
         <amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' value='stored' action='drop'/></amp>\
         <error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    );
}

/// D11, D12: bad-request without a specific element; per-hop echoed as written.
#[test]
fn d11_d12_bad_request_shapes() {
    let r = refuse(&amp(&[], vec![]), Some("m1"), SecurityLevel::None);
    assert_eq!(
        xml(&rejection(REPLY, &r)),
        "<message from='ex.test' to='alice@ex.test/a1' id='m1' type='error'>\
         <amp xmlns='http://jabber.org/protocol/amp'/>\
         <error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    );
    let r =
        refuse(&amp(&[("per-hop", "maybe")], vec![cva("deliver", "stored", "drop")]), Some("m1"), SecurityLevel::None);
    assert!(xml(&rejection(REPLY, &r)).contains("<amp xmlns='http://jabber.org/protocol/amp' per-hop='maybe'>"));
}

/// R24: next hop lacks AMP.
#[test]
fn r24_service_unavailable_shape() {
    let echo = amp(&[], vec![cva("expire-at", "2004-01-01T00:00:00Z", "drop")]);
    assert_eq!(
        xml(&service_unavailable(REPLY, &echo)),
        "<message from='ex.test' to='alice@ex.test/a1' id='m1' type='error'>\
         <amp xmlns='http://jabber.org/protocol/amp'><rule condition='expire-at' value='2004-01-01T00:00:00Z' action='drop'/></amp>\
         <error type='cancel' code='503'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    );
}

/// R56: the whole table.
#[test]
fn r56_error_table() {
    use AmpError::*;
    let rows = [
        (UnsupportedActions, Condition::BadRequest, ErrorType::Modify, 400, Some("unsupported-actions")),
        (UnsupportedConditions, Condition::BadRequest, ErrorType::Modify, 400, Some("unsupported-conditions")),
        (InvalidRules, Condition::NotAcceptable, ErrorType::Modify, 405, Some("invalid-rules")),
        (BadRequest, Condition::BadRequest, ErrorType::Modify, 400, None),
        (ServiceUnavailable, Condition::ServiceUnavailable, ErrorType::Cancel, 503, None),
        (FailedRules, Condition::UndefinedCondition, ErrorType::Modify, 500, Some("failed-rules")),
    ];
    for (e, condition, ty, code, container) in rows {
        assert_eq!(
            (e.condition(), e.error_type(), e.code(), e.container().map(|c| c.0)),
            (condition, ty, code, container)
        );
    }
    assert_eq!(FailedRules.container().unwrap().1, ns::AMP_ERRORS);
}

/// R27: whatever the rule's attributes hold, the event is well-formed and
/// carries nothing but the envelope, the `<amp>` and (for error) `<error>`.
#[test]
fn r27_events_carry_only_amp() {
    let odd = RawRule { attrs: vec![("condition".into(), "deliver".into()), ("value".into(), "<'&\">".into())] };
    let got = event(REPLY, Action::Notify, ORIGINAL, &odd).unwrap();
    assert_eq!(got.children.len(), 1);
    assert!(xml(&got).contains("value='&lt;&apos;&amp;&quot;&gt;'"));
}
