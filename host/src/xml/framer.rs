//! RFC 6120 §4.2-§4.4 and §11: finds where the stream header, each top-level
//! stanza and the stream close begin and end in the received bytes.
//!
//! The framer is a byte-level state machine that resumes where it stopped, so
//! a stanza arriving in many reads is scanned once, and it enforces the size
//! and depth limits while the bytes arrive: a hostile peer cannot make us
//! buffer more than one limit's worth. It deliberately does not build
//! anything; a complete frame's slice goes to the tree builder, which does the
//! real XML parsing. It does reject early what it sees anyway (comments, PIs,
//! DTDs, text at the top level, unquoted attributes).

use super::error::XmlError;
use std::ops::Range;

/// One complete top-level unit of the stream, as a range of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// The leading `<?xml ...?>` declaration.
    Decl(Range<usize>),
    /// The stream header start tag; `empty` when it was written `<.../>`.
    Header { range: Range<usize>, empty: bool },
    /// One complete top-level element.
    Stanza(Range<usize>),
    /// The end tag closing the stream root.
    Close(Range<usize>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the stream header.
    Prolog,
    /// Between the header and the close.
    Stream,
    /// After the close (or an empty-element header).
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Character data: top-level whitespace, or text inside a stanza.
    Text,
    /// Just after `<`.
    Lt,
    /// After `<!`: a comment, CDATA section or DTD.
    Bang,
    /// After `<?`: the XML declaration or a processing instruction.
    Question,
    /// Inside a start tag.
    StartTag(Attr),
    /// Inside an end tag.
    EndTag,
    /// Inside `<![CDATA[ ... ]]>`.
    CData,
    /// Inside `<?xml ... ?>`.
    Decl,
}

/// Where a start tag's scanner is relative to attribute values, so that a
/// `>` inside quotes does not end the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    Outside,
    AfterEq,
    Value(u8),
    /// Just after a closing quote: whitespace, `/` or `>` must follow.
    AfterValue,
}

const CDATA_OPEN: &[u8] = b"<![CDATA[";

/// Bytes that end a run inside a start tag outside attribute values: the
/// ones [`Framer::start_tag`] acts on.
const OUTSIDE_STOP: [bool; 256] = stop_table(b"=>'\"<");
/// The same while the element name is still being read, when whitespace and
/// `/` also end the name.
const NAME_STOP: [bool; 256] = stop_table(b"=>'\"< \t\r\n/");

const fn stop_table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// The resumable scanner. Positions are indices into the caller's buffer.
#[derive(Debug)]
pub(crate) struct Framer {
    max_bytes: usize,
    max_depth: usize,
    phase: Phase,
    state: State,
    /// Next byte to look at.
    pos: usize,
    /// Start of the markup being scanned (the `<`).
    tag: usize,
    /// Start of the unfinished frame, if any.
    unit: Option<usize>,
    /// Elements open inside the stream root.
    depth: usize,
    /// Whether `<?xml` may still start the XML declaration.
    decl_allowed: bool,
    /// End of the current start tag's name (0 until seen).
    name_end: usize,
    /// Names of the open elements of the current stanza, as (offset from
    /// the stanza start, length): end tags are matched as soon as they
    /// arrive, not when the stanza is complete. Grows to `max_depth` once.
    open: Vec<(usize, usize)>,
    /// Tests compare the run skipping against the plain state machine.
    #[cfg(test)]
    byte_by_byte: bool,
}

impl Framer {
    pub(crate) fn new(max_bytes: usize, max_depth: usize) -> Self {
        Framer {
            max_bytes,
            max_depth,
            phase: Phase::Prolog,
            state: State::Text,
            pos: 0,
            tag: 0,
            unit: None,
            depth: 0,
            decl_allowed: true,
            name_end: 0,
            open: Vec::new(),
            #[cfg(test)]
            byte_by_byte: false,
        }
    }

    /// Everything before this index is done with and may be discarded.
    pub(crate) fn consumed(&self) -> usize {
        self.unit.unwrap_or(self.pos)
    }

    /// The caller removed the first `n` (consumed) bytes of its buffer.
    pub(crate) fn shift(&mut self, n: usize) {
        self.pos -= n;
        self.tag = self.tag.saturating_sub(n);
        self.name_end = self.name_end.saturating_sub(n);
        self.unit = self.unit.map(|u| u - n);
    }

