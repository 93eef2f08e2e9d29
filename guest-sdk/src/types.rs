//! RFC 6120 §8.3 errors, RFC 6121 §5.2.2 message types and the plugin's
//! verdict vocabulary, as defined in `wit/types.wit`.
//!
//! These are the generated WIT types themselves (no conversion cost at the
//! boundary) with a few constructors that keep plugins short.

use crate::__bindings::xmpp::sm::types as wit;

pub use wit::{
    ConditionInfo, DeliverValue, Disposition, Effect, ElementView, ErrorCondition as Condition, ErrorType, KeptFate,
    LeafView, Manifest, MessageInfo, MessageType, Recheck, ResourceInfo, StanzaError, StanzaKind, Verdict,
};

impl Condition {
    /// The error type RFC 6120 §8.3.3 gives in each condition's example; the
    /// host uses the same table, so plugins and host answer alike.
    pub fn default_type(self) -> ErrorType {
        use Condition::*;
        match self {
            BadRequest | JidMalformed | NotAcceptable | PolicyViolation | Redirect => ErrorType::Modify,
            NotAuthorized | Forbidden | RegistrationRequired | SubscriptionRequired => ErrorType::Auth,
            RecipientUnavailable | RemoteServerTimeout | ResourceConstraint | UnexpectedRequest => ErrorType::Wait,
            _ => ErrorType::Cancel,
        }
    }
}

impl StanzaError {
    /// An error with the condition's usual type and no text.
    pub fn new(condition: Condition) -> Self {
        StanzaError { condition, kind: condition.default_type(), text: None }
    }

    /// Adds a human-readable `<text/>`.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }
}

impl Verdict {
    /// Shorthand for bouncing with a condition's default type.
    pub fn bounce(condition: Condition) -> Self {
        Verdict::Bounce(StanzaError::new(condition))
    }
}

impl Manifest {
    /// A manifest with no disco features.
    pub fn new(id: &str, version: &str, handles: &[StanzaKind]) -> Self {
        Manifest { id: id.to_owned(), version: version.to_owned(), handles: handles.to_vec(), features: Vec::new() }
    }
}

impl ResourceInfo {
    /// A session with the given resourcepart, priority and availability.
    pub fn new(resource: &str, priority: i8, available: bool) -> Self {
        ResourceInfo { resource: resource.to_owned(), priority, available }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_types_follow_rfc6120_examples() {
        assert_eq!(Condition::ServiceUnavailable.default_type(), ErrorType::Cancel);
        assert_eq!(Condition::BadRequest.default_type(), ErrorType::Modify);
        assert_eq!(Condition::Forbidden.default_type(), ErrorType::Auth);
        assert_eq!(Condition::ResourceConstraint.default_type(), ErrorType::Wait);
    }

    #[test]
    fn bounce_uses_default_type() {
        match Verdict::bounce(Condition::NotAuthorized) {
            Verdict::Bounce(e) => {
                assert_eq!(e.kind, ErrorType::Auth);
                assert_eq!(e.text, None);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
