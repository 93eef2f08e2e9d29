//! XEP-0079 §11 namespaces and disco strings, each written once; plus the
//! RFC 6120 namespaces the AMP stanzas use.

use crate::rules::{Action, ConditionName};

/// XEP-0079 §11.1: the protocol namespace (`<amp>`, `<rule>`, the
/// validation error elements), also the disco feature and node (R7, R8).
pub const AMP: &str = "http://jabber.org/protocol/amp";
/// XEP-0079 §11.1: the namespace of `<failed-rules>` (error action, R44).
pub const AMP_ERRORS: &str = "http://jabber.org/protocol/amp#errors";
/// XEP-0079 §8, §11.2: the stream feature `<amp/>` (R58).
pub const AMP_FEATURE: &str = "http://jabber.org/features/amp";
/// RFC 6120 §4.8.3: the c2s default namespace of `<message>` and `<error>`.
pub const CLIENT: &str = "jabber:client";
/// RFC 6120 §8.3.3: defined stanza error conditions.
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// R12: the disco feature of one action, `…amp?action={name}`.
pub fn action_feature(action: Action) -> String {
    format!("{AMP}?action={}", action.as_str())
}

/// R12: the disco feature of one condition, `…amp?condition={name}`.
pub fn condition_feature(name: &str) -> String {
    format!("{AMP}?condition={name}")
}

/// R7, R8, R10, R12: every feature the `http://jabber.org/protocol/amp` node
/// lists: the bare protocol feature, the four actions and the defined
/// conditions, then each custom condition (issue 4 item 7) in the order
/// given. There is no disco string for condition values (R12 note), so
/// `deliver=forward` stays unadvertised (D17).
pub fn node_features<'a>(custom_conditions: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut features = vec![AMP.to_owned()];
    features.extend(Action::ALL.iter().map(|a| action_feature(*a)));
    features.extend(ConditionName::DEFINED.iter().map(|c| condition_feature(c.as_str())));
    features.extend(custom_conditions.into_iter().map(condition_feature));
    features
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R7/R8/R12: exactly the §2 list of amp.md, custom conditions last.
    #[test]
    fn r12_node_lists_the_supported_actions_and_conditions() {
        assert_eq!(
            node_features(["body-contains"]),
            [
                "http://jabber.org/protocol/amp",
                "http://jabber.org/protocol/amp?action=alert",
                "http://jabber.org/protocol/amp?action=drop",
                "http://jabber.org/protocol/amp?action=error",
                "http://jabber.org/protocol/amp?action=notify",
                "http://jabber.org/protocol/amp?condition=deliver",
                "http://jabber.org/protocol/amp?condition=expire-at",
                "http://jabber.org/protocol/amp?condition=match-resource",
                "http://jabber.org/protocol/amp?condition=body-contains",
            ]
        );
    }
}