    /// Scans on from where the last call stopped; `Ok(None)` means `buf`
    /// holds no further complete frame yet.
    pub(crate) fn scan(&mut self, buf: &[u8]) -> Result<Option<Frame>, XmlError> {
        while self.pos < buf.len() {
            let end = match self.unit {
                Some(unit) if self.pos - unit >= self.max_bytes => {
                    return Err(XmlError::TooLarge { limit: self.max_bytes });
                }
                // Never look past the size limit: the check above then
                // trips on the first byte beyond it.
                Some(unit) => buf.len().min(unit + self.max_bytes),
                None => buf.len(),
            };
            self.pos += self.run_len(&buf[self.pos..end]);
            if self.pos == end {
                continue;
            }
            let b = buf[self.pos];
            match self.state {
                State::Text => self.text(b)?,
                State::Lt => self.lt(b)?,
                State::Bang => match self.bang(buf)? {
                    true => continue,
                    false => return Ok(None),
                },
                State::Question => match self.question(buf)? {
                    true => continue,
                    false => return Ok(None),
                },
                State::StartTag(attr) => {
                    if let Some(frame) = self.start_tag(buf, attr, b)? {
                        return Ok(Some(frame));
                    }
                }
                State::EndTag => match b {
                    b'>' => {
                        if let Some(frame) = self.end_tag(buf)? {
                            return Ok(Some(frame));
                        }
                    }
                    b'<' => return Err(XmlError::Syntax("'<' inside an end tag".into())),
                    _ => {}
                },
                State::CData => {
                    if b == b'>' && self.pos >= self.tag + 11 && &buf[self.pos - 2..self.pos] == b"]]" {
                        self.state = State::Text;
                    }
                }
                State::Decl => {
                    if b == b'>' && buf[self.pos - 1] == b'?' {
                        self.decl_allowed = false;
                        return Ok(Some(Frame::Decl(self.finish())));
                    }
                }
            }
            self.pos += 1;
        }
        Ok(None)
    }

    /// How many bytes at the start of `rest` the state machine would pass
    /// over without changing state: text, element names, attribute names and
    /// values, end tags and CDATA content are skipped in one search each
    /// instead of one state-machine step per byte (most of a stanza's bytes).
    fn run_len(&self, rest: &[u8]) -> usize {
        #[cfg(test)]
        if self.byte_by_byte {
            return 0;
        }
        let until = |stop: &[bool; 256]| rest.iter().position(|&b| stop[usize::from(b)]).unwrap_or(rest.len());
        match self.state {
            State::Text if self.depth > 0 => memchr::memchr(b'<', rest).unwrap_or(rest.len()),
            State::StartTag(Attr::Value(q)) => rest.iter().position(|&b| b == q || b == b'<').unwrap_or(rest.len()),
            State::StartTag(Attr::Outside) if self.name_end == 0 => until(&NAME_STOP),
            State::StartTag(Attr::Outside) => until(&OUTSIDE_STOP),
            State::EndTag => rest.iter().position(|&b| b == b'>' || b == b'<').unwrap_or(rest.len()),
            State::CData => memchr::memchr(b'>', rest).unwrap_or(rest.len()),
            _ => 0,
        }
    }

    /// Ends the current frame at `pos` (inclusive) and returns its range.
    fn finish(&mut self) -> Range<usize> {
        let start = self.unit.take().unwrap_or(self.tag);
        self.pos += 1;
        self.state = State::Text;
        start..self.pos
    }

