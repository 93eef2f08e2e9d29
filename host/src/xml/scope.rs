//! XML Namespaces 1.0 §3-§6 and RFC 6120 §4.8: which namespace a prefix
//! means at a given point of the stream.
//!
//! The stream header's declarations (usually the default `jabber:client` and
//! the `stream` prefix) stay in force for the whole stream, so they form a
//! base that every stanza starts from; a stanza's own declarations are pushed
//! on top and truncated away when its elements close.

use super::error::XmlError;
use crate::xmpp::ns;

const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// A stack of (prefix, namespace) bindings; the prefix `""` is the default
/// namespace.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    bindings: Vec<(Box<str>, Box<str>)>,
    base: usize,
}

impl Scope {
    /// The scope a standalone element is parsed in: default namespace
    /// `default_ns` and the `stream` prefix, as if inside a stream.
    pub(crate) fn standalone(default_ns: &str) -> Self {
        let mut s = Scope::default();
        s.bindings.push(("".into(), default_ns.into()));
        s.bindings.push(("stream".into(), ns::STREAM.into()));
        s.base = s.bindings.len();
        s
    }

    /// Forgets everything, including the base (a new stream starts).
    pub(crate) fn clear(&mut self) {
        self.bindings.clear();
        self.base = 0;
    }

    /// Keeps the current bindings for every later stanza (the stream
    /// header's declarations).
    pub(crate) fn freeze_base(&mut self) {
        self.base = self.bindings.len();
    }

    /// Drops every binding above the base.
    pub(crate) fn unwind_to_base(&mut self) {
        self.bindings.truncate(self.base);
    }

    /// A mark to [`Scope::pop_to`] when the element that declares next closes.
    pub(crate) fn mark(&self) -> usize {
        self.bindings.len()
    }

    /// Drops the bindings declared since `mark`.
    pub(crate) fn pop_to(&mut self, mark: usize) {
        self.bindings.truncate(mark);
    }

    /// Records `xmlns='uri'` (prefix `""`) or `xmlns:prefix='uri'`,
    /// refusing what XML Namespaces forbids.
    pub(crate) fn declare(&mut self, prefix: &str, uri: &str) -> Result<(), XmlError> {
        let bad = |why: &str| Err(XmlError::BadNamespaceDeclaration(format!("{prefix:?}: {why}")));
        if prefix == "xmlns" || uri == XMLNS_NS {
            return bad("the xmlns prefix and namespace are reserved");
        }
        if (prefix == "xml") != (uri == ns::XML) {
            return bad("the xml prefix is bound to its own namespace only");
        }
        if !prefix.is_empty() && uri.is_empty() {
            return bad("a prefix cannot be undeclared");
        }
        self.bindings.push((prefix.into(), uri.into()));
        Ok(())
    }

    /// The namespace `prefix` means here. The default namespace is `""`
    /// (no namespace) when none was declared; any other undeclared prefix
    /// is a `bad-namespace-prefix` error.
    pub(crate) fn resolve(&self, prefix: &str) -> Result<&str, XmlError> {
        if prefix == "xml" {
            return Ok(ns::XML);
        }
        match self.bindings.iter().rev().find(|(p, _)| &**p == prefix) {
            Some((_, uri)) => Ok(uri),
            None if prefix.is_empty() => Ok(""),
            None => Err(XmlError::UndeclaredPrefix(prefix.into())),
        }
    }

    /// The prefixes declared since `mark` (`""` for `xmlns=`).
    pub(crate) fn prefixes_since(&self, mark: usize) -> impl Iterator<Item = &str> + Clone {
        self.bindings[mark..].iter().map(|(p, _)| &**p)
    }

    /// The namespace declared for `prefix` since `mark`, if any.
    pub(crate) fn declared_since(&self, mark: usize, prefix: &str) -> Option<&str> {
        self.bindings[mark..].iter().rev().find(|(p, _)| &**p == prefix).map(|(_, u)| &**u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_declarations_shadow_and_unwind() {
        let mut s = Scope::standalone(ns::CLIENT);
        assert_eq!(s.resolve("").unwrap(), ns::CLIENT);
        assert_eq!(s.resolve("stream").unwrap(), ns::STREAM);
        let m = s.mark();
        s.declare("", "urn:a").unwrap();
        s.declare("p", "urn:p").unwrap();
        assert_eq!(s.resolve("").unwrap(), "urn:a");
        assert_eq!(s.declared_since(m, "p"), Some("urn:p"));
        s.pop_to(m);
        assert_eq!(s.resolve("").unwrap(), ns::CLIENT);
        assert_eq!(s.resolve("p"), Err(XmlError::UndeclaredPrefix("p".into())));
        s.declare("q", "urn:q").unwrap();
        s.unwind_to_base();
        assert!(s.resolve("q").is_err());
    }

    #[test]
    fn forbidden_declarations() {
        let mut s = Scope::default();
        assert!(s.declare("p", "").is_err());
        assert!(s.declare("xmlns", "urn:x").is_err());
        assert!(s.declare("xml", "urn:x").is_err());
        assert!(s.declare("x", ns::XML).is_err());
        assert!(s.declare("xml", ns::XML).is_ok());
        assert!(s.declare("", "").is_ok());
        assert_eq!(s.resolve("").unwrap(), "");
        assert_eq!(s.resolve("xml").unwrap(), ns::XML);
    }
}
