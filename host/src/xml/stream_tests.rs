//! Tests of the RFC 6120 §4/§11 stream parser against literal client input:
//! events, chunking, limits, keepalives, reset, and every refusal.

use super::*;
use crate::xmpp::ns;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

/// A header that fits the small limits some tests use (63 bytes).
const SHORT_HEADER: &str = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>";

/// Feeds `chunks` one by one, draining events after each; stops at the
/// first error.
fn run_chunks<'a>(limits: Limits, chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<StreamEvent>, Option<XmlError>) {
    run_chunks_with(limits, chunks, false)
}

/// [`run_chunks`], optionally releasing idle buffers after each drain as
/// the connection reader does before it waits for the socket.
fn run_chunks_with<'a>(
    limits: Limits,
    chunks: impl IntoIterator<Item = &'a [u8]>,
    release: bool,
) -> (Vec<StreamEvent>, Option<XmlError>) {
    let mut p = StreamParser::new(limits);
    let mut out = Vec::new();
    for chunk in chunks {
        p.feed(chunk);
        loop {
            match p.next_event() {
                Ok(Some(ev)) => out.push(ev),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
        if release {
            p.release_idle();
        }
    }
    (out, None)
}

/// The result for `input`, after checking that feeding it whole, byte by
/// byte, and split in two at every position all give the same result, with
/// and without releasing idle buffers between reads.
fn run_all_splits(limits: Limits, input: &[u8]) -> (Vec<StreamEvent>, Option<XmlError>) {
    let whole = run_chunks(limits, [input]);
    assert_eq!(run_chunks(limits, input.chunks(1)), whole, "byte by byte");
    assert_eq!(run_chunks_with(limits, input.chunks(1), true), whole, "byte by byte, releasing");
    for i in 1..input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(run_chunks(limits, [a, b]), whole, "split at {i}");
        assert_eq!(run_chunks_with(limits, [a, b], true), whole, "split at {i}, releasing");
    }
    whole
}

fn stanzas(input: &str) -> Vec<Element> {
    let (events, err) = run_chunks(Limits::default(), [format!("{HEADER}{input}").as_bytes()]);
    assert_eq!(err, None);
    events
        .into_iter()
        .filter_map(|e| match e {
            StreamEvent::Stanza(el) => Some(el),
            _ => None,
        })
        .collect()
}

/// The stream condition `input` is refused with, checked at every split.
fn refusal(limits: Limits, input: &str) -> &'static str {
    refusal_bytes(limits, input.as_bytes())
}

fn refusal_bytes(limits: Limits, input: &[u8]) -> &'static str {
    match run_all_splits(limits, input) {
        (_, Some(err)) => err.to_stream_error().condition.as_str(),
        (events, None) => panic!("accepted {:?}: {events:?}", String::from_utf8_lossy(input)),
    }
}

fn in_stream(body: &str) -> String {
    format!("{HEADER}{body}")
}

#[test]
fn header_is_reported_as_sent() {
    let (events, err) = run_chunks(Limits::default(), [HEADER.as_bytes()]);
    assert_eq!(err, None);
    let want = StreamHeader {
        to: Some("example.com".into()),
        version: Some("1.0".into()),
        lang: Some("en".into()),
        default_ns: Some(ns::CLIENT.into()),
        ..StreamHeader::default()
    };
    assert_eq!(events, vec![StreamEvent::Open(want)]);
}

#[test]
fn stanzas_keepalives_and_close() {
    let input = in_stream(
        " \n<message to='juliet@example.com' type='chat'><body>hi</body></message>\t \
         <presence/>\r\n <iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq> </stream:stream>",
    );
    let (events, err) = run_all_splits(Limits::default(), input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 5);
    let StreamEvent::Stanza(msg) = &events[1] else { panic!("{events:?}") };
    assert!(msg.is("message", ns::CLIENT));
    assert_eq!(msg.attr("type"), Some("chat"));
    assert_eq!(msg.child("body", ns::CLIENT).unwrap().text(), "hi");
    assert_eq!(events[2], StreamEvent::Stanza(Element::new("presence", ns::CLIENT)));
    let StreamEvent::Stanza(iq) = &events[3] else { panic!() };
    assert!(iq.child("ping", ns::PING).is_some());
    assert_eq!(events[4], StreamEvent::Close);
}

