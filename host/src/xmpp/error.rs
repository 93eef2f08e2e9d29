//! RFC 6120 §8.3 stanza errors and §4.9 stream errors as typed values.
//!
//! Every layer's error type converts into one of these, so that answering a
//! client is one call and condition names are never spelled as loose strings.

use super::ns;
use crate::xml::Element;

macro_rules! conditions {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal $(=> $ty:ident)?),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $(#[doc = $text] $variant),* }
        impl $name {
            /// The element name of this condition.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            /// Parses an element name into a condition.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

conditions! {
    /// RFC 6120 §8.3.3 defined stanza error conditions.
    Condition {
        BadRequest = "bad-request",
        Conflict = "conflict",
        FeatureNotImplemented = "feature-not-implemented",
        Forbidden = "forbidden",
        Gone = "gone",
        InternalServerError = "internal-server-error",
        ItemNotFound = "item-not-found",
        JidMalformed = "jid-malformed",
        NotAcceptable = "not-acceptable",
        NotAllowed = "not-allowed",
        NotAuthorized = "not-authorized",
        PolicyViolation = "policy-violation",
        RecipientUnavailable = "recipient-unavailable",
        Redirect = "redirect",
        RegistrationRequired = "registration-required",
        RemoteServerNotFound = "remote-server-not-found",
        RemoteServerTimeout = "remote-server-timeout",
        ResourceConstraint = "resource-constraint",
        ServiceUnavailable = "service-unavailable",
        SubscriptionRequired = "subscription-required",
        UndefinedCondition = "undefined-condition",
        UnexpectedRequest = "unexpected-request",
    }
}

conditions! {
    /// RFC 6120 §4.9.3 stream error conditions.
    StreamCondition {
        BadFormat = "bad-format",
        BadNamespacePrefix = "bad-namespace-prefix",
        Conflict = "conflict",
        ConnectionTimeout = "connection-timeout",
        HostGone = "host-gone",
        HostUnknown = "host-unknown",
        ImproperAddressing = "improper-addressing",
        InternalServerError = "internal-server-error",
        InvalidFrom = "invalid-from",
        InvalidNamespace = "invalid-namespace",
        InvalidXml = "invalid-xml",
        NotAuthorized = "not-authorized",
        NotWellFormed = "not-well-formed",
        PolicyViolation = "policy-violation",
        RemoteConnectionFailed = "remote-connection-failed",
        Reset = "reset",
        ResourceConstraint = "resource-constraint",
        RestrictedXml = "restricted-xml",
        SeeOtherHost = "see-other-host",
        SystemShutdown = "system-shutdown",
        UndefinedCondition = "undefined-condition",
        UnsupportedEncoding = "unsupported-encoding",
        UnsupportedFeature = "unsupported-feature",
        UnsupportedStanzaType = "unsupported-stanza-type",
        UnsupportedVersion = "unsupported-version",
    }
}

/// RFC 6120 §8.3.2 error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// Retry after providing credentials.
    Auth,
    /// Do not retry (the error cannot be remedied).
    Cancel,
    /// Proceed (the condition was only a warning).
    Continue,
    /// Retry after changing the data sent.
    Modify,
    /// Retry after waiting (the error is temporary).
    Wait,
}

impl ErrorType {
    /// The `type` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Auth => "auth",
            ErrorType::Cancel => "cancel",
            ErrorType::Continue => "continue",
            ErrorType::Modify => "modify",
            ErrorType::Wait => "wait",
        }
    }
}

impl Condition {
    /// The error type RFC 6120 §8.3.3 gives in each condition's example.
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

/// A stanza error: condition, type and optional human-readable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
    /// The defined condition.
    pub condition: Condition,
    /// The error type.
    pub kind: ErrorType,
    /// Optional `<text/>` for humans.
    pub text: Option<String>,
}

impl StanzaError {
    /// An error with the condition's usual type and no text.
    pub fn new(condition: Condition) -> Self {
        StanzaError { condition, kind: condition.default_type(), text: None }
    }

    /// Adds a `<text/>`.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// The `<error/>` child element for a stanza in `jabber:client`.
    pub fn to_element(&self) -> Element {
        let mut err = Element::new("error", ns::CLIENT)
            .with_attr("type", self.kind.as_str())
            .with_child(Element::new(self.condition.as_str(), ns::STANZAS));
        if let Some(t) = &self.text {
            err.push_child(Element::new("text", ns::STANZAS).with_text(t.clone()));
        }
        err
    }
}

impl std::fmt::Display for StanzaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.condition.as_str(), self.kind.as_str())?;
        if let Some(t) = &self.text {
            write!(f, ": {t}")?;
        }
        Ok(())
    }
}

/// A stream error (RFC 6120 §4.9): the stream is closed after it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// The defined condition.
    pub condition: StreamCondition,
    /// Optional `<text/>`.
    pub text: Option<String>,
}

impl StreamError {
    /// A stream error with no text.
    pub fn new(condition: StreamCondition) -> Self {
        StreamError { condition, text: None }
    }

    /// Adds a `<text/>`.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// The `<stream:error/>` element.
    pub fn to_element(&self) -> Element {
        let mut err =
            Element::new("error", ns::STREAM).with_child(Element::new(self.condition.as_str(), ns::STREAM_ERRORS));
        if let Some(t) = &self.text {
            err.push_child(Element::new("text", ns::STREAM_ERRORS).with_text(t.clone()));
        }
        err
    }
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.condition.as_str())?;
        if let Some(t) = &self.text {
            write!(f, ": {t}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StreamError {}
impl std::error::Error for StanzaError {}
