//! A minimal owned XML element tree (XML Namespaces 1.0 names, RFC 6120 §11
//! serialisation rules) for the `<amp>` payloads of XEP-0079 §4.
//!
//! The plugin only ever reads one small element (`<amp>` and its `<rule/>`
//! children) and writes a handful of short stanzas, so a full XML library
//! would cost more WASM size than it saves. The glue builds a [`Node`] from
//! the host's parsed stanza; everything in this crate works on that tree.

use std::fmt::Write as _;

/// One element: its local name, namespace, attributes in document order,
/// child elements, and the concatenated character data directly inside it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// Local name, without any prefix.
    pub name: String,
    /// Namespace URI (the empty string for "no namespace").
    pub ns: String,
    /// Attributes other than namespace declarations, as written.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Node>,
    /// Character data directly inside the element (rules carry none; kept so
    /// that a tree built from any stanza is lossless enough to echo).
    pub text: String,
}

impl Node {
    /// An empty element `name` in namespace `ns`.
    pub fn new(name: &str, ns: &str) -> Self {
        Node { name: name.to_owned(), ns: ns.to_owned(), ..Node::default() }
    }

    /// Builder: appends an attribute.
    pub fn with_attr(mut self, name: &str, value: &str) -> Self {
        self.attrs.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Builder: appends a child element.
    pub fn with_child(mut self, child: Node) -> Self {
        self.children.push(child);
        self
    }

    /// The value of attribute `name`, if present (the first one if repeated,
    /// which a well-formed document never does).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Whether this element is `name` in namespace `ns`.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// The first child element `name` in namespace `ns`.
    pub fn child(&self, name: &str, ns: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.is(name, ns))
    }

    /// Serialises the element as a top-level stanza inside a stream whose
    /// default namespace is `parent_ns` (`jabber:client` for c2s): `xmlns`
    /// is written only where an element's namespace differs from its
    /// parent's, so `<message>` appears without it, as in XEP-0079's
    /// examples. Attributes use single quotes like the host's writer.
    pub fn to_xml_within(&self, parent_ns: &str) -> String {
        let mut out = String::with_capacity(256);
        self.write(&mut out, parent_ns);
        out
    }

    /// Serialises the element with its own `xmlns` declared.
    pub fn to_xml(&self) -> String {
        self.to_xml_within("")
    }

    /// [`Node::to_xml`] with `extra` attributes after the element's own,
    /// without building a modified copy of the tree first.
    pub fn to_xml_with_attrs(&self, extra: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(256);
        self.write_with(&mut out, "", extra);
        out
    }

    fn write(&self, out: &mut String, parent_ns: &str) {
        self.write_with(out, parent_ns, &[]);
    }

    fn write_with(&self, out: &mut String, parent_ns: &str, extra: &[(&str, &str)]) {
        out.push('<');
        out.push_str(&self.name);
        if self.ns != parent_ns {
            write_attr(out, "xmlns", &self.ns);
        }
        for (name, value) in &self.attrs {
            write_attr(out, name, value);
        }
        for (name, value) in extra {
            write_attr(out, name, value);
        }
        if self.children.is_empty() && self.text.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        escape(out, &self.text, false);
        for child in &self.children {
            child.write(out, &self.ns);
        }
        let _ = write!(out, "</{}>", self.name);
    }
}

/// Serialises, with its own `xmlns`, an element `name` in namespace `ns`
/// with `attrs` and, in the same namespace, one empty child `child` per
/// entry of `children` (its attributes): exactly what [`Node::to_xml`]
/// writes for such a tree, without building it (XEP-0079's delivered
/// `<amp>` for every AMP message).
pub fn write_flat<'a>(
    (name, ns): (&str, &str),
    attrs: impl Iterator<Item = (&'a str, &'a str)>,
    child: &str,
    children: impl ExactSizeIterator<Item = &'a [(String, String)]> + Clone,
) -> String {
    let size = |attrs: &[(String, String)]| attrs.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>();
    let mut out = String::with_capacity(128 + children.clone().map(|c| child.len() + 3 + size(c)).sum::<usize>());
    out.push('<');
    out.push_str(name);
    write_attr(&mut out, "xmlns", ns);
    for (n, v) in attrs {
        write_attr(&mut out, n, v);
    }
    if children.len() == 0 {
        out.push_str("/>");
        return out;
    }
    out.push('>');
    for attrs in children {
        out.push('<');
        out.push_str(child);
        for (n, v) in attrs {
            write_attr(&mut out, n, v);
        }
        out.push_str("/>");
    }
    let _ = write!(out, "</{name}>");
    out
}

