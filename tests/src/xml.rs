//! RFC 6120 §4 / §11 XML streams, as the test client sees them: a tiny element tree.
//!
//! This is deliberately independent of the server's `wasmpp::xml` module, so an
//! end-to-end test cannot pass because client and server share the same parser bug.
//! The incremental stream reader lives in [`reader`].

use std::fmt;

pub mod reader;

pub use reader::{Item, StreamReader};

/// One XML element with its namespace resolved.
///
/// Mixed content is not kept in order: all character data of the element is joined
/// into `text` (unescaped), because XMPP payloads never interleave text and children
/// in a way the tests care about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct El {
    /// Local name, without prefix (`message`, `error`, `body`).
    pub name: String,
    /// Resolved namespace URI, empty when the element is in no namespace.
    pub ns: String,
    /// Attributes as written (qualified names such as `xml:lang` kept), values unescaped;
    /// namespace declarations (`xmlns`, `xmlns:*`) are not listed.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<El>,
    /// Concatenated, unescaped character data directly inside this element.
    pub text: String,
}

impl El {
    /// Creates an empty element; handy for building expectations in tests.
    pub fn new(name: &str, ns: &str) -> El {
        El { name: name.to_owned(), ns: ns.to_owned(), ..El::default() }
    }

    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first child called `name` in namespace `ns`.
    pub fn child(&self, name: &str, ns: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name && c.ns == ns)
    }

    /// Whether this element is `name` in namespace `ns`.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// Follows a `/`-separated path of local names (namespaces ignored), so tests can
    /// write `iq.find("bind/jid")` without spelling out every namespace.
    pub fn find(&self, path: &str) -> Option<&El> {
        path.split('/').filter(|s| !s.is_empty()).try_fold(self, |el, step| el.children.iter().find(|c| c.name == step))
    }

    /// The text of the child at `path` (see [`El::find`]).
    pub fn find_text(&self, path: &str) -> Option<&str> {
        self.find(path).map(|e| e.text.as_str())
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, parent_ns: Option<&str>) -> fmt::Result {
        write!(f, "<{}", self.name)?;
        if parent_ns != Some(self.ns.as_str()) {
            write!(f, " xmlns='{}'", escape(&self.ns))?;
        }
        for (k, v) in &self.attrs {
            write!(f, " {}='{}'", k, escape(v))?;
        }
        if self.children.is_empty() && self.text.is_empty() {
            return f.write_str("/>");
        }
        write!(f, ">{}", escape(&self.text))?;
        for c in &self.children {
            c.write(f, Some(&self.ns))?;
        }
        write!(f, "</{}>", self.name)
    }
}

/// Serialises the element with an `xmlns` on the root and wherever the namespace
/// changes, so the output can be sent on a stream or compared in assertions.
impl fmt::Display for El {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, None)
    }
}

/// Escapes character data and attribute values (both quote kinds, so either quoting
/// style is safe).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> El {
        let mut r = StreamReader::new();
        r.push(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
        r.push(xml.as_bytes());
        assert!(matches!(r.next_item().unwrap(), Some(Item::Header(_))));
        match r.next_item().unwrap() {
            Some(Item::Element(el)) => el,
            other => panic!("expected an element, got {other:?}"),
        }
    }

    #[test]
    fn helpers_find_children_and_attributes() {
        let el = parse(
            "<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <jid>a@b/c</jid></bind></iq>",
        );
        assert_eq!(el.attr("type"), Some("result"));
        assert_eq!(el.attr("to"), None);
        assert!(el.is("iq", "jabber:client"));
        assert!(el.child("bind", "urn:ietf:params:xml:ns:xmpp-bind").is_some());
        assert!(el.child("bind", "jabber:client").is_none());
        assert_eq!(el.find_text("bind/jid"), Some("a@b/c"));
        assert!(el.find("bind/nope").is_none());
    }

    #[test]
    fn display_round_trips_with_escaping() {
        let src = "<message to='a@b' id='x&apos;1'><body>1 &lt; 2 &amp; &quot;q&quot;</body>\
                   <x xmlns='urn:x'><y/></x></message>";
        let el = parse(src);
        assert_eq!(el.find_text("body"), Some("1 < 2 & \"q\""));
        assert_eq!(el.attr("id"), Some("x'1"));
        let out = el.to_string();
        assert_eq!(
            out,
            "<message xmlns='jabber:client' to='a@b' id='x&apos;1'><body>1 &lt; 2 &amp; &quot;q&quot;</body>\
             <x xmlns='urn:x'><y/></x></message>"
        );
        assert_eq!(parse(&out), el);
    }
}
