//! `body-contains`, an example custom XEP-0079 condition (an
//! `xmpp:sm/amp-condition@0.2.1` component): met when the message's
//! `<body/>` contains the rule's value, ignoring case.
//!
//! ```xml
//! <rule condition='body-contains' value='urgent' action='alert'/>
//! ```
//!
//! The definition XEP-0079 §3.1 asks of a condition (R29):
//! - **name**: `body-contains`; disco feature
//!   `http://jabber.org/protocol/amp?condition=body-contains`.
//! - **value**: any text of 1 to [`MAX_VALUE_CHARS`] characters that is not
//!   only whitespace; matched case-insensitively as a substring.
//! - **met** when the message has a body that contains the value. The
//!   default disposition is ignored, so the condition reveals nothing about
//!   the recipient's presence: it is presence-safe (ruling D15).
//! - **per hop**: yes; the body is the same at every hop.

use wasmpp_guest_sdk::{AmpCondition, ConditionInfo, Disposition, MessageInfo};

/// Longest value accepted, in characters: a rule is a matching hint, not a
/// document, and a bound keeps every evaluation cheap.
pub const MAX_VALUE_CHARS: usize = 256;

/// The condition; stateless, so any warm instance can serve any message.
pub struct BodyContains;

impl AmpCondition for BodyContains {
    fn declare() -> ConditionInfo {
        ConditionInfo { name: "body-contains".to_owned(), presence_safe: true, per_hop: true }
    }

    fn validate(value: &str) -> bool {
        is_valid(value)
    }

    fn evaluate(value: &str, message: &MessageInfo, _disposition: &Disposition) -> bool {
        is_valid(value) && message.body.as_deref().is_some_and(|body| contains_ignoring_case(body, value))
    }
}

wasmpp_guest_sdk::export_condition!(BodyContains);

/// Whether `value` is a usable needle: not blank, not over the bound.
pub fn is_valid(value: &str) -> bool {
    !value.trim().is_empty() && value.chars().count() <= MAX_VALUE_CHARS
}

/// Case-insensitive substring test (Unicode lowercase on both sides).
pub fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmpp_guest_sdk::{DeliverValue, MessageType};

    fn message(body: Option<&str>) -> MessageInfo {
        MessageInfo {
            from: "romeo@example.net/orchard".to_owned(),
            to: "juliet@example.com".to_owned(),
            message_type: MessageType::Chat,
            id: Some("m1".to_owned()),
            body: body.map(str::to_owned),
            size: 120,
        }
    }

    fn stored() -> Disposition {
        Disposition { deliver: DeliverValue::Stored, resources: Vec::new() }
    }

    #[test]
    fn declares_a_presence_safe_per_hop_condition() {
        let info = BodyContains::declare();
        assert_eq!(info.name, "body-contains");
        assert!(info.presence_safe);
        assert!(info.per_hop);
    }

    #[test]
    fn validate_refuses_blank_and_overlong_values() {
        assert!(BodyContains::validate("urgent"));
        assert!(BodyContains::validate(" a "));
        assert!(!BodyContains::validate(""));
        assert!(!BodyContains::validate(" \t\n"));
        assert!(BodyContains::validate(&"x".repeat(MAX_VALUE_CHARS)));
        assert!(!BodyContains::validate(&"x".repeat(MAX_VALUE_CHARS + 1)));
        // The bound counts characters, not bytes.
        assert!(BodyContains::validate(&"é".repeat(MAX_VALUE_CHARS)));
    }

    #[test]
    fn evaluate_matches_substrings_ignoring_case() {
        let m = message(Some("This is URGENT, Juliet"));
        assert!(BodyContains::evaluate("urgent", &m, &stored()));
        assert!(BodyContains::evaluate("is urgent,", &m, &stored()));
        assert!(BodyContains::evaluate("ÉTÉ", &message(Some("un été chaud")), &stored()));
        assert!(!BodyContains::evaluate("later", &m, &stored()));
    }

    #[test]
    fn evaluate_is_not_met_without_a_body_or_with_an_invalid_value() {
        assert!(!BodyContains::evaluate("urgent", &message(None), &stored()));
        assert!(!BodyContains::evaluate("", &message(Some("anything")), &stored()));
    }

    #[test]
    fn disposition_does_not_change_the_answer() {
        let m = message(Some("urgent"));
        let direct = Disposition { deliver: DeliverValue::Direct, resources: vec!["balcony".to_owned()] };
        assert_eq!(BodyContains::evaluate("urgent", &m, &direct), BodyContains::evaluate("urgent", &m, &stored()));
    }
}