#[test]
fn every_split_gives_the_same_events_for_tricky_input() {
    let input = in_stream(
        "<message to='a@b' x=\"q'>\" y='d\"/>'><body>caf\u{e9} \u{1F600} &lt;&amp;&#x263A;&#65;\
         <![CDATA[<not> & ]] ]]>tail</body><x:y xmlns:x='urn:x' x:k='v'/>\
         <e xmlns='urn:e'><f/></e></message><r/>\n</stream:stream>",
    );
    let (events, err) = run_all_splits(Limits::default(), input.as_bytes());
    assert_eq!(err, None);
    let StreamEvent::Stanza(msg) = &events[1] else { panic!("{events:?}") };
    assert_eq!(msg.attr("x"), Some("q'>"));
    assert_eq!(msg.attr("y"), Some("d\"/>"));
    let body = msg.child("body", ns::CLIENT).unwrap();
    assert_eq!(body.text(), "caf\u{e9} \u{1F600} <&\u{263A}A<not> & ]] tail");
    assert_eq!(body.children.len(), 1, "adjacent text is one node");
    let y = msg.child("y", "urn:x").unwrap();
    assert_eq!(y.attr("x:k"), Some("v"));
    assert!(msg.child("e", "urn:e").unwrap().child("f", "urn:e").is_some());
    assert_eq!(events[2], StreamEvent::Stanza(Element::new("r", ns::CLIENT)));
    assert_eq!(events[3], StreamEvent::Close);
}

#[test]
fn namespaces_resolve_against_the_header_scope() {
    let got = stanzas(
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
         </stream:features><message xml:lang='fr'><p:a xmlns:p='urn:p'><p:b/><c/></p:a><d/></message>",
    );
    assert!(got[0].is("features", ns::STREAM));
    let tls = got[0].child("starttls", ns::TLS).unwrap();
    assert!(tls.child("required", ns::TLS).is_some());
    assert_eq!(got[1].attr("xml:lang"), Some("fr"));
    let a = got[1].child("a", "urn:p").unwrap();
    assert!(a.child("b", "urn:p").is_some());
    assert!(a.child("c", ns::CLIENT).is_some(), "a prefix does not change the default");
    assert!(got[1].child("d", ns::CLIENT).is_some(), "declarations end with their element");
}

#[test]
fn other_stream_prefixes_and_declared_namespaces_work() {
    let input = "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns:c='jabber:client'>\
                 <c:message/><s:features/></s:stream>";
    let (events, err) = run_all_splits(Limits::default(), input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events[0], StreamEvent::Open(StreamHeader::default()));
    assert_eq!(events[1], StreamEvent::Stanza(Element::new("message", ns::CLIENT)));
    assert_eq!(events[2], StreamEvent::Stanza(Element::new("features", ns::STREAM)));
    assert_eq!(events[3], StreamEvent::Close);
}

#[test]
fn declaration_variants_and_empty_header() {
    let input = "<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes'?>\n\
                 <stream:stream xmlns:stream='http://etherx.jabber.org/streams' from='a' id='x'/>";
    let (events, err) = run_all_splits(Limits::default(), input.as_bytes());
    assert_eq!(err, None);
    let want = StreamHeader { from: Some("a".into()), id: Some("x".into()), ..Default::default() };
    assert_eq!(events, vec![StreamEvent::Open(want), StreamEvent::Close]);
}

#[test]
fn not_well_formed_input() {
    let l = Limits::default();
    for bad in [
        "<message><body></message>",
        "<message></iq>",
        "<a><b></a></b>",
        "<message to=juliet/>",
        "<message to/>",
        "<message 'x'/>",
        "<message a='1'b='2'/>",
        "<message to='a' to='b'/>",
        "<message xmlns:p='u' xmlns:p='v'/>",
        "<message xmlns:p='u' xmlns:q='u' p:a='1' q:a='2'/>",
        "hello",
        "<m/>x",
        "<![CDATA[x]]>",
        "<message>a & b</message>",
        "<message>&#0;</message>",
        "<message>\u{1}</message>",
        "<message a='<'/>",
        "<1a/>",
        "<message xmlns:p=''/>",
        "<message xmlns:xml='urn:not-xml'/>",
        "</stream:foo>",
        "</stream:stream><m/>",
        "</stream:stream>x",
        "<![x[",
    ] {
        assert_eq!(refusal(l, &in_stream(bad)), "not-well-formed", "{bad}");
    }
    let mut invalid_utf8 = in_stream("<message><body>").into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\xfe</body></message>");
    assert_eq!(refusal_bytes(l, &invalid_utf8), "not-well-formed");
    for bad in ["<message/>", "text", "</x>", "\u{FEFF}<stream:stream/>"] {
        assert_eq!(refusal(l, bad), "not-well-formed", "before header: {bad}");
    }
}

