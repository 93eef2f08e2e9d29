//! A stanza for native tests, parsed from XML the way the server's own
//! parser sees it: names resolved to namespaces, an element without
//! `xmlns` in `jabber:client` (the stream's default, RFC 6120 §4.8.3),
//! adjacent text and references joined into one text node.
//!
//! The accessors the [`Stanza`](crate::Stanza) wrapper calls have the names
//! and signatures of the generated WIT resource, so the wrapper is the same
//! code in a component and in a test.

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::stanza::JABBER_CLIENT;
use crate::types::{ElementView, LeafView, MessageInfo, MessageType, PackedAttrs, StanzaKind};

/// A stanza parsed from literal XML, standing in for the one the server
/// lends a plugin. Make one with [`MockStanza::parse`] and get the
/// [`Stanza`](crate::Stanza) a plugin sees with [`MockStanza::stanza`]; the
/// stanza accessors need no [`MockHost`](super::MockHost).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockStanza {
    root: Element,
    kind: StanzaKind,
}

/// Why [`MockStanza::parse`] refused its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a stanza: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Element {
    name: String,
    ns: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Element(Element),
    Text(String),
}

impl MockStanza {
    /// Parses one `<message/>`, `<presence/>` or `<iq/>` in `jabber:client`.
    /// Write `from` as the server would have stamped it (the sender's full
    /// JID); it reads as empty when absent, as it does from the server.
    pub fn parse(xml: &str) -> Result<MockStanza, ParseError> {
        let root = parse_element(xml)?;
        if root.ns != JABBER_CLIENT {
            return Err(ParseError(format!("<{}/> is in {:?}, not jabber:client", root.name, root.ns)));
        }
        let kind = match root.name.as_str() {
            "message" => StanzaKind::Message,
            "presence" => StanzaKind::Presence,
            "iq" => StanzaKind::Iq,
            other => return Err(ParseError(format!("<{other}/> is not message, presence or iq"))),
        };
        Ok(MockStanza { root, kind })
    }