fn write_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("='");
    escape(out, value, true);
    out.push('\'');
}

/// Escapes markup characters; in attribute values also both quotes and the
/// whitespace characters that attribute normalisation would otherwise turn
/// into spaces. Characters XML 1.0 cannot carry are dropped, so whatever a
/// client put into a rule attribute, the echo stays well-formed.
fn escape(out: &mut String, s: &str, attr: bool) {
    // Almost every value (JIDs, rule values, dates) needs no escaping: one
    // byte scan and a copy instead of a push per character. 0xEF starts
    // U+FFFE/U+FFFF (and other BMP characters, which then take the slow path).
    if !s.bytes().any(|b| b < 0x20 || matches!(b, b'&' | b'<' | b'>' | b'\'' | b'"' | 0xEF)) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' if attr => out.push_str("&apos;"),
            '"' if attr => out.push_str("&quot;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {}
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmlns_only_where_the_namespace_changes() {
        let n = Node::new("message", "jabber:client")
            .with_attr("id", "m1")
            .with_child(Node::new("amp", "urn:a").with_child(Node::new("rule", "urn:a").with_attr("x", "1")));
        assert_eq!(
            n.to_xml_within("jabber:client"),
            "<message id='m1'><amp xmlns='urn:a'><rule x='1'/></amp></message>"
        );
        assert_eq!(
            n.to_xml(),
            "<message xmlns='jabber:client' id='m1'><amp xmlns='urn:a'><rule x='1'/></amp></message>"
        );
    }

    #[test]
    fn attribute_values_and_text_are_escaped() {
        let mut n = Node::new("a", "").with_attr("v", "x'y\"<&>\n\t\u{1}");
        n.text = "1 < 2 & 'q'\r".to_owned();
        assert_eq!(n.to_xml(), "<a v='x&apos;y&quot;&lt;&amp;&gt;&#10;&#9;'>1 &lt; 2 &amp; 'q'&#13;</a>");
    }

    #[test]
    fn extra_attributes_follow_the_own_ones() {
        let n = Node::new("amp", "urn:a").with_attr("per-hop", "true").with_child(Node::new("rule", "urn:a"));
        assert_eq!(
            n.to_xml_with_attrs(&[("from", "a@x/r"), ("to", "b'@x")]),
            "<amp xmlns='urn:a' per-hop='true' from='a@x/r' to='b&apos;@x'><rule/></amp>"
        );
    }

    #[test]
    fn flat_writer_matches_the_tree_writer() {
        let rules = [vec![("x".to_owned(), "1'".to_owned())], vec![], vec![("a".to_owned(), "<".to_owned())]];
        let tree = Node { attrs: vec![("per-hop".to_owned(), "true".to_owned())], ..Node::new("amp", "urn:a") };
        let with_rules = Node {
            children: rules.iter().map(|a| Node { attrs: a.clone(), ..Node::new("rule", "urn:a") }).collect(),
            ..tree.clone()
        };
        let flat = |n: usize| {
            write_flat(
                ("amp", "urn:a"),
                [("per-hop", "true"), ("to", "b")].into_iter(),
                "rule",
                rules[..n].iter().map(Vec::as_slice),
            )
        };
        assert_eq!(flat(3), with_rules.to_xml_with_attrs(&[("to", "b")]));
        assert_eq!(flat(0), tree.to_xml_with_attrs(&[("to", "b")]));
    }

    #[test]
    fn fast_path_and_slow_path_agree() {
        for s in ["plain", "2999-01-01T00:00:00Z", "caf\u{e9}", "\u{fffe}x", "\u{ef00}", "a&b", ""] {
            let (mut fast, mut slow) = (String::new(), String::new());
            escape(&mut fast, s, true);
            for c in s.chars() {
                let mut one = String::new();
                escape(&mut one, &c.to_string(), true);
                slow.push_str(&one);
            }
            assert_eq!(fast, slow, "{s:?}");
        }
    }

    #[test]
    fn lookups() {
        let n = Node::new("amp", "urn:a").with_attr("per-hop", "true").with_child(Node::new("rule", "urn:a"));
        assert_eq!(n.attr("per-hop"), Some("true"));
        assert_eq!(n.attr("status"), None);
        assert!(n.child("rule", "urn:a").is_some());
        assert!(n.child("rule", "urn:b").is_none());
    }
}
