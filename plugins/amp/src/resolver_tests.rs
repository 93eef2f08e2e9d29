//! Rule evaluation: R13–R15, R21, R30, R35, R38–R42, R46, D3, D4, D14,
//! D17, D18, X7 — unit tests, then property tests against a reference model.

use std::cell::Cell;

use proptest::prelude::*;

use super::*;
use crate::rules::{Declaration, DeliverValue, RawRule};
use crate::strategy::Undelivered;

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

const NOW: &str = "2030-06-01T12:00:00Z";

fn ctx(to_resource: Option<&str>) -> Context<'_> {
    Context { now: at(NOW), to_resource, hop: Hop::Edge }
}

fn raw_of(condition: &Condition, action: Action) -> RawRule {
    let (c, v) = match condition {
        Condition::Deliver(v) => ("deliver".to_owned(), v.as_str().to_owned()),
        Condition::ExpireAt(t) => ("expire-at".to_owned(), t.to_string()),
        Condition::MatchResource(m) => ("match-resource".to_owned(), m.as_str().to_owned()),
        Condition::Custom { name, value, .. } => (name.clone(), value.clone()),
    };
    let attrs = [("condition", c), ("value", v), ("action", action.as_str().to_owned())];
    RawRule { attrs: attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }
}

fn r(condition: Condition, action: Action) -> Rule {
    Rule { raw: raw_of(&condition, action), condition, action }
}

fn req(rules: Vec<Rule>) -> AmpRequest {
    AmpRequest::from_rules(false, rules)
}

fn direct(rs: &[&str]) -> Disposition {
    Disposition::Direct(rs.iter().map(|s| s.to_string()).collect())
}

fn no_custom(_: &str, _: &str) -> bool {
    panic!("no custom condition here")
}

fn one(c: Condition, d: &Disposition, to: Option<&str>) -> bool {
    resolve(&req(vec![r(c, Action::Alert)]), d, &ctx(to), no_custom) != Outcome::Default
}

const BOUNCE: Disposition = Disposition::None(Undelivered::Bounce);

/// R30, D17: each `deliver` value matches exactly its disposition(s).
#[test]
fn r30_d17_deliver_matches_the_default_disposition() {
    let cases = [
        (direct(&["a"]), DeliverValue::Direct),
        (Disposition::NextHop, DeliverValue::Direct),
        (Disposition::Stored, DeliverValue::Stored),
        (BOUNCE, DeliverValue::None),
        (Disposition::None(Undelivered::Silent), DeliverValue::None),
        (Disposition::Forward, DeliverValue::Forward),
        (Disposition::Gateway, DeliverValue::Gateway),
    ];
    for (d, want) in cases {
        for v in DeliverValue::ALL {
            assert_eq!(one(Condition::Deliver(v), &d, None), v == want, "{d:?} {v:?}");
        }
    }
}

/// R35, D18: met when now ≥ value, whatever the disposition.
#[test]
fn r35_d18_expire_at_is_met_at_and_after_the_instant() {
    for d in [direct(&["a"]), Disposition::Stored, BOUNCE] {
        assert!(one(Condition::ExpireAt(at("2030-06-01T11:59:59Z")), &d, None));
        assert!(one(Condition::ExpireAt(at(NOW)), &d, None), "on the instant");
        assert!(!one(Condition::ExpireAt(at("2030-06-01T12:00:00.001Z")), &d, None));
    }
}

/// R38 for a full JID: exact = that resource, other = some other resource,
/// any = any resource; storage or no delivery matches none.
#[test]
fn r38_match_resource_at_a_full_jid() {
    use MatchResource::*;
    let m = |v, d: &Disposition| one(Condition::MatchResource(v), d, Some("home"));
    assert!(m(Exact, &direct(&["home"])) && m(Any, &direct(&["home"])) && !m(Other, &direct(&["home"])));
    assert!(!m(Exact, &direct(&["work"])) && m(Any, &direct(&["work"])) && m(Other, &direct(&["work"])));
    // No partial matching (R38 note).
    assert!(!m(Exact, &direct(&["homeboy"])) && m(Other, &direct(&["homeboy"])));
    for d in [Disposition::Stored, BOUNCE, Disposition::NextHop, Disposition::Forward, Disposition::Gateway] {
        for v in MatchResource::ALL {
            assert!(!m(v, &d), "{v:?} {d:?}");
        }
    }
}

