//! Whole-request validation: R17, R19a/b, R47, D6, D7, D9–D13, D15.

use proptest::prelude::*;

use super::*;
use crate::rules::{Action, NoCustomConditions};
use crate::testing::{amp, cva, rule};

const NONE: Policy = Policy { level: SecurityLevel::None, same_account: false };
const STRICT: Policy = Policy { level: SecurityLevel::Strict, same_account: false };

fn check(a: &Node) -> Result<AmpRequest, Box<Rejection>> {
    validate(Some("m1"), a.clone(), &NoCustomConditions, NONE, || panic!("roster asked"))
}

fn reason(a: &Node) -> Reason {
    check(a).unwrap_err().reason
}

fn one_rule() -> Vec<Node> {
    vec![cva("deliver", "stored", "alert")]
}

#[test]
fn r17_a_valid_request_keeps_rules_in_document_order() {
    let a = amp(&[], vec![cva("deliver", "stored", "alert"), cva("match-resource", "exact", "drop")]);
    let req = check(&a).unwrap();
    assert!(!req.per_hop);
    assert_eq!(req.rules.iter().map(|r| r.action).collect::<Vec<_>>(), [Action::Alert, Action::Drop]);
    assert_eq!(req.clean(), &a);
}

/// D10, R1/R2: no id, or an empty one, is a bad request echoing `<amp>`.
#[test]
fn d10_missing_or_empty_id() {
    let a = amp(&[], one_rule());
    for id in [None, Some("")] {
        let r = validate(id, a.clone(), &NoCustomConditions, NONE, || false).unwrap_err();
        assert_eq!(*r, Rejection { echo: a.clone(), reason: Reason::MissingId });
    }
}

/// D11, R47: `<amp/>` without `<rule/>` children in the AMP namespace.
#[test]
fn d11_empty_amp_is_a_bad_request() {
    assert_eq!(reason(&amp(&[], vec![])), Reason::NoRules);
    let foreign = Node::new("rule", "urn:other").with_attr("condition", "deliver");
    assert_eq!(reason(&amp(&[], vec![foreign, Node::new("x", ns::AMP)])), Reason::NoRules);
}

/// D12, R16: per-hop accepts true/false/1/0 (xs:boolean), nothing else.
#[test]
fn d12_per_hop_values() {
    for (v, want) in [("true", true), ("1", true), ("false", false), ("0", false)] {
        assert_eq!(check(&amp(&[("per-hop", v)], one_rule())).unwrap().per_hop, want, "{v}");
    }
    for bad in ["yes", "TRUE", "", " true"] {
        assert_eq!(reason(&amp(&[("per-hop", bad)], one_rule())), Reason::BadPerHop, "{bad:?}");
    }
}

/// D6, D7, R19b: every offender is found; the first one's category picks
/// the container, which lists every rule of that category.
#[test]
fn d7_first_offender_decides_and_its_container_lists_all_of_its_kind() {
    let rules = vec![
        cva("deliver", "stored", "alert"),                     // 0 valid
        cva("deliver", "stored", "bounce"),                    // 1 unsupported action
        cva("deliver", "somewhere", "drop"),                   // 2 invalid value
        cva("weather", "rain", "drop"),                        // 3 unsupported condition
        cva("expire-at", "x", "explode"),                      // 4 unsupported action
        rule(&[("condition", "deliver"), ("action", "drop")]), // 5 missing value
    ];
    let Reason::Rules { kind, listed, offenders } = reason(&amp(&[], rules.clone())) else { panic!() };
    assert_eq!(kind, OffenceKind::UnsupportedActions);
    assert_eq!(listed, [RawRule { attrs: rules[1].attrs.clone() }, RawRule { attrs: rules[4].attrs.clone() }]);
    assert_eq!(offenders.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);

    let Reason::Rules { kind, listed, .. } = reason(&amp(&[], rules[2..].to_vec())) else { panic!() };
    assert_eq!(kind, OffenceKind::InvalidRules);
    assert_eq!(listed.len(), 2, "the bad value and the missing value");

    let Reason::Rules { kind, listed, .. } = reason(&amp(&[], rules[3..4].to_vec())) else { panic!() };
    assert_eq!((kind, listed.len()), (OffenceKind::UnsupportedConditions, 1));
}

/// D15 at validation: refused rules are invalid rules, merged in document
/// order with the structural offenders.
#[test]
fn d15_refusals_are_reported_with_structural_offenders() {
    let rules = vec![
        cva("deliver", "stored", "drop"),   // 0 fine
        cva("deliver", "stored", "notify"), // 1 refused
        cva("deliver", "nowhere", "drop"),  // 2 invalid value
    ];
    let r = validate(Some("m1"), amp(&[], rules.clone()), &NoCustomConditions, STRICT, || false).unwrap_err();
    let Reason::Rules { kind, listed, offenders } = r.reason else { panic!() };
    assert_eq!(kind, OffenceKind::InvalidRules);
    assert_eq!(listed, [RawRule { attrs: rules[1].attrs.clone() }, RawRule { attrs: rules[2].attrs.clone() }]);
    assert_eq!(offenders[0], (1, Offence::Invalid(Invalidity::Refused)));

    let ok = validate(Some("m1"), amp(&[], rules[..2].to_vec()), &NoCustomConditions, STRICT, || true);
    assert!(ok.is_ok(), "an authorized sender may use notify");
}

