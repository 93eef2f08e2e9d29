//! Unit tests of the rule codec (R17, R28, R30, R33–R34, R38, R53–R55, D6, D17).

use super::*;
use crate::ns;
use crate::testing::{Customs, rule};

fn parse(attrs: &[(&str, &str)]) -> Result<Rule, Offence> {
    Rule::parse(&rule(attrs), &NoCustomConditions)
}

fn cond(c: &str, v: &str, a: &str) -> Result<Condition, Offence> {
    parse(&[("condition", c), ("value", v), ("action", a)]).map(|r| r.condition)
}

/// R28/R30/D17: all five `deliver` values are valid, including the two
/// (forward, gateway) that no shipped routing produces.
#[test]
fn r30_d17_every_deliver_value_parses() {
    for v in DeliverValue::ALL {
        assert_eq!(cond("deliver", v.as_str(), "drop"), Ok(Condition::Deliver(v)));
    }
    for bad in ["Direct", "delivered", " direct", "direct ", "offline"] {
        assert_eq!(cond("deliver", bad, "drop"), Err(Offence::Invalid(Invalidity::BadValue)), "{bad}");
    }
}

/// R38: any, exact, other and nothing else (no partial matching values).
#[test]
fn r38_match_resource_values() {
    for v in MatchResource::ALL {
        assert_eq!(cond("match-resource", v.as_str(), "alert"), Ok(Condition::MatchResource(v)));
    }
    for bad in ["ANY", "prefix", "home"] {
        assert_eq!(cond("match-resource", bad, "alert"), Err(Offence::Invalid(Invalidity::BadValue)));
    }
}

/// R33/R34/D18: expire-at takes an XEP-0082 UTC DateTime; a local offset or
/// garbage is an invalid rule (not an unsupported condition).
#[test]
fn r33_r34_expire_at_values() {
    let t = Timestamp::parse("2004-01-01T00:00:00Z").unwrap();
    assert_eq!(cond("expire-at", "2004-01-01T00:00:00Z", "drop"), Ok(Condition::ExpireAt(t)));
    assert_eq!(cond("expire-at", "2004-01-01T00:00:00.000+00:00", "drop"), Ok(Condition::ExpireAt(t)));
    assert_eq!(
        cond("expire-at", "2004-01-01T01:00:00+01:00", "drop"),
        Err(Offence::Invalid(Invalidity::BadDateTime(DateTimeError::NotUtc)))
    );
    assert_eq!(
        cond("expire-at", "tomorrow", "drop"),
        Err(Offence::Invalid(Invalidity::BadDateTime(DateTimeError::Syntax)))
    );
}

/// R53–R55, D6: absent or empty attributes make the rule invalid.
#[test]
fn r53_r54_r55_missing_or_empty_attributes_are_invalid_rules() {
    let inv = |i| Err(Offence::Invalid(i));
    assert_eq!(parse(&[("condition", "deliver"), ("value", "stored")]), inv(Invalidity::MissingAction));
    assert_eq!(parse(&[("condition", "deliver"), ("value", "stored"), ("action", "")]), inv(Invalidity::MissingAction));
    assert_eq!(parse(&[("value", "stored"), ("action", "drop")]), inv(Invalidity::MissingCondition));
    assert_eq!(parse(&[("condition", ""), ("value", "x"), ("action", "drop")]), inv(Invalidity::MissingCondition));
    assert_eq!(parse(&[("condition", "deliver"), ("action", "drop")]), inv(Invalidity::MissingValue));
    assert_eq!(parse(&[("condition", "deliver"), ("value", ""), ("action", "drop")]), inv(Invalidity::MissingValue));
    assert_eq!(parse(&[]), inv(Invalidity::MissingAction));
}