    fn text(&mut self, b: u8) -> Result<(), XmlError> {
        if b == b'<' {
            if self.phase == Phase::Closed {
                return Err(XmlError::DataAfterClose);
            }
            self.tag = self.pos;
            self.unit.get_or_insert(self.pos);
            self.state = State::Lt;
            return Ok(());
        }
        if self.unit.is_some() || matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            return Ok(());
        }
        Err(match (self.phase, b) {
            (Phase::Prolog, 0x00 | 0xFE | 0xFF) => XmlError::UnsupportedEncoding("UTF-16".into()),
            (Phase::Closed, _) => XmlError::DataAfterClose,
            _ => XmlError::TopLevelText,
        })
    }

    fn lt(&mut self, b: u8) -> Result<(), XmlError> {
        self.state = match b {
            b'/' => State::EndTag,
            b'!' => State::Bang,
            b'?' => State::Question,
            0 if self.phase == Phase::Prolog => {
                return Err(XmlError::UnsupportedEncoding("UTF-16".into()));
            }
            _ => {
                self.name_end = 0;
                State::StartTag(Attr::Outside)
            }
        };
        Ok(())
    }

    /// Classifies `<!...`; false when more bytes are needed to decide.
    fn bang(&mut self, buf: &[u8]) -> Result<bool, XmlError> {
        match buf[self.pos] {
            b'-' => Err(XmlError::Restricted("comment")),
            b'[' => {
                let have = &buf[self.tag..buf.len().min(self.tag + CDATA_OPEN.len())];
                if !CDATA_OPEN.starts_with(have) {
                    return Err(XmlError::Syntax("bad '<![' markup".into()));
                }
                if have.len() < CDATA_OPEN.len() {
                    return Ok(false);
                }
                if self.depth == 0 {
                    return Err(XmlError::TopLevelText);
                }
                self.pos = self.tag + CDATA_OPEN.len();
                self.state = State::CData;
                Ok(true)
            }
            _ => Err(XmlError::Restricted("DTD")),
        }
    }

    /// Classifies `<?...`; false when more bytes are needed to decide.
    fn question(&mut self, buf: &[u8]) -> Result<bool, XmlError> {
        const DECL: &[u8] = b"<?xml";
        let pi = XmlError::Restricted("processing instruction");
        if !(self.phase == Phase::Prolog && self.decl_allowed) {
            return Err(pi);
        }
        let have = &buf[self.tag..buf.len().min(self.tag + DECL.len() + 1)];
        if !have.starts_with(&DECL[..have.len().min(DECL.len())]) {
            return Err(pi);
        }
        match have.get(DECL.len()) {
            None => Ok(false),
            Some(b' ' | b'\t' | b'\r' | b'\n') => {
                self.pos = self.tag + DECL.len() + 1;
                self.state = State::Decl;
                Ok(true)
            }
            Some(_) => Err(pi),
        }
    }

    fn start_tag(&mut self, buf: &[u8], attr: Attr, b: u8) -> Result<Option<Frame>, XmlError> {
        if self.name_end == 0 && matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>') {
            self.name_end = self.pos;
        }
        let next = match (attr, b) {
            (Attr::Outside | Attr::AfterValue, b'>') => {
                return self.start_tag_end(buf[self.pos - 1] == b'/');
            }
            (Attr::AfterValue, b' ' | b'\t' | b'\r' | b'\n' | b'/') => Attr::Outside,
            (Attr::AfterValue, _) => {
                return Err(XmlError::BadAttribute("no space between attributes".into()));
            }
            (Attr::Outside, b'=') => Attr::AfterEq,
            (Attr::Outside, b'\'' | b'"') => {
                return Err(XmlError::BadAttribute("quote outside an attribute value".into()));
            }
            (Attr::AfterEq, b' ' | b'\t' | b'\r' | b'\n') => Attr::AfterEq,
            (Attr::AfterEq, b'\'' | b'"') => Attr::Value(b),
            (Attr::AfterEq, _) => {
                return Err(XmlError::BadAttribute("unquoted attribute value".into()));
            }
            (Attr::Value(q), _) if b == q => Attr::AfterValue,
            (Attr::Value(_), b'<') => {
                return Err(XmlError::BadAttribute("'<' in an attribute value".into()));
            }
            (_, b'<') => return Err(XmlError::Syntax("'<' inside a tag".into())),
            (other, _) => other,
        };
        self.state = State::StartTag(next);
        Ok(None)
    }

    fn start_tag_end(&mut self, empty: bool) -> Result<Option<Frame>, XmlError> {
        match self.phase {
            Phase::Prolog => {
                self.phase = if empty { Phase::Closed } else { Phase::Stream };
                self.decl_allowed = false;
                Ok(Some(Frame::Header { range: self.finish(), empty }))
            }
            _ => {
                if self.depth + 1 > self.max_depth {
                    return Err(XmlError::TooDeep { limit: self.max_depth });
                }
                if !empty {
                    let unit = self.unit.unwrap_or(self.tag);
                    self.open.push((self.tag + 1 - unit, self.name_end - self.tag - 1));
                    self.depth += 1;
                    self.state = State::Text;
                    Ok(None)
                } else if self.depth == 0 {
                    Ok(Some(Frame::Stanza(self.finish())))
                } else {
                    self.state = State::Text;
                    Ok(None)
                }
            }
        }
    }

    fn end_tag(&mut self, buf: &[u8]) -> Result<Option<Frame>, XmlError> {
        if self.phase == Phase::Prolog {
            return Err(XmlError::Syntax("end tag before the stream header".into()));
        }
        if self.depth == 0 {
            self.phase = Phase::Closed;
            return Ok(Some(Frame::Close(self.finish())));
        }
        let unit = self.unit.unwrap_or(self.tag);
        let found = buf[self.tag + 2..self.pos].trim_ascii_end();
        let (off, len) = self.open.pop().unwrap_or_default();
        let expected = &buf[unit + off..unit + off + len];
        if found != expected {
            let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            return Err(XmlError::MismatchedTag { expected: lossy(expected), found: lossy(found) });
        }
        self.depth -= 1;
        if self.depth == 0 {
            return Ok(Some(Frame::Stanza(self.finish())));
        }
        self.state = State::Text;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"<s:stream xmlns:s='http://etherx.jabber.org/streams'>";

    fn frames(input: &[u8], max_bytes: usize, max_depth: usize) -> Result<Vec<Frame>, XmlError> {
        let mut f = Framer::new(max_bytes, max_depth);
        let mut out = Vec::new();
        while let Some(frame) = f.scan(input)? {
            out.push(frame);
        }
        Ok(out)
    }

    #[test]
    fn finds_each_unit() {
        let mut input = b"<?xml version='1.0'?> ".to_vec();
        input.extend_from_slice(HEADER);
        let h = input.len();
        input.extend_from_slice(b" <a x='>' y=\"/>\"><b/><![CDATA[</a>]]></a>\n<c/></s:stream>");
        let got = frames(&input, 1000, 10).unwrap();
        let text = |r: &Range<usize>| std::str::from_utf8(&input[r.clone()]).unwrap().to_owned();
        assert_eq!(got[0], Frame::Decl(0..21));
        assert_eq!(got[1], Frame::Header { range: 22..h, empty: false });
        let Frame::Stanza(a) = &got[2] else { panic!("{got:?}") };
        assert_eq!(text(a), "<a x='>' y=\"/>\"><b/><![CDATA[</a>]]></a>");
        let Frame::Stanza(c) = &got[3] else { panic!() };
        assert_eq!(text(c), "<c/>");
        let Frame::Close(close) = &got[4] else { panic!() };
        assert_eq!(text(close), "</s:stream>");
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn consumed_skips_keepalives_but_keeps_partial_units() {
        let mut f = Framer::new(1000, 10);
        let mut buf = HEADER.to_vec();
        assert!(matches!(f.scan(&buf), Ok(Some(Frame::Header { .. }))));
        buf.extend_from_slice(b"  \n<a><b>te");
        assert_eq!(f.scan(&buf), Ok(None));
        assert_eq!(f.consumed(), HEADER.len() + 3);
        let n = f.consumed();
        buf.drain(..n);
        f.shift(n);
        buf.extend_from_slice(b"xt</b></a>");
        assert_eq!(f.scan(&buf), Ok(Some(Frame::Stanza(0..buf.len()))));
        assert_eq!(f.consumed(), buf.len());
    }

    #[test]
    fn end_tags_are_matched_as_they_arrive() {
        let mut input = HEADER.to_vec();
        input.extend_from_slice(b"<a><b></a>");
        let err = frames(&input, 1000, 10).unwrap_err();
        assert_eq!(err, XmlError::MismatchedTag { expected: "b".into(), found: "a".into() });
    }

    #[test]
    fn early_refusals() {
        let cases: [(&[u8], XmlError); 6] = [
            (b"<a b=c>", XmlError::BadAttribute("unquoted attribute value".into())),
            (b"<a 'b'>", XmlError::BadAttribute("quote outside an attribute value".into())),
            (b"<a b='1'c='2'>", XmlError::BadAttribute("no space between attributes".into())),
            (b"<a <b>", XmlError::Syntax("'<' inside a tag".into())),
            (b"<!--x-->", XmlError::Restricted("comment")),
            (b"<a><?p?></a>", XmlError::Restricted("processing instruction")),
        ];
        for (tail, want) in cases {
            let mut input = HEADER.to_vec();
            input.extend_from_slice(tail);
            assert_eq!(frames(&input, 1000, 10), Err(want));
        }
    }

    /// Every frame and the error `input` gives, fed in `chunks` pieces cut
    /// at the given offsets, with or without the run skipping.
    fn frames_fed(
        input: &[u8],
        cuts: &[usize],
        max_bytes: usize,
        max_depth: usize,
        byte_by_byte: bool,
    ) -> Vec<Result<Frame, XmlError>> {
        let mut f = Framer::new(max_bytes, max_depth);
        f.byte_by_byte = byte_by_byte;
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain([&input.len()]) {
            buf.extend_from_slice(&input[from..cut.max(from)]);
            from = cut.max(from);
            loop {
                match f.scan(&buf) {
                    Ok(Some(frame)) => out.push(Ok(frame)),
                    Ok(None) => break,
                    Err(e) => {
                        out.push(Err(e));
                        return out;
                    }
                }
            }
        }
        out
    }

    /// The run skipping is an optimisation only: on generated input full of
    /// markup characters, cut anywhere and under tight limits, it finds the
    /// same frames and the same first error as the plain state machine.
    #[test]
    fn run_skipping_matches_the_byte_by_byte_scanner() {
        const PIECES: [&str; 30] = [
            "<a",
            "<b x='1'",
            ">",
            "/>",
            "</a>",
            "</b >",
            "'",
            "\"",
            "=",
            " ",
            "\t",
            "x",
            "yz",
            "<![CDATA[",
            "]]>",
            "]]",
            "/",
            "<",
            "\u{e9}",
            "\n",
            "<c y=\"a>b\">",
            "</c>",
            "<a/>",
            "text",
            "&amp;",
            "<!",
            "<?",
            "?>",
            "<d\n",
            " z='<'",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..3000 {
            let mut input = HEADER.to_vec();
            for _ in 0..next(24) {
                input.extend_from_slice(PIECES[next(PIECES.len())].as_bytes());
            }
            if round % 3 == 0 {
                input.extend_from_slice(b"<m to='a@b/c' id=\"1\"><body>hi &lt; there</body><x xmlns='u'><y/></x></m>");
            }
            let cuts: Vec<usize> = match round % 4 {
                0 => vec![],
                1 => (1..input.len()).collect(),
                _ => {
                    let mut c: Vec<usize> = (0..next(5)).map(|_| next(input.len())).collect();
                    c.sort_unstable();
                    c
                }
            };
            let (max_bytes, max_depth) =
                if round % 5 == 0 { (HEADER.len() + next(40), 1 + next(3)) } else { (1000, 10) };
            let fast = frames_fed(&input, &cuts, max_bytes, max_depth, false);
            let slow = frames_fed(&input, &cuts, max_bytes, max_depth, true);
            assert_eq!(
                fast,
                slow,
                "input {:?} cuts {cuts:?} limits {max_bytes}/{max_depth}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    #[test]
    fn runs_stop_at_the_size_limit() {
        // A long value, text and end tag each hit the limit exactly where
        // the byte-by-byte scanner does, also when the bytes arrive in pieces.
        let digits = "0123456789".repeat(8);
        for tail in [format!("<a x='{digits}'/>"), format!("<a>{digits}</a>"), format!("<a></a{digits}>")] {
            let mut input = HEADER.to_vec();
            input.extend_from_slice(tail.as_bytes());
            // The header (53 bytes) must fit too.
            for limit in [HEADER.len(), HEADER.len() + 10, tail.len() - 1, tail.len()] {
                for cuts in [vec![], vec![HEADER.len() + 5], (1..input.len()).collect()] {
                    let fast = frames_fed(&input, &cuts, limit, 10, false);
                    assert_eq!(fast, frames_fed(&input, &cuts, limit, 10, true), "{tail} {limit}");
                    let too_large = Err(XmlError::TooLarge { limit });
                    assert_eq!(fast.last() == Some(&too_large), limit < tail.len(), "{tail} {limit} {fast:?}");
                }
            }
        }
    }

    #[test]
    fn limits() {
        // The framer leaves namespaces to the tree builder: `<s>` will do.
        let input = b"<s><a><a><a/></a></a>";
        assert_eq!(frames(input, 1000, 3).unwrap().len(), 2);
        assert_eq!(frames(input, 1000, 2), Err(XmlError::TooDeep { limit: 2 }));
        assert_eq!(frames(input, 18, 3).unwrap().len(), 2);
        assert_eq!(frames(input, 17, 3), Err(XmlError::TooLarge { limit: 17 }));
    }
}
