//! RFC 6120 §4.2 / §4.3: find the stream header and each complete top-level
//! element in the bytes a server sends, without building anything.
//!
//! The load tool must never be the bottleneck, so the hot path does not parse:
//! it only tracks tag depth (quote-aware, so `>` inside attribute values is
//! fine), skips comments, processing instructions and CDATA, and hands back the
//! byte range of each top-level element. Well-formedness is the server's
//! business; this is a measuring instrument, not a validator.

use std::ops::Range;

use anyhow::{Result, bail};

/// What the framer found next in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The opening `<stream:stream …>` tag (its bytes).
    Header(Range<usize>),
    /// A complete top-level element (stanza, features, SASL, …).
    Element(Range<usize>),
    /// The closing `</stream:stream>`.
    End,
}

/// An input buffer plus the framing state that survives partial reads.
pub struct Framer {
    data: Vec<u8>,
    /// First byte not yet handed out; everything before it may be discarded.
    head: usize,
    /// Where the next scan for `<` resumes.
    scan: usize,
    /// Nesting depth: 0 outside the stream, 1 between stanzas, >1 inside one.
    depth: u32,
    /// Start of the top-level element being collected.
    elem_start: usize,
}

impl Framer {
    /// An empty framer whose buffer starts at `capacity` bytes and grows on demand.
    pub fn new(capacity: usize) -> Framer {
        Framer { data: Vec::with_capacity(capacity), head: 0, scan: 0, depth: 0, elem_start: 0 }
    }

    /// The buffered bytes; frames index into this until the next [`Framer::buffer`].
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Forgets the stream depth: the server sends a fresh header after a
    /// stream restart (RFC 6120 §4.3.3) without closing the old stream.
    pub fn restart(&mut self) {
        self.depth = 0;
        self.data.drain(..self.head.min(self.data.len()));
        self.head = 0;
        self.scan = 0;
        self.elem_start = 0;
    }

    /// The buffer to append freshly read bytes to (as tokio's `read_buf`
    /// does, which keeps reads cancel-safe): consumed bytes are compacted away
    /// first and at least `min` bytes are reserved.
    pub fn buffer(&mut self, min: usize) -> &mut Vec<u8> {
        if self.head > 0 {
            let keep = self.data.len() - self.head;
            self.data.copy_within(self.head.., 0);
            self.data.truncate(keep);
            self.scan -= self.head;
            self.elem_start = self.elem_start.saturating_sub(self.head);
            self.head = 0;
        }
        self.data.reserve(min);
        &mut self.data
    }

    /// Appends bytes directly (tests and callers that already hold data).
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer(bytes.len()).extend_from_slice(bytes);
    }

    /// The next complete frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            let d = &self.data;
            let Some(off) = memchr::memchr(b'<', &d[self.scan..]) else {
                self.scan = d.len();
                if self.depth <= 1 {
                    self.head = d.len();
                }
                return Ok(None);
            };
            let lt = self.scan + off;
            let Some(&kind) = d.get(lt + 1) else {
                self.scan = lt;
                return Ok(None);
            };
            match kind {
                b'?' => match find(d, lt + 2, b"?>") {
                    Some(end) => self.skip_markup(end + 2),
                    None => return Ok(self.wait(lt)),
                },
                b'!' => {
                    let (open, close): (&[u8], &[u8]) = if d[lt..].starts_with(b"<!--") {
                        (b"<!--", b"-->")
                    } else if d[lt..].starts_with(b"<![CDATA[") {
                        (b"<![CDATA[", b"]]>")
                    } else if d.len() - lt < 9 {
                        return Ok(self.wait(lt));
                    } else {
                        bail!("unsupported markup declaration in the stream");
                    };
                    match find(d, lt + open.len(), close) {
                        Some(end) => self.skip_markup(end + close.len()),
                        None => return Ok(self.wait(lt)),
                    }
                }
                b'/' => {
                    let Some(gt) = memchr::memchr(b'>', &d[lt..]).map(|i| lt + i) else {
                        return Ok(self.wait(lt));
                    };
                    self.scan = gt + 1;
                    match self.depth {
                        0 => bail!("end tag outside the stream"),
                        1 => {
                            self.depth = 0;
                            self.head = gt + 1;
                            return Ok(Some(Frame::End));
                        }
                        2 => {
                            self.depth = 1;
                            self.head = gt + 1;
                            return Ok(Some(Frame::Element(self.elem_start..gt + 1)));
                        }
                        _ => self.depth -= 1,
                    }
                }
                _ => {
                    let Some(gt) = tag_end(d, lt + 1) else {
                        return Ok(self.wait(lt));
                    };
                    let empty = d[gt - 1] == b'/';
                    self.scan = gt + 1;
                    match (self.depth, empty) {
                        (0, true) => bail!("empty stream header"),
                        (0, false) => {
                            self.depth = 1;
                            self.head = gt + 1;
                            return Ok(Some(Frame::Header(lt..gt + 1)));
                        }
                        (1, true) => {
                            self.head = gt + 1;
                            return Ok(Some(Frame::Element(lt..gt + 1)));
                        }
                        (1, false) => {
                            self.elem_start = lt;
                            self.depth = 2;
                        }
                        (_, true) => {}
                        (_, false) => self.depth += 1,
                    }
                }
            }
        }
    }

    fn wait(&mut self, lt: usize) -> Option<Frame> {
        self.scan = lt;
        None
    }

    fn skip_markup(&mut self, end: usize) {
        self.scan = end;
        if self.depth <= 1 {
            self.head = end;
        }
    }
}