/// R39 and the bare-JID ruling: exact = resource-less destination (storage),
/// other and any = delivered to some resource.
#[test]
fn r39_match_resource_at_a_bare_jid() {
    use MatchResource::*;
    let m = |v, d: &Disposition| one(Condition::MatchResource(v), d, None);
    assert!(!m(Exact, &direct(&["desk"])) && m(Other, &direct(&["desk"])) && m(Any, &direct(&["desk", "phone"])));
    assert!(m(Exact, &Disposition::Stored) && !m(Other, &Disposition::Stored) && !m(Any, &Disposition::Stored));
    for v in MatchResource::ALL {
        assert!(!m(v, &BOUNCE), "an undelivered message reaches no destination");
    }
}

/// R21, D4: first match wins; later rules are not evaluated, even when
/// the first match is a notify.
#[test]
fn r21_d4_first_match_wins_notify_included() {
    let rules = vec![
        r(Condition::Deliver(DeliverValue::Direct), Action::Drop),
        r(Condition::Deliver(DeliverValue::Stored), Action::Notify),
        r(Condition::Deliver(DeliverValue::Stored), Action::Alert),
        r(Condition::Custom { name: "c".into(), value: "v".into(), declaration: DECL }, Action::Error),
    ];
    let got = resolve(&req(rules), &Disposition::Stored, &ctx(None), no_custom);
    assert_eq!(got, Outcome::Fired { rule: 1, action: Action::Notify });
    assert!(got.takes_default(), "R46: notify does not override the default");
    assert_eq!(got.event(), Some(Action::Notify));
}

/// R22: no rule met → default; R41–R44: alert, drop, error discard.
#[test]
fn r22_r41_r42_r44_outcome_helpers() {
    assert!(Outcome::Default.takes_default());
    assert_eq!(Outcome::Default.event(), None);
    assert_eq!(Outcome::Default.fired(), None);
    for (action, event) in
        [(Action::Alert, Some(Action::Alert)), (Action::Drop, None), (Action::Error, Some(Action::Error))]
    {
        let o = Outcome::Fired { rule: 2, action };
        assert!(!o.takes_default(), "{action:?}");
        assert_eq!((o.event(), o.fired()), (event, Some(2)));
    }
}

const DECL: Declaration = Declaration { reveals_presence: false, per_hop: false };

/// Issue 4 item 7: custom conditions are asked lazily, in turn.
#[test]
fn custom_conditions_are_evaluated_in_turn_and_lazily() {
    let custom = |v: &str| {
        r(Condition::Custom { name: "body-contains".into(), value: v.into(), declaration: DECL }, Action::Drop)
    };
    let rules = vec![custom("a"), custom("b"), custom("c")];
    let asked = Cell::new(Vec::new());
    let got = resolve(&req(rules), &direct(&["x"]), &ctx(None), |name, value| {
        assert_eq!(name, "body-contains");
        let mut seen = asked.take();
        seen.push(value.to_owned());
        asked.set(seen);
        value == "b"
    });
    assert_eq!(got, Outcome::Fired { rule: 1, action: Action::Drop });
    assert_eq!(asked.take(), ["a", "b"]);
}

