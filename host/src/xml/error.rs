//! RFC 6120 §4.9.3 and §11: every way inbound XML can be refused, and the
//! stream error each one closes the stream with.
//!
//! Variants are kinds of bad input rather than stream conditions, so logs say
//! what the peer actually sent; [`XmlError::to_stream_error`] is the single
//! place that decides which RFC condition that deserves.

use crate::xmpp::{StreamCondition, StreamError};

/// Why the XML layer refused the bytes a peer sent. Any of these ends the
/// stream: XML parsing cannot resynchronise after bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The bytes are not UTF-8 (RFC 6120 §11.6 allows nothing else).
    #[error("invalid UTF-8 in the stream")]
    InvalidUtf8,
    /// A character XML 1.0 forbids (control characters, U+FFFE/U+FFFF),
    /// written raw or as a character reference.
    #[error("character not allowed in XML: {0}")]
    InvalidChar(String),
    /// Malformed markup: bad tag or name syntax, stray `<` or `&`, and so on.
    #[error("malformed XML: {0}")]
    Syntax(String),
    /// An end tag that does not close the element that is open.
    #[error("end tag </{found}> does not match <{expected}>")]
    MismatchedTag {
        /// The qualified name that was open.
        expected: String,
        /// The qualified name in the end tag.
        found: String,
    },
    /// An attribute that is not `name='value'` or `name="value"`.
    #[error("bad attribute syntax: {0}")]
    BadAttribute(String),
    /// The same attribute twice on one element.
    #[error("duplicate attribute {0}")]
    DuplicateAttribute(String),
    /// Character data directly inside `<stream:stream>` (only whitespace
    /// keepalives may appear between stanzas, RFC 6120 §11.7).
    #[error("text at the top level of the stream")]
    TopLevelText,
    /// Anything other than whitespace after `</stream:stream>`.
    #[error("data after the end of the stream")]
    DataAfterClose,
    /// A first element that is neither a stream header nor anything that
    /// resembles one: a stanza sent before the stream was opened.
    #[error("<{0}> sent before the stream header")]
    StanzaBeforeHeader(String),
    /// A stanza (or stream header) longer than the configured limit.
    #[error("stanza exceeds {limit} bytes")]
    TooLarge {
        /// The configured `max_stanza_bytes`.
        limit: usize,
    },
    /// Elements nested deeper than the configured limit.
    #[error("elements nested deeper than {limit}")]
    TooDeep {
        /// The configured `max_depth`.
        limit: usize,
    },
    /// A comment, processing instruction or DTD (RFC 6120 §11.1).
    #[error("{0} not allowed in XMPP")]
    Restricted(&'static str),
    /// An entity reference other than the five predefined ones; never
    /// expanded (RFC 6120 §11.1).
    #[error("entity reference &{0}; not allowed in XMPP")]
    UndefinedEntity(String),
    /// A stream root other than `stream` in `http://etherx.jabber.org/streams`.
    #[error("stream root is {0}, not stream in http://etherx.jabber.org/streams")]
    InvalidNamespace(String),
    /// A prefix used on an element or attribute without a declaration in scope.
    #[error("undeclared namespace prefix {0}")]
    UndeclaredPrefix(String),
    /// A namespace declaration XML Namespaces 1.0 forbids (empty prefixed
    /// binding, rebinding `xml` or `xmlns`).
    #[error("bad namespace declaration: {0}")]
    BadNamespaceDeclaration(String),
    /// An XML declaration naming an encoding other than UTF-8, or bytes that
    /// look like UTF-16 at the start of the stream.
    #[error("unsupported encoding {0}")]
    UnsupportedEncoding(String),
}

impl XmlError {
    /// The RFC 6120 §4.9.3 stream error to send before closing the stream.
    pub fn to_stream_error(&self) -> StreamError {
        use XmlError::*;
        let condition = match self {
            InvalidUtf8
            | InvalidChar(_)
            | Syntax(_)
            | MismatchedTag { .. }
            | BadAttribute(_)
            | DuplicateAttribute(_)
            | TopLevelText
            | DataAfterClose
            | StanzaBeforeHeader(_)
            | BadNamespaceDeclaration(_) => StreamCondition::NotWellFormed,
            TooLarge { .. } | TooDeep { .. } => StreamCondition::PolicyViolation,
            Restricted(_) | UndefinedEntity(_) => StreamCondition::RestrictedXml,
            InvalidNamespace(_) => StreamCondition::InvalidNamespace,
            UndeclaredPrefix(_) => StreamCondition::BadNamespacePrefix,
            UnsupportedEncoding(_) => StreamCondition::UnsupportedEncoding,
        };
        StreamError::new(condition).with_text(self.to_string())
    }
}

impl From<quick_xml::Error> for XmlError {
    fn from(err: quick_xml::Error) -> Self {
        use quick_xml::Error as Q;
        use quick_xml::errors::IllFormedError as I;
        use quick_xml::escape::EscapeError as E;
        use quick_xml::events::attributes::AttrError as A;
        match err {
            Q::IllFormed(I::MismatchedEndTag { expected, found }) => XmlError::MismatchedTag { expected, found },
            Q::IllFormed(I::UnmatchedEndTag(found)) => XmlError::MismatchedTag { expected: String::new(), found },
            Q::InvalidAttr(A::Duplicated(at, _)) => XmlError::DuplicateAttribute(format!("at offset {at}")),
            Q::InvalidAttr(a) => XmlError::BadAttribute(a.to_string()),
            Q::Encoding(_) => XmlError::InvalidUtf8,
            Q::Escape(E::UnrecognizedEntity(_, name)) => XmlError::UndefinedEntity(name),
            other => XmlError::Syntax(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_maps_to_its_rfc_condition() {
        let cases = [
            (XmlError::InvalidUtf8, "not-well-formed"),
            (XmlError::TopLevelText, "not-well-formed"),
            (XmlError::StanzaBeforeHeader("message".into()), "not-well-formed"),
            (XmlError::TooLarge { limit: 10 }, "policy-violation"),
            (XmlError::TooDeep { limit: 3 }, "policy-violation"),
            (XmlError::Restricted("comment"), "restricted-xml"),
            (XmlError::UndefinedEntity("foo".into()), "restricted-xml"),
            (XmlError::InvalidNamespace("x".into()), "invalid-namespace"),
            (XmlError::UndeclaredPrefix("x".into()), "bad-namespace-prefix"),
            (XmlError::UnsupportedEncoding("UTF-16".into()), "unsupported-encoding"),
        ];
        for (err, want) in cases {
            let se = err.to_stream_error();
            assert_eq!(se.condition.as_str(), want, "{err}");
            assert_eq!(se.text.as_deref(), Some(err.to_string().as_str()));
        }
    }
}
