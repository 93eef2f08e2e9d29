//! The cost of one `<message/>` on the hot path: bytes → parsed stanza →
//! plugin chain → routing decision, with the WASM `message` plugin and with
//! an empty chain (the same path minus the plugin call), and the XEP-0079
//! costs: `amp` on a plain message and on one with three rules, against
//! `message` + `msgoffline` on the same messages. Sending on the socket is
//! not included: that is the load tool's business. The STRICT check's cost
//! (a roster lookup per AMP message) is in the `amp_strict` bench.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use wasmpp::plugin::{ChainOutcome, Limits, PluginHost, StanzaContext};
use wasmpp::sm::registry::{ConflictPolicy, Registry};
use wasmpp::xml::{self, StreamEvent, StreamParser};
use wasmpp::xmpp::{FullJid, Jid, Stanza};

const HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' \
    xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

/// A chat message with a 200-byte body, as in the load scenarios.
fn message_bytes() -> Vec<u8> {
    let body = "x".repeat(200);
    format!("<message to='juliet@localhost' type='chat' id='m1'><body>{body}</body></message>").into_bytes()
}

/// The same message with three rules, none of which fires (so the message
/// is delivered: the full evaluation path).
fn amp_bytes() -> Vec<u8> {
    let body = "x".repeat(200);
    format!(
        "<message to='juliet@localhost' type='chat' id='m1'><body>{body}</body>\
         <amp xmlns='http://jabber.org/protocol/amp'>\
         <rule condition='deliver' value='stored' action='alert'/>\
         <rule condition='match-resource' value='exact' action='drop'/>\
         <rule condition='expire-at' value='2999-01-01T00:00:00Z' action='error'/></amp></message>"
    )
    .into_bytes()
}

fn parser() -> StreamParser {
    let mut p = StreamParser::new(xml::Limits::default());
    p.feed(HEADER);
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    p
}

fn parse(p: &mut StreamParser, bytes: &[u8], from: &Jid) -> Stanza {
    p.feed(bytes);
    let Ok(Some(StreamEvent::Stanza(el))) = p.next_event() else { panic!("a stanza") };
    let mut s = Stanza::from_element(el).expect("a stanza").expect("valid addresses");
    s.set_from(from.clone());
    s
}

fn context() -> (StanzaContext, tokio::sync::mpsc::Receiver<wasmpp::sm::registry::Outbound>) {
    let registry = Arc::new(Registry::new());
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let key = registry.bind(FullJid::new("juliet@localhost/balcony").unwrap(), tx, ConflictPolicy::Override).unwrap();
    registry.set_available(&key, 0, wasmpp::xml::Element::new("presence", wasmpp::xmpp::ns::CLIENT));
    (StanzaContext::new(registry, true), rx)
}

fn bench(c: &mut Criterion) {
    // Profiling: point this at guests built with symbols (`strip = false`)
    // so `perf report` names guest functions; plugins found there win over
    // the embedded ones.
    let dir = std::env::var_os("WASMPP_BENCH_PLUGIN_DIR").map(std::path::PathBuf::from);
    let dir = dir.as_deref();
    let bytes = message_bytes();
    let from = Jid::new("romeo@localhost/orchard").unwrap();
    let (ctx, _rx) = context();

    let with_message = PluginHost::new(Limits::default()).unwrap();
    with_message.load_chain(&["message".to_string()], dir).unwrap();
    let empty = PluginHost::new(Limits::default()).unwrap();
    empty.load_chain(&[], dir).unwrap();
    let amp = PluginHost::new(Limits::default()).unwrap();
    amp.load_chain(&["amp".to_string()], dir).unwrap();
    let pair = PluginHost::new(Limits::default()).unwrap();
    pair.load_chain(&["message".to_string(), "msgoffline".to_string()], dir).unwrap();
    let with_rules = amp_bytes();
    // The host resolves this before the chain for AMP messages (STRICT).
    let amp_ctx = StanzaContext { sender_may_see_presence: true, ..ctx.clone() };

    let mut g = c.benchmark_group("message_path");
    g.bench_function("parse", |b| {
        let mut p = parser();
        b.iter(|| black_box(parse(&mut p, &bytes, &from)))
    });
    g.bench_function("empty_chain", |b| {
        let mut p = parser();
        let chain = empty.chain();
        b.iter(|| {
            let outcome = chain.run(parse(&mut p, &bytes, &from), &ctx);
            assert!(matches!(outcome, ChainOutcome::Unhandled(_, _)));
            black_box(outcome)
        })
    });
    g.bench_function("wasm_message", |b| {
        let mut p = parser();
        let chain = with_message.chain();
        b.iter(|| {
            let outcome = chain.run(parse(&mut p, &bytes, &from), &ctx);
            assert!(matches!(&outcome, ChainOutcome::Handled(_, e) if e.len() == 1));
            black_box(outcome)
        })
    });
    // Four chains × two messages: the cost of amp itself and of its rules.
    for (name, host, msg) in [
        ("amp_plain", &amp, &bytes),
        ("amp_three_rules", &amp, &with_rules),
        ("message_msgoffline_plain", &pair, &bytes),
        ("message_msgoffline_three_rules", &pair, &with_rules),
    ] {
        g.bench_function(name, |b| {
            let mut p = parser();
            let chain = host.chain();
            b.iter(|| {
                let outcome = chain.run(parse(&mut p, msg, &from), &amp_ctx);
                assert!(matches!(&outcome, ChainOutcome::Handled(_, e) if !e.is_empty()), "{outcome:?}");
                black_box(outcome)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