/// R13, R14: an intermediate hop ignores a rule set without per-hop.
/// R15, R40, D3: with per-hop it skips match-resource (and custom rules not
/// declared per-hop), but evaluates deliver and expire-at. An edge server
/// evaluates everything, per-hop or not.
#[test]
fn r13_r15_r40_d3_per_hop() {
    let rules = vec![
        r(Condition::MatchResource(MatchResource::Any), Action::Alert),
        r(Condition::Custom { name: "c".into(), value: "v".into(), declaration: DECL }, Action::Alert),
        r(Condition::Deliver(DeliverValue::Direct), Action::Drop),
    ];
    let d = direct(&["a"]);
    let hop = Context { hop: Hop::Intermediate, ..ctx(None) };
    assert_eq!(resolve(&AmpRequest::from_rules(false, rules.clone()), &d, &hop, no_custom), Outcome::Default);
    assert_eq!(
        resolve(&AmpRequest::from_rules(true, rules.clone()), &d, &hop, no_custom),
        Outcome::Fired { rule: 2, action: Action::Drop }
    );
    for per_hop in [false, true] {
        let edge = resolve(&AmpRequest::from_rules(per_hop, rules.clone()), &d, &ctx(None), no_custom);
        assert_eq!(edge, Outcome::Fired { rule: 0, action: Action::Alert });
    }
}

/// X7, D18: only expire-at rules are kept, without the one that fired.
#[test]
fn x7_d18_kept_rules_and_next_expiry() {
    let rules = vec![
        r(Condition::ExpireAt(at("2031-01-01T00:00:00Z")), Action::Drop),
        r(Condition::Deliver(DeliverValue::Stored), Action::Notify),
        r(Condition::ExpireAt(at("2030-01-01T00:00:00Z")), Action::Notify),
        r(Condition::ExpireAt(at("2030-07-01T00:00:00Z")), Action::Alert),
    ];
    let kept = kept_for_storage(&rules, Outcome::Fired { rule: 2, action: Action::Notify });
    assert_eq!(kept, [rules[0].clone(), rules[3].clone()]);
    assert_eq!(next_expiry(&kept), Some(at("2030-07-01T00:00:00Z")));
    assert_eq!(kept_for_storage(&rules, Outcome::Default).len(), 3);
    assert_eq!(next_expiry(&rules[1..2]), None);
}

/// D18: at the sweep or at flush, an expired alert/error/drop discards the
/// message; a notify fires once and the message stays; nothing expired is
/// delivered except after a notify.
#[test]
fn d18_recheck_of_a_stored_message() {
    let drop_at = r(Condition::ExpireAt(at("2030-06-01T13:00:00Z")), Action::Drop);
    let notify_at = r(Condition::ExpireAt(at("2030-06-01T11:00:00Z")), Action::Notify);
    let alert_at = r(Condition::ExpireAt(at("2030-06-01T12:00:00Z")), Action::Alert);

    let before = recheck(vec![notify_at.clone(), drop_at.clone()], at("2030-06-01T10:00:00Z"));
    assert_eq!(
        before,
        Recheck { notified: vec![], discarded_by: None, remaining: vec![notify_at.clone(), drop_at.clone()] }
    );

    let mid = recheck(vec![notify_at.clone(), drop_at.clone()], at(NOW));
    assert_eq!(
        mid,
        Recheck { notified: vec![notify_at.clone()], discarded_by: None, remaining: vec![drop_at.clone()] }
    );

    let late = recheck(vec![notify_at.clone(), alert_at.clone(), drop_at.clone()], at("2030-06-01T14:00:00Z"));
    assert_eq!(late.notified, [notify_at]);
    assert_eq!(late.discarded_by, Some(alert_at), "first expired discarding rule in document order");
    assert_eq!(late.remaining, [drop_at]);
}

// ---- property tests ------------------------------------------------------

const RESOURCES: [&str; 3] = ["a", "b", "home"];

