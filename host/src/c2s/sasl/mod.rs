//! RFC 6120 §6 (SASL negotiation, RFC 4422): mechanism names and failure conditions.
//!
//! The mechanisms themselves are sans-IO: [`scram`] and [`plain`] turn client
//! bytes into server bytes or a [`SaslFailure`], and the c2s stream code owns
//! the `<auth/>`, `<challenge/>`, `<response/>` and base64 framing around them.

mod credentials;
pub mod plain;
pub mod scram;

use crate::xml::Element;
use crate::xmpp::ns;

pub use plain::{Plain, parse_plain};
pub use scram::{ClientFirst, ScramCredentials, ScramHash, ServerFirst, parse_client_first};

/// A SASL mechanism this server offers. The declaration order is the order of
/// preference we advertise: strongest hash first, PLAIN (only ever over TLS) last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 7677.
    ScramSha256,
    /// RFC 5802.
    ScramSha1,
    /// RFC 4616; the password crosses the wire, so callers require TLS first.
    Plain,
}

impl Mechanism {
    /// Every mechanism, in advertised order of preference.
    pub const ALL: [Mechanism; 3] = [Mechanism::ScramSha256, Mechanism::ScramSha1, Mechanism::Plain];

    /// The IANA-registered name, as it appears in `<mechanism/>` and `<auth mechanism=''/>`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::Plain => "PLAIN",
        }
    }

    /// Parses a mechanism name. Names are matched exactly: RFC 4422 §3.1 makes
    /// them upper case, so a client sending another spelling gets invalid-mechanism.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The hash a SCRAM mechanism uses, so the caller can pick the matching
    /// stored credentials; `None` for PLAIN.
    pub fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Mechanism::ScramSha256 => Some(ScramHash::Sha256),
            Mechanism::ScramSha1 => Some(ScramHash::Sha1),
            Mechanism::Plain => None,
        }
    }
}

/// RFC 6120 §6.5: why an authentication attempt failed. Mechanisms return
/// these directly so the stream layer never has to translate string codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("SASL failure: {}", self.as_str())]
pub enum SaslFailure {
    /// §6.5.1: the client sent `<abort/>`.
    Aborted,
    /// §6.5.2: the account exists but is disabled.
    AccountDisabled,
    /// §6.5.3: the credentials have expired.
    CredentialsExpired,
    /// §6.5.4: the mechanism needs an encrypted stream first.
    EncryptionRequired,
    /// §6.5.5: the base64 data could not be decoded.
    IncorrectEncoding,
    /// §6.5.6: the authorization identity is invalid or not permitted.
    InvalidAuthzid,
    /// §6.5.7: the mechanism is unknown or not offered.
    InvalidMechanism,
    /// §6.5.8: the request or the mechanism data is syntactically wrong.
    MalformedRequest,
    /// §6.5.9: the mechanism is weaker than policy allows for this account.
    MechanismTooWeak,
    /// §6.5.10: bad credentials; deliberately says nothing about which part was wrong.
    NotAuthorized,
    /// §6.5.11: a transient server problem (e.g. the database is unreachable).
    TemporaryAuthFailure,
}

impl SaslFailure {
    /// The element name of the condition, as defined in RFC 6120 §6.5.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslFailure::Aborted => "aborted",
            SaslFailure::AccountDisabled => "account-disabled",
            SaslFailure::CredentialsExpired => "credentials-expired",
            SaslFailure::EncryptionRequired => "encryption-required",
            SaslFailure::IncorrectEncoding => "incorrect-encoding",
            SaslFailure::InvalidAuthzid => "invalid-authzid",
            SaslFailure::InvalidMechanism => "invalid-mechanism",
            SaslFailure::MalformedRequest => "malformed-request",
            SaslFailure::MechanismTooWeak => "mechanism-too-weak",
            SaslFailure::NotAuthorized => "not-authorized",
            SaslFailure::TemporaryAuthFailure => "temporary-auth-failure",
        }
    }
}

/// Builds the RFC 6120 §6.4.5 `<failure/>` element: one condition child and an
/// optional human-readable `<text/>`.
pub fn failure_element(f: SaslFailure, text: Option<&str>) -> Element {
    let mut el = Element::new("failure", ns::SASL).with_child(Element::new(f.as_str(), ns::SASL));
    if let Some(t) = text {
        el.push_child(Element::new("text", ns::SASL).with_text(t));
    }
    el
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_names_round_trip() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
        }
        assert_eq!(Mechanism::from_name("scram-sha-1"), None);
        assert_eq!(Mechanism::from_name("SCRAM-SHA-1-PLUS"), None);
        assert_eq!(Mechanism::from_name("DIGEST-MD5"), None);
        assert_eq!(Mechanism::ScramSha1.scram_hash(), Some(ScramHash::Sha1));
        assert_eq!(Mechanism::Plain.scram_hash(), None);
    }

    #[test]
    fn failure_names_match_rfc6120() {
        assert_eq!(SaslFailure::AccountDisabled.as_str(), "account-disabled");
        assert_eq!(SaslFailure::TemporaryAuthFailure.as_str(), "temporary-auth-failure");
        assert_eq!(SaslFailure::InvalidAuthzid.to_string(), "SASL failure: invalid-authzid");
    }

    #[test]
    fn failure_element_shape() {
        let el = failure_element(SaslFailure::NotAuthorized, None);
        assert!(el.is("failure", ns::SASL));
        let names: Vec<_> = el.elements().map(|e| (e.name.as_str(), e.ns.as_str())).collect();
        assert_eq!(names, [("not-authorized", ns::SASL)]);

        let el = failure_element(SaslFailure::Aborted, Some("bye"));
        let children: Vec<_> = el.elements().collect();
        assert_eq!(children.len(), 2);
        assert!(children[0].is("aborted", ns::SASL));
        assert!(children[1].is("text", ns::SASL));
        assert_eq!(children[1].text(), "bye");
    }
}
