//! RFC 6120 §8.1: the few stanza facts the hot path needs — element name,
//! `id`/`type`/`from` attributes, and whether a child is present — read
//! straight from the bytes of one framed element.
//!
//! Values come back raw (entities not decoded): the ids the tool compares are
//! its own, built from digits and dots, so decoding would only cost time.

/// A borrowed view of one complete top-level element.
#[derive(Clone, Copy)]
pub struct Stanza<'a> {
    bytes: &'a [u8],
    /// End of the start tag (index of its `>`).
    tag_end: usize,
}

impl<'a> Stanza<'a> {
    /// Wraps the bytes of one element as returned by the framer.
    pub fn new(bytes: &'a [u8]) -> Stanza<'a> {
        let tag_end = super::framer::tag_end(bytes, 0).unwrap_or(bytes.len());
        Stanza { bytes, tag_end }
    }

    /// The whole element.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The qualified name of the element (`message`, `stream:features`, …).
    pub fn name(&self) -> &'a [u8] {
        let tag = &self.bytes[1.min(self.bytes.len())..self.tag_end];
        let end = tag.iter().position(|&b| is_space(b) || b == b'/').unwrap_or(tag.len());
        &tag[..end]
    }

    /// The local part of the name (after any prefix).
    pub fn local_name(&self) -> &'a [u8] {
        let name = self.name();
        match memchr::memrchr(b':', name) {
            Some(i) => &name[i + 1..],
            None => name,
        }
    }

    /// The raw value of attribute `name` on the start tag.
    pub fn attr(&self, name: &[u8]) -> Option<&'a [u8]> {
        attr(&self.bytes[..self.tag_end], name)
    }

    /// True when `needle` occurs anywhere after the start tag (a child's
    /// namespace or name: `urn:xmpp:delay`, `<body`).
    pub fn contains(&self, needle: &[u8]) -> bool {
        memchr::memmem::find(&self.bytes[self.tag_end..], needle).is_some()
    }
}

/// Attribute lookup on the bytes of a start tag (`<name a='1' b="2">`).
pub fn attr<'a>(tag: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut i = tag.iter().position(|&b| is_space(b))?;
    loop {
        while i < tag.len() && is_space(tag[i]) {
            i += 1;
        }
        let key_start = i;
        while i < tag.len() && tag[i] != b'=' && !is_space(tag[i]) && tag[i] != b'>' && tag[i] != b'/' {
            i += 1;
        }
        let key = &tag[key_start..i];
        if key.is_empty() {
            return None;
        }
        while i < tag.len() && (is_space(tag[i]) || tag[i] == b'=') {
            i += 1;
        }
        let q = *tag.get(i)?;
        if q != b'"' && q != b'\'' {
            return None;
        }
        let value_start = i + 1;
        let value_end = value_start + memchr::memchr(q, tag.get(value_start..)?)?;
        if key == name {
            return Some(&tag[value_start..value_end]);
        }
        i = value_end + 1;
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_with_either_quote_and_spaces_are_found() {
        let s = Stanza::new(
            b"<message from='a@b/c' type = \"chat\"\n id='1.2.3' xml:lang='en'><body>x id='no'</body></message>",
        );
        assert_eq!(s.name(), b"message");
        assert_eq!(s.attr(b"type"), Some(&b"chat"[..]));
        assert_eq!(s.attr(b"id"), Some(&b"1.2.3"[..]));
        assert_eq!(s.attr(b"from"), Some(&b"a@b/c"[..]));
        assert_eq!(s.attr(b"lang"), None, "prefixed names are matched whole");
        assert_eq!(s.attr(b"xml:lang"), Some(&b"en"[..]));
        assert_eq!(s.attr(b"to"), None, "the body's text is not an attribute");
    }

    #[test]
    fn a_quoted_gt_does_not_end_the_start_tag() {
        let s = Stanza::new(b"<iq id='a>b' type='result'/>");
        assert_eq!(s.attr(b"id"), Some(&b"a>b"[..]));
        assert_eq!(s.attr(b"type"), Some(&b"result"[..]));
        assert_eq!(s.name(), b"iq");
    }

    #[test]
    fn names_children_and_prefixes() {
        let s = Stanza::new(b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
        assert_eq!(s.name(), b"stream:features");
        assert_eq!(s.local_name(), b"features");
        assert!(s.contains(b"xmpp-bind"));
        assert!(!s.contains(b"xmpp-tls"));
        let e = Stanza::new(b"<presence/>");
        assert_eq!(e.name(), b"presence");
        assert_eq!(e.attr(b"type"), None);
    }

    #[test]
    fn malformed_tags_give_none_not_a_panic() {
        for t in [&b"<a b>"[..], b"<a b=c>", b"<a b='unterminated>", b"<", b"", b"<a =''>"] {
            let s = Stanza::new(t);
            assert_eq!(s.attr(b"b"), None, "{}", String::from_utf8_lossy(t));
            let _ = s.name();
        }
    }
}
