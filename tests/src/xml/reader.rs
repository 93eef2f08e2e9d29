//! RFC 6120 §4.2–§4.4 incremental reading of an XML stream: header, top-level
//! elements, closing tag, and the restart after STARTTLS/SASL (§5.4.3.3, §6.4.6).
//!
//! Bytes arrive in arbitrary pieces, so the reader buffers them and only cuts out a
//! top-level element once its end tag is in the buffer. Each complete element is then
//! parsed on its own, prefixed by the saved stream header so that the namespace
//! declarations of the header (`xmlns`, `xmlns:stream`) are in scope.

use anyhow::{Context, Result, anyhow, bail};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::{NsReader, Reader};

use super::El;

/// What one step of the stream produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// The peer's `<stream:stream …>` opening tag (attributes and namespace only).
    Header(El),
    /// A complete first-level child of the stream: a stanza, features, `stream:error`…
    Element(El),
    /// The peer closed its stream with `</stream:stream>`.
    End,
}

/// Buffering, restartable reader for one direction of an XML stream.
#[derive(Debug, Default)]
pub struct StreamReader {
    buf: Vec<u8>,
    header: Option<Vec<u8>>,
}

impl StreamReader {
    /// A reader expecting a stream header first.
    pub fn new() -> StreamReader {
        StreamReader::default()
    }

    /// Appends bytes just read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Forgets the current stream header: after a restart the peer sends a new one,
    /// whose namespace declarations replace the old ones.
    pub fn restart(&mut self) {
        self.header = None;
    }

    /// Bytes received but not yet returned as an item. After `<proceed/>` this must be
    /// zero, since anything else would have been sent in clear before the TLS handshake.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete item, or `None` when more bytes are needed.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        let Some((item, consumed)) = self.frame()? else {
            return Ok(None);
        };
        let item = match item {
            Frame::Header(range) => {
                let bytes = self.buf[range].to_vec();
                let el = parse_header(&bytes)?;
                self.header = Some(bytes);
                Item::Header(el)
            }
            Frame::Element(range) => {
                let header =
                    self.header.as_deref().ok_or_else(|| anyhow!("element received before the stream header"))?;
                Item::Element(parse_element(header, &self.buf[range])?)
            }
            Frame::End => Item::End,
        };
        self.buf.drain(..consumed);
        Ok(Some(item))
    }

    /// Finds the extent of the next item in the buffer without building anything.
    fn frame(&self) -> Result<Option<(Frame, usize)>> {
        let mut r = Reader::from_reader(&self.buf[..]);
        let cfg = r.config_mut();
        cfg.check_end_names = false;
        cfg.allow_unmatched_ends = true;
        // A reference cut by the end of the buffer is incompleteness, not an error;
        // `parse_element` checks references strictly once the element is whole.
        cfg.allow_dangling_amp = true;
        let (mut depth, mut start) = (0usize, 0usize);
        loop {
            let before = r.buffer_position() as usize;
            let ev = match r.read_event() {
                Ok(ev) => ev,
                // With a slice as input, every syntax error means "input ended inside
                // markup": wait for more bytes.
                Err(quick_xml::Error::Syntax(_)) => return Ok(None),
                Err(e) => return Err(e).context("malformed XML from the server"),
            };
            let after = r.buffer_position() as usize;
            match ev {
                Event::Start(e) if depth == 0 && e.local_name().as_ref() == b"stream" => {
                    return Ok(Some((Frame::Header(before..after), after)));
                }
                Event::Start(_) => {
                    if depth == 0 {
                        start = before;
                    }
                    depth += 1;
                }
                Event::Empty(_) if depth == 0 => {
                    return Ok(Some((Frame::Element(before..after), after)));
                }
                Event::End(e) if depth == 0 => {
                    if e.local_name().as_ref() == b"stream" {
                        return Ok(Some((Frame::End, after)));
                    }
                    bail!("unexpected end tag at stream level");
                }
                Event::End(_) => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(Some((Frame::Element(start..after), after)));
                    }
                }
                Event::Text(t) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                    bail!("character data at stream level");
                }
                Event::CData(_) | Event::GeneralRef(_) if depth == 0 => {
                    bail!("character data at stream level");
                }
                Event::Eof => return Ok(None),
                _ => {}
            }
        }
    }
}

