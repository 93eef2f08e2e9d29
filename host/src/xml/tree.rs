//! RFC 6120 §8 and §11.3: turns the bytes of one complete element (a stanza
//! found by the framer, or the stream header's start tag) into an
//! [`Element`] with every name resolved to its namespace.
//!
//! quick-xml does the tokenising; namespace resolution is ours, so that the
//! stream header's declarations can be the outer scope of every stanza.
//! The builder's stacks live across the stanzas of one read, and are freed
//! when the stream waits for more bytes.

use super::chars::{check_chars, push_ref, split_qname, unescape_attr};
use super::error::XmlError;
use super::scope::Scope;
use super::{Element, Node};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Reusable state for building elements.
#[derive(Debug)]
pub(crate) struct Builder {
    pub(crate) scope: Scope,
    max_depth: usize,
    stack: Vec<Element>,
    marks: Vec<usize>,
    text: String,
}

fn utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(bytes).map_err(|_| XmlError::InvalidUtf8)
}

impl Builder {
    pub(crate) fn new(scope: Scope, max_depth: usize) -> Self {
        Builder { scope, max_depth, stack: Vec::new(), marks: Vec::new(), text: String::new() }
    }

    /// Frees the scratch space of the last element, for a stream about to
    /// sit idle (the base scope stays: it is the stream's).
    pub(crate) fn release_idle(&mut self) {
        if self.stack.capacity() > 0 {
            self.stack = Vec::new();
        }
        if self.marks.capacity() > 0 {
            self.marks = Vec::new();
        }
        if self.text.capacity() > 0 {
            self.text = String::new();
        }
    }

    /// Parses the stream header start tag (`<stream:stream ...>` or the
    /// empty-element form). Its declarations become the base scope.
    pub(crate) fn header(&mut self, bytes: &[u8]) -> Result<(Element, Option<String>), XmlError> {
        let s = utf8(bytes)?;
        check_chars(bytes)?;
        self.scope.clear();
        let mut reader = Reader::from_str(s);
        let el = match reader.read_event()? {
            Event::Start(e) | Event::Empty(e) => self.open(&e)?,
            _ => return Err(XmlError::Syntax("expected the stream header".into())),
        };
        let default_ns = self.scope.declared_since(0, "").map(str::to_owned);
        self.marks.clear();
        self.scope.freeze_base();
        Ok((el, default_ns))
    }

    /// Parses exactly one element (surrounding whitespace allowed) in the
    /// base scope.
    pub(crate) fn element(&mut self, bytes: &[u8]) -> Result<Element, XmlError> {
        let s = utf8(bytes)?;
        check_chars(bytes)?;
        self.scope.unwind_to_base();
        self.stack.clear();
        self.marks.clear();
        self.text.clear();
        let mut reader = Reader::from_str(s);
        let mut root = None;
        loop {
            match reader.read_event()? {
                Event::Start(e) => {
                    self.flush_text();
                    let el = self.open(&e)?;
                    self.stack.push(el);
                }
                Event::Empty(e) => {
                    self.flush_text();
                    let el = self.open(&e)?;
                    self.close(el, &mut root)?;
                }
                Event::End(_) => {
                    self.flush_text();
                    let el = self.stack.pop().ok_or_else(|| XmlError::Syntax("stray end tag".into()))?;
                    self.close(el, &mut root)?;
                }
                Event::Text(t) => {
                    let t = t.xml10_content().map_err(|_| XmlError::InvalidUtf8)?;
                    if self.stack.is_empty() && !t.bytes().all(|b| b.is_ascii_whitespace()) {
                        return Err(XmlError::TopLevelText);
                    }
                    self.text.push_str(&t);
                }
                Event::CData(t) => {
                    self.in_element()?;
                    self.text.push_str(&t.xml10_content().map_err(|_| XmlError::InvalidUtf8)?);
                }
                Event::GeneralRef(r) => {
                    self.in_element()?;
                    push_ref(&r.decode().map_err(|_| XmlError::InvalidUtf8)?, &mut self.text)?;
                }
                Event::Comment(_) => return Err(XmlError::Restricted("comment")),
                Event::PI(_) | Event::Decl(_) => {
                    return Err(XmlError::Restricted("processing instruction"));
                }
                Event::DocType(_) => return Err(XmlError::Restricted("DTD")),
                Event::Eof => break,
            }
        }
        if !self.stack.is_empty() {
            return Err(XmlError::Syntax("unclosed element".into()));
        }
        root.ok_or_else(|| XmlError::Syntax("no element".into()))
    }

