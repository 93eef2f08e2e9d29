//! The compiled-code cache: machine code of every component this host
//! compiled, kept in `<data-dir>/plugin-cache/` (`--plugin-cache`), so that
//! a restart with unchanged plugins loads them in milliseconds instead of
//! compiling them again (tens of ms per plugin in release builds, seconds
//! in debug builds).
//!
//! A file's name is the SHA-256 of the component's bytes and a hash of the
//! engine's compilation settings (`Engine::precompile_compatibility_hash`:
//! wasmtime's version, Cranelift flags, the memory limits that shape bounds
//! checks), so a changed plugin, a wasmtime upgrade or a changed
//! `--plugin-memory-mb` all miss and compile afresh. Stale files are never
//! read again and may be deleted at any time, as may the whole directory.
//!
//! A file is `Component::serialize()` followed by the SHA-256 of those
//! bytes. It is written to a temporary name and renamed, so a reader sees
//! a whole file or none; a file that is nonetheless truncated, corrupted or
//! from another build is logged, recompiled and overwritten: the cache can
//! make a start faster, never make it fail.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Length of the SHA-256 trailer every cache file ends with.
const DIGEST_LEN: usize = 32;

/// Where compiled components are kept, and how often it helped.
pub struct CodeCache {
    dir: Option<PathBuf>,
    stats: CacheStats,
}

/// Counts since the process started.
#[derive(Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    invalid: AtomicU64,
}

impl CacheStats {
    /// Components loaded from the cache instead of compiled.
    pub fn hits(&self) -> u64 {
        self.hits.load(Relaxed)
    }

    /// Components compiled: not in the cache, its file unusable, or the
    /// cache off.
    pub fn misses(&self) -> u64 {
        self.misses.load(Relaxed)
    }

    /// Cache files found unusable (truncated, corrupted, from another
    /// build) and replaced; each is also a miss.
    pub fn invalid(&self) -> u64 {
        self.invalid.load(Relaxed)
    }
}

/// How a component was obtained, for the "plugin loaded" log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// Read from the cache.
    Hit,
    /// Compiled (and stored, if the cache is on).
    Compiled,
}

/// A ready component and what getting it cost.
pub(super) struct Obtained {
    pub(super) component: Component,
    pub(super) source: Source,
    pub(super) took: Duration,
}

impl CodeCache {
    /// A cache in `dir`, created (private to this user) on first store.
    pub fn new(dir: PathBuf) -> Self {
        CodeCache { dir: Some(dir), stats: CacheStats::default() }
    }

    /// No cache: every load compiles (`--plugin-cache=off`).
    pub fn off() -> Self {
        CodeCache { dir: None, stats: CacheStats::default() }
    }

    /// The directory, unless the cache is off.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Hit and miss counts.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// The component for `bytes`: from the cache when a valid file is
    /// there, else compiled and stored. Only compiling can fail.
    pub(super) fn component(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Obtained> {
        let started = Instant::now();
        let path = self.dir.as_ref().map(|dir| dir.join(file_name(engine, bytes)));
        if let Some(path) = &path {
            match load(engine, path) {
                Ok(Some(component)) => {
                    self.stats.hits.fetch_add(1, Relaxed);
                    return Ok(Obtained { component, source: Source::Hit, took: started.elapsed() });
                }
                Ok(None) => {}
                Err(reason) => {
                    self.stats.invalid.fetch_add(1, Relaxed);
                    tracing::warn!(file = %path.display(), %reason, "unusable compiled-code cache file; compiling again");
                }
            }
        }
        let component = Component::from_binary(engine, bytes)?;
        self.stats.misses.fetch_add(1, Relaxed);
        let took = started.elapsed();
        if let Some(path) = &path
            && let Err(e) = store(&component, path)
        {
            tracing::warn!(file = %path.display(), error = %e, "cannot write the compiled-code cache; next start compiles again");
        }
        Ok(Obtained { component, source: Source::Compiled, took })
    }
}

/// `<sha256 of the component>-<engine settings hash>.cwasm`.
fn file_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut settings = ShaHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut settings);
    let settings = settings.0.finalize();
    format!("{}-{}.cwasm", hex(&Sha256::digest(bytes)), hex(&settings[..8]))
}

/// Feeds `Hash` output into SHA-256: unlike `DefaultHasher`, the result is
/// the same across Rust releases, so a toolchain update alone does not
/// invalidate the cache.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only the full digest is used")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cached component at `path`: `Ok(None)` if there is no file, `Err`
/// with the reason if there is one that cannot be used.
fn load(engine: &Engine, path: &Path) -> Result<Option<Component>, String> {
    let file = match std::fs::read(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    let Some(split) = file.len().checked_sub(DIGEST_LEN) else {
        return Err(format!("truncated ({} bytes)", file.len()));
    };
    let (code, digest) = file.split_at(split);
    if Sha256::digest(code).as_slice() != digest {
        return Err("checksum mismatch (truncated or corrupted)".to_owned());
    }
    // SAFETY: `deserialize` runs the file's machine code unchecked, so only
    // bytes this server produced may reach it. They do: the file lives in
    // the server's own cache directory (created private to its user), was
    // written by `store` below from `Component::serialize` output, and its
    // SHA-256 trailer was just verified, so a truncated, corrupted or
    // half-written file never gets here. wasmtime itself still checks the
    // header and rejects code from another wasmtime version or engine
    // configuration. (The checksum guards against accidents, not against
    // someone who can write to the data directory; such a person could
    // replace the plugins and the database as well.) Reading the bytes
    // rather than using `deserialize_file` is what makes the check and the
    // load see the same bytes.
    let component = unsafe { Component::deserialize(engine, code) };
    component.map(Some).map_err(|e| format!("rejected by wasmtime: {e:#}"))
}

/// Writes `component` to `path` atomically: a temporary file in the same
/// directory, renamed over `path` (replacing an unusable file).
fn store(component: &Component, path: &Path) -> std::io::Result<()> {
    let mut file = component.serialize().map_err(std::io::Error::other)?;
    let digest = Sha256::digest(&file);
    file.extend_from_slice(&digest);
    let dir = path.parent().ok_or_else(|| std::io::Error::other("the cache path has no directory"))?;
    create_private_dir(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Unique per process and per store, so concurrent writers never share one.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), NEXT.fetch_add(1, Relaxed)));
    let written = std::fs::write(&tmp, &file).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Creates `dir` (and its parents) readable and writable by this user only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
