//! RFC 6120 §4.2, §4.8 and §11: serialising elements and the stream header
//! onto an outbound stream.
//!
//! The stream header declares the default namespace and the `stream` prefix
//! once, so an element only repeats `xmlns` where it differs from its
//! parent's, and stream-namespace elements (`<stream:features>`,
//! `<stream:error>`) use the prefix. Output is always well-formed, whatever a
//! plugin put in a text node: characters XML cannot carry are dropped.

use super::Element;
use super::Node;
use crate::xmpp::ns;

/// The end of our side of a stream.
pub const STREAM_CLOSE: &str = "</stream:stream>";

/// Our stream header for a client-to-server stream (RFC 6120 §4.7): the XML
/// declaration and the `<stream:stream>` start tag.
pub fn stream_header(from: &str, id: &str, to: Option<&str>) -> String {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='");
    out.extend_from_slice(ns::CLIENT.as_bytes());
    out.extend_from_slice(b"' xmlns:stream='");
    out.extend_from_slice(ns::STREAM.as_bytes());
    out.push(b'\'');
    write_attr(&mut out, "from", from);
    write_attr(&mut out, "id", id);
    if let Some(to) = to {
        write_attr(&mut out, "to", to);
    }
    out.extend_from_slice(b" version='1.0' xml:lang='en'>");
    into_string(out)
}

impl Element {
    /// Appends this element as XML, inside a parent whose namespace is
    /// `parent_ns` (pass the stream's default, `jabber:client`, for a
    /// top-level stanza).
    pub fn write_to(&self, out: &mut Vec<u8>, parent_ns: &str) {
        let stream = self.ns == ns::STREAM;
        out.push(b'<');
        self.write_qname(out, stream);
        if !stream && self.ns != parent_ns {
            write_attr(out, "xmlns", &self.ns);
        }
        for (name, value) in &self.attrs {
            write_attr(out, name, value);
        }
        if self.children.is_empty() {
            out.extend_from_slice(b"/>");
            return;
        }
        out.push(b'>');
        // A prefixed element does not change the default namespace.
        let inner_ns = if stream { parent_ns } else { &self.ns };
        for child in &self.children {
            match child {
                Node::Element(el) => el.write_to(out, inner_ns),
                Node::Text(text) => escape(out, text, false),
            }
        }
        out.extend_from_slice(b"</");
        self.write_qname(out, stream);
        out.push(b'>');
    }

    /// [`Element::write_to`] into a new string.
    pub fn to_xml(&self, parent_ns: &str) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out, parent_ns);
        into_string(out)
    }

    fn write_qname(&self, out: &mut Vec<u8>, stream: bool) {
        if stream {
            out.extend_from_slice(b"stream:");
        }
        out.extend_from_slice(self.name.as_bytes());
    }
}

fn into_string(out: Vec<u8>) -> String {
    String::from_utf8(out).expect("only UTF-8 strings and ASCII are written")
}

fn write_attr(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"='");
    escape(out, value, true);
    out.push(b'\'');
}

/// Bytes `escape` must look at: markup, quotes, controls, and 0xEF (the
/// lead byte of U+FFFE/U+FFFF).
const MAY_NEED_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'\'' as usize] = true;
    t[b'"' as usize] = true;
    t[0xEF] = true;
    t
};

