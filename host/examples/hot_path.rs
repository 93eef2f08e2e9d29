//! A fixed number of `<message/>`s through parse → plugin chain → decision,
//! for profilers: `criterion` decides its own iteration counts, which makes
//! instruction counts per message impossible to read off. Run it twice under
//! `valgrind --tool=callgrind` (N and 0 messages) and divide the difference
//! by N; or under `perf record` with `WASMPP_PERFMAP=1` (see README, bench).
//!
//! `cargo run --release -p wasmpp --example hot_path -- amp_three_rules 20000`
//! Paths: parse, empty, message, message_msgoffline, amp (plain message),
//! and the same with `_three_rules` (three XEP-0079 rules, none firing) or
//! `_one_rule` (the `amp` load scenario's `deliver=stored → drop`).
//! `WASMPP_BENCH_PLUGIN_DIR` loads the plugins from a directory instead of
//! the embedded ones (guests built with symbols, for `perf report`).

use std::hint::black_box;
use std::sync::Arc;
use wasmpp::plugin::{ChainOutcome, Limits, PluginHost, StanzaContext};
use wasmpp::sm::registry::{ConflictPolicy, Registry};
use wasmpp::xml::{self, StreamEvent, StreamParser};
use wasmpp::xmpp::{FullJid, Jid, Stanza};

const HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' \
    xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

fn message(rules: Rules) -> Vec<u8> {
    let body = "x".repeat(200);
    let amp = match rules {
        Rules::Three => {
            "<amp xmlns='http://jabber.org/protocol/amp'>\
             <rule condition='deliver' value='stored' action='alert'/>\
             <rule condition='match-resource' value='exact' action='drop'/>\
             <rule condition='expire-at' value='2999-01-01T00:00:00Z' action='error'/></amp>"
        }
        // The `amp` load scenario's rule.
        Rules::One => {
            "<amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='stored'/></amp>"
        }
        Rules::None => "",
    };
    format!("<message to='juliet@localhost' type='chat' id='m1'><body>{body}</body>{amp}</message>").into_bytes()
}

#[derive(Clone, Copy)]
enum Rules {
    None,
    One,
    Three,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "amp_three_rules".into());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let (chain_name, rules) = if let Some(base) = path.strip_suffix("_three_rules") {
        (base.to_owned(), Rules::Three)
    } else if let Some(base) = path.strip_suffix("_one_rule") {
        (base.to_owned(), Rules::One)
    } else {
        (path.clone(), Rules::None)
    };
    let ids: Vec<String> = match chain_name.as_str() {
        "parse" | "empty" => vec![],
        "message" => vec!["message".into()],
        "message_msgoffline" => vec!["message".into(), "msgoffline".into()],
        "amp" => vec!["amp".into()],
        other => panic!("unknown path {other}"),
    };
    let dir = std::env::var_os("WASMPP_BENCH_PLUGIN_DIR").map(std::path::PathBuf::from);
    let host = PluginHost::new(Limits::default()).expect("engine");
    host.load_chain(&ids, dir.as_deref()).expect("plugins load");
    let chain = host.chain();

    let registry = Arc::new(Registry::new());
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let key = registry.bind(FullJid::new("juliet@localhost/balcony").unwrap(), tx, ConflictPolicy::Override).unwrap();
    registry.set_available(&key, 0, wasmpp::xml::Element::new("presence", wasmpp::xmpp::ns::CLIENT));
    let ctx = StanzaContext { sender_may_see_presence: true, ..StanzaContext::new(registry, true) };

    let bytes = message(rules);
    let from = Jid::new("romeo@localhost/orchard").unwrap();
    let mut p = StreamParser::new(xml::Limits::default());
    p.feed(HEADER);
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    let started = std::time::Instant::now();
    for _ in 0..n {
        p.feed(&bytes);
        let Ok(Some(StreamEvent::Stanza(el))) = p.next_event() else { panic!("a stanza") };
        let mut s = Stanza::from_element(el).expect("a stanza").expect("valid addresses");
        s.set_from(from.clone());
        if chain_name == "parse" {
            black_box(s);
            continue;
        }
        let outcome = chain.run(s, &ctx);
        assert!(!matches!(outcome, ChainOutcome::Faulted { .. }), "{outcome:?}");
        black_box(outcome);
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64;
    eprintln!("{path}: {n} messages, {per:.2} µs each");
}
