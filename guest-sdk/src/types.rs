//! RFC 6120 §8.3 errors, RFC 6121 §5.2.2 message types and the plugin's
//! verdict vocabulary, as defined in `wit/types.wit`.
//!
//! These are the generated WIT types themselves (no conversion cost at the
//! boundary) with a few constructors that keep plugins short.

use crate::__bindings::xmpp::sm::types as wit;

pub use wit::{
    AddresseeInfo, Capability, ConditionInfo, DeliverValue, Denied, Disposition, Effect, ElementView,
    ErrorCondition as Condition, ErrorType, KeptFate, LeafView, Manifest, MessageInfo, MessageType, PackedAttrs,
    Recheck, ResourceInfo, StanzaError, StanzaKind, Verdict,
};

impl Capability {
    /// Every capability, in the order of `wit/types.wit`.
    pub const ALL: [Capability; 6] = [
        Capability::Sessions,
        Capability::Config,
        Capability::AmpConditions,
        Capability::Deliver,
        Capability::OfflineStore,
        Capability::Send,
    ];

    /// The WIT spelling, also used in the server's configuration
    /// (`sess-man/plugins-conf/<id>/capabilities=sessions,deliver`).
    pub fn name(self) -> &'static str {
        match self {
            Capability::Sessions => "sessions",
            Capability::Config => "config",
            Capability::AmpConditions => "amp-conditions",
            Capability::Deliver => "deliver",
            Capability::OfflineStore => "offline-store",
            Capability::Send => "send",
        }
    }
}

// `Denied` is the error type of gated imports: the generated bindings
// already give it `Display` and `std::error::Error`, so `?` works in
// helpers returning `Result<_, Box<dyn Error>>`.

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
    /// A manifest with no disco features and no capabilities: the plugin
    /// may read its stanza, log and read the clock, and answer `pass`,
    /// `drop`, `bounce` or `handled` with bounces.
    pub fn new(id: &str, version: &str, handles: &[StanzaKind]) -> Self {
        Manifest {
            id: id.to_owned(),
            version: version.to_owned(),
            handles: handles.to_vec(),
            features: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    /// Adds the capabilities the plugin needs (each once).
    pub fn with_capabilities(mut self, capabilities: &[Capability]) -> Self {
        for c in capabilities {
            if !self.capabilities.contains(c) {
                self.capabilities.push(*c);
            }
        }
        self
    }

    /// Adds an XEP-0030 feature the plugin contributes to disco#info.
    pub fn with_feature(mut self, feature: impl Into<String>) -> Self {
        self.features.push(feature.into());
        self
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
    fn manifest_builder_lists_each_capability_once() {
        let m = Manifest::new("p", "1.0.0", &[StanzaKind::Message])
            .with_capabilities(&[Capability::Sessions, Capability::Deliver])
            .with_capabilities(&[Capability::Sessions])
            .with_feature("urn:example:p");
        assert_eq!(m.capabilities, [Capability::Sessions, Capability::Deliver]);
        assert_eq!(m.features, ["urn:example:p"]);
        assert!(Manifest::new("p", "1.0.0", &[]).capabilities.is_empty());
    }

    #[test]
    fn capability_names_are_the_wit_spelling() {
        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["sessions", "config", "amp-conditions", "deliver", "offline-store", "send"]);
        let denied: Box<dyn std::error::Error> = Box::new(Denied { capability: Capability::OfflineStore });
        assert!(denied.to_string().contains("OfflineStore"), "{denied}");
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