    /// The stanza as a plugin's `process` receives it.
    pub fn stanza(&self) -> crate::Stanza<'_> {
        crate::Stanza::new(self)
    }

    // The accessors of the WIT `stanza` resource, answered as the server does.

    pub(crate) fn kind(&self) -> StanzaKind {
        self.kind
    }

    pub(crate) fn message_type(&self) -> MessageType {
        match (self.kind, self.root.attr("type")) {
            (StanzaKind::Message, Some("chat")) => MessageType::Chat,
            (StanzaKind::Message, Some("groupchat")) => MessageType::Groupchat,
            (StanzaKind::Message, Some("headline")) => MessageType::Headline,
            (StanzaKind::Message, Some("error")) => MessageType::Error,
            _ => MessageType::Normal,
        }
    }

    pub(crate) fn from(&self) -> String {
        self.root.attr("from").map(normalise).unwrap_or_default()
    }

    pub(crate) fn to(&self) -> Option<String> {
        self.root.attr("to").map(normalise)
    }

    pub(crate) fn to_bare(&self) -> Option<String> {
        self.to().map(|to| split_resource(&to).0.to_owned())
    }

    pub(crate) fn to_resource(&self) -> Option<String> {
        self.to().and_then(|to| split_resource(&to).1.map(str::to_owned))
    }

    pub(crate) fn id(&self) -> Option<String> {
        self.attr("id")
    }

    pub(crate) fn attr(&self, name: &str) -> Option<String> {
        self.root.attr(name).map(str::to_owned)
    }

    pub(crate) fn has_child(&self, name: &str, ns: &str) -> bool {
        self.root.child(name, ns).is_some()
    }

    pub(crate) fn child_text(&self, name: &str, ns: &str) -> Option<String> {
        self.root.child(name, ns).map(Element::text)
    }

    pub(crate) fn child_element(&self, name: &str, ns: &str) -> Option<ElementView> {
        self.root.child(name, ns).map(|el| ElementView {
            name: el.name.clone(),
            ns: el.ns.clone(),
            attrs: el.attrs.clone(),
            children: el
                .elements()
                .map(|c| LeafView { name: c.name.clone(), ns: c.ns.clone(), attrs: c.attrs.clone(), text: c.text() })
                .collect(),
        })
    }

    pub(crate) fn child_attrs(&self, name: &str, ns: &str, children: &str) -> Option<PackedAttrs> {
        self.root.child(name, ns).map(|el| {
            let selected = el.elements().filter(|c| c.name == children && c.ns == el.ns);
            PackedAttrs::pack(
                std::iter::once(el).chain(selected).map(|e| e.attrs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            )
        })
    }

    pub(crate) fn child_copy(
        &self,
        name: &str,
        ns: &str,
        children: &str,
        drop: &[String],
        add: &[(String, String)],
    ) -> Option<String> {
        let el = self.root.child(name, ns)?;
        let mut copy = Element { name: el.name.clone(), ns: el.ns.clone(), attrs: Vec::new(), children: Vec::new() };
        copy.attrs.extend(el.attrs.iter().filter(|(k, _)| !drop.contains(k)).cloned());
        for (k, v) in add {
            assert!(
                !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_')),
                "child_copy: the host traps on the attribute name {k:?}"
            );
            match copy.attrs.iter_mut().find(|(n, _)| n == k) {
                Some(slot) => slot.1 = v.clone(),
                None => copy.attrs.push((k.clone(), v.clone())),
            }
        }
        copy.children.extend(el.elements().filter(|c| c.name == children && c.ns == el.ns).map(|c| {
            Node::Element(Element {
                name: c.name.clone(),
                ns: c.ns.clone(),
                attrs: c.attrs.clone(),
                children: Vec::new(),
            })
        }));
        let mut out = String::new();
        copy.write(&mut out, "");
        Some(out)
    }

    pub(crate) fn to_xml(&self) -> String {
        let mut out = String::new();
        self.root.write(&mut out, "");
        out
    }

    /// What a custom XEP-0079 condition sees of this message.
    pub(crate) fn message_info(&self) -> MessageInfo {
        MessageInfo {
            from: self.from(),
            to: self.to().unwrap_or_default(),
            message_type: self.message_type(),
            id: self.id(),
            body: self.child_text("body", JABBER_CLIENT),
            size: u32::try_from(self.to_xml().len()).unwrap_or(u32::MAX),
        }
    }
}

/// The server normalises addresses (RFC 7622); here the bare part is
/// lowercased, which is what that does to ASCII addresses.
fn normalise(jid: &str) -> String {
    let (bare, resource) = split_resource(jid);
    match resource {
        Some(r) => format!("{}/{r}", bare.to_lowercase()),
        None => bare.to_lowercase(),
    }
}

fn split_resource(jid: &str) -> (&str, Option<&str>) {
    match jid.split_once('/') {
        Some((bare, resource)) => (bare, Some(resource)),
        None => (jid, None),
    }
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    fn child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name && e.ns == ns)
    }

    /// The element's own text, without its children's.
    fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// The server's serialisation: `xmlns` only where it changes.
    fn write(&self, out: &mut String, parent_ns: &str) {
        use quick_xml::escape::escape;
        out.push('<');
        out.push_str(&self.name);
        if self.ns != parent_ns {
            out.push_str(&format!(" xmlns=\"{}\"", escape(self.ns.as_str())));
        }
        for (k, v) in &self.attrs {
            out.push_str(&format!(" {k}=\"{}\"", escape(v.as_str())));
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Element(c) => c.write(out, &self.ns),
                Node::Text(t) => out.push_str(&escape(t.as_str())),
            }
        }
        out.push_str(&format!("</{}>", self.name));
    }
}