    fn in_element(&self) -> Result<(), XmlError> {
        match self.stack.is_empty() {
            true => Err(XmlError::TopLevelText),
            false => Ok(()),
        }
    }

    /// Moves collected text into the open element (whitespace outside the
    /// root is dropped).
    fn flush_text(&mut self) {
        if self.text.is_empty() {
            return;
        }
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Text(std::mem::take(&mut self.text))),
            None => self.text.clear(),
        }
    }

    /// An element has ended: unwind its declarations and attach it.
    fn close(&mut self, el: Element, root: &mut Option<Element>) -> Result<(), XmlError> {
        if let Some(mark) = self.marks.pop() {
            self.scope.pop_to(mark);
        }
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(el)),
            None if root.is_some() => return Err(XmlError::Syntax("more than one root".into())),
            None => *root = Some(el),
        }
        Ok(())
    }

    /// Builds an element from a start tag: declarations first (they apply to
    /// the tag itself), then the element's and attributes' prefixes.
    fn open(&mut self, tag: &BytesStart<'_>) -> Result<Element, XmlError> {
        if self.stack.len() >= self.max_depth {
            return Err(XmlError::TooDeep { limit: self.max_depth });
        }
        let qname = utf8(tag.name().into_inner())?;
        let (prefix, local) = split_qname(qname)?;
        let mark = self.scope.mark();
        self.marks.push(mark);
        let mut attrs: Vec<(String, String)> = Vec::new();
        // quick-xml's duplicate check is quadratic; ours is not (below).
        for attr in tag.attributes().with_checks(false) {
            let attr = attr.map_err(|e| XmlError::from(quick_xml::Error::InvalidAttr(e)))?;
            let key = utf8(attr.key.into_inner())?;
            let value = unescape_attr(utf8(&attr.value)?)?;
            if key == "xmlns" {
                self.scope.declare("", &value)?;
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                split_qname(p)
                    .ok()
                    .filter(|(pp, _)| pp.is_empty())
                    .ok_or_else(|| XmlError::BadNamespaceDeclaration(format!("bad prefix {p:?}")))?;
                self.scope.declare(p, &value)?;
            } else {
                split_qname(key)?;
                attrs.push((key.to_owned(), value.into_owned()));
            }
        }
        if let Some(dup) = first_duplicate(attrs.iter().map(|(k, _)| k.as_str())) {
            return Err(XmlError::DuplicateAttribute(dup.to_owned()));
        }
        if let Some(dup) = first_duplicate(self.scope.prefixes_since(mark)) {
            return Err(XmlError::DuplicateAttribute(format!("xmlns:{dup}")));
        }
        let ns = self.scope.resolve(prefix)?.to_owned();
        self.keep_attr_prefixes(&mut attrs)?;
        Ok(Element { name: local.to_owned(), ns, attrs, children: Vec::new() })
    }

    /// Attributes keep their names as written, so an attribute prefix other
    /// than `xml` would be meaningless once the declaration is gone: its
    /// `xmlns:p` declaration is kept beside it, which also makes the element
    /// serialise namespace-well-formed on its own. Two attributes with the
    /// same expanded name are refused (XML Namespaces §6.3).
    fn keep_attr_prefixes(&self, attrs: &mut Vec<(String, String)>) -> Result<(), XmlError> {
        let mut expanded: Vec<(&str, &str)> = Vec::new();
        let mut decls: Vec<(String, String)> = Vec::new();
        for (key, _) in attrs.iter() {
            let Some((p, local)) = key.split_once(':') else {
                continue;
            };
            let uri = self.scope.resolve(p)?;
            if expanded.contains(&(uri, local)) {
                return Err(XmlError::DuplicateAttribute(key.clone()));
            }
            expanded.push((uri, local));
            if p != "xml" && !decls.iter().any(|(k, _)| &k[6..] == p) {
                decls.push((format!("xmlns:{p}"), uri.to_owned()));
            }
        }
        attrs.extend(decls);
        Ok(())
    }
}