enum Frame {
    Header(std::ops::Range<usize>),
    Element(std::ops::Range<usize>),
    End,
}

fn parse_header(header: &[u8]) -> Result<El> {
    let mut r = NsReader::from_reader(header);
    let (res, ev) = r.read_resolved_event()?;
    let ns = namespace(res)?;
    match ev {
        Event::Start(e) => open(ns, &e, &r),
        other => bail!("expected a stream header, got {other:?}"),
    }
}

/// Parses one complete top-level element in the scope of `header`.
fn parse_element(header: &[u8], frame: &[u8]) -> Result<El> {
    let doc = [header, frame].concat();
    let mut r = NsReader::from_reader(&doc[..]);
    if !matches!(r.read_event()?, Event::Start(_)) {
        bail!("saved stream header does not parse");
    }
    let mut stack: Vec<El> = Vec::new();
    loop {
        let (res, ev) = r.read_resolved_event()?;
        let ns = namespace(res);
        match ev {
            Event::Start(e) => stack.push(open(ns?, &e, &r)?),
            Event::Empty(e) => {
                let el = open(ns?, &e, &r)?;
                if let Some(done) = close(&mut stack, el) {
                    return Ok(done);
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| anyhow!("unbalanced end tag"))?;
                if let Some(done) = close(&mut stack, el) {
                    return Ok(done);
                }
            }
            Event::Text(t) => top(&mut stack)?.text.push_str(&t.xml10_content()?),
            Event::CData(t) => top(&mut stack)?.text.push_str(&t.decode()?),
            Event::GeneralRef(g) => {
                let c = match g.resolve_char_ref()? {
                    Some(c) => c,
                    None => match &*g {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"apos" => '\'',
                        b"quot" => '"',
                        other => bail!("undefined entity &{};", String::from_utf8_lossy(other)),
                    },
                };
                top(&mut stack)?.text.push(c);
            }
            Event::Eof => bail!("element ended early"),
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) | Event::Comment(_) => {}
        }
    }
}

fn top(stack: &mut [El]) -> Result<&mut El> {
    stack.last_mut().ok_or_else(|| anyhow!("character data outside an element"))
}

/// Attaches a finished element to its parent, or returns it when it is the root.
fn close(stack: &mut [El], el: El) -> Option<El> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(el);
            None
        }
        None => Some(el),
    }
}

fn namespace(res: ResolveResult<'_>) -> Result<String> {
    match res {
        ResolveResult::Bound(ns) => Ok(String::from_utf8(ns.as_ref().to_vec())?),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => bail!("undeclared prefix {}", String::from_utf8_lossy(&p)),
    }
}