#[test]
fn restricted_xml_is_refused() {
    let l = Limits::default();
    for bad in [
        "<!-- hi -->",
        "<message><!-- hi --></message>",
        "<message><?pi x?></message>",
        "<?xml version='1.0'?>",
        "<!DOCTYPE x>",
        "<message><!ENTITY x 'y'></message>",
        "<message>&xxe;</message>",
        "<message a='&xxe;'/>",
    ] {
        assert_eq!(refusal(l, &in_stream(bad)), "restricted-xml", "{bad}");
    }
    for bad in [
        "<!DOCTYPE stream [<!ENTITY x 'y'>]><stream:stream>",
        "<?xml-stylesheet href='x'?>",
        "<?pi?>",
        "<!-- c --><stream:stream>",
    ] {
        assert_eq!(refusal(l, bad), "restricted-xml", "{bad}");
    }
}

#[test]
fn namespace_errors() {
    let l = Limits::default();
    assert_eq!(refusal(l, "<stream:stream xmlns:stream='urn:wrong'>"), "invalid-namespace");
    assert_eq!(refusal(l, "<stream:open xmlns:stream='http://etherx.jabber.org/streams'>"), "invalid-namespace");
    assert_eq!(refusal(l, "<stream xmlns='jabber:client'>"), "invalid-namespace");
    assert_eq!(refusal(l, "<stream:stream xmlns='jabber:client'>"), "bad-namespace-prefix");
    for bad in ["<foo:bar/>", "<message foo:x='1'/>", "<message><a:b xmlns:a='u'/><a:c/></message>"] {
        assert_eq!(refusal(l, &in_stream(bad)), "bad-namespace-prefix", "{bad}");
    }
}

#[test]
fn encodings_other_than_utf8_are_refused() {
    let l = Limits::default();
    let decl = "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream>";
    assert_eq!(refusal(l, decl), "unsupported-encoding");
    assert_eq!(refusal_bytes(l, b"\xfe\xff\x00<"), "unsupported-encoding");
    assert_eq!(refusal_bytes(l, b"\xff\xfe<\x00"), "unsupported-encoding");
    assert_eq!(refusal_bytes(l, b"<\x00?\x00"), "unsupported-encoding");
}

#[test]
fn size_limit_applies_while_the_stanza_is_still_arriving() {
    let limits = Limits { max_stanza_bytes: 64, max_depth: 32 };
    let mut p = StreamParser::new(limits);
    p.feed(SHORT_HEADER.as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    p.feed(b"<message><body>");
    assert_eq!(p.next_event(), Ok(None));
    p.feed(&[b'x'; 49]);
    assert_eq!(p.next_event(), Ok(None), "64 bytes so far: still allowed");
    p.feed(b"x");
    assert_eq!(p.next_event(), Err(XmlError::TooLarge { limit: 64 }));
    assert_eq!(p.next_event(), Err(XmlError::TooLarge { limit: 64 }), "stays failed");
}

#[test]
fn size_limit_is_exact_and_covers_the_header() {
    let header = SHORT_HEADER;
    assert_eq!(header.len(), 63);
    let limits = Limits { max_stanza_bytes: 64, max_depth: 32 };
    let stanza = |n: usize| format!("{header}<m>{}</m>", "x".repeat(n - 7));
    assert_eq!(run_all_splits(limits, stanza(64).as_bytes()).1, None, "exactly 64 bytes");
    assert_eq!(refusal(limits, &stanza(65)), "policy-violation");
    assert_eq!(refusal(Limits { max_stanza_bytes: 62, ..limits }, header), "policy-violation");
    let mut p = StreamParser::new(limits);
    p.feed(b"<stream:stream");
    assert_eq!(p.next_event(), Ok(None));
    p.feed(&[b' '; 100]);
    assert_eq!(p.next_event(), Err(XmlError::TooLarge { limit: 64 }), "a huge header");
}

#[test]
fn unbounded_markup_cannot_hide_from_the_limit() {
    let limits = Limits { max_stanza_bytes: 100, max_depth: 32 };
    for tail in ["<message a='", "<message><![CDATA[", "<message></message", "<message a=\"x\" "] {
        let mut p = StreamParser::new(limits);
        p.feed(format!("{SHORT_HEADER}{tail}").as_bytes());
        let _ = p.next_event();
        let mut err = None;
        for _ in 0..20 {
            p.feed(&[b'y'; 10]);
            if let Err(e) = p.next_event() {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(XmlError::TooLarge { limit: 100 }), "{tail}");
        assert!(p.buffered() <= 110, "{tail}: buffered {}", p.buffered());
    }
}

#[test]
fn depth_limit() {
    let limits = Limits { max_stanza_bytes: 4096, max_depth: 4 };
    let ok = in_stream("<a><b><c><d/></c></b></a><a><b><c><d>x</d></c></b></a>");
    assert_eq!(run_all_splits(limits, ok.as_bytes()).1, None);
    assert_eq!(refusal(limits, &in_stream("<a><b><c><d><e/></d></c></b></a>")), "policy-violation");
    assert_eq!(refusal(limits, &in_stream("<a><b><c><d><e>")), "policy-violation");
    let deep = "<x>".repeat(40);
    assert_eq!(refusal(Limits::default(), &in_stream(&deep)), "policy-violation");
    let nested = Element::from_xml(&format!("{}{}", "<x>".repeat(33), "</x>".repeat(33)), ns::CLIENT);
    assert_eq!(nested, Err(XmlError::TooDeep { limit: 32 }));
}

#[test]
fn keepalives_leave_nothing_buffered() {
    let mut p = StreamParser::new(Limits::default());
    p.feed(HEADER.as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    for _ in 0..3 {
        p.feed(b" ");
        assert_eq!(p.next_event(), Ok(None));
        assert_eq!(p.buffered(), 0);
    }
    p.feed(b"\n\t\r\n<presence");
    assert_eq!(p.next_event(), Ok(None));
    assert_eq!(p.buffered(), 9, "only the partial stanza is kept");
    p.feed(b"/> ");
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Stanza(_)))));
    assert_eq!(p.next_event(), Ok(None));
    assert_eq!(p.buffered(), 0);
}

