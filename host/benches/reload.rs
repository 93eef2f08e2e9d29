//! Hot reload's costs (issue 5), with the WASM `message` plugin and its
//! version 2 (`message-next`, the same code with one more disco feature):
//!
//! - `pause_direct`: from the reload call to the first stanza served by the
//!   new version (hash, compile, link, trial instantiation, publish).
//! - `pause_watcher`: from the new file being renamed into the plugin
//!   directory to the first stanza served by it (adds the watcher's quiet
//!   time, `reload::watch::QUIET`).
//! - `stanza_before`, `stanza_during`, `stanza_after`: one `<message/>`
//!   through the chain (taken per stanza, as a session does) in steady
//!   state, while another thread reloads a changed component back to back
//!   (each one compiled and published), and after a swap.
//!
//! In the pause benches a loop serves stanzas the whole time, as traffic
//! would. Each pause iteration compiles a component, so these take a few
//! seconds per sample.

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmpp::plugin::{ChainOutcome, GUEST_DIR, Limits, PluginHost, StanzaContext};
use wasmpp::reload::{Reloader, Trigger, watch};
use wasmpp::sm::registry::{ConflictPolicy, Registry};
use wasmpp::xml::Element;
use wasmpp::xmpp::{FullJid, Stanza, ns};

/// The two versions of `message`, alternately put in the plugin directory.
struct Versions {
    dir: PathBuf,
    files: [Vec<u8>; 2],
    names: [String; 2],
    next: usize,
}

impl Versions {
    fn new(dir: &Path) -> Versions {
        let read = |name: &str| std::fs::read(Path::new(GUEST_DIR).join(name)).expect("built guest");
        let names = [env!("CARGO_PKG_VERSION").to_owned(), "2.0.0".to_owned()];
        let mut v =
            Versions { dir: dir.to_owned(), files: [read("message.wasm"), read("message-next.wasm")], names, next: 0 };
        v.swap();
        v
    }

    /// Renames the other version into place; returns its version string.
    fn swap(&mut self) -> &str {
        let staged = self.dir.join(".message.wasm.part");
        std::fs::write(&staged, &self.files[self.next]).unwrap();
        std::fs::rename(&staged, self.dir.join("message.wasm")).unwrap();
        let version = &self.names[self.next];
        self.next = 1 - self.next;
        version
    }
}

fn stanza() -> Stanza {
    let el = Element::new("message", ns::CLIENT)
        .with_attr("from", "romeo@localhost/orchard")
        .with_attr("to", "juliet@localhost")
        .with_attr("type", "chat")
        .with_attr("id", "m1")
        .with_child(Element::new("body", ns::CLIENT).with_text("x".repeat(200)));
    Stanza::from_element(el).unwrap().unwrap()
}

fn context() -> (StanzaContext, tokio::sync::mpsc::Receiver<wasmpp::sm::registry::Outbound>) {
    let registry = Arc::new(Registry::new());
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let key = registry.bind(FullJid::new("juliet@localhost/balcony").unwrap(), tx, ConflictPolicy::Override).unwrap();
    registry.set_available(&key, 0, Element::new("presence", ns::CLIENT));
    (StanzaContext::new(registry, true), rx)
}

/// One stanza through the chain in force; returns the version that served it.
fn serve(host: &PluginHost, stanza: &Stanza, ctx: &StanzaContext) -> bool {
    let chain = host.chain();
    let outcome = chain.run(stanza.clone(), ctx);
    assert!(matches!(&outcome, ChainOutcome::Handled(_, e) if e.len() == 1), "{outcome:?}");
    black_box(outcome);
    chain.plugins()[0].version.starts_with('2')
}

/// Serves stanzas until one is served by `version`; the time that took.
fn serve_until(host: &PluginHost, stanza: &Stanza, ctx: &StanzaContext, version: &str, since: Instant) -> Duration {
    let wanted_next = version.starts_with('2');
    while serve(host, stanza, ctx) != wanted_next {}
    since.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut versions = Versions::new(dir.path());
    let host = Arc::new(PluginHost::new(Limits::default()).unwrap());
    let ids = ["message".to_owned()];
    host.load_chain(&ids, Some(dir.path())).unwrap();
    let conditions = dir.path().join("conditions");
    let reloader = Arc::new(Reloader::new(host.clone(), dir.path().to_owned(), conditions, &["message"], Vec::new()));
    let (ctx, _rx) = context();
    let stanza = stanza();

    let mut g = c.benchmark_group("reload");
    g.bench_function("stanza_before", |b| b.iter(|| serve(&host, &stanza, &ctx)));

    let stop = Arc::new(AtomicBool::new(false));
    let reloading = {
        let (host, stop, dir) = (host.clone(), stop.clone(), dir.path().to_owned());
        let mut versions = Versions::new(&dir);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                versions.swap();
                assert!(host.rebuild_chain(&ids, Some(&dir), false).published);
            }
        })
    };
    g.bench_function("stanza_during", |b| b.iter(|| serve(&host, &stanza, &ctx)));
    stop.store(true, Ordering::Relaxed);
    reloading.join().unwrap();

    let version = versions.swap().to_owned();
    rt.block_on(reloader.reload(Trigger::Signal)).unwrap();
    assert_eq!(host.chain().plugins()[0].version, version);
    g.bench_function("stanza_after", |b| b.iter(|| serve(&host, &stanza, &ctx)));

    g.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("pause_direct", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let version = versions.swap().to_owned();
                    let since = Instant::now();
                    let reloader = reloader.clone();
                    let reload = rt.spawn(async move { reloader.reload(Trigger::Signal).await });
                    let pause = serve_until(&host, &stanza, &ctx, &version, since);
                    rt.block_on(reload).unwrap().unwrap();
                    pause
                })
                .sum()
        })
    });

    let watcher = rt.block_on(async { watch::spawn(reloader.clone()) }).expect("a watch on the plugin dir");
    g.bench_function("pause_watcher", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let version = versions.swap().to_owned();
                    serve_until(&host, &stanza, &ctx, &version, Instant::now())
                })
                .sum()
        })
    });
    watcher.abort();
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
