//! RFC 6120 §4.2-§4.4, §4.8 and §11: the incremental parser for an inbound
//! XML stream — header, top-level stanzas, close.
//!
//! Bytes are appended as they arrive; the framer finds complete units and
//! enforces the limits while they arrive, and only a complete stanza is
//! parsed into an [`Element`]. The consumed prefix of the buffer is skipped
//! by offset and compacted only occasionally, so a stanza costs no shifting.

use super::Element;
use super::error::XmlError;
use super::framer::{Frame, Framer};
use super::scope::Scope;
use super::tree::Builder;
use crate::xmpp::ns;
use quick_xml::Reader;
use quick_xml::events::Event;

/// Bounds on what a peer may make us buffer and recurse through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest stanza (or stream header) in bytes; larger is a
    /// `policy-violation`. Default 262 144 (256 KiB), room for avatars.
    pub max_stanza_bytes: usize,
    /// Deepest element nesting, counting the stanza itself as 1; deeper is a
    /// `policy-violation`. Default 32.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_stanza_bytes: 262_144, max_depth: 32 }
    }
}

/// The attributes of the opening `<stream:stream>`, reported as sent:
/// checking them against configuration is the c2s layer's job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamHeader {
    /// `to`: the host the peer wants.
    pub to: Option<String>,
    /// `from`: who the peer says it is.
    pub from: Option<String>,
    /// `id` (only servers send one).
    pub id: Option<String>,
    /// `version`, `"1.0"` for RFC 6120 peers.
    pub version: Option<String>,
    /// `xml:lang`.
    pub lang: Option<String>,
    /// The value of `xmlns=`, e.g. `jabber:client`.
    pub default_ns: Option<String>,
}

/// What the stream produced next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// The stream header arrived.
    Open(StreamHeader),
    /// A complete top-level element.
    Stanza(Element),
    /// The peer closed the stream (`</stream:stream>`).
    Close,
}

/// Below this many consumed bytes the buffer is never compacted.
const COMPACT_AT: usize = 8 * 1024;
/// An emptied buffer keeps at most this much capacity, so one large stanza
/// does not pin its size for the rest of an idle connection.
const KEEP_CAPACITY: usize = 16 * 1024;

/// The inbound side of one XML stream.
#[derive(Debug)]
pub struct StreamParser {
    limits: Limits,
    buf: Vec<u8>,
    /// Bytes before this index are consumed.
    start: usize,
    framer: Framer,
    builder: Builder,
    /// The root's qualified name as written, which `</...>` must repeat.
    root_qname: String,
    /// An empty-element header opened and closed the stream at once.
    pending_close: bool,
    /// Once refused, a stream stays refused.
    failed: Option<XmlError>,
}

impl StreamParser {
    /// A parser waiting for a stream header.
    pub fn new(limits: Limits) -> Self {
        StreamParser {
            limits,
            buf: Vec::new(),
            start: 0,
            framer: Framer::new(limits.max_stanza_bytes, limits.max_depth),
            builder: Builder::new(Scope::default(), limits.max_depth),
            root_qname: String::new(),
            pending_close: false,
            failed: None,
        }
    }

    /// Appends received bytes. Call [`StreamParser::next_event`] until it
    /// returns `Ok(None)` after each feed: that is what enforces the limits.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.buf.shrink_to(KEEP_CAPACITY);
            self.framer.shift(self.start);
            self.start = 0;
        } else if self.start >= COMPACT_AT && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.framer.shift(self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Frees the buffers once every received byte is consumed. Called by a
    /// connection about to wait for its next bytes, so that an idle stream
    /// holds no buffer (issue 6: memory per idle connection); a partial
    /// stanza keeps its bytes.
    pub fn release_idle(&mut self) {
        if self.start == self.buf.len() {
            if self.buf.capacity() > 0 {
                self.buf = Vec::new();
            }
            self.framer.shift(self.start);
            self.start = 0;
            self.builder.release_idle();
        }
    }

    /// The next complete event; `Ok(None)` when more bytes are needed. After
    /// an error the stream is unusable and every call returns that error.
    pub fn next_event(&mut self) -> Result<Option<StreamEvent>, XmlError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.pending_close {
            self.pending_close = false;
            return Ok(Some(StreamEvent::Close));
        }
        let result = self.advance();
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    /// Starts over for a new stream (after STARTTLS `<proceed/>` or SASL
    /// success, RFC 6120 §5.4.3.3, §6.4.6), discarding everything buffered.
    pub fn reset(&mut self) {
        *self = StreamParser::new(self.limits);
    }

    /// Bytes received but not yet consumed. Must be 0 before a TLS upgrade:
    /// anything buffered then was sent in the clear after `<starttls/>`.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Memory held for received bytes (0 for an idle stream after
    /// [`StreamParser::release_idle`]).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    fn advance(&mut self) -> Result<Option<StreamEvent>, XmlError> {
        loop {
            let frame = self.framer.scan(&self.buf)?;
            self.start = self.framer.consumed();
            let event = match frame {
                None => return Ok(None),
                Some(Frame::Decl(r)) => {
                    check_decl(&self.buf[r])?;
                    continue;
                }
                Some(Frame::Header { range, empty }) => {
                    self.pending_close = empty;
                    StreamEvent::Open(self.header(range)?)
                }
                Some(Frame::Stanza(r)) => StreamEvent::Stanza(self.builder.element(&self.buf[r])?),
                Some(Frame::Close(r)) => {
                    let name = self.buf[r.start + 2..r.end - 1].trim_ascii_end();
                    if name != self.root_qname.as_bytes() {
                        return Err(XmlError::MismatchedTag {
                            expected: self.root_qname.clone(),
                            found: String::from_utf8_lossy(name).into_owned(),
                        });
                    }
                    StreamEvent::Close
                }
            };
            return Ok(Some(event));
        }
    }

    fn header(&mut self, range: std::ops::Range<usize>) -> Result<StreamHeader, XmlError> {
        let bytes = &self.buf[range];
        let (el, default_ns) = self.builder.header(bytes)?;
        let qname_len =
            bytes[1..].iter().position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>')).unwrap_or(0);
        self.root_qname = String::from_utf8_lossy(&bytes[1..1 + qname_len]).into_owned();
        if !el.is("stream", ns::STREAM) {
            if el.name == "stream" || el.ns == ns::STREAM {
                return Err(XmlError::InvalidNamespace(format!("{{{}}}{}", el.ns, el.name)));
            }
            return Err(XmlError::StanzaBeforeHeader(el.name));
        }
        let get = |name: &str| el.attr(name).map(str::to_owned);
        Ok(StreamHeader {
            to: get("to"),
            from: get("from"),
            id: get("id"),
            version: get("version"),
            lang: get("xml:lang"),
            default_ns,
        })
    }
}

/// RFC 6120 §11.6: only UTF-8 may be declared.
fn check_decl(bytes: &[u8]) -> Result<(), XmlError> {
    let s = std::str::from_utf8(bytes).map_err(|_| XmlError::InvalidUtf8)?;
    let mut reader = Reader::from_str(s);
    let Event::Decl(decl) = reader.read_event()? else {
        return Err(XmlError::Syntax("bad XML declaration".into()));
    };
    decl.version()?;
    if let Some(enc) = decl.encoding() {
        let enc = enc.map_err(|e| XmlError::BadAttribute(e.to_string()))?;
        if !enc.eq_ignore_ascii_case(b"UTF-8") {
            return Err(XmlError::UnsupportedEncoding(String::from_utf8_lossy(&enc).into_owned()));
        }
    }
    Ok(())
}