/// D13: client-supplied status/from/to are stripped before evaluation and
/// never echoed; other children and text are not echoed either.
#[test]
fn d13_status_from_to_are_stripped() {
    let mut forged = amp(
        &[("status", "alert"), ("from", "eve@ex.test/x"), ("per-hop", "false"), ("to", "bob@ex.test")],
        vec![cva("deliver", "stored", "alert"), Node::new("junk", "urn:x")],
    );
    forged.text = "  ".into();
    let req = check(&forged).unwrap();
    let want = amp(&[("per-hop", "false")], one_rule());
    assert_eq!(req.clean(), &want);
    let bad = Node { children: vec![cva("deliver", "bogus", "alert")], ..forged };
    assert_eq!(check(&bad).unwrap_err().echo, amp(&[("per-hop", "false")], vec![cva("deliver", "bogus", "alert")]));
}

/// D13: events (status from a server) and error messages are not evaluated;
/// a local client's status is not a way around AMP.
#[test]
fn d13_which_amp_elements_are_requests() {
    let plain = amp(&[], one_rule());
    let event = amp(&[("status", "alert")], one_rule());
    assert!(should_evaluate(false, &plain, Origin::LocalClient));
    assert!(should_evaluate(false, &plain, Origin::Server));
    assert!(should_evaluate(false, &event, Origin::LocalClient));
    assert!(!should_evaluate(false, &event, Origin::Server));
    for origin in [Origin::LocalClient, Origin::Server] {
        assert!(!should_evaluate(true, &plain, origin));
    }
}

/// D9, R51, R52: the delivered copy keeps `<amp>` and gains from/to.
#[test]
fn d9_delivered_copy_carries_from_and_to() {
    let req = check(&amp(&[("per-hop", "true"), ("from", "forged")], one_rule())).unwrap();
    assert_eq!(
        req.delivered_copy("alice@ex.test/a1", "bob@ex.test").to_xml_within(ns::CLIENT),
        "<amp xmlns='http://jabber.org/protocol/amp' per-hop='true' from='alice@ex.test/a1' to='bob@ex.test'>\
         <rule condition='deliver' value='stored' action='alert'/></amp>"
    );
    assert_eq!(
        req.delivered_copy_xml("alice@ex.test/a1", "bob@ex.test"),
        req.delivered_copy("alice@ex.test/a1", "bob@ex.test").to_xml()
    );
}

#[test]
fn rejection_display_names_the_cause() {
    let e = check(&amp(&[], vec![])).unwrap_err();
    assert_eq!(e.to_string(), "<amp/> without rules");
}

/// How a generated rule is broken, if at all.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plant {
    Valid,
    Action,
    Condition,
    Value,
}

fn planted() -> impl Strategy<Value = Plant> {
    prop::sample::select(vec![Plant::Valid, Plant::Action, Plant::Condition, Plant::Value])
}

fn build(p: Plant) -> Node {
    match p {
        Plant::Valid => cva("match-resource", "any", "drop"),
        Plant::Action => cva("deliver", "stored", "forward-to"),
        Plant::Condition => cva("sunny", "yes", "drop"),
        Plant::Value => cva("expire-at", "2004-01-01T00:00:00+02:00", "drop"),
    }
}

proptest! {
    /// R19b, D7: validation reports exactly the broken rules, the first one
    /// decides the container, and the container lists all of that kind.
    #[test]
    fn r19b_every_invalid_rule_is_reported(plants in prop::collection::vec(planted(), 1..12)) {
        let a = amp(&[], plants.iter().map(|p| build(*p)).collect());
        let broken: Vec<usize> = (0..plants.len()).filter(|&i| plants[i] != Plant::Valid).collect();
        match check(&a) {
            Ok(req) => {
                prop_assert!(broken.is_empty());
                prop_assert_eq!(req.rules.len(), plants.len());
            }
            Err(rejection) => {
                let Rejection { reason: Reason::Rules { kind, listed, offenders }, echo } = *rejection else {
                    return Err(TestCaseError::fail("not a rules rejection"));
                };
                prop_assert_eq!(echo, a);
                prop_assert_eq!(offenders.iter().map(|(i, _)| *i).collect::<Vec<_>>(), broken.clone());
                let kind_of = |p: Plant| match p {
                    Plant::Action => OffenceKind::UnsupportedActions,
                    Plant::Condition => OffenceKind::UnsupportedConditions,
                    _ => OffenceKind::InvalidRules,
                };
                prop_assert_eq!(kind, kind_of(plants[broken[0]]));
                let want: Vec<RawRule> = plants.iter().filter(|p| **p != Plant::Valid && kind_of(**p) == kind)
                    .map(|p| RawRule { attrs: build(*p).attrs }).collect();
                prop_assert_eq!(listed, want);
            }
        }
    }
}