/// The `>` that closes a start tag beginning at `from`, ignoring quoted values.
pub(crate) fn tag_end(d: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let j = i + memchr::memchr3(b'>', b'"', b'\'', d.get(i..)?)?;
        if d[j] == b'>' {
            return Some(j);
        }
        i = j + 1 + memchr::memchr(d[j], &d[j + 1..])? + 1;
    }
}

fn find(d: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(&d[from..], needle).map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(f: &mut Framer) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(fr) = f.next_frame().unwrap() {
            out.push(match fr {
                Frame::Header(r) => format!("H:{}", String::from_utf8_lossy(&f.bytes()[r])),
                Frame::Element(r) => String::from_utf8_lossy(&f.bytes()[r]).into_owned(),
                Frame::End => "END".into(),
            });
        }
        out
    }

    const STREAM: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' id='a>b' version='1.0'>\
        <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>\
        <!-- a comment <with/> tags -->\n  \
        <message id='x' type=\"chat\"><body>a &lt; b<![CDATA[ <not/> a tag ]]></body></message>\
        <presence a=\"x>y\" b='>'/></stream:stream>";

    #[test]
    fn a_whole_stream_at_once_yields_header_elements_and_end() {
        let mut f = Framer::new(64);
        f.push(STREAM.as_bytes());
        let got = frames(&mut f);
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(got[0].starts_with("H:<stream:stream") && got[0].ends_with("version='1.0'>"), "{}", got[0]);
        assert!(got[1].starts_with("<stream:features>") && got[1].ends_with("</stream:features>"));
        assert!(got[2].starts_with("<message id='x'") && got[2].ends_with("</message>"));
        assert!(got[2].contains("<![CDATA[ <not/> a tag ]]>"));
        assert_eq!(got[3], "<presence a=\"x>y\" b='>'/>");
        assert_eq!(got[4], "END");
    }

    #[test]
    fn byte_by_byte_input_gives_the_same_frames() {
        let mut whole = Framer::new(64);
        whole.push(STREAM.as_bytes());
        let expected = frames(&mut whole);
        let mut f = Framer::new(4);
        let mut got = Vec::new();
        for b in STREAM.as_bytes() {
            f.push(std::slice::from_ref(b));
            got.extend(frames(&mut f));
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn consumed_bytes_are_compacted_away_on_the_next_read() {
        let mut f = Framer::new(16);
        f.push(b"<s:stream>");
        assert!(matches!(f.next_frame().unwrap(), Some(Frame::Header(_))));
        for i in 0..1000 {
            f.push(format!("<m id='{i}'><b>x</b></m>").as_bytes());
            let Some(Frame::Element(r)) = f.next_frame().unwrap() else { panic!("element {i}") };
            assert_eq!(&f.bytes()[r], format!("<m id='{i}'><b>x</b></m>").as_bytes());
        }
        assert!(f.bytes().len() < 64, "buffer kept {} bytes", f.bytes().len());
    }

    #[test]
    fn restart_accepts_a_second_header() {
        let mut f = Framer::new(16);
        f.push(b"<s:stream><success/>");
        assert!(matches!(f.next_frame().unwrap(), Some(Frame::Header(_))));
        assert_eq!(f.next_frame().unwrap(), Some(Frame::Element(10..20)));
        f.restart();
        f.push(b"<s:stream a='1'><features/>");
        assert!(matches!(f.next_frame().unwrap(), Some(Frame::Header(_))));
        assert!(matches!(f.next_frame().unwrap(), Some(Frame::Element(_))));
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut f = Framer::new(16);
        f.push(b"</stream>");
        assert!(f.next_frame().is_err());
        let mut f = Framer::new(16);
        f.push(b"<s:stream><!DOCTYPE x>");
        assert!(matches!(f.next_frame().unwrap(), Some(Frame::Header(_))));
        assert!(f.next_frame().is_err());
    }
}