#[test]
fn an_idle_stream_holds_no_buffer() {
    let mut p = StreamParser::new(Limits::default());
    p.feed(format!("{HEADER}<presence/>").as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Stanza(_)))));
    assert_eq!(p.next_event(), Ok(None));
    assert!(p.buffer_capacity() > 0);
    p.release_idle();
    assert_eq!(p.buffer_capacity(), 0, "everything was consumed");
    // A partial stanza survives the release, and the stream goes on.
    p.feed(b"<message to='juliet@example.com'><bo");
    assert_eq!(p.next_event(), Ok(None));
    p.release_idle();
    assert_eq!(p.buffered(), 36, "the partial stanza is kept");
    p.feed(b"dy>hi</body></message>");
    let Ok(Some(StreamEvent::Stanza(el))) = p.next_event() else { panic!("the stanza completes") };
    assert_eq!(el.child("body", ns::CLIENT).map(|b| b.text()), Some("hi".into()));
    p.release_idle();
    assert_eq!(p.buffer_capacity(), 0);
}

#[test]
fn reset_starts_a_new_stream() {
    let mut p = StreamParser::new(Limits::default());
    p.feed(format!("{HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    let Ok(Some(StreamEvent::Stanza(el))) = p.next_event() else { panic!() };
    assert!(el.is("starttls", ns::TLS));
    assert_eq!(p.buffered(), 0, "safe to upgrade");
    p.reset();
    p.feed(HEADER.as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))), "a second header is accepted");
    p.feed(b"<!-- bad --><message");
    assert!(p.next_event().is_err());
    p.reset();
    assert_eq!(p.buffered(), 0);
    p.feed(b"<message/>");
    assert!(matches!(p.next_event(), Err(XmlError::StanzaBeforeHeader(_))), "header needed again");
    p.reset();
    p.feed(format!("{HEADER}<presence/>").as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))), "errors are cleared");
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Stanza(_)))));
}

#[test]
fn header_without_reset_is_a_stanza_in_the_stream_namespace() {
    // A second header inside the stream is just an open top-level element;
    // the c2s layer answers it. It must not reset the parser by itself.
    let got = stanzas("<presence/>");
    assert_eq!(got.len(), 1);
    let mut p = StreamParser::new(Limits::default());
    p.feed(format!("{HEADER}{HEADER}").as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    assert!(p.next_event().is_err(), "an XML declaration after the header");
}

#[test]
fn a_long_session_compacts_the_buffer() {
    let stanza = "<message to='romeo@example.net'><body>wherefore art thou</body></message> ";
    let data = format!("{HEADER}{}{STREAM_CLOSE}", stanza.repeat(1500));
    for (chunk_len, release) in [(3, false), (997, false), (8200, false), (3, true), (997, true), (8200, true)] {
        let (events, err) = run_chunks_with(Limits::default(), data.as_bytes().chunks(chunk_len), release);
        assert_eq!(err, None, "chunks of {chunk_len}");
        assert_eq!(events.len(), 1502, "chunks of {chunk_len}");
        assert!(events[1..1501].iter().all(|e| matches!(e, StreamEvent::Stanza(m) if m.is("message", ns::CLIENT))));
        assert_eq!(events[1501], StreamEvent::Close);
    }
    let mut p = StreamParser::new(Limits::default());
    p.feed(data.as_bytes());
    let mut left = p.buffered();
    while let Some(_ev) = p.next_event().unwrap() {
        assert!(p.buffered() < left, "each event consumes its bytes");
        left = p.buffered();
    }
    assert_eq!(p.buffered(), 0);
}
