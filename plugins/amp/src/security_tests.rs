//! D15 / R59–R61: the three security levels.

use std::cell::Cell;

use proptest::prelude::*;

use super::*;
use crate::rules::{CustomConditions, NoCustomConditions};
use crate::testing::{Customs, cva};

fn rules(specs: &[(&str, &str, &str)], custom: &dyn CustomConditions) -> Vec<Rule> {
    specs.iter().map(|(c, v, a)| Rule::parse(&cva(c, v, a), custom).unwrap()).collect()
}

fn defined(specs: &[(&str, &str, &str)]) -> Vec<Rule> {
    rules(specs, &NoCustomConditions)
}

const MIXED: &[(&str, &str, &str)] = &[
    ("deliver", "stored", "alert"),
    ("expire-at", "2004-01-01T00:00:00Z", "drop"),
    ("match-resource", "other", "notify"),
    ("expire-at", "2004-01-01T00:00:00Z", "error"),
];

#[test]
fn d15_level_names_are_case_insensitive_and_default_strict() {
    assert_eq!("STRICT".parse(), Ok(SecurityLevel::Strict));
    assert_eq!("performance".parse(), Ok(SecurityLevel::Performance));
    assert_eq!("None".parse(), Ok(SecurityLevel::None));
    assert_eq!(SecurityLevel::default(), SecurityLevel::Strict);
    let err = "LAX".parse::<SecurityLevel>().unwrap_err();
    assert!(err.to_string().contains("\"LAX\""), "{err}");
    for l in [SecurityLevel::Strict, SecurityLevel::Performance, SecurityLevel::None] {
        assert_eq!(l.as_str().parse(), Ok(l));
    }
}

/// R59: all three defined conditions leak; drop never does (R43).
#[test]
fn r59_leaky_means_presence_condition_with_an_answering_action() {
    let r = defined(MIXED);
    assert_eq!(r.iter().map(is_leaky).collect::<Vec<_>>(), [true, false, true, true]);
}

/// D15 STRICT, R61(c): an unauthorized stranger has every leaky rule
/// refused; the roster is asked exactly once.
#[test]
fn d15_strict_refuses_leaky_rules_of_an_unauthorized_sender() {
    let asked = Cell::new(0);
    let got = refused(SecurityLevel::Strict, &defined(MIXED), false, || {
        asked.set(asked.get() + 1);
        false
    });
    assert_eq!(got, [0, 2, 3]);
    assert_eq!(asked.get(), 1);
}

/// D15 STRICT: a `from`/`both` contact is accepted.
#[test]
fn d15_strict_accepts_an_authorized_sender() {
    assert!(refused(SecurityLevel::Strict, &defined(MIXED), false, || true).is_empty());
}

/// D15 STRICT: the recipient's own account needs no roster lookup.
#[test]
fn d15_strict_accepts_the_same_account_without_asking() {
    assert!(refused(SecurityLevel::Strict, &defined(MIXED), true, || panic!("roster asked")).is_empty());
}

/// D15: drop-only rule sets never cost a lookup and are always accepted.
#[test]
fn d15_drop_is_always_accepted_without_asking() {
    let drops = defined(&[("deliver", "stored", "drop"), ("match-resource", "any", "drop")]);
    for level in [SecurityLevel::Strict, SecurityLevel::Performance, SecurityLevel::None] {
        assert!(refused(level, &drops, false, || panic!("roster asked")).is_empty());
    }
}

/// D15 PERFORMANCE, R61(b): leaky rules are refused even for the same
/// account, and the roster is never asked.
#[test]
fn d15_performance_refuses_without_lookup() {
    assert_eq!(refused(SecurityLevel::Performance, &defined(MIXED), true, || panic!("roster asked")), [0, 2, 3]);
    assert_eq!(refused(SecurityLevel::Performance, &defined(MIXED), false, || panic!("roster asked")), [0, 2, 3]);
}

/// D15 NONE: no check at all.
#[test]
fn d15_none_accepts_everything() {
    assert!(refused(SecurityLevel::None, &defined(MIXED), false, || panic!("roster asked")).is_empty());
}

/// D15: a custom condition that declares itself presence-safe is never
/// leaky; one that does not is treated like the defined conditions.
#[test]
fn d15_custom_conditions_follow_their_declaration() {
    let customs = Customs::new(&[("body-contains", false), ("last-seen", true)]);
    let r = rules(&[("body-contains", "x", "alert"), ("last-seen", "1h", "notify")], &customs);
    assert_eq!(refused(SecurityLevel::Performance, &r, false, || false), [1]);
    assert!(refused(SecurityLevel::Strict, &r[..1], false, || panic!("roster asked")).is_empty());
}

fn any_rule() -> impl Strategy<Value = (&'static str, &'static str, &'static str)> {
    let cond = prop::sample::select(vec![
        ("deliver", "stored"),
        ("deliver", "direct"),
        ("expire-at", "2030-01-01T00:00:00Z"),
        ("match-resource", "exact"),
    ]);
    let action = prop::sample::select(vec!["alert", "drop", "error", "notify"]);
    (cond, action).prop_map(|((c, v), a)| (c, v, a))
}

proptest! {
    /// D15 as a model: NONE refuses nothing; PERFORMANCE exactly the
    /// non-drop rules; STRICT those too unless authorized or the same
    /// account; the roster is asked at most once, and only under STRICT.
    #[test]
    fn d15_levels_match_the_model(
        specs in prop::collection::vec(any_rule(), 0..8),
        same in any::<bool>(),
        authorized in any::<bool>(),
    ) {
        let r = defined(&specs);
        let non_drop: Vec<usize> = specs.iter().enumerate().filter(|(_, s)| s.2 != "drop").map(|(i, _)| i).collect();
        for level in [SecurityLevel::Strict, SecurityLevel::Performance, SecurityLevel::None] {
            let asked = Cell::new(0);
            let got = refused(level, &r, same, || { asked.set(asked.get() + 1); authorized });
            let want = match level {
                SecurityLevel::None => vec![],
                SecurityLevel::Performance => non_drop.clone(),
                SecurityLevel::Strict if same || authorized => vec![],
                SecurityLevel::Strict => non_drop.clone(),
            };
            prop_assert_eq!(got, want);
            let may_ask = level == SecurityLevel::Strict && !same && !non_drop.is_empty();
            prop_assert_eq!(asked.get(), usize::from(may_ask));
        }
    }
}