/// How many leading bytes of `bytes` are in whole eight-byte words holding
/// no byte `escape` must look at in text (controls, `&`, `<`, `>`, 0xEF),
/// nor a quote in an attribute. Each test is exact, so a word is skipped
/// only when it certainly needs nothing.
fn plain_words(bytes: &[u8], attr: bool) -> usize {
    const fn splat(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    const HIGHS: u64 = splat(0x80);
    // Nonzero iff some byte of `w` is below `n` (n ≤ 0x80).
    let below = |w: u64, n: u8| w.wrapping_sub(splat(n)) & !w & HIGHS;
    let has = |w: u64, b: u8| below(w ^ splat(b), 1);
    let mut plain = 0;
    for word in bytes.chunks_exact(8) {
        let w = u64::from_ne_bytes(word.try_into().expect("eight bytes"));
        let mut hit = below(w, 0x20) | has(w, b'&') | has(w, b'<') | has(w, b'>') | has(w, 0xEF);
        if attr {
            hit |= has(w, b'\'') | has(w, b'"');
        }
        if hit != 0 {
            break;
        }
        plain += 8;
    }
    plain
}

/// Escapes markup characters. In attributes, quotes are escaped too, and
/// tab/newline/CR become character references so that the reader's
/// attribute normalisation does not turn them into spaces; in text only CR
/// needs that (line-end normalisation). Control characters and
/// U+FFFE/U+FFFF cannot be represented in XML 1.0 and are dropped.
fn escape(out: &mut Vec<u8>, s: &str, attr: bool) {
    let bytes = s.as_bytes();
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Bodies are long runs of ordinary bytes: skip whole words of them,
        // then step through the word that stopped the skip with one table
        // lookup a byte, before the exact (and rarer) cases below.
        i += plain_words(&bytes[i..], attr);
        let word_end = bytes.len().min(i + 8);
        while i < word_end && !MAY_NEED_ESCAPE[usize::from(bytes[i])] {
            i += 1;
        }
        if i == word_end {
            continue;
        }
        let b = bytes[i];
        let (rep, skip): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'\'' if attr => (b"&apos;", 1),
            b'"' if attr => (b"&quot;", 1),
            b'\t' if attr => (b"&#9;", 1),
            b'\n' if attr => (b"&#10;", 1),
            b'\r' => (b"&#13;", 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            0..0x20 => (b"", 1),
            0xEF if bytes[i + 1] == 0xBF && matches!(bytes[i + 2], 0xBE | 0xBF) => (b"", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[from..i]);
        out.extend_from_slice(rep);
        i += skip;
        from = i;
    }
    out.extend_from_slice(&bytes[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmpp::{StreamCondition, StreamError};

    /// Parses, serialises, and checks both the text and that parsing the
    /// output gives the same element.
    fn round_trip(input: &str, want: &str) {
        let el = Element::from_xml(input, ns::CLIENT).unwrap();
        let out = el.to_xml(ns::CLIENT);
        assert_eq!(out, want);
        assert_eq!(Element::from_xml(&out, ns::CLIENT).unwrap(), el, "{out}");
    }

    #[test]
    fn round_trips() {
        round_trip("<presence/>", "<presence/>");
        round_trip(
            "<message to='juliet@example.com' type=\"chat\" xml:lang='en'><body>hi</body></message>",
            "<message to='juliet@example.com' type='chat' xml:lang='en'><body>hi</body></message>",
        );
        round_trip(
            "<iq type='get' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b'/></query></iq>",
            "<iq type='get' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b'/></query></iq>",
        );
        round_trip(
            "<message xmlns:x='urn:x'><x:a><x:b/><c/></x:a></message>",
            "<message><a xmlns='urn:x'><b/><c xmlns='jabber:client'/></a></message>",
        );
        round_trip(
            "<message><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'/></html></message>",
            "<message><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'/></html></message>",
        );
        round_trip(
            "<message a='&lt;&amp;&gt;&quot;&apos;'><body>a&lt;b&gt;c&amp;&quot;'</body></message>",
            "<message a='&lt;&amp;&gt;&quot;&apos;'><body>a&lt;b&gt;c&amp;\"'</body></message>",
        );
        round_trip("<m><![CDATA[<x/> & ]]></m>", "<m>&lt;x/&gt; &amp; </m>");
        round_trip("<m a='x&#10;y&#9;z&#13;'>l1\r\nl2&#13;</m>", "<m a='x&#10;y&#9;z&#13;'>l1\nl2&#13;</m>");
        round_trip(
            "<m xmlns:p='urn:p' p:k='v'><p:c p:k='w'/></m>",
            "<m p:k='v' xmlns:p='urn:p'><c xmlns='urn:p' p:k='w' xmlns:p='urn:p'/></m>",
        );
        round_trip("<m><n xmlns=''/></m>", "<m><n xmlns=''/></m>");
        round_trip(
            "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
            "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
        );
        round_trip("<m>caf\u{e9} \u{1F600}</m>", "<m>caf\u{e9} \u{1F600}</m>");
    }

    #[test]
    fn xmlns_only_where_the_namespace_changes() {
        let el = Element::new("message", ns::CLIENT)
            .with_child(Element::new("x", "urn:x").with_child(Element::new("y", "urn:x")))
            .with_child(Element::new("body", ns::CLIENT).with_text("b"));
        assert_eq!(el.to_xml(ns::CLIENT), "<message><x xmlns='urn:x'><y/></x><body>b</body></message>");
        assert_eq!(
            el.to_xml("jabber:server"),
            "<message xmlns='jabber:client'><x xmlns='urn:x'><y/></x><body>b</body></message>"
        );
    }

    #[test]
    fn stream_namespace_uses_the_prefix() {
        let err = StreamError::new(StreamCondition::NotWellFormed).with_text("bad").to_element();
        assert_eq!(
            err.to_xml(ns::CLIENT),
            "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bad</text></stream:error>"
        );
        let features = Element::new("features", ns::STREAM).with_child(Element::new("session", ns::CLIENT));
        assert_eq!(features.to_xml(ns::CLIENT), "<stream:features><session/></stream:features>");
    }

    #[test]
    fn escaping_and_unrepresentable_characters() {
        let el = Element::new("m", ns::CLIENT).with_attr("a", "'\"<>&\n").with_text("<&>'\"\t\n\u{0}\u{1b}\u{FFFF}ok");
        let out = el.to_xml(ns::CLIENT);
        assert_eq!(out, "<m a='&apos;&quot;&lt;&gt;&amp;&#10;'>&lt;&amp;&gt;'\"\t\nok</m>");
        let mut buf = b"prefix".to_vec();
        el.write_to(&mut buf, ns::CLIENT);
        assert_eq!(&buf[6..], out.as_bytes(), "write_to appends");
    }

    /// The plain escaper the word skipping must agree with: every byte
    /// through the same rules, one at a time.
    fn escape_bytewise(s: &str, attr: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let rep: &[u8] = match b {
                b'&' => b"&amp;",
                b'<' => b"&lt;",
                b'>' => b"&gt;",
                b'\'' if attr => b"&apos;",
                b'"' if attr => b"&quot;",
                b'\t' if attr => b"&#9;",
                b'\n' if attr => b"&#10;",
                b'\r' => b"&#13;",
                b'\t' | b'\n' => std::slice::from_ref(&bytes[i]),
                0..0x20 => b"",
                0xEF if bytes[i + 1] == 0xBF && matches!(bytes[i + 2], 0xBE | 0xBF) => {
                    i += 3;
                    continue;
                }
                _ => std::slice::from_ref(&bytes[i]),
            };
            out.extend_from_slice(rep);
            i += 1;
        }
        out
    }

    #[test]
    fn word_skipping_escapes_like_the_bytewise_rules() {
        // Special characters at every offset of a word and across word
        // boundaries, in text and in attributes, in strings of every length.
        let specials = [
            "&", "<", ">", "'", "\"", "\t", "\n", "\r", "\u{1}", "\u{FFFF}", "\u{FFFE}", "\u{EFFF}", "\u{FFFD}", "é",
            "☃", "😀",
        ];
        for len in 0..24 {
            for pos in 0..=len {
                for sp in specials {
                    for other in ["", "<", "\u{FFFF}"] {
                        let s = format!("{}{sp}{}{other}", "a".repeat(pos), "b".repeat(len - pos));
                        for attr in [false, true] {
                            let mut out = Vec::new();
                            escape(&mut out, &s, attr);
                            assert_eq!(out, escape_bytewise(&s, attr), "{s:?} attr={attr}");
                        }
                    }
                }
            }
        }
        let body = "x".repeat(200) + "&" + &"y".repeat(13) + "\u{FFFF}";
        let mut out = Vec::new();
        escape(&mut out, &body, false);
        assert_eq!(String::from_utf8(out).unwrap(), "x".repeat(200) + "&amp;" + &"y".repeat(13));
    }

    #[test]
    fn header_and_close() {
        assert_eq!(
            stream_header("example.com", "abc", Some("juliet@example.com")),
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='abc' \
             to='juliet@example.com' version='1.0' xml:lang='en'>"
        );
        let h = stream_header("a'b", "<1>", None);
        assert!(h.contains(" from='a&apos;b' id='&lt;1&gt;' version='1.0'"), "{h}");
        assert!(!h.contains(" to="));
        let mut p = super::super::StreamParser::new(Default::default());
        p.feed(format!("{h}{STREAM_CLOSE}").as_bytes());
        let Ok(Some(super::super::StreamEvent::Open(hdr))) = p.next_event() else { panic!() };
        assert_eq!((hdr.from.as_deref(), hdr.id.as_deref()), (Some("a'b"), Some("<1>")));
        assert_eq!(hdr.default_ns.as_deref(), Some(ns::CLIENT));
        assert_eq!(p.next_event(), Ok(Some(super::super::StreamEvent::Close)));
    }
}