fn arb_condition() -> impl Strategy<Value = Condition> {
    let base = at(NOW).unix_secs();
    prop_oneof![
        prop::sample::select(DeliverValue::ALL.to_vec()).prop_map(Condition::Deliver),
        (-3i64..3).prop_map(move |d| Condition::ExpireAt(Timestamp::from_unix(base + d * 60, 0))),
        prop::sample::select(MatchResource::ALL.to_vec()).prop_map(Condition::MatchResource),
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(yes, reveals_presence, per_hop)| Condition::Custom {
            name: "flag".into(),
            value: if yes { "yes" } else { "no" }.into(),
            declaration: Declaration { reveals_presence, per_hop },
        }),
    ]
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    (arb_condition(), prop::sample::select(Action::ALL.to_vec())).prop_map(|(c, a)| r(c, a))
}

fn arb_disposition() -> impl Strategy<Value = Disposition> {
    prop_oneof![
        prop::sample::subsequence(RESOURCES.to_vec(), 1..=3)
            .prop_map(|rs| Disposition::Direct(rs.into_iter().map(String::from).collect())),
        Just(Disposition::NextHop),
        Just(Disposition::Forward),
        Just(Disposition::Gateway),
        Just(Disposition::Stored),
        Just(Disposition::None(Undelivered::Bounce)),
        Just(Disposition::None(Undelivered::Silent)),
    ]
}

fn arb_to() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec!["a", "home", "zzz"]))
}

fn arb_hop() -> impl Strategy<Value = Hop> {
    prop_oneof![3 => Just(Hop::Edge), 1 => Just(Hop::Intermediate)]
}

/// The reference model, written from the spec text rather than from the
/// code: destinations are resources (`Some`) or the resource-less offline
/// store (`None`); `exact` = the addressed destination is among them, `other`
/// = some resource that is not the addressed one, `any` = some resource.
fn model_met(rule: &Rule, d: &Disposition, c: &Context<'_>, per_hop: bool) -> bool {
    if c.hop == Hop::Intermediate && (!per_hop || matches!(rule.condition, Condition::MatchResource(_))) {
        return false;
    }
    let destinations: Vec<Option<&str>> = match d {
        Disposition::Direct(rs) => rs.iter().map(|s| Some(s.as_str())).collect(),
        Disposition::Stored => vec![None],
        _ => vec![],
    };
    match &rule.condition {
        Condition::Deliver(v) => {
            let want = match d {
                Disposition::Direct(_) | Disposition::NextHop => "direct",
                Disposition::Forward => "forward",
                Disposition::Gateway => "gateway",
                Disposition::Stored => "stored",
                Disposition::None(_) => "none",
            };
            v.as_str() == want
        }
        Condition::ExpireAt(t) => c.now.unix_secs() >= t.unix_secs(),
        Condition::MatchResource(MatchResource::Any) => destinations.iter().any(Option::is_some),
        Condition::MatchResource(MatchResource::Exact) => destinations.contains(&c.to_resource),
        Condition::MatchResource(MatchResource::Other) => {
            destinations.iter().any(|x| x.is_some() && *x != c.to_resource)
        }
        Condition::Custom { value, declaration, .. } => (c.hop == Hop::Edge || declaration.per_hop) && value == "yes",
    }
}

fn flag(_: &str, value: &str) -> bool {
    value == "yes"
}