/// The first name that occurs twice: pairwise for the usual handful of
/// attributes, sorted for many, so a hostile tag cannot make this quadratic.
fn first_duplicate<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    const PAIRWISE_UP_TO: usize = 16;
    if names.clone().nth(PAIRWISE_UP_TO).is_none() {
        let mut rest = names;
        while let Some(name) = rest.next() {
            if rest.clone().any(|n| n == name) {
                return Some(name);
            }
        }
        return None;
    }
    let mut sorted: Vec<&str> = names.collect();
    sorted.sort_unstable();
    sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

impl Element {
    /// Parses one element written as XML, in the scope a stanza has inside a
    /// stream whose default namespace is `parent_ns` (the `stream` prefix is
    /// bound too). The inverse of [`Element::to_xml`]; meant for configured
    /// or test XML, not for network input, which goes through
    /// [`super::StreamParser`] and its size limit.
    pub fn from_xml(xml: &str, parent_ns: &str) -> Result<Element, XmlError> {
        let limits = super::Limits::default();
        Builder::new(Scope::standalone(parent_ns), limits.max_depth).element(xml.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmpp::ns;

    fn parse(xml: &str) -> Result<Element, XmlError> {
        Element::from_xml(xml, ns::CLIENT)
    }

    #[test]
    fn exactly_one_root() {
        assert!(parse("\n <a/>\n").is_ok());
        assert!(matches!(parse("<a/><b/>"), Err(XmlError::Syntax(_))));
        assert_eq!(parse("x<a/>"), Err(XmlError::TopLevelText));
        assert_eq!(parse("<a/>&amp;"), Err(XmlError::TopLevelText));
        assert!(parse("").is_err());
        assert!(matches!(parse("<a><b></a>"), Err(XmlError::MismatchedTag { .. })));
    }

    #[test]
    fn restricted_constructs_inside_elements() {
        assert_eq!(parse("<a><!-- x --></a>"), Err(XmlError::Restricted("comment")));
        assert_eq!(parse("<a><?p x?></a>"), Err(XmlError::Restricted("processing instruction")));
        assert_eq!(parse("<!DOCTYPE a><a/>"), Err(XmlError::Restricted("DTD")));
        assert_eq!(parse("<a>&foo;</a>"), Err(XmlError::UndefinedEntity("foo".into())));
    }

    #[test]
    fn duplicates_are_found_among_many_attributes() {
        let many: String = (0..200).map(|i| format!(" a{i}='x'")).collect();
        let el = parse(&format!("<e{many}/>")).unwrap();
        assert_eq!(el.attrs.len(), 200);
        assert_eq!(parse(&format!("<e{many} a7='y'/>")), Err(XmlError::DuplicateAttribute("a7".into())));
        assert_eq!(parse("<e a='1' b='2' a='3'/>"), Err(XmlError::DuplicateAttribute("a".into())));
        let decls = "<e xmlns='urn:a' xmlns='urn:b'/>";
        assert_eq!(parse(decls), Err(XmlError::DuplicateAttribute("xmlns:".into())));
    }

    #[test]
    fn header_declarations_become_the_base_scope() {
        let mut b = Builder::new(Scope::default(), 8);
        let header =
            b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x'>";
        let (el, default_ns) = b.header(header).unwrap();
        assert!(el.is("stream", ns::STREAM));
        assert_eq!(default_ns.as_deref(), Some(ns::CLIENT));
        let m = b.element(b"<x:m xmlns:y='urn:y'><y:a/></x:m>").unwrap();
        assert!(m.is("m", "urn:x"));
        assert_eq!(b.element(b"<y:a/>"), Err(XmlError::UndeclaredPrefix("y".into())), "y went with its stanza");
        assert!(b.element(b"<stream:features/>").unwrap().is("features", ns::STREAM));
    }
}