/// One element with everything in it; whitespace around it is allowed.
fn parse_element(xml: &str) -> Result<Element, ParseError> {
    let bad = |e: &dyn fmt::Display| ParseError(e.to_string());
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut text = String::new();
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| bad(&e))?;
        if !matches!(event, Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) {
            flush_text(&mut text, &mut stack);
        }
        match event {
            Event::Start(tag) => stack.push(open(&ns, &tag)?),
            Event::Empty(tag) => close(open(&ns, &tag)?, &mut stack, &mut root)?,
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| ParseError("stray end tag".into()))?;
                close(el, &mut stack, &mut root)?;
            }
            Event::Text(t) => {
                let t = t.xml10_content().map_err(|e| bad(&e))?;
                if stack.is_empty() && !t.trim().is_empty() {
                    return Err(ParseError(format!("text {:?} outside the element", t.trim())));
                }
                text.push_str(&t);
            }
            Event::CData(t) => text.push_str(&t.xml10_content().map_err(|e| bad(&e))?),
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| bad(&e))?;
                match r.resolve_char_ref().map_err(|e| bad(&e))? {
                    Some(c) => text.push(c),
                    None => text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| ParseError(format!("unknown entity &{name};")))?,
                    ),
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            Event::DocType(_) => return Err(ParseError("a DTD is not allowed in XMPP".into())),
        }
    }
    if let Some(open) = stack.last() {
        return Err(ParseError(format!("<{}> is not closed", open.name)));
    }
    root.ok_or_else(|| ParseError("no element".into()))
}

fn open(ns: &ResolveResult<'_>, tag: &BytesStart<'_>) -> Result<Element, ParseError> {
    let bad = |e: &dyn fmt::Display| ParseError(e.to_string());
    let ns = match ns {
        ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
        ResolveResult::Unbound => JABBER_CLIENT.to_owned(),
        ResolveResult::Unknown(prefix) => {
            return Err(ParseError(format!("prefix {:?} is not declared", String::from_utf8_lossy(prefix))));
        }
    };
    let name = String::from_utf8_lossy(tag.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in tag.attributes() {
        let attr = attr.map_err(|e| bad(&e))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        // Declarations are namespaces, not attributes.
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        attrs.push((key, attr.unescape_value().map_err(|e| bad(&e))?.into_owned()));
    }
    Ok(Element { name, ns, attrs, children: Vec::new() })
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(el)),
        None if root.is_some() => return Err(ParseError("more than one element".into())),
        None => *root = Some(el),
    }
    Ok(())
}