proptest! {
    /// Never panics, is deterministic, and equals the first rule the model
    /// says is met (R21, D4).
    #[test]
    fn resolve_matches_the_reference_model(
        rules in prop::collection::vec(arb_rule(), 0..10),
        per_hop in any::<bool>(),
        d in arb_disposition(),
        to in arb_to(),
        hop in arb_hop(),
    ) {
        let c = Context { hop, ..ctx(to) };
        let request = AmpRequest::from_rules(per_hop, rules.clone());
        let got = resolve(&request, &d, &c, flag);
        prop_assert_eq!(got, resolve(&request, &d, &c, flag));
        let want = rules.iter().position(|rule| model_met(rule, &d, &c, per_hop));
        prop_assert_eq!(got.fired(), want);
        if let Some(i) = want {
            prop_assert_eq!(got, Outcome::Fired { rule: i, action: rules[i].action });
        }
    }

    /// First match wins: rules after the fired one change nothing, and
    /// prepending rules that are not met only shifts the index.
    #[test]
    fn first_match_wins(
        rules in prop::collection::vec(arb_rule(), 1..8),
        tail in prop::collection::vec(arb_rule(), 0..5),
        d in arb_disposition(),
        to in arb_to(),
    ) {
        let c = ctx(to);
        let got = resolve(&req(rules.clone()), &d, &c, flag);
        if let Some(i) = got.fired() {
            let mut longer = rules[..=i].to_vec();
            longer.extend(tail.iter().cloned());
            prop_assert_eq!(resolve(&req(longer), &d, &c, flag), got);
        }
        let unmet: Vec<Rule> = tail.into_iter().filter(|t| !model_met(t, &d, &c, false)).collect();
        let shifted = resolve(&req(unmet.iter().cloned().chain(rules).collect()), &d, &c, flag);
        match got {
            Outcome::Default => prop_assert_eq!(shifted, Outcome::Default),
            Outcome::Fired { rule, action } => {
                prop_assert_eq!(shifted, Outcome::Fired { rule: rule + unmet.len(), action });
            }
        }
    }

    /// D4, R46: notify never stops the default disposition, and the other
    /// actions always do; only alert, error, notify produce an event.
    #[test]
    fn d4_notify_never_stops_the_default(
        rules in prop::collection::vec(arb_rule(), 0..10),
        d in arb_disposition(),
        to in arb_to(),
    ) {
        let got = resolve(&req(rules), &d, &ctx(to), flag);
        match got {
            Outcome::Default => prop_assert!(got.takes_default() && got.event().is_none()),
            Outcome::Fired { action, .. } => {
                prop_assert_eq!(got.takes_default(), action == Action::Notify);
                prop_assert_eq!(got.event().is_some(), action != Action::Drop);
            }
        }
    }

    /// The custom evaluator is called only for custom rules up to the one
    /// that fires (lazy host calls).
    #[test]
    fn custom_conditions_are_asked_lazily(
        rules in prop::collection::vec(arb_rule(), 0..10),
        d in arb_disposition(),
    ) {
        let calls = Cell::new(0usize);
        let got = resolve(&req(rules.clone()), &d, &ctx(None), |n, v| { calls.set(calls.get() + 1); flag(n, v) });
        let upto = got.fired().map_or(rules.len(), |i| i + 1);
        let customs = rules[..upto].iter().filter(|r| matches!(r.condition, Condition::Custom { .. })).count();
        prop_assert_eq!(calls.get(), customs);
    }

    /// D18: after a recheck, either a discarding rule fired, or no kept rule
    /// has expired (nothing expired is delivered except after a notify);
    /// every notified rule had expired; rechecking again is a no-op.
    #[test]
    fn d18_recheck_leaves_no_expired_rule(
        rules in prop::collection::vec(arb_rule(), 0..10),
        minutes in -4i64..4,
    ) {
        let now = Timestamp::from_unix(at(NOW).unix_secs() + minutes * 60, 0);
        let kept = kept_for_storage(&rules, Outcome::Default);
        let out = recheck(kept.clone(), now);
        let expired = |r: &Rule| matches!(r.condition, Condition::ExpireAt(t) if now >= t);
        prop_assert!(out.notified.iter().all(|r| expired(r) && r.action == Action::Notify));
        match &out.discarded_by {
            Some(rule) => prop_assert!(expired(rule) && rule.action != Action::Notify),
            None => {
                prop_assert!(!out.remaining.iter().any(expired));
                prop_assert_eq!(recheck(out.remaining.clone(), now), Recheck { notified: vec![], discarded_by: None, remaining: out.remaining.clone() });
            }
        }
        prop_assert_eq!(out.notified.len() + usize::from(out.discarded_by.is_some()) + out.remaining.len(), kept.len());
    }
}