fn open<R>(ns: String, e: &BytesStart<'_>, r: &NsReader<R>) -> Result<El> {
    let mut el = El { name: String::from_utf8(e.local_name().as_ref().to_vec())?, ns, ..El::default() };
    for a in e.attributes() {
        let a = a?;
        let key = a.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let value = a.decode_and_unescape_value(r.decoder())?.into_owned();
        el.attrs.push((String::from_utf8(key.to_vec())?, value));
    }
    Ok(el)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "<?xml version='1.0'?><stream:stream from='example.com' id='s1' \
        version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    const STREAMS: &str = "http://etherx.jabber.org/streams";

    fn element(item: Option<Item>) -> El {
        match item {
            Some(Item::Element(el)) => el,
            other => panic!("expected an element, got {other:?}"),
        }
    }

    #[test]
    fn header_then_features_in_one_push() {
        let mut r = StreamReader::new();
        r.push(HEADER.as_bytes());
        r.push(b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
        let Some(Item::Header(h)) = r.next_item().unwrap() else { panic!("no header") };
        assert!(h.is("stream", STREAMS));
        assert_eq!(h.attr("id"), Some("s1"));
        assert_eq!(h.attr("from"), Some("example.com"));
        let f = element(r.next_item().unwrap());
        assert!(f.is("features", STREAMS));
        assert!(f.child("bind", "urn:ietf:params:xml:ns:xmpp-bind").is_some());
        assert_eq!(r.next_item().unwrap(), None);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn byte_by_byte_input_yields_the_same_items() {
        let input = format!(
            "{HEADER}\n <message from='a@b/c' type='chat'><body>caf\u{e9} &amp; &#x263A;</body></message>\
             <presence/></stream:stream>"
        );
        let mut r = StreamReader::new();
        let mut items = Vec::new();
        for b in input.as_bytes() {
            r.push(std::slice::from_ref(b));
            while let Some(item) = r.next_item().unwrap() {
                items.push(item);
            }
        }
        assert_eq!(items.len(), 4, "{items:?}");
        assert!(matches!(items[0], Item::Header(_)));
        let Item::Element(m) = &items[1] else { panic!("{items:?}") };
        assert!(m.is("message", "jabber:client"));
        assert_eq!(m.find_text("body"), Some("caf\u{e9} & \u{263A}"));
        let Item::Element(p) = &items[2] else { panic!("{items:?}") };
        assert!(p.is("presence", "jabber:client"));
        assert_eq!(items[3], Item::End);
    }

    #[test]
    fn prefixed_and_default_namespaces_resolve() {
        let mut r = StreamReader::new();
        r.push(HEADER.as_bytes());
        r.push(b"<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
        r.push(b"<iq type='get' id='1'><q:query xmlns:q='jabber:iq:roster'><q:item jid='x@y'/></q:query></iq>");
        r.next_item().unwrap();
        let e = element(r.next_item().unwrap());
        assert!(e.is("error", STREAMS));
        assert_eq!(e.children[0].ns, "urn:ietf:params:xml:ns:xmpp-streams");
        let iq = element(r.next_item().unwrap());
        let item = iq.find("query/item").unwrap();
        assert_eq!(item.ns, "jabber:iq:roster");
        assert_eq!(item.attr("jid"), Some("x@y"));
    }

    #[test]
    fn restart_accepts_a_new_header_with_other_declarations() {
        let mut r = StreamReader::new();
        r.push(HEADER.as_bytes());
        r.push(b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        r.next_item().unwrap();
        assert!(element(r.next_item().unwrap()).is("success", "urn:ietf:params:xml:ns:xmpp-sasl"));
        r.restart();
        r.push(b"<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' id='s2'>");
        r.push(b"<s:features/>");
        let Some(Item::Header(h)) = r.next_item().unwrap() else { panic!("no second header") };
        assert_eq!(h.attr("id"), Some("s2"));
        assert!(element(r.next_item().unwrap()).is("features", STREAMS));
    }

    #[test]
    fn incomplete_input_waits_and_garbage_fails() {
        let mut r = StreamReader::new();
        r.push(HEADER.as_bytes());
        r.next_item().unwrap();
        r.push(b"<message><body>half");
        assert_eq!(r.next_item().unwrap(), None);
        r.push(b"</body></message><pres");
        assert_eq!(element(r.next_item().unwrap()).find_text("body"), Some("half"));
        assert_eq!(r.next_item().unwrap(), None);
        r.push(b"ence/>oops");
        assert!(element(r.next_item().unwrap()).is("presence", "jabber:client"));
        assert!(r.next_item().is_err());
    }

    #[test]
    fn undeclared_prefix_and_element_before_header_are_errors() {
        let mut r = StreamReader::new();
        r.push(b"<presence/>");
        assert!(r.next_item().is_err());
        let mut r = StreamReader::new();
        r.push(HEADER.as_bytes());
        r.push(b"<x:y/>");
        r.next_item().unwrap();
        assert!(r.next_item().is_err());
    }
}