/// Moves the text read so far into the open element (whitespace outside
/// the root is dropped).
fn flush_text(text: &mut String, stack: &mut [Element]) {
    if text.is_empty() {
        return;
    }
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Text(std::mem::take(text))),
        None => text.clear(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMP: &str = "http://jabber.org/protocol/amp";

    fn parse(xml: &str) -> MockStanza {
        MockStanza::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"))
    }

    #[test]
    fn addresses_and_types_read_as_the_server_gives_them() {
        let m =
            parse("<message from='Romeo@Example.com/Orchard' to='Juliet@Example.com/Balcony' type='chat' id='m1'/>");
        let s = m.stanza();
        assert_eq!(s.kind(), StanzaKind::Message);
        assert_eq!(s.message_type(), MessageType::Chat);
        assert_eq!(s.from(), "romeo@example.com/Orchard");
        assert_eq!(s.to().as_deref(), Some("juliet@example.com/Balcony"));
        assert_eq!(s.to_bare().as_deref(), Some("juliet@example.com"));
        assert_eq!(s.to_resource().as_deref(), Some("Balcony"));
        assert_eq!(s.id().as_deref(), Some("m1"));

        let p = parse("<presence type='chat'/>");
        let s = p.stanza();
        assert_eq!((s.kind(), s.message_type()), (StanzaKind::Presence, MessageType::Normal));
        assert_eq!((s.from(), s.to(), s.to_bare(), s.to_resource()), (String::new(), None, None, None));
        assert_eq!(parse("<message type='nonsense'/>").stanza().message_type(), MessageType::Normal);
    }

    #[test]
    fn children_resolve_namespaces_and_join_text() {
        let m = parse(
            "<message to='a@b'>\n  <body>1 &lt; 2 &amp; <![CDATA[<3>]]>&#65;</body>\n  \
             <amp xmlns='http://jabber.org/protocol/amp' per-hop='true'>\
             <rule condition='deliver' value='stored' action='drop'/><rule>x<y/>z</rule></amp>\
             <p:x xmlns:p='urn:p' p:k='v'/></message>",
        );
        let s = m.stanza();
        assert_eq!(s.body().as_deref(), Some("1 < 2 & <3>A"));
        assert!(s.has_child("x", "urn:p") && !s.has_child("x", JABBER_CLIENT));
        assert!(!s.has_child("rule", JABBER_CLIENT), "only direct children");
        let amp = s.child_element("amp", AMP).expect("amp");
        assert_eq!(amp.attrs, [("per-hop".to_owned(), "true".to_owned())]);
        assert_eq!(amp.children.len(), 2);
        assert_eq!(amp.children[0].ns, AMP);
        assert_eq!(amp.children[0].attrs[2], ("action".to_owned(), "drop".to_owned()));
        assert_eq!(amp.children[1].text, "xz");
        assert_eq!(m.to_xml().matches("xmlns=").count(), 3, "{}", m.to_xml());
        let packed = s.child_attrs("amp", AMP, "rule").expect("amp");
        let got: Vec<Vec<(&str, &str)>> = packed.elements().map(|e| e.attrs().collect()).collect();
        assert_eq!(
            got,
            [
                vec![("per-hop", "true")],
                vec![("condition", "deliver"), ("value", "stored"), ("action", "drop")],
                vec![]
            ]
        );
        assert_eq!(s.child_attrs("amp", AMP, "other").map(|p| p.counts), Some(vec![1]));
        assert!(s.child_attrs("amp", JABBER_CLIENT, "rule").is_none());
        let copy = s.child_copy("amp", AMP, "rule", &["per-hop".to_owned()], &[("to".to_owned(), "c@d".to_owned())]);
        assert_eq!(
            copy.as_deref(),
            Some(
                "<amp xmlns=\"http://jabber.org/protocol/amp\" to=\"c@d\">\
                 <rule condition=\"deliver\" value=\"stored\" action=\"drop\"/><rule/></amp>"
            )
        );
        assert!(s.child_copy("amp", JABBER_CLIENT, "rule", &[], &[]).is_none());
    }

    #[test]
    fn to_xml_is_the_servers_serialisation() {
        let m = parse("<message to='a@b' id='1'><body>a &amp; &quot;b&quot;</body><x xmlns='urn:x'/></message>");
        assert_eq!(
            m.to_xml(),
            "<message xmlns=\"jabber:client\" to=\"a@b\" id=\"1\"><body>a &amp; &quot;b&quot;</body>\
             <x xmlns=\"urn:x\"/></message>"
        );
        let info = m.message_info();
        assert_eq!((info.to.as_str(), info.body.as_deref()), ("a@b", Some("a & \"b\"")));
        assert_eq!(info.size as usize, m.to_xml().len());
    }

    #[test]
    fn what_the_server_would_not_accept_is_refused() {
        for (xml, reason) in [
            ("<message>", "not closed"),
            ("<message/><message/>", "more than one"),
            ("hello <message/>", "outside the element"),
            ("<foo/>", "not message, presence or iq"),
            ("<message xmlns='jabber:server'/>", "not jabber:client"),
            ("<message><p:x/></message>", "not declared"),
            ("<message><body>&nbsp;</body></message>", "unknown entity"),
            ("", "no element"),
        ] {
            let err = MockStanza::parse(xml).expect_err(xml).to_string();
            assert!(err.contains(reason), "{xml}: {err}");
        }
    }
}
