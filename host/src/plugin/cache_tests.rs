//! The compiled-code cache with real components: a second host on the same
//! directory (a restart) compiles nothing, and every kind of damaged file is
//! recompiled and replaced instead of failing the load.

use std::path::{Path, PathBuf};

use super::*;
use crate::plugin::engine::Runtime;
use crate::plugin::tests::{ctx, message};
use crate::plugin::{ChainOutcome, GUEST_DIR, Limits, PluginHost};

fn limits() -> Limits {
    Limits { pool_size: 1, ..Limits::default() }
}

/// A host keeping its code in `dir`, with `message` loaded (and the
/// `body-contains` condition when `conditions` is given).
fn start(dir: &Path, conditions: Option<&Path>) -> PluginHost {
    let host = PluginHost::new(limits()).unwrap().with_code_cache(CodeCache::new(dir.to_owned()));
    if let Some(conditions) = conditions {
        host.load_conditions(conditions).unwrap();
    }
    host.load_chain(&["message".to_owned()], None).unwrap();
    host
}

fn counts(host: &PluginHost) -> (u64, u64, u64) {
    let stats = host.code_cache().stats();
    (stats.hits(), stats.misses(), stats.invalid())
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn routes(host: &PluginHost) -> bool {
    matches!(host.chain().run(message("juliet@example.com", "chat", "hi"), &ctx(true)), ChainOutcome::Handled(..))
}

#[test]
fn a_restart_with_unchanged_plugins_compiles_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let conditions = tempfile::tempdir().unwrap();
    std::fs::copy(Path::new(GUEST_DIR).join("body-contains.wasm"), conditions.path().join("body.wasm")).unwrap();

    let first = start(cache.path(), Some(conditions.path()));
    assert_eq!(counts(&first), (0, 2, 0), "a plugin and a condition compiled");
    let files = cache_files(cache.path());
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.iter().all(|f| f.extension().is_some_and(|e| e == "cwasm")), "no temporary file left: {files:?}");
    drop(first);

    let second = start(cache.path(), Some(conditions.path()));
    assert_eq!(counts(&second), (2, 0, 0), "both came from the cache");
    assert!(routes(&second), "the cached plugin runs");
    let declared = second.env().conditions.load().list();
    assert_eq!(declared[0].name, "body-contains", "the cached condition runs");
    assert_eq!(cache_files(cache.path()), files);
}

#[test]
fn unusable_cache_files_are_recompiled_and_replaced() {
    let cache = tempfile::tempdir().unwrap();
    drop(start(cache.path(), None));
    let [file] = cache_files(cache.path()).try_into().unwrap();
    let good = std::fs::read(&file).unwrap();

    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x40;
    let truncated = good[..good.len() / 3].to_vec();
    // A checksum that matches, over bytes that are not wasmtime's: the
    // header check must refuse them.
    let mut foreign = b"\x7fELF not a wasmtime image".to_vec();
    foreign.extend_from_slice(&sha2::Sha256::digest(&foreign));

    for (what, damaged) in [("flipped", flipped), ("truncated", truncated), ("empty", Vec::new()), ("foreign", foreign)]
    {
        std::fs::write(&file, &damaged).unwrap();
        let host = start(cache.path(), None);
        assert_eq!(counts(&host), (0, 1, 1), "{what}: recompiled");
        assert!(routes(&host), "{what}");
        drop(host);
        let again = start(cache.path(), None);
        assert_eq!(counts(&again), (1, 0, 0), "{what}: the file was replaced by a good one");
    }
}

#[test]
fn a_changed_component_or_engine_setting_misses() {
    let small = Runtime::new(&Limits { memory_bytes: 1 << 20, ..limits() }, []).unwrap();
    let big = Runtime::new(&Limits { memory_bytes: 2 << 20, ..limits() }, []).unwrap();
    let same = Runtime::new(&Limits { memory_bytes: 1 << 20, ..limits() }, []).unwrap();
    let name = |rt: &Runtime, bytes: &[u8]| file_name(&rt.engine, bytes);
    assert_eq!(name(&small, b"component"), name(&same, b"component"), "same bytes, same settings");
    assert_ne!(name(&small, b"component"), name(&small, b"component2"), "changed bytes");
    assert_ne!(name(&small, b"component"), name(&big, b"component"), "changed memory limit");
    let n = name(&small, b"component");
    assert!(n.ends_with(".cwasm") && n.len() == 64 + 1 + 16 + 6, "{n}");
}

#[test]
fn the_cache_off_compiles_every_time_and_writes_nothing() {
    let cache = CodeCache::off();
    assert!(cache.dir().is_none());
    let rt = Runtime::new(&limits(), []).unwrap();
    let bytes = std::fs::read(Path::new(GUEST_DIR).join("fault-trap.wasm")).unwrap();
    for _ in 0..2 {
        assert_eq!(cache.component(&rt.engine, &bytes).unwrap().source, Source::Compiled);
    }
    assert_eq!((cache.stats().hits(), cache.stats().misses()), (0, 2));
}