/// D6: unknown action → unsupported-actions, unknown condition →
/// unsupported-conditions; an unknown action wins over every other fault of
/// the same rule, an unknown condition over the remaining ones.
#[test]
fn d6_unknown_names_are_unsupported_and_take_precedence() {
    assert_eq!(cond("deliver", "stored", "bounce"), Err(Offence::UnsupportedAction));
    assert_eq!(cond("deliver", "stored", "Alert"), Err(Offence::UnsupportedAction));
    assert_eq!(cond("weather", "rain", "drop"), Err(Offence::UnsupportedCondition));
    assert_eq!(cond("weather", "", "bounce"), Err(Offence::UnsupportedAction));
    assert_eq!(parse(&[("condition", "weather")]), Err(Offence::UnsupportedCondition));
    assert_eq!(parse(&[("action", "bounce")]), Err(Offence::UnsupportedAction));
    assert_eq!(Offence::UnsupportedAction.kind(), OffenceKind::UnsupportedActions);
    assert_eq!(Offence::UnsupportedCondition.kind(), OffenceKind::UnsupportedConditions);
    assert_eq!(Offence::Invalid(Invalidity::Refused).kind(), OffenceKind::InvalidRules);
}

/// R4/R25: the raw attributes are kept exactly, in order, extra ones included.
#[test]
fn raw_attributes_are_kept_for_echoing() {
    let r = parse(&[("value", "stored"), ("x-extra", "1"), ("action", "alert"), ("condition", "deliver")]).unwrap();
    assert_eq!(r.action, Action::Alert);
    assert_eq!(
        r.raw.to_node(ns::AMP).to_xml_within(ns::AMP),
        "<rule value='stored' x-extra='1' action='alert' condition='deliver'/>"
    );
}

/// Issue 4 item 7, R29: custom conditions are known through their
/// declaration, their values validated by the component.
#[test]
fn custom_conditions_are_declared_and_validated() {
    let customs = Customs::body_contains();
    let ok = Rule::parse(&rule(&[("condition", "body-contains"), ("value", "secret"), ("action", "drop")]), &customs);
    assert_eq!(
        ok.map(|r| r.condition),
        Ok(Condition::Custom {
            name: "body-contains".into(),
            value: "secret".into(),
            declaration: Declaration { reveals_presence: false, per_hop: true }
        })
    );
    let bad = Rule::parse(&rule(&[("condition", "body-contains"), ("value", "x y"), ("action", "drop")]), &customs);
    assert_eq!(bad, Err(Offence::Invalid(Invalidity::BadValue)));
    let unknown = Rule::parse(&rule(&[("condition", "max-size"), ("value", "5"), ("action", "drop")]), &customs);
    assert_eq!(unknown, Err(Offence::UnsupportedCondition));
    // A defined name is never looked up among the custom ones.
    let shadow = Customs::new(&[("deliver", false)]);
    assert_eq!(
        Rule::parse(&rule(&[("condition", "deliver"), ("value", "bogus"), ("action", "drop")]), &shadow),
        Err(Offence::Invalid(Invalidity::BadValue))
    );
}

/// D15/R59 inputs and the §11.4.1 per-hop column.
#[test]
fn presence_and_per_hop_properties() {
    let t = Timestamp::from_unix(0, 0);
    for c in
        [Condition::Deliver(DeliverValue::Stored), Condition::ExpireAt(t), Condition::MatchResource(MatchResource::Any)]
    {
        assert!(c.reveals_presence());
    }
    assert!(Condition::Deliver(DeliverValue::Direct).per_hop());
    assert!(Condition::ExpireAt(t).per_hop());
    assert!(!Condition::MatchResource(MatchResource::Exact).per_hop());
    let custom = |reveals_presence, per_hop| Condition::Custom {
        name: "c".into(),
        value: "v".into(),
        declaration: Declaration { reveals_presence, per_hop },
    };
    assert!(!custom(false, false).reveals_presence());
    assert!(custom(true, false).reveals_presence());
    assert!(!custom(true, false).per_hop());
}

#[test]
fn names_round_trip() {
    for a in Action::ALL {
        assert_eq!(Action::parse(a.as_str()), Some(a));
    }
    for c in ConditionName::DEFINED {
        assert_eq!(ConditionName::parse(c.as_str()), Some(c));
    }
    assert_eq!(Action::parse(""), None);
}
